"""The configs API: secrets shown once, validation before any write, tenancy, Zapier REST hooks."""

from __future__ import annotations

import uuid

import httpx
import pytest

from revos.runtime import Runtime
from revos.webhooks.receiver import Receiver
from tests.support import Conn, Tenant, make_tenant, read_row, superuser_conn


def _count_configs(db_url: str, client_id: uuid.UUID) -> int:
    with superuser_conn(db_url) as conn:
        row = conn.execute(
            "select count(*) as n from webhook_configs where client_id = %s", (client_id,)
        ).fetchone()
    assert row
    return int(row["n"])


async def _create(api: httpx.AsyncClient, tenant: Tenant, url: str, **extra: object) -> httpx.Response:
    body = {"name": f"hook {uuid.uuid4().hex[:6]}", "url": url, **extra}
    return await api.post("/v1/webhooks/configs", json=body, headers=tenant.headers)


async def test_create_shows_the_secret_once_and_never_again(
    api: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, db_url: str
) -> None:
    created = await _create(api, tenant, receiver.url, headers={"X-Team": "growth"})
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert body["signing"] is True
    assert body["headers"] == {"X-Team": "growth"}

    listed = await api.get("/v1/webhooks/configs", headers=tenant.headers)
    one = await api.get(f"/v1/webhooks/configs/{body['id']}", headers=tenant.headers)
    for response in (listed, one):
        assert response.status_code == 200
        assert secret not in response.text
        assert secret.removeprefix("whsec_") not in response.text
        assert "secret" not in (
            response.json()["items"][0] if "items" in response.json() else response.json()
        )

    row = read_row(db_url, "webhook_configs", body["id"])
    with superuser_conn(db_url) as conn:
        dump = conn.execute(
            "select row_to_json(c)::text as t from webhook_configs c where id = %s", (body["id"],)
        ).fetchone()
    assert dump
    assert secret.removeprefix("whsec_") not in dump["t"]
    assert secret.encode() not in bytes(row["secret"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"url": "ftp://example.com/x"}, "https"),
        ({"url": "http://127.0.0.1:9/x", "headers": {"webhook-signature": "x"}}, "cannot be overridden"),
        ({"url": "http://127.0.0.1:9/x", "headers": {"Host": "evil.example"}}, "cannot be overridden"),
        ({"url": "http://127.0.0.1:9/x", "headers": {"Content-Length": "1"}}, "cannot be overridden"),
        ({"url": "http://127.0.0.1:9/x", "headers": {"X-Bad": "a\r\nInjected: 1"}}, "invalid value"),
        ({"url": "http://127.0.0.1:9/x", "max_retries": -1}, "max_retries"),
        ({"url": "http://127.0.0.1:9/x", "esp_type": "mailchimp"}, "esp_type"),
        ({"url": "https://10.0.0.5/hook"}, "private address"),
        ({"url": "https://169.254.169.254/latest/meta-data"}, "metadata"),
        ({"url": "https://[::ffff:10.1.2.3]/x"}, "private address"),
        ({"url": "https://[fec0::1]/"}, "site-local"),
        ({"url": "https://[2002:a9fe:a9fe::1]/"}, "metadata"),
        ({"url": "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/"}, "Teredo address embedding 10.0.0.1"),
        ({"url": "https://[64:ff9b::c0a8:101]/"}, "NAT64 address embedding 192.168.1.1"),
        ({"url": "https://[2001:db8::1]/"}, "documentation"),
        ({"esp_type": "convertkit"}, "kit.api_key"),
    ],
    ids=[
        "ftp",
        "webhook-header",
        "host-header",
        "content-length",
        "crlf-injection",
        "negative-retries",
        "unknown-esp",
        "private-ip",
        "metadata-ip",
        "mapped-private-ipv6",
        "site-local-ipv6",
        "6to4-metadata",
        "teredo-private",
        "nat64-private",
        "documentation-ipv6",
        "kit-without-key",
    ],
)
async def test_invalid_payload_is_a_4xx_with_a_clear_message_and_writes_nothing(
    api: httpx.AsyncClient, tenant: Tenant, db_url: str, extra: dict[str, object], message: str
) -> None:
    body = {"name": "bad", **extra}
    response = await api.post("/v1/webhooks/configs", json=body, headers=tenant.headers)
    assert 400 <= response.status_code < 500, response.text
    assert message in response.text
    assert _count_configs(db_url, tenant.client_id) == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:9/bad\u0001", "control character (U+0001)"),
        ("http://127.0.0.1:9/a b", "(SPACE)"),
        ("http://127.0.0.1:9/a\tb", "(U+0009)"),
        ("http://127.0.0.1:9/a\r\nX-Injected: 1", "control character"),
        ("https://hooks.example.com/\u200bx", "ZERO WIDTH SPACE"),
        ("https://hooks.example.com:99999/x", "not a valid URL"),
        ("https://example.com\\@127.0.0.1/x", "credentials"),
    ],
    ids=["control-char", "space", "tab", "crlf", "zero-width-space", "bad-port", "backslash-userinfo"],
)
async def test_a_url_no_http_client_would_send_is_a_422_naming_the_field(
    api: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, db_url: str, url: str, message: str
) -> None:
    created = await _create(api, tenant, url)
    assert created.status_code == 422, created.text
    body = created.json()
    assert body["error"] == "validation_failed"
    assert message in body["detail"]
    assert [f["field"] for f in body["fields"]] == ["url"]
    assert _count_configs(db_url, tenant.client_id) == 0

    # The same on every way in: editing a config, and a Zap subscribing itself.
    good = (await _create(api, tenant, receiver.url)).json()
    edited = await api.patch(f"/v1/webhooks/configs/{good['id']}", json={"url": url}, headers=tenant.headers)
    assert edited.status_code == 422
    assert [f["field"] for f in edited.json()["fields"]] == ["url"]
    assert read_row(db_url, "webhook_configs", good["id"])["url"] == receiver.url
    zap = await api.post("/v1/webhooks/zapier/subscribe", json={"hookUrl": url}, headers=tenant.headers)
    assert zap.status_code == 422
    assert [f["field"] for f in zap.json()["fields"]] == ["hookUrl"]
    assert _count_configs(db_url, tenant.client_id) == 1


