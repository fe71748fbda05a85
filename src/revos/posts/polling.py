"""Comment polling: every comment and reply of our published posts, read once, stored once.

Cadence adapts to a post's age (REVOS_POLL_*; a campaign may override it under `comment_polling`):
every 2 min while it is fresh (6 h), every 15 min until 48 h, hourly until a week, then every 6 h,
and no more after 90 days. A little jitter keeps many posts from polling in lockstep.

A normal poll reads the newest comments first (`MOST_RECENT`, 100 a page) and stops paging once it
reaches the post's high-water mark (the newest comment seen by the previous poll) or a page of comments
it already holds. Reply threads are walked whenever LinkedIn reports more replies under a comment than
we hold. A full rescan reads every page and every thread: periodically (REVOS_POLL_FULL_RESCAN_SECONDS),
on the first poll, on request, and when LinkedIn's `comment_counter` says we hold fewer comments than
it counts (at most every REVOS_POLL_MISMATCH_RESCAN_SECONDS) — a reply under an old comment is caught
that way. Each page is stored in its own transaction, so progress survives a crash mid-scan.

Comments are deduplicated by `unipile_comment_id` (`insert … on conflict do nothing`). For a comment
stored for the first time, `has_trigger_word` is decided with `matches_trigger`; the page's new comments
that match, when the campaign runs, go to `revos.leads.lifecycle.entry.trigger_comments` together, in the
same transaction as the insert (a few statements per page, not per comment).
Comments written by the post's own account are stored (they count towards coverage) but never match.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos.accounts import repo as accounts
from revos.accounts import safety
from revos.accounts.provider import linkedin_client
from revos.campaigns import service as campaigns
from revos.clock import utcnow
from revos.config import Settings
from revos.db.pool import Conn
from revos.leads.lifecycle import entry as lead_entry
from revos.linkedin import Comment as LinkedInComment
from revos.linkedin import Post as LinkedInPost
from revos.linkedin import UnipileClient
from revos.linkedin.errors import UnipileError
from revos.linkedin.pagination import iterate_pages
from revos.posts import repo
from revos.runtime import Runtime
from revos.text.triggers import matches_trigger

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    post_id: UUID
    full: bool = False
    pages: int = 0  # comment-list requests: top-level pages and reply-thread pages
    new_comments: int = 0
    trigger_comments: int = 0
    leads: int = 0
    comments_seen: int = 0
    provider_comment_count: int | None = None
    skipped: str | None = None
    error: str | None = None


@dataclass
class _Context:
    runtime: Runtime
    client: UnipileClient
    post: dict[str, Any]
    campaign: dict[str, Any] | None
    account_id: str  # Unipile account id
    social_id: str
    own_ids: set[str]
    triggers: list[str]
    fuzzy: bool
    result: PollResult
    high_water: tuple[str, datetime | None] | None = None
    now: datetime = field(default_factory=utcnow)


def _setting(settings: Settings, campaign: Mapping[str, Any] | None, name: str) -> float:
    """A cadence (`fresh_seconds`, …, `full_rescan_seconds`): the campaign's `comment_polling` override,
    or the deployment's REVOS_POLL_<name>."""
    override = campaigns.settings_of(campaign).comment_polling if campaign is not None else None
    value = getattr(override, name) if override is not None else None
    return float(value if value is not None else getattr(settings, f"poll_{name}"))


def poll_interval(settings: Settings, campaign: Mapping[str, Any] | None, age: timedelta) -> float:
    """Seconds until the next poll of a post this old (before jitter)."""
    hours = age.total_seconds() / 3600
    if hours < settings.poll_fresh_hours:
        return _setting(settings, campaign, "fresh_seconds")
    if hours < settings.poll_day_hours:
        return _setting(settings, campaign, "day_seconds")
    if hours < settings.poll_week_days * 24:
        return _setting(settings, campaign, "week_seconds")
    return _setting(settings, campaign, "old_seconds")


