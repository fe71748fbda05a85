"""The outbound side of the 3-step DM sequence: what to send next, sent exactly once through the ledger.

A sequence's `stage` says what it waits for and `next_action_at` when to act:

    step1 ── DM (1st degree) ───────────────────────────┐
       └── invitation with a note ─▶ awaiting_acceptance ┴─▶ awaiting_reply ─(email)─▶ step2 ─▶ step3 ─▶ done
                                       (accepted: DM)        (low confidence: review)

`run_step` re-reads the sequence, decides the one due action, records its intent in the ledger
(`dm:<sequence>:1`, `invite:<sequence>`, `dm:<sequence>:2`, `dm:<sequence>:3`, …), performs it outside
any transaction with `ledger.perform` (safety budget, working hours, reconciliation after an ambiguous
failure) and records the outcome with a timeline event. Running it twice, or on two workers, has the
effect of running it once: the ledger key is the proof.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos.accounts import safety
from revos.accounts.provider import linkedin_client
from revos.actions import ledger
from revos.actions.ledger import ActionOutcome
from revos.actions.reconcile import CALLS
from revos.clock import utcnow
from revos.config import get_settings
from revos.db.pool import Conn
from revos.dms import jobs, links, repo
from revos.dms.policy import SequencePolicy, policy_for
from revos.leads import repo as lead_repo
from revos.leads import timeline
from revos.linkedin.errors import ActionRejected, NotConnected, UnipileError
from revos.runtime import Runtime
from revos.text import templates

log = logging.getLogger("revos.dms")

FIRST_DEGREE = "FIRST_DEGREE"
MAX_STEPS_PER_RUN = 3  # steps of one sequence in one account run
STEP_NAMES = {
    "1": "the first DM",
    "invite": "the invitation",
    "followup": "the follow-up",
    "2": "the confirmation DM",
    "3": "the backup DM",
}


@dataclass
class Plan:
    """The one action a sequence needs now."""

    step: str  # "1" | "invite" | "followup" | "2" | "3" | "profile"
    kind: str  # ledger kind: dm | invitation | profile_view
    key: str
    payload: dict[str, Any] = field(default_factory=dict)


def _values(ctx: dict[str, Any], **extra: str | None) -> dict[str, str | None]:
    return {
        "first_name": ctx.get("lead_first_name"),
        "last_name": ctx.get("lead_last_name"),
        "lead_magnet_name": ctx.get("lead_magnet_name") or "the guide",
        "campaign_name": ctx.get("campaign_name"),
        "email": ctx.get("email_extracted") or ctx.get("lead_email"),
        "download_url": ctx.get("download_url"),
        **extra,
    }


def _template(ctx: dict[str, Any], step: int) -> str:
    return ctx.get(f"dm_template_step{step}") or templates.DEFAULT_TEMPLATES[step]


def _jitter(seconds: float) -> timedelta:
    return timedelta(seconds=seconds * random.uniform(0.5, 1.5))


# --- deciding ------------------------------------------------------------------------------------------


def _step_keys(sequence_id: UUID) -> list[str]:
    """Every ledger key a sequence's steps can use."""
    sid = sequence_id
    return [
        f"invite:{sid}",
        f"dm:{sid}:1",
        f"dm:{sid}:1:after-invitation",
        f"dm:{sid}:followup",
        f"dm:{sid}:2",
        f"dm:{sid}:3",
    ]


async def _dm_key(conn: Conn, sequence_id: UUID) -> str:
    """`dm:<id>:1`, unless that attempt was refused because they were not connected yet (then the DM
    after acceptance is its own action)."""
    key = f"dm:{sequence_id}:1"
    existing = await ledger.get_by_key(conn, key)
    if existing is not None and existing.status == "failed":
        return f"dm:{sequence_id}:1:after-invitation"
    return key


