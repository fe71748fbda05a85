"""The OpenAPI document as the API really behaves: every error body, status code and media type.

FastAPI documents validation errors as its own `HTTPValidationError`, while revOS answers every error
with `ErrorBody` (`revos.api.errors`), and it cannot know which errors a route's dependencies raise.
Here each operation gets the errors its shape implies (a caller → 401/403, a path parameter → 404, a
body or parameters → 422, a JSON body → 413, a cursor → 400, a write → 409) plus those a route declares
with `responses=error_responses(...)`; all point at one `ErrorBody` schema.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from revos.api.deps import get_ctx
from revos.api.routing import depends_on
from revos.api.schemas import ErrorBody

REF = "#/components/schemas/ErrorBody"
_WHY = {
    400: "malformed request (e.g. a cursor that was not issued by this API)",
    401: "missing, invalid, expired or revoked credentials",
    403: "the caller's role may not do this",
    404: "not found in the caller's tenant",
    409: "conflicts with the current state (duplicate, wrong status)",
    410: "gone (an expired checkpoint or link)",
    413: "request body too large",
    415: "unsupported media type",
    422: "a field is missing or invalid (see `fields`)",
    502: "LinkedIn (Unipile) failed or answered unexpectedly",
    503: "a dependency is not configured or unavailable",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that answers these errors beyond what its shape implies."""
    return {
        code: {"model": ErrorBody, "description": _WHY.get(code, HTTPStatus(code).phrase)} for code in codes
    }


def file_responses(media_types: list[str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that answers with a file (or a redirect to one) instead of JSON."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        200: {
            "description": "the file",
            "content": dict.fromkeys([*media_types, "application/octet-stream"], binary),
        },
        302: {"description": "redirect to a short-lived URL of the file (S3 storage)"},
    }


def api_routes(app: FastAPI) -> list[Any]:
    """Every API route with its effective path (prefixes of included routers applied)."""
    return [ctx for ctx in iter_route_contexts(app.routes) if isinstance(ctx.original_route, APIRoute)]


def implied_errors(route: Any) -> set[int]:
    codes: set[int] = set()
    params = route.dependant.path_params + route.dependant.query_params
    if depends_on(route.dependant, get_ctx):
        codes |= {401, 403}
        if set(route.methods or ()) - {"GET", "HEAD"}:
            codes.add(409)
    if route.dependant.path_params or (codes and (params or route.body_field is not None)):
        codes.add(404)  # the row, or a record the request names (client_id, campaign_id, …), is not there
    if params or route.body_field is not None:
        codes.add(422)
    if route.body_field is not None:
        codes.add(413)
    if any(p.name == "cursor" for p in route.dependant.query_params):
        codes.add(400)
    return codes


def _error_response(code: int | str) -> dict[str, Any]:
    return {
        "description": _WHY.get(int(code), HTTPStatus(int(code)).phrase),
        "content": {"application/json": {"schema": {"$ref": REF}}},
    }


def build(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in (
        ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}).items()
    ):
        schemas[name] = schema
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    body.pop("$defs", None)
    schemas["ErrorBody"] = body
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for route in api_routes(app):
        if not route.include_in_schema:
            continue
        item = doc["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for code in sorted(implied_errors(route)):
                responses.setdefault(str(code), _error_response(code))
            for code, response in responses.items():
                content = response.get("content")
                if (
                    code.isdigit()
                    and int(code) >= 400
                    and (not content or "HTTPValidationError" in str(content))
                ):
                    response["content"] = {"application/json": {"schema": {"$ref": REF}}}
                    response["description"] = _WHY.get(int(code), response.get("description", "error"))
    return doc


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
