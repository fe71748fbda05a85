"""SQL for DM sequences and their messages (tables of the lead's life). Runs in the caller's transaction.

Only `revos.leads.lifecycle` calls the functions that write; the DM executor reads through the others."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from revos.db import crud
from revos.db.pool import Conn
from revos.leads import repo as leads_repo


async def insert_sequence(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(conn, "dm_sequences", values)


async def get(conn: Conn, sequence_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (
        await conn.execute(f"select * from dm_sequences where id = %s{lock}", (sequence_id,))
    ).fetchone()


async def update(conn: Conn, sequence_id: UUID, values: dict[str, Any]) -> bool:
    """Set the columns; an update that would change nothing is skipped (no new row version, no audit
    entry). True when the row changed."""
    if not values:
        return False
    adapted = [crud._adapt(v) for v in values.values()]
    cur = await conn.execute(_update_sql(tuple(values)), [*adapted, sequence_id, *adapted])
    return cur.rowcount > 0


@functools.lru_cache(maxsize=256)
def _update_sql(columns: tuple[str, ...]) -> str:
    """`update`'s statement for these columns; composed once per set of columns (its text, also the key
    psycopg prepares it under)."""
    return (
        sql.SQL("update dm_sequences set {} where id = %s and ({})")
        .format(*_set_changed(columns))
        .as_string()
    )


def _set_changed(columns: tuple[str, ...]) -> tuple[sql.Composable, sql.Composable]:
    """`a = %s, b = %s` and `a is distinct from %s or b is distinct from %s` for these columns."""
    names = [sql.Identifier(c) for c in columns]
    return (
        sql.SQL(", ").join(sql.SQL("{} = %s").format(n) for n in names),
        sql.SQL(" or ").join(sql.SQL("{} is distinct from %s").format(n) for n in names),
    )


async def record_step(
    conn: Conn,
    *,
    client_id: UUID,
    sequence_id: UUID,
    lead_id: UUID,
    message: dict[str, Any] | None,
    values: dict[str, Any],
    advance_to: str | None,
    events: list[tuple[str, str, dict[str, Any] | None, datetime]],
    lead_email: str | None = None,
) -> None:
    """A step's outcome in one statement: the message of the conversation (`dm_messages` columns; once per
    provider id), the sequence's columns (skipped when they change nothing), the lead moved forward to
    `advance_to` (as `leads.repo.advance`: never backwards, never out of failed) and given `lead_email`,
    and the timeline events (kind, reason, data, at)."""
    params: list[Any] = []
    if message:
        params += list(message.values())
    if values:
        adapted = [crud._adapt(v) for v in values.values()]
        params += [*adapted, sequence_id, *adapted]
    lead = "capture" if lead_email is not None else "advance" if advance_to is not None else None
    if lead_email is not None:
        params += leads_repo.capture_params(lead_id, lead_email, advance_to)
    elif advance_to is not None:
        params += leads_repo.advance_params(lead_id, advance_to)
    for kind, reason, data, at in events:
        params += [client_id, lead_id, at, kind, reason, leads_repo.event_data(data)]
    query = _record_step_sql(tuple(message or ()), tuple(values), lead, len(events))
    if query:
        await conn.execute(query, params)


@functools.lru_cache(maxsize=256)
def _record_step_sql(
    message: tuple[str, ...], values: tuple[str, ...], lead: str | None, events: int
) -> str | None:
    """`record_step`'s statement for its shape (the message's columns, the sequence's, what it does to the
    lead, how many events): composed once per shape. None when there is nothing to write."""
    parts: list[sql.Composable] = []
    if message:
        parts.append(
            sql.SQL(
                "m as (insert into dm_messages ({}) values ({})"
                " on conflict (unipile_message_id) do nothing returning 1)"
            ).format(
                sql.SQL(", ").join(map(sql.Identifier, message)),
                sql.SQL(", ").join(sql.Placeholder() * len(message)),
            )
        )
    if values:
        parts.append(
            sql.SQL("s as (update dm_sequences set {} where id = %s and ({}) returning 1)").format(
                *_set_changed(values)
            )
        )
    if lead == "capture":
        parts.append(sql.SQL("l as (" + leads_repo.CAPTURE_SQL + " returning 1)"))
    elif lead == "advance":
        parts.append(sql.SQL("l as (" + leads_repo.ADVANCE_SQL + " returning 1)"))
    if events:
        rows = sql.SQL(", ").join(sql.SQL("(%s, %s, %s, %s, %s, %s)") for _ in range(events))
        parts.append(
            sql.SQL(
                "e as (insert into lead_events (client_id, lead_id, occurred_at, kind, reason, data)"
                " values {} returning 1)"
            ).format(rows)
        )
    if not parts:
        return None
    return sql.SQL("with {} select 1").format(sql.SQL(", ").join(parts)).as_string()


async def refresh(conn: Conn, sequence_id: UUID, columns: Sequence[str]) -> dict[str, Any] | None:
    """`columns` of the sequence row, locked: what may have changed since its context was read (its lead,
    campaign and account were read with it at the start of the step)."""
    query = sql.SQL("select {} from dm_sequences where id = %s for update").format(
        sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    return await (await conn.execute(query, (sequence_id,))).fetchone()


async def refresh_many(
    conn: Conn, sequence_ids: Sequence[UUID], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """`refresh` of many sequences in one statement (their `id` and `columns`), locked in the order of
    their ids."""
    if not sequence_ids:
        return []
    match, ids = crud.in_list("id", list(sequence_ids))
    query = sql.SQL("select id, {} from dm_sequences where {} order by id for update").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(match)
    )
    return await (await conn.execute(query, ids)).fetchall()


async def by_lead(conn: Conn, lead_id: UUID) -> dict[str, Any] | None:
    return await (await conn.execute("select * from dm_sequences where lead_id = %s", (lead_id,))).fetchone()


_CONTEXT_COLUMNS = (
    "s.*, l.first_name as lead_first_name, l.last_name as lead_last_name,"
    " l.linkedin_id as lead_linkedin_id, l.status as lead_status, l.email as lead_email,"
    " l.comment_id as lead_comment_id,"
    " c.name as campaign_name, c.status as campaign_status, c.starts_at as campaign_starts_at,"
    " c.ends_at as campaign_ends_at, c.settings as campaign_settings,"
    " c.dm_template_step1, c.dm_template_step2, c.dm_template_step3,"
    " c.lead_magnet_id, m.name as lead_magnet_name,"
    " a.unipile_account_id, a.status as account_status, a.timezone as account_timezone, a.paused_at as account_paused_at,"
    " a.paused_until as account_paused_until, a.next_action_at as account_next_action_at,"
    " a.rate_limit_strikes as account_rate_limit_strikes,"
    " a.pause_reason as account_pause_reason, a.profile_data as account_profile,"
    " cm.author_network_distance as comment_distance"
)
_CONTEXT_FROM = (
    " from dm_sequences s"
    " join leads l on l.id = s.lead_id"
    " left join comments cm on cm.id = l.comment_id"
    " join campaigns c on c.id = s.campaign_id"
    " left join lead_magnets m on m.id = c.lead_magnet_id"
    " left join linkedin_accounts a on a.id = s.linkedin_account_id"
)


async def context(
    conn: Conn, sequence_id: UUID, *, for_update: bool = False, action_keys: list[str] | None = None
) -> dict[str, Any] | None:
    """Everything a step needs in one row: sequence, lead, campaign, lead magnet and account columns,
    prefixed so nothing collides. `for update` locks the sequence row only. With `action_keys`, also
    `ledger_actions`: [key, id, status] of the ledger's actions under those keys, oldest first."""
    lock = " for update of s" if for_update else ""
    ledger = ""
    params: tuple[Any, ...] = (sequence_id,)
    if action_keys is not None:
        # One placeholder per key: a fixed-length list gets a generic plan (`crud.in_list`), where
        # `= any(%s)` had this seven-table join planned again on every step.
        match, keys = crud.in_list("la.action_key", action_keys)
        ledger = (
            ", (select coalesce(jsonb_agg(jsonb_build_array(la.action_key, la.id, la.status)"
            f" order by la.created_at, la.id), '[]') from linkedin_actions la where {match})"
            " as ledger_actions"
        )
        params = (*keys, sequence_id)
    return await (
        await conn.execute(f"select {_CONTEXT_COLUMNS}{ledger}{_CONTEXT_FROM} where s.id = %s{lock}", params)
    ).fetchone()


