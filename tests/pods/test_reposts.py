"""Reposts: performed through the ledger exactly once per member and post, also when LinkedIn answers 429,
5xx or times out after the repost took effect; counted against their own daily cap; listed and verified
in manual pods."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from uuid import UUID

from revos.clock import ManualClock
from revos.pods import execution, manual
from revos.runtime import Runtime
from revos.sim import FaultRule
from tests.pods.conftest import PodWorld
from tests.pods.test_engine import TEXT, _activities, _publish, _run_until
from tests.support import read_rows

REPOSTING = {"engage_share": 1.0, "comment_share": 0.0, "reposts": True, "repost_share": 1.0}


async def test_reposts_happen_once_each_under_429_5xx_and_timeouts_after_the_fact(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    await world.make_pod(4, min_members=4, settings=REPOSTING | {"repost_window_minutes": 120})
    author, limited, failing, slow = world.people
    faults = [
        FaultRule("rate_limit", route="POST /posts", account_id=limited.unipile_account_id, times=1),
        FaultRule("error", route="POST /posts", account_id=failing.unipile_account_id, status=503, times=2),
        FaultRule("timeout", route="POST /posts", account_id=slow.unipile_account_id, after=True, times=2),
        FaultRule("error", route="GET /users/*/posts", status=500, times=1),  # a reconciliation read fails
    ]
    for rule in faults:
        world.sim.faults.add(rule)
    published = clock.now()
    sim_post, post_id = await _publish(world, runtime, author)
    reposts = [r for r in _activities(db_url, post_id) if r["engagement_type"] == "repost"]
    assert len(reposts) == 3
    for r in reposts:  # inside their own window, after the minimum delay
        assert r["window_ends_at"] == published + timedelta(minutes=120)
        assert published + timedelta(seconds=90) <= r["scheduled_for"] < r["window_ends_at"]

    # Due early in their window, so the 429's hour-long pause ends well inside it.
    await world.owner.execute(
        "update pod_activities set scheduled_for = %s where post_id = %s and engagement_type = 'repost'",
        (published + timedelta(minutes=3), post_id),
    )
    await _run_until(runtime, clock, published + timedelta(minutes=121), step=90)
    assert [rule.hits for rule in faults[:3]] == [1, 2, 1], [rule.hits for rule in faults]
    rows = {r["member_id"]: r for r in _activities(db_url, post_id) if r["engagement_type"] == "repost"}
    assert {r["status"] for r in rows.values()} == {"completed"}, [r["error_message"] for r in rows.values()]
    shared = world.sim.engagements(sim_post, kind="repost", through_api=True)
    assert Counter(e.actor_id for e in shared) == {p.provider_id: 1 for p in (limited, failing, slow)}
    assert world.sim.engagement_duplicates() == {}
    assert sim_post.repost_counter == 3
    # The repost that timed out after taking effect was found in the member's feed, not sent again.
    sent = Counter(c.account_id for c in world.sim.calls("POST", "/posts") if c.path == "/posts")
    assert sent[slow.unipile_account_id] == 1
    assert sent[limited.unipile_account_id] == 2  # the 429, then the repost after the pause
    # Each account spent one unit of its daily repost budget (refused attempts gave theirs back).
    usage = read_rows(
        db_url,
        "select linkedin_account_id, used from account_daily_usage where kind = 'repost'"
        " and linkedin_account_id = any(%s)",
        [p.account_id for p in world.people],
    )
    assert sorted(u["used"] for u in usage) == [1, 1, 1]
    for member_id, row in rows.items():
        action = read_rows(db_url, "select * from linkedin_actions where id = %s", row["linkedin_action_id"])[
            0
        ]
        assert (action["kind"], action["status"]) == ("repost", "done"), action
        assert row["executed_at"] < row["window_ends_at"], member_id


async def test_the_daily_repost_cap_skips_reposts_with_the_reason_and_is_never_exceeded(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    await world.make_pod(3, min_members=3, settings=REPOSTING)
    for person in world.people:
        await world.owner.execute(
            "update linkedin_accounts set safety = safety || '{\"cap_repost\": 1}' where id = %s",
            (person.account_id,),
        )
    await _publish(world, runtime, world.people[0])
    await _publish(world, runtime, world.people[1])
    await _run_until(runtime, clock, clock.now() + timedelta(minutes=31), step=60)
    # Each member reposted one post that day; the other repost waited for a budget that never came back
    # inside its window, and was skipped saying so.
    per_actor = Counter(e.actor_id for e in world.sim.engagements(kind="repost", through_api=True))
    assert list(per_actor.values()) == [1, 1, 1], per_actor
    rows = read_rows(
        db_url,
        "select * from pod_activities where pod_id = %s and engagement_type = 'repost'",
        UUID(world.pod["id"]),
    )
    skipped = [r for r in rows if r["status"] == "skipped"]
    assert len([r for r in rows if r["status"] == "completed"]) == 3
    assert skipped
    assert all("daily repost cap reached (1)" in r["error_message"] for r in skipped), skipped
    assert all(r["executed_at"] is None and r["missed"] for r in skipped)
    # A third post the same day: planning already knows the budget is spent for those who used it.
    _, third_id = await _publish(world, runtime, world.people[2])
    planned = [r for r in _activities(db_url, third_id) if r["engagement_type"] == "repost"]
    assert planned
    assert all(r["status"] == "skipped" for r in planned)
    assert all("daily repost cap is spent" in r["error_message"] for r in planned), planned
    assert all(r["scheduled_for"] is None for r in planned)


async def test_manual_pods_list_reposts_and_credit_only_those_seen_in_the_members_feed(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    settings = REPOSTING | {"verify_every_minutes": 5}
    await world.make_pod(3, min_members=3, auto_engage=False, settings=settings)
    author, doer, idler = world.people
    sim_post = world.sim.world.create_post(author.login.member, TEXT, author.unipile_account_id)
    url = f"https://www.linkedin.com/posts/someone_activity-{sim_post.id}-abcd"
    r = await world.api.post(f"/v1/pods/{world.pod['id']}/posts",
                             json={"member_id": str(author.member_id), "post_url": url, "text": TEXT},
                             headers=world.tenant.headers)  # fmt: skip
    assert r.status_code == 201, r.text
    r = await world.api.get(
        f"/v1/pods/{world.pod['id']}/tasks?member={doer.member_id}", headers=world.tenant.headers
    )
    assert sorted(t["engagement_type"] for t in r.json()) == ["like", "repost"]
    # The doer reposts by hand (and another post of theirs follows it); the idler reposts something else.
    world.sim.repost(doer.login, sim_post)
    world.sim.world.create_post(doer.login.member, "Unrelated news from our team.", doer.unipile_account_id)
    other = world.sim.world.create_post(author.login.member, "Another post.", author.unipile_account_id)
    world.sim.repost(idler.login, other)
    clock.advance(minutes=10)
    assert await manual.verify_due(runtime) == 1
    clock.advance(minutes=40)
    await manual.verify_due(runtime)
    rows = {
        (r["member_id"], r["engagement_type"]): r
        for r in read_rows(db_url, "select * from pod_activities where pod_id = %s", UUID(world.pod["id"]))
    }
    assert rows[(doer.member_id, "repost")]["status"] == "completed"
    assert rows[(doer.member_id, "repost")]["verified"]
    assert rows[(idler.member_id, "repost")]["status"] == "skipped"
    assert rows[(idler.member_id, "repost")]["missed"]
    assert world.sim.engagements(through_api=True) == []
    await execution.run_due(runtime)  # the executor never performs a manual pod's repost
    assert world.sim.engagements(through_api=True) == []
