"""The schema: every table, column, key and index of the spec, and the invariants added to it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from revos import migrations
from tests.db.factories import TABLES, insert_row, seed_agency, seed_tenant, user_values
from tests.db.spec import SPEC_COLUMNS, SPEC_FKS, SPEC_INDEXES, SPEC_TYPES, SPEC_UNIQUE
from tests.support import Tenant, seal_audit, superuser_conn, tenant_conn

# References that may cross clients, each for a stated reason.
CROSS_CLIENT_REFERENCES_ALLOWED = {
    # A cartridge may inherit from a shared system cartridge (client_id null); a trigger checks the rest.
    "cartridges.parent_cartridge_id -> cartridges",
}

MIGRATIONS = Path(__file__).resolve().parents[2] / "supabase" / "migrations"


def _rows(url: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with superuser_conn(url) as conn:
        return conn.execute(query, params).fetchall()


def test_migrations_apply_on_an_empty_database_once(empty_db_url: str) -> None:
    applied = migrations.migrate(empty_db_url)
    assert [m.path.name for m in applied] == sorted(p.name for p in MIGRATIONS.glob("*.sql"))
    assert applied[0].path.name == "20260101000000_supabase_compat.sql"
    assert migrations.migrate(empty_db_url) == []


def test_every_spec_column_exists(schema_url: str) -> None:
    rows = _rows(
        schema_url,
        "select table_name, column_name from information_schema.columns where table_schema = 'public'",
    )
    present = {(r["table_name"], r["column_name"]) for r in rows}
    missing = [(t, c) for t, cols in SPEC_COLUMNS.items() for c in cols if (t, c) not in present]
    assert missing == []


def test_columns_changed_by_the_design_have_the_right_types(schema_url: str) -> None:
    rows = _rows(
        schema_url,
        """
        select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) as type
        from pg_attribute a join pg_class c on c.oid = a.attrelid
        where c.relnamespace = 'public'::regnamespace and a.attnum > 0
        """,
    )
    types = {(r["relname"], r["attname"]): r["type"] for r in rows}
    assert {k: types.get(k) for k in SPEC_TYPES} == SPEC_TYPES


def test_queue_jobs_is_not_a_table(schema_url: str) -> None:
    assert (
        _rows(schema_url, "select 1 from pg_tables where schemaname = 'public' and tablename = 'queue_jobs'")
        == []
    )


def test_every_spec_index_exists_and_embeddings_use_hnsw(schema_url: str) -> None:
    rows = _rows(schema_url, "select indexname, indexdef from pg_indexes where schemaname = 'public'")
    indexes = {r["indexname"]: r["indexdef"] for r in rows}
    assert [i for i in SPEC_INDEXES if i not in indexes] == []
    assert "USING hnsw (embedding vector_cosine_ops)" in indexes["idx_memories_embedding"]


def test_every_spec_unique_key_exists(schema_url: str) -> None:
    rows = _rows(schema_url, "select conname from pg_constraint where contype = 'u'")
    names = {r["conname"] for r in rows}
    assert [u for u in SPEC_UNIQUE if u not in names] == []


def test_every_spec_foreign_key_exists_with_its_delete_rule(schema_url: str) -> None:
    rows = _rows(
        schema_url,
        """
        select c.conrelid::regclass::text as tbl, a.attname as col, c.confrelid::regclass::text as parent,
               c.confdeltype as on_delete
        from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
        where c.contype = 'f' and cardinality(c.conkey) = 1
        """,
    )
    fks = {(r["tbl"], r["col"]): (r["parent"], r["on_delete"]) for r in rows}
    assert {k: fks.get(k) for k in SPEC_FKS} == SPEC_FKS


def test_every_tenant_table_has_an_indexed_not_null_client_id(schema_url: str) -> None:
    rows = _rows(
        schema_url,
        """
        select c.relname,
               a.attnotnull as not_null,
               exists (select from pg_index i where i.indrelid = c.oid and i.indkey[0] = a.attnum) as indexed
        from pg_class c
        left join pg_attribute a on a.attrelid = c.oid and a.attname = 'client_id' and not a.attisdropped
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
          and c.relname not in ('agencies', 'clients')
        """,
    )
    bad = {r["relname"]: (r["not_null"], r["indexed"]) for r in rows if not (r["not_null"] and r["indexed"])}
    # System cartridges (and their versions) are the one shared row kind: nullable, guarded by a check.
    # Sign-in attempts (by account key and address, before anybody is known) belong to no client; tenants
    # hold no privilege on them (the isolation tests check it).
    assert bad == {
        "cartridges": (False, True),
        "cartridge_versions": (False, True),
        "sign_in_attempts": (None, False),
    }


def test_every_reference_to_a_tenant_parent_keeps_the_client(schema_url: str) -> None:
    # For each single-column foreign key to a table that has client_id, a composite key
    # (column, client_id) -> (id, client_id) must exist too, unless listed as an allowed exception.
    rows = _rows(
        schema_url,
        """
        select f.conrelid::regclass::text as tbl, a.attname as col, f.confrelid::regclass::text as parent,
          exists (
            select from pg_constraint g
            where g.contype = 'f' and g.conrelid = f.conrelid and g.confrelid = f.confrelid
              and g.conkey = array[f.conkey[1], (select attnum from pg_attribute
                                                  where attrelid = f.conrelid and attname = 'client_id')]
          ) as composite
        from pg_constraint f
        join pg_attribute a on a.attrelid = f.conrelid and a.attnum = f.conkey[1]
        where f.contype = 'f' and cardinality(f.conkey) = 1 and a.attname <> 'client_id'
          and f.conrelid::regclass::text not in ('clients', 'agencies')
          and exists (select from pg_attribute p where p.attrelid = f.confrelid and p.attname = 'client_id')
        """,
    )
    missing = {f"{r['tbl']}.{r['col']} -> {r['parent']}" for r in rows if not r["composite"]}
    assert missing - CROSS_CLIENT_REFERENCES_ALLOWED == set()


def test_every_updated_at_column_is_maintained_by_the_trigger(schema_url: str) -> None:
    rows = _rows(
        schema_url,
        """
        select c.relname
        from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attname = 'updated_at'
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
          and not exists (
            select from pg_trigger t
            where t.tgrelid = c.oid and t.tgfoid = 'public.update_updated_at_column'::regproc
          )
        """,
    )
    assert rows == []


@pytest.fixture
def tenant(schema_url: str) -> Tenant:
    """A client with the parents most tests need, committed in the shared schema database."""
    with superuser_conn(schema_url) as conn:
        agency = seed_agency(conn)
        client = insert_row(conn, "clients", {"agency_id": agency, "name": f"c-{uuid.uuid4().hex[:8]}"})
        user = insert_row(conn, "users", user_values(client))
        t = Tenant(agency, client, user, label="T", ids={"clients": client, "users": user})
        for table in ("linkedin_accounts", "webhook_configs", "lead_magnets", "campaigns", "posts"):
            t.ids[table] = insert_row(conn, table, TABLES[table].build(t, 0))
    return t


def test_updated_at_is_stamped_on_update(schema_url: str, tenant: Tenant) -> None:
    with superuser_conn(schema_url) as conn:
        conn.execute(
            "update campaigns set updated_at = '2001-01-01' where id = %s", (tenant.ids["campaigns"],)
        )
        row = conn.execute(
            "update campaigns set status = 'active' where id = %s returning updated_at",
            (tenant.ids["campaigns"],),
        ).fetchone()
    assert row is not None
    assert row["updated_at"] > datetime.now(UTC) - timedelta(minutes=5)


def test_client_id_is_filled_from_the_parent(schema_url: str, tenant: Tenant) -> None:
    with superuser_conn(schema_url) as conn:
        comment = conn.execute(
            "insert into comments (post_id, author_name, author_linkedin_id, content)"
            " values (%s, 'Ada', 'ACoX', 'GUIDE') returning id, client_id",
            (tenant.ids["posts"],),
        ).fetchone()
        assert comment is not None
        lead = conn.execute(
            "insert into leads (comment_id, linkedin_id) values (%s, 'ACoX') returning client_id",
            (comment["id"],),
        ).fetchone()
    assert comment["client_id"] == tenant.client_id
    assert lead is not None
    assert lead["client_id"] == tenant.client_id


def test_client_id_is_filled_for_a_tenant_session_too(schema_url: str, tenant: Tenant) -> None:
    with tenant_conn(schema_url, {"client_id": str(tenant.client_id)}) as conn:
        row = conn.execute(
            "insert into pods (client_id, name) values (%s, 'Pod') returning id", (tenant.client_id,)
        ).fetchone()
        assert row is not None
        member = conn.execute(
            "insert into pod_members (pod_id) values (%s) returning client_id", (row["id"],)
        ).fetchone()
    assert member is not None
    assert member["client_id"] == tenant.client_id


def test_a_child_with_another_clients_id_is_rejected(schema_url: str, tenant: Tenant) -> None:
    with superuser_conn(schema_url) as conn:
        other = insert_row(conn, "clients", {"name": f"other-{uuid.uuid4().hex[:8]}"})
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="posts_campaign_client_fkey"):
            conn.execute(
                "insert into posts (client_id, campaign_id, content) values (%s, %s, 'x')",
                (other, tenant.ids["campaigns"]),
            )


def test_a_tenant_cannot_attach_rows_to_another_clients_parent(schema_url: str, tenant: Tenant) -> None:
    with superuser_conn(schema_url) as conn:
        other = insert_row(conn, "clients", {"name": f"other-{uuid.uuid4().hex[:8]}"})
    claims = {"client_id": str(other)}
    with tenant_conn(schema_url, claims) as conn:
        # Naming the parent only: the parent is invisible, client_id stays null and the row fails the
        # insert policy (checked before NOT NULL).
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute(
                "insert into posts (campaign_id, content) values (%s, 'x')", (tenant.ids["campaigns"],)
            )
        # Naming its own client: the composite key refuses the foreign parent.
        with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
            conn.execute(
                "insert into posts (client_id, campaign_id, content) values (%s, %s, 'x')",
                (other, tenant.ids["campaigns"]),
            )


def test_cartridges_inherit_from_system_or_own_client_only(schema_url: str, tenant: Tenant) -> None:
    with superuser_conn(schema_url) as conn:
        system = conn.execute(
            "select id from cartridges where client_id is null and name = 'Professional'"
        ).fetchone()
        assert system is not None
        own = insert_row(
            conn,
            "cartridges",
            {
                "client_id": tenant.client_id,
                "tier": "workspace",
                "name": "Ours",
                "parent_cartridge_id": system["id"],
            },
        )
        other = insert_row(conn, "clients", {"name": f"other-{uuid.uuid4().hex[:8]}"})
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="inherit"):
            conn.execute(
                "insert into cartridges (client_id, tier, name, parent_cartridge_id)"
                " values (%s, 'user', 'x', %s)",
                (other, own),
            )
        with pytest.raises(psycopg.errors.CheckViolation, match="cartridges_client_required_check"):
            conn.execute("insert into cartridges (tier, name) values ('workspace', 'Nobody''s')")


def test_one_active_encryption_key_per_client(schema_url: str, tenant: Tenant) -> None:
    with superuser_conn(schema_url) as conn:
        values = {"client_id": tenant.client_id, "wrapped_key": b"k", "master_key_id": "m1", "active": True}
        insert_row(conn, "encryption_keys", {**values, "key_version": 1})
        with pytest.raises(psycopg.errors.UniqueViolation, match="idx_encryption_keys_one_active"):
            insert_row(conn, "encryption_keys", {**values, "key_version": 2})
        insert_row(conn, "encryption_keys", {**values, "key_version": 2, "active": False})


def test_reset_daily_limits_resets_due_and_never_reset_accounts(schema_url: str, tenant: Tenant) -> None:
    now = datetime.now(UTC)
    accounts = {}
    with superuser_conn(schema_url) as conn:
        for label, reset_at in (
            ("due", now - timedelta(minutes=1)),
            ("never", None),
            ("later", now + timedelta(hours=3)),
        ):
            values = TABLES["linkedin_accounts"].build(tenant, 0)
            values.update(rate_limit_reset_at=reset_at, daily_dm_count=40, daily_post_count=2)
            accounts[label] = insert_row(conn, "linkedin_accounts", values)

        with conn.transaction():
            conn.execute("set local role service_role")
            conn.execute("select public.reset_daily_limits()")

        rows = conn.execute(
            "select id, daily_dm_count, daily_post_count, rate_limit_reset_at from linkedin_accounts"
            " where id = any(%s)",
            (list(accounts.values()),),
        ).fetchall()
    by_id = {r["id"]: r for r in rows}
    for label in ("due", "never"):
        row = by_id[accounts[label]]
        assert (row["daily_dm_count"], row["daily_post_count"]) == (0, 0), label
        assert now + timedelta(hours=23) < row["rate_limit_reset_at"] < now + timedelta(hours=25), label
    later = by_id[accounts["later"]]
    assert (later["daily_dm_count"], later["daily_post_count"]) == (40, 2)


def test_tenants_cannot_run_the_daily_reset(schema_url: str, tenant: Tenant) -> None:
    claims = {"client_id": str(tenant.client_id)}
    with tenant_conn(schema_url, claims) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select public.reset_daily_limits()")


def test_system_cartridges_are_seeded_with_usable_content(schema_url: str) -> None:
    rows = _rows(
        schema_url,
        "select name, tier, voice, knowledge from cartridges where client_id is null order by name",
    )
    assert [(r["name"], r["tier"]) for r in rows] == [("Casual", "system"), ("Professional", "system")]
    for row in rows:
        voice, knowledge = row["voice"], row["knowledge"]
        for key in ("tone", "style", "personality", "vocabulary", "sentence_length", "emoji_policy"):
            assert voice[key], (row["name"], key)
        for key in ("do", "dont", "example_openers", "example_ctas"):
            assert len(voice[key]) >= 3, (row["name"], key)
        assert all("{trigger_word}" in cta for cta in voice["example_ctas"][:3])
        assert knowledge["audience"]
        assert knowledge["post_frameworks"]
    professional = next(r for r in rows if r["name"] == "Professional")
    assert professional["voice"]["emoji_policy"]["allowed"] is False


def test_the_seed_is_idempotent(schema_url: str) -> None:
    seed = next(MIGRATIONS.glob("*_seed_system_cartridges.sql")).read_text()
    with superuser_conn(schema_url) as conn, conn.transaction():
        conn.execute(seed)
        count = conn.execute("select count(*) as n from cartridges where client_id is null").fetchone()
    assert count is not None
    assert count["n"] == 2


def test_deleting_a_client_removes_its_rows_everywhere_and_keeps_its_audit_trail(schema_url: str) -> None:
    with superuser_conn(schema_url) as conn:
        t = seed_tenant(conn, "doomed", seed_agency(conn))
        conn.execute(
            "update leads set dm_sequence_id = %s where id = %s", (t.ids["dm_sequences"], t.ids["leads"])
        )
        conn.execute("delete from clients where id = %s", (t.client_id,))
        seal_audit(schema_url)  # the deletes' entries join the trail (and leave audit_pending)
        tables = conn.execute(
            """
            select c.relname
            from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attname = 'client_id'
            where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
              and c.relname not in ('audit_log', 'audit_anchors')  -- the trail and where it starts
            """
        ).fetchall()
        left = {}
        for r in tables:
            query = sql.SQL("select count(*) as n from {} where client_id = %s").format(
                sql.Identifier(r["relname"])
            )
            row = conn.execute(query, (t.client_id,)).fetchone()
            assert row is not None
            left[r["relname"]] = row["n"]
        trail = conn.execute(
            "select operation, table_name from audit_log where client_id = %s and operation = 'DELETE'",
            (t.client_id,),
        ).fetchall()
    assert {k: v for k, v in left.items() if v} == {}
    # Each cascaded delete is logged too, and the trail outlives the client.
    assert {"operation": "DELETE", "table_name": "clients"} in trail
    assert {r["table_name"] for r in trail} >= {"campaigns", "leads", "dm_messages"}
