"""The overview: per campaign the funnel comments → leads → DMs → replies → emails → webhooks → clicks, new
leads per day over the last 30 days as an SVG chart, and today's budget of each LinkedIn account.

The funnel and the chart read the analytics views (revos.analytics, refreshed by the worker every few
minutes), so the page costs the same at a million leads as at ten; the page says when they were refreshed.
The budgets are read live."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from fastapi.responses import HTMLResponse, RedirectResponse

from revos.accounts import repo as accounts_repo
from revos.analytics import repo as analytics_repo
from revos.campaigns import repo as campaigns_repo
from revos.clock import utcnow
from revos.web import chart
from revos.web.deps import PageDep
from revos.web.forms import can
from revos.web.pages import page_router
from revos.web.pages.linkedin import budgets

router = page_router()
DAYS = 30
STEPS = ("comments", "leads", "dms", "replies", "emails", "webhooks", "clicks")
LABELS = {"dms": "DMs"}


@router.get("")
async def app_root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=307)


@router.get("/")
async def overview(page: PageDep) -> HTMLResponse:
    today = utcnow().date()
    since = today - timedelta(days=DAYS - 1)
    reads_campaigns = can(page.ctx.claims, "campaigns.read")
    async with page.tx() as conn:
        campaigns, _ = (
            await campaigns_repo.page(conn, cursor=None, limit=50, status=None, client_id=page.client_id)
            if reads_campaigns
            else ([], None)
        )
        counts = await analytics_repo.funnel_totals(conn, page.client_id) if campaigns else {}
        per_day = await analytics_repo.leads_per_day(conn, page.client_id, since) if campaigns else []
        refreshed = await analytics_repo.refreshed_at(conn)
        accounts, _ = await accounts_repo.page(conn, cursor=None, limit=50) if reads_campaigns else ([], None)
        usage = await budgets(page, conn, accounts)
    names = {c["id"]: c["name"] for c in campaigns}
    funnels = [
        {"campaign": c, "steps": [(LABELS.get(s, s), counts.get(c["id"], {}).get(s, 0)) for s in STEPS]}
        for c in campaigns
        if c["status"] != "draft" or c["id"] in counts
    ]
    by_campaign: dict[str, dict[date, int]] = defaultdict(dict)
    for r in per_day:
        if r["campaign_id"] in names:
            by_campaign[names[r["campaign_id"]]][r["day"]] = r["n"]
    drawn = chart.line_chart(chart.last_days(today, DAYS), dict(by_campaign)) if by_campaign else None
    return page.render(
        "overview.html",
        title="Overview",
        funnels=funnels,
        chart=drawn,
        accounts=accounts,
        usage=usage,
        refreshed=refreshed,
    )
