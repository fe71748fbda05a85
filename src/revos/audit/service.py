"""The audit trail as tenants read it (the dashboard's audit page), sealed before it is read."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from revos.audit import repo
from revos.db import audit_seal
from revos.db.pool import Conn


async def seal(conn: Conn, client_id: UUID) -> int:
    """Chain the client's committed pending entries (and the caller's own writes of this transaction)
    into its trail, in the caller's transaction; return how many."""
    total = 0
    while (n := await audit_seal.seal(conn, client_id)) >= audit_seal.SEAL_BATCH:
        total += n
    return total + n


async def entries(
    conn: Conn, client_id: UUID, *, before_seq: int | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the client's trail, newest first, and the `before_seq` of the next page. The client's
    pending entries are sealed first: the page shows every write committed before it."""
    await seal(conn, client_id)
    return await repo.page(conn, client_id, before_seq=before_seq, limit=limit)
