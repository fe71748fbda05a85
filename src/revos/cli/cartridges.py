"""`revos cartridges …`: the operator's hand on the system cartridges every client shares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from revos.cartridges import repo, schemas, service
from revos.cli.common import console, run
from revos.config import get_settings
from revos.errors import ValidationFailed
from revos.runtime import Runtime

app = typer.Typer(
    help="System cartridges: list them, create or change one from a JSON file.", no_args_is_help=True
)
EDITABLE = ("description", "voice", "knowledge", "parent_cartridge_id", "active")


@app.command("list")
def list_system() -> None:
    """The system cartridges: id, version, name."""

    async def _list() -> list[dict[str, Any]]:
        rt = Runtime.build(get_settings())
        await rt.open()
        try:
            async with rt.db.service(actor="cli:cartridges") as conn:
                rows, _ = await repo.page(
                    conn, cursor=None, limit=200, client_id=None, tier="system", user_id=None, skill=None,
                    active=None,
                )  # fmt: skip
            return rows
        finally:
            await rt.close()

    for row in run(_list()):
        console.print(f"{row['id']}  v{row['version']}  {row['name']}")


@app.command("set")
def set_system(
    name: str = typer.Argument(..., help="the system cartridge's name (created when there is none)"),
    file: Path = typer.Option(
        ..., "--file", exists=True, dir_okay=False, help="JSON: description, voice, knowledge"
    ),
) -> None:
    """Create or change a system cartridge from a JSON object with any of: description, voice, knowledge,
    parent_cartridge_id, active. Each change is kept as a version (changed_by `cli:cartridges`)."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--file") from exc
    if not isinstance(document, dict) or set(document) - set(EDITABLE):
        raise typer.BadParameter(f"a JSON object with only: {', '.join(EDITABLE)}", param_hint="--file")

    async def _set() -> dict[str, Any]:
        rt = Runtime.build(get_settings())
        await rt.open()
        try:
            async with rt.db.service(actor="cli:cartridges") as conn:
                found = await repo.system_id(conn, name)
                row = await service.get(conn, found) if found else None
                try:
                    if row is None or row["name"] != name:
                        body = schemas.CartridgeCreate.model_validate(
                            {"tier": "system", "name": name, **document}
                        )
                        return await service.create(conn, client_id=None, body=body)
                    update = schemas.CartridgeUpdate.model_validate(document)
                except ValidationError as exc:
                    raise ValidationFailed(
                        str(exc).splitlines()[0] + ": " + str(exc.errors()[0]["msg"])
                    ) from exc
                return await service.update(conn, row["id"], update)
        finally:
            await rt.close()

    row = run(_set())
    console.print(f"system cartridge {row['name']!r} ({row['id']}) is at version {row['version']}")
