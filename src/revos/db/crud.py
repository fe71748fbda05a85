"""Small SQL builders shared by repositories for plain single-table statements.

Table and column names come from our own schemas, never from input, and are quoted anyway.
Anything beyond one table (joins, locks, aggregates) is written out in the domain's repo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from revos.db.pagination import keyset, page_of
from revos.db.pool import Conn


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict) else value


async def insert(
    conn: Conn, table: str, values: Mapping[str, Any], *, returning: bool = True
) -> dict[str, Any]:
    cols = list(values)
    query = sql.SQL("insert into {} ({}) values ({}){}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", ").join(sql.Placeholder() * len(cols)),
        sql.SQL(" returning *" if returning else ""),
    )
    cur = await conn.execute(query, [_adapt(values[c]) for c in cols])
    if not returning:
        return dict(values)
    row = await cur.fetchone()
    assert row is not None
    return row


async def update(conn: Conn, table: str, row_id: UUID, values: Mapping[str, Any]) -> dict[str, Any] | None:
    if not values:
        return await get(conn, table, row_id)
    query = sql.SQL("update {} set {} where id = %s returning *").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values),
    )
    return await (await conn.execute(query, [*(_adapt(v) for v in values.values()), row_id])).fetchone()


async def get(conn: Conn, table: str, row_id: UUID) -> dict[str, Any] | None:
    query = sql.SQL("select * from {} where id = %s").format(sql.Identifier(table))
    return await (await conn.execute(query, (row_id,))).fetchone()


async def delete(conn: Conn, table: str, row_id: UUID) -> bool:
    query = sql.SQL("delete from {} where id = %s").format(sql.Identifier(table))
    return (await conn.execute(query, (row_id,))).rowcount > 0


async def page(
    conn: Conn,
    table: str,
    *,
    cursor: str | None,
    limit: int,
    where: Sequence[tuple[str, Any]] = (),
    conditions: Sequence[tuple[str, Any]] = (),
    columns: str = "*",
) -> tuple[list[dict[str, Any]], str | None]:
    """A page ordered newest first.

    `where`: (column, value) equality filters; a None value means "no filter on that column", so
    optional query parameters pass straight through. `conditions`: (SQL with one %s, value) for
    filters that are not equalities, written by the calling repo, never taken from input.
    """
    fragment, params = keyset(cursor, limit)
    filters: list[sql.Composable] = [sql.SQL(fragment)]
    for column, value in where:
        if value is not None:
            filters.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    for condition, value in conditions:
        if value is not None:
            filters.append(sql.SQL(condition))
            params.append(value)
    query = sql.SQL("select {} from {} where {} order by created_at desc, id desc limit %s").format(
        sql.SQL(columns), sql.Identifier(table), sql.SQL(" and ").join(filters)
    )
    rows = await (await conn.execute(query, [*params, limit + 1])).fetchall()
    return page_of(rows, limit)
