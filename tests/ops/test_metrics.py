"""/metrics after some activity: the named families with the figures the database holds; who may read it;
the request id on every log line of a request."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from revos import logs
from revos.app import create_app
from revos.runtime import Runtime
from tests.support import Conn, make_linkedin_account, make_tenant
from tests.support.rows import (
    insert,
    make_campaign,
    make_lead,
    make_webhook_config,
    make_webhook_delivery,
    tag,
)

TASK = "ops.metrics_probe"


@pytest.fixture(scope="module")
async def activity(owner: Conn, runtime: Runtime) -> AsyncIterator[dict[str, Any]]:
    """Actions, webhook attempts, pod activities and queue jobs of a fresh tenant, all recent."""
    t = await make_tenant(owner, runtime)
    c = t.client_id
    acct = (await make_linkedin_account(owner, client_id=c, user_id=t.user_id))["id"]
    await owner.execute(
        "update linkedin_accounts set paused_at = now(), paused_until = now() + interval '1 hour' where id = %s",
        (acct,),
    )
    for kind, status in (("dm", "done"), ("dm", "done"), ("invitation", "failed")):
        await insert(owner, "linkedin_actions", {"linkedin_account_id": acct, "kind": kind, "status": status,
                     "action_key": f"probe:{tag()}", "provider_id": "p" if status == "done" else None})  # fmt: skip
    await insert(owner, "account_daily_usage", {"linkedin_account_id": acct, "kind": "reaction", "used": 7,
                 "day": (await (await owner.execute("select current_date as d")).fetchone())["d"]})  # type: ignore[index]  # fmt: skip
    hook = (await make_webhook_config(owner, client_id=c))["id"]
    lead = (await make_lead(owner, campaign_id=(await make_campaign(owner, client_id=c))["id"]))["id"]
    delivery = (await make_webhook_delivery(owner, webhook_config_id=hook, lead_id=lead))["id"]
    for n, (status, ms) in enumerate((("success", 80), ("failed", 12000)), start=1):
        await insert(owner, "webhook_delivery_attempts", {"client_id": c, "delivery_id": delivery,
                     "attempt_number": n, "attempted_at": await _now(owner), "status": status,
                     "response_time_ms": ms})  # fmt: skip
    pod = (await insert(owner, "pods", {"client_id": c, "name": f"Pod {tag(6)}"}))["id"]
    member = (await insert(owner, "pod_members", {"client_id": c, "pod_id": pod}))["id"]
    now = await _now(owner)
    for status, executed in (("pending", None), ("completed", now)):
        await insert(owner, "pod_activities", {"client_id": c, "pod_id": pod, "member_id": member,
                     "post_url": f"https://x.test/{tag()}", "engagement_type": "like",
                     "scheduled_for": now - timedelta(minutes=1), "status": status, "executed_at": executed})  # fmt: skip
    # A job far in the future (no worker takes it) and one that just succeeded.
    cur = await owner.execute(
        "insert into procrastinate.procrastinate_jobs (queue_name, task_name, args, scheduled_at) "
        "values ('probe', %s, '{}', now() + interval '1 day'), ('probe', %s, '{}', now() + interval '1 day') "
        "returning id",
        (TASK, TASK),
    )
    jobs = [r["id"] for r in await cur.fetchall()]
    await owner.execute(
        "update procrastinate.procrastinate_jobs set status = 'doing' where id = %s", (jobs[1],)
    )
    await owner.execute(
        "update procrastinate.procrastinate_jobs set status = 'succeeded' where id = %s", (jobs[1],)
    )
    yield {"tenant": t}
    await owner.execute("delete from procrastinate.procrastinate_jobs where id = any(%s)", (jobs,))
    # Due pending work must not be left for the executors and dispatchers of later tests.
    await owner.execute("delete from pod_activities where pod_id = %s", (pod,))


async def _now(owner: Conn) -> Any:
    return (await (await owner.execute("select now() as n")).fetchone())["n"]  # type: ignore[index]


def parse(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """{family or sample name: {sorted labels: value}}."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        out.setdefault(family.name, {})
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


