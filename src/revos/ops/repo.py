"""Read-only counts over every domain's tables and the queue, for /metrics and `revos status`.

Runs as the service role, across clients, and returns counts only: no client, account, lead or
endpoint is named in a metric. Each query reads an index of due or recent rows, never a whole table;
its cost at a million rows of the table it reads is noted beside it (docs/operations.md has the
measured figures). `window` is REVOS_METRICS_WINDOW_SECONDS.
"""

from __future__ import annotations

from typing import Any

from revos.db.pool import Conn
from revos.queue.schema import QUEUE_SCHEMA

# Jobs waiting or running, by queue, task and state. Reads procrastinate_jobs_id_lock_idx_v1 (partial:
# todo and doing only), so the cost follows the backlog, not the 30 days of finished jobs kept.
QUEUE_DEPTH = f"""
select queue_name as queue, task_name as task,
       case when status = 'doing' then 'running'
            when scheduled_at > now() then 'scheduled' else 'due' end as state,
       count(*) as n
from {QUEUE_SCHEMA}.procrastinate_jobs
where status in ('todo', 'doing')
group by 1, 2, 3
"""

# Jobs finished within the window, by task and outcome: revos_procrastinate_events_finished (partial
# index on the finishing events' time), then the job by primary key. ~window's jobs, not the table's.
JOB_OUTCOMES = f"""
select j.task_name as task, e.type::text as outcome, count(*) as n
from {QUEUE_SCHEMA}.procrastinate_events e
join {QUEUE_SCHEMA}.procrastinate_jobs j on j.id = e.job_id
where e.type in ('succeeded', 'failed', 'cancelled', 'aborted')
  and e.at >= now() - make_interval(secs => %(window)s)
group by 1, 2
"""

# Running jobs whose worker stopped heartbeating (or is gone): what maintenance.recover_stalled_jobs
# will retry. idx_procrastinate_jobs_worker_not_null covers the running jobs.
STALLED = f"""
select j.id, j.task_name as task, j.queue_name as queue, j.attempts, w.last_heartbeat
from {QUEUE_SCHEMA}.procrastinate_jobs j
left join {QUEUE_SCHEMA}.procrastinate_workers w on w.id = j.worker_id
where j.status = 'doing'
  and (w.id is null or w.last_heartbeat < now() - make_interval(secs => %(stalled)s))
order by j.id
limit %(limit)s
"""

# LinkedIn actions created within the window, by kind and ledger status (idx_linkedin_actions_created).
LINKEDIN_ACTIONS = """
select kind, status as outcome, count(*) as n
from public.linkedin_actions
where created_at >= now() - make_interval(secs => %(window)s)
group by 1, 2
"""

# Today's budget use (each account's own local day), by kind: the sum, and the highest use of one
# account against the deployment's default cap. One unique-index probe per account and kind.
BUDGET_USE = """
select u.kind, sum(u.used) as used, max(u.used) as most
from public.linkedin_accounts a
join public.account_daily_usage u
  on u.linkedin_account_id = a.id and u.day = (now() at time zone coalesce(a.timezone, 'UTC'))::date
group by 1
"""

# Accounts by status, and those paused now (idx_linkedin_accounts_paused). Accounts number thousands.
ACCOUNTS = """
select coalesce(status, 'unknown') as status, count(*) as n,
       count(*) filter (where paused_at is not null and (paused_until is null or paused_until > now()))
         as paused
from public.linkedin_accounts
group by 1
"""

# Webhook attempts within the window (idx_webhook_delivery_attempts_attempted): outcomes and the
# latency histogram's buckets, in one pass over the window's attempts.
WEBHOOK_ATTEMPTS = """
select status as outcome, count(*) as n, coalesce(sum(response_time_ms), 0) / 1000.0 as seconds,
       array[{buckets}] as buckets
from public.webhook_delivery_attempts
where attempted_at >= now() - make_interval(secs => %(window)s)
group by 1
"""

# Deliveries waiting to be sent or retried now (idx_webhook_deliveries_due), and endpoints by state
# (webhook_configs: one row per endpoint, thousands).
WEBHOOK_BACKLOG = """
select
  (select count(*) from public.webhook_deliveries
   where status in ('pending', 'failed') and next_retry_at is not null and next_retry_at <= now()) as due,
  (select count(*) from public.webhook_configs where active and disabled_at is null) as active,
  (select count(*) from public.webhook_configs where disabled_at is not null or not active) as disabled,
  (select count(*) from public.webhook_configs
   where active and disabled_at is null and consecutive_failures > 0) as failing
"""

