"""Fixtures for accounts, actions and inbound tests: the simulator over loopback HTTP, the revOS API served
on loopback too (so the simulator's webhooks reach /hooks/unipile for real), a ManualClock, a tenant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
import uvicorn

from revos.accounts.provider import close_linkedin_client, configure_linkedin_client
from revos.clock import ManualClock, SystemClock, set_clock
from revos.runtime import Runtime
from revos.security.jwt import Claims, issue
from revos.sim import Simulator, serve
from tests.factories import Tenant, make_tenant
from tests.helpers import superuser_conn

SIM_KEY = "sim-key"
# A Monday, 09:00 UTC: inside default working hours.
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    manual = ManualClock(START)
    previous = set_clock(manual)
    yield manual
    set_clock(previous)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    # A fresh seed per test: simulator ids derive from it, and the session's database keeps every account.
    return Simulator(api_key=SIM_KEY, seed=uuid4().int % 10**9, clock=clock, webhook_retry_delays=(1.0, 2.0))


@pytest.fixture
async def revos_url(runtime: Runtime) -> AsyncIterator[str]:
    """The revOS API on a loopback port; settings.public_base_url points at it for the test."""
    from revos.app import create_app

    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    previous = runtime.settings.public_base_url
    runtime.settings.public_base_url = url
    try:
        yield url
    finally:
        runtime.settings.public_base_url = previous
        server.should_exit = True
        await task


@pytest.fixture
async def linkedin(sim: Simulator, runtime: Runtime, revos_url: str) -> AsyncIterator[Simulator]:
    """The simulator served on loopback, with the runtime's Unipile client pointed at it."""
    async with serve(sim, host="127.0.0.1", port=0) as base_url:
        configure_linkedin_client(
            runtime, base_url, SIM_KEY, backoff_base=0.001, backoff_max=0.01, timeout=30.0
        )
        try:
            yield sim
        finally:
            await close_linkedin_client(runtime)


@pytest.fixture
def tenant(db_url: str) -> Tenant:
    return make_tenant(db_url)


def headers(runtime: Runtime, tenant: Tenant, role: str = "admin") -> dict[str, str]:
    claims = Claims.model_validate(
        {"sub": str(tenant.admin_id), "client_id": str(tenant.client_id), "user_role": role}
    )
    # Tokens are checked against wall time; the tests' ManualClock lives in January.
    previous = set_clock(SystemClock())
    try:
        token = issue(claims, runtime.jwt_secret)
    finally:
        set_clock(previous)
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Connected:
    id: UUID
    unipile_account_id: str
    login: Any


async def connect_account(
    api: Any, runtime: Runtime, tenant: Tenant, sim: Simulator, **safety: Any
) -> Connected:
    """Connect a fresh simulated login through the API (no checkpoint); safety overrides applied."""
    login = sim.add_account(name="Jane Doe", password="pw")
    body = {"username": login.username, "password": "pw", "safety": safety}
    response = await api.post("/v1/linkedin-accounts", json=body, headers=headers(runtime, tenant))
    assert response.status_code == 201, response.text
    data = response.json()
    return Connected(UUID(data["id"]), data["unipile_account_id"], login)


def account_row(db_url: str, account_id: UUID) -> dict[str, Any]:
    with superuser_conn(db_url) as conn:
        row = conn.execute("select * from linkedin_accounts where id = %s", (account_id,)).fetchone()
    assert row is not None
    return row


async def process_inbox(runtime: Runtime, account_id: UUID) -> int:
    """What the worker's `inbound.process` jobs do: handle every unprocessed event of the account."""
    from revos.inbound import process_event

    async with runtime.db.raw() as conn:
        rows = await (
            await conn.execute(
                "select id from inbound_events where linkedin_account_id = %s and processed_at is null"
                " order by received_at, created_at",
                (account_id,),
            )
        ).fetchall()
    for row in rows:
        await process_event(runtime, row["id"])
    return len(rows)


def make_account(
    db_url: str, tenant: Tenant, *, unipile_account_id: str | None = None, **columns: Any
) -> UUID:
    """An active account row written as the owner (credential columns hold placeholder ciphertext)."""
    import json

    values: dict[str, Any] = {
        "client_id": tenant.client_id,
        "account_name": f"acct-{uuid4().hex[:8]}",
        "linkedin_email": b"\x00",
        "linkedin_password": b"\x00",
        "unipile_account_id": unipile_account_id,
        "status": "active",
        "provider_status": "OK",
        "warmup_started_at": None,
    } | columns
    if isinstance(values.get("safety"), dict):
        values["safety"] = json.dumps(values["safety"])
    cols = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    with superuser_conn(db_url) as conn:
        row = conn.execute(
            f"insert into linkedin_accounts ({cols}) values ({marks}) returning id", list(values.values())
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))
