"""The 3-step DM sequence against the simulator: what each commenter receives, exactly once."""

from __future__ import annotations

import json
from typing import Any

from revos.sim import FaultRule, Persona
from tests.dms.conftest import GUIDE, World
from tests.support import read_rows


async def test_a_connected_commenter_who_replies_with_an_email_gets_all_three_steps_and_a_working_link(
    world: World, api: object
) -> None:
    ada = world.member("Ada", Persona(reply="email", reply_delay=600, email="ada@example.com"))
    lead_id = await world.comment(ada)
    assert lead_id is not None

    await world.run()
    assert world.lead(lead_id)["status"] == "dm_sent"
    assert len(world.sim.sent_messages(to=ada)) == 1

    await world.run(700)  # the reply arrives by webhook
    seq = world.seq(lead_id)
    assert world.lead(lead_id)["email"] == "ada@example.com"
    assert world.lead(lead_id)["status"] == "email_captured"
    assert seq["stage"] == "step2"

    await world.run(61)  # step 2 confirms and the lead is handed to the ESP webhook
    assert len(world.sim.sent_messages(to=ada)) == 2
    deliveries = read_rows(
        world.db_url, "select event_type from webhook_deliveries where lead_id = %s", lead_id
    )
    assert [d["event_type"] for d in deliveries] == ["lead.captured"]

    await world.run(3601)  # step 3: the backup link
    sent = world.sim.sent_messages(to=ada)
    assert len(sent) == 3
    seq = world.seq(lead_id)
    assert seq["status"] == "completed"
    assert world.lead(lead_id)["status"] == "backup_sent"
    assert seq["download_url"] in (sent[-1].text or "")

    path = seq["download_url"].split("://", 1)[1].split("/", 1)[1]
    response = await api.get("/" + path)  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert response.content == GUIDE
    seq = world.seq(lead_id)
    assert seq["link_clicked"] is True
    assert seq["link_clicked_at"] is not None
    assert world.lead(lead_id)["status"] == "completed"
    (magnet,) = read_rows(
        world.db_url, "select download_count from lead_magnets where id = %s", world.scene.lead_magnet_id
    )
    assert magnet["download_count"] == 1
    messages = read_rows(
        world.db_url, "select direction from dm_messages where dm_sequence_id = %s", seq["id"]
    )
    assert sorted(m["direction"] for m in messages) == ["inbound", "outbound", "outbound", "outbound"]


async def test_a_second_comment_never_produces_a_second_dm(world: World) -> None:
    bob = world.member("Bob", Persona(reply="never"))
    lead_id = await world.comment(bob)
    await world.run()
    assert await world.comment(bob, "GUIDE again!") is None
    await world.run(3600)
    assert len(world.sim.sent_messages(to=bob)) == 1
    kinds = [e["kind"] for e in world.timeline(lead_id)]  # type: ignore[arg-type]
    assert "commented_again" in kinds


async def test_a_commenter_who_is_not_connected_is_invited_first_and_gets_the_dm_after_accepting(
    world: World,
) -> None:
    cleo = world.member(
        "Cleo", Persona(on_invite="accept", invite_delay=1800, reply="never"), connected=False
    )
    lead_id = await world.comment(cleo)
    assert lead_id is not None

    await world.run()
    (invitation,) = world.sim.invitations(to=cleo)
    assert invitation.message  # a note goes with it
    assert len(invitation.message) <= 300
    assert world.sim.sent_messages(to=cleo) == []
    assert world.seq(lead_id)["stage"] == "awaiting_acceptance"

    await world.run(1900)  # accepted: the note becomes a chat (webhook), then the first DM
    sent = world.sim.sent_messages(to=cleo)
    assert sent[0].text == invitation.message
    assert len(sent) == 2
    assert world.lead(lead_id)["status"] == "dm_sent"
    kinds = [e["kind"] for e in world.timeline(lead_id)]
    assert kinds.index("invitation_sent") < kinds.index("invitation_accepted") < kinds.index("dm_sent")


async def test_a_timeout_after_the_first_dm_went_out_does_not_send_it_twice(world: World) -> None:
    dan = world.member("Dan", Persona(reply="never"))
    world.sim.faults.add(FaultRule("timeout", route="POST /chats", after=True, times=1))
    lead_id = await world.comment(dan)
    assert lead_id is not None

    await world.run(rounds=2)
    await world.run(30, rounds=3)  # reconciliation finds the message in the chat
    assert len(world.sim.sent_messages(to=dan)) == 1
    assert world.lead(lead_id)["status"] == "dm_sent"
    assert world.seq(lead_id)["step1_unipile_message_id"] == world.sim.sent_messages(to=dan)[0].id
    kinds = [e["kind"] for e in world.timeline(lead_id)]
    assert "send_uncertain" in kinds


async def test_a_reply_whose_webhook_was_lost_is_found_by_polling(world: World) -> None:
    from revos.dms import replies

    jo = world.member("Jo", Persona(reply="email", reply_delay=600, email="jo@example.com"))
    lead_id = await world.comment(jo)
    await world.run()
    world.clock.advance(700)
    await world.sim.settle()
    read_rows(
        world.db_url,
        "delete from inbound_events where linkedin_account_id = %s returning id",
        world.account.id,
    )

    assert await replies.poll_replies(world.runtime, inline=True) >= 1
    assert world.lead(lead_id)["email"] == "jo@example.com"
    assert await replies.poll_replies(world.runtime, inline=True) == 0  # seen once, handled once
    inbound = read_rows(
        world.db_url,
        "select count(*) as n from dm_messages where dm_sequence_id = %s and direction = 'inbound'",
        world.seq(lead_id)["id"],
    )
    assert inbound[0]["n"] == 1


