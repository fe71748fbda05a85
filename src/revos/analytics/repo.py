"""The analytics SQL: reports read through the tenant views `public.analytics_*` (RLS-equivalent
filtering by the caller's claims; see 20260210000000_analytics.sql); the refresh and the campaign
totals read the materialized views of schema `analytics` as the service role."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from revos.db.pool import Conn


@dataclass(frozen=True)
class Rate:
    name: str
    num: str  # SQL over the row's figures (constants of this module, never input)
    den: str


@dataclass(frozen=True)
class Report:
    view: str  # the tenant view of public
    keys: tuple[str, ...]  # grouped by, besides the period
    sums: tuple[str, ...]  # summed over the period
    filters: tuple[str, ...]  # columns a caller may filter on by equality
    rates: tuple[Rate, ...] = ()  # derived from the sums, after them


FUNNEL_STAGES = ("comments", "leads", "dms", "replies", "emails", "webhooks", "clicks")
REPORTS: dict[str, Report] = {
    "funnel": Report(
        "analytics_campaign_funnel",
        (),
        FUNNEL_STAGES,
        ("client_id", "campaign_id"),
        (
            Rate("lead_rate", "leads", "comments"),
            Rate("reply_rate", "replies", "dms"),
            Rate("email_rate", "emails", "leads"),
        ),
    ),
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
        (Rate("reply_rate", "replied", "sent"),),
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
        (Rate("participation_rate", "completed", "scheduled - pending"),),
    ),
}

# The first day of the day's period: a week starts on Monday (as 0001-01-01 did), a month on its 1st.
PERIODS = {
    "day": "day",
    "week": "day - mod(day - date '0001-01-01', 7)",
    "month": "date_trunc('month', day::timestamp)::date",
}

# num / den rounded to 4 decimals as a float is (Python's round(num / den, 4)), in ten-thousandths; null
# when den is 0. Half up from the exact quotient, except at an exact tie, where the float's own binary
# value decides: up when the float is above the tie, half even when it is the tie itself (1/32 = 0.03125
# -> 0.0312). The float num::float8 / den is mantissa * 2^-shift, read from its IEEE bits ({bits}).
_TEN_THOUSANDTHS = """case
  when ({d}) = 0 then null
  when mod(({n}) * 20000, ({d})) = 0 and mod(({n}) * 20000 / ({d}), 2) = 1 then
    ({n}) * 10000 / ({d}) + case sign(
      (({bits} & 4503599627370495) | 4503599627370496)::numeric * ({d})
      - ({n}) * power(2::numeric, 1075 - (({bits} >> 52) & 2047)))
    when 1 then 1 when -1 then 0 else mod(({n}) * 10000 / ({d}), 2) end
  else (({n}) * 20000 + ({d})) / (2 * ({d}))
end"""
_BITS = "('x' || encode(float8send(({n})::float8 / ({d})), 'hex'))::bit(64)::bigint"


def ten_thousandths(rate: Rate) -> sql.Composable:
    n, d = rate.num, rate.den
    return sql.SQL(_TEN_THOUSANDTHS.format(n=n, d=d, bits=_BITS.format(n=n, d=d)))


def number(t: sql.Composable) -> sql.Composable:
    """JSON text of the float t / 10000 as Python writes it (0.5, 0.6667, 1.0, 0.0); null for null."""
    return sql.SQL(
        "({t} / 10000)::text || '.' || coalesce(nullif(rtrim(lpad(mod({t}, 10000)::text, 4, '0'), '0'), ''), '0')"
    ).format(t=t)


@functools.lru_cache(maxsize=256)
def _report_query(name: str, unit: str, filters: tuple[str, ...]) -> bytes:
    """The SQL of a report: its rows as one JSON array's items, and its totals as a JSON object. Each row
    is written by concatenation (cheaper than row_to_json): period, keys, sums, rates, in that order."""
    spec = REPORTS[name]
    keys = sql.SQL("").join(sql.SQL(", ") + sql.Identifier(k) for k in spec.keys)
    where = [sql.SQL("day between %(start)s and %(end)s")] + [
        sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c)) for c in filters
    ]
    rates = [(r, sql.Identifier(f"_{r.name}")) for r in spec.rates]  # each in ten-thousandths

    def member(key: str, value: sql.Composable, first: bool = False) -> list[sql.Composable]:
        return [sql.Literal(("{" if first else ",") + f'"{key}":'), value]

    row: list[sql.Composable] = member("period", sql.SQL("to_json(period)::text"), first=True)
    for k in spec.keys:
        row += member(k, sql.SQL("coalesce(to_json({})::text, 'null')").format(sql.Identifier(k)))
    for c in spec.sums:
        row += member(c, sql.SQL("coalesce({}::text, 'null')").format(sql.Identifier(c)))
    for r, t in rates:
        row += member(r.name, sql.SQL("coalesce({}, 'null')").format(number(t)))
    totals: list[sql.Composable] = []
    for i, c in enumerate(spec.sums):  # floats: 4.0
        totals += member(c, sql.SQL("{}::text || '.0'").format(sql.Identifier(c)), first=i == 0)
    for r, t in rates:  # left out when undefined
        totals.append(sql.SQL("coalesce({} || {}, '')").format(sql.Literal(f',"{r.name}":'), number(t)))

    query = sql.SQL(
        """with g as (
  select {period} as period{keys}, {sums} from {view} where {where} group by 1{keys}
)
select
  (select coalesce(string_agg({row}, ',' order by period{keys}), '') from (select g.*{rates} from g) g) as rows,
  (select {totals} from (select *{rates} from (select {total_sums} from g) t) t) as totals"""
    ).format(
        period=sql.SQL(PERIODS[unit]),
        keys=keys,
        sums=sql.SQL(", ").join(
            sql.SQL("sum({c})::bigint as {c}").format(c=sql.Identifier(c)) for c in spec.sums
        ),
        view=sql.Identifier("public", spec.view),
        where=sql.SQL(" and ").join(where),
        row=sql.SQL(" || ").join([*row, sql.Literal("}")]),
        rates=sql.SQL("").join(sql.SQL(", {} as {}").format(ten_thousandths(r), t) for r, t in rates),
        totals=sql.SQL(" || ").join([*totals, sql.Literal("}")]),
        total_sums=sql.SQL(", ").join(
            sql.SQL("coalesce(sum({c}), 0)::bigint as {c}").format(c=sql.Identifier(c)) for c in spec.sums
        ),
    )
    return query.as_bytes()


async def report(
    conn: Conn, name: str, *, start: date, end: date, unit: str, filters: dict[str, Any]
) -> tuple[str, str]:
    """Report `name` from `start` to `end` (inclusive), summed per `unit` (day, week, month), as JSON
    written by the server: (the rows, comma-separated, ordered by period and keys; the totals' object,
    whose sums are floats and whose rates are left out when undefined)."""
    spec = REPORTS[name]
    unknown = set(filters) - set(spec.filters)
    if unknown:
        raise ValueError(f"report {name} has no filter {', '.join(sorted(unknown))}")
    given = {c: v for c, v in filters.items() if v is not None}
    query = _report_query(name, unit, tuple(given))
    row = await (await conn.execute(query, {"start": start, "end": end, **given})).fetchone()
    assert row is not None
    return row["rows"], row["totals"]


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
