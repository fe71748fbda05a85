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
account in `linkedin_accounts.safety` with the same names without the prefix (`{"cap_dm": 40}`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from revos.config import Settings, get_settings
from revos.db.pool import Conn
from revos.errors import NotFound
from revos.linkedin.errors import (
    AccountDisconnected,
    AccountNotFound,
    AccountRestricted,
    RateLimited,
    UnipileError,
)

KINDS = ("post", "dm", "invitation", "comment", "reaction", "profile_view")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Why an account is paused, from least to most serious: a milder pause never replaces a more serious one.
PAUSE_SOURCES = ("rate_limited", "provider_error", "disconnected", "restricted", "manual")
# Pauses a successful reconnection (account_status OK / RECONNECTED, or POST /reconnect) lifts.
PROVIDER_PAUSES = frozenset({"rate_limited", "provider_error", "disconnected"})

OVERRIDABLE = (
    "cap_dm",
    "cap_invitation",
    "cap_post",
    "cap_comment",
    "cap_reaction",
    "cap_profile_view",
    "cap_invitation_weekly",
    "working_hours_enabled",
    "working_hours_start",
    "working_hours_end",
    "working_days",
    "gap_min_seconds",
    "gap_max_seconds",
    "warmup_days",
    "warmup_start_fraction",
)


@dataclass(frozen=True)
class Reservation:
    allowed: bool
    not_before: datetime | None
    reason: str
    day: date | None = None  # the account-local day whose budget was used (allowed only)
    used: int | None = None  # today's count for this kind, this reservation included
    cap: int | None = None


@dataclass(frozen=True)
class Policy:
    caps: dict[str, int]
    weekly_invitations: int  # over the account-local day and the six before it; 0 = no weekly cap
    working_hours_enabled: bool
    start_hour: float
    end_hour: float
    days: frozenset[int]
    gap_min: float
    gap_max: float
    warmup_days: int
    warmup_start_fraction: float

    @classmethod
    def of(cls, settings: Settings, overrides: dict[str, Any] | None = None) -> Policy:
        o = validate_overrides(overrides or {})

        def pick(name: str) -> Any:
            return o[name] if name in o else getattr(settings, f"safety_{name}")

        days_raw = pick("working_days")
        days = _parse_days(days_raw if isinstance(days_raw, str) else ",".join(days_raw))
        return cls(
            caps={kind: int(pick(f"cap_{kind}")) for kind in KINDS},
            weekly_invitations=int(pick("cap_invitation_weekly")),
            working_hours_enabled=bool(pick("working_hours_enabled")),
            start_hour=float(pick("working_hours_start")),
            end_hour=float(pick("working_hours_end")),
            days=days,
            gap_min=float(pick("gap_min_seconds")),
            gap_max=max(float(pick("gap_min_seconds")), float(pick("gap_max_seconds"))),
            warmup_days=int(pick("warmup_days")),
            warmup_start_fraction=float(pick("warmup_start_fraction")),
        )

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

    def in_window(self, local: datetime) -> bool:
        if not self.working_hours_enabled:
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


def validate_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Check a `safety` override document; raises ValueError with a message a person can act on."""
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ValueError(f"unknown safety setting(s) {', '.join(unknown)}; allowed: {', '.join(OVERRIDABLE)}")
    for name, value in overrides.items():
        if name == "working_hours_enabled":
            if not isinstance(value, bool):
                raise ValueError("working_hours_enabled must be true or false")
        elif name == "working_days":
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            if not isinstance(value, str) or len(value) > 100:
                raise ValueError("working_days must be a list or comma-separated weekdays (mon..sun)")
            _parse_days(value)
        elif not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= _upper(name):
            raise ValueError(f"{name} must be a number between 0 and {_upper(name)}")
        elif name in ("working_hours_start", "working_hours_end") and value > 24:
            raise ValueError(f"{name} must be an hour between 0 and 24")
        elif name == "warmup_start_fraction" and not 0 < value <= 1:
            raise ValueError("warmup_start_fraction must be in (0, 1]")
    return overrides


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


_ACCOUNT_COLUMNS = (
    "id, client_id, status, provider_status, timezone, safety, paused_at, paused_until, pause_reason,"
    " pause_source, warmup_started_at, next_action_at"
)


async def reserve(
    conn: Conn, *, account_id: UUID, kind: str, now: datetime, settings: Settings | None = None
) -> Reservation:
    """Take one unit of the account's budget for `kind` now, or say when to ask again (see module doc)."""
    if kind not in KINDS:
        raise ValueError(f"unknown action kind {kind!r}")
    settings = settings or get_settings()
    row = await (
        await conn.execute(
            # `no key update`: serialises the account's reservations without waiting for the transactions
            # that only reference the account (a comment poll inserting its leads' sequences).
            f"select {_ACCOUNT_COLUMNS} from linkedin_accounts where id = %s for no key update",
            (account_id,),
        )
    ).fetchone()
    if row is None:
        raise NotFound("LinkedIn account not found")
    if row["paused_at"] is not None:
        until = row["paused_until"]
        if until is not None and until <= now and row["pause_source"] in ("rate_limited", "provider_error"):
            await _clear_pause(conn, account_id)
        else:
            return Reservation(False, until, f"account paused: {row['pause_reason'] or 'paused'}")
    if row["status"] != "active":
        return Reservation(
            False,
            None,
            f"account is {row['status']} (provider status {row['provider_status'] or 'unknown'}): "
            "reconnect it to resume",
        )
    try:
        policy = Policy.of(settings, row["safety"])
    except ValueError:
        policy = Policy.of(settings)
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
        return Reservation(False, _next_day_window(policy, local), f"daily {kind} cap is 0", cap=cap)
    if kind == "invitation" and policy.weekly_invitations > 0:
        weekly = policy.weekly_invitation_cap(row["warmup_started_at"], now)
        week = await (
            await conn.execute(
                "select coalesce(sum(used), 0) as used from account_daily_usage"
                " where linkedin_account_id = %s and kind = 'invitation' and day > %s and day <= %s",
                (account_id, day - timedelta(days=7), day),
            )
        ).fetchone()
        if week is not None and int(week["used"]) >= weekly:
            # The row lock above serialises this read with every other reservation of the account.
            return Reservation(
                False,
                _next_day_window(policy, local),
                f"weekly invitation cap reached ({weekly} over 7 days)",
                cap=weekly,
            )
    used_row = await (
        await conn.execute(
            "insert into account_daily_usage as u (client_id, linkedin_account_id, day, kind, used)"
            " values (%s, %s, %s, %s, 1)"
            " on conflict (linkedin_account_id, day, kind) do update set used = u.used + 1"
            " where u.used < %s returning used",
            (row["client_id"], account_id, day, kind, cap),
        )
    ).fetchone()
    if used_row is None:
        reason = f"daily {kind} cap reached ({cap}"
        reason += ", warming up)" if cap < policy.caps[kind] else ")"
        return Reservation(False, _next_day_window(policy, local), reason, cap=cap)
    used = int(used_row["used"])
    gap = random.uniform(policy.gap_min, policy.gap_max)
    await conn.execute(
        "update linkedin_accounts set next_action_at = %s,"
        " daily_dm_count = case when %s = 'dm' then %s else daily_dm_count end,"
        " daily_post_count = case when %s = 'post' then %s else daily_post_count end"
        " where id = %s",
        (now + timedelta(seconds=gap), kind, used, kind, used, account_id),
    )
    return Reservation(True, None, "reserved", day=day, used=used, cap=cap)


def _next_day_window(policy: Policy, local: datetime) -> datetime:
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return policy.next_window(midnight)


async def refund(conn: Conn, *, account_id: UUID, kind: str, day: date) -> None:
    """Give back one unit of `day`'s budget: the action it was reserved for definitely did not happen."""
    row = await (
        await conn.execute(
            "update account_daily_usage set used = used - 1"
            " where linkedin_account_id = %s and day = %s and kind = %s and used > 0 returning used",
            (account_id, day, kind),
        )
    ).fetchone()
    if row is not None and kind in ("dm", "post"):
        column = "daily_dm_count" if kind == "dm" else "daily_post_count"
        await conn.execute(
            f"update linkedin_accounts set {column} = least({column}, %s) where id = %s",
            (row["used"], account_id),
        )


async def usage(conn: Conn, *, account_id: UUID, day: date) -> dict[str, int]:
    rows = await (
        await conn.execute(
            "select kind, used from account_daily_usage where linkedin_account_id = %s and day = %s",
            (account_id, day),
        )
    ).fetchall()
    return {r["kind"]: int(r["used"]) for r in rows}


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
    from revos.clock import utcnow

    rank = PAUSE_SOURCES.index(source)
    result = await conn.execute(
        "update linkedin_accounts set paused_at = coalesce(paused_at, %s), paused_until = %s,"
        " pause_reason = %s, pause_source = %s"
        " where id = %s and (pause_source is null or paused_at is null"
        "   or array_position(%s::text[], pause_source) <= %s)",
        (now or utcnow(), until, reason, source, account_id, list(PAUSE_SOURCES), rank + 1),
    )
    return result.rowcount > 0


async def resume(conn: Conn, account_id: UUID, *, only_sources: frozenset[str] | None = None) -> bool:
    """Lift the pause (any, or only one of `only_sources`). Returns True if the account was paused."""
    if only_sources is None:
        result = await conn.execute(
            "update linkedin_accounts set paused_at = null, paused_until = null, pause_reason = null,"
            " pause_source = null, rate_limit_strikes = 0 where id = %s and paused_at is not null",
            (account_id,),
        )
    else:
        result = await conn.execute(
            "update linkedin_accounts set paused_at = null, paused_until = null, pause_reason = null,"
            " pause_source = null, rate_limit_strikes = 0"
            " where id = %s and paused_at is not null and pause_source = any(%s)",
            (account_id, list(only_sources)),
        )
    if result.rowcount == 0:
        return False
    # Work that waited for the account runs now rather than at the dispatcher's next look.
    from revos.clock import utcnow
    from revos.dms.jobs import wake_account

    await wake_account(conn, account_id, at=utcnow())
    return True


async def _clear_pause(conn: Conn, account_id: UUID) -> None:
    await conn.execute(
        "update linkedin_accounts set paused_at = null, paused_until = null, pause_reason = null,"
        " pause_source = null where id = %s",
        (account_id,),
    )


async def note_success(conn: Conn, account_id: UUID) -> None:
    """A confirmed action: the account is healthy again, so 429 backoff starts over."""
    await conn.execute(
        "update linkedin_accounts set rate_limit_strikes = 0 where id = %s and rate_limit_strikes > 0",
        (account_id,),
    )


async def apply_provider_error(
    conn: Conn, account_id: UUID, error: UnipileError, now: datetime, settings: Settings | None = None
) -> datetime | None:
    """Pause the account when LinkedIn says so: 429 (with backoff), restriction, disconnection.

    Returns when the account may act again (None: not before a person acts), or None when `error` is
    not about the account (the action alone failed)."""
    settings = settings or get_settings()
    if isinstance(error, RateLimited):
        row = await (
            await conn.execute(
                "update linkedin_accounts set rate_limit_strikes = rate_limit_strikes + 1"
                " where id = %s returning rate_limit_strikes, timezone, safety",
                (account_id,),
            )
        ).fetchone()
        if row is None:
            return None
        strikes = int(row["rate_limit_strikes"])
        delay = min(
            settings.safety_rate_limit_pause_max_seconds,
            settings.safety_rate_limit_pause_seconds * 2 ** (strikes - 1),
        )
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        try:
            policy = Policy.of(settings, row["safety"])
        except ValueError:
            policy = Policy.of(settings)
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
        await pause(
            conn,
            account_id,
            "LinkedIn restricted this account: check it on linkedin.com, then resume it",
            source="restricted",
            now=now,
        )
        return None
    if isinstance(error, AccountNotFound):
        # Unipile no longer knows the account (deleted there, or its id is stale): nothing will work with
        # it until it is connected again, which is what a person has to be told.
        await conn.execute(
            "update linkedin_accounts set status = 'expired', provider_status = 'NOT_FOUND' where id = %s",
            (account_id,),
        )
        await pause(
            conn,
            account_id,
            "Unipile no longer knows this LinkedIn account (404 account not found): connect it again "
            "(POST /v1/linkedin-accounts/{id}/reconnect)",
            source="disconnected",
            now=now,
        )
        return None
    if isinstance(error, AccountDisconnected):
        await conn.execute(
            "update linkedin_accounts set status = 'expired', provider_status = 'CREDENTIALS' where id = %s",
            (account_id,),
        )
        await pause(
            conn,
            account_id,
            "LinkedIn disconnected this account: reconnect it (POST /v1/linkedin-accounts/{id}/reconnect)",
            source="disconnected",
            now=now,
        )
        return None
    return None


def is_account_error(error: BaseException) -> bool:
    """Errors about the account (pause it), as opposed to errors about one action."""
    return isinstance(error, RateLimited | AccountRestricted | AccountDisconnected | AccountNotFound)


async def reset_daily_limits(conn: Conn) -> None:
    """The spec's `reset_daily_limits()`: zero the legacy per-account counters (scheduled daily).

    The caps themselves need no reset: `account_daily_usage` is keyed by the account-local day."""
    await conn.execute("select public.reset_daily_limits()")
