"""Serving modes, clocks and determinism."""

from __future__ import annotations

import httpx

from revos.clock import ScaledClock
from revos.sim import Persona, Simulator, serve, serve_in_thread
from revos.sim.emails import STYLES, obfuscate
from tests.support import eventually

HEADERS = {"X-API-KEY": "k"}


def test_serve_in_thread_for_synchronous_callers() -> None:
    sim = Simulator(api_key="k", seed=3)
    login = sim.add_account(username="t@example.com", password="pw")
    with (
        serve_in_thread(sim) as base_url,
        httpx.Client(base_url=base_url + "/api/v1", headers=HEADERS, trust_env=False) as c,
    ):
        r = c.post("/accounts", json={"provider": "LINKEDIN", "username": "t@example.com", "password": "pw"})
        assert r.status_code == 201
        friend = sim.add_member("Ann", "Lee", connected_to=[login])  # mutated from this thread while serving
        r = c.post(
            "/chats", data={"account_id": login.account_id, "attendees_ids": friend.provider_id, "text": "x"}
        )
        assert r.status_code == 201
    assert len(sim.sent_messages(to=friend)) == 1


async def test_scaled_clock_runs_personas_without_help() -> None:
    # An hour of persona delay passes in ~0.1 s of wall time; the server's ticker runs it.
    sim = Simulator(api_key="k", seed=4, clock=ScaledClock(36_000))
    login = sim.add_account(username="s@example.com", password="pw")
    member = sim.add_member(
        "Rae", "Fast", persona=Persona(reply="email", reply_delay=3600), connected_to=[login]
    )
    async with (
        serve(sim) as base_url,
        httpx.AsyncClient(base_url=base_url + "/api/v1", headers=HEADERS, trust_env=False) as c,
    ):
        await c.post(
            "/accounts", json={"provider": "LINKEDIN", "username": "s@example.com", "password": "pw"}
        )
        await c.post(
            "/chats", data={"account_id": login.account_id, "attendees_ids": member.provider_id, "text": "?"}
        )
        await eventually(lambda: bool(sim.received_messages()), "the persona's reply")
        (reply,) = sim.received_messages()
        assert sim.ground_truth(member)[0].email in (reply.text or "")


def _world(seed: int) -> list[str]:
    sim = Simulator(seed=seed)
    login = sim.add_account(username="d@example.com")
    members = [
        sim.add_member(f"M{n}", "D", persona=Persona(reply="email", email_style="random", language="random"))
        for n in range(3)
    ]
    post = sim.add_post(login, "x")
    return [
        login.provider_id,
        post.id,
        *(m.provider_id for m in members),
        *(sim.personas.email_of(m) for m in members),
    ]


def test_same_seed_same_world() -> None:
    assert _world(11) == _world(11)
    assert _world(11) != _world(12)


def test_obfuscation_styles_hide_the_at_sign_differently() -> None:
    shown = {style: obfuscate("jo.doe@mail.acme.io", style) for style in STYLES}
    assert shown["plain"] == "jo.doe@mail.acme.io"
    assert shown["paren"] == "jo.doe (at) mail (dot) acme (dot) io"
    assert shown["bracket"] == "jo.doe [at] mail [dot] acme [dot] io"
    assert shown["word"] == "jo.doe at mail dot acme dot io"
    assert shown["spaced"] == "jo.doe @ mail.acme.io"
    assert shown["mailto"] == "mailto:jo.doe@mail.acme.io"
    assert shown["punctuated"] == "<jo.doe@mail.acme.io>."
    assert shown["caps"].lower() == "jo.doe@mail.acme.io"
    assert len(set(shown.values())) == len(STYLES)
