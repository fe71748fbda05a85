"""Tenant isolation, proven table by table for every table the catalog holds.

Tables are enumerated from pg_class, so a table added by a later migration is covered without editing
this file; a table without a factory in tests/db/factories.py fails loudly instead of being skipped.
Every attempt runs in a savepoint of a transaction that is rolled back, so the seeded world stays intact.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.db.conftest import World
from tests.db.factories import TABLES, Access, staff_claims
from tests.support import Tenant, anon_conn, superuser_conn, tenant_conn

ALL_OPS = frozenset({"select", "insert", "update", "delete"})

# What each kind of session may do with rows of its own client(s).
ALLOWED_ON_OWN: dict[Access, dict[str, frozenset[str]]] = {
    Access.TENANT: {"client": ALL_OPS, "staff": ALL_OPS},
    Access.CLIENTS: {"client": frozenset({"select"}), "staff": ALL_OPS},
    Access.AGENCIES: {"client": frozenset({"select"}), "staff": frozenset({"select", "update"})},
    Access.READ_ONLY: {"client": frozenset({"select"}), "staff": frozenset({"select"})},
    Access.SERVICE_ONLY: {"client": frozenset(), "staff": frozenset()},
}


def catalog_tables(url: str) -> list[str]:
    """Every ordinary or partitioned table of schema public, each required to have a factory."""
    with superuser_conn(url) as conn:
        rows = conn.execute(
            """
            select c.relname,
                   (select a.attname from pg_attribute a
                    where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attidentity <> 'a'
                    order by a.attnum limit 1) as plain_column
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
            order by 1
            """
        ).fetchall()
    tables = [r["relname"] for r in rows]
    _UPDATE_COLUMN.update({r["relname"]: r["plain_column"] for r in rows})
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        pytest.fail(
            f"tables without a factory in tests/db/factories.py: {unknown}; register each one "
            "(its Access and a build function) so its isolation is tested"
        )
    return tables


# A column an update can set to itself (identity columns cannot be written): filled from the catalog.
_UPDATE_COLUMN: dict[str, str] = {}


def attempt(
    conn: psycopg.Connection[Any], query: sql.Composable, params: Iterable[Any] = ()
) -> tuple[int, str]:
    """Run `query` in a savepoint: (rows affected or returned, '') or (-1, sqlstate)."""
    try:
        with conn.transaction():
            cur = conn.execute(query, list(params))
            return cur.rowcount, ""
    except psycopg.Error as exc:
        return -1, exc.sqlstate or "?"


def denied(result: tuple[int, str]) -> bool:
    """No row reached: either no privilege (42501) or RLS filtered every row out."""
    count, state = result
    return state == "42501" or (state == "" and count == 0)


def select_ids(table: str) -> sql.Composed:
    return sql.SQL("select 1 from {} where id = any(%s)").format(sql.Identifier(table))


def update_ids(table: str) -> sql.Composed:
    column = sql.Identifier(_UPDATE_COLUMN[table])
    return sql.SQL("update {} set {} = {} where id = any(%s)").format(sql.Identifier(table), column, column)


def delete_ids(table: str) -> sql.Composed:
    return sql.SQL("delete from {} where id = any(%s)").format(sql.Identifier(table))


def insert_values(table: str, values: dict[str, Any]) -> tuple[sql.Composed, list[Any]]:
    query = sql.SQL("insert into {} ({}) values ({}) returning id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    return query, list(values.values())


def foreign_ids(table: str, own: Iterable[Tenant], others: Iterable[Tenant]) -> list[Any]:
    mine = {t.ids[table] for t in own}
    return sorted({t.ids[table] for t in others} - mine, key=str)


def check_cannot_reach(
    conn: psycopg.Connection[Any], tables: list[str], own: list[Tenant], others: list[Tenant]
) -> list[str]:
    """Select, update and delete of the others' rows reach nothing; inserting rows for them is refused."""
    problems = []
    for table in tables:
        ids = foreign_ids(table, own, others)
        for verb, query in (
            ("select", select_ids(table)),
            ("update", update_ids(table)),
            ("delete", delete_ids(table)),
        ):
            if ids and not denied(result := attempt(conn, query, [ids])):
                problems.append(f"{table}: {verb} of another tenant's row was not denied: {result}")
        for other in others:
            query, params = insert_values(table, TABLES[table].build(other, 1))
            count, state = attempt(conn, query, params)
            if state != "42501":
                problems.append(f"{table}: insert for {other.label} gave {(count, state)}, expected 42501")
    return problems


