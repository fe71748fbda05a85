"""An account's due DM steps as one lane (revos.dms.lane): one transaction before the calls, one after,
and the ledger's guarantees as one step at a time — never sent twice, never started without budget, a
429 stops what is left, an answer that is lost is reconciled before anything is sent again."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from revos.dms import executor, lane
from revos.sim import FaultRule, Member, Persona
from tests.dms.conftest import World, fail_first_report
from tests.support import read_rows, superuser_conn


async def _commenters(world: World, *names: str) -> dict[str, tuple[Member, UUID]]:
    """Members who comment the trigger word, 1st-degree connections (their first step is a DM)."""
    out: dict[str, tuple[Member, UUID]] = {}
    for name in names:
        member = world.member(name, Persona(reply="none"))
        lead_id = await world.comment(member)
        assert lead_id is not None
        out[name] = (member, lead_id)
        world.clock.advance(1)
    with superuser_conn(world.db_url) as conn:
        conn.execute(
            "update comments set author_network_distance = 'FIRST_DEGREE' where post_id = %s",
            (world.scene.post_id,),
        )
    return out


def _actions(world: World) -> list[dict[str, Any]]:
    return read_rows(
        world.db_url,
        "select action_key, status, attempts, provider_id from linkedin_actions"
        " where linkedin_account_id = %s and kind = 'dm' order by created_at",
        world.account.id,
    )


def _dm_units(world: World) -> int:
    rows = read_rows(
        world.db_url,
        "select coalesce(sum(used), 0) as n from account_daily_usage where linkedin_account_id = %s"
        " and kind = 'dm'",
        world.account.id,
    )
    return int(rows[0]["n"])


async def test_a_lane_sends_each_due_first_dm_once_in_two_transactions(world: World) -> None:
    people = await _commenters(world, "Ann", "Ben", "Cid")
    transactions: list[str] = []
    begin = world.runtime.db.service

    def counting(actor: str = "system") -> Any:
        transactions.append(actor)
        return begin(actor)

    world.runtime.db.service = counting  # type: ignore[method-assign]
    try:
        done = await lane.run(
            world.runtime, world.account.id, [world.seq(lead)["id"] for _, lead in people.values()]
        )
    finally:
        world.runtime.db.service = begin  # type: ignore[method-assign]

    assert set(done.outcomes.values()) == {"done"}
    assert not done.rest
    assert not done.busy
    # One transaction before the calls, one after (besides the echoes of the DMs, received meanwhile).
    assert [actor for actor in transactions if actor == "dms"] == ["dms", "dms"]
    for member, lead_id in people.values():
        (sent,) = world.sim.sent_messages(to=member)
        seq = world.seq(lead_id)
        assert (seq["stage"], seq["step1_unipile_message_id"]) == ("awaiting_reply", sent.id)
        assert seq["unipile_chat_id"] == sent.chat.id
        assert world.lead(lead_id)["status"] == "dm_sent"
    assert [a["status"] for a in _actions(world)] == ["done"] * 3
    assert _dm_units(world) == 3


async def test_answers_that_cannot_be_recorded_are_reconciled_and_no_dm_is_sent_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await _commenters(world, "Ada", "Bo")
    fail_first_report(monkeypatch, lane, "the lane's outcome could not be recorded")
    with pytest.raises(RuntimeError, match="could not be recorded"):
        await world.run()
    sent = {name: world.sim.sent_messages(to=member) for name, (member, _) in people.items()}
    assert all(len(messages) == 1 for messages in sent.values())
    # Nothing of the lane's second transaction was kept: both attempts in flight, unconfirmed.
    assert [(a["status"], a["attempts"]) for a in _actions(world)] == [("in_flight", 1)] * 2

    await world.run(30)  # the attempts may still be under way: nothing is sent again
    await world.run(world.runtime.settings.action_inflight_timeout_seconds + 1)
    for name, (member, lead_id) in people.items():
        assert world.sim.sent_messages(to=member) == sent[name]
        seq = world.seq(lead_id)
        assert (seq["stage"], seq["step1_unipile_message_id"]) == ("awaiting_reply", sent[name][0].id)
    assert [(a["status"], a["attempts"]) for a in _actions(world)] == [("done", 1)] * 2


async def test_a_dm_over_the_days_cap_waits_unrecorded_and_goes_out_once_the_next_day(world: World) -> None:
    with superuser_conn(world.db_url) as conn:
        conn.execute(
            "update linkedin_accounts set safety = safety || '{\"cap_dm\": 2}'::jsonb where id = %s",
            (world.account.id,),
        )
    people = await _commenters(world, "Bea", "Cai", "Dot")
    await world.run()
    served = [name for name, (member, _) in people.items() if world.sim.sent_messages(to=member)]
    assert served == ["Bea", "Cai"]  # in due order, up to the cap
    dot, lead_id = people["Dot"]
    assert world.sim.sent_messages(to=dot) == []
    # Refused by the budget before its action was recorded: no ledger row, no unit, the lead waits.
    assert len(_actions(world)) == 2
    assert _dm_units(world) == 2
    waiting = world.seq(lead_id)
    assert waiting["stage"] == "step1"
    assert waiting["next_action_at"] is not None
    assert any(e["kind"] == "waiting" for e in world.timeline(lead_id))

    await world.run(86400)
    (sent,) = world.sim.sent_messages(to=dot)
    assert world.seq(lead_id)["step1_unipile_message_id"] == sent.id
    assert [a["status"] for a in _actions(world)] == ["done"] * 3


async def test_a_429_stops_the_lane_and_every_dm_goes_out_once_after_the_pause(world: World) -> None:
    people = await _commenters(world, "Eve", "Fay", "Gus")
    world.sim.faults.add(FaultRule("rate_limit", route="POST /chats", times=1))
    await world.run(rounds=1)
    # The first call was refused: the account pauses, nothing after it is sent, every unit is given back.
    account = read_rows(world.db_url, "select * from linkedin_accounts where id = %s", world.account.id)[0]
    assert account["pause_source"] == "rate_limited"
    assert world.sim.sent_messages() == []
    assert _dm_units(world) == 0
    for _, lead_id in people.values():
        assert world.seq(lead_id)["stage"] == "step1"

    await world.run(world.runtime.settings.safety_rate_limit_pause_seconds + 1)
    for member, lead_id in people.values():
        (sent,) = world.sim.sent_messages(to=member)
        assert world.seq(lead_id)["step1_unipile_message_id"] == sent.id
    assert [a["status"] for a in _actions(world)] == ["done"] * 3
    assert _dm_units(world) == 3


async def test_a_timeout_after_a_dm_went_out_leaves_the_rest_of_the_lane_going_and_sends_it_once(
    world: World,
) -> None:
    people = await _commenters(world, "Hal", "Ivy", "Jon")
    world.sim.faults.add(FaultRule("timeout", route="POST /chats", after=True, times=1))
    await world.run(rounds=1)
    _hal, hal_lead = people["Hal"]
    assert world.seq(hal_lead)["stage"] == "step1"  # its answer was lost: not confirmed yet
    for name in ("Ivy", "Jon"):
        member, lead_id = people[name]
        assert len(world.sim.sent_messages(to=member)) == 1
        assert world.seq(lead_id)["stage"] == "awaiting_reply"

    await world.run(30, rounds=3)  # reconciliation finds Hal's message in the chat
    for member, lead_id in people.values():
        (sent,) = world.sim.sent_messages(to=member)
        assert world.seq(lead_id)["step1_unipile_message_id"] == sent.id
    assert "send_uncertain" in [e["kind"] for e in world.timeline(hal_lead)]
    assert [a["status"] for a in _actions(world)] == ["done"] * 3


async def test_an_invitation_accepted_before_it_was_recorded_goes_on_to_the_first_dm(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    kim = world.member("Kim", Persona(on_invite="accept", invite_delay=0, reply="never"), connected=False)
    lead_id = await world.comment(kim)
    assert lead_id is not None
    with superuser_conn(world.db_url) as conn:
        conn.execute("update comments set author_network_distance = 'SECOND_DEGREE' where post_id = %s",
                     (world.scene.post_id,))  # fmt: skip
    report = lane.report

    async def accepted_first(*args: Any, **kwargs: Any) -> str:
        # LinkedIn's new_relation webhook is received before the lane records the invitation (its job,
        # run later, finds nothing at the stage it looks for).
        await world.sim.settle()
        return await report(*args, **kwargs)

    # A lone step goes one at a time (revos.dms.executor), with the same report.
    monkeypatch.setattr(lane, "report", accepted_first)
    monkeypatch.setattr(executor, "report", accepted_first)
    await world.run(rounds=1)
    monkeypatch.setattr(lane, "report", report)
    monkeypatch.setattr(executor, "report", report)
    (invitation,) = world.sim.invitations(to=kim)
    assert world.seq(lead_id)["stage"] == "step1"  # accepted: the first DM is next, not hours of waiting

    await world.run(world.runtime.settings.dm_step1_delay_max_seconds + 1)
    # Besides the note, which LinkedIn turns into the chat's first message: one DM.
    (sent,) = [m for m in world.sim.sent_messages(to=kim) if m.text != invitation.message]
    assert world.seq(lead_id)["step1_unipile_message_id"] == sent.id
    kinds = [e["kind"] for e in world.timeline(lead_id)]
    assert kinds.index("invitation_sent") < kinds.index("invitation_accepted") < kinds.index("dm_sent")
