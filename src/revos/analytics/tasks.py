"""Queue tasks of analytics: the periodic refresh of the views (REVOS_CRON_ANALYTICS_REFRESH)."""

from __future__ import annotations

from revos.analytics import service
from revos.queue import current_runtime, periodic


@periodic("analytics.refresh", cron=lambda s: s.cron_analytics_refresh)
async def refresh(timestamp: int) -> None:
    await service.refresh(current_runtime().db)
