"""What the routes find by owner (an account's chats, a member's invitations, a post's comments) follows the
world as it changes: new chats, replies, withdrawn and accepted invitations, replaced reactions, reposts."""

from __future__ import annotations

import httpx

from revos.clock import ManualClock
from revos.sim import Persona, Simulator
from revos.sim.serialize import attendee_id
from tests.sim.conftest import Connected, assert_error


async def _items(api: httpx.AsyncClient, path: str, **params: str) -> list[dict]:
    r = await api.get(path, params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def _start(api: httpx.AsyncClient, account_id: str, *members: str, text: str = "Hi") -> str:
    data = {"account_id": account_id, "attendees_ids": list(members), "text": text}
    r = await api.post("/chats", data=data)
    assert r.status_code == 201, r.text
    return str(r.json()["chat_id"])


async def test_chats_messages_and_attendees_stay_with_their_account(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    mine, ann = connected.account_id, connected.friend
    other = sim.connect_account(sim.add_account(name="Other Owner"))
    sim.connect(other, ann)
    dan = sim.add_member("Dan", "Fox", connected_to=[connected.login])

    group = await _start(api, mine, ann.provider_id, dan.provider_id, text="Hi both")
    ours = await _start(api, mine, ann.provider_id)
    theirs = await _start(api, other.id, ann.provider_id)
    assert len({group, ours, theirs}) == 3  # a group chat is not the 1:1 chat; each account has its own
    assert await _start(api, mine, ann.provider_id, text="Again") == ours
    reply = sim.add_message(ours, ann, "Thanks!")

    assert [c["id"] for c in await _items(api, "/chats", account_id=mine)] == [ours, group]
    assert [c["id"] for c in await _items(api, "/chats", account_id=other.id)] == [theirs]
    ann_here = attendee_id(mine, ann.provider_id)
    chats = await _items(api, f"/chat_attendees/{ann_here}/chats")
    assert [c["id"] for c in chats] == [ours, group]
    assert [m["id"] for m in await _items(api, f"/chat_attendees/{ann_here}/messages")] == [reply.id]
    assert await _items(api, f"/chat_attendees/{attendee_id(other.id, ann.provider_id)}/messages") == []
    texts = [m["text"] for m in await _items(api, "/messages", account_id=other.id)]
    assert texts == ["Hi"]
    listed = await _items(api, "/chat_attendees", account_id=f"{other.id},{mine}")
    owner = connected.login.provider_id
    assert [(a["account_id"], a["provider_id"], a["is_self"]) for a in listed] == [
        (mine, owner, 1),
        (mine, ann.provider_id, 0),
        (mine, dan.provider_id, 0),
        (other.id, other.owner.provider_id, 1),
        (other.id, ann.provider_id, 0),
    ]
    r = await api.get(f"/chat_attendees/{attendee_id(mine, connected.stranger.provider_id)}")
    assert_error(r, 404, "errors/resource_not_found")


async def test_invitations_and_relations_follow_withdrawal_and_acceptance(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, clock: ManualClock
) -> None:
    acc = connected.account_id
    eve = sim.add_member("Eve", "Moss", persona=Persona(on_invite="accept", invite_delay=60))

    async def profile(member_id: str) -> dict:
        r = await api.get(f"/users/{member_id}", params={"account_id": acc})
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def invite(member_id: str, **extra: str) -> httpx.Response:
        return await api.post("/users/invite", json={"account_id": acc, "provider_id": member_id, **extra})

    first = (await invite(connected.stranger.provider_id)).json()["invitation_id"]
    assert (await profile(connected.stranger.public_identifier))["invitation"]["status"] == "PENDING"
    r = await api.delete(f"/users/invite/sent/{first}", params={"account_id": acc})
    assert r.status_code == 200, r.text
    assert "invitation" not in await profile(connected.stranger.provider_id)
    assert await _items(api, "/users/invite/sent", account_id=acc) == []
    assert_error(await invite(connected.stranger.provider_id), 422, "errors/cannot_resend_yet")

    assert (await invite(eve.provider_id, message="Hello Eve")).status_code == 200
    assert [i["invited_user_id"] for i in await _items(api, "/users/invite/sent", account_id=acc)] == [
        eve.provider_id
    ]
    before = (await profile(connected.friend.provider_id))["connections_count"]
    clock.advance(61)
    await sim.run_due()
    relations = await _items(api, "/users/relations", account_id=acc)
    assert [r["member_id"] for r in relations] == [eve.provider_id, connected.friend.provider_id]
    seen = await profile(eve.provider_id)
    assert (seen["network_distance"], seen["connections_count"]) == ("FIRST_DEGREE", 1)
    assert "invitation" not in seen
    assert (await profile(connected.friend.provider_id))["connections_count"] == before
    chats = await _items(api, f"/chat_attendees/{attendee_id(acc, eve.provider_id)}/chats")
    assert [c["attendee_provider_id"] for c in chats] == [eve.provider_id]
    assert await _start(api, acc, eve.provider_id) == chats[0]["id"]  # the note's chat is reused


async def test_comments_reactions_and_reposts_stay_with_their_post(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    acc = connected.account_id
    post = sim.add_post(connected.friend, "First post")
    other = sim.add_post(connected.friend, "Second post")
    top = sim.add_comment(post, connected.stranger, "Nice")

    r = await api.post(
        f"/posts/{post.social_id}/comments", json={"account_id": acc, "text": "Agreed", "comment_id": top.id}
    )
    assert r.status_code == 201, r.text
    r = await api.post(
        f"/posts/{other.social_id}/comments", json={"account_id": acc, "text": "?", "comment_id": top.id}
    )
    assert_error(r, 404, "errors/resource_not_found")
    replies = await _items(api, f"/posts/{post.social_id}/comments", account_id=acc, comment_id=top.id)
    assert [c["text"] for c in replies] == ["Agreed"]

    for kind in ("like", "celebrate"):
        r = await api.post(
            "/posts/reaction", json={"account_id": acc, "post_id": post.social_id, "reaction_type": kind}
        )
        assert r.status_code == 201, r.text
    reactions = await _items(api, f"/posts/{post.social_id}/reactions", account_id=acc)
    assert [(x["author"]["id"], x["value"]) for x in reactions] == [(connected.login.provider_id, "PRAISE")]
    assert await _items(api, f"/posts/{other.social_id}/reactions", account_id=acc) == []

    r = await api.post("/posts", data={"account_id": acc, "repost": post.id})
    assert r.status_code == 201, r.text
    mine = await _items(api, f"/users/{connected.login.member.public_identifier}/posts", account_id=acc)
    assert [(p["id"], p.get("repost_id")) for p in mine] == [(r.json()["post_id"], post.id)]
    theirs = await _items(api, f"/users/{connected.friend.provider_id}/posts", account_id=acc)
    assert [p["id"] for p in theirs] == [other.id, post.id]
