"""Queue tasks of engagement pods: the executor and manual pods' verification (both periodic)."""

from __future__ import annotations

import logging
import time
from typing import Any

from revos.pods import execution, manual
from revos.queue import current_runtime, periodic

log = logging.getLogger(__name__)


# Bulk work: one tick at a time (its lanes act for several accounts at once), so pod ticks never take
# the slots of the lead loop's jobs (DM runs, replies), and run before them when a slot frees.
@periodic("pods.execute", cron=lambda s: s.cron_pods_execute, one_at_a_time=True)
async def execute(timestamp: int) -> None:
    runtime = current_runtime()
    settings = runtime.settings
    until = time.monotonic() + settings.pods_execute_run_seconds
    voices: dict[Any, Any] = {}  # members' voices, read once per run (a voice edited shows on the next run)
    while True:  # round after round while a full batch was due, up to the run's time
        tick = await execution.run_due(runtime, voices=voices)
        if tick.claimed or tick.lapsed:
            log.info("pods: %d claimed %s, %d lapsed", tick.claimed, tick.outcomes or {}, tick.lapsed)
        if tick.claimed < settings.pods_execute_batch or time.monotonic() >= until:
            return


@periodic("pods.verify", cron=lambda s: s.cron_pods_verify)
async def verify(timestamp: int) -> None:
    credited = await manual.verify_due(current_runtime())
    if credited:
        log.info("pods: %d manual engagement(s) verified", credited)
