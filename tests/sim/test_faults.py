"""Injected faults: latency, 429, 5xx, timeouts before/after the action, disconnection, restriction."""

from __future__ import annotations

import time

import httpx
import pytest

from revos.sim import FaultRule, Simulator
from tests.sim.conftest import Connected, Receiver, assert_error, register_webhook
from tests.support import eventually


def _dm(connected: Connected, text: str = "Hi") -> dict[str, object]:
    return {"account_id": connected.account_id, "attendees_ids": [connected.friend.provider_id], "text": text}


async def test_latency_delays_the_answer(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    sim.faults.add(FaultRule("latency", route="GET /users/me", latency=0.3))
    started = time.monotonic()
    r = await api.get("/users/me", params={"account_id": connected.account_id})
    assert r.status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        await api.get("/users/me", params={"account_id": connected.account_id}, timeout=0.1)


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
async def test_failures_before_the_action_do_nothing(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, rule: FaultRule, status: int, type_: str
) -> None:
    rule.route = "POST /chats"
    sim.faults.add(rule)
    assert_error(await api.post("/chats", data=_dm(connected)), status, type_)
    assert sim.sent_messages() == []
    sim.faults.clear()
    assert (await api.post("/chats", data=_dm(connected))).status_code == 201
    assert len(sim.sent_messages()) == 1


async def test_hang_before_the_action_does_nothing(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    rule = sim.faults.add(FaultRule("timeout", route="POST /users/invite", hang=True, hang_seconds=2))
    body = {"account_id": connected.account_id, "provider_id": connected.stranger.provider_id}
    with pytest.raises(httpx.ReadTimeout):
        await api.post("/users/invite", json=body, timeout=0.2)
    await eventually(lambda: rule.hits == 1, "the request reached the hang")
    assert sim.invitations() == []


async def test_timeout_after_the_action_then_blind_retry_duplicates_the_dm(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    sim.faults.add(FaultRule("timeout", route="POST /chats/*/messages", after=True, times=1))
    chat_id = (await api.post("/chats", data=_dm(connected, "step 1"))).json()["chat_id"]
    first = await api.post(f"/chats/{chat_id}/messages", data={"text": "step 2"})
    assert_error(first, 504, "errors/request_timeout")
    # The client cannot tell the message went out; a retry without reconciling sends it twice.
    retry = await api.post(f"/chats/{chat_id}/messages", data={"text": "step 2"})
    assert retry.status_code == 201
    texts = [m.text for m in sim.sent_messages(connected.account_id, to=connected.friend)]
    assert texts == ["step 1", "step 2", "step 2"]
    assert sim.sent_counts()[connected.friend.provider_id] == 3
    # Reading the chat is how a careful client would have found out.
    listed = (await api.get(f"/chats/{chat_id}/messages")).json()["items"]
    assert [m["text"] for m in listed].count("step 2") == 2


@pytest.mark.parametrize("route", ["POST /users/invite", "POST /posts/*/comments"])
async def test_hang_after_the_action_still_records_it(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, route: str
) -> None:
    sim.faults.add(FaultRule("timeout", route=route, after=True, hang=True, hang_seconds=2))
    post = sim.add_post(connected.login, "post")
    if route.endswith("invite"):
        url, body = (
            "/users/invite",
            {"account_id": connected.account_id, "provider_id": connected.stranger.provider_id},
        )
    else:
        url, body = f"/posts/{post.social_id}/comments", {"account_id": connected.account_id, "text": "GUIDE"}
    with pytest.raises(httpx.ReadTimeout):
        await api.post(url, json=body, timeout=0.2)
    # The caller gave up first; the server, on the same loop, may only now get to the request.
    await eventually(lambda: len(sim.invitations()) + len(sim.comments(post)) >= 1, "the action recorded")
    assert len(sim.invitations()) + len(sim.comments(post)) == 1


async def test_next_n_calls_and_probability(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    rule = sim.faults.add(FaultRule("error", route="GET /users/me", times=2))
    params = {"account_id": connected.account_id}
    codes = [(await api.get("/users/me", params=params)).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    assert rule.hits == 2
    sim.faults.clear()
    flaky = sim.faults.add(FaultRule("rate_limit", route="GET /users/me", probability=0.5))
    codes = [(await api.get("/users/me", params=params)).status_code for _ in range(40)]
    assert set(codes) == {200, 429}
    assert codes.count(429) == flaky.hits
    assert 8 <= flaky.hits <= 32


async def test_rules_target_an_account_and_a_route(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    other = sim.connect_account(sim.add_account(username="b@example.com"))
    sim.faults.add(FaultRule("error", status=503, account_id=other.id, route="/users/*"))
    assert (await api.get("/users/me", params={"account_id": connected.account_id})).status_code == 200
    assert (await api.get("/users/me", params={"account_id": other.id})).status_code == 503
    assert (await api.get(f"/accounts/{other.id}")).status_code == 200  # route does not match
    # Account inferred from a multipart body and from a chat id in the path.
    sim.faults.add(FaultRule("rate_limit", account_id=connected.account_id, route="POST /chats*"))
    assert (await api.post("/chats", data=_dm(connected))).status_code == 429
    assert (await api.get("/chats")).status_code == 200


async def test_account_of_a_multipart_body_is_its_account_id_field_whatever_follows(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    sim.faults.add(FaultRule("disconnect", account_id=connected.account_id, route="POST /chats", times=1))
    fields = [
        ("account_id", (None, connected.account_id)),
        ("attendees_ids", (None, connected.friend.provider_id)),
        ("text", (None, "Hi, where should I send it?")),
    ]
    assert_error(await api.post("/chats", files=fields), 401, "errors/disconnected_account")
    assert sim.account(connected.account_id).status == "CREDENTIALS"


async def test_disconnect_fault_flips_status_and_fires_webhook(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, receiver: Receiver
) -> None:
    await register_webhook(api, "account_status", receiver.url)
    sim.faults.add(FaultRule("disconnect", route="POST /chats", account_id=connected.account_id, times=1))
    assert_error(await api.post("/chats", data=_dm(connected)), 401, "errors/disconnected_account")
    assert_error(
        await api.get("/chats", params={"account_id": connected.account_id}),
        401,
        "errors/disconnected_account",
    )
    account = (await api.get(f"/accounts/{connected.account_id}")).json()
    assert account["sources"][0]["status"] == "CREDENTIALS"
    await sim.settle()
    assert [c.json()["AccountStatus"]["message"] for c in receiver.calls] == ["CREDENTIALS"]
    assert sim.sent_messages() == []
    creds = {"provider": "LINKEDIN", "username": "jane@example.com", "password": "pw"}
    assert (await api.post(f"/accounts/{connected.account_id}", json=creds)).status_code == 201
    assert (await api.post("/chats", data=_dm(connected))).status_code == 201


async def test_restriction_is_403_until_lifted(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    sim.faults.add(FaultRule("restrict", route="POST /users/invite", times=1))
    body = {"account_id": connected.account_id, "provider_id": connected.stranger.provider_id}
    assert_error(await api.post("/users/invite", json=body), 403, "errors/account_restricted")
    assert_error(
        await api.get("/users/me", params={"account_id": connected.account_id}),
        403,
        "errors/account_restricted",
    )
    sim.restrict(connected.account_id, False)
    assert (await api.post("/users/invite", json=body)).status_code == 200
