"""Search below the API: the HNSW index with iterative scans keeps a client-filtered search's recall, the
search never reads another client's rows (the way prompts are built), and a change of model re-embeds."""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID

import pytest

from revos.ai import embeddings
from revos.memory import repo, service
from revos.runtime import Runtime
from tests.support import Conn, Tenant, make_client, make_tenant, read_rows

WORDLLAMA = "wordllama/l2_supercat/256"


def unit(rng: random.Random, dims: int = 64) -> list[float]:
    raw = [rng.gauss(0, 1) for _ in range(dims)]
    norm = sum(x * x for x in raw) ** 0.5
    return [x / norm for x in raw]


async def insert_vectors(
    owner: Conn, client_id: UUID, vectors: list[list[float]], model: str = WORDLLAMA
) -> None:
    # Set-up rows without their triggers (the audit trail of 3,000 vectors is not what is tested here).
    async with owner.transaction(), owner.cursor() as cur:
        await cur.execute("set local session_replication_role = replica")
        await cur.executemany(
            "insert into memories (client_id, memory_type, content, embedding, embedding_model)"
            " values (%s, 'note', %s, %s::vector, %s)",
            [
                (client_id, f"vector {i}", repo.vector_literal(embeddings.pad(v)), model)
                for i, v in enumerate(vectors)
            ],
        )


@pytest.fixture(scope="module")
async def crowd(owner: Conn) -> tuple[list[UUID], random.Random]:
    """20 clients with 100 random memories each: one client is 5% of the index."""
    rng = random.Random(7)
    clients = [(await make_client(owner))["id"] for _ in range(20)]
    for client_id in clients:
        await insert_vectors(owner, client_id, [unit(rng) for _ in range(100)])
    await owner.execute("analyze memories")
    return clients, rng


async def nearest_ids(
    runtime: Runtime, client_id: UUID, vector: list[float], *, exact: bool, **scan: Any
) -> list[Any]:
    async with runtime.db.service() as conn:
        # The index, not a sort of the client's rows (which a table this small would get): its recall.
        await conn.execute("set local enable_sort = off")
        await repo.scan_settings(
            conn, **({"iterative": "relaxed_order", "ef_search": 40, "max_scan_tuples": 20000} | scan)
        )
        rows = await repo.nearest(
            conn,
            vector=embeddings.pad(vector),
            client_id=client_id,
            model=WORDLLAMA,
            k=10,
            max_distance=2.0,
            exact=exact,
        )
    return [r["id"] for r in rows]


async def test_iterative_scan_keeps_the_recall_of_a_filtered_search(
    runtime: Runtime, crowd: tuple[list[UUID], random.Random]
) -> None:
    clients, rng = crowd
    with_iterative = without = 0
    queries = 20
    for i in range(queries):
        client_id, query = clients[i % len(clients)], unit(rng)
        truth = set(await nearest_ids(runtime, client_id, query, exact=True))
        assert len(truth) == 10
        with_iterative += len(truth & set(await nearest_ids(runtime, client_id, query, exact=False)))
        plain = await nearest_ids(runtime, client_id, query, exact=False, iterative="off")
        without += len(truth & set(plain))
    assert with_iterative / (queries * 10) >= 0.9
    # Without it, 40 candidates of all clients leave about two of this client's.
    assert without < with_iterative / 2


async def test_the_search_walks_the_hnsw_index(
    runtime: Runtime, crowd: tuple[list[UUID], random.Random]
) -> None:
    clients, rng = crowd
    async with runtime.db.service() as conn:
        # At this size a sort of the client's 100 rows is cheaper; what matters is that the index can serve.
        await conn.execute("set local enable_sort = off")
        cur = await conn.execute(
            "explain select id from memories where client_id = %s and embedding_model = %s"
            " order by embedding <=> %s::vector limit 10",
            (clients[0], WORDLLAMA, repo.vector_literal(embeddings.pad(unit(rng)))),
        )
        plan = "\n".join(r["QUERY PLAN"] for r in await cur.fetchall())
    assert "idx_memories_embedding" in plan


async def test_pgvector_supports_iterative_scans_here(runtime: Runtime) -> None:
    async with runtime.db.service() as conn:
        assert await repo.pgvector_version(conn) >= repo.ITERATIVE_SCAN_SINCE
        await service.use_index(runtime.settings, conn, 10)
        row = await (await conn.execute("select current_setting('hnsw.iterative_scan') as mode")).fetchone()
    assert row == {"mode": "relaxed_order"}


async def test_an_older_pgvector_gets_a_wider_ef_search_instead(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with runtime.db.service() as conn:
        info = conn.info
        monkeypatch.setitem(service._iterative_scan, (f"{info.host}:{info.port}", info.dbname), False)
        await service.use_index(runtime.settings, conn, 10)
        row = await (
            await conn.execute(
                "select current_setting('hnsw.iterative_scan') as mode, current_setting('hnsw.ef_search') as ef"
            )
        ).fetchone()
    assert row == {"mode": "off", "ef": "400"}


async def test_a_prompts_search_never_reads_another_clients_rows(
    runtime: Runtime, owner: Conn, tenant: Tenant
) -> None:
    other = await make_tenant(owner)
    text = "Posts that open with a customer quote got twice the leads"
    async with runtime.db.service() as conn:
        theirs = await service.add(
            runtime, conn, client_id=other.client_id, memory_type="successful_post", content=text
        )
        mine = await service.add(
            runtime, conn, client_id=tenant.client_id, memory_type="note", content="Unrelated"
        )

    # As a skill builds its prompt in a worker (service role): only the named client.
    async with runtime.db.service() as conn:
        hits = await service.search(runtime, conn, client_id=tenant.client_id, query=text, k=50, threshold=-1)
    assert [h["id"] for h in hits] == [mine["id"]]
    # As a request of client A naming client B: Row Level Security leaves nothing.
    async with runtime.db.tenant(tenant.claims()) as conn:
        assert await service.search(runtime, conn, client_id=other.client_id, query=text, threshold=-1) == []
        hits = await service.search(runtime, conn, client_id=tenant.client_id, query=text, threshold=-1)
    assert theirs["id"] not in {h["id"] for h in hits}


async def test_a_change_of_model_re_embeds_instead_of_mixing(
    runtime: Runtime, owner: Conn, tenant: Tenant, db_url: str
) -> None:
    rng = random.Random(3)
    text = "A memory written by an older model"
    await owner.execute(
        "insert into memories (client_id, memory_type, content, embedding, embedding_model)"
        " values (%s, 'note', %s, %s::vector, 'openai/text-embedding-3-small/1536')",
        (tenant.client_id, text, repo.vector_literal(embeddings.pad(unit(rng, 1536)))),
    )
    await owner.execute("insert into memories (client_id, memory_type, content) values (%s, 'note', 'never embedded')",
                        (tenant.client_id,))  # fmt: skip

    async with runtime.db.service() as conn:
        assert await service.search(runtime, conn, client_id=tenant.client_id, query=text, threshold=-1) == []
    assert await service.reembed(runtime) >= 2
    async with runtime.db.service() as conn:
        hits = await service.search(runtime, conn, client_id=tenant.client_id, query=text, k=2)
    assert hits[0]["content"] == text
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    rows = read_rows(
        db_url, "select distinct embedding_model from memories where client_id = %s", tenant.client_id
    )
    assert rows == [{"embedding_model": WORDLLAMA}]
    assert await service.reembed(runtime) == 0
