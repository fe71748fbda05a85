"""Fixtures for campaign skills: a campaign ready to write for (lead magnet, account, draft post), the AI
vendors' stand-in on loopback, fast retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from revos.ai.standin import StandIn, serve
from revos.runtime import Runtime
from tests.support import (
    Conn,
    Row,
    Tenant,
    make_campaign,
    make_lead_magnet,
    make_linkedin_account,
    make_post,
    make_tenant,
    read_rows,
)

KEY = "sk-skills-test-7c1e9a"
DM1 = "Hi {{first_name}}, thanks for your comment! Where should I send {{lead_magnet_name}}?"
TEMPLATE = (
    "I wrote {{lead_magnet_name}}: what we learned growing on LinkedIn. Comment {{trigger_word}} below."
)


@dataclass
class Shop:
    """A tenant with a campaign worth writing for: a lead magnet, an account of its user, a draft post."""

    tenant: Tenant
    campaign: Row
    magnet: Row
    account: Row
    post: Row

    @property
    def skills(self) -> str:
        return f"/v1/campaigns/{self.campaign['id']}/skills"

    @property
    def headers(self) -> dict[str, str]:
        return self.tenant.headers


async def make_shop(owner: Conn, runtime: Runtime, **campaign: Any) -> Shop:
    tenant = await make_tenant(owner, runtime)
    magnet = await make_lead_magnet(
        owner, client_id=tenant.client_id, description="a checklist for growing an audience on LinkedIn"
    )
    account = await make_linkedin_account(owner, client_id=tenant.client_id, user_id=tenant.user_id)
    row = await make_campaign(
        owner,
        client_id=tenant.client_id,
        lead_magnet_id=magnet["id"],
        post_template=TEMPLATE,
        dm_template_step1=DM1,
        **campaign,
    )
    post = await make_post(
        owner,
        client_id=tenant.client_id,
        campaign_id=row["id"],
        linkedin_account_id=account["id"],
        content="Old",
    )
    return Shop(tenant, row, magnet, account, post)


@pytest.fixture
async def shop(owner: Conn, runtime: Runtime) -> Shop:
    return await make_shop(owner, runtime)


async def run(
    api: httpx.AsyncClient, shop: Shop, skill: str, status: int = 201, **options: Any
) -> dict[str, Any]:
    response = await api.post(f"{shop.skills}/{skill}/run", json={"input": options}, headers=shop.headers)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def execution_rows(campaign_id: Any, db_url: str) -> list[dict[str, Any]]:
    return read_rows(
        db_url, "select * from skill_executions where campaign_id = %s order by created_at", campaign_id
    )


@pytest.fixture
async def standin() -> AsyncIterator[tuple[StandIn, str]]:
    """The OpenAI/Anthropic stand-in (accepting only KEY) on a loopback port, and its root URL."""
    fake = StandIn(api_key=KEY)
    async with serve(fake) as url:
        yield fake, url


_FAST: dict[str, Any] = {
    "ai_retry_base_seconds": 0.01,
    "ai_retry_max_seconds": 0.05,
    "ai_timeout_seconds": 2.0,
    "ai_retries": 1,
    "ai_allow_http_loopback": True,
}


@pytest.fixture
def fast_ai(runtime: Runtime) -> Iterator[Runtime]:
    """Short backoffs, loopback base URLs allowed (the stand-in); restored afterwards."""
    s = runtime.settings
    saved = {k: getattr(s, k) for k in _FAST}
    for name, value in _FAST.items():
        setattr(s, name, value)
    yield runtime
    for name, value in saved.items():
        setattr(s, name, value)


async def use_standin(api: httpx.AsyncClient, shop: Shop, url: str, **extra: Any) -> None:
    """The shop's client writes with the OpenAI-compatible stand-in (set as a user would)."""
    body = {"provider": "openai", "model": "gpt-4o-mini", "base_url": url + "/v1", "api_key": KEY} | extra
    response = await api.put("/v1/ai/settings", json=body, headers=shop.headers)
    assert response.status_code == 200, response.text