async def test_metrics_expose_the_named_families(api: httpx.AsyncClient, activity: dict[str, Any]) -> None:
    await api.get("/v1/campaigns", headers=activity["tenant"].headers)
    response = await api.get("/metrics")
    assert response.status_code == 200, response.text
    m = parse(response.text)
    for family in (
        "revos_http_request_duration_seconds", "revos_queue_jobs", "revos_queue_job_outcomes",
        "revos_queue_stalled_jobs", "revos_linkedin_actions", "revos_account_budget_used",
        "revos_account_budget_max_used_ratio", "revos_linkedin_accounts_paused",
        "revos_webhook_attempt_duration_seconds", "revos_webhook_attempts", "revos_webhook_deliveries_due",
        "revos_webhook_endpoints", "revos_pod_activities", "revos_dm_steps_due",
    ):  # fmt: skip
        assert family in m, family
    # Latency by route template and status class, never by raw path.
    http = m["revos_http_request_duration_seconds_count"]
    assert http[(("method", "GET"), ("route", "/v1/campaigns"), ("status_class", "2xx"))] >= 1
    assert not [k for k in http if str(activity["tenant"].client_id) in str(k)]
    assert m["revos_queue_jobs"][(("queue", "probe"), ("state", "scheduled"), ("task", TASK))] == 1
    assert m["revos_queue_job_outcomes"][(("outcome", "succeeded"), ("task", TASK))] == 1
    assert m["revos_linkedin_actions"][(("kind", "dm"), ("outcome", "done"))] >= 2
    assert m["revos_linkedin_actions"][(("kind", "invitation"), ("outcome", "failed"))] >= 1
    assert m["revos_account_budget_used"][(("kind", "reaction"),)] >= 7
    assert m["revos_linkedin_accounts_paused"][()] >= 1
    assert m["revos_webhook_attempts"][(("outcome", "failed"),)] >= 1
    buckets = m["revos_webhook_attempt_duration_seconds_bucket"]
    assert buckets[(("le", "0.1"), ("outcome", "success"))] >= 1
    assert buckets[(("le", "10.0"), ("outcome", "failed"))] < buckets[(("le", "30.0"), ("outcome", "failed"))]
    assert m["revos_pod_activities"][(("status", "due"),)] >= 1
    assert m["revos_pod_activities"][(("status", "completed"),)] >= 1
    # Counts only: no label anywhere names a client.
    assert str(activity["tenant"].client_id) not in response.text


async def test_metrics_need_the_token_when_one_is_set(runtime: Runtime) -> None:
    app = create_app(runtime)
    remote = httpx.ASGITransport(app=app, client=("10.1.2.3", 4000))
    async with httpx.AsyncClient(transport=remote, base_url="http://revos.test") as client:
        assert (await client.get("/metrics")).status_code == 403
        runtime.settings.metrics_token = SecretStr("s3cret-scrape")
        try:
            assert (await client.get("/metrics")).status_code == 401
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            ok = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
            assert ok.status_code == 200
            assert "revos_queue_jobs" in ok.text
        finally:
            runtime.settings.metrics_token = None


async def test_request_id_is_echoed_and_on_every_log_line(api: httpx.AsyncClient) -> None:
    stream = io.StringIO()
    handler = logs.make_handler("json", stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        given = await api.get("/healthz", headers={"X-Request-Id": "trace-42.a"})
        made = await api.get("/v1/me")
        bad = await api.get("/healthz", headers={"X-Request-Id": "no spaces\nor newlines"})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert given.headers["x-request-id"] == "trace-42.a"
    generated = made.headers["x-request-id"]
    assert len(generated) == 32
    assert bad.headers["x-request-id"] not in ("no spaces\nor newlines", generated)
    # The server's lines (the test's own HTTP client logs outside any request).
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    lines = [line for line in lines if line["logger"].startswith("revos")]
    assert len(lines) >= 3
    assert all("request_id" in line for line in lines), lines
    by_id = {line["request_id"]: line for line in lines if line["logger"] == "revos.http"}
    assert by_id["trace-42.a"]["status"] == 200
    assert by_id[generated]["message"].startswith("GET /v1/me 401")


def test_job_id_on_log_lines_in_both_formats() -> None:
    for fmt in ("json", "text"):
        stream = io.StringIO()
        logger = logging.getLogger(f"tests.ops.{fmt}")
        logger.addHandler(logs.make_handler(fmt, stream))  # type: ignore[arg-type]
        logger.propagate = False
        with logs.bound(job="1234"):
            logger.warning("inside")
        logger.warning("outside")
        inside, outside = stream.getvalue().splitlines()
        if fmt == "json":
            assert json.loads(inside)["job_id"] == "1234"
            assert "job_id" not in json.loads(outside)
        else:
            assert "[job=1234]" in inside
            assert "[-]" in outside
