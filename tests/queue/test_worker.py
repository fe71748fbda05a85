"""The worker: locks, statuses, retries, periodic work, stalled jobs, retention."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

from revos.config import Settings
from revos.queue import open_app
from revos.queue.maintenance import purge_finished, recover_stalled, reset_daily_limits
from revos.runtime import Runtime
from tests.queue import tasks
from tests.queue.conftest import StartWorker, defer_committed, job_row, wait_status
from tests.support import connect, make_client, make_linkedin_account, superuser_conn


def _runs(prefix: str) -> list[tuple[str, float, float]]:
    return sorted((r for r in tasks.RUNS if r[0].startswith(prefix)), key=lambda r: r[1])


async def test_jobs_sharing_a_lock_run_one_at_a_time_in_order(
    queue_db_url: str, start_worker: StartWorker
) -> None:
    # All four are queued before the worker starts, in this order. The first locked job holds its lock
    # until both free jobs have started; the free jobs each wait for the other. Without the lock, the
    # second locked job (queued before the free ones) would start while the first still runs; with it,
    # only the free ones run beside it, and they meet.
    tag, account = uuid.uuid4().hex[:8], f"linkedin_account:{uuid.uuid4()}"
    free = f"{tag}-free"
    ids = [
        await defer_committed(
            queue_db_url,
            "qtest.meet",
            {"key": f"{tag}-locked-{n}", "group": f"{tag}-locked", "wait_for": free, "size": 2},
            lock=account,
        )
        for n in range(2)
    ]
    ids += [
        await defer_committed(
            queue_db_url,
            "qtest.meet",
            {"key": f"{free}-{n}", "group": free, "wait_for": free, "size": 2},
            lock=f"other:{tag}:{n}",
        )
        for n in range(2)
    ]
    await start_worker(concurrency=4)
    for job_id in ids:
        await wait_status(queue_db_url, job_id, "completed", within=tasks.MEET_CEILING * 3)

    (k1, _, e1), (k2, s2, _) = _runs(f"{tag}-locked")
    assert (k1, k2) == (f"{tag}-locked-0", f"{tag}-locked-1")
    assert s2 >= e1, "the second job of the account started before the first ended"
    # Different locks do run side by side: the serialisation above is the lock, not a lack of slots.
    (_, f1, g1), (_, f2, g2) = _runs(free)
    assert f2 < g1
    assert f1 < g2


async def test_queue_jobs_shows_each_status(queue_db_url: str, start_worker: StartWorker) -> None:
    worker = await start_worker()
    key = uuid.uuid4().hex
    blocked = await defer_committed(queue_db_url, "qtest.block", {"key": key})
    active = await wait_status(queue_db_url, blocked, "active")
    assert active["started_at"] is not None
    assert active["completed_at"] is None

    tasks.GATES[key].set()
    done = await wait_status(queue_db_url, blocked, "completed")
    assert done["completed_at"] >= done["started_at"] >= done["created_at"]
    assert done["id"] == UUID(hashlib.md5(f"procrastinate_jobs:{blocked}".encode()).hexdigest())
    assert (done["queue_name"], done["queue_status"]) == ("qtest", "succeeded")

    failing = await defer_committed(queue_db_url, "qtest.fail", {"key": key})
    failed = await wait_status(queue_db_url, failing, "failed")
    assert failed["error_message"] == f"ValueError: boom {key}"
    assert (failed["attempts"], failed["max_attempts"]) == (
        1,
        1,
    )  # the task's own policy, published by the worker

    pending = await defer_committed(queue_db_url, "qtest.record", {"key": key}, queue="qtest_idle")
    assert job_row(queue_db_url, pending)["status"] == "pending"
    assert worker.restarts == 0


async def test_a_failed_attempt_is_retried_and_its_error_kept(
    queue_db_url: str, start_worker: StartWorker
) -> None:
    await start_worker()
    key = uuid.uuid4().hex
    job_id = await defer_committed(queue_db_url, "qtest.flaky", {"key": key})
    row = await wait_status(queue_db_url, job_id, "completed")
    assert (row["attempts"], row["max_attempts"]) == (2, 3)
    assert row["error_message"] == f"ConnectionError: first attempt of {key} fails"


async def test_a_queue_connection_the_server_closed_is_replaced_before_use(
    queue_db_url: str, queue_settings: Settings
) -> None:
    """The queue's pool hands out a connection without a round trip, yet never one the server has
    closed: the next query gets a new connection instead of an error."""
    query = "select pg_backend_pid() as pid"
    async with open_app(queue_db_url, settings=queue_settings) as app:
        first = await app.connector.execute_query_one_async(query)
        with superuser_conn(queue_db_url) as conn:
            killed = {first["pid"]} | {
                r["pid"]
                for r in conn.execute(
                    "select pid from pg_stat_activity where datname = current_database()"
                    " and application_name = 'revos-queue' and state = 'idle'"
                ).fetchall()
            }
            conn.execute("select pg_terminate_backend(pid) from unnest(%s::int[]) as pid", (list(killed),))
            # Progress, not a sleep: until the server has closed them (a generous ceiling for a busy box).
            async with asyncio.timeout(60):
                while conn.execute(  # noqa: ASYNC110 - the server's state, no event to wait on
                    "select 1 from pg_stat_activity where pid = any(%s)", (list(killed),)
                ).fetchone():
                    await asyncio.sleep(0.05)
        second = await app.connector.execute_query_one_async(query)
    assert second["pid"] not in killed


async def test_tasks_reach_the_database_through_the_workers_runtime(
    queue_db_url: str, start_worker: StartWorker
) -> None:
    await start_worker()
    key = uuid.uuid4().hex
    await wait_status(
        queue_db_url, await defer_committed(queue_db_url, "qtest.whoami", {"key": key}), "completed"
    )
    assert [r[0] for r in tasks.RUNS if r[0].startswith(key)] == [f"{key}:service_role"]


async def test_periodic_tasks_are_deferred_on_their_cron(start_worker: StartWorker) -> None:
    seen = len(tasks.TICKS)
    await start_worker(periodic=True)
    async with asyncio.timeout(30):  # a tick a second: the ceiling only bounds a worker that never ticks
        while len(tasks.TICKS) <= seen:  # noqa: ASYNC110 - the task appends to a plain list
            await asyncio.sleep(0.05)


async def test_a_tick_takes_the_next_free_slot_before_jobs_queued_earlier(
    queue_db_url: str, start_worker: StartWorker
) -> None:
    """One slot, held by a long job; ordinary jobs queue behind it, then a tick is deferred: when the slot
    frees, the tick runs first (periodic work never starves behind a backlog of long jobs)."""
    gate = uuid.uuid4().hex
    blocker = await defer_committed(queue_db_url, "qtest.block", {"key": gate})
    keys = [uuid.uuid4().hex for _ in range(3)]
    for key in keys:  # queued before the worker starts, so before any tick
        await defer_committed(queue_db_url, "qtest.record", {"key": key})
    await start_worker(periodic=True, concurrency=1)
    await wait_status(queue_db_url, blocker, "active")
    async with asyncio.timeout(30):  # a tick is deferred every second while the slot is held
        while not _tick_waiting(queue_db_url):  # noqa: ASYNC110 - polls the jobs table
            await asyncio.sleep(0.05)
    ticks_before = len(tasks.TICKED_AT)
    tasks.GATES[gate].set()
    async with asyncio.timeout(60):
        while not all(any(r[0] == key for r in tasks.RUNS) for key in keys):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    first_job = min(r[1] for r in tasks.RUNS if r[0] in keys)
    assert len(tasks.TICKED_AT) > ticks_before
    assert tasks.TICKED_AT[ticks_before] < first_job


async def test_a_leads_reply_is_fetched_before_dm_runs_queued_earlier(queue_db_url: str) -> None:
    """Every slot busy with the accounts' DM runs and more of them waiting: the next free slot goes to a
    reply to process (`inbound.process`), not to the DM runs queued before it, so an emailed reply is
    captured and delivered without waiting for every first DM to go out."""
    queue = f"qtest_order_{uuid.uuid4().hex[:8]}"  # no worker listens, no other test's jobs
    runs = [
        await defer_committed(
            queue_db_url, "dms.run_account", {"linkedin_account_id": str(uuid.uuid4())}, queue=queue
        )
        for _ in range(3)
    ]
    reply = await defer_committed(
        queue_db_url, "inbound.process", {"event_id": str(uuid.uuid4())}, queue=queue
    )
    with superuser_conn(queue_db_url) as conn:
        worker = conn.execute("select procrastinate.procrastinate_register_worker_v1() as id").fetchone()
        fetched = [
            conn.execute(
                "select id from procrastinate.procrastinate_fetch_job_v2(array[%s], %s)",
                (queue, worker["id"]),
            ).fetchone()["id"]
            for _ in range(2)
        ]
        conn.execute("delete from procrastinate.procrastinate_jobs where id = any(%s)", ([*runs, reply],))
    assert fetched == [reply, runs[0]]


def _tick_waiting(url: str, task: str = "qtest.tick", status: str = "todo") -> bool:
    with superuser_conn(url) as conn:
        row = conn.execute(
            "select count(*) as n from procrastinate.procrastinate_jobs where task_name = %s and status = %s",
            (task, status),
        ).fetchone()
    return bool(row and row["n"])


async def test_a_one_at_a_time_tick_leaves_free_slots_to_other_jobs(
    queue_db_url: str, start_worker: StartWorker
) -> None:
    """Bulk periodic work (the pod executor) runs one tick at a time: while one runs, the next waits and
    the worker's other slots go to other jobs, though ticks otherwise come first."""
    gate = tasks.SOLO["gate"] = asyncio.Event()
    try:
        await start_worker(periodic=True, concurrency=2)
        async with asyncio.timeout(30):  # ticks every second; the ceiling bounds a worker that never ticks
            while not (  # noqa: ASYNC110 - polls the jobs table
                _tick_waiting(queue_db_url, "qtest.solo", "doing")
                and _tick_waiting(queue_db_url, "qtest.solo", "todo")
            ):
                await asyncio.sleep(0.05)
        key = uuid.uuid4().hex
        await wait_status(
            queue_db_url, await defer_committed(queue_db_url, "qtest.record", {"key": key}), "completed"
        )
        assert _tick_waiting(queue_db_url, "qtest.solo", "todo")
    finally:
        gate.set()
        del tasks.SOLO["gate"]


