"""A pod's week, end to end on the real database and the simulator: 12 members, 30 posts published over
seven simulated days through the event wiring (PostPublished), every activity performed by the pod executor
through the action ledger — then checked against the simulator's own record of who engaged where and when.

Time is a ManualClock the test moves from one due moment to the next (the next post, or the earliest
pending activity), running the executor at each: nothing waits on the machine's speed, and the loop is
bounded by the work left, not by a wall-clock deadline.

Members like, comment and repost. The same week is run again while LinkedIn answers 429s, 5xx and
timeouts after the engagement (a reaction, a comment or a repost) took effect;
a manual pod's week checks that only what members really did on the post is credited."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID

import httpx
import pytest

from revos import events
from revos.clock import ManualClock
from revos.pods import execution, manual
from revos.runtime import Runtime
from revos.sim import Engagement, FaultRule, Post, Simulator
from tests.pods.conftest import Person, PodWorld
from tests.support import Conn, make_post, make_tenant, read_rows

MEMBERS = 12
POSTS = 30
WEEK = timedelta(days=7)
LIKE_WINDOW = timedelta(minutes=30)
COMMENT_WINDOW = timedelta(minutes=180)
MIN_DELAY = 90  # seconds
CAPS = {
    "reaction": 4,
    "comment": 3,
    "repost": 2,
}  # each account's daily caps (safety), binding on the busy day
GAPS_CV_BOUND = 0.3  # one account's gaps between actions: coefficient of variation above this
SETTINGS = {
    "engage_share": 0.6,
    "comment_share": 0.35,
    "min_delay_seconds": MIN_DELAY,
    "reposts": True,
    "repost_share": 0.15,  # inside the like window (no repost_window_minutes)
}
TEXTS = (
    "We stopped sending proposals on Fridays. Replies went up, not because of the day, but because we "
    "had to call first.",
    "Three things our onboarding call now skips: the logo tour, the roadmap, and the pricing recap.",
    "The best-performing post we wrote this quarter was a list of mistakes, with the numbers attached.",
    "Our sales team reads every lost-deal note on Monday before looking at the open pipeline.",
    "Most webinars fail in the invitation, not the slides: say who it is not for.",
)


@dataclass
class Week:
    world: PodWorld
    posts: dict[UUID, Post] = field(default_factory=dict)  # revOS post id -> the simulator's post
    published: dict[UUID, datetime] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0

    @property
    def sim(self) -> Simulator:
        return self.world.sim

    def engaged(self) -> list[Engagement]:
        """What the pod's accounts did through the API, by the simulator's record."""
        ours = {p.provider_id for p in self.world.people}
        return [e for e in self.sim.engagements(through_api=True) if e.actor_id in ours]


async def _world(
    owner: Conn, api: httpx.AsyncClient, sim: Simulator, runtime: Runtime, **fields: Any
) -> PodWorld:
    world = PodWorld(owner, api, await make_tenant(owner, runtime), sim)
    original = world.add_person

    async def add_person(**safety: Any) -> Person:
        caps = {f"cap_{kind}": n for kind, n in CAPS.items()}
        return await original(**(caps | {"gap_min_seconds": 20, "gap_max_seconds": 240} | safety))

    world.add_person = add_person  # type: ignore[method-assign]
    await world.make_pod(MEMBERS, engagement_window_minutes=30, comment_window_minutes=180, **fields)
    return world


def _timetable(start: datetime, rng: random.Random) -> list[tuple[datetime, int]]:
    """30 posts over the week at random moments (authors drawn at random), a third of them on day 2."""
    moments = [start + timedelta(days=1, seconds=rng.uniform(0, 86400)) for _ in range(POSTS // 3)]
    while len(moments) < POSTS:
        moments.append(start + timedelta(seconds=rng.uniform(0, WEEK.total_seconds() - 4 * 3600)))
    return [(at, rng.randrange(MEMBERS)) for at in sorted(moments)]


async def _publish(week: Week, runtime: Runtime, author: Person, n: int) -> UUID:
    world = week.world
    text = TEXTS[n % len(TEXTS)]
    sim_post = world.sim.world.create_post(author.login.member, text, author.unipile_account_id)
    row = await make_post(
        world.owner,
        client_id=world.tenant.client_id,
        linkedin_account_id=author.account_id,
        content=text,
        status="published",
        unipile_post_id=sim_post.id,
        social_id=sim_post.social_id,
        published_at=sim_post.created_at,
    )
    async with runtime.db.service() as conn:
        await events.publish(
            runtime, conn, events.PostPublished(world.tenant.client_id, row["id"], None, author.account_id)
        )
    week.posts[row["id"]] = sim_post
    week.published[row["id"]] = sim_post.created_at
    post_id: UUID = row["id"]
    return post_id


def _next_pending(db_url: str, pod_id: str) -> datetime | None:
    row = read_rows(
        db_url,
        "select min(scheduled_for) as at from pod_activities where pod_id = %s and status = 'pending'",
        UUID(pod_id),
    )[0]
    at: datetime | None = row["at"]
    return at


async def _run_week(week: Week, runtime: Runtime, clock: ManualClock, db_url: str, seed: int) -> None:
    """Publish the timetable's posts at their moments and run the executor at every due moment until the
    last post's activities are all settled."""
    pod_id = week.world.pod["id"]
    timetable = _timetable(clock.now(), random.Random(seed))
    n = 0
    # Bounded by the work: each step publishes a post or moves to a pending activity's moment, which the
    # executor settles or moves later inside its window (never past it).
    for _ in range(50_000):
        due = _next_pending(db_url, pod_id)
        upcoming = timetable[n][0] if n < len(timetable) else None
        if due is None and upcoming is None:
            break
        target = min(t for t in (due, upcoming) if t is not None)
        clock.set(max(target, clock.now() + timedelta(seconds=1)))
        while n < len(timetable) and timetable[n][0] <= clock.now():
            await _publish(week, runtime, week.world.people[timetable[n][1]], n)
            n += 1
        await execution.run_due(runtime)
        week.steps += 1
    else:
        raise AssertionError("the week did not settle")
    week.rows = read_rows(db_url, "select * from pod_activities where pod_id = %s", UUID(pod_id))


