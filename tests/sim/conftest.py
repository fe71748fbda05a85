"""Fixtures: a simulator on a manual clock served over loopback HTTP, an httpx client, a webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from revos.clock import ManualClock
from revos.sim import Login, Member, Simulator, serve

API_KEY = "sim-key"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    # Short retry delays keep webhook retry tests to a few clock steps.
    return Simulator(api_key=API_KEY, seed=7, clock=clock, webhook_retry_delays=(1, 2, 4, 8, 16))


@pytest.fixture
async def base_url(sim: Simulator) -> AsyncIterator[str]:
    async with serve(sim) as url:
        yield url


@pytest.fixture
async def api(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=base_url + "/api/v1", headers={"X-API-KEY": API_KEY}, timeout=30.0, trust_env=False
    ) as client:
        yield client


@dataclass
class Connected:
    login: Login
    account_id: str
    friend: Member
    stranger: Member


@pytest.fixture
async def connected(sim: Simulator, api: httpx.AsyncClient) -> Connected:
    """An account connected through the API, one 1st-degree connection and one stranger."""
    login = sim.add_account(username="jane@example.com", password="pw", name="Jane Doe")
    r = await api.post(
        "/accounts", json={"provider": "LINKEDIN", "username": "jane@example.com", "password": "pw"}
    )
    assert r.status_code == 201, r.text
    friend = sim.add_member("Ann", "Lee", connected_to=[login])
    stranger = sim.add_member("Bob", "Stone")
    return Connected(login, r.json()["account_id"], friend, stranger)


def assert_error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"title", "detail", "instance", "type", "status"}
    assert body["type"] == type_
    assert body["status"] == status
    return body


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP endpoint for webhook deliveries; answers `fail_first` requests with 500."""

    url: str = ""
    fail_first: int = 0
    calls: list[Received] = field(default_factory=list)

    @property
    def ok(self) -> list[Received]:
        return self.calls[self.fail_first :]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.calls.append(Received(headers, body))
        status = 500 if len(self.calls) <= self.fail_first else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class _Quiet(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    server = _Quiet(uvicorn.Config(recv, host="127.0.0.1", port=0, log_level="warning", ws="none"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    recv.url = f"http://127.0.0.1:{port}/hook"
    yield recv
    server.should_exit = True
    await task


async def register_webhook(api: httpx.AsyncClient, source: str, url: str, **extra: Any) -> str:
    r = await api.post(
        "/webhooks", json={"source": source, "request_url": url, "name": f"{source}-hook", **extra}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["webhook_id"])
