"""The worker outlives a PostgreSQL restart, and `revos worker` stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from revos import migrations
from revos.db import embedded
from revos.runtime import Runtime
from tests.queue.conftest import StartWorker, defer_committed, fast_settings, wait_status


@pytest.fixture
def own_server() -> Iterator[tuple[Path, str]]:
    """A PostgreSQL server of its own, so restarting it disturbs no other test."""
    data_dir = Path(tempfile.mkdtemp(prefix="rq-", dir="/tmp"))  # short: unix socket path limit
    url = embedded.start_embedded(data_dir, stop_at_exit=True)
    migrations.migrate(url)
    yield data_dir, url
    embedded.stop_embedded(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)


async def test_worker_survives_a_database_restart(
    own_server: tuple[Path, str], start_worker: StartWorker
) -> None:
    data_dir, url = own_server
    runtime = Runtime.build(fast_settings(url))
    await runtime.open()
    worker = await start_worker(runtime)
    try:
        before = await defer_committed(url, "qtest.record", {"key": "before restart"})
        await wait_status(url, before, "completed")

        server = embedded._servers[(data_dir / "pg").resolve()]
        await asyncio.to_thread(server.stop)
        # Down until the worker has noticed (its heartbeat or LISTEN connection failed) and restarted.
        async with asyncio.timeout(60):
            while worker.restarts < 1:  # noqa: ASYNC110 - a counter, no event to wait on
                await asyncio.sleep(0.05)
        await asyncio.to_thread(server.ensure_postgres_running)
        assert server.get_uri() == url

        after = await defer_committed(url, "qtest.record", {"key": "after restart"})
        await wait_status(url, after, "completed")
        assert worker.worker_id is not None
    finally:
        worker.stop()
        async with asyncio.timeout(60):
            while worker.worker_id is not None:  # noqa: ASYNC110 - no event to wait on
                await asyncio.sleep(0.05)
        await runtime.close()


async def test_revos_worker_stops_cleanly_on_sigterm(queue_db_url: str) -> None:
    env = {
        **os.environ,
        "REVOS_DATABASE_URL": queue_db_url,
        "PYTHONUNBUFFERED": "1",
        "REVOS_LOG_LEVEL": "INFO",
    }
    revos = Path(sys.executable).with_name("revos")
    proc = await asyncio.create_subprocess_exec(
        str(revos), "worker", "--queue", "qtest_cli", "--no-periodic",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    output: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any("running" in line and "worker" in line for line in output):
                line = (await proc.stdout.readline()).decode()
                assert line, f"revos worker exited early:\n{''.join(output)}"
                output.append(line)
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            rest, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = "".join(output) + rest.decode()
    assert proc.returncode == 0, text
    assert "worker stopped" in text
