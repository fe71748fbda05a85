"""The queue's schema: installed by `db migrate` in its own schema, upgraded from the package's files."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from revos import migrations
from revos.queue import schema
from tests.support import anon_conn, superuser_conn, tenant_conn


def _catalog_state(url: str) -> list[Any]:
    """Every catalog row of the queue schema with its xmin: any DDL or grant would change it."""
    with superuser_conn(url) as conn:
        return conn.execute(
            """
            select 'class' as kind, c.relname as name, c.xmin::text as xmin from pg_class c
              join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'procrastinate'
            union all
            select 'proc', p.proname, p.xmin::text from pg_proc p
              join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'procrastinate'
            union all
            select 'schema', nspname, xmin::text from pg_namespace where nspname = 'procrastinate'
            order by 1, 2, 3
            """
        ).fetchall()


def test_queue_lives_in_its_own_schema_not_public(queue_db_url: str) -> None:
    with superuser_conn(queue_db_url) as conn:
        tables = {
            r["relname"]
            for r in conn.execute(
                "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = 'procrastinate' and c.relkind = 'r'"
            )
        }
        in_public = conn.execute(
            "select count(*) as n from pg_class where relname like 'procrastinate%%'"
            " and relnamespace = 'public'::regnamespace"
        ).fetchone()
        view = conn.execute(
            "select relkind, reloptions from pg_class where oid = 'public.queue_jobs'::regclass"
        ).fetchone()
    assert {"procrastinate_jobs", "procrastinate_events", "procrastinate_workers"} <= tables
    assert in_public == {"n": 0}
    assert view == {"relkind": "v", "reloptions": ["security_invoker=true"]}


def test_fresh_install_records_schema_and_baselines_every_shipped_migration(queue_db_url: str) -> None:
    with superuser_conn(queue_db_url) as conn:
        rows = conn.execute("select name, method from revos_meta.queue_schema_migrations").fetchall()
    recorded = {r["name"]: r["method"] for r in rows}
    assert recorded.pop("schema.sql") == "migration"
    assert recorded == {p.name: "baseline" for p in schema.shipped_migrations()}


def test_every_queue_routine_is_pinned_to_the_queue_schema(queue_db_url: str) -> None:
    with superuser_conn(queue_db_url) as conn:
        unpinned = conn.execute(
            "select p.proname from pg_proc p where p.pronamespace = 'procrastinate'::regnamespace"
            " and not coalesce(p.proconfig, '{}') @> array[%s]",
            (schema.PINNED_SEARCH_PATH,),
        ).fetchall()
    assert unpinned == []


def test_second_migrate_is_a_noop(queue_db_url: str) -> None:
    before = _catalog_state(queue_db_url)
    assert migrations.migrate(queue_db_url) == []
    assert schema.install_url(queue_db_url) == []
    assert _catalog_state(queue_db_url) == before


def test_upgrade_applies_only_the_unrecorded_migration_files(empty_db_url: str) -> None:
    # An install by an older package is one whose newest files are not recorded yet. This file is
    # re-runnable (drop + create), so it stands in for a real upgrade.
    name = "03.03.00_01_pre_priority_lock_fetch_job.sql"
    migrations.migrate(empty_db_url)
    with superuser_conn(empty_db_url) as conn:
        conn.execute("delete from revos_meta.queue_schema_migrations where name = %s", (name,))

    assert schema.install_url(empty_db_url) == [name]

    with superuser_conn(empty_db_url) as conn:
        method = conn.execute(
            "select method from revos_meta.queue_schema_migrations where name = %s", (name,)
        ).fetchone()
        # The function it re-created is pinned again, or deferring from a request would break.
        config = conn.execute(
            "select proconfig from pg_proc where proname = 'procrastinate_fetch_job_v2'"
        ).fetchone()
    assert method == {"method": "migration"}
    assert config == {"proconfig": [schema.PINNED_SEARCH_PATH]}
    assert schema.install_url(empty_db_url) == []


def test_refuses_a_queue_schema_it_did_not_install(empty_db_url: str) -> None:
    with superuser_conn(empty_db_url) as conn:
        conn.execute("create schema procrastinate; create table procrastinate.procrastinate_jobs (id int)")
    with pytest.raises(schema.QueueSchemaError, match="not installed by revos"):
        schema.install_url(empty_db_url)


def test_refuses_a_database_newer_than_the_package(empty_db_url: str) -> None:
    migrations.migrate(empty_db_url)
    with superuser_conn(empty_db_url) as conn:
        conn.execute(
            "insert into revos_meta.queue_schema_migrations (name, procrastinate_version, method)"
            " values ('99.00.00_01_future.sql', '99.0.0', 'migration')"
        )
    with pytest.raises(schema.QueueSchemaError, match="newer than procrastinate"):
        schema.install_url(empty_db_url)


def test_only_the_service_role_reads_queue_jobs(queue_db_url: str) -> None:
    with psycopg.connect(queue_db_url, row_factory=dict_row) as conn:
        conn.execute("set local role service_role")
        conn.execute("select * from queue_jobs limit 1")
        conn.execute("select count(*) from procrastinate.procrastinate_jobs")
    claims = {"role": "authenticated", "client_id": "00000000-0000-0000-0000-000000000001"}
    for statement in ("select * from queue_jobs", "select * from procrastinate.procrastinate_jobs"):
        with tenant_conn(queue_db_url, claims) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
        with anon_conn(queue_db_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
