"""Post tests: the simulator served over loopback HTTP, a ManualClock, a tenant with a connected account
and a running campaign."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from revos.runtime import Runtime
from revos.sim import Simulator
from revos.sim.models import Login
from tests.support import (
    Conn,
    Tenant,
    make_campaign,
    make_lead_magnet,
    make_linkedin_account,
    make_post,
    make_tenant,
)

# Safety that never makes a test wait: no working hours, no gap between two actions.
UNHURRIED = {"working_hours_enabled": False, "gap_min_seconds": 0, "gap_max_seconds": 0}


@dataclass
class World:
    owner: Conn
    tenant: Tenant
    login: Login
    unipile_account_id: str
    account_id: UUID
    campaign_id: UUID

    async def post(self, **columns: Any) -> UUID:
        """A post of the world's campaign by its account: a draft with the trigger word GUIDE, unless told
        otherwise."""
        values = {"trigger_word": "GUIDE", "status": "draft"} | columns
        row = await make_post(
            self.owner,
            client_id=self.tenant.client_id,
            campaign_id=self.campaign_id,
            linkedin_account_id=self.account_id,
            **values,
        )
        return UUID(str(row["id"]))


@pytest.fixture
async def world(owner: Conn, linkedin: Simulator, runtime: Runtime) -> World:
    tenant = await make_tenant(owner, runtime)
    login = linkedin.add_account(name="Jane Doe")
    account = linkedin.connect_account(login)
    account_row = await make_linkedin_account(
        owner,
        client_id=tenant.client_id,
        unipile_account_id=account.id,
        profile_data={"provider_id": login.provider_id, "first_name": "Jane"},
        safety=UNHURRIED,
    )
    magnet = await make_lead_magnet(owner, client_id=tenant.client_id)
    campaign = await make_campaign(
        owner,
        client_id=tenant.client_id,
        status="active",
        lead_magnet_id=magnet["id"],
        settings={},
        post_template="Comment {{trigger_word}} below and I'll send you {{lead_magnet_name}}.",
    )
    return World(owner, tenant, login, account.id, account_row["id"], campaign["id"])
