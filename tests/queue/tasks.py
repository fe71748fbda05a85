"""Tasks the queue tests run, in queues of their own (`qtest*`), recording what happened in memory."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from revos.queue import current_runtime, periodic, task

QUEUE = "qtest"
RUNS: list[tuple[str, float, float]] = []  # (key, monotonic start, monotonic end)
ATTEMPTS: defaultdict[str, int] = defaultdict(int)
GATES: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
TICKS: list[int] = []


@task("qtest.record", queue=QUEUE)
async def record(key: str, sleep: float = 0.0) -> None:
    started = time.monotonic()
    await asyncio.sleep(sleep)
    RUNS.append((key, started, time.monotonic()))


@task("qtest.fail", queue=QUEUE, max_attempts=1)
async def fail(key: str) -> None:
    raise ValueError(f"boom {key}")


@task("qtest.flaky", queue=QUEUE, max_attempts=3)
async def flaky(key: str) -> None:
    ATTEMPTS[key] += 1
    if ATTEMPTS[key] == 1:
        raise ConnectionError(f"first attempt of {key} fails")


@task("qtest.block", queue=QUEUE)
async def block(key: str) -> None:
    await GATES[key].wait()


@task("qtest.whoami", queue=QUEUE)
async def whoami(key: str) -> None:
    # Tasks reach the database through the worker's Runtime, as the service role.
    async with current_runtime().db.service("test") as conn:
        row = await (await conn.execute("select current_user as role")).fetchone()
    assert row is not None
    RUNS.append((f"{key}:{row['role']}", 0.0, 0.0))


@periodic("qtest.tick", cron="* * * * * *", queue=QUEUE)
async def tick(timestamp: int) -> None:
    TICKS.append(timestamp)
