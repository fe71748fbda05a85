"""The ledger's protocol for many actions of one account at once (a *lane*), for callers that make many
small actions (the pod executor): the same states and guarantees as `revos.actions.ledger.perform`, in
two transactions for a whole round of lanes (many accounts) instead of four or five per action.

1. `start` (caller's transaction), for many lanes at once: the accounts are locked and each one's budget
   reserved once for its lane (`safety.reserve_accounts`: pause, status, working hours, gap, caps; one
   statement for the locks and one for the day's units of every account). New actions the budgets allow
   are recorded already started (`in_flight`, attempt 1: intent and start in one row write, one insert
   for all); an action recorded earlier and still in `intent` (`unstarted`) goes intent → in_flight (one
   update for all). A new action whose key is taken meanwhile is not the lane's (`lane.taken`: its caller
   runs `ledger.perform` for the action that holds the key); a new action the budget defers is not
   recorded at all (`lane.unrecorded`). Commit before calling: an action is in the ledger, in flight,
   before its request can leave.
2. `call` (no transaction): the provider calls, one after another. A 429, a restriction or a
   disconnection stops the lane: what is left is not sent. So does a call that could no longer be answered
   before its in-flight lease ends (`action_inflight_timeout_seconds` minus the HTTP timeout), so that a
   reconciler can never take an attempt for lost while its call is still to come; and an action is not
   called once the caller's moment for it has passed (`until`: a pod activity's window).
3. `record` (caller's transaction), for many lanes at once: confirmed actions → done in one update
   (`note_success` only when the account has 429 strikes to forget), accepted-without-id → ambiguous,
   actions not called → back to intent (one update) with their budget units refunded.
4. `answer_errors` (own transactions): each provider error goes through the ledger's per-action path
   (`ledger._record_error`: pause on 429, back to intent or failed, ambiguous → reconciled before any
   resend), and the actions not called are deferred until the account may act again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from revos.accounts import safety
from revos.accounts.provider import linkedin_client
from revos.actions import ledger, repo
from revos.actions.models import Action, ActionOutcome, ProviderIds
from revos.actions.reconcile import CALLS
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.linkedin.errors import UnipileError
from revos.runtime import Runtime

log = logging.getLogger("revos.actions")


async def unstarted(conn: Conn, action_ids: list[UUID]) -> dict[UUID, Action]:
    """Those of `action_ids` still in `intent` (recorded, never started, or released after a
    reconciliation found they had not happened): a lane may start them like new ones."""
    if not action_ids:
        return {}
    actions = [Action.from_row(row) for row in await repo.get_many(conn, action_ids)]
    return {a.id: a for a in actions if a.status == "intent"}


@dataclass
class Lane:
    """One account's actions through the protocol: what was started, and what became of each."""

    account_id: UUID
    started: list[Action] = field(default_factory=list)  # in_flight, in the order they are to be called
    outcomes: dict[UUID, ActionOutcome] = field(default_factory=dict)
    ids: dict[UUID, ProviderIds] = field(default_factory=dict)  # what the provider answered, per call
    errors: dict[UUID, UnipileError] = field(default_factory=dict)
    not_called: list[Action] = field(default_factory=list)  # released, their budget units refunded
    unrecorded: set[UUID] = field(default_factory=set)  # new actions not recorded: deferred, or key taken
    taken: set[UUID] = field(default_factory=set)  # of those, the ones whose key another action holds
    late: list[Action] = field(default_factory=list)  # of those, the ones past their `until`
    crash: Exception | None = None  # a call that is a bug: that action is left ambiguous
    crashed: Action | None = None
    stopped_by: UnipileError | None = None  # an account error: the rest of the lane was not sent
    rate_limit_strikes: int = 0
    reconcile_delay: float = 0.0  # before an action accepted without an id is reconciled
    busy: bool = False  # `start(skip_locked=True)`: another transaction held the account, nothing started