def next_poll_at(
    settings: Settings, campaign: Mapping[str, Any] | None, published_at: datetime, now: datetime
) -> datetime | None:
    """When to poll again; None once the post is too old to be worth polling."""
    age = now - published_at
    if age >= timedelta(days=settings.poll_stop_after_days):
        return None
    interval = poll_interval(settings, campaign, age)
    jitter = settings.poll_jitter
    return now + timedelta(seconds=interval * (1 + random.uniform(-jitter, jitter)))


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None  # a relative date ("3d"): no usable timestamp
    return parsed if parsed.tzinfo is not None else None


async def poll_due(runtime: Runtime, *, now: datetime | None = None) -> list[PollResult]:
    """Lease the posts due for a poll and poll them, a few at a time."""
    now = now or utcnow()
    settings = runtime.settings
    async with runtime.db.service(actor="posts.poll_due") as conn:
        ids = await repo.claim_due(
            conn,
            repo.POLL_LEASE,
            now=now,
            lease_until=now + timedelta(seconds=settings.poll_lease_seconds),
            limit=settings.poll_dispatch_batch,
            after=now - timedelta(days=settings.poll_stop_after_days),
        )
    if not ids:
        return []
    gate = asyncio.Semaphore(settings.poll_concurrency)

    async def one(post_id: UUID) -> PollResult | None:
        async with gate:
            try:
                return await poll_post(runtime, post_id)
            except Exception:
                log.exception("polling post %s failed unexpectedly", post_id)
                return None

    results = await asyncio.gather(*(one(i) for i in ids))
    return [r for r in results if r is not None]


async def poll_post(runtime: Runtime, post_id: UUID, *, full: bool | None = None) -> PollResult:
    """Read the post's metrics and new comments; `full=True` forces a rescan of everything."""
    settings = runtime.settings
    result = PollResult(post_id)
    now = utcnow()
    async with runtime.db.service(actor="posts.poll") as conn:
        post = await repo.get(conn, post_id)
        if post is None or post["status"] != "published":
            result.skipped = "not published"
            return result
        campaign = await campaigns.get_campaign(conn, post["campaign_id"]) if post["campaign_id"] else None
        account = (
            await accounts.get(conn, post["linkedin_account_id"]) if post["linkedin_account_id"] else None
        )
    if account is None or not account["unipile_account_id"]:
        return await _record_error(
            runtime, post, campaign, result, "the post's LinkedIn account is not connected"
        )
    provider_post_id = post["social_id"] or post["unipile_post_id"]
    if not provider_post_id:
        return await _record_error(runtime, post, campaign, result, "the post has no LinkedIn id")

    client = linkedin_client(runtime)
    try:
        li_post = await client.get_post(provider_post_id, account["unipile_account_id"])
    except UnipileError as exc:
        return await _provider_error(runtime, post, campaign, account, result, exc)
    profile = account.get("profile_data") or {}
    own_ids = {i for i in (li_post.author.id, profile.get("provider_id")) if i}
    ctx = _Context(
        runtime=runtime,
        client=client,
        post=post,
        campaign=campaign,
        account_id=account["unipile_account_id"],
        social_id=li_post.social_id,
        own_ids=own_ids,
        triggers=campaigns.trigger_words_of(campaign) if campaign else [],
        fuzzy=campaigns.fuzzy_triggers(campaign) if campaign else False,
        result=result,
        now=now,
    )
    last_full = post["last_full_scan_at"]
    rescan_every = timedelta(seconds=_setting(settings, campaign, "full_rescan_seconds"))
    if full is None:
        full = post["high_water_comment_id"] is None or last_full is None or now - last_full >= rescan_every
    try:
        await _scan(ctx, full=full)
        # Counted and saved in one transaction; LinkedIn counting more than we hold means a full rescan
        # first (a reply under an old comment), then the count and the save again.
        async with runtime.db.service(actor="posts.poll") as conn:
            seen = await repo.count_comments(conn, post_id)
            mismatch_ok = last_full is None or now - last_full >= timedelta(
                seconds=settings.poll_mismatch_rescan_seconds
            )
            rescan = not full and li_post.comment_counter > seen and mismatch_ok
            if not rescan:
                await _save(conn, ctx, li_post, seen, full=full)
        if rescan:
            log.info(
                "post %s: LinkedIn counts %d comments, we hold %d: full rescan",
                post_id,
                li_post.comment_counter,
                seen,
            )
            full = True
            await _scan(ctx, full=True)
            async with runtime.db.service(actor="posts.poll") as conn:
                seen = await repo.count_comments(conn, post_id)
                await _save(conn, ctx, li_post, seen, full=True)
    except UnipileError as exc:
        return await _provider_error(runtime, post, campaign, account, result, exc)
    result.full = full
    result.comments_seen = seen
    result.provider_comment_count = li_post.comment_counter
    return result


