"""Rules of lead delivery: endpoint configs, secrets, events, replay. Never commits: the request or the
job owns the transaction. HTTP happens in `dispatcher`, after the enqueueing transaction commits.

For the lead engine:
    delivery_id = await enqueue_lead_captured(conn, client_id=..., lead_id=...)
inside its own transaction; a periodic task then calls `dispatcher.deliver_due(db, clock=..., limit=...)`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID, uuid4

from revos import events
from revos.clock import utcnow
from revos.config import Settings
from revos.db.pool import Conn
from revos.errors import Conflict, NotFound, ValidationFailed
from revos.leads.lifecycle import handover
from revos.runtime import Runtime
from revos.security import ssrf
from revos.security.vault import Vault
from revos.webhooks import payloads, repo, schemas, signing

TABLE = "webhook_configs"


def loopback_allowed(settings: Settings) -> bool:
    """Plain-http/loopback receivers: a development and test convenience, never in production."""
    return settings.webhook_allow_http_loopback and not settings.is_production


class Sealer(Protocol):
    async def seal(self, *, client_id: UUID, column: str, row_id: UUID, value: str) -> bytes: ...

    async def open(self, *, client_id: UUID, column: str, row_id: UUID, ciphertext: bytes) -> str: ...


class ConnSealer:
    """Encrypts config secrets with the Vault in the caller's transaction (AAD binds
    webhook_configs/<column>/<row id>): a request that fails writes neither row nor ciphertext."""

    def __init__(self, conn: Conn, vault: Vault) -> None:
        self.conn = conn
        self.vault = vault

    async def seal(self, *, client_id: UUID, column: str, row_id: UUID, value: str) -> bytes:
        return await self.vault.encrypt(
            self.conn, client_id=client_id, table=TABLE, column=column, row_id=row_id, value=value
        )

    async def open(self, *, client_id: UUID, column: str, row_id: UUID, ciphertext: bytes) -> str:
        return await self.vault.decrypt_text(
            self.conn, client_id=client_id, table=TABLE, column=column, row_id=row_id, ciphertext=ciphertext
        )


# configs --------------------------------------------------------------------------------------------


async def check_url(settings: Settings, url: str, resolver: ssrf.Resolver | None = None) -> str:
    """SSRF rules at save time: a 422 naming the problem, before anything is written."""
    target = await ssrf.check_url(url, allow_http_loopback=loopback_allowed(settings), resolver=resolver)
    return target.url


async def create_config(
    conn: Conn,
    *,
    sealer: Sealer,
    settings: Settings,
    client_id: UUID,
    body: schemas.WebhookConfigCreate,
    resolver: ssrf.Resolver | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Returns the row and the signing secret in clear (the only time it is ever available)."""
    if not await repo.client_exists(conn, client_id):
        raise NotFound("client not found")
    config_id = uuid4()
    values: dict[str, Any] = {
        "id": config_id,
        "client_id": client_id,
        "name": body.name,
        "esp_type": body.esp_type,
        **_config_fields(body),
    }
    secret: str | None = None
    if body.esp_type == "convertkit":
        assert body.kit is not None
        # Kit is called with the client's API key; the base URL is the operator's setting.
        values["url"] = settings.kit_base_url.rstrip("/")
        values["esp_settings"] = {"form_id": body.kit.form_id, "tag_id": body.kit.tag_id}
        values["esp_credentials"] = await sealer.seal(
            client_id=client_id,
            column="esp_credentials",
            row_id=config_id,
            value=json.dumps({"api_key": body.kit.api_key.get_secret_value()}),
        )
    else:
        assert body.url is not None
        values["url"] = await check_url(settings, body.url, resolver)
        secret = signing.generate_secret()
        values["secret"] = await sealer.seal(
            client_id=client_id, column="secret", row_id=config_id, value=secret
        )
    row = await repo.insert_config(conn, values)
    return row, secret


def _config_fields(body: schemas._ConfigFields) -> dict[str, Any]:
    fields = body.model_dump(
        exclude_unset=True,
        include={
            "headers",
            "retry_enabled",
            "max_retries",
            "retry_delay_ms",
            "timeout_ms",
            "active",
            "events",
        },
    )
    if body.all_campaigns is not None:
        fields["all_campaigns"] = body.all_campaigns
    return {k: v for k, v in fields.items() if v is not None}