async def test_an_invitation_note_whose_webhook_was_lost_reaches_the_conversation_by_polling(
    world: World,
) -> None:
    from revos.dms import replies

    cleo = world.member(
        "Cleo", Persona(on_invite="accept", invite_delay=1800, reply="never"), connected=False
    )
    lead_id = await world.comment(cleo)
    assert lead_id is not None
    await world.run()
    (invitation,) = world.sim.invitations(to=cleo)

    # Accepted: LinkedIn opens a chat with the note as its first message, and that message's webhook is lost.
    world.clock.advance(1900)
    await world.sim.settle()
    read_rows(
        world.db_url,
        "delete from inbound_events where linkedin_account_id = %s and event_key like 'message:%%' returning id",
        world.account.id,
    )
    # Our own message names no recipient: the poller must learn from the chat whose conversation it is.
    assert await replies.poll_replies(world.runtime, inline=True) >= 1
    recorded = read_rows(
        world.db_url,
        "select message from dm_messages where dm_sequence_id = %s and direction = 'outbound'",
        world.seq(lead_id)["id"],
    )
    assert [r["message"] for r in recorded] == [invitation.message]


async def test_our_first_dm_echoed_after_it_was_recorded_is_acknowledged_not_stored_nor_queued(
    world: World,
) -> None:
    from revos.inbound.service import receive_webhook

    eve = world.member("Eve", Persona(reply="never"))
    lead_id = await world.comment(eve)
    await world.run()
    seq = world.seq(lead_id)
    message_id = seq["step1_unipile_message_id"]
    assert message_id is not None
    read_rows(
        world.db_url, "delete from inbound_events where event_key = %s returning id", f"message:{message_id}"
    )
    drains = _waiting_drains(world)
    received = await receive_webhook(world.runtime, _own_echo(world, seq, message_id, "the first DM"))

    # The conversation holds it already: nothing for the inbox, nothing for its drain.
    assert (received.status, received.event_id) == ("duplicate", None)
    assert not read_rows(
        world.db_url, "select id from inbound_events where event_key = %s", f"message:{message_id}"
    )
    assert _waiting_drains(world) == drains
    assert [m.id for m in world.sim.sent_messages(to=eve)] == [message_id]
    # Nor does the replies' poller store it later: it passes by what the conversation recorded.
    from revos.dms.replies import poll_replies

    await poll_replies(world.runtime, inline=True)
    assert not read_rows(
        world.db_url, "select id from inbound_events where event_key = %s", f"message:{message_id}"
    )


def _waiting_drains(world: World) -> int:
    (row,) = read_rows(
        world.db_url,
        "select count(*) as n from procrastinate.procrastinate_jobs"
        " where task_name = 'inbound.drain' and status = 'todo'",
    )
    return int(row["n"])


async def test_our_dm_echoed_while_its_send_is_in_flight_is_settled_but_a_person_s_message_waits_for_handlers(
    world: World,
) -> None:
    from revos.inbound.service import receive_webhook

    eve = world.member("Eve", Persona(reply="never"))
    lead_id = await world.comment(eve)
    await world.run()
    seq = world.seq(lead_id)
    # A DM of this account on its way: its action in flight, not recorded yet (Unipile's echo can come
    # back before the sender has written what LinkedIn answered).
    read_rows(
        world.db_url,
        "insert into linkedin_actions (client_id, linkedin_account_id, kind, action_key, target, payload,"
        " status, attempts, started_at) values (%s, %s, 'dm', 'test:in-flight-dm', %s, %s, 'in_flight', 1, now())"
        " returning id",
        seq["client_id"],
        world.account.id,
        "eve",
        json.dumps({"text": "Here is the guide you asked for"}),
    )
    text = "Here is the guide you asked for"
    ours = await receive_webhook(world.runtime, _own_echo(world, seq, "msg-in-flight", text))
    by_hand = await receive_webhook(world.runtime, _own_echo(world, seq, "msg-by-hand", "Hi Eve, it's me"))

    def processed_at(event_id: object) -> object:
        (row,) = read_rows(world.db_url, "select processed_at from inbound_events where id = %s", event_id)
        return row["processed_at"]

    # Ours is acknowledged and not stored: its sender records it (or the ledger's reconciliation does).
    assert (ours.status, ours.event_id) == ("duplicate", None)
    assert not read_rows(
        world.db_url, "select id from inbound_events where event_key = 'message:msg-in-flight'"
    )
    # A person wrote from LinkedIn itself: the event waits for the handlers, and the drain hands it over.
    assert processed_at(by_hand.event_id) is None
    waiting = read_rows(
        world.db_url,
        "select 1 from procrastinate.procrastinate_jobs where task_name = 'inbound.drain' and status = 'todo'",
    )
    assert waiting
    await world.run()
    assert processed_at(by_hand.event_id) is not None


def _own_echo(world: World, seq: dict[str, Any], message_id: str, text: str) -> bytes:
    """Unipile's `message_received` for a message the account itself sent in the sequence's chat."""
    owner = world.account.login.provider_id
    return json.dumps(
        {
            "account_id": world.account.unipile_account_id,
            "account_type": "LINKEDIN",
            "account_info": {"type": "LINKEDIN", "user_id": owner},
            "event": "message_received",
            "chat_id": seq["unipile_chat_id"],
            "timestamp": "2026-01-05T09:00:00.000Z",
            "message_id": message_id,
            "message": text,
            "sender": {"attendee_id": "att-owner", "attendee_provider_id": owner},
            "attendees": [],
        }
    ).encode()
