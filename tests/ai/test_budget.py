"""complete(): the client's provider, its monthly token budget checked before the call and its usage
recorded after, on the embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import httpx
import pytest
from pydantic import SecretStr

from revos.ai import client_settings, service
from revos.ai.base import AiBudgetExceeded, AiError, CompletionRequest
from revos.ai.standin import StandIn
from revos.clock import ManualClock
from revos.runtime import Runtime
from tests.ai.conftest import KEY
from tests.support import Conn, Tenant, make_tenant, read_rows

DRAFT = CompletionRequest(
    system="Write in the client's voice.",
    prompt="A post about outreach.",
    purpose="post",
    context={"topic": "outreach", "trigger_word": "GUIDE"},
    max_tokens=500,
)


def _usage(db_url: str, client_id: UUID) -> list[dict[str, object]]:
    return read_rows(
        db_url,
        "select provider, model, calls, failures, tokens_in, tokens_out, reserved, cost_usd::float as cost,"
        " month::text from ai_usage where client_id = %s order by provider",
        client_id,
    )


async def _configure(api: httpx.AsyncClient, tenant: Tenant, **body: object) -> dict[str, object]:
    response = await api.put("/v1/ai/settings", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_offline_call_is_recorded_for_the_client_and_month(
    fast_ai: Runtime, tenant: Tenant, db_url: str, clock: ManualClock
) -> None:
    completion = await service.complete(fast_ai, fast_ai.db, client_id=tenant.client_id, request=DRAFT)
    assert completion.provider == "offline"
    assert '"GUIDE"' in completion.text
    [row] = _usage(db_url, tenant.client_id)
    assert row["month"] == "2026-01-01"
    assert (row["provider"], row["calls"], row["failures"], row["reserved"], row["cost"]) == (
        "offline",
        1,
        0,
        0,
        0.0,
    )
    assert (row["tokens_in"], row["tokens_out"]) == (completion.tokens_in, completion.tokens_out)


async def test_past_the_budget_the_call_is_refused_before_the_provider_is_asked(
    api: httpx.AsyncClient, fast_ai: Runtime, tenant: Tenant, db_url: str, clock: ManualClock,
    standin: tuple[StandIn, str],
) -> None:  # fmt: skip
    fake, url = standin
    limit = service.estimate(DRAFT) + 10  # room for one such call, not two
    await _configure(
        api, tenant, provider="openai", base_url=f"{url}/v1", api_key=KEY, monthly_token_budget=limit
    )
    first = await service.complete(fast_ai, fast_ai.db, client_id=tenant.client_id, request=DRAFT)
    assert fake.requests[0]["key"] == KEY, "the client's key, opened for the call"
    used = first.tokens
    with pytest.raises(AiBudgetExceeded) as caught:
        await service.complete(fast_ai, fast_ai.db, client_id=tenant.client_id, request=DRAFT)
    assert fake.count("chat") == 1, "the refused call never reached the provider"
    error = caught.value
    assert error.code == "ai_budget_exceeded"
    assert error.status_code == 429
    assert (
        f"this client's monthly budget is {limit:,} tokens and {used:,} are used in 2026-01" in error.message
    )
    assert "resets on 2026-02-01 00:00 UTC" in error.message
    assert error.detail == {
        "budget": "client", "month": "2026-01", "used": used, "reserved": 0, "limit": limit,
        "needed": service.estimate(DRAFT), "resets_at": "2026-02-01T00:00:00Z",
    }  # fmt: skip
    small = CompletionRequest(system="s", prompt="p", purpose="comment", max_tokens=50)
    assert (await service.complete(fast_ai, fast_ai.db, client_id=tenant.client_id, request=small)).text

    clock.set(clock.now().replace(month=2, day=1))  # a new month, a fresh budget
    assert (await service.complete(fast_ai, fast_ai.db, client_id=tenant.client_id, request=DRAFT)).text
    months = {r["month"]: r["calls"] for r in _usage(db_url, tenant.client_id)}
    assert months == {"2026-01-01": 2, "2026-02-01": 1}


async def test_the_deployment_budget_applies_when_the_client_sets_none(
    fast_ai: Runtime, tenant: Tenant, clock: ManualClock
) -> None:
    fast_ai.settings.ai_monthly_token_budget = 100
    with pytest.raises(
        AiBudgetExceeded, match="the deployment's default monthly budget is 100 tokens"
    ) as caught:
        await service.complete(fast_ai, fast_ai.db, client_id=tenant.client_id, request=DRAFT)
    assert caught.value.detail["budget"] == "deployment"


async def test_concurrent_calls_never_overspend_the_budget(
    api: httpx.AsyncClient, fast_ai: Runtime, tenant: Tenant, db_url: str, clock: ManualClock
) -> None:
    await _configure(api, tenant, monthly_token_budget=3 * service.estimate(DRAFT))
    results = await asyncio.gather(
        *(
            service.complete(fast_ai, fast_ai.db, client_id=tenant.client_id, request=DRAFT)
            for _ in range(12)
        ),
        return_exceptions=True,
    )
    done = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, AiBudgetExceeded)]
    assert len(done) + len(refused) == 12
    assert len(done) >= 3
    [row] = _usage(db_url, tenant.client_id)
    assert row["reserved"] == 0
    assert row["calls"] == len(done)
    assert int(row["tokens_in"]) + int(row["tokens_out"]) <= 3 * service.estimate(DRAFT)


async def test_a_failed_call_is_counted_and_its_reservation_released(
    api: httpx.AsyncClient, fast_ai: Runtime, tenant: Tenant, db_url: str, clock: ManualClock,
    standin: tuple[StandIn, str], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    _fake, url = standin
    wrong = "sk-client-wrong-7d6c5b4a3f2e"
    await _configure(
        api, tenant, provider="openai", base_url=f"{url}/v1", api_key=wrong, monthly_token_budget=10**6
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AiError, match=r"^openai \(gpt-4o-mini\) answered 401: Incorrect API key") as caught:
        await service.complete(fast_ai, fast_ai.db, client_id=tenant.client_id, request=DRAFT)
    for text in (str(caught.value), repr(caught.value.detail), caplog.text):
        assert wrong not in text
        assert wrong[-4:] not in text
    [row] = _usage(db_url, tenant.client_id)
    assert (row["calls"], row["failures"], row["reserved"], row["tokens_in"]) == (0, 1, 0, 0)


async def test_a_tenant_transaction_can_run_the_call(fast_ai: Runtime, tenant: Tenant, db_url: str) -> None:
    async with fast_ai.db.tenant(tenant.claims()) as conn:
        completion = await service.complete(fast_ai, conn, client_id=tenant.client_id, request=DRAFT)
    assert completion.text
    assert _usage(db_url, tenant.client_id)[0]["calls"] == 1


async def test_oversized_requests_are_refused_before_anything_happens(
    fast_ai: Runtime, tenant: Tenant
) -> None:
    huge = CompletionRequest(system="", prompt="x" * (service.MAX_PROMPT_CHARS + 1), purpose="post")
    with pytest.raises(Exception, match="the prompt is too long"):
        await service.complete(fast_ai, fast_ai.db, client_id=tenant.client_id, request=huge)
    with pytest.raises(Exception, match="variants must be between 1 and 10"):
        await service.complete(
            fast_ai,
            fast_ai.db,
            client_id=tenant.client_id,
            request=CompletionRequest("", "p", "post", variants=11),
        )


def test_the_deployment_key_only_goes_to_the_deployment_endpoint(fast_ai: Runtime) -> None:
    s = fast_ai.settings.model_copy(
        update={
            "ai_provider": "openai",
            "ai_base_url": "https://llm.internal/v1",
            "ai_api_key": SecretStr("sk-deploy"),
        }
    )
    assert client_settings.resolve(s, None, None).api_key == "sk-deploy"
    assert client_settings.resolve(s, {"model": "gpt-4.1"}, None).api_key == "sk-deploy"
    elsewhere = client_settings.resolve(s, {"base_url": "https://attacker.example/v1"}, None)
    assert elsewhere.api_key is None
    assert not elsewhere.api_key_set
    other_vendor = client_settings.resolve(s, {"provider": "anthropic"}, None)
    assert other_vendor.api_key is None
    assert other_vendor.base_url is None
    assert other_vendor.model == "claude-haiku-4-5"
    assert "sk-deploy" not in repr(client_settings.resolve(s, None, None))


async def test_a_batch_is_admitted_while_it_fits_the_budget_and_recorded_in_one_write(
    api: httpx.AsyncClient, fast_ai: Runtime, tenant: Tenant, db_url: str, clock: ManualClock
) -> None:
    await _configure(api, tenant, monthly_token_budget=2 * service.estimate(DRAFT) + 10)
    results = await service.complete_many(
        fast_ai, fast_ai.db, client_id=tenant.client_id, requests=[DRAFT, DRAFT, DRAFT]
    )
    done = [r for r in results if not isinstance(r, Exception)]
    assert len(done) == 2
    assert isinstance(results[2], AiBudgetExceeded)
    assert results[2].detail["reserved"] == 2 * service.estimate(DRAFT), "the batch's own holds count"
    [row] = _usage(db_url, tenant.client_id)
    assert (row["calls"], row["failures"], row["reserved"]) == (2, 0, 0)
    assert int(row["tokens_in"]) + int(row["tokens_out"]) == sum(c.tokens for c in done)


async def test_several_clients_are_asked_at_once_each_within_its_own_budget(
    api: httpx.AsyncClient, fast_ai: Runtime, tenant: Tenant, owner: Conn, db_url: str, clock: ManualClock
) -> None:
    """`complete_for_clients` (the pod executor's comments of several clients): one client's budget refuses
    what does not fit, the other's are all asked, and each client's usage is its own."""
    await _configure(api, tenant, monthly_token_budget=service.estimate(DRAFT) + 10)
    other = await make_tenant(owner, fast_ai)
    answers = await service.complete_for_clients(
        fast_ai, fast_ai.db, groups={tenant.client_id: [DRAFT, DRAFT], other.client_id: [DRAFT] * 3}
    )
    mine, theirs = answers[tenant.client_id], answers[other.client_id]
    assert isinstance(mine, list)
    assert isinstance(theirs, list)
    assert [type(a).__name__ for a in mine] == ["Completion", "AiBudgetExceeded"]
    assert [type(a).__name__ for a in theirs] == ["Completion"] * 3
    [row] = _usage(db_url, tenant.client_id)
    assert (row["calls"], row["failures"], row["reserved"]) == (1, 0, 0)
    [row] = _usage(db_url, other.client_id)
    assert (row["calls"], row["failures"], row["reserved"]) == (3, 0, 0)
    assert int(row["tokens_in"]) + int(row["tokens_out"]) == sum(a.tokens for a in theirs)