async def test_localhost_is_refused_when_loopback_is_not_allowed(
    api: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, db_url: str
) -> None:
    runtime.settings.webhook_allow_http_loopback = False
    for url in ("https://localhost/hook", "http://127.0.0.1/hook", "https://127.0.0.1/hook"):
        response = await _create(api, tenant, url)
        assert response.status_code == 422, url
    assert _count_configs(db_url, tenant.client_id) == 0


async def test_another_clients_config_is_not_found(
    owner: Conn, api: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, db_url: str, runtime: Runtime
) -> None:
    mine = (await _create(api, tenant, receiver.url)).json()
    other = await make_tenant(owner, runtime)
    for method, path in [
        ("GET", f"/v1/webhooks/configs/{mine['id']}"),
        ("PATCH", f"/v1/webhooks/configs/{mine['id']}"),
        ("DELETE", f"/v1/webhooks/configs/{mine['id']}"),
        ("POST", f"/v1/webhooks/configs/{mine['id']}/rotate-secret"),
        ("POST", f"/v1/webhooks/configs/{mine['id']}/test"),
        ("GET", f"/v1/webhooks/configs/{mine['id']}/deliveries"),
    ]:
        response = await api.request(
            method, path, json={} if method == "PATCH" else None, headers=other.headers
        )
        assert response.status_code == 404, (method, path, response.text)
    listed = await api.get("/v1/webhooks/configs", headers=other.headers)
    assert listed.json()["items"] == []
    assert receiver.count == 0


async def test_members_read_but_cannot_manage(
    owner: Conn, api: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, db_url: str, runtime: Runtime
) -> None:
    member = await make_tenant(owner, runtime, role="member")
    assert (await api.get("/v1/webhooks/configs", headers=member.headers)).status_code == 200
    response = await _create(api, member, receiver.url)
    assert response.status_code == 403


