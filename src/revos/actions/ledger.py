"""The exactly-once action ledger for outbound LinkedIn actions (design §6.3).

Unipile v1 has no idempotency key: a retried send after a timeout can post a DM twice. So every
outbound action (post, DM, invitation, comment, reaction) is a row in `linkedin_actions`:

    intent ──start──▶ in_flight ──confirm(provider id)──▶ done
                          │  └──fail (definitely not performed)──▶ failed
                          └──mark_ambiguous (timeout, 5xx, crash)──▶ ambiguous
    in_flight/ambiguous ──reconcile: found──▶ done
                        └─reconcile: not found──release──▶ intent (sent again, once)

An invitation is found pending, or by the connection it made once accepted (`connected:<invitee>`); sent
again after "not found", LinkedIn's "already a connection" confirms it the same way (never a second one).

`action_key` is unique (e.g. `dm:<sequence id>:1`): a second worker, a retried job or a replayed event
finds the existing row instead of acting twice. Nothing becomes `done` without the provider's id (a
check constraint says so too).

Two workers on one action. An attempt `in_flight` is leased for `action_inflight_timeout_seconds` from
`started_at` (longer than the HTTP client's timeout): until then nobody reconciles it. A reconciliation
concludes "not sent" only if the row is still at the attempt it read before looking at the provider
(`attempts` unchanged): if another worker released and restarted the action meanwhile, what the provider
showed may predate that attempt's call, so it concludes nothing (deferred). And the answer to an attempt
(ambiguous, failed, released with its budget unit) is recorded only while the row is still at that
attempt: a late answer to a stale attempt never undoes the newer one.

`perform()` runs the whole protocol; the primitives (`begin`, `start`, `confirm`, …) run in the caller's
transaction and never commit. So do `perform`'s phases (`begin_started`, `record`), for a caller that
records the action's intent with its own reads and its outcome with its own writes (the DM executor):
`begin_started` writes a new action's intent and start as one row, `in_flight` from its first version. The rows are read and written by `revos.actions.repo`; the records and
outcomes are `revos.actions.models`'.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from revos.accounts import safety
from revos.accounts.provider import linkedin_client
from revos.actions import repo
from revos.actions.models import (
    Action,
    ActionConflict,
    ActionOutcome,
    Call,
    ProviderIds,
    Reconcile,
    connected_id,
)
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import NotFound
from revos.linkedin import UnipileClient
from revos.linkedin.errors import AlreadyInvited, UnipileError, already_connected
from revos.runtime import Runtime

log = logging.getLogger("revos.actions")

# --- primitives (caller's transaction) ----------------------------------------------------------------


async def get(conn: Conn, action_id: UUID, *, for_update: bool = False) -> Action:
    row = await repo.get(conn, action_id, for_update=for_update)
    if row is None:
        raise NotFound("action not found")
    return Action.from_row(row)


async def get_by_key(conn: Conn, key: str) -> Action | None:
    row = await repo.get_by_key(conn, key)
    return Action.from_row(row) if row else None


async def unconfirmed(conn: Conn, keys: list[str]) -> list[Action]:
    """The actions among `keys` that may have happened but are not confirmed (in flight, ambiguous)."""
    return [Action.from_row(row) for row in await repo.unconfirmed(conn, keys)]


async def begin(
    conn: Conn,
    *,
    client_id: UUID,
    account_id: UUID,
    kind: str,
    key: str,
    target: str | None,
    payload: dict[str, Any],
) -> Action:
    """Record the intent to act (or return the row already recorded under `key`, whatever its state)."""
    if kind not in safety.KINDS:
        raise ValueError(f"unknown action kind {kind!r}")
    intent = {"client_id": client_id, "linkedin_account_id": account_id, "kind": kind, "action_key": key}
    created = await repo.insert_intent(conn, {**intent, "target": target, "payload": payload})
    if created is not None:
        return Action.from_row(created)
    action = await get_by_key(conn, key)
    assert action is not None
    if action.client_id != client_id or action.kind != kind:
        raise ActionConflict(f"action key {key!r} is already used by another {action.kind} action")
    return action


async def start(conn: Conn, action_id: UUID, *, reserved_day: date | None = None) -> bool:
    """intent → in_flight (attempts + 1, started_at). Commit before calling the provider.

    Returns False when the action was not in `intent` (another worker started it, or it is settled)."""
    return await repo.start(conn, action_id, now=utcnow(), reserved_day=reserved_day)


async def confirm(
    conn: Conn, action_id: UUID, *, provider_id: str, provider_chat_id: str | None = None
) -> Action | None:
    """The provider confirmed the action with its id: done (idempotent). Returns the action this call
    confirmed (None: it was done already)."""
    if not provider_id:
        raise ValueError("an action is confirmed only with the provider's id")
    row = await repo.confirm(
        conn, action_id, provider_id=provider_id, provider_chat_id=provider_chat_id, now=utcnow()
    )
    return Action.from_row(row) if row is not None else None


async def _undo(conn: Conn, action: Action, error: str, *, failed: bool) -> None:
    """Fail the action, or release it to intent, and give back the budget unit its attempt reserved — only
    while the row is still at `action`'s attempt."""
    undo = repo.fail if failed else repo.release
    if not await undo(conn, action.id, error, attempt=action.attempts):
        return
    if action.reserved_day is not None:
        await safety.refund(conn, account_id=action.account_id, kind=action.kind, day=action.reserved_day)


