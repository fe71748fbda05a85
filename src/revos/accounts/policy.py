"""An account's limits, as data: the overrides document (`linkedin_accounts.safety`), working hours and
the policy they make with the settings (`REVOS_SAFETY_*`). No database: `revos.accounts.safety` applies it."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator, model_validator

from revos.config import Settings

KINDS = ("post", "dm", "invitation", "comment", "reaction", "profile_view", "repost")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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

    caps: Mapping[str, int]  # read-only: one policy is shared by every account with its document
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
            caps=MappingProxyType({kind: int(pick(f"cap_{kind}")) for kind in KINDS}),
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
        (written before a check existed, or by hand). Made once per document and values of the settings
        (a pod round asks it for each of hundreds of accounts, most of them with the same document)."""
        key = (
            tuple(getattr(settings, name) for name in _SETTING_NAMES),
            json.dumps(document, sort_keys=True, default=str) if document else "",
        )
        policy = _POLICIES.get(key)
        if policy is None:
            try:
                policy = cls.of(settings, SafetyOverrides.parse(document))
            except ValueError:
                policy = cls.of(settings)
            if len(_POLICIES) >= 1024:
                _POLICIES.clear()
            _POLICIES[key] = policy
        return policy

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


# The settings a policy is made of (`REVOS_SAFETY_*`, one per override), and the policies made so far.
_SETTING_NAMES = tuple(f"safety_{name}" for name in SafetyOverrides.model_fields)
_POLICIES: dict[tuple[tuple[Any, ...], str], Policy] = {}


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
