"""The audit's per-table trigger functions, kept in step with their tables' columns.

Each audited table's function (`revos_audit__<table>`, migration 20260213000000_audit_typed.sql) names
the columns its table had when it was generated. `revos db migrate` calls `refresh` after every migration
file, in the file's transaction: the function of every audited table whose columns or name changed is
generated again (`revos_audit_refresh`). Before that migration there is nothing to refresh.
"""

from __future__ import annotations

import psycopg


def refresh(conn: psycopg.Connection) -> None:
    row = conn.execute("select to_regprocedure('public.revos_audit_refresh()') is not null").fetchone()
    if row is not None and row[0]:
        conn.execute("select public.revos_audit_refresh()")
