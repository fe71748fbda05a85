"""The inbound inbox: Unipile webhooks and polled messages land in `inbound_events`, keyed by the provider's
id, then the inbox's drain (`revos.inbound.drain`) hands each event to the handlers registered for its source
(design §6.4).

Event keys (unique; a redelivery or a message seen by both webhook and poller is stored once):

- `message:<message_id>` — a new message (`message_received`, or polled);
- `<event>:<message_id>:<timestamp>` — other messaging events (read, reaction, edited, deleted);
- `status:<account_id>:<status>:<received at>` — account status. The payload has no id or time, so a
  delivery repeating the account's latest stored status within `STATUS_REPEAT_WINDOW` (Unipile's retry
  window) is a duplicate; the handler applies only the latest status of an account (order-proof);
- `relation:<account_id>:<provider_id>` — an accepted invitation (`new_relation`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from revos import jsonsafe
from revos.accounts import repo as accounts
from revos.actions import repo as actions
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.inbound import repo
from revos.inbound.registry import handlers_for, source_of
from revos.inbound.repo import latest_status_event
from revos.leads import sequence_repo
from revos.linkedin.models import Message
from revos.linkedin.webhooks import (
    AccountStatusEvent,
    MessagingEvent,
    NewRelationEvent,
    WebhookEvent,
    WebhookPayloadError,
    decode_body,
    is_own_message,
    parse_webhook,
)
from revos.queue import defer_if_absent
from revos.runtime import Runtime

log = logging.getLogger("revos.inbound")

PROCESS_TASK = "inbound.process"
DRAIN_TASK = "inbound.drain"
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
    return relation_key(event.account_id, event.user_provider_id)


def relation_key(unipile_account_id: str, provider_id: str) -> str:
    """The key of the account's new connection with the member `provider_id` (an accepted invitation)."""
    return f"relation:{unipile_account_id}:{provider_id}"


async def relation_received(conn: Conn, unipile_account_id: str | None, provider_id: str | None) -> bool:
    """Whether the inbox holds LinkedIn's word that the member accepted the account's invitation."""
    if not unipile_account_id or not provider_id:
        return False
    return bool(await repo.known_keys(conn, [relation_key(unipile_account_id, provider_id)]))


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
    """Insert the event unless its key is known; returns the new id (None: a duplicate). Defers the inbox's
    drain in the same transaction (one waiting drain will do).

    `rejected` records an event that can never be processed: stored as processed with that reason, nothing
    deferred."""
    now = utcnow()
    event_id = await repo.insert_unless_known(
        conn,
        {
            "client_id": client_id,
            "linkedin_account_id": account_id,
            "source": source,
            "event_key": key,
            "payload": payload,
            "received_at": now,
            # A rejected event is stored as processed, with the reason as its error.
            "processed_at": now if rejected else None,
            "error": rejected,
        },
    )
    if event_id is not None and rejected is None:
        await defer_drain(conn)
    return event_id


def polled_message_key(message: Message) -> str:
    """The inbox key of a polled message: the one its `message_received` webhook has."""
    return f"message:{message.id}"


async def known_polled_messages(conn: Conn, messages: list[Message]) -> set[str]:
    """The ids of the messages the inbox holds already (from their webhook or an earlier poll)."""
    keys = await repo.known_keys(conn, [polled_message_key(m) for m in messages])
    return {m.id for m in messages if polled_message_key(m) in keys}


async def record_polled_message(
    conn: Conn, *, client_id: UUID, account_id: UUID, message: Message, other_party: str | None = None
) -> UUID | None:
    """Land a message found by polling in the same inbox, under the same key as its webhook would have.

    Returns the new event's id, or None when the message is already in the inbox (webhook or earlier poll).
    The event is handed to the `messaging` handlers exactly like a `message_received` webhook."""
    (event_id,) = await record_polled_messages(
        conn, client_id=client_id, account_id=account_id, messages=[(message, other_party)]
    )
    return event_id


async def record_polled_messages(
    conn: Conn, *, client_id: UUID, account_id: UUID, messages: list[tuple[Message, str | None]]
) -> list[UUID | None]:
    """`record_polled_message` for messages of one account (each with the other party of its chat, when
    known), in the caller's transaction; per message, the new event's id or None."""
    account = await accounts.get(conn, account_id)
    if account is None or account["client_id"] != client_id:
        raise ValueError(f"LinkedIn account {account_id} not found for client {client_id}")
    return [await _record_polled(conn, account, message, other) for message, other in messages]


async def _record_polled(
    conn: Conn, account: dict[str, Any], message: Message, other_party: str | None
) -> UUID | None:
    client_id, account_id = account["client_id"], account["id"]
    own = message.sender_id if message.is_sender else _provider_id(account)
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
    key = polled_message_key(message)
    if unstorable := jsonsafe.problem(payload):
        await store(
            conn,
            client_id=client_id,
            account_id=account_id,
            source="poll",
            key=jsonsafe.storable(key),
            payload=jsonsafe.storable(payload),
            rejected=f"rejected: {unstorable}",
        )
        return None
    return await store(
        conn, client_id=client_id, account_id=account_id, source="poll", key=key, payload=payload
    )


