"""Run the simulator over real HTTP: on the current event loop, or on a thread with its own loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

import uvicorn

from revos.sim.server import create_app
from revos.sim.simulator import Simulator


def _server(sim: Simulator, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(sim),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws="none",
        # Hung requests (fault kind "timeout", hang=True) must not hold shutdown hostage.
        timeout_graceful_shutdown=1,
    )
    return _EmbeddedServer(config)


class _EmbeddedServer(uvicorn.Server):
    """Signals belong to whoever embeds the simulator (pytest, an app), not to its server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _base_url(server: uvicorn.Server, host: str) -> str:
    sock = server.servers[0].sockets[0]
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@contextlib.asynccontextmanager
async def serve(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve on the running loop; yields the base URL (the API root is base_url + "/api/v1")."""
    server = _server(sim, host, port)
    sim.faults.stopping = False
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # surfaces the bind error
            raise RuntimeError("simulator server stopped before starting")
        await asyncio.sleep(0.005)
    try:
        yield _base_url(server, host)
    finally:
        sim.faults.stopping = True
        server.should_exit = True
        await task


@contextlib.contextmanager
def serve_in_thread(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve from a daemon thread with its own loop, for synchronous callers."""
    server = _server(sim, host, port)
    sim.faults.stopping = False
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve())
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name="revos-sim", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("simulator server stopped before starting") from (
                failure[0] if failure else None
            )
        thread.join(0.005)
    try:
        yield _base_url(server, host)
    finally:
        sim.faults.stopping = True
        server.should_exit = True
        thread.join(10)
