"""SQL for leads. Runs in the caller's transaction (a request under RLS, or a job as the service role)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, get_args
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from revos.db import crud
from revos.db.pagination import page_of
from revos.db.pool import Conn
from revos.leads.schemas import LeadStatus

# The spec's status enum (`schemas.LeadStatus`) in the order a lead moves through it; `failed` stands
# outside the order.
STATUSES: tuple[str, ...] = get_args(LeadStatus)
STATUS_ORDER: tuple[str, ...] = tuple(s for s in STATUSES if s != "failed")


async def insert_if_new(conn: Conn, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert unless the (campaign, commenter) lead exists: None means it did (the unique key decides,
    so two pollers racing on the same commenter still make one lead)."""
    cols = list(values)
    query = sql.SQL(
        "insert into leads ({}) values ({}) on conflict (campaign_id, linkedin_id) do nothing returning *"
    ).format(
        sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", ").join(sql.Placeholder() * len(cols)),
    )
    cur = await conn.execute(query, [crud._adapt(values[c]) for c in cols])
    return await cur.fetchone()


# One row of `create_leads`: the lead's columns, and its first sequence's when it gets one.
NEW_LEAD_COLUMNS = (
    "id",
    "linkedin_id",
    "linkedin_url",
    "first_name",
    "last_name",
    "comment_id",
    "status",
    "sequence_id",
    "step1_at",
)
_NEW_LEAD_TYPES = ("uuid", "text", "text", "text", "text", "uuid", "text", "uuid", "timestamptz")


async def create_leads(
    conn: Conn,
    *,
    client_id: UUID,
    campaign_id: UUID,
    linkedin_account_id: UUID | None,
    rows: list[dict[str, Any]],
) -> set[UUID]:
    """Insert the leads of one campaign (ids chosen by the caller), each with its sequence when it has a
    `sequence_id` (stage step1, step 1 scheduled at `step1_at`), in one statement. A lead whose
    (campaign, commenter) exists already, or which an earlier row of `rows` already made, is skipped with
    its sequence: the unique key decides, so two pollers racing on a commenter still make one lead.
    Returns the ids of the leads inserted. (The foreign keys between the two rows are checked at the end
    of the statement, when both exist.)"""
    if not rows:
        return set()
    columns = sql.SQL(", ").join(
        sql.SQL("{}::{}[]").format(sql.Placeholder(), sql.SQL(t)) for t in _NEW_LEAD_TYPES
    )
    names = sql.SQL(", ").join(map(sql.Identifier, NEW_LEAD_COLUMNS))
    query = sql.SQL(
        "with input as (select * from unnest({columns}) with ordinality as i({names}, ord)),"
        " new_leads as ("
        "  insert into leads (id, client_id, campaign_id, linkedin_id, linkedin_url, first_name, last_name,"
        "   source, status, comment_id, dm_sequence_id)"
        "  select id, {client}, {campaign}, linkedin_id, linkedin_url, first_name, last_name, 'comment',"
        "   status, comment_id, sequence_id from input order by ord"
        "  on conflict (campaign_id, linkedin_id) do nothing returning id),"
        " new_sequences as ("
        "  insert into dm_sequences (id, client_id, lead_id, campaign_id, linkedin_account_id, status, stage,"
        "   step1_scheduled_for, step1_status, next_action_at)"
        "  select i.sequence_id, {client}, i.id, {campaign}, {account}, 'in_progress', 'step1', i.step1_at,"
        "   'scheduled', i.step1_at from input i join new_leads n on n.id = i.id"
        "  where i.sequence_id is not null returning id)"
        " select id from new_leads"
    ).format(
        columns=columns,
        names=names,
        client=sql.Literal(str(client_id)) + sql.SQL("::uuid"),
        campaign=sql.Literal(str(campaign_id)) + sql.SQL("::uuid"),
        account=(
            sql.Literal(str(linkedin_account_id)) + sql.SQL("::uuid")
            if linkedin_account_id is not None
            else sql.SQL("null::uuid")
        ),
    )
    params = [[row.get(c) for row in rows] for c in NEW_LEAD_COLUMNS]
    cur = await conn.execute(query, params)
    return {r["id"] for r in await cur.fetchall()}


