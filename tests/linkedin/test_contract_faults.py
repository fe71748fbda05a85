"""Injected faults yield the promised typed errors; reads are retried, sends never are.

The last test is the reason for the whole policy: after a post-action timeout, a naive retry produces two
identical DMs on LinkedIn, while the client itself only ever made one request per call.
"""

from __future__ import annotations

from typing import Any

import pytest

from revos.linkedin import (
    AccountDisconnected,
    AccountRestricted,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    ServiceUnavailable,
    UnipileClient,
    UnipileError,
)
from tests.linkedin.conftest import API_KEY, RecordingTransport, World
from tests.support import eventually


def fault(**kw: Any) -> Any:
    from revos.sim import FaultRule

    return FaultRule(**kw)


async def open_chat(client: UnipileClient, world: World) -> str:
    started = await client.start_chat(world.account_id, world.friend.provider_id, "Hi Ann")
    assert started.chat_id
    return started.chat_id


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param({"kind": "error", "status": 500}, id="500"),
        pytest.param({"kind": "error", "status": 502}, id="502"),
        pytest.param({"kind": "error", "status": 503}, id="503"),
        pytest.param({"kind": "timeout"}, id="504"),
        pytest.param({"kind": "rate_limit"}, id="429"),
    ],
)
async def test_reads_are_retried_through_transient_failures(
    sim: Any, client: UnipileClient, world: World, rule: dict[str, Any]
) -> None:
    sim.faults.add(fault(route="GET /posts/*", times=2, **rule))
    post = await client.get_post(world.post.id, world.account_id)
    assert post.id == world.post.id
    assert len(sim.calls("GET", "/posts/")) == 3


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        pytest.param({"kind": "error", "status": 503}, ServiceUnavailable, id="503"),
        pytest.param({"kind": "error", "status": 500}, ProviderError, id="500"),
        pytest.param({"kind": "rate_limit"}, RateLimited, id="429"),
    ],
)
async def test_reads_give_up_after_the_retry_budget(
    sim: Any, client: UnipileClient, world: World, rule: dict[str, Any], error: type[UnipileError]
) -> None:
    sim.faults.add(fault(route="GET /posts/*", **rule))
    with pytest.raises(error) as info:
        await client.get_post(world.post.id, world.account_id)
    assert info.value.retryable
    assert not info.value.ambiguous
    assert len(sim.calls("GET", "/posts/")) == 1 + client.read_retries


@pytest.mark.parametrize(
    ("rule", "error", "ambiguous"),
    [
        pytest.param({"kind": "rate_limit"}, RateLimited, False, id="429-nothing-happened"),
        pytest.param({"kind": "error", "status": 500}, ProviderError, True, id="500"),
        pytest.param({"kind": "error", "status": 503}, ServiceUnavailable, True, id="503"),
        pytest.param({"kind": "timeout"}, ProviderTimeout, True, id="504-before-action"),
    ],
)
async def test_sends_are_never_retried(
    sim: Any,
    client: UnipileClient,
    world: World,
    recorder: RecordingTransport,
    rule: dict[str, Any],
    error: type[UnipileError],
    ambiguous: bool,
) -> None:
    chat_id = await open_chat(client, world)
    sim.faults.add(fault(route="POST /chats/*/messages", **rule))
    with pytest.raises(error) as info:
        await client.send_message(chat_id, "Step 2")
    assert info.value.ambiguous is ambiguous
    assert not info.value.retryable or not ambiguous
    assert len(recorder.sends("/messages")) == 1
    assert len(sim.calls("POST", f"/chats/{chat_id}/messages")) == 1
    # These faults fire before the action: nothing was sent, yet the client cannot know that for a 5xx.
    assert [m.text for m in sim.sent_messages(world.account_id)] == ["Hi Ann"]


async def test_timeout_after_the_action_is_ambiguous_and_the_message_exists(
    sim: Any, client: UnipileClient, world: World
) -> None:
    chat_id = await open_chat(client, world)
    sim.faults.add(fault(kind="timeout", route="POST /chats/*/messages", after=True))
    with pytest.raises(ProviderTimeout) as info:
        await client.send_message(chat_id, "Step 2")
    assert info.value.ambiguous
    assert not info.value.retryable
    assert [m.text for m in sim.sent_messages(world.account_id)] == ["Hi Ann", "Step 2"]


