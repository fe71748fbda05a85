"""The spec's execution modes: `human` waits for a reviewer (approve, edit, reject, once), `scheduled` runs at
its time by the worker (claimed once, the schedule cleared or moved)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from revos.runtime import Runtime
from revos.skills import service
from tests.skills.conftest import Shop, execution_rows, run
from tests.support import Conn, read_row


async def _human(api: httpx.AsyncClient, shop: Shop, skill: str = "copywriting") -> None:
    body = (
        {"execution_mode": "human", "config": {"variants": 2}}
        if skill == "copywriting"
        else {"execution_mode": "human"}
    )
    response = await api.put(f"{shop.skills}/{skill}", json=body, headers=shop.headers)
    assert response.status_code == 200, response.text


async def test_a_human_copywriting_run_waits_and_its_approved_edit_becomes_the_post(
    api: httpx.AsyncClient, shop: Shop, db_url: str
) -> None:
    await _human(api, shop)
    pending = await run(api, shop, "copywriting", apply=True)
    assert pending["review_status"] == "pending"
    assert pending["applied_post_id"] is None
    assert read_row(db_url, "posts", shop.post["id"])["content"] == "Old"  # nothing used before approval
    listed = await api.get(
        f"{shop.skills}/executions", params={"review_status": "pending"}, headers=shop.headers
    )
    assert [e["id"] for e in listed.json()["items"]] == [pending["id"]]

    edited = pending["output_data"]["drafts"][1] + "\n\nEdited by a person."
    url = f"/v1/skill-executions/{pending['id']}"
    response = await api.post(f"{url}/approve", json={"choose": 1, "text": edited}, headers=shop.headers)
    assert response.status_code == 200, response.text
    approved = response.json()
    assert approved["review_status"] == "approved"
    assert approved["reviewed_by"] == str(shop.tenant.user_id)
    assert approved["reviewed_at"] is not None
    assert approved["output_data"]["approved_text"] == edited
    assert approved["output_data"]["edited"] is True
    assert approved["applied_post_id"] == str(shop.post["id"])
    assert read_row(db_url, "posts", shop.post["id"])["content"] == edited

    again = await api.post(f"{url}/approve", json={}, headers=shop.headers)
    assert again.status_code == 409
    assert again.json()["error"] == "already_reviewed"
    assert (await api.post(f"{url}/reject", json={"reason": "late"}, headers=shop.headers)).status_code == 409


async def test_a_rejected_run_is_never_used_and_says_why(
    api: httpx.AsyncClient, shop: Shop, db_url: str
) -> None:
    await _human(api, shop)
    pending = await run(api, shop, "copywriting")
    url = f"/v1/skill-executions/{pending['id']}"
    assert (await api.post(f"{url}/reject", json={}, headers=shop.headers)).status_code == 422  # a reason
    response = await api.post(f"{url}/reject", json={"reason": "off-brand"}, headers=shop.headers)
    assert response.status_code == 200, response.text
    assert response.json()["review_status"] == "rejected"
    assert response.json()["review_note"] == "off-brand"
    assert (await api.post(f"{url}/approve", json={}, headers=shop.headers)).status_code == 409
    assert read_row(db_url, "posts", shop.post["id"])["content"] == "Old"


async def test_an_approval_that_cannot_be_applied_changes_nothing(
    api: httpx.AsyncClient, shop: Shop, owner: Conn, db_url: str
) -> None:
    await _human(api, shop)
    pending = await run(api, shop, "copywriting")
    await owner.execute("update posts set status = 'published' where id = %s", (shop.post["id"],))
    await owner.execute("update posts set linkedin_account_id = null where id = %s", (shop.post["id"],))
    response = await api.post(f"/v1/skill-executions/{pending['id']}/approve", json={}, headers=shop.headers)
    assert response.status_code == 422, response.text  # no draft post, and no account to create one for
    assert read_row(db_url, "skill_executions", pending["id"])["review_status"] == "pending"
    assert read_row(db_url, "posts", shop.post["id"])["content"] == "Old"
    account = {"linkedin_account_id": str(shop.account["id"])}
    response = await api.post(
        f"/v1/skill-executions/{pending['id']}/approve", json=account, headers=shop.headers
    )
    assert response.status_code == 200, response.text
    created = read_row(db_url, "posts", response.json()["applied_post_id"])
    assert created["status"] == "draft"
    assert created["content"] == pending["output_data"]["drafts"][0]


async def test_runs_of_other_modes_wait_for_no_review(api: httpx.AsyncClient, shop: Shop) -> None:
    done = await run(api, shop, "design")
    assert done["review_status"] is None
    response = await api.post(f"/v1/skill-executions/{done['id']}/approve", json={}, headers=shop.headers)
    assert response.status_code == 409


async def test_a_human_deliverability_review_is_approved_as_it_is(api: httpx.AsyncClient, shop: Shop) -> None:
    await _human(api, shop, "deliverability")
    pending = await run(api, shop, "deliverability")
    url = f"/v1/skill-executions/{pending['id']}/approve"
    assert (await api.post(url, json={"text": "edited"}, headers=shop.headers)).status_code == 422
    response = await api.post(url, json={}, headers=shop.headers)
    assert response.status_code == 200, response.text
    assert response.json()["output_data"]["score"] == pending["output_data"]["score"]


async def test_a_scheduled_skill_runs_once_at_its_time_and_its_schedule_is_cleared(
    api: httpx.AsyncClient, shop: Shop, runtime: Runtime, db_url: str
) -> None:
    at = datetime.now(UTC) + timedelta(hours=1)
    body = {"execution_mode": "scheduled", "schedule": at.isoformat(), "config": {"apply": True}}
    response = await api.put(f"{shop.skills}/copywriting", json=body, headers=shop.headers)
    assert response.status_code == 200, response.text

    await service.run_due(runtime, now=at - timedelta(minutes=1))
    assert execution_rows(shop.campaign["id"], db_url) == []  # not yet

    await service.run_due(runtime, now=at + timedelta(minutes=1))
    await service.run_due(runtime, now=at + timedelta(minutes=2))  # idempotent: nothing left to run
    [done] = execution_rows(shop.campaign["id"], db_url)
    assert done["success"] is True
    assert done["triggered_by"] == "schedule"
    assert done["execution_mode"] == "scheduled"
    assert done["applied_post_id"] == shop.post["id"]
    assert read_row(db_url, "posts", shop.post["id"])["content"] == done["output_data"]["text"]
    skill = (await api.get(f"{shop.skills}/copywriting", headers=shop.headers)).json()
    assert skill["schedule"] is None


async def test_a_repeating_schedule_moves_past_now(
    api: httpx.AsyncClient, shop: Shop, runtime: Runtime, db_url: str
) -> None:
    at = datetime.now(UTC) + timedelta(hours=1)
    body = {"execution_mode": "scheduled", "schedule": at.isoformat(), "config": {"repeat_every_hours": 24}}
    assert (
        await api.put(f"{shop.skills}/deliverability", json=body, headers=shop.headers)
    ).status_code == 200
    await service.run_due(runtime, now=at + timedelta(days=2, hours=1))
    assert len(execution_rows(shop.campaign["id"], db_url)) == 1  # missed runs are not made up
    skill = (await api.get(f"{shop.skills}/deliverability", headers=shop.headers)).json()
    assert datetime.fromisoformat(skill["schedule"]) == at + timedelta(days=3)
