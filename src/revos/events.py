"""Cross-domain reactions, wired in one place.

A domain that something happened to publishes an event in its own transaction:

    await events.publish(runtime, conn, events.AccountResumed(client_id=..., linkedin_account_id=...))

and every subscriber listed below runs in that same transaction, in the order listed, so a reaction
commits (or rolls back) with its cause. A subscriber is `async def handler(runtime, conn, event)`; it
must be idempotent (a retried job publishes again) and must not commit.

Subscribers are named by import path and resolved on first use, so this module imports nothing of the
domains and the domains import nothing of each other to react: the one-way flow of imports (see
docs/architecture.md) holds, and this table is the one place a reader sees every reaction.

Unipile events from the inbox (webhooks, or messages found by polling) are dispatched by source through
the same kind of table, `INBOUND`; their handlers take `(conn, event_row, parsed_event, runtime)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from revos.db.pool import Conn
    from revos.runtime import Runtime


@dataclass(frozen=True, slots=True)
class AccountResumed:
    """A paused LinkedIn account may act again (a person resumed or reconnected it, or its pause ran out)."""

    client_id: UUID
    linkedin_account_id: UUID


@dataclass(frozen=True, slots=True)
class PostPublished:
    """A campaign's post is live on LinkedIn."""

    client_id: UUID
    post_id: UUID
    campaign_id: UUID | None
    linkedin_account_id: UUID | None


@dataclass(frozen=True, slots=True)
class SequenceDue:
    """A lead's DM sequence has something to do at `at` (None: now); its sequence row says what."""

    client_id: UUID
    sequence_id: UUID
    linkedin_account_id: UUID | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class FirstDmSent:
    """The lead's first DM is out (or was confirmed late): the comment that made the lead is answered."""

    client_id: UUID
    lead_id: UUID
    comment_id: UUID | None
    at: datetime


@dataclass(frozen=True, slots=True)
class LeadCaptured:
    """The lead's email is known and confirmed to them (step 2 is out): hand it to the client's tools."""

    client_id: UUID
    campaign_id: UUID
    lead_id: UUID


@dataclass(frozen=True, slots=True)
class LinkClicked:
    """A lead opened their download link for the first time."""

    client_id: UUID
    lead_id: UUID
    clicked_at: datetime


@dataclass(frozen=True, slots=True)
class LeadCompleted:
    """The lead has the lead magnet: the end of a lead's journey."""

    client_id: UUID
    lead_id: UUID


Event = (
    AccountResumed | PostPublished | SequenceDue | FirstDmSent | LeadCaptured | LinkClicked | LeadCompleted
)

# --- the wiring: every reaction of one domain to another ----------------------------------------------

SUBSCRIPTIONS: dict[type[Any], tuple[str, ...]] = {
    # The account's DM run may have work waiting for it.
    AccountResumed: ("revos.dms.runs:on_account_resumed",),
    # The pods of the post's author schedule their likes and comments.
    PostPublished: ("revos.pods.scheduling:on_post_published",),
    # Wake the account's DM run for the moment the step is due.
    SequenceDue: ("revos.dms.runs:on_sequence_due",),
    # The comment's `dm_sent` flag (the post's funnel counts answered comments).
    FirstDmSent: ("revos.posts.service:on_first_dm_sent",),
    # Deliver the lead to the client's webhook (ESP/CRM); the timeline says it was queued.
    LeadCaptured: ("revos.webhooks.service:on_lead_captured",),
    # Tell the client's webhook about the click, and about the completed lead.
    LinkClicked: ("revos.webhooks.service:on_link_clicked",),
    LeadCompleted: ("revos.webhooks.service:on_lead_completed",),
}

INBOUND: dict[str, tuple[str, ...]] = {
    # A message in a chat of ours: a reply to a sequence, or our own note opening a chat on acceptance.
    "messaging": ("revos.leads.replies:on_messaging_event",),
    # A new connection: an invitation was accepted.
    "users": ("revos.leads.replies:on_relation_event",),
    # An account's connection status changed (credentials, restriction, reconnection).
    "account_status": ("revos.accounts.service:on_account_status",),
}

# --------------------------------------------------------------------------------------------------------

Handler = Callable[..., Awaitable[None]]
_resolved: dict[str, Handler] = {}
_extra: dict[object, list[Handler]] = {}


def _resolve(path: str) -> Handler:
    handler = _resolved.get(path)
    if handler is None:
        module, _, name = path.partition(":")
        handler = getattr(importlib.import_module(module), name)
        _resolved[path] = handler
    return handler


def handlers(key: type[Any] | str) -> list[Handler]:
    """The subscribers of an event type, or the inbound handlers of a Unipile source, in order."""
    table: dict[Any, tuple[str, ...]] = INBOUND if isinstance(key, str) else SUBSCRIPTIONS
    if key not in table:
        raise ValueError(f"no such event: {key!r}")
    return [_resolve(path) for path in table[key]] + list(_extra.get(key, ()))


def subscribe(key: type[Any] | str, handler: Handler) -> None:
    """Add a handler at run time (tests, plug-ins); the table above stays the product's wiring."""
    handlers(key)  # refuses unknown events
    bucket = _extra.setdefault(key, [])
    if handler not in bucket:
        bucket.append(handler)


def unsubscribe(key: type[Any] | str, handler: Handler) -> None:
    if handler in _extra.get(key, []):
        _extra[key].remove(handler)


async def publish(runtime: Runtime, conn: Conn, event: Event) -> None:
    """Run every subscriber of `event` in the caller's transaction."""
    for handler in handlers(type(event)):
        await handler(runtime, conn, event)
