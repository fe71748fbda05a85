"""Plain helper functions for tests (no fixtures): connections scoped like the app scopes them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator, Mapping
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


# A ceiling on waiting for something that happens in milliseconds on an idle machine: it only bounds a
# test whose awaited event never comes, so it can be generous.
EVENTUALLY_SECONDS = 30.0


async def eventually(check: Callable[[], bool], what: str, *, within: float = EVENTUALLY_SECONDS) -> None:
    """Poll `check` until it holds: for what another task on the loop (a server, a worker) does next, so a
    test waits on progress rather than on how fast the machine happens to be."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {within:g} s: {what}")
        await asyncio.sleep(0.01)
