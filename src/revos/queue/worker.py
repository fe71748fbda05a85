"""The worker process: Procrastinate's worker, kept alive across database outages.

Procrastinate's worker stops (or raises) when its database goes away: a failed fetch, heartbeat or
LISTEN ends it. `QueueWorker` supervises it: it waits for the database with capped exponential
backoff and jitter, then starts a fresh worker (a new registration; the old one's jobs are recovered
as stalled once its heartbeat is old enough). It stops only when asked (`stop()`, SIGTERM/SIGINT in
the CLI): the running jobs are given `worker_shutdown_timeout_seconds` to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import psycopg
from procrastinate import App, JobContext
from procrastinate.worker import Worker

from revos import logs
from revos.config import Settings
from revos.db.urls import session_url
from revos.queue.app import open_app, reset_current_runtime, set_current_runtime
from revos.queue.errors import QueueNotInstalled
from revos.queue.maintenance import record_job_error
from revos.queue.registry import schedule_periodic, task_policies
from revos.queue.schema import QUEUE_SCHEMA
from revos.runtime import Runtime

log = logging.getLogger(__name__)

SYNC_TASKS_SQL = f"""
insert into {QUEUE_SCHEMA}.revos_tasks (task_name, queue_name, max_attempts)
select * from unnest(%(names)s::text[], %(queues)s::text[], %(attempts)s::integer[])
on conflict (task_name) do update
  set queue_name = excluded.queue_name, max_attempts = excluded.max_attempts, updated_at = now()
  where (revos_tasks.queue_name, revos_tasks.max_attempts)
    is distinct from (excluded.queue_name, excluded.max_attempts)
