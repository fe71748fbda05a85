"""/webhooks: register, list, delete (spec §9.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from revos.sim import serialize
from revos.sim.errors import SimError, invalid, missing
from revos.sim.http import ListQuery, read_payload, respond
from revos.sim.webhooks import DEFAULT_EVENTS, SOURCES, Webhook

if TYPE_CHECKING:
    from revos.sim.simulator import Simulator


def router(sim: Simulator) -> APIRouter:
    r = APIRouter()
    world = sim.world
    registry = sim.webhooks.webhooks

    @r.post("/webhooks")
    async def create_webhook(request: Request) -> JSONResponse:
        payload = await read_payload(request)
        source = payload.string("source", required=True)
        if source not in SOURCES:
            raise invalid(f"source must be one of {', '.join(SOURCES)}")
        url = payload.string("request_url", required=True) or ""
        if not url.startswith(("http://", "https://")):
            raise SimError(400, "invalid_url", "request_url must be an http(s) URL")
        headers = _pairs(payload.list("headers"), "headers", ("key", "value"))
        data = _pairs(payload.list("data"), "data", ("name", "key"))
        events = [str(e) for e in payload.list("events")] or list(DEFAULT_EVENTS.get(source, []))
        account_ids = [str(a) for a in payload.list("account_ids")]
        for account_id in account_ids:
            world.account(account_id, usable=False)
        fmt = payload.string("format") or "json"
        if fmt not in ("json", "form"):
            raise invalid("format must be json or form")
        enabled = payload.get("enabled")
        hook = Webhook(
            id=sim.ids.unipile(),
            source=source,
            request_url=url,
            name=payload.string("name") or "",
            headers=headers,
            events=events,
            account_ids=account_ids,
            enabled=enabled is None or enabled in (True, "true"),
            format=fmt,
            data=data,
        )
        registry[hook.id] = hook
        return respond({"object": "WebhookCreated", "webhook_id": hook.id}, 201)

    @r.get("/webhooks")
    async def list_webhooks(request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=250)
        hooks = [_Seq(n, h) for n, h in enumerate(registry.values())]
        page, cursor, _ = q.page(hooks, {})
        return respond(
            {
                "object": "WebhookList",
                "items": [serialize.webhook(world, x.hook) for x in page],
                "cursor": cursor,
            }
        )

    @r.delete("/webhooks/{webhook_id}")
    async def delete_webhook(webhook_id: str) -> JSONResponse:
        if registry.pop(webhook_id, None) is None:
            raise SimError(404, "resource_not_found", "Webhook not found")
        return respond({"object": "WebhookDeleted"})

    return r


def _pairs(items: list[Any], name: str, keys: tuple[str, str]) -> list[dict[str, str]]:
    out = []
    for item in items:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in keys):
            raise missing(f"{name}[].{keys[0]} / {name}[].{keys[1]}")
        out.append({k: item[k] for k in keys})
    return out


class _Seq:
    def __init__(self, seq: int, hook: Webhook) -> None:
        self.seq = seq
        self.hook = hook
