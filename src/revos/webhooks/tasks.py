"""Periodic work of lead delivery: send due deliveries, and forget old ones (spec: 60 days)."""

from __future__ import annotations

from datetime import timedelta

from revos.clock import get_clock
from revos.queue.app import current_runtime
from revos.queue.registry import periodic
from revos.webhooks import repo
from revos.webhooks.dispatcher import deliver_due


@periodic("webhooks.deliver_due", cron=lambda s: s.cron_webhook_dispatch, queue="webhooks")
async def deliver_due_task(timestamp: int) -> None:
    rt = current_runtime()
    # Drain what is due now, a batch at a time; the next tick picks up whatever arrives later.
    batch = rt.settings.webhook_dispatch_batch
    sent = batch
    while sent >= batch:
        sent = await deliver_due(rt.db, clock=get_clock(), limit=batch, settings=rt.settings, vault=rt.vault)


@periodic("webhooks.purge_deliveries", cron=lambda s: s.cron_webhook_retention)
async def purge_deliveries_task(timestamp: int) -> None:
    rt = current_runtime()
    cutoff = get_clock().now() - timedelta(days=rt.settings.webhook_delivery_retention_days)
    # A batch per transaction, so a large backlog never holds one long lock.
    batch = rt.settings.retention_batch_size
    deleted = batch
    while deleted >= batch:
        async with rt.db.service(actor="webhook-retention") as conn:
            deleted = await repo.purge_finished_deliveries(conn, cutoff, batch)
