"""Post tests: the simulator served over loopback HTTP, a ManualClock, a tenant with a connected account
and a running campaign."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from revos.accounts.provider import close_linkedin_client, configure_linkedin_client
from revos.clock import ManualClock, set_clock
from revos.runtime import Runtime
from revos.sim import Simulator, serve
from revos.sim.models import Login
from tests.campaigns.support import Tenant, make_account, make_campaign_row, make_tenant
from tests.support import superuser_conn

SIM_KEY = "sim-key"


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    manual = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    previous = set_clock(manual)
    yield manual
    set_clock(previous)


@pytest.fixture
async def sim(clock: ManualClock, runtime: Runtime) -> AsyncIterator[Simulator]:
    simulator = Simulator(api_key=SIM_KEY, seed=uuid4().int % 10**9, clock=clock)
    async with serve(simulator, host="127.0.0.1", port=0) as base_url:
        configure_linkedin_client(
            runtime, base_url, SIM_KEY, backoff_base=0.001, backoff_max=0.01, timeout=30.0
        )
        try:
            yield simulator
        finally:
            await close_linkedin_client(runtime)


@dataclass
class World:
    tenant: Tenant
    login: Login
    unipile_account_id: str
    account_id: UUID
    campaign_id: UUID


@pytest.fixture
def world(sim: Simulator, db_url: str, runtime: Runtime) -> World:
    tenant = make_tenant(db_url, runtime)
    login = sim.add_account(name="Jane Doe")
    account = sim.connect_account(login)
    account_id = make_account(
        db_url,
        tenant.client_id,
        unipile_account_id=account.id,
        profile_data=json.dumps({"provider_id": login.provider_id, "first_name": "Jane"}),
    )
    campaign_id = make_campaign_row(
        db_url,
        tenant.client_id,
        post_template="Comment {{trigger_word}} below and I'll send you {{lead_magnet_name}}.",
    )
    return World(tenant, login, account.id, account_id, campaign_id)


def make_post_row(db_url: str, world: World, **columns: Any) -> UUID:
    values: dict[str, Any] = {
        "client_id": world.tenant.client_id,
        "campaign_id": world.campaign_id,
        "linkedin_account_id": world.account_id,
        "content": "Comment GUIDE below",
        "trigger_word": "GUIDE",
        "status": "draft",
    } | columns
    cols = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    with superuser_conn(db_url) as conn:
        row = conn.execute(
            f"insert into posts ({cols}) values ({marks}) returning id", list(values.values())
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))
