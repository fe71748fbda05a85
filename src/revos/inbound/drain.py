"""The inbox's drain: every event waiting in `inbound_events`, handed to its handlers by one job.

Storing an event defers `inbound.drain` in the same transaction unless one is waiting already
(`service.defer_drain`); drains run one at a time (Procrastinate's lock), so at any moment one runs and at
most one more waits. A drain reads the events still unprocessed and without an error, oldest first, a batch
at a time, and processes each in a transaction of its own (`service.process_event`: locked, skipped when
another transaction holds it, processed once), `AT_ONCE` of them at a time. It stops when a read finds
nothing new twice `SETTLE` seconds apart, or after `SECONDS` (then it defers the next drain itself).

Before, every event had a job of its own: inserted, fetched and finished through the queue, about 2 ms of
CPU per event beyond its handlers (replayed day, docs/operations.md). An event's failure is still retried
the same way: an event whose handlers fail keeps its error, and gets a job of its own (`inbound.process`,
retried with the queue's backoff); the drain passes it by. An event stored while a drain finishes its last
read (the waiting drain seen by its transaction started meanwhile) is taken by the next drain any new event
defers, or at the latest by `inbound.sweep` (events left unprocessed past `REVOS_INBOUND_SWEEP_AFTER_SECONDS`
get a job of their own).
"""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

from revos.inbound import repo, service
from revos.runtime import Runtime

BATCH = 50  # events read at a time
AT_ONCE = 4  # events processed at once (each holds a connection)
SECONDS = 30.0  # a drain's longest run; then the next one is deferred
SETTLE = 0.2  # seconds between the two empty reads that end a drain


async def drain(runtime: Runtime, *, seconds: float = SECONDS) -> int:
    """Process the waiting events (see module doc); returns how many this drain processed."""
    deadline = time.monotonic() + seconds
    passed: list[UUID] = []  # held by another transaction, or failed (then on a job of their own)
    processed = 0
    at_once = asyncio.Semaphore(AT_ONCE)

    async def one(event_id: UUID) -> None:
        nonlocal processed
        async with at_once:
            try:
                result = await service.process_event(runtime, event_id)
            except Exception:  # logged and recorded on the event by process_event
                passed.append(event_id)
                async with runtime.db.service(actor="inbound") as conn:
                    await service.defer_processing(conn, event_id)
                return
        if result == "processed":
            processed += 1
        elif result == "busy":
            passed.append(event_id)

    empty = 0
    while empty < 2:
        if time.monotonic() >= deadline:
            async with runtime.db.service(actor="inbound") as conn:
                await service.defer_drain(conn)
            break
        async with runtime.db.service(actor="inbound") as conn:
            waiting = await repo.fresh(conn, BATCH, passed)
        if not waiting:
            empty += 1
            if empty < 2:
                await asyncio.sleep(SETTLE)
            continue
        empty = 0
        await asyncio.gather(*(one(event_id) for event_id in waiting))
    return processed
