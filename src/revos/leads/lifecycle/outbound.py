"""What the DM executor's steps mean for the lead: the executor (revos.dms) decides and sends; it reports
here what came of it, and this module moves the sequence's stage, the lead's status and the timeline.

    step1 ── DM (1st degree) ───────────────────────────┐
       └── invitation with a note ─▶ awaiting_acceptance ┴─▶ awaiting_reply ─(email)─▶ step2 ─▶ step3 ─▶ done
                                       (accepted: DM)        (low confidence: review)
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from revos import events
from revos.actions.ledger import Action
from revos.campaigns.rules import send_block, working_hours_opening
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.leads import repo, sequence_repo
from revos.leads.context import SequenceContext
from revos.leads.lifecycle import base, handover, timeline
from revos.linkedin.errors import NotConnected, already_connected
from revos.runtime import Runtime

# The steps, by the name the executor gives them (ledger keys: `dm:<sequence>:1`, `invite:<sequence>`, ...).
STEP_NAMES = {
    "1": "the first DM",
    "invite": "the invitation",
    "followup": "the follow-up",
    "2": "the confirmation DM",
    "3": "the backup DM",
}


def _jitter(seconds: float) -> timedelta:
    return timedelta(seconds=seconds * random.uniform(0.5, 1.5))


# --- before a step --------------------------------------------------------------------------------------


async def may_send(runtime: Runtime, conn: Conn, ctx: SequenceContext, now: datetime) -> bool:
    """False when the campaign does not allow sending now: the sequence waits (paused, not started,
    outside the campaign's hours) or ends (the campaign ended before the first DM)."""
    block = send_block(ctx.campaign, now)
    if block is None:
        opening = working_hours_opening(ctx.campaign_settings, now, ctx.account_timezone)
        if opening is None:
            return True
        await base.wait(
            runtime,
            conn,
            ctx,
            f"outside the campaign's working hours (next window {opening:%Y-%m-%d %H:%M} UTC)",
            opening,
        )
        return False
    if block[0] == "ended" and ctx.stage in ("step1", "awaiting_acceptance"):
        await base.end(conn, ctx, "failed", f"no DM sent: {block[1]}")
        return False
    if block[0] == "ended":
        return True  # a lead already talking to us gets their guide even after the campaign's end
    recheck = timedelta(seconds=runtime.settings.dm_wait_recheck_seconds)
    await base.hold(conn, ctx, block[1], now + recheck)
    return False


async def first_step_chosen(conn: Conn, ctx: SequenceContext, how: str) -> None:
    """Step 1 is a DM (`dm`) or an invitation first (`invite`)."""
    await sequence_repo.update(conn, ctx.id, {"step1_status": how})


async def link_created(conn: Conn, ctx: SequenceContext, url: str, expires_at: datetime) -> None:
    await sequence_repo.update(conn, ctx.id, {"download_url": url, "download_url_expires_at": expires_at})


async def nothing_due(conn: Conn, ctx: SequenceContext) -> None:
    await sequence_repo.update(conn, ctx.id, {"next_action_at": None})


async def awaiting_acceptance(runtime: Runtime, conn: Conn, ctx: SequenceContext, now: datetime) -> bool:
    """The invitation is still out: False once it has expired (the sequence is abandoned), else the
    next check of the account's connections is scheduled."""
    days = runtime.settings.dm_invitation_expire_days
    sent = ctx.invitation_sent_at
    if sent is not None and now >= sent + timedelta(days=days):
        await base.end(
            conn, ctx, "abandoned", f"the connection invitation was not accepted within {days:g} days"
        )
        return False
    at = now + _jitter(runtime.settings.dm_invitation_check_seconds)
    await sequence_repo.update(conn, ctx.id, {"next_action_at": at})
    return True


async def profile_checked(
    runtime: Runtime, conn: Conn, ctx: SequenceContext, *, connected: bool, distance: str | None
) -> None:
    reason = (
        "a 1st-degree connection: the first DM goes straight to them"
        if connected
        else f"not a connection ({distance or 'unknown distance'}): "
        "a connection invitation with a note goes first, the DM after they accept"
    )
    await base.reschedule(
        runtime, conn, ctx, utcnow(), step1_status="dm" if connected else "invite", attempts=0
    )
    await timeline.record(conn, ctx, timeline.PROFILE_CHECKED, reason)


# --- after a step ---------------------------------------------------------------------------------------


async def retry(
    runtime: Runtime, conn: Conn, ctx: SequenceContext, reason: str, not_before: datetime | None
) -> None:
    """A temporary error: try again with backoff, and fail the lead after `dm_retry_max_attempts`."""
    settings = runtime.settings
    attempts = ctx.attempts + 1
    if attempts >= settings.dm_retry_max_attempts:
        await base.end(conn, ctx, "failed", f"{reason}; gave up after {attempts} attempts")
        return
    backoff = timedelta(seconds=settings.dm_retry_base_seconds * 2 ** (attempts - 1))
    at = max(not_before or utcnow(), utcnow() + backoff)
    await base.reschedule(runtime, conn, ctx, at, attempts=attempts)
    await timeline.record(
        conn, ctx, timeline.RETRY_SCHEDULED, f"{reason}; retrying at {at:%Y-%m-%d %H:%M} UTC"
    )


async def uncertain(
    runtime: Runtime, conn: Conn, ctx: SequenceContext, step: str, not_before: datetime | None
) -> None:
    """LinkedIn did not confirm the step: the conversation is read back before anything is resent."""
    await sequence_repo.update(conn, ctx.id, {"next_action_at": not_before or utcnow()})
    await timeline.record_unless_repeated(
        conn,
        ctx,
        timeline.SEND_UNCERTAIN,
        f"LinkedIn did not confirm {STEP_NAMES[step]}; the conversation is checked before anything is sent"
        " again",
    )
    await base.schedule(runtime, conn, ctx, not_before)


async def failed(
    runtime: Runtime, conn: Conn, ctx: SequenceContext, step: str, error: BaseException | None, reason: str
) -> str:
    """LinkedIn refused the step for good: "deferred" when another way exists (invite first, or DM a
    connection directly), else "failed" and the lead fails with the reason."""
    if step == "1" and isinstance(error, NotConnected) and ctx.stage == "step1":
        # Not (or no longer) a 1st-degree connection: invite first.
        await base.reschedule(runtime, conn, ctx, utcnow(), step1_status="invite", attempts=0)
        await timeline.record(
            conn,
            ctx,
            timeline.PROFILE_CHECKED,
            "LinkedIn says they are not a connection: inviting first",
        )
        return "deferred"
    if step == "invite" and error is not None and already_connected(error):
        await base.reschedule(runtime, conn, ctx, utcnow(), step1_status="dm", attempts=0)
        await timeline.record(
            conn,
            ctx,
            timeline.PROFILE_CHECKED,
            "already a connection: the first DM goes straight to them",
        )
        return "deferred"
    await base.end(conn, ctx, "failed", f"{STEP_NAMES[step]} could not be sent: {reason}")
    return "failed"


async def _first_dm_sent(runtime: Runtime, conn: Conn, ctx: SequenceContext, at: datetime) -> None:
    await events.publish(
        runtime,
        conn,
        events.FirstDmSent(
            client_id=ctx.client_id, lead_id=ctx.lead_id, comment_id=ctx.lead_comment_id, at=at
        ),
    )


def _text(action: Action) -> str:
    return str(action.payload.get("text") or action.payload.get("message") or "")


async def sent(runtime: Runtime, conn: Conn, ctx: SequenceContext, step: str, action: Action) -> None:
    """LinkedIn confirmed the step: record the message and move the sequence on."""
    settings = runtime.settings
    policy = ctx.policy(settings)
    now = utcnow()
    sid, lead_id = ctx.id, ctx.lead_id
    provider_id = action.provider_id
    chat_id = action.provider_chat_id or ctx.unipile_chat_id
    text = _text(action)
    if step == "invite":
        if ctx.stage == "step1":
            await sequence_repo.update(
                conn,
                sid,
                {
                    "stage": "awaiting_acceptance",
                    "step1_status": "invited",
                    "invitation_sent_at": now,
                    "invitation_id": provider_id,
                    "next_action_at": now + _jitter(settings.dm_invitation_check_seconds),
                    "attempts": 0,
                },
            )
        await timeline.record(
            conn,
            ctx,
            timeline.INVITATION_SENT,
            "connection invitation sent with a note; the first DM follows their acceptance",
            data={"invitation_id": provider_id, "note": text},
        )
        return
    common: dict[str, Any] = {"attempts": 0}
    if chat_id and not ctx.unipile_chat_id:
        common["unipile_chat_id"] = chat_id
    data = {"message_id": provider_id, "chat_id": chat_id}
    message = {
        "client_id": ctx.client_id,
        "dm_sequence_id": sid,
        "direction": "outbound",
        "message": text,
        "unipile_message_id": provider_id,
        "unipile_conversation_id": chat_id,
        "sent_at": action.done_at or now,
    }

    async def record(
        values: dict[str, Any], advance_to: str | None, kind: str, reason: str, **extra: Any
    ) -> None:
        # The message, the sequence, the lead and the timeline: one statement.
        await sequence_repo.record_step(
            conn,
            client_id=ctx.client_id,
            sequence_id=sid,
            lead_id=lead_id,
            message=message,
            values=common | values,
            advance_to=advance_to,
            events=[(kind, reason, data | extra, utcnow())],
        )

    if step == "1":
        values: dict[str, Any] = {
            "step1_sent_at": now,
            "step1_message": text,
            "step1_unipile_message_id": provider_id,
            "step1_status": "sent",
        }
        if ctx.stage == "step1":
            values |= {
                "stage": "awaiting_reply",
                "next_action_at": None,
                "abandon_at": now + policy.abandon_after,
            }
        await record(values, "dm_sent", timeline.DM_SENT, "first DM sent, asking for their email")
        await _first_dm_sent(runtime, conn, ctx, now)
    elif step == "followup":
        await record(
            {"followup_sent_at": now, "next_action_at": None, "abandon_at": now + policy.abandon_after},
            None,
            timeline.FOLLOW_UP_SENT,
            "their reply had no email: one polite follow-up sent",
        )
    elif step == "2":
        step3_at = now + timedelta(seconds=policy.step3_delay)
        await record(
            {
                "step2_sent_at": now,
                "step2_message": text,
                "step2_unipile_message_id": provider_id,
                "stage": "step3",
                "step3_scheduled_for": step3_at,
                "next_action_at": step3_at,
            },
            None,
            timeline.DM_SENT,
            "confirmation DM sent (step 2)",
        )
        await handover.captured(runtime, conn, ctx)
        await base.schedule(runtime, conn, ctx, step3_at)
    elif step == "3":
        expires = ctx.download_url_expires_at
        await record(
            {
                "step3_sent_at": now,
                "step3_message": text,
                "step3_unipile_message_id": provider_id,
                "stage": "done",
                "status": "completed",
                "completed_at": now,
                "next_action_at": None,
            },
            "backup_sent",
            timeline.BACKUP_SENT,
            "backup DM sent with a signed download link (step 3); the lead completes when they open it",
            expires_at=expires.isoformat() if expires else None,
        )


async def confirmed_late(runtime: Runtime, conn: Conn, ctx: SequenceContext, action: Action) -> None:
    """What `sent` records for a step, for one confirmed after the sequence had moved past it (their
    reply came before the confirmation): the message and its timestamps, never the stage."""
    sid, lead_id = ctx.id, ctx.lead_id
    at = action.started_at or utcnow()
    text = _text(action)
    data = {"message_id": action.provider_id, "chat_id": action.provider_chat_id}
    if action.kind == "invitation":
        if ctx.invitation_sent_at is None:
            await sequence_repo.update(
                conn, sid, {"invitation_sent_at": at, "invitation_id": action.provider_id}
            )
        await timeline.record(
            conn, ctx, timeline.INVITATION_SENT, "connection invitation confirmed: LinkedIn had it"
        )
        return
    chat_id = action.provider_chat_id or ctx.unipile_chat_id
    await base.record_message(conn, ctx, "outbound", text, action.provider_id, chat_id, at)
    step = action.key.removeprefix(f"dm:{sid}:").split(":")[0]
    if step == "1" and ctx.step1_sent_at is None:
        await sequence_repo.update(
            conn,
            sid,
            {
                "step1_sent_at": at,
                "step1_message": text,
                "step1_unipile_message_id": action.provider_id,
                "step1_status": "sent",
            },
        )
        await repo.advance(conn, lead_id, "dm_sent")
        await _first_dm_sent(runtime, conn, ctx, at)
        await timeline.record(
            conn,
            ctx,
            timeline.DM_SENT,
            "first DM confirmed: LinkedIn had it (their reply came before the confirmation)",
            data=data,
        )
    elif step == "followup" and ctx.followup_sent_at is None:
        await sequence_repo.update(conn, sid, {"followup_sent_at": at})
        await timeline.record(
            conn, ctx, timeline.FOLLOW_UP_SENT, "follow-up confirmed: LinkedIn had it", data=data
        )
