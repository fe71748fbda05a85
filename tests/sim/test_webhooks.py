"""Webhook registration and delivery semantics (spec §9.1, §12.8)."""

from __future__ import annotations

import asyncio

import httpx

from revos.clock import ManualClock
from revos.sim import Simulator
from tests.sim.conftest import Connected, Receiver, assert_error, register_webhook


async def test_create_list_delete(sim: Simulator, api: httpx.AsyncClient, connected: Connected) -> None:
    hook_id = await register_webhook(
        api,
        "messaging",
        "https://example.invalid/hook",
        headers=[{"key": "X-Secret", "value": "v"}],
        account_ids=[connected.account_id],
        events=["message_received", "message_read"],
    )
    listed = (await api.get("/webhooks")).json()
    assert listed["object"] == "WebhookList"
    (item,) = listed["items"]
    assert item["object"] == "Webhook"
    assert item["id"] == hook_id
    assert item["account_ids"] == [{"id": connected.account_id, "name": "Jane Doe", "type": "LINKEDIN"}]
    assert item["headers"] == [{"key": "X-Secret", "value": "v"}]
    assert item["events"] == ["message_received", "message_read"]
    assert (await api.delete(f"/webhooks/{hook_id}")).json() == {"object": "WebhookDeleted"}
    assert (await api.get("/webhooks")).json()["items"] == []
    assert_error(await api.delete(f"/webhooks/{hook_id}"), 404, "errors/resource_not_found")
    bad = await api.post("/webhooks", json={"source": "fax", "request_url": "https://x"})
    assert_error(bad, 400, "errors/invalid_parameters")
    assert_error(await api.post("/webhooks", json={"source": "users"}), 400, "errors/missing_parameters")


async def test_gives_up_after_five_retries(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, clock: ManualClock, receiver: Receiver
) -> None:
    receiver.fail_first = 100
    await register_webhook(api, "messaging", receiver.url)
    sim.add_message((await _chat(api, connected)), connected.friend, "hello")
    await sim.settle()
    for delay in (1, 2, 4, 8, 16, 32):
        clock.advance(delay)
        await sim.settle()
    deliveries = sim.webhook_deliveries("messaging")
    assert len(deliveries) == 2  # the outbound DM and the inbound reply
    for d in deliveries:
        assert len(d.attempts) == 6
        assert d.gave_up
        assert not d.delivered
        gaps = [(b.at - a.at).total_seconds() for a, b in zip(d.attempts, d.attempts[1:], strict=False)]
        assert gaps == sorted(gaps)  # increasing delays
    assert len(receiver.calls) == 12


async def test_filters_by_account_and_stops_when_deleted(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, receiver: Receiver
) -> None:
    other = sim.connect_account(sim.add_account(username="b@example.com"))
    hook_id = await register_webhook(api, "messaging", receiver.url, account_ids=[other.id])
    await _chat(api, connected)
    await sim.settle()
    assert receiver.calls == []
    await api.delete(f"/webhooks/{hook_id}")
    await register_webhook(api, "messaging", receiver.url, account_ids=[connected.account_id])
    await _chat(api, connected)
    await sim.settle()
    assert len(receiver.calls) == 1


async def test_delivery_never_blocks_the_api_response(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, receiver: Receiver
) -> None:
    gate = asyncio.Event()
    inner = Receiver.__call__

    async def slow(self: Receiver, scope: object, receive: object, send: object) -> None:
        await gate.wait()
        await inner(self, scope, receive, send)

    receiver.__class__ = type("SlowReceiver", (Receiver,), {"__call__": slow})
    await register_webhook(api, "messaging", receiver.url)
    # The receiver answers nothing until the gate opens: the API's answer arrives all the same (a
    # delivery inside the request would hold it until the client's timeout), with the delivery pending.
    await _chat(api, connected)
    assert sim.webhooks.inflight == 1
    assert not sim.webhook_deliveries()[0].delivered
    gate.set()
    assert await sim.webhooks.wait_idle(30)
    assert sim.webhook_deliveries()[0].delivered


async def test_messages_while_disconnected_are_delivered_after_reconnect(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, receiver: Receiver
) -> None:
    chat_id = await _chat(api, connected)
    await register_webhook(api, "messaging", receiver.url)
    sim.disconnect(connected.account_id)
    sim.add_message(chat_id, connected.friend, "while you were away")
    await sim.settle()
    assert receiver.calls == []
    creds = {"provider": "LINKEDIN", "username": "jane@example.com", "password": "pw"}
    await api.post(f"/accounts/{connected.account_id}", json=creds)
    await sim.settle()
    assert [c.json()["message"] for c in receiver.calls] == ["while you were away"]


async def _chat(api: httpx.AsyncClient, connected: Connected) -> str:
    r = await api.post(
        "/chats",
        data={
            "account_id": connected.account_id,
            "attendees_ids": [connected.friend.provider_id],
            "text": "Hi",
        },
    )
    assert r.status_code == 201
    return str(r.json()["chat_id"])
