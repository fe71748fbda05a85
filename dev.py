#!/usr/bin/env python3
"""Bootstrap and run revOS from a fresh clone with nothing but Python 3.11.

    python3 dev.py demo      # set up .venv, then run the whole lead engine on embedded defaults
    python3 dev.py test      # set up .venv, then lint, type-check and run the whole test suite

Any other arguments after `demo` go to `revos demo`; after `test`, to pytest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".revos-install-stamp"


def _run(*cmd: str | Path, **kw: object) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)  # type: ignore[call-overload]


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"revOS needs Python >= 3.11 (this is {sys.version.split()[0]})")
    if not (BIN / "python").exists():
        _run(sys.executable, "-m", "venv", VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(digest)


# Debian packages the test suite drives besides Python: the dashboard's browser tests run in chromium, the
# transaction-pooler tests run the API through pgbouncer.
SYSTEM_PACKAGES = {"chromium": "chromium", "pgbouncer": "pgbouncer"}


def ensure_system_packages() -> None:
    """Install the missing ones with apt-get when we may (root on Debian); otherwise say what is missing."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/usr/bin"
    missing = [pkg for cmd, pkg in SYSTEM_PACKAGES.items() if shutil.which(cmd, path=path) is None]
    if not missing:
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        _run("apt-get", "update", "-qq", env=env)
        _run("apt-get", "install", "-y", "-qq", *missing, env=env)
        return
    sys.exit(
        "the test suite needs these system packages: " + " ".join(missing)
        + "\n(as root on Debian/Ubuntu this command installs them itself: sudo apt-get install -y "
        + " ".join(missing) + ")"
    )


def parallel(args: list[str]) -> list[str]:
    """Two test processes by default (REVOS_TEST_WORKERS; 1: none), each with its own embedded PostgreSQL;
    a module's tests stay in one process, so its fixtures are made once."""
    workers = os.environ.get("REVOS_TEST_WORKERS", "2")
    if workers in {"", "0", "1"} or any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args):
        return []
    return ["-n", workers, "--dist", "loadfile"]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__)
        return 2
    ensure_venv()
    cmd, rest = argv[0], argv[1:]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    try:
        if cmd == "demo":
            _run(BIN / "revos", "demo", *rest, env=env)
        elif cmd == "test":
            ensure_system_packages()
            _run(BIN / "ruff", "check", "src", "tests", "bench", env=env)
            _run(BIN / "ruff", "format", "--check", "src", "tests", "bench", env=env)
            _run(BIN / "mypy", env=env)
            _run(BIN / "python", "-m", "pytest", *parallel(rest), *rest, env=env)
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
