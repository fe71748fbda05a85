"""Queue tasks of engagement pods: the executor and manual pods' verification (both periodic)."""

from __future__ import annotations

import logging

from revos.pods import execution, manual
from revos.queue import current_runtime, periodic

log = logging.getLogger(__name__)


@periodic("pods.execute", cron=lambda s: s.cron_pods_execute)
async def execute(timestamp: int) -> None:
    tick = await execution.run_due(current_runtime())
    if tick.claimed or tick.lapsed:
        log.info("pods: %d claimed %s, %d lapsed", tick.claimed, tick.outcomes or {}, tick.lapsed)


@periodic("pods.verify", cron=lambda s: s.cron_pods_verify)
async def verify(timestamp: int) -> None:
    credited = await manual.verify_due(current_runtime())
    if credited:
        log.info("pods: %d manual engagement(s) verified", credited)
