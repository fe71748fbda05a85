"""Manual pods (`auto_engage = false`): members engage by hand; revOS lists what to do and verifies it.

`tasks_for(conn, member_id, now)` is a member's list (`GET /v1/pods/{id}/tasks?member=…`): each open
like, comment or repost with the post's deep link, a suggested comment in the member's voice (drafted by the
executor's tick, revos.pods.comments) and when to do it (`do_after`, `do_before`).

`verify_due(runtime)` (the worker's periodic `pods.verify`) reads each due post's reactions and comments
through Unipile's list endpoints, as the post's author's account, every `verify_every_minutes`: a
pending like is credited when the member's LinkedIn id is among the reactions, a comment when a
comment by the member is on the post (its text kept), a repost when the member's own latest posts hold
a repost of it. Nothing else is credited. The first look after
every window has closed settles the rest as missed, and the post is not read again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos.accounts.provider import linkedin_client
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.linkedin import UnipileClient
from revos.linkedin.errors import UnipileError
from revos.pods import manual_repo, scoring
from revos.pods.scheduling import deep_link
from revos.pods.schemas import PodSettings, Task
from revos.runtime import Runtime

log = logging.getLogger("revos.pods")
MAX_ITEMS = 1000
MAX_REPOSTS_SCANNED = 100  # a member's latest posts looked through for a repost
NOT_SEEN = "not seen on the post before the window closed"


async def tasks_for(conn: Conn, member_id: UUID, now: datetime) -> list[Task]:
    return [
        Task(
            activity_id=r["id"],
            engagement_type=r["engagement_type"],
            post_url=r["post_url"],
            deep_link=deep_link(r["post_url"], r["social_id"]),
            suggested_comment=r["comment_text"] if r["engagement_type"] == "comment" else None,
            do_after=r["scheduled_for"],
            do_before=r["window_ends_at"],
        )
        for r in await manual_repo.manual_tasks(conn, member_id, now)
    ]


async def verify_due(runtime: Runtime, *, limit: int | None = None, now: datetime | None = None) -> int:
    """Verify every due post of manual pods; returns how many engagements were credited."""
    now = now or utcnow()
    limit = limit or runtime.settings.pods_verify_batch
    async with runtime.db.service(actor="pods") as conn:
        due = await manual_repo.claim_verification(conn, now, limit, timedelta(minutes=5))
    credited = 0
    for pod_post_id in due:
        credited += await verify_post(runtime, pod_post_id, now=now)
    return credited


async def verify_post(runtime: Runtime, pod_post_id: UUID, *, now: datetime | None = None) -> int:
    now = now or utcnow()
    async with runtime.db.service(actor="pods") as conn:
        post = await manual_repo.verification_context(conn, pod_post_id)
    if post is None:
        return 0
    settings = PodSettings.of_row(post["pod_settings"])
    if not post["pending"]:
        async with runtime.db.service(actor="pods") as conn:
            await manual_repo.next_verification(conn, pod_post_id, None)
        return 0
    try:
        reactors, commenters, reposters = await _seen(linkedin_client(runtime), post)
    except UnipileError as exc:
        log.warning("pod post %s: could not read its engagement (%s)", pod_post_id, exc)
        async with runtime.db.service(actor="pods") as conn:
            await manual_repo.next_verification(conn, pod_post_id, now + timedelta(minutes=5))
        return 0
    credited, open_left = 0, False
    async with runtime.db.service(actor="pods") as conn:
        for a in post["pending"]:
            pid = a["provider_id"]
            seen = pid in {"like": reactors, "comment": commenters, "repost": reposters}[a["engagement_type"]]
            if pid and seen:
                await manual_repo.mark_verified(conn, a["id"], commenters.get(pid))
                await scoring.settle(conn, a["id"], status="completed", error=None, missed=False, now=now)
                credited += 1
            elif now >= a["window_ends_at"]:
                await scoring.settle(conn, a["id"], status="skipped", error=NOT_SEEN, missed=True, now=now)
            else:
                open_left = True
        later = now + timedelta(minutes=settings.verify_every_minutes)
        if open_left:
            last = max(a["window_ends_at"] for a in post["pending"])
            later = min(later, last) if last > now else later
        await manual_repo.next_verification(conn, pod_post_id, later if open_left else None)
    return credited


async def _seen(client: UnipileClient, post: dict[str, Any]) -> tuple[set[str], dict[str, str], set[str]]:
    """Who reacted to the post, who commented on it (their latest comment's text), and which of the
    members with a repost to do have reposted it (each one's own posts read: LinkedIn lists no reposts
    of a post)."""
    if not post["social_id"] or not post["reader"]:
        raise UnipileError("the post or its author's account is unknown to LinkedIn")
    reactors: set[str] = set()
    async for reaction in client.iter_reactions(post["social_id"], post["reader"]):
        if reaction.author.id:
            reactors.add(reaction.author.id)
        if len(reactors) >= MAX_ITEMS:
            break
    commenters: dict[str, str] = {}
    scanned = 0
    async for comment in client.iter_comments(post["social_id"], post["reader"], include_replies=True):
        scanned += 1
        if comment.author_details.id and comment.author_details.id not in commenters:
            commenters[comment.author_details.id] = comment.text
        if scanned >= MAX_ITEMS:
            break
    reposters: set[str] = set()
    original = {post["social_id"], post["social_id"].rsplit(":", 1)[-1]}
    for pid in {a["provider_id"] for a in post["pending"] if a["engagement_type"] == "repost"} - {None}:
        scanned = 0
        async for own in client.iter_user_posts(pid, post["reader"], limit=50):
            scanned += 1
            if own.is_repost and own.repost_id in original:
                reposters.add(pid)
                break
            if scanned >= MAX_REPOSTS_SCANNED:
                break
    return reactors, commenters, reposters
