"""A trigger comment makes its author a lead: one per (campaign, commenter), with its DM sequence.

Comment polling calls `trigger_comment` for each new comment that matches a campaign's triggers, inside
its own transaction; the lead, its sequence, the timeline entry and the wake-up of step 1 are written in
that same transaction, so either all of it exists or none of it does.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from revos.campaigns.rules import send_block, sequence_policy, settings_of
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.leads import repo, sequence_repo
from revos.leads.lifecycle import base, timeline
from revos.runtime import Runtime
from revos.text import excerpt

_QUOTE = 140  # characters of the comment quoted on the timeline


def split_name(full_name: str | None) -> tuple[str | None, str | None]:
    parts = (full_name or "").strip().split(None, 1)
    if not parts:
        return None, None
    return parts[0], (parts[1] if len(parts) > 1 else None)


async def trigger_comment(
    runtime: Runtime, conn: Conn, *, comment: dict[str, Any], post: dict[str, Any], campaign: dict[str, Any]
) -> UUID | None:
    """A comment matched the campaign's triggers: make its author a lead and schedule step 1.

    Returns the new lead's id, or None when no lead was created: the commenter already is a lead of
    this campaign (a "commented again" event is added to that lead's timeline; no second sequence).
    `comment`, `post` and `campaign` are rows of those tables.
    """
    now = utcnow()
    linkedin_id = comment["author_linkedin_id"]
    first_name, last_name = split_name(comment.get("author_name"))
    comment_id = str(comment["id"]) if comment.get("id") else None
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
                f'commented again ("{excerpt(comment.get("content"), _QUOTE)}"); '
                "already a lead, so no second DM",
                data={"comment_id": comment_id},
            )
        return None

    lead_id: UUID = lead["id"]
    await timeline.record(
        conn,
        lead_id,
        timeline.DETECTED,
        f'commented "{excerpt(comment.get("content"), _QUOTE)}", which matches the campaign\'s trigger',
        data={
            "comment_id": comment_id,
            "unipile_comment_id": comment.get("unipile_comment_id"),
            "post_id": str(post["id"]) if post.get("id") else None,
        },
    )

    block = send_block(campaign, now)
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

    step1_at = sequence_policy(settings_of(campaign), runtime.settings).step1_at(now)
    sequence = await sequence_repo.insert_sequence(
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
    await base.due(runtime, conn, campaign["client_id"], sequence["id"], account_id, step1_at)
    return lead_id
