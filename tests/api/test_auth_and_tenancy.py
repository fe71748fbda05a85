from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import jwt as pyjwt
import pytest

from revos.clock import utcnow
from revos.runtime import Runtime
from revos.security.jwt import Claims, issue
from tests.support import Conn, make_client, make_tenant, make_user, superuser_conn


def bearer(runtime: Runtime, **claims: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue(Claims.model_validate(claims), runtime.jwt_secret)}"}


def client_admin(runtime: Runtime, tenant: object, role: str = "admin") -> dict[str, str]:
    return bearer(runtime, sub=str(tenant.user_id), client_id=str(tenant.client_id), user_role=role)  # type: ignore[attr-defined]


def agency_admin(runtime: Runtime, tenant: object) -> dict[str, str]:
    return bearer(runtime, sub=str(tenant.user_id), agency_id=str(tenant.agency_id), user_role="admin")  # type: ignore[attr-defined]


async def test_health_and_readiness(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json()["status"] == "ok"
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing credentials"),
        ({"Authorization": "Basic abc"}, "Bearer"),
        ({"Authorization": "Bearer not-a-jwt"}, "invalid token"),
        ({"X-API-Key": "rvs_nope"}, "malformed API key"),
        ({"X-API-Key": "rvs_0123456789ab_" + "x" * 43}, "unknown API key"),
    ],
    ids=["none", "basic-scheme", "garbage-jwt", "malformed-key", "unknown-key"],
)
async def test_requests_without_valid_credentials_get_401(
    api: httpx.AsyncClient, headers: dict[str, str], reason: str
) -> None:
    response = await api.get("/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert reason in response.json()["detail"]


async def test_expired_foreign_and_service_tokens_are_refused(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str
) -> None:
    tenant = await make_tenant(owner)
    base = {
        "sub": str(tenant.user_id),
        "client_id": str(tenant.client_id),
        "user_role": "admin",
        "aud": "authenticated",
        "role": "authenticated",
    }
    now = int(utcnow().timestamp())
    expired = pyjwt.encode(base | {"exp": now - 10, "iat": now - 100}, runtime.jwt_secret, algorithm="HS256")
    foreign = pyjwt.encode(
        base | {"exp": now + 600}, "another-projects-secret-xxxxxxxxxxxxxxx", algorithm="HS256"
    )
    service = pyjwt.encode(
        base | {"exp": now + 600, "role": "service_role"}, runtime.jwt_secret, algorithm="HS256"
    )
    no_exp = pyjwt.encode(base, runtime.jwt_secret, algorithm="HS256")
    for token, detail in [
        (expired, "expired"),
        (foreign, "invalid token"),
        (service, "role"),
        (no_exp, "invalid"),
    ]:
        response = await api.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert detail in response.json()["detail"]
        assert token not in response.text


async def test_api_key_lifecycle_shown_once_listed_without_secret_and_revoked(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str
) -> None:
    tenant = await make_tenant(owner)
    admin = client_admin(runtime, tenant)
    created = await api.post("/v1/api-keys", json={"name": "zapier", "role": "manager"}, headers=admin)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("rvs_")

    me = await api.get("/v1/me", headers={"X-API-Key": key})
    assert me.status_code == 200
    assert me.json()["client_id"] == str(tenant.client_id)
    assert me.json()["user_role"] == "manager"
    assert (await api.get("/v1/me", headers={"Authorization": f"Bearer {key}"})).status_code == 200

    listing = await api.get("/v1/api-keys", headers=admin)
    assert key not in listing.text
    assert "key_hash" not in listing.text
    (listed,) = [k for k in listing.json()["items"] if k["id"] == created.json()["id"]]
    assert listed["last_used_at"] is not None
    with superuser_conn(db_url) as conn:
        stored = conn.execute("select * from api_keys where id = %s", (listed["id"],)).fetchone()
    assert stored is not None
    assert key not in str(stored)

    revoked = await api.delete(f"/v1/api-keys/{listed['id']}", headers=admin)
    assert revoked.json()["revoked_at"] is not None
    after = await api.get("/v1/me", headers={"X-API-Key": key})
    assert after.status_code == 401
    assert "revoked" in after.json()["detail"]


async def test_permission_matrix_member_reads_but_cannot_manage(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str
) -> None:
    tenant = await make_tenant(owner)
    member = client_admin(runtime, tenant, role="member")
    manager = client_admin(runtime, tenant, role="manager")
    assert (await api.get("/v1/users", headers=member)).status_code == 200
    for headers in (member, manager):
        denied = await api.post("/v1/users", json={"email": "x@example.com"}, headers=headers)
        assert denied.status_code == 403
        assert denied.json()["error"] == "forbidden"
        assert (await api.post("/v1/api-keys", json={"name": "k"}, headers=headers)).status_code == 403
    assert (
        await api.post("/v1/clients", json={"name": "c"}, headers=client_admin(runtime, tenant))
    ).status_code == 403


async def test_client_users_cannot_see_or_touch_another_clients_rows(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str
) -> None:
    a, b = await make_tenant(owner), await make_tenant(owner)
    admin_a = client_admin(runtime, a)
    assert (await api.get(f"/v1/users/{b.user_id}", headers=admin_a)).status_code == 404
    assert (
        await api.patch(f"/v1/users/{b.user_id}", json={"first_name": "X"}, headers=admin_a)
    ).status_code == 404
    assert (await api.delete(f"/v1/users/{b.user_id}", headers=admin_a)).status_code == 404
    assert (await api.get(f"/v1/clients/{b.client_id}", headers=admin_a)).status_code == 404
    listed = (await api.get("/v1/users", headers=admin_a)).json()["items"]
    assert {u["client_id"] for u in listed} == {str(a.client_id)}
    # Naming another client explicitly is refused the same way.
    sneaky = await api.post(
        "/v1/users", json={"email": "s@example.com", "client_id": str(b.client_id)}, headers=admin_a
    )
    assert sneaky.status_code == 404
    with superuser_conn(db_url) as conn:
        assert (
            conn.execute("select count(*) as n from users where email = 's@example.com'").fetchone()["n"] == 0
        )


async def test_agency_staff_reach_every_client_of_their_agency_and_nothing_else(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str
) -> None:
    mine = await make_tenant(owner)
    second_client = (await make_client(owner, agency_id=mine.agency_id))["id"]
    other = await make_tenant(owner)
    staff = agency_admin(runtime, mine)

    clients = (await api.get("/v1/clients", params={"limit": 200}, headers=staff)).json()["items"]
    assert {c["id"] for c in clients} == {str(mine.client_id), str(second_client)}
    assert (await api.get(f"/v1/clients/{other.client_id}", headers=staff)).status_code == 404

    created = await api.post(
        "/v1/clients", json={"name": "New Co", "website": "https://new.example"}, headers=staff
    )
    assert created.status_code == 201, created.text
    assert created.json()["agency_id"] == str(mine.agency_id)

    user = await api.post(
        "/v1/users", json={"email": "staffmade@example.com", "client_id": created.json()["id"]}, headers=staff
    )
    assert user.status_code == 201, user.text
    missing_client = await api.post("/v1/users", json={"email": "nc@example.com"}, headers=staff)
    assert missing_client.status_code == 422
    assert "client_id" in missing_client.json()["detail"]
    foreign = await api.post(
        "/v1/users", json={"email": "f@example.com", "client_id": str(other.client_id)}, headers=staff
    )
    assert foreign.status_code in (403, 422)
    agency = await api.get("/v1/agency", headers=staff)
    assert agency.json()["id"] == str(mine.agency_id)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "ok@example.com", "role": "owner"}, "role"),
        ({"email": "ok@example.com", "shoe_size": 44}, "shoe_size"),
        ({}, "email"),
    ],
    ids=["bad-email", "unknown-role", "unknown-field", "missing-email"],
)
async def test_invalid_payloads_get_422_with_the_field_and_write_nothing(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str, body: dict[str, object], field: str
) -> None:
    tenant = await make_tenant(owner)
    with superuser_conn(db_url) as conn:
        before = conn.execute("select count(*) as n from users").fetchone()["n"]
    response = await api.post("/v1/users", json=body, headers=client_admin(runtime, tenant))
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert field in response.json()["detail"]
    with superuser_conn(db_url) as conn:
        assert conn.execute("select count(*) as n from users").fetchone()["n"] == before