async def _seed_account(url: str, reset_at: datetime | None) -> UUID:
    """An account of a client of no agency, with today's counters at 7 DMs and 2 posts."""
    async with connect(url) as conn:
        client = await make_client(conn, agency_id=None, name=f"c {uuid.uuid4()}")
        account = await make_linkedin_account(
            conn,
            client_id=client["id"],
            account_name="a",
            daily_dm_count=7,
            daily_post_count=2,
            rate_limit_reset_at=reset_at,
        )
    return UUID(str(account["id"]))


def _counts(url: str, account: UUID) -> tuple[int, int]:
    with superuser_conn(url) as conn:
        row = conn.execute(
            "select daily_dm_count, daily_post_count from linkedin_accounts where id = %s", (account,)
        ).fetchone()
    assert row is not None
    return row["daily_dm_count"], row["daily_post_count"]


async def test_daily_limits_reset_only_for_accounts_that_are_due(
    queue_db_url: str, queue_runtime: Runtime
) -> None:
    now = datetime.now(UTC)
    due = await _seed_account(queue_db_url, now - timedelta(minutes=1))
    not_yet = await _seed_account(queue_db_url, now + timedelta(hours=3))
    await reset_daily_limits(queue_runtime.db)
    assert _counts(queue_db_url, due) == (0, 0)
    assert _counts(queue_db_url, not_yet) == (7, 2)


