"""A page of a list reads the page, not the table: the plans of the list queries at 20,000 leads.

Each list query is captured exactly as its repository sends it, then explained with ANALYZE as the API
runs it (role `authenticated`, the caller's claims) and as the owner (no Row Level Security). At this
size, after ANALYZE, a plan that sorted or filtered its way to a page would read thousands of rows; a
page must read at most a page per client in scope, from an index, with the same plan either way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from revos import migrations
from revos.db.pagination import encode_cursor
from revos.leads import repo as leads_repo
from revos.posts import repo as posts_repo
from revos.webhooks import repo as webhooks_repo
from tests.conftest import create_database, drop_database

LEADS = 20_000
LIMIT = 50
BIG_TABLES = {"leads", "dm_sequences", "comments", "webhook_deliveries"}


@dataclass(frozen=True)
class Big:
    url: str
    agency: UUID
    clients: dict[str, UUID]  # a (most leads), a2 (same agency), b (another agency)
    campaign: UUID  # one of a's
    post: UUID  # one of a's, with comments
    config: UUID  # one of a's, with deliveries


SEED = f"""
insert into agencies (id, name, slug) values
  ('00000000-0000-0000-0000-00000000000a', 'X', 'plans-x'), ('00000000-0000-0000-0000-00000000000b', 'Y', 'plans-y');
insert into clients (id, agency_id, name) values
  ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-00000000000a', 'a'),
  ('00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-00000000000a', 'a2'),
  ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-00000000000b', 'b');
insert into webhook_configs (id, client_id, name, url)
  select md5('w' || c.id)::uuid, c.id, 'esp', 'https://esp.example/h' from clients c;
insert into campaigns (id, client_id, name, trigger_word)
  select md5('c' || c.id || n)::uuid, c.id, 'campaign ' || n, 'GUIDE' from clients c, generate_series(0, 3) n;
insert into posts (id, client_id, campaign_id, content, status)
  select md5('p' || id)::uuid, client_id, id, 'GUIDE', 'published' from campaigns;
-- 80 % of the leads for a, 10 % each for a2 and b; four campaigns each, eight statuses.
create temporary table g as
  select i, case when i % 10 = 0 then '00000000-0000-0000-0000-0000000000a2'::uuid
                 when i % 10 = 1 then '00000000-0000-0000-0000-0000000000b1'::uuid
                 else '00000000-0000-0000-0000-0000000000a1'::uuid end as client_id,
         (i / 10) % 4 as n, now() - i * interval '1 minute' as at
  from generate_series(1, {LEADS}) i;
insert into comments (id, client_id, post_id, author_name, author_linkedin_id, content, has_trigger_word, created_at)
  select md5('m' || i)::uuid, client_id, md5('p' || md5('c' || client_id || n)::uuid)::uuid, 'M', 'm' || i, 'hi',
         i % 7 <> 0, at from g;
insert into leads (id, client_id, campaign_id, linkedin_id, status, comment_id, dm_sequence_id, created_at)
  select md5('l' || i)::uuid, client_id, md5('c' || client_id || n)::uuid, 'm' || i,
         (array['comment_detected', 'dm_sent', 'dm_replied', 'email_captured', 'webhook_sent', 'backup_sent',
                'completed', 'failed'])[1 + i % 8],
         md5('m' || i)::uuid, md5('s' || i)::uuid, at from g;
insert into dm_sequences (id, client_id, lead_id, campaign_id, review_status, created_at)
  select md5('s' || i)::uuid, client_id, md5('l' || i)::uuid, md5('c' || client_id || n)::uuid,
         case when i % 50 = 2 then 'pending' end, at from g;
insert into webhook_deliveries (client_id, webhook_config_id, lead_id, payload, status, created_at)
  select client_id, md5('w' || client_id)::uuid, md5('l' || i)::uuid, '{{}}',
         case when i % 3 = 0 then 'failed' else 'success' end, at from g where i % 2 = 0;
"""


@pytest.fixture(scope="module")
def big(pg_root_url: str) -> Iterator[Big]:
    url = create_database(pg_root_url, "plans")
    migrations.migrate(url)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        # Triggers off for the bulk load only: every row names its client, as the triggers would.
        conn.execute("set session_replication_role = replica")
        conn.execute(SEED)
        conn.commit()
        conn.autocommit = True
        conn.execute("vacuum analyze")
        a = UUID("00000000-0000-0000-0000-0000000000a1")
        campaign = conn.execute(
            "select campaign_id from leads where client_id = %s limit 1", (a,)
        ).fetchone()["campaign_id"]
        post = conn.execute("select id from posts where campaign_id = %s", (campaign,)).fetchone()["id"]
        config = conn.execute("select id from webhook_configs where client_id = %s", (a,)).fetchone()["id"]
    clients = {
        "a": a,
        "a2": UUID("00000000-0000-0000-0000-0000000000a2"),
        "b": UUID("00000000-0000-0000-0000-0000000000b1"),
    }
    yield Big(url, UUID("00000000-0000-0000-0000-00000000000a"), clients, campaign, post, config)
    drop_database(pg_root_url, url)


class Recorder:
    """Runs what a repository sends and keeps each statement."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self.statements: list[tuple[Any, Any]] = []

    async def execute(self, query: Any, params: Any = None) -> Any:
        self.statements.append((query, params))
        return await self.conn.execute(query, params)


Call = Callable[[Any, Big, str | None], Awaitable[Any]]

