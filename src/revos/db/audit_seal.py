"""Sealing the audit trail: pending entries chained into `audit_log` (migration 20260211000000).

Writes append unchained entries to `audit_pending`; `public.revos_audit_seal` moves committed ones into
each client's hash chain under the client's advisory lock. The worker seals every few seconds
(`maintenance.seal_audit`), and every reader of the trail seals before it reads, so it sees its own
writes: the audit page and `revos audit verify`, exports, backups and retention.

`seal` runs in the caller's transaction (a tenant's seals only its own clients); `seal_pending` and
`seal_pending_sync` seal everything, one short transaction per batch, until nothing is left.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from revos.db.pool import Conn, Database

SEAL_BATCH = 20_000  # entries per transaction
SEAL_SQL = "select public.revos_audit_seal(%s, %s) as n"


async def seal(conn: Conn, client_id: UUID | None = None, *, limit: int = SEAL_BATCH) -> int:
    """Seal up to `limit` entries of `client_id` (waiting for its lock), or of any client (skipping those
    another sealer holds), in the caller's transaction; return how many."""
    row = await (await conn.execute(SEAL_SQL, (client_id, limit))).fetchone()
    return int(row["n"]) if row else 0


async def seal_pending(db: Database, client_id: UUID | None = None, *, batch: int = SEAL_BATCH) -> int:
    """Seal every committed pending entry (of `client_id`, or of all clients), a batch per transaction."""
    total = 0
    while True:
        async with db.service("audit-sealer") as conn:
            n = await seal(conn, client_id, limit=batch)
        total += n
        if n < batch:
            return total


async def seal_url(conn: psycopg.AsyncConnection[Any], client_id: UUID | None = None) -> int:
    """`seal_pending` on an autocommit connection of its own (the CLI's)."""
    total = 0
    while True:
        async with conn.transaction():
            row = await (await conn.execute(SEAL_SQL, (client_id, SEAL_BATCH))).fetchone()
        n = int(row[0]) if row else 0
        total += n
        if n < SEAL_BATCH:
            return total


def seal_pending_sync(database_url: str) -> int:
    """`seal_pending` for synchronous callers (backups), on a connection of its own."""
    total = 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        found = conn.execute("select to_regprocedure('public.revos_audit_seal(uuid, integer)')").fetchone()
        if not found or found[0] is None:
            return 0  # not a (migrated) revOS database: nothing to seal
        while True:
            row = conn.execute(SEAL_SQL, (None, SEAL_BATCH)).fetchone()
            n = int(row[0]) if row else 0
            total += n
            if n < SEAL_BATCH:
                return total
