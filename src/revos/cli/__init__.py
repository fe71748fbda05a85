"""The `revos` command. Its entry point reads the settings first: a setting the environment (or `.env`)
gets wrong is named on one line each, instead of a traceback from wherever it was first read."""

from __future__ import annotations

import sys


def main() -> None:
    from pydantic import ValidationError

    from revos.config import Settings, get_settings

    try:
        get_settings()
    except ValidationError as exc:
        prefix = Settings.model_config.get("env_prefix", "")
        for error in exc.errors():
            name = f"{prefix}{error['loc'][0]}".upper() if error["loc"] else "settings"
            print(f"error: {name}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
    from revos.cli.main import app

    app(prog_name="revos")
