"""Deferring in the caller's transaction: committed or not at all, deduplicated, validated."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from revos.queue import AlreadyEnqueued, UnknownTask, defer, defer_if_absent
from tests.queue.conftest import StartWorker, job_row, wait_status
from tests.support import superuser_conn

IDLE = "qtest_idle"  # no worker listens here: jobs stay as deferred


def _jobs_with_lock(url: str, lock: str) -> int:
    with superuser_conn(url) as conn:
        row = conn.execute(
            "select count(*) as n from procrastinate.procrastinate_jobs where queueing_lock = %s", (lock,)
        ).fetchone()
    assert row is not None
    return int(row["n"])


def _exists(url: str, job_id: int) -> bool:
    with superuser_conn(url) as conn:
        return (
            conn.execute("select 1 from procrastinate.procrastinate_jobs where id = %s", (job_id,)).fetchone()
            is not None
        )


async def test_rolled_back_transaction_leaves_no_job(queue_db_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(queue_db_url) as conn:
        await conn.execute("set role service_role")
        job_id = await defer(conn, "qtest.record", {"key": "rolled back"}, queue=IDLE)
        await conn.rollback()
    assert not _exists(queue_db_url, job_id)


async def test_committed_job_runs(queue_db_url: str, start_worker: StartWorker) -> None:
    await start_worker()
    async with await psycopg.AsyncConnection.connect(queue_db_url) as conn, conn.transaction():
        await conn.execute("set local role service_role")
        job_id = await defer(conn, "qtest.record", {"key": "committed"})
        # Not visible to anyone (the worker included) before the commit.
        assert not _exists(queue_db_url, job_id)
    row = await wait_status(queue_db_url, job_id, "completed")
    assert row["job_type"] == "qtest.record"
    assert row["payload"] == {"key": "committed"}
    assert row["attempts"] == 1


async def test_a_request_transaction_can_defer_without_reading_the_queue(queue_db_url: str) -> None:
    claims = '{"role": "authenticated", "client_id": "00000000-0000-0000-0000-000000000001"}'
    async with await psycopg.AsyncConnection.connect(queue_db_url) as conn, conn.transaction():
        await conn.execute("set local role authenticated")
        await conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
        job_id = await defer(conn, "qtest.record", {"key": "from a request"}, queue=IDLE)
        # The caller's search_path is untouched: its own unqualified queries still resolve as before.
        path = await (await conn.execute("show search_path")).fetchone()
    assert path == ('"$user", public',)
    assert job_row(queue_db_url, job_id)["status"] == "pending"


async def test_queueing_lock_dedupes_and_keeps_the_callers_transaction(queue_db_url: str) -> None:
    lock = f"poll:{uuid.uuid4()}"
    async with await psycopg.AsyncConnection.connect(queue_db_url) as conn, conn.transaction():
        await conn.execute("set local role service_role")
        first = await defer(conn, "qtest.record", {"key": "first"}, queue=IDLE, queueing_lock=lock)
        with pytest.raises(AlreadyEnqueued) as raised:
            await defer(conn, "qtest.record", {"key": "second"}, queue=IDLE, queueing_lock=lock)
        assert raised.value.queueing_lock == lock
        assert raised.value.status_code == 409
        assert (
            await defer_if_absent(conn, "qtest.record", {"key": "third"}, queue=IDLE, queueing_lock=lock)
            is None
        )
        # Still usable: the conflicting inserts ran in savepoints.
        later = await defer(conn, "qtest.record", {"key": "unlocked"}, queue=IDLE)
    assert _exists(queue_db_url, first)
    assert _exists(queue_db_url, later)
    assert _jobs_with_lock(queue_db_url, lock) == 1


async def test_queueing_lock_frees_once_the_job_has_started(
    queue_db_url: str, start_worker: StartWorker
) -> None:
    lock = f"poll:{uuid.uuid4()}"
    await start_worker()
    async with await psycopg.AsyncConnection.connect(queue_db_url, autocommit=True) as conn:
        first = await defer(conn, "qtest.record", {"key": "q1"}, queueing_lock=lock)
        await wait_status(queue_db_url, first, "completed")
        second = await defer(conn, "qtest.record", {"key": "q2"}, queueing_lock=lock)
    assert second != first


async def test_scheduled_job_is_delayed_until_its_time(queue_db_url: str) -> None:
    at = datetime.now(UTC) + timedelta(hours=1)
    async with await psycopg.AsyncConnection.connect(queue_db_url, autocommit=True) as conn:
        later = await defer(conn, "qtest.record", {"key": "later"}, queue=IDLE, schedule_at=at)
        soon = await defer(conn, "qtest.record", {"key": "soon"}, queue=IDLE, schedule_in=3600)
    row = job_row(queue_db_url, later)
    assert row["status"] == "delayed"
    assert row["scheduled_for"] == at
    assert job_row(queue_db_url, soon)["status"] == "delayed"


async def test_arguments_are_validated_before_anything_is_written(queue_db_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(queue_db_url, autocommit=True) as conn:
        with pytest.raises(UnknownTask, match=r"qtest\.nope"):
            await defer(conn, "qtest.nope", {})
        with pytest.raises(ValueError, match=r"domain\.verb"):
            await defer(conn, "NoDomain", {})
        with pytest.raises(ValueError, match="timezone-aware"):
            await defer(conn, "qtest.record", {"key": "x"}, schedule_at=datetime(2030, 1, 1))
        with pytest.raises(TypeError, match="must be JSON"):
            await defer(conn, "qtest.record", {"key": object()})
        # Ids and times travel as strings.
        account = uuid.uuid4()
        job_id = await defer(conn, "qtest.record", {"key": account}, queue=IDLE)
    assert job_row(queue_db_url, job_id)["payload"] == {"key": str(account)}


async def test_a_job_already_waiting_costs_the_connection_none_of_its_prepared_statements(
    queue_db_url: str,
) -> None:
    lock = f"poll:{uuid.uuid4()}"
    async with await psycopg.AsyncConnection.connect(queue_db_url, autocommit=True) as conn:
        await conn.execute("set role service_role")
        await conn.execute("select %s::int as n", (1,), prepare=True)
        first = await defer_if_absent(conn, "qtest.record", {"key": "first"}, queue=IDLE, queueing_lock=lock)
        again = [
            await defer_if_absent(conn, "qtest.record", {"key": "again"}, queue=IDLE, queueing_lock=lock)
            for _ in range(3)
        ]
        prepared = await (await conn.execute("select count(*) from pg_prepared_statements")).fetchone()
    assert first is not None
    assert again == [None, None, None]
    # Nothing was rolled back: what the connection prepared is still there to be reused.
    assert prepared is not None
    assert prepared[0] >= 1


async def test_two_transactions_deferring_one_lock_at_once_add_one_job_and_both_go_on(
    queue_db_url: str,
) -> None:
    lock = f"poll:{uuid.uuid4()}"
    async with (
        await psycopg.AsyncConnection.connect(queue_db_url) as first,
        await psycopg.AsyncConnection.connect(queue_db_url) as second,
    ):
        for conn in (first, second):
            await conn.execute("set local role service_role")
        mine = await defer_if_absent(first, "qtest.record", {"key": "first"}, queue=IDLE, queueing_lock=lock)
        # The second saw no waiting job either: its insert waits on the first transaction's.
        racing = asyncio.create_task(
            defer_if_absent(second, "qtest.record", {"key": "second"}, queue=IDLE, queueing_lock=lock)
        )
        await _until_waiting_on_a_lock(queue_db_url, second.info.backend_pid, racing)
        await first.commit()
        assert await asyncio.wait_for(racing, timeout=60) is None
        # Its transaction is still usable: the violation was answered inside the statement.
        other = await defer(second, "qtest.record", {"key": "other"}, queue=IDLE)
        await second.commit()
    assert mine is not None
    assert _exists(queue_db_url, mine)
    assert _exists(queue_db_url, other)
    assert _jobs_with_lock(queue_db_url, lock) == 1


async def _until_waiting_on_a_lock(url: str, pid: int, task: asyncio.Task[Any]) -> None:
    for _ in range(1200):
        assert not task.done(), "the second deferral did not wait for the first transaction"
        with superuser_conn(url) as conn:
            row = conn.execute(
                "select wait_event_type from pg_stat_activity where pid = %s", (pid,)
            ).fetchone()
        if row and row["wait_event_type"] == "Lock":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the second deferral never waited on the first")