async def test_the_periodic_reset_runs_as_a_job(queue_db_url: str, start_worker: StartWorker) -> None:
    account = await _seed_account(queue_db_url, None)
    await start_worker()
    job_id = await defer_committed(
        queue_db_url, "maintenance.reset_daily_limits", {"timestamp": 0}, queue="qtest"
    )
    await wait_status(queue_db_url, job_id, "completed")
    assert _counts(queue_db_url, account) == (0, 0)


def _mark_doing(url: str, job_id: int, worker_id: int) -> None:
    with superuser_conn(url) as conn:
        conn.execute(
            "update procrastinate.procrastinate_jobs set status = 'doing', worker_id = %s where id = %s",
            (worker_id, job_id),
        )


def _fake_worker(url: str, heartbeat_age: str) -> int:
    with superuser_conn(url) as conn:
        row = conn.execute(
            "insert into procrastinate.procrastinate_workers (last_heartbeat) values (now() - %s::interval)"
            " returning id",
            (heartbeat_age,),
        ).fetchone()
    assert row is not None
    return int(row["id"])


async def test_jobs_of_a_dead_worker_are_recovered_and_then_run(
    queue_db_url: str, queue_settings: Settings, start_worker: StartWorker
) -> None:
    dead, alive = _fake_worker(queue_db_url, "1 hour"), _fake_worker(queue_db_url, "0 seconds")
    key = uuid.uuid4().hex
    orphan = await defer_committed(
        queue_db_url, "qtest.record", {"key": f"{key}-orphan"}, queue="qtest_stalled"
    )
    hopeless = await defer_committed(queue_db_url, "qtest.fail", {"key": key}, queue="qtest_stalled")
    healthy = await defer_committed(
        queue_db_url, "qtest.record", {"key": f"{key}-healthy"}, queue="qtest_stalled"
    )
    _mark_doing(queue_db_url, orphan, dead)
    _mark_doing(queue_db_url, hopeless, dead)
    _mark_doing(queue_db_url, healthy, alive)

    async with open_app(queue_db_url, settings=queue_settings) as app:
        report = await recover_stalled(app.job_manager, queue_settings)

    assert orphan in report.retried
    assert hopeless in report.failed  # max_attempts=1: recovering it would be a second run
    assert healthy not in report.retried + report.failed
    assert dead in report.workers_pruned
    assert alive not in report.workers_pruned
    assert job_row(queue_db_url, orphan)["status"] == "pending"
    assert job_row(queue_db_url, healthy)["status"] == "active"
    failed = job_row(queue_db_url, hopeless)
    assert failed["status"] == "failed"
    assert "stopped heartbeating" in failed["error_message"]

    await start_worker(queues=["qtest_stalled"])
    row = await wait_status(queue_db_url, orphan, "completed")
    assert row["attempts"] == 2  # the lost run counts