async def get_config(conn: Conn, config_id: UUID, *, for_update: bool = False) -> dict[str, Any]:
    row = await repo.get_config(conn, config_id, for_update=for_update)
    if row is None:
        raise NotFound("webhook config not found")
    return row


async def update_config(
    conn: Conn,
    *,
    sealer: Sealer,
    settings: Settings,
    config_id: UUID,
    body: schemas.WebhookConfigUpdate,
    resolver: ssrf.Resolver | None = None,
) -> dict[str, Any]:
    row = await get_config(conn, config_id, for_update=True)
    changes = _config_fields(body)
    if body.name is not None:
        changes["name"] = body.name
    if body.url is not None:
        if row["esp_type"] == "convertkit":
            raise ValidationFailed("a convertkit config has no url to change")
        changes["url"] = await check_url(settings, body.url, resolver)
    if body.headers and row["esp_type"] == "convertkit":
        raise ValidationFailed("custom headers are not sent to Kit")
    if body.kit is not None:
        if row["esp_type"] != "convertkit":
            raise ValidationFailed("kit settings are only for esp_type 'convertkit'")
        kit = body.kit.model_dump(exclude_unset=True)
        settings_now = dict(row.get("esp_settings") or {})
        settings_now.update({k: kit[k] for k in ("form_id", "tag_id") if k in kit})
        changes["esp_settings"] = settings_now
        if body.kit.api_key is not None:
            changes["esp_credentials"] = await sealer.seal(
                client_id=row["client_id"],
                column="esp_credentials",
                row_id=config_id,
                value=json.dumps({"api_key": body.kit.api_key.get_secret_value()}),
            )
    if body.active is True and not row["active"]:
        # Turned back on by a person: the failure streak and the reason are history now.
        changes.update(disabled_reason=None, disabled_at=None, consecutive_failures=0)
    elif body.active is False and row["active"]:
        changes.update(disabled_reason="turned off by a user", disabled_at=utcnow())
    updated = await repo.update_config(conn, config_id, changes)
    assert updated is not None
    return updated


async def rotate_secret(
    conn: Conn,
    *,
    sealer: Sealer,
    settings: Settings,
    config_id: UUID,
    overlap_seconds: int | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], str]:
    """A new secret signs from now on; the current one keeps signing for the overlap window (both
    signatures in `webhook-signature`), so receivers can switch without dropping a delivery."""
    row = await get_config(conn, config_id, for_update=True)
    if row["esp_type"] == "convertkit" or row["secret"] is None:
        raise Conflict("this config does not sign its deliveries (convertkit): nothing to rotate")
    now = now or utcnow()
    overlap = settings.webhook_secret_overlap_seconds if overlap_seconds is None else overlap_seconds
    client_id = row["client_id"]
    new_secret = signing.generate_secret()
    changes: dict[str, Any] = {
        "secret": await sealer.seal(client_id=client_id, column="secret", row_id=config_id, value=new_secret),
        "secret_rotated_at": now,
        "secret_previous": None,
        "secret_previous_expires_at": None,
    }
    if overlap > 0:
        current = await sealer.open(
            client_id=client_id, column="secret", row_id=config_id, ciphertext=bytes(row["secret"])
        )
        # Re-sealed for its new column: the AAD binds a ciphertext to the column it lives in.
        changes["secret_previous"] = await sealer.seal(
            client_id=client_id, column="secret_previous", row_id=config_id, value=current
        )
        changes["secret_previous_expires_at"] = now + timedelta(seconds=overlap)
    updated = await repo.update_config(conn, config_id, changes)
    assert updated is not None
    return updated, new_secret


async def delete_config(conn: Conn, config_id: UUID) -> None:
    row = await get_config(conn, config_id, for_update=True)
    used_by = await repo.campaigns_using(conn, row["id"])
    if used_by:
        raise Conflict(f"the config is used by campaign(s) {', '.join(used_by)}; detach it first")
    await repo.delete_config(conn, config_id)