async def start(
    conn: Conn,
    runtime: Runtime,
    work: Mapping[UUID, Sequence[Action | Mapping[str, Any]]],
    *,
    skip_locked: bool = False,
) -> dict[UUID, Lane]:
    """For each account of `work`, reserve its budget for its actions and start those it allows, every
    account at once (`safety.reserve_accounts`). An action is either recorded already and still in
    `intent` (an `Action`: started in one update for all), or new (a mapping: client_id, linkedin_account_id,
    kind, action_key, target, payload and its `id`: recorded already started, intent and start in one row write for all; one whose key is
    taken meanwhile is the other action's, `lane.taken`). The others are deferred (`lane.outcomes`) with
    the budget's reason and moment; a new action deferred is not recorded (`lane.unrecorded`). With
    `skip_locked`, an account another transaction holds is not waited for: its lane is `busy`, nothing in
    it started or recorded."""
    if not work:
        return {}
    now = utcnow()
    settings = runtime.settings
    for items in work.values():
        for item in items:
            if not isinstance(item, Action) and item["kind"] not in safety.KINDS:
                raise ValueError(f"unknown action kind {item['kind']!r}")
    budgets = await safety.reserve_accounts(
        conn, {account_id: [_kind(i) for i in items] for account_id, items in work.items()},
        now=now, settings=settings, skip_locked=skip_locked,
    )  # fmt: skip
    lanes: dict[UUID, Lane] = {}
    reserved: list[tuple[UUID, date | None]] = []
    fresh: list[tuple[Mapping[str, Any], date | None]] = []
    for account_id, items in work.items():
        lane = lanes[account_id] = Lane(account_id, reconcile_delay=settings.action_reconcile_delay_seconds)
        budget = budgets.get(account_id)
        each = budget.each if budget is not None else [None] * len(items)
        lane.rate_limit_strikes = budget.rate_limit_strikes if budget is not None else 0
        lane.busy = budget is not None and budget.busy
        for item, r in zip(items, each, strict=True):
            action = item if isinstance(item, Action) else _unrecorded(item, now)
            if r is not None and r.allowed:
                if isinstance(item, Action):
                    reserved.append((action.id, r.day))
                else:
                    fresh.append((item, r.day))
                continue
            if not isinstance(item, Action):
                lane.unrecorded.add(action.id)
            why = r.reason if r is not None else "the LinkedIn account no longer exists"
            lane.outcomes[action.id] = ActionOutcome(
                "deferred", action, why, not_before=r.not_before if r is not None else None
            )
    started = {row["id"]: Action.from_row(row) for row in await repo.start_many(conn, reserved, now=now)}
    started |= {
        row["id"]: Action.from_row(row) for row in await repo.insert_started_many(conn, fresh, now=now)
    }
    days = dict(reserved) | {item["id"]: day for item, day in fresh}
    busy: Counter[tuple[UUID, str, date]] = Counter()
    for account_id, items in work.items():
        lane = lanes[account_id]
        for item in items:
            action_id = item.id if isinstance(item, Action) else item["id"]
            if action_id in started:
                lane.started.append(started[action_id])
            elif action_id in days:
                # Started (or its key recorded) by another worker since it was read: its unit goes back,
                # that worker answers for it.
                day = days[action_id]
                if day is not None:
                    busy[(account_id, _kind(item), day)] += 1
                action = item if isinstance(item, Action) else _unrecorded(item, now)
                if not isinstance(item, Action):
                    lane.unrecorded.add(action_id)
                    lane.taken.add(action_id)
                lane.outcomes[action_id] = ActionOutcome(
                    "deferred", action, "another worker started this action", not_before=now
                )
    for (account_id, kind, day), n in busy.items():
        await safety.refund(conn, account_id=account_id, kind=kind, day=day, n=n)
    return lanes


def _kind(item: Action | Mapping[str, Any]) -> str:
    return item.kind if isinstance(item, Action) else str(item["kind"])


def _unrecorded(intent: Mapping[str, Any], now: datetime) -> Action:
    """A new action not (yet) in the ledger, as the Action it would be in `intent`."""
    return Action(
        id=intent["id"], client_id=intent["client_id"], account_id=intent["linkedin_account_id"],
        kind=intent["kind"], key=intent["action_key"], status="intent", target=intent["target"],
        payload=dict(intent["payload"]), provider_id=None, provider_chat_id=None, attempts=0,
        last_error=None, created_at=now, updated_at=now, started_at=None, done_at=None, reserved_day=None,
        unipile_account_id=None,
    )  # fmt: skip


