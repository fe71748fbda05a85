"""The pod executor: due activities performed through the action ledger, exactly once, never late.

One tick (`run_due`, the worker's periodic `pods.execute`):

1. activities whose window closed before anything started are skipped (missed);
2. comments someone will read first (awaiting approval, or suggested in manual pods) are drafted;
3. due activities of auto-engaging pods are claimed in one transaction: selected with what performing
   them needs (`for update skip locked` on the partial index of pending `scheduled_for`), their ledger
   intents recorded in one insert (`revos.actions.lanes.begin_many`), and each leased and linked to its
   action in one update; the claimed comments still without a text are then drafted (a few at once, under
   the lease: by this worker only) and their intents recorded and linked in one more transaction;
4. each account's activities are performed in a *lane*, all the tick's lanes as one *round*: one
   transaction reserves every account's budget for its activities and starts what each allows; the calls
   follow outside any transaction, one after another within a lane, up to `pods_execute_lanes` lanes at
   once (an account never acts twice at once); and one transaction records the confirmations and settles
   the completed activities and their members' counters (`revos.actions.lanes` says how the ledger's
   guarantees hold for a lane). A round costs the same few statements whether its activities fall on
   one account or on two hundred.

Every activity goes through the ledger under `pod:<account>:<post social_id>:<kind>` (`ledger_key`; kind
`reaction`, `comment` or `repost`, target the post's `social_id`): one account likes, comments on or
reposts one post once, whichever pods it shares with the author.

Only plain new intents take the lane: an activity whose action was already recorded (by an earlier run:
in flight, ambiguous, done; or by another pod's activity on the same post), a comment still without a
text, an activity of a paused member or pod, or past its window, goes through `revos.pods.activity.perform`
(`ledger.perform` per action, with reconciliation before anything is sent again), after its account's lane.
A provider error in a lane goes through the ledger's per-action path: a 429, a restriction or a
disconnection pauses the account and stops its lane (the rest is not sent, its budget units refunded);
a timeout leaves the action ambiguous, reconciled (the post read back) before any resend.

What becomes of an activity (`revos.pods.activity.conclude`): `completed` only with the provider's
confirmation (a reaction: Unipile's `ReactionAdded`); deferred by the budget, working hours, a gap or a
pause: moved to when the account may act, if that is still inside the window, else skipped (missed).
Past its window, an activity whose action may have happened, or is in flight in another worker, is
settled (`ledger.settle`: found → completed, not found → skipped) and never resent.

A tick costs, per activity performed, about one write to the activity for the claim and one to settle it,
three to its ledger row (intent, start, confirm), and per account in the round one lock of the account,
one budget upsert per kind and one counter update per member, all in a handful of statements per round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos.actions import lanes
from revos.actions.models import Action
from revos.actions.reconcile import CALLS
from revos.clock import utcnow
from revos.pods import activity, comments, execution_repo, scoring
from revos.pods.activity import ledger_key as ledger_key
from revos.pods.activity import perform as perform
from revos.pods.planning import LEDGER_KIND
from revos.runtime import Runtime

log = logging.getLogger("revos.pods")
CALL = {kind: call for kind, (call, _) in CALLS.items()}
RECONCILE = {kind: reconcile for kind, (_, reconcile) in CALLS.items()}


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
    fresh: list[tuple[dict[str, Any], Action]] = field(default_factory=list)  # the lane: new intents
    others: list[UUID] = field(default_factory=list)  # one by one, after the lane


async def run_due(runtime: Runtime, *, limit: int | None = None, now: datetime | None = None) -> Tick:
    """One executor tick (see module doc). Returns what it did."""
    now = now or utcnow()
    limit = limit or runtime.settings.pods_execute_batch
    tick = Tick()
    async with runtime.db.service(actor="pods") as conn:
        lapsed = await execution_repo.lapse(conn, now, limit * 4)
        for row in lapsed:
            await scoring.rescore(conn, row["member_id"], row["pod_id"], now)
        drafts = await execution_repo.drafts_wanted(conn, now, limit)
    tick.lapsed = len(lapsed)
    for activity_id in drafts:
        if await comments.draft(runtime, activity_id):
            tick.drafted += 1
    lease = timedelta(seconds=runtime.settings.pods_lease_seconds)
    async with runtime.db.service(actor="pods") as conn:
        claimed = await execution_repo.claim(conn, now, limit)
        accounts, untexted = await _intents(conn, claimed, now)
        links = {a["id"]: action.id for acc in accounts.values() for a, action in acc.fresh
                 if a["linkedin_action_id"] is None}  # fmt: skip
        await execution_repo.lease(conn, [r["id"] for r in claimed], now + lease, links)
    if untexted:
        tick.drafted += await _draft_claimed(runtime, untexted, accounts)
    tick.claimed = len(claimed)
    lanes_at_once = asyncio.Semaphore(runtime.settings.pods_execute_lanes)
    fresh = {account_id: work.fresh for account_id, work in accounts.items() if work.fresh}
    if fresh:
        try:
            for outcome in await _round(runtime, fresh, lanes_at_once):
                tick.count(outcome)
        except Exception:
            log.exception("a pod round of %d accounts failed; its activities are retried", len(fresh))
            for work in fresh.values():
                for _ in work:
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


async def _intents(
    conn: Any, claimed: list[dict[str, Any]], now: datetime
) -> tuple[dict[UUID, _Account], list[dict[str, Any]]]:
    """Record the ledger intents of the claimed activities that are plain new work, in one insert; group
    every claimed activity by account: in its lane (an intent created now, or its own intent from an
    earlier tick that was never started, shared with no other pending activity), or `perform`; and
    the comments that would take the lane once drafted."""
    accounts: dict[UUID, _Account] = {}
    untexted: list[dict[str, Any]] = []
    intents: dict[str, dict[str, Any]] = {}
    owner: dict[str, dict[str, Any]] = {}  # ledger key -> the activity whose intent it is
    linked: dict[UUID, dict[str, Any]] = {}  # action id -> its activity, for those linked already
    for a in claimed:
        accounts.setdefault(a["account_id"], _Account())
        plain = a["account_id"] is not None and now < a["window_ends_at"] and activity.not_now(a) is None
        if (
            plain
            and a["linkedin_action_id"] is None
            and a["engagement_type"] == "comment"
            and not a["comment_text"]
        ):
            untexted.append(a)
            continue
        if plain and a["linkedin_action_id"] is not None:
            linked[a["linkedin_action_id"]] = a
            continue
        if not plain:
            continue
        key, intent = _intent(a)
        if key not in owner:
            owner[key], intents[key] = a, intent
    fresh = await _begin(conn, intents, owner)
    if linked:
        again = await lanes.unstarted(conn, list(linked))
        shared = await execution_repo.shared_actions(conn, list(again))
        for action_id, action in again.items():
            a = linked[action_id]
            if action_id not in shared and action.account_id == a["account_id"]:
                fresh[a["id"]] = action
    for a in claimed:
        work = accounts[a["account_id"]]
        if a["id"] in fresh:
            work.fresh.append((a, fresh[a["id"]]))
        elif a not in untexted:
            work.others.append(a["id"])
    return accounts, untexted


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


async def _begin(
    conn: Any, intents: dict[str, dict[str, Any]], owner: dict[str, dict[str, Any]]
) -> dict[UUID, Action]:
    """The intents recorded in one insert: activity id → the action created for it."""
    created = await lanes.begin_many(conn, list(intents.values()))
    return {owner[key]["id"]: action for key, action in created.items()}


async def _draft_claimed(
    runtime: Runtime, untexted: list[dict[str, Any]], accounts: dict[UUID, _Account]
) -> int:
    """Draft the claimed comments still without a text, all at once (`comments.draft_many`); the intents
    of those drafted are recorded (one insert) and linked in the transaction that stores their texts: they
    take their account's lane; the others go through `perform` (which drafts again, or settles them)."""
    of = {a["id"]: a for a in untexted}
    fresh: dict[UUID, Action] = {}

    async def intend(conn: Any, texts: dict[UUID, str]) -> dict[UUID, UUID]:
        owner: dict[str, UUID] = {}
        intents: list[Mapping[str, Any]] = []
        for activity_id, text in texts.items():
            key, intent = _intent({**of[activity_id], "comment_text": text})
            if key not in owner:  # one account comments on one post once: the first activity's
                owner[key] = activity_id
                intents.append(intent)
        created = await lanes.begin_many(conn, intents) if intents else {}
        fresh.update({owner[key]: action for key, action in created.items()})
        return {activity_id: action.id for activity_id, action in fresh.items()}

    texts = await comments.draft_many(runtime, list(of), intend=intend)
    for a in untexted:
        work = accounts[a["account_id"]]
        if a["id"] in fresh and a["id"] in texts:
            work.fresh.append(({**a, "comment_text": texts[a["id"]]}, fresh[a["id"]]))
        else:
            work.others.append(a["id"])
    return len(texts)


