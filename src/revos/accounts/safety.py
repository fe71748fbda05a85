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

Limits default to the settings (`REVOS_SAFETY_*`, from spec/unipile-v1.md §10) and can be overridden per
account in `linkedin_accounts.safety` with the same names without the prefix (`{"cap_dm": 40}`), read
through one model (`SafetyOverrides`). The SQL is the accounts repository's (`revos.accounts.repo`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator, model_validator

from revos import events
from revos.accounts import repo
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

KINDS = ("post", "dm", "invitation", "comment", "reaction", "profile_view", "repost")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Why an account is paused, from least to most serious: a milder pause never replaces a more serious one.
PAUSE_SOURCES = ("rate_limited", "provider_error", "disconnected", "restricted", "manual")
# Pauses a successful reconnection (account_status OK / RECONNECTED, or POST /reconnect) lifts.
PROVIDER_PAUSES = frozenset({"rate_limited", "provider_error", "disconnected"})


class SafetyOverrides(BaseModel):
    """An account's `safety` document (`linkedin_accounts.safety`): the REVOS_SAFETY_* settings it
    overrides, by name without the prefix. Every reading of the document goes through this model."""

    model_config = ConfigDict(frozen=True)

    cap_dm: float | None = None
    cap_invitation: float | None = None
    cap_post: float | None = None
    cap_comment: float | None = None
    cap_reaction: float | None = None
    cap_profile_view: float | None = None
    cap_repost: float | None = None
    cap_invitation_weekly: float | None = None
    working_hours_enabled: bool | None = None
    working_hours_start: float | None = None
    working_hours_end: float | None = None
    working_days: frozenset[int] | None = None
    gap_min_seconds: float | None = None
    gap_max_seconds: float | None = None
    warmup_days: float | None = None
    warmup_start_fraction: float | None = None

    @classmethod
    def parse(cls, document: Mapping[str, Any] | None) -> SafetyOverrides:
        """The overrides of a document; ValueError with a message a person can act on (the first problem,
        in the document's order)."""
        document = dict(document or {})
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            names = list(document)
            errors = sorted(
                exc.errors(),
                key=lambda e: names.index(e["loc"][0]) if e["loc"] and e["loc"][0] in names else -1,
            )
            error = errors[0]
            raise ValueError(str(error.get("ctx", {}).get("error") or error["msg"])) from None

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                allowed = ", ".join(cls.model_fields)
                raise ValueError(f"unknown safety setting(s) {', '.join(unknown)}; allowed: {allowed}")
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _checked(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if name == "working_hours_enabled":
            if not isinstance(value, bool):
                raise ValueError("working_hours_enabled must be true or false")
            return value
        if name == "working_days":
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            if not isinstance(value, str) or len(value) > 100:
                raise ValueError("working_days must be a list or comma-separated weekdays (mon..sun)")
            return _parse_days(value)
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= _upper(name):
            raise ValueError(f"{name} must be a number between 0 and {_upper(name)}")
        if name == "warmup_start_fraction" and not 0 < value <= 1:
            raise ValueError("warmup_start_fraction must be in (0, 1]")
        return value


def validate_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Check a `safety` override document (kept as given); raises ValueError with a message a person can
    act on."""
    SafetyOverrides.parse(overrides)
    return overrides


@dataclass(frozen=True)
class Reservation:
    allowed: bool
    not_before: datetime | None
    reason: str
    day: date | None = None  # the account-local day whose budget was used (allowed only)
    used: int | None = None  # today's count for this kind, this reservation included
    cap: int | None = None


@dataclass(frozen=True)
class Window:
    """Working hours in some time zone: the local weekdays, and the local hours of each, for acting."""

    enabled: bool
    start_hour: float
    end_hour: float
    days: frozenset[int]

    @classmethod
    def hours(cls, start_hour: float, end_hour: float, days: Iterable[str]) -> Window:
        """Working hours from local hours (8.5 is 08:30) and weekday names (mon..sun, or "mon,tue")."""
        names = days if isinstance(days, str) else ",".join(days)
        return cls(True, float(start_hour), float(end_hour), _parse_days(names))

    def in_window(self, local: datetime) -> bool:
        if not self.enabled:
            return True
        hour = local.hour + local.minute / 60 + local.second / 3600
        return local.weekday() in self.days and self.start_hour <= hour < self.end_hour

    def next_window(self, local: datetime) -> datetime:
        """The first instant at or after `local` inside working hours (same time zone)."""
        if self.in_window(local) or not self.days or self.start_hour >= self.end_hour:
            return local
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(8):
            candidate_day = day + timedelta(days=offset)
            opens = _at_hour(candidate_day, self.start_hour)
            if candidate_day.weekday() in self.days and opens >= local:
                return opens
            closes = _at_hour(candidate_day, self.end_hour)
            if candidate_day.weekday() in self.days and opens < local < closes:
                return local
        return local  # unreachable with at least one working day

    def next_day_window(self, local: datetime) -> datetime:
        """The first instant inside working hours from the next local midnight on."""
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return self.next_window(midnight)


@dataclass(frozen=True)
class Policy:
    """An account's limits: the settings (`REVOS_SAFETY_*`) with its own overrides applied."""

    caps: dict[str, int]
    weekly_invitations: int  # over the account-local day and the six before it; 0 = no weekly cap
    hours: Window
    gap_min: float
    gap_max: float
    warmup_days: int
    warmup_start_fraction: float

    @classmethod
    def of(cls, settings: Settings, overrides: SafetyOverrides | Mapping[str, Any] | None = None) -> Policy:
        """The policy of an account overriding `settings` with `overrides` (a document is validated:
        ValueError when it is not a valid one)."""
        o = overrides if isinstance(overrides, SafetyOverrides) else SafetyOverrides.parse(overrides)

        def pick(name: str) -> Any:
            value = getattr(o, name)
            return getattr(settings, f"safety_{name}") if value is None else value

        gap_min = float(pick("gap_min_seconds"))
        return cls(
            caps={kind: int(pick(f"cap_{kind}")) for kind in KINDS},
            weekly_invitations=int(pick("cap_invitation_weekly")),
            hours=Window(
                enabled=bool(pick("working_hours_enabled")),
                start_hour=float(pick("working_hours_start")),
                end_hour=float(pick("working_hours_end")),
                days=_parse_days(settings.safety_working_days) if o.working_days is None else o.working_days,
            ),
            gap_min=gap_min,
            gap_max=max(gap_min, float(pick("gap_max_seconds"))),
            warmup_days=int(pick("warmup_days")),
            warmup_start_fraction=float(pick("warmup_start_fraction")),
        )

    @classmethod
    def of_account(cls, settings: Settings, document: Mapping[str, Any] | None) -> Policy:
        """The policy of an account row's `safety` document; the settings alone when it is not valid
        (written before a check existed, or by hand)."""
        try:
            return cls.of(settings, SafetyOverrides.parse(document))
        except ValueError:
            return cls.of(settings)

    def in_window(self, local: datetime) -> bool:
        return self.hours.in_window(local)

    def next_window(self, local: datetime) -> datetime:
        return self.hours.next_window(local)

    def cap_for(self, kind: str, warmup_started_at: datetime | None, now: datetime) -> int:
        return self._ramped(self.caps[kind], warmup_started_at, now)

    def weekly_invitation_cap(self, warmup_started_at: datetime | None, now: datetime) -> int:
        return self._ramped(self.weekly_invitations, warmup_started_at, now)

    def _ramped(self, cap: int, warmup_started_at: datetime | None, now: datetime) -> int:
        if cap <= 0 or warmup_started_at is None or self.warmup_days <= 0:
            return cap
        progress = (now - warmup_started_at).total_seconds() / (self.warmup_days * 86400)
        if progress >= 1:
            return cap
        fraction = self.warmup_start_fraction + (1 - self.warmup_start_fraction) * max(0.0, progress)
        return max(1, math.floor(cap * fraction))


def _at_hour(day: datetime, hour: float) -> datetime:
    # Wall-clock arithmetic in the zone: a DST jump moves the instant, which is what a person expects.
    naive = day.replace(tzinfo=None) + timedelta(hours=hour)
    return naive.replace(tzinfo=day.tzinfo)


def _parse_days(text: str) -> frozenset[int]:
    days = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        if part not in WEEKDAYS:
            raise ValueError(f"unknown weekday {part!r}: use {', '.join(WEEKDAYS)}")
        days.add(WEEKDAYS.index(part))
    return frozenset(days)


def _upper(name: str) -> int:
    """Largest value an override may take: beyond it a number is a typo, and could overflow a schedule."""
    if name.startswith("cap_"):
        return 100_000
    if name.startswith("gap_"):
        return 7 * 86400
    if name == "warmup_days":
        return 365
    if name.startswith("working_hours_"):
        return 24
    return 1_000_000


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def account_lock(account_id: UUID | str | None) -> str | None:
    """The queue lock of one LinkedIn account: jobs that act through it (DM runs, publishing) run one at
    a time, whichever campaign asks."""
    return f"linkedin_account:{account_id}" if account_id else None


async def reserve(
    conn: Conn, *, account_id: UUID, kind: str, now: datetime, settings: Settings
) -> Reservation:
    """Take one unit of the account's budget for `kind` now, or say when to ask again (see module doc)."""
    if kind not in KINDS:
        raise ValueError(f"unknown action kind {kind!r}")
    row = await repo.lock_budget(conn, account_id)
    if row is None:
        raise NotFound("LinkedIn account not found")
    if row["paused_at"] is not None:
        until = row["paused_until"]
        if until is not None and until <= now and row["pause_source"] in ("rate_limited", "provider_error"):
            await repo.clear_pause(conn, account_id)
        else:
            return Reservation(False, until, f"account paused: {row['pause_reason'] or 'paused'}")
    if row["status"] != "active":
        return Reservation(
            False,
            None,
            f"account is {row['status']} (provider status {row['provider_status'] or 'unknown'}): "
            "reconnect it to resume",
        )
    policy = Policy.of_account(settings, row["safety"])
    tz = zone(row["timezone"])
    local = now.astimezone(tz)
    if not policy.in_window(local):
        opens = policy.next_window(local)
        return Reservation(False, opens, f"outside working hours ({row['timezone']}); next window {opens}")
    if row["next_action_at"] is not None and row["next_action_at"] > now:
        return Reservation(False, row["next_action_at"], "spacing actions of this account (randomised gap)")
    cap = policy.cap_for(kind, row["warmup_started_at"], now)
    day = local.date()
    if cap <= 0:
        return Reservation(False, policy.hours.next_day_window(local), f"daily {kind} cap is 0", cap=cap)
    if kind == "invitation" and policy.weekly_invitations > 0:
        weekly = policy.weekly_invitation_cap(row["warmup_started_at"], now)
        # The row lock above serialises this read with every other reservation of the account.
        if (
            await repo.invitations_over(conn, account_id, after=day - timedelta(days=7), through=day)
            >= weekly
        ):
            return Reservation(
                False,
                policy.hours.next_day_window(local),
                f"weekly invitation cap reached ({weekly} over 7 days)",
                cap=weekly,
            )
    used = await repo.take_daily_unit(
        conn, client_id=row["client_id"], account_id=account_id, day=day, kind=kind, cap=cap
    )
    if used is None:
        reason = f"daily {kind} cap reached ({cap}"
        reason += ", warming up)" if cap < policy.caps[kind] else ")"
        return Reservation(False, policy.hours.next_day_window(local), reason, cap=cap)
    gap = random.uniform(policy.gap_min, policy.gap_max)
    await repo.space_next_action(conn, account_id, at=now + timedelta(seconds=gap), kind=kind, used=used)
    return Reservation(True, None, "reserved", day=day, used=used, cap=cap)


async def refund(conn: Conn, *, account_id: UUID, kind: str, day: date) -> None:
    """Give back one unit of `day`'s budget: the action it was reserved for definitely did not happen."""
    await repo.give_back_daily_unit(conn, account_id, day=day, kind=kind)


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
