"""Chats, messages, message webhooks and persona replies (spec §7, §9.2, §12.6–7)."""

from __future__ import annotations

import httpx
import pytest

from revos.clock import ManualClock
from revos.sim import Persona, Simulator
from revos.sim.emails import obfuscate
from tests.sim.conftest import Connected, Receiver, assert_error, register_webhook


async def _start(
    api: httpx.AsyncClient, account_id: str, provider_id: str, text: str, **extra: str
) -> httpx.Response:
    return await api.post(
        "/chats", data={"account_id": account_id, "attendees_ids": [provider_id], "text": text, **extra}
    )


async def test_start_chat_reuses_the_one_to_one_chat(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    first = await _start(api, connected.account_id, connected.friend.provider_id, "Hello Ann")
    assert first.status_code == 201
    assert first.json()["object"] == "ChatStarted"
    second = await _start(api, connected.account_id, connected.friend.provider_id, "Hello again")
    assert second.json()["chat_id"] == first.json()["chat_id"]
    assert second.json()["message_id"] != first.json()["message_id"]
    assert sim.sent_counts(connected.account_id)[connected.friend.provider_id] == 2


async def test_non_first_degree_needs_inmail(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    acc = connected.account_id
    r = await _start(api, acc, connected.stranger.provider_id, "Hi")
    body = assert_error(r, 422, "errors/no_connection_with_recipient")
    assert "first degree" in body["detail"]
    r = await _start(
        api,
        acc,
        connected.stranger.provider_id,
        "Hi",
        **{"linkedin[api]": "classic", "linkedin[inmail]": "true"},
    )
    assert_error(r, 422, "errors/not_allowed_inmail")
    open_profile = sim.add_member("Olga", "Open", open_profile=True)
    r = await _start(api, acc, open_profile.provider_id, "Hi", **{"linkedin[inmail]": "true"})
    assert r.status_code == 201
    chat = (await api.get(f"/chats/{r.json()['chat_id']}")).json()
    assert chat["content_type"] == "inmail"
    assert sim.sent_messages(acc, to=connected.stranger) == []
    assert_error(await _start(api, acc, "ACoAAunknown", "Hi"), 422, "errors/invalid_recipient")


async def test_send_read_and_list(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, clock: ManualClock
) -> None:
    acc = connected.account_id
    chat_id = (await _start(api, acc, connected.friend.provider_id, "one")).json()["chat_id"]
    clock.advance(60)
    sent = await api.post(f"/chats/{chat_id}/messages", json={"text": "two"})
    assert sent.status_code == 201
    assert sent.json()["object"] == "MessageSent"
    clock.advance(60)
    sim.add_message(chat_id, connected.friend, "three")
    chat = (await api.get(f"/chats/{chat_id}")).json()
    assert chat["object"] == "Chat"
    assert chat["type"] == 0
    assert chat["attendee_provider_id"] == connected.friend.provider_id
    assert chat["unread_count"] == 1
    assert chat["lastMessage"]["text"] == "three"
    listed = (await api.get(f"/chats/{chat_id}/messages")).json()
    assert listed["object"] == "MessageList"
    assert [m["text"] for m in listed["items"]] == ["three", "two", "one"]
    newest = listed["items"][0]
    assert newest["is_sender"] == 0
    assert listed["items"][1]["is_sender"] == 1
    assert newest["sender_id"] == connected.friend.provider_id
    assert newest["timestamp"] == "2026-01-05T09:02:00.000Z"
    got = (await api.get(f"/messages/{newest['id']}")).json()
    assert got["object"] == "Message"
    assert got["id"] == newest["id"]
    after = (
        await api.get("/messages", params={"account_id": acc, "after": "2026-01-05T09:00:30.000Z"})
    ).json()
    assert [m["text"] for m in after["items"]] == ["three", "two"]
    before = (
        await api.get(
            "/messages", params={"account_id": acc, "before": "2026-01-05T09:00:30.000Z", "limit": 1}
        )
    ).json()
    assert [m["text"] for m in before["items"]] == ["one"]
    assert_error(await api.get("/messages", params={"before": "yesterday"}), 400, "errors/invalid_parameters")
    paged = (await api.get("/messages", params={"account_id": acc, "limit": 2})).json()
    rest = (await api.get("/messages", params={"cursor": paged["cursor"]})).json()
    assert [m["text"] for m in paged["items"] + rest["items"]] == ["three", "two", "one"]
    chats = (await api.get("/chats", params={"account_id": acc})).json()
    assert chats["object"] == "ChatList"
    assert [c["id"] for c in chats["items"]] == [chat_id]
    assert_error(await api.get("/chats/nope"), 404, "errors/resource_not_found")
    assert_error(
        await api.post(f"/chats/{chat_id}/messages", json={"account_id": "other", "text": "x"}),
        404,
        "errors/resource_not_found",
    )


async def test_message_webhook_for_sent_and_received(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, clock: ManualClock, receiver: Receiver
) -> None:
    await register_webhook(
        api, "messaging", receiver.url, headers=[{"key": "Content-Type", "value": "application/json"}]
    )
    member = sim.add_member(
        "Rae", "Reply", persona=Persona(reply="no_email", reply_delay=120), connected_to=[connected.login]
    )
    r = await _start(api, connected.account_id, member.provider_id, "Want the guide?")
    await sim.settle()
    assert len(receiver.calls) == 1
    outbound = receiver.calls[0].json()
    assert receiver.calls[0].headers["content-type"] == "application/json"
    assert outbound["event"] == "message_received"
    assert outbound["message_id"] == r.json()["message_id"]
    assert outbound["account_info"]["user_id"] == connected.login.provider_id
    assert outbound["sender"]["attendee_provider_id"] == connected.login.provider_id  # sent by the account
    assert [a["attendee_provider_id"] for a in outbound["attendees"]] == [member.provider_id]
    clock.advance(121)
    await sim.settle()
    assert len(receiver.calls) == 2
    inbound = receiver.calls[1].json()
    assert inbound["sender"]["attendee_provider_id"] == member.provider_id
    assert inbound["chat_id"] == r.json()["chat_id"]
    assert inbound["message"] == sim.ground_truth(member, "reply")[0].text
    assert inbound["webhook_name"] == "messaging-hook"


STYLE_LANGUAGE = [
    ("plain", "en"),
    ("paren", "fr"),
    ("bracket", "es"),
    ("word", "de"),
    ("spaced", "en"),
    ("mailto", "fr"),
    ("punctuated", "es"),
    ("caps", "de"),
]


@pytest.mark.parametrize(
    ("style", "language"), STYLE_LANGUAGE, ids=[f"{s}-{lang}" for s, lang in STYLE_LANGUAGE]
)
async def test_persona_replies_with_its_email(
    sim: Simulator,
    api: httpx.AsyncClient,
    connected: Connected,
    clock: ManualClock,
    style: str,
    language: str,
) -> None:
    persona = Persona(
        reply="email", email="lea.moreau@acme.io", email_style=style, language=language, reply_delay=600
    )
    member = sim.add_member("Léa", "Moreau", persona=persona, connected_to=[connected.login])
    chat_id = (await _start(api, connected.account_id, member.provider_id, "Where should I send it?")).json()[
        "chat_id"
    ]
    clock.advance(599)
    await sim.run_due()
    assert len((await api.get(f"/chats/{chat_id}/messages")).json()["items"]) == 1
    clock.advance(1)
    await sim.run_due()
    items = (await api.get(f"/chats/{chat_id}/messages")).json()["items"]
    assert items[0]["is_sender"] == 0
    (truth,) = sim.ground_truth(member, "reply")
    assert truth.email == "lea.moreau@acme.io"
    assert (truth.email_style, truth.language) == (style, language)
    assert obfuscate("lea.moreau@acme.io", style) in items[0]["text"]
    assert truth.message_id == items[0]["id"]


async def test_personas_that_do_not_give_an_email(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, clock: ManualClock
) -> None:
    vague = sim.add_member(
        "Val", "Vague", persona=Persona(reply="no_email", reply_delay=10), connected_to=[connected.login]
    )
    mute = sim.add_member("Max", "Mute", persona=Persona(reply="never"), connected_to=[connected.login])
    for m in (vague, mute):
        await _start(api, connected.account_id, m.provider_id, "Hi")
        await _start(api, connected.account_id, m.provider_id, "Hi again")
    clock.advance(3600)
    await sim.run_due()
    replies = sim.received_messages(connected.account_id)
    assert [m.sender for m in replies] == [vague]  # one reply only (max_replies=1), none from the mute one
    assert "@" not in (replies[0].text or "")
    assert sim.ground_truth(vague)[0].email is None
