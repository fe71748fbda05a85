"""The audit trail as tenants read it (the dashboard's audit page)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from revos.audit import repo
from revos.db.pool import Conn


async def entries(
    conn: Conn, client_id: UUID, *, before_seq: int | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the client's trail, newest first, and the `before_seq` of the next page."""
    return await repo.page(conn, client_id, before_seq=before_seq, limit=limit)
