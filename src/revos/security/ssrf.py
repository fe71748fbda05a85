"""SSRF-safe outbound HTTP for URLs that tenants choose (webhook endpoints, ESP APIs).

Rules (design.md §4):
- https only; plain http only to a loopback address, and only when the dev/test setting
  `REVOS_WEBHOOK_ALLOW_HTTP_LOOPBACK` allows it (never in production);
- the URL is plain: no spaces or control characters, no credentials, and our parser and httpx agree on
  its host and port (`url_problem`);
- the host is resolved once and *every* address must be public. Refused, IPv4 and IPv6 alike: private,
  loopback, link-local, site-local (fec0::/10), unique-local (fc00::/7), CGNAT, multicast, unspecified,
  documentation, benchmarking, reserved and other special-purpose ranges, cloud metadata addresses, and
  the IPv4-mapped / translated / compatible, NAT64, 6to4 and Teredo forms embedding any of those;
- the connection goes to the checked address (pinned) while the Host header, TLS SNI and certificate
  verification use the hostname, so a second DNS answer (rebinding) cannot redirect it;
- redirects are never followed; the response body is read up to a cap and the rest dropped.

Checked when a URL is saved (`check_url`, a 4xx for the caller) and again at every send
(`PinnedClient.send`).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import time
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from revos.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_v4 = ipaddress.IPv4Network
_v6 = ipaddress.IPv6Network

# Addresses whose only purpose is to hand out credentials to whatever runs next to them. The AWS/GCP/
# Azure/OpenStack 169.254.169.254 and AWS's IPv6 one are link-local or ULA anyway; Azure's wire server
# is a public address reachable from every Azure VM, so it needs naming here.
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("168.63.129.16"),
}

# IANA special-purpose registries (RFC 6890 and later), written out rather than taken from
# ipaddress's is_private/is_global, whose ranges changed between Python releases (fec0::/10, for one,
# passes is_global on 3.11). Order matters only for the message: the first match names the refusal.
_V4_RANGES: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_v4("0.0.0.0/8"), "the unspecified ('this network') range 0.0.0.0/8"),
    (_v4("127.0.0.0/8"), "a loopback address"),
    (_v4("10.0.0.0/8"), "a private address"),
    (_v4("172.16.0.0/12"), "a private address"),
    (_v4("192.168.0.0/16"), "a private address"),
    (_v4("169.254.0.0/16"), "a link-local address"),
    (_v4("100.64.0.0/10"), "a carrier-grade NAT address (100.64.0.0/10)"),
    (_v4("192.0.0.0/24"), "an IETF protocol assignment (192.0.0.0/24), not public"),
    (_v4("192.0.2.0/24"), "a documentation address (192.0.2.0/24)"),
    (_v4("198.51.100.0/24"), "a documentation address (198.51.100.0/24)"),
    (_v4("203.0.113.0/24"), "a documentation address (203.0.113.0/24)"),
    (_v4("198.18.0.0/15"), "a benchmarking address (198.18.0.0/15)"),
    (_v4("192.88.99.0/24"), "the deprecated 6to4 relay anycast range (192.88.99.0/24)"),
    (_v4("224.0.0.0/4"), "a multicast address"),
    (_v4("240.0.0.0/4"), "a reserved address (240.0.0.0/4, broadcast included)"),
)
_V6_RANGES: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_v6("::/128"), "the unspecified address"),
    (_v6("::1/128"), "a loopback address"),
    (_v6("64:ff9b:1::/48"), "a local-use NAT64 address (64:ff9b:1::/48)"),
    (_v6("100::/64"), "a discard-only address (100::/64)"),
    (_v6("2001::/32"), "a Teredo address (it tunnels to an IPv4 host)"),
    (_v6("2001:db8::/32"), "a documentation address (2001:db8::/32)"),
    (_v6("2001::/23"), "an IETF protocol assignment (2001::/23), not public"),
    (_v6("3fff::/20"), "a documentation address (3fff::/20)"),
    (_v6("fc00::/7"), "a unique-local address (fc00::/7)"),
    (_v6("fe80::/10"), "a link-local address"),
    (_v6("fec0::/10"), "a site-local address (fec0::/10)"),
    (_v6("ff00::/8"), "a multicast address"),
)
# Global unicast is 2000::/3; everything else in IPv6 is reserved or special-purpose.
_V6_GLOBAL_UNICAST = _v6("2000::/3")
_V4_MAPPED = _v6("::ffff:0:0/96")
_V4_TRANSLATED = _v6("::ffff:0:0:0/96")  # SIIT (RFC 2765)
_V4_COMPATIBLE = _v6("::/96")  # deprecated (RFC 4291)
_NAT64 = _v6("64:ff9b::/96")
_6TO4 = _v6("2002::/16")


class UnsafeUrl(ValidationFailed):
    """The URL may not be called: scheme, host or address breaks the SSRF rules."""

    code = "unsafe_url"


class MalformedUrl(UnsafeUrl):
    """The URL itself is unusable (see `url_problem`): no later attempt can succeed until it is edited."""


@dataclass(frozen=True)
class Target:
    """A URL whose host resolved to addresses that all passed the rules; `ip` is the pinned one.
    `host` is the ASCII (IDNA) form: it goes into the Host header and TLS SNI."""

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


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for (mapped, translated, compatible, NAT64, 6to4),
    with the name of the form; None when it embeds none."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _V4_MAPPED:
        return "an IPv4-mapped address", low32
    if ip in _V4_TRANSLATED:
        return "an IPv4-translated address", low32
    if ip in _V4_COMPATIBLE and int(ip) > 1:
        return "an IPv4-compatible address", low32
    if ip in _NAT64:
        return "a NAT64 address", low32
    if ip in _6TO4 and ip.sixtofour is not None:
        return "a 6to4 address", ip.sixtofour
    return None


def refusal(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why `ip` may not be called, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(int(ip))  # without a %zone: the ranges below know none
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            form, v4 = embedded
            inner = refusal(v4, allow_loopback=allow_loopback and form == "an IPv4-mapped address")
            if inner:
                return f"{form} embedding {v4}, {inner}"
            if form in ("an IPv4-translated address", "an IPv4-compatible address"):
                return f"{form} (a deprecated or internal form)"
            return None
        if ip.teredo is not None:
            for v4 in ip.teredo:
                inner = refusal(v4)
                if inner:
                    return f"a Teredo address embedding {v4}, {inner}"
        if ip in _METADATA:
            return "a cloud metadata address"
        if ip == ipaddress.IPv6Address("::1") and allow_loopback:
            return None
        for network, reason in _V6_RANGES:
            if ip in network:
                return reason
        if ip not in _V6_GLOBAL_UNICAST or not ip.is_global:
            return "a reserved, non-public address"
        return None
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_loopback and allow_loopback:
        return None
    for network4, reason in _V4_RANGES:
        if ip in network4:
            return reason
    if ip.is_reserved or not ip.is_global:
        return "a reserved, non-public address"
    return None


def url_problem(url: str) -> str | None:
    """What makes `url` unusable as a URL we would send to, before any DNS; None when its shape is fine.

    Run when a URL is saved (schema validation, a 422 naming the field) and again before every send,
    so a row that was written some other way fails its own attempt instead of the whole batch.
    """
    for index, char in enumerate(url):
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Zs"):
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            return f"the URL contains a space or control character ({name}) at position {index}"
    try:
        parts = urlsplit(url)
        port = parts.port
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme.lower() not in ("https", "http"):
        return "the URL must start with https://"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL are not allowed; use a custom header instead"
    # Two parsers read every URL (ours for the checks, httpx for the request): they must agree on where
    # it goes, or a crafted URL could pass one and reach another host through the other.
    default = 443 if parts.scheme.lower() == "https" else 80
    try:
        theirs = {parsed.host.lower(), ascii_host(parsed)}
    except UnicodeError:
        return "the URL's host is not a valid domain name"
    if parts.hostname.lower() not in theirs or (port or default) != (parsed.port or default):
        return "the URL's host is ambiguous; write it plainly (scheme://host[:port]/path)"
    if port == 0:
        return "the URL's port must be between 1 and 65535"
    return None


def ascii_host(parsed: httpx.URL) -> str:
    """The host as it goes on the wire (IDNA for international names), without a trailing dot."""
    return parsed.raw_host.decode("ascii").rstrip(".").lower()


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_url(url: str, *, allow_http_loopback: bool) -> tuple[str, str, int]:
    """Scheme, ASCII host and port of an acceptable URL shape (no DNS yet)."""
    problem = url_problem(url)
    if problem:
        raise MalformedUrl(problem)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "http" and not allow_http_loopback:
        raise UnsafeUrl("the URL must use https:// (plain http is not allowed)")
    host = ascii_host(httpx.URL(url))
    return scheme, host, parts.port or (443 if scheme == "https" else 80)


async def check_url(
    url: str, *, allow_http_loopback: bool = False, resolver: Resolver | None = None
) -> Target:
    """Resolve once, check every address, and return the target pinned to the first one."""
    url = url.strip()
    scheme, host, port = parse_url(url, allow_http_loopback=allow_http_loopback)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            found = await (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnsafeUrl(f"the host {host!r} does not resolve") from exc
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        except ValueError as exc:
            raise UnsafeUrl(f"the host {host!r} resolves to something that is not an address") from exc
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
    return Target(url=url, scheme=scheme, host=host, port=port, ip=str(addresses[0]))


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


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context of every PinnedClient (certifi's CAs, hostname checked), built once per
    process: building one (loading the CA bundle) was about half the CPU of a delivery when each client
    built its own. A context holds no per-connection state; SNI and the certificate's name come from each
    request (`sni_hostname`)."""
    return httpx.create_ssl_context(trust_env=False)


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
            client = httpx.AsyncClient(
                follow_redirects=False, trust_env=False, timeout=30.0, verify=tls_context()
            )
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