async def _plan(
    runtime: Runtime, conn: Conn, ctx: dict[str, Any], policy: SequencePolicy, now: datetime
) -> Plan | None:
    sid: UUID = ctx["id"]
    stage = ctx["stage"]
    chat = {"chat_id": ctx["unipile_chat_id"]} if ctx.get("unipile_chat_id") else {}
    if stage == "step1":
        how = ctx.get("step1_status")
        if how not in ("dm", "invite"):
            distance = ctx.get("comment_distance")
            if distance == FIRST_DEGREE:
                how = "dm"
            elif distance in ("SECOND_DEGREE", "THIRD_DEGREE", "OUT_OF_NETWORK"):
                how = "invite"
            else:
                return Plan("profile", "profile_view", f"profile:{sid}")
            await repo.update(conn, sid, {"step1_status": how})
        if how == "dm":
            text = templates.render(_template(ctx, 1), _values(ctx))
            return Plan("1", "dm", await _dm_key(conn, sid), {"text": text, **chat})
        note_template = policy.invitation_note or templates.DEFAULT_INVITATION_NOTE
        note = templates.fit_invitation_note(templates.render(note_template, _values(ctx)))
        return Plan("invite", "invitation", f"invite:{sid}", {"message": note})
    if stage == "awaiting_reply":
        template = policy.follow_up_template or templates.DEFAULT_FOLLOW_UP
        return Plan(
            "followup", "dm", f"dm:{sid}:followup", {"text": templates.render(template, _values(ctx)), **chat}
        )
    if stage == "step2":
        return Plan(
            "2", "dm", f"dm:{sid}:2", {"text": templates.render(_template(ctx, 2), _values(ctx)), **chat}
        )
    if stage == "step3":
        url = ctx.get("download_url")
        if not url:
            url, expires_at = links.download_url(runtime, sid, now)
            await repo.update(conn, sid, {"download_url": url, "download_url_expires_at": expires_at})
            ctx["download_url"] = url
        return Plan(
            "3", "dm", f"dm:{sid}:3", {"text": templates.render(_template(ctx, 3), _values(ctx)), **chat}
        )
    return None


async def _gate(conn: Conn, ctx: dict[str, Any], now: datetime, recheck: timedelta) -> bool:
    """False when the campaign does not allow sending now (the sequence is rescheduled or ended)."""
    from revos.leads.service import campaign_block

    block = campaign_block(
        {
            "status": ctx["campaign_status"],
            "starts_at": ctx["campaign_starts_at"],
            "ends_at": ctx["campaign_ends_at"],
        },
        now,
    )
    if block is None:
        return await _within_campaign_hours(conn, ctx, now)
    if block[0] == "ended" and ctx["stage"] in ("step1", "awaiting_acceptance"):
        await end(conn, ctx, "failed", f"no DM sent: {block[1]}")
        return False
    if block[0] == "ended":
        return True  # a lead already talking to us gets their guide even after the campaign's end
    await repo.update(conn, ctx["id"], {"next_action_at": now + recheck})
    await timeline.record_unless_repeated(conn, ctx["lead_id"], timeline.WAITING, block[1])
    return False


async def _within_campaign_hours(conn: Conn, ctx: dict[str, Any], now: datetime) -> bool:
    """The campaign's own working hours (in the account's time zone), stricter than the account's:
    outside them the step waits for the next window."""
    from revos.campaigns.service import working_hours_opening

    opening = working_hours_opening({"settings": ctx["campaign_settings"]}, now, ctx.get("account_timezone"))
    if opening is None:
        return True
    await _wait(
        conn, ctx, f"outside the campaign's working hours (next window {opening:%Y-%m-%d %H:%M} UTC)", opening
    )
    return False


# --- running -------------------------------------------------------------------------------------------


