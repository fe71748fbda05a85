"""What a campaign allows the engine to do, read through its validated settings (`CampaignSettings`).

- `send_block`: may the campaign act now? The one rule every sender and poller applies (`is_running` is
  "no block");
- `settings_of`: the campaign's settings as the validated model, tolerant of keys older versions wrote;
- `sequence_policy`: the DM sequence's delays and thresholds, the campaign's own values over the
  deployment's REVOS_ settings;
- `working_hours_opening`: the campaign's own sending hours in the account's time zone.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from revos.accounts.safety import Window, zone
from revos.campaigns import schemas
from revos.clock import utcnow
from revos.config import Settings


def send_block(campaign: Mapping[str, Any], now: datetime) -> tuple[str, str] | None:
    """Why a campaign cannot act now: ("ended" | "waiting", reason), or None when it runs (active, and
    now lies within `starts_at`/`ends_at`)."""
    status = campaign.get("status")
    ends_at = campaign.get("ends_at")
    starts_at = campaign.get("starts_at")
    if status == "completed":
        return "ended", "the campaign is completed"
    if ends_at is not None and now >= ends_at:
        return "ended", f"the campaign ended at {ends_at:%Y-%m-%d %H:%M} UTC"
    if status == "paused":
        return "waiting", "the campaign is paused; the DM goes out when it is active again"
    if status == "draft":
        return "waiting", "the campaign is still a draft; the DM goes out once it is activated"
    if status != "active":
        return "waiting", f"the campaign is {status}"
    if starts_at is not None and now < starts_at:
        return "waiting", f"the campaign starts at {starts_at:%Y-%m-%d %H:%M} UTC"
    return None


def is_running(campaign: Mapping[str, Any], now: datetime | None = None) -> bool:
    """Active, started and not ended: only a running campaign publishes, polls and sends."""
    return send_block(campaign, now or utcnow()) is None


def trigger_words_of(campaign: Mapping[str, Any]) -> list[str]:
    words = [w for w in (campaign.get("trigger_words") or []) if w and w.strip()]
    if not words and campaign.get("trigger_word"):
        words = [campaign["trigger_word"]]
    return words


def settings_of(campaign: Mapping[str, Any]) -> schemas.CampaignSettings:
    """The campaign's settings (a `campaigns` row's `settings`), tolerant of keys written by older
    versions or by hand: unknown keys are ignored, and a document that no longer validates reads as
    the defaults."""
    return parse_settings(campaign.get("settings"))


def parse_settings(raw: Mapping[str, Any] | None) -> schemas.CampaignSettings:
    known = {k: v for k, v in dict(raw or {}).items() if k in schemas.CampaignSettings.model_fields}
    try:
        return schemas.CampaignSettings.model_validate(known)
    except ValueError:
        return schemas.CampaignSettings()


def fuzzy_triggers(campaign: Mapping[str, Any]) -> bool:
    return settings_of(campaign).fuzzy_triggers


@dataclass(frozen=True)
class SequencePolicy:
    """The DM sequence's timing and thresholds for one campaign."""

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


def sequence_policy(campaign: schemas.CampaignSettings, settings: Settings) -> SequencePolicy:
    """The campaign's own values where it sets them, the REVOS_DM_* settings otherwise."""

    def pick(value: float | None, default: float) -> float:
        return float(default if value is None else value)

    return SequencePolicy(
        step1_delay_min=pick(campaign.step1_delay_min_seconds, settings.dm_step1_delay_min_seconds),
        step1_delay_max=pick(campaign.step1_delay_max_seconds, settings.dm_step1_delay_max_seconds),
        step2_delay=pick(campaign.step2_delay_seconds, settings.dm_step2_delay_seconds),
        step3_delay=pick(campaign.step3_delay_seconds, settings.dm_step3_delay_seconds),
        abandon_after=timedelta(days=pick(campaign.abandon_after_days, settings.dm_abandon_after_days)),
        review_threshold=pick(campaign.email_review_threshold, settings.dm_email_review_threshold),
        invitation_note=campaign.invitation_note if (campaign.invitation_note or "").strip() else None,
        follow_up_template=(
            campaign.follow_up_template if (campaign.follow_up_template or "").strip() else None
        ),
    )


def working_hours_opening(
    campaign: schemas.CampaignSettings, now: datetime, timezone: str | None
) -> datetime | None:
    """The campaign's own working hours (`working_hours`), in the sending account's time zone: None
    when they allow sending at `now` (or the campaign sets none), else the next opening (UTC).

    The account's safety budget applies its own hours on top; this is the stricter, per-campaign window.
    """
    hours = campaign.working_hours
    if hours is None:
        return None
    window = Window.hours(hours.start_hour, hours.end_hour, hours.days)
    local = now.astimezone(zone(timezone))
    if window.in_window(local):
        return None
    return window.next_window(local).astimezone(now.tzinfo)
