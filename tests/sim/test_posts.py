"""Posts, comments with replies and paging, reactions (spec §6, §12.5)."""

from __future__ import annotations

import httpx

from revos.clock import ManualClock
from revos.sim import Persona, Simulator
from tests.sim.conftest import Connected, assert_error


async def _publish(api: httpx.AsyncClient, account_id: str, text: str = "Comment GUIDE") -> dict:
    created = await api.post("/posts", json={"account_id": account_id, "text": text})
    assert created.status_code == 201
    assert created.json()["object"] == "PostCreated"
    post_id = created.json()["post_id"]
    assert post_id.isdigit()
    return (await api.get(f"/posts/{post_id}", params={"account_id": account_id})).json()


async def test_multipart_post_with_attachment(api: httpx.AsyncClient, connected: Connected) -> None:
    r = await api.post(
        "/posts",
        data={"account_id": connected.account_id, "text": "With a picture"},
        files=[("attachments", ("cover.png", b"\x89PNG....", "image/png"))],
    )
    assert r.status_code == 201
    post = (
        await api.get(f"/posts/{r.json()['post_id']}", params={"account_id": connected.account_id})
    ).json()
    assert post["text"] == "With a picture"
    assert post["attachments"][0]["type"] == "img"
    assert post["attachments"][0]["file_size"] == 8


async def test_post_by_numeric_id_or_social_id(api: httpx.AsyncClient, connected: Connected) -> None:
    post = await _publish(api, connected.account_id)
    assert post["object"] == "Post"
    assert post["social_id"] == f"urn:li:activity:{post['id']}"
    by_urn = (
        await api.get(f"/posts/{post['social_id']}", params={"account_id": connected.account_id})
    ).json()
    assert by_urn["id"] == post["id"]
    assert post["author"]["id"] == connected.login.provider_id
    for key in ("share_url", "date", "parsed_datetime", "permissions", "is_repost", "impressions_counter"):
        assert key in post
    missing = await api.get("/posts/123", params={"account_id": connected.account_id})
    assert_error(missing, 404, "errors/resource_not_found")


