"""Scheduling, execution through the ledger, approval and manual mode, against the simulator."""

from __future__ import annotations

import random
import statistics
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos import events
from revos.clock import ManualClock, utcnow
from revos.pods import execution, manual, planning
from revos.pods.schemas import PodSettings
from revos.runtime import Runtime
from revos.sim import FaultRule
from tests.pods.conftest import Person, PodWorld
from tests.support import make_post, read_rows

TEXT = (
    "Hiring your first salesperson is a process problem before it is a people problem.\n"
    "Write the playbook first: the calls you made, the objections you heard, the deals you lost."
)


async def _publish(world: PodWorld, runtime: Runtime, author: Person) -> tuple[Any, UUID]:
    """The author's post, live on the simulated LinkedIn and published in revOS (PostPublished)."""
    sim_post = world.sim.world.create_post(author.login.member, TEXT, author.unipile_account_id)
    row = await make_post(
        world.owner,
        client_id=world.tenant.client_id,
        linkedin_account_id=author.account_id,
        content=TEXT,
        status="published",
        unipile_post_id=sim_post.id,
        social_id=sim_post.social_id,
        published_at=utcnow(),
    )
    event = events.PostPublished(world.tenant.client_id, row["id"], None, author.account_id)
    async with runtime.db.service() as conn:
        await events.publish(runtime, conn, event)
    return sim_post, row["id"]


def _activities(db_url: str, post_id: UUID) -> list[dict[str, Any]]:
    return read_rows(
        db_url, "select * from pod_activities where post_id = %s order by scheduled_for", post_id
    )


async def _run_until(runtime: Runtime, clock: ManualClock, end: datetime, step: float = 30) -> None:
    """Executor ticks until `end`: every `step` seconds, and at each pending activity's moment in between.
    The worker ticks every 15 s; with only coarse steps, an activity planned in the last `step` seconds of
    its window would first be seen once the window had closed, and lapse as missed."""
    while clock.now() < end:
        now = clock.now()
        async with runtime.db.service() as conn:
            row = await (
                await conn.execute(
                    "select min(scheduled_for) as at from pod_activities"
                    " where status = 'pending' and scheduled_for > %s",
                    (now,),
                )
            ).fetchone()
        later = now + timedelta(seconds=step)
        clock.set(min(later, row["at"]) if row and row["at"] else later)
        await execution.run_due(runtime)


