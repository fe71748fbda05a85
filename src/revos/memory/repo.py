"""SQL for memories. Runs in the caller's transaction.

Search is a nearest-neighbour walk of the HNSW index (idx_memories_embedding, cosine) with the client,
model and optional user/type as filters. A plain HNSW scan stops after `hnsw.ef_search` candidates, and
a filter that keeps one row in ten would leave a search of ten with one; pgvector's iterative scan
(0.8.0 and later) keeps walking the graph until enough rows pass the filters (bounded by
`hnsw.max_scan_tuples`). On an older pgvector the search raises ef_search instead (`scan_settings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from revos.db import crud
from revos.db.pool import Conn

COLUMNS = (
    "id, client_id, user_id, mem0_memory_id, memory_type, content, metadata, embedding_model,"
    " relevance_score, created_at"
)
# pgvector's first release with iterative index scans.
ITERATIVE_SCAN_SINCE = (0, 8, 0)


def vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(format(x, ".8g") for x in vector) + "]"


async def insert(conn: Conn, values: dict[str, Any], *, vector: Sequence[float]) -> dict[str, Any]:
    cols = [*values, "embedding"]
    params = [Jsonb(v) if isinstance(v, dict) else v for v in values.values()]
    row = await (
        await conn.execute(
            f"insert into memories ({', '.join(cols)}) values ({', '.join(['%s'] * len(values))}, %s::vector)"
            f" returning {COLUMNS}",
            [*params, vector_literal(vector)],
        )
    ).fetchone()
    assert row is not None
    return row


async def insert_auto(
    conn: Conn, values: dict[str, Any], *, vector: Sequence[float]
) -> dict[str, Any] | None:
    """Insert an automatic memory unless its client already has one from the same source: None then."""
    cols = [*values, "embedding"]
    params = [Jsonb(v) if isinstance(v, dict) else v for v in values.values()]
    return await (
        await conn.execute(
            f"insert into memories ({', '.join(cols)}) values ({', '.join(['%s'] * len(values))}, %s::vector)"
            " on conflict (client_id, (metadata ->> 'auto_source')) where metadata ? 'auto_source'"
            f" do nothing returning {COLUMNS}",
            [*params, vector_literal(vector)],
        )
    ).fetchone()


async def get(conn: Conn, memory_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(f"select {COLUMNS} from memories where id = %s", (memory_id,))
    ).fetchone()


async def delete(conn: Conn, memory_id: UUID) -> dict[str, Any] | None:
    """Delete the row; returns what a backend needs to forget it too."""
    return await (
        await conn.execute(
            "delete from memories where id = %s returning id, client_id, mem0_memory_id", (memory_id,)
        )
    ).fetchone()


async def set_mem0_id(conn: Conn, memory_id: UUID, mem0_id: str) -> bool:
    cur = await conn.execute(
        "update memories set mem0_memory_id = %s where id = %s and mem0_memory_id is null",
        (mem0_id, memory_id),
    )
    return cur.rowcount > 0


async def page(
    conn: Conn,
    *,
    cursor: str | None,
    limit: int,
    client_id: UUID | None,
    user_id: UUID | None,
    memory_type: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    return await crud.page(
        conn,
        "memories",
        cursor=cursor,
        limit=limit,
        where=[("client_id", client_id), ("user_id", user_id), ("memory_type", memory_type)],
        columns=COLUMNS,
    )


async def pgvector_version(conn: Conn) -> tuple[int, ...]:
    row = await (
        await conn.execute("select extversion from pg_extension where extname = 'vector'")
    ).fetchone()
    if row is None:
        return ()
    return tuple(int(p) for p in row["extversion"].split(".") if p.isdigit())


async def scan_settings(conn: Conn, *, iterative: str, ef_search: int, max_scan_tuples: int) -> None:
    """HNSW settings for the rest of the transaction (`set local`)."""
    await conn.execute(
        "select set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', %s, true),"
        " set_config('hnsw.max_scan_tuples', %s, true)",
        (str(ef_search), iterative, str(max_scan_tuples)),
    )


async def nearest(
    conn: Conn,
    *,
    vector: Sequence[float],
    client_id: UUID,
    model: str,
    k: int,
    max_distance: float,
    user_id: UUID | None = None,
    memory_type: str | None = None,
    exact: bool = False,
) -> list[dict[str, Any]]:
    """The `k` memories of the client nearest to `vector` (cosine distance at most `max_distance`),
    nearest first, each with `distance`. `exact` orders by an expression the index cannot serve: the
    true top k, for measuring the index's recall.

    The k rows are taken first and the distance threshold applied to them afterwards (a materialized
    CTE, as pgvector advises): a threshold inside the index scan would end the walk early."""
    filters = ["client_id = %(client)s", "embedding_model = %(model)s"]
    if user_id is not None:
        filters.append("user_id = %(user)s")
    if memory_type is not None:
        filters.append("memory_type = %(type)s")
    order = "(embedding <=> %(q)s::vector) + 0" if exact else "embedding <=> %(q)s::vector"
    query = (
        f"with nearest as materialized (select {COLUMNS}, embedding <=> %(q)s::vector as distance"
        f" from memories where {' and '.join(filters)} order by {order} limit %(k)s)"
        " select * from nearest where distance <= %(max)s order by distance, id"
    )
    params = {
        "q": vector_literal(vector),
        "client": client_id,
        "model": model,
        "user": user_id,
        "type": memory_type,
        "k": k,
        "max": max_distance,
    }
    return await (await conn.execute(query, params)).fetchall()


async def by_mem0_ids(
    conn: Conn,
    ids: Sequence[str],
    *,
    client_id: UUID,
    user_id: UUID | None,
    memory_type: str | None,
) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            f"select {COLUMNS} from memories where mem0_memory_id = any(%s) and client_id = %s"
            " and (%s::uuid is null or user_id = %s) and (%s::text is null or memory_type = %s)",
            (list(ids), client_id, user_id, user_id, memory_type, memory_type),
        )
    ).fetchall()


async def count_stale(conn: Conn, model: str) -> int:
    row = await (
        await conn.execute(
            "select count(*) as n from memories where embedding_model is distinct from %s", (model,)
        )
    ).fetchone()
    return int(row["n"]) if row else 0


async def claim_stale(conn: Conn, model: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` memories embedded by another model (or none), locked for re-embedding."""
    return await (
        await conn.execute(
            "select id, content from memories where embedding_model is distinct from %s"
            " order by id limit %s for update skip locked",
            (model, limit),
        )
    ).fetchall()


async def set_embeddings(conn: Conn, model: str, rows: Sequence[tuple[UUID, Sequence[float]]]) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            "update memories set embedding = %s::vector, embedding_model = %s where id = %s",
            [(vector_literal(v), model, memory_id) for memory_id, v in rows],
        )
