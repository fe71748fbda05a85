"""Removing lead-magnet files once the rows that pointed at them are gone (deferred by the delete)."""

from __future__ import annotations

import logging
from uuid import UUID

from revos.errors import ConfigError
from revos.magnets import service
from revos.queue import PermanentFailure, current_runtime, task

log = logging.getLogger(__name__)

# Storage can be down for a while (S3 outage, a full disk): retried with backoff for hours.
ATTEMPTS = 12


@task("magnets.delete_client_files", queue="magnets", max_attempts=ATTEMPTS)
async def delete_client_files(client_id: str) -> None:
    rt = current_runtime()
    removed = await service.delete_client_files(rt.settings, UUID(client_id))
    log.info("deleted client %s: %d lead-magnet file(s) removed", client_id, removed)


@task("magnets.delete_file", queue="magnets", max_attempts=ATTEMPTS)
async def delete_file(backend: str, key: str) -> None:
    rt = current_runtime()
    try:
        await service.delete_file(rt.settings, backend, key)
    except ConfigError as exc:
        # The file's storage is no longer configured (S3 bucket unset): no retry can reach it.
        raise PermanentFailure(f"cannot remove lead-magnet file {key}: {exc.message}") from exc