async def run_step(runtime: Runtime, sequence_id: UUID) -> str:
    """Do the sequence's due action, if any. Returns what happened: settled | not_due | waiting | done |
    deferred | ambiguous | failed."""
    settings = runtime.settings
    now = utcnow()
    recheck = timedelta(seconds=settings.dm_wait_recheck_seconds)
    async with runtime.db.service(actor="dms") as conn:
        ctx = await repo.context(conn, sequence_id, for_update=True)
        if ctx is None or ctx["status"] != "in_progress":
            return "settled"
        if ctx["next_action_at"] is None or ctx["next_action_at"] > now:
            return "not_due"
        if ctx["stage"] == "awaiting_acceptance":
            expired = await _expire_invitation(conn, ctx, now, settings.dm_invitation_expire_days)
            if expired:
                return "failed"
            await repo.update(
                conn, sequence_id, {"next_action_at": now + _jitter(settings.dm_invitation_check_seconds)}
            )
            check_account: UUID | None = ctx["linkedin_account_id"]
        else:
            check_account = None
            plan: Plan | None = None
            policy = policy_for(ctx["campaign_settings"], settings)
            if not await _gate(conn, ctx, now, recheck):
                return "waiting"
            plan = await _plan(runtime, conn, ctx, policy, now)
            if plan is None:
                await repo.update(conn, sequence_id, {"next_action_at": None})
                return "settled"
            if plan.kind != "profile_view":
                action = await ledger.begin(
                    conn,
                    client_id=ctx["client_id"],
                    account_id=ctx["linkedin_account_id"],
                    kind=plan.kind,
                    key=plan.key,
                    target=ctx["lead_linkedin_id"],
                    payload=plan.payload,
                )
            superseded = [
                a.id for a in await ledger.unconfirmed(conn, _step_keys(sequence_id)) if a.key != plan.key
            ]
    if check_account is not None:
        await check_invitations(runtime, check_account)
        return "waiting"
    assert plan is not None
    for earlier in superseded:
        settled = await _settle_superseded(runtime, sequence_id, earlier)
        if settled.status in ("deferred", "ambiguous"):
            # The sequence goes on only once its past is known: a step sent after an unsettled one would
            # leave that one unconfirmed for good (the sequence completes, nothing asks again).
            async with runtime.db.service(actor="dms") as conn:
                fresh = await repo.context(conn, sequence_id, for_update=True)
                assert fresh is not None
                await _wait(
                    conn,
                    fresh,
                    f"{settled.reason}: an earlier message is checked first",
                    settled.not_before,
                    runtime,
                )
            return "deferred"
    if plan.kind == "profile_view":
        return await _check_profile(runtime, ctx, now)
    call, reconcile = CALLS[plan.kind]
    outcome = await ledger.perform(runtime, action.id, call, reconcile)
    async with runtime.db.service(actor="dms") as conn:
        fresh = await repo.context(conn, sequence_id, for_update=True)
        assert fresh is not None
        return await _record(runtime, conn, fresh, plan, outcome)


async def _settle_superseded(runtime: Runtime, sequence_id: UUID, action_id: UUID) -> ActionOutcome:
    """An earlier action of the sequence is still unconfirmed (a timeout, a crash) although the
    conversation has moved on: they replied before the first DM was reconciled. Read LinkedIn to settle
    it, never send it again; when it had happened, record it as sent (the funnel and timeline count it)."""
    async with runtime.db.service(actor="dms") as conn:
        action = await ledger.get(conn, action_id)
    outcome = await ledger.settle(
        runtime, action_id, CALLS[action.kind][1], unsent_reason="not sent: the conversation moved on"
    )
    if outcome.status == "done":
        async with runtime.db.service(actor="dms") as conn:
            ctx = await repo.context(conn, sequence_id, for_update=True)
            if ctx is not None:
                await _record_late(conn, ctx, outcome.action)
    return outcome


async def _insert_outbound(
    conn: Conn, ctx: dict[str, Any], text: str, message_id: str | None, chat_id: str | None, at: datetime
) -> None:
    """Our DM in the lead's conversation (`dm_messages`), once per provider message id."""
    await repo.insert_message(
        conn,
        {
            "client_id": ctx["client_id"],
            "dm_sequence_id": ctx["id"],
            "direction": "outbound",
            "message": text,
            "unipile_message_id": message_id,
            "unipile_conversation_id": chat_id,
            "sent_at": at,
        },
    )