# Pod activities pending and due now (idx_pod_activities_scheduled, partial on pending), and those
# executed within the window by status (idx_pod_activities_executed).
POD_ACTIVITIES = """
select 'pending' as status, count(*) as n from public.pod_activities where status = 'pending'
union all
select 'due', count(*) from public.pod_activities where status = 'pending' and scheduled_for <= now()
union all
select status, count(*) from public.pod_activities
where executed_at >= now() - make_interval(secs => %(window)s) and status <> 'pending'
group by status
"""

# DM steps due now: sequences in progress whose next action is due (idx_dm_sequences_next_action).
DMS_DUE = """
select count(*) as n from public.dm_sequences where status = 'in_progress' and next_action_at <= now()
"""

FAILING_ENDPOINTS = """
select id, client_id, name, consecutive_failures, disabled_at, disabled_reason
from public.webhook_configs
where consecutive_failures > 0 or disabled_at is not null
order by disabled_at is null, consecutive_failures desc, name
limit %(limit)s
"""

PAUSED_ACCOUNTS = """
select id, client_id, account_name, pause_reason, paused_until
from public.linkedin_accounts
where paused_at is not null and (paused_until is null or paused_until > now())
order by paused_until nulls first, account_name
limit %(limit)s
"""


async def _all(conn: Conn, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return await (await conn.execute(query, params or {})).fetchall()


async def queue_depth(conn: Conn) -> list[dict[str, Any]]:
    return await _all(conn, QUEUE_DEPTH)


async def job_outcomes(conn: Conn, window: int) -> list[dict[str, Any]]:
    return await _all(conn, JOB_OUTCOMES, {"window": window})


async def stalled_jobs(conn: Conn, stalled_after: float, limit: int = 50) -> list[dict[str, Any]]:
    return await _all(conn, STALLED, {"stalled": stalled_after, "limit": limit})


async def linkedin_actions(conn: Conn, window: int) -> list[dict[str, Any]]:
    return await _all(conn, LINKEDIN_ACTIONS, {"window": window})


async def budget_use(conn: Conn) -> list[dict[str, Any]]:
    return await _all(conn, BUDGET_USE)


async def accounts(conn: Conn) -> list[dict[str, Any]]:
    return await _all(conn, ACCOUNTS)


async def webhook_attempts(conn: Conn, window: int, buckets_ms: list[float]) -> list[dict[str, Any]]:
    # The bucket bounds are numbers this module owns, written into the statement as literals.
    counts = ", ".join(f"count(*) filter (where response_time_ms <= {float(b)!r})" for b in buckets_ms)
    return await _all(conn, WEBHOOK_ATTEMPTS.format(buckets=counts), {"window": window})


async def webhook_backlog(conn: Conn) -> dict[str, Any]:
    return (await _all(conn, WEBHOOK_BACKLOG))[0]


async def pod_activities(conn: Conn, window: int) -> list[dict[str, Any]]:
    return await _all(conn, POD_ACTIVITIES, {"window": window})


# Audit entries written but not chained yet (the worker's sealer keeps this near a few seconds' worth).
AUDIT_UNSEALED = "select count(*) as n from public.audit_pending"


async def audit_unsealed(conn: Conn) -> int:
    return int((await _all(conn, AUDIT_UNSEALED))[0]["n"])


async def dms_due(conn: Conn) -> int:
    return int((await _all(conn, DMS_DUE))[0]["n"])


async def failing_endpoints(conn: Conn, limit: int = 20) -> list[dict[str, Any]]:
    return await _all(conn, FAILING_ENDPOINTS, {"limit": limit})


async def paused_accounts(conn: Conn, limit: int = 20) -> list[dict[str, Any]]:
    return await _all(conn, PAUSED_ACCOUNTS, {"limit": limit})


async def limit_statements(conn: Conn, seconds: float) -> None:
    """Read-only and short: a scrape never runs on behind a slow disk or a lock."""
    await conn.execute("select set_config('statement_timeout', %s, true)", (f"{int(seconds * 1000)}ms",))
