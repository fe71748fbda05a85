"""/v1/analytics against a small known history: the right figures per day, week and month, only the
caller's own, after concurrent refreshes of the views; campaigns.metrics filled from them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from psycopg import sql

from revos.analytics import repo, service
from revos.analytics.schemas import AnalyticsReport
from revos.runtime import Runtime
from tests.support import Conn, Tenant, make_linkedin_account, make_tenant
from tests.support.db import read_row
from tests.support.rows import (
    insert,
    make_campaign,
    make_comment,
    make_dm_sequence,
    make_lead,
    make_post,
    make_webhook_config,
    make_webhook_delivery,
    tag,
)

D1, D2, D3 = (
    datetime(2026, 3, 2, 9, tzinfo=UTC),
    datetime(2026, 3, 3, 9, tzinfo=UTC),
    datetime(2026, 3, 10, 9, tzinfo=UTC),
)
RANGE = {"from": "2026-03-01", "to": "2026-03-31"}


@dataclass
class History:
    tenant: Tenant
    campaign: UUID
    post: UUID
    account: UUID
    pod: UUID
    members: list[UUID]


async def seed(owner: Conn, runtime: Runtime, *, small: bool = False) -> History:
    """Tenant A's history (small=False) or a smaller other client's, all in March 2026."""
    t = await make_tenant(owner, runtime)
    c = t.client_id
    acct = (await make_linkedin_account(owner, client_id=c, user_id=t.user_id, timezone="UTC"))["id"]
    camp = (await make_campaign(owner, client_id=c, dm_template_step1="Hi {first_name}, the guide?"))["id"]
    post = (await make_post(owner, client_id=c, campaign_id=camp, linkedin_account_id=acct))["id"]
    hook = (await make_webhook_config(owner, client_id=c))["id"]
    days = [D1] if small else [D1, D1, D1, D3]
    comments = [
        (await make_comment(owner, post_id=post, commented_at=d, has_trigger_word=i != 1))["id"]
        for i, d in enumerate(days)
    ]
    leads = [
        (await make_lead(owner, campaign_id=camp, comment_id=comments[i], created_at=days[i]))["id"]
        for i in ([0] if small else [0, 2, 3])
    ]
    for_update = dict(step1_sent_at=D1, email_extracted="ada@example.com", email_extracted_at=D2)
    await make_dm_sequence(
        owner, lead_id=leads[0], campaign_id=camp, linkedin_account_id=acct,
        last_reply_at=D2.replace(hour=10), step2_sent_at=D2.replace(hour=11), step3_sent_at=D3,
        link_clicked=True, link_clicked_at=D3, **for_update,
    )  # fmt: skip
    seq1 = await owner.execute("select id from dm_sequences where lead_id = %s", (leads[0],))
    seq1_id = (await seq1.fetchone())["id"]  # type: ignore[index]
    await insert(owner, "dm_messages", {"client_id": c, "dm_sequence_id": seq1_id, "direction": "inbound",
                                         "message": "ada@example.com", "sent_at": D2.replace(hour=10)})  # fmt: skip
    await make_webhook_delivery(
        owner, webhook_config_id=hook, lead_id=leads[0], status="success", delivered_at=D2.replace(hour=12)
    )
    if not small:
        await make_dm_sequence(
            owner, lead_id=leads[1], campaign_id=camp, linkedin_account_id=acct, step1_sent_at=D2
        )
    for day, used in ((D1.date(), 1), (D2.date(), 2)):
        await insert(
            owner,
            "account_daily_usage",
            {"linkedin_account_id": acct, "day": day, "kind": "dm", "used": used},
        )
    for at, status in ((D1, "done"), (D2, "done"), (D2, "done"), (D2, "failed")):
        values = {"linkedin_account_id": acct, "kind": "dm", "action_key": f"dm:{tag()}", "status": status,
                  "created_at": at, "provider_id": "m-1" if status == "done" else None}  # fmt: skip
        await insert(owner, "linkedin_actions", values)
    pod = (await insert(owner, "pods", {"client_id": c, "name": f"Pod {tag(6)}"}))["id"]
    members = [(await insert(owner, "pod_members", {"client_id": c, "pod_id": pod}))["id"] for _ in range(2)]
    activities = [(0, D1, "completed"), (0, D2, "failed"), (1, D1, "skipped"), (1, D1, "pending")]
    for who, at, status in activities[: 1 if small else 4]:
        await insert(owner, "pod_activities", {
            "client_id": c, "pod_id": pod, "member_id": members[who], "post_url": f"https://x.test/{tag()}",
            "engagement_type": "like", "scheduled_for": at, "status": status})  # fmt: skip
    return History(t, camp, post, acct, pod, members)


@pytest.fixture(scope="module")
async def world(owner: Conn, runtime: Runtime) -> tuple[History, History]:
    a, b = await seed(owner, runtime), await seed(owner, runtime, small=True)
    # Twice in a row, concurrently refreshed the second time: both must succeed.
    assert await service.refresh(runtime.db)
    assert await service.refresh(runtime.db)
    # Counted now; a due pending activity left behind would be claimed by the pod executor of later tests.
    await owner.execute(
        "delete from pod_activities where pod_id = any(%s) and status = 'pending'", ([a.pod, b.pod],)
    )
    return a, b


async def get(api: httpx.AsyncClient, tenant: Tenant, path: str, **params: Any) -> dict[str, Any]:
    response = await api.get(f"/v1/analytics/{path}", params=RANGE | params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def figures(rows: list[dict[str, Any]], *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in columns) for r in rows]


STAGES = ("period", "comments", "leads", "dms", "replies", "emails", "webhooks", "clicks")


async def test_funnel_by_day_and_by_week(api: httpx.AsyncClient, world: tuple[History, History]) -> None:
    a, _ = world
    daily = await get(api, a.tenant, "funnel")
    assert figures(daily["rows"], *STAGES) == [
        ("2026-03-02", 3, 2, 1, 0, 0, 0, 0),
        ("2026-03-03", 0, 0, 1, 1, 1, 1, 0),
        ("2026-03-10", 1, 1, 0, 0, 0, 0, 1),
    ]
    weekly = await get(api, a.tenant, "funnel", granularity="week", campaign_id=str(a.campaign))
    assert figures(weekly["rows"], *STAGES) == [
        ("2026-03-02", 3, 2, 2, 1, 1, 1, 0),
        ("2026-03-09", 1, 1, 0, 0, 0, 0, 1),
    ]
    assert weekly["totals"]["leads"] == 3
    assert weekly["totals"]["reply_rate"] == 0.5


async def test_posts_templates_accounts_pods(api: httpx.AsyncClient, world: tuple[History, History]) -> None:
    a, _ = world
    posts = await get(api, a.tenant, "posts", granularity="month")
    assert figures(posts["rows"], "period", "post_id", "comments", "trigger_comments", "leads", "dms") == [
        ("2026-03-01", str(a.post), 4, 3, 3, 2)
    ]
    templates = await get(api, a.tenant, "templates", granularity="month")
    assert figures(templates["rows"], "step", "sent", "replied", "clicked", "reply_rate") == [
        (1, 2, 1, 0, 0.5),
        (2, 1, 0, 0, 0.0),
        (3, 1, 0, 1, 0.0),
    ]
    accounts = await get(api, a.tenant, "accounts")
    assert figures(accounts["rows"], "period", "kind", "used", "done", "failed") == [
        ("2026-03-02", "dm", 1, 1, 0),
        ("2026-03-03", "dm", 2, 2, 1),
    ]
    pods = await get(api, a.tenant, "pods", granularity="month")
    assert figures(
        pods["rows"], "member_id", "scheduled", "completed", "failed", "skipped", "pending"
    ) == sorted([(str(a.members[0]), 2, 1, 1, 0, 0), (str(a.members[1]), 2, 0, 0, 1, 1)])


async def test_each_client_sees_only_its_own(api: httpx.AsyncClient, world: tuple[History, History]) -> None:
    a, b = world
    mine = await get(api, b.tenant, "funnel", granularity="month")
    assert figures(mine["rows"], *STAGES) == [("2026-03-01", 1, 1, 1, 1, 1, 1, 1)]
    for path in ("posts", "templates", "accounts", "pods"):
        body = await get(api, b.tenant, path, granularity="month")
        text = str(body)
        assert not {str(a.campaign), str(a.post), str(a.pod), str(a.account)} & set(text.split("'")), path
        assert body["rows"], path
    # Asking for another client's campaign or account by id finds nothing.
    other = await get(api, b.tenant, "funnel", campaign_id=str(a.campaign))
    assert other["rows"] == []
    assert other["totals"]["leads"] == 0
    assert (await get(api, b.tenant, "accounts", account_id=str(a.account)))["rows"] == []


async def test_a_report_is_the_documented_compact_json(
    api: httpx.AsyncClient, world: tuple[History, History]
) -> None:
    a, _ = world
    params = RANGE | {"granularity": "month"}
    response = await api.get("/v1/analytics/templates", params=params, headers=a.tenant.headers)
    assert response.headers["content-type"] == "application/json"
    body = json.loads(response.text)
    AnalyticsReport.model_validate_json(response.text)
    assert list(body) == ["report", "from", "to", "granularity", "rows", "totals"]
    columns = ["period", "campaign_id", "step", "template_md5", "sent", "replied", "clicked", "reply_rate"]
    assert [list(r) for r in body["rows"]] == [columns] * 3
    assert [r["reply_rate"] for r in body["rows"]] == [0.5, 0.0, 0.0]
    # Figures are integers in rows; totals and rates are floats (4.0, 0.0), and the text is compact.
    assert body["totals"] == {"sent": 4.0, "replied": 1.0, "clicked": 1.0, "reply_rate": 0.25}
    assert {type(v) for v in body["totals"].values()} == {float}
    assert {type(r["reply_rate"]) for r in body["rows"]} == {float}
    assert response.text == json.dumps(body, separators=(",", ":"))
    # A rate over nothing is null in a row and left out of the totals.
    daily = await get(api, a.tenant, "funnel")
    assert [r["lead_rate"] for r in daily["rows"]] == [0.6667, None, 1.0]
    assert "lead_rate" not in (await get(api, a.tenant, "funnel", **{"from": "2026-03-20"}))["totals"]


async def test_rates_round_to_four_decimals_as_floats_do(owner: Conn) -> None:
    """Python's round(n / d, 4): ties follow the float (1/32 -> 0.0312, 3/32 -> 0.0938, 1/160 -> 0.0063)."""
    rate = repo.number(repo.ten_thousandths(repo.Rate("rate", "n", "d")))
    query = sql.SQL(
        "select n, d, {rate} as out from ("
        " select n::bigint, d::bigint from generate_series(0, 170) d, generate_series(0, 175) n"
        " union all values (3, 20000), (2469, 20000), (10001, 20000), (1, 4000), (123457, 7)) v (n, d)"
    ).format(rate=rate)
    rows = await (await owner.execute(query)).fetchall()
    assert len(rows) > 30_000
    wrong = [
        (r["n"], r["d"], r["out"])
        for r in rows
        if r["out"] != (json.dumps(round(r["n"] / r["d"], 4)) if r["d"] else None)
    ]
    assert wrong == []


async def test_campaign_metrics_hold_the_totals(world: tuple[History, History], runtime: Runtime) -> None:
    a, _ = world
    metrics = read_row(runtime.settings.database_url or "", "campaigns", a.campaign)["metrics"]
    assert metrics == {
        "comments": 4,
        "leads": 3,
        "dms": 2,
        "replies": 1,
        "emails": 1,
        "webhooks": 1,
        "clicks": 1,
    }


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"from": "2026-03-10", "to": "2026-03-01"}, "after"),
        ({"from": "2025-01-01", "to": "2026-03-01"}, "at most 366"),
        ({"granularity": "year"}, ""),
    ],
    ids=["from-after-to", "over-366-days", "unknown-granularity"],
)
async def test_bad_ranges_are_refused(
    api: httpx.AsyncClient, world: tuple[History, History], params: dict[str, str], fragment: str
) -> None:
    a, _ = world
    response = await api.get("/v1/analytics/funnel", params=RANGE | params, headers=a.tenant.headers)
    assert 400 <= response.status_code < 500
    assert fragment in response.text