async def test_duplicate_email_is_a_409_and_malformed_json_a_422(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str
) -> None:
    tenant = await make_tenant(owner)
    admin = client_admin(runtime, tenant)
    email = f"dup-{uuid.uuid4().hex[:6]}@example.com"
    assert (await api.post("/v1/users", json={"email": email}, headers=admin)).status_code == 201
    dup = await api.post("/v1/users", json={"email": email.upper()}, headers=admin)
    assert dup.status_code == 409
    bad = await api.post(
        "/v1/users", content=b"{not json", headers=admin | {"Content-Type": "application/json"}
    )
    assert bad.status_code == 422


async def test_cursor_pagination_walks_every_row_once(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, db_url: str
) -> None:
    tenant = await make_tenant(owner)
    created = {
        str((await make_user(owner, client_id=tenant.client_id, role="member"))["id"]) for _ in range(7)
    } | {str(tenant.user_id)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/users", params=params, headers=client_admin(runtime, tenant))).json()
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)
    bad = await api.get("/v1/users", params={"cursor": "!!!"}, headers=client_admin(runtime, tenant))
    assert bad.status_code == 400


async def test_token_lifetime_comes_from_settings(runtime: Runtime) -> None:
    token = issue(Claims(sub="u", client_id=uuid.uuid4()), runtime.jwt_secret, ttl_seconds=120)
    payload = pyjwt.decode(token, runtime.jwt_secret, algorithms=["HS256"], audience="authenticated")
    assert timedelta(seconds=payload["exp"] - payload["iat"]) == timedelta(seconds=120)
