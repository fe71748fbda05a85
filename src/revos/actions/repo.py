"""SQL for linkedin_actions, the action ledger's rows. Runs in the caller's transaction, never commits.

The state changes (`start`, `fail`, `mark_ambiguous`, `release`, `confirm`) only apply from the states
the protocol allows (see `revos.actions.ledger`), so a late or repeated call changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from revos.db.pool import Conn

_SELECT = (
    "select a.id, a.client_id, a.linkedin_account_id, a.kind, a.action_key, a.status, a.target, a.payload,"
    " a.provider_id, a.provider_chat_id, a.attempts, a.last_error, a.created_at, a.updated_at,"
    " a.started_at, a.done_at, a.reserved_day, la.unipile_account_id"
    " from linkedin_actions a join linkedin_accounts la on la.id = a.linkedin_account_id"
)
ERROR_MAX = 2000


async def get(conn: Conn, action_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update of a" if for_update else ""
    return await (await conn.execute(f"{_SELECT} where a.id = %s{lock}", (action_id,))).fetchone()


async def get_by_key(conn: Conn, key: str) -> dict[str, Any] | None:
    return await (await conn.execute(f"{_SELECT} where a.action_key = %s", (key,))).fetchone()


async def get_many(conn: Conn, action_ids: list[UUID]) -> list[dict[str, Any]]:
    return await (await conn.execute(f"{_SELECT} where a.id = any(%s)", (action_ids,))).fetchall()


async def unconfirmed(conn: Conn, keys: list[str]) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            f"{_SELECT} where a.action_key = any(%s) and a.status in ('in_flight', 'ambiguous')"
            " order by a.created_at",
            (keys,),
        )
    ).fetchall()


# The columns `_SELECT` reads, for statements that return the rows they write (`returning`).
_RETURNING = (
    " returning a.id, a.client_id, a.linkedin_account_id, a.kind, a.action_key, a.status, a.target,"
    " a.payload, a.provider_id, a.provider_chat_id, a.attempts, a.last_error, a.created_at, a.updated_at,"
    " a.started_at, a.done_at, a.reserved_day, la.unipile_account_id"
)


async def insert_intent(conn: Conn, action: Mapping[str, Any]) -> dict[str, Any] | None:
    """A new action in `intent` (client_id, linkedin_account_id, kind, action_key, target, payload), unless
    its key is taken (then nothing happens). Returns the row it created (locked until the caller's
    transaction ends, as any inserted row), or None when the key was taken."""
    return await (
        await conn.execute(
            "with created as ("
            " insert into linkedin_actions (client_id, linkedin_account_id, kind, action_key, target, payload)"
            " values (%(client_id)s, %(linkedin_account_id)s, %(kind)s, %(action_key)s, %(target)s,"
            " %(payload)s) on conflict (action_key) do nothing returning *)"
            + _SELECT.replace(" linkedin_actions a ", " created a "),
            {**action, "payload": Jsonb(action["payload"])},
        )
    ).fetchone()


async def insert_started(
    conn: Conn, action: Mapping[str, Any], *, now: datetime, reserved_day: date | None
) -> dict[str, Any] | None:
    """`insert_intent` and `start` in one row write: a new action already `in_flight` (attempt 1, started at
    `now`, its budget's day). None when the key is taken (nothing written)."""
    return await (
        await conn.execute(
            "with created as ("
            " insert into linkedin_actions (client_id, linkedin_account_id, kind, action_key, target, payload,"
            " status, attempts, started_at, reserved_day)"
            " values (%(client_id)s, %(linkedin_account_id)s, %(kind)s, %(action_key)s, %(target)s,"
            " %(payload)s, 'in_flight', 1, %(now)s, %(day)s) on conflict (action_key) do nothing returning *)"
            + _SELECT.replace(" linkedin_actions a ", " created a "),
            {**action, "payload": Jsonb(action["payload"]), "now": now, "day": reserved_day},
        )
    ).fetchone()


async def start(conn: Conn, action_id: UUID, *, now: datetime, reserved_day: date | None) -> bool:
    """intent → in_flight (attempts + 1, started_at). False when the action was not in `intent`."""
    return await start_returning(conn, action_id, now=now, reserved_day=reserved_day) is not None


async def start_returning(
    conn: Conn, action_id: UUID, *, now: datetime, reserved_day: date | None
) -> dict[str, Any] | None:
    """`start`, returning the started row (None when the action was not in `intent`)."""
    return await (
        await conn.execute(
            "update linkedin_actions a set status = 'in_flight', attempts = a.attempts + 1, started_at = %s,"
            " reserved_day = %s, last_error = null from linkedin_accounts la"
            " where a.id = %s and a.status = 'intent' and la.id = a.linkedin_account_id" + _RETURNING,
            (now, reserved_day, action_id),
        )
    ).fetchone()


async def confirm(
    conn: Conn, action_id: UUID, *, provider_id: str, provider_chat_id: str | None, now: datetime
) -> dict[str, Any] | None:
    """→ done with the provider's id (and chat id), once. Returns the row it confirmed (None when it was
    done already)."""
    return await (
        await conn.execute(
            "update linkedin_actions a set status = 'done', provider_id = %s,"
            " provider_chat_id = coalesce(%s, a.provider_chat_id), done_at = coalesce(a.done_at, %s),"
            " last_error = null from linkedin_accounts la"
            " where a.id = %s and a.status <> 'done' and la.id = a.linkedin_account_id" + _RETURNING,
            (provider_id, provider_chat_id, now, action_id),
        )
    ).fetchone()


# `attempt`: only while the row is still at that attempt (a late answer to an attempt another worker has
# since reconciled and started again must not undo the newer one).
_AT_ATTEMPT = " and (%s::int is null or attempts = %s)"


async def fail(conn: Conn, action_id: UUID, error: str, *, attempt: int | None = None) -> bool:
    """→ failed, unless done. False when nothing changed."""
    result = await conn.execute(
        "update linkedin_actions set status = 'failed', last_error = %s where id = %s and status <> 'done'"
        + _AT_ATTEMPT,
        (error[:ERROR_MAX], action_id, attempt, attempt),
    )
    return result.rowcount > 0


async def mark_ambiguous(conn: Conn, action_id: UUID, error: str, *, attempt: int | None = None) -> bool:
    """in_flight/ambiguous → ambiguous. False when nothing changed."""
    result = await conn.execute(
        "update linkedin_actions set status = 'ambiguous', last_error = %s"
        " where id = %s and status in ('in_flight', 'ambiguous')" + _AT_ATTEMPT,
        (error[:ERROR_MAX], action_id, attempt, attempt),
    )
    return result.rowcount > 0


async def release(conn: Conn, action_id: UUID, error: str | None, *, attempt: int | None = None) -> bool:
    """in_flight/ambiguous → intent, the day's reservation forgotten. False when nothing changed."""
    result = await conn.execute(
        "update linkedin_actions set status = 'intent', reserved_day = null, last_error = %s"
        " where id = %s and status in ('in_flight', 'ambiguous')" + _AT_ATTEMPT,
        (error[:ERROR_MAX] if error else None, action_id, attempt, attempt),
    )
    return result.rowcount > 0


# --- batches (revos.actions.lanes): one statement for many rows ------------------------------------------


async def sending_dm(conn: Conn, account_id: UUID, text: str) -> bool:
    """Whether the account has a DM with this text in flight (sent or about to be, not recorded yet)."""
    row = await (
        await conn.execute(
            "select exists (select 1 from linkedin_actions where status = 'in_flight' and kind = 'dm'"
            " and linkedin_account_id = %s and payload ->> 'text' = %s) as sending",
            (account_id, text),
        )
    ).fetchone()
    return bool(row and row["sending"])


async def insert_started_many(
    conn: Conn, actions: list[tuple[Mapping[str, Any], date | None]], *, now: datetime
) -> list[dict[str, Any]]:
    """New actions recorded already started, each with its budget's day (intent and start in one row write:
    `in_flight`, attempt 1, started at `now`); each action carries its `id`. Returns the rows created: a
    key already taken creates nothing (its action is someone else's)."""
    if not actions:
        return []
    ordered = sorted(actions, key=lambda x: str(x[0]["action_key"]))  # two batches never wait in a cycle
    return await (
        await conn.execute(
            f"""
            with created as (
              insert into linkedin_actions (id, client_id, linkedin_account_id, kind, action_key, target,
                payload, status, attempts, started_at, reserved_day)
              select v.id, v.client_id, v.account_id, v.kind, v.action_key, v.target, v.payload, 'in_flight', 1,
                %s::timestamptz, v.day
              from unnest(%s::uuid[], %s::uuid[], %s::uuid[], %s::text[], %s::text[], %s::text[], %s::jsonb[],
                %s::date[])
                as v(id, client_id, account_id, kind, action_key, target, payload, day)
              on conflict (action_key) do nothing
              returning *
            )
            {_SELECT.replace(" linkedin_actions a ", " created a ")}
            """,
            (
                now,
                [a["id"] for a, _ in ordered],
                [a["client_id"] for a, _ in ordered],
                [a["linkedin_account_id"] for a, _ in ordered],
                [a["kind"] for a, _ in ordered],
                [a["action_key"] for a, _ in ordered],
                [a["target"] for a, _ in ordered],
                [Jsonb(a["payload"]) for a, _ in ordered],
                [day for _, day in ordered],
            ),
        )
    ).fetchall()


async def start_many(
    conn: Conn, reserved: list[tuple[UUID, date | None]], *, now: datetime
) -> list[dict[str, Any]]:
    """`start` for many actions (id, reserved day): the rows started (those still in `intent`)."""
    if not reserved:
        return []
    return await (
        await conn.execute(
            """
            update linkedin_actions a set status = 'in_flight', attempts = a.attempts + 1, started_at = %s,
              reserved_day = v.day, last_error = null
            from unnest(%s::uuid[], %s::date[]) as v(id, day), linkedin_accounts la
            where a.id = v.id and a.id = any(%s) and a.status = 'intent' and la.id = a.linkedin_account_id
            returning a.id, a.client_id, a.linkedin_account_id, a.kind, a.action_key, a.status, a.target,
              a.payload, a.provider_id, a.provider_chat_id, a.attempts, a.last_error, a.created_at,
              a.updated_at, a.started_at, a.done_at, a.reserved_day, la.unipile_account_id
            """,
            (now, [r[0] for r in reserved], [r[1] for r in reserved], [r[0] for r in reserved]),
        )
    ).fetchall()


async def confirm_many(conn: Conn, confirmed: list[tuple[UUID, str, str | None]], *, now: datetime) -> None:
    """`confirm` for many actions (id, provider id, provider chat id)."""
    if not confirmed:
        return
    await conn.execute(
        "update linkedin_actions a set status = 'done', provider_id = v.pid,"
        " provider_chat_id = coalesce(v.chat, a.provider_chat_id), done_at = coalesce(a.done_at, %s),"
        " last_error = null from unnest(%s::uuid[], %s::text[], %s::text[]) as v(id, pid, chat)"
        " where a.id = v.id and a.id = any(%s) and a.status <> 'done'",
        (
            now,
            [c[0] for c in confirmed],
            [c[1] for c in confirmed],
            [c[2] for c in confirmed],
            [c[0] for c in confirmed],
        ),
    )


async def release_many(conn: Conn, attempts: list[tuple[UUID, int]], error: str) -> list[dict[str, Any]]:
    """`release` for many actions, each only at its attempt (id, attempt): the rows released, with the
    kind and the day whose budget their attempt had reserved."""
    if not attempts:
        return []
    return await (
        await conn.execute(
            "with v as (select * from unnest(%s::uuid[], %s::int[]) as v(id, attempt)),"
            " old as (select a.id, a.reserved_day from linkedin_actions a join v on v.id = a.id"
            " where a.id = any(%s))"
            " update linkedin_actions a set status = 'intent', reserved_day = null, last_error = %s"
            " from v, old where a.id = v.id and a.id = any(%s) and old.id = a.id and a.attempts = v.attempt"
            " and a.status in ('in_flight', 'ambiguous')"
            " returning a.id, a.kind, old.reserved_day",
            (
                [a[0] for a in attempts],
                [a[1] for a in attempts],
                [a[0] for a in attempts],
                error[:ERROR_MAX],
                [a[0] for a in attempts],
            ),
        )
    ).fetchall()
