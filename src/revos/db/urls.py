"""Which connection does what: the pooled URL for transactions, the direct one for sessions.

`REVOS_DATABASE_URL` may go through a transaction pooler (PgBouncer or Supavisor in transaction mode,
Supabase's port 6543): every transaction may land on another server connection, so nothing may outlive a
transaction there. revOS's transactions keep everything they set inside themselves (`set local`, the
JWT claims, `pg_advisory_xact_lock`), and with `prepare_threshold=None` psycopg prepares no statement on
the server. What needs a session of its own uses `REVOS_DATABASE_DIRECT_URL` (unset: the same URL): the
worker's queue (LISTEN/NOTIFY, its `search_path`), migrations (a session advisory lock) and backups.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from revos.config import Settings
from revos.db.embedded import resolve_database_url
from revos.errors import ConfigError

# Supabase's transaction pooler (Supavisor) listens on 6543; its session mode and direct connections on 5432.
TRANSACTION_POOLER_PORT = 6543


def pooled_url(settings: Settings) -> str:
    """The URL of the process's pool: the configured one, or the embedded server's."""
    return resolve_database_url(settings.database_url, settings.data_dir)


def through_transaction_pooler(settings: Settings, url: str | None = None) -> bool:
    """Does the pool's URL go through a transaction pooler (REVOS_DATABASE_POOLER, or its port)?"""
    if settings.database_pooler != "auto":
        return settings.database_pooler == "transaction"
    url = url or settings.database_url
    if not url:
        return False
    try:
        return urlsplit(url).port == TRANSACTION_POOLER_PORT
    except ValueError:  # a key=value conninfo, or a port that is not a number: nothing to detect
        return False


def prepare_threshold(settings: Settings, url: str | None = None) -> int | None:
    """psycopg's `prepare_threshold` for the pool: None (never prepare) behind a transaction pooler,
    psycopg's default (prepare a query run 5 times) otherwise."""
    return None if through_transaction_pooler(settings, url) else 5


def session_url(settings: Settings, pooled: str | None = None) -> str:
    """A session connection: REVOS_DATABASE_DIRECT_URL, else the pool's URL (`pooled`, or the settings').
    Behind a transaction pooler a direct URL is required: a session there would not stay on one server
    connection."""
    if settings.database_direct_url:
        return settings.database_direct_url
    url = pooled or pooled_url(settings)
    if through_transaction_pooler(settings, url):
        raise ConfigError(
            "REVOS_DATABASE_URL goes through a transaction pooler: set REVOS_DATABASE_DIRECT_URL to a direct"
            " (or session-mode) connection for the worker's queue, migrations and backups"
        )
    return url
