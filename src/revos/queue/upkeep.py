"""Periodic upkeep at scale: the audit chain's sealing, next months' partitions, retention, the weekly backup.

Plain functions in revos.db.retention and revos.db.backup do the work (tests call them directly);
these tasks run them on the worker's runtime and clock.
"""

from __future__ import annotations

import logging

from revos.clock import get_clock
from revos.db import audit_seal, backup, retention
from revos.db.urls import session_url
from revos.queue.app import current_runtime
from revos.queue.registry import periodic

log = logging.getLogger(__name__)


@periodic("maintenance.seal_audit", cron=lambda s: s.cron_audit_seal)
async def seal_audit_task(timestamp: int) -> None:
    sealed = await audit_seal.seal_pending(current_runtime().db)
    if sealed:
        log.debug("sealed %d audit entries", sealed)


@periodic("maintenance.ensure_partitions", cron=lambda s: s.cron_partitions)
async def ensure_partitions_task(timestamp: int) -> None:
    rt = current_runtime()
    await retention.ensure_partitions(rt.db, get_clock().now().date(), rt.settings.partition_months_ahead)


@periodic("maintenance.retention", cron=lambda s: s.cron_retention)
async def retention_task(timestamp: int) -> None:
    rt = current_runtime()
    await retention.apply_retention(rt.db, get_clock().now(), rt.settings)


@periodic("maintenance.backup", cron=lambda s: s.cron_backup)
async def backup_task(timestamp: int) -> None:
    rt = current_runtime()
    if not rt.settings.backup_target:
        return
    location = await backup.export_to(
        session_url(rt.settings, rt.db.url), rt.settings.backup_target, settings=rt.settings
    )
    log.info("weekly backup written to %s", location)
