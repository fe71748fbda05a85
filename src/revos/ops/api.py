"""GET /metrics: Prometheus exposition. With REVOS_METRICS_TOKEN set, it requires
`Authorization: Bearer <token>`; unset, it answers only callers on the loopback interface."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from revos.api.deps import RuntimeDep
from revos.api.routing import ApiRoute
from revos.errors import Forbidden, Unauthorized
from revos.ops import metrics

router = APIRouter(tags=["ops"], route_class=ApiRoute)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics", include_in_schema=False)
async def get_metrics(
    request: Request, runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    token = runtime.settings.metrics_token
    if token is not None and token.get_secret_value():
        scheme, _, given = (authorization or "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise Unauthorized("/metrics needs Authorization: Bearer <REVOS_METRICS_TOKEN>")
    elif request.client is None or request.client.host not in LOOPBACK:
        raise Forbidden("/metrics answers loopback callers only unless REVOS_METRICS_TOKEN is set")
    return Response(await metrics.render(runtime.db, runtime.settings), media_type=CONTENT_TYPE)