# events ---------------------------------------------------------------------------------------------


async def enqueue_event(
    conn: Conn,
    *,
    client_id: UUID,
    lead_id: UUID,
    event_type: str,
    at: datetime | None = None,
    extra: dict[str, Any] | None = None,
    event_key: str | None = None,
) -> list[UUID]:
    """Record one delivery per endpoint that receives `event_type` for this lead, in the caller's
    transaction (commits or rolls back with the write that caused the event). Idempotent per
    (endpoint, event): calling twice never creates a second delivery, hence never a second webhook-id.
    """
    if event_type not in schemas.EVENT_TYPES:
        raise ValidationFailed(f"unknown event type {event_type!r}")
    lead, configs = await repo.lead_and_targets(
        conn, client_id=client_id, lead_id=lead_id, event_type=event_type
    )
    if lead is None:
        raise NotFound("lead not found")
    at = at or utcnow()
    if not configs:
        return []
    campaign = {"id": lead["campaign_id"], "name": lead["campaign_name"]} if lead["campaign_id"] else None
    payload = payloads.envelope(event_type, at, payloads.lead_data(lead, campaign, **(extra or {})))
    key = event_key or f"{event_type}:{lead_id}"
    ids = []
    for config in configs:
        values: dict[str, Any] = {
            "client_id": client_id,
            "webhook_config_id": config["id"],
            "lead_id": lead_id,
            "payload": payload,
            "event_type": event_type,
            "event_key": key,
            "attempt_count": 0,
            "created_at": at,
        }
        if config["active"]:
            values.update(status="pending", next_retry_at=at)
        else:
            # Not dropped: logged as undeliverable, and replayable once the endpoint is back on.
            values.update(
                status="failed",
                next_retry_at=None,
                error_message=f"not sent: endpoint disabled ({config['disabled_reason'] or 'inactive'})",
            )
        delivery_id, _ = await repo.insert_delivery(conn, values)
        ids.append(delivery_id)
    return ids


async def enqueue_lead_captured(conn: Conn, *, client_id: UUID, lead_id: UUID) -> UUID | None:
    """Called by the lead engine in its transaction when a lead's email is captured.

    Returns the delivery to the campaign's endpoint (or the first client-wide subscription), or None
    when nobody receives the event. Delivery happens later, in `dispatcher.deliver_due`; the lead moves
    to `webhook_sent` when an endpoint answers 2xx.
    """
    ids = await enqueue_event(conn, client_id=client_id, lead_id=lead_id, event_type="lead.captured")
    return ids[0] if ids else None


async def enqueue_lead_completed(conn: Conn, *, client_id: UUID, lead_id: UUID) -> list[UUID]:
    return await enqueue_event(conn, client_id=client_id, lead_id=lead_id, event_type="lead.completed")


async def enqueue_link_clicked(
    conn: Conn, *, client_id: UUID, lead_id: UUID, clicked_at: datetime, url: str | None = None
) -> list[UUID]:
    return await enqueue_event(
        conn,
        client_id=client_id,
        lead_id=lead_id,
        event_type="link.clicked",
        at=clicked_at,
        extra={"clicked_at": clicked_at, "url": url},
        # Every click is its own event.
        event_key=f"link.clicked:{lead_id}:{clicked_at.isoformat()}",
    )


async def create_test_delivery(conn: Conn, *, config_id: UUID, now: datetime | None = None) -> UUID:
    """A `webhook.test` event with a sample lead, sent once right away (never retried)."""
    config = await get_config(conn, config_id)
    now = now or utcnow()
    sample = payloads.sample_lead_payloads(now)[0]
    payload = payloads.envelope(schemas.TEST_EVENT, now, {**sample["data"], "test": True})
    delivery_id, _ = await repo.insert_delivery(
        conn,
        {
            "client_id": config["client_id"],
            "webhook_config_id": config_id,
            "payload": payload,
            "event_type": schemas.TEST_EVENT,
            "event_key": f"{schemas.TEST_EVENT}:{uuid4()}",
            "attempt_count": 0,
            "status": "pending",
            "next_retry_at": now,
            "created_at": now,
        },
    )
    return delivery_id