async def _round(
    runtime: Runtime,
    work: dict[UUID, list[tuple[dict[str, Any], Action]]],
    lanes_at_once: asyncio.Semaphore,
) -> list[str]:
    """The accounts' new intents through `revos.actions.lanes`, one lane per account, every lane started in
    one transaction and recorded in one more (see module doc). Returns what became of each activity."""
    results: list[str] = []
    work = {account_id: sorted(w, key=lambda w: w[0]["scheduled_for"]) for account_id, w in work.items()}
    everything = [(a, action) for w in work.values() for a, action in w]
    async with runtime.db.service(actor="pods") as conn:
        due = await execution_repo.still_due(conn, [a["id"] for a, _ in everything])
        live = {account_id: [action for a, action in w if due.get(a["id"])] for account_id, w in work.items()}
        lanes_of = await lanes.start(conn, runtime, {i: actions for i, actions in live.items() if actions})
    for a, action in everything:
        if a["id"] not in due:  # settled since it was claimed: nothing is sent
            await activity.settle_action(runtime, a, action.id, "the activity was settled meanwhile")
            results.append("settled")
        elif not due[a["id"]]:  # its member or pod paused since: skipped as `perform` says why
            results.append(await perform(runtime, a["id"]))
    if not lanes_of:
        return results
    of_action = {action.id: a for a, action in everything if due.get(a["id"])}
    until = {i: a["window_ends_at"] for i, a in of_action.items()}

    async def call(lane: lanes.Lane) -> None:
        async with lanes_at_once:
            await lanes.call(runtime, lane, CALL, until)

    every = list(lanes_of.values())
    await asyncio.gather(*(call(lane) for lane in every if lane.started))
    late = {x.id for lane in every for x in lane.late}
    pending_answer = {
        i
        for lane in every
        for i in set(lane.errors)
        | ({x.id for x in lane.not_called} - late if lane.stopped_by is not None else set())
    }
    async with runtime.db.service(actor="pods") as conn:
        await lanes.record(conn, every)
        now = utcnow()
        decided = {
            i: o
            for lane in every
            for i, o in lane.outcomes.items()
            if i not in pending_answer and i not in late
        }
        done = [of_action[i]["id"] for i, o in decided.items() if o.status == "done"]
        await scoring.complete_many(conn, done, now)
        waits, rest = _waits(of_action, decided)
        await execution_repo.reschedule_many(conn, waits)
    results += ["completed"] * len(done) + ["waiting"] * len(waits)
    for lane in every:
        answering = [i for i in pending_answer if i in lane.errors or i in {x.id for x in lane.not_called}]
        if not answering:
            continue
        await lanes.answer_errors(runtime, lane, RECONCILE)
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
