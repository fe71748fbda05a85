"""The executor's lanes: one tick performs several accounts' activities, each account's in one lane, and an
account that cannot act (paused, rate limited mid-lane, out of budget mid-lane) holds back only its own
activities — never sent late, never twice, its budget given back for what was not sent. A worker that dies
after the calls and before recording them leaves nothing to send twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from revos.actions import lanes
from revos.clock import ManualClock
from revos.pods import execution
from revos.runtime import Runtime
from revos.sim import FaultRule
from tests.pods.conftest import Person, PodWorld
from tests.pods.test_engine import _publish, _run_until
from tests.support import read_rows

SETTINGS = {"engage_share": 1.0, "comment_share": 1.0, "min_delay_seconds": 60}


def _pod_rows(db_url: str, pod_id: str) -> list[dict[str, Any]]:
    return read_rows(
        db_url, "select * from pod_activities where pod_id = %s order by scheduled_for", UUID(pod_id)
    )


def _usage(db_url: str, person: Person) -> dict[str, int]:
    rows = read_rows(
        db_url, "select kind, used from account_daily_usage where linkedin_account_id = %s", person.account_id
    )
    return {r["kind"]: r["used"] for r in rows}


def _sent(world: PodWorld, person: Person) -> Counter[str]:
    """What the account asked LinkedIn to do (accepted or not): reactions and comments."""
    calls = [c for c in world.sim.calls("POST", "/posts/") if c.account_id == person.unipile_account_id]
    return Counter("reaction" if c.path == "/posts/reaction" else "comment" for c in calls)


async def _due_in_order(world: PodWorld, due: Any) -> None:
    """Every activity due now, each member's comment before its like (one second apart, post by post)."""
    await world.owner.execute(
        "update pod_activities a set scheduled_for = %s - make_interval(secs => 100 - (p.n * 10"
        " + case when a.engagement_type = 'comment' then 0 else 1 end))"
        " from (select id, row_number() over (order by created_at, id) as n from posts"
        "       where id in (select post_id from pod_activities where pod_id = %s)) p"
        " where p.id = a.post_id and a.pod_id = %s",
        (due, UUID(world.pod["id"]), UUID(world.pod["id"])),
    )


async def _pod_of_three_due(world: PodWorld, runtime: Runtime, clock: ManualClock) -> Any:
    """A pod of three, its author's post published and every activity on it due now: the simulator's
    post."""
    await world.make_pod(3, min_members=3, settings=SETTINGS)
    sim_post, _ = await _publish(world, runtime, world.people[0])
    clock.advance(minutes=2)
    await _due_in_order(world, clock.now())
    return sim_post


