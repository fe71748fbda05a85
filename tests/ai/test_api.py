"""/v1/ai: the client's AI settings (the key write-only, sealed in the database) and its usage, per tenant."""

from __future__ import annotations

import httpx
import pytest

from revos.ai import service
from revos.ai.base import AiError, CompletionRequest
from revos.ai.standin import StandIn
from revos.clock import ManualClock
from revos.runtime import Runtime
from tests.ai.conftest import KEY
from tests.support import Conn, Tenant, headers, make_tenant, read_rows, seal_audit

SECRET = "sk-live-1234567890abcdefXYZ9"


async def test_the_key_is_write_only_and_sealed(
    api: httpx.AsyncClient, fast_ai: Runtime, tenant: Tenant, db_url: str
) -> None:
    body = {"provider": "openai", "model": "gpt-4.1-mini", "api_key": SECRET, "monthly_token_budget": 50_000}
    put = await api.put("/v1/ai/settings", json=body, headers=tenant.headers)
    assert put.status_code == 200, put.text
    got = await api.get("/v1/ai/settings", headers=tenant.headers)
    for response in (put, got):
        assert SECRET not in response.text
        assert SECRET[-4:] not in response.text
        shown = response.json()
        assert "api_key" not in shown
        assert shown["api_key_set"] is True
        assert (shown["provider"], shown["model"], shown["monthly_token_budget"]) == (
            "openai",
            "gpt-4.1-mini",
            50_000,
        )
        assert shown["effective"] == {
            "provider": "openai", "model": "gpt-4.1-mini", "base_url": None, "api_key_set": True,
            "monthly_token_budget": 50_000, "budget_source": "client",
        }  # fmt: skip
    [row] = read_rows(db_url, "select api_key, row_to_json(s)::text as dump from ai_settings s where client_id = %s",
                      tenant.client_id)  # fmt: skip
    assert SECRET.encode() not in bytes(row["api_key"])
    assert SECRET not in row["dump"]
    seal_audit(db_url)
    audit = read_rows(
        db_url, "select row_to_json(a)::text as t from audit_log a where client_id = %s", tenant.client_id
    )
    assert audit
    assert all(SECRET not in a["t"] for a in audit)

    kept = await api.put("/v1/ai/settings", json={"provider": "openai"}, headers=tenant.headers)
    assert kept.json()["api_key_set"] is True, "left out: kept"
    assert kept.json()["model"] is None, "PUT replaces the other fields"
    assert kept.json()["effective"]["model"] == "gpt-4o-mini"
    removed = await api.put(
        "/v1/ai/settings", json={"provider": "openai", "api_key": None}, headers=tenant.headers
    )
    assert removed.json()["api_key_set"] is False


async def test_a_stored_key_never_follows_a_new_endpoint(
    api: httpx.AsyncClient, fast_ai: Runtime, tenant: Tenant, standin: tuple[StandIn, str]
) -> None:
    fake, url = standin
    await api.put("/v1/ai/settings", json={"provider": "openai", "api_key": SECRET}, headers=tenant.headers)
    moved = await api.put(
        "/v1/ai/settings", json={"provider": "openai", "base_url": f"{url}/v1"}, headers=tenant.headers
    )
    assert moved.json()["api_key_set"] is False
    with pytest.raises(AiError, match="answered 401"):
        await service.complete(
            fast_ai, client_id=tenant.client_id, request=CompletionRequest("s", "p", "post")
        )
    assert fake.requests[-1]["key"] == "not-set"
    other = await api.put(
        "/v1/ai/settings", json={"provider": "anthropic", "api_key": KEY}, headers=tenant.headers
    )
    assert other.json()["api_key_set"] is True
    switched = await api.put("/v1/ai/settings", json={"provider": "openai"}, headers=tenant.headers)
    assert switched.json()["api_key_set"] is False


