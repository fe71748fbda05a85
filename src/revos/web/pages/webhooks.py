"""Webhooks: the endpoints (create: the signing secret is shown once), each one's delivery log with its
attempts, replay one delivery or every failed one, and a test event. The calls of /v1/webhooks."""

from __future__ import annotations

from uuid import UUID

from fastapi import Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from revos.clock import get_clock, utcnow
from revos.errors import RevosError
from revos.web import forms
from revos.web.deps import Page, PageDep
from revos.web.pages import page_router
from revos.webhooks import dispatcher, repo, schemas, service

router = page_router()
PAGE_SIZE = 50
ESP_TYPES = ("custom", "zapier", "make")


async def _list(page: Page, *, status: int = 200, **extra: object) -> HTMLResponse:
    async with page.tx() as conn:
        rows, _ = await repo.list_configs(conn, cursor=None, limit=200, client_id=page.client_id)
    context = {"new_secret": None, "error": None, "values": {}} | extra
    return page.render(
        "webhooks.html", status=status, title="Webhooks", configs=[schemas.WebhookConfig.of(r) for r in rows],
        esp_types=ESP_TYPES, can_manage=forms.can(page.ctx.claims, "webhooks.manage"), **context,
    )  # fmt: skip


@router.get("/webhooks")
async def webhooks(page: PageDep) -> HTMLResponse:
    page.require("leads.read")
    return await _list(page)


@router.post("/webhooks")
async def create(page: PageDep) -> Response:
    page.require("webhooks.manage")
    values = {k: await page.field(k) for k in ("name", "url", "esp_type")}
    try:
        body = schemas.WebhookConfigCreate.model_validate(
            {"name": values["name"], "url": values["url"], "esp_type": values["esp_type"] or "custom"}
        )
        async with page.tx() as conn:
            row, secret = await service.create_config(
                conn, sealer=service.ConnSealer(conn, page.runtime.vault), settings=page.runtime.settings,
                client_id=page.client_id, body=body,
            )  # fmt: skip
    except ValidationError as exc:
        return await _list(page, status=422, error=forms.refusal(exc), values=values)
    except RevosError as exc:
        return await _list(page, status=exc.status_code, error=exc.message, values=values)
    page.flash(
        f"Webhook {row['name']} created. Copy its signing secret now: it is not shown again.", "success"
    )
    return await _list(page, new_secret=secret, new_name=row["name"])


@router.get("/webhooks/{config_id}")
async def deliveries(
    page: PageDep, config_id: UUID, status: str | None = None, cursor: str | None = None
) -> HTMLResponse:
    page.require("leads.read")
    chosen = status if status in ("pending", "success", "failed") else None
    async with page.tx() as conn:
        config = await service.get_config(conn, config_id)
        rows, next_cursor = await repo.list_deliveries(
            conn, config_id=config_id, cursor=cursor, limit=PAGE_SIZE, status=chosen
        )
    return page.render(
        "webhook.html", title=config["name"], config=schemas.WebhookConfig.of(config),
        deliveries=[service.delivery_view(r) for r in rows], next_cursor=next_cursor, chosen=chosen,
        can_manage=forms.can(page.ctx.claims, "webhooks.manage"),
    )  # fmt: skip


@router.get("/webhooks/deliveries/{delivery_id}")
async def delivery(page: PageDep, delivery_id: UUID) -> HTMLResponse:
    page.require("leads.read")
    async with page.tx() as conn:
        detail = await service.delivery_detail(conn, delivery_id)
    return page.render(
        "webhook_delivery.html", title="Delivery", delivery=service.delivery_view(detail),
        attempts=detail["attempts"], can_manage=forms.can(page.ctx.claims, "webhooks.manage"),
    )  # fmt: skip


@router.post("/webhooks/{config_id}/test")
async def test_event(page: PageDep, config_id: UUID) -> Response:
    page.require("webhooks.manage")
    back = f"/app/webhooks/{config_id}"
    try:
        async with page.tx() as conn:
            delivery_id = await service.create_test_delivery(conn, config_id=config_id, now=utcnow())
        rt = page.runtime  # committed: the HTTP call happens outside any transaction
        await dispatcher.send_now(rt.db, delivery_id, clock=get_clock(), settings=rt.settings, vault=rt.vault)
        async with page.tx() as conn:
            row = await repo.get_delivery(conn, delivery_id)
    except RevosError as exc:
        return page.redirect(back, error=exc.message)
    assert row is not None
    if row["status"] == "success":
        return page.redirect(back, flash=f"Test event delivered (HTTP {row['status_code']}).")
    why = row["error_message"] or f"HTTP {row['status_code']}"
    return page.redirect(back, error=f"Test event not delivered: {why}.")


@router.post("/webhooks/{config_id}/replay-failed")
async def replay_failed(page: PageDep, config_id: UUID) -> Response:
    page.require("webhooks.manage")
    back = f"/app/webhooks/{config_id}"
    try:
        async with page.tx() as conn:
            ids = await service.replay_failed(conn, config_id=config_id)
    except RevosError as exc:
        return page.redirect(back, error=exc.message)
    return page.redirect(back, flash=f"{len(ids)} failed deliveries queued again.")


@router.post("/webhooks/deliveries/{delivery_id}/replay")
async def replay(page: PageDep, delivery_id: UUID) -> Response:
    page.require("webhooks.manage")
    try:
        async with page.tx() as conn:
            row = await service.replay_delivery(conn, delivery_id=delivery_id)
    except RevosError as exc:
        return page.redirect(f"/app/webhooks/deliveries/{delivery_id}", error=exc.message)
    return page.redirect(
        f"/app/webhooks/{row['webhook_config_id']}",
        flash="The delivery is queued again: it goes out within seconds.",
    )
