"""SSRF rules: which addresses are refused, at save time and again at send time (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import uuid

import httpx
import pytest

from revos.clock import ManualClock
from revos.runtime import Runtime
from revos.security import ssrf
from revos.webhooks import schemas, service
from revos.webhooks.receiver import Receiver
from tests.webhooks.conftest import Tenant, create_config, delivery_row, dispatch, enqueue, make_lead


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
    ],
)
def test_non_public_addresses_are_refused(ip: str) -> None:
    assert ssrf.refusal(ipaddress.ip_address(ip)) is not None


@pytest.mark.parametrize("ip", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"])
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
    runtime: Runtime, tenant: Tenant, db_url: str, clock: ManualClock
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
    delivery_id = await enqueue(runtime, tenant, make_lead(db_url, tenant.client_id, config_id=row["id"]))
    await dispatch(runtime, clock, resolver=_resolver("10.0.0.7"))  # private when sent
    delivered = delivery_row(db_url, delivery_id)
    assert delivered["status"] == "failed"
    assert "10.0.0.7, a private address" in delivered["error_message"]
    assert delivered["status_code"] is None


async def test_loopback_endpoint_is_refused_at_send_time_once_loopback_is_off(
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    runtime: Runtime,
    db_url: str,
    clock: ManualClock,
) -> None:
    config = await create_config(api, tenant, receiver.url)
    delivery_id = await enqueue(runtime, tenant, make_lead(db_url, tenant.client_id, config_id=config["id"]))
    runtime.settings.webhook_allow_http_loopback = False
    await dispatch(runtime, clock)
    assert receiver.count == 0
    assert "refused" in delivery_row(db_url, delivery_id)["error_message"]


async def test_production_never_allows_loopback(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={"env": "production", "webhook_allow_http_loopback": True})
    assert service.loopback_allowed(settings) is False
