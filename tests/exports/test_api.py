"""GET /v1/export: all of the caller's client, nothing of another, no secret; admins only."""

from __future__ import annotations

import gzip
import json
from collections import Counter

import httpx

from revos.runtime import Runtime
from tests.support import Conn, Tenant, headers, make_campaign, make_lead, make_linkedin_account, make_tenant


async def test_an_admin_downloads_every_row_of_its_client_and_nothing_else(
    api: httpx.AsyncClient, owner: Conn, runtime: Runtime, tenant: Tenant
) -> None:
    other = await make_tenant(owner, runtime)
    for t in (tenant, other):
        await make_linkedin_account(owner, client_id=t.client_id, user_id=t.user_id)
        campaign = await make_campaign(owner, client_id=t.client_id)
        await make_lead(owner, campaign_id=campaign["id"])

    response = await api.get("/v1/export", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/gzip"
    assert "attachment" in response.headers["content-disposition"]
    lines = [json.loads(line) for line in gzip.decompress(response.content).splitlines()]
    tables = Counter(line["table"] for line in lines)
    assert tables["clients"] == 1
    assert tables["campaigns"] == 1
    assert tables["leads"] == 1
    assert tables["linkedin_accounts"] == 1
    assert tables["audit_log"] > 0
    owners = {line["row"].get("client_id", line["row"]["id"]) for line in lines}
    assert owners == {str(tenant.client_id)}
    account = next(line["row"] for line in lines if line["table"] == "linkedin_accounts")
    assert "linkedin_password" not in account
    assert "linkedin_email" not in account
    assert not any(line["table"] == "encryption_keys" for line in lines)


async def test_only_admins_may_export(api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> None:
    for role in ("manager", "member"):
        response = await api.get("/v1/export", headers=headers(runtime, tenant, role))
        assert response.status_code == 403, response.text
