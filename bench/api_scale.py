"""List endpoints at scale: p50/p99 over HTTP, and what Row Level Security costs each list query.

    .venv/bin/python bench/api_scale.py [--leads 1000000] [--requests 200] [--sql-runs 30]
        [--database-url URL [--keep]] [--reuse-database URL] [--skip-http]

On a fresh database of a temporary embedded PostgreSQL (or of the server `--database-url` names; the
bench creates its own database there and needs a superuser), with every migration applied, it loads
one agency with two clients sharing `--leads` leads 90/10, each lead with its trigger comment, its DM
sequence (about 1 % waiting for an email review) and three timeline events, a webhook delivery for every
lead whose email reached the ESP, plus users, API keys, LinkedIn accounts, lead magnets, webhook
configs, campaigns, posts and comments without the trigger word.

The data is generated in SQL (`insert … select generate_series`) as the owner, with triggers off
(client_id is written consistently by the generator; synthetic history gets no audit entries) and the
tables' plain indexes dropped during the load and rebuilt afterwards, then VACUUM ANALYZE: the schema
measured is the one the migrations built, policies and indexes included.

Then `revos serve` runs the real app in a subprocess on loopback, and for each list endpoint (first page;
a deep page through a cursor at a random row of the list; each filter) it prints p50/p99 of `--requests`
sequential requests as a client user of the big client (and a few as the small client and as agency
staff), beside `/healthz` and one lead's detail. Last, in SQL, each list query exactly as the endpoint
sends it, under EXPLAIN ANALYZE, as `authenticated` with the caller's claims and as the owner (no RLS):
median planning + execution time of each, their ratio, and the buffers each read. Figures, not a
pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

JWT_SECRET = "bench-jwt-secret-long-enough-for-hs256-signing"
CHUNK = 100_000
PAGE = 50
# Tables loaded in bulk: their plain (non-constraint) indexes are dropped for the load and rebuilt.
BULK_TABLES = ("comments", "leads", "dm_sequences", "lead_events", "webhook_deliveries")
# Campaign statuses per client; the draft campaign gets no leads.
CAMPAIGNS = {
    "A": ["active"] * 6 + ["paused", "paused", "completed", "draft"],
    "B": ["active", "active", "completed", "draft"],
}
POSTS_PER_CAMPAIGN = 4  # the last one is a draft


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def server_url(database_url: str | None) -> Iterator[str]:
    if database_url:
        yield database_url
        return
    from revos.db.embedded import start_embedded, stop_embedded

    root = Path(tempfile.mkdtemp(prefix="ras-", dir="/tmp"))  # short: unix socket path limit
    try:
        yield start_embedded(root, stop_at_exit=True)
    finally:
        stop_embedded(root)
        shutil.rmtree(root, ignore_errors=True)


# --- the data ----------------------------------------------------------------------------------------------


@dataclass
class Tenant:
    label: str
    client_id: uuid.UUID
    admin_user: uuid.UUID
    campaigns: list[uuid.UUID] = field(default_factory=list)
    posts: list[uuid.UUID] = field(default_factory=list)
    configs: list[uuid.UUID] = field(default_factory=list)


@dataclass
class World:
    url: str
    agency_id: uuid.UUID
    tenants: dict[str, Tenant]


def _one(conn: psycopg.Connection[Any], query: str, params: Any = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row["id"]


def load_small_tables(conn: psycopg.Connection[Any]) -> World:
    agency = _one(conn, "insert into agencies (name, slug) values ('Scale', 'scale') returning id")
    tenants: dict[str, Tenant] = {}
    base = datetime.now(UTC) - timedelta(days=400)
    for label, statuses in CAMPAIGNS.items():
        client = _one(
            conn,
            "insert into clients (agency_id, name) values (%s, %s) returning id",
            (agency, f"Client {label}"),
        )
        users = [
            _one(
                conn,
                "insert into users (client_id, email, first_name, role, created_at) values (%s, %s, %s, %s, %s)"
                " returning id",
                (client, f"u{n}@{label.lower()}.bench", f"User {n}", "admin" if n == 0 else "member", base),
            )
            for n in range(5)
        ]
        tenant = Tenant(label, client, users[0])
        for n in range(3):
            conn.execute(
                "insert into api_keys (client_id, name, key_prefix, key_hash, role, created_by)"
                " values (%s, %s, %s, repeat('0', 64), 'manager', %s)",
                (client, f"Key {n}", f"{label.lower()}{n:015d}", users[0]),
            )
        accounts = [
            _one(
                conn,
                "insert into linkedin_accounts (client_id, user_id, account_name, linkedin_email,"
                " linkedin_password, unipile_account_id, status) values (%s, %s, %s, '\\x00', '\\x00', %s,"
                " 'active') returning id",
                (client, users[n], f"Account {n}", f"acc-{label}-{n}"),
            )
            for n in range(3)
        ]
        magnets = [
            _one(
                conn,
                "insert into lead_magnets (client_id, name, file_path, tags) values (%s, %s, %s, %s) returning id",
                (client, f"Guide {n}", f"bench/{label}/{n}.pdf", ["guide", f"t{n}"]),
            )
            for n in range(2)
        ]
        tenant.configs = [
            _one(
                conn,
                "insert into webhook_configs (client_id, name, url, esp_type) values (%s, %s, %s, 'custom')"
                " returning id",
                (client, f"ESP {n}", f"https://hooks.example.com/{label}/{n}"),
            )
            for n in range(2)
        ]
        for n, status in enumerate(statuses):
            campaign = _one(
                conn,
                "insert into campaigns (client_id, name, trigger_word, trigger_words, lead_magnet_id,"
                " webhook_config_id, status, created_at) values (%s, %s, 'GUIDE', '{GUIDE}', %s, %s, %s, %s)"
                " returning id",
                (
                    client,
                    f"Campaign {n}",
                    magnets[n % 2],
                    tenant.configs[n % 2],
                    status,
                    base + timedelta(days=n),
                ),
            )
            tenant.campaigns.append(campaign)
            for p in range(POSTS_PER_CAMPAIGN):
                draft = status == "draft" or p == POSTS_PER_CAMPAIGN - 1
                post = _one(
                    conn,
                    "insert into posts (client_id, campaign_id, linkedin_account_id, content, trigger_word,"
                    " status, unipile_post_id, published_at, created_at) values (%s, %s, %s, %s, 'GUIDE', %s,"
                    " %s, %s, %s) returning id",
                    (
                        client,
                        campaign,
                        accounts[p % 3],
                        f"Comment GUIDE for the guide ({label}{n}.{p})",
                        "draft" if draft else "published",
                        None if draft else f"post-{label}-{n}-{p}",
                        None if draft else base + timedelta(days=n, hours=p),
                        base + timedelta(days=n, hours=p),
                    ),
                )
                tenant.posts.append(post)
                if not draft:
                    conn.execute(
                        "insert into bench_slots (tenant, campaign_id, post_id, account_id, config_id, client_id)"
                        " values (%s, %s, %s, %s, %s, %s)",
                        (label, campaign, post, accounts[p % 3], tenant.configs[n % 2], client),
                    )
        tenants[label] = tenant
    # Per tenant, slots 0..k-1: a lead picks its campaign's post by hashing its number.
    conn.execute(
        "create unlogged table bench_slot as select tenant, (row_number() over (partition by tenant"
        " order by campaign_id, post_id) - 1)::int as slot, count(*) over (partition by tenant)::int as k,"
        " campaign_id, post_id, account_id, config_id, client_id from bench_slots"
    )
    conn.execute("create unique index on bench_slot (tenant, slot)")
    return World("", agency, tenants)


# One row per lead number i: its tenant, post slot and a funnel position r in [0, 1000).
_LEAD_ROWS = """
    select g.i, s.client_id, s.campaign_id, s.post_id, s.account_id, s.config_id, g.r,
           %(base)s::timestamptz + g.i * interval '20 seconds' as at,
           md5('l' || g.i)::uuid as lead_id, md5('s' || g.i)::uuid as seq_id, md5('c' || g.i)::uuid as comment_id
    from (select i, case when i %% 10 = 0 then 'B' else 'A' end as tenant,
                 abs(hashint4(i * 7 + 1)) %% 1000 as r, abs(hashint4(i)) as h
          from generate_series(%(lo)s::int, %(hi)s::int) i) g
    join (select distinct tenant, k from bench_slot) t on t.tenant = g.tenant
    join bench_slot s on s.tenant = g.tenant and s.slot = g.h %% t.k