async def by_commenters(conn: Conn, campaign_id: UUID, linkedin_ids: list[str]) -> dict[str, UUID]:
    """The campaign's leads among these commenters: LinkedIn id -> lead id."""
    if not linkedin_ids:
        return {}
    rows = await (
        await conn.execute(
            "select id, linkedin_id from leads where campaign_id = %s and linkedin_id = any(%s)",
            (campaign_id, linkedin_ids),
        )
    ).fetchall()
    return {r["linkedin_id"]: r["id"] for r in rows}


async def get(conn: Conn, lead_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (await conn.execute(f"select * from leads where id = %s{lock}", (lead_id,))).fetchone()


async def by_commenter(conn: Conn, campaign_id: UUID, linkedin_id: str) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select * from leads where campaign_id = %s and linkedin_id = %s", (campaign_id, linkedin_id)
        )
    ).fetchone()


async def set_sequence(conn: Conn, lead_id: UUID, sequence_id: UUID) -> None:
    await conn.execute("update leads set dm_sequence_id = %s where id = %s", (sequence_id, lead_id))


ADVANCE_SQL = (
    "update leads set status = %s where id = %s and status is distinct from 'failed'"
    " and coalesce(array_position(%s::text[], status), 0) < array_position(%s::text[], %s)"
)


def advance_params(lead_id: UUID, status: str) -> list[Any]:
    return [status, lead_id, list(STATUS_ORDER), list(STATUS_ORDER), status]


# The lead's email, and its status moved forward as `advance` does (when a status is given).
CAPTURE_SQL = (
    "update leads set email = %s, status = case when %s::text is not null and status is distinct from"
    " 'failed' and coalesce(array_position(%s::text[], status), 0) < array_position(%s::text[], %s::text)"
    " then %s::text else status end where id = %s"
)


def capture_params(lead_id: UUID, email: str, status: str | None) -> list[Any]:
    return [email, status, list(STATUS_ORDER), list(STATUS_ORDER), status, status, lead_id]


async def advance(conn: Conn, lead_id: UUID, status: str) -> bool:
    """Move a lead forward to `status`; never backwards and never out of `failed`. True if it moved."""
    cur = await conn.execute(ADVANCE_SQL, advance_params(lead_id, status))
    return cur.rowcount > 0


async def fail(conn: Conn, lead_id: UUID) -> None:
    await conn.execute(
        "update leads set status = 'failed' where id = %s and status not in ('completed', 'failed')",
        (lead_id,),
    )


async def set_email(conn: Conn, lead_id: UUID, email: str) -> None:
    await conn.execute("update leads set email = %s where id = %s", (email, lead_id))


# What a list shows of each lead's sequence, beside the lead.
_SEQUENCE_SUMMARY = (
    "s.status as sequence_status, s.review_status, s.email_extracted, s.email_confidence, s.failure_reason"
)