async def _save(conn: Conn, ctx: _Context, li_post: LinkedInPost, seen: int, *, full: bool) -> None:
    """The poll's outcome on the post: LinkedIn's counters, what we hold, when to poll next."""
    post, now = ctx.post, ctx.now
    metrics = dict(post.get("metrics") or {})
    metrics.update(
        {
            "impressions": li_post.impressions_counter,
            "likes": li_post.reaction_counter,
            "comments": li_post.comment_counter,
            "shares": li_post.repost_counter,
        }
    )
    published_at = post["published_at"] or post["created_at"]
    values: dict[str, Any] = {
        "metrics": metrics,
        "last_polled_at": now,
        "poll_next_at": next_poll_at(ctx.runtime.settings, ctx.campaign, published_at, now),
        "poll_claimed_until": None,
        "comments_seen": seen,
        "provider_comment_count": li_post.comment_counter,
        "polls_count": post["polls_count"] + 1,
        "last_poll_error": None,
        "social_id": post["social_id"] or li_post.social_id,
        "post_url": post["post_url"] or li_post.share_url,
    }
    if full:
        values["last_full_scan_at"] = now
    if ctx.high_water is not None:
        values["high_water_comment_id"], values["high_water_commented_at"] = ctx.high_water
    await repo.update(conn, post["id"], values)


def _reached_mark(ctx: _Context, items: list[LinkedInComment], known: set[str]) -> bool:
    """Has this page reached comments an earlier poll read? (Newest first: everything after is older.)"""
    if not items:
        return True
    mark_id = ctx.post["high_water_comment_id"]
    mark_at = ctx.post["high_water_commented_at"]
    for item in items:
        if mark_id is not None and item.id == mark_id:
            return True
        at = parse_date(item.date)
        if mark_at is not None and at is not None and at < mark_at and item.id in known:
            return True
    return all(item.id in known for item in items)


async def _scan(ctx: _Context, *, full: bool) -> None:
    settings = ctx.runtime.settings
    first_page = True

    async def fetch(cursor: str | None) -> tuple[list[LinkedInComment], str | None]:
        ctx.result.pages += 1
        return await ctx.client.list_comments(
            ctx.social_id, ctx.account_id, limit=settings.poll_page_size, cursor=cursor, sort_by="MOST_RECENT"
        )

    async with aclosing(iterate_pages(fetch)) as pages:
        async for items in pages:
            if first_page and items:
                ctx.high_water = (items[0].id, parse_date(items[0].date))
            first_page = False
            known, replies_held = await _store(ctx, items, parent_id=None)
            for item in items:
                held = replies_held.get(item.id, 0)
                if item.reply_counter is None or item.reply_counter > held:
                    await _walk_replies(ctx, item)
            if not full and _reached_mark(ctx, items, known):
                break