def check_own_rows(
    conn: psycopg.Connection[Any], tables: list[str], own: list[Tenant], role: str
) -> list[str]:
    """Positive controls: what the session may do with its own rows works, and nothing more."""
    problems = []
    for table in tables:
        allowed = ALLOWED_ON_OWN[TABLES[table].access][role]
        for tenant in own:
            row_id = tenant.ids[table]
            for verb, query in (("select", select_ids(table)), ("update", update_ids(table))):
                result = attempt(conn, query, [[row_id]])
                if verb in allowed and result != (1, ""):
                    problems.append(f"{table}: {role} {verb} of own row gave {result}, expected 1 row")
                if verb not in allowed and not denied(result):
                    problems.append(f"{table}: {role} {verb} of own row gave {result}, expected denial")

            query, params = insert_values(table, TABLES[table].build(tenant, 1))
            try:
                with conn.transaction():
                    new_row = conn.execute(query, params).fetchone()
                inserted: tuple[int, str] = (1, "")
            except psycopg.Error as exc:
                new_row, inserted = None, (-1, exc.sqlstate or "?")
            if "insert" in allowed and new_row is None:
                problems.append(f"{table}: {role} insert for own client gave {inserted}")
            if "insert" not in allowed and inserted[1] != "42501":
                problems.append(f"{table}: {role} insert for own client gave {inserted}, expected 42501")

            target = new_row["id"] if new_row is not None else row_id
            result = attempt(conn, delete_ids(table), [[target]])
            if "delete" in allowed and result != (1, ""):
                problems.append(f"{table}: {role} delete of own row gave {result}, expected 1 row")
            if "delete" not in allowed and not denied(result):
                problems.append(f"{table}: {role} delete of own row gave {result}, expected denial")
    return problems


def test_every_table_has_row_level_security_enabled_and_forced(world: World) -> None:
    catalog_tables(world.url)
    with superuser_conn(world.url) as conn:
        rows = conn.execute(
            """
            select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'p')
              and not (c.relrowsecurity and c.relforcerowsecurity)
            """
        ).fetchall()
    assert rows == []


def test_client_user_reaches_no_row_of_another_client(world: World) -> None:
    tables = catalog_tables(world.url)
    with tenant_conn(world.url, world.a1.claims()) as conn:
        problems = check_cannot_reach(conn, tables, [world.a1], [world.a2, world.b])
    assert problems == []


def test_client_user_works_on_own_rows_within_its_rights(world: World) -> None:
    tables = catalog_tables(world.url)
    with tenant_conn(world.url, world.a1.claims()) as conn:
        problems = check_own_rows(conn, tables, [world.a1], "client")
    assert problems == []


def test_client_user_claiming_agency_admin_stays_in_its_client(world: World) -> None:
    # client_id wins: agency-wide reach is only for staff tokens that carry no client_id.
    tables = catalog_tables(world.url)
    claims = world.a1.claims(agency_id=str(world.agency_x), user_role="admin")
    with tenant_conn(world.url, claims) as conn:
        problems = check_cannot_reach(conn, tables, [world.a1], [world.a2, world.b])
    assert problems == []


def test_agency_staff_reach_every_client_of_their_agency(world: World) -> None:
    tables = catalog_tables(world.url)
    with tenant_conn(world.url, staff_claims(world.agency_x)) as conn:
        problems = check_own_rows(conn, tables, [world.a1, world.a2], "staff")
    assert problems == []


def test_agency_staff_reach_nothing_of_another_agency(world: World) -> None:
    tables = catalog_tables(world.url)
    with tenant_conn(world.url, staff_claims(world.agency_x)) as conn:
        problems = check_cannot_reach(conn, tables, [world.a1, world.a2], [world.b])
    assert problems == []


