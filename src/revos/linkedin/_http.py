"""HTTP core of the Unipile client: base URL, pooled connection, error mapping and the retry policy.

Retry policy (design §6.3): only reads are retried automatically. A send (POST/PATCH/DELETE) is made exactly
once per call; if its outcome is unknown (timeout, broken connection, 5xx) the caller gets an error with
`ambiguous=True` and must reconcile with the provider before sending again, because Unipile v1 has no
idempotency key and a blind retry can post a DM twice.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from revos.linkedin._transport import AiohttpTransport, Reply, timeouts
from revos.linkedin.errors import (
    InvalidRequest,
    ProviderTimeout,
    UnipileError,
    UnipileProtocolError,
    error_from_response,
)

log = logging.getLogger("revos.linkedin")

M = TypeVar("M")

API_PREFIX = "/api/v1"
# Read retries back off on these; 501 and every 4xx other than 429 will not get better by waiting.
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Errors raised before a single byte of the request left: the provider cannot have acted.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class DownloadedFile:
    content: bytes
    content_type: str


def normalize_base_url(base_url: str) -> str:
    """Accept a Unipile DSN (`api1.unipile.com:13111`) or a full URL; return `scheme://host[:port]`.

    A trailing `/api/v1` is tolerated so that both spellings found in the wild work.
    """
    raw = (base_url or "").strip()
    if not raw or any(c.isspace() for c in raw):
        raise ValueError("base_url must be a Unipile DSN like 'api1.unipile.com:13111' or a URL")
    if "://" not in raw:
        raw = "https://" + raw
    url = httpx.URL(raw)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("base_url must use http or https and name a host")
    if url.query or url.fragment:
        raise ValueError("base_url must not carry a query string or fragment")
    path = url.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    return str(url.copy_with(path=path or "/")).rstrip("/")


def seg(value: str) -> str:
    """Quote one path segment. Colons stay readable: LinkedIn URNs go into paths verbatim (`urn:li:…`)."""
    if not value:
        raise InvalidRequest("empty identifier", detail="a path identifier must not be empty")
    return quote(value, safe=":@-._~")


def _retry_after(reply: Reply) -> float | None:
    value = reply.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: not worth parsing, backoff covers it


class HttpCore:
    """Owns the pooled `httpx.AsyncClient`; endpoint mixins call `_get` / `_send`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = 30.0,
        connect_timeout: float = 10.0,
        max_connections: int = 20,
        read_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is required")
        if read_retries < 0:
            raise ValueError("read_retries must be >= 0")
        self.base_url = normalize_base_url(base_url)
        self.read_retries = read_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        if not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        headers = {"X-API-KEY": api_key, "accept": "application/json"}
        # Every request goes straight to aiohttp's pool (`AiohttpTransport.exchange`): JSON bodies, reads,
        # and multipart bodies (DMs, posts), which httpx encodes. A transport passed in (tests) takes every
        # request through httpx's client.
        self._direct = AiohttpTransport(max_connections=max_connections) if transport is None else None
        self._api_url = self.base_url + API_PREFIX
        self._direct_headers = headers
        self._direct_json_headers = {**headers, "content-type": "application/json"}
        self._direct_timing = timeouts(timeout.as_dict())
        self._http = httpx.AsyncClient(
            base_url=self._api_url,
            headers=headers,
            timeout=timeout,
            transport=transport or self._direct,
            # Unipile never redirects API calls; following one could leak the key header to another host.
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def __aenter__(self) -> HttpCore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- typed helpers used by the endpoint mixins -------------------------------------------------------

    async def _get(self, path: str, model: Any, params: Mapping[str, Any] | None = None) -> Any:
        body = await self._request("GET", path, params=params)
        return self._parse(model, body, "GET", path, is_send=False)

    async def _get_file(self, path: str) -> DownloadedFile:
        """A binary body (attachment download): the bytes and their content type, no JSON parsing."""
        result: DownloadedFile = await self._request("GET", path, binary=True)
        return result

    async def _send(
        self,
        method: str,
        path: str,
        model: Any,
        *,
        json: Any = None,
        files: list[Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        body = await self._request(method, path, json=json, files=files, params=params)
        return self._parse(model, body, method, path, is_send=True)

    def _parse(self, model: Any, body: Any, method: str, path: str, *, is_send: bool) -> Any:
        try:
            if isinstance(model, type) and issubclass(model, BaseModel):
                return model.model_validate(body)
            return TypeAdapter(model).validate_python(body)
        except ValidationError as exc:
            # For a send, a 2xx we cannot read still means the action happened: flag it for reconciliation.
            raise UnipileProtocolError(
                "Response does not match the Unipile v1 contract",
                detail=str(exc.errors(include_url=False, include_input=False))[:500],
                method=method,
                path=path,
                ambiguous=is_send,
            ) from exc

    # --- the one place requests are made -----------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: list[Any] | None = None,
        binary: bool = False,
    ) -> Any:
        is_send = method != "GET"
        clean_params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        attempts = 1 if is_send else 1 + self.read_retries
        for attempt in range(attempts):
            last = attempt == attempts - 1
            started = time.perf_counter()
            try:
                response = await self._exchange(method, path, params=clean_params, json=json, files=files)
            except httpx.HTTPError as exc:
                error = self._transport_error(exc, method, path, is_send)
                log.warning("unipile %s %s failed: %s", method, path, type(exc).__name__)
                if last or not error.retryable:
                    raise error from exc
                await self._backoff(attempt, None)
                continue
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.debug("unipile %s %s -> %s in %.1f ms", method, path, response.status, elapsed_ms)
            if response.status < 400:
                if binary:
                    kind = response.headers.get("content-type", "application/octet-stream")
                    return DownloadedFile(response.content, kind)
                return self._json(response, method, path, is_send)
            error = error_from_response(
                response.status,
                self._error_body(response),
                method=method,
                path=path,
                is_send=is_send,
                retry_after=_retry_after(response),
                reason=response.reason,
            )
            if is_send or last or response.status not in _RETRY_STATUSES:
                raise error
            await self._backoff(attempt, error.retry_after)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _exchange(
        self, method: str, path: str, *, params: dict[str, Any], json: Any, files: list[Any] | None
    ) -> Reply:
        if self._direct is None:
            response = await self._http.request(method, path, params=params, json=json, files=files)
            return Reply(response.status_code, response.headers, response.content, response.reason_phrase)
        url = self._api_url + path
        if params:
            url += "?" + str(httpx.QueryParams(params))  # encoded as httpx encodes them
        body = None
        headers = self._direct_headers
        if files is not None:  # encoded by httpx (boundary, parts) exactly as its client would send it
            form = httpx.Request(method, url, files=files)
            body = form.read()
            headers = {**headers, "content-type": form.headers["content-type"]}
        elif json is not None:  # serialised as httpx serialises it
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            headers = self._direct_json_headers
        return await self._direct.exchange(
            method, url, headers=headers, body=body, timing=self._direct_timing
        )

    @staticmethod
    def _transport_error(exc: httpx.HTTPError, method: str, path: str, is_send: bool) -> UnipileError:
        # A connect failure means nothing was sent, so even a send is safe to retry. Anything later
        # (read timeout, connection reset mid-response) may come after the provider acted.
        sent = not isinstance(exc, _NOT_SENT)
        return ProviderTimeout(
            "No response from Unipile" if sent else "Could not reach Unipile",
            type="client/timeout" if isinstance(exc, httpx.TimeoutException) else "client/transport_error",
            detail=type(exc).__name__,
            method=method,
            path=path,
            ambiguous=is_send and sent,
        )

    async def _backoff(self, attempt: int, retry_after: float | None) -> None:
        # Full jitter: spreads retries of many concurrent callers instead of synchronising them.
        delay = random.uniform(0, min(self.backoff_max, self.backoff_base * (2**attempt)))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max))
        await asyncio.sleep(delay)

    @staticmethod
    def _json(response: Reply, method: str, path: str, is_send: bool) -> Any:
        try:
            return jsonlib.loads(response.content)
        except ValueError as exc:
            raise UnipileProtocolError(
                "Response is not JSON",
                status=response.status,
                detail=response.headers.get("content-type", "no content-type"),
                method=method,
                path=path,
                ambiguous=is_send,
            ) from exc

    @staticmethod
    def _error_body(response: Reply) -> Any:
        try:
            return jsonlib.loads(response.content)
        except ValueError:
            return response.content.decode("utf-8", "replace")[:500]


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return [_param(v) for v in value]
    if hasattr(value, "isoformat"):
        return format_datetime(value)
    return value


def format_datetime(value: Any) -> str:
    """Unipile's `before`/`after` format: UTC with milliseconds and a Z (`2025-12-31T23:59:59.999Z`)."""
    from datetime import UTC, datetime

    if not isinstance(value, datetime):
        raise TypeError("expected a datetime")
    if value.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware datetime")
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


R = TypeVar("R", bound=BaseModel)


def build_request(model: type[R], **fields: Any) -> R:
    """Validate a request body client-side; a bad body raises `InvalidRequest` before any network call."""
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()
        )
        raise InvalidRequest(
            "Invalid request rejected client-side", type="client/invalid_request", detail=problems
        ) from exc


def page_params(limit: int, cursor: str | None, *, max_limit: int) -> dict[str, Any]:
    """Query of one page. `limit` is checked against the route's documented range before any call."""
    if not 1 <= limit <= max_limit:
        raise InvalidRequest(
            "Invalid limit", type="errors/limit_too_high", detail=f"limit must be between 1 and {max_limit}"
        )
    return {"limit": limit, "cursor": cursor or None}
