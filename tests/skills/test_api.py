"""Configuring a campaign's skills, running each of the four (offline provider) and reading the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from revos.runtime import Runtime
from tests.skills.conftest import Shop, execution_rows, run
from tests.support import read_row

SOON = (datetime.now(UTC) + timedelta(days=1)).isoformat()


async def test_the_four_skills_are_listed_with_their_defaults_until_configured(
    api: httpx.AsyncClient, shop: Shop
) -> None:
    listed = (await api.get(shop.skills, headers=shop.headers)).json()["items"]
    assert [s["skill_name"] for s in listed] == ["copywriting", "voice", "deliverability", "design"]
    assert all(s["configured"] is False and s["execution_mode"] == "ai" for s in listed)

    body = {"execution_mode": "human", "config": {"variants": 3, "topic": "audience growth"}}
    response = await api.put(f"{shop.skills}/copywriting", json=body, headers=shop.headers)
    assert response.status_code == 200, response.text
    got = (await api.get(f"{shop.skills}/copywriting", headers=shop.headers)).json()
    assert got["configured"]
    assert got["execution_mode"] == "human"
    assert got["config"]["variants"] == 3


async def test_bad_configurations_are_refused_with_the_field_named(
    api: httpx.AsyncClient, shop: Shop
) -> None:
    unknown = await api.put(f"{shop.skills}/seo", json={}, headers=shop.headers)
    assert unknown.status_code == 422
    assert all(
        name in unknown.json()["detail"] for name in ("copywriting", "voice", "deliverability", "design")
    )
    run_unknown = await api.post(f"{shop.skills}/seo/run", json={}, headers=shop.headers)
    assert run_unknown.status_code == 422

    cases = [
        ({"execution_mode": "scheduled"}, "schedule"),
        ({"execution_mode": "scheduled", "schedule": "2020-01-01T00:00:00Z"}, "schedule"),
        ({"execution_mode": "ai", "schedule": SOON}, "schedule"),
        ({"config": {"variants": 9}}, "config.variants"),
        ({"config": {"varaints": 2}}, "config.varaints"),
        ({"execution_mode": "robot"}, "execution_mode"),
    ]
    for body, field in cases:
        response = await api.put(f"{shop.skills}/copywriting", json=body, headers=shop.headers)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text, (body, response.text)
    ok = await api.put(
        f"{shop.skills}/design", json={"execution_mode": "scheduled", "schedule": SOON}, headers=shop.headers
    )
    assert ok.status_code == 200, ok.text


async def test_oversized_input_is_refused_and_writes_nothing(
    api: httpx.AsyncClient, shop: Shop, db_url: str, runtime: Runtime
) -> None:
    too_long = await api.post(
        f"{shop.skills}/voice/run", json={"input": {"text": "x" * 9000}}, headers=shop.headers
    )
    assert too_long.status_code == 422
    limit = runtime.settings.max_json_body_bytes
    huge = await api.post(
        f"{shop.skills}/voice/run",
        content=b'{"input": {"text": "' + b"y" * (limit + 10) + b'"}}',
        headers={**shop.headers, "content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert execution_rows(shop.campaign["id"], db_url) == []


async def test_copywriting_drafts_variants_and_applies_the_chosen_one_to_the_draft_post(
    api: httpx.AsyncClient, shop: Shop, db_url: str
) -> None:
    done = await run(api, shop, "copywriting", variants=3, apply=True, choose=1)
    out = done["output_data"]
    assert len(out["drafts"]) == 3
    assert len(set(out["drafts"])) == 3
    assert out["chosen"] == 1
    assert out["text"] == out["drafts"][1]
    assert "GUIDE" in out["text"]
    assert "Growth Guide" in out["text"]
    assert done["success"]
    assert done["provider"] == "offline"
    assert done["tokens_used"] > 0
    assert done["cost_usd"] == 0
    assert done["execution_time_ms"] >= 0
    assert done["cartridge_id"]
    assert done["cartridge_version"] >= 1
    assert done["applied_post_id"] == str(shop.post["id"])
    assert read_row(db_url, "posts", shop.post["id"])["content"] == out["drafts"][1]
    assert "Growth Guide" in done["input_data"]["prompt"]["prompt"]


async def test_copywriting_without_apply_leaves_the_post_alone(
    api: httpx.AsyncClient, shop: Shop, db_url: str
) -> None:
    done = await run(api, shop, "copywriting")
    assert len(done["output_data"]["drafts"]) == 1
    assert done["applied_post_id"] is None
    assert read_row(db_url, "posts", shop.post["id"])["content"] == "Old"


async def test_voice_rewrites_a_dm_template_keeping_its_variables(api: httpx.AsyncClient, shop: Shop) -> None:
    done = await run(api, shop, "voice", target="dm_template_step1", variants=2)
    out = done["output_data"]
    assert out["variables"] == ["first_name", "lead_magnet_name"]
    for text in out["texts"]:
        assert "{{first_name}}" in text
        assert "{{lead_magnet_name}}" in text
    assert out["target"] == "dm_template_step1"

    typo = await api.post(
        f"{shop.skills}/voice/run", json={"input": {"text": "Hi {{firstname}}!"}}, headers=shop.headers
    )
    assert typo.status_code == 422
    assert "firstname" in typo.text


async def test_voice_applies_a_rewrite_to_the_campaign_template(
    api: httpx.AsyncClient, shop: Shop, db_url: str
) -> None:
    done = await run(api, shop, "voice", target="dm_template_step1", apply=True)
    assert done["output_data"]["applied"]["target"] == "dm_template_step1"
    assert (
        read_row(db_url, "campaigns", shop.campaign["id"])["dm_template_step1"] == done["output_data"]["text"]
    )


async def test_deliverability_scores_and_says_where_what_and_how_to_fix(
    api: httpx.AsyncClient, shop: Shop
) -> None:
    clean = (await run(api, shop, "deliverability"))["output_data"]
    assert clean["checked"] == ["post", "dm_template_step1", "dm_template_step2", "dm_template_step3"]

    spammy = {
        "post_text": "FREE BONUS!!! Act now, guaranteed results: https://x.example #a #b #c #d #e #f",
        "templates": {"dm_template_step1": "Download it here: https://x.example/guide CLICK HERE NOW!!!"},
    }
    out = (await run(api, shop, "deliverability", **spammy))["output_data"]
    rules = {(f["where"], f["rule"]) for f in out["findings"]}
    assert {("post", "link"), ("post", "spam_words"), ("post", "all_caps"), ("post", "hashtags")} <= rules
    assert {("post", "trigger_word"), ("post", "exclamation_marks")} <= rules
    assert {("dm_template_step1", "link_in_first_dm"), ("dm_template_step1", "identical_text")} <= rules
    assert all(f["fix"] and f["what"] for f in out["findings"])
    assert 0 <= out["score"] < clean["score"] <= 100
    assert isinstance(out["summary"], str)
    assert out["summary"]


async def test_design_returns_a_carousel_an_image_prompt_and_alt_text(
    api: httpx.AsyncClient, shop: Shop
) -> None:
    await run(api, shop, "copywriting", apply=True)
    out = (await run(api, shop, "design", slides=5))["output_data"]
    slides = out["carousel"]
    assert 3 <= len(slides) <= 5
    assert slides[0]["role"] == "cover"
    assert slides[-1]["role"] == "close"
    assert [s["number"] for s in slides] == list(range(1, len(slides) + 1))
    assert out["image_prompt"]
    assert out["alt_text"]


async def test_the_execution_log_filters_and_pages(api: httpx.AsyncClient, shop: Shop) -> None:
    for skill in ("deliverability", "design", "deliverability"):
        await run(api, shop, skill)
    failed = await api.post(f"{shop.skills}/voice/run", json={"input": {}}, headers=shop.headers)
    assert failed.status_code == 422  # neither text nor target: the run fails, and says so in the log
    log = f"{shop.skills}/executions"
    everything = (await api.get(log, headers=shop.headers)).json()["items"]
    assert [e["skill_name"] for e in everything] == ["voice", "deliverability", "design", "deliverability"]
    assert everything[0]["success"] is False
    assert "text" in everything[0]["error_message"]
    assert failed.json()["info"]["execution_id"] == everything[0]["id"]

    only = (await api.get(log, params={"skill": "deliverability"}, headers=shop.headers)).json()["items"]
    assert len(only) == 2
    bad = (await api.get(log, params={"success": "false"}, headers=shop.headers)).json()["items"]
    assert [e["skill_name"] for e in bad] == ["voice"]
    first = (await api.get(log, params={"limit": 3}, headers=shop.headers)).json()
    second = (
        await api.get(log, params={"limit": 3, "cursor": first["next_cursor"]}, headers=shop.headers)
    ).json()
    assert len(first["items"]) == 3
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    one = (await api.get(f"/v1/skill-executions/{everything[1]['id']}", headers=shop.headers)).json()
    assert one == everything[1]
    assert (await api.get(log, params={"skill": "seo"}, headers=shop.headers)).status_code == 422


async def test_a_disabled_skill_does_not_run(api: httpx.AsyncClient, shop: Shop, db_url: str) -> None:
    await api.put(f"{shop.skills}/design", json={"enabled": False}, headers=shop.headers)
    response = await api.post(f"{shop.skills}/design/run", json={}, headers=shop.headers)
    assert response.status_code == 409
    assert response.json()["error"] == "skill_disabled"
    assert execution_rows(shop.campaign["id"], db_url) == []


async def test_a_campaign_whose_skills_ran_is_completed_not_deleted(
    api: httpx.AsyncClient, shop: Shop
) -> None:
    """The log of what its AI runs did and cost outlives the campaign's drafts: deleting says why not."""
    await run(api, shop, "design")
    url = f"/v1/campaigns/{shop.campaign['id']}"
    if shop.campaign["status"] == "active":
        assert (await api.post(f"{url}/pause", headers=shop.headers)).status_code == 200
    refused = await api.delete(url, headers=shop.headers)
    assert refused.status_code == 409, refused.text
    assert "skill runs" in refused.json()["detail"]
    assert (await api.get(url, headers=shop.headers)).status_code == 200
