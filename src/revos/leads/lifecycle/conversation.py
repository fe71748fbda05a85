"""The lead's side of the conversation: invitations accepted, replies, the email in them, its review.

A reply is stored as an inbound `dm_messages` row, the lead moves to `dm_replied`, and `extract_email`
reads the address:

- confidence ≥ the campaign's threshold → `email_captured`, step 2 is scheduled;
- below it → the review queue (a person approves, corrects or rejects it);
- no address → one polite follow-up at most, then we wait (and abandon after N days).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import Conflict
from revos.leads import repo, sequence_repo
from revos.leads.context import SequenceContext, load
from revos.leads.lifecycle import base, timeline
from revos.runtime import Runtime
from revos.text import excerpt
from revos.text.emails import extract_email


async def invitation_accepted(runtime: Runtime, conn: Conn, sequence_id: UUID, *, how: str) -> bool:
    ctx = await load(conn, sequence_id, for_update=True)
    if ctx is None or ctx.status != "in_progress" or ctx.stage != "awaiting_acceptance":
        return False
    now = utcnow()
    at = ctx.policy(runtime.settings).step1_at(now)
    await sequence_repo.update(
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
        ctx,
        timeline.INVITATION_ACCEPTED,
        f"invitation accepted ({how}); the first DM follows",
    )
    await base.schedule(runtime, conn, ctx, at)
    return True


async def own_message(
    runtime: Runtime, conn: Conn, sequence_id: UUID, *, message_id: str, chat_id: str, text: str, at: datetime
) -> None:
    """Our own message: a DM we sent (already recorded by the sender) or the invitation note that
    LinkedIn turns into a chat when the invitation is accepted — the real-time sign of acceptance."""
    # The sequence row first, as every writer of a sequence does: the message's foreign key would
    # otherwise share-lock it before the update below, and deadlock with a sender holding it.
    ctx = await load(conn, sequence_id, for_update=True)
    if ctx is None:
        return
    inserted = await base.record_message(conn, ctx, "outbound", text, message_id, chat_id, at)
    if not ctx.unipile_chat_id:
        await sequence_repo.update(conn, ctx.id, {"unipile_chat_id": chat_id})
    if inserted and ctx.stage == "awaiting_acceptance":
        await invitation_accepted(runtime, conn, ctx.id, how="their acceptance opened a chat with our note")


async def reply_received(
    runtime: Runtime,
    conn: Conn,
    sequence_id: UUID,
    *,
    message_id: str,
    chat_id: str | None,
    text: str | None,
    at: datetime,
) -> bool:
    """A message from the lead. False when it was already recorded (a redelivered webhook, a poll)."""
    ctx = await load(conn, sequence_id, for_update=True)
    if ctx is None:
        return False
    if not await base.record_message(conn, ctx, "inbound", text or "", message_id, chat_id, at):
        return False
    lead_id = ctx.lead_id
    now = utcnow()
    values: dict[str, Any] = {"last_reply_at": at}
    if chat_id and not ctx.unipile_chat_id:
        values["unipile_chat_id"] = chat_id
    replied = (timeline.REPLY_RECEIVED, f'replied: "{excerpt(text)}"', {"message_id": message_id}, utcnow())
    policy = ctx.policy(runtime.settings)
    match = extract_email(text or "")
    confidence = round(float(match.confidence), 2) if match is not None else None
    if (
        match is not None
        and confidence is not None
        and confidence >= policy.review_threshold
        and ctx.status == "in_progress"
        and ctx.stage not in ("step2", "step3", "done")
        and ctx.email_extracted_at is None
    ):
        # The common case, the reply and the email it carries, in one statement: the sequence, the lead
        # (replied, then captured) and both timeline events.
        if ctx.stage == "awaiting_acceptance":
            values["invitation_accepted_at"] = now
        how = f"read from their reply (confidence {confidence:.2f})"
        captured, event, step2_at = _captured(ctx, match.email, confidence, how, now, policy.step2_delay)
        await sequence_repo.record_step(
            conn,
            client_id=ctx.client_id,
            sequence_id=sequence_id,
            lead_id=lead_id,
            message=None,
            values=values | captured,
            advance_to="email_captured",
            events=[replied, event],
            lead_email=match.email,
        )
        await base.schedule(runtime, conn, ctx, step2_at)
        return True
    await sequence_repo.update(conn, sequence_id, values)
    await repo.advance(conn, lead_id, "dm_replied")
    kind, reason, data, when = replied
    await timeline.record(conn, ctx, kind, reason, data=data, at=when)

    if ctx.status == "abandoned":
        await sequence_repo.update(
            conn, sequence_id, {"status": "in_progress", "failure_reason": None, "completed_at": None}
        )
        await timeline.record(
            conn, ctx, timeline.WAITING, "replied after the sequence was abandoned: resumed"
        )
    elif ctx.status != "in_progress":
        return True
    if ctx.stage in ("step2", "step3", "done") or ctx.email_extracted_at is not None:
        return True  # the email is already captured; the reply is on record
    if ctx.stage == "awaiting_acceptance":
        await sequence_repo.update(conn, sequence_id, {"invitation_accepted_at": now})
    if match is None or confidence is None:
        await _no_email(runtime, conn, ctx, now)
        return True
    if confidence >= policy.review_threshold:
        await capture(
            runtime,
            conn,
            ctx,
            match.email,
            confidence,
            how=f"read from their reply (confidence {confidence:.2f})",
        )
        return True
    await sequence_repo.update(
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
        ctx,
        timeline.REVIEW_PENDING,
        f"found {match.email} with confidence {confidence:.2f}, below the campaign's "
        f"{policy.review_threshold:.2f}: waiting for a person to approve or correct it",
        data={"email": match.email, "confidence": confidence},
    )
    return True


async def _no_email(runtime: Runtime, conn: Conn, ctx: SequenceContext, now: datetime) -> None:
    if ctx.stage in ("step1", "awaiting_acceptance"):
        # They answered our invitation note: the first DM (which asks for the email) still goes out.
        if ctx.stage == "awaiting_acceptance":
            await base.reschedule(runtime, conn, ctx, now, stage="step1", step1_status="dm")
        await timeline.record(
            conn, ctx, timeline.NO_EMAIL, "no email in their reply yet; the first DM asks for it"
        )
        return
    if ctx.followup_sent_at is None and ctx.stage in ("awaiting_reply", "review"):
        at = now + timedelta(seconds=ctx.policy(runtime.settings).step2_delay)
        await base.reschedule(runtime, conn, ctx, at, stage="awaiting_reply", review_status=None)
        await timeline.record(
            conn, ctx, timeline.NO_EMAIL, "no email in their reply: one polite follow-up is scheduled"
        )
        return
    await timeline.record(
        conn,
        ctx,
        timeline.NO_EMAIL,
        "no email in their reply; the follow-up was already sent, so we wait",
    )


def _captured(
    ctx: SequenceContext,
    email: str,
    confidence: Decimal | float | None,
    how: str,
    now: datetime,
    step2_delay: float,
) -> tuple[dict[str, Any], tuple[str, str, dict[str, Any], datetime], datetime]:
    """What capturing the email writes: the sequence's columns, the timeline event, when step 2 is due."""
    at = now + timedelta(seconds=step2_delay)
    values: dict[str, Any] = {
        "email_extracted": email,
        "email_extracted_at": now,
        "email_confidence": confidence,
        "stage": "step2",
        "next_action_at": at,
        "abandon_at": None,
        "attempts": 0,
    }
    if ctx.stage in ("step1", "awaiting_acceptance"):
        values["step1_status"] = ctx.step1_status or "skipped"
    event = (
        timeline.EMAIL_EXTRACTED,
        f"email {email} {how}; the confirmation DM is scheduled",
        {"email": email, "confidence": confidence},
        utcnow(),
    )
    return values, event, at


