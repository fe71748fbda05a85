"""Analytics rules: the range a caller may ask for, the figures derived from the views' counts, and
the refresh (views, then every campaign's totals into campaigns.metrics)."""

from __future__ import annotations

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


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _with_rates(name: str, row: dict[str, Any]) -> dict[str, Any]:
    if name == "templates":
        row["reply_rate"] = _rate(row["replied"], row["sent"])
    elif name == "pods":
        done = row["scheduled"] - row["pending"]
        row["participation_rate"] = _rate(row["completed"], done)
    elif name == "funnel":
        row["lead_rate"] = _rate(row["leads"], row["comments"])
        row["reply_rate"] = _rate(row["replies"], row["dms"])
        row["email_rate"] = _rate(row["emails"], row["leads"])
    return row


async def report(
    conn: Conn,
    name: str,
    *,
    start: date | None,
    end: date | None,
    granularity: schemas.Granularity,
    filters: dict[str, Any],
    max_days: int,
) -> schemas.AnalyticsReport:
    first, last = resolve_range(start, end, max_days)
    rows = await repo.report(conn, name, start=first, end=last, unit=granularity, filters=filters)
    sums = repo.REPORTS[name].sums
    totals: dict[str, Any] = {c: sum(int(r[c]) for r in rows) for c in sums}
    out = [_with_rates(name, dict(r)) for r in rows]
    totals = {k: v for k, v in _with_rates(name, totals).items() if v is not None}
    return schemas.AnalyticsReport.model_validate(
        {"report": name, "from": first, "to": last, "granularity": granularity, "rows": out, "totals": totals}
    )


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
