"""One module per page (or group of pages), each with a `router` listed in revos.web.app.PAGES."""

from __future__ import annotations

from fastapi import APIRouter

from revos.web.deps import WebRoute


def page_router() -> APIRouter:
    """The router of a page module: under /app, answering in HTML (errors too)."""
    return APIRouter(prefix="/app", route_class=WebRoute)
