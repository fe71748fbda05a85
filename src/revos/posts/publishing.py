"""Publishing due posts exactly once, through the action ledger (key `post:<post id>`).

The dispatcher leases due posts (`for update skip locked`, so several workers share the work) and
publishes each: the ledger records the intent, reserves the account's daily `post` budget, calls
Unipile outside any transaction and confirms only with LinkedIn's post id. After a timeout it looks for
the post on the account before anything is sent again, so a post never appears twice. Once confirmed,
the post is read back for its `social_id` (which the comment routes need) and its URL.

A post is marked published only with LinkedIn's id, and `revos.events.PostPublished` goes out in the
transaction that records it; a refusal is recorded as `failed` with its reason; budget, working hours, a
paused account or a transient error leave it scheduled with a `publish_note` and a lease that expires
when it is worth trying again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos import events
from revos.accounts import repo as accounts
from revos.accounts import safety
from revos.accounts.provider import linkedin_client
from revos.actions import ledger
from revos.actions import reconcile as calls
from revos.campaigns import service as campaigns
from revos.clock import utcnow
from revos.linkedin.errors import UnipileError
from revos.posts import repo
from revos.runtime import Runtime

log = logging.getLogger(__name__)


def action_key(post_id: UUID) -> str:
    return f"post:{post_id}"


@dataclass(frozen=True)
class PublishResult:
    post_id: UUID
    status: str  # published | failed | waiting | skipped
    reason: str = ""


async def publish_due(runtime: Runtime, *, now: datetime | None = None) -> list[PublishResult]:
    """Lease the posts due now and publish them, one after the other (a few a day per account)."""
    now = now or utcnow()
    settings = runtime.settings
    async with runtime.db.service(actor="posts.publish_due") as conn:
        lease_until = now + timedelta(seconds=settings.post_publish_lease_seconds)
        ids = await repo.claim_due(
            conn, repo.PUBLISH_LEASE, now=now, lease_until=lease_until, limit=settings.post_dispatch_batch
        )
    results = []
    for post_id in ids:
        try:
            results.append(await publish_post(runtime, post_id))
        except Exception:
            # One post's bug must not stop the others; its lease expires and it is tried again.
            log.exception("publishing post %s failed unexpectedly", post_id)
    return results


async def _fail(runtime: Runtime, post_id: UUID, reason: str) -> PublishResult:
    async with runtime.db.service(actor="posts.publish") as conn:
        await repo.update(
            conn,
            post_id,
            {
                "status": "failed",
                "failure_reason": reason[:2000],
                "publish_claimed_until": None,
                "publish_note": None,
            },
        )
    log.warning("post %s failed: %s", post_id, reason)
    return PublishResult(post_id, "failed", reason)


async def _wait(
    runtime: Runtime, post_id: UUID, reason: str, until: datetime | None, *, attempt: bool
) -> PublishResult:
    settings = runtime.settings
    retry_at = until or utcnow() + timedelta(seconds=settings.post_publish_retry_seconds)
    async with runtime.db.service(actor="posts.publish") as conn:
        post = await repo.get(conn, post_id, for_update=True)
        if post is None or post["status"] != "scheduled":
            return PublishResult(post_id, "skipped", "no longer scheduled")
        attempts = post["publish_attempts"] + (1 if attempt else 0)
        await repo.update(
            conn,
            post_id,
            {"publish_claimed_until": retry_at, "publish_note": reason[:2000], "publish_attempts": attempts},
        )
    if attempt and attempts >= settings.post_publish_max_attempts:
        return await _fail(runtime, post_id, f"gave up after {attempts} attempts: {reason}")
    return PublishResult(post_id, "waiting", reason)


async def publish_post(runtime: Runtime, post_id: UUID) -> PublishResult:
    """Publish one scheduled post (idempotent: a published, failed or draft post is left alone)."""
    now = utcnow()
    async with runtime.db.service(actor="posts.publish") as conn:
        post = await repo.get(conn, post_id, for_update=True)
        if post is None or post["status"] != "scheduled":
            return PublishResult(post_id, "skipped", "not scheduled")
        campaign = await campaigns.get_campaign(conn, post["campaign_id"]) if post["campaign_id"] else None
        account = (
            await accounts.get(conn, post["linkedin_account_id"]) if post["linkedin_account_id"] else None
        )
        existing = await ledger.get_by_key(conn, action_key(post_id))
        if existing is None and campaign is not None and not campaigns.is_running(campaign, now):
            ended = campaign["status"] == "completed" or (
                campaign.get("ends_at") is not None and now >= campaign["ends_at"]
            )
            if not ended:
                await repo.update(
                    conn,
                    post_id,
                    {
                        "publish_claimed_until": None,
                        "publish_note": f"waiting: the campaign is {campaign['status']}",
                    },
                )
                return PublishResult(post_id, "waiting", f"campaign {campaign['status']}")
        action = existing
        connected = account is not None and bool(account["unipile_account_id"])
        if action is None and connected and (campaign is None or campaigns.is_running(campaign, now)):
            assert account is not None
            action = await ledger.begin(
                conn,
                client_id=post["client_id"],
                account_id=account["id"],
                kind="post",
                key=action_key(post_id),
                target=None,
                payload={"text": post["content"], "post_id": str(post_id)},
            )
    if action is None:
        if account is None or not account["unipile_account_id"]:
            return await _fail(runtime, post_id, "the post has no connected LinkedIn account to publish from")
        return await _fail(runtime, post_id, "the campaign ended before the post was published")

    outcome = await ledger.perform(runtime, action.id, calls.create_post, calls.reconcile_post)
    if outcome.status == "done":
        assert outcome.action.provider_id
        return await _published(runtime, post_id, outcome.action.provider_id, account)
    if outcome.status == "failed":
        return await _fail(runtime, post_id, f"LinkedIn refused the post: {outcome.reason}")
    # Budget, hours and account pauses are not the post's fault; 5xx and unknown outcomes count.
    transient = outcome.status == "ambiguous" or (
        outcome.error is not None and not safety.is_account_error(outcome.error)
    )
    return await _wait(runtime, post_id, outcome.reason, outcome.not_before, attempt=transient)


async def _published(
    runtime: Runtime, post_id: UUID, provider_post_id: str, account: dict[str, Any] | None
) -> PublishResult:
    now = utcnow()
    values: dict[str, Any] = {
        "status": "published",
        "unipile_post_id": provider_post_id,
        "published_at": now,
        "publish_claimed_until": None,
        "publish_note": None,
        "failure_reason": None,
        "poll_next_at": now,
    }
    # Read back the social_id and URL. A failed read leaves them to the first comment poll: the post is
    # on LinkedIn either way, and publishing again is never the answer.
    if account is not None and account["unipile_account_id"]:
        try:
            created = await linkedin_client(runtime).get_post(provider_post_id, account["unipile_account_id"])
        except UnipileError as exc:
            log.warning("post %s published as %s; reading it back failed: %s", post_id, provider_post_id, exc)
        else:
            values |= {"social_id": created.social_id, "post_url": created.share_url}
            if created.parsed_datetime is not None:
                values["published_at"] = created.parsed_datetime
    async with runtime.db.service(actor="posts.publish") as conn:
        post = await repo.update(conn, post_id, values)
        if post is not None:
            live = events.PostPublished(
                client_id=post["client_id"],
                post_id=post_id,
                campaign_id=post["campaign_id"],
                linkedin_account_id=post["linkedin_account_id"],
            )
            await events.publish(runtime, conn, live)
    log.info("post %s published on LinkedIn as %s", post_id, provider_post_id)
    return PublishResult(post_id, "published")
