"""Bad input gets a clear 4xx with the usual error body and changes nothing: never a 500.

Each case here was once a 500 (or a silent acceptance of something unbounded)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from revos.runtime import Runtime
from tests.api.test_auth_and_tenancy import agency_admin, client_admin


async def send_raw(
    api: httpx.AsyncClient, method: str, url: str, body: str, headers: dict[str, str]
) -> httpx.Response:
    """Send `body` byte for byte: httpx's json= would refuse NaN or re-escape what we test."""
    return await api.request(
        method,
        url,
        content=body.encode("utf-8", "surrogatepass"),
        headers=headers | {"content-type": "application/json"},
    )


def assert_error(resp: httpx.Response, status: int) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert isinstance(body["error"], str), body
    assert isinstance(body["detail"], str), body
    return body


async def _client(api: httpx.AsyncClient, runtime: Runtime, tenant: object) -> dict[str, object]:
    resp = await api.get(f"/v1/clients/{tenant.client_id}", headers=client_admin(runtime, tenant))  # type: ignore[attr-defined]
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("path", "field"),
    [("/v1/agency", "settings"), ("/v1/agency", "name"), ("client", "settings"), ("client", "name")],
    ids=["agency-settings", "agency-name", "client-settings", "client-name"],
)
async def test_null_for_a_required_field_is_a_422_naming_it(
    api: httpx.AsyncClient, runtime: Runtime, tenant: object, path: str, field: str
) -> None:
    url = f"/v1/clients/{tenant.client_id}" if path == "client" else path  # type: ignore[attr-defined]
    before = await _client(api, runtime, tenant)
    resp = await api.patch(url, json={field: None}, headers=agency_admin(runtime, tenant))
    body = assert_error(resp, 422)
    assert field in str(body["detail"])
    assert await _client(api, runtime, tenant) == before


async def test_null_clears_an_optional_field(
    api: httpx.AsyncClient, runtime: Runtime, tenant: object
) -> None:
    url = f"/v1/clients/{tenant.client_id}"  # type: ignore[attr-defined]
    await api.patch(url, json={"industry": "SaaS"}, headers=agency_admin(runtime, tenant))
    resp = await api.patch(url, json={"industry": None}, headers=agency_admin(runtime, tenant))
    assert resp.status_code == 200, resp.text
    assert resp.json()["industry"] is None


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "bad\\u0000name"}',
        '{"settings": {"k\\u0000": 1}}',
        '{"settings": {"k": "v\\u0000"}}',
        '{"name": "\\ud800"}',
        '{"settings": {"\\udfff": "x"}}',
        '{"settings": {"k": NaN}}',
        '{"settings": {"k": Infinity}}',
        '{"settings": {"k": -Infinity}}',
        '{"settings": {"k": 1e400}}',
        '{"settings": {"k": ' + "9" * 5000 + "}}",
        '{"settings": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"settings": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}}',
        '{"name": "ok",',
    ],
    ids=[
        "nul-in-name",
        "nul-in-key",
        "nul-in-value",
        "lone-high-surrogate",
        "lone-low-surrogate-key",
        "nan",
        "infinity",
        "minus-infinity",
        "1e400",
        "5000-digit-int",
        "nested-5000",
        "nested-9-levels",
        "truncated",
    ],
)
async def test_json_that_cannot_be_stored_is_a_422(
    api: httpx.AsyncClient, runtime: Runtime, tenant: object, body: str
) -> None:
    before = await _client(api, runtime, tenant)
    url = f"/v1/clients/{tenant.client_id}"  # type: ignore[attr-defined]
    staff = agency_admin(runtime, tenant)
    assert_error(await send_raw(api, "PATCH", url, body, staff), 422)
    assert_error(await send_raw(api, "PATCH", "/v1/agency", body, staff), 422)
    assert await _client(api, runtime, tenant) == before


async def test_free_form_settings_are_bounded(
    api: httpx.AsyncClient, runtime: Runtime, tenant: object
) -> None:
    url = f"/v1/clients/{tenant.client_id}"  # type: ignore[attr-defined]
    big = {"settings": {"blob": "x" * (80 * 1024)}}
    body = assert_error(await api.patch(url, json=big, headers=agency_admin(runtime, tenant)), 422)
    assert "KiB" in str(body["detail"])
    fine = {"settings": {"brand": {"colour": "#123456", "tone": ["warm", "direct"]}}}
    resp = await api.patch(url, json=fine, headers=agency_admin(runtime, tenant))
    assert resp.status_code == 200, resp.text
    assert resp.json()["settings"] == fine["settings"]


async def test_a_json_body_over_the_limit_is_a_413_before_it_is_read(
    api: httpx.AsyncClient, runtime: Runtime, tenant: object
) -> None:
    limit = runtime.settings.max_json_body_bytes
    huge = json.dumps({"settings": {"blob": "x" * (limit + 10)}})
    url = f"/v1/clients/{tenant.client_id}"  # type: ignore[attr-defined]
    body = assert_error(await send_raw(api, "PATCH", url, huge, agency_admin(runtime, tenant)), 413)
    assert body["error"] == "payload_too_large"

    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the limit must hold while the body streams in.
        nonlocal sent
        yield b'{"settings": {"blob": "'
        for _ in range(64):
            sent += 64 * 1024
            yield b"x" * (64 * 1024)
        yield b'"}}'

    headers = agency_admin(runtime, tenant) | {"content-type": "application/json"}
    assert_error(await api.patch(url, content=chunks(), headers=headers), 413)
    assert sent < 4 * 1024 * 1024


