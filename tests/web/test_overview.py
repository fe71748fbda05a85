"""The overview's funnel: each campaign's figures read from the analytics views once the worker has
refreshed them, with the time of that refresh; another client's campaigns never counted."""

from __future__ import annotations

from playwright.async_api import Page, expect

from revos.analytics import service as analytics
from revos.runtime import Runtime
from tests.support.rows import Conn, make_campaign, make_lead
from tests.web.conftest import make_person, sign_in


async def test_the_funnel_shows_the_refreshed_figures_of_the_clients_own_campaigns(
    owner: Conn, runtime: Runtime, page: Page
) -> None:
    admin = await make_person(owner, runtime)
    other = await make_person(owner, runtime)
    mine = await make_campaign(owner, client_id=admin.client_id, name="Overview mine", status="active")
    theirs = await make_campaign(owner, client_id=other.client_id, name="Overview theirs", status="active")
    for _ in range(3):
        await make_lead(owner, client_id=admin.client_id, campaign_id=mine["id"])
    for _ in range(5):
        await make_lead(owner, client_id=other.client_id, campaign_id=theirs["id"])
    assert await analytics.refresh(runtime.db)

    await sign_in(page.context, admin)
    await page.goto("/app/")
    funnel = page.get_by_role("list", name="Funnel of Overview mine")
    await expect(funnel.get_by_role("listitem").nth(1)).to_have_text("3leads")
    await expect(page.get_by_text("Figures as of")).to_be_visible()
    await expect(page.get_by_text("Overview theirs")).to_have_count(0)
