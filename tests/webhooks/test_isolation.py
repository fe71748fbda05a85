"""One endpoint that cannot be reached, whatever the reason, fails its own delivery and nobody else's."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from revos.clock import ManualClock
from revos.runtime import Runtime
from revos.security import ssrf
from revos.webhooks import repo as dispatcher_repo
from revos.webhooks.receiver import Receiver
from tests.support import Conn, Tenant, make_tenant, read_row, service_conn, superuser_conn
from tests.webhooks.conftest import captured_lead, create_config, dispatch, enqueue, lead_status


def _break_url(db_url: str, config_id: str, url: str) -> None:
    """What a row written before today's checks (or by another tool) can hold: the API refuses it now."""
    with service_conn(db_url) as conn:
        conn.execute("update webhook_configs set url = %s where id = %s", (url, config_id))


def _attempt_errors(db_url: str, delivery_id: uuid.UUID) -> list[str]:
    with superuser_conn(db_url) as conn:
        rows = conn.execute(
            "select error_message from webhook_delivery_attempts where delivery_id = %s order by attempt_number",
            (delivery_id,),
        ).fetchall()
    return [r["error_message"] for r in rows]


def _resolver(failures: dict[str, BaseException]) -> ssrf.Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host in failures:
            raise failures[host]
        return ["127.0.0.1"]

    return resolve


BROKEN = {
    # kind: (url template with {port}, what the recorded reason says)
    "control-character": ("http://127.0.0.1:{port}/bad\u0001", "control character (U+0001)"),
    "space-in-host": ("http://bad host.example.test:{port}/x", "space or control character (SPACE)"),
    "dns-failure": ("http://nowhere.example.test:{port}/x", "does not resolve"),
    "unexpected-error": ("http://boom.example.test:{port}/x", "unexpected error (RuntimeError"),
    "tls-to-plain-http": ("https://127.0.0.1:{plain_port}/x", "connection failed: ConnectError"),
}


