"""The pod executor: due activities performed through the action ledger, exactly once, never late.

One tick (`run_due`, the worker's periodic `pods.execute`):

1. activities whose window closed before anything started are skipped (missed);
2. comments someone will read first (awaiting approval, or suggested in manual pods) are drafted, and so
   are the due comments of auto-engaging pods still without a text (a few at once);
3. each account's due activities are performed in a *lane*, all the tick's lanes as one *round*. One
   transaction claims the due activities of auto-engaging pods (`for update skip locked`, walking the
   partial index of pending `scheduled_for`), reserves every account's budget for its activities
   (`revos.actions.lanes.start`; an account another transaction holds, a DM step reserving its own unit,
   is not waited for: its activities stay due, untouched, for the next round), records the actions the
   budgets allow already started (intent and start in one row write), and leaves the activities whose
   actions it started as they are: an action in flight under an activity's ledger key is the activity's
   lease (a claim or a lapse meanwhile finds it by that key, and `perform` links it). An activity the
   budget defers is moved to when its account may act; one that goes one by one (below) is leased. The
   calls follow outside any transaction, one after another within a lane, up to `pods_execute_lanes`
   lanes at once (an account never acts twice at once); one transaction records the confirmations and
   settles the completed activities, linking each to its action, and their members' counters
   (`revos.actions.lanes` says how the ledger's guarantees hold for a lane). A round costs the same few
   statements whether its activities fall on one account or on two hundred.

Every activity goes through the ledger under `pod:<account>:<post social_id>:<kind>` (`ledger_key`; kind
`reaction`, `comment` or `repost`, target the post's `social_id`): one account likes, comments on or
reposts one post once, whichever pods it shares with the author.

Only new actions, and an activity's own intent from an earlier run never started, take the lane: an
activity whose action was already started (in flight, ambiguous, done; or recorded by another pod's
activity on the same post), a comment still without a text, an activity of a paused member or pod, or
past its window, goes through `revos.pods.activity.perform` (`ledger.perform` per action, with
reconciliation before anything is sent again), after the round. A provider error in a lane goes through
the ledger's per-action path: a 429, a restriction or a disconnection pauses the account and stops its
lane (the rest is not sent, its budget units refunded); a timeout leaves the action ambiguous, reconciled
(the post read back) before any resend.

What becomes of an activity (`revos.pods.activity.conclude`): `completed` only with the provider's
confirmation (a reaction: Unipile's `ReactionAdded`); deferred by the budget, working hours, a gap or a
pause: moved to when the account may act, if that is still inside the window, else skipped (missed).
Past its window, an activity whose action may have happened, or is in flight in another worker, is
settled (`ledger.settle`: found → completed, not found → skipped) and never resent.

A tick costs, per activity performed, one write to the activity (settled and linked to its action), two
to its ledger row (recorded started, confirmed), and per account in the round one lock of the account,
one budget upsert per kind and one counter update per member, all in a handful of statements per round.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from revos.actions import lanes
from revos.actions.models import Action
from revos.cartridges.resolution import Voices
from revos.clock import utcnow
from revos.pods import activity, comments, execution_repo, scoring
from revos.pods.activity import ledger_key as ledger_key
from revos.pods.activity import perform as perform
from revos.pods.planning import LEDGER_KIND
from revos.runtime import Runtime

log = logging.getLogger("revos.pods")


@dataclass
class Tick:
    lapsed: int = 0
    drafted: int = 0
    claimed: int = 0
    outcomes: dict[str, int] | None = None

    def count(self, outcome: str) -> None:
        self.outcomes = self.outcomes or {}
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


@dataclass
class _Account:
    fresh: list[tuple[dict[str, Any], Action | dict[str, Any]]] = field(default_factory=list)  # the lane
    others: list[UUID] = field(default_factory=list)  # one by one, after the round


async def run_due(
    runtime: Runtime,
    *,
    limit: int | None = None,
    now: datetime | None = None,
    voices: Voices | None = None,
) -> Tick:
    """One executor tick (see module doc). Returns what it did. `voices`: members' voices kept between
    ticks while no cartridge changes (`comments.draft_many`)."""
    now = now or utcnow()
    limit = limit or runtime.settings.pods_execute_batch
    tick = Tick()
    async with runtime.db.service(actor="pods") as conn:
        lapsed = await execution_repo.lapse(conn, now, limit * 4)
        for row in lapsed:
            await scoring.rescore(conn, row["member_id"], row["pod_id"], now)
        drafts = await execution_repo.drafts_wanted(conn, now, limit)
        undrafted = await execution_repo.undrafted_due(conn, now, limit)
    tick.lapsed = len(lapsed)
    for activity_id in drafts:
        if await comments.draft(runtime, activity_id):
            tick.drafted += 1
    if undrafted:
        tick.drafted += len(await comments.draft_many(runtime, undrafted, voices=voices))
    lease = timedelta(seconds=runtime.settings.pods_lease_seconds)
    async with runtime.db.service(actor="pods") as conn:
        in_flight = timedelta(seconds=runtime.settings.action_inflight_timeout_seconds)
        claimed = await execution_repo.claim(conn, now, limit, now - in_flight)
        accounts = await _classify(conn, claimed, now)
        round_ = await _start(conn, runtime, claimed, accounts, now + lease)
    tick.claimed = len(claimed) - round_.left
    for outcome in round_.settled:
        tick.count(outcome)
    lanes_at_once = asyncio.Semaphore(runtime.settings.pods_execute_lanes)
    if round_.lanes:
        try:
            for outcome in await _round(runtime, round_, lanes_at_once):
                tick.count(outcome)
        except Exception:
            log.exception("a pod round of %d accounts failed; its activities are retried", len(round_.lanes))
            for _ in round_.of_action:
                tick.count("error")

    async def one_by_one(work: _Account) -> None:
        async with lanes_at_once:
            for activity_id in work.others:
                try:
                    tick.count(await perform(runtime, activity_id))
                except Exception:
                    log.exception("pod activity %s failed to run; it is retried after its lease", activity_id)
                    tick.count("error")

    await asyncio.gather(*(one_by_one(work) for work in accounts.values() if work.others))
    return tick


async def _classify(conn: Any, claimed: list[dict[str, Any]], now: datetime) -> dict[UUID, _Account]:
    """Group the claimed activities by account: in its lane (a new action, or its own intent from an
    earlier tick that was never started and is shared with no other pending activity), or `perform`."""
    accounts: dict[UUID, _Account] = {}
    owner: set[str] = set()  # the ledger keys of this round's new actions: one activity each
    linked: dict[UUID, dict[str, Any]] = {}  # action id -> its activity, for those linked already
    for a in claimed:
        work = accounts.setdefault(a["account_id"], _Account())
        plain = a["account_id"] is not None and now < a["window_ends_at"] and activity.not_now(a) is None
        if plain and a["linkedin_action_id"] is not None:
            linked[a["linkedin_action_id"]] = a
            continue
        untexted = a["engagement_type"] == "comment" and not a["comment_text"]
        key, intent = _intent(a)
        if not plain or untexted or key in owner:
            work.others.append(a["id"])
            continue
        owner.add(key)
        work.fresh.append((a, {**intent, "id": uuid4()}))
    if linked:
        again = await lanes.unstarted(conn, list(linked))
        shared = await execution_repo.shared_actions(conn, list(again))
        for action_id, a in linked.items():
            action = again.get(action_id)
            if action is not None and action_id not in shared and action.account_id == a["account_id"]:
                accounts[a["account_id"]].fresh.append((a, action))
            else:
                accounts[a["account_id"]].others.append(a["id"])
    return accounts


def _intent(a: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = LEDGER_KIND[a["engagement_type"]]
    key = ledger_key(a["account_id"], a["social_id"], kind)
    return key, {
        "client_id": a["client_id"],
        "linkedin_account_id": a["account_id"],
        "kind": kind,
        "action_key": key,
        "target": a["social_id"],
        "payload": activity.action_payload(a),
    }


@dataclass
class _Round:
    lanes: dict[UUID, lanes.Lane] = field(default_factory=dict)
    of_action: dict[UUID, dict[str, Any]] = field(default_factory=dict)  # action id -> its activity
    settled: list[str] = field(default_factory=list)  # what became of those settled at the claim
    left: int = 0  # claimed activities of busy accounts, left due for a later round


async def _start(
    conn: Any,
    runtime: Runtime,
    claimed: list[dict[str, Any]],
    accounts: dict[UUID, _Account],
    lease_until: datetime,
) -> _Round:
    """In the claim's transaction: the lanes started (`lanes.start`), and one write per claimed activity —
    leased (linked to its action when it has one now), or, deferred by its account's budget before its
    action was recorded, moved to when the account may act (skipped when that is past its window)."""
    round_ = _Round()
    work = {  # each lane in the order its activities fell due (an earlier intent first, as any other)
        account_id: [item for _, item in sorted(w.fresh, key=lambda f: f[0]["scheduled_for"])]
        for account_id, w in accounts.items()
        if w.fresh
    }
    # An account a DM step holds is not waited for (nor are the other accounts kept waiting meanwhile):
    # its activities are left as they are, due, for the next round.
    started = await lanes.start(conn, runtime, work, skip_locked=True)
    left = {
        a["id"] for account_id, lane in started.items() if lane.busy for a, _ in accounts[account_id].fresh
    }
    round_.left = len(left)
    round_.lanes = {account_id: lane for account_id, lane in started.items() if not lane.busy}
    round_.of_action = {
        (item.id if isinstance(item, Action) else item["id"]): a
        for w in accounts.values()
        for a, item in w.fresh
        if a["id"] not in left
    }
    waits: list[tuple[UUID, datetime, str | None]] = []
    skips: list[tuple[dict[str, Any], str]] = []
    for lane in round_.lanes.values():
        for action_id in lane.unrecorded:
            a = round_.of_action[action_id]
            if action_id in lane.taken:  # another pod's activity on the same post recorded it first
                accounts[a["account_id"]].others.append(a["id"])
                continue
            outcome = lane.outcomes[action_id]
            at = activity.waiting_until(a, outcome)
            if at is not None:
                waits.append((a["id"], at, outcome.reason))
            else:
                skips.append((a, f"{activity.WINDOW_CLOSED}: {outcome.reason}"))
    moved = {w[0] for w in waits} | {a["id"] for a, _ in skips} | left
    # An activity whose action the round starts is not written now: its action, in flight under the
    # activity's ledger key, is its lease (a claim or a lapse meanwhile finds it by that key), and the
    # round links it to the action when it settles it (`_round`).
    in_lanes = {round_.of_action[x.id]["id"] for lane in round_.lanes.values() for x in lane.started}
    await execution_repo.lease(
        conn, [a["id"] for a in claimed if a["id"] not in moved and a["id"] not in in_lanes], lease_until
    )
    await execution_repo.reschedule_many(conn, waits)
    now = utcnow()
    for a, why in skips:  # never sent late: the account cannot act before the window closes
        await scoring.settle(conn, a["id"], status="skipped", error=why, missed=True, now=now)
    round_.settled = ["waiting"] * len(waits) + ["skipped"] * len(skips)
    return round_


async def _round(runtime: Runtime, round_: _Round, lanes_at_once: asyncio.Semaphore) -> list[str]:
    """The started lanes' calls, then their record (see module doc). Returns what became of each activity
    of the lanes (but those settled at the claim)."""
    of_action = round_.of_action
    until = {i: a["window_ends_at"] for i, a in of_action.items()}

    async def call(lane: lanes.Lane) -> None:
        async with lanes_at_once:
            await lanes.call(runtime, lane, until)

    every = list(round_.lanes.values())
    await asyncio.gather(*(call(lane) for lane in every if lane.started))
    late = {x.id for lane in every for x in lane.late}
    pending_answer = {
        i
        for lane in every
        for i in set(lane.errors)
        | ({x.id for x in lane.not_called} - late if lane.stopped_by is not None else set())
    }
    links = {of_action[x.id]["id"]: x.id for lane in every for x in lane.started}  # activity -> action
    async with runtime.db.service(actor="pods") as conn:
        await lanes.record(conn, every)
        now = utcnow()
        decided = {
            i: o
            for lane in every
            for i, o in lane.outcomes.items()
            if i not in pending_answer and i not in late and i not in lane.unrecorded
        }
        done = [of_action[i]["id"] for i, o in decided.items() if o.status == "done"]
        await scoring.complete_many(conn, done, now, links)
        waits, rest = _waits(of_action, decided)
        await execution_repo.reschedule_many(conn, waits, links)
        # Those settled below (an error answered, past their window, deferred past it) are linked first.
        written = set(done) | {w[0] for w in waits}
        await execution_repo.link_many(conn, {i: x for i, x in links.items() if i not in written})
    results = ["completed"] * len(done) + ["waiting"] * len(waits)
    for lane in every:
        answering = pending_answer & (set(lane.errors) | {x.id for x in lane.not_called})
        if not answering:
            continue
        await lanes.answer_errors(runtime, lane)
        answered = {i: lane.outcomes[i] for i in answering}
        more_waits, more = _waits(of_action, answered)
        if more_waits:
            async with runtime.db.service(actor="pods") as conn:
                await execution_repo.reschedule_many(conn, more_waits)
        results += ["waiting"] * len(more_waits)
        rest += more
    for action_id, outcome in rest:
        results.append(await activity.conclude(runtime, of_action[action_id], action_id, outcome))
    for action_id in late:  # its window closed while the lane got to it: revOS's lateness, not the member's
        results.append(await activity.too_late(runtime, of_action[action_id], action_id))
    return results


def _waits(
    of_action: dict[UUID, dict[str, Any]], outcomes: dict[UUID, Any]
) -> tuple[list[tuple[UUID, datetime, str | None]], list[tuple[UUID, Any]]]:
    """The activities to move to a later moment inside their window (or, ambiguous, until reconciled),
    and the outcomes left to `activity.conclude` (failed, deferred past the window)."""
    waits: list[tuple[UUID, datetime, str | None]] = []
    rest: list[tuple[UUID, Any]] = []
    for action_id, outcome in outcomes.items():
        if outcome.status == "done":
            continue
        a = of_action[action_id]
        at = activity.waiting_until(a, outcome) if outcome.status in ("deferred", "ambiguous") else None
        if at is not None:
            waits.append((a["id"], at, outcome.reason))
        else:
            rest.append((action_id, outcome))
    return waits, rest
