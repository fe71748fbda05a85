"""SQL of the client data export: the catalog's tenant tables, and their rows of one client.

Runs in the caller's RLS-scoped transaction, so a row the caller cannot see is never read; the
`client_id` filter on top keeps agency staff to the one client they asked for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

from psycopg import sql
from psycopg.rows import tuple_row

from revos.db.pool import Conn

# Secrets are bytea ciphertext (design §5.2) and are left out everywhere, except the audit trail's
# hashes, which are no secret and let the client check its chain. Hashes of credentials go too.
SECRET_NAMES = ("key_hash", "token_hash", "password_hash", "secret_hash")
HASHES_KEPT = ("audit_log", "audit_anchors")

TABLES_SQL = """
select c.relname as name,
       array_agg(a.attname::text order by a.attnum) filter (
         where a.atttypid <> 'bytea'::regtype or c.relname = any (%(hashes)s)
       ) as columns,
       bool_or(a.attname = 'client_id') as has_client
from pg_class c
join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
  and has_table_privilege('authenticated', c.oid, 'select')
  and not (a.attname = any (%(secret)s))
group by c.relname
having bool_or(a.attname = 'client_id') or c.relname = 'clients'
order by c.relname
"""


@dataclass(frozen=True)
class Table:
    name: str
    columns: list[str]
    key: str  # the column naming the client: client_id, or id for clients itself


async def tables(conn: Conn) -> list[Table]:
    rows = await (
        await conn.execute(TABLES_SQL, {"hashes": list(HASHES_KEPT), "secret": list(SECRET_NAMES)})
    ).fetchall()
    return [Table(r["name"], r["columns"], "client_id" if r["has_client"] else "id") for r in rows]


async def rows_as_json(conn: Conn, table: Table, client_id: UUID) -> AsyncIterator[str]:
    """Each row of `client_id` in `table`, as one JSON object's text."""
    query = sql.SQL("select to_jsonb(r)::text from (select {cols} from {t} where {key} = %s) r").format(
        cols=sql.SQL(", ").join(map(sql.Identifier, table.columns)),
        t=sql.Identifier(table.name),
        key=sql.Identifier(table.key),
    )
    async with conn.cursor(row_factory=tuple_row) as cur:
        async for (text,) in cur.stream(query, (client_id,)):
            yield text