# --- the protocol ---------------------------------------------------------------------------------------


class _Busy(Exception):
    """Rolls back a reservation whose action another worker started first."""


async def perform(runtime: Runtime, action_id: UUID, call: Call, reconcile: Reconcile) -> ActionOutcome:
    """Perform the action at most once and confirm it with the provider's id (design §6.3).

    1. re-read; done/failed → return as is;
    2. in_flight (stale) or ambiguous → `reconcile(client, action)` before anything is resent: found →
       confirm; not found → release (budget refunded) and go on;
    3. reserve the account's safety budget (refused → deferred with not_before);
    4. start, commit;  5. `call(client, action)` outside any transaction;
    6. confirm / fail / mark_ambiguous, commit. 429, restriction and disconnection pause the account.

    Never raises for provider errors; raises for database errors and for a `call` that is a bug
    (the action is then left ambiguous and reconciled on the next run).
    """
    settings = runtime.settings
    client = linkedin_client(runtime)
    now = utcnow()
    async with runtime.db.service(actor="actions") as conn:
        action = await get(conn, action_id)
    if action.status in ("done", "failed"):
        return _settled(action)

    resent = False  # sent again after an attempt whose outcome was unknown and which was not found
    if action.status in ("in_flight", "ambiguous"):
        busy = _in_flight_elsewhere(runtime, action, now)
        if busy is not None:
            return busy
        outcome = await _reconcile(runtime, client, action, reconcile)
        if outcome is not None:
            return outcome
        resent = True
        async with runtime.db.service(actor="actions") as conn:
            action = await get(conn, action_id)
        if action.status != "intent":
            return (
                _settled(action)
                if action.status in ("done", "failed")
                else ActionOutcome("deferred", action, "another worker is reconciling", not_before=now)
            )

    # 3–4: reserve the budget and start, in one transaction.
    try:
        async with runtime.db.service(actor="actions") as conn:
            reservation = await safety.reserve(
                conn, account_id=action.account_id, kind=action.kind, now=now, settings=settings
            )
            if not reservation.allowed:
                return ActionOutcome(
                    "deferred", action, reservation.reason, not_before=reservation.not_before
                )
            started = await repo.start_returning(conn, action.id, now=utcnow(), reserved_day=reservation.day)
            if started is None:
                raise _Busy
            action = Action.from_row(started)
    except _Busy:
        async with runtime.db.service(actor="actions") as conn:
            action = await get(conn, action_id)
        if action.status in ("done", "failed"):
            return _settled(action)
        return ActionOutcome("deferred", action, "another worker started this action", not_before=now)

    # 5: the call, outside any transaction.
    ids = await call_started(runtime, action, call, reconcile, resent=resent)
    if isinstance(ids, ActionOutcome):
        return ids
    # 6: record.
    async with runtime.db.service(actor="actions") as conn:
        return await record(runtime, conn, action, ids)


