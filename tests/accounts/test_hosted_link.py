"""Hosted auth: a person connects their LinkedIn account on Unipile's page; revOS never sees the login."""

from __future__ import annotations

import httpx

from revos.runtime import Runtime
from revos.sim import Simulator
from tests.support import Tenant, headers, read_row


async def test_a_hosted_link_connects_the_account_without_revos_seeing_the_login(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, db_url: str
) -> None:
    login = linkedin.add_account(
        username="hana@example.com", password="hosted-Pa55", checkpoint="2FA", name="Hana Ito"
    )
    h = headers(runtime, tenant)
    made = await api.post(
        "/v1/linkedin-accounts/hosted-link",
        json={"success_redirect_url": "https://app.example.com/done"},
        headers=h,
    )
    assert made.status_code == 201, made.text
    link = made.json()
    # The person, in their browser, on Unipile's page: login, then the code LinkedIn sent.
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as browser:
        assert (await browser.get(link["url"])).status_code == 200
        asked = await browser.post(
            link["url"], data={"username": "hana@example.com", "password": "hosted-Pa55"}
        )
        assert asked.status_code == 202
        done = await browser.post(link["url"], data={"code": login.code})
    assert done.status_code == 303
    assert done.headers["location"] == "https://app.example.com/done"

    [notice] = linkedin.hosted_notifications
    assert notice.status == 200, notice
    listed = (await api.get("/v1/linkedin-accounts", headers=h)).json()["items"]
    [account] = [a for a in listed if a["unipile_account_id"] == notice.body["account_id"]]
    assert account["status"] == "active"
    assert account["account_name"] == "Hana Ito"  # named after the profile Unipile reads
    row = read_row(db_url, "linkedin_accounts", account["id"])
    assert b"hosted-Pa55" not in bytes(row["linkedin_password"])
    # The same notification again (Unipile retried) changes nothing.
    again = await api.post(notice.url, json=notice.body)
    assert again.status_code == 200
    assert again.json()["id"] == account["id"]


async def test_a_forged_or_foreign_notification_attaches_nothing(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator
) -> None:
    h = headers(runtime, tenant)
    login = linkedin.add_account(username="ivo@example.com", password="pw")
    other = linkedin.connect_account(login)  # an account in the Unipile workspace, not the tenant's
    made = (await api.post("/v1/linkedin-accounts/hosted-link", json={}, headers=h)).json()
    assert made["url"]
    [link] = linkedin.hosted_links.values()
    assert link.notify_url is not None
    token = link.notify_url.rsplit("/", 1)[1]
    base = link.notify_url.rsplit("/", 1)[0]
    forged = await api.post(
        f"{base}/{token[:-2]}xx",
        json={"status": "CREATION_SUCCESS", "account_id": other.id, "name": link.name},
    )
    assert forged.status_code == 401
    wrong_name = await api.post(
        link.notify_url, json={"status": "CREATION_SUCCESS", "account_id": other.id, "name": "someone-else"}
    )
    assert wrong_name.status_code == 401
    unknown = await api.post(
        link.notify_url, json={"status": "CREATION_SUCCESS", "account_id": "nope", "name": link.name}
    )
    assert unknown.status_code == 422
    listed = (await api.get("/v1/linkedin-accounts", headers=h)).json()["items"]
    assert other.id not in {a["unipile_account_id"] for a in listed}
