"""Queue tasks of engagement pods: the executor and manual pods' verification (both periodic)."""

from __future__ import annotations

import logging
import time

from revos.cartridges.resolution import Voices
from revos.pods import execution, manual
from revos.queue import current_runtime, periodic

log = logging.getLogger(__name__)

# Members' voices, kept by the worker between runs while no cartridge changes (checked once per batch of
# drafts): a voice edited shows on the next batch.
VOICES = Voices()


# Bulk work: one tick at a time (its lanes act for several accounts at once), so pod ticks never take
# the slots of the lead loop's jobs (DM runs, replies), and run before them when a slot frees.
@periodic("pods.execute", cron=lambda s: s.cron_pods_execute, one_at_a_time=True)
async def execute(timestamp: int) -> None:
    runtime = current_runtime()
    settings = runtime.settings
    until = time.monotonic() + settings.pods_execute_run_seconds
    while True:  # round after round while a full batch was due, up to the run's time
        tick = await execution.run_due(runtime, voices=VOICES)
        if tick.claimed or tick.lapsed:
            log.info("pods: %d claimed %s, %d lapsed", tick.claimed, tick.outcomes or {}, tick.lapsed)
        if tick.claimed < settings.pods_execute_batch or time.monotonic() >= until:
            return


@periodic("pods.verify", cron=lambda s: s.cron_pods_verify)
async def verify(timestamp: int) -> None:
    credited = await manual.verify_due(current_runtime())
    if credited:
        log.info("pods: %d manual engagement(s) verified", credited)
