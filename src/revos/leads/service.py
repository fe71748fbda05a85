"""Rules for leads: one per (campaign, commenter), a status that only moves forward, a timeline that
explains every decision, and the human review of uncertain emails. Never commits.

Comment polling calls `on_trigger_comment` for each new comment that matches a campaign's triggers,
inside its own transaction; the lead, its DM sequence, the timeline entry and the deferred step-1 job
are written in that same transaction, so either all of it exists or none of it does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from revos.clock import utcnow
from revos.db.pool import Conn
from revos.dms import jobs
from revos.dms import repo as dm_repo
from revos.dms.policy import policy_for
from revos.errors import Conflict, NotFound
from revos.leads import repo, timeline
from revos.text import excerpt


def split_name(full_name: str | None) -> tuple[str | None, str | None]:
    parts = (full_name or "").strip().split(None, 1)
    if not parts:
        return None, None
    return parts[0], (parts[1] if len(parts) > 1 else None)


def campaign_block(campaign: dict[str, Any], now: datetime) -> tuple[str, str] | None:
    """Why a campaign cannot send now: ("ended" | "waiting", reason), or None when it can."""
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
    if starts_at is not None and now < starts_at:
        return "waiting", f"the campaign starts at {starts_at:%Y-%m-%d %H:%M} UTC"
    return None


async def on_trigger_comment(
    conn: Conn, *, comment: dict[str, Any], post: dict[str, Any], campaign: dict[str, Any]
) -> UUID | None:
    """A comment matched the campaign's triggers: make its author a lead and schedule step 1.

    Returns the new lead's id, or None when no lead was created: the commenter already is a lead of
    this campaign (a "commented again" event is added to that lead's timeline; no second sequence).
    `comment`, `post` and `campaign` are rows of those tables (dicts).
    """
    now = utcnow()
    linkedin_id = comment["author_linkedin_id"]
    first_name, last_name = split_name(comment.get("author_name"))
    lead = await repo.insert_if_new(
        conn,
        {
            "client_id": campaign["client_id"],
            "campaign_id": campaign["id"],
            "linkedin_id": linkedin_id,
            "linkedin_url": comment.get("author_profile_url"),
            "first_name": first_name,
            "last_name": last_name,
            "source": "comment",
            "status": "comment_detected",
            "comment_id": comment.get("id"),
        },
    )
    if lead is None:
        existing = await repo.by_commenter(conn, campaign["id"], linkedin_id)
        if existing is not None:
            await timeline.record(
                conn,
                existing["id"],
                timeline.COMMENTED_AGAIN,
                f'commented again ("{excerpt(comment.get("content"), 140)}"); '
                "already a lead, so no second DM",
                data={"comment_id": str(comment["id"]) if comment.get("id") else None},
            )
        return None

    lead_id: UUID = lead["id"]
    await timeline.record(
        conn,
        lead_id,
        timeline.DETECTED,
        f'commented "{excerpt(comment.get("content"), 140)}", which matches the campaign\'s trigger',
        data={
            "comment_id": str(comment["id"]) if comment.get("id") else None,
            "unipile_comment_id": comment.get("unipile_comment_id"),
            "post_id": str(post["id"]) if post.get("id") else None,
        },
    )

    block = campaign_block(campaign, now)
    if block is not None and block[0] == "ended":
        await repo.fail(conn, lead_id)
        await timeline.record(conn, lead_id, timeline.SKIPPED, f"no DM: {block[1]}")
        return lead_id
    account_id = post.get("linkedin_account_id")
    if account_id is None:
        await repo.fail(conn, lead_id)
        await timeline.record(
            conn, lead_id, timeline.FAILED, "no DM: the post has no LinkedIn account to send from"
        )
        return lead_id

    policy = policy_for(campaign.get("settings"))
    step1_at = policy.step1_at(now)
    sequence = await dm_repo.insert_sequence(
        conn,
        {
            "client_id": campaign["client_id"],
            "lead_id": lead_id,
            "campaign_id": campaign["id"],
            "linkedin_account_id": account_id,
            "status": "in_progress",
            "stage": "step1",
            "step1_scheduled_for": step1_at,
            "step1_status": "scheduled",
            "next_action_at": step1_at,
        },
    )
    await repo.set_sequence(conn, lead_id, sequence["id"])
    if block is not None:
        await timeline.record(conn, lead_id, timeline.WAITING, block[1])
    else:
        await timeline.record(
            conn,
            lead_id,
            timeline.WAITING,
            f"first DM scheduled for {step1_at:%Y-%m-%d %H:%M} UTC (a randomised gap after the comment)",
            data={"scheduled_for": step1_at.isoformat()},
        )
    await jobs.defer_step(conn, sequence["id"], account_id, at=step1_at)
    return lead_id


# --- reads -----------------------------------------------------------------------------------------------


async def get_lead(conn: Conn, lead_id: UUID) -> dict[str, Any]:
    lead = await repo.get(conn, lead_id)
    if lead is None:
        raise NotFound("lead not found")
    return lead


async def lead_detail(conn: Conn, lead_id: UUID) -> dict[str, Any]:
    """The lead with its sequence, every message both ways, and its timeline."""
    lead = await get_lead(conn, lead_id)
    sequence = await dm_repo.by_lead(conn, lead_id)
    messages = await dm_repo.messages(conn, sequence["id"]) if sequence else []
    return {
        **lead,
        "sequence": sequence,
        "messages": messages,
        "timeline": await timeline.events(conn, lead_id),
    }


async def lead_timeline(conn: Conn, lead_id: UUID) -> list[dict[str, Any]]:
    await get_lead(conn, lead_id)
    return await timeline.events(conn, lead_id)


def require_pending_review(sequence: dict[str, Any] | None) -> dict[str, Any]:
    if sequence is None or sequence.get("review_status") != "pending":
        raise Conflict("this lead has no email waiting for review")
    return sequence


async def approve_review(
    conn: Conn, lead_id: UUID, *, email: str | None, reviewer: UUID | None
) -> dict[str, Any]:
    """Accept the extracted email (or a corrected one): the sequence continues with step 2."""
    from revos.leads import flow

    await get_lead(conn, lead_id)
    sequence = require_pending_review(await dm_repo.by_lead(conn, lead_id))
    await flow.approve(conn, sequence["id"], email=email, reviewer=reviewer)
    return await lead_detail(conn, lead_id)


async def reject_review(conn: Conn, lead_id: UUID, *, reason: str, reviewer: UUID | None) -> dict[str, Any]:
    """Not an email after all: back to waiting for one (with one follow-up if none was sent yet)."""
    from revos.leads import flow

    await get_lead(conn, lead_id)
    sequence = require_pending_review(await dm_repo.by_lead(conn, lead_id))
    await flow.reject(conn, sequence["id"], reason=reason, reviewer=reviewer)
    return await lead_detail(conn, lead_id)


async def existing_user(conn: Conn, user_id: UUID) -> UUID | None:
    row = await (await conn.execute("select id from users where id = %s", (user_id,))).fetchone()
    return row["id"] if row else None


async def record_link_click(conn: Conn, sequence_id: UUID) -> dict[str, Any]:
    """A genuine download link was opened: count the download; on the first click mark the link
    clicked, complete the lead and tell the client's webhook. Returns the lead magnet's row."""
    from revos.magnets.service import record_download
    from revos.webhooks.service import enqueue_lead_completed, enqueue_link_clicked

    row = await dm_repo.by_download_token(conn, sequence_id)
    if row is None or row["lead_magnet_id"] is None:
        raise NotFound("the file behind this link is no longer available")
    magnet = await (
        await conn.execute("select * from lead_magnets where id = %s", (row["lead_magnet_id"],))
    ).fetchone()
    if magnet is None:
        raise NotFound("the file behind this link is no longer available")
    now = utcnow()
    first = await dm_repo.mark_clicked(conn, sequence_id, now)
    await record_download(conn, row["lead_magnet_id"])
    if first:
        lead_id = row["lead_id"]
        await timeline.record(conn, lead_id, timeline.LINK_CLICKED, "opened the download link (first click)")
        await enqueue_link_clicked(conn, client_id=row["client_id"], lead_id=lead_id, clicked_at=now)
        if await repo.advance(conn, lead_id, "completed"):
            await timeline.record(conn, lead_id, timeline.COMPLETED, "completed: they have the lead magnet")
            await enqueue_lead_completed(conn, client_id=row["client_id"], lead_id=lead_id)
    return magnet
