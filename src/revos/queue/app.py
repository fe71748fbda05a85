"""The Procrastinate app of revOS and the conventions its tasks follow.

One `App` per process (`app`), as Procrastinate intends. Its connections use `search_path =
procrastinate`, the queue's own schema, because Procrastinate's queries name its objects unqualified.
The database is chosen when the app is opened (`open_app(url)`), not at import, so domain modules can
declare tasks at import time without a database.

Tasks are named `domain.verb` and declared in each domain's `tasks.py`:

    from revos.queue import task

    @task("posts.publish", queue="posts", max_attempts=5)
    async def publish(post_id: str) -> None: ...

and that module is listed in `TASK_MODULES` below, which the worker imports before it starts.
Periodic work uses `periodic(...)` the same way (see revos.queue.registry).
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from procrastinate import App, PsycopgConnector
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from revos.config import Settings, get_settings
from revos.db.embedded import resolve_database_url
from revos.db.pool import check_idle
from revos.queue.schema import QUEUE_SCHEMA

if TYPE_CHECKING:
    from revos.runtime import Runtime

# Modules that declare tasks; the worker imports them all before fetching jobs, so a job never meets
# a worker that does not know its task. Add a domain's `tasks` module here, one line each.
TASK_MODULES: list[str] = [
    "revos.queue.maintenance",
    "revos.queue.upkeep",
    "revos.accounts.tasks",
    "revos.inbound.tasks",
    "revos.dms.tasks",
    "revos.campaigns.tasks",
    "revos.posts.tasks",
    "revos.webhooks.tasks",
    "revos.magnets.tasks",
    "revos.memory.tasks",
    "revos.skills.tasks",
    "revos.pods.tasks",
    "revos.analytics.tasks",
]


async def _use_queue_schema(conn: AsyncConnection[Any]) -> None:
    # Session-level on purpose: these connections belong to the queue's own pool and only ever run
    # Procrastinate's queries. A SET (not an `options` startup parameter) also works behind poolers.
    await conn.execute(f"set search_path to {QUEUE_SCHEMA}".encode())
    if not conn.autocommit:
        await conn.commit()


def _queue_pool(**kwargs: Any) -> AsyncConnectionPool[Any]:
    """The queue's pool, checking a connection as revOS's own pool does (`check_idle`: a round trip only
    when the idle socket has something to read, a server gone away) instead of Procrastinate's empty
    query on every checkout: about two round trips per job."""
    kwargs["check"] = check_idle
    return AsyncConnectionPool(**kwargs)


def make_connector(database_url: str | None = None, *, settings: Settings | None = None) -> PsycopgConnector:
    """A connector on `database_url`, or on the settings' database (embedded when unset) when opened."""
    settings = settings or get_settings()

    def conninfo() -> str:
        return database_url or resolve_database_url(settings.database_url, settings.data_dir)

    return PsycopgConnector(
        conninfo=conninfo,
        min_size=1,
        max_size=settings.worker_db_pool_max,
        timeout=settings.worker_db_timeout_seconds,
        configure=_use_queue_schema,
        kwargs={"application_name": "revos-queue"},
        pool_factory=_queue_pool,
    )


app = App(connector=make_connector(), import_paths=TASK_MODULES)


@asynccontextmanager
async def open_app(
    database_url: str | None = None, *, settings: Settings | None = None
) -> AsyncIterator[App]:
    """The process's app, connected to `database_url` for the duration of the block."""
    with app.replace_connector(make_connector(database_url, settings=settings)):
        async with app.open_async():
            yield app


# The Runtime of the worker running the current job: tasks reach the database, vault and settings
# through it (`current_runtime()`). Set by QueueWorker before it starts Procrastinate's worker, so
# every job task (and the retry decisions made after a job) inherits it.
_runtime: contextvars.ContextVar[Runtime] = contextvars.ContextVar("revos_queue_runtime")


def current_runtime() -> Runtime:
    try:
        return _runtime.get()
    except LookupError:
        raise RuntimeError(
            "no Runtime: current_runtime() is only available inside a job run by the worker"
        ) from None


def current_settings() -> Settings:
    """The running worker's settings, or the process's outside a worker."""
    try:
        return _runtime.get().settings
    except LookupError:
        return get_settings()


def set_current_runtime(runtime: Runtime) -> contextvars.Token[Runtime]:
    return _runtime.set(runtime)


def reset_current_runtime(token: contextvars.Token[Runtime]) -> None:
    _runtime.reset(token)
