"""DM-sequence tests: the simulator and the revOS API on loopback (webhooks arrive for real), a ManualClock,
a connected LinkedIn account and a campaign with a lead magnet file on local disk."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from revos.clock import ManualClock
from revos.dms import runs
from revos.leads.lifecycle import entry
from revos.magnets.storage import local_root
from revos.runtime import Runtime
from revos.sim import Member, Persona, Simulator
from tests.leads.setup import Scene, campaign_and_post, comment_on, make_scene
from tests.support import Conn, Connected, Tenant, connect_account, process_inbox, read_rows, superuser_conn

FAST = {"gap_min_seconds": 0, "gap_max_seconds": 0, "working_hours_enabled": False, "warmup_days": 0}
SETTINGS = {
    "step1_delay_min_seconds": 0,
    "step1_delay_max_seconds": 0,
    "step2_delay_seconds": 60,
    "step3_delay_seconds": 3600,
    "abandon_after_days": 7,
}
GUIDE = b"%PDF-1.4 the growth guide\n"


@dataclass
class World:
    owner: Conn
    runtime: Runtime
    sim: Simulator
    clock: ManualClock
    db_url: str
    account: Connected
    scene: Scene

    def member(self, first: str, persona: Persona | None = None, *, connected: bool = True) -> Member:
        return self.sim.add_member(
            first, "Tester", persona=persona, connected_to=[self.account.login] if connected else []
        )

    async def comment(self, member: Member, text: str = "GUIDE please") -> UUID | None:
        campaign, post = campaign_and_post(self.db_url, self.scene)
        row = await comment_on(self.owner, self.scene, member.provider_id, member.name, text)
        async with self.runtime.db.service() as conn:
            return await entry.trigger_comment(self.runtime, conn, comment=row, post=post, campaign=campaign)

    async def run(self, seconds: float = 0, rounds: int = 4) -> None:
        """Let time pass, then do the worker's part: deliver webhooks, process the inbox, run due steps."""
        if seconds:
            self.clock.advance(seconds)
        for _ in range(rounds):
            await self.sim.settle()
            await process_inbox(self.runtime, self.account.id)
            await runs.dispatch_due(self.runtime, inline=True)

    def lead(self, lead_id: UUID) -> dict[str, Any]:
        return read_rows(self.db_url, "select * from leads where id = %s", lead_id)[0]

    def seq(self, lead_id: UUID) -> dict[str, Any]:
        return read_rows(self.db_url, "select * from dm_sequences where lead_id = %s", lead_id)[0]

    def timeline(self, lead_id: UUID) -> list[dict[str, Any]]:
        return read_rows(
            self.db_url,
            "select kind, reason, data from lead_events where lead_id = %s order by occurred_at, created_at",
            lead_id,
        )


def fail_first_report(monkeypatch: pytest.MonkeyPatch, module: Any, message: str) -> None:
    """`module.report` (the step's outcome told to the lead) raises `message` on its first call only."""
    report = module.report
    calls = 0

    async def failing_once(*args: Any, **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError(message)
        return str(await report(*args, **kwargs))

    monkeypatch.setattr(module, "report", failing_once)


def magnet_file(runtime: Runtime, client_id: UUID) -> str:
    key = f"{client_id}/{uuid.uuid4().hex}.pdf"
    path = Path(local_root(runtime.settings)) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(GUIDE)
    return key


@pytest.fixture
async def world(
    owner: Conn,
    api: Any,
    runtime: Runtime,
    linkedin: Simulator,
    clock: ManualClock,
    db_url: str,
    tenant: Tenant,
) -> World:
    account = await connect_account(api, runtime, tenant, linkedin, **FAST)
    scene = await make_scene(
        owner,
        tenant=tenant,
        account_id=account.id,
        settings=SETTINGS,
        file_path=magnet_file(runtime, tenant.client_id),
        webhook=True,
    )
    with superuser_conn(db_url) as conn:
        conn.execute(
            "update lead_magnets set storage_backend = 'local' where id = %s", (scene.lead_magnet_id,)
        )
    return World(owner, runtime, linkedin, clock, db_url, account, scene)
