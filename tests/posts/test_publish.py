"""Drafting, scheduling and publishing: at its time, exactly once, failures recorded and never "published"."""

from __future__ import annotations

from datetime import timedelta

import httpx

from revos.clock import ManualClock
from revos.posts import publishing
from revos.runtime import Runtime
from revos.sim import FaultRule, Simulator
from tests.posts.conftest import World
from tests.support import Conn, make_campaign, make_lead_magnet, make_tenant, read_row, superuser_conn


def _ledger(db_url: str, post_id: object) -> dict[str, object] | None:
    with superuser_conn(db_url) as conn:
        return conn.execute(
            "select * from linkedin_actions where action_key = %s", (f"post:{post_id}",)
        ).fetchone()


async def test_a_post_is_drafted_from_the_campaign_template(
    api: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    response = await api.post(
        "/v1/posts",
        json={"campaign_id": str(world.campaign_id), "linkedin_account_id": str(world.account_id)},
        headers=world.tenant.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "draft"
    assert body["content"] == "Comment GUIDE below and I'll send you The Growth Guide."
    assert body["trigger_word"] == "GUIDE"


async def test_a_scheduled_post_publishes_at_its_time_and_stores_linkedins_ids(
    api: httpx.AsyncClient, world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    when = clock.now() + timedelta(hours=2)
    created = await api.post(
        "/v1/posts",
        json={
            "campaign_id": str(world.campaign_id),
            "linkedin_account_id": str(world.account_id),
            "content": "Big news. Comment GUIDE for the playbook.",
            "scheduled_for": when.isoformat(),
        },
        headers=world.tenant.headers,
    )
    post_id = created.json()["id"]
    assert created.json()["status"] == "scheduled"

    clock.advance(hours=1, minutes=59)
    assert await publishing.publish_due(runtime) == []
    assert sim.posts(world.login) == []

    clock.advance(minutes=1)
    results = await publishing.publish_due(runtime)
    assert [r.status for r in results] == ["published"]
    [on_linkedin] = sim.posts(world.login)
    assert on_linkedin.text == "Big news. Comment GUIDE for the playbook."

    body = (await api.get(f"/v1/posts/{post_id}", headers=world.tenant.headers)).json()
    assert body["status"] == "published"
    assert body["unipile_post_id"] == on_linkedin.id
    assert body["social_id"] == on_linkedin.social_id
    assert body["post_url"].endswith(on_linkedin.id)
    assert body["published_at"] is not None
    assert body["poll_next_at"] is not None  # comment polling starts
    ledger = _ledger(db_url, post_id)
    assert ledger is not None
    assert ledger["status"] == "done"
    assert ledger["provider_id"] == on_linkedin.id

    # Nothing more happens on later ticks, and a published post stays.
    clock.advance(hours=1)
    assert await publishing.publish_due(runtime) == []
    assert await publishing.publish_post(runtime, post_id) == publishing.PublishResult(
        post_id, "skipped", "not scheduled"
    )
    assert len(sim.posts(world.login)) == 1
    assert (await api.delete(f"/v1/posts/{post_id}", headers=world.tenant.headers)).status_code == 409


async def test_a_refused_post_is_failed_with_its_reason_and_never_published(
    world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    sim.faults.add(FaultRule("error", route="POST /posts", status=422, error_type="invalid_post"))
    post_id = await world.post(status="scheduled", scheduled_for=clock.now())
    [result] = await publishing.publish_due(runtime)
    assert result.status == "failed"
    post = read_row(db_url, "posts", post_id)
    assert post["status"] == "failed"
    assert "invalid_post" in post["failure_reason"] or "refused" in post["failure_reason"]
    assert post["unipile_post_id"] is None
    assert post["published_at"] is None
    assert sim.posts(world.login) == []
    sim.faults.clear()
    clock.advance(hours=1)
    assert await publishing.publish_due(runtime) == []  # failed is final
    assert sim.posts(world.login) == []


async def test_a_transient_error_waits_with_a_note_then_publishes(
    world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    sim.faults.add(FaultRule("error", route="POST /posts", status=503, times=1))
    post_id = await world.post(status="scheduled", scheduled_for=clock.now())
    [first] = await publishing.publish_due(runtime)
    assert first.status == "waiting"
    waiting = read_row(db_url, "posts", post_id)
    assert waiting["status"] == "scheduled"
    assert waiting["publish_note"]
    assert await publishing.publish_due(runtime) == []  # leased until the retry time

    clock.advance(minutes=10)
    [second] = await publishing.publish_due(runtime)
    assert second.status == "published"
    assert len(sim.posts(world.login)) == 1
    assert read_row(db_url, "posts", post_id)["publish_note"] is None


async def test_a_timeout_after_linkedin_posted_is_reconciled_not_posted_twice(
    world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    sim.faults.add(FaultRule("timeout", route="POST /posts", after=True, times=1))
    post_id = await world.post(status="scheduled", scheduled_for=clock.now(), content="Exactly once")
    [first] = await publishing.publish_due(runtime)
    assert first.status == "waiting"
    assert len(sim.posts(world.login)) == 1  # it did happen
    assert read_row(db_url, "posts", post_id)["status"] == "scheduled"  # but we do not know it yet

    clock.advance(minutes=10)
    [second] = await publishing.publish_due(runtime)
    assert second.status == "published"
    [on_linkedin] = sim.posts(world.login)
    post = read_row(db_url, "posts", post_id)
    assert post["unipile_post_id"] == on_linkedin.id
    assert post["social_id"] == on_linkedin.social_id
    assert [c.method for c in sim.calls("POST", "/posts")].count("POST") == 1


async def test_publish_now_needs_a_running_campaign(
    api: httpx.AsyncClient, world: World, sim: Simulator, runtime: Runtime, db_url: str
) -> None:
    post_id = await world.post()
    url = f"/v1/posts/{post_id}"
    await api.post(f"/v1/campaigns/{world.campaign_id}/pause", headers=world.tenant.headers)
    refused = await api.post(f"{url}/publish-now", headers=world.tenant.headers)
    assert refused.status_code == 409
    assert "paused" in refused.json()["detail"]

    await api.post(f"/v1/campaigns/{world.campaign_id}/activate", headers=world.tenant.headers)
    accepted = await api.post(f"{url}/publish-now", headers=world.tenant.headers)
    assert accepted.status_code == 202
    assert accepted.json()["status"] == "scheduled"
    with superuser_conn(db_url) as conn:
        job = conn.execute(
            "select task_name, args from procrastinate.procrastinate_jobs where queueing_lock = %s",
            (f"posts.publish:{post_id}",),
        ).fetchone()
    assert job is not None
    assert job["args"] == {"post_id": str(post_id)}
    # The job's body; the dispatcher would find the post too.
    result = await publishing.publish_post(runtime, post_id)
    assert result.status == "published"
    edit = await api.patch(url, json={"content": "changed"}, headers=world.tenant.headers)
    assert edit.status_code == 409


async def test_a_paused_campaigns_posts_wait(
    api: httpx.AsyncClient, world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    post_id = await world.post(status="scheduled", scheduled_for=clock.now())
    await api.post(f"/v1/campaigns/{world.campaign_id}/pause", headers=world.tenant.headers)
    assert await publishing.publish_due(runtime) == []
    assert sim.posts(world.login) == []
    await api.post(f"/v1/campaigns/{world.campaign_id}/activate", headers=world.tenant.headers)
    [result] = await publishing.publish_due(runtime)
    assert result.status == "published"
    assert read_row(db_url, "posts", post_id)["status"] == "published"


async def test_other_tenants_cannot_post_with_my_account_or_campaign(
    owner: Conn, api: httpx.AsyncClient, world: World, runtime: Runtime, db_url: str
) -> None:
    other = await make_tenant(owner, runtime)
    magnet = await make_lead_magnet(owner, client_id=other.client_id)
    own_campaign = (
        await make_campaign(owner, client_id=other.client_id, status="active", lead_magnet_id=magnet["id"])
    )["id"]
    borrowed = await api.post(
        "/v1/posts",
        json={
            "campaign_id": str(own_campaign),
            "linkedin_account_id": str(world.account_id),
            "content": "hi",
        },
        headers=other.headers,
    )
    assert borrowed.status_code == 422
    assert "linkedin_account_id" in borrowed.json()["detail"]
    foreign = await api.post(
        "/v1/posts",
        json={
            "campaign_id": str(world.campaign_id),
            "linkedin_account_id": str(world.account_id),
            "content": "hi",
        },
        headers=other.headers,
    )
    assert foreign.status_code == 404