async def contexts(
    conn: Conn, sequence_ids: Sequence[UUID], *, for_update: bool = False
) -> list[dict[str, Any]]:
    """`context` of many sequences in one statement (those that exist), locked in the order of their ids
    with `for_update`."""
    if not sequence_ids:
        return []
    match, ids = crud.in_list("s.id", list(sequence_ids))
    lock = " for update of s" if for_update else ""
    return await (
        await conn.execute(f"select {_CONTEXT_COLUMNS}{_CONTEXT_FROM} where {match} order by s.id{lock}", ids)
    ).fetchall()


async def ledger_actions(conn: Conn, keys: Sequence[str]) -> list[dict[str, Any]]:
    """The ledger's actions under `keys` (action_key, id, status), oldest first."""
    if not keys:
        return []
    match, params = crud.in_list("action_key", list(keys))
    return await (
        await conn.execute(
            f"select action_key, id, status from linkedin_actions where {match} order by created_at, id",
            params,
        )
    ).fetchall()


async def by_chat(conn: Conn, chat_id: str, message_id: str | None = None) -> dict[str, Any] | None:
    """The newest sequence of the chat, with `message_recorded`: whether the conversation of any
    sequence holds the provider message `message_id` already."""
    return await (
        await conn.execute(
            "select s.*, exists (select 1 from dm_messages m where m.unipile_message_id = %s)"
            " as message_recorded"
            " from dm_sequences s where s.unipile_chat_id = %s order by s.created_at desc limit 1",
            (message_id, chat_id),
        )
    ).fetchone()


