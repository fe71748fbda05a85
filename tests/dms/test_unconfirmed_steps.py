"""A step LinkedIn recorded but never confirmed (the answer timed out) while the conversation moves on:
it is confirmed from the chat, never sent again, and counted as sent."""

from __future__ import annotations

from revos.leads.lifecycle import base as lifecycle_base
from revos.sim import FaultRule, Persona
from tests.dms.conftest import World
from tests.support import read_rows


def _action(world: World, key: str) -> dict[str, object]:
    (action,) = read_rows(
        world.db_url, "select status, provider_id from linkedin_actions where action_key = %s", key
    )
    return action


async def test_a_reply_before_the_first_dm_is_confirmed_confirms_it_and_the_next_step_waits_for_that(
    world: World,
) -> None:
    eve = world.member("Eve", Persona(reply="email", reply_delay=600, email="eve@example.com"))
    world.sim.faults.add(FaultRule("timeout", route="POST /chats", after=True, times=1))
    unreadable = world.sim.faults.add(FaultRule("error", route="GET /chats*", status=503))
    lead_id = await world.comment(eve)
    assert lead_id is not None
    await world.run(rounds=2)
    await world.run(10)  # reconciling cannot read the chat yet
    (first,) = world.sim.sent_messages(to=eve)

    await world.run(700)  # their reply (by webhook) carries the email: the sequence moves to step 2
    seq = world.seq(lead_id)
    assert seq["stage"] == "step2"
    assert world.lead(lead_id)["email"] == "eve@example.com"

    await world.run(61)  # step 2 is due, but the first DM is still unconfirmed: nothing more is sent
    assert world.sim.sent_messages(to=eve) == [first]

    world.sim.faults.remove(unreadable)
    await world.run(120)
    sent = world.sim.sent_messages(to=eve)
    assert [m.text for m in sent].count(first.text) == 1
    assert len(sent) == 2  # the first DM once, then the confirmation
    seq = world.seq(lead_id)
    assert seq["step1_unipile_message_id"] == first.id
    assert seq["step1_sent_at"] is not None
    assert seq["step2_sent_at"] is not None
    assert _action(world, f"dm:{seq['id']}:1") == {"status": "done", "provider_id": first.id}
    kinds = [e["kind"] for e in world.timeline(lead_id)]
    assert kinds.count("dm_sent") == 2  # the first DM (confirmed late) and step 2


async def test_a_follow_up_not_yet_confirmed_holds_off_abandoning_the_lead(world: World) -> None:
    fay = world.member("Fay", Persona(reply="no_email", reply_delay=600))
    lead_id = await world.comment(fay)
    assert lead_id is not None
    await world.run()
    world.sim.faults.add(FaultRule("timeout", route="POST /chats/*/messages", after=True, times=1))
    unreadable = world.sim.faults.add(FaultRule("error", route="GET /chats*", status=503))
    await world.run(700)  # a reply without an email
    await world.run(61)  # the follow-up goes out, but its answer times out
    assert len(world.sim.sent_messages(to=fay)) == 2

    await world.run(8 * 86400)  # past abandon_at (7 days after the first DM)
    await lifecycle_base.abandon_due(world.runtime)
    assert world.seq(lead_id)["status"] == "in_progress"

    world.sim.faults.remove(unreadable)
    await world.run(61)
    seq = world.seq(lead_id)
    assert seq["followup_sent_at"] is not None
    assert _action(world, f"dm:{seq['id']}:followup")["status"] == "done"
    assert len(world.sim.sent_messages(to=fay)) == 2  # confirmed, not sent again
    await world.run(8 * 86400)
    await lifecycle_base.abandon_due(world.runtime)
    assert world.seq(lead_id)["status"] == "abandoned"


async def test_an_invitation_accepted_before_its_timeout_was_reconciled_is_sent_once_and_goes_on_as_accepted(
    world: World,
) -> None:
    cleo = world.member("Cleo", Persona(on_invite="accept", invite_delay=1, reply="never"), connected=False)
    world.sim.faults.add(FaultRule("timeout", route="POST /users/invite", after=True, times=1))
    lead_id = await world.comment(cleo)
    assert lead_id is not None
    await world.run(rounds=2)  # LinkedIn recorded the invitation; its answer was lost
    assert len(world.sim.invitations(to=cleo)) == 1
    await world.run(60, rounds=4)  # she accepted; then the reconciliation, then the first DM

    assert len(world.sim.calls("POST", "/users/invite")) == 1
    seq = world.seq(lead_id)
    assert _action(world, f"invite:{seq['id']}") == {
        "status": "done",
        "provider_id": f"connected:{cleo.provider_id}",
    }
    assert world.lead(lead_id)["status"] == "dm_sent"
    kinds = [e["kind"] for e in world.timeline(lead_id)]
    # LinkedIn's acceptance event and the reconciliation of the lost answer may arrive in either order;
    # both are on the timeline, once each, before the DM.
    assert kinds.count("invitation_sent") == kinds.count("invitation_accepted") == 1
    assert max(kinds.index("invitation_sent"), kinds.index("invitation_accepted")) < kinds.index("dm_sent")
