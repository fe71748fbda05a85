"""A comment with the trigger word becomes exactly one lead with a scheduled first DM."""

from __future__ import annotations

from datetime import UTC, datetime

from revos.leads.lifecycle import entry
from revos.runtime import Runtime
from tests.leads.setup import campaign_and_post, comment_on, make_scene
from tests.support import Conn, read_rows


async def test_a_trigger_comment_creates_a_lead_with_a_scheduled_first_dm(
    owner: Conn, db_url: str, runtime: Runtime
) -> None:
    scene = await make_scene(owner)
    campaign, post = campaign_and_post(db_url, scene)
    comment = await comment_on(owner, scene, "ACoAAA1", "Ada Lovelace")

    async with runtime.db.service() as conn:
        lead_id = await entry.trigger_comment(runtime, conn, comment=comment, post=post, campaign=campaign)

    assert lead_id is not None
    (lead,) = read_rows(db_url, "select * from leads where id = %s", lead_id)
    assert (lead["status"], lead["first_name"], lead["last_name"]) == ("comment_detected", "Ada", "Lovelace")
    (seq,) = read_rows(db_url, "select * from dm_sequences where lead_id = %s", lead_id)
    assert lead["dm_sequence_id"] == seq["id"]
    assert seq["stage"] == "step1"
    assert seq["next_action_at"] is not None
    kinds = [e["kind"] for e in read_rows(db_url, "select kind from lead_events where lead_id = %s", lead_id)]
    assert kinds[0] == "detected"


async def test_a_second_comment_creates_no_second_lead_but_is_on_the_timeline(
    owner: Conn, db_url: str, runtime: Runtime
) -> None:
    scene = await make_scene(owner)
    campaign, post = campaign_and_post(db_url, scene)
    first = await comment_on(owner, scene, "ACoAAA2", text="GUIDE")
    second = await comment_on(owner, scene, "ACoAAA2", text="GUIDE again please")

    async with runtime.db.service() as conn:
        lead_id = await entry.trigger_comment(runtime, conn, comment=first, post=post, campaign=campaign)
    async with runtime.db.service() as conn:
        again = await entry.trigger_comment(runtime, conn, comment=second, post=post, campaign=campaign)

    assert again is None
    assert len(read_rows(db_url, "select id from leads where campaign_id = %s", scene.campaign_id)) == 1
    assert (
        len(read_rows(db_url, "select id from dm_sequences where campaign_id = %s", scene.campaign_id)) == 1
    )
    events = read_rows(db_url, "select kind, reason from lead_events where lead_id = %s", lead_id)
    assert any(e["kind"] == "commented_again" and "no second DM" in e["reason"] for e in events)


async def test_a_comment_after_the_campaign_ended_is_recorded_but_gets_no_dm(
    owner: Conn, db_url: str, runtime: Runtime
) -> None:
    scene = await make_scene(owner, ends_at=datetime(2020, 1, 1, tzinfo=UTC))
    campaign, post = campaign_and_post(db_url, scene)
    comment = await comment_on(owner, scene, "ACoAAA3")

    async with runtime.db.service() as conn:
        lead_id = await entry.trigger_comment(runtime, conn, comment=comment, post=post, campaign=campaign)

    (lead,) = read_rows(db_url, "select status, dm_sequence_id from leads where id = %s", lead_id)
    assert lead == {"status": "failed", "dm_sequence_id": None}
    events = read_rows(db_url, "select kind, reason from lead_events where lead_id = %s", lead_id)
    assert any(e["kind"] == "skipped" and "ended" in e["reason"] for e in events)


async def test_a_page_of_comments_makes_one_lead_per_commenter_and_notes_the_repeat(
    owner: Conn, db_url: str, runtime: Runtime
) -> None:
    scene = await make_scene(owner)
    campaign, post = campaign_and_post(db_url, scene)
    ada = await comment_on(owner, scene, "ACoAAA4", "Ada Lovelace", text="GUIDE")
    grace = await comment_on(owner, scene, "ACoAAA5", "Grace Hopper", text="GUIDE")
    ada_again = await comment_on(owner, scene, "ACoAAA4", "Ada Lovelace", text="GUIDE please")

    async with runtime.db.service() as conn:
        leads = await entry.trigger_comments(
            runtime, conn, comments=[ada, grace, ada_again], post=post, campaign=campaign
        )

    assert None not in leads[:2]
    assert leads[2] is None
    rows = read_rows(
        db_url,
        "select l.id, l.dm_sequence_id, s.lead_id from leads l join dm_sequences s on s.id = l.dm_sequence_id"
        " where l.campaign_id = %s",
        scene.campaign_id,
    )
    assert sorted(r["id"] for r in rows) == sorted([leads[0], leads[1]])
    assert all(r["lead_id"] == r["id"] for r in rows)
    kinds = [
        e["kind"]
        for e in read_rows(
            db_url, "select kind from lead_events where lead_id = %s order by occurred_at", leads[0]
        )
    ]
    assert kinds == ["detected", "waiting", "commented_again"]
