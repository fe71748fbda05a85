"""POST /hooks/unipile: Unipile's webhook deliveries (messaging, account_status, users).

Authenticated by the shared secret revOS asked Unipile to send in `X-Revos-Webhook-Secret` (constant-time
comparison); anything else gets 401 and nothing is stored. The event is stored in the inbox and its
processing deferred in the same transaction, so the answer is fast and a redelivery is a no-op.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from revos.accounts.provider import unipile_webhook_secret
from revos.api.deps import RuntimeDep
from revos.api.errors import error_body
from revos.api.openapi import error_responses
from revos.api.routing import ApiRoute
from revos.inbound import service
from revos.linkedin.webhooks import WebhookPayloadError, verify_webhook_secret

log = logging.getLogger("revos.inbound")

router = APIRouter(tags=["inbound"], route_class=ApiRoute)

MAX_BODY_BYTES = 1024 * 1024


@router.post("/hooks/unipile", summary="Unipile webhook receiver", responses=error_responses(400, 401, 413))
async def unipile_webhook(request: Request, runtime: RuntimeDep) -> JSONResponse:
    if not verify_webhook_secret(request.headers.items(), unipile_webhook_secret(runtime.settings)):
        return JSONResponse(
            error_body("unauthorized", "missing or wrong webhook secret header"), status_code=401
        )
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return JSONResponse(error_body("payload_too_large", "webhook body too large"), status_code=413)
    try:
        received = await service.receive_webhook(runtime, body)
    except (WebhookPayloadError, ValueError) as exc:
        log.warning("unreadable Unipile webhook: %s", exc)
        return JSONResponse(error_body("bad_request", f"unreadable webhook payload: {exc}"), status_code=400)
    return JSONResponse({"status": received.status, "event_key": received.key})
