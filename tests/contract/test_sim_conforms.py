"""The simulator answers what Unipile answers: every response, checked against the SDK's own schemas.

One scenario walks every route the SDK has a schema for (accounts and each checkpoint kind, profiles,
relations, invitations, posts, comments, reactions, chats, messages, attendees, attachments, resync,
hosted links, webhooks), lets every persona act (comment with and without the trigger, twice, reply with
an email, without, never, accept or ignore an invitation), and provokes every fault kind. Each 2xx body is
validated against the schema of its route, each error body against the error schema; the test fails on
the first body Unipile's SDK would reject, and if a schema was never exercised.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from revos.clock import ManualClock
from revos.sim import FaultRule, Persona, Simulator, serve
from tests.contract import unipile_schemas

KEY = "sim-key"
PNG = (
    b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (64).to_bytes(4, "big") + (48).to_bytes(4, "big") + b"\x08"
)


@dataclass
class Checked:
    schemas: set[str] = field(default_factory=set)
    errors: set[str] = field(default_factory=set)  # error `type`s seen
    problems: list[str] = field(default_factory=list)
    unchecked: set[str] = field(default_factory=set)  # 2xx JSON routes the SDK has no schema for


def check(checked: Checked, response: httpx.Response) -> None:
    path = response.request.url.path.removeprefix("/api/v1")
    where = f"{response.request.method} {path} -> {response.status_code}"
    if response.status_code >= 400:
        body = response.json()
        checked.errors.add(body.get("type", "?"))
        checked.problems += [f"{where}: {p}" for p in unipile_schemas.problems("Error", body)]
        return
    if not response.headers.get("content-type", "").startswith("application/json"):
        return  # an attachment download
    route = unipile_schemas.route_for(response.request.method, path)
    if route is None:
        checked.unchecked.add(f"{response.request.method} {path.split('/')[1]}")
        return
    checked.schemas.add(route.schema)
    checked.problems += [
        f"{where} ({route.schema}): {p}" for p in unipile_schemas.problems(route.schema, response.json())
    ]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(api_key=KEY, seed=11, clock=clock, webhook_retry_delays=(1.0,))


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[tuple[httpx.AsyncClient, Checked]]:
    checked = Checked()

    async def on_response(response: httpx.Response) -> None:
        await response.aread()
        check(checked, response)

    async with (
        serve(sim) as base_url,
        httpx.AsyncClient(
            base_url=base_url + "/api/v1",
            headers={"X-API-KEY": KEY},
            timeout=10.0,
            trust_env=False,
            event_hooks={"response": [on_response]},
        ) as http,
    ):
        yield http, checked


async def ok(response: httpx.Response) -> Any:
    assert response.status_code < 400, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


async def test_every_simulator_answer_is_one_unipile_sdk_accepts(
    api: tuple[httpx.AsyncClient, Checked], sim: Simulator, clock: ManualClock
) -> None:
    http, checked = api
    # --- accounts: each checkpoint kind, solved or not, cookie login, reconnect, resync -------------------
    jane = sim.add_account(username="jane@example.com", password="pw", checkpoint="2FA", name="Jane Doe")
    started = await ok(
        await http.post(
            "/accounts", json={"provider": "LINKEDIN", "username": jane.username, "password": "pw"}
        )
    )
    assert started["object"] == "Checkpoint"
    await http.post(
        "/accounts/checkpoint",
        json={"provider": "LINKEDIN", "account_id": started["account_id"], "code": "0"},
    )
    done = await ok(
        await http.post(
            "/accounts/checkpoint",
            json={"provider": "LINKEDIN", "account_id": started["account_id"], "code": jane.code},
        )
    )
    account_id = done["account_id"]
    for kind in ("OTP", "IN_APP_VALIDATION", "CAPTCHA", "PHONE_REGISTER"):
        login = sim.add_account(username=f"{kind.lower()}@example.com", password="pw", checkpoint=kind)
        body = await ok(
            await http.post(
                "/accounts", json={"provider": "LINKEDIN", "username": login.username, "password": "pw"}
            )
        )
        assert body["checkpoint"]["type"] == kind
    cookie = sim.add_account(
        username="cookie@example.com", access_token="AQEcookie", premium=True, name="Cy Cookie"
    )
    other = (
        await ok(await http.post("/accounts", json={"provider": "LINKEDIN", "access_token": "AQEcookie"}))
    )["account_id"]
    await ok(
        await http.post(
            f"/accounts/{other}", json={"provider": "LINKEDIN", "access_token": cookie.access_token}
        )
    )
    await ok(await http.get("/accounts", params={"limit": 2}))
    await ok(await http.get(f"/accounts/{account_id}"))
    for _ in range(2):
        await ok(await http.get(f"/accounts/{account_id}/sync"))
    clock.advance(60)
    assert (await ok(await http.get(f"/accounts/{account_id}/sync")))["status"] == "SYNC_DONE"
    expires = "2099-01-01T00:00:00.000Z"
    await ok(
        await http.post(
            "/hosted/accounts/link",
            json={
                "type": "create",
                "providers": ["LINKEDIN"],
                "api_url": "https://api1.unipile.com:13111",
                "expiresOn": expires,
            },
        )
    )

    # --- webhooks, before anything happens so that persona activity is delivered ---------------------------
    for source in ("messaging", "users", "account_status"):
        await ok(
            await http.post(
                "/webhooks", json={"source": source, "request_url": "http://127.0.0.1:9/hook", "name": source}
            )
        )

    # --- members and every persona --------------------------------------------------------------------------
    friend = sim.add_member("Ann", "Lee", connected_to=[jane], persona=Persona(reply="email", reply_delay=60))
    personas = {
        "trigger": Persona(
            comment="trigger", comment_delay=30, reply="email", email_style="random", reply_delay=60
        ),
        "plain": Persona(comment="plain", comment_delay=30, reply="no_email", reply_delay=60),
        "twice": Persona(comment="twice", comment_delay=30, reply="never"),
        "accepts": Persona(
            comment="trigger", comment_delay=30, on_invite="accept", invite_delay=60, reply="email"
        ),
        "ignores": Persona(comment="trigger", comment_delay=30, on_invite="ignore", invite_delay=60),
    }
    members = {
        name: sim.add_member(
            name.title(),
            "Persona",
            persona=p,
            connected_to=[jane] if name in ("trigger", "plain", "twice") else [],
        )
        for name, p in personas.items()
    }
    stranger = sim.add_member("Bob", "Stone")
    olga = sim.add_member("Olga", "Open", open_profile=True)

    await ok(await http.get("/users/me", params={"account_id": account_id}))
    for ident in (friend.provider_id, friend.public_identifier, stranger.provider_id):
        await ok(await http.get(f"/users/{ident}", params={"account_id": account_id}))
    invited = await ok(
        await http.post(
            "/users/invite",
            json={"account_id": account_id, "provider_id": stranger.provider_id, "message": "Hi"},
        )
    )
    for name in ("accepts", "ignores"):
        await ok(
            await http.post(
                "/users/invite", json={"account_id": account_id, "provider_id": members[name].provider_id}
            )
        )
    await ok(
        await http.get(f"/users/{stranger.provider_id}", params={"account_id": account_id})
    )  # invitation pending
    await ok(await http.get("/users/invite/sent", params={"account_id": account_id, "limit": 2}))
    await ok(
        await http.delete(f"/users/invite/sent/{invited['invitation_id']}", params={"account_id": account_id})
    )

    # --- posts, comments, reactions -----------------------------------------------------------------------
    created = await ok(
        await http.post(
            "/posts",
            data={"account_id": account_id, "text": "Comment GUIDE"},
            files=[("attachments", ("a.png", PNG, "image/png"))],
        )
    )
    post = await ok(await http.get(f"/posts/{created['post_id']}", params={"account_id": account_id}))
    social = post["social_id"]
    sent = await ok(
        await http.post(f"/posts/{social}/comments", json={"account_id": account_id, "text": "Thanks all"})
    )
    await ok(
        await http.post(
            f"/posts/{social}/comments",
            json={"account_id": account_id, "text": "reply", "comment_id": sent["comment_id"]},
        )
    )
    await ok(
        await http.post(
            "/posts/reaction",
            json={"account_id": account_id, "post_id": social, "reaction_type": "celebrate"},
        )
    )
    await ok(
        await http.post(
            "/posts/reaction",
            json={"account_id": account_id, "post_id": social, "comment_id": sent["comment_id"]},
        )
    )
    # Another account engages with the post, as a pod member would: comment, reaction, plain and quoted reposts.
    await ok(await http.post(f"/posts/{social}/comments", json={"account_id": other, "text": "Well put"}))
    await ok(await http.post("/posts/reaction", json={"account_id": other, "post_id": social}))
    for repost in (
        {"account_id": other, "repost": social},
        {"account_id": other, "repost": post["id"], "text": "Read"},
    ):
        shared = await ok(await http.post("/posts", data=repost))
        await ok(await http.get(f"/posts/{shared['post_id']}", params={"account_id": account_id}))
    await ok(await http.get(f"/posts/{social}/reactions", params={"account_id": account_id, "limit": 1}))
    await ok(await http.get(f"/users/{cookie.member.provider_id}/posts", params={"account_id": account_id}))
    sim.add_post(friend, "A post of Ann's")

    # --- chats, messages, attendees, attachments ----------------------------------------------------------
    chat = await ok(
        await http.post(
            "/chats",
            data={"account_id": account_id, "attendees_ids": friend.provider_id, "text": "Hello Ann"},
            files=[
                ("attachments", ("a.png", PNG, "image/png")),
                ("attachments", ("guide.pdf", b"%PDF-1.4", "application/pdf")),
            ],
        )
    )
    await ok(
        await http.post(
            "/chats",
            data={
                "account_id": other,
                "attendees_ids": olga.provider_id,
                "text": "InMail",
                "subject": "Hi",
                "linkedin[inmail]": "true",
            },
        )
    )
    await ok(
        await http.post(
            f"/chats/{chat['chat_id']}/messages", data={"text": "Anyone?", "account_id": account_id}
        )
    )
    await ok(await http.patch(f"/chats/{chat['chat_id']}", json={"action": "setReadStatus", "value": True}))

    # --- let every persona act, then read everything they produced ----------------------------------------
    for _ in range(6):
        clock.advance(3600)
        await sim.run_due()
    for name in ("trigger", "plain", "twice"):
        chat_with = await ok(
            await http.post(
                "/chats",
                data={
                    "account_id": account_id,
                    "attendees_ids": members[name].provider_id,
                    "text": "Your email?",
                },
            )
        )
        assert chat_with["chat_id"]
    clock.advance(3600)
    await sim.run_due()
    assert {r.kind for r in sim.ground_truth()} >= {"comment", "reply", "accept", "ignore"}

    await ok(await http.get("/users/relations", params={"account_id": account_id, "limit": 2}))
    await ok(await http.get(f"/users/{jane.member.provider_id}/posts", params={"account_id": account_id}))
    await ok(await http.get(f"/users/{friend.provider_id}/posts", params={"account_id": account_id}))
    comments = await ok(
        await http.get(f"/posts/{social}/comments", params={"account_id": account_id, "limit": 3})
    )
    await ok(await http.get(f"/posts/{social}/comments", params={"cursor": comments["cursor"]}))
    await ok(
        await http.get(
            f"/posts/{social}/comments", params={"account_id": account_id, "comment_id": sent["comment_id"]}
        )
    )
    chats = await ok(await http.get("/chats", params={"account_id": account_id}))
    await ok(await http.get("/chats", params={"account_id": other}))
    for item in chats["items"]:
        await ok(await http.get(f"/chats/{item['id']}"))
        await ok(await http.get(f"/chats/{item['id']}/messages"))
        await ok(await http.get(f"/chats/{item['id']}/attendees"))
    messages = await ok(await http.get("/messages", params={"account_id": account_id}))
    for m in messages["items"]:
        await ok(await http.get(f"/messages/{m['id']}"))
        for att in m["attachments"]:
            download = await http.get(f"/messages/{m['id']}/attachments/{att['id']}")
            assert download.status_code == 200
    attendees = await ok(await http.get("/chat_attendees", params={"account_id": account_id, "limit": 3}))
    for a in attendees["items"]:
        await ok(await http.get(f"/chat_attendees/{a['id']}"))
        await ok(await http.get(f"/chat_attendees/{a['id']}/chats"))
        await ok(await http.get(f"/chat_attendees/{a['id']}/messages"))
    hooks = await ok(await http.get("/webhooks"))
    await ok(await http.delete(f"/webhooks/{hooks['items'][0]['id']}"))
    await ok(await http.delete(f"/accounts/{other}"))

    # --- every fault kind, and the plain errors -----------------------------------------------------------
    # One rule at a time: every matching rule counts a hit, even those a first failure hides.
    for rule in (
        FaultRule("rate_limit", route="GET /users/me", times=1),
        FaultRule("error", route="GET /users/me", status=500, times=1),
        FaultRule("error", route="GET /users/me", status=503, times=1),
        FaultRule("timeout", route="GET /users/me", times=1),
        FaultRule("latency", route="GET /users/me", latency=0.01, times=1),
    ):
        sim.faults.add(rule)
        await http.get("/users/me", params={"account_id": account_id})
    sim.faults.add(FaultRule("timeout", route="POST /chats/*/messages", after=True, times=1))
    await http.post(f"/chats/{chat['chat_id']}/messages", data={"text": "once"})
    await http.get("/posts/0", params={"account_id": account_id})
    await http.post("/users/invite", json={"account_id": account_id})
    await http.get("/users/me", params={"account_id": account_id}, headers={"X-API-KEY": "wrong"})
    sim.faults.add(FaultRule("restrict", route="GET /users/me", account_id=account_id, times=1))
    await http.get("/users/me", params={"account_id": account_id})
    sim.restrict(account_id, False)
    sim.faults.add(FaultRule("disconnect", route="GET /chats", account_id=account_id, times=1))
    await http.get("/chats", params={"account_id": account_id})
    await http.get(f"/accounts/{'missing'}")

    assert not checked.problems, "\n".join(checked.problems[:40])
    sdk = {n for n, e in unipile_schemas.manifest()["schemas"].items() if e["source"] == "sdk"}
    assert sdk - checked.schemas == set(), f"never exercised: {sorted(sdk - checked.schemas)}"
    assert checked.errors >= {
        "errors/too_many_requests",
        "errors/provider_error",
        "errors/service_unavailable",
        "errors/request_timeout",
        "errors/resource_not_found",
        "errors/missing_parameters",
        "errors/missing_credentials",
        "errors/account_restricted",
        "errors/disconnected_account",
        "errors/invalid_checkpoint_solution",
    }
    # Routes the SDK 1.9.3 has no schema for: checked by their own tests (tests/sim), listed here so a new
    # unchecked route is a decision, not an accident.
    # `GET /posts/{id}/reactions` (spec §6.7) has no route schema in the SDK either.
    assert checked.unchecked <= {"POST accounts", "GET posts"}, checked.unchecked
    print(json.dumps({"schemas": len(checked.schemas), "error_types": len(checked.errors)}))
