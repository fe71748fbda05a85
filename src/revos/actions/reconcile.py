"""Calls and reconcilers for the ledger's action kinds.

A *call* performs the action and returns the provider's ids. A *reconciler* answers, after an ambiguous
failure, "did it happen?" by reading the provider's state, and returns the ids when it did.

Conventions (what `ledger.begin` should be given):

| kind       | target                   | payload                                          |
|------------|--------------------------|--------------------------------------------------|
| dm         | recipient provider id    | `text`; `chat_id` to send in an existing chat    |
| invitation | invitee provider id      | `message` (the ≤300-char note, optional)         |

An invitation accepted before it is reconciled is no longer in the pending list: the invitee having become
a 1st-degree connection since the attempt started proves it happened. LinkedIn keeps no id of an accepted
invitation, so it is confirmed as `connected:<invitee>` (`models.connected_id`), as reactions are confirmed
with Unipile's acknowledgement (`reaction:<social_id>:<TYPE>`).
| post       | —                        | `text`                                           |
| comment    | the post's `social_id`   | `text`; `comment_id` to reply to a comment       |
| reaction   | the post's `social_id`   | `reaction_type` (default like)                   |
| repost     | the post's `social_id`   | `text` (commentary; empty for a plain repost)    |

Reconcilers look only at what happened after the attempt started (minus `CLOCK_SLACK`, for the provider's
clock), and match the exact text, so an older identical message is not mistaken for this one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID

from revos.actions import ledger
from revos.actions.models import Action, ActionOutcome, Call, ProviderIds, Reconcile, connected_id
from revos.linkedin import UnipileClient
from revos.linkedin.requests import ReactionType
from revos.runtime import Runtime

CLOCK_SLACK = timedelta(minutes=5)
# Reconcilers read recent history only; these bound the reads on a busy account.
MAX_CHATS_SCANNED = 500
MAX_MESSAGES_SCANNED = 200
MAX_ITEMS_SCANNED = 500


T = TypeVar("T")


@asynccontextmanager
async def _closing(it: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Close a paginating iterator we stop early (no page fetch left hanging)."""
    try:
        yield it
    finally:
        close = getattr(it, "aclose", None)
        if close is not None:
            await close()


def _account(action: Action) -> str:
    if not action.unipile_account_id:
        raise ValueError(f"action {action.key}: the LinkedIn account is not connected to Unipile")
    return action.unipile_account_id


def _since(action: Action) -> datetime | None:
    return action.started_at - CLOCK_SLACK if action.started_at else None


def _same_text(a: str | None, b: str | None) -> bool:
    return (a or "").strip() == (b or "").strip()


def _before(since: datetime | None, moment: datetime | None) -> bool:
    """Provably older than `since` (a moment that cannot be read proves nothing)."""
    return since is not None and moment is not None and moment < since


async def _first(
    items: AsyncIterator[T],
    match: Callable[[T], bool],
    *,
    limit: int,
    too_old: Callable[[T], bool] | None = None,
) -> T | None:
    """The first of `items` (most recent first) that matches, reading at most `limit` of them and none past
    the first that is `too_old` to be the one."""
    scanned = 0
    async with _closing(items) as it:
        async for item in it:
            scanned += 1
            if too_old is not None and too_old(item):
                return None
            if match(item):
                return item
            if scanned >= limit:
                return None
    return None


# --- DM -------------------------------------------------------------------------------------------------


async def send_dm(client: UnipileClient, action: Action) -> ProviderIds:
    text = str(action.payload["text"])
    chat_id = action.payload.get("chat_id") or action.provider_chat_id
    if chat_id:
        sent = await client.send_message(str(chat_id), text, account_id=_account(action))
        return ProviderIds(sent.message_id, str(chat_id))
    assert action.target, "a DM needs the recipient's provider id as target"
    started = await client.start_chat(_account(action), action.target, text)
    return ProviderIds(started.message_id, started.chat_id)