# replay ---------------------------------------------------------------------------------------------


async def replay_delivery(conn: Conn, *, delivery_id: UUID, now: datetime | None = None) -> dict[str, Any]:
    """Send one delivery again (same webhook-id: it is the same event) with a fresh retry budget."""
    delivery = await repo.get_delivery(conn, delivery_id)
    if delivery is None:
        raise NotFound("delivery not found")
    if delivery["webhook_config_id"] is None:
        raise Conflict("the delivery's endpoint no longer exists")
    await _require_active(conn, delivery["webhook_config_id"])
    if not await repo.requeue(conn, at=now or utcnow(), delivery_id=delivery_id):
        raise Conflict("the delivery is being sent right now; try again in a moment")
    row = await repo.get_delivery(conn, delivery_id)
    assert row is not None
    return row


async def replay_failed(conn: Conn, *, config_id: UUID, now: datetime | None = None) -> list[UUID]:
    """Re-queue every delivery of the config that gave up (retries exhausted, endpoint was disabled)."""
    await _require_active(conn, config_id)
    return await repo.requeue(conn, at=now or utcnow(), config_id=config_id)


async def _require_active(conn: Conn, config_id: UUID) -> None:
    config = await get_config(conn, config_id)
    if not config["active"]:
        raise Conflict(
            f"the endpoint is disabled ({config['disabled_reason'] or 'inactive'}); "
            "turn it back on (PATCH active=true) before replaying"
        )


async def delivery_detail(conn: Conn, delivery_id: UUID) -> dict[str, Any]:
    delivery = await repo.get_delivery(conn, delivery_id)
    if delivery is None:
        raise NotFound("delivery not found")
    return {**delivery, "attempts": await repo.list_attempts(conn, delivery_id)}


def delivery_view(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "webhook_id": signing.message_id(row["id"])}


# Zapier REST hooks ---------------------------------------------------------------------------------


async def zapier_subscribe(
    conn: Conn,
    *,
    sealer: Sealer,
    settings: Settings,
    client_id: UUID,
    body: schemas.ZapierSubscribe,
    resolver: ssrf.Resolver | None = None,
) -> dict[str, Any]:
    """A Zap subscribes itself: a client-wide zapier config pointed at its hookUrl."""
    create = schemas.WebhookConfigCreate(
        name=body.name or f"Zapier {body.event} {uuid4().hex[:8]}",
        esp_type="zapier",
        url=body.hookUrl,
        events=[body.event],
        all_campaigns=True,
    )
    row, _ = await create_config(
        conn, sealer=sealer, settings=settings, client_id=client_id, body=create, resolver=resolver
    )
    return row


async def zapier_unsubscribe(conn: Conn, body: schemas.ZapierUnsubscribe) -> int:
    if body.id is not None:
        row = await repo.get_config(conn, body.id, for_update=True)
        if row is None or row["esp_type"] != "zapier":
            raise NotFound("subscription not found")
        rows = [row]
    else:
        assert body.hookUrl is not None
        rows = await repo.find_config_by_url(conn, esp_type="zapier", url=body.hookUrl)
    for row in rows:
        await delete_config(conn, row["id"])
    return len(rows)


# --- reactions to the lead's life (revos.events.SUBSCRIPTIONS) -------------------------------------------


async def on_lead_captured(runtime: Runtime, conn: Conn, event: events.LeadCaptured) -> None:
    """Queue the captured lead for the client's webhook and put it on the lead's timeline."""
    delivery_id = await enqueue_lead_captured(conn, client_id=event.client_id, lead_id=event.lead_id)
    await handover.delivery_queued(conn, event.lead_id, delivery_id)


async def on_link_clicked(runtime: Runtime, conn: Conn, event: events.LinkClicked) -> None:
    await enqueue_link_clicked(
        conn, client_id=event.client_id, lead_id=event.lead_id, clicked_at=event.clicked_at
    )


async def on_lead_completed(runtime: Runtime, conn: Conn, event: events.LeadCompleted) -> None:
    await enqueue_lead_completed(conn, client_id=event.client_id, lead_id=event.lead_id)
