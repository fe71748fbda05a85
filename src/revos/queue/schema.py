"""Procrastinate's schema, installed and upgraded from the SQL the installed package ships.

The queue lives in its own schema, `procrastinate`, never in `public`: every table of `public` is a
tenant table under forced RLS, and the queue's tables are not. `revos db migrate` calls `install()`
before our own SQL migrations, because `20260103000000_queue.sql` builds the spec's `queue_jobs` view
and the defer function on top of these tables.

- A database without the queue gets the package's `schema.sql` (the current state), and every
  migration file the package ships is recorded as covered by it.
- A database installed by an older package gets the migration files it has not recorded, in order,
  each in its own transaction.
- Nothing to do is a no-op: no DDL, no catalog write.

Procrastinate's SQL names its objects unqualified. It runs here with `search_path = procrastinate`,
and every routine is then pinned to that search_path, so the functions and their triggers work from
any connection (a request's transaction, the service role) without touching the caller's search_path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import psycopg
from procrastinate.schema import SchemaManager

from revos.errors import RevosError

log = logging.getLogger(__name__)

QUEUE_SCHEMA = "procrastinate"
# Stored in pg_proc.proconfig exactly like this; compared to decide whether a routine needs pinning.
PINNED_SEARCH_PATH = f"search_path={QUEUE_SCHEMA}, pg_temp"
# Same key as revos.db.migrate: one migrator at a time across processes (reentrant in a session).
LOCK_KEY = 0x7265766F73

# One row per procrastinate SQL file: "schema.sql" for a fresh install, then each file of
# procrastinate/sql/migrations, as 'baseline' (already contained in that schema.sql) or 'migration'.
BOOKKEEPING = """
create schema if not exists revos_meta;
create table if not exists revos_meta.queue_schema_migrations (
  name text primary key,
  procrastinate_version text not null,
  method text not null check (method in ('baseline', 'migration')),
  applied_at timestamptz not null default now()
);
"""


class QueueSchemaError(RevosError):
    status_code = 500
    code = "queue_schema_error"


def procrastinate_version() -> str:
    return metadata.version("procrastinate")


def shipped_migrations() -> list[Path]:
    """The package's versioned migration files, in the order they apply (names sort by version)."""
    return sorted(Path(SchemaManager.get_migrations_path()).glob("*.sql"))


def _recorded(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute("select name from revos_meta.queue_schema_migrations").fetchall()
    return {r[0] for r in rows}


def _installed(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "select to_regclass(%s) is not null", (f"{QUEUE_SCHEMA}.procrastinate_jobs",)
    ).fetchone()
    return bool(row and row[0])


def _record(conn: psycopg.Connection, names: list[str], method: str) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "insert into revos_meta.queue_schema_migrations (name, procrastinate_version, method)"
            " values (%s, %s, %s)",
            [(name, procrastinate_version(), method) for name in names],
        )


def _pin_search_path(conn: psycopg.Connection) -> int:
    """Pin every routine of the queue schema that is not pinned yet (new or replaced by a migration)."""
    rows = conn.execute(
        """
        select p.oid::regprocedure::text
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = %s and p.prokind in ('f', 'p')
          and not (coalesce(p.proconfig, '{}') @> array[%s])
        """,
        (QUEUE_SCHEMA, PINNED_SEARCH_PATH),
    ).fetchall()
    for (signature,) in rows:
        # regprocedure text is schema-qualified and quoted as needed: safe to splice.
        conn.execute(f"alter routine {signature} set search_path = {QUEUE_SCHEMA}, pg_temp".encode())
    return len(rows)


