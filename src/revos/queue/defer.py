"""Deferring jobs inside the caller's transaction.

A job is added by the same connection, in the same transaction, as the write that causes it: commit
both or neither, no outbox. It goes through `procrastinate.revos_defer_jobs` (see the queue
migration), fully qualified and security definer, so it works whatever the connection's role
(`service_role` in a worker, `authenticated` in a request) and search_path, and changes neither.
Workers hear of it by NOTIFY when the transaction commits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import tuple_row

from revos.queue.app import app
from revos.queue.errors import AlreadyEnqueued, UnknownTask
from revos.queue.registry import check_task_name

QUEUEING_LOCK_INDEX = "procrastinate_jobs_queueing_lock_idx_v1"
# Casts: psycopg cannot type a list holding only None, and must not pick bigint[] for the priorities.
DEFER_SQL = (
    b"select procrastinate.revos_defer_jobs("
    b"%s::text[], %s::text[], %s::integer[], %s::text[], %s::text[], %s::jsonb[], %s::timestamptz[])"
)
# The same, leaving out a job whose queueing lock is already waiting (no error, so no rollback: rolling
# back to a savepoint makes psycopg drop every statement it prepared on the connection).
DEFER_IF_ABSENT_SQL = DEFER_SQL.replace(b"revos_defer_jobs(", b"revos_defer_jobs_if_absent(")


@dataclass(frozen=True)
class JobRequest:
    """One job to defer. Fields left None take the task's defaults (queue, priority)."""

    task_name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    queue: str | None = None
    priority: int | None = None
    lock: str | None = None
    queueing_lock: str | None = None
    schedule_at: datetime | None = None
    schedule_in: float | timedelta | None = None


def _json_default(value: Any) -> str:
    # Tasks take ids: let uuids and datetimes through as the strings a JSON payload can hold.
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"job arguments must be JSON: {type(value).__name__} is not")


def _row(job: JobRequest) -> tuple[str, str, int, str | None, str | None, str, datetime | None]:
    check_task_name(job.task_name)
    app.perform_import_paths()
    declared = app.tasks.get(job.task_name)
    if declared is None:
        raise UnknownTask(
            f"no task named {job.task_name!r}: declare it with @task and list its module in TASK_MODULES"
        )
    if job.schedule_at is not None and job.schedule_in is not None:
        raise ValueError("give schedule_at or schedule_in, not both")
    when = job.schedule_at
    if when is not None and when.tzinfo is None:
        raise ValueError("schedule_at must be timezone-aware")
    if job.schedule_in is not None:
        # Wall-clock time: the database compares it with its own now(). Scaled (simulated) time is
        # the domain's business: due work lives in domain tables, picked up by pollers reading the clock.
        delta = (
            job.schedule_in if isinstance(job.schedule_in, timedelta) else timedelta(seconds=job.schedule_in)
        )
        when = datetime.now(UTC) + delta
    return (
        job.queue or declared.queue,
        job.task_name,
        declared.priority if job.priority is None else job.priority,
        job.lock,
        job.queueing_lock,
        json.dumps(dict(job.args), default=_json_default),
        when,
    )


async def defer_many(conn: AsyncConnection[Any], jobs: Sequence[JobRequest]) -> list[int]:
    """Defer `jobs` in one statement on `conn`'s transaction; return their ids, in order.

    Raises AlreadyEnqueued if one of them has a queueing_lock already waiting; then none is added
    and the caller's transaction is still usable.
    """
    if not jobs:
        return []
    params = _params(jobs)
    uses_queueing_lock = any(job.queueing_lock for job in jobs)
    try:
        if uses_queueing_lock:
            # A savepoint: a unique violation would otherwise abort the caller's whole transaction.
            async with conn.transaction():
                ids = await _execute(conn, params)
        else:
            ids = await _execute(conn, params)
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != QUEUEING_LOCK_INDEX:
            raise
        raise AlreadyEnqueued(_conflicting_lock(exc, jobs)) from exc
    return ids


def _params(jobs: Sequence[JobRequest]) -> list[list[Any]]:
    """The jobs as the defer functions' arrays, one per column."""
    return [list(column) for column in zip(*(_row(job) for job in jobs), strict=True)]


async def _execute(
    conn: AsyncConnection[Any], params: list[list[Any]], query: bytes = DEFER_SQL
) -> list[int]:
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(query, params)
        row = await cur.fetchone()
    assert row is not None
    return list(row[0] or [])


def _conflicting_lock(exc: psycopg.errors.UniqueViolation, jobs: Sequence[JobRequest]) -> str | None:
    match = re.search(r"\(queueing_lock\)=\((.*)\) already exists", exc.diag.message_detail or "")
    if match:
        return match.group(1)
    return next((job.queueing_lock for job in jobs if job.queueing_lock), None)


async def defer(
    conn: AsyncConnection[Any],
    task_name: str,
    args: Mapping[str, Any] | None = None,
    *,
    queue: str | None = None,
    priority: int | None = None,
    lock: str | None = None,
    queueing_lock: str | None = None,
    schedule_at: datetime | None = None,
    schedule_in: float | timedelta | None = None,
) -> int:
    """Defer one job of `task_name` with `args` (JSON) in `conn`'s transaction; return its id.

    lock: jobs sharing it run one at a time, in order (e.g. "linkedin_account:<id>").
    queueing_lock: at most one waiting job per value; a second raises AlreadyEnqueued.
    schedule_at / schedule_in: not before this time (aware datetime) / this many seconds from now.
    """
    job = JobRequest(
        task_name,
        args or {},
        queue=queue,
        priority=priority,
        lock=lock,
        queueing_lock=queueing_lock,
        schedule_at=schedule_at,
        schedule_in=schedule_in,
    )
    return (await defer_many(conn, [job]))[0]


async def defer_if_absent(
    conn: AsyncConnection[Any],
    task_name: str,
    args: Mapping[str, Any] | None = None,
    *,
    queueing_lock: str,
    **options: Any,
) -> int | None:
    """`defer` for the case where an already waiting job is fine: None instead of AlreadyEnqueued (the job
    is left out when its lock is waiting, without an error, and so when another transaction defers the
    same lock at that very moment)."""
    job = JobRequest(task_name, args or {}, queueing_lock=queueing_lock, **options)
    ids = await defer_many_if_absent(conn, [job])
    return ids[0] if ids else None


async def defer_many_if_absent(conn: AsyncConnection[Any], jobs: Sequence[JobRequest]) -> list[int]:
    """`defer_many` leaving out, without an error, each job whose queueing lock is already waiting (one
    statement for all); returns the ids of the jobs added. Should another transaction defer one of the
    same locks at that very moment, none of `jobs` is added and the caller's transaction goes on (the
    function answers the unique violation itself, with no savepoint round trips): callers are the kind
    that ask again (dispatchers, wakes)."""
    if not jobs:
        return []
    return await _execute(conn, _params(jobs), DEFER_IF_ABSENT_SQL)
