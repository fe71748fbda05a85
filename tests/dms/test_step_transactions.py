"""A DM step in two transactions: the action is begun, its budget reserved and its attempt started with the
sequence's first read; LinkedIn's confirmation is recorded together with what it means for the lead. The
ledger's guarantees hold across both: never sent twice, never started without budget. These are the
executor's own (`run_step`, every step one at a time); tests/dms/test_lane.py has the same for a lane."""

from __future__ import annotations

from typing import Any

import pytest

from revos.dms import executor
from revos.sim import Persona
from tests.dms.conftest import World, fail_first_report
from tests.support import read_rows, superuser_conn


@pytest.fixture(autouse=True)
def one_step_at_a_time(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world.runtime.settings, "dm_lane_size", 1)


def _actions(world: World, sequence_id: Any) -> list[dict[str, Any]]:
    return read_rows(
        world.db_url,
        "select action_key, status, attempts, reserved_day, provider_id from linkedin_actions"
        " where action_key like %s order by created_at",
        f"%:{sequence_id}%",
    )


async def test_a_confirmation_that_cannot_be_recorded_is_reconciled_and_the_dm_is_never_sent_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = world.member("Ada", Persona(reply="none"))
    fail_first_report(monkeypatch, executor, "the step's outcome could not be recorded")
    lead_id = await world.comment(ada)
    assert lead_id is not None
    with pytest.raises(RuntimeError, match="could not be recorded"):
        await world.run()
    (sent,) = world.sim.sent_messages(to=ada)
    seq = world.seq(lead_id)
    # Neither the confirmation nor the sequence's move was kept: the attempt is in flight, unconfirmed.
    assert seq["stage"] == "step1"
    ((key, status, attempts),) = [
        (a["action_key"], a["status"], a["attempts"]) for a in _actions(world, seq["id"])
    ]
    assert (status, attempts) == ("in_flight", 1)

    await world.run(30)  # the attempt may still be under way: nothing is sent again
    assert world.sim.sent_messages(to=ada) == [sent]
    await world.run(world.runtime.settings.action_inflight_timeout_seconds + 1)
    # Stale: reconciled from the chat, confirmed with LinkedIn's id, and the lead goes on.
    assert world.sim.sent_messages(to=ada) == [sent]
    seq = world.seq(lead_id)
    assert seq["stage"] == "awaiting_reply"
    assert seq["step1_unipile_message_id"] == sent.id
    (action,) = _actions(world, seq["id"])
    assert (action["action_key"], action["status"], action["provider_id"]) == (key, "done", sent.id)
    assert world.lead(lead_id)["status"] == "dm_sent"


async def test_a_dm_over_the_days_cap_is_recorded_unstarted_and_goes_out_once_the_next_day(
    world: World,
) -> None:
    with superuser_conn(world.db_url) as conn:
        conn.execute(
            "update linkedin_accounts set safety = safety || '{\"cap_dm\": 1}'::jsonb where id = %s",
            (world.account.id,),
        )
    bea, cai = world.member("Bea", Persona(reply="none")), world.member("Cai", Persona(reply="none"))
    leads = {bea.provider_id: await world.comment(bea), cai.provider_id: await world.comment(cai)}
    await world.run()
    # One DM today (whichever was due first); the other waits for tomorrow's budget.
    (served,) = [m for m in (bea, cai) if world.sim.sent_messages(to=m)]
    (later,) = [m for m in (bea, cai) if m is not served]
    assert len(world.sim.sent_messages(to=served)) == 1
    assert world.sim.sent_messages(to=later) == []
    lead_id = leads[later.provider_id]
    assert lead_id is not None
    waiting = world.seq(lead_id)
    (action,) = _actions(world, waiting["id"])
    # Refused in the step's first transaction: the intent is kept, no attempt, no unit of budget taken.
    assert (action["status"], action["attempts"], action["reserved_day"]) == ("intent", 0, None)
    assert waiting["stage"] == "step1"
    assert waiting["next_action_at"] is not None
    assert any(e["kind"] == "waiting" for e in world.timeline(lead_id))

    await world.run(86400)
    (sent,) = world.sim.sent_messages(to=later)
    assert world.seq(lead_id)["step1_unipile_message_id"] == sent.id
    (action,) = _actions(world, waiting["id"])
    assert (action["status"], action["attempts"], action["provider_id"]) == ("done", 1, sent.id)
    assert len(world.sim.sent_messages(to=served)) == 1


async def test_a_confirmed_dm_forgets_the_accounts_429_strikes(world: World) -> None:
    with superuser_conn(world.db_url) as conn:
        conn.execute("update linkedin_accounts set rate_limit_strikes = 2 where id = %s", (world.account.id,))
    ada = world.member("Ada", Persona(reply="none"))
    await world.comment(ada)
    await world.run()
    assert len(world.sim.sent_messages(to=ada)) == 1
    (row,) = read_rows(
        world.db_url, "select rate_limit_strikes from linkedin_accounts where id = %s", world.account.id
    )
    assert row["rate_limit_strikes"] == 0  # the 429 backoff starts over
