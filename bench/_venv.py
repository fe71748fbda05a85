"""`python bench/<bench>.py` from a fresh clone: outside the project's environment, set it up (`dev.py setup`,
as the README's commands do) and run the bench again inside it. Imported first by the benches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure() -> None:
    try:
        import psycopg  # noqa: F401

        import revos  # noqa: F401
    except ImportError:
        if Path(sys.prefix).resolve() == VENV.resolve():
            raise
        subprocess.run([sys.executable, str(ROOT / "dev.py"), "setup"], check=True)
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])


ensure()
