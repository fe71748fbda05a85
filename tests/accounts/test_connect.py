from __future__ import annotations

from uuid import UUID

import httpx

from revos.clock import ManualClock
from revos.runtime import Runtime
from revos.sim import Simulator
from tests.support import (
    Conn,
    Tenant,
    connect_account,
    headers,
    make_tenant,
    process_inbox,
    read_row,
    superuser_conn,
)


async def test_2fa_checkpoint_then_code_makes_the_account_active_with_its_profile(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, db_url: str
) -> None:
    login = linkedin.add_account(
        username="ana@example.com", password="s3cret-Pa55", checkpoint="2FA", name="Ana Ruiz"
    )
    h = headers(runtime, tenant)
    started = await api.post(
        "/v1/linkedin-accounts", json={"username": "ana@example.com", "password": "s3cret-Pa55"}, headers=h
    )
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["checkpoint"]["type"] == "2FA"
    assert body["checkpoint"]["source"] == "SMS"
    assert body["checkpoint"]["solvable"] is True
    assert body["status"] != "active"

    solved = await api.post(
        f"/v1/linkedin-accounts/{body['id']}/checkpoint", json={"code": login.code}, headers=h
    )
    assert solved.status_code == 200, solved.text
    account = solved.json()
    assert account["status"] == "active"
    assert account["checkpoint"] is None
    assert account["profile_data"]["first_name"] == "Ana"
    assert account["profile_data"]["provider_id"] == login.member.provider_id
    assert account["warmup_started_at"] is not None
    # Webhooks registered at Unipile, once per source, with our secret header.
    sources = sorted(h.source for h in linkedin.webhooks.webhooks.values())
    assert sources == ["account_status", "messaging", "users"]


async def test_a_wrong_code_is_a_clear_4xx_and_the_right_one_still_works(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator
) -> None:
    login = linkedin.add_account(username="bo@example.com", password="pw", checkpoint="OTP")
    h = headers(runtime, tenant)
    resp = await api.post(
        "/v1/linkedin-accounts", json={"username": "bo@example.com", "password": "pw"}, headers=h
    )
    assert resp.status_code == 202, resp.text
    started = resp.json()
    wrong = await api.post(
        f"/v1/linkedin-accounts/{started['id']}/checkpoint", json={"code": "000000"}, headers=h
    )
    assert wrong.status_code == 422
    assert "not the one LinkedIn sent" in wrong.json()["detail"]
    right = await api.post(
        f"/v1/linkedin-accounts/{started['id']}/checkpoint", json={"code": login.code}, headers=h
    )
    assert right.json()["status"] == "active"


async def test_an_expired_checkpoint_says_start_again_and_reconnect_restarts_it(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, clock: ManualClock
) -> None:
    login = linkedin.add_account(username="cy@example.com", password="pw", checkpoint="2FA")
    h = headers(runtime, tenant)
    started = (
        await api.post(
            "/v1/linkedin-accounts", json={"username": "cy@example.com", "password": "pw"}, headers=h
        )
    ).json()
    clock.advance(minutes=6)
    late = await api.post(
        f"/v1/linkedin-accounts/{started['id']}/checkpoint", json={"code": login.code}, headers=h
    )
    assert late.status_code == 410
    assert "start again" in late.json()["detail"]
    again = await api.post(f"/v1/linkedin-accounts/{started['id']}/reconnect", headers=h)
    assert again.status_code == 202, again.text
    done = await api.post(
        f"/v1/linkedin-accounts/{started['id']}/checkpoint", json={"code": login.code}, headers=h
    )
    assert done.json()["status"] == "active"


async def test_captcha_is_reported_as_unsolvable_and_nothing_is_kept(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, db_url: str
) -> None:
    linkedin.add_account(username="dee@example.com", password="pw", checkpoint="CAPTCHA")
    response = await api.post(
        "/v1/linkedin-accounts",
        json={"username": "dee@example.com", "password": "pw"},
        headers=headers(runtime, tenant),
    )
    assert response.status_code == 422
    assert "CAPTCHA" in response.json()["detail"]
    assert "li_at" in response.json()["detail"]
    with superuser_conn(db_url) as conn:
        left = conn.execute(
            "select count(*) as n from linkedin_accounts where client_id = %s", (tenant.client_id,)
        )
        assert left.fetchone()["n"] == 0  # type: ignore[index]


