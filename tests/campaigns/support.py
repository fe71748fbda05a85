"""Helpers shared by the campaign, lead-magnet and post tests: tenants with tokens, rows written as the
owner (the way an operator or another part of revOS would have created them), API shortcuts."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx

from revos.clock import SystemClock, set_clock
from revos.runtime import Runtime
from revos.security.jwt import Claims, issue
from tests.factories import make_tenant as make_tenant_rows
from tests.support import superuser_conn

# The smallest file each sniffed type accepts.
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@dataclass(frozen=True)
class Tenant:
    client_id: UUID
    user_id: UUID
    headers: dict[str, str]


def token_headers(runtime: Runtime, user_id: UUID, client_id: UUID, role: str = "admin") -> dict[str, str]:
    claims = Claims.model_validate({"sub": str(user_id), "client_id": str(client_id), "user_role": role})
    # Tokens are checked against wall time; the tests' ManualClock may live in another year.
    previous = set_clock(SystemClock())
    try:
        return {"Authorization": f"Bearer {issue(claims, runtime.jwt_secret)}"}
    finally:
        set_clock(previous)


def make_tenant(db_url: str, runtime: Runtime, role: str = "admin") -> Tenant:
    rows = make_tenant_rows(db_url)
    return Tenant(rows.client_id, rows.admin_id, token_headers(runtime, rows.admin_id, rows.client_id, role))


def make_magnet(db_url: str, client_id: UUID, name: str = "The Growth Guide") -> UUID:
    with superuser_conn(db_url) as conn:
        row = conn.execute(
            "insert into lead_magnets (client_id, name, file_path, file_type, file_size)"
            " values (%s, %s, %s, 'application/pdf', 10) returning id",
            (client_id, name, f"{client_id}/{uuid.uuid4().hex}.pdf"),
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def make_account(
    db_url: str, client_id: UUID, *, unipile_account_id: str | None = None, **columns: Any
) -> UUID:
    """An active LinkedIn account row; credentials hold placeholder ciphertext. Safety: no hours, no gaps."""
    values: dict[str, Any] = {
        "client_id": client_id,
        "account_name": f"acct-{uuid.uuid4().hex[:8]}",
        "linkedin_email": b"\x00",
        "linkedin_password": b"\x00",
        "unipile_account_id": unipile_account_id,
        "status": "active",
        "provider_status": "OK",
        "safety": json.dumps({"working_hours_enabled": False, "gap_min_seconds": 0, "gap_max_seconds": 0}),
    } | columns
    cols = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    with superuser_conn(db_url) as conn:
        row = conn.execute(
            f"insert into linkedin_accounts ({cols}) values ({marks}) returning id", list(values.values())
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def make_campaign_row(db_url: str, client_id: UUID, **columns: Any) -> UUID:
    """A campaign written as the owner: active, trigger GUIDE, with a lead magnet, unless told otherwise."""
    values: dict[str, Any] = {
        "client_id": client_id,
        "name": f"Campaign {uuid.uuid4().hex[:8]}",
        "trigger_word": "GUIDE",
        "trigger_words": ["GUIDE"],
        "status": "active",
        "lead_magnet_id": make_magnet(db_url, client_id),
        "settings": json.dumps({}),
    } | columns
    if isinstance(values.get("settings"), dict):
        values["settings"] = json.dumps(values["settings"])
    cols = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    with superuser_conn(db_url) as conn:
        row = conn.execute(
            f"insert into campaigns ({cols}) values ({marks}) returning id", list(values.values())
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def row(db_url: str, table: str, row_id: Any) -> dict[str, Any]:
    with superuser_conn(db_url) as conn:
        found = conn.execute(f"select * from {table} where id = %s", (row_id,)).fetchone()
    assert found is not None, f"no {table} row {row_id}"
    return found


async def create_campaign(api: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"name": f"Campaign {uuid.uuid4().hex[:8]}", "trigger_words": ["GUIDE"]} | fields
    response = await api.post("/v1/campaigns", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
