"""A comment with the trigger word becomes exactly one lead with a scheduled first DM."""

from __future__ import annotations

from datetime import UTC, datetime

from revos.leads.lifecycle import entry
from revos.runtime import Runtime
from tests.leads.setup import campaign_and_post, make_comment, make_scene, rows


async def test_a_trigger_comment_creates_a_lead_with_a_scheduled_first_dm(
    db_url: str, runtime: Runtime
) -> None:
    scene = make_scene(db_url)
    campaign, post = campaign_and_post(db_url, scene)
    comment = make_comment(db_url, scene, "ACoAAA1", "Ada Lovelace")

    async with runtime.db.service() as conn:
        lead_id = await entry.trigger_comment(runtime, conn, comment=comment, post=post, campaign=campaign)

    assert lead_id is not None
    (lead,) = rows(db_url, "select * from leads where id = %s", lead_id)
    assert (lead["status"], lead["first_name"], lead["last_name"]) == ("comment_detected", "Ada", "Lovelace")
    (seq,) = rows(db_url, "select * from dm_sequences where lead_id = %s", lead_id)
    assert lead["dm_sequence_id"] == seq["id"]
    assert seq["stage"] == "step1"
    assert seq["next_action_at"] is not None
    kinds = [e["kind"] for e in rows(db_url, "select kind from lead_events where lead_id = %s", lead_id)]
    assert kinds[0] == "detected"


async def test_a_second_comment_creates_no_second_lead_but_is_on_the_timeline(
    db_url: str, runtime: Runtime
) -> None:
    scene = make_scene(db_url)
    campaign, post = campaign_and_post(db_url, scene)
    first = make_comment(db_url, scene, "ACoAAA2", text="GUIDE")
    second = make_comment(db_url, scene, "ACoAAA2", text="GUIDE again please")

    async with runtime.db.service() as conn:
        lead_id = await entry.trigger_comment(runtime, conn, comment=first, post=post, campaign=campaign)
    async with runtime.db.service() as conn:
        again = await entry.trigger_comment(runtime, conn, comment=second, post=post, campaign=campaign)

    assert again is None
    assert len(rows(db_url, "select id from leads where campaign_id = %s", scene.campaign_id)) == 1
    assert len(rows(db_url, "select id from dm_sequences where campaign_id = %s", scene.campaign_id)) == 1
    events = rows(db_url, "select kind, reason from lead_events where lead_id = %s", lead_id)
    assert any(e["kind"] == "commented_again" and "no second DM" in e["reason"] for e in events)


async def test_a_comment_after_the_campaign_ended_is_recorded_but_gets_no_dm(
    db_url: str, runtime: Runtime
) -> None:
    scene = make_scene(db_url, ends_at=datetime(2020, 1, 1, tzinfo=UTC))
    campaign, post = campaign_and_post(db_url, scene)
    comment = make_comment(db_url, scene, "ACoAAA3")

    async with runtime.db.service() as conn:
        lead_id = await entry.trigger_comment(runtime, conn, comment=comment, post=post, campaign=campaign)

    (lead,) = rows(db_url, "select status, dm_sequence_id from leads where id = %s", lead_id)
    assert lead == {"status": "failed", "dm_sequence_id": None}
    events = rows(db_url, "select kind, reason from lead_events where lead_id = %s", lead_id)
    assert any(e["kind"] == "skipped" and "ended" in e["reason"] for e in events)
