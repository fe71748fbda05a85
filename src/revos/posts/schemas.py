"""Post and comment bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from revos.api.schemas import PatchModel, StrictModel

# LinkedIn's limit for a post's text.
Content = Annotated[str, StringConstraints(min_length=1, max_length=3000)]
Status = Literal["draft", "scheduled", "published", "failed"]


class PostCreate(StrictModel):
    campaign_id: UUID
    linkedin_account_id: UUID = Field(description="the account that publishes the post")
    content: Content | None = Field(
        default=None, description="omit to draft from the campaign's post_template"
    )
    scheduled_for: AwareDatetime | None = Field(default=None, description="set = scheduled; omit = draft")


class PostUpdate(PatchModel):
    content: Content | None = None
    linkedin_account_id: UUID | None = None


class PostSchedule(StrictModel):
    scheduled_for: AwareDatetime


class Post(BaseModel):
    id: UUID
    client_id: UUID
    campaign_id: UUID | None
    linkedin_account_id: UUID | None
    status: Status
    content: str
    trigger_word: str | None
    scheduled_for: datetime | None
    published_at: datetime | None
    unipile_post_id: str | None
    social_id: str | None
    post_url: str | None
    failure_reason: str | None = Field(description="why publishing failed (status failed)")
    publish_note: str | None = Field(description="why a due post has not gone out yet")
    metrics: dict[str, Any] = Field(description="impressions, likes, comments, shares")
    last_polled_at: datetime | None
    poll_next_at: datetime | None
    last_full_scan_at: datetime | None
    last_poll_error: str | None
    comments_seen: int = Field(description="comments and replies stored for this post")
    provider_comment_count: int | None = Field(description="LinkedIn's comment_counter at the last poll")
    coverage: float | None = Field(description="comments_seen / provider_comment_count (capped at 1)")
    created_at: datetime
    updated_at: datetime


class Comment(BaseModel):
    id: UUID
    post_id: UUID
    unipile_comment_id: str | None
    parent_unipile_comment_id: str | None
    author_name: str
    author_linkedin_id: str
    author_profile_url: str | None
    author_network_distance: str | None
    content: str
    has_trigger_word: bool
    dm_sent: bool
    commented_at: datetime | None
    created_at: datetime
