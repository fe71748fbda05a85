"""SSRF-safe outbound HTTP for URLs that tenants choose (webhook endpoints, ESP APIs).

Rules (design.md §4):
- https only; plain http only to a loopback address, and only when the dev/test setting
  `REVOS_WEBHOOK_ALLOW_HTTP_LOOPBACK` allows it (never in production);
- the host is resolved once and *every* address must be public: private, loopback, link-local
  (cloud metadata 169.254.169.254 included), CGNAT 100.64/10, IPv6 ULA (fd00:ec2::254 included),
  multicast, unspecified, reserved and the IPv4-mapped / NAT64 forms of those are refused;
- the connection goes to the checked address (pinned) while the Host header, TLS SNI and certificate
  verification use the hostname, so a second DNS answer (rebinding) cannot redirect it;
- redirects are never followed; the response body is read up to a cap and the rest dropped.

Checked when a URL is saved (`check_url`, a 4xx for the caller) and again at every send
(`PinnedClient.send`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from revos.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class UnsafeUrl(ValidationFailed):
    """The URL may not be called: scheme, host or address breaks the SSRF rules."""

    code = "unsafe_url"


@dataclass(frozen=True)
class Target:
    """A URL whose host resolved to addresses that all passed the rules; `ip` is the pinned one."""

    url: str
    scheme: str
    host: str
    port: int
    ip: str

    @property
    def pinned_url(self) -> str:
        parts = urlsplit(self.url)
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return urlunsplit((parts.scheme, f"{host}:{self.port}", parts.path or "/", parts.query, ""))

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def refusal(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why `ip` may not be called, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return refusal(ip.ipv4_mapped, allow_loopback=allow_loopback)
        if ip in _NAT64:
            return refusal(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), allow_loopback=allow_loopback)
        if ip.sixtofour is not None and refusal(ip.sixtofour):
            return "a 6to4 address embedding a non-public IPv4 address"
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a carrier-grade NAT address (100.64.0.0/10)"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved, non-public address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_url(url: str, *, allow_http_loopback: bool) -> tuple[str, str, int]:
    """Scheme, host and port of an acceptable URL shape (no DNS yet)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeUrl("the URL must start with https://")
    if scheme == "http" and not allow_http_loopback:
        raise UnsafeUrl("the URL must use https:// (plain http is not allowed)")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("credentials in the URL are not allowed; use a custom header instead")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeUrl("the URL has no host")
    return scheme, host, port or (443 if scheme == "https" else 80)


async def check_url(
    url: str, *, allow_http_loopback: bool = False, resolver: Resolver | None = None
) -> Target:
    """Resolve once, check every address, and return the target pinned to the first one."""
    scheme, host, port = parse_url(url, allow_http_loopback=allow_http_loopback)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            found = await (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnsafeUrl(f"the host {host!r} does not resolve") from exc
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    if not addresses:
        raise UnsafeUrl(f"the host {host!r} does not resolve")
    for ip in addresses:
        reason = refusal(ip, allow_loopback=allow_http_loopback)
        if reason:
            raise UnsafeUrl(
                f"the host {host!r} resolves to {ip}, {reason}; only public addresses are allowed"
            )
    if scheme == "http" and not all(ip.is_loopback or _mapped_loopback(ip) for ip in addresses):
        raise UnsafeUrl("the URL must use https:// (plain http is allowed to loopback only, in development)")
    return Target(url=url.strip(), scheme=scheme, host=host, port=port, ip=str(addresses[0]))


def _mapped_loopback(ip: IPAddress) -> bool:
    return isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback


@dataclass
class Response:
    status_code: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    elapsed_ms: int


class ResponseTooSlow(Exception):
    """The endpoint kept the connection open past the configured timeout."""


@dataclass
class PinnedClient:
    """Sends requests to checked, pinned targets. One per dispatch run; `aclose()` at the end.

    Connections are pooled per (scheme, hostname, ip, port): a pooled TLS connection is only reused
    for the hostname whose SNI opened it.
    """

    allow_http_loopback: bool = False
    max_response_bytes: int = 64 * 1024
    resolver: Resolver | None = None
    _clients: dict[tuple[str, str, str, int], httpx.AsyncClient] = field(default_factory=dict)

    def _client_for(self, target: Target) -> httpx.AsyncClient:
        key = (target.scheme, target.host, target.ip, target.port)
        client = self._clients.get(key)
        if client is None:
            # trust_env=False: an HTTP(S)_PROXY in the environment would bypass the pinning.
            # Timeouts are per request (the config's timeout_ms).
            client = httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=30.0)
            self._clients[key] = client
        return client

    async def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> Response:
        """Check `url` again (DNS may have changed since it was saved), then call the pinned address."""
        target = await check_url(url, allow_http_loopback=self.allow_http_loopback, resolver=self.resolver)
        all_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
        all_headers["Host"] = target.host_header
        extensions: dict[str, Any] = {}
        if target.scheme == "https":
            extensions["sni_hostname"] = target.host
        client = self._client_for(target)
        request = client.build_request(
            method,
            target.pinned_url,
            content=content,
            headers=all_headers,
            timeout=httpx.Timeout(timeout_s),
            extensions=extensions,
        )
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout_s):
                response = await client.send(request, stream=True)
                try:
                    body, truncated = await _read_capped(response, self.max_response_bytes)
                finally:
                    await response.aclose()
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"no complete response within {timeout_s:g}s") from exc
        return Response(
            status_code=response.status_code,
            headers=response.headers,
            body=body,
            truncated=truncated,
            elapsed_ms=int((time.monotonic() - started) * 1000),
        )

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= cap:
            return b"".join(chunks)[:cap], True
    return b"".join(chunks), False
