"""Skills against a real SDK: the OpenAI-compatible stand-in drafts a post; a provider that is down or a
spent budget fails the run with a clear code, logs it, and changes nothing else."""

from __future__ import annotations

import httpx

from revos.ai.standin import StandIn
from revos.runtime import Runtime
from tests.skills.conftest import Shop, execution_rows, run, use_standin
from tests.support import read_row

DRAFT = "We grew from 0 to 5,000 followers with one weekly routine.\n\nComment GUIDE and I will send the checklist."


async def test_copywriting_through_the_openai_compatible_standin(
    api: httpx.AsyncClient, shop: Shop, standin: tuple[StandIn, str], fast_ai: Runtime, db_url: str
) -> None:
    fake, url = standin
    await use_standin(api, shop, url)
    fake.reply(DRAFT)
    done = await run(api, shop, "copywriting", apply=True)
    assert done["provider"] == "openai"
    assert done["model"] == "gpt-4o-mini"
    assert done["tokens_used"] > 0
    assert done["cost_usd"] > 0
    assert done["output_data"]["drafts"] == [DRAFT]
    assert read_row(db_url, "posts", shop.post["id"])["content"] == DRAFT
    [request] = [r for r in fake.requests if r["route"] == "chat"]
    messages = request["body"]["messages"]
    assert messages[0]["role"] == "system"
    assert "voice" in messages[0]["content"]
    sent = "\n".join(str(m["content"]) for m in messages)
    assert shop.magnet["name"] in sent
    assert '"GUIDE"' in sent


async def test_a_provider_that_is_down_fails_the_run_and_leaves_the_post(
    api: httpx.AsyncClient, shop: Shop, standin: tuple[StandIn, str], fast_ai: Runtime, db_url: str
) -> None:
    fake, url = standin
    await use_standin(api, shop, url)
    fake.fail(500, times=10)
    response = await api.post(
        f"{shop.skills}/copywriting/run", json={"input": {"apply": True}}, headers=shop.headers
    )
    assert response.status_code == 502, response.text
    assert response.json()["error"] == "ai_provider_error"
    [row] = execution_rows(shop.campaign["id"], db_url)
    assert str(row["id"]) == response.json()["info"]["execution_id"]
    assert row["success"] is False
    assert row["error_message"].startswith("ai_provider_error")
    assert row["output_data"] is None
    assert row["applied_post_id"] is None
    assert read_row(db_url, "posts", shop.post["id"])["content"] == "Old"


async def test_a_spent_budget_refuses_the_run_with_a_clear_code(
    api: httpx.AsyncClient, shop: Shop, fast_ai: Runtime, db_url: str
) -> None:
    response = await api.put("/v1/ai/settings", json={"monthly_token_budget": 50}, headers=shop.headers)
    assert response.status_code == 200, response.text
    response = await api.post(
        f"{shop.skills}/copywriting/run", json={"input": {"apply": True}}, headers=shop.headers
    )
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "ai_budget_exceeded"
    [row] = execution_rows(shop.campaign["id"], db_url)
    assert row["success"] is False
    assert "budget" in row["error_message"]
    assert row["tokens_used"] == 0
    assert read_row(db_url, "posts", shop.post["id"])["content"] == "Old"


async def test_an_unusable_answer_fails_the_run(
    api: httpx.AsyncClient, shop: Shop, standin: tuple[StandIn, str], fast_ai: Runtime, db_url: str
) -> None:
    fake, url = standin
    await use_standin(api, shop, url)
    fake.reply("Hello {{firstname}}, here you go.")  # the variable the template had is gone
    response = await api.post(
        f"{shop.skills}/voice/run",
        json={"input": {"target": "dm_template_step1", "apply": True}},
        headers=shop.headers,
    )
    assert response.status_code == 502, response.text
    assert response.json()["error"] == "skill_output_invalid"
    [row] = execution_rows(shop.campaign["id"], db_url)
    assert row["success"] is False
    assert row["tokens_used"] > 0  # the call happened and is accounted for
    assert (
        read_row(db_url, "campaigns", shop.campaign["id"])["dm_template_step1"]
        == shop.campaign["dm_template_step1"]
    )