"""

_STATUS = """case when r < 50 then 'comment_detected' when r < 400 then 'dm_sent' when r < 492 then 'dm_replied'
    when r < 540 then 'email_captured' when r < 580 then 'webhook_sent' when r < 620 then 'backup_sent'
    when r < 900 then 'completed' else 'failed' end"""

LOAD_CHUNK = [
    f"""insert into comments (id, client_id, post_id, unipile_comment_id, author_name, author_linkedin_id,
        author_profile_url, content, has_trigger_word, dm_sent, created_at, commented_at)
    select comment_id, client_id, post_id, 'uc' || i, 'Member ' || i, 'ACo' || i,
           'https://www.linkedin.com/in/m' || i, 'GUIDE please', true, r >= 50, at - interval '1 minute',
           at - interval '1 minute'
    from ({_LEAD_ROWS}) x""",
    f"""insert into leads (id, client_id, campaign_id, email, first_name, last_name, linkedin_id, linkedin_url,
        company, title, source, status, comment_id, dm_sequence_id, created_at, updated_at)
    select lead_id, client_id, campaign_id,
           case when r >= 492 and r < 900 then 'm' || i || '@example.com' end,
           'First' || i, 'Last' || i, 'ACo' || i, 'https://www.linkedin.com/in/m' || i,
           'Company ' || (i %% 5000), 'Head of Growth', 'comment', {_STATUS}, comment_id, seq_id, at,
           at + interval '1 hour'
    from ({_LEAD_ROWS}) x""",
    f"""insert into dm_sequences (id, client_id, lead_id, campaign_id, linkedin_account_id, status, stage,
        step1_scheduled_for, step1_sent_at, step1_status, email_extracted, email_extracted_at, email_confidence,
        review_status, step2_sent_at, step3_sent_at, completed_at, failure_reason, created_at, updated_at)
    select seq_id, client_id, lead_id, campaign_id, account_id,
           case when r < 620 then 'in_progress' when r < 900 then 'completed' when r < 950 then 'failed'
                else 'abandoned' end,
           case when r < 50 then 'step1' when r < 480 then 'awaiting_reply' when r < 492 then 'review'
                when r < 540 then 'step2' when r < 620 then 'step3' else 'done' end,
           at + interval '2 minutes', case when r >= 50 then at + interval '3 minutes' end,
           case when r >= 50 then 'sent' else 'scheduled' end,
           case when r >= 480 and r < 900 then 'm' || i || '@example.com' end,
           case when r >= 480 and r < 900 then at + interval '1 hour' end,
           case when r >= 492 and r < 900 then 0.95 when r >= 480 and r < 492 then 0.55 end,
           case when r >= 480 and r < 492 then 'pending' end,
           case when r >= 540 and r < 900 then at + interval '2 hours' end,
           case when r >= 580 and r < 900 then at + interval '1 day' end,
           case when r >= 620 and r < 900 then at + interval '1 day' end,
           case when r >= 900 and r < 950 then 'LinkedIn refused the message: not connected'
                when r >= 950 then 'no reply after 7 days' end,
           at, at + interval '1 hour'
    from ({_LEAD_ROWS}) x""",
    f"""insert into lead_events (client_id, lead_id, occurred_at, kind, reason, data, created_at)
    select client_id, lead_id, at + e.n * interval '1 minute', e.kind, e.reason, '{{}}', at + e.n * interval '1 minute'
    from ({_LEAD_ROWS}) x
    cross join (values (0, 'detected', 'commented "GUIDE please", which matches the campaign''s trigger'),
                       (1, 'waiting', 'first DM scheduled (a randomised gap after the comment)'),
                       (2, 'dm_sent', 'asked for the email')) e(n, kind, reason)
    where e.n < 2 or r >= 50""",
    f"""insert into webhook_deliveries (id, client_id, webhook_config_id, lead_id, payload, status, status_code,
        attempt_count, next_retry_at, event_type, event_key, created_at, delivered_at, last_attempt_at)
    select md5('d' || i)::uuid, client_id, config_id, lead_id,
           jsonb_build_object('type', 'lead.captured', 'data', jsonb_build_object('lead', jsonb_build_object(
               'id', lead_id, 'email', 'm' || i || '@example.com'))),
           case when r < 510 then 'failed' when r < 540 then 'pending' else 'success' end,
           case when r < 510 then 503 when r >= 540 then 200 end,
           case when r < 510 then 4 else 1 end, case when r >= 510 and r < 540 then at + interval '2 hours' end,
           'lead.captured', 'lead.captured:' || lead_id, at + interval '1 hour',
           case when r >= 540 then at + interval '1 hour' end, at + interval '1 hour'
    from ({_LEAD_ROWS}) x where r >= 492 and r < 900""",
]

# Comments without the trigger word, one for every five leads, on the same posts.
LOAD_OTHER_COMMENTS = f"""insert into comments (id, client_id, post_id, unipile_comment_id, author_name,
        author_linkedin_id, content, has_trigger_word, created_at, commented_at)
    select md5('x' || i)::uuid, client_id, post_id, 'ux' || i, 'Reader ' || i, 'ACr' || i, 'Great post!', false,
           at + interval '30 seconds', at + interval '30 seconds'
    from ({_LEAD_ROWS}) x where i %% 5 = 0"""


def plain_indexes(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    rows = conn.execute(
        "select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition"
        " from pg_index i where i.indrelid = any(%s::regclass[])"
        " and not exists (select from pg_constraint c where c.conindid = i.indexrelid)",
        ([f"public.{t}" for t in BULK_TABLES],),
    ).fetchall()
    return [(r["name"], r["definition"]) for r in rows]


def load(url: str, leads: int) -> World:
    started = time.perf_counter()
    with psycopg.connect(url, row_factory=dict_row) as conn:
        conn.execute("set session_replication_role = replica")  # no triggers: no audit of synthetic history
        conn.execute("set maintenance_work_mem = '512MB'")
        conn.execute(
            "create unlogged table bench_slots (tenant text, campaign_id uuid, post_id uuid, account_id uuid,"
            " config_id uuid, client_id uuid)"
        )
        world = load_small_tables(conn)
        world.url = url
        indexes = plain_indexes(conn)
        for name, _ in indexes:
            conn.execute(f"drop index {name}")
        conn.commit()
        base = datetime.now(UTC) - timedelta(seconds=20 * leads + 3600)
        for lo in range(1, leads + 1, CHUNK):
            hi = min(lo + CHUNK - 1, leads)
            for statement in [*LOAD_CHUNK, LOAD_OTHER_COMMENTS]:
                conn.execute(statement, {"base": base, "lo": lo, "hi": hi})
            conn.commit()
            log(f"loaded {hi:,} / {leads:,} leads ({time.perf_counter() - started:.0f} s)")
        for n, (name, definition) in enumerate(indexes, 1):
            conn.execute(definition)
            conn.commit()
            log(f"rebuilt index {n}/{len(indexes)} {name} ({time.perf_counter() - started:.0f} s)")
        conn.execute("drop table bench_slots, bench_slot")
        conn.commit()
        conn.autocommit = True
        conn.execute("vacuum (analyze)")
        counts = conn.execute(
            "select (select count(*) from leads) as leads, (select count(*) from dm_sequences) as sequences,"
            " (select count(*) from lead_events) as events, (select count(*) from comments) as comments,"
            " (select count(*) from webhook_deliveries) as deliveries,"
            " pg_size_pretty(pg_database_size(current_database())) as size"
        ).fetchone()
    log(f"vacuumed and analyzed ({time.perf_counter() - started:.0f} s): {counts}")
    return world


def read_world(url: str) -> World:
    """The tenants of a database this bench loaded earlier (`--reuse-database`)."""
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        agency = _one(conn, "select id from agencies where slug = 'scale'")
        tenants = {}
        for label in CAMPAIGNS:
            client = _one(conn, "select id from clients where name = %s", (f"Client {label}",))
            admin = _one(conn, "select id from users where email = %s", (f"u0@{label.lower()}.bench",))
            tenant = Tenant(label, client, admin)
            for attr, query in (
                ("campaigns", "select id from campaigns where client_id = %s order by name"),
                ("posts", "select id from posts where client_id = %s order by created_at"),
                ("configs", "select id from webhook_configs where client_id = %s order by name"),
            ):
                setattr(tenant, attr, [r["id"] for r in conn.execute(query, (client,)).fetchall()])
            tenants[label] = tenant
    return World(url, agency, tenants)


# --- what is measured ---------------------------------------------------------------------------------------


SqlCall = Callable[[Any, str | None], Awaitable[Any]]


@dataclass
class Variant:
    """One list endpoint with one set of filters, as one principal calls it."""

    name: str
    principal: str  # A, B (client users) or staff
    path: str
    params: dict[str, str]
    sql: SqlCall | None  # the repo call the endpoint makes, for the RLS/no-RLS ratio
    positions: str | None  # SQL (as the owner) drawing rows of the list: deep-page cursors


def call(fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> SqlCall:
    """What the endpoint calls: `fn(conn, *args, cursor=…, limit=PAGE, **kwargs)`."""
    return lambda conn, cursor: fn(conn, *args, cursor=cursor, limit=PAGE, **kwargs)


def variants(world: World) -> list[Variant]:
    from revos.accounts import repo as accounts
    from revos.campaigns import repo as campaigns
    from revos.db import crud
    from revos.leads import repo as leads
    from revos.magnets import repo as magnets
    from revos.posts import repo as posts
    from revos.tenancy import repo as tenancy
    from revos.webhooks import repo as webhooks

    a = world.tenants["A"]
    camp, post, config = a.campaigns[0], a.posts[0], a.configs[0]
    comments_path, deliveries_path = f"/v1/posts/{post}/comments", f"/v1/webhooks/configs/{config}/deliveries"

    def rows(table: str, where: str) -> str:
        return f"select created_at, id from {table} where {where}"

    def of(client: uuid.UUID, extra: str = "") -> str:
        return rows("leads", f"client_id = '{client}' {extra}")

    review = rows("dm_sequences", f"client_id = '{a.client_id}' and review_status = 'pending'")
    out = []
    for tenant in (a, world.tenants["B"]):
        c, label = tenant.campaigns[0], tenant.label
        out += [
            Variant("leads", label, "/v1/leads", {}, call(leads.page), of(tenant.client_id)),
            Variant(
                "leads?campaign_id",
                label,
                "/v1/leads",
                {"campaign_id": str(c)},
                call(leads.page, campaign_id=c),
                of(tenant.client_id, f"and campaign_id = '{c}'"),
            ),
        ]
    for status in ("dm_sent", "failed", "email_captured"):
        out.append(
            Variant(
                f"leads?status={status}",
                "A",
                "/v1/leads",
                {"status": status},
                call(leads.page, status=status),
                of(a.client_id, f"and status = '{status}'"),
            )
        )
    out += [
        Variant(
            "leads?campaign_id&status=failed",
            "A",
            "/v1/leads",
            {"campaign_id": str(camp), "status": "failed"},
            call(leads.page, campaign_id=camp, status="failed"),
            of(a.client_id, f"and campaign_id = '{camp}' and status = 'failed'"),
        ),
        Variant("leads (agency staff)", "staff", "/v1/leads", {}, call(leads.page), rows("leads", "true")),
        Variant(
            "leads?campaign_id (agency staff)",
            "staff",
            "/v1/leads",
            {"campaign_id": str(camp)},
            call(leads.page, campaign_id=camp),
            of(a.client_id, f"and campaign_id = '{camp}'"),
        ),
        Variant("leads/review", "A", "/v1/leads/review", {}, call(leads.page, review=True), review),
        Variant(
            "leads/review?campaign_id",
            "A",
            "/v1/leads/review",
            {"campaign_id": str(camp)},
            call(leads.page, campaign_id=camp, review=True),
            f"{review} and campaign_id = '{camp}'",
        ),
        Variant(
            "campaigns", "A", "/v1/campaigns", {}, call(campaigns.page, status=None, client_id=None), None
        ),
        Variant(
            "campaigns?status=active",
            "A",
            "/v1/campaigns",
            {"status": "active"},
            call(campaigns.page, status="active", client_id=None),
            None,
        ),
        Variant("posts", "A", "/v1/posts", {}, call(posts.page, campaign_id=None, status=None), None),
        Variant(
            "posts?campaign_id",
            "A",
            "/v1/posts",
            {"campaign_id": str(camp)},
            call(posts.page, campaign_id=camp, status=None),
            None,
        ),
        Variant(
            "posts?status=published",
            "A",
            "/v1/posts",
            {"status": "published"},
            call(posts.page, campaign_id=None, status="published"),
            None,
        ),
        Variant(
            "posts/{id}/comments",
            "A",
            comments_path,
            {},
            call(posts.comments_page, post, trigger_only=False),
            rows("comments", f"post_id = '{post}'"),
        ),
        Variant(
            "posts/{id}/comments?trigger_only",
            "A",
            comments_path,
            {"trigger_only": "true"},
            call(posts.comments_page, post, trigger_only=True),
            rows("comments", f"post_id = '{post}' and has_trigger_word"),
        ),
        Variant(
            "webhooks/configs",
            "A",
            "/v1/webhooks/configs",
            {},
            call(webhooks.list_configs, client_id=a.client_id),
            None,
        ),
        Variant(
            "webhooks/configs/{id}/deliveries",
            "A",
            deliveries_path,
            {},
            call(webhooks.list_deliveries, config_id=config, status=None),
            rows("webhook_deliveries", f"webhook_config_id = '{config}'"),
        ),
        Variant(
            "webhooks/configs/{id}/deliveries?status=failed",
            "A",
            deliveries_path,
            {"status": "failed"},
            call(webhooks.list_deliveries, config_id=config, status="failed"),
            rows("webhook_deliveries", f"webhook_config_id = '{config}' and status = 'failed'"),
        ),
        Variant("users", "A", "/v1/users", {}, call(crud.page, "users"), None),
        Variant("api-keys", "A", "/v1/api-keys", {}, call(tenancy.list_api_keys, client_id=None), None),
        Variant("linkedin-accounts", "A", "/v1/linkedin-accounts", {}, call(accounts.page), None),
        Variant(
            "lead-magnets", "A", "/v1/lead-magnets", {}, call(magnets.page, tag=None, client_id=None), None
        ),
        Variant(
            "lead-magnets?tag",
            "A",
            "/v1/lead-magnets",
            {"tag": "guide"},
            call(magnets.page, tag="guide", client_id=None),
            None,
        ),
        Variant(
            "clients (agency staff)",
            "staff",
            "/v1/clients",
            {},
            call(crud.page, "clients", tenant_column=None),
            None,
        ),
    ]
    return out


def claims_of(world: World, principal: str) -> dict[str, Any]:
    from revos.security.jwt import Claims

    if principal == "staff":
        # Staff are an admin of one of the agency's clients: every request looks the user up.
        admin = next(iter(world.tenants.values())).admin_user
        claims = Claims(sub=str(admin), agency_id=world.agency_id, user_role="admin")
    else:
        tenant = world.tenants[principal]
        claims = Claims(sub=str(tenant.admin_user), client_id=tenant.client_id, user_role="admin")
    return claims.for_database()


def cursors(url: str, query: str | None, n: int = 25) -> list[str]:
    """Cursors at random rows of a list: what a client holds after paging that deep."""
    from revos.db.pagination import encode_cursor

    if query is None:
        return []
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        rows = conn.execute(f"select * from ({query}) q order by random() limit {n}").fetchall()
    return [encode_cursor(r["created_at"], r["id"]) for r in rows]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- over HTTP ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(url: str, workdir: Path) -> Iterator[str]:
    """`revos serve` (the real app, uvicorn) in its own process, on loopback."""
    port = free_port()
    env = dict(
        os.environ,
        REVOS_ENV="test",
        REVOS_DATABASE_URL=url,
        REVOS_DATA_DIR=str(workdir / "data"),
        REVOS_MASTER_KEY=base64.b64encode(os.urandom(32)).decode(),
        REVOS_JWT_SECRET=JWT_SECRET,
        REVOS_LOG_LEVEL="WARNING",
    )
    revos = Path(sys.executable).parent / "revos"
    with (workdir / "serve.log").open("wb") as out:
        proc = subprocess.Popen(
            [str(revos), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=out, stderr=out
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"revos serve did not start; see {workdir / 'serve.log'}")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def timed_get(client: httpx.Client, path: str, params: dict[str, str], token: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} {params}: {response.status_code} {response.text[:300]}")
    body = response.json()
    return elapsed, len(body["items"]) if isinstance(body, dict) and "items" in body else 1


def measure_http(
    base: str, world: World, todo: list[Variant], deep: dict[str, list[str]], requests: int
) -> None:
    from revos.security.jwt import Claims, issue

    tokens = {
        p: issue(Claims.model_validate(claims_of(world, p)), JWT_SECRET, ttl_seconds=86400)
        for p in ("A", "B", "staff")
    }
    warm = max(1, min(5, requests // 10))
    with httpx.Client(base_url=base, timeout=120) as client:
        lead_id = client.get(
            "/v1/leads", params={"limit": 1}, headers={"Authorization": f"Bearer {tokens['A']}"}
        ).json()["items"][0]["id"]
        rows: list[tuple[str, str, list[float], int]] = []
        for label, path in (("/healthz", "/healthz"), ("one lead's detail", f"/v1/leads/{lead_id}")):
            times = [timed_get(client, path, {}, tokens["A"])[0] for _ in range(requests + warm)][warm:]
            rows.append((label, "A", times, 1))
        for v in todo:
            params = {**v.params, "limit": str(PAGE)}
            for kind, cursor_list in (("first", [None]), ("deep", deep.get(key(v), []))):
                if not cursor_list:
                    continue
                times, sizes = [], []
                for n in range(requests + warm):
                    cursor = cursor_list[n % len(cursor_list)]
                    elapsed, size = timed_get(
                        client,
                        v.path,
                        {**params, **({"cursor": cursor} if cursor else {})},
                        tokens[v.principal],
                    )
                    if n >= warm:
                        times.append(elapsed)
                        sizes.append(size)
                rows.append((f"{v.name} [{kind}]", v.principal, times, round(statistics.mean(sizes))))
            print(
                f"  {rows[-1][0]:<58} {v.principal:<6} p50 {statistics.median(rows[-1][2]):8.2f} ms"
                f"  p99 {percentile(rows[-1][2], 0.99):8.2f} ms",
                flush=True,
            )
    print()
    print(f"HTTP, {requests} sequential requests each, limit={PAGE} (p50 / p99 in ms; items per page)")
    print(f"  {'endpoint':<58} {'as':<6} {'p50':>8} {'p99':>8} {'items':>6}")
    for name, principal, times, size in rows:
        print(
            f"  {name:<58} {principal:<6} {statistics.median(times):8.2f} {percentile(times, 0.99):8.2f} {size:6d}"
        )


def key(v: Variant) -> str:
    return f"{v.name}/{v.principal}"


# --- in SQL ---------------------------------------------------------------------------------------------------


class Recorder:
    """Runs what a repo function sends, and keeps each statement to be explained afterwards."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements: list[tuple[Any, Any]] = []

    async def execute(self, query: Any, params: Any = None) -> Any:
        self.statements.append((query, params))
        return await self.conn.execute(query, params)


