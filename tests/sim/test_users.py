"""Profiles, relations, invitations and their acceptance (spec §5, §8, §9.4)."""

from __future__ import annotations

import httpx
import pytest

from revos.clock import ManualClock
from revos.sim import Persona, Simulator
from tests.sim.conftest import Connected, Receiver, assert_error, register_webhook


async def test_profile_by_provider_id_or_public_identifier(
    api: httpx.AsyncClient, connected: Connected
) -> None:
    acc = connected.account_id
    by_id = (await api.get(f"/users/{connected.friend.provider_id}", params={"account_id": acc})).json()
    by_slug = (
        await api.get(f"/users/{connected.friend.public_identifier}", params={"account_id": acc})
    ).json()
    assert by_id == by_slug
    assert by_id["object"] == "UserProfile"
    assert by_id["provider_id"].startswith("ACoAA")
    assert by_id["network_distance"] == "FIRST_DEGREE"
    assert by_id["is_relationship"] is True
    stranger = (await api.get(f"/users/{connected.stranger.provider_id}", params={"account_id": acc})).json()
    assert stranger["network_distance"] == "SECOND_DEGREE"
    assert stranger["is_relationship"] is False
    assert_error(
        await api.get("/users/nobody-here", params={"account_id": acc}), 404, "errors/resource_not_found"
    )
    assert_error(await api.get(f"/users/{connected.friend.provider_id}"), 400, "errors/missing_parameters")


async def test_me_and_relations(sim: Simulator, api: httpx.AsyncClient, connected: Connected) -> None:
    acc = connected.account_id
    me = (await api.get("/users/me", params={"account_id": acc})).json()
    assert me["object"] == "AccountOwnerProfile"
    assert me["provider_id"] == connected.login.provider_id
    for n in range(4):
        sim.add_member(f"Rel{n}", "Person", connected_to=[connected.login])
    first = (await api.get("/users/relations", params={"account_id": acc, "limit": 3})).json()
    assert first["object"] == "UserRelationsList"
    second = (await api.get("/users/relations", params={"account_id": acc, "cursor": first["cursor"]})).json()
    names = [r["first_name"] for r in first["items"] + second["items"]]
    assert sorted(names) == ["Ann", "Rel0", "Rel1", "Rel2", "Rel3"]
    assert second["cursor"] is None
    filtered = (await api.get("/users/relations", params={"account_id": acc, "filter": "rel2"})).json()
    assert [r["first_name"] for r in filtered["items"]] == ["Rel2"]
    assert_error(
        await api.get("/users/relations", params={"account_id": acc, "limit": 1001}),
        400,
        "errors/limit_too_high",
    )


async def test_profile_views_hit_the_daily_budget(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, clock: ManualClock
) -> None:
    sim.set_budget(connected.account_id, "profile_views", 3)
    url, params = f"/users/{connected.stranger.provider_id}", {"account_id": connected.account_id}
    for _ in range(3):
        assert (await api.get(url, params=params)).status_code == 200
    assert_error(await api.get(url, params=params), 429, "errors/too_many_requests")
    clock.advance(days=1)
    assert (await api.get(url, params=params)).status_code == 200


async def test_invite_rules(sim: Simulator, api: httpx.AsyncClient, connected: Connected) -> None:
    acc, target = connected.account_id, connected.stranger.provider_id
    too_long = await api.post(
        "/users/invite", json={"account_id": acc, "provider_id": target, "message": "x" * 301}
    )
    assert_error(too_long, 400, "errors/too_many_characters")
    r = await api.post("/users/invite", json={"account_id": acc, "provider_id": target, "message": "x" * 300})
    assert r.status_code == 200
    assert r.json()["object"] == "UserInvitationSent"
    assert isinstance(r.json()["usage"], int)
    again = await api.post("/users/invite", json={"account_id": acc, "provider_id": target})
    assert_error(again, 422, "errors/already_invited_recently")
    friend = await api.post(
        "/users/invite", json={"account_id": acc, "provider_id": connected.friend.provider_id}
    )
    assert_error(friend, 422, "errors/cannot_invite_attendee")
    sent = (await api.get("/users/invite/sent", params={"account_id": acc})).json()
    assert sent["object"] == "InvitationList"
    assert [i["invited_user_id"] for i in sent["items"]] == [target]
    assert sent["items"][0]["object"] == "InvitationSent"
    profile = (await api.get(f"/users/{target}", params={"account_id": acc})).json()
    assert profile["invitation"] == {"type": "SENT", "status": "PENDING"}
    cancel = await api.delete(f"/users/invite/sent/{r.json()['invitation_id']}", params={"account_id": acc})
    assert cancel.json() == {"object": "InvitationCanceled"}
    assert (await api.get("/users/invite/sent", params={"account_id": acc})).json()["items"] == []
    resend = await api.post("/users/invite", json={"account_id": acc, "provider_id": target})
    assert_error(resend, 422, "errors/cannot_resend_yet")
    assert len(sim.invitations(connected.account_id, to=connected.stranger)) == 1


