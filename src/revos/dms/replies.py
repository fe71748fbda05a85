"""The polling fallback for replies: recent messages of every account with a conversation in progress
land in the inbound inbox under the same key a webhook uses, so a message seen both ways is handled once
(by revos.leads.replies, through the inbox's handlers)."""

from __future__ import annotations

import logging
from datetime import timedelta

from revos.accounts import safety
from revos.accounts.provider import linkedin_client
from revos.clock import utcnow
from revos.inbound.service import known_polled_messages, process_event, record_polled_messages
from revos.leads import sequence_repo
from revos.linkedin.errors import UnipileError
from revos.linkedin.models import Message
from revos.runtime import Runtime

log = logging.getLogger("revos.dms")


async def poll_replies(runtime: Runtime, *, inline: bool = False) -> int:
    """Returns how many new messages were recorded; with `inline` (tests on a manual clock) they are
    processed here instead of by the inbox's job.

    Per account: its recent messages are read, then one transaction looks up which of them the inbox
    holds already, or the conversation has recorded already (our own DMs, confirmed when sent), and one
    more records the rest."""
    settings = runtime.settings
    since = utcnow() - timedelta(hours=settings.dm_reply_poll_lookback_hours)
    async with runtime.db.service(actor="dms-poll") as conn:
        accounts = await sequence_repo.accounts_in_conversation(conn)
    recorded = 0
    client = linkedin_client(runtime)
    parties: dict[str, str | None] = {}
    for account in accounts:
        messages: dict[str, Message] = {}
        try:
            async for message in client.iter_messages(
                account_id=account["unipile_account_id"], limit=100, after=since
            ):
                messages.setdefault(message.id, message)
        except UnipileError as exc:
            # What was read before the error is still recorded below.
            log.warning("polling messages of account %s failed: %s", account["id"], exc)
            if safety.is_account_error(exc):
                # A 429, a disconnection or an account Unipile no longer knows pauses the account.
                async with runtime.db.service(actor="dms-poll") as conn:
                    await safety.apply_provider_error(conn, account["id"], exc, utcnow(), settings)
        if not messages:
            continue
        async with runtime.db.service(actor="dms-poll") as conn:
            seen = await known_polled_messages(conn, list(messages.values()))
            seen |= await sequence_repo.settled_messages(conn, list(messages))
        batch: list[tuple[Message, str | None]] = []
        for message in messages.values():
            if message.id in seen:
                continue
            other = None
            if message.is_sender:
                # Our own message names no recipient: the chat does (an accepted invitation's note
                # opens a chat no sequence knows yet).
                if message.chat_id not in parties:
                    try:
                        parties[message.chat_id] = (
                            await client.get_chat(message.chat_id)
                        ).attendee_provider_id
                    except UnipileError:
                        continue  # the next poll, or the webhook, records it
                other = parties[message.chat_id]
            batch.append((message, other))
        if not batch:
            continue
        async with runtime.db.service(actor="dms-poll") as conn:
            stored = await record_polled_messages(
                conn, client_id=account["client_id"], account_id=account["id"], messages=batch
            )
        new_ids = [event_id for event_id in stored if event_id is not None]
        recorded += len(new_ids)
        if inline:
            for event_id in new_ids:
                await process_event(runtime, event_id)
    return recorded
