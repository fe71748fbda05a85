"""`revos serve` and `revos worker` as an operator runs them: processes of the installed `revos` command,
configured by the environment alone, their output in log files."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

# The console script installed with the package, next to the interpreter running the tests.
REVOS = Path(sys.executable).with_name("revos")
_WORKER_RUNNING = re.compile(rb"worker (\d+) running")


def free_port() -> int:
    """A port nobody listens on now (the OS's choice), for a server started a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def revos_env(**settings: str) -> dict[str, str]:
    """The test session's environment (its secrets, REVOS_ENV) with `settings` as REVOS_<NAME>."""
    env = dict(os.environ)
    env.update({f"REVOS_{name.upper()}": value for name, value in settings.items()})
    env["COLUMNS"] = "200"  # one line per console message
    return env


@dataclass
class RevosProcess:
    name: str
    proc: asyncio.subprocess.Process
    out: Path  # stdout and stderr, together
    worker_id: int | None = None

    @classmethod
    async def start(cls, name: str, args: list[str], env: dict[str, str], logs: Path) -> RevosProcess:
        out = logs / f"{name}.log"
        with out.open("ab") as sink:
            proc = await asyncio.create_subprocess_exec(
                str(REVOS), *args, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=sink, stderr=sink
            )
        return cls(name, proc, out)

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    async def _until(self, ready: object, what: str, within: float) -> None:
        deadline = time.monotonic() + within
        while True:
            if self.proc.returncode is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}): {self.output()[-3000:]}")
            if await ready():  # type: ignore[operator]
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {what} not after {within:g} s: {self.output()[-3000:]}")
            await asyncio.sleep(0.05)

    async def wait_worker(self, within: float = 90.0) -> int:
        """Until the worker says it is fetching jobs; its procrastinate worker id."""

        async def running() -> bool:
            found = _WORKER_RUNNING.search(self.out.read_bytes())
            if found:
                self.worker_id = int(found.group(1))
            return found is not None

        await self._until(running, "worker running", within)
        assert self.worker_id is not None
        return self.worker_id

    async def wait_api(self, base_url: str, within: float = 90.0) -> None:
        """Until the API answers /readyz."""
        async with httpx.AsyncClient(base_url=base_url, timeout=5.0, trust_env=False) as client:

            async def ready() -> bool:
                with contextlib.suppress(httpx.TransportError):
                    return (await client.get("/readyz")).status_code == 200
                return False

            await self._until(ready, "API ready", within)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def stop(self, within: float = 30.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `within` seconds."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), within)
            except TimeoutError:
                self.kill()
        await self.proc.wait()
