"""SSRF rules: which addresses are refused, at save time and again at send time (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import re
import ssl
import uuid

import httpx
import pytest

from revos.clock import ManualClock
from revos.runtime import Runtime
from revos.security import ssrf
from revos.webhooks import schemas, service
from revos.webhooks.receiver import Receiver
from tests.support import Conn, Tenant, read_row
from tests.webhooks.conftest import captured_lead, create_config, dispatch, enqueue


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "127.8.8.8",
        "0.0.0.0",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "100.127.255.254",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fd00:ec2::254",
        "fc00::1",
        "fe80::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
        "2002:a00:1::",
        # The IANA special-purpose ranges that Python's is_global lets through on some releases.
        "fec0::1",
        "feff:ffff::1",
        "64:ff9b:1::a00:1",
        "::a00:1",
        "::ffff:0:a00:1",
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",
        "2001:db8::1",
        "3fff::1",
        "100::1",
        "5f00::1",
        "4000::1",
        "192.0.0.8",
        "192.0.2.1",
        "198.18.0.1",
        "198.51.100.7",
        "203.0.113.9",
        "192.88.99.1",
        "240.0.0.1",
        "168.63.129.16",
        "2002:a9fe:a9fe::",
        "64:ff9b::a9fe:a9fe",
        "fe80::1%eth0",
    ],
)
def test_non_public_addresses_are_refused(ip: str) -> None:
    assert ssrf.refusal(ipaddress.ip_address(ip)) is not None
    # The development setting lets loopback through, and nothing else.
    loopback = ip in ("127.0.0.1", "127.8.8.8", "::1", "::ffff:127.0.0.1")
    assert (ssrf.refusal(ipaddress.ip_address(ip), allow_loopback=True) is None) == loopback


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("fec0::1", "a site-local address (fec0::/10)"),
        ("fd12:3456::1", "a unique-local address (fc00::/7)"),
        ("::ffff:192.168.0.1", "an IPv4-mapped address embedding 192.168.0.1, a private address"),
        ("64:ff9b::a9fe:a9fe", "a NAT64 address embedding 169.254.169.254, a cloud metadata address"),
        ("2002:7f00:1::", "a 6to4 address embedding 127.0.0.1, a loopback address"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "a Teredo address embedding 10.0.0.1, a private address"),
        ("::a00:1", "an IPv4-compatible address embedding 10.0.0.1, a private address"),
    ],
)
def test_the_refusal_names_the_range_and_the_embedded_address(ip: str, reason: str) -> None:
    assert ssrf.refusal(ipaddress.ip_address(ip)) == reason


@pytest.mark.parametrize(
    "ip",
    [
        "93.184.216.34",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "2a00:1450:4007:80a::200e",
        "::ffff:93.184.216.34",
        "64:ff9b::5db8:d822",
        "2002:5db8:d822::1",
    ],
)
def test_public_addresses_pass(ip: str) -> None:
    assert ssrf.refusal(ipaddress.ip_address(ip)) is None


def test_loopback_is_only_allowed_when_asked_and_metadata_never() -> None:
    assert ssrf.refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert ssrf.refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allow_loopback=True) is None
    assert ssrf.refusal(ipaddress.ip_address("10.0.0.1"), allow_loopback=True) is not None
    assert ssrf.refusal(ipaddress.ip_address("169.254.169.254"), allow_loopback=True) is not None


def _resolver(*addresses: str) -> ssrf.Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


async def test_every_resolved_address_must_be_public() -> None:
    with pytest.raises(ssrf.UnsafeUrl, match=r"10\.0\.0\.9, a private address"):
        await ssrf.check_url("https://hooks.example.test/x", resolver=_resolver("93.184.216.34", "10.0.0.9"))
    target = await ssrf.check_url(
        "https://hooks.example.test:8443/x?a=1", resolver=_resolver("93.184.216.34")
    )
    assert target.pinned_url == "https://93.184.216.34:8443/x?a=1"
    assert target.host_header == "hooks.example.test:8443"


async def test_ipv6_targets_are_bracketed() -> None:
    target = await ssrf.check_url("https://v6.example.test/x", resolver=_resolver("2606:4700:4700::1111"))
    assert target.pinned_url == "https://[2606:4700:4700::1111]:443/x"
    assert target.host_header == "v6.example.test"


@pytest.mark.parametrize(
    ("url", "allow", "message"),
    [
        ("http://example.com/x", False, "https"),
        ("http://localhost:8080/x", False, "https"),
        ("https://localhost/x", False, "loopback"),
        ("https://user:pass@example.com/x", False, "credentials"),
        ("https:///x", False, "no host"),
        ("gopher://example.com/", True, "https"),
        ("http://10.0.0.1/x", True, "private"),
    ],
)
async def test_url_shapes_are_refused(url: str, allow: bool, message: str) -> None:
    with pytest.raises(ssrf.UnsafeUrl, match=message):
        await ssrf.check_url(url, allow_http_loopback=allow)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:9/bad\u0001", "control character (U+0001) at position 22"),
        ("https://hooks.example.com/a b", "(SPACE)"),
        ("https://hooks.example.com/\u202etxt.exe", "RIGHT-TO-LEFT OVERRIDE"),
        ("https://hooks.example.com:70000/", "not a valid URL"),
        ("https://hooks.example.com:0/", "port must be between 1 and 65535"),
        ("https://hooks.example.com\\@127.0.0.1/", "credentials"),
    ],
)
async def test_urls_no_http_client_would_send_are_refused_before_any_lookup(url: str, message: str) -> None:
    assert message in (ssrf.url_problem(url) or "")
    with pytest.raises(ssrf.MalformedUrl, match=re.escape(message)):
        await ssrf.check_url(url, allow_http_loopback=True, resolver=_resolver("93.184.216.34"))


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/in?a=1&b=%20x",
        "https://hooks.example.com:8443/",
        "https://bücher.example/ü",
        "https://[2606:4700:4700::1111]/x",
        "https://HOOKS.Example.COM./x#ignored",
    ],
)
def test_ordinary_urls_have_no_problem(url: str) -> None:
    assert ssrf.url_problem(url) is None


async def test_an_international_name_is_sent_in_its_ascii_form() -> None:
    target = await ssrf.check_url("https://Bücher.example/x", resolver=_resolver("93.184.216.34"))
    assert target.host == "xn--bcher-kva.example"
    assert target.host_header == "xn--bcher-kva.example"


async def test_plain_http_to_a_public_host_is_refused_even_in_loopback_mode() -> None:
    with pytest.raises(ssrf.UnsafeUrl, match="loopback only"):
        await ssrf.check_url(
            "http://hooks.example.test/x", allow_http_loopback=True, resolver=_resolver("1.1.1.1")
        )


async def test_a_host_in_etc_hosts_resolving_to_loopback_is_refused() -> None:
    # `localhost` comes from /etc/hosts: the check is on the resolved address, not the name.
    with pytest.raises(ssrf.UnsafeUrl, match="resolves to"):
        await ssrf.check_url("https://localhost:9/x")


async def test_pinned_request_keeps_the_hostname_for_host_sni_and_certificate(receiver: Receiver) -> None:
    client = ssrf.PinnedClient(allow_http_loopback=True, resolver=_resolver("127.0.0.1"))
    try:
        response = await client.send("POST", f"http://hooks.example.test:{receiver.port}/in", content=b"{}")
    finally:
        await client.aclose()
    assert response.status_code == 200
    assert receiver.requests[0].headers["host"] == f"hooks.example.test:{receiver.port}"
    # For https, SNI and certificate verification use the hostname, not the pinned IP.
    request = httpx.AsyncClient().build_request(
        "GET", "https://1.1.1.1/", extensions={"sni_hostname": "hooks.example.test"}
    )
    assert request.extensions["sni_hostname"] == "hooks.example.test"


async def test_dns_rebinding_after_save_is_refused_at_send_time(
    owner: Conn, runtime: Runtime, tenant: Tenant, db_url: str, wall_clock: ManualClock
) -> None:
    body = schemas.WebhookConfigCreate(
        name=f"rebind {uuid.uuid4().hex[:6]}", url="https://hooks.example.test/in"
    )
    async with runtime.db.tenant({"sub": str(tenant.user_id), "client_id": str(tenant.client_id)}) as conn:
        row, _ = await service.create_config(
            conn,
            sealer=service.ConnSealer(conn, runtime.vault),
            settings=runtime.settings,
            client_id=tenant.client_id,
            body=body,
            resolver=_resolver("93.184.216.34"),  # public when saved
        )
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=row["id"])
    )
    await dispatch(runtime, wall_clock, resolver=_resolver("10.0.0.7"))  # private when sent
    delivered = read_row(db_url, "webhook_deliveries", delivery_id)
    assert delivered["status"] == "failed"
    assert "10.0.0.7, a private address" in delivered["error_message"]
    assert delivered["status_code"] is None


async def test_a_name_that_resolves_to_a_site_local_address_at_send_time_is_refused(
    owner: Conn, runtime: Runtime, tenant: Tenant, db_url: str, wall_clock: ManualClock
) -> None:
    body = schemas.WebhookConfigCreate(name=f"v6 {uuid.uuid4().hex[:6]}", url="https://v6.example.test/in")
    async with runtime.db.tenant({"sub": str(tenant.user_id), "client_id": str(tenant.client_id)}) as conn:
        row, _ = await service.create_config(
            conn,
            sealer=service.ConnSealer(conn, runtime.vault),
            settings=runtime.settings,
            client_id=tenant.client_id,
            body=body,
            resolver=_resolver("2606:4700:4700::1111"),
        )
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=row["id"])
    )
    await dispatch(runtime, wall_clock, resolver=_resolver("2606:4700:4700::1111", "fec0::5"))
    delivered = read_row(db_url, "webhook_deliveries", delivery_id)
    assert delivered["status"] == "failed"
    assert "fec0::5, a site-local address" in delivered["error_message"]


async def test_loopback_endpoint_is_refused_at_send_time_once_loopback_is_off(
    owner: Conn,
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    wall_clock: ManualClock,
) -> None:
    config = await create_config(api, tenant, receiver.url)
    delivery_id = await enqueue(
        runtime, tenant, await captured_lead(owner, tenant.client_id, config_id=config["id"])
    )
    runtime.settings.webhook_allow_http_loopback = False
    await dispatch(runtime, wall_clock)
    assert receiver.count == 0
    assert "refused" in read_row(db_url, "webhook_deliveries", delivery_id)["error_message"]


async def test_production_never_allows_loopback(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={"env": "production", "webhook_allow_http_loopback": True})
    assert service.loopback_allowed(settings) is False


async def test_every_pinned_client_verifies_certificates_with_one_context_built_once() -> None:
    # The CA bundle is loaded once per process, and what every delivery's client uses still verifies
    # the certificate and its hostname (the SNI name, not the pinned address).
    context = ssrf.tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    first, second = ssrf.PinnedClient(), ssrf.PinnedClient()
    try:
        target = ssrf.Target(
            url="https://a.example/x", scheme="https", host="a.example", port=443, ip="1.1.1.1"
        )
        other = ssrf.Target(
            url="https://b.example/x", scheme="https", host="b.example", port=443, ip="1.0.0.1"
        )
        pools = [c._client_for(t)._transport._pool for c, t in ((first, target), (second, other))]  # type: ignore[attr-defined]
        assert all(pool._ssl_context is context for pool in pools)
    finally:
        await first.aclose()
        await second.aclose()
