"""Periodic campaign upkeep: campaigns past their ends_at are completed; long-completed ones archived."""

from __future__ import annotations

import logging

from revos.campaigns import service
from revos.clock import utcnow
from revos.queue.app import current_runtime
from revos.queue.registry import periodic
from revos.runtime import Runtime

log = logging.getLogger(__name__)


async def complete_ended(runtime: Runtime) -> int:
    async with runtime.db.service(actor="campaigns.complete_ended") as conn:
        done = await service.complete_ended(conn, now=utcnow())
    for row in done:
        log.info("campaign %s (%s) reached its ends_at: completed", row["id"], row["name"])
    return len(done)


@periodic("campaigns.complete_ended", cron=lambda s: s.cron_campaigns_complete_ended)
async def complete_ended_task(timestamp: int) -> None:
    await complete_ended(current_runtime())


async def archive_completed(runtime: Runtime) -> int:
    async with runtime.db.service(actor="campaigns.archive_completed") as conn:
        done = await service.archive_completed(
            conn, now=utcnow(), after_days=runtime.settings.campaign_archive_after_days
        )
    for row in done:
        log.info("campaign %s (%s) archived: out of every dispatcher's scan", row["id"], row["name"])
    return len(done)


@periodic("campaigns.archive_completed", cron=lambda s: s.cron_campaigns_archive)
async def archive_completed_task(timestamp: int) -> None:
    await archive_completed(current_runtime())
