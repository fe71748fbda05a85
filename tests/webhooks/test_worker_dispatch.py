"""The worker sends due deliveries by itself: the periodic `webhooks.deliver_due` task."""

from __future__ import annotations

import asyncio

import httpx
import standardwebhooks

from revos.queue.worker import QueueWorker
from revos.runtime import Runtime
from revos.webhooks.receiver import Receiver
from tests.support import Conn, Tenant, eventually, read_row
from tests.webhooks.conftest import captured_lead, create_config, enqueue


async def test_a_running_worker_delivers_a_captured_lead_without_being_asked(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str, tenant: Tenant, receiver: Receiver
) -> None:
    config = await create_config(api, tenant, receiver.url)
    lead_id = await captured_lead(owner, tenant.client_id, config_id=config["id"])
    delivery_id = await enqueue(runtime, tenant, lead_id)

    previous = runtime.settings.cron_webhook_dispatch
    runtime.settings.cron_webhook_dispatch = "* * * * * *"  # every second
    worker = QueueWorker(runtime, queues=["webhooks"], periodic=True)
    running = asyncio.ensure_future(worker.run())
    try:
        async with asyncio.timeout(60):
            await worker.wait_running()
        # Polling the database: the delivery is recorded by the worker, not by anything we await.
        await eventually(
            lambda: (
                bool(receiver.requests)
                and read_row(db_url, "webhook_deliveries", delivery_id)["status"] == "success"
            ),
            "the worker to deliver the lead",
            within=60,
        )
    finally:
        worker.stop()
        async with asyncio.timeout(60):
            await running
        runtime.settings.cron_webhook_dispatch = previous

    assert read_row(db_url, "webhook_deliveries", delivery_id)["status"] == "success"
    (request,) = receiver.requests
    standardwebhooks.Webhook(config["secret"]).verify(request.body, dict(request.headers))
