"""Reading the audit trail (tenants read their own through RLS; only the sealer writes it, revos.db.audit_seal)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from revos.db.pool import Conn


async def page(
    conn: Conn, client_id: UUID, *, before_seq: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first, `limit` entries of the client's chain before `before_seq`, and the cursor of the next
    page (None at the start of the chain). Walks the (client_id, seq) key: every page costs the same."""
    rows = await (
        await conn.execute(
            "select seq, occurred_at, actor, actor_role, table_name, row_id, operation, changed_columns"
            " from audit_log where client_id = %s and (%s::bigint is null or seq < %s)"
            " order by seq desc limit %s",
            (client_id, before_seq, before_seq, limit + 1),
        )
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["seq"] if more and rows else None)
