"""The route class of every API router: what a request must pass before its body is read.

FastAPI reads and parses a JSON body before it resolves dependencies, so without this an unauthenticated
caller could make the server read a 100 MB body (or get a 422 for invalid JSON) before hearing 401. Here,
in order: the credentials are checked (routes that depend on the caller), query text is checked, the
declared size is compared with the JSON limit, and only then is the body read, counted as it streams and
parsed by `revos.jsonsafe` (bounded depth, finite numbers, storable text).

Routes that read their body themselves (multipart uploads, the Unipile webhook) have no body field and
enforce their own limits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from revos import jsonsafe
from revos.api.deps import authenticate, get_ctx
from revos.errors import ValidationFailed

LIMIT_STATE = "revos_json_body_limit"


def depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    """True when `call` is anywhere in the route's dependency tree."""
    stack = [dependant]
    while stack:
        node = stack.pop()
        if node.call is call:
            return True
        stack.extend(node.dependencies)
    return False


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"request body larger than {limit} bytes (REVOS_MAX_JSON_BODY_BYTES)")


class BoundedRequest(Request):
    """A request whose body is refused past the JSON limit and whose JSON goes through jsonsafe."""

    def _limit(self) -> int:
        limit: int = self.scope[LIMIT_STATE]
        return limit

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            limit, total, chunks = self._limit(), 0, []
            async for chunk in self.stream():
                total += len(chunk)
                if total > limit:
                    raise too_large(limit)
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = jsonsafe.loads(body)
            except jsonsafe.JSONRefused as exc:
                # FastAPI turns a JSONDecodeError into the usual 422 validation error.
                raise json.JSONDecodeError(str(exc), body.decode("utf-8", "replace")[:200], 0) from exc
        return self._json


def _check_query(request: Request) -> None:
    for key, value in request.query_params.multi_items():
        if why := jsonsafe.unstorable(key) or jsonsafe.unstorable(value):
            raise ValidationFailed(f"query parameter {key[:50]!r} {why}")


class ApiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        needs_caller = depends_on(self.dependant, get_ctx)
        reads_json = self.body_field is not None

        async def route(request: Request) -> Response:
            if needs_caller:
                request.state.ctx = await authenticate(request)
            _check_query(request)
            if reads_json:
                limit = request.app.state.runtime.settings.max_json_body_bytes
                declared = request.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise too_large(limit)
                request.scope[LIMIT_STATE] = limit
                request = BoundedRequest(request.scope, request.receive)
            return await handler(request)

        return route
