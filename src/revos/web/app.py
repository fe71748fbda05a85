"""Mounting the dashboard on the API's app: its pages, its static files, its response headers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from revos.web import security
from revos.web.pages import (
    account,
    audit,
    auth,
    campaigns,
    clients,
    engagement,
    leads,
    linkedin,
    overview,
    users,
    webhooks,
)
from revos.web.render import STATIC

# Every page module's router, in the order their routes are matched. A new page: add its module here.
PAGES = [auth, overview, account, users, audit, clients]
PAGES += [campaigns, leads, linkedin, webhooks, engagement]


def mount(app: FastAPI) -> None:
    for module in PAGES:
        app.include_router(module.router, include_in_schema=False)
    app.mount(f"{security.PREFIX}/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.add_middleware(security.DashboardHeaders)
