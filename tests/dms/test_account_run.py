"""DM work runs per LinkedIn account: one run acts on the account's due sequences in due order, one action
at a time, stops when the account must wait, and is queued at most once per account."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from psycopg.types.json import Jsonb

from revos.accounts import safety
from revos.clock import SystemClock, set_clock
from revos.dms import jobs
from revos.dms import runs as account_runs
from revos.sim import Persona
from tests.dms.conftest import World
from tests.support import read_rows, superuser_conn


def waiting_runs(db_url: str, account_id: UUID) -> list[dict[str, object]]:
    return read_rows(
        db_url,
        "select status, lock, queueing_lock from procrastinate.procrastinate_jobs"
        " where task_name = 'dms.run_account' and args ->> 'linkedin_account_id' = %s and status = 'todo'",
        str(account_id),
    )


def set_gap(world: World, seconds: int) -> None:
    with superuser_conn(world.db_url) as conn:
        conn.execute(
            "update linkedin_accounts set safety = safety || %s where id = %s",
            (Jsonb({"gap_min_seconds": seconds, "gap_max_seconds": seconds}), world.account.id),
        )


def first_degree(world: World) -> None:
    """The commenters are 1st-degree connections as the comments say: step 1 is a DM, no profile check."""
    with superuser_conn(world.db_url) as conn:
        conn.execute(
            "update comments set author_network_distance = 'FIRST_DEGREE' where post_id = %s",
            (world.scene.post_id,),
        )


@pytest.fixture
def wall_clock() -> Iterator[None]:
    """The queue schedules in wall time: these tests need revOS's clock to be the wall clock."""
    previous = set_clock(SystemClock())
    yield
    set_clock(previous)


async def test_one_run_sends_every_due_first_dm_of_the_account_once_in_due_order(world: World) -> None:
    members = [world.member(name, Persona(reply="never")) for name in ("Ann", "Ben", "Cid", "Dee")]
    for member in members:
        assert await world.comment(member)
        world.clock.advance(1)
    first_degree(world)

    ran = await account_runs.run_account(world.runtime, world.account.id)

    assert ran == 4
    for member in members:
        assert len(world.sim.sent_messages(to=member)) == 1
    sent = [m for m in world.sim.sent_messages() if m.recipients]
    assert [m.recipients[0].provider_id for m in sent] == [m.provider_id for m in members]
    # Nothing left to do: a second run sends nothing.
    assert await account_runs.run_account(world.runtime, world.account.id) == 0
    assert len(world.sim.sent_messages()) == 4


async def test_a_run_stops_at_the_accounts_randomised_gap_and_the_next_run_goes_on(world: World) -> None:
    set_gap(world, 90)
    ann, ben = world.member("Ann", Persona(reply="never")), world.member("Ben", Persona(reply="never"))
    await world.comment(ann)
    await world.comment(ben)
    first_degree(world)

    assert await account_runs.run_account(world.runtime, world.account.id) == 1
    assert len(world.sim.sent_messages()) == 1
    world.clock.advance(30)
    assert await account_runs.run_account(world.runtime, world.account.id) == 0  # still within the gap
    world.clock.advance(61)
    assert await account_runs.run_account(world.runtime, world.account.id) == 1
    assert len(world.sim.sent_messages(to=ann)) == 1
    assert len(world.sim.sent_messages(to=ben)) == 1


async def test_a_paused_account_runs_nothing(world: World) -> None:
    ann = world.member("Ann", Persona(reply="never"))
    await world.comment(ann)
    async with world.runtime.db.service() as conn:
        await safety.pause(conn, world.account.id, "holiday")

    assert await account_runs.run_account(world.runtime, world.account.id) == 0
    assert world.sim.sent_messages(to=ann) == []


async def test_due_work_queues_one_run_per_account_however_many_leads_wait(
    world: World, wall_clock: None
) -> None:
    for name in ("Ann", "Ben", "Cid"):
        await world.comment(world.member(name, Persona(reply="never")))
    await account_runs.dispatch_due(world.runtime)
    await account_runs.dispatch_due(world.runtime)

    runs = waiting_runs(world.db_url, world.account.id)
    assert len(runs) == 1
    assert runs[0]["lock"] == f"linkedin_account:{world.account.id}"
    assert runs[0]["queueing_lock"] == jobs.account_queueing_lock(world.account.id)


async def test_resuming_a_paused_account_wakes_its_run(world: World, wall_clock: None) -> None:
    async with world.runtime.db.service() as conn:
        await safety.pause(conn, world.account.id, "holiday")
    with superuser_conn(world.db_url) as conn:
        conn.execute(
            "delete from procrastinate.procrastinate_jobs where task_name = 'dms.run_account'"
            " and args ->> 'linkedin_account_id' = %s",
            (str(world.account.id),),
        )
    async with world.runtime.db.service() as conn:
        assert await safety.resume(world.runtime, conn, world.account.id)

    assert len(waiting_runs(world.db_url, world.account.id)) == 1


async def test_a_commenter_of_unknown_distance_is_checked_and_messaged_in_the_same_run(world: World) -> None:
    ann = world.member("Ann", Persona(reply="never"))
    lead_id = await world.comment(ann)  # the comment does not say how far Ann is: her profile is read first
    assert lead_id is not None

    assert await account_runs.run_account(world.runtime, world.account.id) == 2
    assert len(world.sim.sent_messages(to=ann)) == 1
    kinds = [event["kind"] for event in world.timeline(lead_id)]
    assert kinds.index("profile_checked") < kinds.index("dm_sent")


async def test_a_run_that_has_done_everything_due_queues_one_successor_for_the_next_due_step(
    world: World, wall_clock: None
) -> None:
    ann, ben = world.member("Ann", Persona(reply="never")), world.member("Ben", Persona(reply="never"))
    await world.comment(ann)
    later = await world.comment(ben)
    first_degree(world)
    with superuser_conn(world.db_url) as conn:
        conn.execute(
            "update dm_sequences set next_action_at = now() + interval '30 seconds' where lead_id = %s",
            (later,),
        )
        # The run below is the one the comments queued: it is no longer waiting.
        conn.execute(
            "delete from procrastinate.procrastinate_jobs where task_name = 'dms.run_account'"
            " and status = 'todo' and args ->> 'linkedin_account_id' = %s",
            (str(world.account.id),),
        )

    assert await account_runs.run_account(world.runtime, world.account.id) == 1
    assert world.sim.sent_messages(to=ben) == []
    (run,) = read_rows(
        world.db_url,
        "select extract(epoch from scheduled_at - now()) as wait from procrastinate.procrastinate_jobs"
        " where task_name = 'dms.run_account' and args ->> 'linkedin_account_id' = %s and status = 'todo'",
        str(world.account.id),
    )
    assert 20 < run["wait"] <= 30
