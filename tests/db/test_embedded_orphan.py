"""A server left running from binaries that were removed (another checkout's environment, a reinstalled
package) is restarted instead of failing every migration with `could not access file "plpgsql"`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from revos.db import embedded


def _pretend_postmaster(pgdata: Path, binary: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([str(binary), "300"])
    pgdata.mkdir(parents=True, exist_ok=True)
    (pgdata / "postmaster.pid").write_text(f"{process.pid}\n{pgdata}\n")
    return process


def test_a_server_whose_binaries_were_removed_is_found_and_stopped(tmp_path: Path) -> None:
    copy = tmp_path / "install" / "postgres"
    copy.parent.mkdir()
    shutil.copy(shutil.which("sleep") or "/bin/sleep", copy)
    process = _pretend_postmaster(tmp_path / "pg", copy)
    try:
        assert embedded.orphaned_server(tmp_path / "pg") is None  # its binary is still there
        shutil.rmtree(copy.parent)
        assert embedded.orphaned_server(tmp_path / "pg") == process.pid
        embedded._stop_if_orphaned(tmp_path / "pg")
        assert process.wait(timeout=30) != 0  # stopped by the signal
    finally:
        process.kill()
        process.wait()


def test_no_server_or_a_dead_one_is_left_alone(tmp_path: Path) -> None:
    assert embedded.orphaned_server(tmp_path / "pg") is None
    (tmp_path / "pg").mkdir()
    (tmp_path / "pg" / "postmaster.pid").write_text("999999999\n")
    assert embedded.orphaned_server(tmp_path / "pg") is None
    embedded._stop_if_orphaned(tmp_path / "pg")  # nothing to stop, no error
