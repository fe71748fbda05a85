"""The pod executor: due activities performed through the action ledger, exactly once, never late.

One tick (`run_due`, the worker's periodic `pods.execute`):

1. activities whose window closed before anything started are skipped (missed);
2. comments someone will read first (awaiting approval, or suggested in manual pods) are drafted;
3. due activities of auto-engaging pods are claimed in a batch (`for update skip locked` on the partial
   index of pending `scheduled_for`, with a lease) and performed (`perform`): one account's activities
   one after another, up to `pods_execute_lanes` accounts at once.

`perform` records the action in the ledger under `pod:<account>:<post social_id>:<kind>` (`ledger_key`;
kind `reaction`, `comment` or `repost`, target the post's `social_id`): one account likes, comments on or
reposts one post once, whichever pods it shares with the author. The second pod's activity finds the
first one's ledger row: completed from its confirmation, never a second call (and an action shared with
another pending activity is never settled as unsent by the one giving up on it). It then runs `ledger.perform` with the standard call and reconciler
(revos.actions.reconcile.CALLS): the account's shared safety budget is reserved there, the provider is
called outside any transaction, and an ambiguous failure is reconciled (the post read back for the
member's reaction, its comments, or the member's own posts for a repost of it) before anything is sent
again. The activity is `completed` only with the provider's confirmation. Deferred by the budget, working
hours, a gap or a pause: moved to when the account may act, if that is still inside the window; else
skipped (missed). Past its window, an activity whose action may have happened, or is in flight in another
worker, is settled (`ledger.settle`: found → completed, not found → skipped) and never resent.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos.actions import ledger
from revos.actions.models import ActionOutcome
from revos.actions.reconcile import CALLS
from revos.clock import utcnow
from revos.pods import comments, execution_repo, scoring
from revos.pods.planning import LEDGER_KIND
from revos.runtime import Runtime

log = logging.getLogger("revos.pods")
WINDOW_CLOSED = "the window closed before it could be performed"


@dataclass
class Tick:
    lapsed: int = 0
    drafted: int = 0
    claimed: int = 0
    outcomes: dict[str, int] | None = None

    def count(self, outcome: str) -> None:
        self.outcomes = self.outcomes or {}
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


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
        claimed = await execution_repo.claim(conn, now, limit, lease)
    tick.claimed = len(claimed)
    by_account: dict[UUID, list[UUID]] = {}
    for row in claimed:
        by_account.setdefault(row["account_id"], []).append(row["id"])
    lanes = asyncio.Semaphore(runtime.settings.pods_execute_lanes)

    async def lane(activity_ids: list[UUID]) -> None:
        # One account's activities one after another: an account never acts twice at once.
        for activity_id in activity_ids:
            async with lanes:
                try:
                    tick.count(await perform(runtime, activity_id))
                except Exception:
                    log.exception("pod activity %s failed to run; it is retried after its lease", activity_id)
                    tick.count("error")

    await asyncio.gather(*(lane(ids) for ids in by_account.values()))
    return tick


async def perform(runtime: Runtime, activity_id: UUID) -> str:
    """Perform one activity (see module doc). Returns what became of it: completed, failed, skipped,
    waiting (rescheduled inside its window) or settled (nothing to do)."""
    now = utcnow()
    async with runtime.db.service(actor="pods") as conn:
        a = await execution_repo.execution_context(conn, activity_id)
    if a is None or a["status"] != "pending":
        return "settled"
    if now >= a["window_ends_at"]:
        return await _after_window(runtime, a)
    if a["linkedin_action_id"] is None:
        why = _not_now(a)
        if why is not None:
            return await _settle(runtime, a, "skipped", why, missed=False)
    if a["engagement_type"] == "comment" and not a["comment_text"]:
        if not await comments.draft(runtime, activity_id):
            async with runtime.db.service(actor="pods") as conn:
                a = await execution_repo.execution_context(conn, activity_id)
            if a is None or a["status"] != "pending":
                return "skipped"
            return await _wait(runtime, a, now + timedelta(seconds=60), "no comment drafted yet")
        async with runtime.db.service(actor="pods") as conn:
            a = await execution_repo.execution_context(conn, activity_id)
        assert a is not None

    kind = LEDGER_KIND[a["engagement_type"]]
    payload: dict[str, Any] = {
        "comment": {"text": a["comment_text"]},
        "repost": {"text": ""},  # a plain repost, no commentary
    }.get(kind, {"reaction_type": "like"})
    async with runtime.db.service(actor="pods") as conn:
        if a["linkedin_action_id"] is not None:  # its own action, from an earlier run
            action = await ledger.get(conn, a["linkedin_action_id"])
        else:
            action = await ledger.begin(
                conn,
                client_id=a["client_id"],
                account_id=a["account_id"],
                kind=kind,
                key=ledger_key(a["account_id"], a["social_id"], kind),
                target=a["social_id"],
                payload=payload,
            )
        pending = await execution_repo.set_action(conn, a["id"], action.id)
    call, reconcile = CALLS[kind]
    if not pending:  # settled meanwhile (its window lapsed, a person rejected it): nothing is sent
        await _settle_action(runtime, a, action.id, "the activity was settled meanwhile")
        return "settled"
    outcome = await ledger.perform(runtime, action.id, call, reconcile)
    if outcome.status == "done":
        return await _settle(runtime, a, "completed", None, missed=False)
    if outcome.status == "failed":
        return await _settle(runtime, a, "failed", f"LinkedIn refused it: {outcome.reason}", missed=False)
    at = outcome.not_before
    if outcome.status == "ambiguous":
        # It may have happened: keep it until it is reconciled, even past its window.
        return await _wait(runtime, a, at or now + timedelta(minutes=1), outcome.reason)
    if at is not None and at < a["window_ends_at"]:
        return await _wait(runtime, a, at + timedelta(seconds=random.uniform(1, 30)), outcome.reason)
    # Deferred past the window (budget spent, hours, a pause): the intent is dropped, never sent late.
    settled = await _settle_action(runtime, a, action.id, WINDOW_CLOSED)
    if settled.status == "done":
        return await _settle(runtime, a, "completed", None, missed=False)
    if settled.status == "failed":
        return await _settle(runtime, a, "skipped", f"{WINDOW_CLOSED}: {outcome.reason}", missed=True)
    # Another worker's attempt is in flight (or LinkedIn could not be read): it may still happen, so the
    # activity stays open until that attempt is settled, never recorded as skipped while it is under way.
    return await _wait(runtime, a, settled.not_before or now + timedelta(minutes=1), settled.reason)


def ledger_key(account_id: UUID, social_id: str, kind: str) -> str:
    """One ledger action per account, post and kind: nobody likes or comments on a post twice."""
    return f"pod:{account_id}:{social_id}:{kind}"


async def _settle_action(runtime: Runtime, a: dict[str, Any], action_id: UUID, reason: str) -> ActionOutcome:
    """`ledger.settle` (never resent), unless another pending activity shares the action: it is left to
    that one, and this activity is told what the action is now (done, or not for it: failed)."""
    async with runtime.db.service(actor="pods") as conn:
        shared = await execution_repo.shares_action(conn, action_id, a["id"])
        action = await ledger.get(conn, action_id)
    if shared:
        if action.done:
            return ActionOutcome("done", action, "already performed")
        return ActionOutcome("failed", action, "left to another pod's activity on the same post")
    _, reconcile = CALLS[action.kind]
    return await ledger.settle(runtime, action_id, reconcile, unsent_reason=reason)


def _not_now(a: dict[str, Any]) -> str | None:
    if a["member_status"] != "active":
        return f"the member is {a['member_status']}"
    if a["pod_status"] != "active":
        return "the pod is paused"
    if not a["social_id"]:
        return "the post's LinkedIn id is unknown"
    return None


async def _after_window(runtime: Runtime, a: dict[str, Any]) -> str:
    if a["linkedin_action_id"] is None:
        return await _settle(runtime, a, "skipped", WINDOW_CLOSED, missed=True)
    outcome = await _settle_action(runtime, a, a["linkedin_action_id"], WINDOW_CLOSED)
    if outcome.status == "done":
        return await _settle(runtime, a, "completed", None, missed=False)
    if outcome.status == "failed":
        return await _settle(runtime, a, "skipped", f"{WINDOW_CLOSED}: {outcome.reason}", missed=True)
    return await _wait(runtime, a, outcome.not_before or utcnow() + timedelta(minutes=1), outcome.reason)


async def _settle(
    runtime: Runtime, a: dict[str, Any], status: str, error: str | None, *, missed: bool
) -> str:
    async with runtime.db.service(actor="pods") as conn:
        await scoring.settle(conn, a["id"], status=status, error=error, missed=missed, now=utcnow())
    return status


async def _wait(runtime: Runtime, a: dict[str, Any], at: datetime, note: str | None) -> str:
    async with runtime.db.service(actor="pods") as conn:
        await execution_repo.reschedule(conn, a["id"], at, note)
    return "waiting"
