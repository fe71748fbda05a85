"""Campaign request and response bodies, and the validated shape of `campaigns.settings`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from revos.api.schemas import FreeJSON, PatchModel, StrictModel

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
TriggerWord = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Template = Annotated[str, StringConstraints(max_length=5000)]
Status = Literal["draft", "active", "paused", "completed"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Every delay is bounded so that scheduling it can never overflow a date: a year is past any campaign.
MAX_DELAY_SECONDS = 365 * 86400


class WorkingHours(StrictModel):
    """When this campaign's DMs may go out, in the sending account's time zone (within the account's own hours)."""

    start_hour: float = Field(ge=0, le=24, description="local hour, e.g. 8.5 for 08:30")
    end_hour: float = Field(ge=0, le=24)
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1, max_length=7)

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.start_hour >= self.end_hour:
            raise ValueError("working_hours.start_hour must be before end_hour")
        return self


class CommentPolling(StrictModel):
    """Overrides of the comment-poll cadence (REVOS_POLL_* settings) for this campaign's posts."""

    fresh_seconds: float | None = Field(
        default=None, ge=30, le=MAX_DELAY_SECONDS, description="while the post is young"
    )
    day_seconds: float | None = Field(default=None, ge=30, le=MAX_DELAY_SECONDS)
    week_seconds: float | None = Field(default=None, ge=30, le=MAX_DELAY_SECONDS)
    old_seconds: float | None = Field(default=None, ge=30, le=MAX_DELAY_SECONDS)
    full_rescan_seconds: float | None = Field(default=None, ge=60, le=MAX_DELAY_SECONDS)


class CampaignSettings(StrictModel):
    """`campaigns.settings`. Keys left out fall back to the REVOS_ settings of the deployment.

    The DM keys are the ones the sequence reads (revos.campaigns.rules.sequence_policy): step delays, abandonment, the
    email-review threshold, the invitation note and the follow-up template.
    """

    step1_delay_min_seconds: int | None = Field(
        default=None, ge=0, le=MAX_DELAY_SECONDS, description="gap after a comment, low end"
    )
    step1_delay_max_seconds: int | None = Field(
        default=None, ge=0, le=MAX_DELAY_SECONDS, description="gap after a comment, high end"
    )
    step2_delay_seconds: int | None = Field(
        default=None, ge=0, le=MAX_DELAY_SECONDS, description="from the email reply to step 2"
    )
    step3_delay_seconds: int | None = Field(
        default=None, ge=0, le=MAX_DELAY_SECONDS, description="from step 2 to the backup DM"
    )
    abandon_after_days: float | None = Field(default=None, gt=0, le=365, description="no reply → abandoned")
    email_review_threshold: float | None = Field(
        default=None, ge=0, le=1, description="emails extracted with less confidence wait for a person"
    )
    fuzzy_triggers: bool = Field(default=False, description="also accept near-misses such as 'guidee'")
    invitation_note: Template | None = Field(default=None, description="note sent with a connection request")
    follow_up_template: Template | None = Field(default=None, description="nudge after an acceptance")
    working_hours: WorkingHours | None = None
    comment_polling: CommentPolling | None = None
    # Free-form sections other features own (AI skills, voice); kept as given.
    skills: FreeJSON | None = None
    voice: FreeJSON | None = None

    @model_validator(mode="after")
    def _delays_ordered(self) -> CampaignSettings:
        low, high = self.step1_delay_min_seconds, self.step1_delay_max_seconds
        if low is not None and high is not None and low > high:
            raise ValueError("step1_delay_min_seconds must not exceed step1_delay_max_seconds")
        return self


def _clean_triggers(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        if word and word.casefold() not in (w.casefold() for w in out):
            out.append(word)
    if not out:
        raise ValueError("at least one trigger word is required")
    return out


class _CampaignFields(StrictModel):
    description: Annotated[str, StringConstraints(max_length=5000)] | None = None
    lead_magnet_id: UUID | None = None
    webhook_config_id: UUID | None = None
    post_template: Template | None = None
    dm_template_step1: Template | None = None
    dm_template_step2: Template | None = None
    dm_template_step3: Template | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


class CampaignCreate(_CampaignFields):
    name: Name
    trigger_words: list[TriggerWord] = Field(
        min_length=1, max_length=20, description="the first is trigger_word"
    )
    settings: CampaignSettings = Field(default_factory=CampaignSettings)
    client_id: UUID | None = Field(default=None, description="required for agency staff; else your client")

    _triggers = field_validator("trigger_words")(_clean_triggers)


class CampaignUpdate(_CampaignFields, PatchModel):
    nullable = frozenset(_CampaignFields.model_fields)

    name: Name | None = None
    trigger_words: list[TriggerWord] | None = Field(default=None, min_length=1, max_length=20)
    settings: CampaignSettings | None = Field(default=None, description="replaces the settings as a whole")

    @field_validator("trigger_words")
    @classmethod
    def _triggers(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _clean_triggers(v)


class Campaign(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    client_id: UUID
    name: str
    description: str | None
    status: Status
    is_running: bool = Field(description="active, and now is within starts_at/ends_at")
    trigger_word: str
    trigger_words: list[str]
    lead_magnet_id: UUID | None
    webhook_config_id: UUID | None
    post_template: str | None
    dm_template_step1: str | None
    dm_template_step2: str | None
    dm_template_step3: str | None
    settings: dict[str, Any]
    metrics: dict[str, Any]
    starts_at: datetime | None
    ends_at: datetime | None
    archived_at: datetime | None = Field(
        default=None, description="completed long ago: out of every dispatcher's scan, numbers kept"
    )
    created_at: datetime
    updated_at: datetime
