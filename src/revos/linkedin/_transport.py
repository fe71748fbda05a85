"""The Unipile client's HTTP transport: aiohttp's connection pool and C parser under httpx's API.

httpx's own pool (httpcore) walks every pooled connection, asking each whether it has expired, on every
request and every response: with a pool of 20 that was about half of the CPU a pod action costs the
worker. This transport hands the request to an `aiohttp.ClientSession` instead and gives httpx an
`httpx.Response` back, so everything above it (base URL, headers, timeouts, JSON, the tests' transports)
stays httpx's.

The one thing a transport must get right for exactly-once (design §6.3): could the request have left?
aiohttp's errors are mapped onto httpx's so that only a failure to connect, or to get a connection from
the pool in time, reads as "not sent" (`httpx.ConnectError`, `httpx.ConnectTimeout`); every other failure
(a disconnection, a reset, a read timeout, a malformed response) may come after Unipile acted and reads as
a read or protocol error: a send is then reconciled, never repeated blindly. (A generic adapter that maps
any `ClientConnectionError`, a disconnection included, to a connect timeout would let a DM go out twice.)

`exchange` is the same request without httpx's objects around it: the client sends its JSON bodies and
GETs through it directly (`revos.linkedin._http`), which costs a third of the CPU per request of going
through `httpx.AsyncClient` and this transport (0.09-0.10 ms against 0.26-0.29 ms on loopback).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus

import aiohttp
import certifi
import httpx

# Request headers aiohttp computes itself from the body it is given.
_BODY_HEADERS = frozenset({"content-length", "transfer-encoding"})


def _proxy_in_env() -> bool:
    return any(k.lower() in ("http_proxy", "https_proxy", "all_proxy") and v for k, v in os.environ.items())


def _error(exc: BaseException) -> httpx.TransportError:
    """aiohttp's (or asyncio's) error as the httpx error that says whether the request may have left."""
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # connecting, or waiting for a pooled connection
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):  # the connection could not be made
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message)
    return httpx.ReadError(message)


@dataclass(frozen=True, slots=True)
class Reply:
    """A response read whole: status, headers (case-insensitive), body, reason phrase."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    reason: str


def timeouts(timeout: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
    """httpx's timeouts (`httpx.Timeout.as_dict()`, a request's `timeout` extension) as aiohttp's:
    waiting for a pooled connection, connecting, reading."""
    return aiohttp.ClientTimeout(
        total=None,
        connect=timeout.get("pool"),
        sock_connect=timeout.get("connect"),
        sock_read=timeout.get("read"),
    )


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One pooled `aiohttp.ClientSession` (created on first use, in the running loop), at most
    `max_connections` connections, certificates checked against certifi's bundle (as httpx does)."""

    def __init__(self, *, max_connections: int, keepalive_expiry: float = 5.0) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._ssl: ssl.SSLContext | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if self._ssl is None:
                self._ssl = ssl.create_default_context(cafile=certifi.where())
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, keepalive_timeout=self._keepalive_expiry, ssl=self._ssl
            )
            # A proxy set in the environment (HTTP(S)_PROXY, NO_PROXY) is honoured, as httpx honours it;
            # without one, aiohttp is not asked to look it up in a thread on every request.
            self._session = aiohttp.ClientSession(connector=connector, trust_env=_proxy_in_env())
        return self._session

    async def exchange(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | Sequence[tuple[str, str]],
        body: bytes | None,
        timing: aiohttp.ClientTimeout,
        decompress: bool = True,
    ) -> Reply:
        """One request, its response read whole; aiohttp's errors raised as httpx's (`_error`)."""
        try:
            async with self._client().request(
                method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                auto_decompress=decompress,
                timeout=timing,
            ) as response:
                content = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise _error(exc) from exc
        reason = response.reason or _phrase(response.status)
        return Reply(response.status, response.headers, content, reason)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        reply = await self.exchange(
            request.method,
            str(request.url),
            headers=[(k, v) for k, v in request.headers.multi_items() if k.lower() not in _BODY_HEADERS],
            body=body or None,
            # httpx decodes the body by its content-encoding, as with its own transport.
            decompress=False,
            timing=timeouts(request.extensions.get("timeout", {})),
        )
        return httpx.Response(
            status_code=reply.status,
            headers=list(reply.headers.items()),
            content=reply.content,
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": reply.reason.encode("ascii", "replace"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
