"""Queue tasks of campaign skills: the scheduler that runs due `scheduled` skills (periodic)."""

from __future__ import annotations

import logging

from revos.queue import current_runtime, periodic
from revos.skills import service

log = logging.getLogger(__name__)


@periodic("skills.run_scheduled", cron=lambda s: s.cron_skills_scheduled)
async def run_scheduled(timestamp: int) -> None:
    done = await service.run_due(current_runtime())
    if done:
        log.info("ran %d scheduled skill(s)", done)
