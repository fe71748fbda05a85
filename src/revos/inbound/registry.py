"""Handlers of inbound events, by source: `messaging`, `account_status`, `users`.

    from revos.inbound import register

    async def on_message(conn, event_row, parsed_event, runtime) -> None: ...
    register("messaging", on_message)

A handler runs inside the processing job's transaction (service role: name the client_id yourself;
`event_row["client_id"]` and `event_row["linkedin_account_id"]` are resolved already). It must be
idempotent: an event is processed at least once. Raising rolls the transaction back and the event is
processed again later. Handlers are registered at import of the module that declares them; the worker
imports every task module, so register in (or from) your domain's `tasks.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from revos.db.pool import Conn
from revos.linkedin.webhooks import WebhookEvent
from revos.runtime import Runtime

Handler = Callable[[Conn, dict[str, Any], WebhookEvent, Runtime], Awaitable[None]]
SOURCES = ("messaging", "account_status", "users")

_HANDLERS: dict[str, list[Handler]] = {}
# Modules that register handlers at import; imported before the first event is processed, so an API
# process handling a webhook inline knows the same handlers as the worker. Append yours (one line).
HANDLER_MODULES: list[str] = ["revos.accounts.service", "revos.leads.flow"]
_loaded = False


def load_handler_modules() -> None:
    global _loaded
    if _loaded:
        return
    import importlib

    for name in HANDLER_MODULES:
        importlib.import_module(name)
    _loaded = True


def register(source: str, handler: Handler) -> Handler:
    """Add `handler` for `source` (idempotent: registering the same function twice keeps one)."""
    if source not in SOURCES:
        raise ValueError(f"unknown inbound source {source!r}: one of {', '.join(SOURCES)}")
    handlers = _HANDLERS.setdefault(source, [])
    if handler not in handlers:
        handlers.append(handler)
    return handler


def unregister(source: str, handler: Handler) -> None:
    if handler in _HANDLERS.get(source, []):
        _HANDLERS[source].remove(handler)


def handlers_for(source: str) -> list[Handler]:
    load_handler_modules()
    return list(_HANDLERS.get(source, []))


def source_of(event: WebhookEvent) -> str:
    from revos.linkedin.webhooks import AccountStatusEvent, MessagingEvent

    if isinstance(event, MessagingEvent):
        return "messaging"
    if isinstance(event, AccountStatusEvent):
        return "account_status"
    return "users"
