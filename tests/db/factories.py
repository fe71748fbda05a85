"""Row factories for every table, and a seeded world of tenants for the isolation and audit tests.

Each table is registered with how tenants may use it (`Access`) and a `build` function returning the
column values of a new valid row for a given tenant. A table that exists in the database but not here
makes the isolation tests fail with a message naming it: register it, do not skip it.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from tests.support import Tenant


class Access(enum.Enum):
    TENANT = "tenant"  # client users and agency staff: full CRUD within their clients
    CLIENTS = "clients"  # client users read their own; agency staff CRUD their agency's
    AGENCIES = "agencies"  # client users and staff read; staff update their own; nobody else writes
    READ_ONLY = "read_only"  # tenants read their own rows, nobody but the database writes (audit_log)
    SERVICE_ONLY = "service_only"  # tenants hold no privilege at all (key material)


def staff_claims(agency_id: uuid.UUID) -> dict[str, Any]:
    return {
        "sub": str(uuid.uuid4()),
        "role": "authenticated",
        "agency_id": str(agency_id),
        "user_role": "admin",
    }


Build = Callable[[Tenant, int], dict[str, Any]]


@dataclass(frozen=True)
class TableSpec:
    access: Access
    build: Build


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def user_values(client_id: uuid.UUID) -> dict[str, Any]:
    """A member of `client_id` (the role the database gives by default)."""
    return {"client_id": client_id, "email": f"{_tag()}@example.test"}


def _ref(t: Tenant, table: str) -> Any:
    return t.ids[table]


TABLES: dict[str, TableSpec] = {
    "agencies": TableSpec(Access.AGENCIES, lambda t, n: {"name": f"Agency {_tag()}", "slug": f"ag-{_tag()}"}),
    "clients": TableSpec(Access.CLIENTS, lambda t, n: {"agency_id": t.agency_id, "name": f"Client {_tag()}"}),
    "users": TableSpec(Access.TENANT, lambda t, n: user_values(t.client_id)),
    "linkedin_accounts": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "user_id": _ref(t, "users"),
            "account_name": f"li-{_tag()}",
            "linkedin_email": b"\x01ciphertext-email",
            "linkedin_password": b"\x01ciphertext-password",
        },
    ),
    "webhook_configs": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "name": f"hook-{_tag()}",
            "url": "https://hooks.example.test/in",
            "secret": b"\x01ciphertext-secret",
        },
    ),
    "lead_magnets": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "name": f"Guide {_tag()}",
            "file_path": f"magnets/{_tag()}.pdf",
        },
    ),
    "campaigns": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "name": f"Campaign {_tag()}",
            "trigger_word": "GUIDE",
            "lead_magnet_id": _ref(t, "lead_magnets"),
            "webhook_config_id": _ref(t, "webhook_configs"),
        },
    ),
    "posts": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "campaign_id": _ref(t, "campaigns"),
            "linkedin_account_id": _ref(t, "linkedin_accounts"),
            "content": "Comment GUIDE and I will send it.",
        },
    ),
    "comments": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "post_id": _ref(t, "posts"),
            "author_name": "Ada Lovelace",
            "author_linkedin_id": f"ACo{_tag()}",
            "content": "GUIDE please",
        },
    ),
    "leads": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "campaign_id": _ref(t, "campaigns"),
            "comment_id": _ref(t, "comments"),
            "linkedin_id": f"ACo{_tag()}",
        },
    ),
    "dm_sequences": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "lead_id": _ref(t, "leads") if n == 0 else None,  # one sequence per lead
            "campaign_id": _ref(t, "campaigns"),
        },
    ),
    "dm_messages": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "dm_sequence_id": _ref(t, "dm_sequences"),
            "direction": "outbound",
            "message": "Hi! Which email should I send the guide to?",
        },
    ),
    "webhook_deliveries": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "webhook_config_id": _ref(t, "webhook_configs"),
            "lead_id": _ref(t, "leads"),
            "payload": Jsonb({"email": "ada@example.test"}),
        },
    ),
    "webhook_delivery_attempts": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "delivery_id": _ref(t, "webhook_deliveries"),
            "attempt_number": n + 1,
            "attempted_at": "2026-01-05T09:03:00Z",
            "status": "failed",
            "status_code": 503,
        },
    ),
    "pods": TableSpec(Access.TENANT, lambda t, n: {"client_id": t.client_id, "name": f"Pod {_tag()}"}),
    "pod_members": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "pod_id": _ref(t, "pods"),
            # unique (pod_id, user_id): only the seeded member names the tenant's user
            "user_id": _ref(t, "users") if n == 0 else None,
            # unique (pod_id, linkedin_account_id) too
            "linkedin_account_id": _ref(t, "linkedin_accounts") if n == 0 else None,
        },
    ),
    "pod_posts": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "pod_id": _ref(t, "pods"),
            "author_member_id": _ref(t, "pod_members"),
            "post_url": f"https://www.linkedin.com/feed/update/urn:li:activity:{n}{_tag()}",
            "published_at": "2026-01-05T09:00:00Z",
        },
    ),
    "pod_activities": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "pod_id": _ref(t, "pods"),
            "post_id": _ref(t, "posts"),
            "post_url": "https://www.linkedin.com/feed/update/urn:li:activity:1",
            "post_author_id": _ref(t, "pod_members"),
            "member_id": _ref(t, "pod_members"),
            "engagement_type": "like",
        },
    ),
    "cartridges": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "user_id": _ref(t, "users"),
            "tier": "user",
            "name": f"Voice {_tag()}",
            "voice": Jsonb({"tone": "dry"}),
            # One active cartridge per user (idx_cartridges_one_active): later rows are inactive drafts.
            "active": n == 0,
        },
    ),
    # Written by the database on every change of a cartridge; tenants only read them.
    "cartridge_versions": TableSpec(
        Access.READ_ONLY,
        lambda t, n: {
            "client_id": t.client_id,
            "cartridge_id": _ref(t, "cartridges"),
            "version": 1000 + n,
            "change": "update",
            "snapshot": Jsonb({"tier": "user"}),
            "changed_by": "forger",
        },
    ),
    "campaign_skills": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "campaign_id": _ref(t, "campaigns"),
            "skill_name": f"s-{_tag()}",
        },
    ),
    "skill_executions": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "campaign_id": _ref(t, "campaigns"),
            "skill_name": "copywriting",
        },
    ),
    "memories": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "user_id": _ref(t, "users"),
            "memory_type": "successful_post",
            "content": "Posts opening with a number did well.",
        },
    ),
    "api_keys": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "name": f"key {_tag()}",
            "key_prefix": f"rk_{_tag()}",
            "key_hash": hashlib.sha256(_tag().encode()).hexdigest(),
            "created_by": _ref(t, "users"),
        },
    ),
    "encryption_keys": TableSpec(
        Access.SERVICE_ONLY,
        lambda t, n: {
            "client_id": t.client_id,
            "key_version": n + 1,
            "wrapped_key": b"\x01wrapped",
            "master_key_id": "test",
            "active": n == 0,
        },
    ),
    # Tables of later migrations (the lead engine's action ledger, budgets, inbox and timeline).
    "linkedin_actions": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "linkedin_account_id": _ref(t, "linkedin_accounts"),
            "kind": "dm",
            "action_key": f"dm:{_tag()}:1",
        },
    ),
    "account_daily_usage": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "linkedin_account_id": _ref(t, "linkedin_accounts"),
            "day": "2026-01-05",
            "kind": f"dm-{_tag()}",
        },
    ),
    "inbound_events": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "linkedin_account_id": _ref(t, "linkedin_accounts"),
            "source": "messaging",
            "event_key": f"message:{_tag()}",
            "payload": Jsonb({}),
        },
    ),
    "lead_events": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "lead_id": _ref(t, "leads"),
            "occurred_at": "2026-01-05T09:00:00Z",
            "kind": "comment_detected",
        },
    ),
    # The AI layer (revos.ai): a client's AI settings and its monthly token usage.
    "ai_settings": TableSpec(Access.TENANT, lambda t, n: {"client_id": t.client_id, "model": f"m-{_tag()}"}),
    "ai_usage": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "month": "2026-02-01",
            "provider": "openai",
            "model": f"m-{_tag()}",
        },
    ),
    # Written by retention (service role) when it purges the oldest audit entries of a client.
    "audit_anchors": TableSpec(
        Access.READ_ONLY,
        lambda t, n: {
            "client_id": t.client_id,
            # Far past any seeded chain, so it anchors nothing the audit tests verify.
            "seq": 1_000_000_000 + n,
            "hash": bytes(32),
        },
    ),
    # Sign-in for people (revos.identity): passwords and sessions are the service role's alone; one-time
    # links are made in an admin's RLS transaction; sign-in attempts belong to no client.
    "user_credentials": TableSpec(
        Access.SERVICE_ONLY,
        lambda t, n: {"client_id": t.client_id, "user_id": _ref(t, "users"), "password_hash": "$argon2id$x"},
    ),
    "web_sessions": TableSpec(
        Access.SERVICE_ONLY,
        lambda t, n: {
            "client_id": t.client_id,
            "user_id": _ref(t, "users"),
            "token_hash": hashlib.sha256(_tag().encode()).digest(),
            "user_role": "member",
            "expires_at": "2099-01-01T00:00:00Z",
        },
    ),
    "user_tokens": TableSpec(
        Access.TENANT,
        lambda t, n: {
            "client_id": t.client_id,
            "user_id": _ref(t, "users"),
            "purpose": "invite",
            "token_hash": hashlib.sha256(_tag().encode()).digest(),
            "expires_at": "2099-01-01T00:00:00Z",
        },
    ),
    "sign_in_attempts": TableSpec(
        Access.SERVICE_ONLY,
        lambda t, n: {
            "account_key": hashlib.sha256(_tag().encode()).hexdigest(),
            "ip": "192.0.2.1",
            "succeeded": False,
        },
    ),
    # Audit entries waiting for the chain (the statement triggers write them, the sealer moves them):
    # tenants hold no privilege on them; the service role may read them.
    "audit_pending": TableSpec(
        Access.SERVICE_ONLY,
        lambda t, n: {
            "client_id": t.client_id,
            "occurred_at": "2026-01-01T00:00:00Z",
            "actor": "forger",
            "actor_role": "member",
            "table_name": "campaigns",
            "row_id": str(uuid.uuid4()),
            "operation": "DELETE",
            "changed_columns": [],
        },
    ),
    "audit_log": TableSpec(
        Access.READ_ONLY,
        lambda t, n: {
            "client_id": t.client_id,
            "seq": 10_000 + n,
            "occurred_at": "2026-01-01T00:00:00Z",
            "actor": "forger",
            "actor_role": "member",
            "table_name": "campaigns",
            "row_id": str(uuid.uuid4()),
            "operation": "DELETE",
            "changed_columns": [],
            "prev_hash": bytes(32),
            "hash": bytes(32),
        },
    ),
}

# Seeding order: parents before children. agencies, clients, users, audit_log and audit_pending are handled
# separately.
SEED_ORDER = [
    "linkedin_accounts",
    "webhook_configs",
    "lead_magnets",
    "campaigns",
    "posts",
    "comments",
    "leads",
    "dm_sequences",
    "dm_messages",
    "webhook_deliveries",
    "webhook_delivery_attempts",
    "pods",
    "pod_members",
    "pod_posts",
    "pod_activities",
    "cartridges",
    "cartridge_versions",
    "campaign_skills",
    "skill_executions",
    "memories",
    "api_keys",
    "encryption_keys",
    "linkedin_actions",
    "account_daily_usage",
    "inbound_events",
    "lead_events",
    "ai_settings",
    "ai_usage",
    "audit_anchors",
    "user_credentials",
    "web_sessions",
    "user_tokens",
    "sign_in_attempts",
]


def insert_row(conn: psycopg.Connection[Any], table: str, values: dict[str, Any]) -> Any:
    """Insert `values` into `table` and return the new row's id."""
    query = sql.SQL("insert into {} ({}) values ({}) returning id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    row = conn.execute(query, list(values.values())).fetchone()
    assert row is not None
    return row["id"] if isinstance(row, dict) else row[0]


def seed_agency(conn: psycopg.Connection[Any]) -> uuid.UUID:
    tenant = Tenant(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    agency_id: uuid.UUID = insert_row(conn, "agencies", TABLES["agencies"].build(tenant, 0))
    return agency_id


def seed_tenant(conn: psycopg.Connection[Any], label: str, agency_id: uuid.UUID) -> Tenant:
    """A client of `agency_id` with one row in every table (run as the owner, committed)."""
    client_id = insert_row(conn, "clients", {"agency_id": agency_id, "name": f"{label} {_tag()}"})
    user_id = insert_row(conn, "users", user_values(client_id))
    ids = {"agencies": agency_id, "clients": client_id, "users": user_id}
    t = Tenant(agency_id, client_id, user_id, label=label, ids=ids)
    rows = conn.execute("select tablename from pg_tables where schemaname = 'public'").fetchall()
    existing = {r["tablename"] if isinstance(r, dict) else r[0] for r in rows}
    # Registered tables whose migration is not in this checkout are simply not seeded.
    for table in (name for name in SEED_ORDER if name in existing):
        t.ids[table] = insert_row(conn, table, TABLES[table].build(t, 0))
    conn.execute("select public.revos_audit_seal(%s)", (client_id,))
    row = conn.execute(
        "select id from audit_log where client_id = %s order by seq limit 1", (client_id,)
    ).fetchone()
    assert row is not None
    t.ids["audit_log"] = row["id"] if isinstance(row, dict) else row[0]
    # A pending entry of this client only now, or sealing above would have moved it into the chain.
    t.ids["audit_pending"] = insert_row(conn, "audit_pending", TABLES["audit_pending"].build(t, 0))
    return t
