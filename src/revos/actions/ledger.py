"""The exactly-once action ledger for outbound LinkedIn actions (design §6.3).

Unipile v1 has no idempotency key: a retried send after a timeout can post a DM twice. So every
outbound action (post, DM, invitation, comment, reaction) is a row in `linkedin_actions`:

    intent ──start──▶ in_flight ──confirm(provider id)──▶ done
                          │  └──fail (definitely not performed)──▶ failed
                          └──mark_ambiguous (timeout, 5xx, crash)──▶ ambiguous
    in_flight/ambiguous ──reconcile: found──▶ done
                        └─reconcile: not found──release──▶ intent (sent again, once)

`action_key` is unique (e.g. `dm:<sequence id>:1`): a second worker, a retried job or a replayed event
finds the existing row instead of acting twice. Nothing becomes `done` without the provider's id (a
check constraint says so too).

`perform()` runs the whole protocol; the primitives (`begin`, `start`, `confirm`, …) run in the caller's
transaction and never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from psycopg.types.json import Jsonb

from revos.accounts import safety
from revos.accounts.provider import linkedin_client
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import NotFound, RevosError
from revos.linkedin import UnipileClient
from revos.linkedin.errors import AlreadyInvited, UnipileError
from revos.runtime import Runtime

log = logging.getLogger("revos.actions")

Kind = Literal["post", "dm", "invitation", "comment", "reaction", "profile_view"]
Status = Literal["intent", "in_flight", "done", "ambiguous", "failed"]

_COLUMNS = (
    "a.id, a.client_id, a.linkedin_account_id, a.kind, a.action_key, a.status, a.target, a.payload,"
    " a.provider_id, a.provider_chat_id, a.attempts, a.last_error, a.created_at, a.updated_at,"
    " a.started_at, a.done_at, a.reserved_day, la.unipile_account_id"
)


@dataclass(frozen=True)
class Action:
    id: UUID
    client_id: UUID
    account_id: UUID  # linkedin_accounts.id
    kind: str
    key: str
    status: str
    target: str | None
    payload: dict[str, Any]
    provider_id: str | None
    provider_chat_id: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    done_at: datetime | None
    reserved_day: date | None
    unipile_account_id: str | None  # the account's id at Unipile, for calls and reconcilers

    @property
    def done(self) -> bool:
        return self.status == "done"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Action:
        return cls(
            id=row["id"],
            client_id=row["client_id"],
            account_id=row["linkedin_account_id"],
            kind=row["kind"],
            key=row["action_key"],
            status=row["status"],
            target=row["target"],
            payload=dict(row["payload"] or {}),
            provider_id=row["provider_id"],
            provider_chat_id=row["provider_chat_id"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            started_at=row["started_at"],
            done_at=row["done_at"],
            reserved_day=row["reserved_day"],
            unipile_account_id=row.get("unipile_account_id"),
        )


@dataclass(frozen=True)
class ProviderIds:
    """What the provider said the action created: a message/invitation/post/comment id (+ chat id)."""

    provider_id: str | None
    chat_id: str | None = None


Call = Callable[[UnipileClient, Action], Awaitable[ProviderIds]]
Reconcile = Callable[[UnipileClient, Action], Awaitable[ProviderIds | None]]

OutcomeStatus = Literal["done", "deferred", "ambiguous", "failed"]


@dataclass(frozen=True)
class ActionOutcome:
    """What `perform()` achieved.

    - done: performed (now or before) and confirmed with the provider's id: `action.provider_id`.
    - deferred: nothing happened now; ask again at `not_before` (None: when the account is resumed or
      reconnected). Reasons: safety budget, working hours, paused account, 429, transient error.
    - ambiguous: the call's outcome is unknown; run `perform()` again after `not_before` and it will
      reconcile with the provider before anything is resent.
    - failed: definitely not performed and retrying cannot help (`error` says why, e.g. NotConnected).
    """

    status: OutcomeStatus
    action: Action
    reason: str = ""
    not_before: datetime | None = None
    error: BaseException | None = field(default=None, compare=False)

    @property
    def done(self) -> bool:
        return self.status == "done"


class ActionConflict(RevosError):
    status_code = 409
    code = "action_conflict"


# --- primitives (caller's transaction) ----------------------------------------------------------------


async def get(conn: Conn, action_id: UUID, *, for_update: bool = False) -> Action:
    lock = " for update of a" if for_update else ""
    row = await (
        await conn.execute(
            f"select {_COLUMNS} from linkedin_actions a"
            f" join linkedin_accounts la on la.id = a.linkedin_account_id where a.id = %s{lock}",
            (action_id,),
        )
    ).fetchone()
    if row is None:
        raise NotFound("action not found")
    return Action.from_row(row)


async def get_by_key(conn: Conn, key: str) -> Action | None:
    row = await (
        await conn.execute(
            f"select {_COLUMNS} from linkedin_actions a"
            " join linkedin_accounts la on la.id = a.linkedin_account_id where a.action_key = %s",
            (key,),
        )
    ).fetchone()
    return Action.from_row(row) if row else None


async def unconfirmed(conn: Conn, keys: list[str]) -> list[Action]:
    """The actions among `keys` that may have happened but are not confirmed (in flight, ambiguous)."""
    rows = await (
        await conn.execute(
            f"select {_COLUMNS} from linkedin_actions a"
            " join linkedin_accounts la on la.id = a.linkedin_account_id"
            " where a.action_key = any(%s) and a.status in ('in_flight', 'ambiguous') order by a.created_at",
            (keys,),
        )
    ).fetchall()
    return [Action.from_row(row) for row in rows]


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
    await conn.execute(
        "insert into linkedin_actions (client_id, linkedin_account_id, kind, action_key, target, payload)"
        " values (%s, %s, %s, %s, %s, %s) on conflict (action_key) do nothing",
        (client_id, account_id, kind, key, target, Jsonb(payload)),
    )
    action = await get_by_key(conn, key)
    assert action is not None
    if action.client_id != client_id or action.kind != kind:
        raise ActionConflict(f"action key {key!r} is already used by another {action.kind} action")
    return action


async def start(conn: Conn, action_id: UUID, *, reserved_day: date | None = None) -> bool:
    """intent → in_flight (attempts + 1, started_at). Commit before calling the provider.

    Returns False when the action was not in `intent` (another worker started it, or it is settled)."""
    result = await conn.execute(
        "update linkedin_actions set status = 'in_flight', attempts = attempts + 1, started_at = %s,"
        " reserved_day = %s, last_error = null where id = %s and status = 'intent'",
        (utcnow(), reserved_day, action_id),
    )
    return result.rowcount > 0


async def confirm(
    conn: Conn, action_id: UUID, *, provider_id: str, provider_chat_id: str | None = None
) -> None:
    """The provider confirmed the action with its id: done (idempotent)."""
    if not provider_id:
        raise ValueError("an action is confirmed only with the provider's id")
    await conn.execute(
        "update linkedin_actions set status = 'done', provider_id = %s,"
        " provider_chat_id = coalesce(%s, provider_chat_id), done_at = coalesce(done_at, %s),"
        " last_error = null where id = %s and status <> 'done'",
        (provider_id, provider_chat_id, utcnow(), action_id),
    )


async def fail(conn: Conn, action_id: UUID, error: str) -> None:
    """Definitely not performed, and not to be retried as is."""
    await conn.execute(
        "update linkedin_actions set status = 'failed', last_error = %s where id = %s and status <> 'done'",
        (error[:2000], action_id),
    )


async def mark_ambiguous(conn: Conn, action_id: UUID, error: str) -> None:
    """The outcome is unknown: reconcile with the provider before anything is resent."""
    await conn.execute(
        "update linkedin_actions set status = 'ambiguous', last_error = %s"
        " where id = %s and status in ('in_flight', 'ambiguous')",
        (error[:2000], action_id),
    )


async def release(conn: Conn, action_id: UUID, error: str | None = None) -> None:
    """Back to intent: the attempt provably did not happen (reconciled, or refused before acting).

    `perform()` also gives back the budget unit the attempt reserved (`safety.refund`)."""
    await conn.execute(
        "update linkedin_actions set status = 'intent', reserved_day = null, last_error = %s"
        " where id = %s and status in ('in_flight', 'ambiguous')",
        (error[:2000] if error else None, action_id),
    )


async def _release_and_refund(conn: Conn, action: Action, error: str | None) -> None:
    if action.reserved_day is not None:
        await safety.refund(conn, account_id=action.account_id, kind=action.kind, day=action.reserved_day)
    await release(conn, action.id, error)


async def _fail_and_refund(conn: Conn, action: Action, error: str) -> None:
    if action.reserved_day is not None:
        await safety.refund(conn, account_id=action.account_id, kind=action.kind, day=action.reserved_day)
    await fail(conn, action.id, error)


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

    if action.status in ("in_flight", "ambiguous"):
        if action.status == "in_flight" and action.started_at is not None:
            stale_at = action.started_at + timedelta(seconds=settings.action_inflight_timeout_seconds)
            if stale_at > now:
                return ActionOutcome("deferred", action, "another attempt is in flight", not_before=stale_at)
        outcome = await _reconcile(runtime, client, action, reconcile)
        if outcome is not None:
            return outcome
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
            if not await start(conn, action.id, reserved_day=reservation.day):
                raise _Busy
            action = await get(conn, action.id)
    except _Busy:
        async with runtime.db.service(actor="actions") as conn:
            action = await get(conn, action_id)
        if action.status in ("done", "failed"):
            return _settled(action)
        return ActionOutcome("deferred", action, "another worker started this action", not_before=now)

    # 5: the call, outside any transaction.
    try:
        ids = await call(client, action)
    except UnipileError as exc:
        return await _record_error(runtime, client, action, exc, reconcile)
    except BaseException as exc:
        # A bug or a cancellation after start: the request may have left. Reconcile next time.
        async with runtime.db.service(actor="actions") as conn:
            await mark_ambiguous(conn, action.id, f"{type(exc).__name__}: {exc}")
        raise

    # 6: record.
    async with runtime.db.service(actor="actions") as conn:
        if ids.provider_id:
            await confirm(conn, action.id, provider_id=ids.provider_id, provider_chat_id=ids.chat_id)
            await safety.note_success(conn, action.account_id)
        else:
            await mark_ambiguous(conn, action.id, "the provider accepted the action without returning its id")
        action = await get(conn, action.id)
    if action.done:
        return ActionOutcome("done", action, "performed")
    return ActionOutcome(
        "ambiguous",
        action,
        "accepted without an id: reconciling",
        not_before=utcnow() + timedelta(seconds=settings.action_reconcile_delay_seconds),
    )


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
    settings = runtime.settings
    now = utcnow()
    async with runtime.db.service(actor="actions") as conn:
        action = await get(conn, action_id, for_update=True)
        if action.status in ("done", "failed"):
            return _settled(action)
        if action.status == "intent":
            await fail(conn, action.id, unsent_reason)
            return ActionOutcome("failed", await get(conn, action.id), unsent_reason)
    if action.status == "in_flight" and action.started_at is not None:
        stale_at = action.started_at + timedelta(seconds=settings.action_inflight_timeout_seconds)
        if stale_at > now:
            return ActionOutcome("deferred", action, "another attempt is in flight", not_before=stale_at)
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
            await fail(conn, action.id, unsent_reason)
            return ActionOutcome("failed", await get(conn, action.id), unsent_reason)
        if found is not None and found.provider_id:
            await confirm(conn, action.id, provider_id=found.provider_id, provider_chat_id=found.chat_id)
            await safety.note_success(conn, action.account_id)
            log.info(
                "action %s (%s) reconciled: it had happened (%s)", action.key, action.kind, found.provider_id
            )
            return ActionOutcome("done", await get(conn, action.id), "reconciled: it had happened")
        if unsent_reason is not None:
            log.info(
                "action %s (%s) reconciled: it had not happened; not sending it", action.key, action.kind
            )
            await _fail_and_refund(conn, current, f"{unsent_reason} (reconciled: not found at the provider)")
            return ActionOutcome("failed", await get(conn, action.id), unsent_reason)
        log.info("action %s (%s) reconciled: it had not happened; sending again", action.key, action.kind)
        await _release_and_refund(
            conn, current, f"reconciled: not found at the provider ({current.last_error})"
        )
    return None


async def _record_error(
    runtime: Runtime, client: UnipileClient, action: Action, exc: UnipileError, reconcile: Reconcile
) -> ActionOutcome:
    settings = runtime.settings
    now = utcnow()
    if exc.ambiguous:
        async with runtime.db.service(actor="actions") as conn:
            await mark_ambiguous(conn, action.id, str(exc))
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
            await mark_ambiguous(conn, action.id, str(exc))
            action = await get(conn, action.id)
        outcome = await _reconcile(runtime, client, action, reconcile)
        if outcome is not None:
            return outcome
        async with runtime.db.service(actor="actions") as conn:
            await fail(conn, action.id, f"already invited, but no pending invitation found: {exc}")
            action = await get(conn, action.id)
        return ActionOutcome("failed", action, "already invited recently", error=exc)
    async with runtime.db.service(actor="actions") as conn:
        if safety.is_account_error(exc) or exc.retryable or (exc.status is None):
            # Definitely not performed, and the same call may succeed later: back to intent.
            until = await safety.apply_provider_error(conn, action.account_id, exc, now, settings)
            await _release_and_refund(conn, action, str(exc))
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
        await _fail_and_refund(conn, action, str(exc))
        action = await get(conn, action.id)
    return ActionOutcome("failed", action, exc.title, error=exc)
