"""No-op job throughput of the queue on the embedded PostgreSQL: deferring and processing.

    .venv/bin/python bench/queue_noop.py [--jobs 2000] [--concurrency 16] [--batch 500]

Prints jobs/second for: one job per transaction, batches in one statement, and a worker running
them (LISTEN/NOTIFY + fetch per job, as in production). A figure, not a pass/fail test.

The worker fetches one job per query, so its rate is bounded by round trips, and it falls while it
drains a large backlog: each todo -> doing update leaves a dead entry in Procrastinate's partial
"todo" indexes until vacuum. High-volume work is therefore claimed in batches from domain tables by
dispatchers (design §8), not deferred as one job per row.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import tempfile
import time
from pathlib import Path

import psycopg

from revos import migrations
from revos.config import Settings
from revos.db.embedded import start_embedded, stop_embedded
from revos.queue import JobRequest, defer, defer_many, task
from revos.queue.worker import QueueWorker
from revos.runtime import Runtime

QUEUE = "bench"


@task("bench.noop", queue=QUEUE)
async def noop(n: int) -> None:
    return None


async def _remaining(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        row = await (
            await conn.execute(
                "select count(*) from procrastinate.procrastinate_jobs"
                " where queue_name = %s and status in ('todo', 'doing')",
                (QUEUE,),
            )
        ).fetchone()
    assert row is not None
    return int(row[0])


async def bench(url: str, data_dir: Path, jobs: int, concurrency: int, batch: int) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        started = time.perf_counter()
        for n in range(jobs):
            async with conn.transaction():
                await defer(conn, "bench.noop", {"n": n})
        single = time.perf_counter() - started

        started = time.perf_counter()
        for first in range(0, jobs, batch):
            async with conn.transaction():
                await defer_many(
                    conn, [JobRequest("bench.noop", {"n": n}) for n in range(first, min(jobs, first + batch))]
                )
        batched = time.perf_counter() - started

    total = 2 * jobs
    settings = Settings(
        database_url=url, data_dir=data_dir, worker_concurrency=concurrency, worker_poll_interval_seconds=0.5
    )
    runtime = Runtime.build(settings)
    await runtime.open()
    worker = QueueWorker(runtime, queues=[QUEUE], periodic=False)
    started = time.perf_counter()
    run = asyncio.ensure_future(worker.run())
    while await _remaining(url):  # noqa: ASYNC110 - the truth is in the database
        await asyncio.sleep(0.1)
    processed = time.perf_counter() - started
    worker.stop()
    await run
    await runtime.close()

    print(f"defer, one job per transaction : {jobs / single:8.0f} jobs/s ({jobs} jobs in {single:.2f} s)")
    print(
        f"defer_many, {batch} per statement : {jobs / batched:8.0f} jobs/s ({jobs} jobs in {batched:.2f} s)"
    )
    print(
        f"worker, concurrency {concurrency:<3}        : {total / processed:8.0f} jobs/s"
        f" ({total} no-op jobs in {processed:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="rqb-", dir="/tmp"))  # short: unix socket path limit
    try:
        url = start_embedded(root, stop_at_exit=True)
        migrations.migrate(url)
        asyncio.run(bench(url, root / "data", args.jobs, args.concurrency, args.batch))
    finally:
        stop_embedded(root)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
