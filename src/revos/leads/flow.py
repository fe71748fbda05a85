"""The lead's side of the conversation: replies, emails, invitations accepted, delivery to the ESP.

Inbound Unipile events (webhooks, or messages found by polling) land in the inbox keyed by the
provider's message id and reach the handlers below exactly once per message. A reply is stored as an
inbound `dm_messages` row, the lead moves to `dm_replied`, and `extract_email` reads the address:

- confidence ≥ the campaign's threshold → `email_captured`, step 2 is scheduled;
- below it → the review queue (a person approves, corrects or rejects it);
- no address → one polite follow-up at most, then we wait (and abandon after N days).

The sequence's outbound side is `revos.dms.sequence`; this module never calls LinkedIn except to poll.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos.clock import utcnow
from revos.db.pool import Conn
from revos.dms import jobs
from revos.dms import repo as dm_repo
from revos.dms.policy import policy_for
from revos.leads import repo, timeline
from revos.linkedin.webhooks import MessagingEvent, NewRelationEvent, WebhookEvent, is_own_message
from revos.runtime import Runtime
from revos.text import excerpt
from revos.text.emails import extract_email

log = logging.getLogger("revos.leads")
# --- inbound handlers ------------------------------------------------------------------------------------


async def on_messaging_event(
    conn: Conn, event_row: dict[str, Any], event: WebhookEvent, runtime: Runtime
) -> None:
    if not isinstance(event, MessagingEvent) or event.event != "message_received" or not event.message_id:
        return
    own = is_own_message(event)
    sequence = await dm_repo.by_chat(conn, event.chat_id)
    if sequence is None:
        member = _other_party(event) if own else (event.sender.attendee_provider_id if event.sender else None)
        if not member:
            return
        candidates = await dm_repo.by_member(conn, event.account_id, member)
        if not candidates:
            return
        sequence = candidates[0]
    at = event.timestamp or utcnow()
    if own:
        await _own_message(conn, sequence, event, at)
        return
    await handle_reply(
        conn,
        runtime,
        sequence["id"],
        message_id=event.message_id,
        chat_id=event.chat_id,
        text=event.message,
        at=at,
    )


def _other_party(event: MessagingEvent) -> str | None:
    own = event.account_info.user_id if event.account_info else None
    for attendee in event.attendees:
        if attendee.attendee_provider_id and attendee.attendee_provider_id != own:
            return attendee.attendee_provider_id
    return None


async def _own_message(conn: Conn, sequence: dict[str, Any], event: MessagingEvent, at: datetime) -> None:
    """Our own message: a DM we sent (already recorded by the sender) or the invitation note that
    LinkedIn turns into a chat when the invitation is accepted — the real-time sign of acceptance."""
    # The sequence row first, as every writer of a sequence does: the message's foreign key would
    # otherwise share-lock it before the update below, and deadlock with a sender holding it.
    locked = await dm_repo.get(conn, sequence["id"], for_update=True)
    if locked is None:
        return
    sequence = locked
    inserted = await dm_repo.insert_message(
        conn,
        {
            "client_id": sequence["client_id"],
            "dm_sequence_id": sequence["id"],
            "direction": "outbound",
            "message": event.message or "",
            "unipile_message_id": event.message_id,
            "unipile_conversation_id": event.chat_id,
            "sent_at": at,
        },
    )
    if not sequence.get("unipile_chat_id"):
        await dm_repo.update(conn, sequence["id"], {"unipile_chat_id": event.chat_id})
    if inserted is not None and sequence["stage"] == "awaiting_acceptance":
        await invitation_accepted(conn, sequence["id"], how="their acceptance opened a chat with our note")


async def on_relation_event(
    conn: Conn, event_row: dict[str, Any], event: WebhookEvent, runtime: Runtime
) -> None:
    if not isinstance(event, NewRelationEvent):
        return
    for sequence in await dm_repo.by_member(conn, event.account_id, event.user_provider_id):
        if sequence["stage"] == "awaiting_acceptance" and sequence["status"] == "in_progress":
            await invitation_accepted(conn, sequence["id"], how="LinkedIn reported the new connection")


# --- transitions -------------------------------------------------------------------------------------------


async def invitation_accepted(conn: Conn, sequence_id: UUID, *, how: str) -> bool:
    ctx = await dm_repo.context(conn, sequence_id, for_update=True)
    if ctx is None or ctx["status"] != "in_progress" or ctx["stage"] != "awaiting_acceptance":
        return False
    now = utcnow()
    at = policy_for(ctx["campaign_settings"]).step1_at(now)
    await dm_repo.update(
        conn,
        sequence_id,
        {
            "stage": "step1",
            "step1_status": "dm",
            "invitation_accepted_at": now,
            "next_action_at": at,
            "attempts": 0,
        },
    )
    await timeline.record(
        conn,
        ctx["lead_id"],
        timeline.INVITATION_ACCEPTED,
        f"invitation accepted ({how}); the first DM follows",
    )
    await jobs.defer_step(conn, sequence_id, ctx["linkedin_account_id"], at=at)
    return True


async def handle_reply(
    conn: Conn,
    runtime: Runtime,
    sequence_id: UUID,
    *,
    message_id: str,
    chat_id: str | None,
    text: str | None,
    at: datetime,
) -> bool:
    """A message from the lead. False when it was already recorded (a redelivered webhook, a poll)."""
    ctx = await dm_repo.context(conn, sequence_id, for_update=True)
    if ctx is None:
        return False
    inserted = await dm_repo.insert_message(
        conn,
        {
            "client_id": ctx["client_id"],
            "dm_sequence_id": sequence_id,
            "direction": "inbound",
            "message": text or "",
            "unipile_message_id": message_id,
            "unipile_conversation_id": chat_id,
            "sent_at": at,
        },
    )
    if inserted is None:
        return False
    lead_id = ctx["lead_id"]
    now = utcnow()
    values: dict[str, Any] = {"last_reply_at": at}
    if chat_id and not ctx.get("unipile_chat_id"):
        values["unipile_chat_id"] = chat_id
    await dm_repo.update(conn, sequence_id, values)
    await repo.advance(conn, lead_id, "dm_replied")
    await timeline.record(
        conn,
        lead_id,
        timeline.REPLY_RECEIVED,
        f'replied: "{excerpt(text)}"',
        data={"message_id": message_id},
    )

    if ctx["status"] == "abandoned":
        await dm_repo.update(
            conn, sequence_id, {"status": "in_progress", "failure_reason": None, "completed_at": None}
        )
        await timeline.record(
            conn, lead_id, timeline.WAITING, "replied after the sequence was abandoned: resumed"
        )
    elif ctx["status"] != "in_progress":
        return True
    stage = ctx["stage"]
    if stage in ("step2", "step3", "done") or ctx.get("email_extracted_at") is not None:
        return True  # the email is already captured; the reply is on record
    if stage == "awaiting_acceptance":
        await dm_repo.update(conn, sequence_id, {"invitation_accepted_at": now})
    policy = policy_for(ctx["campaign_settings"], runtime.settings)
    match = extract_email(text or "")
    if match is None:
        await _no_email(conn, ctx, policy.step2_delay, now)
        return True
    confidence = round(float(match.confidence), 2)
    if confidence >= policy.review_threshold:
        await capture(
            conn, ctx, match.email, confidence, how=f"read from their reply (confidence {confidence:.2f})"
        )
        return True
    await dm_repo.update(
        conn,
        sequence_id,
        {
            "stage": "review",
            "review_status": "pending",
            "email_extracted": match.email,
            "email_confidence": confidence,
            "next_action_at": None,
            "abandon_at": None,
        },
    )
    await timeline.record(
        conn,
        lead_id,
        timeline.REVIEW_PENDING,
        f"found {match.email} with confidence {confidence:.2f}, below the campaign's "
        f"{policy.review_threshold:.2f}: waiting for a person to approve or correct it",
        data={"email": match.email, "confidence": confidence},
    )
    return True


async def _no_email(conn: Conn, ctx: dict[str, Any], delay: float, now: datetime) -> None:
    lead_id, sequence_id = ctx["lead_id"], ctx["id"]
    if ctx["stage"] in ("step1", "awaiting_acceptance"):
        # They answered our invitation note: the first DM (which asks for the email) still goes out.
        if ctx["stage"] == "awaiting_acceptance":
            await dm_repo.update(
                conn, sequence_id, {"stage": "step1", "step1_status": "dm", "next_action_at": now}
            )
            await jobs.defer_step(conn, sequence_id, ctx["linkedin_account_id"], at=now)
        await timeline.record(
            conn, lead_id, timeline.NO_EMAIL, "no email in their reply yet; the first DM asks for it"
        )
        return
    if ctx.get("followup_sent_at") is None and ctx["stage"] in ("awaiting_reply", "review"):
        at = now + timedelta(seconds=delay)
        await dm_repo.update(
            conn, sequence_id, {"stage": "awaiting_reply", "review_status": None, "next_action_at": at}
        )
        await timeline.record(
            conn, lead_id, timeline.NO_EMAIL, "no email in their reply: one polite follow-up is scheduled"
        )
        await jobs.defer_step(conn, sequence_id, ctx["linkedin_account_id"], at=at)
        return
    await timeline.record(
        conn,
        lead_id,
        timeline.NO_EMAIL,
        "no email in their reply; the follow-up was already sent, so we wait",
    )


async def capture(conn: Conn, ctx: dict[str, Any], email: str, confidence: float | None, *, how: str) -> None:
    """The email is known: record it on the lead and schedule the confirmation (step 2)."""
    now = utcnow()
    policy = policy_for(ctx["campaign_settings"])
    at = now + timedelta(seconds=policy.step2_delay)
    values: dict[str, Any] = {
        "email_extracted": email,
        "email_extracted_at": now,
        "email_confidence": confidence,
        "stage": "step2",
        "next_action_at": at,
        "abandon_at": None,
        "attempts": 0,
    }
    if ctx["stage"] in ("step1", "awaiting_acceptance"):
        values["step1_status"] = ctx.get("step1_status") or "skipped"
    await dm_repo.update(conn, ctx["id"], values)
    await repo.set_email(conn, ctx["lead_id"], email)
    await repo.advance(conn, ctx["lead_id"], "email_captured")
    await timeline.record(
        conn,
        ctx["lead_id"],
        timeline.EMAIL_EXTRACTED,
        f"email {email} {how}; the confirmation DM is scheduled",
        data={"email": email, "confidence": confidence},
    )
    await jobs.defer_step(conn, ctx["id"], ctx["linkedin_account_id"], at=at)


async def deliver_lead(conn: Conn, ctx: dict[str, Any]) -> None:
    """Hand the captured lead to the client's ESP/CRM webhook (delivered after this transaction commits)."""
    from revos.webhooks.service import enqueue_lead_captured

    delivery_id = await enqueue_lead_captured(conn, client_id=ctx["client_id"], lead_id=ctx["lead_id"])
    if delivery_id is None:
        await timeline.record(
            conn,
            ctx["lead_id"],
            timeline.WEBHOOK_QUEUED,
            "no webhook endpoint receives this campaign's leads",
        )
    else:
        await timeline.record(
            conn,
            ctx["lead_id"],
            timeline.WEBHOOK_QUEUED,
            "lead queued for delivery to the client's webhook",
            data={"delivery_id": str(delivery_id)},
        )


