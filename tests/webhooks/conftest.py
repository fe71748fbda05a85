"""Fixtures for webhook tests: tenants with tokens, leads in campaigns, local receivers."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from revos.clock import ManualClock, set_clock
from revos.runtime import Runtime
from revos.webhooks import dispatcher, service
from revos.webhooks.receiver import Receiver
from tests.support import Conn, Tenant, make_campaign, make_lead, superuser_conn

# The dispatcher scans the whole (shared) database. Before each test, deliveries still scheduled
# by earlier tests — of any domain — are parked, so a dispatcher run only sees this test's deliveries.


@pytest.fixture(autouse=True)
def park_leftover_deliveries(db_url: str) -> None:
    with superuser_conn(db_url) as conn:
        conn.execute(
            "update webhook_deliveries set status = 'failed', next_retry_at = null"
            " where next_retry_at is not null and status <> 'success'"
        )


@pytest.fixture(autouse=True)
def loopback_allowed(runtime: Runtime) -> Iterator[None]:
    """Tests receive on 127.0.0.1 over plain http: the dev/test setting allows exactly that."""
    previous = runtime.settings.webhook_allow_http_loopback
    runtime.settings.webhook_allow_http_loopback = True
    yield
    runtime.settings.webhook_allow_http_loopback = previous


async def captured_lead(
    owner: Conn,
    client_id: uuid.UUID,
    *,
    config_id: uuid.UUID | None,
    status: str = "email_captured",
    **fields: Any,
) -> uuid.UUID:
    """A lead with an email, in a campaign of its own delivering to `config_id`."""
    campaign = await make_campaign(owner, client_id=client_id, webhook_config_id=config_id)
    values = {
        "linkedin_id": f"li-{uuid.uuid4().hex[:10]}",
        "email": f"lead-{uuid.uuid4().hex[:10]}@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "status": status,
    } | fields
    lead = await make_lead(owner, client_id=client_id, campaign_id=campaign["id"], **values)
    return uuid.UUID(str(lead["id"]))


def lead_status(db_url: str, lead_id: uuid.UUID) -> str:
    with superuser_conn(db_url) as conn:
        row = conn.execute("select status from leads where id = %s", (lead_id,)).fetchone()
    assert row
    return str(row["status"])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


@pytest.fixture
def wall_clock() -> Iterator[ManualClock]:
    """A manual clock installed process-wide (enqueue and the API read it too), starting at wall time
    so webhook timestamps stay verifiable."""
    manual = ManualClock(datetime.now(UTC))
    previous = set_clock(manual)
    yield manual
    set_clock(previous)


async def create_config(api: httpx.AsyncClient, tenant: Tenant, url: str, **extra: Any) -> dict[str, Any]:
    body = {"name": f"hook {uuid.uuid4().hex[:6]}", "url": url, **extra}
    response = await api.post("/v1/webhooks/configs", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def enqueue(runtime: Runtime, tenant: Tenant, lead_id: uuid.UUID) -> uuid.UUID:
    """As the lead engine will: in its own (service-role) transaction."""
    async with runtime.db.service(actor="test-lead-engine") as conn:
        delivery_id = await service.enqueue_lead_captured(conn, client_id=tenant.client_id, lead_id=lead_id)
    assert delivery_id is not None
    return delivery_id


async def dispatch(runtime: Runtime, clock: ManualClock, *, seed: int = 1, **kw: Any) -> int:
    return await dispatcher.deliver_due(
        runtime.db,
        clock=clock,
        limit=50,
        settings=runtime.settings,
        vault=runtime.vault,
        rng=random.Random(seed),
        **kw,
    )
