"""/v1/webhooks: endpoint configs, the delivery log, replay, test events, Zapier REST hooks. Thin."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from revos.api.deps import Ctx, CtxDep
from revos.api.permissions import target_client
from revos.api.routing import ApiRoute
from revos.api.schemas import Page
from revos.clock import get_clock, utcnow
from revos.db.pool import Conn
from revos.webhooks import dispatcher, payloads, repo, schemas, service

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
DeliveryStatus = Annotated[str | None, Query(pattern="^(pending|success|failed)$")]


def _sealer(ctx: Ctx, conn: Conn) -> service.ConnSealer:
    return service.ConnSealer(conn, ctx.runtime.vault)


def _delivery(row: dict[str, Any]) -> schemas.Delivery:
    return schemas.Delivery.model_validate(service.delivery_view(row))


@router.post("/configs", status_code=status.HTTP_201_CREATED)
async def create_config(ctx: CtxDep, body: schemas.WebhookConfigCreate) -> schemas.WebhookConfigCreated:
    ctx.require("webhooks.manage")
    client_id = target_client(ctx.claims, body.client_id)
    async with ctx.tx() as conn:
        row, secret = await service.create_config(
            conn, sealer=_sealer(ctx, conn), settings=ctx.runtime.settings, client_id=client_id, body=body
        )
    return schemas.WebhookConfigCreated(**schemas.WebhookConfig.of(row).model_dump(), secret=secret)


@router.get("/configs")
async def list_configs(
    ctx: CtxDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    esp_type: Annotated[schemas.EspType | None, Query()] = None,
) -> Page[schemas.WebhookConfig]:
    ctx.require("leads.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await repo.list_configs(
            conn, cursor=cursor, limit=limit, client_id=ctx.claims.client_id, esp_type=esp_type
        )
    return Page(items=[schemas.WebhookConfig.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/configs/{config_id}")
async def get_config(ctx: CtxDep, config_id: UUID) -> schemas.WebhookConfig:
    ctx.require("leads.read")
    async with ctx.tx() as conn:
        return schemas.WebhookConfig.of(await service.get_config(conn, config_id))


@router.patch("/configs/{config_id}")
async def update_config(
    ctx: CtxDep, config_id: UUID, body: schemas.WebhookConfigUpdate
) -> schemas.WebhookConfig:
    ctx.require("webhooks.manage")
    async with ctx.tx() as conn:
        row = await service.update_config(
            conn, sealer=_sealer(ctx, conn), settings=ctx.runtime.settings, config_id=config_id, body=body
        )
    return schemas.WebhookConfig.of(row)


@router.delete("/configs/{config_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_config(ctx: CtxDep, config_id: UUID) -> Response:
    ctx.require("webhooks.manage")
    async with ctx.tx() as conn:
        await service.delete_config(conn, config_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/configs/{config_id}/rotate-secret")
async def rotate_secret(
    ctx: CtxDep, config_id: UUID, body: schemas.RotateSecret | None = None
) -> schemas.SecretRotated:
    ctx.require("webhooks.manage")
    async with ctx.tx() as conn:
        row, secret = await service.rotate_secret(
            conn,
            sealer=_sealer(ctx, conn),
            settings=ctx.runtime.settings,
            config_id=config_id,
            overlap_seconds=body.overlap_seconds if body else None,
        )
    return schemas.SecretRotated(
        id=row["id"], secret=secret, previous_secret_expires_at=row["secret_previous_expires_at"]
    )


@router.post("/configs/{config_id}/test")
async def send_test_event(ctx: CtxDep, config_id: UUID) -> schemas.Delivery:
    """Sends a `webhook.test` event with a sample lead now and returns the recorded outcome."""
    ctx.require("webhooks.manage")
    async with ctx.tx() as conn:
        delivery_id = await service.create_test_delivery(conn, config_id=config_id, now=utcnow())
    # Committed: the HTTP call happens outside any transaction.
    rt = ctx.runtime
    await dispatcher.send_now(rt.db, delivery_id, clock=get_clock(), settings=rt.settings, vault=rt.vault)
    async with ctx.tx() as conn:
        row = await repo.get_delivery(conn, delivery_id)
    assert row is not None
    return _delivery(row)


@router.post("/configs/{config_id}/replay-failed")
async def replay_failed(ctx: CtxDep, config_id: UUID) -> schemas.ReplayResult:
    ctx.require("webhooks.manage")
    async with ctx.tx() as conn:
        ids = await service.replay_failed(conn, config_id=config_id)
    return schemas.ReplayResult(replayed=len(ids), delivery_ids=ids)


@router.get("/configs/{config_id}/deliveries")
async def list_deliveries(
    ctx: CtxDep, config_id: UUID, limit: Limit = 50, cursor: Cursor = None, status: DeliveryStatus = None
) -> Page[schemas.Delivery]:
    ctx.require("leads.read")
    async with ctx.tx() as conn:
        await service.get_config(conn, config_id)
        rows, next_cursor = await repo.list_deliveries(
            conn, config_id=config_id, cursor=cursor, limit=limit, status=status
        )
    return Page(items=[_delivery(r) for r in rows], next_cursor=next_cursor)


@router.get("/deliveries/{delivery_id}")
async def get_delivery(ctx: CtxDep, delivery_id: UUID) -> schemas.DeliveryDetail:
    ctx.require("leads.read")
    async with ctx.tx() as conn:
        detail = await service.delivery_detail(conn, delivery_id)
    return schemas.DeliveryDetail.model_validate(service.delivery_view(detail))


@router.post("/deliveries/{delivery_id}/replay")
async def replay_delivery(ctx: CtxDep, delivery_id: UUID) -> schemas.Delivery:
    ctx.require("webhooks.manage")
    async with ctx.tx() as conn:
        return _delivery(await service.replay_delivery(conn, delivery_id=delivery_id))


# Zapier REST hooks: a Zap authenticates with the client's API key (X-API-Key) and subscribes itself.


@router.post("/zapier/subscribe", status_code=status.HTTP_201_CREATED)
async def zapier_subscribe(ctx: CtxDep, body: schemas.ZapierSubscribe) -> schemas.ZapierSubscription:
    ctx.require("webhooks.manage")
    client_id = target_client(ctx.claims, None)
    async with ctx.tx() as conn:
        row = await service.zapier_subscribe(
            conn, sealer=_sealer(ctx, conn), settings=ctx.runtime.settings, client_id=client_id, body=body
        )
    return schemas.ZapierSubscription(id=row["id"], hookUrl=row["url"], event=body.event)


@router.delete("/zapier/subscribe/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def zapier_unsubscribe_by_id(ctx: CtxDep, subscription_id: UUID) -> Response:
    ctx.require("webhooks.manage")
    async with ctx.tx() as conn:
        await service.zapier_unsubscribe(conn, schemas.ZapierUnsubscribe(id=subscription_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/zapier/unsubscribe", status_code=status.HTTP_204_NO_CONTENT)
async def zapier_unsubscribe(ctx: CtxDep, body: schemas.ZapierUnsubscribe) -> Response:
    ctx.require("webhooks.manage")
    async with ctx.tx() as conn:
        await service.zapier_unsubscribe(conn, body)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/zapier/samples")
async def zapier_samples(
    ctx: CtxDep, event: Annotated[schemas.EventType, Query()] = "lead.captured"
) -> list[dict[str, Any]]:
    """Sample payloads in the shape the hook receives, for mapping fields in the Zap editor."""
    ctx.require("leads.read")
    return payloads.sample_lead_payloads(utcnow(), event)
