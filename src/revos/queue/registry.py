"""Declaring tasks and periodic tasks: the `domain.verb` convention, retries, cron schedules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from procrastinate import App
from procrastinate.periodic import PeriodicTask
from procrastinate.tasks import Task

from revos.config import Settings
from revos.queue.app import app
from revos.queue.retry import BackoffRetry

TASK_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
MAINTENANCE_QUEUE = "maintenance"
# Periodic ticks (dispatchers, pollers, the pod executor, upkeep) are short and drive everything else: a
# worker whose slots are all taken by long jobs (an account's DM run) gives the next free slot to a tick
# before any ordinary job queued earlier, so no kind of work starves behind another.
PERIODIC_PRIORITY = 10
# What someone is waiting for comes before outbound work queued earlier: a lead's reply (the email that
# their download and the ESP delivery wait on) is not held up by the accounts' DM runs filling the slots.
INBOUND_PRIORITY = 1

AnyTask = Task[Any, Any, Any]
Cron = str | Callable[[Settings], str]


def check_task_name(name: str) -> str:
    if not TASK_NAME.match(name):
        raise ValueError(f"task name {name!r}: tasks are named domain.verb, e.g. 'dms.run_account'")
    return name


def task(
    name: str,
    *,
    queue: str = "default",
    priority: int = 0,
    max_attempts: int | None = None,
    retry: BackoffRetry | None = None,
    pass_context: bool = False,
) -> Callable[[Callable[..., Any]], AnyTask]:
    """Declare a task named `domain.verb` on the process's app.

    max_attempts: runs in total before the job is failed (None = REVOS_QUEUE_DEFAULT_MAX_ATTEMPTS);
    retries back off exponentially with jitter. Raise `PermanentFailure` to fail without retrying.
    pass_context: the task's first argument is Procrastinate's JobContext.
    """
    check_task_name(name)
    strategy = retry or BackoffRetry(max_attempts=max_attempts)

    def decorate(func: Callable[..., Any]) -> AnyTask:
        # Two literal calls: Procrastinate types the decorator by the value of pass_context.
        if pass_context:
            return app.task(name=name, queue=queue, priority=priority, retry=strategy, pass_context=True)(
                func
            )
        return app.task(name=name, queue=queue, priority=priority, retry=strategy)(func)

    return decorate


@dataclass(frozen=True)
class PeriodicSpec:
    task: AnyTask
    cron: Cron
    one_at_a_time: bool = False

    def resolve_cron(self, settings: Settings) -> str:
        return self.cron(settings) if callable(self.cron) else self.cron


# Periodic work of every domain (pollers, dispatchers of due rows, retention, ...). Filled by
# `periodic(...)` at import of the task modules; the worker schedules them all when it starts.
PERIODIC: list[PeriodicSpec] = []


def periodic(
    name: str,
    *,
    cron: Cron,
    queue: str = MAINTENANCE_QUEUE,
    priority: int = PERIODIC_PRIORITY,
    max_attempts: int = 1,
    pass_context: bool = False,
    one_at_a_time: bool = False,
) -> Callable[[Callable[..., Any]], AnyTask]:
    """Declare a task that the worker defers on a cron schedule.

    cron: a cron string (a 6th field = seconds) or a function of the settings returning one, so a
    schedule can be a setting. The task receives `timestamp` (the tick, unix seconds) as a keyword.
    One attempt by default: the next tick is the retry. Ticks are deferred once across all workers,
    and a tick is skipped while the previous one still waits (queueing lock = the task name). Ticks run
    before ordinary jobs (`PERIODIC_PRIORITY`). `one_at_a_time`: a tick does not start while another
    one runs, anywhere (Procrastinate's lock = the task name): bulk work that could otherwise fill every
    slot with its ticks takes one slot, and the other jobs keep theirs.
    """

    def decorate(func: Callable[..., Any]) -> AnyTask:
        declared = task(
            name, queue=queue, priority=priority, max_attempts=max_attempts, pass_context=pass_context
        )(func)
        PERIODIC.append(PeriodicSpec(declared, cron, one_at_a_time))
        return declared

    return decorate


def schedule_periodic(target: App, settings: Settings, *, enabled: bool = True) -> list[tuple[str, str]]:
    """Replace the app's cron registry with every declared periodic task; return (task, cron) pairs.

    Replaced, not added to: schedules are settings, and a worker started again (tests, a reconnect)
    with other settings must not keep the old ones.
    """
    target.perform_import_paths()
    registry = target.periodic_registry
    registry.periodic_tasks = {}
    if not enabled:
        return []
    scheduled = []
    for spec in PERIODIC:
        cron = spec.resolve_cron(settings)
        configure: dict[str, Any] = {"queueing_lock": spec.task.name}
        if spec.one_at_a_time:
            configure["lock"] = spec.task.name
        registry.periodic_tasks[(spec.task.name, "")] = PeriodicTask(
            task=spec.task,
            cron=cron,
            periodic_id="",
            configure_kwargs=configure,  # type: ignore[arg-type]
        )
        scheduled.append((spec.task.name, cron))
    return scheduled


def max_attempts_of(task_name: str, settings: Settings) -> int:
    """Total runs allowed for a task's jobs (the default for tasks this process does not know)."""
    found = app.tasks.get(task_name)
    strategy = found.retry_strategy if found else None
    if isinstance(strategy, BackoffRetry):
        return strategy.resolved_max_attempts()
    if strategy is None and found is not None:
        return 1
    return settings.queue_default_max_attempts


def task_policies(settings: Settings) -> list[tuple[str, str, int]]:
    """(task, queue, max_attempts) of every revOS task: what the queue_jobs view shows."""
    app.perform_import_paths()
    return sorted(
        (name, t.queue, max_attempts_of(name, settings))
        for name, t in app.tasks.items()
        if TASK_NAME.match(name)
    )
