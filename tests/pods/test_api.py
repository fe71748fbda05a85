"""/v1/pods: CRUD, members, the min_members rule, and tenancy of every route."""

from __future__ import annotations

from uuid import uuid4

import httpx

from revos.runtime import Runtime
from tests.pods.conftest import PodWorld
from tests.support import Conn, make_linkedin_account, make_tenant, make_user


async def test_a_pod_is_created_paused_and_activated_only_with_min_members(world: PodWorld) -> None:
    api, h = world.api, world.tenant.headers
    r = await api.post("/v1/pods", json={"name": "too eager", "status": "active"}, headers=h)
    assert r.status_code == 409
    assert r.json()["error"] == "conflict"
    assert "at least 9 active members" in r.json()["detail"]

    pod = await world.make_pod(3, activate=False, min_members=4,
                               settings={"engage_share": 0.5, "quiet_hours": {"start": 22, "end": 7}})  # fmt: skip
    assert pod["status"] == "paused"
    r = await api.patch(f"/v1/pods/{pod['id']}", json={"status": "active"}, headers=h)
    assert r.status_code == 409, r.text
    assert r.json()["info"] == {"min_members": 4, "active_members": 3}

    r = await api.patch(f"/v1/pods/{pod['id']}", json={"min_members": 3, "status": "active"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert r.json()["active_members"] == 3
    assert r.json()["settings"]["quiet_hours"] == {"start": 22, "end": 7}

    # A member leaving drops the pod below min_members: it pauses, saying why.
    member = (await api.get(f"/v1/pods/{pod['id']}/members", headers=h)).json()[1]
    r = await api.delete(f"/v1/pods/{pod['id']}/members/{member['id']}", headers=h)
    assert r.status_code == 204
    r = await api.get(f"/v1/pods/{pod['id']}", headers=h)
    assert r.json()["status"] == "paused"
    assert "fewer than 3 active members" in r.json()["status_reason"]
    removed = (await api.get(f"/v1/pods/{pod['id']}/members?status=removed", headers=h)).json()
    assert [m["id"] for m in removed] == [member["id"]]


async def test_settings_and_members_are_validated(world: PodWorld, owner: Conn, runtime: Runtime) -> None:
    api, h = world.api, world.tenant.headers
    for bad in (
        {"engage_share": 2},
        {"unknown": 1},
        {"min_delay_seconds": 1800},
        {"repost_window_minutes": 1},
    ):
        r = await api.post("/v1/pods", json={"name": f"bad {uuid4()}", "settings": bad}, headers=h)
        assert r.status_code == 422, (bad, r.text)
    assert "settings.repost_window_minutes" in r.text
    r = await api.post(
        "/v1/pods", json={"name": f"reposting {uuid4()}", "settings": {"reposts": True}}, headers=h
    )
    assert r.status_code == 201, r.text
    pod = await world.make_pod(2, activate=False)
    person = world.people[0]
    # The same member twice.
    r = await api.post(f"/v1/pods/{pod['id']}/members",
                       json={"user_id": str(person.user_id), "linkedin_account_id": str(person.account_id)},
                       headers=h)  # fmt: skip
    assert r.status_code == 409
    # Another client's account, and another user's account.
    other = await make_tenant(owner)
    foreign = await make_linkedin_account(owner, client_id=other.client_id, user_id=other.user_id)
    user = await make_user(owner, client_id=world.tenant.client_id)
    for account in (foreign["id"], world.people[1].account_id):
        r = await api.post(f"/v1/pods/{pod['id']}/members",
                           json={"user_id": str(user["id"]), "linkedin_account_id": str(account)},
                           headers=h)  # fmt: skip
        assert r.status_code == 422, r.text


async def test_another_client_reaches_no_pod_route(
    world: PodWorld, owner: Conn, runtime: Runtime, api: httpx.AsyncClient
) -> None:
    pod = await world.make_pod(3, min_members=3)
    member = world.people[1].member_id
    other = await make_tenant(owner, runtime)
    h = other.headers
    base = f"/v1/pods/{pod['id']}"
    fake = uuid4()
    calls = [
        ("GET", base, None),
        ("PATCH", base, {"name": "mine"}),
        ("DELETE", base, None),
        ("GET", f"{base}/members", None),
        ("POST", f"{base}/members", {"user_id": str(other.user_id), "linkedin_account_id": str(fake)}),
        ("GET", f"{base}/members/{member}", None),
        ("PATCH", f"{base}/members/{member}", {"status": "paused"}),
        ("DELETE", f"{base}/members/{member}", None),
        (
            "POST",
            f"{base}/posts",
            {"member_id": str(member), "post_url": "urn:li:activity:7300000000000000001"},
        ),
        ("GET", f"{base}/activities", None),
        ("POST", f"{base}/activities/{fake}/approve", {}),
        ("POST", f"{base}/activities/{fake}/reject", {}),
        ("GET", f"{base}/tasks?member={member}", None),
    ]
    for method, url, body in calls:
        r = await api.request(method, url, json=body, headers=h)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
    listed = (await api.get("/v1/pods", headers=h)).json()["items"]
    assert all(p["id"] != pod["id"] for p in listed)
    # Nothing changed for the owner.
    r = await api.get(base, headers=world.tenant.headers)
    assert r.json()["name"] == pod["name"]
    assert r.json()["status"] == "active"
    assert len((await api.get(f"{base}/members?status=active", headers=world.tenant.headers)).json()) == 3


async def test_a_member_role_reads_but_does_not_write(world: PodWorld, runtime: Runtime) -> None:
    from tests.support import token_headers

    pod = await world.make_pod(3, min_members=3)
    reader = token_headers(runtime, world.tenant.user_id, world.tenant.client_id, "member")
    assert (await world.api.get(f"/v1/pods/{pod['id']}", headers=reader)).status_code == 200
    r = await world.api.patch(f"/v1/pods/{pod['id']}", json={"name": "x"}, headers=reader)
    assert r.status_code == 403