async def _walk_replies(ctx: _Context, parent: LinkedInComment) -> None:
    settings = ctx.runtime.settings

    async def fetch(cursor: str | None) -> tuple[list[LinkedInComment], str | None]:
        ctx.result.pages += 1
        return await ctx.client.list_comments(
            ctx.social_id, ctx.account_id, limit=settings.poll_page_size, cursor=cursor, comment_id=parent.id
        )

    async with aclosing(iterate_pages(fetch)) as pages:
        async for items in pages:
            # Some servers list the parent first in its own thread.
            await _store(ctx, [i for i in items if i.id != parent.id], parent_id=parent.id)


def _row(ctx: _Context, item: LinkedInComment, parent_id: str | None) -> dict[str, Any]:
    author_id = item.author_details.id
    own = author_id is not None and author_id in ctx.own_ids
    matched = (
        bool(ctx.triggers) and not own and matches_trigger(item.text or "", ctx.triggers, fuzzy=ctx.fuzzy)
    )
    return {
        "client_id": ctx.post["client_id"],
        "post_id": ctx.post["id"],
        "unipile_comment_id": item.id,
        "parent_unipile_comment_id": parent_id,
        "author_name": item.author or "LinkedIn member",
        # LinkedIn hides some authors (deleted members): still one stored comment, never a lead.
        "author_linkedin_id": author_id or f"unknown:{item.id}",
        "author_profile_url": item.author_details.profile_url,
        "author_network_distance": item.author_details.network_distance,
        "content": item.text or "",
        "has_trigger_word": matched and author_id is not None,
        "commented_at": parse_date(item.date),
    }


async def _store(
    ctx: _Context, items: list[LinkedInComment], *, parent_id: str | None
) -> tuple[set[str], dict[str, int]]:
    """One page in one transaction: new comments, their leads; returns (ids held before, replies held)."""
    if not items:
        return set(), {}
    unique = list({item.id: item for item in items}.values())
    running = ctx.campaign is not None and campaigns.is_running(ctx.campaign, utcnow())
    async with ctx.runtime.db.service(actor="posts.poll") as conn:
        known = await repo.known_comment_ids(conn, [i.id for i in unique])
        inserted = await repo.insert_comments(
            conn, [_row(ctx, i, parent_id) for i in unique if i.id not in known]
        )
        ctx.result.new_comments += len(inserted)
        triggers = [comment for comment in inserted if comment["has_trigger_word"]]
        ctx.result.trigger_comments += len(triggers)
        if triggers and running and ctx.campaign is not None:
            leads = await lead_entry.trigger_comments(
                ctx.runtime, conn, comments=triggers, post=ctx.post, campaign=ctx.campaign
            )
            ctx.result.leads += sum(1 for lead_id in leads if lead_id is not None)
        held = (
            await repo.reply_counts(conn, ctx.post["id"], [i.id for i in unique]) if parent_id is None else {}
        )
    return known, held


async def _record_error(
    runtime: Runtime, post: dict[str, Any], campaign: dict[str, Any] | None, result: PollResult, error: str
) -> PollResult:
    now = utcnow()
    retry = now + timedelta(seconds=runtime.settings.poll_error_retry_seconds)
    async with runtime.db.service(actor="posts.poll") as conn:
        await repo.update(
            conn,
            post["id"],
            {"last_poll_error": error[:2000], "poll_next_at": retry, "poll_claimed_until": None},
        )
    result.error = error
    log.warning("polling post %s: %s", post["id"], error)
    return result


async def _provider_error(
    runtime: Runtime,
    post: dict[str, Any],
    campaign: dict[str, Any] | None,
    account: dict[str, Any],
    result: PollResult,
    exc: UnipileError,
) -> PollResult:
    """A 429, restriction or disconnection pauses the account (one budget for reads and writes too)."""
    if safety.is_account_error(exc):
        async with runtime.db.service(actor="posts.poll") as conn:
            await safety.apply_provider_error(conn, account["id"], exc, utcnow(), runtime.settings)
    return await _record_error(runtime, post, campaign, result, f"LinkedIn: {exc}")