async def measure_sql(
    url: str, world: World, todo: list[Variant], deep: dict[str, list[str]], runs: int
) -> None:
    """Each list query exactly as the endpoint sends it, under EXPLAIN (ANALYZE, TIMING OFF): as
    `authenticated` with the caller's claims (RLS) and as the owner with the same claims (RLS bypassed),
    alternately (each goes first every other run); medians of planning + execution time and of buffers
    touched, after a warm-up."""

    async def count_by_status(conn: Any, _: str | None) -> Any:
        cur = await conn.execute(
            "select status, count(*) as n from leads where campaign_id = %s group by status",
            (world.tenants["A"].campaigns[0],),
        )
        return await cur.fetchall()

    warm = max(1, min(3, runs // 10))
    extra = [Variant("count of a campaign's leads by status", "A", "", {}, count_by_status, None)]
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:

        @contextlib.asynccontextmanager
        async def scope(principal: str, rls: bool) -> Any:
            async with conn.transaction():
                if rls:
                    await conn.execute("set local role authenticated")
                claims = json.dumps(claims_of(world, principal))
                await conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
                yield

        async def explained(
            statements: list[tuple[Any, Any]], principal: str, rls: bool
        ) -> tuple[float, int]:
            ms, buffers = 0.0, 0
            async with scope(principal, rls):
                for query, params in statements:
                    text = sql.SQL(query) if isinstance(query, str) else query
                    explain = sql.SQL("explain (analyze, buffers, timing off, format json) ") + text
                    plan = (await (await conn.execute(explain, params)).fetchone())["QUERY PLAN"][0]
                    ms += plan["Planning Time"] + plan["Execution Time"]
                    buffers += plan["Plan"]["Shared Hit Blocks"] + plan["Plan"]["Shared Read Blocks"]
            return ms, buffers

        print()
        print(
            f"SQL, each list query as the endpoint sends it, EXPLAIN ANALYZE, median of {runs}:"
            " planning + execution ms and buffers, with RLS and without"
        )
        print(f"  {'query':<58} {'as':<6} {'RLS':>9} {'no RLS':>9} {'ratio':>6} {'buffers':>13}")
        for v in [*todo, *extra]:
            for kind, cursor_list in (("first", [None]), ("deep", deep.get(key(v), []))):
                if not cursor_list or v.sql is None:
                    continue
                with_rls, without, buf_rls, buf_owner = [], [], [], []
                for n in range(runs + warm):
                    recorder = Recorder(conn)
                    async with scope(v.principal, True):
                        await v.sql(recorder, cursor_list[n % len(cursor_list)])
                    # Both ways once untimed, so neither is timed reading pages only it uses (the owner's
                    # plan may pick another of two equivalent indexes); then alternate which goes first.
                    await explained(recorder.statements, v.principal, False)
                    first_rls = n % 2 == 0
                    t1, b1 = await explained(recorder.statements, v.principal, first_rls)
                    t2, b2 = await explained(recorder.statements, v.principal, not first_rls)
                    (t_rls, b_rls), (t_owner, b_owner) = (
                        ((t1, b1), (t2, b2)) if first_rls else ((t2, b2), (t1, b1))
                    )
                    if n >= warm:
                        with_rls.append(t_rls)
                        without.append(t_owner)
                        buf_rls.append(b_rls)
                        buf_owner.append(b_owner)
                m_rls, m_owner = statistics.median(with_rls), statistics.median(without)
                label = v.name if not v.path else f"{v.name} [{kind}]"
                buffers = f"{statistics.median(buf_rls):.0f}/{statistics.median(buf_owner):.0f}"
                print(
                    f"  {label:<58} {v.principal:<6} {m_rls:9.3f} {m_owner:9.3f} {m_rls / m_owner:6.2f}"
                    f" {buffers:>13}",
                    flush=True,
                )


# --- main -----------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads to load (90/10 over two clients)")
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per endpoint and page kind")
    parser.add_argument("--sql-runs", type=int, default=30, help="runs of each list query in SQL, per mode")
    parser.add_argument("--database-url", help="a server to create the bench database on (default: embedded)")
    parser.add_argument(
        "--reuse-database", help="measure a database this bench loaded before (migrations applied)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (with --database-url)")
    parser.add_argument("--skip-http", action="store_true", help="measure in SQL only")
    args = parser.parse_args()

    from revos import migrations

    workdir = Path(tempfile.mkdtemp(prefix="ras-w-", dir="/tmp"))
    try:
        with server_url(args.database_url or args.reuse_database) as root:
            if args.reuse_database:
                url = args.reuse_database
                migrations.migrate(url)
                world = read_world(url)
            else:
                name = f"api_scale_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(root, autocommit=True) as conn:
                    conn.execute(f'create database "{name}"')
                url = with_database(root, name)
                migrations.migrate(url)
                log(f"database {name} migrated; loading {args.leads:,} leads")
                world = load(url, args.leads)
            todo = variants(world)
            deep = {key(v): cursors(url, v.positions) for v in todo}
            if not args.skip_http:
                with serve(url, workdir) as base:
                    log(f"revos serve on {base}")
                    measure_http(base, world, todo, deep, args.requests)
            asyncio.run(measure_sql(url, world, todo, deep, args.sql_runs))
            if not args.reuse_database and not args.keep and args.database_url:
                with psycopg.connect(root, autocommit=True) as conn:
                    conn.execute(f'drop database "{name}" with (force)')
            elif args.keep:
                log(f"kept {url}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
