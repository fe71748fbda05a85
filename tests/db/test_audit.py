"""The audit trail: every write is logged, chained per client by the sealer, and tampering is found."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from revos import migrations
from revos.audit import canonical_text, verify_chain
from tests.db.factories import insert_row
from tests.support import (
    Tenant,
    connect,
    make_linkedin_account,
    make_tenant,
    seal_audit,
    superuser_conn,
    tenant_conn,
)

SECRET_EMAIL = b"ciphertext:ada@example.test"
SECRET_PASSWORD = b"ciphertext:correct horse battery staple"


async def tenants(url: str, n: int = 1) -> list[Tenant]:
    """`n` clients of agencies of their own, each with a member, committed in the database at `url`."""
    async with connect(url) as conn:
        return [await make_tenant(conn, role="member") for _ in range(n)]


def trail(url: str, client_id: uuid.UUID) -> list[dict[str, Any]]:
    seal_audit(url)
    with superuser_conn(url) as conn:
        return conn.execute(
            "select * from audit_log where client_id = %s order by seq", (client_id,)
        ).fetchall()


async def verify(url: str, client_id: uuid.UUID | None = None) -> list[Any]:
    seal_audit(url)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await verify_chain(conn, client_id)


async def test_tenant_writes_are_logged_with_actor_and_column_names_but_no_values(fresh_db_url: str) -> None:
    [t] = await tenants(fresh_db_url)
    claims = {
        "sub": str(t.user_id),
        "role": "authenticated",
        "client_id": str(t.client_id),
        "user_role": "admin",
    }
    # One transaction as the tenant, the way the API runs a request.
    async with await psycopg.AsyncConnection.connect(fresh_db_url, row_factory=dict_row) as conn:
        await conn.execute("set local role authenticated")
        await conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        account = await make_linkedin_account(
            conn,
            user_id=t.user_id,
            account_name="main",
            linkedin_email=SECRET_EMAIL,
            linkedin_password=SECRET_PASSWORD,
        )
        await conn.execute(
            "update linkedin_accounts set linkedin_password = %s where id = %s", (b"new", account["id"])
        )
        await conn.execute("delete from linkedin_accounts where id = %s", (account["id"],))
        await conn.commit()

    rows = [r for r in trail(fresh_db_url, t.client_id) if r["table_name"] == "linkedin_accounts"]
    assert [r["operation"] for r in rows] == ["INSERT", "UPDATE", "DELETE"]
    assert {r["actor"] for r in rows} == {str(t.user_id)}
    assert {r["actor_role"] for r in rows} == {"admin"}
    assert {r["row_id"] for r in rows} == {str(account["id"])}
    assert {"linkedin_email", "linkedin_password", "client_id"} <= set(rows[0]["changed_columns"])
    # updated_at is unchanged: now() is the transaction's time, and all three writes share one.
    assert rows[1]["changed_columns"] == ["linkedin_password"]
    text = json.dumps([{k: str(v) for k, v in r.items()} for r in rows])
    for secret in (SECRET_EMAIL, SECRET_PASSWORD):
        assert secret.decode() not in text
        assert secret.hex() not in text


async def test_writes_outside_a_request_are_logged_as_system(fresh_db_url: str) -> None:
    [t] = await tenants(fresh_db_url)
    with superuser_conn(fresh_db_url) as conn, conn.transaction():
        conn.execute("set local role service_role")
        conn.execute("update users set first_name = 'Ada' where id = %s", (t.user_id,))
    last = trail(fresh_db_url, t.client_id)[-1]
    assert (last["actor"], last["actor_role"], last["operation"]) == ("system", "service_role", "UPDATE")


async def test_the_chain_links_every_row_to_the_previous_one(fresh_db_url: str) -> None:
    [t] = await tenants(fresh_db_url)
    rows = trail(fresh_db_url, t.client_id)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert bytes(rows[0]["prev_hash"]) == bytes(32)
    assert all(bytes(b["prev_hash"]) == bytes(a["hash"]) for a, b in itertools.pairwise(rows))


async def test_tenants_read_their_own_trail_and_cannot_write_it(fresh_db_url: str) -> None:
    t, other = await tenants(fresh_db_url, 2)
    seal_audit(fresh_db_url)
    with tenant_conn(fresh_db_url, {"client_id": str(t.client_id)}) as conn:
        visible = {r["client_id"] for r in conn.execute("select client_id from audit_log").fetchall()}
        for statement in ("update audit_log set actor = 'me'", "delete from audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)
    assert visible == {t.client_id}
    assert other.client_id not in visible


async def test_an_intact_chain_holds(fresh_db_url: str) -> None:
    t, other = await tenants(fresh_db_url, 2)
    reports = await verify(fresh_db_url)
    assert {r.client_id for r in reports} == {t.client_id, other.client_id}
    assert all(r.ok and r.rows_checked == r.last_seq == 2 for r in reports)
    assert all(r.head_hash and len(r.head_hash) == 64 for r in reports)
    assert all("chain holds, 2 rows" in str(r) for r in reports)


async def test_an_edited_row_is_reported(fresh_db_url: str) -> None:
    t, other = await tenants(fresh_db_url, 2)
    with superuser_conn(fresh_db_url) as conn:
        for i in range(3):
            conn.execute("update users set first_name = %s where id = %s", (f"n{i}", t.user_id))
        seal_audit(fresh_db_url)
        conn.execute(
            "update audit_log set actor = 'someone-else' where client_id = %s and seq = 3", (t.client_id,)
        )

    [report] = await verify(fresh_db_url, t.client_id)
    assert (report.ok, report.broken_seq, report.rows_checked) == (False, 3, 2)
    assert report.reason is not None
    assert "edited" in report.reason
    [untouched] = await verify(fresh_db_url, other.client_id)
    assert untouched.ok


async def test_a_deleted_row_is_reported(fresh_db_url: str) -> None:
    [t] = await tenants(fresh_db_url)
    with superuser_conn(fresh_db_url) as conn:
        for i in range(3):
            conn.execute("update users set first_name = %s where id = %s", (f"n{i}", t.user_id))
        seal_audit(fresh_db_url)
        conn.execute("delete from audit_log where client_id = %s and seq = 4", (t.client_id,))

    [report] = await verify(fresh_db_url, t.client_id)
    assert (report.ok, report.broken_seq) == (False, 4)
    assert report.reason is not None
    assert "missing" in report.reason
    assert str(report).startswith(f"client {t.client_id}: BROKEN at seq 4")


async def test_a_reordered_chain_is_reported(fresh_db_url: str) -> None:
    [t] = await tenants(fresh_db_url)
    with superuser_conn(fresh_db_url) as conn:
        for i in range(3):
            conn.execute("update users set first_name = %s where id = %s", (f"n{i}", t.user_id))
        seal_audit(fresh_db_url)
        # Swap entries 2 and 3, renumbering them so seq stays contiguous.
        for old, new in ((2, 1000), (3, 2), (1000, 3)):
            conn.execute(
                "update audit_log set seq = %s where client_id = %s and seq = %s", (new, t.client_id, old)
            )

    [report] = await verify(fresh_db_url, t.client_id)
    assert (report.ok, report.broken_seq, report.rows_checked) == (False, 2, 1)
    assert report.reason is not None
    assert "reordered" in report.reason


async def test_concurrent_writers_and_sealers_of_one_client_keep_a_single_chain(fresh_db_url: str) -> None:
    """Eight connections write at once while three sealers (the worker's, a reader's of the client, a
    second worker's) chain what has committed: one gapless chain, every write in it exactly once."""
    [t] = await tenants(fresh_db_url)
    writing = True

    async def writer(n: int) -> None:
        async with await psycopg.AsyncConnection.connect(fresh_db_url, autocommit=True) as conn:
            for i in range(50):
                await conn.execute(
                    "insert into pods (client_id, name) values (%s, %s)", (t.client_id, f"pod-{n}-{i}")
                )

    async def sealer(client_id: uuid.UUID | None) -> int:
        sealed = 0
        async with await psycopg.AsyncConnection.connect(fresh_db_url, autocommit=True) as conn:
            while writing:
                row = await (await conn.execute("select revos_audit_seal(%s, 25)", (client_id,))).fetchone()
                sealed += row[0] if row else 0
                await asyncio.sleep(0.005)
        return sealed

    sealers = [asyncio.create_task(sealer(c)) for c in (None, t.client_id, None)]
    await asyncio.gather(*(writer(n) for n in range(8)))
    writing = False
    assert sum(await asyncio.gather(*sealers)) > 0  # the sealers did chain entries while the writes went on
    [report] = await verify(fresh_db_url, t.client_id)
    assert report.ok, str(report)
    assert report.last_seq == 2 + 8 * 50
    pods = [e for e in trail(fresh_db_url, t.client_id) if e["table_name"] == "pods"]
    assert len({e["row_id"] for e in pods}) == len(pods) == 8 * 50


async def test_a_multi_row_update_logs_each_row_with_its_own_columns(fresh_db_url: str) -> None:
    [t] = await tenants(fresh_db_url)
    with superuser_conn(fresh_db_url) as conn:
        pods = [insert_row(conn, "pods", {"client_id": t.client_id, "name": f"p{i}"}) for i in range(3)]
        seal_audit(fresh_db_url)
        before = len(trail(fresh_db_url, t.client_id))
        # Two rows change their description, one its status too; a statement writing no row logs nothing.
        conn.execute(
            "update pods set description = 'd', status = case when id = %s then 'paused' else status end"
            " where id = any(%s)",
            (pods[0], pods[:2]),
        )
        conn.execute("update pods set description = 'x' where false")
        pending = conn.execute("select count(*) as n from audit_pending").fetchone()
    assert pending is not None
    assert pending["n"] == 2
    entries = trail(fresh_db_url, t.client_id)[before:]
    assert sorted((e["row_id"], e["operation"], e["changed_columns"]) for e in entries) == sorted(
        [
            (str(pods[0]), "UPDATE", ["description", "status", "updated_at"]),
            (str(pods[1]), "UPDATE", ["description", "updated_at"]),
        ]
    )
    assert {e["actor"] for e in entries} == {"system"}


async def test_a_row_moved_to_another_client_is_in_both_chains(fresh_db_url: str) -> None:
    t, other = await tenants(fresh_db_url, 2)
    with superuser_conn(fresh_db_url) as conn:
        pod = insert_row(conn, "pods", {"client_id": t.client_id, "name": "moves"})
        conn.execute("update pods set client_id = %s where id = %s", (other.client_id, pod))
    for client in (t.client_id, other.client_id):
        [moved] = [
            e for e in trail(fresh_db_url, client) if e["row_id"] == str(pod) and e["operation"] == "UPDATE"
        ]
        assert moved["table_name"] == "pods"
        assert "client_id" in moved["changed_columns"]
    assert all(r.ok for r in await verify(fresh_db_url))


async def test_tenants_neither_reach_pending_entries_nor_seal_another_client(fresh_db_url: str) -> None:
    t, other = await tenants(fresh_db_url, 2)
    with tenant_conn(fresh_db_url, t.claims()) as conn:
        for statement in ("select * from audit_pending", "delete from audit_pending",
                          "insert into audit_pending (client_id, occurred_at, actor, actor_role, table_name,"
                          " row_id, operation, changed_columns) values"
                          f" ('{t.client_id}', now(), 'x', 'x', 'x', 'x', 'INSERT', '{{}}')"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("select revos_audit_seal(%s)", (other.client_id,))
        # Its own client, named or not: its two entries, and nothing of the other client.
        own = conn.execute("select revos_audit_seal(%s) as n", (t.client_id,)).fetchone()
        conn.execute("insert into pods (client_id, name) values (%s, 'mine')", (t.client_id,))
        unnamed = conn.execute("select revos_audit_seal() as n").fetchone()
        visible = conn.execute("select seq from audit_log order by seq").fetchall()
        conn.commit()
    assert (own, unnamed) == ({"n": 2}, {"n": 1})  # the tenant's own write of this transaction included
    assert [r["seq"] for r in visible] == [1, 2, 3]
    with superuser_conn(fresh_db_url) as conn:
        left = conn.execute("select client_id, count(*) as n from audit_pending group by 1").fetchall()
    assert left == [{"client_id": other.client_id, "n": 2}]


def test_a_table_without_an_id_is_audited_row_by_row(schema_url: str) -> None:
    # Statement triggers pair old and new rows by id; a table keyed otherwise gets the row trigger.
    with psycopg.connect(schema_url, row_factory=dict_row) as conn:  # one transaction, rolled back
        agency = insert_row(conn, "agencies", {"name": "a", "slug": f"a-{uuid.uuid4().hex[:8]}"})
        client = insert_row(conn, "clients", {"agency_id": agency, "name": "keyed"})
        conn.execute(
            "create table public.keyed (client_id uuid not null, k text, v text, primary key (client_id, k))"
        )
        conn.execute("select public.revos_enable_audit('public.keyed')")
        conn.execute("insert into keyed values (%s, 'a', '1'), (%s, 'b', '2')", (client, client))
        conn.execute("update keyed set v = '3' where k = 'a'")
        conn.execute("delete from keyed where k = 'b'")
        conn.execute("select revos_audit_seal(%s)", (client,))
        rows = conn.execute(
            "select row_id, operation, changed_columns from audit_log where client_id = %s and table_name = 'keyed'"
            " order by seq",
            (client,),
        ).fetchall()
        conn.rollback()
    assert [(r["row_id"], r["operation"], r["changed_columns"]) for r in rows] == [
        (f"{client},a", "INSERT", ["client_id", "k", "v"]),
        (f"{client},b", "INSERT", ["client_id", "k", "v"]),
        (f"{client},a", "UPDATE", ["v"]),
        (f"{client},b", "DELETE", ["client_id", "k", "v"]),
    ]


def test_changed_columns_are_named_by_what_each_type_holds(schema_url: str) -> None:
    # Each table's generated function compares columns as their types: a jsonb holding JSON null is not
    # set, an equal numeric written differently is no change, an interval compares as its text (as
    # to_jsonb did), a vector by its text. A row moved between clients is logged in both chains; a row
    # whose id changed, as two updates.
    with psycopg.connect(schema_url, row_factory=dict_row) as conn:  # one transaction, rolled back
        agency = insert_row(conn, "agencies", {"name": "a", "slug": f"a-{uuid.uuid4().hex[:8]}"})
        one, two = (insert_row(conn, "clients", {"agency_id": agency, "name": n}) for n in ("one", "two"))
        conn.execute(
            "create table public.typed (id uuid primary key, client_id uuid not null, j jsonb, n numeric,"
            " i interval, v vector(3), t text, a text[])"
        )
        conn.execute("select public.revos_enable_audit('public.typed')")
        row, moved = uuid.uuid4(), uuid.uuid4()
        conn.execute(
            "insert into typed values (%s, %s, 'null', 1.0, '1 day', '[1,2,3]', 'x', '{a}')", (row, one)
        )
        for change in (
            "j = null, n = 1.00, t = 'x', a = '{a}'",  # nothing a reader could tell apart
            "i = '24 hours'",
            "v = '[1,2,4]', j = '{\"k\": 1}'",
            "a = '{a,b}', t = null",
            f"client_id = '{two}'",
            f"id = '{moved}'",
        ):
            conn.execute(f"update typed set {change}")
        conn.execute("delete from typed")
        entries = conn.execute(
            "select client_id, row_id, operation, changed_columns from audit_pending"
            " where table_name = 'typed' order by id"
        ).fetchall()
        conn.rollback()
    got = [(e["client_id"], e["row_id"], e["operation"], e["changed_columns"]) for e in entries]
    set_then = ["a", "client_id", "i", "id", "j", "n", "v"]
    assert got[:5] == [
        (one, str(row), "INSERT", ["a", "client_id", "i", "id", "n", "t", "v"]),
        (one, str(row), "UPDATE", []),
        (one, str(row), "UPDATE", ["i"]),
        (one, str(row), "UPDATE", ["j", "v"]),
        (one, str(row), "UPDATE", ["a", "t"]),
    ]
    assert sorted(got[5:7]) == sorted(
        [(one, str(row), "UPDATE", ["client_id"]), (two, str(row), "UPDATE", ["client_id"])]
    )
    assert sorted(got[7:9]) == sorted(
        [(two, str(row), "UPDATE", set_then), (two, str(moved), "UPDATE", set_then)]
    )
    assert got[9:] == [(two, str(moved), "DELETE", set_then)]


async def test_a_migration_that_changes_an_audited_table_regenerates_its_audit(
    fresh_db_url: str, tmp_path: Path
) -> None:
    # `revos db migrate` regenerates the function of a table whose columns a file changed: a new column
    # is named from then on, and a dropped one does not break the table's writes.
    [t] = await tenants(fresh_db_url)
    (tmp_path / "20990101000000_pod_motto.sql").write_text("alter table public.pods add column motto text;")
    migrations.migrate(fresh_db_url, tmp_path)
    with superuser_conn(fresh_db_url) as conn:
        conn.execute("insert into pods (client_id, name, motto) values (%s, 'p', 'm')", (t.client_id,))
    (tmp_path / "20990102000000_pod_motto_gone.sql").write_text("alter table public.pods drop column motto;")
    migrations.migrate(fresh_db_url, tmp_path)
    with superuser_conn(fresh_db_url) as conn:
        conn.execute("update pods set name = 'q'")
    pods = [e for e in trail(fresh_db_url, t.client_id) if e["table_name"] == "pods"]
    assert [(e["operation"], "motto" in e["changed_columns"]) for e in pods] == [
        ("INSERT", True),
        ("UPDATE", False),
    ]
    assert pods[1]["changed_columns"] == ["name", "updated_at"]


def test_python_and_sql_build_the_same_canonical_text(schema_url: str) -> None:
    fields: dict[str, Any] = {
        "client_id": uuid.uuid4(),
        "seq": 42,
        "occurred_at": datetime(2026, 3, 1, 23, 59, 58, 123456, tzinfo=UTC),
        "actor": "Zoë ; 5:x|;",
        "actor_role": "admin",
        "table_name": "leads",
        "row_id": "0b1c",
        "operation": "UPDATE",
        "changed_columns": ["email", "status;", "名前"],
    }
    with superuser_conn(schema_url) as conn:
        conn.execute("set timezone = 'America/Los_Angeles'")  # the text must not depend on the session
        row = conn.execute(
            "select public.revos_audit_canonical(%(client_id)s, %(seq)s, %(occurred_at)s, %(actor)s,"
            " %(actor_role)s, %(table_name)s, %(row_id)s, %(operation)s, %(changed_columns)s::text[])"
            " as text",
            fields,
        ).fetchone()
    assert row is not None
    assert row["text"] == canonical_text(**fields)


def test_every_tenant_table_is_audited(schema_url: str) -> None:
    # Catalog-driven: a table added later without revos_enable_audit() fails here. Statement triggers pair
    # a row's old and new versions by `id`: a table without one must have the row trigger instead. Each
    # table's own function was generated from its columns as they are now (its signature).
    with superuser_conn(schema_url) as conn:
        rows = conn.execute(
            """
            select c.relname,
                   exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'id'
                           and not a.attisdropped) as has_id,
                   array(select t.tgname || ':' || t.tgfoid::regproc::text from pg_trigger t
                         where t.tgrelid = c.oid and t.tgname like 'audit%%' and t.tgenabled = 'O'
                         order by 1) as triggers,
                   (select bool_and(obj_description(t.tgfoid, 'pg_proc') = revos_audit_signature(c.oid))
                    from pg_trigger t where t.tgrelid = c.oid and t.tgname like 'audit%%'
                      and t.tgname <> 'audit_row') as current
            from pg_class c
            where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
              and c.relname not in ('agencies', 'audit_log', 'audit_anchors', 'audit_pending')
            """
        ).fetchall()
    wrong = {
        r["relname"]: r["triggers"]
        for r in rows
        if r["triggers"]
        != (
            [f"audit_{op}:revos_audit__{r['relname']}" for op in ("delete", "insert", "update")]
            if r["has_id"]
            else ["audit_row:revos_audit_row_pending"]
        )
        or (r["has_id"] and not r["current"])
    }
    assert wrong == {}
    assert len(rows) > 30


async def test_a_backlog_after_an_idle_sealer_is_sealed_oldest_first_into_one_chain(
    fresh_db_url: str,
) -> None:
    """The sealer's statements are planned once per connection: after plans made while nothing was
    pending (a new deployment, a quiet night), a backlog is still sealed batch by batch, oldest first.
    (What it costs is `bench/audit_write.py`'s: sealing after an idle sealer.)"""
    (t,) = await tenants(fresh_db_url)
    seal_audit(fresh_db_url)
    backlog, batch = 12_000, 5_000
    with superuser_conn(fresh_db_url) as conn:
        conn.execute("analyze audit_pending")
        for _ in range(8):  # past the plan cache's first five custom plans, with nothing pending
            conn.execute("select revos_audit_seal(%s, %s)", (t.client_id, batch))
        conn.execute(
            "insert into audit_pending (client_id, occurred_at, actor, actor_role, table_name, row_id,"
            " operation, changed_columns) select %s, now(), 'test', 'service_role', 'pods', g::text,"
            " 'UPDATE', array['status'] from generate_series(1, %s) g",
            (t.client_id, backlog),
        )
        sealed = [
            conn.execute("select revos_audit_seal(%s, %s) as n", (t.client_id, batch)).fetchone()
            for _ in range(4)
        ]
        rows = conn.execute(
            "select seq, row_id from audit_log where client_id = %s and table_name = 'pods' order by seq",
            (t.client_id,),
        ).fetchall()
    assert sealed == [{"n": 5_000}, {"n": 5_000}, {"n": 2_000}, {"n": 0}]
    assert [r["row_id"] for r in rows] == [str(g) for g in range(1, backlog + 1)]  # in the order written
    [report] = await verify(fresh_db_url, t.client_id)
    assert report.ok
    assert report.rows_checked == backlog + 2  # the tenant's own two entries, then the backlog


async def test_a_sealer_without_a_client_takes_the_clients_with_the_oldest_entries_first(
    fresh_db_url: str,
) -> None:
    """The worker's sealer names no client: a call seals at most its limit, the client whose entries have
    waited longest first, and every client's backlog ends up in its own chain, in the order written."""
    a, b, c = await tenants(fresh_db_url, 3)
    seal_audit(fresh_db_url)
    insert = (
        "insert into audit_pending (client_id, occurred_at, actor, actor_role, table_name, row_id,"
        " operation, changed_columns) select %s, now(), 'test', 'service_role', 'pods', g::text,"
        " 'UPDATE', array['status'] from generate_series(1, %s) g"
    )
    with superuser_conn(fresh_db_url) as conn:
        for tenant, n in ((b, 3_000), (c, 500), (a, 2_000)):  # b's entries first: they wait longest
            conn.execute(insert, (tenant.client_id, n))
        first = conn.execute("select revos_audit_seal(null, 2500) as n").fetchone()
        after_first = conn.execute(
            "select client_id, count(*) as n from audit_pending group by 1 order by 2"
        ).fetchall()
        rest = [conn.execute("select revos_audit_seal(null, 2500) as n").fetchone() for _ in range(3)]
    assert first == {"n": 2_500}
    assert {r["client_id"]: r["n"] for r in after_first} == {
        b.client_id: 500,
        c.client_id: 500,
        a.client_id: 2_000,
    }
    assert [r["n"] for r in rest] == [2_500, 500, 0]
    for tenant, n in ((a, 2_000), (b, 3_000), (c, 500)):
        rows = trail(fresh_db_url, tenant.client_id)
        assert [r["row_id"] for r in rows if r["table_name"] == "pods"] == [str(g) for g in range(1, n + 1)]
        [report] = await verify(fresh_db_url, tenant.client_id)
        assert report.ok
