"""Databases for the schema tests: each built from the migrations, private to these tests.

The session's shared `db_url` is left alone: these tests commit tenants and tamper with audit rows,
which other suites must never see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg.rows import dict_row

from revos import migrations
from tests.db.factories import seed_agency, seed_tenant
from tests.support import Tenant, with_database


def _create_migrated(root_url: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(root_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = with_database(root_url, name)
    migrations.migrate(url)
    return url


def _drop(root_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(root_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def schema_url(pg_root_url: str) -> Iterator[str]:
    """A migrated database shared by the catalog and trigger tests (they use their own rows)."""
    url = _create_migrated(pg_root_url, "schema")
    yield url
    _drop(pg_root_url, url)


@pytest.fixture
def fresh_db_url(pg_root_url: str) -> Iterator[str]:
    """A newly migrated database for one test."""
    url = _create_migrated(pg_root_url, "schema")
    yield url
    _drop(pg_root_url, url)


@dataclass(frozen=True)
class World:
    """Agency X with clients A1 and A2, agency Y with client B; one row of every table each."""

    url: str
    agency_x: uuid.UUID
    agency_y: uuid.UUID
    a1: Tenant
    a2: Tenant
    b: Tenant


@pytest.fixture(scope="module")
def world(pg_root_url: str) -> Iterator[World]:
    url = _create_migrated(pg_root_url, "world")
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        x, y = seed_agency(conn), seed_agency(conn)
        world = World(
            url, x, y, seed_tenant(conn, "A1", x), seed_tenant(conn, "A2", x), seed_tenant(conn, "B", y)
        )
    yield world
    _drop(pg_root_url, url)
