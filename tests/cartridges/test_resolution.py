"""Inheritance: the merged voice with each field's origin, the cartridge a skill writes with, versions."""

from __future__ import annotations

from uuid import UUID

import httpx
import psycopg
import pytest

from revos.cartridges import service
from revos.cartridges.resolution import Voices
from revos.runtime import Runtime
from tests.cartridges.helpers import create, system_id
from tests.support import Conn, Tenant, make_tenant, make_user, read_rows, service_conn


async def _chain(api: httpx.AsyncClient, tenant: Tenant, db_url: str) -> dict[str, dict[str, object]]:
    h = tenant.headers
    workspace = await create(
        api, h, tier="workspace", parent_cartridge_id=system_id(db_url),
        voice={"tone": "dry", "hashtags": {"max": 1}}, knowledge={"audience": "CFOs"},
    )  # fmt: skip
    user = await create(
        api, h, tier="user", user_id=str(tenant.user_id), parent_cartridge_id=workspace["id"],
        voice={"emoji_policy": {"allowed": True}, "hashtags": None},
    )  # fmt: skip
    skill = await create(
        api, h, tier="skill", skill="copywriting", user_id=str(tenant.user_id), parent_cartridge_id=user["id"],
        voice={"example_ctas": ["Comment {trigger_word}"]},
    )  # fmt: skip
    return {"workspace": workspace, "user": user, "skill": skill}


async def test_resolved_voice_merges_the_chain_nearest_first_with_each_fields_origin(
    api: httpx.AsyncClient, tenant: Tenant, db_url: str
) -> None:
    made = await _chain(api, tenant, db_url)
    skill, _user, workspace = made["skill"], made["user"], made["workspace"]
    response = await api.get(f"/v1/cartridges/{skill['id']}/resolved", headers=tenant.headers)
    assert response.status_code == 200, response.text
    resolved = response.json()
    voice, origins = resolved["voice"], resolved["origins"]

    assert voice["tone"] == "dry"
    assert origins["voice.tone"] == {"tier": "workspace", "cartridge_id": workspace["id"], "version": 1}
    assert voice["emoji_policy"] == {"allowed": True}  # a whole top-level field, not merged key by key
    assert origins["voice.emoji_policy"]["tier"] == "user"
    assert voice["example_ctas"] == ["Comment {trigger_word}"]
    assert origins["voice.example_ctas"]["tier"] == "skill"
    assert "hashtags" not in voice
    assert "voice.hashtags" not in origins
    assert voice["vocabulary"]["avoid"]  # from the system cartridge
    assert origins["voice.vocabulary"] == {"tier": "system", "cartridge_id": system_id(db_url), "version": 1}
    assert resolved["knowledge"]["audience"] == "CFOs"
    assert origins["knowledge.audience"]["tier"] == "workspace"
    assert origins["knowledge.values"]["tier"] == "system"
    assert [(link["tier"], link["version"]) for link in resolved["chain"]] == [
        ("system", 1), ("workspace", 1), ("user", 1), ("skill", 1),
    ]  # fmt: skip
    assert (resolved["cartridge_id"], resolved["version"]) == (skill["id"], 1)

    # An edit up the chain shows in the chain's versions and in the origin of the field it changed.
    await api.patch(
        f"/v1/cartridges/{workspace['id']}", json={"voice": {"tone": "warm"}}, headers=tenant.headers
    )
    again = (await api.get(f"/v1/cartridges/{skill['id']}/resolved", headers=tenant.headers)).json()
    assert again["voice"]["tone"] == "warm"
    assert again["origins"]["voice.tone"]["version"] == 2
    assert again["chain"][1]["version"] == 2


async def test_resolve_for_picks_the_nearest_active_cartridge_of_the_named_client_only(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, owner: Conn, db_url: str
) -> None:
    made = await _chain(api, tenant, db_url)
    colleague = await make_user(owner, client_id=tenant.client_id)
    client_skill = await create(api, tenant.headers, tier="skill", skill="design", name="Design voice")
    stranger = await make_tenant(owner, runtime)
    await create(api, stranger.headers, tier="workspace", name="Stranger's", voice={"tone": "loud"})
    empty = await make_tenant(owner)

    async with runtime.db.service(actor="skills") as conn:

        async def pick(client: UUID, user: UUID | None = None, skill: str | None = None) -> service.Resolved:
            return await service.resolve_for(conn, client_id=client, user_id=user, skill=skill)

        me = tenant.user_id
        assert (await pick(tenant.client_id, me, "copywriting")).cartridge_id == UUID(made["skill"]["id"])
        assert (await pick(tenant.client_id, me, "voice")).cartridge_id == UUID(made["user"]["id"])
        assert (await pick(tenant.client_id, me)).cartridge_id == UUID(made["user"]["id"])
        assert (await pick(tenant.client_id, colleague["id"], "design")).cartridge_id == UUID(
            client_skill["id"]
        )
        assert (await pick(tenant.client_id, colleague["id"])).cartridge_id == UUID(made["workspace"]["id"])
        fallback = await pick(empty.client_id, None, "copywriting")
        assert (fallback.cartridge_id, fallback.tier) == (UUID(system_id(db_url)), "system")
        assert fallback.chain == [(fallback.cartridge_id, 1)]
        resolved = await pick(tenant.client_id, me, "copywriting")
        assert resolved.voice["tone"] == "dry"
        assert [v for _, v in resolved.chain] == [1, 1, 1, 1]
        assert resolved.provenance() == {
            "cartridge_id": made["skill"]["id"],
            "version": 1,
            "chain": [[str(i), v] for i, v in resolved.chain],
        }
    async with runtime.db.tenant(stranger_claims(stranger)) as conn:
        with pytest.raises(Exception, match="cartridge not found"):
            await service.resolve(conn, UUID(made["skill"]["id"]))


