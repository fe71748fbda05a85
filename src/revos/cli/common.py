"""Helpers shared by CLI commands: settings, database URL, console output."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import typer
from rich.console import Console

from revos import logs
from revos.config import Settings, get_settings
from revos.db.embedded import resolve_database_url
from revos.db.urls import session_url
from revos.errors import RevosError

T = TypeVar("T")
# Lines are not wrapped at the console's width (80 columns when the output is not a terminal): a message
# piped to a file or grep stays on one line. Tables still fit the width.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def setup_logging(settings: Settings) -> None:
    """Text or JSON lines (REVOS_LOG_FORMAT) at REVOS_LOG_LEVEL, with the request or job id."""
    logs.configure(settings.log_level, settings.log_format)


def settings_and_url(*, session: bool = False) -> tuple[Settings, str]:
    """The settings and the database URL; `session`: a connection of its own, never through a transaction
    pooler (REVOS_DATABASE_DIRECT_URL when set), for migrations, backups and one-off commands."""
    settings = get_settings()
    if not settings.database_url:
        err_console.print(f"[dim]embedded PostgreSQL, data in {settings.data_dir / 'pg'}[/dim]")
    url = resolve_database_url(settings.database_url, settings.data_dir)
    if not session:
        return settings, url
    try:
        return settings, session_url(settings, url)
    except RevosError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """The event loop REVOS_EVENT_LOOP names: uvloop by default, asyncio's own on request."""
    if get_settings().event_loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


# The cyclic collector's thresholds for a long-running process: a first-generation collection after 50,000
# new container objects instead of 700, a second after 20 of those, a full one after 100 of those.
COLLECTOR_THRESHOLDS = (50_000, 20, 100)
_collector_tuned = False


def tune_collector() -> None:
    """For a process that runs until stopped (`revos worker`, `revos serve`), once it has started: what
    exists by then (modules, classes, settings, the pools) is frozen out of the cyclic collector, and the
    collector runs on `COLLECTOR_THRESHOLDS`. With Python's defaults the worker's collector examined the
    objects of every job in flight each 700 allocations (most of them die by reference count a moment
    later, a job awaiting its database in between) and the whole heap dozens of times a minute: 8.7 s of
    the worker's 87 s of CPU in a replayed day at F=0.1, 0.4 s after (bench/day.py). Garbage in cycles is
    still collected, later and in larger batches (a few MB). Once per process."""
    global _collector_tuned
    if _collector_tuned:
        return
    _collector_tuned = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(coro)
    except RevosError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
