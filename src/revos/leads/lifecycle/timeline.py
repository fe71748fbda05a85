"""The per-lead timeline: every decision about a lead, with its time and a reason a person can read.

It answers "why didn't this person get a DM?": each event says what happened or what we waited for
(working hours, the account's daily cap, a paused campaign, an invitation not yet accepted…).
Events are appended in the transaction of the decision they explain, so the timeline never claims
something the database does not show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from revos.clock import utcnow
from revos.db.pool import Conn
from revos.leads import repo
from revos.leads.context import SequenceContext

# Kinds a client can filter on; `reason` carries the human sentence.
DETECTED = "detected"
COMMENTED_AGAIN = "commented_again"
SKIPPED = "skipped"
WAITING = "waiting"
PROFILE_CHECKED = "profile_checked"
INVITATION_SENT = "invitation_sent"
INVITATION_ACCEPTED = "invitation_accepted"
DM_SENT = "dm_sent"
SEND_UNCERTAIN = "send_uncertain"
RETRY_SCHEDULED = "retry_scheduled"
REPLY_RECEIVED = "reply_received"
EMAIL_EXTRACTED = "email_extracted"
NO_EMAIL = "no_email"
FOLLOW_UP_SENT = "follow_up_sent"
REVIEW_PENDING = "review_pending"
REVIEW_APPROVED = "review_approved"
REVIEW_REJECTED = "review_rejected"
WEBHOOK_QUEUED = "webhook_queued"
WEBHOOK_DELIVERED = "webhook_delivered"
BACKUP_SENT = "backup_sent"
LINK_CLICKED = "link_clicked"
COMPLETED = "completed"
ABANDONED = "abandoned"
FAILED = "failed"


def _ids(lead: UUID | SequenceContext) -> tuple[UUID, UUID | None]:
    """(lead id, client id when known): a sequence's context names both, which spares the table's trigger
    reading the lead's client."""
    if isinstance(lead, SequenceContext):
        return lead.lead_id, lead.client_id
    return lead, None


async def record(
    conn: Conn,
    lead: UUID | SequenceContext,
    kind: str,
    reason: str,
    *,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event to the lead's timeline (`lead`: its id, or its sequence's context)."""
    lead_id, client_id = _ids(lead)
    await repo.insert_event(conn, lead_id, kind, reason, data, at or utcnow(), client_id)


async def record_unless_repeated(
    conn: Conn, lead: UUID | SequenceContext, kind: str, reason: str, *, data: dict[str, Any] | None = None
) -> bool:
    """Append unless the latest event already says the same thing (a job re-checking a wait every few
    minutes should leave one line "waiting for working hours", not fifty)."""
    lead_id, _ = _ids(lead)
    last = await repo.last_event(conn, lead_id)
    if last is not None and last["kind"] == kind and last["reason"] == reason:
        return False
    await record(conn, lead, kind, reason, data=data)
    return True
