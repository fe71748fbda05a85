"""Analytics at a million leads: how long the views take to refresh, and p50/p95/p99 of /v1/analytics over HTTP;
the cost of one /metrics scrape and of each of its database reads.

    .venv/bin/python bench/analytics.py [--leads 1000000] [--requests 200] [--database-url URL [--keep]]
        [--reuse-database URL]

On a throwaway database of a temporary embedded PostgreSQL (or of the server `--database-url` names), with
every migration applied, bench/api_scale.py's loader bulk-loads `--leads` leads (generate_series, triggers
off, two clients 90/10 over about 230 days, with their comments, DM sequences, timeline and webhook
deliveries); this bench adds the first reply of every lead that replied (a message and last_reply_at),
a LinkedIn action in the ledger for every first DM sent, each account's daily usage derived from it, and
a pod of twelve members of the big client with about 300,000 pod activities over the same days.

Then the analytics views are refreshed (plainly the first time, concurrently the second: both timed),
`revos serve` runs the real app in a subprocess, and each report is asked `--requests` times in a row as
a client user of the big client, for the ranges a dashboard asks: the last 30 days by day, the last
year by week and by month, one campaign. Last, /metrics is scraped `--requests` times and each of its
queries is timed in SQL. Figures, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import api_scale  # noqa: E402  (the loader, the server and the tokens of the list-endpoint bench)

EXTRAS = [
    # The first reply of every lead whose sequence got as far as an email: a message and last_reply_at.
    """insert into dm_messages (client_id, dm_sequence_id, direction, message, sent_at, created_at)
       select client_id, id, 'inbound', 'here you go', step1_sent_at + interval '30 minutes',
              step1_sent_at + interval '30 minutes'
       from dm_sequences where email_extracted_at is not null""",
    """update dm_sequences set last_reply_at = step1_sent_at + interval '30 minutes'
       where email_extracted_at is not null""",
    # The ledger: one DM per first DM sent (2 % failed), on the sequence's account.
    """insert into linkedin_actions (client_id, linkedin_account_id, kind, action_key, status, provider_id,
                                     created_at, updated_at, done_at)
       select client_id, linkedin_account_id, 'dm', 'dm:' || id || ':1',
              case when abs(hashtext(id::text)) % 50 = 0 then 'failed' else 'done' end,
              case when abs(hashtext(id::text)) % 50 = 0 then null else 'm-' || id end,
              step1_sent_at, step1_sent_at, step1_sent_at
       from dm_sequences where step1_sent_at is not null""",
    """insert into account_daily_usage (client_id, linkedin_account_id, day, kind, used)
       select client_id, linkedin_account_id, (created_at at time zone 'UTC')::date, kind, count(*)
       from linkedin_actions where status = 'done' group by 1, 2, 3, 4""",
]

PODS = """
with pod as (
  insert into pods (client_id, name) values (%(client)s, 'Bench pod') returning id, client_id
), members as (
  insert into pod_members (client_id, pod_id)
  select pod.client_id, pod.id from pod, generate_series(1, 12) returning id, pod_id, client_id
), numbered as (
  select id, pod_id, client_id, row_number() over (order by id) - 1 as n from members
)
insert into pod_activities (client_id, pod_id, member_id, post_url, engagement_type, scheduled_for,
                            executed_at, status, created_at)
select m.client_id, m.pod_id, m.id, 'https://www.linkedin.com/feed/update/' || g.i,
       case when g.i %% 3 = 0 then 'comment' else 'like' end,
       %(base)s::timestamptz + g.i * interval '1 minute', %(base)s::timestamptz + g.i * interval '1 minute',
       case when g.i %% 20 = 0 then 'failed' when g.i %% 13 = 0 then 'skipped' else 'completed' end,
       %(base)s::timestamptz + g.i * interval '1 minute'
