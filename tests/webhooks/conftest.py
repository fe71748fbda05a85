"""Fixtures for webhook tests: tenants with tokens, leads in campaigns, local receivers."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from revos.clock import ManualClock, set_clock
from revos.runtime import Runtime
from revos.security import jwt as jwt_tokens
from revos.webhooks import dispatcher, service
from revos.webhooks.receiver import Receiver
from tests.support import superuser_conn


@dataclass
class Tenant:
    client_id: uuid.UUID
    user_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


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


def make_tenant(db_url: str, runtime: Runtime, role: str = "admin") -> Tenant:
    tag = uuid.uuid4().hex[:10]
    with superuser_conn(db_url) as conn:
        agency = conn.execute(
            "insert into agencies (name, slug) values (%s, %s) returning id", (f"A {tag}", f"a-{tag}")
        ).fetchone()
        assert agency
        client = conn.execute(
            "insert into clients (agency_id, name) values (%s, %s) returning id", (agency["id"], f"C {tag}")
        ).fetchone()
        assert client
        user = conn.execute(
            "insert into users (client_id, email, role) values (%s, %s, %s) returning id",
            (client["id"], f"u-{tag}@example.com", role),
        ).fetchone()
        assert user
    claims = jwt_tokens.Claims(sub=str(user["id"]), client_id=client["id"], user_role=role)  # type: ignore[arg-type]
    return Tenant(client["id"], user["id"], jwt_tokens.issue(claims, runtime.jwt_secret))


@pytest.fixture
def tenant(db_url: str, runtime: Runtime) -> Tenant:
    return make_tenant(db_url, runtime)


def make_lead(
    db_url: str,
    client_id: uuid.UUID,
    *,
    config_id: uuid.UUID | None,
    status: str = "email_captured",
    **fields: Any,
) -> uuid.UUID:
    tag = uuid.uuid4().hex[:10]
    with superuser_conn(db_url) as conn:
        campaign = conn.execute(
            "insert into campaigns (client_id, name, trigger_word, webhook_config_id)"
            " values (%s, %s, 'GUIDE', %s) returning id",
            (client_id, f"Campaign {tag}", config_id),
        ).fetchone()
        assert campaign
        values = {
            "client_id": client_id,
            "campaign_id": campaign["id"],
            "linkedin_id": f"li-{tag}",
            "email": f"lead-{tag}@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "status": status,
        } | fields
        cols = ", ".join(values)
        lead = conn.execute(
            f"insert into leads ({cols}) values ({', '.join(['%s'] * len(values))}) returning id",
            list(values.values()),
        ).fetchone()
        assert lead
    return lead["id"]


def lead_status(db_url: str, lead_id: uuid.UUID) -> str:
    with superuser_conn(db_url) as conn:
        row = conn.execute("select status from leads where id = %s", (lead_id,)).fetchone()
    assert row
    return str(row["status"])


def delivery_row(db_url: str, delivery_id: uuid.UUID) -> dict[str, Any]:
    with superuser_conn(db_url) as conn:
        row = conn.execute("select * from webhook_deliveries where id = %s", (delivery_id,)).fetchone()
    assert row
    return row


def config_row(db_url: str, config_id: uuid.UUID) -> dict[str, Any]:
    with superuser_conn(db_url) as conn:
        row = conn.execute("select * from webhook_configs where id = %s", (config_id,)).fetchone()
    assert row
    return row


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


@pytest.fixture
def clock() -> Iterator[ManualClock]:
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
