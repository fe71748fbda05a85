"""The health of a deployment at a glance (`revos status`): due work, stuck jobs, failing endpoints,
paused accounts, pending migrations. Read as the service role (the migration count as the owner)."""

from __future__ import annotations

from typing import Any

import psycopg

from revos.config import Settings
from revos.db import migrate
from revos.db.pool import Database
from revos.ops import repo


async def read_status(db: Database, settings: Settings, *, limit: int = 20) -> dict[str, Any]:
    async with db.raw() as conn:
        pending_migrations = await migrate.pending_count(conn)
    try:
        return await _read(db, settings, limit, pending_migrations)
    except psycopg.Error as exc:
        if not pending_migrations:
            raise
        # A schema not migrated yet (no roles, tables or columns) has nothing else to report.
        problem = f"{pending_migrations} migration(s) pending: run revos db migrate ({type(exc).__name__})"
        return {
            "ok": False,
            "problems": [problem],
            "due": {},
            "jobs_running": 0,
            "stalled_jobs": [],
            "failing_webhook_endpoints": [],
            "paused_accounts": [],
            "pending_migrations": pending_migrations,
        }


async def _read(db: Database, settings: Settings, limit: int, pending_migrations: int) -> dict[str, Any]:
    async with db.service("cli:status") as conn:
        await repo.limit_statements(conn, 10)
        depth = await repo.queue_depth(conn)
        pods = {
            r["status"]: int(r["n"]) for r in await repo.pod_activities(conn, settings.metrics_window_seconds)
        }
        hooks = await repo.webhook_backlog(conn)
        due = {
            "dm_steps": await repo.dms_due(conn),
            "webhook_retries": int(hooks["due"]),
            "pod_activities": pods.get("due", 0),
            "jobs": sum(int(r["n"]) for r in depth if r["state"] == "due"),
            "audit_entries": await repo.audit_unsealed(conn),
        }
        stalled = await repo.stalled_jobs(conn, settings.stalled_after_seconds, limit=limit)
        failing = await repo.failing_endpoints(conn, limit=limit)
        paused = await repo.paused_accounts(conn, limit=limit)
    running = sum(int(r["n"]) for r in depth if r["state"] == "running")
    problems = []
    if pending_migrations:
        problems.append(f"{pending_migrations} migration(s) pending: run revos db migrate")
    if stalled:
        problems.append(f"{len(stalled)} stalled job(s)")
    if any(e["disabled_at"] is not None for e in failing):
        problems.append("disabled webhook endpoint(s)")
    return {
        "ok": not problems,
        "problems": problems,
        "due": due,
        "jobs_running": running,
        "stalled_jobs": [
            {
                "id": r["id"],
                "task": r["task"],
                "queue": r["queue"],
                "attempts": r["attempts"],
                "last_heartbeat": r["last_heartbeat"],
            }
            for r in stalled
        ],
        "failing_webhook_endpoints": [
            {
                "id": r["id"],
                "client_id": r["client_id"],
                "name": r["name"],
                "consecutive_failures": r["consecutive_failures"],
                "disabled_at": r["disabled_at"],
                "disabled_reason": r["disabled_reason"],
            }
            for r in failing
        ],
        "paused_accounts": [
            {
                "id": r["id"],
                "client_id": r["client_id"],
                "account_name": r["account_name"],
                "pause_reason": r["pause_reason"],
                "paused_until": r["paused_until"],
            }
            for r in paused
        ],
        "pending_migrations": pending_migrations,
    }
