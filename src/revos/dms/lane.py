"""A DM run's due steps as one lane (revos.actions.lanes): the common case, many steps of one account in the
transactions and statements of one.

A run (`revos.dms.runs`) hands its account's due sequences here a few at a time (`dm_lane_size`), in due
order. One transaction reads each sequence as `run_step` does (locked, with its ledger actions), decides
its due action, and keeps a new DM or invitation for the lane; every other step (a profile to read, an
invitation awaiting acceptance, an action recorded earlier, one still unconfirmed, a sequence moved to
another account) goes back to the run, for `run_step` one by one after the lane. In the same transaction the account's budget is reserved once
for the lane and its actions are recorded already started, in one insert (`lanes.start`). After the
commit the calls go out one after another (`lanes.call`: a 429, a restriction or a disconnection stops
the lane, nothing after it is sent); one transaction locks the lane's sequences again, records the
answers (`lanes.record`: the confirmations in one update) and tells each sequence what came of its step,
as `run_step` does (`executor.report`). A provider error goes through the ledger's per-action path
(`lanes.answer_errors`) before its sequence hears of it.

The guarantees are the ledger's: an action is in the ledger, in flight, before its request can leave; its
key is unique, so a step taken meanwhile by another worker is that worker's (the run's `run_step` finds
it); an action whose answer is lost is reconciled before anything is sent again. A step the budget defers
is not recorded (the next run decides it again): it waits as one by one, except a step deferred only by
the account's randomised gap, which is left due as it is while the run stops (the account's next moment
is its successor's). A step the lane could not call before its in-flight lease would end is released,
its unit refunded, and stays due.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID, uuid4

from revos.accounts import safety
from revos.actions import lanes
from revos.clock import utcnow
from revos.dms.executor import AWAITING, UNCONFIRMED, account_busy, due_plan, intent, report
from revos.dms.plan import Plan, step_keys
from revos.leads.context import SequenceContext, load_many, refresh, refresh_many
from revos.runtime import Runtime

LANE_KINDS = ("dm", "invitation")


@dataclass
class LaneRun:
    """What a lane did: each sequence's outcome in `run_step`'s words, the sequences left to `run_step`
    (in due order), and whether the account cannot act now (the run stops)."""

    outcomes: dict[UUID, str] = field(default_factory=dict)
    rest: list[UUID] = field(default_factory=list)
    busy: bool = False


@dataclass(frozen=True)
class _Step:
    ctx: SequenceContext
    plan: Plan


async def run(runtime: Runtime, account_id: UUID, sequence_ids: list[UUID]) -> LaneRun:
    """The due steps of `sequence_ids` (the account's, in due order) through one lane (see module doc)."""
    now = utcnow()
    out = LaneRun()
    steps: dict[UUID, _Step] = {}  # the lane's action id -> its step
    lane: lanes.Lane | None = None
    async with runtime.db.service(actor="dms") as conn:
        # Every sequence of the lane read and locked at once (in the order of their ids), then decided in
        # due order.
        ctxs = await load_many(conn, sequence_ids, {sid: step_keys(sid) for sid in sequence_ids})
        for sid in sequence_ids:
            ctx = ctxs.get(sid)
            if await account_busy(conn, ctx, account_id, now):
                out.busy = True
                break
            due = await due_plan(runtime, conn, ctx, now)
            if due == AWAITING:
                out.rest.append(sid)
                continue
            if isinstance(due, str):
                out.outcomes[sid] = due
                continue
            assert ctx is not None
            plan = due
            known = {key for key, _, _ in ctx.ledger_actions}
            unconfirmed = any(status in UNCONFIRMED for _, _, status in ctx.ledger_actions)
            moved = ctx.linkedin_account_id != account_id  # to another account since the run listed it
            if plan.kind not in LANE_KINDS or plan.key in known or unconfirmed or moved:
                out.rest.append(sid)
                continue
            steps[uuid4()] = _Step(ctx, plan)
        if steps:
            work = [_item(action_id, step) for action_id, step in steps.items()]
            lane = (await lanes.start(conn, runtime, {account_id: work}))[account_id]
            for action_id in lane.unrecorded:
                step = steps[action_id]
                outcome = lane.outcomes[action_id]
                if action_id in lane.taken:  # recorded by another worker meanwhile: run_step finds it
                    out.rest.append(step.ctx.id)
                elif outcome.reason == safety.SPACING:  # the account's gap: left due, the run stops
                    out.busy = True
                else:
                    after = await refresh(conn, step.ctx)
                    assert after is not None, f"sequence {step.ctx.id} vanished"
                    out.outcomes[step.ctx.id] = await report(runtime, conn, after, step.plan, outcome)
    if lane is None or not lane.started:
        return out
    await lanes.call(runtime, lane)
    stopped = {a.id for a in lane.not_called} if lane.stopped_by is not None else set()
    answering = set(lane.errors) | stopped
    released = {a.id for a in lane.not_called} - stopped  # past the lease: released, still due
    async with runtime.db.service(actor="dms") as conn:
        # The sequences locked first, as in a step's second transaction, then the answers recorded.
        reported = [a.id for a in lane.started if a.id not in answering]
        afters = await refresh_many(conn, [steps[i].ctx for i in reported])
        await lanes.record(conn, [lane])
        # Pipelined: each step's writes go out without waiting for the one before (an error still
        # rolls back the whole transaction).
        async with conn.pipeline():
            for action_id in reported:
                step = steps[action_id]
                after = afters.get(step.ctx.id)
                assert after is not None, f"sequence {step.ctx.id} vanished"
                if action_id in released:
                    out.outcomes[step.ctx.id] = "deferred"
                    continue
                out.outcomes[step.ctx.id] = await report(
                    runtime, conn, after, step.plan, lane.outcomes[action_id]
                )
    if answering:
        await lanes.answer_errors(runtime, lane)
        async with runtime.db.service(actor="dms") as conn:
            answered = [a.id for a in lane.started if a.id in answering]
            afters = await refresh_many(conn, [steps[i].ctx for i in answered])
            for action_id in answered:
                step = steps[action_id]
                after = afters.get(step.ctx.id)
                assert after is not None, f"sequence {step.ctx.id} vanished"
                out.outcomes[step.ctx.id] = await report(
                    runtime, conn, after, step.plan, lane.outcomes[action_id]
                )
    return out


def _item(action_id: UUID, step: _Step) -> dict[str, object]:
    """The lane's new action for a step (`lanes.start`)."""
    values = intent(step.ctx, step.plan)
    return {
        "id": action_id,
        "client_id": values["client_id"],
        "linkedin_account_id": values["account_id"],
        "kind": values["kind"],
        "action_key": values["key"],
        "target": values["target"],
        "payload": values["payload"],
    }
