"""Periodic upkeep run by every worker: daily limits, stalled jobs, finished-job retention.

Each is a periodic task (deferred once per tick across all workers) around a plain function that
tests call directly. None takes a `lock`: recovery in particular must never wait behind the
per-account locks of the jobs it is there to rescue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from procrastinate import JobContext
from procrastinate.connector import BaseConnector
from procrastinate.exceptions import ConnectorException, UniqueViolation
from procrastinate.jobs import Status
from procrastinate.manager import JobManager

from revos.config import Settings
from revos.db.pool import Database
from revos.queue.app import current_runtime
from revos.queue.registry import max_attempts_of, periodic
from revos.queue.schema import QUEUE_SCHEMA

log = logging.getLogger(__name__)

RECORD_ERROR_SQL = f"""
insert into {QUEUE_SCHEMA}.revos_job_errors (job_id, message) values (%(job_id)s, %(message)s)
on conflict (job_id) do update set message = excluded.message, failed_at = now()
"""

# Finished = a final status whose latest event is older than the cutoff; oldest ids first, in
# batches so a large backlog never holds one long lock. Events and error rows go by cascade.
PURGE_SQL = f"""
with doomed as (
  select j.id
  from {QUEUE_SCHEMA}.procrastinate_jobs j
  where j.status in ('succeeded', 'failed', 'cancelled', 'aborted')
    and not exists (
      select from {QUEUE_SCHEMA}.procrastinate_events e
      where e.job_id = j.id and e.at >= now() - make_interval(days => %(days)s)
    )
  order by j.id
  limit %(batch)s
  for update skip locked
)
delete from {QUEUE_SCHEMA}.procrastinate_jobs j using doomed where j.id = doomed.id
returning j.id
"""


async def record_job_error(connector: BaseConnector, job_id: int, message: str) -> None:
    """Keep the last error of a job for the queue_jobs view (best effort: never masks the error)."""
    try:
        await connector.execute_query_async(RECORD_ERROR_SQL, job_id=job_id, message=message[:2000])
    except Exception:
        log.warning("could not record the error of job %s", job_id, exc_info=True)


async def reset_daily_limits(db: Database) -> None:
    """The spec's daily reset of per-account counters (pg_cron's job; there is no pg_cron here)."""
    async with db.service("worker:reset_daily_limits") as conn:
        await conn.execute("select public.reset_daily_limits()")


@dataclass
class Recovery:
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    workers_pruned: list[int] = field(default_factory=list)


async def recover_stalled(manager: JobManager, settings: Settings) -> Recovery:
    """Put back the jobs of workers that stopped heartbeating (crashed, killed, cut off).

    A job whose attempts are used up is failed with a reason instead of retried forever: a job that
    kills its worker every time would otherwise loop. So is a job whose queueing lock another job already
    waits under (an account's next DM run, queued by a dispatcher while the dead worker's run held the
    account): that job does the work, and putting this one back would break the lock's "one waiting" rule,
    so it stayed running forever and its `lock` kept every later job of the account from starting. The
    dead workers' rows are pruned afterwards.
    """
    report = Recovery()
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=settings.stalled_after_seconds)
    for job in stalled:
        assert job.id is not None
        exhausted = job.attempts + 1 >= max_attempts_of(job.task_name, settings)
        reason = (
            f"worker {job.worker_id} stopped heartbeating while running this job (attempt {job.attempts + 1})"
        )
        try:
            if exhausted:
                await manager.finish_job(job, Status.FAILED, delete_job=False)
                report.failed.append(job.id)
            else:
                try:
                    await manager.retry_job(job)
                    report.retried.append(job.id)
                except UniqueViolation:
                    await manager.finish_job(job, Status.FAILED, delete_job=False)
                    report.failed.append(job.id)
                    reason += f"; not retried: another job waits under its queueing lock {job.queueing_lock}"
        except ConnectorException:
            # Finished or recovered by someone else between the read and now.
            log.info("stalled job %s changed meanwhile; left alone", job.id)
            continue
        await record_job_error(manager.connector, job.id, reason)
    report.workers_pruned = await manager.prune_stalled_workers(settings.stalled_after_seconds)
    if report.retried or report.failed:
        log.warning(
            "recovered stalled jobs: %d retried %s, %d failed %s",
            len(report.retried),
            report.retried,
            len(report.failed),
            report.failed,
        )
    return report


async def purge_finished(connector: BaseConnector, settings: Settings) -> int:
    """Delete jobs finished more than queue_retention_days ago; return how many."""
    total = 0
    while True:
        rows = await connector.execute_query_all_async(
            PURGE_SQL,
            days=settings.queue_retention_days,
            batch=settings.queue_purge_batch_size,
        )
        total += len(rows)
        if len(rows) < settings.queue_purge_batch_size:
            break
    if total:
        log.info("purged %d finished job(s) older than %d days", total, settings.queue_retention_days)
    return total


@periodic("maintenance.reset_daily_limits", cron=lambda s: s.cron_reset_daily_limits)
async def reset_daily_limits_task(timestamp: int) -> None:
    await reset_daily_limits(current_runtime().db)


@periodic("maintenance.recover_stalled_jobs", cron=lambda s: s.cron_recover_stalled_jobs, pass_context=True)
async def recover_stalled_jobs_task(context: JobContext, timestamp: int) -> None:
    await recover_stalled(context.app.job_manager, current_runtime().settings)


@periodic("maintenance.purge_finished_jobs", cron=lambda s: s.cron_purge_finished_jobs, pass_context=True)
async def purge_finished_jobs_task(context: JobContext, timestamp: int) -> None:
    await purge_finished(context.app.connector, current_runtime().settings)