@pytest.mark.parametrize("user_role", ["member", "manager", None], ids=["member", "manager", "no-role"])
def test_agency_token_without_admin_role_reaches_no_client(world: World, user_role: str | None) -> None:
    tables = catalog_tables(world.url)
    claims: dict[str, Any] = {"sub": "someone", "role": "authenticated", "agency_id": str(world.agency_x)}
    if user_role:
        claims["user_role"] = user_role
    with tenant_conn(world.url, claims) as conn:
        problems = check_cannot_reach(conn, tables, [], [world.a1, world.b])
    assert problems == []


def test_authenticated_without_claims_sees_only_system_cartridges(world: World) -> None:
    tables = catalog_tables(world.url)
    with tenant_conn(world.url, None) as conn:
        problems = check_cannot_reach(conn, tables, [], [world.a1, world.b])
        system = conn.execute("select name from cartridges order by name").fetchall()
    assert problems == []
    assert [r["name"] for r in system] == ["Casual", "Professional"]


def test_anon_reaches_nothing(world: World) -> None:
    problems = []
    with anon_conn(world.url) as conn:
        for table in catalog_tables(world.url):
            for verb, query in (
                ("select", sql.SQL("select 1 from {}").format(sql.Identifier(table))),
                (
                    "update",
                    sql.SQL("update {0} set {1} = {1}").format(
                        sql.Identifier(table), sql.Identifier(_UPDATE_COLUMN[table])
                    ),
                ),
                ("delete", sql.SQL("delete from {}").format(sql.Identifier(table))),
            ):
                if not denied(result := attempt(conn, query)):
                    problems.append(f"{table}: anon {verb} gave {result}")
    assert problems == []


def test_system_cartridges_are_readable_but_not_writable_by_tenants(world: World) -> None:
    with tenant_conn(world.url, world.a1.claims()) as conn:
        system = conn.execute("select id from cartridges where client_id is null").fetchall()
        ids = [r["id"] for r in system]
        assert len(ids) == 2
        assert denied(attempt(conn, update_ids("cartridges"), [ids]))
        assert denied(attempt(conn, delete_ids("cartridges"), [ids]))
        query, params = insert_values("cartridges", {"tier": "system", "name": "Mine", "voice": "{}"})
        assert attempt(conn, query, params)[1] == "42501"


def test_service_role_reaches_every_client(world: World) -> None:
    tables = catalog_tables(world.url)
    with superuser_conn(world.url) as conn, conn.transaction():
        conn.execute("set local role service_role")
        for table in tables:
            ids = [t.ids[table] for t in (world.a1, world.a2, world.b)]
            count = conn.execute(select_ids(table), [ids]).rowcount
            assert count == len(set(ids)), table


# --- Views, materialized views and functions a tenant can reach -----------------------------------
# Materialized views have no Row Level Security: tenants may read them only through views that filter
# by the caller's claims. Views readable by `authenticated` are enumerated from the catalog like the
# tables above, so a view added later is held to the same rules without editing this file.

# Functions `authenticated` may execute that run as their owner or return rows: each was reviewed for
# what it reveals. A new one fails here until its isolation is tested and it is added.
REVIEWED_FUNCTIONS = {
    "procrastinate.procrastinate_prune_stalled_workers_v1",
    "procrastinate.procrastinate_register_worker_v1",
    "procrastinate.revos_defer_jobs",
    # Defers like revos_defer_jobs; a job left out says only that its queueing lock is waiting, which
    # revos_defer_jobs' unique violation says too.
    "procrastinate.revos_defer_jobs_if_absent",
    "public.analytics_refreshed_at",  # one instant for all: when the views were refreshed
    "public.revos_agency_client_ids",
    "public.revos_audit_seal",  # seals the caller's own clients only (tests/db/test_audit.py)
    "public.revos_client_agency_id",
    "public.revos_create_data_key",
    "public.revos_data_keys",
    "public.revos_may_use_client_keys",
    "public.revos_record_cartridge_version",
}