async def test_rotation_returns_a_new_secret_once(
    api: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, db_url: str
) -> None:
    created = (await _create(api, tenant, receiver.url)).json()
    rotated = await api.post(
        f"/v1/webhooks/configs/{created['id']}/rotate-secret",
        json={"overlap_seconds": 600},
        headers=tenant.headers,
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["secret"].startswith("whsec_")
    assert new["secret"] != created["secret"]
    assert new["previous_secret_expires_at"] is not None
    row = read_row(db_url, "webhook_configs", created["id"])
    assert row["secret_previous"] is not None
    for value in (created["secret"], new["secret"]):
        assert value.encode() not in bytes(row["secret"]) + bytes(row["secret_previous"])
    shown = (await api.get(f"/v1/webhooks/configs/{created['id']}", headers=tenant.headers)).text
    assert new["secret"] not in shown
    assert created["secret"] not in shown


async def test_send_test_event_reports_the_outcome(
    api: httpx.AsyncClient, tenant: Tenant, receiver: Receiver
) -> None:
    created = (await _create(api, tenant, receiver.url)).json()
    response = await api.post(f"/v1/webhooks/configs/{created['id']}/test", headers=tenant.headers)
    assert response.status_code == 200, response.text
    delivery = response.json()
    assert delivery["status"] == "success"
    assert delivery["status_code"] == 200
    assert delivery["response_body"] == {"ok": True}
    assert receiver.requests[0].headers["webhook-id"] == delivery["webhook_id"]

    receiver.respond = (500, {}, b"boom")
    failed = (await api.post(f"/v1/webhooks/configs/{created['id']}/test", headers=tenant.headers)).json()
    assert failed["status"] == "failed"
    assert failed["next_retry_at"] is None
    assert failed["response_body"] == {"text": "boom"}


async def test_update_validates_and_reenabling_clears_the_reason(
    api: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, db_url: str
) -> None:
    created = (await _create(api, tenant, receiver.url)).json()
    path = f"/v1/webhooks/configs/{created['id']}"
    bad = await api.patch(path, json={"url": "https://192.168.1.10/x"}, headers=tenant.headers)
    assert bad.status_code == 422
    assert "private" in bad.text
    off = (await api.patch(path, json={"active": False}, headers=tenant.headers)).json()
    assert off["active"] is False
    assert off["disabled_reason"] == "turned off by a user"
    on = (await api.patch(path, json={"active": True, "max_retries": 5}, headers=tenant.headers)).json()
    assert on["active"] is True
    assert on["disabled_reason"] is None
    assert on["max_retries"] == 5
    assert read_row(db_url, "webhook_configs", created["id"])["url"] == receiver.url


async def test_zapier_subscribes_and_unsubscribes_with_an_api_key(
    api: httpx.AsyncClient, tenant: Tenant, receiver: Receiver
) -> None:
    key = await api.post("/v1/api-keys", json={"name": "zapier", "role": "manager"}, headers=tenant.headers)
    assert key.status_code == 201, key.text
    zap = {"X-API-Key": key.json()["key"]}

    sub = await api.post(
        "/v1/webhooks/zapier/subscribe", json={"hookUrl": f"{receiver.url}/zap"}, headers=zap
    )
    assert sub.status_code == 201, sub.text
    subscription = sub.json()
    assert subscription["hookUrl"] == f"{receiver.url}/zap"
    assert subscription["event"] == "lead.captured"
    config = (await api.get(f"/v1/webhooks/configs/{subscription['id']}", headers=tenant.headers)).json()
    assert config["esp_type"] == "zapier"
    assert config["all_campaigns"] is True

    samples = await api.get("/v1/webhooks/zapier/samples", headers=zap)
    assert samples.status_code == 200
    assert isinstance(samples.json(), list)
    assert samples.json()[0]["data"]["lead"]["email"]

    gone = await api.delete(f"/v1/webhooks/zapier/subscribe/{subscription['id']}", headers=zap)
    assert gone.status_code == 204
    assert (
        await api.get(f"/v1/webhooks/configs/{subscription['id']}", headers=tenant.headers)
    ).status_code == 404

    sub2 = (
        await api.post("/v1/webhooks/zapier/subscribe", json={"hookUrl": f"{receiver.url}/z2"}, headers=zap)
    ).json()
    by_url = await api.post(
        "/v1/webhooks/zapier/unsubscribe", json={"hookUrl": f"{receiver.url}/z2"}, headers=zap
    )
    assert by_url.status_code == 204
    assert (await api.get(f"/v1/webhooks/configs/{sub2['id']}", headers=tenant.headers)).status_code == 404


async def test_zapier_subscribe_refuses_private_hook_urls(api: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await api.post(
        "/v1/webhooks/zapier/subscribe", json={"hookUrl": "https://10.0.0.1/hook"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert "private" in response.json()["detail"]
