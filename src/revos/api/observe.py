"""Every request: a request id (X-Request-Id in, or a new one; echoed back), an access log line and its
latency in the `revos_http_request_duration_seconds` histogram, labelled by route template (never the
raw path: ids would make a series per row) and status class.

The histogram lives in this process's `HTTP_REGISTRY`; /metrics (revos.ops) exposes it next to the
database-derived families. Each API process reports its own requests: scrape every process.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from revos import logs

log = logging.getLogger("revos.http")

HTTP_REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "revos_http_request_duration_seconds",
    "API request latency, by route template and status class",
    ["method", "route", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=HTTP_REGISTRY,
)

# A caller's id is kept when it is short and plain; anything else is replaced, never logged as sent.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
HEADER = "x-request-id"


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == HEADER.encode():
            text = value.decode("latin-1")
            return text if _SAFE_ID.match(text) else None
    return None


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/leads/{lead_id}`), or `unmatched`."""
    route: Any = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else "unmatched"


class ObserveMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER.encode()]
                headers.append((HEADER.encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with logs.bound(request=rid):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = route_template(scope)
                REQUEST_SECONDS.labels(scope["method"], route, f"{status // 100}xx").observe(elapsed)
                log.info(
                    "%s %s %d %.1f ms",
                    scope["method"],
                    route,
                    status,
                    elapsed * 1000,
                    extra={"status": status, "duration_ms": round(elapsed * 1000, 1)},
                )