# --- review decisions (called by the API through leads.service) ----------------------------------------


async def _pending_review(conn: Conn, sequence_id: UUID) -> dict[str, Any]:
    from revos.errors import Conflict

    ctx = await dm_repo.context(conn, sequence_id, for_update=True)
    if ctx is None or ctx.get("review_status") != "pending":
        raise Conflict("this lead has no email waiting for review (already decided?)")
    return ctx


async def approve(conn: Conn, sequence_id: UUID, *, email: str | None, reviewer: UUID | None) -> None:
    ctx = await _pending_review(conn, sequence_id)
    chosen = email or ctx["email_extracted"]
    corrected = email is not None and email != ctx["email_extracted"]
    await dm_repo.update(
        conn, sequence_id, {"review_status": "approved", "reviewed_by": reviewer, "reviewed_at": utcnow()}
    )
    await timeline.record(
        conn,
        ctx["lead_id"],
        timeline.REVIEW_APPROVED,
        f"a reviewer corrected the email to {chosen}" if corrected else f"a reviewer approved {chosen}",
        data={"email": chosen, "reviewer": str(reviewer) if reviewer else None},
    )
    ctx["stage"] = "review"
    await capture(conn, ctx, chosen, None if corrected else ctx["email_confidence"], how="approved in review")


