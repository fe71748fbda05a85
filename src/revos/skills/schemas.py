"""Campaign skill bodies: a skill's configuration, each skill's options, a run's log entry, the review.

A skill's `config` holds its default options; a run's body overrides them (the two are merged and
validated by the skill's options model, so a typo is a 422 naming the field, never ignored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from revos.api.schemas import FreeJSON, StrictModel

SKILLS = ("copywriting", "voice", "deliverability", "design")
Mode = Literal["ai", "scheduled", "human"]
ReviewStatus = Literal["pending", "approved", "rejected"]
# A DM may be 8,000 characters on LinkedIn, a post 3,000: no text a skill reads is longer.
TEXT_MAX = 8000
POST_MAX = 3000
Text = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)]
PostText = Annotated[str, StringConstraints(min_length=1, max_length=POST_MAX)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Point = Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)]
Target = Literal["post_template", "dm_template_step1", "dm_template_step2", "dm_template_step3"]


class SkillConfigure(StrictModel):
    """PUT /v1/campaigns/{id}/skills/{name}: the whole configuration of one skill."""

    execution_mode: Mode = Field(
        default="ai",
        description="ai: runs when triggered; scheduled: runs at `schedule`; human: a person approves",
    )
    schedule: AwareDatetime | None = Field(default=None, description="scheduled mode: when it runs (future)")
    config: FreeJSON = Field(
        default_factory=dict, description="the skill's default options (see docs/skills.md)"
    )
    enabled: bool = True


class Skill(BaseModel):
    campaign_id: UUID
    skill_name: str
    configured: bool = Field(description="false: not configured yet, these are the defaults")
    execution_mode: Mode
    schedule: datetime | None
    config: dict[str, Any]
    enabled: bool
    updated_at: datetime | None = None


class SkillList(BaseModel):
    items: list[Skill]


# --- options: the skill's `config` merged with a run's body ------------------------------------------


class Options(StrictModel):
    """What every skill accepts."""

    cartridge_id: UUID | None = Field(
        default=None, description="write with this cartridge, not the resolved one"
    )
    user_id: UUID | None = Field(
        default=None, description="whose voice (default: the campaign account's user)"
    )
    repeat_every_hours: float | None = Field(
        default=None, ge=0.25, le=24 * 90, description="scheduled mode: run again this often (config only)"
    )


class CopywritingOptions(Options):
    variants: int = Field(default=1, ge=1, le=5, description="how many drafts")
    topic: Short | None = Field(default=None, description="default: the lead magnet's name")
    audience: Short | None = None
    points: list[Point] = Field(default_factory=list, max_length=7, description="what the post must say")
    use_template: bool = Field(default=False, description="rewrite the campaign's post_template in the voice")
    memories: int = Field(default=5, ge=0, le=20, description="how many of the client's memories to use")
    apply: bool = Field(
        default=False, description="ai/scheduled: the chosen draft becomes the campaign's post"
    )
    choose: int = Field(default=0, ge=0, le=4, description="which draft to apply")
    post_id: UUID | None = Field(default=None, description="the draft post to update (default: the newest)")
    linkedin_account_id: UUID | None = Field(default=None, description="no draft post yet: create one for it")


class VoiceOptions(Options):
    text: Text | None = Field(default=None, description="the text to rewrite (or name a `target`)")
    target: Target | None = Field(default=None, description="rewrite one of the campaign's templates")
    variants: int = Field(default=1, ge=1, le=5)
    apply: bool = Field(default=False, description="ai/scheduled: the rewrite replaces `target`")


class DeliverabilityOptions(Options):
    post_text: PostText | None = Field(default=None, description="default: the campaign's newest post")
    templates: dict[Target, Text] | None = Field(default=None, description="default: the campaign's")
    spam_words: list[Short] = Field(
        default_factory=list, max_length=100, description="flagged on top of ours"
    )


class DesignOptions(Options):
    post_text: PostText | None = Field(default=None, description="default: the campaign's newest post")
    slides: int = Field(default=7, ge=3, le=12, description="most slides in the carousel")


OPTIONS: dict[str, type[Options]] = {
    "copywriting": CopywritingOptions,
    "voice": VoiceOptions,
    "deliverability": DeliverabilityOptions,
    "design": DesignOptions,
}


class RunBody(StrictModel):
    """POST /v1/campaigns/{id}/skills/{name}/run: options for this run, over the skill's config."""

    input: FreeJSON = Field(default_factory=dict, description="the skill's options for this run")


# --- the execution log ----------------------------------------------------------------------------------


class Execution(BaseModel):
    id: UUID
    client_id: UUID
    campaign_id: UUID | None
    skill_name: str
    execution_mode: Mode | None
    triggered_by: str | None
    input_data: dict[str, Any] | None
    output_data: dict[str, Any] | None
    execution_time_ms: int | None
    tokens_used: int | None
    cost_usd: float
    provider: str | None
    model: str | None
    cartridge_id: UUID | None
    cartridge_version: int | None
    success: bool
    error_message: str | None
    review_status: ReviewStatus | None
    reviewed_by: UUID | None
    reviewed_at: datetime | None
    review_note: str | None
    applied_post_id: UUID | None
    created_at: datetime


class Approve(StrictModel):
    """Approve a `human` run, optionally edited: the chosen draft (copywriting) or rewrite (voice)."""

    choose: int | None = Field(default=None, ge=0, le=4, description="which draft (default: the first)")
    text: Text | None = Field(default=None, description="the approved text, as edited by the reviewer")
    post_id: UUID | None = Field(default=None, description="copywriting: the draft post to update")
    linkedin_account_id: UUID | None = Field(default=None, description="copywriting: create the post for it")


class Reject(StrictModel):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
