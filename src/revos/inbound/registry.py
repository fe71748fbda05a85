"""Handlers of inbound events, by source: `messaging`, `account_status`, `users`.

The product's handlers are listed in `revos.events.INBOUND`, the one table of cross-domain reactions.
A handler is `async def handler(conn, event_row, parsed_event, runtime)`; it runs inside the processing
job's transaction (service role: name the client_id yourself; `event_row["client_id"]` and
`event_row["linkedin_account_id"]` are resolved already). It must be idempotent: an event is processed
at least once. Raising rolls the transaction back and the event is processed again later.

`register` / `unregister` add a handler at run time (tests, plug-ins).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from revos import events
from revos.db.pool import Conn
from revos.linkedin.webhooks import AccountStatusEvent, MessagingEvent, WebhookEvent
from revos.runtime import Runtime

Handler = Callable[[Conn, dict[str, Any], WebhookEvent, Runtime], Awaitable[None]]
SOURCES = tuple(events.INBOUND)


def register(source: str, handler: Handler) -> Handler:
    """Add `handler` for `source` (idempotent: registering the same function twice keeps one)."""
    if source not in SOURCES:
        raise ValueError(f"unknown inbound source {source!r}: one of {', '.join(SOURCES)}")
    events.subscribe(source, handler)
    return handler


def unregister(source: str, handler: Handler) -> None:
    events.unsubscribe(source, handler)


def handlers_for(source: str) -> list[Handler]:
    return events.handlers(source)


def source_of(event: WebhookEvent) -> str:
    if isinstance(event, MessagingEvent):
        return "messaging"
    if isinstance(event, AccountStatusEvent):
        return "account_status"
    return "users"