def tenant_views(url: str) -> list[str]:
    """Every view of public that `authenticated` may read; each must have a client_id column."""
    with superuser_conn(url) as conn:
        rows = conn.execute(
            """
            select c.relname,
                   exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'client_id'
                           and not a.attisdropped) as has_client
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind = 'v'
              and has_table_privilege('authenticated', c.oid, 'select')
            order by 1
            """
        ).fetchall()
        # Fill the materialized views behind them from the seeded world.
        for r in conn.execute("select format('%I.%I', schemaname, matviewname) as name from pg_matviews"):
            conn.execute(sql.SQL("refresh materialized view {}").format(sql.SQL(r["name"])))
    blind = [r["relname"] for r in rows if not r["has_client"]]
    assert blind == [], f"views readable by tenants without a client_id column: {blind}"
    return [r["relname"] for r in rows]


def view_clients(conn: psycopg.Connection[Any], view: str) -> dict[Any, int]:
    query = sql.SQL("select client_id, count(*) as n from {} group by client_id").format(sql.Identifier(view))
    return {r["client_id"]: r["n"] for r in conn.execute(query).fetchall()}


def test_tenant_views_show_each_caller_exactly_its_clients_rows(world: World) -> None:
    views = tenant_views(world.url)
    assert "analytics_campaign_funnel" in views
    with superuser_conn(world.url) as conn:
        truth = {v: view_clients_as_owner(conn, v) for v in views}
    assert truth["analytics_campaign_funnel"].get(world.a1.client_id), "the seeded world shows in the funnel"
    sessions = [
        (world.a1.claims(), [world.a1]),
        (world.a1.claims(agency_id=str(world.agency_x), user_role="admin"), [world.a1]),
        (staff_claims(world.agency_x), [world.a1, world.a2]),
        (staff_claims(world.agency_y), [world.b]),
        (None, []),
    ]
    problems = []
    for claims, own in sessions:
        with tenant_conn(world.url, claims) as conn:
            for view in views:
                seen = view_clients(conn, view)
                expected = {t.client_id: truth[view][t.client_id] for t in own if t.client_id in truth[view]}
                if seen != expected:
                    problems.append(f"{view} as {claims}: saw {seen}, expected {expected}")
    assert problems == []


def view_clients_as_owner(conn: psycopg.Connection[Any], view: str) -> dict[Any, int]:
    """The rows behind a tenant view, per client: its materialized view read directly by the owner."""
    definition = conn.execute("select pg_get_viewdef(%s::regclass) as d", (f"public.{view}",)).fetchone()
    assert definition is not None
    source = definition["d"].split(" FROM ", 1)[1].split()[0]
    query = sql.SQL("select client_id, count(*) as n from {} group by client_id").format(sql.SQL(source))
    return {r["client_id"]: r["n"] for r in conn.execute(query).fetchall()}


def test_anon_reads_no_tenant_view(world: World) -> None:
    views = tenant_views(world.url)
    with anon_conn(world.url) as conn:
        results = {v: attempt(conn, sql.SQL("select 1 from {}").format(sql.Identifier(v))) for v in views}
    assert {v: r for v, r in results.items() if not denied(r)} == {}


def test_materialized_views_and_their_schema_are_closed_to_tenants(world: World) -> None:
    with superuser_conn(world.url) as conn:
        open_matviews = conn.execute(
            """
            select schemaname, matviewname from pg_matviews
            where has_table_privilege('authenticated', format('%I.%I', schemaname, matviewname), 'select')
               or has_table_privilege('anon', format('%I.%I', schemaname, matviewname), 'select')
               or has_schema_privilege('authenticated', schemaname, 'usage')
            """
        ).fetchall()
        functions = conn.execute(
            """
            select distinct n.nspname || '.' || p.proname as name
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname not in ('pg_catalog', 'information_schema')
              and (p.prosecdef or p.proretset)
              and (has_function_privilege('authenticated', p.oid, 'execute')
                   or has_function_privilege('anon', p.oid, 'execute'))
            """
        ).fetchall()
    assert open_matviews == []
    unreviewed = {r["name"] for r in functions} - REVIEWED_FUNCTIONS
    assert unreviewed == set(), f"functions tenants may call, not reviewed for isolation: {unreviewed}"
