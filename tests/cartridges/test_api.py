"""/v1/cartridges: the tiers and their rules, one active cartridge per owner, cycles, cross-client
parents, roles, and system cartridges shared by all but written by operators only."""

from __future__ import annotations

import uuid

import httpx
import pytest

from revos.runtime import Runtime
from tests.cartridges.helpers import create, operator_headers, snapshot, system_id
from tests.support import Conn, Tenant, headers, make_tenant, make_user

DEEP: dict[str, object] = {}
for _ in range(20):
    DEEP = {"nested": DEEP}


async def test_workspace_user_and_skill_cartridges_are_created_read_listed_edited_and_deleted(
    api: httpx.AsyncClient, tenant: Tenant, db_url: str
) -> None:
    h = tenant.headers
    workspace = await create(
        api,
        h,
        tier="workspace",
        name="Acme voice",
        parent_cartridge_id=system_id(db_url),
        voice={"tone": "dry"},
    )
    assert (workspace["client_id"], workspace["user_id"], workspace["version"]) == (
        str(tenant.client_id),
        None,
        1,
    )
    user = await create(
        api, h, tier="user", user_id=str(tenant.user_id), parent_cartridge_id=workspace["id"],
        knowledge={"audience": "CFOs"},
    )  # fmt: skip
    skill = await create(
        api, h, tier="skill", skill="copywriting", user_id=str(tenant.user_id), parent_cartridge_id=user["id"]
    )
    assert skill["skill"] == "copywriting"

    got = await api.get(f"/v1/cartridges/{user['id']}", headers=h)
    assert got.json()["knowledge"] == {"audience": "CFOs"}
    listed = (await api.get("/v1/cartridges", params={"tier": "skill"}, headers=h)).json()["items"]
    assert [c["id"] for c in listed] == [skill["id"]]
    everything = (await api.get("/v1/cartridges", headers=h)).json()["items"]
    assert {c["id"] for c in everything} == {workspace["id"], user["id"], skill["id"]}

    edited = await api.patch(f"/v1/cartridges/{user['id']}", json={"name": "Jane's voice"}, headers=h)
    assert edited.status_code == 200, edited.text
    assert (edited.json()["name"], edited.json()["version"]) == ("Jane's voice", 2)
    same = await api.patch(f"/v1/cartridges/{user['id']}", json={"name": "Jane's voice"}, headers=h)
    assert same.json()["version"] == 2  # nothing changed: no new version

    refused = await api.delete(f"/v1/cartridges/{user['id']}", headers=h)
    assert refused.status_code == 409
    assert refused.json()["info"]["children"] == [skill["id"]]
    assert (await api.delete(f"/v1/cartridges/{skill['id']}", headers=h)).status_code == 204
    assert (await api.get(f"/v1/cartridges/{skill['id']}", headers=h)).status_code == 404
    assert (await api.delete(f"/v1/cartridges/{user['id']}", headers=h)).status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tier": "workspace", "user_id": "ME"}, "user_id"),
        ({"tier": "user"}, "user_id"),
        ({"tier": "skill"}, "skill"),
        ({"tier": "user", "user_id": "ME", "skill": "copywriting"}, "skill"),
        ({"tier": "skill", "skill": "astrology"}, "skill"),
        ({"tier": "user", "user_id": "OTHER"}, "user_id"),
        ({"tier": "workspace", "parent_cartridge_id": str(uuid.uuid4())}, "parent_cartridge_id"),
        ({"tier": "workspace", "voice": DEEP}, "voice"),
        ({"tier": "workspace", "knowledge": {"blob": "x" * 70_000}}, "knowledge"),
        ({"tier": "workspace", "voice": ["not", "an", "object"]}, "voice"),
        ({"tier": "workspace", "colour": "blue"}, "colour"),
        ({"tier": "workspace", "name": ""}, "name"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    api: httpx.AsyncClient, tenant: Tenant, owner: Conn, db_url: str, body: dict[str, object], field: str
) -> None:
    other = await make_tenant(owner)
    ids = {"ME": str(tenant.user_id), "OTHER": str(other.user_id)}
    body = {"name": "Voice"} | {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    before = snapshot(db_url, tenant.client_id)
    response = await api.post("/v1/cartridges", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert field in {f["field"].split(".")[0] for f in response.json()["fields"] if f["field"]}
    assert snapshot(db_url, tenant.client_id) == before


async def test_a_cartridge_inherits_in_tier_order_only(
    api: httpx.AsyncClient, tenant: Tenant, db_url: str
) -> None:
    user = await create(api, tenant.headers, tier="user", user_id=str(tenant.user_id))
    response = await api.post(
        "/v1/cartridges",
        json={"tier": "workspace", "name": "W", "parent_cartridge_id": user["id"]},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert "system → workspace → user → skill" in response.json()["detail"]


async def test_one_active_cartridge_per_owner(api: httpx.AsyncClient, tenant: Tenant) -> None:
    h = tenant.headers
    first = await create(api, h, tier="workspace", name="First")
    second = await create(api, h, 409, tier="workspace", name="Second")
    assert second["info"]["active_cartridge_id"] == first["id"]
    draft = await create(api, h, tier="workspace", name="Draft", active=False)
    activated = await api.patch(f"/v1/cartridges/{draft['id']}", json={"active": True}, headers=h)
    assert activated.status_code == 409
    assert (
        await api.patch(f"/v1/cartridges/{first['id']}", json={"active": False}, headers=h)
    ).status_code == 200
    assert (
        await api.patch(f"/v1/cartridges/{draft['id']}", json={"active": True}, headers=h)
    ).status_code == 200


async def test_parent_cycles_are_a_409_naming_the_cycle_and_change_nothing(
    api: httpx.AsyncClient, tenant: Tenant, db_url: str
) -> None:
    h = tenant.headers
    a = await create(api, h, tier="workspace", name="A", active=False)
    b = await create(api, h, tier="workspace", name="B", active=False, parent_cartridge_id=a["id"])
    c = await create(api, h, tier="workspace", name="C", active=False, parent_cartridge_id=b["id"])
    before = snapshot(db_url, tenant.client_id)

    loop = await api.patch(f"/v1/cartridges/{a['id']}", json={"parent_cartridge_id": c["id"]}, headers=h)
    assert loop.status_code == 409, loop.text
    assert loop.json()["detail"] == "parent_cartridge_id would make a cycle: A → C → B → A"
    assert loop.json()["info"]["cycle"] == [a["id"], c["id"], b["id"], a["id"]]
    itself = await api.patch(f"/v1/cartridges/{a['id']}", json={"parent_cartridge_id": a["id"]}, headers=h)
    assert itself.status_code == 409
    assert itself.json()["detail"] == "parent_cartridge_id would make a cycle: A → A"
    assert snapshot(db_url, tenant.client_id) == before


async def test_another_clients_cartridge_is_no_parent_and_not_visible(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, owner: Conn, db_url: str
) -> None:
    other = await make_tenant(owner, runtime)
    theirs = await create(api, other.headers, tier="workspace", name="Theirs")
    for path in ("", "/resolved", "/versions"):
        assert (
            await api.get(f"/v1/cartridges/{theirs['id']}{path}", headers=tenant.headers)
        ).status_code == 404
    assert (
        await api.patch(f"/v1/cartridges/{theirs['id']}", json={"name": "x"}, headers=tenant.headers)
    ).status_code == 404
    assert (await api.delete(f"/v1/cartridges/{theirs['id']}", headers=tenant.headers)).status_code == 404
    assert (await api.get("/v1/cartridges", headers=tenant.headers)).json()["items"] == []

    before = snapshot(db_url, tenant.client_id)
    refused = await create(api, tenant.headers, 422, tier="workspace", parent_cartridge_id=theirs["id"])
    assert refused["detail"] == "parent_cartridge_id: no such cartridge"
    mine = await create(api, tenant.headers, tier="workspace", name="Mine", active=False)
    before = snapshot(db_url, tenant.client_id)
    moved = await api.patch(
        f"/v1/cartridges/{mine['id']}", json={"parent_cartridge_id": theirs["id"]}, headers=tenant.headers
    )
    assert moved.status_code == 422
    assert snapshot(db_url, tenant.client_id) == before


async def test_agency_staff_cannot_link_cartridges_of_two_of_their_clients(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, owner: Conn
) -> None:
    sister = await make_tenant(owner, runtime, agency_id=tenant.agency_id)
    staff = operator_headers(runtime, tenant, operator=False)
    theirs = await create(api, staff, tier="workspace", client_id=str(sister.client_id))
    assert theirs["client_id"] == str(sister.client_id)
    refused = await create(
        api, staff, 422, tier="workspace", client_id=str(tenant.client_id), parent_cartridge_id=theirs["id"]
    )
    assert "inherits only from a system cartridge or one of its own client" in refused["detail"]
    assert (await create(api, staff, 422, tier="workspace"))["fields"][0]["field"] is None


async def test_members_read_cartridges_but_do_not_write_them(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, owner: Conn
) -> None:
    cartridge = await create(api, tenant.headers, tier="workspace")
    member = await make_user(owner, client_id=tenant.client_id, role="member")
    as_member = headers(runtime, Tenant(tenant.agency_id, tenant.client_id, member["id"]), "member")
    assert (await api.get(f"/v1/cartridges/{cartridge['id']}", headers=as_member)).status_code == 200
    assert (await api.get(f"/v1/cartridges/{cartridge['id']}/resolved", headers=as_member)).status_code == 200
    assert (
        await api.post("/v1/cartridges", json={"tier": "workspace", "name": "x"}, headers=as_member)
    ).status_code == 403
    assert (
        await api.patch(f"/v1/cartridges/{cartridge['id']}", json={"name": "y"}, headers=as_member)
    ).status_code == 403
    assert (
        await api.post(f"/v1/cartridges/{cartridge['id']}/generate", headers=as_member)
    ).status_code == 403


async def test_system_cartridges_are_read_by_every_tenant_and_written_by_operators_only(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, owner: Conn, db_url: str
) -> None:
    other = await make_tenant(owner, runtime)
    for who in (tenant, other):
        names = {
            c["name"]
            for c in (
                await api.get("/v1/cartridges", params={"tier": "system", "limit": 200}, headers=who.headers)
            ).json()["items"]
        }
        assert {"Professional", "Casual"} <= names
    professional = system_id(db_url)
    assert (await api.get(f"/v1/cartridges/{professional}", headers=other.headers)).status_code == 200

    body = {"tier": "system", "name": f"Plain {uuid.uuid4().hex[:6]}", "voice": {"tone": "plain"}}
    assert (await api.post("/v1/cartridges", json=body, headers=tenant.headers)).status_code == 403
    staff = operator_headers(runtime, tenant, operator=False)
    assert (await api.post("/v1/cartridges", json=body, headers=staff)).status_code == 403
    for h in (tenant.headers, staff):
        assert (
            await api.patch(f"/v1/cartridges/{professional}", json={"name": "Mine"}, headers=h)
        ).status_code == 403
        assert (await api.delete(f"/v1/cartridges/{professional}", headers=h)).status_code == 403

    operator = operator_headers(runtime, tenant)
    with_client = await api.post(
        "/v1/cartridges", json={**body, "client_id": str(tenant.client_id)}, headers=operator
    )
    assert with_client.status_code == 422
    created = await create(api, operator, **body)
    assert (created["client_id"], created["tier"]) == (None, "system")
    edited = await api.patch(
        f"/v1/cartridges/{created['id']}", json={"voice": {"tone": "plainer"}}, headers=operator
    )
    assert edited.json()["version"] == 2
    versions = (await api.get(f"/v1/cartridges/{created['id']}/versions", headers=other.headers)).json()
    assert [(v["version"], v["changed_by"]) for v in versions] == [
        (2, f"operator:{tenant.user_id}"),
        (1, f"operator:{tenant.user_id}"),
    ]
    # A tenant's cartridge may inherit from it; then it cannot be deleted until that one moves.
    mine = await create(api, other.headers, tier="workspace", parent_cartridge_id=created["id"])
    assert (await api.delete(f"/v1/cartridges/{created['id']}", headers=operator)).status_code == 409
    await api.patch(f"/v1/cartridges/{mine['id']}", json={"parent_cartridge_id": None}, headers=other.headers)
    assert (await api.delete(f"/v1/cartridges/{created['id']}", headers=operator)).status_code == 204
