"""LinkedIn accounts: connect (with LinkedIn's verification step: a code by mail, SMS or app), status,
pause and resume, and today's budget per action kind (used / cap, revos.accounts.safety). The same calls
as /v1/linkedin-accounts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from revos.accounts import connecting, repo, safety, schemas, service
from revos.clock import utcnow
from revos.errors import NotFound, RevosError
from revos.web import forms
from revos.web.deps import Page, PageDep
from revos.web.pages import page_router

router = page_router()


async def budgets(page: Page, conn: Any, rows: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """Per account: each action kind's use today (the account's own day) against its cap."""
    now = utcnow()
    out: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        policy = safety.Policy.of_account(page.runtime.settings, row.get("safety"))
        day = now.astimezone(safety.zone(row.get("timezone"))).date()
        used = await safety.usage(conn, account_id=row["id"], day=day)
        out[row["id"]] = [
            {
                "kind": kind,
                "used": used.get(kind, 0),
                "cap": policy.cap_for(kind, row.get("warmup_started_at"), now),
            }
            for kind in safety.KINDS
        ]
    return out


async def _show(
    page: Page, *, status: int = 200, error: str | None = None, values: dict[str, str] | None = None
) -> HTMLResponse:
    async with page.tx() as conn:
        rows, _ = await repo.page(conn, cursor=None, limit=200)
        usage = await budgets(page, conn, rows)
    accounts = [schemas.LinkedInAccount.from_row(r) for r in rows]
    return page.render(
        "linkedin.html", status=status, title="LinkedIn accounts", accounts=accounts, usage=usage,
        can_manage=forms.can(page.ctx.claims, "linkedin_accounts.manage"), error=error, values=values or {},
    )  # fmt: skip


@router.get("/accounts")
async def accounts(page: PageDep) -> HTMLResponse:
    page.require("campaigns.read")
    return await _show(page)


@router.post("/accounts")
async def connect(page: PageDep) -> Response:
    page.require("linkedin_accounts.manage")
    form = await page.form()
    values = {k: await page.field(k) for k in ("account_name", "username", "timezone")}
    body_fields = forms.compact(
        {
            "account_name": values["account_name"] or None,
            "username": values["username"] or None,
            "password": str(form.get("password") or "") or None,
            "li_at": str(form.get("li_at") or "") or None,
            "timezone": values["timezone"] or "UTC",
        }
    )
    try:
        body = schemas.AccountConnect.model_validate(body_fields)
        user_id = page.ctx.user_in(page.client_id)
        row = await connecting.connect(
            page.runtime, page.ctx.tx, client_id=page.client_id, user_id=user_id, body=body
        )
    except ValidationError as exc:
        return await _show(page, status=422, error=forms.refusal(exc), values=values)
    except RevosError as exc:
        return await _show(page, status=exc.status_code, error=exc.message, values=values)
    account = schemas.LinkedInAccount.from_row(row)
    if account.checkpoint:
        return page.redirect(
            "/app/accounts",
            flash=f"LinkedIn asks {account.account_name} for a verification code: enter it below.",
        )
    return page.redirect("/app/accounts", flash=f"{account.account_name} is connected.")


@router.post("/accounts/{account_id}/checkpoint")
async def checkpoint(page: PageDep, account_id: UUID) -> Response:
    page.require("linkedin_accounts.manage")
    try:
        body = schemas.CheckpointSolve(code=await page.field("code"))
        row = await connecting.solve_checkpoint(page.runtime, page.ctx.tx, account_id, body.code)
    except ValidationError as exc:
        return page.redirect("/app/accounts", error=forms.refusal(exc))
    except RevosError as exc:
        return page.redirect("/app/accounts", error=exc.message)
    account = schemas.LinkedInAccount.from_row(row)
    if account.checkpoint:
        return page.redirect("/app/accounts", error=f"LinkedIn still asks: {account.checkpoint.message}")
    return page.redirect("/app/accounts", flash=f"{account.account_name} is connected.")


@router.post("/accounts/{account_id}/checkpoint/resend")
async def resend(page: PageDep, account_id: UUID) -> Response:
    page.require("linkedin_accounts.manage")
    try:
        await connecting.resend_checkpoint(page.runtime, page.ctx.tx, account_id)
    except RevosError as exc:
        return page.redirect("/app/accounts", error=exc.message)
    return page.redirect("/app/accounts", flash="A new code is on its way.")


@router.post("/accounts/{account_id}/pause")
async def pause(page: PageDep, account_id: UUID) -> Response:
    page.require("linkedin_accounts.manage")
    reason = (await page.field("reason"))[:500] or None
    try:
        async with page.tx() as conn:
            row = await service.pause(conn, account_id, reason, None)
    except RevosError as exc:
        return page.redirect("/app/accounts", error=exc.message)
    return page.redirect(
        "/app/accounts", flash=f"{row['account_name']} is paused: it takes no action until resumed."
    )


@router.post("/accounts/{account_id}/resume")
async def resume(page: PageDep, account_id: UUID) -> Response:
    page.require("linkedin_accounts.manage")
    try:
        async with page.tx() as conn:
            row = await service.resume(page.runtime, conn, account_id)
    except NotFound:
        raise
    except RevosError as exc:
        return page.redirect("/app/accounts", error=exc.message)
    return page.redirect("/app/accounts", flash=f"{row['account_name']} is resumed.")
