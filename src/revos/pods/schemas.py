"""Bodies and views of /v1/pods, and `PodSettings`: the one validated reading of a pod's `settings`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from revos.errors import ValidationFailed

PodStatus = Literal["active", "paused"]
MemberStatus = Literal["active", "paused", "removed"]
Role = Literal["owner", "member"]
Kind = Literal["like", "comment", "repost"]
ActivityStatus = Literal["pending", "completed", "failed", "skipped"]


class QuietHours(BaseModel):
    """Local hours (in each member account's time zone) when the pod never engages; may wrap midnight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: float = Field(ge=0, le=24)
    end: float = Field(ge=0, le=24)

    def contains(self, hour: float) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end


class PodSettings(BaseModel):
    """A pod's `settings` document; every reading goes through this model (defaults for what is unset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engage_share: float = Field(default=0.6, gt=0, le=1, description="share of the other members per post")
    comment_share: float = Field(default=0.35, ge=0, le=1, description="share of engaging members commenting")
    min_delay_seconds: int = Field(default=90, ge=0, le=3600, description="nothing sooner after publication")
    reposts: bool = False
    repost_share: float = Field(default=0.1, ge=0, le=1, description="share of engaging members reposting")
    repost_window_minutes: int | None = Field(
        default=None, ge=5, le=2880, description="reposts happen inside it; none: the like window"
    )
    daily_engagements_per_member: int = Field(default=20, ge=1, le=500)
    quiet_hours: QuietHours | None = None
    comment_approval: bool = False
    author_recent_posts: int = Field(default=5, ge=1, le=100, description="the author's posts looked back on")
    author_max_engagements: int = Field(default=3, ge=1, le=100, description="per member over those posts")
    participation_window_days: int = Field(default=30, ge=1, le=365)
    participation_pause_below: float = Field(default=0.4, ge=0, le=1)
    participation_min_activities: int = Field(default=5, ge=1, le=1000)
    verify_every_minutes: int = Field(default=10, ge=1, le=1440, description="manual pods: look at posts")

    @model_validator(mode="after")
    def _author_cap(self) -> PodSettings:
        if self.author_max_engagements > self.author_recent_posts:
            raise ValueError("author_max_engagements cannot exceed author_recent_posts")
        return self

    @classmethod
    def parse(cls, document: Mapping[str, Any] | None) -> PodSettings:
        try:
            return cls.model_validate(dict(document or {}))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            raise ValidationFailed(f"settings.{where}: {error['msg']}" if where else error["msg"]) from None

    @classmethod
    def of_row(cls, document: Mapping[str, Any] | None) -> PodSettings:
        """A stored document (validated when written); the defaults if it no longer validates."""
        try:
            return cls.model_validate(dict(document or {}))
        except ValidationError:
            return cls()


class PodCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    min_members: int = Field(default=9, ge=2, le=1000)
    auto_engage: bool = True
    engagement_window_minutes: int = Field(default=30, ge=5, le=1440, description="likes")
    comment_window_minutes: int = Field(default=180, ge=5, le=2880, description="comments")
    settings: dict[str, Any] = Field(default_factory=dict)
    status: PodStatus = "paused"  # active needs min_members active members
    client_id: UUID | None = None  # agency staff name the client


class PodUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    min_members: int | None = Field(default=None, ge=2, le=1000)
    auto_engage: bool | None = None
    engagement_window_minutes: int | None = Field(default=None, ge=5, le=1440)
    comment_window_minutes: int | None = Field(default=None, ge=5, le=2880)
    settings: dict[str, Any] | None = None
    status: PodStatus | None = None


class Pod(BaseModel):
    id: UUID
    client_id: UUID
    name: str
    description: str | None
    min_members: int
    auto_engage: bool
    engagement_window_minutes: int
    comment_window_minutes: int
    settings: dict[str, Any]
    status: str
    status_reason: str | None
    active_members: int = 0
    created_at: datetime
    updated_at: datetime


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UUID
    linkedin_account_id: UUID
    role: Role = "member"


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    status: MemberStatus | None = None
    linkedin_account_id: UUID | None = None


class Member(BaseModel):
    id: UUID
    pod_id: UUID
    user_id: UUID
    linkedin_account_id: UUID
    role: str
    status: str
    status_reason: str | None
    participation_score: float
    total_engagements: int
    missed_engagements: int
    joined_at: datetime


class PostSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: UUID = Field(description="the member whose post it is")
    post_url: str = Field(min_length=10, max_length=2000)
    text: str | None = Field(default=None, max_length=5000, description="the post's text, if known")
    published_at: datetime | None = None


class PodPost(BaseModel):
    id: UUID
    pod_id: UUID
    author_member_id: UUID
    post_id: UUID | None
    post_url: str
    social_id: str | None
    published_at: datetime
    scheduled: int = 0
    skipped: int = 0


class Activity(BaseModel):
    id: UUID
    pod_id: UUID
    pod_post_id: UUID | None
    post_url: str
    post_author_id: UUID | None
    member_id: UUID
    engagement_type: str
    status: str
    scheduled_for: datetime | None
    window_ends_at: datetime | None
    executed_at: datetime | None
    comment_text: str | None
    approval: str | None
    error_message: str | None
    verified: bool
    created_at: datetime


class Approve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, min_length=1, max_length=1250, description="edited comment")


class Reject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class Task(BaseModel):
    """Manual mode: one thing for a member to do on LinkedIn, with where to do it."""

    activity_id: UUID
    engagement_type: str
    post_url: str
    deep_link: str
    suggested_comment: str | None
    do_after: datetime | None
    do_before: datetime | None