def _provider_id(account: dict[str, Any]) -> str | None:
    """The account owner's LinkedIn member id, once its profile is known."""
    value = (account["profile_data"] or {}).get("provider_id")
    return None if value is None else str(value)


async def defer_drain(conn: Conn) -> None:
    """Defer the inbox's drain (`inbound.drain`) in the caller's transaction, unless one is waiting already.
    Drains run one at a time (Procrastinate's lock): one runs, at most one more waits."""
    await defer_if_absent(conn, DRAIN_TASK, {}, queueing_lock=DRAIN_TASK, lock=DRAIN_TASK)


async def defer_processing(conn: Conn, event_id: UUID) -> None:
    """Defer `inbound.process` for one event in the caller's transaction (a job already waiting will do):
    an event the drain passed by (its handlers failed) or the sweeper found left behind, retried on its
    own with the queue's backoff."""
    await defer_if_absent(
        conn, PROCESS_TASK, {"event_id": str(event_id)}, queueing_lock=f"inbound:{event_id}"
    )


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
        account = await accounts.by_unipile_id(conn, event.account_id)
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
        if await _own_message_accounted_for(conn, event, account["id"]):
            return Received("duplicate", key=key, detail="our own message, recorded by its sender")
        event_id = await store(
            conn,
            client_id=account["client_id"],
            account_id=account["id"],
            source=source_of(event),
            key=key,
            payload=payload,
        )
    if event_id is None:
        return Received("duplicate", key=key)
    return Received("accepted", event_id=event_id, key=key)


async def _own_message_accounted_for(conn: Conn, event: WebhookEvent, account_id: UUID) -> bool:
    """Our own DM, echoed by Unipile: recorded already in its conversation (whose chat is known), or still
    in flight in the ledger with the same text (Unipile can echo a DM before its sender has recorded it;
    the sender records it, or after a crash the ledger's reconciliation does). The messaging handlers
    would find nothing to do and the conversation is its record, so it is not stored (the replies'
    poller passes it by too: `revos.dms.replies`). Any other own message (a person writing from LinkedIn
    itself) is stored and processed."""
    if not (
        isinstance(event, MessagingEvent)
        and event.event == "message_received"
        and event.message_id
        and is_own_message(event)
    ):
        return False
    if await sequence_repo.settled_messages(conn, [event.message_id]):
        return True
    return bool(event.message) and await actions.sending_dm(conn, account_id, event.message or "")


async def _repeated_status(conn: Conn, account_id: UUID, event: AccountStatusEvent, now: datetime) -> bool:
    latest = await latest_status_event(conn, account_id)
    return (
        latest is not None
        and latest["status"] == event.status
        and latest["received_at"] >= now - STATUS_REPEAT_WINDOW
    )


# --- processing ---------------------------------------------------------------------------------------------

ProcessResult = Literal["processed", "already", "busy", "missing", "no_handler", "invalid", "error"]


async def process_event(runtime: Runtime, event_id: UUID) -> ProcessResult:
    """Run the registered handlers for one event, once; idempotent. A handler error rolls back all the
    handlers did, is recorded on the event (in a transaction of its own) and re-raised (the job retries);
    the event stays unprocessed."""
    failure: BaseException | None = None
    try:
        async with runtime.db.service(actor="inbound") as conn:
            row = await repo.lock(conn, event_id)
            if row is None:
                return "busy" if await repo.exists(conn, event_id) else "missing"
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
                await repo.set_error(conn, event_id, f"no handler registered for {source_of(event)}")
                return "no_handler"
            try:
                for handler in handlers:
                    await handler(conn, row, event, runtime)
            except Exception as exc:
                failure = exc
                raise
            await _finish(conn, event_id, None)
    except Exception:
        if failure is None:
            raise
        log.exception("inbound event %s failed", event_id)
        async with runtime.db.service(actor="inbound") as conn:
            await repo.set_error(conn, event_id, f"{type(failure).__name__}: {failure}"[:2000])
        raise
    return "processed"


async def _finish(conn: Conn, event_id: UUID, error: str | None) -> None:
    await repo.finish(conn, event_id, error, utcnow())


async def sweep(runtime: Runtime, *, limit: int = 500) -> int:
    """Process again events left unprocessed (a lost job, a handler error, a handler registered late)."""
    cutoff = utcnow() - timedelta(seconds=runtime.settings.inbound_sweep_after_seconds)
    async with runtime.db.service(actor="inbound") as conn:
        event_ids = await repo.unprocessed_before(conn, cutoff, limit)
        for event_id in event_ids:
            await defer_processing(conn, event_id)
    return len(event_ids)
