"""Mem0 as a second home for memories (REVOS_MEM0_ENABLED), through the official `mem0ai` client.

PostgreSQL stays the source of truth: every memory is a row of `memories` first, then copied to Mem0 by
a job (`memory.mem0_add`, which fills `mem0_memory_id`) and removed from it by another
(`memory.mem0_delete`); a search also asks Mem0 and adds its hits, read back from PostgreSQL, so a
client only ever sees its own rows whatever Mem0 answers. Each client is one Mem0 user
(`revos-client-<client id>`); the memory's id, type and user travel in Mem0's metadata.

The `mem0ai` package is imported only when Mem0 is enabled: importing it loads qdrant-client, grpc,
SQLAlchemy and PostHog, writes a config file under MEM0_DIR (set here to DATA_DIR/mem0 unless already set)
and, unless MEM0_TELEMETRY says otherwise, sends usage events, which revOS turns off before the import.
Its client's constructor pings the API with a blocking request, so it is built in a thread, once per
process and configuration.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any
from uuid import UUID

from revos.ai.base import AiError
from revos.config import Settings
from revos.errors import ConfigError

log = logging.getLogger(__name__)

HOSTED_URL = "https://api.mem0.ai"
EVENT_POLL_SECONDS = 0.5

_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


class Mem0Error(AiError):
    code = "memory_backend_error"


def scope(client_id: UUID) -> str:
    """The Mem0 user a client's memories belong to."""
    return f"revos-client-{client_id}"


def _import_client(settings: Settings) -> Any:
    os.environ.setdefault("MEM0_TELEMETRY", "false")
    os.environ.setdefault("MEM0_DIR", str(settings.data_dir / "mem0"))
    try:
        from mem0.client.main import AsyncMemoryClient
    except ImportError as exc:
        raise ConfigError("REVOS_MEM0_ENABLED needs the mem0ai package: pip install 'revos[mem0]'") from exc
    return AsyncMemoryClient


def _build(settings: Settings) -> Any:
    if settings.mem0_api_key is None:
        raise ConfigError("REVOS_MEM0_ENABLED needs REVOS_MEM0_API_KEY")
    key = (settings.mem0_base_url or HOSTED_URL, settings.mem0_api_key.get_secret_value())
    with _lock:
        found = _clients.get(key)
        if found is None:
            client_class = _import_client(settings)
            try:
                found = client_class(api_key=key[1], host=key[0])
            except Exception as exc:
                raise Mem0Error(f"Mem0 refused the connection: {exc}") from exc
            _clients[key] = found
        return found


async def client(settings: Settings) -> Any:
    """The process's Mem0 client for these settings."""
    return await asyncio.to_thread(_build, settings)


def _first_id(results: Any) -> str | None:
    if isinstance(results, list):
        for item in results:
            if isinstance(item, dict) and (item.get("id") or item.get("memory_id")):
                return str(item.get("id") or item.get("memory_id"))
    return None


async def _wait_for_event(mem0: Any, event_id: str, wait_seconds: float) -> str:
    """The id of the memory an accepted add made, once Mem0 has processed it."""
    deadline = time.monotonic() + wait_seconds
    while True:
        answer = await mem0.async_client.get(f"/v1/event/{event_id}/")
        answer.raise_for_status()
        event = answer.json()
        status = event.get("status")
        if status == "SUCCEEDED":
            found = _first_id(event.get("results"))
            if found is None:
                raise Mem0Error(f"Mem0 event {event_id} succeeded without a memory id")
            return found
        if status == "FAILED":
            raise Mem0Error(f"Mem0 could not store the memory: {event.get('error') or 'event failed'}")
        if time.monotonic() >= deadline:
            raise Mem0Error(f"Mem0 event {event_id} still {status} after {wait_seconds:g}s")
        await asyncio.sleep(EVENT_POLL_SECONDS)


async def add(settings: Settings, memory: dict[str, Any]) -> str:
    """Copy one memory row to Mem0, as-is (no inference); returns Mem0's id for it."""
    mem0 = await client(settings)
    metadata = {
        "revos_memory_id": str(memory["id"]),
        "memory_type": memory["memory_type"],
        "revos_user_id": str(memory["user_id"]) if memory.get("user_id") else None,
    }
    try:
        answer = await mem0.add(
            memory["content"], user_id=scope(memory["client_id"]), metadata=metadata, infer=False
        )
        found = _first_id(answer.get("results")) or _first_id([answer])
        if found is None and answer.get("event_id"):
            found = await _wait_for_event(mem0, str(answer["event_id"]), settings.mem0_event_wait_seconds)
    except Mem0Error:
        raise
    except Exception as exc:  # the client raises its own hierarchy and httpx's
        raise Mem0Error(f"Mem0 add failed: {exc.__class__.__name__}: {exc}") from exc
    if found is None:
        raise Mem0Error(f"Mem0 answered an add without an id or event: {str(answer)[:200]}")
    return found


async def delete(settings: Settings, mem0_id: str) -> bool:
    """Forget one memory in Mem0; False when Mem0 no longer had it."""
    mem0 = await client(settings)
    from mem0.exceptions import MemoryNotFoundError

    try:
        await mem0.delete(mem0_id)
    except MemoryNotFoundError:
        return False
    except Exception as exc:
        raise Mem0Error(f"Mem0 delete failed: {exc.__class__.__name__}: {exc}") from exc
    return True


async def search(
    settings: Settings, *, client_id: UUID, query: str, k: int, threshold: float
) -> dict[str, float]:
    """Mem0's hits for the client's query: {mem0 id: score}."""
    mem0 = await client(settings)
    try:
        answer = await mem0.search(
            query, filters={"user_id": scope(client_id)}, top_k=k, threshold=max(threshold, 0.0)
        )
    except Exception as exc:
        raise Mem0Error(f"Mem0 search failed: {exc.__class__.__name__}: {exc}") from exc
    results = answer.get("results") if isinstance(answer, dict) else answer
    hits: dict[str, float] = {}
    for item in results or []:
        if isinstance(item, dict) and item.get("id"):
            hits[str(item["id"])] = float(item.get("score") or 0.0)
    return hits
