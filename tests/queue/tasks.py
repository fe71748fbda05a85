"""Tasks the queue tests run, in queues of their own (`qtest*`), recording what happened in memory."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict

from revos.queue import current_runtime, periodic, task

QUEUE = "qtest"
RUNS: list[tuple[str, float, float]] = []  # (key, monotonic start, monotonic end)
ATTEMPTS: defaultdict[str, int] = defaultdict(int)
GATES: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
TICKS: list[int] = []
TICKED_AT: list[float] = []  # monotonic time of each tick
SOLO: dict[str, asyncio.Event] = {}  # armed by a test: `qtest.solo` ticks wait for this gate
STARTED: defaultdict[str, set[str]] = defaultdict(set)  # group -> keys of its jobs that have started
JOINED: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)  # set when a job joins the group
MEET_CEILING = 30.0  # wall seconds a `meet` job waits for its group before it gives up and ends


@task("qtest.record", queue=QUEUE)
async def record(key: str, sleep: float = 0.0) -> None:
    started = time.monotonic()
    await asyncio.sleep(sleep)
    RUNS.append((key, started, time.monotonic()))


@task("qtest.meet", queue=QUEUE)
async def meet(key: str, group: str, wait_for: str, size: int) -> None:
    """Joins `group`, then ends only once `size` jobs of `wait_for` have started (or after the ceiling):
    jobs that can run side by side meet, whatever the machine's speed; jobs kept apart never do."""
    started = time.monotonic()
    STARTED[group].add(key)
    JOINED[group].set()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(MEET_CEILING):
            while len(STARTED[wait_for]) < size:
                JOINED[wait_for].clear()
                await JOINED[wait_for].wait()
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
    TICKED_AT.append(time.monotonic())


@periodic("qtest.solo", cron="* * * * * *", queue=QUEUE, one_at_a_time=True)
async def solo(timestamp: int) -> None:
    gate = SOLO.get("gate")
    if gate is not None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(MEET_CEILING):
                await gate.wait()
