"""Chats, messages and webhooks over HTTP, including a real webhook delivery parsed by `parse_webhook`."""

from __future__ import annotations

from typing import Any

import pytest

from revos.linkedin import (
    WEBHOOK_SECRET_HEADER,
    InMailNotAllowed,
    MessagingEvent,
    NotConnected,
    NotFound,
    UnipileClient,
    parse_webhook,
    verify_webhook_secret,
)
from tests.linkedin.conftest import World, webhook_receiver


async def test_start_chat_then_send_in_it(sim: Any, client: UnipileClient, world: World) -> None:
    started = await client.start_chat(
        world.account_id, world.friend.provider_id, "Hi Ann, what's your email?"
    )
    assert started.chat_id
    assert started.message_id
    sent = await client.send_message(started.chat_id, "Here is the link", account_id=world.account_id)
    assert sent.message_id
    texts = [m.text for m in sim.sent_messages(world.account_id, to=world.friend)]
    assert texts == ["Hi Ann, what's your email?", "Here is the link"]


async def test_start_chat_multipart_with_attachment_and_subject(
    sim: Any, client: UnipileClient, world: World
) -> None:
    started = await client.start_chat(
        world.account_id,
        [world.friend.provider_id],
        "The guide",
        attachments=[("guide.pdf", b"%PDF-1.4", "application/pdf")],
        subject="Your guide",
    )
    assert started.chat_id
    chat = await client.get_chat(started.chat_id)
    assert chat.subject == "Your guide"
    assert chat.last_message is not None
    assert chat.last_message.attachments[0].mimetype == "application/pdf"


async def test_dm_to_a_non_connection_is_not_connected(sim: Any, client: UnipileClient, world: World) -> None:
    with pytest.raises(NotConnected) as info:
        await client.start_chat(world.account_id, world.stranger.provider_id, "hello")
    assert info.value.status == 422
    assert not info.value.ambiguous
    assert sim.sent_messages(world.account_id) == []


async def test_inmail_options_use_bracketed_fields(sim: Any, client: UnipileClient, world: World) -> None:
    # Open profile: InMail allowed even from a free account; `linkedin[inmail]=true` must reach the server.
    started = await client.start_chat(world.account_id, world.open_profile.provider_id, "hi", inmail=True)
    chat = await client.get_chat(started.chat_id or "")
    assert chat.content_type == "inmail"
    with pytest.raises(InMailNotAllowed):
        await client.start_chat(world.account_id, world.stranger.provider_id, "hi", inmail=True)


async def test_reading_chats_and_messages(sim: Any, client: UnipileClient, world: World) -> None:
    started = await client.start_chat(world.account_id, world.friend.provider_id, "one")
    chat_id = started.chat_id or ""
    for text in ("two", "three"):
        await client.send_message(chat_id, text)
    sim.add_message(chat_id, world.friend, "ann@example.com")
    chats, _ = await client.list_chats(account_id=world.account_id)
    assert [c.id for c in chats] == [chat_id]
    assert chats[0].attendee_provider_id == world.friend.provider_id

    in_chat = [m async for m in client.iter_chat_messages(chat_id, limit=1)]
    assert [m.text for m in in_chat] == ["ann@example.com", "three", "two", "one"]
    assert [m.is_sender for m in in_chat] == [False, True, True, True]

    polled = [m async for m in client.iter_messages(account_id=world.account_id, limit=3)]
    assert {m.id for m in polled} == {m.id for m in in_chat}
    replies = [
        m async for m in client.iter_messages(account_id=world.account_id, sender_id=world.friend.provider_id)
    ]
    assert [m.text for m in replies] == ["ann@example.com"]

    one = await client.get_message(in_chat[0].id)
    assert one.sender_id == world.friend.provider_id
    assert one.chat_id == chat_id
    with pytest.raises(NotFound):
        await client.get_message("no-such-message")


async def test_webhook_management(sim: Any, client: UnipileClient, world: World) -> None:
    created = await client.create_webhook(
        "messaging",
        "https://revos.example/hooks/unipile",
        name="revos",
        secret="s3cret",
        events=["message_received"],
        account_ids=[world.account_id],
    )
    hooks = [h async for h in client.iter_webhooks()]
    assert [h.id for h in hooks] == [created.webhook_id]
    headers = {h["key"]: h["value"] for h in hooks[0].headers or []}
    assert headers == {WEBHOOK_SECRET_HEADER: "s3cret", "Content-Type": "application/json"}
    assert (await client.delete_webhook(created.webhook_id)).object == "WebhookDeleted"
    assert [h async for h in client.iter_webhooks()] == []
    with pytest.raises(NotFound):
        await client.delete_webhook(created.webhook_id)


async def test_real_delivery_parses_and_authenticates(sim: Any, client: UnipileClient, world: World) -> None:
    async with webhook_receiver() as (url, received):
        await client.create_webhook("messaging", url, name="revos", secret="s3cret")
        started = await client.start_chat(world.account_id, world.friend.provider_id, "Hi Ann")
        sim.add_message(started.chat_id, world.friend, "ann@example.com")
        await sim.settle()
    events = [parse_webhook(r.body) for r in received]
    assert all(verify_webhook_secret(r.headers, "s3cret") for r in received)
    assert not any(verify_webhook_secret(r.headers, "other") for r in received)
    assert all(("content-type", "application/json") in r.headers for r in received)
    assert all(isinstance(e, MessagingEvent) for e in events)
    by_text = {e.message: e for e in events if isinstance(e, MessagingEvent)}
    assert by_text["Hi Ann"].is_own_message  # our own DM comes back as message_received
    assert not by_text["ann@example.com"].is_own_message
