"""The inbound inbox: Unipile webhooks and polled messages land in `inbound_events`, keyed by the provider's
id, then a job hands each event to the handlers registered for its source (design §6.4).

Event keys (unique; a redelivery or a message seen by both webhook and poller is stored once):

- `message:<message_id>` — a new message (`message_received`, or polled);
- `<event>:<message_id>:<timestamp>` — other messaging events (read, reaction, edited, deleted);
- `status:<account_id>:<status>:<received at>` — account status. The payload has no id or time, so a
  delivery repeating the account's latest stored status within `STATUS_REPEAT_WINDOW` (Unipile's retry
  window) is a duplicate; the handler applies only the latest status of an account (order-proof);
- `relation:<account_id>:<provider_id>` — an accepted invitation (`new_relation`).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from psycopg.types.json import Jsonb

from revos import jsonsafe
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.inbound.registry import handlers_for, source_of
from revos.linkedin.models import Message
from revos.linkedin.webhooks import (
    AccountStatusEvent,
    MessagingEvent,
    NewRelationEvent,
    WebhookEvent,
    WebhookPayloadError,
    decode_body,
    parse_webhook,
)
from revos.runtime import Runtime

log = logging.getLogger("revos.inbound")

PROCESS_TASK = "inbound.process"
STATUS_REPEAT_WINDOW = timedelta(minutes=30)


def event_key(event: WebhookEvent, *, received_at: datetime) -> str:
    if isinstance(event, MessagingEvent):
        when = event.timestamp.isoformat() if event.timestamp else received_at.isoformat()
        if event.event == "message_received" and event.message_id:
            return f"message:{event.message_id}"
        return f"{event.event}:{event.message_id or event.chat_id}:{when}"
    if isinstance(event, AccountStatusEvent):
        # The payload carries no id and no time: the receipt time keeps ERROR → OK → ERROR → OK apart;
        # redeliveries are caught by `_repeated_status` instead.
        return f"status:{event.account_id}:{event.status}:{received_at.isoformat()}"
    assert isinstance(event, NewRelationEvent)
    return f"relation:{event.account_id}:{event.user_provider_id}"


async def account_for(conn: Conn, unipile_account_id: str) -> dict[str, Any] | None:
    """The tenant (client) and our account row behind a Unipile account id."""
    return await (
        await conn.execute(
            "select id, client_id, profile_data ->> 'provider_id' as provider_id"
            " from linkedin_accounts where unipile_account_id = %s",
            (unipile_account_id,),
        )
    ).fetchone()


async def store(
    conn: Conn,
    *,
    client_id: UUID,
    account_id: UUID | None,
    source: str,
    key: str,
    payload: dict[str, Any],
    rejected: str | None = None,
) -> UUID | None:
    """Insert the event unless its key is known; returns the new id (None: a duplicate). Defers processing
    in the same transaction when the queue is available.

    `rejected` records an event that can never be processed: stored as processed with that reason, nothing
    deferred."""
    now = utcnow()
    row = await (
        await conn.execute(
            "insert into inbound_events"
            " (client_id, linkedin_account_id, source, event_key, payload, received_at, processed_at, error)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s) on conflict (event_key) do nothing returning id",
            (client_id, account_id, source, key, Jsonb(payload), now, now if rejected else None, rejected),
        )
    ).fetchone()
    if row is None:
        return None
    if rejected is None:
        await defer_processing(conn, row["id"])
    return UUID(str(row["id"]))


async def record_polled_message(
    conn: Conn, *, client_id: UUID, account_id: UUID, message: Message, other_party: str | None = None
) -> UUID | None:
    """Land a message found by polling in the same inbox, under the same key as its webhook would have.

    Returns the new event's id, or None when the message is already in the inbox (webhook or earlier poll).
    The event is handed to the `messaging` handlers exactly like a `message_received` webhook."""
    account = await (
        await conn.execute(
            "select unipile_account_id, profile_data ->> 'provider_id' as provider_id"
            " from linkedin_accounts where id = %s and client_id = %s",
            (account_id, client_id),
        )
    ).fetchone()
    if account is None:
        raise ValueError(f"LinkedIn account {account_id} not found for client {client_id}")
    own = message.sender_id if message.is_sender else account["provider_id"]
    payload: dict[str, Any] = {
        "account_id": account["unipile_account_id"] or message.account_id,
        "account_type": "LINKEDIN",
        "account_info": {"type": "LINKEDIN", "user_id": own},
        "event": "message_received",
        "chat_id": message.chat_id,
        # No readable time from Unipile: the inbox's receive time stands in (as for a webhook without one).
        "timestamp": message.timestamp.isoformat() if message.timestamp else None,
        "message_id": message.id,
        "message": message.text,
        "sender": {"attendee_id": message.sender_attendee_id, "attendee_provider_id": message.sender_id},
        "attendees": [{"attendee_provider_id": other_party}] if other_party else [],
        "attachments": [],
        "_origin": "poll",
    }
    if unstorable := jsonsafe.problem(payload):
        await store(
            conn,
            client_id=client_id,
            account_id=account_id,
            source="poll",
            key=jsonsafe.storable(f"message:{message.id}"),
            payload=jsonsafe.storable(payload),
            rejected=f"rejected: {unstorable}",
        )
        return None
    return await store(
        conn,
        client_id=client_id,
        account_id=account_id,
        source="poll",
        key=f"message:{message.id}",
        payload=payload,
    )


# --- the queue, when it is there ----------------------------------------------------------------------------


def _queue_defer() -> Any:
    try:
        queue = importlib.import_module("revos.queue")
    except ImportError:
        return None
    return getattr(queue, "defer", None)


async def defer_processing(conn: Conn, event_id: UUID) -> bool:
    """Defer `inbound.process` for the event in the caller's transaction. False: no queue (process inline)."""
    defer = _queue_defer()
    if defer is None:
        return False
    try:
        await defer(conn, PROCESS_TASK, {"event_id": str(event_id)}, queueing_lock=f"inbound:{event_id}")
    except Exception as exc:  # AlreadyEnqueued: a job for this event already waits
        if type(exc).__name__ != "AlreadyEnqueued":
            raise
    return True


