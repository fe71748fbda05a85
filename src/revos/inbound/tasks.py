"""Queue tasks of the inbound inbox: drain the waiting events; process one event; sweep events left
unprocessed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from revos.inbound import drain as inbox
from revos.inbound import service
from revos.queue import current_runtime, periodic, task
from revos.queue.registry import INBOUND_PRIORITY


@task(service.DRAIN_TASK, queue="inbound", max_attempts=5, priority=INBOUND_PRIORITY)
async def drain() -> None:
    await inbox.drain(current_runtime())


@task(service.PROCESS_TASK, queue="inbound", max_attempts=5, priority=INBOUND_PRIORITY)
async def process(event_id: str) -> None:
    await service.process_event(current_runtime(), UUID(event_id))


@periodic("inbound.sweep", cron=lambda s: s.cron_inbound_sweep)
async def sweep(timestamp: int, **_: Any) -> None:
    await service.sweep(current_runtime())