async def _record_late(conn: Conn, ctx: dict[str, Any], action: ledger.Action) -> None:
    """What `_on_done` records for a step, for one confirmed after the sequence had moved past it: the
    message and its timestamps, never the stage."""
    sid, lead_id = ctx["id"], ctx["lead_id"]
    at = action.started_at or utcnow()
    text = str(action.payload.get("text") or action.payload.get("message") or "")
    data = {"message_id": action.provider_id, "chat_id": action.provider_chat_id}
    if action.kind == "invitation":
        if ctx.get("invitation_sent_at") is None:
            await repo.update(conn, sid, {"invitation_sent_at": at, "invitation_id": action.provider_id})
        await timeline.record(
            conn, lead_id, timeline.INVITATION_SENT, "connection invitation confirmed: LinkedIn had it"
        )
        return
    await _insert_outbound(
        conn, ctx, text, action.provider_id, action.provider_chat_id or ctx.get("unipile_chat_id"), at
    )
    step = action.key.removeprefix(f"dm:{sid}:").split(":")[0]
    if step == "1" and ctx.get("step1_sent_at") is None:
        await repo.update(
            conn,
            sid,
            {
                "step1_sent_at": at,
                "step1_message": text,
                "step1_unipile_message_id": action.provider_id,
                "step1_status": "sent",
            },
        )
        await lead_repo.advance(conn, lead_id, "dm_sent")
        await lead_repo.mark_comment_dm_sent(conn, ctx.get("lead_comment_id"), at)
        await timeline.record(
            conn,
            lead_id,
            timeline.DM_SENT,
            "first DM confirmed: LinkedIn had it (their reply came before the confirmation)",
            data=data,
        )
    elif step == "followup" and ctx.get("followup_sent_at") is None:
        await repo.update(conn, sid, {"followup_sent_at": at})
        await timeline.record(
            conn, lead_id, timeline.FOLLOW_UP_SENT, "follow-up confirmed: LinkedIn had it", data=data
        )


async def _check_profile(runtime: Runtime, ctx: dict[str, Any], now: datetime) -> str:
    """Is the commenter a 1st-degree connection? A profile read counts as a visit against the budget."""
    sid = ctx["id"]
    async with runtime.db.service(actor="dms") as conn:
        reservation = await safety.reserve(
            conn,
            account_id=ctx["linkedin_account_id"],
            kind="profile_view",
            now=now,
            settings=runtime.settings,
        )
        if not reservation.allowed:
            await _wait(conn, ctx, reservation.reason, reservation.not_before, runtime)
            return "deferred"
    try:
        profile = await linkedin_client(runtime).get_profile(
            ctx["lead_linkedin_id"], ctx["unipile_account_id"]
        )
    except UnipileError as exc:
        async with runtime.db.service(actor="dms") as conn:
            until = await safety.apply_provider_error(
                conn, ctx["linkedin_account_id"], exc, utcnow(), runtime.settings
            )
            fresh = await repo.context(conn, sid, for_update=True)
            assert fresh is not None
            if safety.is_account_error(exc) or exc.retryable:
                await _retry(conn, fresh, f"could not read their profile ({exc.title})", until, runtime)
                return "deferred"
            await end(conn, fresh, "failed", f"their LinkedIn profile could not be read: {exc.title}")
            return "failed"
    connected = profile.network_distance == FIRST_DEGREE or profile.is_relationship is True
    async with runtime.db.service(actor="dms") as conn:
        fresh = await repo.context(conn, sid, for_update=True)
        if fresh is None or fresh["stage"] != "step1":
            return "settled"
        await repo.update(
            conn,
            sid,
            {"step1_status": "dm" if connected else "invite", "next_action_at": utcnow(), "attempts": 0},
        )
        reason = (
            "a 1st-degree connection: the first DM goes straight to them"
            if connected
            else f"not a connection ({profile.network_distance or 'unknown distance'}): "
            "a connection invitation with a note goes first, the DM after they accept"
        )
        await timeline.record(conn, ctx["lead_id"], timeline.PROFILE_CHECKED, reason)
        await jobs.defer_step(conn, sid, ctx["linkedin_account_id"], at=utcnow())
    return "done"


async def _record(
    runtime: Runtime, conn: Conn, ctx: dict[str, Any], plan: Plan, outcome: ActionOutcome
) -> str:
    if outcome.status == "done":
        await _on_done(runtime, conn, ctx, plan, outcome)
        return "done"
    name = STEP_NAMES[plan.step]
    if outcome.status == "deferred":
        error = outcome.error
        if error is not None and not safety.is_account_error(error):
            await _retry(
                conn,
                ctx,
                f"{name} hit a temporary LinkedIn error ({outcome.reason})",
                outcome.not_before,
                runtime,
            )
        else:
            await _wait(conn, ctx, outcome.reason, outcome.not_before, runtime)
        return "deferred"
    if outcome.status == "ambiguous":
        await repo.update(conn, ctx["id"], {"next_action_at": outcome.not_before or utcnow()})
        await timeline.record_unless_repeated(
            conn,
            ctx["lead_id"],
            timeline.SEND_UNCERTAIN,
            f"LinkedIn did not confirm {name}; the conversation is checked before anything is sent again",
        )
        await jobs.defer_step(conn, ctx["id"], ctx["linkedin_account_id"], at=outcome.not_before)
        return "ambiguous"
    return await _on_failed(conn, ctx, plan, outcome)


