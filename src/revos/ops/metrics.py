"""The Prometheus families derived from the database, read at scrape time.

Counters kept in a process would differ per process (several APIs, several workers) and reset on
restart; the database holds the one truth. So each scrape reads it (revos.ops.repo, as the service
role, counts only) and `SnapshotCollector` exposes what it read: gauges of what is waiting now and
of what happened within the last REVOS_METRICS_WINDOW_SECONDS. No label names a client.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from revos.api.observe import HTTP_REGISTRY
from revos.config import Settings
from revos.db.pool import Database
from revos.ops import repo

WEBHOOK_BUCKETS_MS = [50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0]
CAP_SETTINGS = {
    "dm": "safety_cap_dm",
    "invitation": "safety_cap_invitation",
    "post": "safety_cap_post",
    "comment": "safety_cap_comment",
    "reaction": "safety_cap_reaction",
    "profile_view": "safety_cap_profile_view",
}


@dataclass
class Snapshot:
    window: int
    caps: dict[str, int]
    stalled_after: float
    rows: dict[str, Any] = field(default_factory=dict)


async def read_snapshot(db: Database, settings: Settings) -> Snapshot:
    window = settings.metrics_window_seconds
    caps = {kind: int(getattr(settings, name)) for kind, name in CAP_SETTINGS.items()}
    snap = Snapshot(window, caps, settings.stalled_after_seconds)
    async with db.service("metrics") as conn:
        await repo.limit_statements(conn, 5)
        snap.rows = {
            "queue_depth": await repo.queue_depth(conn),
            "job_outcomes": await repo.job_outcomes(conn, window),
            "stalled": await repo.stalled_jobs(conn, settings.stalled_after_seconds, limit=10000),
            "actions": await repo.linkedin_actions(conn, window),
            "budget": await repo.budget_use(conn),
            "accounts": await repo.accounts(conn),
            "attempts": await repo.webhook_attempts(conn, window, WEBHOOK_BUCKETS_MS),
            "webhooks": await repo.webhook_backlog(conn),
            "pods": await repo.pod_activities(conn, window),
            "dms_due": await repo.dms_due(conn),
        }
    return snap


class SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snap = snapshot

    def collect(self) -> Iterator[Metric]:
        rows, w = self.snap.rows, self.snap.window
        depth = GaugeMetricFamily(
            "revos_queue_jobs",
            "Queued jobs now: due, scheduled later, running",
            labels=["queue", "task", "state"],
        )
        for r in rows["queue_depth"]:
            depth.add_metric([r["queue"], r["task"], r["state"]], r["n"])
        yield depth

        outcomes = GaugeMetricFamily(
            "revos_queue_job_outcomes",
            f"Jobs finished in the last {w} s, by task and outcome",
            labels=["task", "outcome"],
        )
        for r in rows["job_outcomes"]:
            outcomes.add_metric([r["task"], r["outcome"]], r["n"])
        yield outcomes
        yield GaugeMetricFamily(
            "revos_queue_stalled_jobs",
            "Running jobs whose worker stopped heartbeating",
            value=len(rows["stalled"]),
        )

        actions = GaugeMetricFamily(
            "revos_linkedin_actions",
            f"LinkedIn actions recorded in the last {w} s, by kind and ledger outcome",
            labels=["kind", "outcome"],
        )
        for r in rows["actions"]:
            actions.add_metric([r["kind"], r["outcome"]], r["n"])
        yield actions

        used = GaugeMetricFamily(
            "revos_account_budget_used", "Actions counted against today's caps, all accounts", labels=["kind"]
        )
        ratio = GaugeMetricFamily(
            "revos_account_budget_max_used_ratio",
            "Today's use of the busiest account over the default daily cap",
            labels=["kind"],
        )
        for r in rows["budget"]:
            used.add_metric([r["kind"]], r["used"])
            cap = self.snap.caps.get(r["kind"])
            if cap:
                ratio.add_metric([r["kind"]], float(r["most"]) / cap)
        yield used
        yield ratio

        accounts = GaugeMetricFamily(
            "revos_linkedin_accounts", "LinkedIn accounts by status", labels=["status"]
        )
        paused = 0
        for r in rows["accounts"]:
            accounts.add_metric([r["status"]], r["n"])
            paused += int(r["paused"])
        yield accounts
        yield GaugeMetricFamily("revos_linkedin_accounts_paused", "Accounts paused now", value=paused)

        yield from self._webhooks()

        pods = GaugeMetricFamily(
            "revos_pod_activities",
            f"Pod activities pending, due now, and executed in the last {w} s by status",
            labels=["status"],
        )
        for r in rows["pods"]:
            pods.add_metric([r["status"]], r["n"])
        yield pods
        yield GaugeMetricFamily("revos_dm_steps_due", "DM sequence steps due now", value=rows["dms_due"])

    def _webhooks(self) -> Iterator[Metric]:
        rows, w = self.snap.rows, self.snap.window
        latency = HistogramMetricFamily(
            "revos_webhook_attempt_duration_seconds",
            f"Webhook delivery attempts in the last {w} s: response time, by outcome",
            labels=["outcome"],
        )
        attempts = GaugeMetricFamily(
            "revos_webhook_attempts", f"Webhook delivery attempts in the last {w} s", labels=["outcome"]
        )
        for r in rows["attempts"]:
            buckets = [(str(b / 1000), n) for b, n in zip(WEBHOOK_BUCKETS_MS, r["buckets"], strict=True)]
            latency.add_metric([r["outcome"]], [*buckets, ("+Inf", r["n"])], float(r["seconds"]))
            attempts.add_metric([r["outcome"]], r["n"])
        yield latency
        yield attempts
        hooks = rows["webhooks"]
        yield GaugeMetricFamily(
            "revos_webhook_deliveries_due", "Deliveries due to be sent now", value=hooks["due"]
        )
        endpoints = GaugeMetricFamily(
            "revos_webhook_endpoints",
            "Webhook endpoints: active, failing (active with consecutive failures), disabled",
            labels=["state"],
        )
        for state in ("active", "failing", "disabled"):
            endpoints.add_metric([state], hooks[state])
        yield endpoints


async def render(db: Database, settings: Settings) -> bytes:
    """The exposition text: this process's HTTP histograms and the database's families."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Delegate(HTTP_REGISTRY))
    registry.register(SnapshotCollector(await read_snapshot(db, settings)))
    return generate_latest(registry)


class _Delegate(Collector):
    def __init__(self, inner: CollectorRegistry) -> None:
        self.inner = inner

    def collect(self) -> Iterator[Metric]:
        yield from self.inner.collect()
