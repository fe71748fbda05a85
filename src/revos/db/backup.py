"""Backups: every table of the public schema as gzip'd CSV with a manifest; restore into an empty database.

What is exported: every table of `public` (tenancy, configuration, everything clients own, the audit
trail, sealed first, and its anchors); a partitioned table as one file. Secrets stay what they are in the database:
ciphertext (bytea), useless without the master key, which is never part of a backup. The job queue is
not exported: its jobs are work in flight, re-created by the periodic dispatchers.

The export reads one snapshot (REPEATABLE READ, read only), each table in primary-key order, so two
exports of the same data are byte-identical. The manifest holds, per table, its row count, the sha256
of its compressed file and of its CSV data, and the schema version (the latest applied migration).

A restore runs on a migrated, empty database whose schema version is the backup's. It checks every
file's checksum before loading anything, then loads all tables in one transaction, parents first, with
`session_replication_role = replica` so no trigger rewrites what is loaded (audit entries, filled
client ids, updated_at) and foreign keys are not re-checked row by row (the snapshot was consistent).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row, tuple_row

from revos.config import Settings
from revos.db import audit_seal, backup_store
from revos.errors import Conflict, ValidationFailed

FORMAT = "revos-backup-1"
CHUNK = 1024 * 1024
Progress = Callable[[str, int, int], None]  # table, its index, tables in all

TABLES_SQL = """
select c.relname as name,
       (select array_agg(a.attname::text order by a.attnum) from pg_attribute a
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = '') as columns,
       (select array_agg(a.attname::text order by k.n) from pg_index i
        cross join lateral unnest(i.indkey) with ordinality as k (attnum, n)
        join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
        where i.indrelid = c.oid and i.indisprimary) as key
from pg_class c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
order by c.relname
"""

FKS_SQL = """
select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent
from pg_constraint c
where c.contype = 'f' and c.connamespace = 'public'::regnamespace and c.conrelid <> c.confrelid
  and c.conparentid = 0
"""

IDENTITY_SQL = """
select c.relname as tbl, a.attname as col
from pg_attribute a join pg_class c on c.oid = a.attrelid
where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
  and a.attidentity <> '' and not a.attisdropped