def _grant_service_role(conn: psycopg.Connection) -> bool:
    """Give service_role what workers and the queue_jobs view need, where it is missing.

    On a fresh database the role does not exist yet (the compat migration creates it, after this
    runs) and `20260103000000_queue.sql` grants instead; later upgrades may add objects, granted here.
    """
    row = conn.execute(
        """
        select exists (select from pg_roles where rolname = 'service_role'),
               exists (
                 select from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = %(s)s and c.relkind in ('r', 'p', 'S')
                   and exists (select from pg_roles where rolname = 'service_role')
                   and not case c.relkind
                     when 'S' then has_sequence_privilege('service_role', c.oid, 'usage')
                     else has_table_privilege('service_role', c.oid, 'select, insert, update, delete')
                   end
               )
               or exists (
                 select from pg_namespace n
                 where n.nspname = %(s)s and exists (select from pg_roles where rolname = 'service_role')
                   and not has_schema_privilege('service_role', n.oid, 'usage')
               )
        """,
        {"s": QUEUE_SCHEMA},
    ).fetchone()
    assert row is not None
    role_exists, missing = row
    if not (role_exists and missing):
        return False
    conn.execute(
        f"""
        grant usage on schema {QUEUE_SCHEMA} to service_role;
        grant select, insert, update, delete on all tables in schema {QUEUE_SCHEMA} to service_role;
        grant usage, select on all sequences in schema {QUEUE_SCHEMA} to service_role;
        """.encode()
    )
    return True


def install(conn: psycopg.Connection, *, on_apply: Callable[[str], None] | None = None) -> list[str]:
    """Install or upgrade the queue schema on `conn` (autocommit); return what was applied.

    The caller holds the migration lock (revos.migrations.migrate does); use `install_url` otherwise.
    """
    conn.execute(BOOKKEEPING)
    recorded = _recorded(conn)
    shipped = [p.name for p in shipped_migrations()]
    applied: list[str] = []
    if not _installed(conn):
        if recorded:
            raise QueueSchemaError(
                f"schema {QUEUE_SCHEMA} is gone but revos_meta.queue_schema_migrations still lists "
                f"{len(recorded)} applied file(s); delete those rows to reinstall the queue from scratch"
            )
        with conn.transaction():
            conn.execute(f"create schema if not exists {QUEUE_SCHEMA}".encode())
            conn.execute(f"set local search_path = {QUEUE_SCHEMA}".encode())
            conn.execute(SchemaManager.get_schema().encode("utf-8"))
            _record(conn, ["schema.sql"], "migration")
            _record(conn, shipped, "baseline")
        applied.append("schema.sql")
        if on_apply:
            on_apply("schema.sql")
    else:
        if not recorded:
            raise QueueSchemaError(
                f"schema {QUEUE_SCHEMA} exists but was not installed by revos (no record of its version); "
                "record its files in revos_meta.queue_schema_migrations or drop the schema"
            )
        unknown = sorted(recorded - set(shipped) - {"schema.sql"})
        if unknown:
            raise QueueSchemaError(
                f"the queue schema is newer than procrastinate {procrastinate_version()} "
                f"(unknown migrations: {', '.join(unknown)}); upgrade revos instead of downgrading"
            )
        for path in shipped_migrations():
            if path.name in recorded:
                continue
            try:
                with conn.transaction():
                    conn.execute(f"set local search_path = {QUEUE_SCHEMA}".encode())
                    conn.execute(path.read_text(encoding="utf-8").encode("utf-8"))
                    _record(conn, [path.name], "migration")
            except psycopg.Error as exc:
                raise QueueSchemaError(
                    f"procrastinate migration {path.name} failed and was rolled back: {exc}"
                ) from exc
            applied.append(path.name)
            if on_apply:
                on_apply(path.name)
    with conn.transaction():
        pinned = _pin_search_path(conn)
        granted = _grant_service_role(conn)
    if applied or pinned or granted:
        log.info(
            "queue schema: %d file(s) applied, %d routine(s) pinned, grants %s",
            len(applied),
            pinned,
            "updated" if granted else "unchanged",
        )
    return applied


def install_url(database_url: str) -> list[str]:
    """`install()` on its own connection, under the migration lock."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            return install(conn)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (LOCK_KEY,))