async def reconcile_dm(client: UnipileClient, action: Action) -> ProviderIds | None:
    """Find our message with this text in the chat with the recipient, sent after the attempt started."""
    account_id = _account(action)
    since = _since(action)
    text = str(action.payload.get("text") or "")
    chat_id = action.payload.get("chat_id") or action.provider_chat_id
    chat_ids: list[str] = [str(chat_id)] if chat_id else []
    if not chat_ids:
        scanned = 0
        async with _closing(client.iter_chats(account_id=account_id, limit=100)) as chats:
            async for chat in chats:
                scanned += 1
                # Chats come most recently active first: older ones cannot hold the message.
                if _before(since, chat.timestamp):
                    break
                if chat.attendee_provider_id == action.target:
                    chat_ids.append(chat.id)
                if scanned >= MAX_CHATS_SCANNED:
                    break
    for cid in chat_ids:
        message = await _first(
            client.iter_chat_messages(cid, limit=100),
            lambda m: m.is_sender and _same_text(m.text, text),
            limit=MAX_MESSAGES_SCANNED,
            too_old=lambda m: _before(since, m.timestamp),
        )
        if message is not None:
            return ProviderIds(message.id, cid)
    return None


# --- invitation -----------------------------------------------------------------------------------------


async def send_invitation(client: UnipileClient, action: Action) -> ProviderIds:
    assert action.target, "an invitation needs the invitee's provider id as target"
    note = action.payload.get("message")
    sent = await client.send_invitation(action.target, _account(action), str(note) if note else None)
    return ProviderIds(sent.invitation_id)


async def reconcile_invitation(client: UnipileClient, action: Action) -> ProviderIds | None:
    """A pending invitation to the target means it happened (whatever its age); so does the target having
    become a connection since the attempt started: they accepted it before this look (sending it again
    would only meet LinkedIn's "already a connection")."""
    account_id = _account(action)
    invitation = await _first(
        client.iter_sent_invitations(account_id, limit=100),
        lambda i: action.target in (i.invited_user_id, i.invited_user_public_id),
        limit=MAX_ITEMS_SCANNED,
    )
    if invitation is not None:
        return ProviderIds(invitation.id)
    since = _since(action)
    # Relations come newest first: one made before the attempt started is not this invitation's doing.
    relation = await _first(
        client.iter_relations(account_id, limit=100),
        lambda r: action.target in (r.member_id, r.public_identifier),
        limit=MAX_ITEMS_SCANNED,
        too_old=lambda r: _before(since, _epoch_ms(r.created_at)),
    )
    return ProviderIds(connected_id(action.target)) if relation is not None else None


