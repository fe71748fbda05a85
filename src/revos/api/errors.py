"""One error body for every failure: {"error": <code>, "detail": <message>, ...}."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from revos.errors import RevosError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def error_body(code: str, detail: Any, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":  # the body as a whole: say why, not where in bytes
            reason = (err.get("ctx") or {}).get("error") or "invalid JSON"
            out.append({"field": None, "message": f"body: {reason}"})
            continue
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        out.append({"field": ".".join(loc) or None, "message": err.get("msg", "invalid")})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(RevosError)
    async def _revos(_: Request, exc: RevosError) -> JSONResponse:
        body = error_body(exc.code, exc.message)
        if exc.status_code == 422:  # every 422 lists its fields, as validation errors do
            body["fields"] = [{"field": getattr(exc, "field", None), "message": exc.message}]
        if exc.detail is not None:
            body["info"] = exc.detail
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = _field_errors(exc)
        summary = "; ".join(f"{f['field']}: {f['message']}" if f["field"] else f["message"] for f in fields)
        return JSONResponse(
            error_body("validation_failed", summary or "invalid request", fields=fields), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return JSONResponse(error_body(code, exc.detail), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(psycopg.errors.InsufficientPrivilege)
    async def _rls(_: Request, exc: psycopg.Error) -> JSONResponse:
        # A row-level-security refusal: the caller tried to write outside its tenant.
        return JSONResponse(error_body("forbidden", "not allowed for this tenant"), status_code=403)

    @app.exception_handler(psycopg.errors.UniqueViolation)
    async def _unique(_: Request, exc: psycopg.errors.UniqueViolation) -> JSONResponse:
        constraint = exc.diag.constraint_name or "a unique key"
        return JSONResponse(
            error_body("conflict", f"already exists (violates {constraint})"), status_code=409
        )

    @app.exception_handler(psycopg.errors.ForeignKeyViolation)
    async def _fk(_: Request, exc: psycopg.errors.ForeignKeyViolation) -> JSONResponse:
        return JSONResponse(
            error_body("validation_failed", "a referenced record does not exist in this tenant"),
            status_code=422,
        )

    @app.exception_handler(psycopg.errors.CheckViolation)
    async def _check(_: Request, exc: psycopg.errors.CheckViolation) -> JSONResponse:
        constraint = exc.diag.constraint_name or "a check constraint"
        return JSONResponse(error_body("validation_failed", f"violates {constraint}"), status_code=422)

    @app.exception_handler(psycopg.errors.NotNullViolation)
    async def _not_null(_: Request, exc: psycopg.errors.NotNullViolation) -> JSONResponse:
        column = exc.diag.column_name or "a required field"
        return JSONResponse(
            error_body(
                "validation_failed",
                f"{column} may not be null",
                fields=[{"field": column, "message": "may not be null"}],
            ),
            status_code=422,
        )

    # Defence in depth: request models refuse unstorable text and out-of-range numbers first; a value
    # that still reaches the database in a form it cannot hold is the caller's input, not a server fault.
    @app.exception_handler(psycopg.errors.DataError)
    async def _data(_: Request, exc: psycopg.errors.DataError) -> JSONResponse:
        log.warning("input refused by the database: %s", exc.__class__.__name__)
        return JSONResponse(
            error_body("validation_failed", "a value is out of range or not representable", fields=[]),
            status_code=422,
        )

    @app.exception_handler(UnicodeEncodeError)
    async def _unicode(_: Request, exc: UnicodeEncodeError) -> JSONResponse:
        return JSONResponse(
            error_body("validation_failed", "text holds characters that cannot be stored", fields=[]),
            status_code=422,
        )

    # The client went away while its request was being read (a webhook sender that timed out): nobody is
    # left to answer and nothing was done; not a server fault (no 500, no traceback).
    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> JSONResponse:
        log.info("client disconnected before its request was read: %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("bad_request", "the client closed the connection before its request was read"),
            status_code=400,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(
            error_body("internal_error", "unexpected error; see server logs"), status_code=500
        )
