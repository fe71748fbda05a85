"""The overview: where a signed-in person lands (the campaign funnel will live here)."""

from __future__ import annotations

from fastapi.responses import HTMLResponse, RedirectResponse

from revos.web.deps import PageDep
from revos.web.pages import page_router

router = page_router()


@router.get("")
async def app_root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=307)


@router.get("/")
async def overview(page: PageDep) -> HTMLResponse:
    return page.render("overview.html", title="Overview")
