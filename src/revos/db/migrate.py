"""Forward-only SQL migrations from supabase/migrations, applied in filename order.

Each file runs once, in its own transaction, and is recorded with its SHA-256 checksum. An applied
file whose content changed is refused: the database no longer matches the file, and silently
skipping it would hide that. The same files run unchanged under the Supabase CLI.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from revos.db.pool import Conn
from revos.errors import RevosError

FILENAME = re.compile(r"^(\d{14})_([a-z0-9_]+)\.sql$")
LOCK_KEY = 0x7265766F73  # "revos": one migrator at a time across processes

BOOKKEEPING = """
create schema if not exists revos_meta;
create table if not exists revos_meta.schema_migrations (
  version text primary key,
  name text not null,
  checksum text not null,
  applied_at timestamptz not null default now(),
  duration_ms integer not null
);
"""


class MigrationError(RevosError):
    status_code = 500
    code = "migration_error"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class MigrationState:
    migration: Migration
    applied_at: datetime | None
    checksum_ok: bool

    @property
    def pending(self) -> bool:
        return self.applied_at is None


def migrations_dir() -> Path:
    """supabase/migrations of the source tree this package runs from."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "supabase" / "migrations"
        if candidate.is_dir():
            return candidate
    raise MigrationError("supabase/migrations not found next to the revos package")


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or migrations_dir()
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = FILENAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named <yyyymmddhhmmss>_<name>.sql")
        found.append(Migration(match.group(1), match.group(2), path))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise MigrationError("two migration files share a version")
    return found


def _applied(conn: psycopg.Connection) -> dict[str, tuple[str, datetime]]:
    rows = conn.execute("select version, checksum, applied_at from revos_meta.schema_migrations").fetchall()
    return {version: (checksum, applied_at) for version, checksum, applied_at in rows}


def status(database_url: str, directory: Path | None = None) -> list[MigrationState]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(BOOKKEEPING)
        applied = _applied(conn)
    return [
        MigrationState(
            m,
            applied[m.version][1] if m.version in applied else None,
            m.version not in applied or applied[m.version][0] == m.checksum,
        )
        for m in discover(directory)
    ]


def migrate(
    database_url: str,
    directory: Path | None = None,
    *,
    prepare: Sequence[Callable[[psycopg.Connection], object]] = (),
    after_each: Sequence[Callable[[psycopg.Connection], object]] = (),
    on_apply: Callable[[Migration, float], None] | None = None,
) -> list[Migration]:
    """Apply pending migrations; return those applied (empty when the database is current).

    `prepare` runs first, under the same lock: schemas the files build on but do not create (the job
    queue's, installed by `revos.migrations.migrate`). `after_each` runs after each file, in its
    transaction (the audit functions regenerated for the columns the file changed)."""
    migrations = discover(directory)
    done: list[Migration] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute(BOOKKEEPING)
            for install in prepare:
                install(conn)
            applied = _applied(conn)
            for m in migrations:
                if m.version in applied:
                    if applied[m.version][0] != m.checksum:
                        raise MigrationError(
                            f"{m.path.name} was edited after it was applied (checksum differs); "
                            "write a new migration instead of changing an applied one"
                        )
                    continue
                started = time.perf_counter()
                try:
                    with conn.transaction():
                        conn.execute(m.sql.encode("utf-8"))
                        for step in after_each:
                            step(conn)
                        elapsed_ms = int((time.perf_counter() - started) * 1000)
                        conn.execute(
                            "insert into revos_meta.schema_migrations (version, name, checksum, duration_ms)"
                            " values (%s, %s, %s, %s)",
                            (m.version, m.name, m.checksum, elapsed_ms),
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"{m.path.name} failed and was rolled back: {exc}") from exc
                done.append(m)
                if on_apply:
                    on_apply(m, time.perf_counter() - started)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (LOCK_KEY,))
    return done


async def pending_count(conn: Conn) -> int:
    """Migration files this database has not applied (all of them before the first migrate)."""
    found = await (await conn.execute("select to_regclass('revos_meta.schema_migrations') as t")).fetchone()
    if not found or found["t"] is None:
        return len(discover())
    rows = await (await conn.execute("select version from revos_meta.schema_migrations")).fetchall()
    applied = {r["version"] for r in rows}
    return sum(1 for m in discover() if m.version not in applied)