async def test_counters_move_with_comments_and_reactions(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    post = await _publish(api, connected.account_id)
    sid, acc = post["social_id"], connected.account_id
    sent = await api.post(f"/posts/{sid}/comments", json={"account_id": acc, "text": "First!"})
    assert sent.status_code == 201
    assert sent.json()["object"] == "CommentSent"
    reply = await api.post(
        f"/posts/{sid}/comments",
        data={"account_id": acc, "text": "Self reply", "comment_id": sent.json()["comment_id"]},
    )
    assert reply.status_code == 201
    r = await api.post(
        "/posts/reaction", json={"account_id": acc, "post_id": sid, "reaction_type": "celebrate"}
    )
    assert r.status_code == 201
    assert r.json() == {"object": "ReactionAdded"}
    sim.world.react(sim.world.find_post(sid), connected.friend, "like")
    after = (await api.get(f"/posts/{post['id']}", params={"account_id": acc})).json()
    assert after["comment_counter"] == 2
    assert after["reaction_counter"] == 2
    assert after["user_reacted"] == "PRAISE"
    assert after["impressions_counter"] == 4 > post["impressions_counter"]
    reactions = (await api.get(f"/posts/{sid}/reactions", params={"account_id": acc})).json()
    assert {x["value"] for x in reactions["items"]} == {"PRAISE", "LIKE"}
    assert_error(
        await api.post("/posts/reaction", json={"account_id": acc, "post_id": sid, "reaction_type": "meh"}),
        400,
        "errors/invalid_parameters",
    )


async def test_paging_over_many_comments_and_replies(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    post = sim.add_post(connected.login, "Comment GUIDE below")
    members = [sim.add_member(f"M{n}", "Tester") for n in range(5)]
    top = [sim.add_comment(post, members[n % 5], f"GUIDE #{n}") for n in range(130)]
    for n in range(12):
        sim.add_comment(post, members[n % 5], f"reply {n}", reply_to=top[3])
    acc = connected.account_id
    seen: list[str] = []
    items: dict[str, dict] = {}
    params: dict[str, object] = {"account_id": acc, "limit": 50}
    pages = 0
    while True:
        page = (await api.get(f"/posts/{post.social_id}/comments", params=params)).json()
        assert page["object"] == "CommentList"
        assert page["total_items"] == (130 if pages == 0 else 131)
        seen += [c["id"] for c in page["items"]]
        items.update({c["id"]: c for c in page["items"]})
        pages += 1
        if pages == 1:
            # A comment arriving mid-scan must not shift the next pages (no repeats, no gaps).
            sim.add_comment(post, members[0], "late GUIDE")
        if page["cursor"] is None:
            break
        params = {"account_id": acc, "cursor": page["cursor"]}
    assert pages == 3
    assert seen == [c.id for c in reversed(top)]  # most recent first
    parent = items[top[3].id]
    assert parent["reply_counter"] == 12
    replies = (
        await api.get(
            f"/posts/{post.social_id}/comments",
            params={"account_id": acc, "comment_id": top[3].id, "limit": 5},
        )
    ).json()
    assert [c["text"] for c in replies["items"]] == [f"reply {n}" for n in range(5)]
    assert replies["total_items"] == 12
    assert replies["items"][0]["thread_id"] == top[3].id
    counter = (await api.get(f"/posts/{post.id}", params={"account_id": acc})).json()["comment_counter"]
    assert counter == 130 + 12 + 1


async def test_comment_limit_validation(sim: Simulator, api: httpx.AsyncClient, connected: Connected) -> None:
    post = sim.add_post(connected.login, "x")
    url = f"/posts/{post.social_id}/comments"
    assert_error(
        await api.get(url, params={"account_id": connected.account_id, "limit": 0}),
        400,
        "errors/invalid_parameters",
    )
    assert_error(
        await api.get(url, params={"account_id": connected.account_id, "limit": 101}),
        400,
        "errors/limit_too_high",
    )
    assert_error(
        await api.get(url, params={"account_id": connected.account_id, "cursor": "%%%"}),
        400,
        "errors/invalid_parameters",
    )
    too_long = await api.post(url, json={"account_id": connected.account_id, "text": "x" * 1251})
    assert_error(too_long, 400, "errors/too_many_characters")


async def test_personas_comment_on_published_post_after_delay(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, clock: ManualClock
) -> None:
    keen = sim.add_member(
        "Kai", "Keen", persona=Persona(comment="trigger", trigger_word="PLAYBOOK", comment_delay=60)
    )
    twice = sim.add_member(
        "Tess", "Twice", persona=Persona(comment="twice", trigger_word="PLAYBOOK", comment_delay=60)
    )
    plain = sim.add_member("Pat", "Plain", persona=Persona(comment="plain", comment_delay=60))
    post = await _publish(api, connected.account_id, "Comment PLAYBOOK")
    await sim.run_due()
    assert sim.comments(post["id"]) == []
    clock.advance(61)
    await sim.run_due()
    assert {c.author.first_name for c in sim.comments(post["id"])} == {"Kai", "Tess", "Pat"}
    clock.advance(60)
    await sim.run_due()
    assert len(sim.comments(post["id"], author=twice)) == 2
    listed = (
        await api.get(f"/posts/{post['social_id']}/comments", params={"account_id": connected.account_id})
    ).json()
    assert listed["total_items"] == 4
    truth = {r.member_id: r.contains_trigger for r in sim.ground_truth(kind="comment")}
    assert truth[keen.provider_id]
    assert truth[twice.provider_id]
    assert not truth[plain.provider_id]
    keen_text = sim.comments(post["id"], author=keen)[0].text
    assert "PLAYBOOK" in keen_text


async def test_user_posts_list(sim: Simulator, api: httpx.AsyncClient, connected: Connected) -> None:
    for n in range(3):
        sim.add_post(connected.friend, f"post {n}")
    page = (
        await api.get(
            f"/users/{connected.friend.provider_id}/posts",
            params={"account_id": connected.account_id, "limit": 2},
        )
    ).json()
    assert page["object"] == "PostList"
    assert [p["text"] for p in page["items"]] == ["post 2", "post 1"]
    assert page["paging"] == {"page_count": 2}
    nxt = (
        await api.get(f"/users/{connected.friend.provider_id}/posts", params={"cursor": page["cursor"]})
    ).json()
    assert [p["text"] for p in nxt["items"]] == ["post 0"]
    assert nxt["cursor"] is None