async def page(
    conn: Conn,
    *,
    cursor: str | None,
    limit: int,
    campaign_id: UUID | None = None,
    status: str | None = None,
    client_id: UUID | None = None,
    review: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """Leads newest first, each with its sequence's summary; `review=True` keeps those whose email waits
    for a person.

    The page is chosen first, from an index, and only its rows are joined to their sequences. The review
    queue is walked from the sequences instead (a partial index holds the pending ones), in the order
    the sequences were created, which is the leads' order (a lead's sequence is created with it); its
    cursor is the sequence's position.
    """
    if review:
        return await _review_page(
            conn, cursor=cursor, limit=limit, campaign_id=campaign_id, client_id=client_id
        )
    query, params = crud.page_query(
        "leads",
        cursor=cursor,
        limit=limit,
        where=[("client_id", client_id), ("campaign_id", campaign_id), ("status", status)],
    )
    rows = await (
        await conn.execute(
            sql.SQL(
                "select l.*, {} from ({}) l left join dm_sequences s on s.id = l.dm_sequence_id"
                " order by l.created_at desc, l.id desc"
            ).format(sql.SQL(_SEQUENCE_SUMMARY), query),
            params,
        )
    ).fetchall()
    return page_of(rows, limit)


async def _review_page(
    conn: Conn, *, cursor: str | None, limit: int, campaign_id: UUID | None, client_id: UUID | None
) -> tuple[list[dict[str, Any]], str | None]:
    query, params = crud.page_query(
        "dm_sequences",
        cursor=cursor,
        limit=limit,
        where=[("client_id", client_id), ("campaign_id", campaign_id)],
        conditions=[("review_status = 'pending'", True)],
    )
    rows = await (
        await conn.execute(
            sql.SQL(
                "select l.*, {}, s.created_at as position_at, s.id as position_id"
                " from ({}) s join leads l on l.id = s.lead_id order by s.created_at desc, s.id desc"
            ).format(sql.SQL(_SEQUENCE_SUMMARY), query),
            params,
        )
    ).fetchall()
    positions = [{"created_at": r.pop("position_at"), "id": r.pop("position_id")} for r in rows]
    kept, next_cursor = page_of(positions, limit)
    return rows[: len(kept)], next_cursor


# --- the timeline (lead_events) -----------------------------------------------------------------------------


def _dumps(value: object) -> str:
    # Event data carries confidences (Decimal), ids and times: write them as text, not fail.
    return json.dumps(value, default=str)


def event_data(data: dict[str, Any] | None) -> Jsonb:
    """A timeline event's `data`, as the column takes it."""
    return Jsonb(data or {}, dumps=_dumps)


async def insert_event(
    conn: Conn,
    lead_id: UUID,
    kind: str,
    reason: str,
    data: dict[str, Any] | None,
    at: datetime,
    client_id: UUID | None = None,
) -> None:
    """Append one timeline event (without `client_id`, the table's trigger reads it from the lead)."""
    await conn.execute(
        "insert into lead_events (client_id, lead_id, occurred_at, kind, reason, data)"
        " values (%s, %s, %s, %s, %s, %s)",
        (client_id, lead_id, at, kind, reason, event_data(data)),
    )


async def insert_events(conn: Conn, client_id: UUID, events: list[tuple[Any, ...]]) -> None:
    """Append timeline events of one client's leads in one statement: (lead_id, kind, reason, data, at)."""
    if not events:
        return
    await conn.execute(
        "insert into lead_events (client_id, lead_id, occurred_at, kind, reason, data)"
        " select %s, lead_id, occurred_at, kind, reason, data"
        " from unnest(%s::uuid[], %s::timestamptz[], %s::text[], %s::text[], %s::jsonb[])"
        " as e(lead_id, occurred_at, kind, reason, data)",
        (
            client_id,
            [e[0] for e in events],
            [e[4] for e in events],
            [e[1] for e in events],
            [e[2] for e in events],
            [event_data(e[3]) for e in events],
        ),
    )


async def last_event(conn: Conn, lead_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select kind, reason, data, occurred_at from lead_events where lead_id = %s"
            " order by occurred_at desc, created_at desc, id desc limit 1",
            (lead_id,),
        )
    ).fetchone()


async def events(conn: Conn, lead_id: UUID, *, limit: int = 500) -> list[dict[str, Any]]:
    """Oldest first: a timeline reads top to bottom."""
    return await (
        await conn.execute(
            "select id, occurred_at, kind, reason, data from lead_events where lead_id = %s"
            " order by occurred_at, created_at, id limit %s",
            (lead_id, limit),
        )
    ).fetchall()


async def user_exists(conn: Conn, user_id: UUID) -> bool:
    row = await (await conn.execute("select 1 from users where id = %s", (user_id,))).fetchone()
    return row is not None
