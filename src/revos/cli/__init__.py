"""The `revos` command. Its entry point reads the settings first: a setting the environment (or `.env`)
gets wrong is named on one line each, instead of a traceback from wherever it was first read."""

from __future__ import annotations


def main() -> None:
    from pydantic import ValidationError
    from rich.markup import escape

    from revos.cli.common import err_console
    from revos.config import Settings, get_settings

    try:
        get_settings()
    except ValidationError as exc:
        prefix = Settings.model_config.get("env_prefix", "")
        for error in exc.errors():
            name = f"{prefix}{error['loc'][0]}".upper() if error["loc"] else "settings"
            err_console.print(f"[red]error:[/red] {name}: {escape(error['msg'])}", highlight=False)
        raise SystemExit(2) from None
    from revos.cli.main import app

    app(prog_name="revos")