async def test_credentials_are_checked_before_the_body_is_read(api: httpx.AsyncClient) -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(1600):  # 100 MB if anybody reads it all
            pulled += 1
            yield b"[" * 65536

    resp = await api.post("/v1/clients", content=endless(), headers={"content-type": "application/json"})
    assert_error(resp, 401)
    assert pulled <= 2
    # Invalid JSON without credentials is a 401, not a 422 that tells a stranger about the body.
    assert_error(await send_raw(api, "POST", "/v1/clients", "{nope", {}), 401)


@pytest.mark.parametrize(
    "settings",
    [
        {"step3_delay_seconds": 1e30},
        {"step3_delay_seconds": 10**30},
        {"step1_delay_max_seconds": 400 * 86400},
        {"comment_polling": {"fresh_seconds": 1e300}},
        {"working_hours": {"start_hour": 8, "end_hour": 18, "days": ["mon"] * 50}},
        {"skills": {"blob": "x" * (80 * 1024)}},
    ],
    ids=["delay-1e30", "delay-10e30-int", "delay-400-days", "poll-1e300", "50-days", "skills-80k"],
)
async def test_campaign_numbers_and_lists_are_bounded(
    api: httpx.AsyncClient, runtime: Runtime, tenant: object, settings: dict[str, object]
) -> None:
    body = {"name": "c", "trigger_words": ["GUIDE"], "settings": settings}
    assert_error(await api.post("/v1/campaigns", json=body, headers=client_admin(runtime, tenant)), 422)


async def test_webhook_event_lists_are_bounded(
    api: httpx.AsyncClient, runtime: Runtime, tenant: object
) -> None:
    body = {"name": "esp", "url": "https://esp.example.com/hook", "events": ["lead.captured"] * 1000}
    assert_error(
        await api.post("/v1/webhooks/configs", json=body, headers=client_admin(runtime, tenant)), 422
    )


async def test_a_cursor_of_nested_json_is_a_400(
    api: httpx.AsyncClient, runtime: Runtime, tenant: object
) -> None:
    evil = base64.urlsafe_b64encode(b"[" * 5000).decode().rstrip("=")
    for cursor in (evil, base64.urlsafe_b64encode(b'["2026-01-01T00:00:00", "x"]').decode(), "a" * 600):
        resp = await api.get("/v1/users", params={"cursor": cursor}, headers=client_admin(runtime, tenant))
        assert_error(resp, 400)


async def test_nul_in_a_query_parameter_is_a_422(
    api: httpx.AsyncClient, runtime: Runtime, tenant: object
) -> None:
    resp = await api.get("/v1/lead-magnets", params={"tag": "a\x00b"}, headers=client_admin(runtime, tenant))
    assert_error(resp, 422)


async def test_every_route_is_guarded_by_the_api_route_class(runtime: Runtime) -> None:
    """API routes by the API's route class; the dashboard's (under /app) by its own, which answers
    every refusal with an HTML error page."""
    from revos.api.openapi import api_routes
    from revos.api.routing import ApiRoute
    from revos.app import create_app
    from revos.web.deps import WebRoute

    routes = api_routes(create_app(runtime))
    pages = [r for r in routes if r.path_format.startswith("/app")]
    api = [r for r in routes if not r.path_format.startswith("/app")]
    assert len(api) > 40
    assert len(pages) > 20
    assert [r.path_format for r in api if not isinstance(r.original_route, ApiRoute)] == []
    assert [r.path_format for r in pages if not isinstance(r.original_route, WebRoute)] == []


async def test_unknown_uuid_subject_is_refused(
    api: httpx.AsyncClient, runtime: Runtime, tenant: object
) -> None:
    from tests.api.test_auth_and_tenancy import bearer

    headers = bearer(runtime, sub=str(uuid.uuid4()), client_id=str(tenant.client_id), user_role="admin")  # type: ignore[attr-defined]
    assert_error(await api.get("/v1/me", headers=headers), 401)


async def test_a_client_gone_before_its_body_was_read_is_no_server_error(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """A webhook sender that timed out and closed the connection mid-body (Unipile under load): nothing
    stored, no 500, no traceback in the logs."""
    from revos.accounts.provider import unipile_webhook_secret
    from revos.app import create_app

    app = create_app(runtime)
    secret = unipile_webhook_secret(runtime.settings).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/hooks/unipile", "raw_path": b"/hooks/unipile", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("revos.test", 80),
        "headers": [(b"host", b"revos.test"), (b"content-type", b"application/json"),
                    (b"content-length", b"4096"), (b"x-revos-webhook-secret", secret)],
    }  # fmt: skip
    messages = iter([
        {"type": "http.request", "body": b'{"event": "message_rec', "more_body": True},
        {"type": "http.disconnect"},
    ])  # fmt: skip
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    with caplog.at_level("INFO"):
        await app(scope, receive, send)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [400]
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert "client disconnected" in caplog.text