async def test_purge_deletes_only_jobs_finished_before_the_retention(
    queue_db_url: str, queue_settings: Settings
) -> None:
    ids = {
        name: await defer_committed(queue_db_url, "qtest.record", {"key": name}, queue="qtest_purge")
        for name in ("old_done", "old_failed", "old_cancelled", "recent_done", "old_waiting", "old_running")
    }
    with superuser_conn(queue_db_url) as conn:
        for name, status in {
            "old_done": "succeeded",
            "old_failed": "failed",
            "old_cancelled": "cancelled",
            "recent_done": "succeeded",
            "old_running": "doing",
        }.items():
            conn.execute(
                "update procrastinate.procrastinate_jobs set status = %s where id = %s", (status, ids[name])
            )
        conn.execute(
            "insert into procrastinate.revos_job_errors (job_id, message) values (%s, 'x')",
            (ids["old_failed"],),
        )
        old = [v for k, v in ids.items() if k.startswith("old")]
        conn.execute(
            "update procrastinate.procrastinate_events set at = now() - interval '31 days'"
            " where job_id = any(%s)",
            (old,),
        )

    async with open_app(queue_db_url, settings=queue_settings) as app:
        assert await purge_finished(app.connector, queue_settings) >= 3

    with superuser_conn(queue_db_url) as conn:
        left = {
            r["id"]
            for r in conn.execute(
                "select id from procrastinate.procrastinate_jobs where id = any(%s)", (list(ids.values()),)
            )
        }
        errors = conn.execute(
            "select count(*) as n from procrastinate.revos_job_errors where job_id = %s", (ids["old_failed"],)
        ).fetchone()
    assert left == {ids["recent_done"], ids["old_waiting"], ids["old_running"]}
    assert errors == {"n": 0}


