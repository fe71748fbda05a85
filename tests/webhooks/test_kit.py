"""The Kit (ConvertKit) v4 adapter against a local stand-in for its endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from revos.clock import ManualClock
from revos.runtime import Runtime
from revos.webhooks.receiver import Answer, Received, Receiver
from tests.support import Conn, Tenant, read_row, superuser_conn
from tests.webhooks.conftest import captured_lead, dispatch, enqueue, lead_status

API_KEY = "kit_test_key_0123456789"


class KitStandIn:
    def __init__(self) -> None:
        self.fail_forms = False

    def __call__(self, request: Received) -> Answer:
        if request.headers.get("x-kit-api-key") != API_KEY:
            return 401, {}, b'{"errors":["The access token is invalid"]}'
        if request.method == "GET" and request.path == "/v4/account":
            return 200, {}, b'{"account":{"id":1}}'
        if request.path == "/v4/subscribers":
            body = json.loads(request.body)
            return 201, {}, json.dumps({"subscriber": {"id": 7, **body}}).encode()
        if request.path.startswith("/v4/forms/"):
            if self.fail_forms:
                return 422, {}, b'{"errors":["Form not found"]}'
            return 201, {}, b'{"subscriber":{"id":7}}'
        if request.path.startswith("/v4/tags/"):
            return 201, {}, b'{"subscriber":{"id":7}}'
        return 404, {}, b"{}"


@pytest.fixture
def kit_base(runtime: Runtime, receiver: Receiver) -> Iterator[KitStandIn]:
    stand_in = KitStandIn()
    receiver.respond = stand_in
    previous = runtime.settings.kit_base_url
    runtime.settings.kit_base_url = receiver.url
    yield stand_in
    runtime.settings.kit_base_url = previous


async def _kit_config(api: httpx.AsyncClient, tenant: Tenant, **kit: object) -> dict[str, object]:
    body = {"name": "Kit", "esp_type": "convertkit", "kit": {"api_key": API_KEY, **kit}}
    response = await api.post("/v1/webhooks/configs", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def test_kit_upserts_the_subscriber_then_adds_it_to_the_form_and_tag(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    kit_base: KitStandIn,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    config = await _kit_config(api, tenant, form_id=5, tag_id=9)
    assert config["secret"] is None
    assert config["kit"] == {"form_id": 5, "tag_id": 9, "api_key_set": True}
    lead_id = await captured_lead(
        owner, tenant.client_id, config_id=config["id"], company="Acme", title="CTO"
    )
    delivery_id = await enqueue(runtime, tenant, lead_id)
    await dispatch(runtime, wall_clock)

    upsert, form, tag = receiver.requests
    assert (upsert.method, upsert.path) == ("POST", "/v4/subscribers")
    subscriber = json.loads(upsert.body)
    assert subscriber["email_address"].startswith("lead-")
    assert subscriber["first_name"] == "Ada"
    assert subscriber["state"] == "active"
    assert subscriber["fields"] == {"last_name": "Lovelace", "company": "Acme", "job_title": "CTO"}
    assert (form.path, json.loads(form.body)) == (
        "/v4/forms/5/subscribers",
        {"email_address": subscriber["email_address"]},
    )
    assert (tag.path, json.loads(tag.body)) == (
        "/v4/tags/9/subscribers",
        {"email_address": subscriber["email_address"]},
    )
    assert all(r.headers["x-kit-api-key"] == API_KEY for r in receiver.requests)
    assert read_row(db_url, "webhook_deliveries", delivery_id)["status"] == "success"
    assert lead_status(db_url, lead_id) == "webhook_sent"

    with superuser_conn(db_url) as conn:
        row = conn.execute(
            "select row_to_json(c)::text as t, esp_credentials from webhook_configs c where id = %s",
            (config["id"],),
        ).fetchone()
    assert row
    assert API_KEY not in row["t"]
    assert API_KEY.encode() not in bytes(row["esp_credentials"])
    shown = await api.get(f"/v1/webhooks/configs/{config['id']}", headers=tenant.headers)
    assert API_KEY not in shown.text


async def test_a_failing_step_fails_the_delivery_and_the_retry_repeats_the_idempotent_calls(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    kit_base: KitStandIn,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    kit_base.fail_forms = True
    config = await _kit_config(api, tenant, form_id=5)
    lead_id = await captured_lead(owner, tenant.client_id, config_id=config["id"])
    delivery_id = await enqueue(runtime, tenant, lead_id)
    await dispatch(runtime, wall_clock)
    row = read_row(db_url, "webhook_deliveries", delivery_id)
    assert row["status"] == "failed"
    assert row["status_code"] == 422
    assert "Kit /v4/forms/5/subscribers: HTTP 422" in row["error_message"]
    assert row["response_body"] == {"errors": ["Form not found"]}
    assert lead_status(db_url, lead_id) == "email_captured"

    kit_base.fail_forms = False
    wall_clock.set(row["next_retry_at"])
    await dispatch(runtime, wall_clock)
    assert read_row(db_url, "webhook_deliveries", delivery_id)["status"] == "success"
    assert [r.path for r in receiver.requests] == ["/v4/subscribers", "/v4/forms/5/subscribers"] * 2


async def test_kit_test_event_checks_the_key_without_adding_anyone(
    api: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, kit_base: KitStandIn
) -> None:
    config = await _kit_config(api, tenant, tag_id=9)
    result = (await api.post(f"/v1/webhooks/configs/{config['id']}/test", headers=tenant.headers)).json()
    assert result["status"] == "success"
    assert [(r.method, r.path) for r in receiver.requests] == [("GET", "/v4/account")]


async def test_a_lead_without_email_fails_without_retries(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    kit_base: KitStandIn,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    config = await _kit_config(api, tenant, form_id=5)
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"], email=None)
    )
    await dispatch(runtime, wall_clock)
    row = read_row(db_url, "webhook_deliveries", delivery_id)
    assert row["status"] == "failed"
    assert row["next_retry_at"] is None
    assert "no email address" in row["error_message"]
    assert receiver.count == 0