LISTS: dict[str, tuple[str, Call]] = {
    "leads": ("a", lambda c, b, cur: leads_repo.page(c, cursor=cur, limit=LIMIT)),
    "leads-small-client": ("b", lambda c, b, cur: leads_repo.page(c, cursor=cur, limit=LIMIT)),
    "leads-campaign": (
        "a",
        lambda c, b, cur: leads_repo.page(c, cursor=cur, limit=LIMIT, campaign_id=b.campaign),
    ),
    "leads-status": ("a", lambda c, b, cur: leads_repo.page(c, cursor=cur, limit=LIMIT, status="failed")),
    "leads-campaign-status": (
        "a",
        lambda c, b, cur: leads_repo.page(
            c, cursor=cur, limit=LIMIT, campaign_id=b.campaign, status="failed"
        ),
    ),
    "leads-staff": ("staff", lambda c, b, cur: leads_repo.page(c, cursor=cur, limit=LIMIT)),
    "leads-staff-one-client": (
        "staff",
        lambda c, b, cur: leads_repo.page(c, cursor=cur, limit=LIMIT, client_id=b.clients["a2"]),
    ),
    "review": ("a", lambda c, b, cur: leads_repo.page(c, cursor=cur, limit=LIMIT, review=True)),
    "review-campaign": (
        "a",
        lambda c, b, cur: leads_repo.page(c, cursor=cur, limit=LIMIT, campaign_id=b.campaign, review=True),
    ),
    "comments": (
        "a",
        lambda c, b, cur: posts_repo.comments_page(c, b.post, cursor=cur, limit=LIMIT, trigger_only=False),
    ),
    "comments-trigger-only": (
        "a",
        lambda c, b, cur: posts_repo.comments_page(c, b.post, cursor=cur, limit=LIMIT, trigger_only=True),
    ),
    "deliveries": (
        "a",
        lambda c, b, cur: webhooks_repo.list_deliveries(
            c, config_id=b.config, cursor=cur, limit=LIMIT, status=None
        ),
    ),
    "deliveries-status": (
        "a",
        lambda c, b, cur: webhooks_repo.list_deliveries(
            c, config_id=b.config, cursor=cur, limit=LIMIT, status="failed"
        ),
    ),
}


def claims(big: Big, principal: str) -> dict[str, str]:
    if principal == "staff":
        return {"sub": "staff", "role": "authenticated", "agency_id": str(big.agency), "user_role": "admin"}
    return {
        "sub": "user",
        "role": "authenticated",
        "client_id": str(big.clients[principal]),
        "user_role": "admin",
    }


async def explain(big: Big, principal: str, call: Call, cursor: str | None, *, rls: bool) -> dict[str, Any]:
    async with await psycopg.AsyncConnection.connect(big.url, row_factory=dict_row) as conn:
        async with conn.transaction():
            await conn.execute("set local role authenticated")
            await conn.execute(
                "select set_config('request.jwt.claims', %s, true)", (json.dumps(claims(big, principal)),)
            )
            recorder = Recorder(conn)
            rows, _ = await call(recorder, big, cursor)
        (query, params) = recorder.statements[-1]
        async with conn.transaction():
            if rls:
                await conn.execute("set local role authenticated")
            await conn.execute(
                "select set_config('request.jwt.claims', %s, true)", (json.dumps(claims(big, principal)),)
            )
            text = sql.SQL(query) if isinstance(query, str) else query
            row = await (
                await conn.execute(sql.SQL("explain (analyze, format json) ") + text, params)
            ).fetchone()
    assert row is not None
    assert rows, "the list must not be empty for its plan to mean anything"
    plan: dict[str, Any] = row["QUERY PLAN"][0]["Plan"]
    return plan


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def scans_of_big_tables(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in nodes(plan) if n.get("Relation Name") in BIG_TABLES]


def middle_cursor(big: Big) -> str:
    """The cursor a client holds after paging halfway through its leads (the other big tables are
    written with their lead, at the same times)."""
    with psycopg.connect(big.url, row_factory=dict_row) as conn:
        middle = conn.execute(
            "select created_at, id from leads order by created_at desc, id desc offset %s limit 1",
            (LEADS // 2,),
        ).fetchone()
    assert middle is not None
    return encode_cursor(middle["created_at"], middle["id"])


@pytest.mark.parametrize("depth", ["first", "deep"])
@pytest.mark.parametrize("name", list(LISTS))
async def test_a_page_reads_one_page_per_client_from_an_index_with_or_without_rls(
    big: Big, name: str, depth: str
) -> None:
    principal, call = LISTS[name]
    cursor = middle_cursor(big) if depth == "deep" else None
    with_rls = await explain(big, principal, call, cursor, rls=True)
    without = await explain(big, principal, call, cursor, rls=False)

    clients_in_scope = 2 if principal == "staff" and name != "leads-staff-one-client" else 1
    for scan in scans_of_big_tables(with_rls):
        where = f"{name}: {scan['Node Type']} on {scan['Relation Name']}"
        assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), where
        read = (
            scan["Actual Rows"]
            + scan.get("Rows Removed by Filter", 0)
            + scan.get("Rows Removed by Index Recheck", 0)
        )
        assert read <= LIMIT + 1, f"{where} read {read} rows per loop"
        assert read * scan["Actual Loops"] <= (LIMIT + 1) * clients_in_scope, where

    # Which of two equivalent unique indexes on id a join probes is the planner's coin toss, not RLS.
    def shape(plan: dict[str, Any]) -> list[tuple[str, str]]:
        return [(n["Node Type"], n["Relation Name"]) for n in nodes(plan) if "Relation Name" in n]

    assert shape(with_rls) == shape(without)
