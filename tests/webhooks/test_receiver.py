"""The local ESP receiver: signature checks, the leads it collects, scripted answers, outages."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks import Webhook

from revos.webhooks.receiver import Receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA=="


def signed(lead_id: str, message_id: str, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"type": "lead.captured", "data": {"lead": {"id": lead_id}}})
    now = datetime.now(UTC)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
    return body.encode(), headers


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as c:
        yield c


async def test_verified_deliveries_are_accepted_and_distinct_leads_counted(client: httpx.AsyncClient) -> None:
    async with Receiver(secret=SECRET) as receiver:
        for lead_id, message_id in [("lead-1", "msg_1"), ("lead-1", "msg_1"), ("lead-2", "msg_2")]:
            body, headers = signed(lead_id, message_id)
            assert (await client.post(receiver.url, content=body, headers=headers)).status_code == 200

        assert receiver.leads == {"lead-1", "lead-2"}
        assert receiver.count == 3
        assert receiver.rejected == 0
        assert all(r.verified for r in receiver.requests)


def _by_another_secret() -> tuple[bytes, dict[str, str]]:
    return signed("lead-1", "msg_1", secret=OTHER_SECRET)


def _edited_after_signing() -> tuple[bytes, dict[str, str]]:
    body, headers = signed("lead-1", "msg_1")
    return body.replace(b"lead-1", b"lead-9"), headers


def _unsigned() -> tuple[bytes, dict[str, str]]:
    return signed("lead-1", "msg_1")[0], {}


@pytest.mark.parametrize(
    "delivery",
    [_by_another_secret, _edited_after_signing, _unsigned],
    ids=["other-secret", "edited", "unsigned"],
)
async def test_a_delivery_that_does_not_verify_is_refused_and_recorded(
    client: httpx.AsyncClient, delivery: Callable[[], tuple[bytes, dict[str, str]]]
) -> None:
    body, headers = delivery()
    async with Receiver(secret=SECRET) as receiver:
        response = await client.post(receiver.url, content=body, headers=headers)

    assert response.status_code == 401
    assert receiver.rejected == 1
    assert receiver.leads == set()
    [request] = receiver.requests
    assert request.verified is False
    assert request.body == body


async def test_without_a_secret_every_request_gets_the_usual_answer_unchecked(
    client: httpx.AsyncClient,
) -> None:
    async with Receiver(respond=(202, {"X-Seen": "yes"}, b"queued")) as receiver:
        response = await client.put(f"{receiver.url}/v4/tags", content=b"anything")

    assert (response.status_code, response.headers["x-seen"], response.content) == (202, "yes", b"queued")
    [request] = receiver.requests
    assert (request.method, request.path, request.body, request.verified) == (
        "PUT",
        "/v4/tags",
        b"anything",
        None,
    )


async def test_scripted_answers_apply_to_the_next_requests_then_the_usual_answer_returns(
    client: httpx.AsyncClient,
) -> None:
    async with Receiver(secret=SECRET) as receiver:
        receiver.answer_next(2, 503, headers={"Retry-After": "120"})
        receiver.answer_next(1, 410, body=b"gone")
        answers = []
        for n in range(4):
            body, headers = signed(f"lead-{n}", f"msg_{n}")
            response = await client.post(receiver.url, content=body, headers=headers)
            answers.append((response.status_code, response.headers.get("retry-after"), response.content))

    assert answers == [
        (503, "120", b'{"ok":true}'),
        (503, "120", b'{"ok":true}'),
        (410, None, b"gone"),
        (200, None, b'{"ok":true}'),
    ]
    # Each of them still verified and was recorded, whatever it was answered.
    assert receiver.leads == {"lead-0", "lead-1", "lead-2", "lead-3"}


async def test_a_delayed_answer_outlasts_a_short_client_timeout_and_is_cut_quietly_by_stop(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with Receiver() as receiver:
        # Far longer than any client here waits: the answers below cannot come from the delayed one.
        receiver.answer_next(1, delay=60.0)
        with pytest.raises(httpx.ReadTimeout):
            await client.post(receiver.url, content=b"{}", timeout=0.2)
        # The late request was received; the next one is answered at once.
        async with asyncio.timeout(30):
            await receiver.wait_for(1)
        assert receiver.count == 1
        assert (await client.post(receiver.url, content=b"{}", timeout=10)).status_code == 200
    # Stopped while the first answer was still being delayed: nothing reported as an error.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_down_refuses_connections_until_up_on_the_same_url(client: httpx.AsyncClient) -> None:
    async with Receiver() as receiver:
        url = receiver.url
        assert (
            await client.post(url, content=b"{}")
        ).status_code == 200  # a keep-alive connection stays open
        await receiver.down()
        with pytest.raises(httpx.ConnectError):
            await client.post(url, content=b"{}")
        await receiver.up()
        assert receiver.url == url
        assert (await client.post(url, content=b"{}")).status_code == 200
        assert receiver.count == 2


async def test_wait_for_returns_once_enough_requests_have_arrived(client: httpx.AsyncClient) -> None:
    async with Receiver() as receiver:
        waiting = asyncio.create_task(receiver.wait_for(2))
        await client.post(receiver.url, content=b"{}")
        await asyncio.sleep(0)
        assert not waiting.done()
        await client.post(receiver.url, content=b"{}")
        async with asyncio.timeout(30):
            await waiting
