"""The dashboard's own reads: lead search, the lead page and the CSV export (the overview's funnel and
chart read the analytics views: revos.analytics.repo).

Reads only (the domains write their tables); each runs in the person's RLS transaction and names the
client, so the planner walks the per-client indexes. Written to stay fast at a million leads per client:

- search is a prefix of the first name, last name or email ("ada", "ada love", "ada@"), on the prefix
  indexes of supabase/migrations/20260209500000_web_lead_search.sql: a rare prefix is found through
  them, a common one along the keyset order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from psycopg import sql

from revos.db.pagination import decode_cursor, page_of
from revos.db.pool import Conn

# The status each funnel step is reached at (leads whose status is at or past it, `failed` aside).
STEPS = {"dms": "dm_sent", "replies": "dm_replied", "emails": "email_captured", "webhooks": "webhook_sent"}
# What the list and the export show of a lead (no custom fields: they can be large).
LEAD_COLUMNS = (
    "id, campaign_id, first_name, last_name, email, linkedin_id, linkedin_url, company, title, status,"
    " created_at, updated_at"
)


def _prefix(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _lead_filters(
    client_id: UUID, status: str | None, campaign_id: UUID | None, search: str | None
) -> tuple[list[sql.Composable], list[Any]]:
    filters: list[sql.Composable] = [sql.SQL("client_id = %s")]
    params: list[Any] = [client_id]
    if status:
        filters.append(sql.SQL("status = %s"))
        params.append(status)
    if campaign_id:
        filters.append(sql.SQL("campaign_id = %s"))
        params.append(campaign_id)
    if search:
        words = [_prefix(w) for w in search.lower().split()]
        if len(words) >= 2:
            filters.append(sql.SQL("lower(first_name) like %s and lower(last_name) like %s"))
            params.extend([words[0], _prefix(" ".join(search.lower().split()[1:]))])
        else:
            filters.append(
                sql.SQL("(lower(email) like %s or lower(first_name) like %s or lower(last_name) like %s)")
            )
            params.extend([words[0]] * 3)
    return filters, params


async def lead_page(
    conn: Conn,
    client_id: UUID,
    *,
    cursor: str | None,
    limit: int,
    status: str | None = None,
    campaign_id: UUID | None = None,
    search: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Leads newest first, keyset-paged on (created_at, id), with the campaign's name."""
    filters, params = _lead_filters(client_id, status, campaign_id, search)
    position = decode_cursor(cursor)
    if position is not None:
        filters.append(sql.SQL("(created_at, id) < (%s, %s)"))
        params.extend(position)
    query = sql.SQL(
        "select l.*, c.name as campaign_name from ("
        "select {} from leads where {} order by created_at desc, id desc limit {}"
        ") l left join campaigns c on c.id = l.campaign_id order by l.created_at desc, l.id desc"
    ).format(sql.SQL(LEAD_COLUMNS), sql.SQL(" and ").join(filters), sql.Literal(limit + 1))
    rows = await (await conn.execute(query, params)).fetchall()
    return page_of(rows, limit)


async def lead_batches(
    conn: Conn,
    client_id: UUID,
    *,
    status: str | None = None,
    campaign_id: UUID | None = None,
    search: str | None = None,
    batch: int = 2000,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every lead of the filter, newest first, in keyset batches (constant memory at any size)."""
    cursor: str | None = None
    while True:
        rows, cursor = await lead_page(
            conn, client_id, cursor=cursor, limit=batch, status=status, campaign_id=campaign_id, search=search
        )
        if rows:
            yield rows
        if cursor is None:
            return
