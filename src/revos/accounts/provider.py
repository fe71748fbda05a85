"""The one Unipile client of a process, built from settings and shared by the API, tasks and the worker,
and the webhooks Unipile calls revOS back with.

`REVOS_UNIPILE_DSN` is the DSN from the Unipile dashboard (`api1.unipile.com:13111`) or a full URL; the
demo and the tests point it at the simulator (`http://127.0.0.1:<port>`). One pooled HTTP client per
runtime: connections are reused across requests and jobs.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from revos.clock import ScaledClock, get_clock, set_clock
from revos.config import Settings
from revos.errors import RevosError
from revos.linkedin import UnipileClient, Webhook
from revos.linkedin.messaging import WEBHOOK_SECRET_HEADER
from revos.runtime import Runtime

_CLIENT_ATTR = "_revos_unipile_client"
WEBHOOK_SOURCES: dict[str, list[str] | None] = {
    "messaging": ["message_received", "message_read"],
    "account_status": None,
    "users": ["new_relation"],
}


class LinkedInNotConfigured(RevosError):
    status_code = 503
    code = "linkedin_not_configured"


def linkedin_client(runtime: Runtime) -> UnipileClient:
    """The runtime's shared Unipile client (created on first use)."""
    client: UnipileClient | None = runtime.__dict__.get(_CLIENT_ATTR)
    if client is not None:
        return client
    settings = runtime.settings
    if not settings.unipile_dsn or settings.unipile_api_key is None:
        raise LinkedInNotConfigured(
            "LinkedIn is not configured: set REVOS_UNIPILE_DSN and REVOS_UNIPILE_API_KEY "
            "(or run `revos demo`, which uses the built-in simulator)"
        )
    return configure_linkedin_client(
        runtime, settings.unipile_dsn, settings.unipile_api_key.get_secret_value()
    )


def configure_linkedin_client(runtime: Runtime, base_url: str, api_key: str, **options: Any) -> UnipileClient:
    """Point the runtime at a Unipile DSN (or the simulator's URL); replaces the previous client.

    The previous client is not closed here (requests may still use it); `close_linkedin_client` closes
    the current one when the process stops.
    """
    settings = runtime.settings
    options.setdefault("timeout", settings.unipile_timeout_seconds)
    options.setdefault("read_retries", settings.unipile_read_retries)
    # Every job slot may wait on one call, and a pod tick on one per lane.
    options.setdefault("max_connections", max(20, settings.worker_concurrency + settings.pods_execute_lanes))
    client = UnipileClient(base_url, api_key, **options)
    runtime.__dict__[_CLIENT_ATTR] = client
    return client


async def close_linkedin_client(runtime: Runtime) -> None:
    client: UnipileClient | None = runtime.__dict__.pop(_CLIENT_ATTR, None)
    if client is not None:
        await client.aclose()


def unipile_webhook_secret(settings: Settings) -> str:
    """The secret Unipile must send in `X-Revos-Webhook-Secret`.

    REVOS_UNIPILE_WEBHOOK_SECRET when set; otherwise derived from the master key, so a default install
    authenticates its webhooks without one more secret to manage (and rotating the master key rotates it).
    """
    if settings.unipile_webhook_secret is not None and settings.unipile_webhook_secret.get_secret_value():
        return settings.unipile_webhook_secret.get_secret_value()
    settings.require_secrets()
    assert settings.master_key is not None
    key = settings.master_key.get_secret_value().encode()
    return hmac.new(key, b"revos:unipile-webhook-secret", hashlib.sha256).hexdigest()


def webhook_url(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + "/hooks/unipile"


async def ensure_webhooks(runtime: Runtime, client: UnipileClient | None = None) -> list[str]:
    """Subscribe `{public_base_url}/hooks/unipile` to messaging, account_status and users events, once.

    Idempotent: an existing subscription with our URL and our secret is kept; one with our URL and a stale
    secret is replaced. Returns the sources that were (re)created."""
    client = client or linkedin_client(runtime)
    url = webhook_url(runtime.settings)
    secret = unipile_webhook_secret(runtime.settings)
    existing: dict[str, bool] = {}
    async for hook in client.iter_webhooks():
        source = _source_of(hook)
        if hook.request_url != url or source not in WEBHOOK_SOURCES:
            continue
        current = any(
            h.get("key", "").lower() == WEBHOOK_SECRET_HEADER.lower() and h.get("value") == secret
            for h in hook.headers or []
        )
        if current and not existing.get(source):
            existing[source] = True
        else:
            await client.delete_webhook(hook.id)
    created = []
    for source, events in WEBHOOK_SOURCES.items():
        if existing.get(source):
            continue
        await client.create_webhook(
            source,  # type: ignore[arg-type]
            url,
            name=f"revos-{source}",
            secret=secret,
            events=events,
        )
        created.append(source)
    return created


def _source_of(hook: Webhook) -> str | None:
    """Which source a listed webhook serves. Unipile's list does not say (spec §9.1, and the SDK's schema
    has no `source`): ours are named `revos-<source>` when created, so the name tells."""
    if hook.source:
        return hook.source
    name = hook.name or ""
    return name.removeprefix("revos-") if name.startswith("revos-") else None


def install_clock_from_settings(settings: Settings) -> None:
    """REVOS_CLOCK_SPEED > 1: make revos.clock a ScaledClock (every delay, cap window and gap shrinks)."""
    if settings.clock_speed != 1.0 and not isinstance(get_clock(), ScaledClock):
        set_clock(ScaledClock(settings.clock_speed))
