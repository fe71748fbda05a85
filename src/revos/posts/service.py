"""Rules for posts: drafting from the campaign's template, scheduling, and what may change when.

    draft ──schedule──▶ scheduled ──(dispatcher, at scheduled_for)──▶ published
      ▲                    │ └──────────────────────────────────────▶ failed (with failure_reason)
      └────unschedule──────┘

A published or failed post is final: a failed post is never retried under a new action key by itself
(create a new post to try again), so a post can never appear twice on LinkedIn. Never commits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from revos import events
from revos.accounts import repo as accounts
from revos.campaigns import service as campaigns
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import Conflict, NotFound, ValidationFailed
from revos.magnets import service as magnets
from revos.posts import repo, schemas
from revos.runtime import Runtime

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
EDITABLE = frozenset({"draft", "scheduled"})


class PostNotEditable(Conflict):
    code = "post_not_editable"


def render_post_template(template: str, campaign: Mapping[str, Any], magnet: Mapping[str, Any] | None) -> str:
    words = campaigns.trigger_words_of(campaign)
    values = {
        "trigger_word": words[0] if words else "",
        "campaign_name": campaign.get("name") or "",
        "lead_magnet_name": (magnet or {}).get("name") or "",
        "lead_magnet_description": (magnet or {}).get("description") or "",
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template).strip()


def view(row: Mapping[str, Any]) -> schemas.Post:
    seen = int(row.get("comments_seen") or 0)
    provider = row.get("provider_comment_count")
    coverage = None
    if provider is not None:
        coverage = 1.0 if provider <= 0 else round(min(1.0, seen / provider), 4)
    return schemas.Post.model_validate(
        {**row, "metrics": row.get("metrics") or {}, "comments_seen": seen, "coverage": coverage}
    )


async def get_post(conn: Conn, post_id: UUID, *, for_update: bool = False) -> dict[str, Any]:
    row = await repo.get(conn, post_id, for_update=for_update)
    if row is None:
        raise NotFound("post not found")
    return row


async def _check_account(conn: Conn, account_id: UUID, client_id: UUID) -> None:
    account = await accounts.get(conn, account_id)
    if account is None or account["client_id"] != client_id:
        raise ValidationFailed("linkedin_account_id: no such LinkedIn account in this campaign's client")


async def _draft_content(conn: Conn, campaign: Mapping[str, Any]) -> str:
    template = campaign.get("post_template")
    if not template:
        raise ValidationFailed("content is required: the campaign has no post_template to draft from")
    magnet = (
        await magnets.get_magnet(conn, campaign["lead_magnet_id"]) if campaign.get("lead_magnet_id") else None
    )
    content = render_post_template(template, campaign, magnet)
    if not content:
        raise ValidationFailed("the campaign's post_template renders to an empty post")
    if len(content) > 3000:
        raise ValidationFailed("the drafted post exceeds LinkedIn's 3000 characters; shorten the template")
    return content


def _check_schedulable(campaign: Mapping[str, Any], when: datetime) -> None:
    if campaign["status"] == "completed":
        raise Conflict("the campaign is completed: it publishes no more posts")
    ends_at = campaign.get("ends_at")
    if ends_at is not None and when >= ends_at:
        raise ValidationFailed(f"scheduled_for is after the campaign ends ({ends_at.isoformat()})")


async def create_post(conn: Conn, body: schemas.PostCreate) -> dict[str, Any]:
    campaign = await campaigns.get_campaign(conn, body.campaign_id)
    await _check_account(conn, body.linkedin_account_id, campaign["client_id"])
    content = body.content or await _draft_content(conn, campaign)
    values: dict[str, Any] = {
        "client_id": campaign["client_id"],
        "campaign_id": campaign["id"],
        "linkedin_account_id": body.linkedin_account_id,
        "content": content,
        "trigger_word": campaign["trigger_word"],
        "status": "draft",
    }
    if body.scheduled_for is not None:
        _check_schedulable(campaign, body.scheduled_for)
        values |= {"status": "scheduled", "scheduled_for": body.scheduled_for}
    return await repo.insert(conn, values)


async def update_post(conn: Conn, post_id: UUID, body: schemas.PostUpdate) -> dict[str, Any]:
    post = await get_post(conn, post_id, for_update=True)
    if post["status"] not in EDITABLE:
        raise PostNotEditable(f"a {post['status']} post cannot be edited")
    changes = body.model_dump(exclude_unset=True)
    for field in ("content", "linkedin_account_id"):
        if field in changes and changes[field] is None:
            raise ValidationFailed(f"{field} cannot be null")
    if "linkedin_account_id" in changes:
        await _check_account(conn, changes["linkedin_account_id"], post["client_id"])
    row = await repo.update(conn, post_id, changes)
    assert row is not None
    return row


async def schedule(conn: Conn, post_id: UUID, when: datetime) -> dict[str, Any]:
    post = await get_post(conn, post_id, for_update=True)
    if post["status"] not in EDITABLE:
        raise PostNotEditable(f"a {post['status']} post cannot be scheduled")
    if post["campaign_id"] is not None:
        _check_schedulable(await campaigns.get_campaign(conn, post["campaign_id"]), when)
    row = await repo.update(
        conn,
        post_id,
        {"status": "scheduled", "scheduled_for": when, "publish_claimed_until": None, "publish_note": None},
    )
    assert row is not None
    return row


async def unschedule(conn: Conn, post_id: UUID) -> dict[str, Any]:
    post = await get_post(conn, post_id, for_update=True)
    if post["status"] != "scheduled":
        raise PostNotEditable(f"a {post['status']} post is not scheduled")
    if post.get("publish_claimed_until") is not None and post["publish_claimed_until"] > utcnow():
        raise Conflict("the post is being published right now")
    row = await repo.update(conn, post_id, {"status": "draft", "scheduled_for": None, "publish_note": None})
    assert row is not None
    return row


async def publish_now(conn: Conn, post_id: UUID) -> dict[str, Any]:
    """Schedule for now; the caller defers the publish job after this (same transaction)."""
    post = await get_post(conn, post_id, for_update=True)
    if post["status"] == "published":
        raise PostNotEditable("the post is already published")
    if post["status"] not in EDITABLE:
        raise PostNotEditable(f"a {post['status']} post cannot be published; create a new post to try again")
    if post["campaign_id"] is not None:
        campaign = await campaigns.get_campaign(conn, post["campaign_id"])
        now = utcnow()
        if not campaigns.is_running(campaign, now):
            raise campaigns.CampaignNotRunnable(
                f"the campaign is {campaign['status']}"
                + (" and not within starts_at/ends_at" if campaign["status"] == "active" else "")
                + ": activate it before publishing"
            )
    if (
        post["status"] == "scheduled"
        and post["scheduled_for"] is not None
        and post["scheduled_for"] <= utcnow()
    ):
        return post
    row = await repo.update(
        conn, post_id, {"status": "scheduled", "scheduled_for": utcnow(), "publish_note": None}
    )
    assert row is not None
    return row


async def delete_post(conn: Conn, post_id: UUID) -> None:
    post = await get_post(conn, post_id, for_update=True)
    if post["status"] == "published":
        raise PostNotEditable("a published post stays (its comments and leads hang on it)")
    if post.get("publish_claimed_until") is not None and post["publish_claimed_until"] > utcnow():
        raise Conflict("the post is being published right now")
    await repo.delete(conn, post_id)


async def request_poll(conn: Conn, post_id: UUID, *, full: bool) -> dict[str, Any]:
    post = await get_post(conn, post_id, for_update=True)
    if post["status"] != "published":
        raise PostNotEditable("only a published post has comments to poll")
    changes: dict[str, Any] = {"poll_next_at": utcnow()}
    if full:
        changes["last_full_scan_at"] = None  # the next poll then reads everything
    row = await repo.update(conn, post_id, changes)
    assert row is not None
    return row


async def on_first_dm_sent(runtime: Runtime, conn: Conn, event: events.FirstDmSent) -> None:
    """The comment that made the lead has had its DM (revos.events.FirstDmSent)."""
    await repo.mark_comment_dm_sent(conn, event.comment_id, event.at)