def stranger_claims(t: Tenant) -> dict[str, object]:
    return {
        "sub": str(t.user_id),
        "role": "authenticated",
        "client_id": str(t.client_id),
        "user_role": "admin",
    }


async def test_every_change_is_a_version_with_its_snapshot_author_and_kind(
    api: httpx.AsyncClient, tenant: Tenant, db_url: str
) -> None:
    h = tenant.headers
    cartridge = await create(api, h, tier="workspace", name="V1", voice={"tone": "dry"})
    await api.patch(f"/v1/cartridges/{cartridge['id']}", json={"name": "V2"}, headers=h)
    await api.patch(
        f"/v1/cartridges/{cartridge['id']}", json={"voice": {"tone": "warm"}, "active": False}, headers=h
    )
    versions = (await api.get(f"/v1/cartridges/{cartridge['id']}/versions", headers=h)).json()
    assert [(v["version"], v["change"]) for v in versions] == [(3, "update"), (2, "update"), (1, "create")]
    assert {v["changed_by"] for v in versions} == {str(tenant.user_id)}
    assert versions[0]["snapshot"]["voice"] == {"tone": "warm"}
    assert versions[0]["snapshot"]["active"] is False
    assert versions[2]["snapshot"]["name"] == "V1"
    first = (await api.get(f"/v1/cartridges/{cartridge['id']}/versions/1", headers=h)).json()
    assert first["snapshot"]["voice"] == {"tone": "dry"}
    assert (await api.get(f"/v1/cartridges/{cartridge['id']}/versions/9", headers=h)).status_code == 404
    older = (
        await api.get(
            f"/v1/cartridges/{cartridge['id']}/versions", params={"before": 3, "limit": 1}, headers=h
        )
    ).json()
    assert [v["version"] for v in older] == [2]
    rows = read_rows(
        db_url, "select client_id from cartridge_versions where cartridge_id = %s", cartridge["id"]
    )
    assert {r["client_id"] for r in rows} == {tenant.client_id}


async def test_the_database_refuses_a_cycle_and_a_foreign_parent_written_around_the_api(
    db_url: str, owner: Conn, tenant: Tenant
) -> None:
    other = await make_tenant(owner)
    with service_conn(db_url) as conn:
        a = conn.execute(
            "insert into cartridges (client_id, tier, name, active) values (%s, 'workspace', 'A', false) returning id",
            (tenant.client_id,),
        ).fetchone()["id"]
        b = conn.execute(
            "insert into cartridges (client_id, tier, name, active, parent_cartridge_id)"
            " values (%s, 'workspace', 'B', false, %s) returning id",
            (tenant.client_id, a),
        ).fetchone()["id"]
        with (
            pytest.raises(psycopg.errors.CheckViolation, match="would inherit from itself"),
            conn.transaction(),
        ):
            conn.execute("update cartridges set parent_cartridge_id = %s where id = %s", (b, a))
        with (
            pytest.raises(psycopg.errors.ForeignKeyViolation, match="system cartridge or one of its own"),
            conn.transaction(),
        ):
            conn.execute(
                "insert into cartridges (client_id, tier, name, active, parent_cartridge_id)"
                " values (%s, 'workspace', 'C', false, %s)",
                (other.client_id, a),
            )


async def test_kept_voices_follow_every_change_of_the_cartridges_at_the_next_check(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, db_url: str
) -> None:
    """The pod executor keeps members' voices between batches of drafts (`resolution.Voices`): the same
    voice while nothing changed, the new one once a cartridge is edited, created or deleted."""
    h, me = tenant.headers, tenant.user_id
    workspace = await create(api, h, tier="workspace", voice={"tone": "dry"})
    voices = Voices()

    async def tone() -> object:
        async with runtime.db.service(actor="pods") as conn:
            await voices.check(conn)
            return (await voices.resolve_for(conn, client_id=tenant.client_id, user_id=me)).voice["tone"]

    assert await tone() == "dry"
    async with runtime.db.service(actor="pods") as conn:
        await voices.check(conn)
        first = await voices.resolve_for(conn, client_id=tenant.client_id, user_id=me)
        assert await voices.resolve_for(conn, client_id=tenant.client_id, user_id=me) is first  # kept
    edited = await api.patch(f"/v1/cartridges/{workspace['id']}", json={"voice": {"tone": "warm"}}, headers=h)
    assert edited.status_code == 200, edited.text
    assert await tone() == "warm"
    user = await create(
        api, h, tier="user", user_id=str(me), parent_cartridge_id=workspace["id"], voice={"tone": "blunt"}
    )
    assert await tone() == "blunt"
    assert (await api.delete(f"/v1/cartridges/{user['id']}", headers=h)).status_code == 204
    assert await tone() == "warm"
    off = await api.patch(f"/v1/cartridges/{workspace['id']}", json={"active": False}, headers=h)
    assert off.status_code == 200, off.text
    assert await tone() not in ("warm", "blunt", "dry")  # the system cartridge's
