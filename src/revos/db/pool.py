"""Connection pool and the two kinds of transaction revOS runs.

- `tenant(claims)`: an API request. `set local role authenticated` plus the JWT claims in
  `request.jwt.claims`, so Row Level Security decides what the statement sees. `local`: both end
  with the transaction and never leak to the next user of a pooled connection.
- `service()`: a worker or CLI job, as `service_role` (bypasses RLS); every query names its
  client_id itself.

Services never commit: the transaction belongs to whoever opened it (the request or the job).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

Conn = AsyncConnection[DictRow]


async def _configure(conn: AsyncConnection[Any]) -> None:
    conn.row_factory = dict_row


class Database:
    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 10, prepare_threshold: int | None = 5
    ) -> None:
        """`prepare_threshold`: psycopg prepares a statement on the server once it ran this often on a
        connection; None never does (behind a transaction pooler, see revos.db.urls)."""
        self.url = url
        self.pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            configure=_configure,
            # A connection broken by a database restart is replaced instead of handed out.
            check=AsyncConnectionPool.check_connection,
            kwargs={"autocommit": False, "prepare_threshold": prepare_threshold},
        )

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        await self.pool.close()

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def tenant(self, claims: Mapping[str, Any]) -> AsyncIterator[Conn]:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("set local role authenticated")
            await conn.execute(
                "select set_config('request.jwt.claims', %s, true)", (json.dumps(dict(claims)),)
            )
            yield conn

    @asynccontextmanager
    async def service(self, actor: str = "system") -> AsyncIterator[Conn]:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("set local role service_role")
            # No client claims: RLS is bypassed by the role; the audit trail records `actor`.
            await conn.execute(
                "select set_config('request.jwt.claims', %s, true)",
                (json.dumps({"role": "service_role", "sub": actor}),),
            )
            yield conn

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[Conn]:
        """The pool's own role (owner/superuser): migrations, maintenance, health checks."""
        async with self.pool.connection() as conn, conn.transaction():
            yield conn
