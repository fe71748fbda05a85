"""Contract-test fixtures: the client talks to the simulator over real HTTP on loopback.

Every 2xx JSON body the client receives is also re-validated against the client's models in pydantic
strict mode when the test ends, so a simulator response missing a required field, or using a type the
contract does not allow, fails the test that provoked it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from revos.linkedin import UnipileClient
from revos.linkedin.models import LIST_ITEM_MODELS, RESPONSE_MODELS, ListPage
from tests.contract import unipile_schemas

API_KEY = "sim-key"


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    content_type: str
    body: bytes


class RecordingTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport that keeps a copy of each response body for the conformance check."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.exchanges.append(
            Exchange(
                request.method,
                request.url.path,
                response.status_code,
                response.headers.get("content-type", ""),
                body,
            )
        )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def sends(self, path_suffix: str = "") -> list[Exchange]:
        return [e for e in self.exchanges if e.method != "GET" and e.path.endswith(path_suffix)]

    def reads(self, path_suffix: str = "") -> list[Exchange]:
        return [e for e in self.exchanges if e.method == "GET" and e.path.endswith(path_suffix)]


def strict_model_for(body: dict[str, Any]) -> type[BaseModel]:
    obj = body.get("object")
    assert isinstance(obj, str), f"response without `object`: {body!r:.200}"
    if obj in LIST_ITEM_MODELS:
        return ListPage[LIST_ITEM_MODELS[obj]]  # type: ignore[misc]
    assert obj in RESPONSE_MODELS, f"unknown response object {obj!r}"
    return RESPONSE_MODELS[obj]


def check_conformance(exchanges: list[Exchange]) -> None:
    import json

    for ex in exchanges:
        if ex.status >= 400:
            error = json.loads(ex.body)
            # Error bodies: {title, detail, instance, type, status}; type/title/status required (spec §3).
            assert isinstance(error.get("title"), str), ex
            assert isinstance(error.get("type"), str), ex
            assert error["type"].startswith("errors/"), ex
            assert error.get("status") == ex.status, ex
            assert not unipile_schemas.problems("Error", error), ex
            continue
        assert ex.content_type.startswith("application/json"), (ex.method, ex.path, ex.content_type)
        body = json.loads(ex.body)
        strict_model_for(body).model_validate_json(ex.body, strict=True)
        sub = ex.path.removeprefix("/api/v1")
        route = unipile_schemas.route_for(ex.method, sub)
        if route is not None:
            found = unipile_schemas.problems(route.schema, body)
            assert not found, (
                f"{ex.method} {sub} breaks {unipile_schemas.sdk_version()} {route.schema}: {found}"
            )


@pytest.fixture
def sim() -> Any:
    from revos.sim import Simulator

    return Simulator(api_key=API_KEY, seed=1)


@pytest.fixture
async def base_url(sim: Any) -> AsyncIterator[str]:
    from revos.sim import serve

    async with serve(sim, host="127.0.0.1", port=0) as url:
        yield url


@pytest.fixture
def recorder() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
async def client(base_url: str, recorder: RecordingTransport) -> AsyncIterator[UnipileClient]:
    async with UnipileClient(
        base_url, API_KEY, timeout=30.0, backoff_base=0.001, backoff_max=0.01, transport=recorder
    ) as unipile:
        yield unipile
    check_conformance(recorder.exchanges)


@dataclass
class World:
    """A connected account, a 1st-degree connection, a stranger and a post with comments and replies."""

    account_id: str
    login: Any
    friend: Any
    stranger: Any
    open_profile: Any
    post: Any


@pytest.fixture
def world(sim: Any) -> World:
    login = sim.add_account(username="jane@example.com", password="pw", name="Jane Doe")
    account = sim.connect_account(login)
    friend = sim.add_member("Ann", "Lee", headline="Head of Growth")
    sim.connect(login, friend)
    stranger = sim.add_member("Bob", "Stone", headline="Founder")
    open_profile = sim.add_member("Olga", "Open", open_profile=True)
    post = sim.add_post(login, "Comment GUIDE to get the playbook")
    return World(account.id, login, friend, stranger, open_profile, post)


@dataclass
class Received:
    headers: list[tuple[str, str]]
    body: bytes


@contextlib.asynccontextmanager
async def webhook_receiver() -> AsyncIterator[tuple[str, list[Received]]]:
    """A bare ASGI endpoint on loopback that records each delivery and answers 200 (as revOS will)."""
    import uvicorn

    received: list[Received] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
        received.append(Received(headers, b"".join(chunks)))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/unipile/webhook", received
    finally:
        server.should_exit = True
        await task
