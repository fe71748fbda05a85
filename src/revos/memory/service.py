"""Memories: add, read, delete and search by meaning, in the caller's transaction.

Every memory is embedded when written (revos.ai.embeddings, the deployment's embedder), stored as a
zero-padded vector(1536) with the model that made it (`embedding_model`), and found again by cosine
similarity among the memories of one client (always), optionally one user and one type. A change of
embedder re-embeds the older rows (`reembed`, run by the worker) instead of comparing two models'
vectors. With Mem0 enabled, rows are also copied there (revos.memory.mem0) and searches add its hits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from revos.ai import embeddings
from revos.config import Settings
from revos.db.pool import Conn
from revos.errors import ConfigError, NotFound, ValidationFailed
from revos.memory import mem0, repo
from revos.queue import defer_if_absent
from revos.runtime import Runtime

log = logging.getLogger(__name__)

SUCCESSFUL_POST = "successful_post"
CONVERSION_PATTERN = "conversion_pattern"
# metadata key of automatic memories: one per client and source (a unique index).
AUTO_SOURCE = "auto_source"
MEMORY_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
MEM0_ADD = "memory.mem0_add"
MEM0_DELETE = "memory.mem0_delete"
# Without iterative scans (pgvector < 0.8) a filtered HNSW search only sees ef_search candidates of all
# clients: ask for this many per result wanted, up to pgvector's maximum.
EF_SEARCH_PER_RESULT = 40
EF_SEARCH_MAX = 1000

_iterative_scan: dict[tuple[str, str], bool] = {}


def check_content(settings: Settings, text: str, field: str = "content") -> str:
    text = text.strip()
    if not text:
        raise ValidationFailed(f"{field}: may not be empty")
    if len(text) > settings.memory_content_max_chars:
        raise ValidationFailed(
            f"{field}: at most {settings.memory_content_max_chars} characters (REVOS_MEMORY_CONTENT_MAX_CHARS)"
        )
    return text


def check_type(memory_type: str) -> str:
    if not MEMORY_TYPE.match(memory_type):
        raise ValidationFailed(
            "memory_type: lowercase letters, digits and _, starting with a letter, at most 50"
        )
    return memory_type


async def _embed(settings: Settings, text: str) -> tuple[list[float], str]:
    embedder = embeddings.embedder(settings)
    [vector] = await embedder.embed([text])
    return embeddings.pad(vector), embeddings.signature(embedder)


async def queue_mem0_copy(settings: Settings, conn: Conn, memory_id: UUID) -> None:
    """With Mem0 enabled, copy the row there once this transaction commits (a job, retried)."""
    if settings.mem0_enabled:
        await defer_if_absent(
            conn, MEM0_ADD, {"memory_id": str(memory_id)}, queueing_lock=f"{MEM0_ADD}:{memory_id}"
        )


async def add(
    runtime: Runtime,
    conn: Conn,
    *,
    client_id: UUID,
    user_id: UUID | None = None,
    memory_type: str,
    content: str,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Embed and store one memory of `client_id` (and `user_id`, a user of that client)."""
    settings = runtime.settings
    content = check_content(settings, content)
    metadata = dict(metadata or {})
    if AUTO_SOURCE in metadata:
        raise ValidationFailed(f"metadata.{AUTO_SOURCE}: reserved for the memories revOS writes itself")
    vector, model = await _embed(settings, content)
    values = {
        "client_id": client_id,
        "user_id": user_id,
        "memory_type": check_type(memory_type),
        "content": content,
        "metadata": metadata,
        "embedding_model": model,
    }
    row = await repo.insert(conn, values, vector=vector)
    await queue_mem0_copy(settings, conn, row["id"])
    return row


async def get_memory(conn: Conn, memory_id: UUID) -> dict[str, Any]:
    row = await repo.get(conn, memory_id)
    if row is None:
        raise NotFound("memory not found")
    return row


async def delete_memory(runtime: Runtime, conn: Conn, memory_id: UUID) -> None:
    row = await repo.delete(conn, memory_id)
    if row is None:
        raise NotFound("memory not found")
    if row["mem0_memory_id"] and runtime.settings.mem0_enabled:
        mem0_id = row["mem0_memory_id"]
        await defer_if_absent(
            conn, MEM0_DELETE, {"mem0_id": mem0_id}, queueing_lock=f"{MEM0_DELETE}:{mem0_id}"
        )