# --- the protocol in phases, for a caller that shares its transactions with them -------------------------
#
# `begin_started` (begin, steps 3–4) → commit → `call_started` (step 5) → `record` (step 6, with the caller's
# own writes). Same states and guarantees; a failed `record` transaction leaves the attempt in flight.


async def begin_started(
    conn: Conn,
    *,
    runtime: Runtime,
    now: datetime,
    client_id: UUID,
    account_id: UUID,
    kind: str,
    key: str,
    target: str | None,
    payload: dict[str, Any],
) -> Action | ActionOutcome:
    """`begin` and steps 3–4 of `perform` in the caller's transaction, for a key the caller has found
    unused in it: reserve the account's budget, then record the action started (`in_flight`, attempt 1,
    the budget's day): its intent and its start in one row write, committed together. Returns the started
    action, to call with `call_started` once the caller has committed; or, when the budget refuses, the
    deferred outcome with the intent alone recorded (nothing started, nothing reserved)."""
    if kind not in safety.KINDS:
        raise ValueError(f"unknown action kind {kind!r}")
    intent = {
        "client_id": client_id,
        "linkedin_account_id": account_id,
        "kind": kind,
        "action_key": key,
        "target": target,
        "payload": payload,
    }
    reservation = await safety.reserve(
        conn, account_id=account_id, kind=kind, now=now, settings=runtime.settings
    )
    if not reservation.allowed:
        action = await begin(
            conn,
            client_id=client_id,
            account_id=account_id,
            kind=kind,
            key=key,
            target=target,
            payload=payload,
        )
        return ActionOutcome("deferred", action, reservation.reason, not_before=reservation.not_before)
    row = await repo.insert_started(conn, intent, now=utcnow(), reserved_day=reservation.day)
    if row is None:
        # Another worker recorded this key since the caller looked: roll back the reservation with the
        # caller's transaction; the next run finds the action and goes the whole `perform` way.
        raise ActionConflict(f"action key {key!r} was recorded meanwhile")
    return Action.from_row(row)


async def call_started(
    runtime: Runtime, action: Action, call: Call, reconcile: Reconcile, *, resent: bool = False
) -> ProviderIds | ActionOutcome:
    """Step 5 of `perform`, for an action started and committed: the provider's ids, for `record`; or the
    outcome of a provider error, recorded already (in its own transaction)."""
    client = linkedin_client(runtime)
    try:
        return await call(client, action)
    except UnipileError as exc:
        return await _record_error(runtime, client, action, exc, reconcile, resent=resent)
    except BaseException as exc:
        # A bug or a cancellation after start: the request may have left. Reconcile next time.
        async with runtime.db.service(actor="actions") as conn:
            await repo.mark_ambiguous(
                conn, action.id, f"{type(exc).__name__}: {exc}", attempt=action.attempts
            )
        raise


async def record(
    runtime: Runtime, conn: Conn, action: Action, ids: ProviderIds, *, strikes: int | None = None
) -> ActionOutcome:
    """Step 6 of `perform` in the caller's transaction: done with the provider's id, or ambiguous when the
    provider accepted the call without one. `strikes`: the account's 429 strikes as the caller read them
    this step (0: nothing for the confirmation to forget, the account is not written)."""
    if ids.provider_id:
        done = await confirm(conn, action.id, provider_id=ids.provider_id, provider_chat_id=ids.chat_id)
        if strikes != 0:
            await safety.note_success(conn, action.account_id)
        if done is not None:
            return ActionOutcome("done", done, "performed")
    else:
        await repo.mark_ambiguous(
            conn,
            action.id,
            "the provider accepted the action without returning its id",
            attempt=action.attempts,
        )
    action = await get(conn, action.id)
    if action.done:
        return ActionOutcome("done", action, "performed")
    return ActionOutcome(
        "ambiguous",
        action,
        "accepted without an id: reconciling",
        not_before=utcnow() + timedelta(seconds=runtime.settings.action_reconcile_delay_seconds),
    )


