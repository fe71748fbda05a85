"""Leads: the table (status, campaign and name/email filters, keyset pages), the CSV export of the current
filter (streamed in keyset batches), and each lead's page with its timeline and DM messages; the review
queue of uncertain emails (approve, correct, reject: the lifecycle functions /v1/leads/…/review calls)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import Response
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import ValidationError

from revos.campaigns import repo as campaigns_repo
from revos.clock import utcnow
from revos.errors import RevosError, ValidationFailed
from revos.leads import repo, schemas, service
from revos.web import dashboard_repo, forms
from revos.web.deps import Page, PageDep, is_htmx
from revos.web.pages import page_router

router = page_router()
PAGE_SIZE = 50
SEARCH_MAX = 100
CSV_COLUMNS = (
    "id", "campaign", "first_name", "last_name", "email", "linkedin_id", "linkedin_url", "company", "title",
    "status", "created_at",
)  # fmt: skip


def _filters(status: str | None, campaign_id: str | None, q: str | None) -> dict[str, Any]:
    chosen = status if status in repo.STATUSES else None
    try:
        campaign = UUID(campaign_id) if campaign_id else None
    except ValueError as exc:
        raise ValidationFailed("campaign_id: not a campaign") from exc
    search = (q or "").strip()[:SEARCH_MAX] or None
    return {"status": chosen, "campaign_id": campaign, "search": search}


def _query(filters: dict[str, Any], **extra: Any) -> str:
    pairs = {
        "status": filters["status"] or "",
        "campaign_id": str(filters["campaign_id"] or ""),
        "q": filters["search"] or "",
        **extra,
    }
    return urlencode({k: v for k, v in pairs.items() if v})


@router.get("/leads")
async def leads(
    page: PageDep,
    status: str | None = None,
    campaign_id: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    page.require("leads.read")
    filters = _filters(status, campaign_id, q)
    async with page.tx() as conn:
        rows, next_cursor = await dashboard_repo.lead_page(
            conn, page.client_id, cursor=cursor, limit=PAGE_SIZE, **filters
        )
        campaigns = [] if is_htmx(page.request) else await _campaigns(page, conn)
    context: dict[str, Any] = {
        "rows": rows,
        "next_url": f"/app/leads?{_query(filters, cursor=next_cursor)}" if next_cursor else None,
    }
    if is_htmx(page.request) and cursor:  # "more": the rows alone, appended under the ones shown
        return page.render("lead_rows.html", **context)
    return page.render(
        "leads.html", title="Leads", filters=filters, statuses=repo.STATUSES, campaigns=campaigns,
        export_url=f"/app/leads.csv?{_query(filters)}", **context,
    )  # fmt: skip


async def _campaigns(page: Page, conn: Any) -> list[dict[str, Any]]:
    rows, _ = await campaigns_repo.page(conn, cursor=None, limit=200, status=None, client_id=page.client_id)
    return rows


@router.get("/leads.csv")
async def export(
    page: PageDep, status: str | None = None, campaign_id: str | None = None, q: str | None = None
) -> StreamingResponse:
    """Every lead of the filter as CSV, streamed batch by batch (constant memory at a million leads)."""
    page.require("leads.read")
    filters = _filters(status, campaign_id, q)

    async def lines() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        async with page.tx() as conn:
            async for batch in dashboard_repo.lead_batches(conn, page.client_id, **filters):
                for r in batch:
                    writer.writerow(
                        [
                            r["id"], r["campaign_name"] or "", r["first_name"] or "", r["last_name"] or "",
                            r["email"] or "", r["linkedin_id"], r["linkedin_url"] or "", r["company"] or "",
                            r["title"] or "", r["status"], r["created_at"].isoformat(),
                        ]
                    )  # fmt: skip
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue().encode()

    name = f"leads-{utcnow():%Y%m%d-%H%M}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


@router.get("/leads/{lead_id}")
async def lead(page: PageDep, lead_id: UUID) -> HTMLResponse:
    page.require("leads.read")
    async with page.tx() as conn:
        detail = await service.lead_detail(conn, lead_id)
        campaign = await campaigns_repo.get(conn, detail["campaign_id"]) if detail["campaign_id"] else None
    name = " ".join(p for p in (detail["first_name"], detail["last_name"]) if p) or detail["linkedin_id"]
    return page.render(
        "lead.html", title=name, lead=detail, campaign=campaign, sequence=detail["sequence"],
        messages=detail["messages"], timeline=detail["timeline"],
        can_review=forms.can(page.ctx.claims, "leads.review"),
    )  # fmt: skip


# --- the review queue ----------------------------------------------------------------------------------------


@router.get("/review")
async def review(page: PageDep, cursor: str | None = None) -> HTMLResponse:
    page.require("leads.review")
    async with page.tx() as conn:
        rows, next_cursor = await repo.page(
            conn, cursor=cursor, limit=PAGE_SIZE, review=True, client_id=page.client_id
        )
    return page.render("review.html", title="Review queue", rows=rows, next_cursor=next_cursor)


async def _reviewer(page: Page, conn: Any) -> UUID | None:
    return await service.existing_user(conn, page.session.user_id)


async def _reviewed(page: Page, lead_id: UUID, message: str, *, error: bool = False) -> Response:
    """htmx: the row is replaced by the outcome; otherwise back to the queue with a message."""
    if is_htmx(page.request):
        return page.render("review_done.html", lead_id=lead_id, message=message, error=error)
    return page.redirect("/app/review", **({"error": message} if error else {"flash": message}))


@router.post("/review/{lead_id}/approve")
async def approve(page: PageDep, lead_id: UUID) -> Response:
    """Approve the email as read, or as corrected in the row's field (one click either way)."""
    page.require("leads.review")
    try:
        email = schemas.ReviewApprove.model_validate({"email": await page.field("email") or None}).email
    except ValidationError:
        return await _reviewed(page, lead_id, "That is not a valid email address.", error=True)
    try:
        async with page.tx() as conn:
            current = await service.lead_detail(conn, lead_id)
            extracted = (current["sequence"] or {}).get("email_extracted")
            corrected = email if email and email != extracted else None
            detail = await service.approve_review(
                page.runtime, conn, lead_id, email=corrected, reviewer=await _reviewer(page, conn)
            )
    except RevosError as exc:
        return await _reviewed(page, lead_id, exc.message, error=True)
    verb = "corrected to" if corrected else "approved:"
    return await _reviewed(page, lead_id, f"Email {verb} {detail['email']}.")


@router.post("/review/{lead_id}/reject")
async def reject(page: PageDep, lead_id: UUID) -> Response:
    page.require("leads.review")
    body = schemas.ReviewReject(reason=(await page.field("reason") or "not an email address")[:500])
    try:
        async with page.tx() as conn:
            await service.reject_review(
                page.runtime, conn, lead_id, reason=body.reason, reviewer=await _reviewer(page, conn)
            )
    except RevosError as exc:
        return await _reviewed(page, lead_id, exc.message, error=True)
    return await _reviewed(page, lead_id, "Rejected: the lead is asked again for an email.")
