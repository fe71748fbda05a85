"""Members' accounts engaging with each other's posts (an engagement pod): reactions, comments and reposts
through the API, the lists that show them, the ground truth of who engaged where and when, and the faults
on these routes (spec §6)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from revos.clock import ManualClock
from revos.sim import FaultRule, Login, Simulator
from tests.sim.conftest import assert_error


@dataclass
class Pod:
    author: Login
    members: list[Login]
    social_id: str
    post_id: str


@pytest.fixture
async def pod(sim: Simulator, api: httpx.AsyncClient) -> Pod:
    """Three connected accounts; the first has published a post through the API."""
    logins = [sim.add_account(name=name) for name in ("Ada Author", "Ben Member", "Cleo Member")]
    for login in logins:
        sim.connect_account(login)
    author = logins[0]
    created = await api.post("/posts", json={"account_id": author.account_id, "text": "Pods, a thread"})
    assert created.status_code == 201, created.text
    post_id = created.json()["post_id"]
    post = (await api.get(f"/posts/{post_id}", params={"account_id": author.account_id})).json()
    return Pod(author, logins[1:], post["social_id"], post_id)


async def _react(api: httpx.AsyncClient, pod: Pod, who: Login, kind: str = "like") -> httpx.Response:
    body = {"account_id": who.account_id, "post_id": pod.social_id, "reaction_type": kind}
    return await api.post("/posts/reaction", json=body)


async def _comment(api: httpx.AsyncClient, pod: Pod, who: Login, text: str) -> httpx.Response:
    return await api.post(
        f"/posts/{pod.social_id}/comments", json={"account_id": who.account_id, "text": text}
    )


async def test_members_engage_and_the_lists_and_ground_truth_show_who_and_when(
    sim: Simulator, clock: ManualClock, api: httpx.AsyncClient, pod: Pod
) -> None:
    ben, cleo = pod.members
    published = clock.now()
    clock.advance(240)
    assert (await _react(api, pod, ben)).status_code == 201
    clock.advance(600)
    sent = await _comment(api, pod, cleo, "The point about timing is the one I keep relearning.")
    assert sent.status_code == 201, sent.text
    assert (await _react(api, pod, cleo, "insightful")).status_code == 201

    # The author reads both lists and sees each member by identity.
    reactions = (
        await api.get(f"/posts/{pod.social_id}/reactions", params={"account_id": pod.author.account_id})
    ).json()
    assert reactions["object"] == "ReactionList"
    assert {(r["author"]["id"], r["value"]) for r in reactions["items"]} == {
        (ben.provider_id, "LIKE"),
        (cleo.provider_id, "INTEREST"),
    }
    assert {r["author"]["name"] for r in reactions["items"]} == {"Ben Member", "Cleo Member"}
    comments = (
        await api.get(f"/posts/{pod.social_id}/comments", params={"account_id": pod.author.account_id})
    ).json()
    [comment] = comments["items"]
    assert comment["id"] == sent.json()["comment_id"]
    assert comment["author_details"]["id"] == cleo.provider_id
    assert comment["author"] == "Cleo Member"
    post = (await api.get(f"/posts/{pod.post_id}", params={"account_id": ben.account_id})).json()
    assert (post["reaction_counter"], post["comment_counter"], post["user_reacted"]) == (2, 1, "LIKE")

    # Ground truth: who engaged where, when (simulated time), through which account.
    truth = sim.engagements(pod.post_id)
    assert [(e.kind, e.actor_id, e.account_id) for e in truth] == [
        ("reaction", ben.provider_id, ben.account_id),
        ("comment", cleo.provider_id, cleo.account_id),
        ("reaction", cleo.provider_id, cleo.account_id),
    ]
    assert all(e.author_id == pod.author.provider_id for e in truth)
    assert [(e.at - published).total_seconds() for e in truth] == [240, 840, 840]
    assert truth[1].comment_id == comment["id"]
    assert truth[1].text == comment["text"]
    assert truth[2].value == "INTEREST"
    assert sim.engagements(actor=ben) == truth[:1]
    assert sim.engagements(pod.social_id, kind="comment") == truth[1:2]
    assert sim.engagement_duplicates() == {}


async def test_by_hand_engagement_is_recorded_apart_from_the_api(
    sim: Simulator, api: httpx.AsyncClient, pod: Pod
) -> None:
    ben, cleo = pod.members
    sim.react(ben, pod.post_id)
    sim.add_comment(sim.world.find_post(pod.post_id), cleo, "Saved this one.")
    sim.react(ben, pod.post_id, "celebrate")  # changed their mind: LinkedIn keeps one reaction
    assert [e.kind for e in sim.engagements(through_api=False)] == ["reaction", "comment", "reaction"]
    assert sim.engagements(through_api=True) == []
    assert sim.engagements(actor=ben)[-1].replaced
    assert sim.engagement_duplicates() == {}  # only what accounts did through the API counts
    reactions = (
        await api.get(f"/posts/{pod.social_id}/reactions", params={"account_id": cleo.account_id})
    ).json()
    assert [(r["author"]["id"], r["value"]) for r in reactions["items"]] == [(ben.provider_id, "PRAISE")]


async def test_repost_is_a_post_of_its_own_that_names_the_post_shared(
    sim: Simulator, api: httpx.AsyncClient, pod: Pod
) -> None:
    ben, cleo = pod.members
    plain = await api.post("/posts", json={"account_id": ben.account_id, "repost": pod.social_id})
    assert plain.status_code == 201, plain.text
    assert plain.json()["object"] == "PostCreated"
    quoted = await api.post(
        "/posts", data={"account_id": cleo.account_id, "repost": pod.post_id, "text": "Worth reading."}
    )
    assert quoted.status_code == 201, quoted.text
    shared = (
        await api.get(f"/posts/{plain.json()['post_id']}", params={"account_id": cleo.account_id})
    ).json()
    assert shared["is_repost"] is True
    assert shared["repost_id"] == pod.post_id
    assert shared["reposted_by"]["name"] == "Ben Member"
    assert shared["repost_content"]["text"] == "Pods, a thread"
    assert shared["author"]["id"] == ben.provider_id
    original = (await api.get(f"/posts/{pod.post_id}", params={"account_id": ben.account_id})).json()
    assert original["repost_counter"] == 2
    assert original["is_repost"] is False
    assert "repost_id" not in original
    reposts = sim.engagements(pod.post_id, kind="repost")
    assert [(e.actor_id, e.text, e.repost_id) for e in reposts] == [
        (ben.provider_id, None, plain.json()["post_id"]),
        (cleo.provider_id, "Worth reading.", quoted.json()["post_id"]),
    ]
    feed = (await api.get(f"/users/{ben.provider_id}/posts", params={"account_id": ben.account_id})).json()
    assert [p["id"] for p in feed["items"]] == [plain.json()["post_id"]]
    missing = await api.post("/posts", json={"account_id": ben.account_id, "repost": "urn:li:activity:1"})
    assert_error(missing, 404, "errors/resource_not_found")


@pytest.mark.parametrize(
    ("rule", "status", "type_"),
    [
        (FaultRule("rate_limit"), 429, "errors/too_many_requests"),
        (FaultRule("error", status=500), 500, "errors/provider_error"),
        (FaultRule("error", status=503), 503, "errors/service_unavailable"),
        (FaultRule("timeout"), 504, "errors/request_timeout"),
    ],
    ids=["429", "500", "503", "504-before"],
)
async def test_failures_before_the_engagement_leave_no_trace(
    sim: Simulator, api: httpx.AsyncClient, pod: Pod, rule: FaultRule, status: int, type_: str
) -> None:
    ben, _ = pod.members
    for route in ("POST /posts/reaction", "POST /posts/*/comments", "POST /posts"):
        sim.faults.add(FaultRule(rule.kind, route=route, status=rule.status, account_id=ben.account_id))
    assert_error(await _react(api, pod, ben), status, type_)
    assert_error(await _comment(api, pod, ben, "Useful."), status, type_)
    assert_error(
        await api.post("/posts", json={"account_id": ben.account_id, "repost": pod.post_id}), status, type_
    )
    assert sim.engagements() == []
    reactions = await api.get(f"/posts/{pod.social_id}/reactions", params={"account_id": ben.account_id})
    assert reactions.json()["items"] == []


async def test_timeout_after_the_engagement_then_blind_retry_is_a_duplicate(
    sim: Simulator, api: httpx.AsyncClient, pod: Pod
) -> None:
    ben, cleo = pod.members
    sim.faults.add(FaultRule("timeout", route="POST /posts/reaction", after=True, times=1))
    sim.faults.add(FaultRule("timeout", route="POST /posts/*/comments", after=True, times=1))
    assert_error(await _react(api, pod, ben), 504, "errors/request_timeout")
    assert_error(await _comment(api, pod, cleo, "Good one."), 504, "errors/request_timeout")
    # The engagements happened: the lists are how a careful client finds out.
    params = {"account_id": pod.author.account_id}
    reactions = (await api.get(f"/posts/{pod.social_id}/reactions", params=params)).json()["items"]
    comments = (await api.get(f"/posts/{pod.social_id}/comments", params=params)).json()["items"]
    assert [r["author"]["id"] for r in reactions] == [ben.provider_id]
    assert [c["author_details"]["id"] for c in comments] == [cleo.provider_id]
    assert sim.engagement_duplicates() == {}
    # A blind retry: LinkedIn shows one reaction but two comments; the ground truth counts both retries.
    assert (await _react(api, pod, ben)).status_code == 201
    assert (await _comment(api, pod, cleo, "Good one.")).status_code == 201
    reactions = (await api.get(f"/posts/{pod.social_id}/reactions", params=params)).json()["items"]
    comments = (await api.get(f"/posts/{pod.social_id}/comments", params=params)).json()["items"]
    assert len(reactions) == 1
    assert len(comments) == 2
    assert sim.engagement_duplicates() == {
        ("reaction", pod.post_id, ben.provider_id, None): 2,
        ("comment", pod.post_id, cleo.provider_id, None): 2,
    }


async def test_daily_caps_on_reactions_and_comments_answer_429(
    sim: Simulator, api: httpx.AsyncClient, pod: Pod
) -> None:
    ben, cleo = pod.members
    sim.set_budget(ben, "reactions", 1)
    sim.set_budget(cleo, "comments", 1)
    assert (await _react(api, pod, ben)).status_code == 201
    assert_error(await _react(api, pod, ben, "celebrate"), 429, "errors/too_many_requests")
    assert (await _comment(api, pod, cleo, "One.")).status_code == 201
    assert_error(await _comment(api, pod, cleo, "Two."), 429, "errors/too_many_requests")
    assert [e.kind for e in sim.engagements()] == ["reaction", "comment"]
