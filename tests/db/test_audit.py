"""The audit trail: every write is logged, chained per client, and tampering is found."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from revos.audit import canonical_text, verify_chain
from tests.db.factories import insert_row
from tests.support import (
    Tenant,
    connect,
    eventually,
    make_linkedin_account,
    make_tenant,
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
    with superuser_conn(url) as conn:
        return conn.execute(
            "select * from audit_log where client_id = %s order by seq", (client_id,)
        ).fetchall()


async def verify(url: str, client_id: uuid.UUID | None = None) -> list[Any]:
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
        # Swap entries 2 and 3, renumbering them so seq stays contiguous.
        for old, new in ((2, 1000), (3, 2), (1000, 3)):
            conn.execute(
                "update audit_log set seq = %s where client_id = %s and seq = %s", (new, t.client_id, old)
            )

    [report] = await verify(fresh_db_url, t.client_id)
    assert (report.ok, report.broken_seq, report.rows_checked) == (False, 2, 1)
    assert report.reason is not None
    assert "reordered" in report.reason


async def test_concurrent_writers_of_one_client_keep_a_single_chain(fresh_db_url: str) -> None:
    [t] = await tenants(fresh_db_url)

    async def writer(n: int) -> None:
        async with await psycopg.AsyncConnection.connect(fresh_db_url, row_factory=dict_row) as conn:
            for i in range(15):
                async with conn.transaction():
                    await conn.execute(
                        "insert into pods (client_id, name) values (%s, %s)", (t.client_id, f"pod-{n}-{i}")
                    )

    await asyncio.gather(*(writer(n) for n in range(4)))
    [report] = await verify(fresh_db_url, t.client_id)
    assert report.ok
    assert report.last_seq == 2 + 4 * 15


async def test_an_open_transaction_does_not_hold_up_the_other_writers_of_its_client(
    fresh_db_url: str,
) -> None:
    """Entries are appended at commit: a long transaction that wrote first does not make the client's
    other writers wait, nor deadlock with one that locks a row it wants; the chain still holds."""
    [t] = await tenants(fresh_db_url)
    with superuser_conn(fresh_db_url) as conn:
        pod = insert_row(conn, "pods", {"client_id": t.client_id, "name": "shared"})
    async with (
        await psycopg.AsyncConnection.connect(fresh_db_url, row_factory=dict_row) as first,
        await psycopg.AsyncConnection.connect(fresh_db_url, row_factory=dict_row) as second,
    ):
        await first.execute("insert into pods (client_id, name) values (%s, 'first')", (t.client_id,))

        async def other_writer() -> None:
            async with second.transaction():
                await second.execute("update pods set name = 'renamed' where id = %s", (pod,))
                await second.execute(
                    "insert into pods (client_id, name) values (%s, 'second')", (t.client_id,)
                )

        # The second writer of the same client commits while the first is still open (were it made to
        # wait for the first, it would wait forever: the ceilings only bound that).
        await asyncio.wait_for(other_writer(), timeout=60)
        await asyncio.wait_for(first.commit(), timeout=60)
        # Write first, then lock a row another transaction holds: that one finishes, no deadlock.
        await first.execute("insert into pods (client_id, name) values (%s, 'third')", (t.client_id,))
        await second.execute("select id from pods where id = %s for update", (pod,))
        waiting = asyncio.create_task(first.execute("update pods set name = 'again' where id = %s", (pod,)))
        await eventually(lambda: _waits_for_a_lock(fresh_db_url, first.info.backend_pid), "first to wait")
        await second.execute("insert into pods (client_id, name) values (%s, 'fourth')", (t.client_id,))
        await asyncio.wait_for(second.commit(), timeout=60)
        await asyncio.wait_for(waiting, timeout=60)
        await first.commit()
    entries = trail(fresh_db_url, t.client_id)
    pods = [e for e in entries if e["table_name"] == "pods"]
    assert [e["operation"] for e in pods] == [
        "INSERT",
        "UPDATE",
        "INSERT",
        "INSERT",
        "INSERT",
        "INSERT",
        "UPDATE",
    ]
    [report] = await verify(fresh_db_url, t.client_id)
    assert report.ok


def _waits_for_a_lock(db_url: str, pid: int) -> bool:
    with superuser_conn(db_url) as conn:
        row = conn.execute("select wait_event_type from pg_stat_activity where pid = %s", (pid,)).fetchone()
    return row is not None and row["wait_event_type"] == "Lock"


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
    # Catalog-driven: a table added later without revos_enable_audit() fails here.
    with superuser_conn(schema_url) as conn:
        rows = conn.execute(
            """
            select c.relname from pg_class c
            where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
              and c.relname not in ('agencies', 'audit_log', 'audit_anchors')
              and not exists (
                select from pg_trigger t
                where t.tgrelid = c.oid and t.tgfoid = 'public.revos_audit_row'::regproc and t.tgenabled = 'O'
              )
            """
        ).fetchall()
    assert rows == []