"""


class _Worker(Worker):
    async def _periodic_deferrer(self) -> None:
        await super()._periodic_deferrer()
        # Procrastinate's deferrer returns at once when no periodic task is scheduled, and its side-task
        # monitor (which stops the worker when LISTEN or the heartbeat fails) then watches nothing more:
        # a dead LISTEN would go unnoticed. Stay pending, as the deferrer does when it has work.
        await asyncio.Event().wait()


class QueueWorker:
    """Run jobs until `stop()`; survive database restarts.

    runtime: what tasks reach through `current_runtime()` (database pool, vault, settings).
    queues: only these queues (None = all). periodic: schedule the declared periodic tasks.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        database_url: str | None = None,
        queues: Iterable[str] | None = None,
        concurrency: int | None = None,
        periodic: bool = True,
        name: str = "revos-worker",
        settings: Settings | None = None,
    ) -> None:
        self.runtime = runtime
        self.settings = settings or runtime.settings
        # The queue's connections are sessions (LISTEN, search_path): never through a transaction pooler.
        self.database_url = database_url or session_url(self.settings, runtime.db.url)
        self.queues = list(queues) if queues else None
        self.concurrency = concurrency or self.settings.worker_concurrency
        self.periodic = periodic
        self.name = name
        self.restarts = 0
        self._stopping = asyncio.Event()
        self._worker: Worker | None = None
        self._running = asyncio.Event()

    @property
    def worker_id(self) -> int | None:
        """The database id of the running Procrastinate worker (None between runs)."""
        return self._worker.worker_id if self._worker else None

    @property
    def stop_requested(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Ask for a graceful stop: no new jobs; running ones get the shutdown timeout to finish."""
        self._stopping.set()
        if self._worker is not None:
            self._worker.stop()

    async def wait_running(self) -> int:
        """Wait until a worker is registered and fetching; return its id (wrap in asyncio.timeout)."""
        await self._running.wait()
        assert self.worker_id is not None
        return self.worker_id

    async def run(self) -> None:
        """Supervise workers until stopped. Raises QueueNotInstalled when the schema is missing."""
        # Set here, before any job task exists: tasks copy the context they are created in.
        token = set_current_runtime(self.runtime)
        try:
            await self._supervise()
        finally:
            reset_current_runtime(token)

    async def _supervise(self) -> None:
        backoff = self.settings.worker_reconnect_initial_seconds
        while not self._stopping.is_set():
            registered = False
            try:
                if not await self._wait_for_database():
                    break
                async with open_app(self.database_url, settings=self.settings) as app:
                    await self._prepare(app)
                    worker = self._make_worker(app)
                    self._worker = worker
                    # No await between this check and run(): run() resets the stop flag on entry.
                    if self._stopping.is_set():
                        break
                    run = asyncio.ensure_future(worker.run())
                    registered = await self._watch_registration(worker, run)
                    await run
            except QueueNotInstalled:
                raise
            except (psycopg.Error, OSError, TimeoutError, ConnectionError) as exc:
                log.warning("worker lost its database: %s", exc)
            except Exception as exc:
                # Procrastinate wraps driver errors (ConnectorException); anything else is a bug,
                # logged with its traceback, and still no reason to leave the jobs unattended.
                log.error("worker stopped unexpectedly: %s", exc, exc_info=exc)
            finally:
                self._worker = None
                self._running.clear()
            if self._stopping.is_set():
                break
            self.restarts += 1
            if registered:
                backoff = self.settings.worker_reconnect_initial_seconds
            delay = backoff * (1 + random.uniform(0, 0.25))
            log.info("restarting the worker in %.1f s", delay)
            await self._sleep_unless_stopped(delay)
            backoff = min(backoff * 2, self.settings.worker_reconnect_max_seconds)
        log.info("worker stopped")

    async def _watch_registration(self, worker: Worker, run: asyncio.Future[Any]) -> bool:
        # Procrastinate sets worker_id once registered and says so nowhere else: poll it briefly.
        while worker.worker_id is None and not run.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if worker.worker_id is not None:
            self._running.set()
            log.info(
                "worker %s running: queues %s, concurrency %d",
                worker.worker_id,
                ", ".join(self.queues) if self.queues else "all",
                self.concurrency,
            )
            return True
        return False

    async def _wait_for_database(self) -> bool:
        """Probe until the database accepts a connection; False if stopped meanwhile."""
        delay = self.settings.worker_reconnect_initial_seconds
        while not self._stopping.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.database_url, connect_timeout=max(1, round(self.settings.worker_db_timeout_seconds))
                ) as conn:
                    row = await (
                        await conn.execute(
                            "select to_regclass(%s) is not null", (f"{QUEUE_SCHEMA}.procrastinate_jobs",)
                        )
                    ).fetchone()
                if not (row and row[0]):
                    raise QueueNotInstalled("the database has no job queue: run `revos db migrate` first")
                return True
            except psycopg.OperationalError as exc:
                log.info(
                    "database unavailable (%s); retrying in %.1f s", str(exc).strip().splitlines()[0], delay
                )
            await self._sleep_unless_stopped(delay * (1 + random.uniform(0, 0.25)))
            delay = min(delay * 2, self.settings.worker_reconnect_max_seconds)
        return False

    async def _sleep_unless_stopped(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _prepare(self, app: App) -> None:
        # Worker start is where the task registry is complete: publish it for the queue_jobs view.
        policies = task_policies(self.settings)
        if policies:
            names, queues, attempts = (list(column) for column in zip(*policies, strict=True))
            await app.connector.execute_query_async(
                SYNC_TASKS_SQL, names=names, queues=queues, attempts=attempts
            )
        scheduled = schedule_periodic(app, self.settings, enabled=self.periodic)
        for task_name, cron in scheduled:
            log.debug("periodic %s: %s", task_name, cron)

    def _make_worker(self, app: App) -> Worker:
        s = self.settings
        return _Worker(
            app=app,
            queues=self.queues,
            name=self.name,
            concurrency=self.concurrency,
            fetch_job_polling_interval=s.worker_poll_interval_seconds,
            abort_job_polling_interval=s.worker_poll_interval_seconds,
            shutdown_graceful_timeout=s.worker_shutdown_timeout_seconds,
            update_heartbeat_interval=s.worker_heartbeat_seconds,
            stalled_worker_timeout=s.stalled_after_seconds,
            # Signals belong to the supervisor: a SIGTERM must also stop the reconnect loop.
            install_signal_handlers=False,
            worker_middleware=[self._around_job],
        )

    async def _around_job(
        self, call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Worker
    ) -> Any:
        try:
            with logs.bound(job=str(context.job.id)):
                return await call_next()
        except Exception as exc:
            assert context.job.id is not None
            await record_job_error(context.app.connector, context.job.id, f"{type(exc).__name__}: {exc}")
            raise