async def _on_done(
    runtime: Runtime, conn: Conn, ctx: dict[str, Any], plan: Plan, outcome: ActionOutcome
) -> None:
    from revos.leads import flow

    settings = runtime.settings
    policy = policy_for(ctx["campaign_settings"], settings)
    now = utcnow()
    sid, lead_id = ctx["id"], ctx["lead_id"]
    action = outcome.action
    provider_id = action.provider_id
    chat_id = action.provider_chat_id or ctx.get("unipile_chat_id")
    text = str(action.payload.get("text") or action.payload.get("message") or "")
    if plan.step == "invite":
        if ctx["stage"] == "step1":
            await repo.update(
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
            lead_id,
            timeline.INVITATION_SENT,
            "connection invitation sent with a note; the first DM follows their acceptance",
            data={"invitation_id": provider_id, "note": text},
        )
        return
    await _insert_outbound(conn, ctx, text, provider_id, chat_id, action.done_at or now)
    common: dict[str, Any] = {"attempts": 0}
    if chat_id and not ctx.get("unipile_chat_id"):
        common["unipile_chat_id"] = chat_id
    data = {"message_id": provider_id, "chat_id": chat_id}
    if plan.step == "1":
        values = common | {
            "step1_sent_at": now,
            "step1_message": text,
            "step1_unipile_message_id": provider_id,
            "step1_status": "sent",
        }
        if ctx["stage"] == "step1":
            values |= {
                "stage": "awaiting_reply",
                "next_action_at": None,
                "abandon_at": now + policy.abandon_after,
            }
        await repo.update(conn, sid, values)
        await lead_repo.advance(conn, lead_id, "dm_sent")
        await lead_repo.mark_comment_dm_sent(conn, ctx.get("lead_comment_id"), now)
        await timeline.record(
            conn, lead_id, timeline.DM_SENT, "first DM sent, asking for their email", data=data
        )
    elif plan.step == "followup":
        await repo.update(
            conn,
            sid,
            common
            | {"followup_sent_at": now, "next_action_at": None, "abandon_at": now + policy.abandon_after},
        )
        await timeline.record(
            conn,
            lead_id,
            timeline.FOLLOW_UP_SENT,
            "their reply had no email: one polite follow-up sent",
            data=data,
        )
    elif plan.step == "2":
        step3_at = now + timedelta(seconds=policy.step3_delay)
        await repo.update(
            conn,
            sid,
            common
            | {
                "step2_sent_at": now,
                "step2_message": text,
                "step2_unipile_message_id": provider_id,
                "stage": "step3",
                "step3_scheduled_for": step3_at,
                "next_action_at": step3_at,
            },
        )
        await timeline.record(conn, lead_id, timeline.DM_SENT, "confirmation DM sent (step 2)", data=data)
        await flow.deliver_lead(conn, ctx)
        await jobs.defer_step(conn, sid, ctx["linkedin_account_id"], at=step3_at)
    elif plan.step == "3":
        await repo.update(
            conn,
            sid,
            common
            | {
                "step3_sent_at": now,
                "step3_message": text,
                "step3_unipile_message_id": provider_id,
                "stage": "done",
                "status": "completed",
                "completed_at": now,
                "next_action_at": None,
            },
        )
        await lead_repo.advance(conn, lead_id, "backup_sent")
        await timeline.record(
            conn,
            lead_id,
            timeline.BACKUP_SENT,
            "backup DM sent with a signed download link (step 3); the lead completes when they open it",
            data=data
            | {
                "expires_at": ctx["download_url_expires_at"].isoformat()
                if ctx.get("download_url_expires_at")
                else None
            },
        )


