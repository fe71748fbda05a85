"""Credentials die with their user: deletion, demotion and revocation end a token at its next request."""

from __future__ import annotations

import time
from uuid import UUID

import httpx
import jwt as pyjwt

from revos.runtime import Runtime
from tests.api.test_auth_and_tenancy import agency_admin, bearer, client_admin
from tests.support import Conn, Tenant, make_client, make_user, seal_audit, superuser_conn


def token_at(runtime: Runtime, issued_at: float, **claims: object) -> dict[str, str]:
    """A token as an issuer would sign it at `issued_at` (seconds since the epoch)."""
    payload = claims | {"aud": "authenticated", "iat": int(issued_at), "exp": int(time.time()) + 600}
    return {"Authorization": f"Bearer {pyjwt.encode(payload, runtime.jwt_secret, algorithm='HS256')}"}


async def test_a_deleted_users_token_is_refused(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str, tenant: Tenant
) -> None:
    member = (await make_user(owner, client_id=tenant.client_id, role="member"))["id"]
    headers = bearer(runtime, sub=str(member), client_id=str(tenant.client_id), user_role="member")
    assert (await api.get("/v1/me", headers=headers)).status_code == 200
    deleted = await api.delete(f"/v1/users/{member}", headers=client_admin(runtime, tenant))
    assert deleted.status_code == 204, deleted.text
    refused = await api.get("/v1/me", headers=headers)
    assert refused.status_code == 401
    assert "no longer exists" in refused.json()["detail"]


async def test_a_demoted_staff_token_stops_working_everywhere(
    api: httpx.AsyncClient, runtime: Runtime, db_url: str, tenant: Tenant
) -> None:
    staff = agency_admin(runtime, tenant)
    assert (await api.get("/v1/me", headers=staff)).status_code == 200
    made = await api.post("/v1/clients", json={"name": "Before demotion"}, headers=staff)
    assert made.status_code == 201, made.text

    with superuser_conn(db_url) as conn:
        conn.execute("update users set role = 'member' where id = %s", (tenant.user_id,))
    assert (await api.get("/v1/me", headers=staff)).status_code == 401
    refused = await api.post("/v1/clients", json={"name": "After demotion"}, headers=staff)
    assert refused.status_code == 401
    with superuser_conn(db_url) as conn:
        names = {
            r["name"]
            for r in conn.execute("select name from clients where agency_id = %s", (tenant.agency_id,))
        }
    assert "After demotion" not in names


async def test_a_client_token_never_acts_above_its_users_current_role(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str, tenant: Tenant
) -> None:
    manager = (await make_user(owner, client_id=tenant.client_id, role="manager"))["id"]
    claims_admin = bearer(runtime, sub=str(manager), client_id=str(tenant.client_id), user_role="admin")
    me = (await api.get("/v1/me", headers=claims_admin)).json()
    assert me["user_role"] == "manager"
    assert (await api.get("/v1/api-keys", headers=claims_admin)).status_code == 403


async def test_a_token_for_another_client_than_its_users_is_refused(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str, tenant: Tenant
) -> None:
    other = (await make_client(owner, agency_id=tenant.agency_id))["id"]
    headers = bearer(runtime, sub=str(tenant.user_id), client_id=str(other), user_role="admin")
    assert (await api.get("/v1/me", headers=headers)).status_code == 401


async def test_revoking_a_users_tokens_ends_those_issued_before_not_after(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str, tenant: Tenant
) -> None:
    user = (await make_user(owner, client_id=tenant.client_id, role="member"))["id"]
    claims = {"sub": str(user), "client_id": str(tenant.client_id), "user_role": "member"}
    earlier = token_at(runtime, time.time() - 60, **claims)
    assert (await api.get("/v1/me", headers=earlier)).status_code == 200

    # A member may end their own tokens, not somebody else's.
    other = (await make_user(owner, client_id=tenant.client_id, role="member"))["id"]
    refused = await api.post(f"/v1/users/{other}/revoke-tokens", headers=earlier)
    assert refused.status_code == 403
    revoked = await api.post(f"/v1/users/{user}/revoke-tokens", headers=earlier)
    assert revoked.status_code == 204, revoked.text

    answer = await api.get("/v1/me", headers=earlier)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "token revoked"
    # Tokens carry whole seconds; one issued a few seconds after the revocation works.
    with superuser_conn(db_url) as conn:
        conn.execute("update users set tokens_valid_after = now() - interval '5 s' where id = %s", (user,))
    assert (await api.get("/v1/me", headers=earlier)).status_code == 401
    assert (await api.get("/v1/me", headers=token_at(runtime, time.time(), **claims))).status_code == 200


async def test_an_admin_revokes_a_users_tokens(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str, tenant: Tenant
) -> None:
    user = (await make_user(owner, client_id=tenant.client_id, role="manager"))["id"]
    claims = {"sub": str(user), "client_id": str(tenant.client_id), "user_role": "manager"}
    earlier = token_at(runtime, time.time() - 60, **claims)
    resp = await api.post(f"/v1/users/{user}/revoke-tokens", headers=client_admin(runtime, tenant))
    assert resp.status_code == 204, resp.text
    assert (await api.get("/v1/campaigns", headers=earlier)).status_code == 401
    missing = await api.post(
        "/v1/users/00000000-0000-0000-0000-000000000000/revoke-tokens", headers=client_admin(runtime, tenant)
    )
    assert missing.status_code == 404


async def test_agency_staff_create_an_api_key_for_any_client_of_their_agency(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str, tenant: Tenant
) -> None:
    other = (await make_client(owner, agency_id=tenant.agency_id))["id"]
    created = await api.post(
        "/v1/api-keys",
        json={"name": "ops", "role": "manager", "client_id": str(other)},
        headers=agency_admin(runtime, tenant),
    )
    assert created.status_code == 201, created.text
    key = created.json()
    assert UUID(key["client_id"]) == other
    me = (await api.get("/v1/me", headers={"X-API-Key": key["key"]})).json()
    assert UUID(me["client_id"]) == other
    assert me["user_role"] == "manager"
    seal_audit(db_url)
    with superuser_conn(db_url) as conn:
        actor = conn.execute(
            "select actor from audit_log where table_name = 'api_keys' and row_id = %s and operation = 'INSERT'",
            (key["id"],),
        ).fetchone()
    assert actor is not None
    assert str(tenant.user_id) in actor["actor"]