async def test_client_side_timeout_on_a_send_is_ambiguous(sim: Any, base_url: str, world: World) -> None:
    sim.faults.add(fault(kind="timeout", route="POST /chats", after=True, hang=True, hang_seconds=3))
    async with UnipileClient(base_url, API_KEY, timeout=0.3) as client:
        with pytest.raises(ProviderTimeout) as info:
            await client.start_chat(world.account_id, world.friend.provider_id, "Hi Ann")
    assert info.value.ambiguous
    assert info.value.type == "client/timeout"
    assert info.value.status is None
    # The client gave up first; the server, on the same loop, may only now get to the request.
    await eventually(lambda: bool(sim.sent_messages(world.account_id)), "LinkedIn to record the message")
    assert len(sim.calls("POST", "/chats")) == 1
    assert [m.text for m in sim.sent_messages(world.account_id)] == ["Hi Ann"]


async def test_client_side_timeout_on_a_read_is_retried(sim: Any, base_url: str, world: World) -> None:
    # The first read hangs far longer than the client waits (the hang ends when the server stops); the
    # retry is answered at once, in milliseconds, well within the client's second.
    sim.faults.add(fault(kind="timeout", route="GET /posts/*", hang=True, hang_seconds=60, times=1))
    async with UnipileClient(base_url, API_KEY, timeout=1.0, backoff_base=0.001) as client:
        post = await client.get_post(world.post.id, world.account_id)
    assert post.id == world.post.id
    assert len(sim.calls("GET", "/posts/")) == 2


async def test_unreachable_server_on_a_send_is_not_ambiguous() -> None:
    # Nothing listens on port 9 (discard) on loopback: the connection is refused before any byte is sent.
    async with UnipileClient("http://127.0.0.1:9", API_KEY, timeout=1.0) as client:
        with pytest.raises(ProviderTimeout) as info:
            await client.send_message("chat", "hello")
    assert not info.value.ambiguous
    assert info.value.retryable


async def test_disconnection_fault(sim: Any, client: UnipileClient, world: World) -> None:
    sim.faults.add(fault(kind="disconnect", account_id=world.account_id, times=1))
    with pytest.raises(AccountDisconnected) as info:
        await client.get_profile(world.friend.provider_id, world.account_id)
    assert info.value.status == 401
    assert not info.value.retryable
    assert (await client.get_account(world.account_id)).status == "CREDENTIALS"
    with pytest.raises(AccountDisconnected):
        await client.start_chat(world.account_id, world.friend.provider_id, "hi")


async def test_restriction_fault(sim: Any, client: UnipileClient, world: World) -> None:
    sim.faults.add(fault(kind="restrict", account_id=world.account_id, times=1))
    with pytest.raises(AccountRestricted) as info:
        await client.send_invitation(world.stranger.provider_id, world.account_id, "hi")
    assert info.value.status == 403
    assert sim.invitations(world.account_id) == []


async def test_daily_budget_exhaustion_is_rate_limited(sim: Any, client: UnipileClient, world: World) -> None:
    sim.set_budget(world.account_id, "invitations", 1)
    await client.send_invitation(world.stranger.provider_id, world.account_id)
    with pytest.raises(RateLimited):
        await client.send_invitation(world.open_profile.provider_id, world.account_id)
    assert len(sim.invitations(world.account_id)) == 1


async def test_naive_retry_after_post_action_timeout_sends_the_dm_twice(
    sim: Any, client: UnipileClient, world: World, recorder: RecordingTransport
) -> None:
    chat_id = await open_chat(client, world)
    sim.faults.add(fault(kind="timeout", route="POST /chats/*/messages", after=True, times=1))

    with pytest.raises(ProviderTimeout) as info:
        await client.send_message(chat_id, "Here is your guide")
    assert info.value.ambiguous
    assert len(recorder.sends("/messages")) == 1  # the client made exactly one request

    # What revOS does: reconcile by reading the chat before anything is resent. The DM is already there.
    recent, _ = await client.list_chat_messages(chat_id, limit=10)
    assert [m.text for m in recent if m.is_sender].count("Here is your guide") == 1

    # What a naive caller does instead: retry blindly.
    await client.send_message(chat_id, "Here is your guide")
    assert len(recorder.sends("/messages")) == 2  # one request per call, no hidden retry
    texts = [m.text for m in sim.sent_messages(world.account_id, to=world.friend)]
    assert texts.count("Here is your guide") == 2  # Ann got the DM twice


async def test_api_key_never_reaches_logs_or_errors(
    sim: Any, base_url: str, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    sim.faults.add(fault(kind="error", status=500, route="POST /chats"))
    caplog.set_level("DEBUG")
    async with UnipileClient(base_url, API_KEY, backoff_base=0.001) as client:
        await client.get_post(world.post.id, world.account_id)
        with pytest.raises(ProviderError) as info:
            await client.start_chat(world.account_id, world.friend.provider_id, "hi")
    assert caplog.records  # the client (and httpx) did log at debug level
    assert API_KEY not in caplog.text
    assert API_KEY not in str(info.value)
    assert API_KEY not in repr(info.value)
    assert API_KEY not in repr(client)
