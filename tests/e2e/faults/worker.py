"""The first worker: a process of its own, on the run's clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from revos.clock import set_clock
from revos.config import Settings
from revos.queue.worker import QueueWorker
from revos.runtime import Runtime
from tests.e2e.faults.clock import FaultClock, Hold

# `tests` is a package of the repository, not of the installed revos: the worker runs from its root.
REPO = Path(__file__).resolve().parents[3]


def _plain(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            data[name] = value.get_secret_value()
    return data


class WorkerProcess:
    """`python -m tests.e2e.faults`: a QueueWorker in a process of its own. Its settings and the run's
    clock (the clock time at a wall instant, the speed, and how it is held back) go over
    stdin as one line; later lines release its clock when the run's is released. It prints its worker id
    once it is fetching jobs."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path
        self.worker_id: int | None = None

    @classmethod
    async def start(
        cls, settings: Settings, clock: FaultClock, *, name: str, log_path: Path, wait: float = 60.0
    ) -> WorkerProcess:
        config = {
            "settings": _plain(settings),
            "clock_now": clock.now().isoformat(),
            "wall": time.time(),
            "speed": clock.speed,
            "held": clock.held.to_json() if clock.held is not None else None,
            "name": name,
        }
        with log_path.open("ab") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.e2e.faults",
                cwd=REPO,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
            )
        child = cls(proc, log_path)
        assert proc.stdout is not None
        await child._send(config)
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), wait)
        except TimeoutError:
            child.kill()
            raise RuntimeError(f"the worker process did not start: see {log_path}") from None
        if not line.startswith(b"running "):
            child.kill()
            raise RuntimeError(f"the worker process did not start ({line!r}): see {log_path}")
        child.worker_id = int(line.split()[1])
        return child

    async def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self.proc.stdin.drain()

    async def release_clock(self, wall: float, hold: Hold | None) -> None:
        """The run's clock runs on since `wall` (time.time()), held back by `hold` if given: so does this
        process's."""
        if self.proc.returncode is None:
            with contextlib.suppress(ConnectionError):
                await self._send({"release": wall, "hold": hold.to_json() if hold else None})

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last heartbeat, its jobs stay 'doing'."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        return await self.proc.wait()


def child_main() -> None:
    config = json.loads(sys.stdin.readline())
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings(**config["settings"])
    speed = float(config["speed"])
    now = datetime.fromisoformat(config["clock_now"]) + timedelta(
        seconds=(time.time() - float(config["wall"])) * speed
    )
    clock = FaultClock(speed, start=now)
    clock.speed_up()
    if config.get("held"):
        clock.hold(Hold.from_json(config["held"]))
    set_clock(clock)

    async def main() -> None:

        loop = asyncio.get_running_loop()

        def release(wall: float, hold: dict[str, Any] | None) -> None:
            clock.release(wall)
            if hold:
                clock.hold(Hold.from_json(hold))

        def listen() -> None:
            # A thread: the clock is released on the loop, between two readings of it.
            for line in sys.stdin:
                message = json.loads(line)
                if "release" in message:
                    loop.call_soon_threadsafe(release, float(message["release"]), message.get("hold"))

        threading.Thread(target=listen, name="revos-fault-clock", daemon=True).start()
        runtime = Runtime.build(settings)
        await runtime.open()
        worker = QueueWorker(runtime, settings=settings, name=str(config["name"]))
        task = asyncio.create_task(worker.run())
        worker_id = await worker.wait_running()
        sys.stdout.write(f"running {worker_id}\n")
        sys.stdout.flush()
        await task

    asyncio.run(main())
