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


async def unconfirmed(conn: Conn, keys: list[str]) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            f"{_SELECT} where a.action_key = any(%s) and a.status in ('in_flight', 'ambiguous')"
            " order by a.created_at",
            (keys,),
        )
    ).fetchall()


async def insert_intent(conn: Conn, action: Mapping[str, Any]) -> None:
    """A new action in `intent` (client_id, linkedin_account_id, kind, action_key, target, payload), unless
    its key is taken (then nothing happens)."""
    await conn.execute(
        "insert into linkedin_actions (client_id, linkedin_account_id, kind, action_key, target, payload)"
        " values (%(client_id)s, %(linkedin_account_id)s, %(kind)s, %(action_key)s, %(target)s, %(payload)s)"
        " on conflict (action_key) do nothing",
        {**action, "payload": Jsonb(action["payload"])},
    )


async def start(conn: Conn, action_id: UUID, *, now: datetime, reserved_day: date | None) -> bool:
    """intent → in_flight (attempts + 1, started_at). False when the action was not in `intent`."""
    result = await conn.execute(
        "update linkedin_actions set status = 'in_flight', attempts = attempts + 1, started_at = %s,"
        " reserved_day = %s, last_error = null where id = %s and status = 'intent'",
        (now, reserved_day, action_id),
    )
    return result.rowcount > 0


async def confirm(
    conn: Conn, action_id: UUID, *, provider_id: str, provider_chat_id: str | None, now: datetime
) -> None:
    """→ done with the provider's id (and chat id), once."""
    await conn.execute(
        "update linkedin_actions set status = 'done', provider_id = %s,"
        " provider_chat_id = coalesce(%s, provider_chat_id), done_at = coalesce(done_at, %s),"
        " last_error = null where id = %s and status <> 'done'",
        (provider_id, provider_chat_id, now, action_id),
    )


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
