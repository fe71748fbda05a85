"""LinkedIn accounts connected through the API against the simulator, and the inbox processed the way the
worker processes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from revos.runtime import Runtime
from revos.sim import Simulator
from tests.support.tenant import Tenant, headers


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


async def process_inbox(runtime: Runtime, account_id: UUID) -> int:
    """What the worker's inbox drain does: handle every unprocessed event of the account."""
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