# --- receiving a webhook ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    status: Literal["accepted", "duplicate", "ignored", "rejected"]
    event_id: UUID | None = None
    key: str | None = None
    detail: str = ""


async def receive_webhook(runtime: Runtime, body: bytes) -> Received:
    """Parse, store and defer one authenticated delivery. Raises WebhookPayloadError for a bad body."""
    payload = decode_body(body)
    event = parse_webhook(payload)
    now = utcnow()
    key = event_key(event, received_at=now)
    # Text PostgreSQL cannot store can never be processed: keep a record of the event, answer 2xx so
    # Unipile does not retry it forever, and never hand it to the handlers.
    unstorable = jsonsafe.problem(payload)
    async with runtime.db.service(actor="unipile-webhook") as conn:
        account = await account_for(conn, event.account_id)
        if account is None:
            log.info("webhook for unknown Unipile account %s ignored (%s)", event.account_id, key)
            return Received("ignored", key=key, detail="unknown account")
        if unstorable:
            reason = f"rejected: {unstorable}"
            stored = await store(
                conn,
                client_id=account["client_id"],
                account_id=account["id"],
                source=source_of(event),
                key=jsonsafe.storable(key),
                payload=jsonsafe.storable(payload),
                rejected=reason,
            )
            log.warning("Unipile webhook %s rejected: %s", jsonsafe.storable(key)[:120], unstorable)
            return Received("rejected", event_id=stored, key=jsonsafe.storable(key), detail=reason)
        if isinstance(event, AccountStatusEvent) and await _repeated_status(conn, account["id"], event, now):
            return Received("duplicate", key=key)
        event_id = await store(
            conn,
            client_id=account["client_id"],
            account_id=account["id"],
            source=source_of(event),
            key=key,
            payload=payload,
        )
        queued = event_id is not None and _queue_defer() is not None
    if event_id is None:
        return Received("duplicate", key=key)
    if not queued:
        await process_event(runtime, event_id)
    return Received("accepted", event_id=event_id, key=key)


async def _repeated_status(conn: Conn, account_id: UUID, event: AccountStatusEvent, now: datetime) -> bool:
    latest = await latest_status_event(conn, account_id)
    return (
        latest is not None
        and latest["status"] == event.status
        and latest["received_at"] >= now - STATUS_REPEAT_WINDOW
    )


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


# --- processing ---------------------------------------------------------------------------------------------

ProcessResult = Literal["processed", "already", "busy", "missing", "no_handler", "invalid", "error"]


async def process_event(runtime: Runtime, event_id: UUID) -> ProcessResult:
    """Run the registered handlers for one event, once; idempotent. A handler error is recorded on the
    event and re-raised (the job retries); the event stays unprocessed."""
    failure: BaseException | None = None
    async with runtime.db.service(actor="inbound") as conn:
        row = await (
            await conn.execute(
                "select * from inbound_events where id = %s for update skip locked", (event_id,)
            )
        ).fetchone()
        if row is None:
            exists = await (
                await conn.execute("select 1 from inbound_events where id = %s", (event_id,))
            ).fetchone()
            return "busy" if exists else "missing"
        if row["processed_at"] is not None:
            return "already"
        try:
            event = parse_webhook(row["payload"])
        except WebhookPayloadError as exc:
            await _finish(conn, event_id, f"unparseable payload: {exc}")
            return "invalid"
        handlers = handlers_for(source_of(event))
        if not handlers:
            # Left unprocessed: a handler module not imported yet; the sweeper tries again later.
            await conn.execute(
                "update inbound_events set error = %s where id = %s",
                (f"no handler registered for {source_of(event)}", event_id),
            )
            return "no_handler"
        try:
            async with conn.transaction():
                for handler in handlers:
                    await handler(conn, row, event, runtime)
        except Exception as exc:
            failure = exc
            log.exception("inbound event %s (%s) failed", event_id, row["event_key"])
            await conn.execute(
                "update inbound_events set error = %s where id = %s",
                (f"{type(exc).__name__}: {exc}"[:2000], event_id),
            )
        else:
            await _finish(conn, event_id, None)
    if failure is not None:
        raise failure
    return "processed"


async def _finish(conn: Conn, event_id: UUID, error: str | None) -> None:
    await conn.execute(
        "update inbound_events set processed_at = %s, error = %s where id = %s", (utcnow(), error, event_id)
    )


async def sweep(runtime: Runtime, *, limit: int = 500) -> int:
    """Process again events left unprocessed (a lost job, a handler error, a handler registered late)."""
    cutoff = utcnow() - timedelta(seconds=runtime.settings.inbound_sweep_after_seconds)
    async with runtime.db.service(actor="inbound") as conn:
        rows = await (
            await conn.execute(
                "select id from inbound_events where processed_at is null and received_at < %s"
                " order by received_at limit %s",
                (cutoff, limit),
            )
        ).fetchall()
        if _queue_defer() is not None:
            for row in rows:
                await defer_processing(conn, row["id"])
            return len(rows)
    for row in rows:
        try:
            await process_event(runtime, row["id"])
        except Exception:
            log.warning("inbound event %s still failing", row["id"])
    return len(rows)