def _epoch_ms(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if value is not None else None


# --- post -----------------------------------------------------------------------------------------------


async def create_post(client: UnipileClient, action: Action) -> ProviderIds:
    created = await client.create_post(_account(action), str(action.payload["text"]))
    return ProviderIds(created.post_id)


async def reconcile_post(client: UnipileClient, action: Action) -> ProviderIds | None:
    """The account's own recent posts: one with the same text, published after the attempt started."""
    account_id = _account(action)
    me = await client.get_own_profile(account_id)
    since = _since(action)
    text = str(action.payload.get("text") or "")
    post = await _first(
        client.iter_user_posts(me.provider_id, account_id, limit=50),
        lambda p: _same_text(p.text, text),
        limit=MAX_ITEMS_SCANNED,
        too_old=lambda p: _before(since, p.parsed_datetime),
    )
    return ProviderIds(post.id) if post is not None else None


# --- comment --------------------------------------------------------------------------------------------


async def comment(client: UnipileClient, action: Action) -> ProviderIds:
    assert action.target, "a comment needs the post's social_id as target"
    parent = action.payload.get("comment_id")
    sent = await client.comment(
        action.target,
        _account(action),
        str(action.payload["text"]),
        comment_id=str(parent) if parent else None,
    )
    return ProviderIds(sent.comment_id)


async def reconcile_comment(client: UnipileClient, action: Action) -> ProviderIds | None:
    """A comment (or reply) on the post by this account with the same text."""
    assert action.target
    account_id = _account(action)
    me = await client.get_own_profile(account_id)
    text = str(action.payload.get("text") or "")
    parent = action.payload.get("comment_id")
    comments = client.iter_comments(
        action.target,
        account_id,
        limit=100,
        comment_id=str(parent) if parent else None,
        include_replies=not parent,
    )
    found = await _first(
        comments,
        lambda c: c.author_details.id == me.provider_id and _same_text(c.text, text),
        limit=MAX_ITEMS_SCANNED * 4,
    )
    return ProviderIds(found.id) if found is not None else None


# --- reaction -------------------------------------------------------------------------------------------


# Unipile's read-model reaction values (spec §6.7, `user_reacted`) of the reaction types it is sent.
REACTION_VALUES = {
    "like": "LIKE",
    "celebrate": "PRAISE",
    "support": "APPRECIATION",
    "love": "EMPATHY",
    "insightful": "INTEREST",
    "funny": "ENTERTAINMENT",
}


def reaction_id(social_id: str, reaction: str) -> str:
    """A reaction has no provider id: it is recorded as `reaction:<social_id>:<LIKE…>`."""
    return f"reaction:{social_id}:{REACTION_VALUES.get(reaction, reaction.upper())}"


async def react(client: UnipileClient, action: Action) -> ProviderIds:
    """Reactions have no provider id: Unipile's `201 {"object": "ReactionAdded"}` is the provider's
    acknowledgement, confirmed as `reaction:<social_id>:<TYPE>` without reading the post back (the
    reconciler reads it after an ambiguous failure)."""
    assert action.target
    reaction: ReactionType = action.payload.get("reaction_type") or "like"
    await client.react(action.target, _account(action), reaction)  # raises unless ReactionAdded
    return ProviderIds(reaction_id(action.target, reaction))


async def reconcile_reaction(client: UnipileClient, action: Action) -> ProviderIds | None:
    assert action.target
    post = await client.get_post(action.target, _account(action))
    if post.user_reacted:
        return ProviderIds(reaction_id(post.social_id, post.user_reacted))
    return None


# --- repost ---------------------------------------------------------------------------------------------


async def repost(client: UnipileClient, action: Action) -> ProviderIds:
    """Share the post once per account: a repost already in the account's feed (made by hand, or by an
    earlier attempt) is confirmed instead of sharing the post a second time."""
    assert action.target, "a repost needs the post's social_id as target"
    found = await reconcile_repost(client, action)
    if found is not None:
        return found
    created = await client.repost(_account(action), action.target, str(action.payload.get("text") or ""))
    return ProviderIds(created.post_id)


async def reconcile_repost(client: UnipileClient, action: Action) -> ProviderIds | None:
    """The account's own recent posts: a repost of the target post (whatever its age or commentary)."""
    assert action.target
    account_id = _account(action)
    me = await client.get_own_profile(account_id)
    original = {action.target, action.target.rsplit(":", 1)[-1]}
    post = await _first(
        client.iter_user_posts(me.provider_id, account_id, limit=100),
        lambda p: p.is_repost and p.repost_id is not None and p.repost_id in original,
        limit=MAX_ITEMS_SCANNED,
    )
    return ProviderIds(post.id) if post is not None else None


CALLS: dict[str, tuple[Call, Reconcile]] = {
    "dm": (send_dm, reconcile_dm),
    "invitation": (send_invitation, reconcile_invitation),
    "post": (create_post, reconcile_post),
    "comment": (comment, reconcile_comment),
    "reaction": (react, reconcile_reaction),
    "repost": (repost, reconcile_repost),
}


async def perform_standard(runtime: Runtime, action_id: UUID) -> ActionOutcome:
    """`ledger.perform` with this module's call and reconciler for the action's kind."""
    async with runtime.db.service(actor="actions") as conn:
        action = await ledger.get(conn, action_id)
    if action.kind not in CALLS:
        raise ValueError(f"no standard call for {action.kind!r} actions")
    call, reconcile = CALLS[action.kind]
    return await ledger.perform(runtime, action_id, call, reconcile)
