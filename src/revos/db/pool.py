"""Connection pool and the two kinds of transaction revOS runs.

- `tenant(claims)`: an API request. `set local role authenticated` plus the JWT claims in
  `request.jwt.claims`, so Row Level Security decides what the statement sees. `local`: both end
  with the transaction and never leak to the next user of a pooled connection.
- `service()`: a worker or CLI job, as `service_role` (bypasses RLS); every query names its
  client_id itself.

A transaction costs two round trips besides its own statements: BEGIN, the role and the claims go in
one simple-protocol message (`set_config('role', …, true)` is `set local role …`), and COMMIT. Pooled
connections are in autocommit mode so that psycopg sends no BEGIN of its own; `conn.transaction()`
inside one of these blocks is a savepoint, as before. A connection is checked out without a round trip
(`check_idle`): an idle connection has nothing to read unless the server closed it or is going away.

Services never commit: the transaction belongs to whoever opened it (the request or the job).
"""

from __future__ import annotations

import contextlib
import functools
import json
import select
from collections.abc import AsyncIterator, Mapping
from typing import Any

import psycopg
from psycopg import AsyncConnection, OperationalError, pq, sql
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

Conn = AsyncConnection[DictRow]


async def _configure(conn: AsyncConnection[Any]) -> None:
    conn.row_factory = dict_row


async def check_idle(conn: AsyncConnection[Any]) -> None:
    """A connection broken by a database restart is replaced instead of handed out. A healthy idle
    connection has nothing to read: only when the socket is readable (the server closed it, or said
    something) is the full check (a round trip) made."""
    if conn.closed or conn.pgconn.status != pq.ConnStatus.OK:
        raise OperationalError("the connection is closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        await AsyncConnectionPool.check_connection(conn)


def _begin(role: str, claims: Mapping[str, Any]) -> sql.Composed:
    return sql.SQL(
        "begin; select set_config('role', {}, true), set_config('request.jwt.claims', {}, true)"
    ).format(sql.Literal(role), sql.Literal(json.dumps(dict(claims))))


@functools.lru_cache(maxsize=256)
def _service_begin(actor: str) -> str:
    """`_begin` for the service role as `actor`: composed once per actor (the workers' few names)."""
    return _begin("service_role", {"role": "service_role", "sub": actor}).as_string()


class Database:
    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        prepare_threshold: int | None = 5,
        application_name: str = "revos",
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
            check=check_idle,
            # Transactions are begun explicitly (see the module doc); no server-side prepared statements
            # behind a transaction pooler (prepare_threshold None, revos.db.urls).
            # `application_name` names the process in pg_stat_activity (revos-api, revos-worker, …).
            kwargs={
                "autocommit": True,
                "prepare_threshold": prepare_threshold,
                "application_name": application_name,
            },
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

    @contextlib.asynccontextmanager
    async def tenant(self, claims: Mapping[str, Any]) -> AsyncIterator[Conn]:
        async with self._transaction(_begin("authenticated", claims)) as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def service(self, actor: str = "system") -> AsyncIterator[Conn]:
        # No client claims: RLS is bypassed by the role; the audit trail records `actor`.
        async with self._transaction(_service_begin(actor)) as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _transaction(self, begin: sql.Composed | str) -> AsyncIterator[Conn]:
        async with self.pool.connection() as conn:
            await conn.execute(begin, prepare=False)
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(psycopg.Error):  # a broken connection: the pool discards it
                    await conn.rollback()
                raise
            await conn.commit()

    @contextlib.asynccontextmanager
    async def raw(self) -> AsyncIterator[Conn]:
        """The pool's own role (owner/superuser): migrations, maintenance, health checks."""
        async with self.pool.connection() as conn, conn.transaction():
            yield conn
