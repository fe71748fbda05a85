"""One pod activity through the action ledger (`perform`): the executor's path for what is not a plain new
intent (an action from an earlier run, in flight, ambiguous, shared with another pod's activity; a
comment still to draft; an activity past its window), and what becomes of an activity after its action's
outcome (`conclude`), for both paths. See revos.pods.execution for the whole executor.
"""

from __future__ import annotations

import random
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

WINDOW_CLOSED = "the window closed before it could be performed"
REACTION = "like"


async def perform(runtime: Runtime, activity_id: UUID) -> str:
    """Perform one activity (see module doc). Returns what became of it: completed, failed, skipped,
    waiting (rescheduled inside its window) or settled (nothing to do)."""
    now = utcnow()
    async with runtime.db.service(actor="pods") as conn:
        a = await execution_repo.execution_context(conn, activity_id)
    if a is None or a["status"] != "pending":
        return "settled"
    if a["linkedin_action_id"] is None and a["account_id"] is not None and a["social_id"]:
        a = await _linked_by_key(runtime, a)
    if now >= a["window_ends_at"]:
        return await after_window(runtime, a)
    if a["linkedin_action_id"] is None:
        why = not_now(a)
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
    payload = action_payload(a)
    async with runtime.db.service(actor="pods") as conn:
        # The activity first, then its ledger row: the order of a tick's claim (no deadlock with it).
        pending = await execution_repo.lock(conn, a["id"])
        if a["linkedin_action_id"] is not None:  # its own action, recorded by a claim or an earlier run
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
        await settle_action(runtime, a, action.id, "the activity was settled meanwhile")
        return "settled"
    why = not_now(a) if action.status == "intent" else None
    if why is not None:  # never attempted, and its member or pod paused since it was claimed
        await settle_action(runtime, a, action.id, why)
        return await _settle(runtime, a, "skipped", why, missed=False)
    outcome = await ledger.perform(runtime, action.id, call, reconcile)
    return await conclude(runtime, a, action.id, outcome)


async def _linked_by_key(runtime: Runtime, a: dict[str, Any]) -> dict[str, Any]:
    """The activity linked to the action recorded under its ledger key, if there is one: a round links
    the activities it started only when it settles them, so one it never settled (its worker stopped)
    is found by its key."""
    kind = LEDGER_KIND[a["engagement_type"]]
    async with runtime.db.service(actor="pods") as conn:
        action = await ledger.get_by_key(conn, ledger_key(a["account_id"], a["social_id"], kind))
        if action is None or not await execution_repo.set_action(conn, a["id"], action.id):
            return a
    return {**a, "linkedin_action_id": action.id}


async def conclude(runtime: Runtime, a: dict[str, Any], action_id: UUID, outcome: ActionOutcome) -> str:
    """What becomes of activity `a` after its action's outcome (see module doc)."""
    now = utcnow()
    if outcome.status == "done":
        return await _settle(runtime, a, "completed", None, missed=False)
    if outcome.status == "failed":
        return await _settle(runtime, a, "failed", f"LinkedIn refused it: {outcome.reason}", missed=False)
    at = waiting_until(a, outcome)
    if at is not None:
        return await _wait(runtime, a, at, outcome.reason)
    # Deferred past the window (budget spent, hours, a pause): the intent is dropped, never sent late.
    settled = await settle_action(runtime, a, action_id, WINDOW_CLOSED)
    if settled.status == "done":
        return await _settle(runtime, a, "completed", None, missed=False)
    if settled.status == "failed":
        return await _settle(runtime, a, "skipped", f"{WINDOW_CLOSED}: {outcome.reason}", missed=True)
    # Another worker's attempt is in flight (or LinkedIn could not be read): it may still happen, so the
    # activity stays open until that attempt is settled, never recorded as skipped while it is under way.
    return await _wait(runtime, a, settled.not_before or now + timedelta(minutes=1), settled.reason)


async def too_late(runtime: Runtime, a: dict[str, Any], action_id: UUID) -> str:
    """The window closed before the executor got to the activity's call: the intent is dropped (unless
    another activity shares it) and the activity skipped, not held against the member."""
    settled = await settle_action(runtime, a, action_id, WINDOW_CLOSED)
    if settled.status == "done":
        return await _settle(runtime, a, "completed", None, missed=False)
    if settled.status == "failed":
        return await _settle(runtime, a, "skipped", "the window closed first", missed=False)
    return await _wait(runtime, a, settled.not_before or utcnow() + timedelta(minutes=1), settled.reason)


def waiting_until(a: dict[str, Any], outcome: ActionOutcome) -> datetime | None:
    """When an activity whose action was not done (ambiguous or deferred) is to be tried again, or None
    when that would be past its window (it is then settled, never sent late)."""
    at = outcome.not_before
    if outcome.status == "ambiguous":
        # It may have happened: keep it until it is reconciled, even past its window.
        return at or utcnow() + timedelta(minutes=1)
    if at is not None and at < a["window_ends_at"]:
        return at + timedelta(seconds=random.uniform(1, 30))
    return None


def action_payload(a: dict[str, Any]) -> dict[str, Any]:
    """The ledger payload of an activity's action: the comment's text, a plain repost, a like."""
    kind = LEDGER_KIND[a["engagement_type"]]
    if kind == "comment":
        return {"text": a["comment_text"]}
    if kind == "repost":
        return {"text": ""}  # a plain repost, no commentary
    return {"reaction_type": REACTION}


def ledger_key(account_id: UUID, social_id: str, kind: str) -> str:
    """One ledger action per account, post and kind: nobody likes or comments on a post twice."""
    return f"pod:{account_id}:{social_id}:{kind}"


async def settle_action(runtime: Runtime, a: dict[str, Any], action_id: UUID, reason: str) -> ActionOutcome:
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


def not_now(a: dict[str, Any]) -> str | None:
    if a["member_status"] != "active":
        return f"the member is {a['member_status']}"
    if a["pod_status"] != "active":
        return "the pod is paused"
    if not a["social_id"]:
        return "the post's LinkedIn id is unknown"
    return None


async def after_window(runtime: Runtime, a: dict[str, Any]) -> str:
    if a["linkedin_action_id"] is None:
        return await _settle(runtime, a, "skipped", WINDOW_CLOSED, missed=True)
    outcome = await settle_action(runtime, a, a["linkedin_action_id"], WINDOW_CLOSED)
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