async def by_member(conn: Conn, unipile_account_id: str, member_provider_id: str) -> list[dict[str, Any]]:
    """Sequences of this LinkedIn account with this member, newest first (one per campaign)."""
    return await (
        await conn.execute(
            "select s.* from dm_sequences s join leads l on l.id = s.lead_id"
            " join linkedin_accounts a on a.id = s.linkedin_account_id"
            " where a.unipile_account_id = %s and l.linkedin_id = %s"
            " order by (s.status = 'in_progress') desc, s.created_at desc",
            (unipile_account_id, member_provider_id),
        )
    ).fetchall()


async def insert_message(conn: Conn, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert a dm_messages row keyed by the provider's message id; None if it was already recorded."""
    cols = list(values)
    placeholders = ", ".join(["%s"] * len(cols))
    query = (
        f"insert into dm_messages ({', '.join(cols)}) values ({placeholders})"
        " on conflict (unipile_message_id) do nothing returning *"
    )
    return await (await conn.execute(query, [values[c] for c in cols])).fetchone()


async def settled_messages(conn: Conn, message_ids: list[str]) -> set[str]:
    """The provider message ids among `message_ids` recorded in a conversation whose chat is known: the
    inbox's handlers would find nothing left to do with them."""
    if not message_ids:
        return set()
    match, ids = crud.any_of("m.unipile_message_id", message_ids)
    rows = await (
        await conn.execute(
            "select m.unipile_message_id from dm_messages m join dm_sequences s on s.id = m.dm_sequence_id"
            f" where {match} and s.unipile_chat_id is not null",
            (ids,),
        )
    ).fetchall()
    return {r["unipile_message_id"] for r in rows}


async def messages(conn: Conn, sequence_id: UUID) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            "select * from dm_messages where dm_sequence_id = %s order by coalesce(sent_at, created_at), id",
            (sequence_id,),
        )
    ).fetchall()


# Sequences of an archived campaign leave every scan (docs/operations.md).
_NOT_ARCHIVED = (
    "not exists (select 1 from campaigns ac"
    " where ac.id = dm_sequences.campaign_id and ac.archived_at is not null)"
)


async def due(conn: Conn, now: datetime, limit: int) -> list[dict[str, Any]]:
    """In-progress sequences whose next action is due, claimed so two dispatchers split the work."""
    return await (
        await conn.execute(
            "select id, linkedin_account_id from dm_sequences"
            " where status = 'in_progress' and next_action_at <= %s"
            f" and {_NOT_ARCHIVED}"
            " order by next_action_at limit %s for update skip locked",
            (now, limit),
        )
    ).fetchall()


async def due_accounts(conn: Conn, now: datetime, limit: int) -> list[dict[str, Any]]:
    """LinkedIn accounts with at least one sequence due, the longest-waiting first."""
    return await (
        await conn.execute(
            "select linkedin_account_id, min(next_action_at) as due_at from dm_sequences"
            " where status = 'in_progress' and next_action_at <= %s and linkedin_account_id is not null"
            " group by linkedin_account_id order by min(next_action_at) limit %s",
            (now, limit),
        )
    ).fetchall()


async def due_for_account(conn: Conn, linkedin_account_id: UUID, now: datetime, limit: int) -> list[UUID]:
    """The account's due sequences, in due order."""
    rows = await (
        await conn.execute(
            "select id from dm_sequences where linkedin_account_id = %s and status = 'in_progress'"
            " and next_action_at <= %s order by next_action_at, id limit %s",
            (linkedin_account_id, now, limit),
        )
    ).fetchall()
    return [row["id"] for row in rows]


