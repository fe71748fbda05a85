"""The DM executor: one due action of one sequence, exactly once — plan → ledger → outcome.

`run_step` re-reads the sequence, asks the lifecycle whether the campaign lets it send, decides the one
due action (revos.dms.plan), records its intent in the action ledger, performs it outside any
transaction with `ledger.perform` (the account's safety budget, working hours, reconciliation after an
ambiguous failure) and reports the outcome to the lead's lifecycle (revos.leads.lifecycle.outbound),
which moves the sequence on. Running it twice, or on two workers, has the effect of running it once: the
ledger key is the proof.

A new action (the common case) takes two transactions: the first reads the sequence and its ledger
actions, decides, reserves the budget and records the action already started (`ledger.begin_started`);
after the call, the second records LinkedIn's answer (`ledger.record`) and its meaning for the lead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from revos.accounts import safety
from revos.accounts.provider import linkedin_client
from revos.actions import ledger
from revos.actions.ledger import Action, ActionOutcome
from revos.actions.models import CONNECTED_PREFIX
from revos.actions.reconcile import CALLS
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.dms import invitations
from revos.dms.plan import FIRST_DEGREE, Plan, decide, step_keys
from revos.inbound.service import relation_received
from revos.leads import sequence_repo
from revos.leads.context import SequenceContext, load, refresh
from revos.leads.lifecycle import base, conversation, outbound
from revos.linkedin.errors import UnipileError
from revos.runtime import Runtime


async def run_step(runtime: Runtime, sequence_id: UUID, *, account: UUID | None = None) -> str:
    """Do the sequence's due action, if any. Returns what happened: settled | not_due | waiting | done |
    deferred | ambiguous | failed; or busy when `account` (the account's DM run) cannot act now
    (paused, not active, within its randomised gap), before anything is read or written."""
    now = utcnow()
    action: Action | None = None
    started = False  # the action was begun and started in the step's first transaction
    async with runtime.db.service(actor="dms") as conn:
        # The sequence with its account and its ledger actions, in one statement.
        ctx = await load(conn, sequence_id, for_update=True, action_keys=step_keys(sequence_id))
        if account is not None and await account_busy(conn, ctx, account, now):
            return "busy"
        due = await due_plan(runtime, conn, ctx, now)
        if due == AWAITING:
            assert ctx is not None
            if not await outbound.awaiting_acceptance(runtime, conn, ctx, now):
                return "failed"
            plan = None
        elif isinstance(due, str):
            return due
        else:
            assert ctx is not None
            plan = due
            # Every action of the sequence (read with it): the plan's, and earlier ones still unconfirmed.
            known = {key: status for key, _, status in ctx.ledger_actions}
            superseded = [
                action_id
                for key, action_id, status in ctx.ledger_actions
                if status in UNCONFIRMED and key != plan.key
            ]
            if plan.kind != "profile_view":
                if plan.key not in known and not superseded:
                    # A new action: recorded with its budget reserved and its attempt started, in this
                    # same transaction (the ledger's begin and steps 3–4).
                    begun = await ledger.begin_started(conn, runtime=runtime, now=now, **intent(ctx, plan))
                    if isinstance(begun, ActionOutcome):
                        after = await refresh(conn, ctx)
                        assert after is not None, f"sequence {sequence_id} vanished"
                        return await report(runtime, conn, after, plan, begun)
                    action, started = begun, True
                else:
                    action = await ledger.begin(conn, **intent(ctx, plan))
    if plan is None:
        # Waiting for their acceptance: read the account's connections (webhooks can lag for hours).
        await invitations.check_invitations(runtime, ctx.linkedin_account_id)
        return "waiting"
    for earlier in superseded:
        settled = await _settle_superseded(runtime, sequence_id, earlier)
        if settled.status in ("deferred", "ambiguous"):
            # The sequence goes on only once its past is known: a step sent after an unsettled one would
            # leave that one unconfirmed for good (the sequence completes, nothing asks again).
            async with runtime.db.service(actor="dms") as conn:
                fresh = await _reload(conn, sequence_id)
                await _record_choice(conn, fresh, plan, None)
                await base.wait(
                    runtime,
                    conn,
                    fresh,
                    f"{settled.reason}: an earlier message is checked first",
                    settled.not_before,
                )
            return "deferred"
    if action is None:
        return await _check_profile(runtime, ctx, now)
    call, reconcile = CALLS[plan.kind]
    if started:
        ids = await ledger.call_started(runtime, action, call, reconcile)
        if not isinstance(ids, ActionOutcome):
            # The confirmation and what it means for the lead, in one transaction (the sequence locked
            # first, as in the step's first transaction). Should it fail, the attempt stays in flight
            # and is reconciled with LinkedIn before anything is sent again.
            async with runtime.db.service(actor="dms") as conn:
                after = await refresh(conn, ctx)
                assert after is not None, f"sequence {sequence_id} vanished"
                recorded = await ledger.record(
                    runtime, conn, action, ids, strikes=ctx.account_rate_limit_strikes
                )
                return await report(runtime, conn, after, plan, recorded)
        outcome = ids
    else:
        outcome = await ledger.perform(runtime, action.id, call, reconcile)
    async with runtime.db.service(actor="dms") as conn:
        after = await refresh(conn, ctx)
        assert after is not None, f"sequence {sequence_id} vanished"
        return await report(runtime, conn, after, plan, outcome)


UNCONFIRMED = ("in_flight", "ambiguous")
AWAITING = "awaiting_acceptance"  # `due_plan`: the invitation is out, its acceptance is the caller's


async def account_busy(conn: Conn, ctx: SequenceContext | None, account: UUID, now: datetime) -> bool:
    """Whether the account of a DM run cannot act now (paused, not active, within its randomised gap): as
    the context read it (one statement for both), or its own read when the sequence has moved to another
    account since the run listed it."""
    if ctx is not None and ctx.linkedin_account_id == account:
        return ctx.account_busy_until(now) is not None
    return await sequence_repo.account_busy_until(conn, account, now) is not None


async def due_plan(runtime: Runtime, conn: Conn, ctx: SequenceContext | None, now: datetime) -> Plan | str:
    """The sequence's due action, decided in the step's first transaction (the sequence locked), or what
    keeps it from one: settled (not in progress, or its stage needs nothing), not_due, waiting (the
    campaign's state or hours), or `AWAITING` (an invitation awaiting acceptance)."""
    if ctx is None or ctx.status != "in_progress":
        return "settled"
    if ctx.next_action_at is None or ctx.next_action_at > now:
        return "not_due"
    if ctx.stage == "awaiting_acceptance":
        return AWAITING
    if not await outbound.may_send(runtime, conn, ctx, now):
        return "waiting"
    known = {key: status for key, _, status in ctx.ledger_actions}
    plan = await decide(runtime, conn, ctx, ctx.policy(runtime.settings), now, known=known)
    if plan is None:
        await outbound.nothing_due(conn, ctx)
        return "settled"
    return plan


def intent(ctx: SequenceContext, plan: Plan) -> dict[str, Any]:
    """The ledger's `begin`/`create` arguments for the plan's action."""
    return {
        "client_id": ctx.client_id,
        "account_id": ctx.linkedin_account_id,
        "kind": plan.kind,
        "key": plan.key,
        "target": ctx.lead_linkedin_id,
        "payload": plan.payload,
    }


async def _reload(conn: Conn, sequence_id: UUID) -> SequenceContext:
    ctx = await load(conn, sequence_id, for_update=True)
    assert ctx is not None, f"sequence {sequence_id} vanished"
    return ctx


async def _record_choice(conn: Conn, ctx: SequenceContext, plan: Plan, outcome: ActionOutcome | None) -> None:
    """How step 1 goes, when the plan chose it: written with the step's outcome, unless the outcome's
    own update says more (the first DM sent; the invitation sent while still at step 1)."""
    if plan.chosen is None:
        return
    if outcome is not None and outcome.status == "done" and (plan.kind == "dm" or ctx.stage == "step1"):
        return
    await outbound.first_step_chosen(conn, ctx, plan.chosen)


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
            ctx = await load(conn, sequence_id, for_update=True)
            if ctx is not None:
                await outbound.confirmed_late(runtime, conn, ctx, outcome.action)
    return outcome


async def _check_profile(runtime: Runtime, ctx: SequenceContext, now: datetime) -> str:
    """Is the commenter a 1st-degree connection? A profile read counts as a visit against the budget."""
    async with runtime.db.service(actor="dms") as conn:
        reservation = await safety.reserve(
            conn, account_id=ctx.linkedin_account_id, kind="profile_view", now=now, settings=runtime.settings
        )
        if not reservation.allowed:
            await base.wait(runtime, conn, ctx, reservation.reason, reservation.not_before)
            return "deferred"
    try:
        profile = await linkedin_client(runtime).get_profile(
            ctx.lead_linkedin_id, ctx.unipile_account_id or ""
        )
    except UnipileError as exc:
        async with runtime.db.service(actor="dms") as conn:
            until = await safety.apply_provider_error(
                conn, ctx.linkedin_account_id, exc, utcnow(), runtime.settings
            )
            fresh = await _reload(conn, ctx.id)
            if safety.is_account_error(exc) or exc.retryable:
                await outbound.retry(
                    runtime, conn, fresh, f"could not read their profile ({exc.title})", until
                )
                return "deferred"
            await base.end(conn, fresh, "failed", f"their LinkedIn profile could not be read: {exc.title}")
            return "failed"
    connected = profile.network_distance == FIRST_DEGREE or profile.is_relationship is True
    async with runtime.db.service(actor="dms") as conn:
        current = await load(conn, ctx.id, for_update=True)
        if current is None or current.stage != "step1":
            return "settled"
        await outbound.profile_checked(
            runtime, conn, current, connected=connected, distance=profile.network_distance
        )
    return "done"


async def report(
    runtime: Runtime, conn: Conn, ctx: SequenceContext, plan: Plan, outcome: ActionOutcome
) -> str:
    """The ledger's outcome, told to the lead's lifecycle."""
    await _record_choice(conn, ctx, plan, outcome)
    if outcome.status == "done":
        await outbound.sent(runtime, conn, ctx, plan.step, outcome.action)
        if plan.kind == "invitation":
            if (outcome.action.provider_id or "").startswith(CONNECTED_PREFIX):
                # Confirmed by the connection it made: accepted already, the first DM follows.
                how = "already a connection when it was confirmed"
            elif await relation_received(conn, ctx.unipile_account_id, ctx.lead_linkedin_id):
                # LinkedIn's webhook came before the invitation was recorded as sent: its handler found
                # the sequence still at step 1, and the connections are read again only hours later.
                how = "LinkedIn reported the new connection before the invitation was recorded"
            else:
                return "done"
            await conversation.invitation_accepted(runtime, conn, ctx.id, how=how)
        return "done"
    if outcome.status == "deferred":
        error = outcome.error
        if error is not None and not safety.is_account_error(error):
            name = outbound.STEP_NAMES[plan.step]
            reason = f"{name} hit a temporary LinkedIn error ({outcome.reason})"
            await outbound.retry(runtime, conn, ctx, reason, outcome.not_before)
        else:
            await base.wait(runtime, conn, ctx, outcome.reason, outcome.not_before)
        return "deferred"
    if outcome.status == "ambiguous":
        await outbound.uncertain(runtime, conn, ctx, plan.step, outcome.not_before)
        return "ambiguous"
    return await outbound.failed(runtime, conn, ctx, plan.step, outcome.error, outcome.reason)
