"""create_app(): the FastAPI application served by `revos serve`.

The composition root of the HTTP side: it mounts every domain's router on the toolkit of revos.api,
which itself knows no domain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from revos import __version__, web
from revos.accounts.api import router as accounts_router
from revos.ai.api import router as ai_router
from revos.analytics.api import router as analytics_router
from revos.api import deps, errors, openapi
from revos.api.observe import ObserveMiddleware
from revos.api.routing import ApiRoute
from revos.campaigns.api import router as campaigns_router
from revos.cartridges.api import router as cartridges_router
from revos.config import get_settings
from revos.db import migrate
from revos.dms.api import router as downloads_router
from revos.exports.api import router as export_router
from revos.inbound.api import router as inbound_router
from revos.leads.api import router as leads_router
from revos.magnets.api import router as magnets_router
from revos.memory.api import router as memory_router
from revos.ops.api import router as ops_router
from revos.pods.api import router as pods_router
from revos.posts.api import router as posts_router
from revos.runtime import Runtime
from revos.skills.api import router as skills_router
from revos.tenancy import repo as tenancy_repo
from revos.tenancy.api import router as tenancy_router
from revos.webhooks.api import router as webhooks_router


def create_app(runtime: Runtime | None = None) -> FastAPI:
    owns_runtime = runtime is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime.build(get_settings(), name="revos-api")
        app.state.runtime = rt
        if owns_runtime:
            await rt.open()
        try:
            yield
        finally:
            if owns_runtime:
                await rt.close()

    app = FastAPI(
        title="revOS API",
        version=__version__,
        description="Turn LinkedIn engagement into captured leads. Authenticate with "
        "`Authorization: Bearer <JWT>` or `X-API-Key: rvs_…`.",
        lifespan=lifespan,
    )
    if runtime is not None:
        app.state.runtime = runtime
    app.router.route_class = ApiRoute
    deps.install(app, tenancy_repo)
    errors.install(app)
    openapi.install(app)
    app.include_router(tenancy_router)
    app.include_router(webhooks_router)
    app.include_router(accounts_router)
    app.include_router(inbound_router)
    app.include_router(campaigns_router)
    app.include_router(magnets_router)
    app.include_router(posts_router)
    app.include_router(leads_router)
    app.include_router(downloads_router)
    app.include_router(memory_router)
    app.include_router(ai_router)
    app.include_router(cartridges_router)
    app.include_router(skills_router)
    app.include_router(pods_router)
    app.include_router(export_router)
    web.mount(app)  # the dashboard under /app (docs/dashboard.md)
    app.include_router(analytics_router)
    app.include_router(ops_router)
    app.add_middleware(ObserveMiddleware)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        rt: Runtime = app.state.runtime
        try:
            async with rt.db.raw() as conn:
                pending = await migrate.pending_count(conn)
        except Exception as exc:
            return JSONResponse(
                {"status": "unavailable", "detail": f"database: {exc.__class__.__name__}"}, status_code=503
            )
        if pending:
            return JSONResponse(
                {"status": "unavailable", "detail": f"{pending} migration(s) pending: run revos db migrate"},
                status_code=503,
            )
        return JSONResponse({"status": "ready"})

    return app
