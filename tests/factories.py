"""Factories as plain functions: rows created as the owner, the way an operator would set things up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

from tests.helpers import superuser_conn


@dataclass(frozen=True)
class Tenant:
    agency_id: UUID
    client_id: UUID
    admin_id: UUID


def make_agency(db_url: str) -> UUID:
    slug = f"ag-{uuid.uuid4().hex[:10]}"
    with superuser_conn(db_url) as conn:
        row = conn.execute(
            "insert into agencies (name, slug) values (%s, %s) returning id", (f"Agency {slug}", slug)
        ).fetchone()
    assert row is not None
    return row["id"]


def make_client(db_url: str, agency_id: UUID) -> UUID:
    with superuser_conn(db_url) as conn:
        row = conn.execute(
            "insert into clients (agency_id, name) values (%s, %s) returning id",
            (agency_id, f"Client {uuid.uuid4().hex[:8]}"),
        ).fetchone()
    assert row is not None
    return row["id"]


def make_user(db_url: str, client_id: UUID, role: str = "admin") -> UUID:
    with superuser_conn(db_url) as conn:
        row = conn.execute(
            "insert into users (client_id, email, role) values (%s, %s, %s) returning id",
            (client_id, f"{uuid.uuid4().hex[:10]}@example.com", role),
        ).fetchone()
    assert row is not None
    return row["id"]


def make_tenant(db_url: str, agency_id: UUID | None = None) -> Tenant:
    agency_id = agency_id or make_agency(db_url)
    client_id = make_client(db_url, agency_id)
    return Tenant(agency_id, client_id, make_user(db_url, client_id))
