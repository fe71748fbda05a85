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


async def record(
    conn: Conn,
    lead_id: UUID,
    kind: str,
    reason: str,
    *,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event to the lead's timeline."""
    await repo.insert_event(conn, lead_id, kind, reason, data, at or utcnow())


async def record_unless_repeated(
    conn: Conn, lead_id: UUID, kind: str, reason: str, *, data: dict[str, Any] | None = None
) -> bool:
    """Append unless the latest event already says the same thing (a job re-checking a wait every few
    minutes should leave one line "waiting for working hours", not fifty)."""
    last = await repo.last_event(conn, lead_id)
    if last is not None and last["kind"] == kind and last["reason"] == reason:
        return False
    await record(conn, lead_id, kind, reason, data=data)
    return True