def _check_week(week: Week) -> dict[str, Any]:
    """Everything the issue asks of a week; returns figures for the failure messages."""
    rows, world = week.rows, week.world
    member = {str(p.member_id): p for p in world.people}
    kinds = {"like": "reaction", "comment": "comment", "repost": "repost"}
    by_post = {sp.social_id: pid for pid, sp in week.posts.items()}
    completed = Counter(
        (kinds[r["engagement_type"]], week.posts[r["post_id"]].id, member[str(r["member_id"])].provider_id)
        for r in rows
        if r["status"] == "completed"
    )
    engaged = week.engaged()
    seen = Counter((e.kind, e.post_id, e.actor_id) for e in engaged)
    figures = {
        "activities": len(rows),
        "by status": dict(Counter(r["status"] for r in rows)),
        "completed": sum(completed.values()),
        "seen": sum(seen.values()),
        "steps": week.steps,
    }
    assert len(week.posts) == POSTS, figures
    assert {r["status"] for r in rows} <= {"completed", "skipped", "failed"}, figures
    # Every completed activity is in LinkedIn's record exactly once, and LinkedIn saw nothing else.
    assert completed == seen, figures
    assert set(completed.values()) == {1}, figures
    assert world.sim.engagement_duplicates() == {}, figures
    assert figures["completed"] > POSTS * 3, figures  # the pod did engage, a lot
    assert sum(1 for kind, _, _ in completed if kind == "repost") >= POSTS // 3, figures  # and reposted
    # Inside the windows, never the author, never before the minimum delay.
    posts = {sp.id: sp for sp in week.posts.values()}
    for e in engaged:
        post = posts[e.post_id]
        after = e.at - post.created_at
        window = COMMENT_WINDOW if e.kind == "comment" else LIKE_WINDOW
        assert timedelta(seconds=MIN_DELAY) <= after < window, (e, after)
        assert e.actor_id != e.author_id, e
    assert by_post  # every post is a revOS post
    # No account went over its daily cap for a kind (the account's day is UTC).
    per_day = Counter((e.actor_id, e.kind, e.at.date()) for e in engaged)
    assert max(per_day.values()) <= max(CAPS.values()), per_day.most_common(3)
    for (_, kind, _), used in per_day.items():
        assert used <= CAPS[kind], per_day.most_common(3)
    # One account's actions are not periodic.
    cvs = {}
    for actor in {e.actor_id for e in engaged}:
        times = sorted(e.at for e in engaged if e.actor_id == actor)
        gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
        if len(gaps) >= 4:
            cvs[actor] = statistics.pstdev(gaps) / statistics.mean(gaps)
    assert len(cvs) >= MEMBERS - 2, cvs
    assert min(cvs.values()) > GAPS_CV_BOUND, cvs
    # Who engages varies from post to post.
    subsets = [
        frozenset(r["member_id"] for r in rows if r["post_id"] == pid and r["engagement_type"] == "like")
        for pid in week.posts
    ]
    assert len(set(subsets)) >= POSTS * 0.9, Counter(subsets).most_common(2)
    figures["gaps_cv_min"] = round(min(cvs.values()), 2)
    return figures


@pytest.mark.timeout(300)
async def test_a_week_of_a_twelve_member_pod_engages_exactly_once_inside_its_windows(
    owner: Conn,
    api: httpx.AsyncClient,
    linkedin: Simulator,
    runtime: Runtime,
    clock: ManualClock,
    db_url: str,
) -> None:
    world = await _world(owner, api, linkedin, runtime, settings=SETTINGS)
    week = Week(world)
    await _run_week(week, runtime, clock, db_url, seed=12)
    figures = _check_week(week)
    # The busy day made the caps bite: some activities were skipped for them, none was performed late.
    skipped = [r["error_message"] or "" for r in week.rows if r["status"] == "skipped"]
    assert any("cap" in reason for reason in skipped), (figures, Counter(skipped).most_common(5))
    members = read_rows(db_url, "select * from pod_members where pod_id = %s", UUID(world.pod["id"]))
    assert sum(m["total_engagements"] for m in members) == figures["completed"]


