from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, EmailStr, Field

from revos.api.schemas import StrictModel

LeadStatus = Literal[
    "comment_detected",
    "dm_sent",
    "dm_replied",
    "email_captured",
    "webhook_sent",
    "backup_sent",
    "completed",
    "failed",
]


class Lead(BaseModel):
    id: UUID
    client_id: UUID
    campaign_id: UUID | None
    email: str | None
    first_name: str | None
    last_name: str | None
    linkedin_id: str
    linkedin_url: str | None
    company: str | None
    title: str | None
    source: str | None
    status: str | None
    comment_id: UUID | None
    dm_sequence_id: UUID | None
    custom_fields: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    sequence_status: str | None = None
    review_status: str | None = None
    email_extracted: str | None = None
    email_confidence: Decimal | None = None
    failure_reason: str | None = None


class Sequence(BaseModel):
    id: UUID
    status: str | None
    stage: str
    linkedin_account_id: UUID | None
    unipile_chat_id: str | None
    step1_scheduled_for: datetime | None
    step1_sent_at: datetime | None
    step1_status: str | None
    invitation_sent_at: datetime | None
    invitation_accepted_at: datetime | None
    last_reply_at: datetime | None
    email_extracted: str | None
    email_extracted_at: datetime | None
    email_confidence: Decimal | None
    review_status: str | None
    reviewed_at: datetime | None
    step2_sent_at: datetime | None
    step3_scheduled_for: datetime | None
    step3_sent_at: datetime | None
    download_url_expires_at: datetime | None
    link_clicked: bool | None
    link_clicked_at: datetime | None
    followup_sent_at: datetime | None
    next_action_at: datetime | None
    abandon_at: datetime | None
    completed_at: datetime | None
    failure_reason: str | None


class Message(BaseModel):
    id: UUID
    direction: str | None
    message: str
    unipile_message_id: str | None
    unipile_conversation_id: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None


class TimelineEvent(BaseModel):
    occurred_at: datetime
    kind: str
    reason: str | None
    data: dict[str, Any]


class LeadDetail(Lead):
    sequence: Sequence | None
    messages: list[Message]
    timeline: list[TimelineEvent]


class ReviewApprove(StrictModel):
    email: EmailStr | None = Field(default=None, description="the corrected address; omit to accept as found")


class ReviewReject(StrictModel):
    reason: str = Field(min_length=1, max_length=500)
