"""Queue tests: a database of their own (their workers must not run other suites' jobs), fast timings,
and workers running in-process."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from revos import migrations
from revos.config import Settings
from revos.queue.worker import QueueWorker
from revos.runtime import Runtime
from tests.queue import tasks
from tests.support import with_database

# Timings that let a test see heartbeats, retries and reconnects in well under a second or two.
FAST = {
    "worker_poll_interval_seconds": 0.2,
    "worker_heartbeat_seconds": 0.3,
    "stalled_after_seconds": 2.0,
    "worker_shutdown_timeout_seconds": 5.0,
    "worker_reconnect_initial_seconds": 0.1,
    "worker_reconnect_max_seconds": 0.5,
    "worker_db_timeout_seconds": 2.0,
    "queue_retry_base_seconds": 0.0,
    "worker_concurrency": 4,
}


def fast_settings(database_url: str, **overrides: Any) -> Settings:
    return Settings(database_url=database_url, **{**FAST, **overrides})


def new_database(root_url: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(root_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return with_database(root_url, name)


@contextmanager
def migrated_database(root_url: str, prefix: str) -> Iterator[str]:
    """A database of its own with every migration applied, dropped afterwards."""
    url = new_database(root_url, prefix)
    try:
        migrations.migrate(url)
        yield url
    finally:  # dropped whether the migration or the caller failed
        with psycopg.connect(root_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{url.rsplit("/", 1)[1].split("?")[0]}" with (force)')


@pytest.fixture(scope="session")
def queue_db_url(pg_root_url: str) -> Iterator[str]:
    with migrated_database(pg_root_url, "queue") as url:
        yield url


@pytest.fixture(scope="session")
def queue_settings(queue_db_url: str) -> Settings:
    return fast_settings(queue_db_url)


@pytest.fixture(scope="session")
async def queue_runtime(queue_settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime.build(queue_settings)
    await rt.open()
    yield rt
    await rt.close()


StartWorker = Callable[..., Awaitable[QueueWorker]]


@pytest.fixture
async def start_worker(queue_runtime: Runtime) -> AsyncIterator[StartWorker]:
    """Start a supervised worker in-process (queue `qtest`, no cron unless asked); stopped after the test."""
    running: list[tuple[QueueWorker, asyncio.Future[None]]] = []

    async def start(runtime: Runtime | None = None, **options: Any) -> QueueWorker:
        options.setdefault("queues", [tasks.QUEUE])
        options.setdefault("periodic", False)
        worker = QueueWorker(runtime or queue_runtime, **options)
        running.append((worker, asyncio.ensure_future(worker.run())))
        async with asyncio.timeout(60):  # ceilings: a worker starts and stops in well under a second
            await worker.wait_running()
        return worker

    yield start
    for worker, _ in running:
        worker.stop()
    async with asyncio.timeout(60):
        await asyncio.gather(*(future for _, future in running))


def job_row(url: str, job_id: int) -> dict[str, Any]:
    """The job as the spec's queue_jobs view shows it, read as service_role."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        conn.execute("set role service_role")
        row = conn.execute("select * from queue_jobs where job_id = %s", (str(job_id),)).fetchone()
    assert row is not None, f"job {job_id} not in queue_jobs"
    return row


async def wait_status(url: str, job_id: int, status: str, within: float = 60.0) -> dict[str, Any]:
    """Poll until the job has `status`; `within` (wall seconds) only bounds a job that never gets there."""
    deadline = time.monotonic() + within
    while True:
        row = job_row(url, job_id)
        if row["status"] == status:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(
                f"job {job_id} is {row['status']!r}, not {status!r}, after {within} s: {row}"
            )
        await asyncio.sleep(0.05)


async def defer_committed(url: str, task_name: str, args: dict[str, Any], **options: Any) -> int:
    """Defer in a committed service_role transaction, the way a worker's job would."""
    from revos.queue import defer

    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        await conn.execute("set local role service_role")
        return await defer(conn, task_name, args, **options)
