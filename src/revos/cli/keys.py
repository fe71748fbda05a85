from __future__ import annotations

import os

import typer

from revos.cli.common import console, err_console, run
from revos.config import get_settings
from revos.runtime import Runtime
from revos.security.crypto import generate_master_key

app = typer.Typer(help="Encryption keys: generate and rotate the master key.", no_args_is_help=True)


@app.command("generate")
def generate() -> None:
    """Print a new random master key (base64) for REVOS_MASTER_KEY."""
    console.print(generate_master_key())


@app.command("rotate")
def rotate(
    new_key: bool = typer.Option(
        False,
        "--new-key",
        help="development: generate a new master key in the data directory and keep the old one as previous",
    ),
    batch: int = typer.Option(100, min=1, help="data keys re-wrapped per transaction"),
) -> None:
    """Re-wrap every data key under the current master key (REVOS_MASTER_KEY), online.

    Production: set REVOS_MASTER_KEY to the new key and REVOS_MASTER_KEY_PREVIOUS to the old one on
    every process, run this, then drop REVOS_MASTER_KEY_PREVIOUS. Values are never re-encrypted.
    """
    settings = get_settings()
    if new_key:
        if settings.is_production or settings.master_key is not None:
            err_console.print("[red]error:[/red] --new-key only manages the development key file")
            raise typer.Exit(2)
        path = settings.master_key_file
        if path.exists():
            previous = path.with_suffix(".previous")
            previous.unlink(missing_ok=True)
            os.replace(path, previous)
            os.chmod(previous, 0o600)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_master_key())
        console.print(f"new development master key written to {path}")

    async def _rotate() -> int:
        rt = Runtime.build(settings)
        await rt.open()
        total = 0
        try:
            while True:
                async with rt.db.service(actor="keys-rotate") as conn:
                    done = await rt.vault.rotate_master(conn, batch=batch)
                total += done
                if done:
                    console.print(f"re-wrapped {total} data key(s)…")
                if done < batch:
                    return total
        finally:
            await rt.close()

    total = run(_rotate())
    console.print(f"[green]done: {total} data key(s) now wrapped by master key {_fingerprint()}[/green]")


def _fingerprint() -> str:
    from revos.security.crypto import keyring_from_settings

    return keyring_from_settings(get_settings()).primary_id
