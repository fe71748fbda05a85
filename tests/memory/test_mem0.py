"""Mem0 as a second backend, through the `mem0ai` client against a local stand-in of its REST endpoints:
adds are copied by a job that fills mem0_memory_id, deletes follow, searches add Mem0's hits but never
another client's rows, and a Mem0 outage leaves search working."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from revos.memory import mem0, service
from revos.runtime import Runtime
from tests.memory.standins import Mem0StandIn, serve
from tests.support import Conn, Tenant, make_tenant, read_rows


@pytest.fixture
async def standin(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Mem0StandIn]:
    fake = Mem0StandIn()
    async with serve(fake.app()) as url:
        monkeypatch.setattr(runtime.settings, "mem0_enabled", True)
        monkeypatch.setattr(runtime.settings, "mem0_base_url", url)
        monkeypatch.setattr(runtime.settings, "mem0_api_key", SecretStr("m0-test"))
        monkeypatch.setattr(mem0, "EVENT_POLL_SECONDS", 0.01)
        yield fake


def jobs(db_url: str, task: str, key: str, value: str) -> list[dict[str, Any]]:
    return read_rows(
        db_url,
        "select status from procrastinate.procrastinate_jobs where task_name = %s and args ->> %s = %s",
        task, key, value,
    )  # fmt: skip


async def add(runtime: Runtime, tenant: Tenant, content: str, **kw: Any) -> dict[str, Any]:
    async with runtime.db.service() as conn:
        return await service.add(
            runtime, conn, client_id=tenant.client_id, memory_type="note", content=content, **kw
        )


async def test_an_added_memory_is_copied_to_mem0_by_a_job(
    runtime: Runtime, tenant: Tenant, standin: Mem0StandIn, db_url: str
) -> None:
    row = await add(runtime, tenant, "Posts with a carousel got more comments", user_id=tenant.user_id)
    assert row["mem0_memory_id"] is None
    assert jobs(db_url, service.MEM0_ADD, "memory_id", str(row["id"])) == [{"status": "todo"}]

    mem0_id = await service.copy_to_mem0(runtime, row["id"])
    assert mem0_id is not None
    stored = standin.memories[mem0_id]
    assert stored["memory"] == "Posts with a carousel got more comments"
    assert stored["user_id"] == f"revos-client-{tenant.client_id}"
    assert stored["infer"] is False
    assert stored["metadata"] == {
        "revos_memory_id": str(row["id"]), "memory_type": "note", "revos_user_id": str(tenant.user_id)}  # fmt: skip
    [saved] = read_rows(db_url, "select mem0_memory_id from memories where id = %s", row["id"])
    assert saved["mem0_memory_id"] == mem0_id
    # The add was answered with an event, polled until it named the memory.
    paths = [p for _, p, _ in standin.requests]
    assert paths[0] == "/v1/ping/"
    assert "/v3/memories/add/" in paths
    assert sum(p.startswith("/v1/event/") for p in paths) == 2
    # Run again (a retried job): nothing is copied twice.
    assert await service.copy_to_mem0(runtime, row["id"]) == mem0_id
    assert len(standin.memories) == 1


async def test_a_deleted_memory_is_removed_from_mem0(
    runtime: Runtime, tenant: Tenant, standin: Mem0StandIn, db_url: str
) -> None:
    row = await add(runtime, tenant, "Tuesday mornings get the most comments")
    mem0_id = await service.copy_to_mem0(runtime, row["id"])
    assert mem0_id is not None
    async with runtime.db.service() as conn:
        await service.delete_memory(runtime, conn, row["id"])
    assert jobs(db_url, service.MEM0_DELETE, "mem0_id", mem0_id) == [{"status": "todo"}]
    assert await mem0.delete(runtime.settings, mem0_id) is True
    assert standin.memories == {}
    assert await mem0.delete(runtime.settings, mem0_id) is False  # already gone: the job is done


async def test_search_adds_mem0_hits_but_never_another_clients_rows(
    runtime: Runtime, tenant: Tenant, owner: Conn, standin: Mem0StandIn, db_url: str
) -> None:
    other = await make_tenant(owner)
    text = "Posts that end with a question get more comments"
    mine = await add(runtime, tenant, text)
    theirs_row = await add(runtime, other, text)
    for row in (mine, theirs_row):
        await service.copy_to_mem0(runtime, row["id"])
    [theirs] = read_rows(db_url, "select mem0_memory_id from memories where id = %s", theirs_row["id"])
    # A backend that answers another client's memory with a high score.
    standin.leak = [{"id": theirs["mem0_memory_id"], "memory": text, "score": 0.99}]
    # Our row is not searchable locally (another model's vector, waiting to be re-embedded): Mem0 finds it.
    await owner.execute("update memories set embedding_model = 'old/model/1' where id = %s", (mine["id"],))

    async with runtime.db.tenant(tenant.claims()) as conn:
        hits = await service.search(runtime, conn, client_id=tenant.client_id, query=text, threshold=-1)
    assert [h["id"] for h in hits] == [mine["id"]]
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-3)
    search = next(json.loads(b) for m, p, b in standin.requests if p == "/v3/memories/search/")
    assert search["filters"] == {"user_id": f"revos-client-{tenant.client_id}"}


async def test_search_works_while_mem0_is_down(
    runtime: Runtime, tenant: Tenant, standin: Mem0StandIn
) -> None:
    row = await add(runtime, tenant, "Short first lines win")
    await mem0.client(runtime.settings)  # connected while it was up
    standin.down = True
    async with runtime.db.service() as conn:
        hits = await service.search(runtime, conn, client_id=tenant.client_id, query="Short first lines win")
    assert [h["id"] for h in hits] == [row["id"]]
    with pytest.raises(mem0.Mem0Error, match="Mem0 add failed"):
        await service.copy_to_mem0(runtime, row["id"])


async def test_without_the_mem0ai_package_the_error_says_how_to_fix_it(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from revos.errors import ConfigError

    monkeypatch.setitem(sys.modules, "mem0.client.main", None)
    with pytest.raises(ConfigError, match=r"revos\[mem0\]"):
        mem0._import_client(runtime.settings)
