"""The pod engine's rules one at a time: quiet and working hours in planning, the automatic pause of members
who do not take part, 429s and 5xx on comments, and two executors over the same due activities."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID

from revos.clock import ManualClock
from revos.pods import execution, planning
from revos.pods.schemas import PodSettings
from revos.runtime import Runtime
from revos.sim import FaultRule
from tests.pods.conftest import PodWorld
from tests.pods.test_engine import _activities, _publish, _run_until
from tests.support import read_rows

# The clock starts on Monday 2026-01-05 at 09:00 UTC: 18:00 in Tokyo.
TOKYO_HOURS = '{"working_hours_enabled": true, "working_hours_start": 9, "working_hours_end": 17}'


async def test_quiet_and_working_hours_move_activities_or_skip_them_never_late(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    # Quiet until 09:36 local: likes (window to 09:30) cannot fit, comments (to 12:00) move after it.
    settings = {"engage_share": 1.0, "comment_share": 1.0, "quiet_hours": {"start": 6, "end": 9.6}}
    await world.make_pod(4, min_members=4, settings=settings)
    author, tokyo = world.people[0], world.people[3]
    await world.owner.execute(
        "update linkedin_accounts set timezone = 'Asia/Tokyo', safety = safety || %s::jsonb where id = %s",
        (TOKYO_HOURS, tokyo.account_id),
    )
    published = clock.now()
    quiet_ends = published.replace(minute=36)
    sim_post, post_id = await _publish(world, runtime, author)
    rows = _activities(db_url, post_id)
    by = {(r["member_id"], r["engagement_type"]): r for r in rows}
    assert len(rows) == 6
    for member in world.people[1:3]:
        like, comment = by[(member.member_id, "like")], by[(member.member_id, "comment")]
        assert (like["status"], like["scheduled_for"]) == ("skipped", None)
        assert like["error_message"] == "inside the pod's quiet hours: nothing fits before the window closes"
        assert comment["status"] == "pending"
        assert quiet_ends < comment["scheduled_for"] < comment["window_ends_at"]
    for kind in ("like", "comment"):  # Tokyo's working day (9–17 local) is over until after both windows
        row = by[(tokyo.member_id, kind)]
        assert (row["status"], row["scheduled_for"]) == ("skipped", None)
        assert row["error_message"].startswith("outside the account's working hours (Asia/Tokyo)")
        assert not row["missed"]  # decided by revOS up front: not held against the member

    await _run_until(runtime, clock, published + timedelta(minutes=181), step=300)
    rows = _activities(db_url, post_id)
    assert Counter(r["status"] for r in rows) == {"skipped": 4, "completed": 2}
    done = world.sim.engagements(sim_post, through_api=True)
    assert sorted(e.kind for e in done) == ["comment", "comment"]
    assert all(quiet_ends < e.at < published + timedelta(minutes=180) for e in done), done


async def test_a_member_who_misses_engagements_is_paused_with_the_reason(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    settings = {
        "engage_share": 1.0,
        "comment_share": 1.0,
        "participation_min_activities": 2,
        "participation_pause_below": 0.5,
    }
    await world.make_pod(4, min_members=3, settings=settings)
    author, idle, *busy = world.people
    published = clock.now()
    _, post_id = await _publish(world, runtime, author)
    # After scheduling, the idle member's account is paused by a person: its engagements are missed.
    await world.owner.execute(
        "update linkedin_accounts set paused_at = now(), pause_source = 'manual', pause_reason = 'on holiday'"
        " where id = %s",
        (idle.account_id,),
    )
    await _run_until(runtime, clock, published + timedelta(minutes=181), step=300)
    mine = [r for r in _activities(db_url, post_id) if r["member_id"] == idle.member_id]
    assert [r["status"] for r in mine] == ["skipped", "skipped"]
    assert all(r["missed"] and "on holiday" in r["error_message"] for r in mine), mine
    h = world.tenant.headers
    members = {
        m["id"]: m for m in (await world.api.get(f"/v1/pods/{world.pod['id']}/members", headers=h)).json()
    }
    gone = members[str(idle.member_id)]
    assert gone["status"] == "paused"
    assert gone["participation_score"] == 0.0
    assert gone["missed_engagements"] == 2
    assert gone["status_reason"] == "participation 0.00 below 0.50 over the last 30 days (2 engagements due)"
    for person in busy:
        kept = members[str(person.member_id)]
        assert (kept["status"], kept["participation_score"], kept["total_engagements"]) == ("active", 1.0, 2)
    pod = (await world.api.get(f"/v1/pods/{world.pod['id']}", headers=h)).json()
    assert pod["status"] == "active"  # still three active members


async def test_429s_and_5xx_on_comments_retry_or_wait_and_post_each_comment_once(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    await world.make_pod(4, min_members=4, settings={"engage_share": 1.0, "comment_share": 1.0})
    author, limited, failing, slow = world.people
    route = "POST /posts/*/comments"
    faults = [
        FaultRule("rate_limit", route=route, account_id=limited.unipile_account_id, times=1),
        FaultRule("error", route=route, account_id=failing.unipile_account_id, status=500, times=2),
        FaultRule("timeout", route=route, account_id=slow.unipile_account_id, after=True, times=1),
    ]
    for rule in faults:
        world.sim.faults.add(rule)
    published = clock.now()
    sim_post, post_id = await _publish(world, runtime, author)
    # The comments fall due early in their window, so the 429's hour-long pause ends well inside it.
    await world.owner.execute(
        "update pod_activities set scheduled_for = %s where post_id = %s and engagement_type = 'comment'",
        (published + timedelta(minutes=3), post_id),
    )
    await _run_until(runtime, clock, published + timedelta(minutes=181), step=120)
    assert [rule.hits for rule in faults] == [1, 2, 1]
    comments = {r["member_id"]: r for r in _activities(db_url, post_id) if r["engagement_type"] == "comment"}
    assert {r["status"] for r in comments.values()} == {"completed"}, [
        r["error_message"] for r in comments.values()
    ]
    assert Counter(c.author.provider_id for c in sim_post.comments) == {
        p.provider_id: 1 for p in (limited, failing, slow)
    }
    assert world.sim.engagement_duplicates() == {}
    sent = Counter(c.account_id for c in world.sim.calls("POST", "/posts/") if c.path.endswith("/comments"))
    assert sent == {limited.unipile_account_id: 2, failing.unipile_account_id: 3, slow.unipile_account_id: 1}
    # The 429 paused the account (for an hour, the first strike): its comment waited, inside its window.
    account = read_rows(db_url, "select * from linkedin_accounts where id = %s", limited.account_id)[0]
    assert account["rate_limit_strikes"] == 0  # reset by the comment that went through afterwards
    assert comments[limited.member_id]["executed_at"] >= published + timedelta(hours=1)
    limited_like = next(
        r
        for r in _activities(db_url, post_id)
        if (r["member_id"], r["engagement_type"]) == (limited.member_id, "like")
    )
    if limited_like["status"] == "skipped":  # its like fell due during the pause: never performed late
        assert "account paused" in limited_like["error_message"]
        assert limited_like["missed"]


async def test_two_executors_at_once_perform_every_due_activity_exactly_once(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    settings = {"engage_share": 1.0, "comment_share": 0.5, "min_delay_seconds": 60}
    await world.make_pod(7, min_members=7, settings=settings)
    published = clock.now()
    sim_post, post_id = await _publish(world, runtime, world.people[0])
    due = [r["id"] for r in _activities(db_url, post_id)]
    clock.advance(minutes=29)  # most likes and some comments are due at once
    # Two executors' ticks, and a third worker performing every activity directly (as an executor whose
    # lease ran out would), all at the same time over the same rows.
    await asyncio.gather(
        execution.run_due(runtime, limit=4),
        execution.run_due(runtime, limit=4),
        *(execution.perform(runtime, activity_id) for activity_id in due),
    )
    end = published + timedelta(minutes=181)
    while clock.now() < end:
        clock.advance(300)
        await asyncio.gather(execution.run_due(runtime, limit=4), execution.run_due(runtime, limit=4))
    rows = _activities(db_url, post_id)
    assert {r["status"] for r in rows} == {"completed"}, Counter(
        (r["status"], r["error_message"]) for r in rows
    )
    done = Counter(
        ({"like": "reaction"}.get(r["engagement_type"], "comment"), world.person(r["member_id"]).provider_id)
        for r in rows
    )
    seen = Counter((e.kind, e.actor_id) for e in world.sim.engagements(sim_post, through_api=True))
    assert seen == done
    assert world.sim.engagement_duplicates() == {}
    members = read_rows(db_url, "select * from pod_members where pod_id = %s", UUID(world.pod["id"]))
    assert sum(m["total_engagements"] for m in members) == len(rows)  # each counted once


def test_an_account_whose_429_pause_ends_inside_the_window_is_planned_after_it() -> None:
    rng = random.Random(5)
    settings = PodSettings(engage_share=1.0, comment_share=1.0, min_delay_seconds=60)
    published = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    windows = planning.Windows.of(published, published, settings, 30, 180)
    hours = planning.Window(False, 0, 24, frozenset())
    ends_soon = published + timedelta(minutes=40)  # past the like window, inside the comment window

    def member(n: int, resumes_at: datetime | None) -> planning.Candidate:
        return planning.Candidate(
            UUID(int=n), UUID(int=100 + n), "UTC", hours, None, 0, 0, resumes_at=resumes_at
        )

    for _ in range(20):
        planned = planning.plan(
            [member(1, ends_soon), member(2, published - timedelta(minutes=5))], windows, settings, rng
        )
        by = {(p.member_id.int, p.kind): p for p in planned}
        assert by[(1, "like")].scheduled_for is None
        assert by[(1, "like")].skip_reason == "the account's pause (rate limit) outlasts the window"
        assert ends_soon <= by[(1, "comment")].scheduled_for < windows.comment_ends  # type: ignore[operator]
        assert by[(2, "like")].scheduled_for is not None  # a pause already over holds nothing back


async def test_an_activity_revos_never_reached_in_time_is_skipped_but_not_held_against_the_member(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    await world.make_pod(4, min_members=3, settings={"engage_share": 1.0, "comment_share": 1.0})
    published = clock.now()
    sim_post, post_id = await _publish(world, runtime, world.people[0])
    clock.advance(timedelta(minutes=181).total_seconds())  # no executor ran while the windows were open
    await execution.run_due(runtime)
    rows = _activities(db_url, post_id)
    assert {(r["status"], r["missed"]) for r in rows} == {("skipped", False)}
    assert all(r["error_message"] == "the window closed first" for r in rows)
    assert world.sim.engagements(sim_post, through_api=True) == []  # nothing performed late
    members = (
        await world.api.get(f"/v1/pods/{world.pod['id']}/members", headers=world.tenant.headers)
    ).json()
    assert {(m["status"], m["missed_engagements"]) for m in members} == {("active", 0)}
    assert published < clock.now()
