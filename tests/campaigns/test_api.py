"""The campaigns API: CRUD, validation a user hears about, the lifecycle, the run window, tenancy."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from revos.campaigns import tasks
from revos.clock import ManualClock
from revos.runtime import Runtime
from tests.support import (
    Conn,
    Tenant,
    create_campaign,
    make_lead_magnet,
    make_tenant,
    read_row,
    token_headers,
)


async def test_create_is_a_draft_with_defaults_and_the_first_trigger_as_trigger_word(
    api: httpx.AsyncClient, tenant: Tenant, db_url: str
) -> None:
    body = await create_campaign(
        api,
        tenant,
        trigger_words=["GUIDE", "free guide", "guide"],
        dm_template_step1="Hi {{first_name}}, want {{lead_magnet_name}}?",
        settings={"fuzzy_triggers": True, "step1_delay_min_seconds": 60, "step1_delay_max_seconds": 600},
    )
    assert body["status"] == "draft"
    assert body["is_running"] is False
    # Duplicates (case-insensitive) are dropped; the first word is the spec's trigger_word.
    assert body["trigger_words"] == ["GUIDE", "free guide"]
    assert body["trigger_word"] == "GUIDE"
    assert body["settings"]["abandon_after_days"] == 7
    assert body["settings"]["email_review_threshold"] == 0.8
    assert body["settings"]["fuzzy_triggers"] is True
    stored = read_row(db_url, "campaigns", body["id"])
    assert stored["trigger_words"] == ["GUIDE", "free guide"]
    assert stored["client_id"] == tenant.client_id

    fetched = await api.get(f"/v1/campaigns/{body['id']}", headers=tenant.headers)
    assert fetched.status_code == 200
    assert fetched.json()["name"] == body["name"]
    listed = await api.get("/v1/campaigns?status=draft", headers=tenant.headers)
    assert [c["id"] for c in listed.json()["items"]] == [body["id"]]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"dm_template_step2": "Thanks {{firstname}}!"}, "{{firstname}}"),
        ({"dm_template_step3": "Here: {{download_link}} {{first_name}}"}, "{{download_link}}"),
        ({"post_template": "Comment {{trigger_word}} for {{first_name}}"}, "{{first_name}}"),
        ({"settings": {"invitation_note": "Hi {{name}}"}}, "{{name}}"),
    ],
    ids=["dm-step2-typo", "dm-step3-unknown", "post-template-lead-variable", "invitation-note"],
)
async def test_an_unknown_template_variable_is_rejected_by_name(
    api: httpx.AsyncClient, tenant: Tenant, fields: dict[str, object], named: str, db_url: str
) -> None:
    response = await api.post(
        "/v1/campaigns", json={"name": "Typo", "trigger_words": ["GUIDE"], **fields}, headers=tenant.headers
    )
    assert response.status_code == 422, response.text
    assert named in response.json()["detail"]


async def test_an_unknown_variable_is_rejected_on_update_too(api: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await create_campaign(api, tenant)
    response = await api.patch(
        f"/v1/campaigns/{campaign['id']}",
        json={"dm_template_step1": "Yo {{frist_name}}"},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert "{{frist_name}}" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"trigger_words": []},
        {"trigger_words": ["  "]},
        {"settings": {"email_review_threshold": 1.5}},
        {"settings": {"abandon_after_days": 0}},
        {"settings": {"step1_delay_min_seconds": 900, "step1_delay_max_seconds": 60}},
        {"settings": {"abandon_after_day": 3}},
        {"settings": {"working_hours": {"start_hour": 18, "end_hour": 9}}},
        {"starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"},
        {"starts_at": "2026-02-01T00:00:00"},
    ],
    ids=[
        "no-triggers",
        "blank-trigger",
        "threshold>1",
        "abandon-0",
        "delays-inverted",
        "unknown-setting",
        "hours-inverted",
        "ends-before-start",
        "naive-start",
    ],
)
async def test_invalid_campaigns_are_refused_before_any_write(
    api: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], db_url: str
) -> None:
    response = await api.post(
        "/v1/campaigns", json={"name": "Bad", "trigger_words": ["GUIDE"]} | body, headers=tenant.headers
    )
    assert response.status_code == 422, response.text
    listed = await api.get("/v1/campaigns", headers=tenant.headers)
    assert listed.json()["items"] == []


async def test_lifecycle_moves_and_refuses_illegal_transitions(
    owner: Conn, api: httpx.AsyncClient, tenant: Tenant, db_url: str
) -> None:
    campaign = await create_campaign(api, tenant)
    cid = campaign["id"]

    async def move(action: str) -> httpx.Response:
        return await api.post(f"/v1/campaigns/{cid}/{action}", headers=tenant.headers)

    assert (await move("pause")).status_code == 409  # a draft cannot be paused
    refused = await move("activate")
    assert refused.status_code == 409
    assert "lead magnet" in refused.json()["detail"]

    magnet = (await make_lead_magnet(owner, client_id=tenant.client_id))["id"]
    patched = await api.patch(
        f"/v1/campaigns/{cid}", json={"lead_magnet_id": str(magnet)}, headers=tenant.headers
    )
    assert patched.status_code == 200
    active = await move("activate")
    assert active.status_code == 200
    assert active.json()["status"] == "active"
    assert active.json()["is_running"]
    assert (await move("activate")).json()["status"] == "active"  # idempotent
    assert (await move("pause")).json()["status"] == "paused"
    assert (await move("resume")).json()["status"] == "active"
    assert (await move("complete")).json()["status"] == "completed"

    for action in ("activate", "pause", "resume"):
        response = await move(action)
        assert response.status_code == 409, action
        assert response.json()["error"] == "illegal_transition"
    edit = await api.patch(f"/v1/campaigns/{cid}", json={"name": "Renamed"}, headers=tenant.headers)
    assert edit.status_code == 409
    assert read_row(db_url, "campaigns", cid)["status"] == "completed"


async def test_starts_at_and_ends_at_decide_whether_it_runs(
    owner: Conn, api: httpx.AsyncClient, tenant: Tenant, db_url: str, clock: ManualClock, runtime: Runtime
) -> None:
    now = clock.now()
    campaign = await create_campaign(
        api,
        tenant,
        lead_magnet_id=str((await make_lead_magnet(owner, client_id=tenant.client_id))["id"]),
        starts_at=(now + timedelta(hours=1)).isoformat(),
        ends_at=(now + timedelta(days=2)).isoformat(),
    )
    url = f"/v1/campaigns/{campaign['id']}"
    activated = await api.post(f"{url}/activate", headers=tenant.headers)
    assert activated.json()["status"] == "active"
    assert activated.json()["is_running"] is False

    clock.advance(hours=1)
    assert (await api.get(url, headers=tenant.headers)).json()["is_running"] is True

    clock.advance(days=2)
    assert (await api.get(url, headers=tenant.headers)).json()["is_running"] is False
    assert await tasks.complete_ended(runtime) >= 1
    assert (await api.get(url, headers=tenant.headers)).json()["status"] == "completed"


async def test_a_campaign_whose_end_has_passed_cannot_be_activated(
    owner: Conn, api: httpx.AsyncClient, tenant: Tenant, db_url: str, clock: ManualClock
) -> None:
    campaign = await create_campaign(
        api,
        tenant,
        lead_magnet_id=str((await make_lead_magnet(owner, client_id=tenant.client_id))["id"]),
        ends_at=(clock.now() - timedelta(minutes=1)).isoformat(),
    )
    response = await api.post(f"/v1/campaigns/{campaign['id']}/activate", headers=tenant.headers)
    assert response.status_code == 409
    assert "ended" in response.json()["detail"]


async def test_other_tenants_see_nothing_and_cannot_borrow_references(
    owner: Conn, api: httpx.AsyncClient, tenant: Tenant, db_url: str, runtime: Runtime
) -> None:
    campaign = await create_campaign(api, tenant)
    other = await make_tenant(owner, runtime)
    url = f"/v1/campaigns/{campaign['id']}"
    assert (await api.get(url, headers=other.headers)).status_code == 404
    assert (await api.patch(url, json={"name": "Mine"}, headers=other.headers)).status_code == 404
    assert (await api.post(f"{url}/pause", headers=other.headers)).status_code == 404
    assert (await api.delete(url, headers=other.headers)).status_code == 404
    assert (await api.get("/v1/campaigns", headers=other.headers)).json()["items"] == []

    foreign_magnet = (await make_lead_magnet(owner, client_id=tenant.client_id))["id"]
    response = await api.post(
        "/v1/campaigns",
        json={"name": "Borrow", "trigger_words": ["X"], "lead_magnet_id": str(foreign_magnet)},
        headers=other.headers,
    )
    assert response.status_code == 422
    assert "lead_magnet_id" in response.json()["detail"]


async def test_members_read_but_do_not_write(
    api: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    campaign = await create_campaign(api, tenant)
    member = token_headers(runtime, tenant.user_id, tenant.client_id, role="member")
    assert (await api.get(f"/v1/campaigns/{campaign['id']}", headers=member)).status_code == 200
    response = await api.post("/v1/campaigns", json={"name": "M", "trigger_words": ["X"]}, headers=member)
    assert response.status_code == 403


async def test_names_are_unique_per_client_and_deletes_keep_history(
    owner: Conn, api: httpx.AsyncClient, tenant: Tenant, db_url: str
) -> None:
    campaign = await create_campaign(api, tenant, name="Launch")
    again = await api.post(
        "/v1/campaigns", json={"name": "Launch", "trigger_words": ["X"]}, headers=tenant.headers
    )
    assert again.status_code == 409

    url = f"/v1/campaigns/{campaign['id']}"
    await api.patch(
        url,
        json={"lead_magnet_id": str((await make_lead_magnet(owner, client_id=tenant.client_id))["id"])},
        headers=tenant.headers,
    )
    await api.post(f"{url}/activate", headers=tenant.headers)
    assert (await api.delete(url, headers=tenant.headers)).status_code == 409  # active: pause first
    await api.post(f"{url}/pause", headers=tenant.headers)
    assert (await api.delete(url, headers=tenant.headers)).status_code == 204
    assert (await api.get(url, headers=tenant.headers)).status_code == 404


def test_a_campaigns_working_hours_are_read_in_the_accounts_time_zone() -> None:
    from datetime import UTC, datetime

    from revos.campaigns.rules import parse_settings, working_hours_opening

    campaign = parse_settings({"working_hours": {"start_hour": 9, "end_hour": 17, "days": ["mon", "tue"]}})
    monday_noon_paris = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    assert working_hours_opening(campaign, monday_noon_paris, "Europe/Paris") is None
    monday_evening = datetime(2026, 1, 5, 17, 30, tzinfo=UTC)  # 18:30 in Paris
    assert working_hours_opening(campaign, monday_evening, "Europe/Paris") == datetime(
        2026, 1, 6, 8, 0, tzinfo=UTC
    )
    assert working_hours_opening(parse_settings({}), monday_evening, "Europe/Paris") is None
