"""Pod comments: written in the member's voice about the post's text, checked, approved when the pod asks.

`draft(runtime, activity_id)` resolves the member's voice (`revos.cartridges.service.resolve_for`, skill
`voice`), asks `revos.ai.service.complete` (purpose `comment`, the post's text in `context`) for a few
variants and keeps the first that passes `check`:

- length between `MIN_CHARS` and `MAX_CHARS` (LinkedIn takes 1,250);
- no link (LinkedIn and people read links in pod comments as spam);
- not generic praise: it must name something of the post (a word of four letters or more it shares with
  the post, generic words aside), and not be made of stock phrases alone;
- never the trigger word of the campaign whose post it is (matched as the campaign's comment poller
  matches it, `revos.text.triggers`): a pod member's comment must not make them a lead;
- not a near-duplicate of another member's comment on the same post (word-set Jaccard ≥ `DUPLICATE`).

`draft_many` drafts a batch (the executor's claimed comments of a tick): one statement reads every
context, each member's voice is resolved once (and kept while no cartridge changes), every client's
completions go through one transaction for their budgets and one for their usage
(`revos.ai.service.complete_for_clients`), and one transaction checks and stores the texts.

None passing: the activity is skipped with the reason (not counted against the member). With approval on,
the draft waits for the member or an admin (`approve`, optionally with an edited text, or `reject`);
the executor never takes a comment awaiting approval, and one still waiting when its window closes is
skipped (missed).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from revos.ai import service as ai
from revos.ai.base import Completion, CompletionRequest
from revos.campaigns.rules import fuzzy_triggers, trigger_words_of
from revos.cartridges.resolution import Voices
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import Conflict, RevosError, ValidationFailed
from revos.pods import execution_repo, repo
from revos.runtime import Runtime
from revos.text.triggers import TriggerMatcher, compile_triggers

log = logging.getLogger("revos.pods")

MIN_CHARS, MAX_CHARS = 20, 600
DUPLICATE = 0.6
VARIANTS = 4
_LINK = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|io|net|org|co|ai|ly|me|app)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-zA-Z][a-zA-Z'-]+")
GENERIC = frozenset(
    {
        "great",
        "post",
        "thanks",
        "thank",
        "sharing",
        "share",
        "love",
        "this",
        "so",
        "true",
        "well",
        "said",
        "agreed",
        "agree",
        "nice",
        "awesome",
        "amazing",
        "insightful",
        "insights",
        "valuable",
        "spot",
        "on",
        "totally",
        "absolutely",
        "couldn't",
        "could",
        "have",
        "better",
        "really",
        "good",
        "point",
        "points",
        "powerful",
        "inspiring",
        "inspiration",
        "brilliant",
        "excellent",
        "fantastic",
        "wonderful",
        "needed",
        "hear",
        "read",
        "today",
        "exactly",
        "much",
        "very",
        "such",
        "what",
        "about",
        "with",
        "your",
        "from",
        "that",
        "been",
        "these",
        "those",
        "there",
        "their",
        "more",
        "most",
        "just",
        "like",
        "posts",
        "content",
    }
)


def words(text: str) -> list[str]:
    return [w.lower().strip("'-") for w in _WORD.findall(text)]


@lru_cache(maxsize=4096)
def _word_set(text: str) -> frozenset[str]:
    """The words of a text, kept for the texts checked again and again: a post's, and the comments
    already on it (each new comment is compared with every other one)."""
    return frozenset(words(text))


@lru_cache(maxsize=1024)
def _content_words(text: str) -> frozenset[str]:
    return frozenset(w for w in _word_set(text) if len(w) >= 4 and w not in GENERIC)


def similarity(a: str, b: str) -> float:
    x, y = _word_set(a), _word_set(b)
    return len(x & y) / len(x | y) if x and y else 0.0


def check(
    text: str, post_text: str | None, others: list[str], triggers: TriggerMatcher | None = None
) -> str | None:
    """Why `text` may not be posted under the post, or None when it may. `triggers`: the trigger words
    of the campaign whose post it is (a pod member's comment must never make them a lead)."""
    text = text.strip()
    if not MIN_CHARS <= len(text) <= MAX_CHARS:
        return f"length {len(text)} outside {MIN_CHARS}–{MAX_CHARS} characters"
    if _LINK.search(text):
        return "contains a link"
    content = _content_words(text)
    if len(content) < 2:
        return "generic praise: says nothing of its own"
    if post_text:
        about = _content_words(post_text)
        if about and not content & about:
            return "generic praise: names nothing of the post"
    if triggers is not None and triggers.matches(text):
        return "contains the campaign's trigger word"
    for other in others:
        if similarity(text, other) >= DUPLICATE:
            return "near-duplicate of another member's comment on this post"
    return None


def triggers_of(row: Mapping[str, Any] | None) -> TriggerMatcher | None:
    """The matcher of the campaign's trigger words (as its comment poller matches them), None for a post
    of no campaign."""
    if row is None or row.get("campaign_id") is None:
        return None
    found = trigger_words_of(row)
    return (
        compile_triggers(found, fuzzy=fuzzy_triggers({"settings": row.get("campaign_settings")}))
        if found
        else None
    )


async def draft(runtime: Runtime, activity_id: UUID) -> str | None:
    """Write and check the activity's comment; store it (or skip the activity). Returns the text kept."""
    return (await draft_many(runtime, [activity_id])).get(activity_id)


async def draft_many(
    runtime: Runtime, activity_ids: list[UUID], *, voices: Voices | None = None
) -> dict[UUID, str]:
    """`draft` for many activities at once: their contexts read in one statement, each member's voice
    resolved once, every client's completions asked with one transaction for their budgets and one for
    their usage, and the texts stored in one transaction. Returns the text of each activity that has one (an activity without
    a draft is tried again later, until its window closes; one whose variants all fail `check` is skipped).

    `voices`, when given, keeps the voices resolved for the next calls while no cartridge changes (checked
    once per call): the executor passes the worker's own, so a member's voice is read once, not once per
    batch of drafts."""
    kept: dict[UUID, str] = {}
    async with runtime.db.service(actor="pods") as conn:
        contexts = []
        for ctx in await execution_repo.comment_contexts(conn, activity_ids):
            if ctx["comment_text"] is not None:
                kept[ctx["id"]] = ctx["comment_text"]
            elif ctx["status"] == "pending":
                contexts.append(ctx)
        voice: dict[tuple[UUID, UUID | None], dict[str, Any]] = {}
        if contexts:
            voices = Voices() if voices is None else voices
            await voices.check(conn)
            for ctx in contexts:
                who = (ctx["client_id"], ctx["user_id"])
                if who not in voice:
                    resolved = await voices.resolve_for(conn, client_id=who[0], user_id=who[1], skill="voice")
                    voice[who] = resolved.voice
    by_client: dict[UUID, list[dict[str, Any]]] = {}
    for ctx in contexts:
        by_client.setdefault(ctx["client_id"], []).append(ctx)
    written: dict[UUID, list[str]] = {}
    groups = {
        client_id: [_request(ctx, voice[(ctx["client_id"], ctx["user_id"])]) for ctx in group]
        for client_id, group in by_client.items()
    }
    for client_id, answers in (await ai.complete_for_clients(runtime, runtime.db, groups=groups)).items():
        if isinstance(answers, RevosError):
            log.warning("pod comments of client %s: no draft (%s)", client_id, answers)
            continue
        for ctx, answer in zip(by_client[client_id], answers, strict=True):
            if isinstance(answer, Completion):
                written[ctx["id"]] = answer.texts
            else:  # tried again on the next tick, until the window closes
                log.warning("pod comment %s: no draft (%s)", ctx["id"], answer)
    if written:
        kept |= await _store([c for c in contexts if c["id"] in written], written, runtime)
    return kept


def _request(ctx: Mapping[str, Any], voice: Mapping[str, Any]) -> CompletionRequest:
    post_text = ctx["post_text"] or ""
    who = ctx["member_name"] or str(ctx["member_id"])[:8]
    return CompletionRequest(
        system="Write a short, specific LinkedIn comment in this voice: one or two sentences about what the"
        " post says, no links, no hashtags, no pitch, no generic praise.",
        prompt=f"Comment, as {who}, on this post by {ctx['author_name'] or 'a colleague'}:\n\n{post_text}",
        purpose="comment",
        voice=voice,
        context={"post_text": post_text, "author_name": ctx["author_name"] or "", "commenter": who},
        max_tokens=200,
        variants=VARIANTS,
    )


async def _store(
    contexts: list[dict[str, Any]], written: dict[UUID, list[str]], runtime: Runtime
) -> dict[UUID, str]:
    """Check each activity's variants and store the first that passes (against the comments already on
    its post, and those chosen now for the same post), in one transaction."""
    chosen: dict[UUID, str] = {}
    async with runtime.db.service(actor="pods") as conn:
        open_ = await execution_repo.lock_drafts(conn, [c["id"] for c in contexts])
        contexts = [c for c in contexts if c["id"] in open_]
        if not contexts:
            return {}
        on_post: dict[UUID, list[tuple[UUID, str]]] = {}
        for row in await repo.comments_on(conn, list({c["pod_post_id"] for c in contexts})):
            on_post.setdefault(row["pod_post_id"], []).append((row["id"], row["comment_text"]))
        now = utcnow()
        for ctx in contexts:
            others = [text for i, text in on_post.get(ctx["pod_post_id"], []) if i != ctx["id"]]
            triggers = triggers_of(ctx)
            reasons = []
            for text in written[ctx["id"]]:
                reason = check(text, ctx["post_text"], others, triggers)
                if reason is None:
                    chosen[ctx["id"]] = text.strip()
                    on_post.setdefault(ctx["pod_post_id"], []).append((ctx["id"], text.strip()))
                    break
                reasons.append(reason)
            else:
                await execution_repo.finish(
                    conn,
                    ctx["id"],
                    status="skipped",
                    error=f"no acceptable comment: {'; '.join(sorted(set(reasons)))}",
                    missed=False,
                    now=now,
                )
        await execution_repo.set_comment_texts(conn, chosen)
    return chosen


async def approve(
    conn: Conn, row: dict[str, Any], *, text: str | None, user_id: UUID | None, now: datetime | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    _reviewable(row)
    if row["window_ends_at"] is not None and now >= row["window_ends_at"]:
        raise Conflict("the comment window has closed: this comment will not be posted")
    final = (text or "").strip() or row["comment_text"]
    if not final:
        raise Conflict("no comment drafted yet: approve with the text to post (`text`)")
    if text:
        others = await repo.other_comments(conn, row["pod_post_id"], row["id"])
        triggers = triggers_of(await execution_repo.post_triggers(conn, row["pod_post_id"]))
        reason = check(final, None, others, triggers)
        if reason is not None:
            raise ValidationFailed(f"text: {reason}")
    done = await repo.update_activity(
        conn, row["id"], {"approval": "approved", "approved_by": user_id, "comment_text": final}
    )
    assert done is not None
    return done


async def reject(
    conn: Conn, row: dict[str, Any], *, reason: str | None, user_id: UUID | None
) -> dict[str, Any]:
    _reviewable(row)
    done = await repo.update_activity(
        conn,
        row["id"],
        {
            "approval": "rejected",
            "approved_by": user_id,
            "status": "skipped",
            "error_message": f"comment rejected{': ' + reason if reason else ''}",
        },
    )
    assert done is not None
    return done


def _reviewable(row: dict[str, Any]) -> None:
    if row["engagement_type"] != "comment" or row["approval"] is None:
        raise Conflict("this activity waits for no approval")
    if row["approval"] != "pending" or row["status"] != "pending":
        raise Conflict(f"already decided ({row['approval']}, {row['status']})")
