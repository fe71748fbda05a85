"""Agency staff: the agency's clients, and switching the client the pages act in."""

from __future__ import annotations

from uuid import UUID

from fastapi import Response
from fastapi.responses import HTMLResponse

from revos.errors import Forbidden, RevosError
from revos.identity import service as identity
from revos.tenancy import service as tenancy
from revos.web.deps import PageDep
from revos.web.pages import page_router

router = page_router()


@router.get("/clients")
async def clients(page: PageDep) -> HTMLResponse:
    async with page.agency_tx() as conn:  # refuses anybody but agency staff
        rows, _ = await tenancy.list_clients(conn, limit=200)
    rows.sort(key=lambda r: r["name"].lower())
    return page.render("clients.html", title="Clients", clients=rows)


@router.post("/clients/switch")
async def switch(page: PageDep) -> Response:
    if page.session.agency_id is None:
        raise Forbidden("only agency staff switch clients")
    back = await page.field("back") or "/app/"
    if not back.startswith("/app/") or back.startswith("//"):
        back = "/app/"
    try:
        client_id = UUID(await page.field("client_id"))
    except ValueError:
        return page.redirect(back, error="Choose a client.")
    try:
        async with page.runtime.db.service(actor=f"web:{page.session.user_id}") as conn:
            await identity.switch_client(conn, page.session, client_id)
        async with page.agency_tx() as conn:
            rows, _ = await tenancy.list_clients(conn, limit=200)
    except RevosError as exc:
        return page.redirect(back, error=exc.message)
    name = next((r["name"] for r in rows if r["id"] == client_id), "the client")
    return page.redirect(back, flash=f"You are now working in {name}.")
