"""The schema revOS runs on: the job queue's tables, then supabase/migrations, under one lock.

`revos.db.migrate` applies the SQL files and knows nothing of the queue or the audit; this is where they
meet, for `revos db migrate`, the demo, the tests and the benches: the queue's schema first, and after each
file the audit's per-table functions brought in step with the columns it changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from revos.db import audit_functions
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
        after_each=(audit_functions.refresh,),
        on_apply=on_apply,
    )
