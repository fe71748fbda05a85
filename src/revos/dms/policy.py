"""A campaign's sequence settings: its own values where it sets them, the REVOS_ settings otherwise.

Campaign keys (in `campaigns.settings`, flat or under `dm_sequence`): `step1_delay_min_seconds`,
`step1_delay_max_seconds`, `step2_delay_seconds`, `step3_delay_seconds` (or `step3_delay_hours`),
`abandon_after_days`, `email_review_threshold`, `invitation_note` (template of the connection note),
`follow_up_template`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from revos.config import Settings, get_settings


@dataclass(frozen=True)
class SequencePolicy:
    step1_delay_min: float
    step1_delay_max: float
    step2_delay: float
    step3_delay: float
    abandon_after: timedelta
    review_threshold: float
    invitation_note: str | None
    follow_up_template: str | None

    def step1_at(self, now: datetime, rng: random.Random | None = None) -> datetime:
        """A randomised gap after the comment: instant DMs to every commenter look like a bot."""
        low, high = sorted((self.step1_delay_min, self.step1_delay_max))
        return now + timedelta(seconds=(rng or random).uniform(low, high))


def _number(source: Mapping[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = source.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def policy_for(
    campaign_settings: Mapping[str, Any] | None, settings: Settings | None = None
) -> SequencePolicy:
    s = settings or get_settings()
    flat: dict[str, Any] = dict(campaign_settings or {})
    for nested in ("dm_sequence", "dmSequence", "sequence"):
        if isinstance(flat.get(nested), Mapping):
            flat = {**flat, **flat[nested]}
    step3 = _number(flat, "step3_delay_seconds")
    if step3 is None and (hours := _number(flat, "step3_delay_hours")) is not None:
        step3 = hours * 3600
    threshold = _number(flat, "email_review_threshold")
    note = flat.get("invitation_note")
    follow_up = flat.get("follow_up_template")
    abandon_days = _number(flat, "abandon_after_days")
    return SequencePolicy(
        step1_delay_min=_or(
            _number(flat, "step1_delay_min_seconds", "step1_delay_seconds"), s.dm_step1_delay_min_seconds
        ),
        step1_delay_max=_or(
            _number(flat, "step1_delay_max_seconds", "step1_delay_seconds"), s.dm_step1_delay_max_seconds
        ),
        step2_delay=_or(_number(flat, "step2_delay_seconds"), s.dm_step2_delay_seconds),
        step3_delay=_or(step3, s.dm_step3_delay_seconds),
        abandon_after=timedelta(days=abandon_days if abandon_days else s.dm_abandon_after_days),
        review_threshold=min(1.0, threshold) if threshold is not None else s.dm_email_review_threshold,
        invitation_note=note if isinstance(note, str) and note.strip() else None,
        follow_up_template=follow_up if isinstance(follow_up, str) and follow_up.strip() else None,
    )


def _or(value: float | None, default: float) -> float:
    return float(default) if value is None else value
