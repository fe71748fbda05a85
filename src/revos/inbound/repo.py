"""SQL for inbound_events, the inbox of Unipile webhooks and polled messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from revos.db import crud
from revos.db.pool import Conn


async def insert_unless_known(conn: Conn, values: Mapping[str, Any]) -> UUID | None:
    """Insert the event (column -> value); its id, or None when an event with this key is stored already."""
    row = await crud.insert_unless_known(conn, "inbound_events", values, unique="event_key")
    return None if row is None else UUID(str(row["id"]))


async def known_keys(conn: Conn, keys: list[str]) -> set[str]:
    """The keys among `keys` the inbox holds already."""
    if not keys:
        return set()
    rows = await (
        await conn.execute("select event_key from inbound_events where event_key = any(%s)", (keys,))
    ).fetchall()
    return {r["event_key"] for r in rows}


async def latest_status_event(conn: Conn, account_id: UUID) -> dict[str, Any] | None:
    """The account's most recent account_status event (id, status, received_at)."""
    return await (
        await conn.execute(
            "select id, payload -> 'AccountStatus' ->> 'message' as status, received_at from inbound_events"
            " where linkedin_account_id = %s and source = 'account_status'"
            " order by received_at desc, created_at desc limit 1",
            (account_id,),
        )
    ).fetchone()


async def lock(conn: Conn, event_id: UUID) -> dict[str, Any] | None:
    """The event, locked for processing; None when it is missing or another transaction holds it."""
    return await (
        await conn.execute("select * from inbound_events where id = %s for update skip locked", (event_id,))
    ).fetchone()


async def exists(conn: Conn, event_id: UUID) -> bool:
    row = await (await conn.execute("select 1 from inbound_events where id = %s", (event_id,))).fetchone()
    return row is not None


async def set_error(conn: Conn, event_id: UUID, error: str) -> None:
    """Record why the event is still unprocessed (it stays in the sweeper's reach); nothing once another
    worker has processed it meanwhile."""
    await conn.execute(
        "update inbound_events set error = %s where id = %s and processed_at is null", (error, event_id)
    )


async def finish(conn: Conn, event_id: UUID, error: str | None, at: datetime) -> None:
    await conn.execute(
        "update inbound_events set processed_at = %s, error = %s where id = %s", (at, error, event_id)
    )


async def fresh(conn: Conn, limit: int, passed: list[UUID]) -> list[UUID]:
    """Unprocessed events without an error (none of their handlers failed yet), oldest first (by receipt,
    then by the transaction that stored them), but those of `passed` (`idx_inbound_events_waiting`)."""
    rows = await (
        await conn.execute(
            "select id from inbound_events where processed_at is null and error is null"
            " and not (id = any(%s)) order by received_at, created_at limit %s",
            (passed, limit),
        )
    ).fetchall()
    return [r["id"] for r in rows]


async def unprocessed_before(conn: Conn, cutoff: datetime, limit: int) -> list[UUID]:
    """Events still unprocessed that arrived before `cutoff`, oldest first: waiting, or failed (each kind on
    its own partial index)."""
    rows = await (
        await conn.execute(
            "select id from ("
            " (select id, received_at from inbound_events where processed_at is null and error is null"
            "  and received_at < %(cutoff)s order by received_at limit %(limit)s)"
            " union all"
            " (select id, received_at from inbound_events where processed_at is null and error is not null"
            "  and received_at < %(cutoff)s order by received_at limit %(limit)s)"
            ") e order by received_at limit %(limit)s",
            {"cutoff": cutoff, "limit": limit},
        )
    ).fetchall()
    return [r["id"] for r in rows]
