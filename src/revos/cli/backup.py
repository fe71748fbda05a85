"""`revos backup export|restore`: compressed per-table files with a manifest, to a directory or S3."""

from __future__ import annotations

from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from revos import migrations
from revos.cli.common import console, err_console, settings_and_url
from revos.config import Settings
from revos.db import backup, backup_store
from revos.errors import RevosError

app = typer.Typer(help="Backups: export the database's tables, restore them into an empty database.")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


def _s3_factory(settings: Settings) -> Any:
    return lambda: backup_store.s3_client(settings.backup_s3_endpoint_url, settings.backup_s3_region)


@app.command("export")
def export_cmd(
    to: str = typer.Option(
        None, "--to", help="a directory or s3://bucket/prefix (default REVOS_BACKUP_TARGET)"
    ),
) -> None:
    """Write every table (gzip'd CSV) and a manifest into a new revos-<time> folder under the target."""
    settings, url = settings_and_url(session=True)
    target = to or settings.backup_target
    if not target:
        err_console.print(
            "[red]error:[/red] say where: --to DIR or s3://bucket/prefix (or REVOS_BACKUP_TARGET)"
        )
        raise typer.Exit(2)
    with _progress() as progress:
        task = progress.add_task("export", total=None)

        def on_table(name: str, i: int, n: int) -> None:
            progress.update(task, description=name, completed=i, total=n)

        try:
            location, manifest = backup.export(
                url, target, on_table=on_table, s3_client_factory=_s3_factory(settings)
            )
        except RevosError as exc:
            err_console.print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(1) from exc
        progress.update(task, description="done", completed=len(manifest["tables"]))
    rows = sum(t["rows"] for t in manifest["tables"])
    console.print(
        f"[green]backup written to {location}[/green]: {len(manifest['tables'])} tables, {rows} rows,"
        f" schema version {manifest['schema_version']}"
    )


@app.command("restore")
def restore_cmd(
    source: str = typer.Option(
        ..., "--from", help="a backup folder or s3:// location (or one holding revos-* backups: the latest)"
    ),
) -> None:
    """Migrate the (empty) database, check every file's checksum, then load the backup."""
    settings, url = settings_and_url(session=True)
    try:
        migrations.migrate(url)
        with _progress() as progress:
            task = progress.add_task("restore", total=None)

            def on_table(name: str, i: int, n: int) -> None:
                progress.update(task, description=name, completed=i, total=n)

            manifest, loaded = backup.restore(
                url, source, on_table=on_table, s3_client_factory=_s3_factory(settings)
            )
            progress.update(task, description="done", completed=len(loaded))
    except RevosError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    console.print(
        f"[green]restored {sum(loaded.values())} rows into {len(loaded)} tables[/green]"
        f" (schema version {manifest['schema_version']}, taken {manifest['created_at']})"
    )
