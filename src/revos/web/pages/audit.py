"""The audit trail of the current client (admins), newest first, paged by its sequence number."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query
from fastapi.responses import HTMLResponse

from revos.audit import service as audit
from revos.tenancy import service as tenancy
from revos.web.deps import PageDep
from revos.web.pages import page_router

router = page_router()
PAGE_SIZE = 50


def _user_id(actor: str) -> UUID | None:
    try:
        return UUID(actor)
    except ValueError:
        return None


@router.get("/audit")
async def audit_log(
    page: PageDep,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
) -> HTMLResponse:
    page.require("audit.read")
    async with page.tx() as conn:
        rows, next_before = await audit.entries(conn, page.client_id, before_seq=before, limit=limit)
        ids = list({uid for r in rows if (uid := _user_id(r["actor"])) is not None})
        emails = await tenancy.user_emails(conn, ids)
    actors = {
        r["actor"]: emails.get(uid, r["actor"]) if (uid := _user_id(r["actor"])) else r["actor"] for r in rows
    }
    # An htmx "older entries" request gets the rows alone, appended under the ones shown.
    template = "audit_rows.html" if page.request.headers.get("hx-request") == "true" else "audit.html"
    return page.render(
        template, title="Audit log", rows=rows, actors=actors, next_before=next_before, limit=limit
    )
