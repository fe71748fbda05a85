"""Delivery through the dispatcher to local receivers: signatures, retries, outages, 410, replay."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from revos.clock import ManualClock
from revos.errors import Conflict
from revos.runtime import Runtime
from revos.webhooks import service
from revos.webhooks.receiver import Receiver
from tests.support import Conn, Tenant, make_tenant, read_row, superuser_conn
from tests.webhooks.conftest import captured_lead, create_config, dispatch, enqueue, lead_status


def _attempts(db_url: str, delivery_id: uuid.UUID) -> list[dict[str, object]]:
    with superuser_conn(db_url) as conn:
        return conn.execute(
            "select * from webhook_delivery_attempts where delivery_id = %s order by attempt_number",
            (delivery_id,),
        ).fetchall()


async def test_delivery_is_signed_verifiable_and_moves_the_lead_to_webhook_sent(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    config = await create_config(api, tenant, f"{receiver.url}/hooks", headers={"X-Team": "growth"})
    lead_id = await captured_lead(owner, tenant.client_id, config_id=config["id"])
    delivery_id = await enqueue(runtime, tenant, lead_id)

    assert await dispatch(runtime, wall_clock) == 1
    [request] = receiver.requests
    payload = Webhook(config["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "lead.captured"
    assert payload["data"]["lead"]["id"] == str(lead_id)
    assert payload["data"]["lead"]["email"].startswith("lead-")
    assert set(payload) == {"type", "timestamp", "data"}
    assert request.path == "/hooks"
    assert request.headers["x-team"] == "growth"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == f"msg_{delivery_id.hex}"

    row = read_row(db_url, "webhook_deliveries", delivery_id)
    assert row["status"] == "success"
    assert row["attempt_count"] == 1
    assert row["delivered_at"] is not None
    assert row["response_body"] == {"ok": True}
    assert len(_attempts(db_url, delivery_id)) == 1
    assert lead_status(db_url, lead_id) == "webhook_sent"


async def test_a_tampered_body_does_not_verify(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    config = await create_config(api, tenant, receiver.url)
    await enqueue(runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"]))
    await dispatch(runtime, wall_clock)
    [request] = receiver.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(config["secret"]).verify(request.body.replace(b"Ada", b"Eve"), request.headers)


async def test_lead_status_only_moves_forward(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    config = await create_config(api, tenant, receiver.url)
    lead_id = await captured_lead(owner, tenant.client_id, config_id=config["id"], status="completed")
    await enqueue(runtime, tenant, lead_id)
    await dispatch(runtime, wall_clock)
    assert receiver.count == 1
    assert lead_status(db_url, lead_id) == "completed"


async def test_enqueueing_twice_is_one_event_with_one_webhook_id(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    config = await create_config(api, tenant, receiver.url)
    lead_id = await captured_lead(owner, tenant.client_id, config_id=config["id"])
    assert await enqueue(runtime, tenant, lead_id) == await enqueue(runtime, tenant, lead_id)
    await dispatch(runtime, wall_clock)
    await dispatch(runtime, wall_clock)
    assert receiver.count == 1


async def test_no_endpoint_means_no_delivery(
    owner: Conn, runtime: Runtime, tenant: Tenant, db_url: str
) -> None:
    lead_id = await captured_lead(owner, tenant.client_id, config_id=None)
    async with runtime.db.service() as conn:
        assert await service.enqueue_lead_captured(conn, client_id=tenant.client_id, lead_id=lead_id) is None


async def test_rotation_sends_both_signatures_until_the_overlap_ends(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    config = await create_config(api, tenant, receiver.url)
    rotated = await api.post(
        f"/v1/webhooks/configs/{config['id']}/rotate-secret",
        json={"overlap_seconds": 600},
        headers=tenant.headers,
    )
    new_secret = rotated.json()["secret"]

    await enqueue(runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"]))
    await dispatch(runtime, wall_clock)
    request = receiver.requests[-1]
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(s.startswith("v1,") for s in signatures)
    for secret in (new_secret, config["secret"]):
        Webhook(secret).verify(request.body, request.headers)
    # Each entry on its own is a valid signature by exactly one of the secrets.
    for secret, signature in zip((new_secret, config["secret"]), signatures, strict=True):
        Webhook(secret).verify(request.body, {**request.headers, "webhook-signature": signature})

    wall_clock.advance(601)
    await enqueue(runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"]))
    await dispatch(runtime, wall_clock)
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(config["secret"]).verify(request.body, request.headers)


async def test_retries_follow_the_backoff_schedule_and_stop_at_max_retries(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    receiver.respond = (500, {}, b"down for maintenance")
    config = await create_config(api, tenant, receiver.url, max_retries=3, retry_delay_ms=1000)
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    jitter = runtime.settings.webhook_retry_jitter

    for attempt, base in enumerate([1.0, 2.0, 4.0], start=1):
        started = wall_clock.now()
        assert await dispatch(runtime, wall_clock, seed=attempt) == 1
        row = read_row(db_url, "webhook_deliveries", delivery_id)
        assert row["status"] == "failed"
        assert row["attempt_count"] == attempt
        delay = (row["next_retry_at"] - started).total_seconds()
        assert base <= delay <= base * (1 + jitter) + 1e-3, (attempt, delay)
        wall_clock.advance(delay - 0.01)
        assert await dispatch(runtime, wall_clock) == 0  # not due yet
        wall_clock.advance(0.01)

    assert await dispatch(runtime, wall_clock) == 1  # attempt 4 = the third retry, the last one
    row = read_row(db_url, "webhook_deliveries", delivery_id)
    assert row["status"] == "failed"
    assert row["next_retry_at"] is None
    assert "gave up after 4 attempt(s)" in row["error_message"]
    assert row["response_body"] == {"text": "down for maintenance"}
    wall_clock.advance(hours=1)
    assert await dispatch(runtime, wall_clock) == 0
    assert receiver.count == 4
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert [a["status_code"] for a in _attempts(db_url, delivery_id)] == [500, 500, 500, 500]


async def test_a_receiver_down_for_a_while_gets_the_event_once_with_one_webhook_id(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    config = await create_config(api, tenant, receiver.url, max_retries=10, retry_delay_ms=1000)
    lead_id = await captured_lead(owner, tenant.client_id, config_id=config["id"])
    delivery_id = await enqueue(runtime, tenant, lead_id)
    await receiver.down()
    for _ in range(3):
        assert await dispatch(runtime, wall_clock) == 1
        row = read_row(db_url, "webhook_deliveries", delivery_id)
        assert row["status"] == "failed"
        assert "connection failed" in row["error_message"]
        wall_clock.set(row["next_retry_at"])
    await receiver.up()
    assert await dispatch(runtime, wall_clock) == 1
    wall_clock.advance(hours=1)
    assert await dispatch(runtime, wall_clock) == 0
    assert receiver.count == 1
    assert receiver.requests[0].headers["webhook-id"] == f"msg_{delivery_id.hex}"
    assert read_row(db_url, "webhook_deliveries", delivery_id)["attempt_count"] == 4
    assert lead_status(db_url, lead_id) == "webhook_sent"


async def test_http_410_disables_the_endpoint_and_replay_after_reenabling_delivers(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    receiver.respond = (410, {}, b"")
    config = await create_config(api, tenant, receiver.url, max_retries=5)
    first = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    await dispatch(runtime, wall_clock)
    row = read_row(db_url, "webhook_configs", config["id"])
    assert row["active"] is False
    assert "410" in row["disabled_reason"]
    assert row["disabled_at"] is not None
    assert read_row(db_url, "webhook_deliveries", first)["next_retry_at"] is None

    # Leads captured meanwhile are logged as undeliverable, not dropped, and not sent.
    second = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    assert "endpoint disabled" in read_row(db_url, "webhook_deliveries", second)["error_message"]
    wall_clock.advance(hours=1)
    assert await dispatch(runtime, wall_clock) == 0
    assert receiver.count == 1

    refused = await api.post(f"/v1/webhooks/configs/{config['id']}/replay-failed", headers=tenant.headers)
    assert refused.status_code == 409
    assert "disabled" in refused.json()["detail"]

    receiver.respond = (200, {}, b"ok")
    await api.patch(f"/v1/webhooks/configs/{config['id']}", json={"active": True}, headers=tenant.headers)
    replayed = await api.post(f"/v1/webhooks/configs/{config['id']}/replay-failed", headers=tenant.headers)
    assert replayed.json()["replayed"] == 2
    assert await dispatch(runtime, wall_clock) == 2
    assert read_row(db_url, "webhook_deliveries", first)["status"] == "success"
    assert read_row(db_url, "webhook_deliveries", second)["status"] == "success"
    assert {r.headers["webhook-id"] for r in receiver.requests[1:]} == {
        f"msg_{first.hex}",
        f"msg_{second.hex}",
    }


async def test_a_receiver_slower_than_the_timeout_fails_the_attempt_and_gets_a_retry(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    receiver.answer_next(1, delay=30.0)  # far past the timeout: the attempt cannot be answered in time
    config = await create_config(api, tenant, receiver.url, timeout_ms=1000, retry_delay_ms=1000)
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    await dispatch(runtime, wall_clock)
    row = read_row(db_url, "webhook_deliveries", delivery_id)
    assert row["status"] == "failed"
    assert row["next_retry_at"] is not None
    assert "timed out after 1000 ms" in row["error_message"]
    wall_clock.advance((row["next_retry_at"] - wall_clock.now()).total_seconds())
    assert await dispatch(runtime, wall_clock) == 1
    assert read_row(db_url, "webhook_deliveries", delivery_id)["status"] == "success"
    assert receiver.count == 2


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
    status: int,
) -> None:
    receiver.respond = (status, {"Retry-After": "120"}, b"slow down")
    config = await create_config(api, tenant, receiver.url, retry_delay_ms=1000)
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    started = wall_clock.now()
    await dispatch(runtime, wall_clock)
    assert read_row(db_url, "webhook_deliveries", delivery_id)["next_retry_at"] - started == timedelta(
        seconds=120
    )
    wall_clock.advance(119)
    assert await dispatch(runtime, wall_clock) == 0
    wall_clock.advance(1)
    receiver.respond = (200, {}, b"")
    assert await dispatch(runtime, wall_clock) == 1
    assert read_row(db_url, "webhook_deliveries", delivery_id)["status"] == "success"


async def test_consecutive_failed_deliveries_disable_the_endpoint_with_a_reason(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    previous = runtime.settings.webhook_disable_after_failures
    runtime.settings.webhook_disable_after_failures = 2
    try:
        receiver.respond = (500, {}, b"")
        config = await create_config(api, tenant, receiver.url, max_retries=0)
        await enqueue(runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"]))
        await dispatch(runtime, wall_clock)
        assert read_row(db_url, "webhook_configs", config["id"])["consecutive_failures"] == 1
        assert read_row(db_url, "webhook_configs", config["id"])["active"] is True
        await enqueue(runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"]))
        await dispatch(runtime, wall_clock)
    finally:
        runtime.settings.webhook_disable_after_failures = previous
    shown = (await api.get(f"/v1/webhooks/configs/{config['id']}", headers=tenant.headers)).json()
    assert shown["active"] is False
    assert shown["consecutive_failures"] == 2
    assert "2 deliveries in a row failed" in shown["disabled_reason"]


async def test_a_success_resets_the_failure_streak(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    receiver.respond = (500, {}, b"")
    config = await create_config(api, tenant, receiver.url, max_retries=0)
    await enqueue(runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"]))
    await dispatch(runtime, wall_clock)
    receiver.respond = (204, {}, b"")
    await enqueue(runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"]))
    await dispatch(runtime, wall_clock)
    assert read_row(db_url, "webhook_configs", config["id"])["consecutive_failures"] == 0


async def test_replaying_one_delivery_resends_the_same_event(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    config = await create_config(api, tenant, receiver.url)
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    await dispatch(runtime, wall_clock)
    replay = await api.post(f"/v1/webhooks/deliveries/{delivery_id}/replay", headers=tenant.headers)
    assert replay.status_code == 200, replay.text
    assert replay.json()["status"] == "pending"
    await dispatch(runtime, wall_clock)
    assert receiver.count == 2
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    detail = (await api.get(f"/v1/webhooks/deliveries/{delivery_id}", headers=tenant.headers)).json()
    assert [a["attempt_number"] for a in detail["attempts"]] == [1, 2]
    listed = (await api.get(f"/v1/webhooks/configs/{config['id']}/deliveries", headers=tenant.headers)).json()
    assert [d["id"] for d in listed["items"]] == [str(delivery_id)]


async def test_another_clients_delivery_cannot_be_read_or_replayed(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:

    config = await create_config(api, tenant, receiver.url)
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    other = await make_tenant(owner, runtime)
    assert (await api.get(f"/v1/webhooks/deliveries/{delivery_id}", headers=other.headers)).status_code == 404
    assert (
        await api.post(f"/v1/webhooks/deliveries/{delivery_id}/replay", headers=other.headers)
    ).status_code == 404


async def test_redirects_are_not_followed(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    async with Receiver() as internal:
        receiver.respond = (302, {"Location": f"{internal.url}/admin"}, b"")
        config = await create_config(api, tenant, receiver.url)
        delivery_id = await enqueue(
            runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
        )
        await dispatch(runtime, wall_clock)
        assert internal.count == 0
    row = read_row(db_url, "webhook_deliveries", delivery_id)
    assert row["status"] == "failed"
    assert row["status_code"] == 302
    assert "redirects are not followed" in row["error_message"]


async def test_a_huge_response_is_read_up_to_the_cap_and_stored_truncated(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    receiver.respond = (200, {}, b"x" * (4 * 1024 * 1024))
    config = await create_config(api, tenant, receiver.url)
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    await dispatch(runtime, wall_clock)
    row = read_row(db_url, "webhook_deliveries", delivery_id)
    assert row["status"] == "success"
    assert row["response_body"]["truncated"] is True
    assert len(row["response_body"]["text"]) == runtime.settings.webhook_response_store_chars


async def test_json_responses_are_stored_as_json(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    receiver.respond = (202, {}, json.dumps({"accepted": [1, 2]}).encode())
    config = await create_config(api, tenant, receiver.url)
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    await dispatch(runtime, wall_clock)
    assert read_row(db_url, "webhook_deliveries", delivery_id)["response_body"] == {"accepted": [1, 2]}


async def test_concurrent_dispatchers_send_each_delivery_once(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    config = await create_config(api, tenant, receiver.url)
    ids = [
        await enqueue(runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"]))
        for _ in range(12)
    ]
    counts = await asyncio.gather(*(dispatch(runtime, wall_clock, seed=i) for i in range(4)))
    assert sum(counts) == 12
    assert receiver.count == 12
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(f"msg_{i.hex}" for i in ids)


async def test_a_crashed_dispatchers_claim_comes_back_after_the_lease(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    from revos.webhooks import repo

    config = await create_config(api, tenant, receiver.url)
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    lease = timedelta(seconds=runtime.settings.webhook_claim_lease_seconds)
    async with runtime.db.service() as conn:  # claimed, then the process "died" before sending
        await repo.claim_due(conn, now=wall_clock.now(), lease_until=wall_clock.now() + lease, limit=10)
    assert await dispatch(runtime, wall_clock) == 0
    wall_clock.advance(lease.total_seconds())
    assert await dispatch(runtime, wall_clock) == 1
    assert receiver.requests[0].headers["webhook-id"] == f"msg_{delivery_id.hex}"
    assert read_row(db_url, "webhook_deliveries", delivery_id)["status"] == "success"


async def test_replay_of_a_disabled_endpoint_is_refused(
    api: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, runtime: Runtime, db_url: str
) -> None:
    config = await create_config(api, tenant, receiver.url, active=False)
    async with runtime.db.service() as conn:
        with pytest.raises(Conflict):
            await service.replay_failed(conn, config_id=config["id"])