async def reject(conn: Conn, sequence_id: UUID, *, reason: str, reviewer: UUID | None) -> None:
    ctx = await _pending_review(conn, sequence_id)
    now = utcnow()
    policy = policy_for(ctx["campaign_settings"])
    await dm_repo.update(
        conn,
        sequence_id,
        {
            "review_status": "rejected",
            "reviewed_by": reviewer,
            "reviewed_at": now,
            "email_extracted": None,
            "email_confidence": None,
            "stage": "awaiting_reply",
            "abandon_at": now + policy.abandon_after,
            "next_action_at": None,
        },
    )
    await timeline.record(
        conn,
        ctx["lead_id"],
        timeline.REVIEW_REJECTED,
        f"a reviewer rejected {ctx['email_extracted']}: {reason}",
        data={"reviewer": str(reviewer) if reviewer else None},
    )
    await _no_email(conn, {**ctx, "stage": "awaiting_reply"}, policy.step2_delay, now)


# --- polling fallback ------------------------------------------------------------------------------------


async def poll_replies(runtime: Runtime, *, inline: bool = False) -> int:
    """Recent messages of every account with a conversation in progress → the inbound inbox, under the
    same key a webhook uses, so a message seen both ways is handled once. Returns messages recorded."""
    from revos.accounts import safety
    from revos.accounts.provider import linkedin_client
    from revos.inbound.service import process_event, record_polled_message
    from revos.linkedin.errors import UnipileError

    settings = runtime.settings
    since = utcnow() - timedelta(hours=settings.dm_reply_poll_lookback_hours)
    async with runtime.db.service(actor="dms-poll") as conn:
        accounts = await (
            await conn.execute(
                "select distinct a.id, a.client_id, a.unipile_account_id from dm_sequences s"
                " join linkedin_accounts a on a.id = s.linkedin_account_id"
                " where s.status = 'in_progress' and a.unipile_account_id is not null and a.status = 'active'"
                # paused until a person acts (manual, restricted, disconnected): left alone
                " and (a.paused_at is null or a.paused_until is not null)"
            )
        ).fetchall()
    recorded = 0
    client = linkedin_client(runtime)
    parties: dict[str, str | None] = {}
    for account in accounts:
        new_ids: list[UUID] = []
        try:
            async for message in client.iter_messages(
                account_id=account["unipile_account_id"], limit=100, after=since
            ):
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
                async with runtime.db.service(actor="dms-poll") as conn:
                    event_id = await record_polled_message(
                        conn,
                        client_id=account["client_id"],
                        account_id=account["id"],
                        message=message,
                        other_party=other,
                    )
                if event_id is not None:
                    new_ids.append(event_id)
        except UnipileError as exc:
            log.warning("polling messages of account %s failed: %s", account["id"], exc)
            if safety.is_account_error(exc):
                # A 429, a disconnection or an account Unipile no longer knows pauses the account.
                async with runtime.db.service(actor="dms-poll") as conn:
                    await safety.apply_provider_error(conn, account["id"], exc, utcnow(), settings)
            continue
        recorded += len(new_ids)
        if inline or not _queue_available():
            for event_id in new_ids:
                await process_event(runtime, event_id)
    return recorded


def _queue_available() -> bool:
    try:
        import revos.queue  # noqa: F401
    except ImportError:
        return False
    return True
