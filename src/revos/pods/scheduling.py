"""Scheduling a pod's engagement with one post, in the caller's transaction.

Two ways in: `on_post_published` (subscribed to `events.PostPublished` in revos/events.py: a member's
revOS post went live) and `schedule_post` (also behind `POST /v1/pods/{id}/posts`, a member's post URL).
Each pod schedules a post once (`pod_posts` is unique per pod and URL): a replayed event plans nothing.
What is planned, and when, is revos.pods.planning's.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos import events
from revos.accounts.safety import Policy
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import ValidationFailed
from revos.pods import planning, repo
from revos.pods.schemas import PodSettings
from revos.runtime import Runtime

AUTOMATIC_PAUSES = ("rate_limited", "provider_error")  # lifted when `paused_until` passes
_ACTIVITY_ID = re.compile(r"(?:urn:li:(?:activity|ugcPost|share):|activity[-:_])(\d{6,})")


@dataclass(frozen=True)
class PostRef:
    """The post a pod engages with."""

    post_url: str
    social_id: str | None
    text: str | None
    published_at: datetime
    post_id: UUID | None = None


@dataclass(frozen=True)
class Scheduled:
    pod_post: dict[str, Any] | None  # None: the pod had this post already
    planned: list[planning.Planned]

    @property
    def pending(self) -> int:
        return sum(1 for p in self.planned if p.scheduled_for is not None)

    @property
    def skipped(self) -> int:
        return sum(1 for p in self.planned if p.scheduled_for is None)


def social_id_of(url: str) -> str:
    """`urn:li:activity:<n>` from a LinkedIn post URL (…activity-<n>…, …/urn:li:activity:<n>, a URN)."""
    found = _ACTIVITY_ID.search(url)
    if found is None:
        raise ValidationFailed(
            "post_url: not a LinkedIn post URL (expected …/posts/…-activity-<id>… or …urn:li:activity:<id>)"
        )
    return f"urn:li:activity:{found.group(1)}"


def deep_link(post_url: str, social_id: str | None) -> str:
    """Where a person opens the post: the feed URL of its activity (LinkedIn's app opens it too)."""
    if social_id:
        return f"https://www.linkedin.com/feed/update/{social_id}/"
    return post_url


async def schedule_post(
    runtime: Runtime,
    conn: Conn,
    *,
    pod: dict[str, Any],
    author: dict[str, Any],
    ref: PostRef,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Scheduled:
    """Plan the pod's likes, comments (and reposts) of `author`'s post and write them as activities."""
    now = now or utcnow()
    rng = rng or random.Random()
    settings = PodSettings.of_row(pod["settings"])
    pod_post = await repo.insert_pod_post(
        conn,
        {
            "client_id": pod["client_id"],
            "pod_id": pod["id"],
            "author_member_id": author["id"],
            "post_id": ref.post_id,
            "post_url": ref.post_url,
            "social_id": ref.social_id,
            "post_text": ref.text,
            "published_at": ref.published_at,
            "verify_next_at": None
            if pod["auto_engage"]
            else now + timedelta(minutes=settings.verify_every_minutes),
        },
    )
    if pod_post is None:
        return Scheduled(None, [])
    rows = await repo.candidates(
        conn,
        pod_id=pod["id"],
        author_member_id=author["id"],
        recent_posts=settings.author_recent_posts,
        now=now,
        since=now - timedelta(days=1),
    )
    elsewhere = await repo.engaged_elsewhere(
        conn,
        client_id=pod["client_id"],
        pod_id=pod["id"],
        social_id=ref.social_id,
        post_url=ref.post_url,
        account_ids=[row["account_id"] for row in rows],
    )
    candidates = [
        replace(c, done_elsewhere=frozenset(elsewhere.get(c.account_id, ())))
        for c in (_candidate(runtime, row, now) for row in rows)
    ]
    windows = planning.Windows.of(
        ref.published_at, now, settings, pod["engagement_window_minutes"], pod["comment_window_minutes"]
    )
    planned = planning.plan(candidates, windows, settings, rng)
    approval = "pending" if settings.comment_approval and pod["auto_engage"] else None
    await repo.insert_activities(
        conn,
        [
            {
                "client_id": pod["client_id"],
                "pod_id": pod["id"],
                "pod_post_id": pod_post["id"],
                "post_id": ref.post_id,
                "post_url": ref.post_url,
                "post_author_id": author["id"],
                "engagement_type": p.kind,
                "member_id": p.member_id,
                "scheduled_for": p.scheduled_for,
                "window_ends_at": p.window_ends_at,
                "status": "pending" if p.scheduled_for is not None else "skipped",
                "error_message": p.skip_reason,
                "approval": approval if p.kind == "comment" and p.scheduled_for is not None else None,
            }
            for p in planned
        ],
    )
    return Scheduled(pod_post, planned)


def _candidate(runtime: Runtime, row: dict[str, Any], now: datetime) -> planning.Candidate:
    policy = Policy.of_account(runtime.settings, row["safety"])
    paused, resumes = None, None
    until = row["paused_until"]
    if row["paused_at"] is not None and until is not None and row["pause_source"] in AUTOMATIC_PAUSES:
        # A pause that lifts by itself (a 429's backoff): planned for after it, if the window allows.
        resumes = until if until > now else None
    elif row["paused_at"] is not None:
        paused = f"paused ({row['pause_reason'] or 'paused'})"
    if paused is None and row["account_status"] != "active":
        paused = f"account is {row['account_status']}"
    caps = {
        kind: policy.cap_for(kind, row["warmup_started_at"], now)
        for kind in set(planning.LEDGER_KIND.values())
    }
    return planning.Candidate(
        member_id=row["member_id"],
        account_id=row["account_id"],
        timezone=row["timezone"],
        hours=policy.hours,
        paused_reason=paused,
        resumes_at=resumes,
        with_author=int(row["with_author"]),
        recent_count=int(row["recent_count"]),
        caps_left=planning.caps_left(row["usage"] or {}, caps),
    )


async def on_post_published(runtime: Runtime, conn: Conn, event: events.PostPublished) -> None:
    """A member's revOS post is live: every active pod the member's account is in engages with it."""
    if event.linkedin_account_id is None:
        return
    authors = await repo.members_posting_with(conn, event.client_id, event.linkedin_account_id)
    if not authors:
        return
    post = await repo.published_post(conn, event.post_id)
    if post is None:
        return
    social_id = post["social_id"] or (
        f"urn:li:activity:{post['unipile_post_id']}" if post["unipile_post_id"] else None
    )
    ref = PostRef(
        post_url=post["post_url"] or deep_link("", social_id),
        social_id=social_id,
        text=post["content"],
        published_at=post["published_at"] or utcnow(),
        post_id=post["id"],
    )
    for author in authors:
        pod = await repo.get_pod(conn, author["pod_id"])
        if pod is not None and pod["status"] == "active":
            await schedule_post(runtime, conn, pod=pod, author=author, ref=ref)
