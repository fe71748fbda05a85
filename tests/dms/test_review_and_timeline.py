"""Review of uncertain emails, abandonment, working hours on the timeline, and the leads API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from psycopg.types.json import Jsonb

from revos.clock import utcnow
from revos.dms import links
from revos.leads.lifecycle import base as lifecycle_base
from revos.sim import Persona
from tests.dms.conftest import SETTINGS, World
from tests.support import headers, superuser_conn


def _campaign_settings(world: World, **changes: Any) -> None:
    with superuser_conn(world.db_url) as conn:
        conn.execute(
            "update campaigns set settings = %s where id = %s",
            (Jsonb(SETTINGS | changes), world.scene.campaign_id),
        )


async def test_an_uncertain_email_waits_for_review_and_a_corrected_approval_continues_the_sequence(
    world: World, api: httpx.AsyncClient, tenant: Any
) -> None:
    _campaign_settings(world, email_review_threshold=0.99)
    eve = world.member("Eve", Persona(reply="email", reply_delay=600, email="eve@exmaple.com"))
    lead_id = await world.comment(eve)
    await world.run()
    await world.run(700)
    auth = headers(world.runtime, tenant)

    queue = (await api.get("/v1/leads/review", headers=auth)).json()
    assert [item["id"] for item in queue["items"]] == [str(lead_id)]
    assert queue["items"][0]["email_extracted"] == "eve@exmaple.com"
    assert world.lead(lead_id)["status"] == "dm_replied"

    response = await api.post(
        f"/v1/leads/{lead_id}/review/approve", json={"email": "eve@example.com"}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "eve@example.com"
    again = await api.post(f"/v1/leads/{lead_id}/review/approve", json={}, headers=auth)
    assert again.status_code == 409

    await world.run(61)
    assert len(world.sim.sent_messages(to=eve)) == 2
    assert "eve@example.com" in (world.sim.sent_messages(to=eve)[-1].text or "")
    assert (await api.get("/v1/leads/review", headers=auth)).json()["items"] == []


async def test_a_rejected_review_sends_one_follow_up(
    world: World, api: httpx.AsyncClient, tenant: Any
) -> None:
    _campaign_settings(world, email_review_threshold=0.99)
    fay = world.member("Fay", Persona(reply="email", reply_delay=600))
    lead_id = await world.comment(fay)
    await world.run()
    await world.run(700)
    auth = headers(world.runtime, tenant)
    response = await api.post(f"/v1/leads/{lead_id}/review/reject", json={"reason": "not hers"}, headers=auth)
    assert response.status_code == 200, response.text
    await world.run(61)
    assert len(world.sim.sent_messages(to=fay)) == 2
    assert world.seq(lead_id)["followup_sent_at"] is not None


async def test_no_reply_abandons_the_sequence_after_the_campaigns_days(world: World) -> None:
    gus = world.member("Gus", Persona(reply="never"))
    lead_id = await world.comment(gus)
    await world.run()
    world.clock.advance(days=6)
    await lifecycle_base.abandon_due(world.runtime)  # the shared database may hold other tests' sequences
    assert world.seq(lead_id)["status"] == "in_progress"
    world.clock.advance(days=1, seconds=1)
    assert await lifecycle_base.abandon_due(world.runtime) >= 1

    seq = world.seq(lead_id)
    assert seq["status"] == "abandoned"
    assert world.lead(lead_id)["status"] == "dm_sent"  # the lead stays where it was
    last = world.timeline(lead_id)[-1]
    assert last["kind"] == "abandoned"
    assert "7 days" in last["reason"]


async def test_the_timeline_explains_a_dm_that_waited_for_working_hours(
    world: World, api: httpx.AsyncClient, tenant: Any
) -> None:
    with superuser_conn(world.db_url) as conn:
        conn.execute(
            "update linkedin_accounts set safety = safety || %s where id = %s",
            (
                Jsonb({"working_hours_enabled": True, "working_hours_start": 8, "working_hours_end": 18}),
                world.account.id,
            ),
        )
    world.clock.set(world.clock.now().replace(hour=21))
    hal = world.member("Hal", Persona(reply="never"))
    lead_id = await world.comment(hal)
    await world.run()
    assert world.sim.sent_messages(to=hal) == []

    timeline = (await api.get(f"/v1/leads/{lead_id}/timeline", headers=headers(world.runtime, tenant))).json()
    assert any(e["kind"] == "waiting" and "working hours" in e["reason"] for e in timeline)

    world.clock.set(world.clock.now().replace(hour=8, minute=5) + timedelta(days=1))
    await world.run()
    assert len(world.sim.sent_messages(to=hal)) == 1
    detail = (await api.get(f"/v1/leads/{lead_id}", headers=headers(world.runtime, tenant))).json()
    assert detail["status"] == "dm_sent"
    assert detail["sequence"]["step1_sent_at"] is not None
    assert [m["direction"] for m in detail["messages"]] == ["outbound"]
    listed = (
        await api.get(
            "/v1/leads",
            params={"campaign_id": str(world.scene.campaign_id), "status": "dm_sent"},
            headers=headers(world.runtime, tenant),
        )
    ).json()
    assert [item["id"] for item in listed["items"]] == [str(lead_id)]


async def test_expired_and_forged_links_get_a_clear_page(world: World, api: httpx.AsyncClient) -> None:
    ivy = world.member("Ivy", Persona(reply="never"))
    lead_id = await world.comment(ivy)
    seq_id = world.seq(lead_id)["id"]
    secret = world.runtime.jwt_secret

    expired = links.sign(secret, seq_id, utcnow() - timedelta(seconds=1))
    response = await api.get(f"/d/{expired}")
    assert response.status_code == 410
    assert "expired" in response.text
    assert response.headers["content-type"].startswith("text/html")

    forged = links.sign("not-the-secret", seq_id, utcnow() + timedelta(days=1))
    response = await api.get(f"/d/{forged}")
    assert response.status_code == 404
    assert "not valid" in response.text
    assert (await api.get("/d/garbage")).status_code == 404
    assert world.seq(lead_id)["link_clicked"] is False