async def test_a_published_post_gets_staggered_likes_and_comments_exactly_once(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    settings = {"engage_share": 1.0, "comment_share": 0.5, "min_delay_seconds": 60}
    await world.make_pod(9, settings=settings)
    author = world.people[0]
    published = clock.now()
    sim_post, post_id = await _publish(world, runtime, author)
    rows = _activities(db_url, post_id)
    assert rows
    assert all(r["member_id"] != author.member_id for r in rows)
    assert {r["member_id"] for r in rows if r["engagement_type"] == "like"} == {
        p.member_id for p in world.people[1:]
    }
    seconds = [int(r["scheduled_for"].timestamp()) for r in rows]
    assert len(set(seconds)) == len(seconds)  # no two at the same second
    for r in rows:
        window = timedelta(minutes=30 if r["engagement_type"] == "like" else 180)
        assert published + timedelta(seconds=60) <= r["scheduled_for"] < published + window
        assert r["window_ends_at"] == published + window
    # A replayed event schedules nothing more.
    event = events.PostPublished(world.tenant.client_id, post_id, None, author.account_id)
    async with runtime.db.service() as conn:
        await events.publish(runtime, conn, event)
    assert len(_activities(db_url, post_id)) == len(rows)

    await _run_until(runtime, clock, published + timedelta(minutes=181), step=60)
    rows = _activities(db_url, post_id)
    assert {r["status"] for r in rows} == {"completed"}, [(r["status"], r["error_message"]) for r in rows]
    likers = {p.provider_id for p in world.people if any(
        r["member_id"] == p.member_id and r["engagement_type"] == "like" for r in rows)}  # fmt: skip
    assert set(sim_post.reactions) == likers
    comments = [c for c in sim_post.comments]
    assert len(comments) == sum(r["engagement_type"] == "comment" for r in rows)
    assert len({c.author.provider_id for c in comments}) == len(comments)  # one each
    for r in rows:
        assert r["executed_at"] < r["window_ends_at"]
        assert r["linkedin_action_id"] is not None
    members = read_rows(db_url, "select * from pod_members where pod_id = %s", UUID(world.pod["id"]))
    done = {m["id"]: m["total_engagements"] for m in members}
    for r in rows:
        assert done[r["member_id"]] >= 1


async def test_a_timeout_after_the_reaction_is_reconciled_not_repeated(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    await world.make_pod(3, min_members=3, settings={"engage_share": 1.0, "comment_share": 0.0})
    world.sim.faults.add(FaultRule("timeout", route="POST /posts/reaction", after=True, times=2))
    published = clock.now()
    sim_post, post_id = await _publish(world, runtime, world.people[0])
    await _run_until(runtime, clock, published + timedelta(minutes=31))
    rows = _activities(db_url, post_id)
    assert [r["status"] for r in rows] == ["completed", "completed"]
    assert set(sim_post.reactions) == {p.provider_id for p in world.people[1:]}
    assert len(world.sim.calls("POST", "/posts/reaction")) == 2  # never sent twice


async def test_comments_wait_for_approval_and_lapse_when_nobody_approves(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    settings = {"engage_share": 1.0, "comment_share": 1.0, "comment_approval": True}
    await world.make_pod(4, min_members=4, settings=settings)
    published = clock.now()
    sim_post, post_id = await _publish(world, runtime, world.people[0])
    await execution.run_due(runtime)  # drafts the comments
    comments = [r for r in _activities(db_url, post_id) if r["engagement_type"] == "comment"]
    assert len(comments) == 3
    assert all(r["approval"] == "pending" and r["comment_text"] for r in comments)
    texts = [r["comment_text"] for r in comments]
    assert len(set(texts)) == 3
    base = f"/v1/pods/{world.pod['id']}/activities"
    edited = "The playbook point matters most: write down the objections before you hire anyone."
    r = await world.api.post(
        f"{base}/{comments[0]['id']}/approve", json={"text": edited}, headers=world.tenant.headers
    )
    assert r.status_code == 200, r.text
    r = await world.api.post(f"{base}/{comments[1]['id']}/reject", json={"reason": "not my tone"},
                             headers=world.tenant.headers)  # fmt: skip
    assert r.status_code == 200, r.text
    r = await world.api.post(f"{base}/{comments[1]['id']}/approve", json={}, headers=world.tenant.headers)
    assert r.status_code == 409
    await _run_until(runtime, clock, published + timedelta(minutes=181), step=120)
    by_id = {r["id"]: r for r in _activities(db_url, post_id)}
    assert by_id[comments[0]["id"]]["status"] == "completed"
    assert by_id[comments[1]["id"]]["status"] == "skipped"
    assert by_id[comments[2]["id"]]["status"] == "skipped"
    assert "not approved" in by_id[comments[2]["id"]]["error_message"]
    assert by_id[comments[2]["id"]]["missed"]
    assert [c.text for c in sim_post.comments] == [edited]


async def test_manual_mode_credits_only_what_happened_on_the_post(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    settings = {"engage_share": 1.0, "comment_share": 1.0, "verify_every_minutes": 5}
    await world.make_pod(3, min_members=3, auto_engage=False, settings=settings)
    author, doer, idler = world.people
    sim_post = world.sim.world.create_post(author.login.member, TEXT, author.unipile_account_id)
    share_url = f"https://www.linkedin.com/posts/someone_activity-{sim_post.id}-abcd"
    r = await world.api.post(f"/v1/pods/{world.pod['id']}/posts",
                             json={"member_id": str(author.member_id), "post_url": share_url, "text": TEXT},
                             headers=world.tenant.headers)  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["scheduled"] == 4
    await execution.run_due(runtime)  # suggested comments; nothing performed
    assert not sim_post.reactions
    r = await world.api.get(
        f"/v1/pods/{world.pod['id']}/tasks?member={doer.member_id}", headers=world.tenant.headers
    )
    tasks = r.json()
    assert {t["engagement_type"] for t in tasks} == {"like", "comment"}
    assert all(t["deep_link"] == f"https://www.linkedin.com/feed/update/{sim_post.social_id}/" for t in tasks)
    assert next(t for t in tasks if t["engagement_type"] == "comment")["suggested_comment"]
    # The doer likes and comments by hand; the idler does nothing.
    world.sim.world.react(sim_post, doer.login.member, "like")
    world.sim.world.add_comment(
        sim_post, doer.login.member, "Writing the playbook first saved us a bad hire."
    )
    clock.advance(minutes=10)
    assert await manual.verify_due(runtime) == 2
    clock.advance(minutes=200)
    await manual.verify_due(runtime)
    rows = read_rows(db_url, "select * from pod_activities where pod_id = %s", UUID(world.pod["id"]))
    done = {(r["member_id"], r["engagement_type"]): r for r in rows}
    assert done[(doer.member_id, "like")]["status"] == "completed"
    assert done[(doer.member_id, "like")]["verified"]
    assert done[(doer.member_id, "comment")]["comment_text"].startswith("Writing the playbook")
    assert done[(idler.member_id, "like")]["status"] == "skipped"
    assert done[(idler.member_id, "like")]["missed"]
    members = {
        m["id"]: m
        for m in read_rows(db_url, "select * from pod_members where pod_id = %s", UUID(world.pod["id"]))
    }
    assert members[doer.member_id]["total_engagements"] == 2
    assert float(members[doer.member_id]["participation_score"]) == 1.0
    assert members[idler.member_id]["missed_engagements"] == 2
    assert float(members[idler.member_id]["participation_score"]) == 0.0


def test_offsets_are_not_periodic_and_subsets_vary() -> None:
    rng = random.Random(7)
    offsets = [planning.offset(1800, rng) or 0 for _ in range(2000)]
    assert all(1 <= o < 1800 for o in offsets)
    cv = statistics.stdev(offsets) / statistics.mean(offsets)
    assert cv > 0.5
    settings = PodSettings(engage_share=0.6)
    hours = planning.Window(False, 0, 24, frozenset())
    people = [planning.Candidate(UUID(int=i), UUID(int=100 + i), "UTC", hours, None, 0, 0) for i in range(11)]
    subsets = {frozenset(c.member_id for c in planning.choose(people, settings, rng)) for _ in range(30)}
    assert len(subsets) > 20
