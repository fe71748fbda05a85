"""The embedded server runs with revOS's settings beyond PostgreSQL's defaults (shared buffers sized to the
machine, checkpoints spaced for a write-heavy day), kept in a file of their own in its data directory."""

from __future__ import annotations

from pathlib import Path

import psycopg

from revos.db import embedded

GIB = 2**30


def test_shared_buffers_are_an_eighth_of_the_memory_within_postgresql_s_default_and_four_gigabytes() -> None:
    assert embedded.server_settings(512 * 2**20)["shared_buffers"] == "128MB"
    assert embedded.server_settings(2 * GIB)["shared_buffers"] == "256MB"
    assert embedded.server_settings(24 * GIB)["shared_buffers"] == "3072MB"
    assert embedded.server_settings(64 * GIB)["shared_buffers"] == "4096MB"
    assert embedded.server_settings(64 * GIB)["max_wal_size"] == "4GB"


def test_a_container_s_memory_limit_counts_when_lower_than_the_machine_s(tmp_path: Path) -> None:
    v2, v1 = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    v2.write_text("max\n")  # no limit
    v1.write_text(f"{2 * GIB}\n")
    files = (str(v2), str(v1), str(tmp_path / "absent"))
    machine = embedded.machine_memory(())
    assert embedded.machine_memory(files) == min(machine, 2 * GIB)
    v1.write_text(f"{machine * 4}\n")  # a limit above the machine's memory: the machine's
    assert embedded.machine_memory(files) == machine


def test_the_running_server_took_the_settings(pg_root_url: str) -> None:
    expected = embedded.server_settings()
    with psycopg.connect(pg_root_url) as conn:
        for name in ("shared_buffers", "max_wal_size"):
            same = conn.execute(
                "select pg_size_bytes(current_setting(%s)) = pg_size_bytes(%s)", (name, expected[name])
            ).fetchone()
            assert same == (True,), name
        assert conn.execute("show checkpoint_timeout").fetchone() == ("15min",)


def test_configuring_again_keeps_one_include_and_the_user_s_own_lines(tmp_path: Path) -> None:
    conf = tmp_path / "postgresql.conf"
    conf.write_text("work_mem = '8MB'\n")
    embedded.configure(tmp_path)
    embedded.configure(tmp_path)
    text = conf.read_text()
    assert text.count("include_if_exists = 'revos.conf'") == 1
    assert text.startswith("work_mem = '8MB'\n")
    assert "max_wal_size = '4GB'" in (tmp_path / "revos.conf").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["postgresql.conf", "revos.conf"]  # no temp file
