"""The fixtures tests share (registered by tests/conftest.py): a connection as the owner for set-up rows, a
ManualClock, the simulator and the revOS API on loopback (so the simulator's webhooks reach /hooks/unipile
for real), a tenant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest
import uvicorn

from revos.accounts.provider import close_linkedin_client, configure_linkedin_client
from revos.clock import ManualClock, set_clock
from revos.runtime import Runtime
from revos.sim import Simulator, serve
from tests.support.db import connect
from tests.support.rows import Conn
from tests.support.tenant import Tenant, make_tenant

SIM_KEY = "sim-key"
# A Monday, 09:00 UTC: inside default working hours.
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
async def owner(db_url: str) -> AsyncIterator[Conn]:
    """An autocommit connection to the session's database as its owner: what the row factories write with."""
    async with connect(db_url) as conn:
        yield conn


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    """A ManualClock at START, installed process-wide for the test."""
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
async def tenant(owner: Conn, runtime: Runtime) -> Tenant:
    """A client of a new agency and its admin, with the admin's bearer token."""
    return await make_tenant(owner, runtime)