async def call(runtime: Runtime, lane: Lane, until: Mapping[UUID, datetime] | None = None) -> None:
    """The started actions' calls, one after another, outside any transaction (see module doc). An action
    whose moment in `until` has passed when its turn comes is not called (`lane.late`)."""
    client = linkedin_client(runtime)
    settings = runtime.settings
    margin = timedelta(seconds=settings.action_inflight_timeout_seconds - settings.unipile_timeout_seconds)
    for i, action in enumerate(lane.started):
        assert action.started_at is not None
        if i > 0 and utcnow() >= action.started_at + margin:  # the first one is always called, as one by one
            lane.not_called += lane.started[i:]
            return
        if until is not None and action.id in until and utcnow() >= until[action.id]:
            lane.late.append(action)
            lane.not_called.append(action)
            continue
        try:
            lane.ids[action.id] = await CALLS[action.kind][0](client, action)
        except UnipileError as exc:
            lane.errors[action.id] = exc
            if safety.is_account_error(exc):
                lane.stopped_by = exc
                lane.not_called += lane.started[i + 1 :]
                return
        except Exception as exc:  # a bug: the request may have left; reconciled before any resend
            log.exception("action %s (%s): the call failed", action.key, action.kind)
            lane.crash, lane.crashed = exc, action
            lane.not_called += lane.started[i + 1 :]
            return


async def record(conn: Conn, lanes: list[Lane]) -> None:
    """Record the calls' answers of every lane in the caller's transaction (see module doc); each
    `lane.outcomes` then holds every action's outcome but those of `lane.errors` (`answer_errors`)."""
    now = utcnow()
    confirmed = [
        (lane, a, lane.ids[a.id])
        for lane in lanes
        for a in lane.started
        if lane.ids.get(a.id, ProviderIds(None)).provider_id
    ]
    await repo.confirm_many(
        conn, [(a.id, str(ids.provider_id), ids.chat_id) for _, a, ids in confirmed], now=now
    )
    for lane in {id(lane): lane for lane, _, _ in confirmed if lane.rate_limit_strikes > 0}.values():
        await safety.note_success(conn, lane.account_id)
    for lane, action, ids in confirmed:
        done = replace(
            action,
            status="done",
            provider_id=ids.provider_id,
            provider_chat_id=ids.chat_id or action.provider_chat_id,
            done_at=now,
        )
        lane.outcomes[action.id] = ActionOutcome("done", done, "performed")
    for lane in lanes:
        later = now + timedelta(seconds=lane.reconcile_delay)
        for action in lane.started:
            unknown = action.id in lane.ids and not lane.ids[action.id].provider_id
            if not unknown and action is not lane.crashed:
                continue
            why = "the provider accepted the action without returning its id"
            if action is lane.crashed:
                why = f"{type(lane.crash).__name__}: {lane.crash}"
            await repo.mark_ambiguous(conn, action.id, why, attempt=action.attempts)
            lane.outcomes[action.id] = ActionOutcome(
                "ambiguous", replace(action, status="ambiguous"), "outcome unknown: reconciling",
                not_before=later,
            )  # fmt: skip
    account = {a.id: lane.account_id for lane in lanes for a in lane.not_called}
    released = await repo.release_many(
        conn,
        [(a.id, a.attempts) for lane in lanes for a in lane.not_called],
        "not sent: the lane stopped before it",
    )
    units = Counter(
        (account[r["id"]], r["kind"], r["reserved_day"]) for r in released if r["reserved_day"] is not None
    )
    for (account_id, kind, day), n in units.items():
        await safety.refund(conn, account_id=account_id, kind=kind, day=day, n=n)
    for lane in lanes:
        for action in lane.not_called:
            lane.outcomes[action.id] = ActionOutcome(
                "deferred",
                replace(action, status="intent", reserved_day=None),
                "not sent yet",
                not_before=now,
            )


async def answer_errors(runtime: Runtime, lane: Lane) -> None:
    """Each provider error through the ledger's per-action path; the actions not called wait as long."""
    client = linkedin_client(runtime)
    for action in lane.started:
        exc = lane.errors.get(action.id)
        if exc is not None:
            lane.outcomes[action.id] = await ledger._record_error(
                runtime, client, action, exc, CALLS[action.kind][1]
            )
    if lane.stopped_by is not None:
        stop = lane.outcomes.get(next(i for i, e in lane.errors.items() if e is lane.stopped_by))
        for action in lane.not_called:
            if action in lane.late:
                continue
            before = lane.outcomes[action.id]
            lane.outcomes[action.id] = replace(
                before,
                reason=stop.reason if stop else before.reason,
                not_before=stop.not_before if stop else before.not_before,
                error=lane.stopped_by,
            )
