"""Two workers on one action: a reconciliation that looked at LinkedIn while another worker's attempt was on
its way must not conclude "not sent", and a late answer to a stale attempt must not undo the newer one.
Attempts are held at a gate before they reach the simulator, so the interleaving is the same on every run."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from revos.actions import ledger
from revos.actions.models import Action, ActionOutcome, Call, ProviderIds
from revos.actions.reconcile import reconcile_dm, send_dm
from revos.clock import ManualClock
from revos.linkedin import UnipileClient
from revos.runtime import Runtime
from revos.sim import FaultRule, Simulator
from tests.actions.test_ledger import Setup, _dm_usage, setup  # noqa: F401 - the fixture
from tests.support import Tenant

CEILING = 30  # seconds: generous, the steps below wait on each other, not on the machine


@pytest.mark.parametrize("late", ["perform", "settle"])
async def test_a_late_reconciliation_neither_resends_nor_gives_up_an_attempt_in_flight(
    late: str,
    runtime: Runtime,
    tenant: Tenant,
    linkedin: Simulator,
    setup: Setup,  # noqa: F811
) -> None:
    # Attempt 1 timed out before the DM left: ambiguous, and nothing at LinkedIn.
    linkedin.faults.add(FaultRule("timeout", route="POST /chats", times=1))
    async with runtime.db.service() as conn:
        action = await ledger.begin(
            conn,
            client_id=tenant.client_id,
            account_id=setup.account_id,
            kind="dm",
            key=f"dm:{uuid4()}",
            target=setup.friend.provider_id,
            payload={"text": "Only one of these"},
        )
    assert (await ledger.perform(runtime, action.id, send_dm, reconcile_dm)).status == "ambiguous"

    # Worker B has read the ambiguous row and is about to look at LinkedIn...
    b_reading, b_go = asyncio.Event(), asyncio.Event()

    async def late_look(client: UnipileClient, a: Action) -> ProviderIds | None:
        b_reading.set()
        await b_go.wait()
        return await reconcile_dm(client, a)

    # ...while worker A reconciles (not sent), starts attempt 2 and sends: held before LinkedIn has it.
    a_sending, a_go = asyncio.Event(), asyncio.Event()

    async def held_send(client: UnipileClient, a: Action) -> ProviderIds:
        a_sending.set()
        await a_go.wait()
        return await send_dm(client, a)

    worker_b: asyncio.Task[ActionOutcome]
    if late == "perform":
        worker_b = asyncio.create_task(ledger.perform(runtime, action.id, send_dm, late_look))
    else:
        worker_b = asyncio.create_task(ledger.settle(runtime, action.id, late_look, unsent_reason="moved on"))
    await asyncio.wait_for(b_reading.wait(), CEILING)
    worker_a = asyncio.create_task(ledger.perform(runtime, action.id, held_send, reconcile_dm))
    await asyncio.wait_for(a_sending.wait(), CEILING)
    b_go.set()  # B sees no DM at LinkedIn: A's is still on its way
    b = await asyncio.wait_for(worker_b, CEILING)
    a_go.set()
    a = await asyncio.wait_for(worker_a, CEILING)

    assert len(linkedin.sent_messages(setup.unipile_id, to=setup.friend)) == 1
    assert a.status == "done", a
    assert b.status == "deferred", b  # B's look predates attempt 2: it concludes nothing
    assert "another attempt" in b.reason
    async with runtime.db.service() as conn:
        final = await ledger.get(conn, action.id)
    assert (final.status, final.attempts) == ("done", 2)


async def test_a_late_answer_to_a_stale_attempt_leaves_the_newer_attempt_alone(
    runtime: Runtime,
    tenant: Tenant,
    linkedin: Simulator,
    setup: Setup,  # noqa: F811
    clock: ManualClock,
    db_url: str,
) -> None:
    async with runtime.db.service() as conn:
        action = await ledger.begin(
            conn,
            client_id=tenant.client_id,
            account_id=setup.account_id,
            kind="dm",
            key=f"dm:{uuid4()}",
            target=setup.friend.provider_id,
            payload={"text": "Still only one"},
        )
    gates = {"a": asyncio.Event(), "b": asyncio.Event()}
    sending = {"a": asyncio.Event(), "b": asyncio.Event()}

    def held(name: str) -> Call:
        async def send(client: UnipileClient, a: Action) -> ProviderIds:
            sending[name].set()
            await gates[name].wait()
            return await send_dm(client, a)

        return send

    # Worker A's attempt hangs long enough to be presumed crashed; worker B reconciles it (nothing at
    # LinkedIn), releases it and starts attempt 2, held before LinkedIn has it.
    worker_a = asyncio.create_task(ledger.perform(runtime, action.id, held("a"), reconcile_dm))
    await asyncio.wait_for(sending["a"].wait(), CEILING)
    clock.advance(seconds=runtime.settings.action_inflight_timeout_seconds + 1)
    worker_b = asyncio.create_task(ledger.perform(runtime, action.id, held("b"), reconcile_dm))
    await asyncio.wait_for(sending["b"].wait(), CEILING)
    # A's request finally gets its answer, a 503 (outcome unknown): it must not mark attempt 2 ambiguous...
    linkedin.faults.add(FaultRule("error", route="POST /chats", status=503, times=1))
    gates["a"].set()
    a = await asyncio.wait_for(worker_a, CEILING)
    assert a.status == "ambiguous", a
    # ...so a third worker finds attempt 2 in flight and waits, instead of reconciling it (nothing at
    # LinkedIn yet) and sending a second DM.
    c = await ledger.perform(runtime, action.id, send_dm, reconcile_dm)
    assert c.status == "deferred", c
    gates["b"].set()
    b = await asyncio.wait_for(worker_b, CEILING)
    assert b.status == "done", b
    assert len(linkedin.sent_messages(setup.unipile_id, to=setup.friend)) == 1
    assert b.action.attempts == 2
    assert _dm_usage(db_url, setup) == 1  # attempt 1's unit given back once, attempt 2's kept
