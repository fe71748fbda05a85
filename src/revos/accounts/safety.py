"""One safety budget per LinkedIn account, shared by every campaign, pod and reply (design §7).

Before any outbound action, `reserve()` answers "may this account act now?":

1. a paused account refuses (until `paused_until`, or until a person or a reconnection resumes it);
2. an account that is not `active` (credentials expired, provider error) refuses;
3. outside working hours in the account's time zone → not before the next window opens;
4. a randomised gap since the account's previous action (`next_action_at`);
5. a daily cap per action kind, counted per account-local day in `account_daily_usage` with one
   `insert … on conflict do update … where used < cap` — atomic, so several workers never exceed it;
6. new accounts ramp up: caps are scaled from `warmup_start_fraction` to 100 % over `warmup_days`.

The account row is locked (`for no key update`) for the rest of the caller's transaction, so reservations of
one account are serialised; the caller commits the reservation together with the action's `start`.
`reserve_many()` does the same for several actions of one account at once (the pod executor's lanes):
the account locked and checked once, one upsert per kind for as many units as the caps allow, and with a
gap above 0 only one action per gap, as one by one. The account row is written only when something
changes (a gap to keep, a legacy DM/post counter): an audited update that changes nothing still costs an
entry.
`reserve_accounts()` does that for many accounts at once (the pod executor's rounds): the accounts locked
in one statement (in id order), every account's units taken in one more, and the gaps kept in one update.

Limits default to the settings (`REVOS_SAFETY_*`, from spec/unipile-v1.md §10) and can be overridden per
account in `linkedin_accounts.safety` with the same names without the prefix (`{"cap_dm": 40}`), read
through one model (`SafetyOverrides`); the limits as data (`SafetyOverrides`, `Window`, `Policy`) are
`revos.accounts.policy`'s. The SQL is the accounts repository's (`revos.accounts.repo`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from revos import events
from revos.accounts import repo
from revos.accounts.policy import KINDS, Policy, zone
from revos.accounts.policy import WEEKDAYS as WEEKDAYS
from revos.accounts.policy import SafetyOverrides as SafetyOverrides
from revos.accounts.policy import Window as Window
from revos.accounts.policy import valid_timezone as valid_timezone
from revos.accounts.policy import validate_overrides as validate_overrides
from revos.clock import utcnow
from revos.config import Settings
from revos.db.pool import Conn
from revos.errors import NotFound
from revos.linkedin.errors import (
    AccountDisconnected,
    AccountNotFound,
    AccountRestricted,
    RateLimited,
    UnipileError,
)
from revos.runtime import Runtime

# Why an account is paused, from least to most serious: a milder pause never replaces a more serious one.
PAUSE_SOURCES = ("rate_limited", "provider_error", "disconnected", "restricted", "manual")
# Pauses a successful reconnection (account_status OK / RECONNECTED, or POST /reconnect) lifts.
PROVIDER_PAUSES = frozenset({"rate_limited", "provider_error", "disconnected"})


@dataclass(frozen=True)
class Reservation:
    allowed: bool
    not_before: datetime | None
    reason: str
    day: date | None = None  # the account-local day whose budget was used (allowed only)
    used: int | None = None  # today's count for this kind, this reservation included
    cap: int | None = None


# Why an action waits for the account's randomised gap (its next moment), nothing else.
SPACING = "spacing actions of this account (randomised gap)"


def account_lock(account_id: UUID | str | None) -> str | None:
    """The queue lock of one LinkedIn account: jobs that act through it (DM runs, publishing) run one at
    a time, whichever campaign asks."""
    return f"linkedin_account:{account_id}" if account_id else None


@dataclass(frozen=True)
class Reservations:
    """`reserve_many`'s answer: one Reservation per kind asked, in order, and whether the account has 429
    strikes to forget on its next confirmed action (`note_success` changes nothing otherwise)."""

    each: list[Reservation] = field(default_factory=list)
    rate_limit_strikes: int = 0
    busy: bool = False  # `reserve_accounts(skip_locked=True)`: another transaction holds the account


async def spaced(conn: Conn, account_id: UUID, settings: Settings) -> bool:
    """Whether the account waits a randomised gap between actions (its policy's, the default): it acts
    once per gap, so its work goes one action at a time."""
    row = await repo.get(conn, account_id)
    return row is not None and Policy.of_account(settings, row["safety"]).gap_max > 0


async def reserve(
    conn: Conn, *, account_id: UUID, kind: str, now: datetime, settings: Settings
) -> Reservation:
    """Take one unit of the account's budget for `kind` now, or say when to ask again (see module doc)."""
    return (await reserve_many(conn, account_id=account_id, kinds=[kind], now=now, settings=settings)).each[0]


async def reserve_many(
    conn: Conn, *, account_id: UUID, kinds: Sequence[str], now: datetime, settings: Settings
) -> Reservations:
    """Take one unit for each of `kinds` (one account's next actions, in the order they are to be made),
    with the account locked and checked once: a pause, its status or working hours refuse them all; with a
    gap above 0 only the first one the caps allow is reserved (one action per gap, as one by one); with no
    gap every one the day's caps allow (one upsert per kind). The account is spaced once, and only when
    that changes something (a gap, or a kind with a legacy counter)."""
    budgets = await reserve_accounts(conn, {account_id: kinds}, now=now, settings=settings)
    if account_id not in budgets:
        raise NotFound("LinkedIn account not found")
    return budgets[account_id]


async def reserve_accounts(
    conn: Conn,
    wants: Mapping[UUID, Sequence[str]],
    *,
    now: datetime,
    settings: Settings,
    skip_locked: bool = False,
) -> dict[UUID, Reservations]:
    """`reserve_many` for several accounts at once (the pod executor's rounds): the accounts locked in one
    statement, and the units of every account and kind taken in one more (two when a spaced account's
    first kind is at its cap). An account that no longer exists is left out of the answer.

    With `skip_locked`, an account whose row another transaction holds (a DM step reserving its own unit)
    is not waited for: it is answered `busy`, nothing reserved, so that the caller neither waits on it nor
    makes every other account it locked wait in turn; its actions are for a later round."""
    for kinds in wants.values():
        for kind in kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown action kind {kind!r}")
    rows = await repo.lock_budgets(conn, list(wants), skip_locked=skip_locked)
    plans: list[_Plan] = []
    out: dict[UUID, Reservations] = {}
    missing = [account_id for account_id in wants if account_id not in rows]
    for account_id in await repo.existing(conn, missing) if skip_locked and missing else ():
        busy = Reservation(False, now, "the account is busy with another action")
        out[account_id] = Reservations([busy] * len(wants[account_id]), busy=True)
    for account_id, kinds in wants.items():
        row = rows.get(account_id)
        if row is None:
            continue
        strikes = int(row["rate_limit_strikes"] or 0)
        if row["paused_at"] is not None:
            until = row["paused_until"]
            if (
                until is not None
                and until <= now
                and row["pause_source"] in ("rate_limited", "provider_error")
            ):
                await repo.clear_pause(conn, account_id)
            else:
                paused = Reservation(False, until, f"account paused: {row['pause_reason'] or 'paused'}")
                out[account_id] = Reservations([paused] * len(kinds), strikes)
                continue
        policy = Policy.of_account(settings, row["safety"])
        local = now.astimezone(zone(row["timezone"]))
        refused = _refusal(row, policy, local, now)
        if refused is not None:
            out[account_id] = Reservations([refused] * len(kinds), strikes)
            continue
        caps = {kind: await _cap(conn, row, policy, kind, local, now) for kind in dict.fromkeys(kinds)}
        plans.append(_Plan(row, policy, now, local, list(kinds), caps, strikes))
    while wanted := [w for plan in plans for w in plan.advance()]:
        taken: dict[UUID, dict[str, tuple[int, int]]] = {}
        for (account_id, kind), units in (await repo.take_daily_units(conn, wanted)).items():
            taken.setdefault(account_id, {})[kind] = units
        for plan in plans:
            plan.took(taken.get(plan.row["id"], {}))
    spacing = [s for plan in plans if (s := plan.spacing()) is not None]
    await repo.space_next_actions(conn, spacing)
    for plan in plans:
        out[plan.row["id"]] = Reservations(plan.out, plan.strikes)
    return out


@dataclass
class _Plan:
    """One account's reservations (`reserve_accounts`): walks its kinds in order, asking for the units it
    needs (`advance`), told what was taken (`took`), until every kind has its answer."""

    row: dict[str, Any]
    policy: Policy
    now: datetime
    local: datetime
    kinds: list[str]
    caps: dict[str, tuple[int, Reservation | None]]
    strikes: int
    out: list[Reservation] = field(default_factory=list)
    left: dict[str, int] = field(default_factory=dict)  # units taken and not yet handed out, per kind
    count: dict[str, int] = field(default_factory=dict)  # the day's count per kind, up to the last unit
    last: tuple[str, int] | None = None
    gap: float = 0.0

    def __post_init__(self) -> None:
        self.gap = random.uniform(self.policy.gap_min, self.policy.gap_max)

    @property
    def spaced(self) -> bool:
        return self.policy.gap_max > 0

    def advance(self) -> list[tuple[UUID, UUID, date, str, int, int]]:
        """Answer the kinds that need no more units; the units to take before going on (none: done)."""
        while len(self.out) < len(self.kinds):
            kind = self.kinds[len(self.out)]
            if self.spaced and self.last is not None:
                self.out.append(Reservation(False, self.now + timedelta(seconds=self.gap), SPACING))  # fmt: skip
                continue
            cap, refusal = self.caps[kind]
            if refusal is not None:
                self.out.append(refusal)
                continue
            if kind not in self.left:
                return self._wants(kind)
            if self.left[kind] == 0:
                self.out.append(_cap_reached(kind, cap, self.policy, self.local))
                continue
            self.left[kind] -= 1
            self.count[kind] += 1
            self.out.append(
                Reservation(True, None, "reserved", day=self.local.date(), used=self.count[kind], cap=cap)
            )
            self.last = (kind, self.count[kind])
        return []

    def _wants(self, kind: str) -> list[tuple[UUID, UUID, date, str, int, int]]:
        """Spaced: one unit of `kind`. Else as many of every kind still to take as the kinds ask (one take)."""
        row, day = self.row, self.local.date()
        if self.spaced:
            return [(row["client_id"], row["id"], day, kind, 1, self.caps[kind][0])]
        rest = self.kinds[len(self.out) :]
        wanted = [k for k in dict.fromkeys(rest) if k not in self.left and self.caps[k][1] is None]
        return [(row["client_id"], row["id"], day, k, rest.count(k), self.caps[k][0]) for k in wanted]

    def took(self, taken: dict[str, tuple[int, int]]) -> None:
        """The units taken for this account, per kind, and the day's count after them."""
        for kind, (n, used) in taken.items():
            if kind not in self.left:
                self.left[kind], self.count[kind] = n, used - n

    def spacing(self) -> tuple[UUID, datetime, str, int] | None:
        """The account's next moment and legacy counter, when either changes something."""
        if self.last is None or not (self.gap > 0 or self.last[0] in repo.LEGACY_COUNTED):
            return None
        return (self.row["id"], self.now + timedelta(seconds=self.gap), self.last[0], self.last[1])


def _refusal(row: dict[str, Any], policy: Policy, local: datetime, now: datetime) -> Reservation | None:
    """The account's status, working hours or the gap since its last action refusing every action now."""
    if row["status"] != "active":
        return Reservation(
            False,
            None,
            f"account is {row['status']} (provider status {row['provider_status'] or 'unknown'}): "
            "reconnect it to resume",
        )
    if not policy.in_window(local):
        opens = policy.next_window(local)
        return Reservation(False, opens, f"outside working hours ({row['timezone']}); next window {opens}")
    if row["next_action_at"] is not None and row["next_action_at"] > now:
        return Reservation(False, row["next_action_at"], SPACING)
    return None


async def _cap(
    conn: Conn, row: dict[str, Any], policy: Policy, kind: str, local: datetime, now: datetime
) -> tuple[int, Reservation | None]:
    """The day's cap for `kind`, and a refusal when none may be taken (a cap of 0, the weekly invitations)."""
    cap = policy.cap_for(kind, row["warmup_started_at"], now)
    if cap <= 0:
        return cap, Reservation(False, policy.hours.next_day_window(local), f"daily {kind} cap is 0", cap=cap)
    if kind == "invitation" and policy.weekly_invitations > 0:
        weekly = policy.weekly_invitation_cap(row["warmup_started_at"], now)
        day = local.date()
        # The row lock taken by the caller serialises this read with every other reservation of the account.
        if await repo.invitations_over(conn, row["id"], after=day - timedelta(days=7), through=day) >= weekly:
            return cap, Reservation(
                False,
                policy.hours.next_day_window(local),
                f"weekly invitation cap reached ({weekly} over 7 days)",
                cap=weekly,
            )
    return cap, None


def _cap_reached(kind: str, cap: int, policy: Policy, local: datetime) -> Reservation:
    reason = f"daily {kind} cap reached ({cap}"
    reason += ", warming up)" if cap < policy.caps[kind] else ")"
    return Reservation(False, policy.hours.next_day_window(local), reason, cap=cap)


async def refund(conn: Conn, *, account_id: UUID, kind: str, day: date, n: int = 1) -> None:
    """Give back `n` units of `day`'s budget: the actions they were reserved for definitely did not happen."""
    await repo.give_back_daily_unit(conn, account_id, day=day, kind=kind, n=n)


async def usage(conn: Conn, *, account_id: UUID, day: date) -> dict[str, int]:
    return await repo.daily_usage(conn, account_id, day)


async def pause(
    conn: Conn,
    account_id: UUID,
    reason: str,
    until: datetime | None = None,
    *,
    source: str = "manual",
    now: datetime | None = None,
) -> bool:
    """Pause the account's outbound actions. A milder pause never replaces a more serious one.

    Returns True when the pause was applied (or extended)."""
    if source not in PAUSE_SOURCES:
        raise ValueError(f"unknown pause source {source!r}")
    return await repo.set_pause(
        conn,
        account_id,
        reason=reason,
        until=until,
        source=source,
        now=now or utcnow(),
        milder_or_equal=list(PAUSE_SOURCES[: PAUSE_SOURCES.index(source) + 1]),
    )


async def resume(
    runtime: Runtime, conn: Conn, account_id: UUID, *, only_sources: frozenset[str] | None = None
) -> bool:
    """Lift the pause (any, or only one of `only_sources`). Returns True if the account was paused.

    Publishes `AccountResumed`: work that waited for the account runs now rather than at the next look."""
    client_id = await repo.lift_pause(
        conn, account_id, only_sources=None if only_sources is None else sorted(only_sources)
    )
    if client_id is None:
        return False
    await events.publish(
        runtime, conn, events.AccountResumed(client_id=client_id, linkedin_account_id=account_id)
    )
    return True


async def note_success(conn: Conn, account_id: UUID) -> None:
    """A confirmed action: the account is healthy again, so 429 backoff starts over."""
    await repo.reset_rate_limit_strikes(conn, account_id)


async def apply_provider_error(
    conn: Conn, account_id: UUID, error: UnipileError, now: datetime, settings: Settings
) -> datetime | None:
    """Pause the account when LinkedIn says so: 429 (with backoff), restriction, disconnection.

    Returns when the account may act again (None: not before a person acts), or None when `error` is
    not about the account (the action alone failed)."""
    if isinstance(error, RateLimited):
        row = await repo.add_rate_limit_strike(conn, account_id)
        if row is None:
            return None
        strikes = int(row["rate_limit_strikes"])
        delay = min(
            settings.safety_rate_limit_pause_max_seconds,
            settings.safety_rate_limit_pause_seconds * 2 ** (strikes - 1),
        )
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        policy = Policy.of_account(settings, row["safety"])
        until_local = policy.next_window((now + timedelta(seconds=delay)).astimezone(zone(row["timezone"])))
        until = until_local.astimezone(now.tzinfo)
        await pause(
            conn,
            account_id,
            f"LinkedIn rate limit (429), strike {strikes}: paused until {until.isoformat()}",
            until,
            source="rate_limited",
            now=now,
        )
        return until
    if isinstance(error, AccountRestricted):
        reason = "LinkedIn restricted this account: check it on linkedin.com, then resume it"
        await pause(conn, account_id, reason, source="restricted", now=now)
        return None
    if isinstance(error, AccountNotFound | AccountDisconnected):
        # Unipile no longer knows the account (deleted there, or its id is stale), or LinkedIn logged it
        # out: nothing will work with it until it is connected again, which is what a person has to be told.
        if isinstance(error, AccountNotFound):
            provider_status = "NOT_FOUND"
            reason = "Unipile no longer knows this LinkedIn account (404 account not found): connect it again"
        else:
            provider_status, reason = "CREDENTIALS", "LinkedIn disconnected this account: reconnect it"
        await repo.mark_expired(conn, account_id, provider_status)
        reason += " (POST /v1/linkedin-accounts/{id}/reconnect)"
        await pause(conn, account_id, reason, source="disconnected", now=now)
        return None
    return None


def is_account_error(error: BaseException) -> bool:
    """Errors about the account (pause it), as opposed to errors about one action."""
    return isinstance(error, RateLimited | AccountRestricted | AccountDisconnected | AccountNotFound)
