"""The dashboard's own reads: the campaign funnel, leads over time, lead search and the CSV export.

Reads only (the domains write their tables); each runs in the person's RLS transaction and names the
client, so the planner walks the per-client indexes. Written to stay fast at a million leads per client:

- the funnel counts leads once, grouped by (campaign, status), on `idx_leads_client_status_created`
  (an index-only scan); a lead's status only moves forward (revos.leads.repo.STATUS_ORDER), so "got a DM",
  "replied", "gave an email" and "went to the webhook" are the leads whose status reached that step;
  comments are counted per post, clicks on the sequences' `link_clicked`;
- leads per day reads the last `days` of `idx_leads_client_created`;
- search is a prefix of the first name, last name or email ("ada", "ada love", "ada@"), on the prefix
  indexes of supabase/migrations/20260209500000_web_lead_search.sql: a rare prefix is found through
  them, a common one along the keyset order.

When the analytics views exist these become reads of them (funnel_counts, leads_per_day).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from revos.db.pagination import decode_cursor, page_of
from revos.db.pool import Conn
from revos.leads.repo import STATUS_ORDER

# The status each funnel step is reached at (leads whose status is at or past it, `failed` aside).
STEPS = {"dms": "dm_sent", "replies": "dm_replied", "emails": "email_captured", "webhooks": "webhook_sent"}
# What the list and the export show of a lead (no custom fields: they can be large).
LEAD_COLUMNS = (
    "id, campaign_id, first_name, last_name, email, linkedin_id, linkedin_url, company, title, status,"
    " created_at, updated_at"
)


async def funnel_counts(conn: Conn, client_id: UUID) -> dict[UUID, dict[str, int]]:
    """Per campaign: comments, leads, dms, replies, emails, webhooks, clicks."""
    out: dict[UUID, dict[str, int]] = {}

    def row(campaign_id: UUID) -> dict[str, int]:
        return out.setdefault(campaign_id, dict.fromkeys(("comments", "leads", *STEPS, "clicks"), 0))

    by_status = await (
        await conn.execute(
            "select campaign_id, status, count(*) as n from leads where client_id = %s"
            " and campaign_id is not null group by 1, 2",
            (client_id,),
        )
    ).fetchall()
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    for r in by_status:
        counts = row(r["campaign_id"])
        counts["leads"] += r["n"]
        position = rank.get(r["status"], -1)
        for step, status in STEPS.items():
            if position >= rank[status]:
                counts[step] += r["n"]
    comments = await (
        await conn.execute(
            "select p.campaign_id, count(*) as n from comments c join posts p on p.id = c.post_id"
            " where c.client_id = %s and p.campaign_id is not null group by 1",
            (client_id,),
        )
    ).fetchall()
    for r in comments:
        row(r["campaign_id"])["comments"] = r["n"]
    clicks = await (
        await conn.execute(
            "select campaign_id, count(*) as n from dm_sequences where client_id = %s and link_clicked"
            " group by 1",
            (client_id,),
        )
    ).fetchall()
    for r in clicks:
        row(r["campaign_id"])["clicks"] = r["n"]
    return out


async def leads_per_day(conn: Conn, client_id: UUID, since: datetime) -> list[dict[str, Any]]:
    """(day, campaign_id, leads) since `since`, oldest first."""
    return await (
        await conn.execute(
            "select date_trunc('day', created_at at time zone 'UTC') as day, campaign_id, count(*) as n"
            " from leads where client_id = %s and created_at >= %s group by 1, 2 order by 1",
            (client_id, since),
        )
    ).fetchall()


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