async def test_one_tick_over_several_accounts_holds_back_only_those_that_cannot_act(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    await world.make_pod(5, min_members=5, settings=SETTINGS)
    author, limited, paused, capped, free = world.people
    published = clock.now()
    posts = [(await _publish(world, runtime, author))[0] for _ in range(2)]
    world.sim.faults.add(
        FaultRule("rate_limit", route="POST /posts/reaction", account_id=limited.unipile_account_id, times=1)
    )
    resumes = published + timedelta(minutes=10)
    await world.owner.execute(
        "update linkedin_accounts set paused_at = %s, paused_until = %s, pause_source = 'rate_limited',"
        " pause_reason = 'LinkedIn rate limit (429)' where id = %s",
        (published, resumes, paused.account_id),
    )
    await world.owner.execute(
        "update linkedin_accounts set safety = safety || '{\"cap_reaction\": 1}'::jsonb where id = %s",
        (capped.account_id,),
    )
    clock.advance(minutes=2)
    await _due_in_order(world, clock.now())

    tick = await execution.run_due(runtime)
    assert tick.claimed == 16
    rows = {
        (r["member_id"], r["post_id"], r["engagement_type"]): r for r in _pod_rows(db_url, world.pod["id"])
    }
    post_ids = sorted(
        {k[1] for k in rows}, key=lambda p: min(r["scheduled_for"] for k, r in rows.items() if k[1] == p)
    )

    def of(person: Person) -> list[dict[str, Any]]:
        return [rows[(person.member_id, p, kind)] for p in post_ids for kind in ("comment", "like")]

    # Free: all four done in the tick. Capped: its one reaction of the day, then the cap.
    assert [r["status"] for r in of(free)] == ["completed"] * 4
    assert [r["status"] for r in of(capped)] == ["completed", "completed", "completed", "skipped"]
    assert "daily reaction cap reached (1)" in of(capped)[3]["error_message"]
    assert _usage(db_url, capped) == {"comment": 2, "reaction": 1}
    # Rate limited on its first like: its first comment went out, nothing after the 429 was sent; the
    # reaction's unit was given back; the second comment waits for the pause to end, inside its window;
    # the likes cannot wait that long (30-minute window): skipped, never sent late.
    mine = of(limited)
    assert [r["status"] for r in mine] == ["completed", "skipped", "pending", "skipped"]
    assert _sent(world, limited) == {"comment": 1, "reaction": 1}
    assert _usage(db_url, limited) == {"comment": 1, "reaction": 0}
    pause = read_rows(db_url, "select * from linkedin_accounts where id = %s", limited.account_id)[0]
    assert pause["pause_source"] == "rate_limited"
    assert pause["paused_until"] <= mine[2]["scheduled_for"] < mine[2]["window_ends_at"]
    # Paused: nothing sent, no budget used; everything moved to after the pause, inside its windows.
    assert _sent(world, paused) == {}
    assert _usage(db_url, paused) == {}
    for r in of(paused):
        assert r["status"] == "pending"
        assert resumes <= r["scheduled_for"] < r["window_ends_at"]
        assert r["linkedin_action_id"] is None  # deferred before its action was recorded: nothing to settle
    assert not read_rows(
        db_url, "select id from linkedin_actions where linkedin_account_id = %s", paused.account_id
    )
    # Each action the tick performed was written twice: recorded already started, then confirmed.
    writes = read_rows(
        db_url,
        "select e.operation, count(*) as n from linkedin_actions la"
        " join (select row_id, operation, table_name from audit_log"
        "       union all select row_id, operation, table_name from audit_pending) e"
        "   on e.table_name = 'linkedin_actions' and e.row_id = la.id::text"
        " where la.linkedin_account_id = %s group by 1",
        free.account_id,
    )
    assert {w["operation"]: w["n"] for w in writes} == {"INSERT": 4, "UPDATE": 4}
    # And each of its activities once, when the tick settled it (linked to its action then): the action
    # in flight under the activity's ledger key stood for a lease while the call was made.
    # (Its comments' texts were written before, when they were drafted.)
    writes = read_rows(
        db_url,
        "select e.changed_columns from pod_activities pa"
        " join (select row_id, table_name, actor, changed_columns from audit_log"
        "       union all select row_id, table_name, actor, changed_columns from audit_pending) e"
        "   on e.table_name = 'pod_activities' and e.row_id = pa.id::text and e.actor = 'pods'"
        " where pa.member_id = %s and e.changed_columns <> '{comment_text}'",
        free.member_id,
    )
    assert len(writes) == 4
    assert all({"status", "linkedin_action_id"} <= set(w["changed_columns"]) for w in writes)
    assert all(r["linkedin_action_id"] is not None for r in of(free))

    await _run_until(runtime, clock, published + timedelta(minutes=181), step=60)
    final = [r for r in _pod_rows(db_url, world.pod["id"]) if r["member_id"] == paused.member_id]
    assert {r["status"] for r in final} == {"completed"}
    assert world.sim.engagement_duplicates() == {}
    assert _sent(world, paused) == {"comment": 2, "reaction": 2}
    assert _sent(world, limited) == {"comment": 2, "reaction": 1}  # the second comment, after the pause
    for post in posts:
        assert set(post.reactions) == {p.provider_id for p in (paused, free)} | (
            {capped.provider_id} if post is posts[0] else set()
        )


@pytest.mark.parametrize("back", ["inside their windows", "after their windows"])
async def test_a_worker_dying_between_the_calls_and_their_record_sends_nothing_twice(
    world: PodWorld,
    runtime: Runtime,
    clock: ManualClock,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    back: str,
) -> None:
    published = clock.now()
    sim_post = await _pod_of_three_due(world, runtime, clock)

    async def dies(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the worker died before recording what LinkedIn answered")

    monkeypatch.setattr(lanes, "record", dies)
    tick = await execution.run_due(runtime)
    assert tick.outcomes == {"error": 4}
    assert len(world.sim.calls("POST", "/posts/")) == 4  # the calls were made
    started = read_rows(
        db_url, "select status from linkedin_actions where client_id = %s", world.tenant.client_id
    )
    assert [r["status"] for r in started] == ["in_flight"] * 4
    monkeypatch.undo()

    # The activities were never linked to their actions (a round links them when it settles them): the
    # next tick finds each action by the activity's ledger key and reconciles it (found on the post),
    # none sent again; past their windows too, none skipped as missed.
    if back == "inside their windows":
        clock.advance(seconds=runtime.settings.pods_lease_seconds + 1)
    else:
        ends = max(r["window_ends_at"] for r in _pod_rows(db_url, world.pod["id"]))
        clock.advance(seconds=(ends - clock.now()).total_seconds() + 60)
    tick = await execution.run_due(runtime)
    assert (tick.lapsed, tick.outcomes) == (0, {"completed": 4})
    rows = _pod_rows(db_url, world.pod["id"])
    assert {r["status"] for r in rows} == {"completed"}
    assert not any(r["missed"] for r in rows)
    assert all(r["linkedin_action_id"] is not None for r in rows)
    if back == "inside their windows":
        assert all(r["executed_at"] < r["window_ends_at"] for r in rows)
    assert len(world.sim.calls("POST", "/posts/")) == 4
    assert world.sim.engagement_duplicates() == {}
    assert set(sim_post.reactions) == {p.provider_id for p in world.people[1:]}
    assert len(sim_post.comments) == 2
    members = read_rows(db_url, "select total_engagements from pod_members where pod_id = %s",
                        UUID(world.pod["id"]))  # fmt: skip
    assert sorted(m["total_engagements"] for m in members) == [0, 2, 2]
    assert published < clock.now()


async def test_an_account_a_dm_step_holds_is_not_waited_for(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    sim_post = await _pod_of_three_due(world, runtime, clock)
    _, held, free = world.people

    # Another transaction holds the account's row, as a DM step reserving its own unit does.
    async with await psycopg.AsyncConnection.connect(db_url) as other, other.transaction():
        await other.execute(
            "select id from linkedin_accounts where id = %s for no key update", (held.account_id,)
        )
        # Waiting for that lock would hang the tick: a round must finish without it.
        tick = await asyncio.wait_for(execution.run_due(runtime), timeout=120)
    assert tick.claimed == 2
    assert tick.outcomes == {"completed": 2}
    rows = _pod_rows(db_url, world.pod["id"])
    assert {r["status"] for r in rows if r["member_id"] == free.member_id} == {"completed"}
    mine = [r for r in rows if r["member_id"] == held.member_id]
    # Left as they were, due for the next round: not leased, no action recorded, no budget used.
    assert [(r["status"], r["claimed_until"], r["linkedin_action_id"]) for r in mine] == [
        ("pending", None, None)
    ] * 2
    assert _usage(db_url, held) == {}
    assert _sent(world, held) == {}

    tick = await execution.run_due(runtime)
    assert tick.outcomes == {"completed": 2}
    assert {r["status"] for r in _pod_rows(db_url, world.pod["id"])} == {"completed"}
    assert world.sim.engagement_duplicates() == {}
    assert set(sim_post.reactions) == {held.provider_id, free.provider_id}


async def test_a_tick_while_another_round_is_calling_takes_none_of_its_activities(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim_post = await _pod_of_three_due(world, runtime, clock)
    _, one, other = world.people
    call = lanes.call
    meanwhile: list[execution.Tick] = []
    lanes_called = 0

    async def another_tick_first(*args: Any, **kwargs: Any) -> None:
        nonlocal lanes_called
        lanes_called += 1
        if lanes_called == 1:  # a second executor (another worker, or a tick of its own) runs now
            meanwhile.append(await execution.run_due(runtime))
        await call(*args, **kwargs)

    monkeypatch.setattr(lanes, "call", another_tick_first)
    tick = await execution.run_due(runtime)

    # The round's actions were in flight under the activities' ledger keys: the other tick took none of
    # them (no budget reserved, nothing asked of LinkedIn) and the round performed each once.
    assert [(t.claimed, t.outcomes) for t in meanwhile] == [(0, None)]
    assert tick.outcomes == {"completed": 4}
    assert {r["status"] for r in _pod_rows(db_url, world.pod["id"])} == {"completed"}
    for person in (one, other):
        assert _usage(db_url, person) == {"comment": 1, "reaction": 1}
        assert _sent(world, person) == {"comment": 1, "reaction": 1}
    assert world.sim.engagement_duplicates() == {}
    assert set(sim_post.reactions) == {one.provider_id, other.provider_id}