async def use_index(settings: Settings, conn: Conn, k: int) -> None:
    """HNSW settings for a search of `k` in this transaction: iterative scans where pgvector has them."""
    info = conn.info
    where = (f"{info.host}:{info.port}", info.dbname)
    if where not in _iterative_scan:
        _iterative_scan[where] = await repo.pgvector_version(conn) >= repo.ITERATIVE_SCAN_SINCE
    iterative: str = settings.memory_iterative_scan
    if _iterative_scan[where] and iterative != "off":
        ef_search = max(settings.memory_hnsw_ef_search, k)
    else:
        ef_search = min(EF_SEARCH_MAX, max(settings.memory_hnsw_ef_search, k * EF_SEARCH_PER_RESULT))
        iterative = "off"
    await repo.scan_settings(
        conn, iterative=iterative, ef_search=ef_search, max_scan_tuples=settings.memory_hnsw_max_scan_tuples
    )


async def search(
    runtime: Runtime,
    conn: Conn,
    *,
    client_id: UUID,
    query: str,
    k: int = 10,
    threshold: float = 0.0,
    user_id: UUID | None = None,
    memory_type: str | None = None,
    exact: bool = False,
) -> list[dict[str, Any]]:
    """The client's `k` memories most similar to `query` with a cosine similarity of at least
    `threshold`, most similar first, each with its `score`. Only `client_id`'s rows are ever read
    (and, on a tenant connection, Row Level Security also holds). `exact`: no index (for measuring)."""
    settings = runtime.settings
    query = check_content(settings, query, "query")
    if not 1 <= k <= settings.memory_search_max_k:
        raise ValidationFailed(f"k: between 1 and {settings.memory_search_max_k}")
    if not -1.0 <= threshold <= 1.0:
        raise ValidationFailed("threshold: a cosine similarity, between -1 and 1")
    if memory_type is not None:
        check_type(memory_type)
    vector, model = await _embed(settings, query)
    await use_index(settings, conn, k)
    rows = await repo.nearest(
        conn,
        vector=vector,
        client_id=client_id,
        model=model,
        k=k,
        max_distance=1.0 - threshold,
        user_id=user_id,
        memory_type=memory_type,
        exact=exact,
    )
    hits = [_hit(row, 1.0 - row.pop("distance")) for row in rows]
    if settings.mem0_enabled and not exact:
        hits = await _with_mem0(settings, conn, hits, client_id, query, k, threshold, user_id, memory_type)
    return hits


def _hit(row: dict[str, Any], score: float) -> dict[str, Any]:
    row["score"] = round(score, 6)
    return row


async def _with_mem0(
    settings: Settings,
    conn: Conn,
    hits: list[dict[str, Any]],
    client_id: UUID,
    query: str,
    k: int,
    threshold: float,
    user_id: UUID | None,
    memory_type: str | None,
) -> list[dict[str, Any]]:
    """Add Mem0's hits, read back from PostgreSQL with the same filters (so never another client's)."""
    try:
        found = await mem0.search(settings, client_id=client_id, query=query, k=k, threshold=threshold)
    except (mem0.Mem0Error, ConfigError) as exc:
        log.warning("memory search without Mem0: %s", exc)
        return hits
    known = {h["id"] for h in hits}
    rows = await repo.by_mem0_ids(
        conn, list(found), client_id=client_id, user_id=user_id, memory_type=memory_type
    )
    extra = [_hit(r, found[r["mem0_memory_id"]]) for r in rows if r["id"] not in known]
    merged = [*hits, *(h for h in extra if h["score"] >= threshold)]
    merged.sort(key=lambda h: (-h["score"], str(h["id"])))
    return merged[:k]


async def copy_to_mem0(runtime: Runtime, memory_id: UUID) -> str | None:
    """The job behind MEM0_ADD: copy the row to Mem0 and record its id there (None: row gone)."""
    async with runtime.db.service() as conn:
        row = await repo.get(conn, memory_id)
    if row is None or row["mem0_memory_id"]:
        return row["mem0_memory_id"] if row else None
    mem0_id = await mem0.add(runtime.settings, row)
    async with runtime.db.service() as conn:
        if not await repo.set_mem0_id(conn, memory_id, mem0_id):
            # Deleted (or copied by another run) meanwhile: forget this copy again.
            await mem0.delete(runtime.settings, mem0_id)
            return None
    return mem0_id


async def reembed(runtime: Runtime) -> int:
    """Re-embed, batch by batch (a transaction each), every memory made by another model than the
    deployment's embedder; returns how many. Logs its progress."""
    settings = runtime.settings
    embedder = embeddings.embedder(settings)
    model = embeddings.signature(embedder)
    async with runtime.db.service() as conn:
        total = await repo.count_stale(conn, model)
    done = 0
    while total:
        async with runtime.db.service() as conn:
            rows = await repo.claim_stale(conn, model, settings.memory_reembed_batch)
            if not rows:
                break
            vectors = await embedder.embed([r["content"] or "" for r in rows])
            await repo.set_embeddings(
                conn, model, [(r["id"], embeddings.pad(v)) for r, v in zip(rows, vectors, strict=True)]
            )
        done += len(rows)
        log.info("memory re-embedding with %s: %d of %d", model, done, total)
    return done
