from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from revos import migrations
from revos.db import migrate


def _write(directory: Path, name: str, sql: str) -> Path:
    path = directory / name
    path.write_text(sql)
    return path


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select tablename from pg_tables where schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def test_applies_in_order_once_and_second_run_is_a_noop(empty_db_url: str, tmp_path: Path) -> None:
    _write(tmp_path, "20260102000000_second.sql", "alter table a add column b int;")
    _write(tmp_path, "20260101000000_first.sql", "create table a (id int);")

    applied = migrate.migrate(empty_db_url, tmp_path)
    assert [m.name for m in applied] == ["first", "second"]
    assert migrate.migrate(empty_db_url, tmp_path) == []
    states = migrate.status(empty_db_url, tmp_path)
    assert [s.pending for s in states] == [False, False]
    assert all(s.checksum_ok for s in states)


def test_status_lists_pending_files(empty_db_url: str, tmp_path: Path) -> None:
    _write(tmp_path, "20260101000000_first.sql", "create table a (id int);")
    migrate.migrate(empty_db_url, tmp_path)
    _write(tmp_path, "20260103000000_third.sql", "create table c (id int);")

    states = migrate.status(empty_db_url, tmp_path)
    assert [(s.migration.name, s.pending) for s in states] == [("first", False), ("third", True)]


def test_edited_applied_file_is_refused_with_a_clear_message(empty_db_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path, "20260101000000_first.sql", "create table a (id int);")
    migrate.migrate(empty_db_url, tmp_path)
    path.write_text("create table a (id bigint);")
    _write(tmp_path, "20260102000000_next.sql", "create table n (id int);")

    with pytest.raises(migrate.MigrationError, match="edited after it was applied"):
        migrate.migrate(empty_db_url, tmp_path)
    assert "n" not in _tables(empty_db_url)
    assert [s.checksum_ok for s in migrate.status(empty_db_url, tmp_path)] == [False, True]


def test_failing_file_rolls_back_entirely_and_stays_pending(empty_db_url: str, tmp_path: Path) -> None:
    _write(tmp_path, "20260101000000_good.sql", "create table good (id int);")
    _write(tmp_path, "20260102000000_bad.sql", "create table half (id int); select * from missing_table;")

    with pytest.raises(migrate.MigrationError, match=r"bad\.sql failed and was rolled back"):
        migrate.migrate(empty_db_url, tmp_path)
    assert _tables(empty_db_url) == {"good"}
    assert [s.pending for s in migrate.status(empty_db_url, tmp_path)] == [False, True]


def test_misnamed_file_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "001_initial.sql", "select 1;")
    with pytest.raises(migrate.MigrationError, match="named"):
        migrate.discover(tmp_path)


def test_project_migrations_apply_to_an_empty_database_and_rerun_is_noop(empty_db_url: str) -> None:
    applied = migrations.migrate(empty_db_url)
    assert len(applied) == len(migrate.discover()) > 0
    assert migrations.migrate(empty_db_url) == []