async def _on_failed(conn: Conn, ctx: dict[str, Any], plan: Plan, outcome: ActionOutcome) -> str:
    error = outcome.error
    sid = ctx["id"]
    if plan.step == "1" and isinstance(error, NotConnected) and ctx["stage"] == "step1":
        # Not (or no longer) a 1st-degree connection: invite first.
        await repo.update(conn, sid, {"step1_status": "invite", "next_action_at": utcnow(), "attempts": 0})
        await timeline.record(
            conn,
            ctx["lead_id"],
            timeline.PROFILE_CHECKED,
            "LinkedIn says they are not a connection: inviting first",
        )
        await jobs.defer_step(conn, sid, ctx["linkedin_account_id"], at=utcnow())
        return "deferred"
    if (
        plan.step == "invite"
        and isinstance(error, ActionRejected)
        and error.type == "errors/cannot_invite_attendee"
        and "connection" in (error.detail or error.title or "").lower()
    ):
        await repo.update(conn, sid, {"step1_status": "dm", "next_action_at": utcnow(), "attempts": 0})
        await timeline.record(
            conn,
            ctx["lead_id"],
            timeline.PROFILE_CHECKED,
            "already a connection: the first DM goes straight to them",
        )
        await jobs.defer_step(conn, sid, ctx["linkedin_account_id"], at=utcnow())
        return "deferred"
    await end(conn, ctx, "failed", f"{STEP_NAMES[plan.step]} could not be sent: {outcome.reason}")
    return "failed"


async def _wait(
    conn: Conn, ctx: dict[str, Any], reason: str, not_before: datetime | None, runtime: Runtime | None = None
) -> None:
    """Not now (the account's budget, the campaign's hours): reschedule, and say why unless it is only
    the random gap. Without `not_before`, look again after `dm_wait_recheck_seconds`."""
    recheck = (runtime.settings if runtime is not None else get_settings()).dm_wait_recheck_seconds
    at = not_before or utcnow() + timedelta(seconds=recheck)
    await repo.update(conn, ctx["id"], {"next_action_at": at})
    if not reason.startswith("spacing actions") and "in flight" not in reason:
        await timeline.record_unless_repeated(
            conn, ctx["lead_id"], timeline.WAITING, f"waiting: {reason}", data={"until": at.isoformat()}
        )
    await jobs.defer_step(conn, ctx["id"], ctx["linkedin_account_id"], at=at)


async def _retry(
    conn: Conn, ctx: dict[str, Any], reason: str, not_before: datetime | None, runtime: Runtime
) -> None:
    settings = runtime.settings
    attempts = int(ctx.get("attempts") or 0) + 1
    if attempts >= settings.dm_retry_max_attempts:
        await end(conn, ctx, "failed", f"{reason}; gave up after {attempts} attempts")
        return
    backoff = timedelta(seconds=settings.dm_retry_base_seconds * 2 ** (attempts - 1))
    at = max(not_before or utcnow(), utcnow() + backoff)
    await repo.update(conn, ctx["id"], {"next_action_at": at, "attempts": attempts})
    await timeline.record(
        conn, ctx["lead_id"], timeline.RETRY_SCHEDULED, f"{reason}; retrying at {at:%Y-%m-%d %H:%M} UTC"
    )
    await jobs.defer_step(conn, ctx["id"], ctx["linkedin_account_id"], at=at)


async def end(conn: Conn, ctx: dict[str, Any], status: str, reason: str) -> None:
    """Close the sequence (failed | abandoned) with a reason a person can read."""
    await repo.update(
        conn,
        ctx["id"],
        {"status": status, "failure_reason": reason, "next_action_at": None, "completed_at": utcnow()},
    )
    if status == "failed":
        await lead_repo.fail(conn, ctx["lead_id"])
        await timeline.record(conn, ctx["lead_id"], timeline.FAILED, reason)
    else:
        await timeline.record(conn, ctx["lead_id"], timeline.ABANDONED, reason)


async def _expire_invitation(conn: Conn, ctx: dict[str, Any], now: datetime, days: float) -> bool:
    sent = ctx.get("invitation_sent_at")
    if sent is None or now < sent + timedelta(days=days):
        return False
    await end(conn, ctx, "abandoned", f"the connection invitation was not accepted within {days:g} days")
    return True


# --- polling fallbacks and periodic work ------------------------------------------------------------------