async def test_purge_keeps_30_days_by_default(queue_db_url: str) -> None:
    assert Settings(database_url=queue_db_url).queue_retention_days == 30
    job_id = await defer_committed(queue_db_url, "qtest.record", {"key": "29 days"}, queue="qtest_purge")
    with superuser_conn(queue_db_url) as conn:
        conn.execute(
            "update procrastinate.procrastinate_jobs set status = 'succeeded' where id = %s", (job_id,)
        )
        conn.execute(
            "update procrastinate.procrastinate_events set at = now() - interval '29 days' where job_id = %s",
            (job_id,),
        )
    settings = Settings(database_url=queue_db_url)
    async with open_app(queue_db_url, settings=settings) as app:
        await purge_finished(app.connector, settings)
    assert job_row(queue_db_url, job_id)["status"] == "completed"


def test_stalled_recovery_is_not_blocked_by_account_locks(queue_settings: Settings) -> None:
    # Recovery is periodic work without a lock: it must never queue behind the jobs it rescues.
    from revos.queue import app
    from revos.queue.maintenance import recover_stalled_jobs_task
    from revos.queue.registry import schedule_periodic

    schedule_periodic(app, queue_settings)
    entry = app.periodic_registry.periodic_tasks[("maintenance.recover_stalled_jobs", "")]
    assert recover_stalled_jobs_task.lock is None
    assert "lock" not in entry.configure_kwargs
    assert entry.cron == queue_settings.cron_recover_stalled_jobs


async def test_a_dead_workers_job_whose_successor_already_waits_is_failed_and_frees_its_lock(
    queue_db_url: str, queue_settings: Settings, start_worker: StartWorker
) -> None:
    """A worker dies in an account's DM run; a dispatcher queues the account's next run meanwhile (same
    queueing lock, same lock). Putting the dead run back would make two waiting under one queueing lock:
    it is failed instead, and the waiting run goes ahead."""
    dead = _fake_worker(queue_db_url, "1 hour")
    key = uuid.uuid4().hex
    options = {"queue": "qtest_successor", "lock": f"account:{key}", "queueing_lock": f"run:{key}"}
    orphan = await defer_committed(queue_db_url, "qtest.record", {"key": f"{key}-orphan"}, **options)
    _mark_doing(queue_db_url, orphan, dead)
    successor = await defer_committed(queue_db_url, "qtest.record", {"key": f"{key}-successor"}, **options)

    async with open_app(queue_db_url, settings=queue_settings) as app:
        report = await recover_stalled(app.job_manager, queue_settings)
    assert orphan in report.failed
    failed = job_row(queue_db_url, orphan)
    assert failed["status"] == "failed"
    assert "another job waits under its queueing lock" in failed["error_message"]

    await start_worker(queues=["qtest_successor"])
    await wait_status(queue_db_url, successor, "completed")
