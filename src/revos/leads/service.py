"""What the API asks of leads: reads (a lead with its sequence, messages and timeline), the review of
uncertain emails, and the download link being opened. Decisions are the lifecycle's
(revos.leads.lifecycle); this module finds the rows and checks what a person may do. Never commits.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from revos.db.pool import Conn
from revos.errors import Conflict, NotFound
from revos.leads import repo, sequence_repo
from revos.leads.lifecycle import conversation, handover
from revos.magnets.service import get_magnet, record_download
from revos.runtime import Runtime

_GONE = "the file behind this link is no longer available"


async def get_lead(conn: Conn, lead_id: UUID) -> dict[str, Any]:
    lead = await repo.get(conn, lead_id)
    if lead is None:
        raise NotFound("lead not found")
    return lead


async def lead_detail(conn: Conn, lead_id: UUID) -> dict[str, Any]:
    """The lead with its sequence, every message both ways, and its timeline."""
    lead = await get_lead(conn, lead_id)
    sequence = await sequence_repo.by_lead(conn, lead_id)
    messages = await sequence_repo.messages(conn, sequence["id"]) if sequence else []
    return {**lead, "sequence": sequence, "messages": messages, "timeline": await repo.events(conn, lead_id)}


async def lead_timeline(conn: Conn, lead_id: UUID) -> list[dict[str, Any]]:
    await get_lead(conn, lead_id)
    return await repo.events(conn, lead_id)


async def _pending_review(conn: Conn, lead_id: UUID) -> UUID:
    await get_lead(conn, lead_id)
    sequence = await sequence_repo.by_lead(conn, lead_id)
    if sequence is None or sequence.get("review_status") != "pending":
        raise Conflict("this lead has no email waiting for review")
    sequence_id: UUID = sequence["id"]
    return sequence_id


async def approve_review(
    runtime: Runtime, conn: Conn, lead_id: UUID, *, email: str | None, reviewer: UUID | None
) -> dict[str, Any]:
    """Accept the extracted email (or a corrected one): the sequence continues with step 2."""
    sequence_id = await _pending_review(conn, lead_id)
    await conversation.approve(runtime, conn, sequence_id, email=email, reviewer=reviewer)
    return await lead_detail(conn, lead_id)


async def reject_review(
    runtime: Runtime, conn: Conn, lead_id: UUID, *, reason: str, reviewer: UUID | None
) -> dict[str, Any]:
    """Not an email after all: back to waiting for one (with one follow-up if none was sent yet)."""
    sequence_id = await _pending_review(conn, lead_id)
    await conversation.reject(runtime, conn, sequence_id, reason=reason, reviewer=reviewer)
    return await lead_detail(conn, lead_id)


async def existing_user(conn: Conn, user_id: UUID) -> UUID | None:
    return user_id if await repo.user_exists(conn, user_id) else None


async def record_link_click(runtime: Runtime, conn: Conn, sequence_id: UUID) -> dict[str, Any]:
    """A genuine download link was opened: count the download; on the first click the lead completes
    (revos.leads.lifecycle.handover). Returns the lead magnet's row."""
    link = await sequence_repo.by_download_token(conn, sequence_id)
    if link is None or link["lead_magnet_id"] is None:
        raise NotFound(_GONE)
    try:
        magnet = await get_magnet(conn, link["lead_magnet_id"])
    except NotFound:
        raise NotFound(_GONE) from None
    await handover.link_clicked(runtime, conn, link)
    await record_download(conn, link["lead_magnet_id"])
    return magnet
