"""Pod comments: written in the member's voice about the post's text, checked, approved when the pod asks.

`draft(runtime, activity_id)` resolves the member's voice (`revos.cartridges.service.resolve_for`, skill
`voice`), asks `revos.ai.service.complete` (purpose `comment`, the post's text in `context`) for a few
variants and keeps the first that passes `check`:

- length between `MIN_CHARS` and `MAX_CHARS` (LinkedIn takes 1,250);
- no link (LinkedIn and people read links in pod comments as spam);
- not generic praise: it must name something of the post (a word of four letters or more it shares with
  the post, generic words aside), and not be made of stock phrases alone;
- not a near-duplicate of another member's comment on the same post (word-set Jaccard ≥ `DUPLICATE`).

None passing: the activity is skipped with the reason (not counted against the member). With approval on,
the draft waits for the member or an admin (`approve`, optionally with an edited text, or `reject`);
the executor never takes a comment awaiting approval, and one still waiting when its window closes is
skipped (missed).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from revos.ai import service as ai
from revos.ai.base import AiError, CompletionRequest
from revos.cartridges.service import resolve_for
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import Conflict, RevosError, ValidationFailed
from revos.pods import execution_repo, repo
from revos.runtime import Runtime

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


def similarity(a: str, b: str) -> float:
    x, y = set(words(a)), set(words(b))
    return len(x & y) / len(x | y) if x and y else 0.0


def check(text: str, post_text: str | None, others: list[str]) -> str | None:
    """Why `text` may not be posted under the post, or None when it may."""
    text = text.strip()
    if not MIN_CHARS <= len(text) <= MAX_CHARS:
        return f"length {len(text)} outside {MIN_CHARS}–{MAX_CHARS} characters"
    if _LINK.search(text):
        return "contains a link"
    content = {w for w in words(text) if len(w) >= 4 and w not in GENERIC}
    if len(content) < 2:
        return "generic praise: says nothing of its own"
    if post_text:
        about = {w for w in words(post_text) if len(w) >= 4 and w not in GENERIC}
        if about and not content & about:
            return "generic praise: names nothing of the post"
    for other in others:
        if similarity(text, other) >= DUPLICATE:
            return "near-duplicate of another member's comment on this post"
    return None


Intend = Callable[[Conn, str], Awaitable[UUID | None]]


class _Taken(Exception):
    """Rolls back a draft's transaction: the comment was drafted meanwhile by someone else."""


async def draft(runtime: Runtime, activity_id: UUID, *, intend: Intend | None = None) -> str | None:
    """Write and check the activity's comment; store it (or skip the activity). Returns the text kept.

    `intend(conn, text)`, when given, runs in the transaction that stores the text and returns the ledger
    action recorded for it, linked to the activity in the same write."""
    async with runtime.db.service(actor="pods") as conn:
        ctx = await execution_repo.comment_context(conn, activity_id)
        if ctx is None or ctx["comment_text"] is not None or ctx["status"] != "pending":
            return ctx["comment_text"] if ctx else None
        voice = await resolve_for(conn, client_id=ctx["client_id"], user_id=ctx["user_id"], skill="voice")
    post_text = ctx["post_text"] or ""
    who = ctx["member_name"] or str(ctx["member_id"])[:8]
    request = CompletionRequest(
        system="Write a short, specific LinkedIn comment in this voice: one or two sentences about what the"
        " post says, no links, no hashtags, no pitch, no generic praise.",
        prompt=f"Comment, as {who}, on this post by {ctx['author_name'] or 'a colleague'}:\n\n{post_text}",
        purpose="comment",
        voice=voice.voice,
        context={"post_text": post_text, "author_name": ctx["author_name"] or "", "commenter": who},
        max_tokens=200,
        variants=VARIANTS,
    )
    try:
        completion = await ai.complete(runtime, runtime.db, client_id=ctx["client_id"], request=request)
    except (AiError, RevosError) as exc:
        log.warning("pod comment %s: no draft (%s)", activity_id, exc)
        return None  # tried again on the next tick, until the window closes
    try:
        async with runtime.db.service(actor="pods") as conn:
            others = await repo.other_comments(conn, ctx["pod_post_id"], activity_id)
            reasons = []
            for text in completion.texts:
                reason = check(text, ctx["post_text"], others)
                if reason is None:
                    action_id = None
                    if intend is not None:  # the activity first, then its ledger row (the executor's order)
                        await execution_repo.lock(conn, activity_id)
                        action_id = await intend(conn, text.strip())
                    if await execution_repo.set_comment_text(conn, activity_id, text.strip(), action_id):
                        return text.strip()
                    if action_id is None:
                        return None
                    raise _Taken  # drafted meanwhile by someone else: the intent recorded for ours goes too
                reasons.append(reason)
            await execution_repo.finish(
                conn,
                activity_id,
                status="skipped",
                error=f"no acceptable comment: {'; '.join(sorted(set(reasons)))}",
                missed=False,
                now=utcnow(),
            )
    except _Taken:
        return None
    return None


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
        reason = check(final, None, await repo.other_comments(conn, row["pod_post_id"], row["id"]))
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