async def capture(
    runtime: Runtime,
    conn: Conn,
    ctx: SequenceContext,
    email: str,
    confidence: Decimal | float | None,
    *,
    how: str,
) -> None:
    """The email is known: record it on the lead and schedule the confirmation (step 2)."""
    step2_delay = ctx.policy(runtime.settings).step2_delay
    values, event, at = _captured(ctx, email, confidence, how, utcnow(), step2_delay)
    await sequence_repo.record_step(
        conn,
        client_id=ctx.client_id,
        sequence_id=ctx.id,
        lead_id=ctx.lead_id,
        message=None,
        values=values,
        advance_to="email_captured",
        events=[event],
        lead_email=email,
    )
    await base.schedule(runtime, conn, ctx, at)


# --- review decisions (a person, through the API) --------------------------------------------------------


async def _pending_review(conn: Conn, sequence_id: UUID) -> SequenceContext:
    ctx = await load(conn, sequence_id, for_update=True)
    if ctx is None or ctx.review_status != "pending":
        raise Conflict("this lead has no email waiting for review (already decided?)")
    return ctx


async def approve(
    runtime: Runtime, conn: Conn, sequence_id: UUID, *, email: str | None, reviewer: UUID | None
) -> None:
    ctx = await _pending_review(conn, sequence_id)
    extracted = ctx.email_extracted or ""
    chosen = email or extracted
    corrected = email is not None and email != extracted
    await sequence_repo.update(
        conn, sequence_id, {"review_status": "approved", "reviewed_by": reviewer, "reviewed_at": utcnow()}
    )
    await timeline.record(
        conn,
        ctx,
        timeline.REVIEW_APPROVED,
        f"a reviewer corrected the email to {chosen}" if corrected else f"a reviewer approved {chosen}",
        data={"email": chosen, "reviewer": str(reviewer) if reviewer else None},
    )
    confidence = None if corrected else ctx.email_confidence
    await capture(
        runtime, conn, dataclasses.replace(ctx, stage="review"), chosen, confidence, how="approved in review"
    )


async def reject(
    runtime: Runtime, conn: Conn, sequence_id: UUID, *, reason: str, reviewer: UUID | None
) -> None:
    ctx = await _pending_review(conn, sequence_id)
    now = utcnow()
    await sequence_repo.update(
        conn,
        sequence_id,
        {
            "review_status": "rejected",
            "reviewed_by": reviewer,
            "reviewed_at": now,
            "email_extracted": None,
            "email_confidence": None,
            "stage": "awaiting_reply",
            "abandon_at": now + ctx.policy(runtime.settings).abandon_after,
            "next_action_at": None,
        },
    )
    await timeline.record(
        conn,
        ctx,
        timeline.REVIEW_REJECTED,
        f"a reviewer rejected {ctx.email_extracted}: {reason}",
        data={"reviewer": str(reviewer) if reviewer else None},
    )
    await _no_email(runtime, conn, dataclasses.replace(ctx, stage="awaiting_reply"), now)
