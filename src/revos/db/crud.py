"""Small SQL builders shared by repositories for plain single-table statements.

Table and column names come from our own schemas, never from input, and are quoted anyway.
Anything beyond one table (joins, locks, aggregates) is written out in the domain's repo.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from revos.db.pagination import keyset, page_of
from revos.db.pool import Conn


def any_of(column: str, values: Sequence[Any]) -> tuple[str, Any]:
    """`column = %s` for one value, `column = any(%s)` for several, and the parameter to pass.

    A prepared statement is planned for its parameters' values (a custom plan) until PostgreSQL finds its
    plan for any value (the generic plan) no dearer. With `= any($1)` it never does: the generic plan
    must expect an array of any length, so the statement is planned again on every run (a fifth of a DM
    step's statement time went to planning). The one-value form is planned once per connection."""
    if len(values) == 1:
        return f"{column} = %s", values[0]
    return f"{column} = any(%s)", list(values)


def in_list(column: str, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
    """`column in (%s, %s, …)`, one placeholder per value, and the parameters to pass. For a caller
    whose lists have a fixed length (a sequence's six ledger keys): unlike `= any(%s)` (see `any_of`),
    the statement gets a generic plan, so it is planned once per connection and length."""
    if not values:
        raise ValueError("in_list needs at least one value")
    return f"{column} in ({', '.join(['%s'] * len(values))})", tuple(values)


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict) else value


@functools.lru_cache(maxsize=512)
def _insert_query(table: str, cols: tuple[str, ...], tail: str) -> str:
    """The insert's text, composed once per table, columns and tail (`tail` is our own SQL)."""
    return (
        sql.SQL("insert into {} ({}) values ({})")
        .format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, cols)),
            sql.SQL(", ").join(sql.Placeholder() * len(cols)),
        )
        .as_string()
        + tail
    )


async def insert(
    conn: Conn, table: str, values: Mapping[str, Any], *, returning: bool = True
) -> dict[str, Any]:
    cols = list(values)
    query = _insert_query(table, tuple(cols), " returning *" if returning else "")
    cur = await conn.execute(query, [_adapt(values[c]) for c in cols])
    if not returning:
        return dict(values)
    row = await cur.fetchone()
    assert row is not None
    return row


async def insert_unless_known(
    conn: Conn, table: str, values: Mapping[str, Any], *, unique: str
) -> dict[str, Any] | None:
    """Insert the row unless one with the same value in the `unique` column exists: None then."""
    cols = list(values)
    query = _insert_query(table, tuple(cols), _unless_known_tail(unique))
    return await (await conn.execute(query, [_adapt(values[c]) for c in cols])).fetchone()


@functools.lru_cache(maxsize=64)
def _unless_known_tail(unique: str) -> str:
    return sql.SQL(" on conflict ({}) do nothing returning *").format(sql.Identifier(unique)).as_string()


async def update(conn: Conn, table: str, row_id: UUID, values: Mapping[str, Any]) -> dict[str, Any] | None:
    if not values:
        return await get(conn, table, row_id)
    query = _update_query(table, tuple(values))
    return await (await conn.execute(query, [*(_adapt(v) for v in values.values()), row_id])).fetchone()


@functools.lru_cache(maxsize=512)
def _update_query(table: str, cols: tuple[str, ...]) -> str:
    """The update's text, composed once per table and columns."""
    return (
        sql.SQL("update {} set {} where id = %s returning *")
        .format(
            sql.Identifier(table),
            sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in cols),
        )
        .as_string()
    )


async def get(conn: Conn, table: str, row_id: UUID) -> dict[str, Any] | None:
    query = sql.SQL("select * from {} where id = %s").format(sql.Identifier(table))
    return await (await conn.execute(query, (row_id,))).fetchone()


async def delete(conn: Conn, table: str, row_id: UUID) -> bool:
    query = sql.SQL("delete from {} where id = %s").format(sql.Identifier(table))
    return (await conn.execute(query, (row_id,))).rowcount > 0


def page_query(
    table: str,
    *,
    cursor: str | None,
    limit: int,
    where: Sequence[tuple[str, Any]] = (),
    conditions: Sequence[tuple[str, Any]] = (),
    columns: str = "*",
    tenant_column: str | None = "client_id",
) -> tuple[sql.Composed, list[Any]]:
    """The statement for one page of `table` (up to `limit + 1` rows, newest first) and its params.

    `where`: (column, value) equality filters; a None value means "no filter on that column", so
    optional query parameters pass straight through. `conditions`: (SQL, value) for filters that are
    not equalities, written by the calling repo, never taken from input; skipped when the value is
    None, the value fills the condition's one %s, and a condition without a %s is a flag that any
    other value turns on.

    Rows are read one client at a time, each client's rows walking an index on (client_id, <filter
    columns>, created_at desc, id desc) from the cursor on: the first page and the ten-thousandth cost
    the same, whatever the table holds. The clients are the one `where` names for `tenant_column`, or
    else the caller's (its claims' client, or every client of an agency for its staff: see
    revos_tenant_client_ids()). Row Level Security still decides what each row shows; naming the
    clients is what lets the planner walk the index in order instead of sorting every visible row.
    A service-role caller has no clients in its claims, so it names the client. `tenant_column=None`
    is for tables that are not per client (clients itself).
    """
    fragment, params = keyset(cursor, limit)
    filters: list[sql.Composable] = [sql.SQL(fragment)]
    named_client = False
    for column, value in where:
        if value is not None:
            filters.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
            named_client = named_client or column == tenant_column
    for condition, value in conditions:
        if value is not None:
            filters.append(sql.SQL(condition))
            if "%s" in condition:
                params.append(value)
    # A literal limit: a generic plan of a prepared statement would otherwise guess it.
    rows = sql.Literal(limit + 1)
    one_range = sql.SQL("select {} from {} where {} order by created_at desc, id desc limit {}")
    if tenant_column is None or named_client:
        return one_range.format(
            sql.SQL(columns), sql.Identifier(table), sql.SQL(" and ").join(filters), rows
        ), params
    filters.append(sql.SQL("{} = scope.client_id").format(sql.Identifier(tenant_column)))
    query = sql.SQL(
        "select page.* from unnest((select public.revos_tenant_client_ids())::uuid[]) as scope (client_id)"
        " cross join lateral ({}) as page order by page.created_at desc, page.id desc limit {}"
    ).format(
        one_range.format(sql.SQL(columns), sql.Identifier(table), sql.SQL(" and ").join(filters), rows), rows
    )
    return query, params


async def page(
    conn: Conn,
    table: str,
    *,
    cursor: str | None,
    limit: int,
    where: Sequence[tuple[str, Any]] = (),
    conditions: Sequence[tuple[str, Any]] = (),
    columns: str = "*",
    tenant_column: str | None = "client_id",
) -> tuple[list[dict[str, Any]], str | None]:
    """A page ordered newest first, and the cursor of the next one (see `page_query`)."""
    query, params = page_query(
        table,
        cursor=cursor,
        limit=limit,
        where=where,
        conditions=conditions,
        columns=columns,
        tenant_column=tenant_column,
    )
    rows = await (await conn.execute(query, params)).fetchall()
    return page_of(rows, limit)