def _in_flight_elsewhere(runtime: Runtime, action: Action, now: datetime) -> ActionOutcome | None:
    """Deferred while another attempt's call may still be under way (not yet stale)."""
    if action.status != "in_flight" or action.started_at is None:
        return None
    stale_at = action.started_at + timedelta(seconds=runtime.settings.action_inflight_timeout_seconds)
    if stale_at > now:
        return ActionOutcome("deferred", action, "another attempt is in flight", not_before=stale_at)
    return None


def _newer_attempt(runtime: Runtime, current: Action, now: datetime) -> ActionOutcome:
    """Deferred: another attempt started while a reconciliation was reading the provider. Ask again once it
    has had the time to be recorded (in flight) or to be reconciled itself (ambiguous)."""
    busy = _in_flight_elsewhere(runtime, current, now)
    if busy is not None:
        return busy
    later = now + timedelta(seconds=runtime.settings.action_reconcile_delay_seconds)
    return ActionOutcome("deferred", current, "another attempt started meanwhile", not_before=later)


def _settled(action: Action) -> ActionOutcome:
    if action.status == "done":
        return ActionOutcome("done", action, "already performed")
    return ActionOutcome("failed", action, action.last_error or "failed")


async def settle(
    runtime: Runtime, action_id: UUID, reconcile: Reconcile, *, unsent_reason: str
) -> ActionOutcome:
    """Settle an unconfirmed action without ever sending it again, for a caller that no longer wants it
    sent (a reply arrived while the first DM was still unconfirmed: the conversation has moved on).

    Found at the provider → done; not found → failed with `unsent_reason` (budget refunded); the provider
    could not be read → ambiguous (ask again after `not_before`); an attempt still in flight → deferred.
    An action never started (intent) is failed as is: it cannot have happened."""
    now = utcnow()
    async with runtime.db.service(actor="actions") as conn:
        action = await get(conn, action_id, for_update=True)
        if action.status in ("done", "failed"):
            return _settled(action)
        if action.status == "intent":
            await repo.fail(conn, action.id, unsent_reason)
            return ActionOutcome("failed", await get(conn, action.id), unsent_reason)
    busy = _in_flight_elsewhere(runtime, action, now)
    if busy is not None:
        return busy
    outcome = await _reconcile(
        runtime, linkedin_client(runtime), action, reconcile, unsent_reason=unsent_reason
    )
    assert outcome is not None  # with an unsent_reason, nothing is released
    return outcome


async def _reconcile(
    runtime: Runtime,
    client: UnipileClient,
    action: Action,
    reconcile: Reconcile,
    *,
    unsent_reason: str | None = None,
) -> ActionOutcome | None:
    """Look for the action at the provider. Returns an outcome, or None once released to intent (with
    `unsent_reason`, an action not found is failed with that reason instead of released)."""
    now = utcnow()
    try:
        found = await reconcile(client, action)
    except UnipileError as exc:
        async with runtime.db.service(actor="actions") as conn:
            until = await safety.apply_provider_error(conn, action.account_id, exc, now, runtime.settings)
        retry = (
            until
            if safety.is_account_error(exc)
            else now + timedelta(seconds=runtime.settings.action_retry_seconds)
        )
        return ActionOutcome(
            "ambiguous", action, f"could not reconcile yet: {exc}", not_before=retry, error=exc
        )
    async with runtime.db.service(actor="actions") as conn:
        current = await get(conn, action.id, for_update=True)
        if current.status in ("done", "failed"):
            return _settled(current)
        if current.status == "intent":  # released by another attempt meanwhile: it had not happened
            if unsent_reason is None:
                return None
            await repo.fail(conn, action.id, unsent_reason)
            return ActionOutcome("failed", await get(conn, action.id), unsent_reason)
        if found is not None and found.provider_id:
            await confirm(conn, action.id, provider_id=found.provider_id, provider_chat_id=found.chat_id)
            await safety.note_success(conn, action.account_id)
            log.info(
                "action %s (%s) reconciled: it had happened (%s)", action.key, action.kind, found.provider_id
            )
            return ActionOutcome("done", await get(conn, action.id), "reconciled: it had happened")
        if current.attempts != action.attempts:
            # Another worker released the action and started a new attempt after this one read the row: what
            # LinkedIn showed may predate that attempt's call, so "not found" proves nothing. Conclude nothing.
            return _newer_attempt(runtime, current, now)
        if unsent_reason is not None:
            log.info(
                "action %s (%s) reconciled: it had not happened; not sending it", action.key, action.kind
            )
            await _undo(
                conn, current, f"{unsent_reason} (reconciled: not found at the provider)", failed=True
            )
            return ActionOutcome("failed", await get(conn, action.id), unsent_reason)
        log.info("action %s (%s) reconciled: it had not happened; sending again", action.key, action.kind)
        await _undo(
            conn, current, f"reconciled: not found at the provider ({current.last_error})", failed=False
        )
    return None


