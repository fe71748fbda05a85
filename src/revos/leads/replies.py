"""Unipile events about a lead's conversation, from the inbox (webhook or polling), exactly once per
message: which sequence they belong to, then what they mean (revos.leads.lifecycle.conversation).

Wired in `revos.events.INBOUND`: `messaging` → `on_messaging_event`, `users` → `on_relation_event`.
"""

from __future__ import annotations

from typing import Any

from revos.clock import utcnow
from revos.db.pool import Conn
from revos.leads import sequence_repo
from revos.leads.lifecycle import conversation
from revos.linkedin.webhooks import MessagingEvent, NewRelationEvent, WebhookEvent, is_own_message
from revos.runtime import Runtime


async def on_messaging_event(
    conn: Conn, event_row: dict[str, Any], event: WebhookEvent, runtime: Runtime
) -> None:
    if not isinstance(event, MessagingEvent) or event.event != "message_received" or not event.message_id:
        return
    own = is_own_message(event)
    sequence = await sequence_repo.by_chat(conn, event.chat_id, event.message_id)
    if sequence is not None and sequence["message_recorded"]:
        # Recorded already (mostly our own DM, recorded by its sender after its echo was queued; or a
        # redelivery): the handlers below would insert nothing and stop there.
        return
    if sequence is None:
        member = other_party(event) if own else (event.sender.attendee_provider_id if event.sender else None)
        if not member:
            return
        candidates = await sequence_repo.by_member(conn, event.account_id, member)
        if not candidates:
            return
        sequence = candidates[0]
    at = event.timestamp or utcnow()
    if own:
        await conversation.own_message(
            runtime,
            conn,
            sequence["id"],
            message_id=event.message_id,
            chat_id=event.chat_id,
            text=event.message or "",
            at=at,
        )
        return
    await conversation.reply_received(
        runtime,
        conn,
        sequence["id"],
        message_id=event.message_id,
        chat_id=event.chat_id,
        text=event.message,
        at=at,
    )


def other_party(event: MessagingEvent) -> str | None:
    """The member on the other side of a chat of ours."""
    own = event.account_info.user_id if event.account_info else None
    for attendee in event.attendees:
        if attendee.attendee_provider_id and attendee.attendee_provider_id != own:
            return attendee.attendee_provider_id
    return None


async def on_relation_event(
    conn: Conn, event_row: dict[str, Any], event: WebhookEvent, runtime: Runtime
) -> None:
    if not isinstance(event, NewRelationEvent):
        return
    for sequence in await sequence_repo.by_member(conn, event.account_id, event.user_provider_id):
        if sequence["stage"] == "awaiting_acceptance" and sequence["status"] == "in_progress":
            await conversation.invitation_accepted(
                runtime, conn, sequence["id"], how="LinkedIn reported the new connection"
            )
