"""Every marketers' page in the browser: no console error, every input labelled, each person sees only what
their role allows and never another client's rows; a failed webhook delivery replayed from its page."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from playwright.async_api import BrowserContext, Page, expect

from revos.clock import get_clock
from revos.runtime import Runtime
from revos.webhooks import dispatcher
from revos.webhooks.receiver import Receiver
from tests.support.rows import (
    Conn,
    insert,
    make_campaign,
    make_lead,
    make_lead_magnet,
    make_linkedin_account,
    make_webhook_config,
)
from tests.web.conftest import Person, make_person, screenshot, sign_in

PAGES = [
    "/app/", "/app/campaigns", "/app/campaigns/new", "/app/leads", "/app/review", "/app/accounts",
    "/app/webhooks", "/app/pods", "/app/cartridges", "/app/skills",
]  # fmt: skip
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map(e => e.outerHTML)"""


async def _client_with_rows(
    owner: Conn, runtime: Runtime, name: str, role: str = "admin"
) -> tuple[Person, dict]:
    """A person of a new client, and a campaign, lead, webhook, LinkedIn account, pod, cartridge named `name`."""
    person = await make_person(owner, runtime, role=role)
    cid = person.client_id
    magnet = await make_lead_magnet(owner, client_id=cid, name=f"{name} magnet")
    campaign = await make_campaign(owner, client_id=cid, name=f"{name} campaign", lead_magnet_id=magnet["id"])
    lead = await make_lead(
        owner, client_id=cid, campaign_id=campaign["id"], first_name=name, last_name="Lead"
    )
    hook = await make_webhook_config(owner, client_id=cid, name=f"{name} hook")
    account = await make_linkedin_account(owner, client_id=cid, account_name=f"{name} account")
    pod = await insert(owner, "pods", {"client_id": cid, "name": f"{name} pod"})
    cartridge = await insert(
        owner, "cartridges", {"client_id": cid, "tier": "workspace", "name": f"{name} cartridge", "voice": {}}
    )
    rows = {
        "campaign": campaign,
        "lead": lead,
        "hook": hook,
        "account": account,
        "pod": pod,
        "cartridge": cartridge,
    }
    return person, rows


def _detail_pages(rows: dict) -> list[str]:
    return [
        f"/app/campaigns/{rows['campaign']['id']}",
        f"/app/campaigns/{rows['campaign']['id']}/edit",
        f"/app/leads/{rows['lead']['id']}",
        f"/app/webhooks/{rows['hook']['id']}",
        f"/app/pods/{rows['pod']['id']}",
        f"/app/cartridges/{rows['cartridge']['id']}",
        f"/app/skills?campaign_id={rows['campaign']['id']}",
    ]


async def test_every_page_is_clean_labelled_and_shows_only_its_client(
    owner: Conn, runtime: Runtime, page: Page, context: BrowserContext
) -> None:
    mine, my_rows = await _client_with_rows(owner, runtime, "Zephyrine")
    _, their_rows = await _client_with_rows(owner, runtime, "Quillon")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
    await sign_in(context, mine)
    for path in PAGES + _detail_pages(my_rows):
        response = await page.goto(path)
        assert response is not None
        assert response.status == 200, f"{path}: {response.status}"
        html = await page.content()
        assert "Quillon" not in html, f"{path} shows another client's rows"
        assert await page.evaluate(UNLABELLED) == [], f"{path} has unlabelled inputs"
    assert "Zephyrine campaign" in await (await context.request.get("/app/campaigns")).text()
    await page.goto("/app/")
    await screenshot(page, "overview")
    # The other client's rows, asked for by address: not found.
    for path in _detail_pages(their_rows)[:-1]:
        response = await context.request.get(path)
        assert response.status == 404, f"{path}: {response.status}"
    assert problems == []


async def test_a_member_reads_but_cannot_manage(
    owner: Conn, runtime: Runtime, page: Page, context: BrowserContext
) -> None:
    member, rows = await _client_with_rows(owner, runtime, "Member", role="member")
    await sign_in(context, member)
    await page.goto("/app/")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Leads")).to_be_visible()
    await expect(nav.get_by_role("link", name="Users & API keys")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    for path in ("/app/users", "/app/audit", "/app/campaigns/new"):
        response = await context.request.get(path)
        assert response.status == 403, path
    # Reading pages show no management form.
    await page.goto("/app/webhooks")
    await expect(page.get_by_role("button", name="Create webhook")).to_have_count(0)
    await page.goto("/app/accounts")
    await expect(page.get_by_role("button", name="Connect")).to_have_count(0)
    token_page = await (await context.request.get("/app/leads")).text()
    token = token_page.split('name="csrf_token" value="')[1].split('"')[0]
    response = await context.request.post(
        f"/app/campaigns/{rows['campaign']['id']}/activate", form={"csrf_token": token}
    )
    assert response.status == 403


@pytest.fixture
def loopback_allowed(runtime: Runtime) -> Iterator[None]:
    previous = runtime.settings.webhook_allow_http_loopback
    runtime.settings.webhook_allow_http_loopback = True
    yield
    runtime.settings.webhook_allow_http_loopback = previous


@pytest.mark.usefixtures("loopback_allowed")
async def test_a_failed_delivery_is_replayed_until_the_receiver_takes_it(
    owner: Conn, runtime: Runtime, page: Page, context: BrowserContext
) -> None:
    person = await make_person(owner, runtime, role="manager")
    await sign_in(context, person)
    async with Receiver() as receiver:
        receiver.answer_next(1, 500)
        await page.goto("/app/webhooks")
        await page.get_by_label("Name").fill("CRM <intake>")
        await page.get_by_label("URL (https)").fill(receiver.url + "/hook")
        await page.get_by_role("button", name="Create webhook").click()
        secret = await page.get_by_label("Signing secret", exact=True).input_value()
        assert secret.startswith("whsec_")
        await page.get_by_role("link", name="CRM <intake>").click()
        await page.get_by_role("button", name="Send a test event").click()
        await expect(page.get_by_text("Test event not delivered")).to_be_visible()
        await expect(page.locator("tbody .badge.failed")).to_have_count(1)
        await screenshot(page, "webhooks")
        await page.get_by_role("button", name="Replay the delivery").click()
        await expect(page.get_by_text("The delivery is queued again")).to_be_visible()
        # The worker's dispatcher takes the queued delivery; the receiver now answers 200.
        await dispatcher.deliver_due(
            runtime.db, clock=get_clock(), limit=50, settings=runtime.settings, vault=runtime.vault,
            rng=random.Random(1),
        )  # fmt: skip
        await page.reload()
        await expect(page.locator("tbody .badge.success")).to_have_count(1)
        assert receiver.count == 2
        await page.locator("tbody a").first.click()
        await expect(page.get_by_role("heading", name="Attempts")).to_be_visible()
        await expect(page.locator("tbody tr")).to_have_count(2)