async def next_due_for_account(conn: Conn, linkedin_account_id: UUID) -> datetime | None:
    """When the account next has something to do: its earliest pending step, but not before the
    account may act again (randomised gap, timed pause); None when nothing is pending or the account
    waits for a person (paused without an end, disconnected)."""
    row = await (
        await conn.execute(
            "select (select min(next_action_at) from dm_sequences"
            "        where linkedin_account_id = a.id and status = 'in_progress') as due_at,"
            " a.next_action_at as account_free_at, a.paused_at, a.paused_until, a.status"
            " from linkedin_accounts a where a.id = %s",
            (linkedin_account_id,),
        )
    ).fetchone()
    if row is None or row["due_at"] is None:
        return None
    if row["paused_at"] is not None and row["paused_until"] is None:
        return None
    if row["status"] != "active":
        return None
    at: datetime = row["due_at"]
    for later in (row["account_free_at"], row["paused_until"] if row["paused_at"] else None):
        if later is not None and later > at:
            at = later
    return at


async def account_busy_until(conn: Conn, linkedin_account_id: UUID, now: datetime) -> datetime | None:
    """Not None when the account cannot act at `now` (paused, not active, or within its randomised gap);
    the value is when to look again (`now` itself for an open-ended pause)."""
    row = await (
        await conn.execute(
            "select status, next_action_at, paused_at, paused_until from linkedin_accounts where id = %s",
            (linkedin_account_id,),
        )
    ).fetchone()
    if row is None:
        return now
    return busy_until(row, now)


def busy_until(row: Mapping[str, Any], now: datetime) -> datetime | None:
    """`account_busy_until` from the account's status, next_action_at, paused_at and paused_until."""
    if row["paused_at"] is not None:
        until = row["paused_until"]
        if until is None:
            return now
        if until > now:
            return until
        # a timed pause that has run out: the next reservation lifts it
    if row["status"] != "active":
        return now
    if row["next_action_at"] is not None and row["next_action_at"] > now:
        free_at: datetime = row["next_action_at"]
        return free_at
    return None


async def abandon_due(conn: Conn, now: datetime, limit: int) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            "select id, lead_id from dm_sequences"
            " where status = 'in_progress' and stage = 'awaiting_reply' and abandon_at <= %s"
            # a follow-up still due (or being confirmed) comes first; abandon_at then counts from it
            " and next_action_at is null"
            f" and {_NOT_ARCHIVED}"
            " order by abandon_at limit %s for update skip locked",
            (now, limit),
        )
    ).fetchall()


async def awaiting_acceptance(conn: Conn, linkedin_account_id: UUID) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            "select s.id, l.linkedin_id from dm_sequences s join leads l on l.id = s.lead_id"
            " where s.linkedin_account_id = %s and s.status = 'in_progress'"
            " and s.invitation_sent_at is not null and s.invitation_accepted_at is null",
            (linkedin_account_id,),
        )
    ).fetchall()


async def by_download_token(conn: Conn, sequence_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select s.id, s.lead_id, s.client_id, s.link_clicked, s.status, c.lead_magnet_id"
            " from dm_sequences s join campaigns c on c.id = s.campaign_id where s.id = %s",
            (sequence_id,),
        )
    ).fetchone()


async def mark_clicked(conn: Conn, sequence_id: UUID, at: datetime) -> bool:
    """First click only: True when this call is the one that set link_clicked."""
    cur = await conn.execute(
        "update dm_sequences set link_clicked = true, link_clicked_at = %s"
        " where id = %s and link_clicked is not true",
        (at, sequence_id),
    )
    return cur.rowcount > 0


async def accounts_in_conversation(conn: Conn) -> list[dict[str, Any]]:
    """Active LinkedIn accounts with a sequence in progress, whose messages the reply poller reads;
    accounts paused until a person acts (manual, restricted, disconnected) are left alone."""
    return await (
        await conn.execute(
            "select distinct a.id, a.client_id, a.unipile_account_id from dm_sequences s"
            " join linkedin_accounts a on a.id = s.linkedin_account_id"
            " where s.status = 'in_progress' and a.unipile_account_id is not null and a.status = 'active'"
            " and (a.paused_at is null or a.paused_until is not null)"
        )
    ).fetchall()


async def unipile_account_of(conn: Conn, linkedin_account_id: UUID) -> str | None:
    row = await (
        await conn.execute(
            "select unipile_account_id from linkedin_accounts where id = %s", (linkedin_account_id,)
        )
    ).fetchone()
    return row["unipile_account_id"] if row else None
