"""A trigger comment makes its author a lead: one per (campaign, commenter), with its DM sequence.

Comment polling calls `trigger_comments` with the new comments of a page that match a campaign's triggers,
inside its own transaction; the leads, their sequences, their timeline entries and the wake-up of step 1
are written in that same transaction, so either all of it exists or none of it does. The leads and their
sequences are one statement, the timeline entries another, whatever the number of comments.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from revos.campaigns.rules import send_block, sequence_policy, settings_of
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.leads import repo
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
    (lead_id,) = await trigger_comments(runtime, conn, comments=[comment], post=post, campaign=campaign)
    return lead_id


async def trigger_comments(
    runtime: Runtime,
    conn: Conn,
    *,
    comments: list[dict[str, Any]],
    post: dict[str, Any],
    campaign: dict[str, Any],
) -> list[UUID | None]:
    """`trigger_comment` for comments under one post (a page of comment polling), in a few statements
    whatever their number: the leads and their sequences in one, their timeline events in another, and
    one wake-up of the account's DM run for the earliest first DM. Returns, per comment, the new lead's
    id or None (its author already was a lead: the comment is on that lead's timeline)."""
    if not comments:
        return []
    now = utcnow()
    client_id: UUID = campaign["client_id"]
    block = send_block(campaign, now)
    account_id = post.get("linkedin_account_id")
    ends = (block is not None and block[0] == "ended") or account_id is None
    policy = sequence_policy(settings_of(campaign), runtime.settings)
    rows: list[dict[str, Any]] = []
    for comment in comments:
        first_name, last_name = split_name(comment.get("author_name"))
        sequence_id = None if ends else uuid4()
        rows.append(
            {
                "id": uuid4(),
                "linkedin_id": comment["author_linkedin_id"],
                "linkedin_url": comment.get("author_profile_url"),
                "first_name": first_name,
                "last_name": last_name,
                "comment_id": comment.get("id"),
                # A lead that gets no DM fails at once (the timeline says why).
                "status": "failed" if ends else "comment_detected",
                "sequence_id": sequence_id,
                "step1_at": None if ends else policy.step1_at(now),
            }
        )
    created = await repo.create_leads(
        conn, client_id=client_id, campaign_id=campaign["id"], linkedin_account_id=account_id, rows=rows
    )
    known = await repo.by_commenters(
        conn,
        campaign["id"],
        [row["linkedin_id"] for row in rows if row["id"] not in created],
    )
    events: list[tuple[Any, ...]] = []

    def event(lead_id: UUID, kind: str, reason: str, data: dict[str, Any] | None = None) -> None:
        events.append((lead_id, kind, reason, data, utcnow()))

    results: list[UUID | None] = []
    again: list[tuple[UUID, dict[str, Any]]] = []
    first_due: tuple[datetime, UUID] | None = None
    for comment, row in zip(comments, rows, strict=True):
        lead_id: UUID = row["id"]
        comment_id = str(comment["id"]) if comment.get("id") else None
        if lead_id not in created:
            results.append(None)
            existing = known.get(row["linkedin_id"])
            if existing is not None:
                again.append((existing, comment))
            continue
        results.append(lead_id)
        event(
            lead_id,
            timeline.DETECTED,
            f'commented "{excerpt(comment.get("content"), _QUOTE)}", which matches the campaign\'s trigger',
            {
                "comment_id": comment_id,
                "unipile_comment_id": comment.get("unipile_comment_id"),
                "post_id": str(post["id"]) if post.get("id") else None,
            },
        )
        if block is not None and block[0] == "ended":
            event(lead_id, timeline.SKIPPED, f"no DM: {block[1]}")
            continue
        if account_id is None:
            event(lead_id, timeline.FAILED, "no DM: the post has no LinkedIn account to send from")
            continue
        step1_at: datetime = row["step1_at"]
        if block is not None:
            event(lead_id, timeline.WAITING, block[1])
        else:
            event(
                lead_id,
                timeline.WAITING,
                f"first DM scheduled for {step1_at:%Y-%m-%d %H:%M} UTC (a randomised gap after the comment)",
                {"scheduled_for": step1_at.isoformat()},
            )
        if first_due is None or step1_at < first_due[0]:
            first_due = (step1_at, row["sequence_id"])
    # A commenter already a lead (earlier, or earlier in these comments): said after their lead's events.
    for existing, comment in again:
        event(
            existing,
            timeline.COMMENTED_AGAIN,
            f'commented again ("{excerpt(comment.get("content"), _QUOTE)}"); already a lead, so no second DM',
            {"comment_id": str(comment["id"]) if comment.get("id") else None},
        )
    await repo.insert_events(conn, client_id, events)
    if first_due is not None:
        # The account's run takes every due sequence in due order: waking it for the earliest is enough.
        await base.due(runtime, conn, client_id, first_due[1], account_id, first_due[0])
    return results
