from __future__ import annotations

import time

import typer
from rich.table import Table

from revos import migrations
from revos.cli.common import console, err_console, settings_and_url

app = typer.Typer(help="Database schema: migrate and inspect.", no_args_is_help=True)


@app.command("migrate")
def migrate_cmd() -> None:
    """Apply pending migrations from supabase/migrations, each once, in order."""
    _, url = settings_and_url(session=True)
    started = time.perf_counter()
    try:
        applied = migrations.migrate(
            url, on_apply=lambda m, s: console.print(f"applied {m.path.name} ({s * 1000:.0f} ms)")
        )
    except migrations.MigrationError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    elapsed = time.perf_counter() - started
    if applied:
        console.print(f"[green]{len(applied)} migration(s) applied in {elapsed:.2f} s[/green]")
    else:
        console.print("database is up to date; nothing to apply")


@app.command("status")
def status_cmd() -> None:
    """List applied and pending migrations."""
    _, url = settings_and_url(session=True)
    states = migrations.status(url)
    table = Table("version", "name", "state", "applied at")
    for s in states:
        state = "pending" if s.pending else ("applied" if s.checksum_ok else "[red]EDITED after apply[/red]")
        table.add_row(s.migration.version, s.migration.name, state, str(s.applied_at or ""))
    console.print(table)
    pending = sum(1 for s in states if s.pending)
    console.print(f"{len(states) - pending} applied, {pending} pending")
    if any(not s.checksum_ok for s in states):
        raise typer.Exit(1)
