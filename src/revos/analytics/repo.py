"""The analytics SQL: reports read through the tenant views `public.analytics_*` (RLS-equivalent
filtering by the caller's claims; see 20260210000000_analytics.sql); the refresh and the campaign
totals read the materialized views of schema `analytics` as the service role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from revos.db.pool import Conn


@dataclass(frozen=True)
class Report:
    view: str  # the tenant view of public
    keys: tuple[str, ...]  # grouped by, besides the period
    sums: tuple[str, ...]  # summed over the period
    filters: tuple[str, ...]  # columns a caller may filter on by equality


FUNNEL_STAGES = ("comments", "leads", "dms", "replies", "emails", "webhooks", "clicks")
REPORTS: dict[str, Report] = {
    "funnel": Report("analytics_campaign_funnel", (), FUNNEL_STAGES, ("client_id", "campaign_id")),
    "posts": Report(
        "analytics_post_daily",
        ("campaign_id", "post_id"),
        ("comments", "trigger_comments", "leads", "dms"),
        ("client_id", "campaign_id", "post_id"),
    ),
    "templates": Report(
        "analytics_dm_templates",
        ("campaign_id", "step", "template_md5"),
        ("sent", "replied", "clicked"),
        ("client_id", "campaign_id", "step"),
    ),
    "accounts": Report(
        "analytics_account_usage",
        ("linkedin_account_id", "kind"),
        ("used", "done", "failed", "unsettled"),
        ("client_id", "linkedin_account_id", "kind"),
    ),
    "pods": Report(
        "analytics_pod_participation",
        ("pod_id", "member_id"),
        ("scheduled", "completed", "failed", "skipped", "pending"),
        ("client_id", "pod_id", "member_id"),
    ),
}


async def report(
    conn: Conn, name: str, *, start: date, end: date, unit: str, filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """Rows of report `name` from `start` to `end` (inclusive), summed per `unit` (day, week, month)."""
    spec = REPORTS[name]
    keys = [sql.Identifier(k) for k in spec.keys]
    period = sql.SQL("date_trunc({unit}, day::timestamp)::date").format(unit=sql.Literal(unit))
    where: list[sql.Composable] = [sql.SQL("day between %(start)s and %(end)s")]
    params: dict[str, Any] = {"start": start, "end": end}
    for column, value in filters.items():
        if column not in spec.filters:
            raise ValueError(f"report {name} has no filter {column}")
        if value is not None:
            where.append(sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column)))
            params[column] = value
    query = sql.SQL(
        "select {period} as period{keys}, {sums} from {view} where {where} group by 1{keys} order by 1{keys}"
    ).format(
        period=period,
        keys=sql.SQL("").join(sql.SQL(", ") + k for k in keys),
        sums=sql.SQL(", ").join(
            sql.SQL("sum({c})::bigint as {c}").format(c=sql.Identifier(c)) for c in spec.sums
        ),
        view=sql.Identifier("public", spec.view),
        where=sql.SQL(" and ").join(where),
    )
    return await (await conn.execute(query, params)).fetchall()


async def refresh(conn: Conn) -> bool:
    """Refresh every analytics view concurrently; False when another refresh is running."""
    row = await (await conn.execute("select analytics.refresh() as done")).fetchone()
    return bool(row and row["done"])


# Every campaign's funnel totals (all days), for campaigns.metrics.
CAMPAIGN_TOTALS = """
select campaign_id, {sums}
from analytics.campaign_funnel_daily
group by campaign_id
""".format(sums=", ".join(f"sum({c})::bigint as {c}" for c in FUNNEL_STAGES))


async def campaign_totals(conn: Conn) -> dict[UUID, dict[str, int]]:
    rows = await (await conn.execute(CAMPAIGN_TOTALS)).fetchall()
    return {r["campaign_id"]: {c: int(r[c]) for c in FUNNEL_STAGES} for r in rows}


# For the dashboard's overview: each campaign's totals and its leads per day, read through the tenant
# view (the caller's clients only), and when the views were last refreshed.
FUNNEL_TOTALS = sql.SQL(
    "select campaign_id, {sums} from public.analytics_campaign_funnel where client_id = %s group by campaign_id"
).format(sums=sql.SQL(", ").join(sql.SQL(f"sum({c})::bigint as {c}") for c in FUNNEL_STAGES))


async def funnel_totals(conn: Conn, client_id: UUID) -> dict[UUID, dict[str, int]]:
    rows = await (await conn.execute(FUNNEL_TOTALS, (client_id,))).fetchall()
    return {r["campaign_id"]: {c: int(r[c]) for c in FUNNEL_STAGES} for r in rows}


async def leads_per_day(conn: Conn, client_id: UUID, since: date) -> list[dict[str, Any]]:
    """(day, campaign_id, n) of new leads since `since`, oldest first."""
    return await (
        await conn.execute(
            "select day, campaign_id, leads as n from public.analytics_campaign_funnel"
            " where client_id = %s and day >= %s and leads > 0 order by day",
            (client_id, since),
        )
    ).fetchall()


async def refreshed_at(conn: Conn) -> datetime | None:
    row = await (await conn.execute("select public.analytics_refreshed_at() as at")).fetchone()
    return row["at"] if row else None
