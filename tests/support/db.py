"""Connections for tests, scoped like the app scopes them: as the owner (set-up rows, reading the truth), as a
tenant, as anon, as the service role."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database `name`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def superuser_conn(db_url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """Autocommit connection as the owner (bypasses RLS): for setup and for reading the truth."""
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@asynccontextmanager
async def connect(db_url: str) -> AsyncIterator[psycopg.AsyncConnection[dict[str, Any]]]:
    """The same, asynchronous: what the row factories write with (see tests.support.rows)."""
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@contextmanager
def tenant_conn(
    db_url: str, claims: Mapping[str, Any] | None
) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A transaction as the API runs it: role `authenticated` with these JWT claims (rolled back)."""
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        conn.execute("set local role authenticated")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(dict(claims or {})),))
        try:
            yield conn
        finally:
            conn.rollback()


@contextmanager
def anon_conn(db_url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        conn.execute("set local role anon")
        try:
            yield conn
        finally:
            conn.rollback()


@contextmanager
def service_conn(db_url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A committed transaction as `service_role`, the way workers run."""
    with psycopg.connect(db_url, row_factory=dict_row) as conn, conn.transaction():
        conn.execute("set local role service_role")
        yield conn


def read_row(db_url: str, table: str, row_id: Any) -> dict[str, Any]:
    """Row `row_id` of `table`, read as the owner."""
    with superuser_conn(db_url) as conn:
        found = conn.execute(f"select * from {table} where id = %s", (row_id,)).fetchone()
    assert found is not None, f"no {table} row {row_id}"
    return found


def read_rows(db_url: str, query: str, *params: Any) -> list[dict[str, Any]]:
    """The rows `query` returns, read as the owner."""
    with superuser_conn(db_url) as conn:
        return conn.execute(query, params).fetchall()


def seal_audit(db_url: str) -> int:
    """Chain every pending audit entry into audit_log, as the worker's sealer does: what a test reading
    audit_log directly (not through a reader that seals) must call first. Returns how many."""
    total = 0
    with superuser_conn(db_url) as conn:
        while n := conn.execute("select public.revos_audit_seal() as n").fetchone()["n"]:  # type: ignore[index]
            total += n
    return total