@pytest.mark.timeout(300)
async def test_the_same_week_under_429s_5xx_and_post_action_timeouts_duplicates_nothing(
    owner: Conn,
    api: httpx.AsyncClient,
    linkedin: Simulator,
    runtime: Runtime,
    clock: ManualClock,
    db_url: str,
) -> None:
    world = await _world(owner, api, linkedin, runtime, settings=SETTINGS)
    rules = [
        FaultRule("rate_limit", route="POST /posts/reaction", times=2),
        FaultRule("rate_limit", route="POST /posts/*/comments", times=1),
        FaultRule("error", route="POST /posts/*", status=500, probability=0.08),
        FaultRule("error", route="POST /posts/*", status=503, probability=0.05),
        FaultRule("timeout", route="POST /posts/reaction", after=True, probability=0.12),
        FaultRule("timeout", route="POST /posts/*/comments", after=True, probability=0.12),
        # Counted faults where the calls are few (post reads, reposts): a probability there left a rule
        # unfired in some runs, as the number of calls depends on what timed out before.
        FaultRule("error", route="GET /posts/*", status=503, times=3),
        FaultRule("rate_limit", route="POST /posts", times=1),  # reposts
        FaultRule("error", route="POST /posts", status=500, times=2),
        FaultRule("timeout", route="POST /posts", after=True, times=3),
    ]
    for rule in rules:
        world.sim.faults.add(rule)
    week = Week(world)
    await _run_week(week, runtime, clock, db_url, seed=12)
    figures = _check_week(week)
    fired = {f"{r.kind} {r.route} {'after' if r.after else r.status}": r.hits for r in rules}
    assert all(hits > 0 for hits in fired.values()), (fired, figures)
    # The engagements that timed out after taking effect were found by reconciliation, not sent again.
    assert world.sim.engagement_duplicates() == {}, fired


@pytest.mark.timeout(300)
async def test_a_manual_pod_credits_only_what_members_really_did(
    owner: Conn,
    api: httpx.AsyncClient,
    linkedin: Simulator,
    runtime: Runtime,
    clock: ManualClock,
    db_url: str,
) -> None:
    settings = {
        "engage_share": 1.0,
        "comment_share": 0.5,
        "min_delay_seconds": 60,
        "verify_every_minutes": 10,
    }
    world = PodWorld(owner, api, await make_tenant(owner, runtime), linkedin)
    await world.make_pod(9, auto_engage=False, settings=settings)
    pod_id = world.pod["id"]
    rng = random.Random(9)
    week = Week(world)
    done: set[tuple[str, str, str]] = set()  # (kind, post id, provider id) the members did in time
    for n in range(3):
        author = world.people[n]
        sim_post = week.posts[await _publish(week, runtime, author, n)]
        for person in world.people:
            if person is author:
                continue
            r = await api.get(f"/v1/pods/{pod_id}/tasks", params={"member": str(person.member_id)},
                              headers=world.tenant.headers)  # fmt: skip
            assert r.status_code == 200, r.text
            mine = [t for t in r.json() if sim_post.social_id in t["deep_link"]]
            for task in mine:
                luck = rng.random()
                if luck < 0.5:  # does it, in time
                    if task["engagement_type"] == "like":
                        world.sim.react(person.login, sim_post)
                        done.add(("like", sim_post.id, person.provider_id))
                    else:
                        world.sim.add_comment(sim_post, person.login, task["suggested_comment"] or "Agreed.")
                        done.add(("comment", sim_post.id, person.provider_id))
                elif luck < 0.7 and task["engagement_type"] == "comment":  # likes instead of commenting
                    world.sim.react(person.login, sim_post)
                    if any(t["engagement_type"] == "like" for t in mine):
                        done.add(("like", sim_post.id, person.provider_id))
                # else: does nothing
        # Verification runs until every window of the post has closed.
        for _ in range(30):
            clock.advance(minutes=10)
            await manual.verify_due(runtime)
        # Someone engages after the windows closed: too late to count.
        late = world.people[(n + 1) % 9]
        world.sim.react(late.login, sim_post)
        clock.advance(minutes=10)
        await manual.verify_due(runtime)
    rows = read_rows(db_url, "select * from pod_activities where pod_id = %s", UUID(pod_id))
    member = {str(p.member_id): p for p in world.people}
    credited = {
        (r["engagement_type"], week.posts[r["post_id"]].id, member[str(r["member_id"])].provider_id)
        for r in rows
        if r["status"] == "completed"
    }
    assert {r["status"] for r in rows} <= {"completed", "skipped"}
    assert all(r["verified"] for r in rows if r["status"] == "completed")
    assert credited == done
    assert 0 < len(credited) < len(rows)
    assert world.sim.engagements(through_api=True) == []  # revOS itself did nothing in a manual pod