async def test_defaults_come_from_the_deployment(
    api: httpx.AsyncClient, fast_ai: Runtime, tenant: Tenant
) -> None:
    shown = (await api.get("/v1/ai/settings", headers=tenant.headers)).json()
    assert shown["provider"] is None
    assert shown["api_key_set"] is False
    assert shown["updated_at"] is None
    assert shown["effective"] == {
        "provider": "offline", "model": "revos-voice-writer-1", "base_url": None, "api_key_set": False,
        "monthly_token_budget": 0, "budget_source": "deployment",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"base_url": "http://127.0.0.1:11434/v1"}, "https"),
        ({"base_url": "https://169.254.169.254/v1"}, "only public addresses"),
        ({"provider": "offline", "base_url": "https://api.openai.com/v1"}, "offline provider"),
        ({"provider": "mistral"}, "provider"),
        ({"monthly_token_budget": -1}, "monthly_token_budget"),
        ({"api_key": ""}, "api_key"),
        ({"temperature": 2}, "temperature"),
    ],
)
async def test_bad_settings_are_refused_and_nothing_is_written(
    api: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    db_url: str,
    body: dict[str, object],
    expected: str,
) -> None:
    response = await api.put("/v1/ai/settings", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert expected in response.text
    assert read_rows(db_url, "select 1 from ai_settings where client_id = %s", tenant.client_id) == []


async def test_only_admins_configure_and_members_read_usage(
    api: httpx.AsyncClient, owner: Conn, runtime: Runtime
) -> None:
    member = await make_tenant(owner, runtime, role="member")
    assert (await api.get("/v1/ai/settings", headers=member.headers)).status_code == 403
    put = await api.put("/v1/ai/settings", json={"model": "x"}, headers=member.headers)
    assert put.status_code == 403
    assert (await api.get("/v1/ai/usage", headers=member.headers)).status_code == 200
    manager = headers(runtime, member, role="manager")
    assert (await api.put("/v1/ai/settings", json={"model": "x"}, headers=manager)).status_code == 403


async def test_usage_reports_tokens_and_cost_per_provider_and_model(
    api: httpx.AsyncClient, fast_ai: Runtime, tenant: Tenant, clock: ManualClock, standin: tuple[StandIn, str]
) -> None:
    _, url = standin
    request = CompletionRequest(system="s", prompt="Draft a post", purpose="post", max_tokens=200)
    offline = await service.complete(fast_ai, client_id=tenant.client_id, request=request)
    body = {"provider": "anthropic", "base_url": url, "api_key": KEY, "monthly_token_budget": 100_000}
    await api.put("/v1/ai/settings", json=body, headers=tenant.headers)
    remote = [await service.complete(fast_ai, client_id=tenant.client_id, request=request) for _ in range(2)]

    usage = (await api.get("/v1/ai/usage", headers=tenant.headers)).json()
    assert usage["month"] == "2026-01"
    assert usage["resets_at"] == "2026-02-01T00:00:00Z"
    items = {(i["provider"], i["model"]): i for i in usage["items"]}
    assert items["offline", "revos-voice-writer-1"]["tokens"] == offline.tokens
    claude = items["anthropic", "claude-haiku-4-5"]
    assert claude["calls"] == 2
    assert claude["tokens_in"] == sum(c.tokens_in for c in remote)
    assert claude["cost_usd"] == pytest.approx(sum(c.cost_usd for c in remote))
    assert usage["totals"]["tokens"] == offline.tokens + sum(c.tokens for c in remote)
    assert usage["budget"] == {
        "limit": 100_000, "source": "client", "used": usage["totals"]["tokens"], "reserved": 0,
        "remaining": 100_000 - usage["totals"]["tokens"],
    }  # fmt: skip
    empty = (await api.get("/v1/ai/usage?month=2025-12", headers=tenant.headers)).json()
    assert empty["items"] == []
    assert empty["totals"]["tokens"] == 0
    assert (await api.get("/v1/ai/usage?month=2025-13", headers=tenant.headers)).status_code == 422


async def test_tenants_see_only_their_own_settings_and_usage(
    api: httpx.AsyncClient, fast_ai: Runtime, owner: Conn, tenant: Tenant
) -> None:
    other = await make_tenant(owner, fast_ai)
    await api.put("/v1/ai/settings", json={"model": "gpt-4.1", "api_key": SECRET}, headers=tenant.headers)
    await service.complete(fast_ai, client_id=tenant.client_id, request=CompletionRequest("s", "p", "post"))

    theirs = (await api.get("/v1/ai/settings", headers=other.headers)).json()
    assert theirs["model"] is None
    assert theirs["api_key_set"] is False
    assert (await api.get("/v1/ai/usage", headers=other.headers)).json()["items"] == []
    for path in ("/v1/ai/settings", "/v1/ai/usage"):
        peek = await api.get(f"{path}?client_id={tenant.client_id}", headers=other.headers)
        assert peek.status_code == 404
    steal = await api.put("/v1/ai/settings", json={"client_id": str(tenant.client_id)}, headers=other.headers)
    assert steal.status_code == 404
    assert (await api.get("/v1/ai/settings", headers=tenant.headers)).json()["model"] == "gpt-4.1"


async def test_agency_staff_name_the_client(api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> None:
    from revos.security.jwt import Claims, issue

    claims = Claims.model_validate(
        {"sub": str(tenant.user_id), "agency_id": str(tenant.agency_id), "user_role": "admin"}
    )
    staff = {"Authorization": f"Bearer {issue(claims, runtime.jwt_secret)}"}
    assert (await api.get("/v1/ai/settings", headers=staff)).status_code == 422
    put = await api.put(
        "/v1/ai/settings", json={"client_id": str(tenant.client_id), "model": "m1"}, headers=staff
    )
    assert put.status_code == 200, put.text
    got = await api.get(f"/v1/ai/settings?client_id={tenant.client_id}", headers=staff)
    assert got.json()["model"] == "m1"
    assert (await api.get("/v1/ai/settings", headers=tenant.headers)).json()["model"] == "m1"