async def check_invitations(runtime: Runtime, linkedin_account_id: UUID) -> int:
    """Accepted invitations found by reading the account's connections (webhooks lag up to ~8 hours)."""
    from revos.leads import flow

    async with runtime.db.service(actor="dms") as conn:
        waiting = await repo.awaiting_acceptance(conn, linkedin_account_id)
        account = await (
            await conn.execute(
                "select unipile_account_id from linkedin_accounts where id = %s", (linkedin_account_id,)
            )
        ).fetchone()
    if not waiting or account is None or not account["unipile_account_id"]:
        return 0
    wanted = {row["linkedin_id"]: row["id"] for row in waiting}
    found: list[UUID] = []
    scanned = 0
    try:
        async for relation in linkedin_client(runtime).iter_relations(
            account["unipile_account_id"], limit=200
        ):
            scanned += 1
            if relation.member_id in wanted:
                found.append(wanted[relation.member_id])
            if scanned >= 2000 or len(found) == len(wanted):
                break
    except UnipileError as exc:
        log.warning("relations of account %s could not be read: %s", linkedin_account_id, exc)
        if safety.is_account_error(exc):
            async with runtime.db.service(actor="dms") as conn:
                await safety.apply_provider_error(conn, linkedin_account_id, exc, utcnow(), runtime.settings)
        return 0
    for sequence_id in found:
        async with runtime.db.service(actor="dms") as conn:
            await flow.invitation_accepted(conn, sequence_id, how="found in the account's connections")
    return len(found)


async def run_account(runtime: Runtime, linkedin_account_id: UUID) -> int:
    """One account's DM run: every due sequence of the account, in due order, one action at a time,
    until nothing is due, the account must wait (randomised gap, pause, working hours) or the run has
    used its `dm_account_run_seconds`; then the run queues its successor for the account's next due
    moment. Returns how many steps it ran."""
    settings = runtime.settings
    started = time.monotonic()
    token = jobs.running_account.set(linkedin_account_id)
    ran = 0
    # A step may lead straight to the next (profile check → first DM); a sequence that stays due
    # without progress (a bug) is left for the next run instead of spinning here.
    tries: dict[UUID, int] = {}
    try:
        while time.monotonic() - started < settings.dm_account_run_seconds:
            async with runtime.db.service(actor="dms") as conn:
                if await repo.account_busy_until(conn, linkedin_account_id, utcnow()) is not None:
                    break
                due = [
                    sid
                    for sid in await repo.due_for_account(conn, linkedin_account_id, utcnow(), 50)
                    if tries.get(sid, 0) < MAX_STEPS_PER_RUN
                ]
            if not due:
                break
            sequence_id = due[0]
            tries[sequence_id] = tries.get(sequence_id, 0) + 1
            try:
                await run_step(runtime, sequence_id)
            except Exception:
                # One sequence's bug must not stall the account: it is retried by the next run.
                log.exception("DM step of sequence %s failed", sequence_id)
            ran += 1
    finally:
        jobs.running_account.reset(token)
    async with runtime.db.service(actor="dms") as conn:
        at = await repo.next_due_for_account(conn, linkedin_account_id)
        if at is not None:
            await jobs.wake_account(conn, linkedin_account_id, at=at)
    return ran


async def dispatch_due(runtime: Runtime, *, inline: bool = False) -> int:
    """Accounts with due sequences (by the revOS clock) → one `dms.run_account` job each (at most one
    waiting per account). With `inline` (tests on a manual clock), every due sequence is run here
    instead. Returns how many accounts (or, inline, sequences) were found due."""
    now = utcnow()
    batch = runtime.settings.dm_dispatch_batch
    if inline:
        async with runtime.db.service(actor="dms") as conn:
            due = await repo.due(conn, now, batch)
        for row in due:
            await run_step(runtime, row["id"])
        return len(due)
    async with runtime.db.service(actor="dms") as conn:
        accounts = await repo.due_accounts(conn, now, batch)
        for row in accounts:
            await jobs.wake_account(conn, row["linkedin_account_id"], at=now, force=True)
    return len(accounts)


async def abandon_due(runtime: Runtime) -> int:
    now = utcnow()
    count = 0
    async with runtime.db.service(actor="dms") as conn:
        for row in await repo.abandon_due(conn, now, runtime.settings.dm_dispatch_batch):
            ctx = await repo.context(conn, row["id"])
            assert ctx is not None
            policy = policy_for(ctx["campaign_settings"], runtime.settings)
            days = policy.abandon_after.total_seconds() / 86400
            why = "no email in their replies" if ctx.get("last_reply_at") else "no reply"
            await end(conn, ctx, "abandoned", f"{why} {days:g} days after our last DM")
            count += 1
    return count
