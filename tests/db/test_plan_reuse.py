"""The hot statements of a DM step are planned once per connection, not on every run.

PostgreSQL plans a prepared statement for its parameters' values (a custom plan) until its plan for any
value (the generic plan) is found no dearer; a statement with `= any($1)` or `unnest($1)` of an array
never gets there, and a DM step's context (a seven-table join) cost more to plan than to run. Each
statement here runs a dozen times on one connection, prepared from its first run, as the worker's pool
runs it, on a database holding a busy day's rows (analysed: whether a generic plan is no dearer depends
on the tables' statistics); PostgreSQL's own count of the plans it built says whether the generic one was
reused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg.rows import dict_row

from revos import migrations
from revos.accounts import repo as accounts_repo
from revos.dms.plan import step_keys
from revos.leads import sequence_repo
from tests.conftest import create_database, drop_database

RUNS = 12
ROWS = 20_000

# A day of one agency's actions over 50 accounts, their messages, sequences and daily counts. Triggers
# are off for the bulk load (session_replication_role): no parents, no audit, statistics alone matter.
SEED = f"""
insert into linkedin_accounts (id, client_id, account_name, linkedin_email, linkedin_password)
  select md5('a' || i)::uuid, md5('client')::uuid, 'account ' || i, '\\x00', '\\x00'
  from generate_series(1, 50) i;
insert into dm_sequences (id, client_id, linkedin_account_id)
  select md5('s' || i)::uuid, md5('client')::uuid, md5('a' || i % 50)::uuid from generate_series(1, {ROWS}) i;
insert into linkedin_actions (client_id, linkedin_account_id, kind, action_key, status, provider_id)
  select md5('client')::uuid, md5('a' || i % 50)::uuid, 'dm', 'dm:' || md5('s' || i)::uuid || ':' || i % 3,
         'done', 'msg-' || i
  from generate_series(1, {ROWS}) i;
insert into dm_messages (client_id, dm_sequence_id, message, unipile_message_id)
  select md5('client')::uuid, md5('s' || i)::uuid, 'hello', 'msg-' || i from generate_series(1, {ROWS}) i;
insert into account_daily_usage (client_id, linkedin_account_id, day, kind, used)
  select md5('client')::uuid, md5('a' || i % 50)::uuid, current_date - i / 50, 'dm', 10
  from generate_series(1, 5000) i;
"""


@pytest.fixture(scope="module")
def busy_url(pg_root_url: str) -> Iterator[str]:
    url = create_database(pg_root_url, "plan_reuse")
    migrations.migrate(url)
    with psycopg.connect(url) as conn:
        conn.execute("set session_replication_role = replica")
        conn.execute(SEED)
        conn.commit()
        conn.autocommit = True
        conn.execute("analyze")
    yield url
    drop_database(pg_root_url, url)


Run = Callable[[Any], Awaitable[object]]

STATEMENTS: dict[str, tuple[str, Run]] = {
    # (a fragment of the statement's text, one run of it)
    "the DM step's context with its ledger actions": (
        "as ledger_actions",
        lambda conn: sequence_repo.context(conn, uuid4(), for_update=True, action_keys=step_keys(uuid4())),
    ),
    "a sequence's context": (
        "left join linkedin_accounts a on a.id = s.linkedin_account_id where s.id = $1 for update of s",
        lambda conn: sequence_repo.context(conn, uuid4(), for_update=True),
    ),
    "the day's units of one account": (
        "insert into account_daily_usage",
        lambda conn: accounts_repo.take_daily_units(
            conn, [(uuid4(), uuid4(), datetime.now(UTC).date(), "dm", 0, 10)]
        ),
    ),
    "the lock of one account's budget": (
        "from linkedin_accounts",
        lambda conn: accounts_repo.lock_budgets(conn, [uuid4()]),
    ),
    "one message's check whether it is recorded": (
        "from dm_messages",
        lambda conn: sequence_repo.settled_messages(conn, ["msg-1"]),
    ),
}


@pytest.mark.parametrize("name", list(STATEMENTS))
async def test_a_dm_steps_statement_reuses_its_generic_plan(busy_url: str, name: str) -> None:
    fragment, run = STATEMENTS[name]
    async with await psycopg.AsyncConnection.connect(
        busy_url, autocommit=True, prepare_threshold=0, row_factory=dict_row
    ) as conn:
        for _ in range(RUNS):
            async with conn.transaction():
                await run(conn)
        rows = await (
            await conn.execute(
                "select generic_plans, custom_plans from pg_prepared_statements where statement like %s",
                (f"%{fragment}%",),
                prepare=False,
            )
        ).fetchall()
    assert len(rows) == 1, f"{name}: expected one prepared statement, found {len(rows)}"
    # PostgreSQL tries five custom plans first; every later run reuses the generic plan.
    assert rows[0]["generic_plans"] >= RUNS - 5, f"{name}: {rows[0]}"
