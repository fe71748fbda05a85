"""Profiles, relations, posts, comments (with reply threads), reactions and invitations over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from revos.linkedin import (
    AlreadyInvited,
    InvalidRequest,
    NotFound,
    UnipileClient,
)
from tests.linkedin.conftest import RecordingTransport, World


@pytest.mark.parametrize("by", ["provider_id", "public_identifier"])
async def test_get_profile_by_either_identifier(client: UnipileClient, world: World, by: str) -> None:
    profile = await client.get_profile(getattr(world.friend, by), world.account_id)
    assert profile.provider_id == world.friend.provider_id
    assert profile.full_name == "Ann Lee"
    assert profile.is_first_degree
    stranger = await client.get_profile(world.stranger.provider_id, world.account_id)
    assert not stranger.is_first_degree


async def test_unknown_profile_is_not_found(client: UnipileClient, world: World) -> None:
    with pytest.raises(NotFound):
        await client.get_profile("no-such-member", world.account_id)


async def test_own_profile(client: UnipileClient, world: World) -> None:
    me = await client.get_own_profile(world.account_id)
    assert me.provider_id == world.login.member.provider_id
    assert (me.first_name, me.last_name) == ("Jane", "Doe")


async def test_relations_across_pages(sim: Any, client: UnipileClient, world: World) -> None:
    for n in range(4):
        sim.add_member(f"R{n}", "Friend", connected_to=[world.login])
    items, cursor = await client.list_relations(world.account_id, limit=2)
    assert len(items) == 2
    assert cursor
    relations = [r async for r in client.iter_relations(world.account_id, limit=2)]
    assert len(relations) == 5  # Ann + the four
    assert len({r.member_id for r in relations}) == 5


async def test_create_post_with_attachment_then_read_it(client: UnipileClient, world: World) -> None:
    created = await client.create_post(
        world.account_id, "Launch day", attachments=[("chart.png", b"\x89PNG fake", "image/png")]
    )
    assert created.post_id
    post = await client.get_post(created.post_id, world.account_id)
    assert post.text == "Launch day"
    assert post.social_id.startswith("urn:li:")
    assert len(post.attachments) == 1
    assert post.attachments[0].mimetype == "image/png"
    mine = [
        p async for p in client.iter_user_posts(world.login.member.provider_id, world.account_id, limit=1)
    ]
    assert {p.id for p in mine} == {created.post_id, world.post.id}


async def test_comments_full_pagination_and_reply_threads(
    sim: Any, client: UnipileClient, world: World, recorder: RecordingTransport
) -> None:
    top = [sim.add_comment(world.post, world.friend, f"top {n}") for n in range(7)]
    replies = [sim.add_comment(world.post, world.stranger, f"reply {n}", reply_to=top[2]) for n in range(5)]
    replies.append(sim.add_comment(world.post, world.friend, "reply x", reply_to=top[5]))
    post = await client.get_post(world.post.id, world.account_id)
    assert post.comment_counter == 13

    first, cursor = await client.list_comments(post.social_id, world.account_id, limit=3)
    assert len(first) == 3
    assert cursor

    flat = [c async for c in client.iter_comments(post.social_id, world.account_id, limit=3)]
    assert sorted(c.id for c in flat) == sorted(c.id for c in top)

    recorder.exchanges.clear()
    everything = [
        c async for c in client.iter_comments(post.social_id, world.account_id, limit=2, include_replies=True)
    ]
    assert sorted(c.id for c in everything) == sorted(c.id for c in top + replies)
    # Replies come right after their parent, and only threads with replies cost a call.
    ids = [c.id for c in everything]
    parent_at = ids.index(top[2].id)
    assert ids[parent_at + 1 : parent_at + 6] == [r.id for r in replies[:5]]
    reply_calls = [e for e in recorder.reads("/comments")]
    assert len(reply_calls) == 4 + 3 + 1  # 7 top-level in pages of 2, 5 replies in pages of 2, 1 reply

    thread, _ = await client.list_comments(post.social_id, world.account_id, comment_id=top[5].id)
    assert [c.text for c in thread] == ["reply x"]


async def test_comment_reply_and_react_move_the_counters(
    sim: Any, client: UnipileClient, world: World
) -> None:
    post = await client.get_post(world.post.id, world.account_id)
    sent = await client.comment(post.social_id, world.account_id, "Great thread")
    assert sent.comment_id
    reply = await client.comment(post.social_id, world.account_id, "Replying", comment_id=sent.comment_id)
    assert reply.comment_id
    added = await client.react(post.social_id, world.account_id, "celebrate")
    assert added.object == "ReactionAdded"
    await client.react(post.social_id, world.account_id, comment_id=sent.comment_id)
    after = await client.get_post(world.post.id, world.account_id)
    assert after.comment_counter == post.comment_counter + 2
    assert after.reaction_counter == post.reaction_counter + 1
    texts = {c.text for c in sim.comments(world.post)}
    assert {"Great thread", "Replying"} <= texts


async def test_comment_on_missing_post_is_not_found(client: UnipileClient, world: World) -> None:
    with pytest.raises(NotFound):
        await client.comment("urn:li:activity:1", world.account_id, "hello")


async def test_invitation_then_already_invited(sim: Any, client: UnipileClient, world: World) -> None:
    sent = await client.send_invitation(
        world.stranger.provider_id, world.account_id, "Hi Bob, loved your post"
    )
    assert sent.invitation_id
    assert len(sim.invitations(world.account_id, to=world.stranger)) == 1
    with pytest.raises(AlreadyInvited) as info:
        await client.send_invitation(world.stranger.provider_id, world.account_id)
    assert not info.value.retryable
    assert not info.value.ambiguous
    pending = [i async for i in client.iter_sent_invitations(world.account_id, limit=1)]
    assert [i.invited_user_id for i in pending] == [world.stranger.provider_id]
    assert pending[0].invitation_text == "Hi Bob, loved your post"
    cancelled = await client.cancel_invitation(pending[0].id, world.account_id)
    assert cancelled.object == "InvitationCanceled"


async def test_invitation_note_over_300_chars_never_leaves(
    sim: Any, client: UnipileClient, world: World, recorder: RecordingTransport
) -> None:
    with pytest.raises(InvalidRequest) as info:
        await client.send_invitation(world.stranger.provider_id, world.account_id, "x" * 301)
    assert "300" in str(info.value)
    assert recorder.exchanges == []
    assert sim.invitations(world.account_id) == []
