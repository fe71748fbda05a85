"""Analytics rules: the range a caller may ask for, the figures derived from the views' counts, and
the refresh (views, then every campaign's totals into campaigns.metrics)."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from typing import Any

from revos.analytics import repo, schemas
from revos.campaigns import service as campaigns
from revos.clock import utcnow
from revos.db.pool import Conn, Database
from revos.errors import RevosError

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30


class BadRange(RevosError):
    status_code = 400
    code = "bad_range"


def resolve_range(start: date | None, end: date | None, max_days: int) -> tuple[date, date]:
    """[start, end], both inclusive; unset end = today (UTC), unset start = 30 days before end."""
    end = end or utcnow().date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise BadRange(f"from ({start}) is after to ({end})")
    days = (end - start).days + 1
    if days > max_days:
        raise BadRange(f"from..to spans {days} days; at most {max_days} may be asked at once")
    return start, end


async def report(
    conn: Conn,
    name: str,
    *,
    start: date | None,
    end: date | None,
    granularity: schemas.Granularity,
    filters: dict[str, Any],
    max_days: int,
) -> str:
    """The report as the JSON text of schemas.AnalyticsReport. The database aggregates, derives the rates
    and writes the rows (reports run to hundreds of rows): Python never touches them one by one."""
    first, last = resolve_range(start, end, max_days)
    rows, totals = await repo.report(conn, name, start=first, end=last, unit=granularity, filters=filters)
    head = {"report": name, "from": first.isoformat(), "to": last.isoformat(), "granularity": granularity}
    return f'{json.dumps(head, separators=(",", ":"))[:-1]},"rows":[{rows}],"totals":{totals}}}'


async def refresh(db: Database) -> bool:
    """Refresh the views concurrently, then campaigns' totals; False when another refresh was running."""
    async with db.service("worker:analytics.refresh") as conn:
        if not await repo.refresh(conn):
            log.info("analytics refresh skipped: another one is running")
            return False
    async with db.service("worker:analytics.refresh") as conn:
        changed = await campaigns.record_metrics(conn, await repo.campaign_totals(conn))
    if changed:
        log.info("campaign metrics updated for %d campaign(s)", changed)
    return True
