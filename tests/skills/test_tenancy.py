"""Skills under the tenancy rules: another client's skills and runs are invisible, and a prompt never
carries another client's memories or voice, even when they match better (and on the scheduler's
service-role connection, where Row Level Security does not filter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from revos.memory import service as memory
from revos.runtime import Runtime
from revos.skills import service
from tests.skills.conftest import Shop, execution_rows, make_shop, run
from tests.support import Conn, insert, tenant_conn

B_SECRET = "Zanzibar-quokka pricing secret"
B_OPENER = "QUOKKA-7 opener only client B ever uses"


async def test_another_clients_skills_and_runs_are_invisible(
    api: httpx.AsyncClient, shop: Shop, owner: Conn, runtime: Runtime, db_url: str
) -> None:
    other = await make_shop(owner, runtime)
    await api.put(f"{shop.skills}/voice", json={"execution_mode": "human"}, headers=shop.headers)
    mine = await run(api, shop, "voice", target="dm_template_step1")
    as_other = other.headers
    assert (await api.get(shop.skills, headers=as_other)).status_code == 404
    assert (await api.get(f"{shop.skills}/executions", headers=as_other)).status_code == 404
    assert (await api.post(f"{shop.skills}/design/run", json={}, headers=as_other)).status_code == 404
    assert (await api.put(f"{shop.skills}/design", json={}, headers=as_other)).status_code == 404
    url = f"/v1/skill-executions/{mine['id']}"
    assert (await api.get(url, headers=as_other)).status_code == 404
    assert (await api.post(f"{url}/approve", json={}, headers=as_other)).status_code == 404
    assert (await api.post(f"{url}/reject", json={"reason": "x"}, headers=as_other)).status_code == 404
    assert (await api.get(url, headers=shop.headers)).json()["review_status"] == "pending"

    with tenant_conn(db_url, other.tenant.claims()) as conn:
        for table in ("campaign_skills", "skill_executions"):
            rows = conn.execute(
                f"select * from {table} where campaign_id = %s", (shop.campaign["id"],)
            ).fetchall()
            assert rows == [], table
        changed = conn.execute(
            "update skill_executions set review_status = 'approved' where id = %s", (mine["id"],)
        )
        assert changed.rowcount == 0


async def _remember(runtime: Runtime, client_id: Any, content: str) -> dict[str, Any]:
    async with runtime.db.service(actor="test") as conn:
        return await memory.add(
            runtime, conn, client_id=client_id, memory_type="successful_post", content=content
        )


async def _set_up_two_clients(owner: Conn, runtime: Runtime) -> tuple[Shop, Shop, dict[str, Any]]:
    a, b = await make_shop(owner, runtime), await make_shop(owner, runtime)
    topic = f"{a.magnet['name']} {a.magnet['description']}"
    mine = await _remember(
        runtime, a.tenant.client_id, "A checklist post about growing an audience got 40 comments"
    )
    # B's memories are the query itself, word for word: the most similar memories there are.
    await _remember(runtime, b.tenant.client_id, f"{topic}. {B_SECRET}")
    await _remember(runtime, b.tenant.client_id, topic)
    await insert(
        owner,
        "cartridges",
        {"client_id": b.tenant.client_id, "tier": "workspace", "name": "B's voice",
         "voice": {"example_openers": [B_OPENER], "tone": B_SECRET}},
    )  # fmt: skip
    return a, b, mine


def _assert_only_a(row: dict[str, Any], mine: dict[str, Any]) -> None:
    prompt = row["input_data"]["prompt"]
    text = prompt["system"] + prompt["prompt"]
    assert "40 comments" in text  # A's own memory is used
    assert B_SECRET not in text
    assert B_OPENER not in text
    assert "QUOKKA" not in str(row["output_data"])
    assert [m["id"] for m in row["input_data"]["context"]["memories"]] == [str(mine["id"])]


async def test_a_copywriting_prompt_carries_no_other_clients_memories_or_voice(
    api: httpx.AsyncClient, owner: Conn, runtime: Runtime, db_url: str
) -> None:
    a, b, mine = await _set_up_two_clients(owner, runtime)
    await run(api, a, "copywriting", variants=2)
    [row] = execution_rows(a.campaign["id"], db_url)
    _assert_only_a(row, mine)
    # And B's own run does use B's voice: the secret is real, only out of A's reach.
    done = await run(api, b, "copywriting")
    assert B_OPENER in done["input_data"]["prompt"]["system"]


async def test_a_scheduled_run_on_the_service_role_keeps_to_its_client_too(
    api: httpx.AsyncClient, owner: Conn, runtime: Runtime, db_url: str
) -> None:
    a, _b, mine = await _set_up_two_clients(owner, runtime)
    at = datetime.now(UTC) + timedelta(hours=1)
    body = {"execution_mode": "scheduled", "schedule": at.isoformat()}
    assert (await api.put(f"{a.skills}/copywriting", json=body, headers=a.headers)).status_code == 200
    await service.run_due(runtime, now=at + timedelta(seconds=1))
    [row] = execution_rows(a.campaign["id"], db_url)
    _assert_only_a(row, mine)


async def test_a_cartridge_or_user_of_another_client_cannot_be_named(
    api: httpx.AsyncClient, owner: Conn, runtime: Runtime, db_url: str
) -> None:
    a, b, _ = await _set_up_two_clients(owner, runtime)
    [theirs] = await (
        await owner.execute("select id from cartridges where client_id = %s", (b.tenant.client_id,))
    ).fetchall()
    for options in ({"cartridge_id": str(theirs["id"])}, {"user_id": str(b.tenant.user_id)}):
        response = await api.post(f"{a.skills}/copywriting/run", json={"input": options}, headers=a.headers)
        assert response.status_code == 422, response.text
        assert B_SECRET not in response.text
    failed = execution_rows(a.campaign["id"], db_url)
    assert [r["success"] for r in failed] == [False, False]
