"""`revos status`: the deployment's health at a glance (or as JSON); exit 1 when something needs a hand."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from revos.cli.common import console, run, settings_and_url


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(
    as_json: bool = typer.Option(False, "--json", help="print one JSON object instead of tables"),
    limit: int = typer.Option(20, "--limit", min=1, help="most stalled jobs, endpoints, accounts listed"),
) -> None:
    """Due work, stalled jobs, failing webhook endpoints, paused accounts, pending migrations."""
    from revos.db.pool import Database
    from revos.ops.status import read_status

    settings, url = settings_and_url(session=True)

    async def _read() -> dict[str, Any]:
        async with Database(url, min_size=1, max_size=2) as db:
            return await read_status(db, settings, limit=limit)

    report = run(_read())
    if as_json:
        print(json.dumps(report, default=str), flush=True)
    else:
        _print(report)
    if not report["ok"]:
        raise typer.Exit(1)


def _print(report: dict[str, Any]) -> None:
    style = "green" if report["ok"] else "red"
    console.print(
        f"[{style}]{'ok' if report['ok'] else 'needs attention: ' + '; '.join(report['problems'])}[/]"
    )
    due = report["due"]
    if not due:
        return
    console.print(
        f"due now: {due['dm_steps']} DM step(s), {due['webhook_retries']} webhook retr(y/ies), "
        f"{due['pod_activities']} pod activit(y/ies), {due['jobs']} queued job(s), "
        f"{due['audit_entries']} audit entr(y/ies) to chain; "
        f"{report['jobs_running']} job(s) running"
    )
    console.print(f"pending migrations: {report['pending_migrations']}")
    sections = (
        ("stalled jobs", "stalled_jobs", ("id", "task", "queue", "attempts", "last_heartbeat")),
        (
            "failing webhook endpoints",
            "failing_webhook_endpoints",
            ("name", "client_id", "consecutive_failures", "disabled_at", "disabled_reason"),
        ),
        ("paused accounts", "paused_accounts", ("account_name", "client_id", "pause_reason", "paused_until")),
    )
    for title, key, columns in sections:
        rows = report[key]
        if not rows:
            console.print(f"{title}: none")
            continue
        table = Table(*columns, title=f"{title} ({len(rows)})")
        for row in rows:
            table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
        console.print(table)