"""


@dataclass(frozen=True)
class TableFile:
    name: str
    file: str
    rows: int
    sha256: str  # of the compressed file
    data_sha256: str  # of the CSV inside
    columns: list[str]


def schema_version(conn: psycopg.Connection[Any]) -> str | None:
    cur = conn.cursor(row_factory=tuple_row)
    found = cur.execute("select to_regclass('revos_meta.schema_migrations') is not null").fetchone()
    if not found or not found[0]:
        return None
    row = cur.execute("select max(version) from revos_meta.schema_migrations").fetchone()
    return row[0] if row else None


def dependency_order(tables: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """Parents before children; the tables of a cycle (leads <-> dm_sequences) in name order."""
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in edges:
        if child in parents and parent in parents and child != parent:
            parents[child].add(parent)
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(tables):
        ready = sorted(t for t in tables if t not in done and parents[t] <= done)
        if not ready:  # a cycle: break it at the first remaining table by name
            ready = [min(t for t in tables if t not in done)]
        for t in ready:
            order.append(t)
            done.add(t)
    return order


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _ident_list(names: list[str]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def export_backup(database_url: str, folder: Path, *, on_table: Progress | None = None) -> dict[str, Any]:
    """Write every table and the manifest into `folder` (created); return the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    entries: list[TableFile] = []
    # The audit trail is chained up to now before the snapshot (entries a concurrent sealer still holds
    # stay in audit_pending, which is exported too).
    audit_seal.seal_pending_sync(database_url)
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        conn.execute("set transaction isolation level repeatable read, read only")
        version = schema_version(conn)
        if version is None:
            raise ValidationFailed("the database has no revOS schema: nothing to back up")
        tables = conn.execute(TABLES_SQL).fetchall()
        edges = [(r["child"], r["parent"]) for r in conn.execute(FKS_SQL).fetchall()]
        by_name = {t["name"]: t for t in tables}
        order = dependency_order(list(by_name), edges)
        for i, name in enumerate(order):
            table = by_name[name]
            if on_table:
                on_table(name, i, len(order))
            columns: list[str] = table["columns"]
            key: list[str] = table["key"] or columns
            path = folder / f"{name}.csv.gz"
            data = hashlib.sha256()
            query = sql.SQL("copy (select {cols} from {t} order by {key}) to stdout (format csv)").format(
                cols=_ident_list(columns), t=sql.Identifier(name), key=_ident_list(key)
            )
            with gzip.open(path, "wb", compresslevel=6) as out, conn.cursor().copy(query) as copy:
                for chunk in copy:
                    data.update(chunk)
                    out.write(chunk)
            count = conn.execute(
                sql.SQL("select count(*) as n from {}").format(sql.Identifier(name))
            ).fetchone()
            entries.append(
                TableFile(
                    name, path.name, count["n"] if count else 0, _sha256(path), data.hexdigest(), columns
                )
            )
        conn.rollback()
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "schema_version": version,
        "tables": [e.__dict__ for e in entries],
    }
    (folder / backup_store.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def backup_name(now: datetime | None = None) -> str:
    return backup_store.PREFIX + (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def export(
    database_url: str,
    target: str,
    *,
    on_table: Progress | None = None,
    s3_client_factory: Callable[[], Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Export into a new `revos-<stamp>` folder under `target` (a directory or s3://bucket/prefix);
    return where it went and its manifest."""
    where = backup_store.parse_target(target)
    name = backup_name()
    if isinstance(where, Path):
        folder = where / name
        return str(folder), export_backup(database_url, folder, on_table=on_table)
    client = (s3_client_factory or backup_store.s3_client)()
    tmp = Path(tempfile.mkdtemp(prefix="revos-backup-"))
    try:
        manifest = export_backup(database_url, tmp, on_table=on_table)
        return backup_store.upload(tmp, where, name, client), manifest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def export_to(database_url: str, target: str, *, settings: Settings) -> str:
    """The weekly job's export (in a thread: COPY and gzip are blocking work)."""

    def factory() -> Any:
        return backup_store.s3_client(settings.backup_s3_endpoint_url, settings.backup_s3_region)

    location, _ = await asyncio.to_thread(export, database_url, target, s3_client_factory=factory)
    return location


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((folder / backup_store.MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ValidationFailed(f"{folder / backup_store.MANIFEST} cannot be read: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise ValidationFailed(f"{folder}: not a revOS backup (format {manifest.get('format')!r})")
    return manifest


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file is there and has the checksum the manifest gives it."""
    for entry in manifest["tables"]:
        path = folder / entry["file"]
        if not path.exists():
            raise ValidationFailed(f"{entry['file']} is missing from the backup")
        if _sha256(path) != entry["sha256"]:
            raise ValidationFailed(f"{entry['file']} does not match its checksum: the backup is damaged")


def _populated(conn: psycopg.Connection[Any]) -> list[str]:
    found = []
    for table in ("agencies", "clients", "users", "campaigns", "leads", "audit_log"):
        row = conn.execute(
            sql.SQL("select exists (select from {}) as any").format(sql.Identifier(table))
        ).fetchone()
        if row and row["any"]:
            found.append(table)
    return found


def restore_backup(database_url: str, folder: Path, *, on_table: Progress | None = None) -> dict[str, int]:
    """Load the backup in `folder` into the migrated, empty database; return the rows per table."""
    manifest = _read_manifest(folder)
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        version = schema_version(conn)
        if version != manifest["schema_version"]:
            raise Conflict(
                f"the backup's schema version is {manifest['schema_version']}, this database's is {version}:"
                " restore with the revOS release that wrote the backup (then upgrade), or migrate to match"
            )
        populated = _populated(conn)
        if populated:
            raise Conflict(
                "the database is not empty (rows in " + ", ".join(populated) + "): restore only into a"
                " freshly migrated database, never over live data"
            )
        verify_files(folder, manifest)
        known = {r["name"] for r in conn.execute(TABLES_SQL).fetchall()}
        unknown = [e["name"] for e in manifest["tables"] if e["name"] not in known]
        if unknown:
            raise Conflict(f"the backup has tables this database lacks: {', '.join(unknown)}")
        loaded: dict[str, int] = {}
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
            # Rows the migrations seeded (system cartridges) are in the backup too.
            names = [e["name"] for e in manifest["tables"]]
            conn.execute(sql.SQL("truncate {}").format(_ident_list(names)))
            for i, entry in enumerate(manifest["tables"]):
                if on_table:
                    on_table(entry["name"], i, len(manifest["tables"]))
                query = sql.SQL("copy {t} ({cols}) from stdin (format csv)").format(
                    t=sql.Identifier(entry["name"]), cols=_ident_list(entry["columns"])
                )
                with gzip.open(folder / entry["file"], "rb") as src, conn.cursor().copy(query) as copy:
                    while chunk := src.read(CHUNK):
                        copy.write(chunk)
                row = conn.execute(
                    sql.SQL("select count(*) as n from {}").format(sql.Identifier(entry["name"]))
                ).fetchone()
                loaded[entry["name"]] = row["n"] if row else 0
                if loaded[entry["name"]] != entry["rows"]:
                    raise ValidationFailed(
                        f"{entry['name']}: {loaded[entry['name']]} rows loaded, the manifest says {entry['rows']}"
                    )
            for r in conn.execute(IDENTITY_SQL).fetchall():
                conn.execute(
                    sql.SQL(
                        "select setval(pg_get_serial_sequence({q}, {c}), coalesce(max({col}), 0) + 1, false)"
                        " from {t}"
                    ).format(
                        q=sql.Literal(f"public.{r['tbl']}"),
                        c=sql.Literal(r["col"]),
                        col=sql.Identifier(r["col"]),
                        t=sql.Identifier(r["tbl"]),
                    )
                )
    return loaded


def restore(
    database_url: str,
    source: str,
    *,
    on_table: Progress | None = None,
    s3_client_factory: Callable[[], Any] | None = None,
) -> tuple[dict[str, Any], dict[str, int]]:
    folder, tmp = backup_store.fetch(source, s3_client_factory)
    try:
        manifest = _read_manifest(folder)
        return manifest, restore_backup(database_url, folder, on_table=on_table)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
