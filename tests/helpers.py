"""Plain helper functions for tests (no fixtures): connections scoped like the app scopes them."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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
