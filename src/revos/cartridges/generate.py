"""Auto-generate: a cartridge's voice learned from its user's own LinkedIn posts.

The posts are read through Unipile (`GET /users/{provider id}/posts`) with the user's connected account:
the account's `profile_data.provider_id` names its owner (asked from `GET /users/me` when the profile
was never read). The voice is derived deterministically (`derive.py`); when the client's AI provider is
a real model (not the offline writer), a prose `description` of the voice is added. Nothing is written
until everything has been read and derived, in one transaction: a failure changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from revos.accounts.provider import linkedin_client
from revos.cartridges import derive, repo, service
from revos.cartridges.resolution import resolve
from revos.db.pool import Conn
from revos.errors import RevosError, ValidationFailed
from revos.linkedin.errors import UnipileError
from revos.linkedin.models import Post
from revos.runtime import Runtime

Tx = Callable[[], AbstractAsyncContextManager[Conn]]
SAMPLE_POSTS = 5


class LinkedInReadFailed(RevosError):
    status_code = 502
    code = "linkedin_error"


@dataclass(frozen=True)
class Source:
    account_id: UUID
    unipile_account_id: str
    provider_id: str | None


@dataclass(frozen=True)
class Learned:
    voice: dict[str, Any]
    posts: int


async def source_account(
    conn: Conn, *, client_id: UUID, user_id: UUID | None, linkedin_account_id: UUID | None
) -> Source:
    """The account whose posts to read: the one named (of the same client, and of the same user when
    both name one), else the user's own connected account."""
    if linkedin_account_id is not None:
        account = await repo.linkedin_account(conn, linkedin_account_id)
        if account is None or account["client_id"] != client_id:
            raise service.invalid("linkedin_account_id", "no such LinkedIn account in this client")
        if user_id is not None and account["user_id"] not in (None, user_id):
            raise service.invalid("linkedin_account_id", "the account belongs to another user")
    elif user_id is None:
        raise service.invalid(
            "linkedin_account_id", "this cartridge has no user: name the LinkedIn account whose posts to read"
        )
    else:
        account = await repo.linkedin_account_of_user(conn, client_id, user_id)
        if account is None:
            raise service.invalid(
                "linkedin_account_id",
                "the user has no connected LinkedIn account: connect one, or name linkedin_account_id",
            )
    if not account["unipile_account_id"]:
        raise service.invalid("linkedin_account_id", "the LinkedIn account is not connected yet")
    profile = account["profile_data"] or {}
    return Source(account["id"], account["unipile_account_id"], profile.get("provider_id"))


async def read_posts(runtime: Runtime, source: Source, max_posts: int) -> list[Post]:
    """The author's own recent posts (reposts left out), newest first."""
    client = linkedin_client(runtime)
    posts: list[Post] = []
    try:
        provider_id = (
            source.provider_id or (await client.get_own_profile(source.unipile_account_id)).provider_id
        )
        async for post in client.iter_user_posts(
            provider_id, source.unipile_account_id, limit=min(max_posts, 100)
        ):
            if not post.is_repost and post.text.strip():
                posts.append(post)
            if len(posts) >= max_posts:
                break
    except UnipileError as exc:
        raise LinkedInReadFailed(f"could not read the LinkedIn posts: {exc.title}") from exc
    return posts


async def describe(
    runtime: Runtime, *, client_id: UUID, voice: Mapping[str, Any], samples: list[str]
) -> str | None:
    """A prose description of the voice by the client's AI provider; None with the offline writer (not
    called: a description is what a model adds to the measures)."""
    from revos.ai import client_settings
    from revos.ai import service as ai
    from revos.ai.base import CompletionRequest

    async with runtime.db.service(actor="cartridges") as conn:
        if (await client_settings.effective(runtime, conn, client_id)).provider == "offline":
            return None
    request = CompletionRequest(
        system="You describe how a LinkedIn author writes, for a writer who must sound like them. "
        "Three to five plain sentences: tone, rhythm, formatting habits, how posts open and close. "
        "No lists, no praise, no quotes from the posts.",
        prompt="Measured habits:\n" + _habits(voice) + "\n\nTheir posts:\n\n" + "\n\n---\n\n".join(samples),
        purpose="describe",
        voice=voice,
        context={"posts": len(samples)},
        max_tokens=300,
        temperature=0.2,
    )
    completion = await ai.complete(runtime, runtime.db, client_id=client_id, request=request)
    if completion.provider == "offline":
        return None
    return completion.text.strip() or None


def _habits(voice: Mapping[str, Any]) -> str:
    keys = ("sentence_length", "paragraphs", "emoji_policy", "hashtags", "formality", "sign_off", "phrases")
    return "\n".join(f"- {k}: {voice.get(k)}" for k in keys if voice.get(k) not in (None, [], {}))


async def learn(runtime: Runtime, source: Source, *, client_id: UUID, max_posts: int) -> Learned:
    posts = await read_posts(runtime, source, max_posts)
    if not posts:
        raise ValidationFailed("the LinkedIn account has no posts of its own to learn a voice from")
    texts = [p.text for p in posts]
    voice = derive.derive_voice(texts, [p.reaction_counter + 2 * p.comment_counter for p in posts])
    description = await describe(runtime, client_id=client_id, voice=voice, samples=texts[:SAMPLE_POSTS])
    if description:
        voice["description"] = description
    return Learned(voice, len(posts))


async def store(conn: Conn, cartridge_id: UUID, learned: Learned) -> dict[str, Any]:
    """Write the learned voice over the cartridge's own (a `generate` version). The keys it measured
    replace the cartridge's; object-valued ones keep what the cartridge (or, failing that, its parents)
    said beyond the measures, e.g. the hashtag style of the system cartridge."""
    row = await service.get(conn, cartridge_id, for_update=True)
    inherited: dict[str, Any] = {}
    if row["parent_cartridge_id"] is not None:
        inherited = (await resolve(conn, row["parent_cartridge_id"])).voice
    own = dict(row["voice"] or {})
    for key, value in learned.voice.items():
        if isinstance(value, dict):
            base = own.get(key) if isinstance(own.get(key), dict) else inherited.get(key)
            value = {**(base if isinstance(base, dict) else {}), **value}
        own[key] = value
    return await service.write_generated(conn, cartridge_id, own, learned.posts)


async def regenerate(
    runtime: Runtime, tx: Tx, cartridge_id: UUID, *, linkedin_account_id: UUID | None, max_posts: int
) -> dict[str, Any]:
    """Learn the cartridge's voice again from its user's posts (the on-demand `generate`)."""
    async with tx() as conn:
        row = await service.get(conn, cartridge_id)
        if row["tier"] == "system":
            raise ValidationFailed(
                "a system cartridge is shared by every client: it is not learned from posts"
            )
        source = await source_account(
            conn, client_id=row["client_id"], user_id=row["user_id"], linkedin_account_id=linkedin_account_id
        )
    learned = await learn(runtime, source, client_id=row["client_id"], max_posts=max_posts)
    async with tx() as conn:
        return await store(conn, cartridge_id, learned)
