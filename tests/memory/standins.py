"""Local stand-ins for the HTTP services memory talks to, served on loopback: an OpenAI-compatible
/v1/embeddings endpoint and the Mem0 platform endpoints the `mem0ai` client calls (read from the client:
GET /v1/ping/ when it is built, POST /v3/memories/add/ answered with an event to poll at
GET /v1/event/{id}/, POST /v3/memories/search/ with the user in `filters`, DELETE /v1/memories/{id}/)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import struct
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from revos.ai.embeddings import WordLlamaEmbedder


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """`app` on a free loopback port for the block; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def hashed_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for `text` (no meaning: for checking the round trip)."""
    seed = hashlib.sha256(text.encode()).digest()
    raw = [((seed[i % 32] + 7 * i) % 251) / 250 - 0.5 for i in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw))
    return [x / norm for x in raw]


@dataclass
class EmbeddingsStandIn:
    """/v1/embeddings. `fail_next` answers that many requests with `fail_status` first."""

    api_key: str = "sk-test"
    dimensions: int = 1536
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 500

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/embeddings")
        async def embeddings(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse({"error": {"message": "bad key", "type": "invalid_request_error"}}, 401)
            body = await request.json()
            self.requests.append(body)
            if self.fail_next:
                self.fail_next -= 1
                return JSONResponse(
                    {"error": {"message": "overloaded", "type": "server_error"}}, self.fail_status
                )
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            size = body.get("dimensions") or self.dimensions
            data = []
            for i, text in enumerate(texts):
                vector = hashed_vector(text, size)
                if body.get("encoding_format") == "base64":
                    encoded: Any = base64.b64encode(struct.pack(f"<{size}f", *vector)).decode()
                else:
                    encoded = vector
                data.append({"object": "embedding", "index": i, "embedding": encoded})
            usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
            return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})

        return app


@dataclass
class Mem0StandIn:
    """The Mem0 platform, in memory. Adds are processed asynchronously as on the platform: the add answers
    an event that turns SUCCEEDED on its first poll. Search ranks the user's memories by wordllama cosine.
    `leak` is added to every search answer (a backend that answers another user's memory)."""

    api_key: str = "m0-test"
    memories: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    leak: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    def app(self) -> FastAPI:
        app = FastAPI()
        embedder = WordLlamaEmbedder()

        @app.middleware("http")
        async def check(request: Request, call_next: Any) -> Any:
            body = await request.body()
            self.requests.append((request.method, request.url.path, body.decode() or None))
            if self.down:
                return JSONResponse({"detail": "unavailable"}, 503)
            if request.headers.get("authorization") != f"Token {self.api_key}":
                return JSONResponse({"detail": "Invalid API key"}, 401)
            return await call_next(request)

        @app.get("/v1/ping/")
        async def ping() -> dict[str, Any]:
            return {
                "status": "ok",
                "org_id": "org-1",
                "project_id": "proj-1",
                "user_email": "ops@example.com",
            }

        @app.post("/v3/memories/add/")
        async def add(request: Request) -> dict[str, Any]:
            body = await request.json()
            memory_id = str(uuid.uuid4())
            text = " ".join(m["content"] for m in body["messages"])
            self.memories[memory_id] = {
                "id": memory_id,
                "memory": text,
                "user_id": body.get("user_id"),
                "metadata": body.get("metadata") or {},
                "infer": body.get("infer"),
            }
            event_id = str(uuid.uuid4())
            self.events[event_id] = {
                "id": event_id,
                "event_type": "ADD",
                "status": "PENDING",
                "memory": memory_id,
            }
            return {"event_id": event_id, "status": "PENDING"}

        @app.get("/v1/event/{event_id}/")
        async def event(event_id: str) -> JSONResponse:
            found = self.events.get(event_id)
            if found is None:
                return JSONResponse({"error": "Event not found"}, 404)
            if found["status"] == "PENDING":
                found["status"] = "RUNNING"
                return JSONResponse({k: v for k, v in found.items() if k != "memory"})
            memory = self.memories[found["memory"]]
            results = [{"id": memory["id"], "memory": memory["memory"], "event": "ADD"}]
            return JSONResponse(
                {"id": event_id, "event_type": "ADD", "status": "SUCCEEDED", "results": results}
            )

        @app.post("/v3/memories/search/")
        async def search(request: Request) -> dict[str, Any]:
            body = await request.json()
            user = body["filters"]["user_id"]
            mine = [m for m in self.memories.values() if m["user_id"] == user]
            vectors = await embedder.embed([body["query"], *(m["memory"] for m in mine)])
            scored = [
                {**m, "score": sum(a * b for a, b in zip(vectors[0], v, strict=True))}
                for m, v in zip(mine, vectors[1:], strict=True)
            ]
            scored.sort(key=lambda m: -m["score"])
            return {"results": [*scored[: body.get("top_k", 10)], *self.leak]}

        @app.delete("/v1/memories/{memory_id}/")
        async def delete(memory_id: str) -> JSONResponse:
            if self.memories.pop(memory_id, None) is None:
                return JSONResponse({"detail": "Memory not found"}, 404)
            return JSONResponse({"message": "Memory deleted successfully!"})

        return app
