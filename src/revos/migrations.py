"""The schema revOS runs on: the job queue's tables, then supabase/migrations, under one lock.

`revos.db.migrate` applies the SQL files and knows nothing of the queue; this is where the two meet, for
`revos db migrate`, the demo, the tests and the benches.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg

from revos.db.migrate import Migration, MigrationError, status
from revos.db.migrate import migrate as apply_files
from revos.queue.schema import install as install_queue_schema

__all__ = ["Migration", "MigrationError", "migrate", "status"]


def migrate(
    database_url: str,
    directory: Path | None = None,
    *,
    on_apply: Callable[[Migration, float], None] | None = None,
) -> list[Migration]:
    """Install or upgrade the queue's schema, then apply pending migrations; return those applied."""
    # The queue's schema first: our migrations build the queue_jobs view on its tables.
    return apply_files(
        database_url,
        directory,
        prepare=(install_queue_schema,),
        after_each=(refresh_audit_functions,),
        on_apply=on_apply,
    )


def refresh_audit_functions(conn: psycopg.Connection) -> None:
    """Each audited table's trigger function names its columns: after a file changed them, the function
    is generated again (`revos_audit_refresh`, migration 20260213000000_audit_typed.sql). Before that
    migration there is nothing to refresh."""
    row = conn.execute("select to_regprocedure('public.revos_audit_refresh()') is not null").fetchone()
    if row is not None and row[0]:
        conn.execute("select public.revos_audit_refresh()")