async def test_invitation_budget_gives_429(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected
) -> None:
    sim.set_budget(connected.account_id, "invitations", 2)
    people = [sim.add_member(f"P{n}", "X") for n in range(3)]
    codes = [
        (
            await api.post(
                "/users/invite", json={"account_id": connected.account_id, "provider_id": p.provider_id}
            )
        ).status_code
        for p in people
    ]
    assert codes == [200, 200, 429]
    assert len(sim.invitations(connected.account_id)) == 2


async def test_acceptance_makes_first_degree_and_delivers_new_relation_with_retries(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, clock: ManualClock, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    await register_webhook(
        api,
        "users",
        receiver.url,
        headers=[{"key": "Unipile-Auth", "value": "s3cret"}],
        account_ids=[connected.account_id],
    )
    keen = sim.add_member("Kim", "Accept", persona=Persona(on_invite="accept", invite_delay=3600))
    shy = sim.add_member("Sam", "Ignore", persona=Persona(on_invite="ignore", invite_delay=3600))
    acc = connected.account_id
    for member in (keen, shy):
        r = await api.post(
            "/users/invite", json={"account_id": acc, "provider_id": member.provider_id, "message": "Hi!"}
        )
        assert r.status_code == 200
    clock.advance(3599)
    await sim.settle()
    assert receiver.calls == []
    clock.advance(2)
    await sim.settle()
    profile = (await api.get(f"/users/{keen.provider_id}", params={"account_id": acc})).json()
    assert profile["network_distance"] == "FIRST_DEGREE"
    assert (await api.get(f"/users/{shy.provider_id}", params={"account_id": acc})).json()[
        "network_distance"
    ] != "FIRST_DEGREE"
    # First attempt failed; retries follow the (simulated) backoff: 1 s, then 2 s.
    assert len(receiver.calls) == 1
    clock.advance(1)
    await sim.settle()
    clock.advance(2)
    await sim.settle()
    assert len(receiver.calls) == 3
    body = receiver.calls[-1].json()
    assert body["event"] == "new_relation"
    assert body["account_id"] == acc
    assert body["user_provider_id"] == keen.provider_id
    assert body["user_public_identifier"] == keen.public_identifier
    assert body["webhook_name"] == "users-hook"
    assert receiver.calls[-1].headers["unipile-auth"] == "s3cret"
    assert "content-type" not in receiver.calls[-1].headers  # API-created webhooks send none by default
    delivery = sim.webhook_deliveries("users")[0]
    assert [a.status_code for a in delivery.attempts] == [500, 500, 200]
    assert delivery.delivered
    # The note of an accepted invitation opens the chat (spec §8).
    assert [m.text for m in sim.sent_messages(acc, to=keen)] == ["Hi!"]
    pending = (await api.get("/users/invite/sent", params={"account_id": acc})).json()["items"]
    assert [i["invited_user_id"] for i in pending] == [
        shy.provider_id
    ]  # ignored stays pending for the sender
    assert {r.kind for r in sim.ground_truth()} == {"accept", "ignore"}


@pytest.mark.parametrize("answers_note", [False, True], ids=["note-ignored", "note-answered"])
async def test_invitation_note_opens_chat_and_reply_is_opt_in(
    sim: Simulator, api: httpx.AsyncClient, connected: Connected, clock: ManualClock, answers_note: bool
) -> None:
    persona = Persona(on_invite="accept", invite_delay=10, reply="email", reply_delay=10)
    persona.reply_to_invitation_note = answers_note
    member = sim.add_member("Nora", "Note", persona=persona)
    body = {"account_id": connected.account_id, "provider_id": member.provider_id, "message": "Let's connect"}
    assert (await api.post("/users/invite", json=body)).status_code == 200
    for _ in range(3):
        clock.advance(10)
        await sim.run_due()
    chats = (await api.get("/chats", params={"account_id": connected.account_id})).json()["items"]
    assert [c["attendee_provider_id"] for c in chats] == [member.provider_id]
    assert len(sim.received_messages(connected.account_id)) == int(answers_note)
    assert sim.scheduler.errors == []
