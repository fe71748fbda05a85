"""One factory per table: `await make_x(conn, **overrides)` inserts one row with sane defaults, written as
the owner (the way an operator or another part of revOS would have created it), and returns it.

Columns a table needs and no default can guess (a client, a campaign, ...) are passed as overrides; a dict
value is stored as JSON. `conn` is an asynchronous connection as the owner (the `owner` fixture, or
`tests.support.connect(url)` for a database of the test's own)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

Conn = psycopg.AsyncConnection[Any]
Row = dict[str, Any]


def tag(length: int = 10) -> str:
    """A fresh random suffix, for names that must be unique."""
    return uuid.uuid4().hex[:length]


async def insert(conn: Conn, table: str, values: dict[str, Any]) -> Row:
    """Insert `values` into `table` and return the new row (dicts stored as JSON)."""
    values = {k: Jsonb(v) if isinstance(v, dict) else v for k, v in values.items()}
    query = sql.SQL("insert into {} ({}) values ({}) returning *").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    row = await (await cur.execute(query, list(values.values()))).fetchone()
    assert row is not None
    return row


async def make_agency(conn: Conn, **overrides: Any) -> Row:
    slug = f"ag-{tag()}"
    return await insert(conn, "agencies", {"name": f"Agency {slug}", "slug": slug} | overrides)


async def make_client(conn: Conn, **overrides: Any) -> Row:
    """A client of a new agency, unless `agency_id` is given (None: a client of no agency)."""
    if "agency_id" not in overrides:
        overrides["agency_id"] = (await make_agency(conn))["id"]
    return await insert(conn, "clients", {"name": f"Client {tag(8)}"} | overrides)


async def make_user(conn: Conn, **overrides: Any) -> Row:
    """An admin of `client_id`."""
    return await insert(conn, "users", {"email": f"{tag()}@example.com", "role": "admin"} | overrides)


async def make_api_key(conn: Conn, **overrides: Any) -> Row:
    values = {
        "name": f"key {tag(6)}",
        "key_prefix": f"rk_{tag(16)}",
        "key_hash": hashlib.sha256(tag().encode()).hexdigest(),
    }
    return await insert(conn, "api_keys", values | overrides)


async def make_linkedin_account(conn: Conn, **overrides: Any) -> Row:
    """An active account of `client_id`; its credential columns hold placeholder ciphertext."""
    values = {
        "account_name": f"acct-{tag(8)}",
        "linkedin_email": b"\x00",
        "linkedin_password": b"\x00",
        "status": "active",
        "provider_status": "OK",
    }
    return await insert(conn, "linkedin_accounts", values | overrides)


async def make_lead_magnet(conn: Conn, **overrides: Any) -> Row:
    """A PDF of `client_id` (the file itself is not written)."""
    values = {
        "name": "The Growth Guide",
        "file_path": f"{overrides.get('client_id')}/{tag(32)}.pdf",
        "file_type": "application/pdf",
        "file_size": 10,
    }
    return await insert(conn, "lead_magnets", values | overrides)


async def make_webhook_config(conn: Conn, **overrides: Any) -> Row:
    values = {"name": f"hook-{tag(6)}", "url": "https://esp.example.com/hook"}
    return await insert(conn, "webhook_configs", values | overrides)


async def make_campaign(conn: Conn, **overrides: Any) -> Row:
    """A campaign of `client_id` with the trigger word GUIDE (a draft, unless `status` says otherwise)."""
    values = {"name": f"Campaign {tag(8)}", "trigger_word": "GUIDE", "trigger_words": ["GUIDE"]}
    return await insert(conn, "campaigns", values | overrides)


async def make_post(conn: Conn, **overrides: Any) -> Row:
    """A post of `campaign_id` by `linkedin_account_id` (a draft, unless `status` says otherwise)."""
    return await insert(conn, "posts", {"content": "Comment GUIDE below"} | overrides)


async def make_comment(conn: Conn, **overrides: Any) -> Row:
    """A comment on `post_id`."""
    author = overrides.get("author_linkedin_id") or f"ACo{tag()}"
    values = {
        "unipile_comment_id": f"c-{tag(12)}",
        "author_name": "Ada Lovelace",
        "author_linkedin_id": author,
        "author_profile_url": f"https://www.linkedin.com/in/{author}/",
        "content": "GUIDE please",
    }
    return await insert(conn, "comments", values | overrides)


async def make_lead(conn: Conn, **overrides: Any) -> Row:
    """A lead of `campaign_id`."""
    return await insert(conn, "leads", {"linkedin_id": f"li-{tag()}"} | overrides)


async def make_dm_sequence(conn: Conn, **overrides: Any) -> Row:
    """The DM sequence of `lead_id` in `campaign_id`."""
    return await insert(conn, "dm_sequences", dict(overrides))


async def make_webhook_delivery(conn: Conn, **overrides: Any) -> Row:
    """A delivery of `lead_id` to `webhook_config_id`."""
    return await insert(conn, "webhook_deliveries", {"payload": {}} | overrides)
