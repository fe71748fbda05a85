"""Queue tasks of memory: automatic memories and re-embedding (periodic), the Mem0 copies (jobs)."""

from __future__ import annotations

import logging
from uuid import UUID

from revos.errors import ConfigError
from revos.memory import auto, mem0, service
from revos.queue import PermanentFailure, current_runtime, periodic, task

log = logging.getLogger(__name__)

# Mem0 can be down for a while: retried with backoff for about an hour.
MEM0_ATTEMPTS = 8


@periodic("memory.write_automatic", cron=lambda s: s.cron_memory_auto)
async def write_automatic(timestamp: int) -> None:
    await auto.write_automatic(current_runtime())


@periodic("memory.reembed", cron=lambda s: s.cron_memory_reembed)
async def reembed(timestamp: int) -> None:
    done = await service.reembed(current_runtime())
    if done:
        log.info("re-embedded %d memories", done)


@task(service.MEM0_ADD, queue="memory", max_attempts=MEM0_ATTEMPTS)
async def mem0_add(memory_id: str) -> None:
    try:
        await service.copy_to_mem0(current_runtime(), UUID(memory_id))
    except ConfigError as exc:
        raise PermanentFailure(f"cannot copy memory {memory_id} to Mem0: {exc.message}") from exc


@task(service.MEM0_DELETE, queue="memory", max_attempts=MEM0_ATTEMPTS)
async def mem0_delete(mem0_id: str) -> None:
    try:
        await mem0.delete(current_runtime().settings, mem0_id)
    except ConfigError as exc:
        raise PermanentFailure(f"cannot remove {mem0_id} from Mem0: {exc.message}") from exc