async def _record_error(
    runtime: Runtime,
    client: UnipileClient,
    action: Action,
    exc: UnipileError,
    reconcile: Reconcile,
    *,
    resent: bool = False,
) -> ActionOutcome:
    settings = runtime.settings
    now = utcnow()
    attempt = action.attempts  # the attempt this error answers: a newer one is left alone
    if resent and action.kind == "invitation" and already_connected(exc):
        # The earlier attempt's outcome was unknown and LinkedIn's lists did not show it (its relations can
        # lag behind an acceptance); now LinkedIn says they are a connection: that invitation was accepted.
        async with runtime.db.service(actor="actions") as conn:
            if await repo.mark_ambiguous(conn, action.id, str(exc), attempt=attempt):
                await confirm(conn, action.id, provider_id=connected_id(action.target))
                await safety.note_success(conn, action.account_id)
            action = await get(conn, action.id)
        if action.done:
            return ActionOutcome("done", action, "reconciled: they are already a connection")
    if exc.ambiguous:
        async with runtime.db.service(actor="actions") as conn:
            await repo.mark_ambiguous(conn, action.id, str(exc), attempt=attempt)
            action = await get(conn, action.id)
        return ActionOutcome(
            "ambiguous",
            action,
            f"outcome unknown ({exc.title}): will reconcile before resending",
            not_before=now + timedelta(seconds=settings.action_reconcile_delay_seconds),
            error=exc,
        )
    if isinstance(exc, AlreadyInvited) and action.kind == "invitation":
        # LinkedIn says the invitation exists: find it to confirm with its id.
        async with runtime.db.service(actor="actions") as conn:
            await repo.mark_ambiguous(conn, action.id, str(exc), attempt=attempt)
            action = await get(conn, action.id)
        outcome = await _reconcile(runtime, client, action, reconcile)
        if outcome is not None:
            return outcome
        async with runtime.db.service(actor="actions") as conn:
            await repo.fail(
                conn, action.id, f"already invited, but no pending invitation found: {exc}", attempt=attempt
            )
            action = await get(conn, action.id)
        return ActionOutcome("failed", action, "already invited recently", error=exc)
    async with runtime.db.service(actor="actions") as conn:
        if safety.is_account_error(exc) or exc.retryable or (exc.status is None):
            # Definitely not performed, and the same call may succeed later: back to intent.
            until = await safety.apply_provider_error(conn, action.account_id, exc, now, settings)
            await _undo(conn, action, str(exc), failed=False)
            action = await get(conn, action.id)
            if safety.is_account_error(exc):
                return ActionOutcome(
                    "deferred", action, f"account paused: {exc.title}", not_before=until, error=exc
                )
            return ActionOutcome(
                "deferred",
                action,
                f"transient provider error: {exc.title}",
                not_before=now + timedelta(seconds=settings.action_retry_seconds),
                error=exc,
            )
        await _undo(conn, action, str(exc), failed=True)
        action = await get(conn, action.id)
    return ActionOutcome("failed", action, exc.title, error=exc)