async def test_cookie_connect_needs_no_checkpoint(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator
) -> None:
    login = linkedin.add_account(username="eve@example.com", checkpoint="2FA")
    response = await api.post(
        "/v1/linkedin-accounts",
        json={"li_at": login.access_token, "user_agent": "Mozilla/5.0 test", "account_name": "Eve"},
        headers=headers(runtime, tenant),
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "active"


async def test_wrong_password_is_a_4xx_and_stores_nothing(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, db_url: str
) -> None:
    linkedin.add_account(username="fay@example.com", password="right")
    response = await api.post(
        "/v1/linkedin-accounts",
        json={"username": "fay@example.com", "password": "wrong"},
        headers=headers(runtime, tenant),
    )
    assert response.status_code == 422
    assert "rejected these credentials" in response.json()["detail"]
    with superuser_conn(db_url) as conn:
        n = conn.execute(
            "select count(*) as n from linkedin_accounts where client_id = %s", (tenant.client_id,)
        )
        assert n.fetchone()["n"] == 0  # type: ignore[index]


async def test_credentials_are_stored_only_as_ciphertext_and_never_returned(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, db_url: str
) -> None:
    password = "Very-Distinct-Password-7731"
    login = linkedin.add_account(username="gil@example.com", password=password)
    h = headers(runtime, tenant)
    created = await api.post(
        "/v1/linkedin-accounts", json={"username": login.username, "password": password}, headers=h
    )
    assert created.status_code == 201, created.text
    account_id = UUID(created.json()["id"])
    row = read_row(db_url, "linkedin_accounts", account_id)
    raw = b"".join(bytes(row[c]) for c in ("linkedin_email", "linkedin_password"))
    assert password.encode() not in raw
    assert b"gil@example.com" not in raw
    with superuser_conn(db_url) as conn:
        dump = conn.execute(
            "select row_to_json(a)::text as j from linkedin_accounts a where id = %s", (account_id,)
        )
        assert password not in dump.fetchone()["j"]  # type: ignore[index]
    for response in (
        created,
        await api.get(f"/v1/linkedin-accounts/{account_id}", headers=h),
        await api.get("/v1/linkedin-accounts", headers=h),
    ):
        text = response.text
        assert password not in text
        assert "linkedin_password" not in text
        assert "linkedin_email" not in text
        assert "unipile_session" not in text
    # And they decrypt back for a reconnect.
    again = await api.post(f"/v1/linkedin-accounts/{account_id}/reconnect", headers=h)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "active"


async def test_members_read_but_cannot_connect_and_other_tenants_see_nothing(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, db_url: str
) -> None:

    account = await connect_account(api, runtime, tenant, linkedin)
    member = headers(runtime, tenant, role="member")
    assert (await api.get(f"/v1/linkedin-accounts/{account.id}", headers=member)).status_code == 200
    refused = await api.post("/v1/linkedin-accounts", json={"li_at": "x"}, headers=member)
    assert refused.status_code == 403
    other = await make_tenant(owner)
    assert (
        await api.get(f"/v1/linkedin-accounts/{account.id}", headers=headers(runtime, other))
    ).status_code == 404


async def test_pause_resume_and_delete_also_at_unipile(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator
) -> None:

    account = await connect_account(api, runtime, tenant, linkedin)
    h = headers(runtime, tenant)
    paused = await api.post(
        f"/v1/linkedin-accounts/{account.id}/pause", json={"reason": "holiday"}, headers=h
    )
    assert paused.json()["paused"] is True
    assert paused.json()["pause_reason"] == "holiday"
    resumed = await api.post(f"/v1/linkedin-accounts/{account.id}/resume", headers=h)
    assert resumed.json()["paused"] is False
    assert (await api.delete(f"/v1/linkedin-accounts/{account.id}", headers=h)).status_code == 204
    assert account.unipile_account_id not in linkedin.world.accounts
    assert (await api.get(f"/v1/linkedin-accounts/{account.id}", headers=h)).status_code == 404


async def test_in_app_approval_activates_the_account_through_the_status_webhook(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, db_url: str
) -> None:
    from revos.accounts.service import refresh_profile

    linkedin.add_account(
        username="hal@example.com", password="pw", checkpoint="IN_APP_VALIDATION", name="Hal Ng"
    )
    h = headers(runtime, tenant)
    started = await api.post(
        "/v1/linkedin-accounts", json={"username": "hal@example.com", "password": "pw"}, headers=h
    )
    assert started.status_code == 202
    body = started.json()
    assert body["checkpoint"]["type"] == "IN_APP_VALIDATION"
    assert "LinkedIn mobile app" in body["checkpoint"]["message"]
    # The member taps "Yes, it's me"; Unipile's account-status webhook reaches revOS.
    linkedin.approve_in_app(body["unipile_account_id"])
    await linkedin.settle()
    await process_inbox(runtime, UUID(body["id"]))
    row = read_row(db_url, "linkedin_accounts", UUID(body["id"]))
    assert row["status"] == "active"
    assert row["checkpoint"] is None
    with superuser_conn(db_url) as conn:
        job = conn.execute(
            "select 1 from procrastinate.procrastinate_jobs where task_name = 'accounts.refresh_profile'"
            " and args ->> 'account_id' = %s",
            (body["id"],),
        ).fetchone()
    assert job is not None
    assert await refresh_profile(runtime, UUID(body["id"]))
    assert read_row(db_url, "linkedin_accounts", UUID(body["id"]))["profile_data"]["first_name"] == "Hal"
