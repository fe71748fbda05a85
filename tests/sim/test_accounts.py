"""Accounts and checkpoints over HTTP (spec §4, §12.3–4)."""

from __future__ import annotations

import httpx
import pytest

from revos.clock import ManualClock
from revos.sim import Simulator
from tests.sim.conftest import Receiver, assert_error, register_webhook

CREDS = {"provider": "LINKEDIN", "username": "jane@example.com", "password": "pw"}


async def test_missing_or_wrong_api_key_is_401_on_every_route(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", trust_env=False) as anon:
        for method, path in [("GET", "/accounts"), ("POST", "/chats"), ("GET", "/no/such/route")]:
            assert_error(await anon.request(method, path), 401, "errors/missing_credentials")
        r = await anon.get("/accounts", headers={"X-API-KEY": "nope"})
        assert_error(r, 401, "errors/missing_credentials")


async def test_password_login_creates_account_with_spec_shape(sim: Simulator, api: httpx.AsyncClient) -> None:
    login = sim.add_account(username="jane@example.com", password="pw", name="Jane Doe")
    r = await api.post("/accounts", json=CREDS)
    assert r.status_code == 201
    assert r.json()["object"] == "AccountCreated"
    account_id = r.json()["account_id"]
    assert login.account_id == account_id
    account = (await api.get(f"/accounts/{account_id}")).json()
    assert account["object"] == "Account"
    assert account["type"] == "LINKEDIN"
    assert account["name"] == "Jane Doe"
    assert account["connection_params"]["im"]["id"] == login.provider_id
    assert account["connection_params"]["im"]["publicIdentifier"] == login.member.public_identifier
    assert account["sources"][0]["status"] == "OK"
    assert account["created_at"].endswith("Z")
    assert len(account["created_at"]) == 24


async def test_wrong_password_and_unknown_user_are_invalid_credentials(
    sim: Simulator, api: httpx.AsyncClient
) -> None:
    sim.add_account(username="jane@example.com", password="pw")
    assert_error(
        await api.post("/accounts", json={**CREDS, "password": "x"}), 401, "errors/invalid_credentials"
    )
    assert_error(
        await api.post("/accounts", json={**CREDS, "username": "who@x"}), 401, "errors/invalid_credentials"
    )
    assert_error(await api.post("/accounts", json={"provider": "LINKEDIN"}), 400, "errors/missing_parameters")


async def test_cookie_login_skips_checkpoint(sim: Simulator, api: httpx.AsyncClient) -> None:
    sim.add_account(username="jane@example.com", checkpoint="2FA", access_token="AQEcookie")
    r = await api.post(
        "/accounts", json={"provider": "LINKEDIN", "access_token": "AQEcookie", "user_agent": "UA"}
    )
    assert r.status_code == 201
    assert r.json()["object"] == "AccountCreated"


async def test_2fa_checkpoint_bad_code_then_good_code(sim: Simulator, api: httpx.AsyncClient) -> None:
    sim.add_account(username="jane@example.com", password="pw", checkpoint="2FA", code="123456")
    r = await api.post("/accounts", json=CREDS)
    assert r.status_code == 202
    body = r.json()
    assert body["object"] == "Checkpoint"
    assert body["checkpoint"] == {"type": "2FA", "source": "SMS"}
    solve = {"provider": "LINKEDIN", "account_id": body["account_id"]}
    assert_error(
        await api.post("/accounts/checkpoint", json={**solve, "code": "000000"}),
        401,
        "errors/invalid_checkpoint_solution",
    )
    # Not an account until the checkpoint is solved.
    assert_error(await api.get(f"/accounts/{body['account_id']}"), 404, "errors/resource_not_found")
    r = await api.post("/accounts/checkpoint", json={**solve, "code": "123456"})
    assert r.status_code == 201
    assert r.json() == {"object": "AccountCreated", "account_id": body["account_id"]}


async def test_chained_checkpoints_then_try_another_way(sim: Simulator, api: httpx.AsyncClient) -> None:
    sim.add_account(
        username="jane@example.com", password="pw", checkpoint=["IN_APP_VALIDATION", "2FA"], code="9"
    )
    first = (await api.post("/accounts", json=CREDS)).json()
    assert first["checkpoint"]["type"] == "IN_APP_VALIDATION"
    solve = {"provider": "LINKEDIN", "account_id": first["account_id"]}
    switched = await api.post("/accounts/checkpoint", json={**solve, "code": "TRY_ANOTHER_WAY"})
    assert switched.json()["checkpoint"]["type"] == "OTP"
    second = await api.post("/accounts/checkpoint", json={**solve, "code": "9"})
    assert second.status_code == 202
    assert second.json()["checkpoint"]["type"] == "2FA"
    assert (await api.post("/accounts/checkpoint", json={**solve, "code": "9"})).json()[
        "object"
    ] == "AccountCreated"


async def test_otp_resend_then_too_soon(sim: Simulator, api: httpx.AsyncClient, clock: ManualClock) -> None:
    sim.add_account(username="jane@example.com", password="pw", checkpoint="OTP")
    account_id = (await api.post("/accounts", json=CREDS)).json()["account_id"]
    body = {"provider": "LINKEDIN", "account_id": account_id}
    r = await api.post("/accounts/checkpoint/resend", json=body)
    assert r.json() == {"object": "CheckpointResend", "account_id": account_id, "success": True}
    assert_error(await api.post("/accounts/checkpoint/resend", json=body), 422, "errors/cannot_resend_yet")
    clock.advance(31)
    assert (await api.post("/accounts/checkpoint/resend", json=body)).status_code == 200


async def test_captcha_cannot_be_solved(sim: Simulator, api: httpx.AsyncClient) -> None:
    sim.add_account(username="jane@example.com", password="pw", checkpoint="CAPTCHA")
    r = await api.post("/accounts", json=CREDS)
    assert r.json()["checkpoint"]["type"] == "CAPTCHA"
    assert r.json()["checkpoint"]["public_key"]
    solve = {"provider": "LINKEDIN", "account_id": r.json()["account_id"], "code": "abc"}
    assert_error(await api.post("/accounts/checkpoint", json=solve), 401, "errors/captcha_not_supported")


async def test_intent_times_out_after_five_minutes_then_is_gone(
    sim: Simulator, api: httpx.AsyncClient, clock: ManualClock
) -> None:
    sim.add_account(username="jane@example.com", password="pw", checkpoint="2FA", code="1")
    account_id = (await api.post("/accounts", json=CREDS)).json()["account_id"]
    clock.advance(5 * 60 + 1)
    solve = {"provider": "LINKEDIN", "account_id": account_id, "code": "1"}
    assert_error(await api.post("/accounts/checkpoint", json=solve), 408, "errors/request_timeout")
    assert_error(await api.post("/accounts/checkpoint", json=solve), 400, "errors/invalid_request")


async def test_in_app_validation_resolves_out_of_band_with_webhook(
    sim: Simulator, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register_webhook(api, "account_status", receiver.url)
    sim.add_account(username="jane@example.com", password="pw", checkpoint="IN_APP_VALIDATION")
    account_id = (await api.post("/accounts", json=CREDS)).json()["account_id"]
    solve = {"provider": "LINKEDIN", "account_id": account_id, "code": "x"}
    assert_error(await api.post("/accounts/checkpoint", json=solve), 401, "errors/checkpoint_error")
    sim.approve_in_app(account_id)
    await sim.settle()
    assert (await api.get(f"/accounts/{account_id}")).json()["sources"][0]["status"] == "OK"
    statuses = [c.json()["AccountStatus"]["message"] for c in receiver.calls]
    assert sorted(statuses) == ["CREATION_SUCCESS", "OK"]
    assert all(c.json()["AccountStatus"]["account_id"] == account_id for c in receiver.calls)


async def test_list_paginates_and_delete_removes(sim: Simulator, api: httpx.AsyncClient) -> None:
    ids = []
    for n in range(3):
        sim.add_account(username=f"u{n}@example.com", password="pw")
        ids.append(
            (await api.post("/accounts", json={**CREDS, "username": f"u{n}@example.com"})).json()[
                "account_id"
            ]
        )
    page = (await api.get("/accounts", params={"limit": 2})).json()
    assert page["object"] == "AccountList"
    assert [a["id"] for a in page["items"]] == ids[:2]
    rest = (await api.get("/accounts", params={"cursor": page["cursor"]})).json()
    assert [a["id"] for a in rest["items"]] == ids[2:]
    assert rest["cursor"] is None
    assert_error(await api.get("/accounts", params={"limit": 251}), 400, "errors/limit_too_high")
    assert (await api.delete(f"/accounts/{ids[0]}")).json() == {"object": "AccountDeleted"}
    assert_error(await api.get(f"/accounts/{ids[0]}"), 404, "errors/resource_not_found")


@pytest.mark.parametrize("checkpoint", [None, "2FA"], ids=["direct", "with-2fa"])
async def test_disconnect_then_reconnect(
    sim: Simulator, api: httpx.AsyncClient, receiver: Receiver, checkpoint: str | None
) -> None:
    login = sim.add_account(username="jane@example.com", password="pw", checkpoint=checkpoint, code="7")
    account = sim.connect_account(login)
    await register_webhook(api, "account_status", receiver.url)
    sim.disconnect(account.id)
    await sim.settle()
    assert receiver.calls[-1].json() == {
        "AccountStatus": {"account_id": account.id, "account_type": "LINKEDIN", "message": "CREDENTIALS"}
    }
    assert (await api.get(f"/accounts/{account.id}")).json()["sources"][0]["status"] == "CREDENTIALS"
    me = await api.get("/users/me", params={"account_id": account.id})
    assert_error(me, 401, "errors/disconnected_account")
    r = await api.post(f"/accounts/{account.id}", json=CREDS)
    if checkpoint:
        assert r.status_code == 202
        r = await api.post(
            "/accounts/checkpoint", json={"provider": "LINKEDIN", "account_id": account.id, "code": "7"}
        )
    assert r.status_code == 201
    assert r.json() == {"object": "AccountReconnected", "account_id": account.id}
    assert (await api.get("/users/me", params={"account_id": account.id})).status_code == 200
    await sim.settle()
    assert receiver.calls[-1].json()["AccountStatus"]["message"] == "RECONNECTED"
