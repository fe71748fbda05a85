"""Auto-generate against the simulated LinkedIn: the voice learned from the user's own posts, kept as a
version, re-run on demand; and every way it can fail changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from revos.ai.standin import StandIn, serve
from revos.runtime import Runtime
from revos.sim import FaultRule, Simulator
from revos.sim.history import give_history
from tests.cartridges.helpers import create, snapshot, system_id
from tests.support import Conn, Tenant, connect_account, make_linkedin_account, make_tenant

KEY = "sk-cartridges-test-key"


@pytest.fixture
async def model(runtime: Runtime) -> AsyncIterator[tuple[StandIn, str]]:
    """An OpenAI-compatible endpoint on loopback (the AI layer's stand-in), loopback base URLs allowed."""
    settings = runtime.settings
    saved = settings.ai_allow_http_loopback
    settings.ai_allow_http_loopback = True
    try:
        fake = StandIn(api_key=KEY)
        async with serve(fake) as url:
            yield fake, url
    finally:
        settings.ai_allow_http_loopback = saved


async def test_create_with_auto_generate_learns_the_users_voice_from_their_own_posts(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, db_url: str
) -> None:
    account = await connect_account(api, runtime, tenant, linkedin)
    give_history(linkedin, account.login.member, "casual")
    linkedin.add_post(linkedin.add_member("Someone", "Else"), "Not Jane's post 🚀 #Other")  # not hers

    cartridge = await create(
        api, tenant.headers, tier="user", user_id=str(tenant.user_id), parent_cartridge_id=system_id(db_url),
        voice={"tone": "mine", "hashtags": {"style": "only specific ones"}}, auto_generate=True,
    )  # fmt: skip
    voice = cartridge["voice"]
    assert (cartridge["auto_generate"], cartridge["source_posts_count"], cartridge["version"]) == (True, 4, 2)
    assert voice["tone"] == "mine"  # what it did not measure is kept
    assert voice["sign_off"] == "Talk soon, Jane"
    assert voice["emoji_policy"]["allowed"] is True
    assert voice["emoji_policy"]["common"][0] == "✅"
    assert voice["emoji_policy"]["exceptions"]  # the rest of the field comes from the parent's
    assert voice["hashtags"] == {
        "max": 0,
        "per_post": 0.0,
        "common": [],
        "placement": "none",
        "style": "only specific ones",
    }
    assert voice["example_openers"][0] == "Confession: I ignored my own advice for a year 🙈"
    assert "Drop your weirdest first payment in the comments 😄" in voice["example_ctas"]
    assert voice["formality"]["label"] == "casual"
    assert voice["sentence_length"]["target_words"] < 10
    assert "description" not in voice  # the offline writer (the default) is not asked to describe

    versions = (await api.get(f"/v1/cartridges/{cartridge['id']}/versions", headers=tenant.headers)).json()
    assert [(v["version"], v["change"]) for v in versions] == [(2, "generate"), (1, "create")]
    resolved = (await api.get(f"/v1/cartridges/{cartridge['id']}/resolved", headers=tenant.headers)).json()
    assert resolved["origins"]["voice.sign_off"] == {
        "tier": "user",
        "cartridge_id": cartridge["id"],
        "version": 2,
    }
    assert resolved["origins"]["voice.vocabulary"]["tier"] == "system"


async def test_generate_reruns_on_demand_and_the_same_posts_give_the_same_voice(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, owner: Conn
) -> None:
    account = await connect_account(api, runtime, tenant, linkedin)
    give_history(linkedin, account.login.member, "analyst", count=2)
    cartridge = await create(api, tenant.headers, tier="user", user_id=str(tenant.user_id))
    path = f"/v1/cartridges/{cartridge['id']}/generate"

    first = await api.post(path, headers=tenant.headers)
    assert first.status_code == 200, first.text
    assert (first.json()["source_posts_count"], first.json()["version"]) == (2, 2)
    again = await api.post(path, json={}, headers=tenant.headers)
    assert again.json()["voice"] == first.json()["voice"]
    assert again.json()["version"] == 2  # nothing changed, no new version

    # A new post, and an account whose profile was never read (its owner is asked from GET /users/me).
    await owner.execute("update linkedin_accounts set profile_data = null where id = %s", (account.id,))
    linkedin.add_post(account.login, "Definitions first, benchmarks second.\n\nWhich definition do you use?")
    third = await api.post(path, json={"max_posts": 10}, headers=tenant.headers)
    assert (third.json()["source_posts_count"], third.json()["version"]) == (3, 3)
    assert third.json()["voice"]["example_openers"][0] == "Definitions first, benchmarks second."
    limited = await api.post(path, json={"max_posts": 1}, headers=tenant.headers)
    assert limited.json()["source_posts_count"] == 1


async def test_a_configured_model_adds_a_prose_description_from_her_posts_only(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, model: tuple[StandIn, str]
) -> None:
    fake, url = model
    configured = await api.put(
        "/v1/ai/settings",
        json={"provider": "openai", "model": "gpt-4o-mini", "base_url": f"{url}/v1", "api_key": KEY},
        headers=tenant.headers,
    )
    assert configured.status_code == 200, configured.text
    account = await connect_account(api, runtime, tenant, linkedin)
    give_history(linkedin, account.login.member, "casual")
    linkedin.add_post(linkedin.add_member("Someone", "Else"), "Another author's post about pricing.")

    cartridge = await create(
        api, tenant.headers, tier="user", user_id=str(tenant.user_id), auto_generate=True
    )
    description = cartridge["voice"]["description"]
    assert description
    [sent] = [r["body"] for r in fake.requests if r["route"] == "chat"]
    prompt = sent["messages"][-1]["content"]
    assert "My first client paid me in pizza" in prompt
    assert "Another author's post" not in prompt
    usage = (await api.get("/v1/ai/usage", headers=tenant.headers)).json()
    assert usage["totals"]["calls"] == 1


async def test_generation_that_cannot_happen_is_a_clear_error_and_changes_nothing(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, owner: Conn, db_url: str
) -> None:
    h = tenant.headers
    me = str(tenant.user_id)
    before = snapshot(db_url, tenant.client_id)
    no_account = await create(api, h, 422, tier="user", user_id=me, auto_generate=True)
    assert no_account["fields"][0]["field"] == "linkedin_account_id"
    assert "no connected LinkedIn account" in no_account["detail"]
    assert snapshot(db_url, tenant.client_id) == before

    account = await connect_account(api, runtime, tenant, linkedin)  # connected, but no posts yet
    no_posts = await create(api, h, 422, tier="user", user_id=me, auto_generate=True)
    assert "no posts of its own" in no_posts["detail"]
    assert snapshot(db_url, tenant.client_id) == before

    give_history(linkedin, account.login.member, "founder")
    linkedin.faults.add(FaultRule("error", route="GET /users/*/posts"))
    down = await create(api, h, 502, tier="user", user_id=me, auto_generate=True)
    assert down["error"] == "linkedin_error"
    assert snapshot(db_url, tenant.client_id) == before
    linkedin.faults.clear()

    workspace = await create(api, h, tier="workspace")
    before = snapshot(db_url, tenant.client_id)
    unnamed = await api.post(f"/v1/cartridges/{workspace['id']}/generate", headers=h)
    assert unnamed.status_code == 422
    assert "name the LinkedIn account" in unnamed.json()["detail"]
    other = await make_tenant(owner)
    foreign = await make_linkedin_account(owner, client_id=other.client_id, unipile_account_id="foreign-acct")
    for account_id in (foreign["id"], "00000000-0000-0000-0000-000000000000"):
        refused = await api.post(
            f"/v1/cartridges/{workspace['id']}/generate",
            json={"linkedin_account_id": str(account_id)},
            headers=h,
        )
        assert refused.status_code == 422
    assert (
        await api.post(f"/v1/cartridges/{workspace['id']}/generate", json={"max_posts": 0}, headers=h)
    ).status_code == 422
    professional = system_id(db_url)
    assert (await api.post(f"/v1/cartridges/{professional}/generate", headers=h)).status_code == 422
    assert snapshot(db_url, tenant.client_id) == before

    # Naming the account works for a workspace cartridge: the client's voice from its founder's posts.
    named = await api.post(
        f"/v1/cartridges/{workspace['id']}/generate", json={"linkedin_account_id": str(account.id)}, headers=h
    )
    assert named.status_code == 200, named.text
    assert named.json()["voice"]["hashtags"]["common"][0] == "#B2BMarketing"