from generate_series(1, %(activities)s) g(i)
join numbered m on m.n = g.i %% 12
"""


def add_extras(url: str, world: api_scale.World, activities: int) -> None:
    started = time.perf_counter()
    with psycopg.connect(url, row_factory=dict_row) as conn:
        conn.execute("set session_replication_role = replica")
        for statement in EXTRAS:
            conn.execute(statement)
            conn.commit()
        first = conn.execute("select min(created_at) as at from leads").fetchone()
        assert first is not None
        conn.execute(
            PODS, {"client": world.tenants["A"].client_id, "base": first["at"], "activities": activities}
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("vacuum (analyze)")
        counts = conn.execute(
            "select (select count(*) from linkedin_actions) as actions, (select count(*) from dm_messages) as"
            " messages, (select count(*) from pod_activities) as pod_activities,"
            " (select count(*) from account_daily_usage) as usage_rows"
        ).fetchone()
    api_scale.log(f"extras loaded ({time.perf_counter() - started:.0f} s): {counts}")


def refresh(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for label in ("first refresh (plain: never populated)", "second refresh (concurrently)"):
            if label.startswith("first"):
                # The migration filled the views on an empty database: empty them to time a first fill.
                for view in ("campaign_funnel_daily", "post_daily", "dm_template_daily", "account_usage_daily",
                             "pod_member_daily"):  # fmt: skip
                    conn.execute(f"refresh materialized view analytics.{view} with no data")
            started = time.perf_counter()
            conn.execute("set role service_role")
            conn.execute("select analytics.refresh()")
            conn.execute("reset role")
            print(f"  {label:<44} {time.perf_counter() - started:8.1f} s", flush=True)
        sizes = conn.execute(
            "select c.relname, c.reltuples::bigint, pg_size_pretty(pg_total_relation_size(c.oid))"
            " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'analytics' and c.relkind = 'm' order by 1"
        ).fetchall()
    for name, rows, size in sizes:
        print(f"  {name:<44} {rows:>9,} rows {size:>10}")


def reports(world: api_scale.World) -> list[tuple[str, str, dict[str, str]]]:
    today = datetime.now(UTC).date()
    month = {"from": str(today - timedelta(days=29)), "to": str(today)}
    year = {"from": str(today - timedelta(days=365)), "to": str(today)}
    campaign = str(world.tenants["A"].campaigns[0])
    return [
        ("funnel, 30 days by day", "funnel", month),
        ("funnel, a year by week", "funnel", year | {"granularity": "week"}),
        (
            "funnel, a year by month, one campaign",
            "funnel",
            year | {"granularity": "month", "campaign_id": campaign},
        ),
        ("posts, 30 days by day", "posts", month),
        ("posts, a year by month", "posts", year | {"granularity": "month"}),
        ("templates, a year by week", "templates", year | {"granularity": "week"}),
        ("accounts, 30 days by day", "accounts", month),
        ("accounts, a year by month", "accounts", year | {"granularity": "month"}),
        ("pods, 30 days by day", "pods", month),
        ("pods, a year by week", "pods", year | {"granularity": "week"}),
    ]


def measure_http(base: str, world: api_scale.World, requests: int) -> None:
    from revos.security.jwt import Claims, issue

    token = issue(
        Claims.model_validate(api_scale.claims_of(world, "A")), api_scale.JWT_SECRET, ttl_seconds=86400
    )
    headers = {"Authorization": f"Bearer {token}"}
    warm = max(1, min(5, requests // 10))
    print(f"\nHTTP, {requests} sequential requests each as a user of client A (p50 / p95 / p99 in ms; rows)")
    with httpx.Client(base_url=base, timeout=120, headers=headers) as client:
        floors = [
            ("/healthz (the HTTP floor)", "/healthz", {}),
            ("/v1/me (an authenticated floor)", "/v1/me", {}),
        ]
        for label, path, params in [*floors, *reports(world)]:
            times, rows = [], 0
            for n in range(requests + warm):
                started = time.perf_counter()
                response = client.get(
                    path if path.startswith("/") else f"/v1/analytics/{path}", params=params
                )
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{path} {params}: {response.status_code} {response.text[:300]}")
                rows = len(response.json().get("rows", [None]))
                if n >= warm:
                    times.append(elapsed)
            p50, p95, p99 = statistics.median(times), *(api_scale.percentile(times, q) for q in (0.95, 0.99))
            print(f"  {label:<44} p50 {p50:7.2f}  p95 {p95:7.2f}  p99 {p99:7.2f}  {rows:6d}", flush=True)
        times = []
        for n in range(requests // 4 + warm):
            started = time.perf_counter()
            response = client.get("/metrics")
            if response.status_code != 200:
                raise RuntimeError(f"/metrics: {response.status_code} {response.text[:300]}")
            if n >= warm:
                times.append((time.perf_counter() - started) * 1000)
        p50, p95, p99 = statistics.median(times), *(api_scale.percentile(times, q) for q in (0.95, 0.99))
        print(f"  {'/metrics scrape':<44} p50 {p50:7.2f}  p95 {p95:7.2f}  p99 {p99:7.2f}")


async def measure_report_sql(url: str, world: api_scale.World, runs: int = 50) -> None:
    """Each report's query as the API sends it: role authenticated with the user's claims (no HTTP)."""
    import json

    from revos.analytics import repo

    claims = json.dumps(api_scale.claims_of(world, "A"))
    print(
        f"\nthe same reports in SQL as authenticated (the view's claim filter included), median / max of {runs} (ms)"
    )
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        for label, name, params in reports(world):
            start, end = (datetime.fromisoformat(params[k]).date() for k in ("from", "to"))
            filters = {"campaign_id": params["campaign_id"]} if "campaign_id" in params else {}
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                async with conn.transaction(force_rollback=True):
                    await conn.execute("set local role authenticated")
                    await conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
                    await repo.report(
                        conn,
                        name,
                        start=start,
                        end=end,
                        unit=params.get("granularity", "day"),
                        filters=filters,
                    )
                times.append((time.perf_counter() - started) * 1000)
            print(f"  {label:<44} {statistics.median(times):8.2f} {max(times):8.2f}", flush=True)


def measure_collectors(url: str, runs: int = 20) -> None:
    from revos.ops import repo
    from revos.ops.metrics import WEBHOOK_BUCKETS_MS

    statements: list[tuple[str, str, dict[str, Any]]] = [
        ("queue depth", repo.QUEUE_DEPTH, {}),
        ("job outcomes (window)", repo.JOB_OUTCOMES, {"window": 3600}),
        ("stalled jobs", repo.STALLED, {"stalled": 60, "limit": 10000}),
        ("LinkedIn actions (window)", repo.LINKEDIN_ACTIONS, {"window": 3600}),
        ("budget use today", repo.BUDGET_USE, {}),
        ("accounts by status", repo.ACCOUNTS, {}),
        (
            "webhook attempts (window)",
            repo.WEBHOOK_ATTEMPTS.format(
                buckets=", ".join(
                    f"count(*) filter (where response_time_ms <= {b!r})" for b in WEBHOOK_BUCKETS_MS
                )
            ),
            {"window": 3600},
        ),
        ("webhook backlog and endpoints", repo.WEBHOOK_BACKLOG, {}),
        ("pod activities", repo.POD_ACTIVITIES, {"window": 3600}),
        ("DM steps due", repo.DMS_DUE, {}),
    ]
    print(f"\n/metrics queries in SQL as the service role, median of {runs} runs (ms)")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set role service_role")
        for label, query, params in statements:
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                conn.execute(query, params).fetchall()
                times.append((time.perf_counter() - started) * 1000)
            print(f"  {label:<44} {statistics.median(times):8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads to load (90/10 over two clients)")
    parser.add_argument("--pod-activities", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per report")
    parser.add_argument("--database-url", help="a server to create the bench database on (default: embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the database (with --database-url)")
    parser.add_argument("--reuse-database", help="measure a database this bench loaded before (--keep)")
    args = parser.parse_args()

    from revos import migrations

    workdir = Path(tempfile.mkdtemp(prefix="ran-w-", dir="/tmp"))
    try:
        with api_scale.server_url(args.database_url or args.reuse_database) as root:
            name = f"analytics_{uuid.uuid4().hex[:8]}"
            if args.reuse_database:
                url = args.reuse_database
                migrations.migrate(url)
                world = api_scale.read_world(url)
            else:
                with psycopg.connect(root, autocommit=True) as conn:
                    conn.execute(f'create database "{name}"')
                url = api_scale.with_database(root, name)
            try:
                if not args.reuse_database:
                    migrations.migrate(url)
                    api_scale.log(f"database {name} migrated; loading {args.leads:,} leads")
                    world = api_scale.load(url, args.leads)
                    add_extras(url, world, args.pod_activities)
                print("\nrefresh of the analytics views")
                refresh(url)
                with api_scale.serve(url, workdir) as base:
                    api_scale.log(f"revos serve on {base}")
                    measure_http(base, world, args.requests)
                asyncio.run(measure_report_sql(url, world))
                measure_collectors(url)
            finally:
                if args.keep or args.reuse_database:
                    api_scale.log(f"kept {url}")
                else:
                    with psycopg.connect(root, autocommit=True) as conn:
                        conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