@pytest.fixture
async def plain_port() -> AsyncIterator[int]:
    """A server that answers anything, a TLS handshake included, with plain HTTP at once."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("kind", list(BROKEN))
async def test_a_broken_endpoint_fails_alone_and_the_rest_of_the_batch_is_delivered_once(
    owner: Conn,
    api: httpx.AsyncClient,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
    receiver: Receiver,
    plain_port: int,
    kind: str,
) -> None:
    good_tenant, bad_tenant = await make_tenant(owner, runtime), await make_tenant(owner, runtime)
    good = await create_config(api, good_tenant, f"{receiver.url}/ok")
    bad = await create_config(api, bad_tenant, f"{receiver.url}/soon-broken")
    template, reason = BROKEN[kind]
    _break_url(db_url, bad["id"], template.format(port=receiver.port, plain_port=plain_port))
    good_lead = await captured_lead(owner, good_tenant.client_id, config_id=good["id"])
    good_delivery = await enqueue(runtime, good_tenant, good_lead)
    bad_delivery = await enqueue(
        runtime, bad_tenant, await captured_lead(owner, bad_tenant.client_id, config_id=bad["id"])
    )
    resolver = _resolver(
        {
            "nowhere.example.test": socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "boom.example.test": RuntimeError("resolver exploded"),
        }
    )

    assert await dispatch(runtime, wall_clock, resolver=resolver) == 2

    assert [r.path for r in receiver.requests] == ["/ok"]
    delivered = read_row(db_url, "webhook_deliveries", good_delivery)
    assert delivered["status"] == "success"
    assert delivered["attempt_count"] == 1
    assert lead_status(db_url, good_lead) == "webhook_sent"
    failed = read_row(db_url, "webhook_deliveries", bad_delivery)
    assert failed["status"] == "failed"
    assert failed["status_code"] is None
    assert reason in failed["error_message"]
    [attempt] = _attempt_errors(db_url, bad_delivery)
    assert reason in attempt

    # Long after the claim's lease, the delivered one is not sent again.
    wall_clock.advance(seconds=runtime.settings.webhook_claim_lease_seconds + 60)
    await dispatch(runtime, wall_clock, resolver=resolver)
    wall_clock.advance(hours=1)
    await dispatch(runtime, wall_clock, resolver=resolver)
    assert [r.path for r in receiver.requests] == ["/ok"]
    assert read_row(db_url, "webhook_deliveries", good_delivery)["status"] == "success"


async def test_a_url_no_client_can_send_to_fails_for_good_at_once(
    owner: Conn,
    api: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    db_url: str,
    wall_clock: ManualClock,
    receiver: Receiver,
) -> None:
    # Retrying cannot help until a person edits the URL; after that, replay sends it.
    config = await create_config(api, tenant, receiver.url, max_retries=5)
    _break_url(db_url, config["id"], f"http://127.0.0.1:{receiver.port}/bad\u0001")
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    await dispatch(runtime, wall_clock)
    row = read_row(db_url, "webhook_deliveries", delivery_id)
    assert row["next_retry_at"] is None
    assert "gave up after 1 attempt(s)" in row["error_message"]

    fixed = await api.patch(
        f"/v1/webhooks/configs/{config['id']}", json={"url": f"{receiver.url}/fixed"}, headers=tenant.headers
    )
    assert fixed.status_code == 200, fixed.text
    replay = await api.post(f"/v1/webhooks/deliveries/{delivery_id}/replay", headers=tenant.headers)
    assert replay.status_code == 200, replay.text
    await dispatch(runtime, wall_clock)
    assert [r.path for r in receiver.requests] == ["/fixed"]
    assert read_row(db_url, "webhook_deliveries", delivery_id)["status"] == "success"


async def test_the_test_event_of_a_broken_endpoint_reports_the_failure(
    api: httpx.AsyncClient, tenant: Tenant, db_url: str, receiver: Receiver
) -> None:
    config = await create_config(api, tenant, receiver.url)
    _break_url(db_url, config["id"], f"http://127.0.0.1:{receiver.port}/bad\u0001")
    response = await api.post(f"/v1/webhooks/configs/{config['id']}/test", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "failed"
    assert "control character" in body["error_message"]
    assert receiver.count == 0


@pytest.mark.parametrize(
    ("answer", "stored"),
    [
        (b"ok\x00tail", {"text": "ok\ufffdtail"}),
        (b'{"note": "a\\u0000b"}', {"text": '{"note": "a\\u0000b"}'}),
    ],
    ids=["nul-byte", "json-nul-escape"],
)
async def test_a_response_postgresql_cannot_store_is_still_recorded_and_not_resent(
    owner: Conn,
    api: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    db_url: str,
    wall_clock: ManualClock,
    receiver: Receiver,
    answer: bytes,
    stored: dict[str, str],
) -> None:
    config = await create_config(api, tenant, receiver.url)
    receiver.respond = (200, {}, answer)
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    await dispatch(runtime, wall_clock)
    row = read_row(db_url, "webhook_deliveries", delivery_id)
    assert row["status"] == "success"
    assert row["response_body"] == stored
    wall_clock.advance(seconds=runtime.settings.webhook_claim_lease_seconds + 60)
    await dispatch(runtime, wall_clock)
    assert receiver.count == 1


async def test_failure_reasons_never_quote_the_hook_url_path_or_header_values(
    owner: Conn,
    api: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    db_url: str,
    wall_clock: ManualClock,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A Zapier or Make hook URL is itself a credential, and so is a custom header value.
    config = await create_config(api, tenant, receiver.url, headers={"X-Token": "tok-5ecret-value"})
    _break_url(db_url, config["id"], "http://boom.example.test/hooks/catch/123/5ecretpath")
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    leak = RuntimeError("failed for /hooks/catch/123/5ecretpath with X-Token tok-5ecret-value")
    await dispatch(runtime, wall_clock, resolver=_resolver({"boom.example.test": leak}))
    message = read_row(db_url, "webhook_deliveries", delivery_id)["error_message"]
    assert "RuntimeError" in message
    assert "5ecret" not in message
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "RuntimeError" in logged
    assert "5ecret" not in logged


async def test_a_delivery_whose_record_fails_undoes_none_of_the_rest_of_its_batch(
    owner: Conn,
    api: httpx.AsyncClient,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = await make_tenant(owner, runtime), await make_tenant(owner, runtime)
    good = await create_config(api, first, f"{receiver.url}/good")
    cursed = await create_config(api, second, f"{receiver.url}/cursed")
    good_lead = await captured_lead(owner, first.client_id, config_id=good["id"])
    good_delivery = await enqueue(runtime, first, good_lead)
    cursed_delivery = await enqueue(
        runtime, second, await captured_lead(owner, second.client_id, config_id=cursed["id"])
    )
    record_attempt = dispatcher_repo.record_attempt

    async def failing_for_one(conn: Any, *, delivery: dict[str, Any], **kwargs: Any) -> Any:
        if delivery["id"] == cursed_delivery:
            raise RuntimeError("this delivery's record fails")
        return await record_attempt(conn, delivery=delivery, **kwargs)

    monkeypatch.setattr(dispatcher_repo, "record_attempt", failing_for_one)
    assert await dispatch(runtime, wall_clock) == 2

    assert sorted(r.path for r in receiver.requests) == ["/cursed", "/good"]
    delivered = read_row(db_url, "webhook_deliveries", good_delivery)
    assert delivered["status"] == "success"
    assert lead_status(db_url, good_lead) == "webhook_sent"
    # The one whose record failed stays claimed, unrecorded: sent again once its lease runs out.
    assert read_row(db_url, "webhook_deliveries", cursed_delivery)["status"] == "pending"
    monkeypatch.setattr(dispatcher_repo, "record_attempt", record_attempt)
    wall_clock.advance(seconds=runtime.settings.webhook_claim_lease_seconds + 60)
    await dispatch(runtime, wall_clock)
    assert sorted(r.path for r in receiver.requests) == ["/cursed", "/cursed", "/good"]
    assert read_row(db_url, "webhook_deliveries", cursed_delivery)["status"] == "success"
