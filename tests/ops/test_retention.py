"""Monthly partitions made ahead, retention that drops and deletes without touching leads, and an audit
chain that still verifies after its oldest entries are gone."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from revos.audit import verify_chain
from revos.config import Settings
from revos.db import retention
from revos.db.pool import Database
from revos.webhooks import repo as webhooks_repo
from tests.support import (
    connect,
    make_campaign,
    make_lead,
    make_tenant,
    make_webhook_config,
    make_webhook_delivery,
    seal_audit,
)
from tests.support.rows import insert


async def scalar(conn: Any, query: str, params: Any = None) -> Any:
    row = await (await conn.execute(query, params)).fetchone()
    return next(iter(row.values()))


async def partitions(db: Database, table: str) -> list[str]:
    async with db.raw() as conn:
        rows = await (
            await conn.execute(
                "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
                " where i.inhparent = %s::regclass order by 1",
                (f"public.{table}",),
            )
        ).fetchall()
    return [r["relname"] for r in rows]


async def test_attempts_are_partitioned_by_month_and_next_months_are_made_once(ops_db: Database) -> None:
    today = datetime.now(UTC).date()
    month = f"webhook_delivery_attempts_p{today:%Y%m}"
    before = await partitions(ops_db, "webhook_delivery_attempts")
    assert "webhook_delivery_attempts_default" in before
    assert month in before

    later = date(today.year + 3, 1, 15)
    created = await retention.ensure_partitions(ops_db, later, months_ahead=2)
    assert created == [f"webhook_delivery_attempts_p{later.year}{m:02d}" for m in (1, 2, 3)]
    assert await retention.ensure_partitions(ops_db, later, months_ahead=2) == []


async def test_a_row_outside_every_month_lands_in_the_default_partition_then_moves(
    ops_url: str, ops_db: Database
) -> None:
    async with connect(ops_url) as owner:
        t = await make_tenant(owner)
        config = await make_webhook_config(owner, client_id=t.client_id, url="https://esp.example/hook")
        delivery = await make_webhook_delivery(owner, webhook_config_id=config["id"])
        at = datetime(2001, 5, 4, tzinfo=UTC)
        row = await insert(owner, "webhook_delivery_attempts", {"delivery_id": delivery["id"], "attempt_number": 1,
                                                                "attempted_at": at, "status": "failed"})  # fmt: skip
        where = await scalar(owner, "select tableoid::regclass::text from webhook_delivery_attempts where id = %s", (row["id"],))  # fmt: skip
        assert where == "webhook_delivery_attempts_default"
        # The trail names the table a person knows, not its partition.
        seal_audit(ops_url)
        audited = await scalar(owner, "select table_name from audit_log where row_id = %s", (str(row["id"]),))
        assert audited == "webhook_delivery_attempts"
        await retention.ensure_partitions(ops_db, date(2001, 5, 1), months_ahead=0)
        where = await scalar(owner, "select tableoid::regclass::text from webhook_delivery_attempts where id = %s", (row["id"],))  # fmt: skip
        assert where == "webhook_delivery_attempts_p200105"


@pytest.fixture(scope="module")
async def world(ops_url: str) -> dict[str, Any]:
    """A client with a lead and its timeline, a delivery with an attempt last month, inbound events."""
    async with connect(ops_url) as owner:
        t = await make_tenant(owner)
        campaign = await make_campaign(owner, client_id=t.client_id)
        lead = await make_lead(owner, campaign_id=campaign["id"])
        await insert(
            owner,
            "lead_events",
            {"lead_id": lead["id"], "occurred_at": datetime.now(UTC), "kind": "detected"},
        )
        config = await make_webhook_config(owner, client_id=t.client_id, url="https://esp.example/hook")
        delivery = await make_webhook_delivery(owner, webhook_config_id=config["id"], lead_id=lead["id"])
        first = datetime.now(UTC).replace(day=1, hour=12)
        await insert(owner, "webhook_delivery_attempts", {"delivery_id": delivery["id"], "attempt_number": 1,
                                                          "attempted_at": first, "status": "failed"})  # fmt: skip
        for n in range(5):
            await insert(owner, "inbound_events", {"client_id": t.client_id, "source": "poll", "event_key": f"k-{t.client_id}-{n}",
                                                   "payload": {}, "processed_at": datetime.now(UTC)})  # fmt: skip
        await insert(owner, "inbound_events", {"client_id": t.client_id, "source": "poll", "event_key": f"k-{t.client_id}-open", "payload": {}})  # fmt: skip
    return {"tenant": t, "lead": lead}


def run_cli(args: list[str], url: str, tmp: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVOS_")}
    env.update(
        {"REVOS_ENV": "development", "REVOS_DATABASE_URL": url, "REVOS_DATA_DIR": tmp, "COLUMNS": "200"}
    )
    return subprocess.run([sys.executable, "-m", "revos.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


async def test_retention_drops_old_months_deletes_in_batches_keeps_leads_and_the_chain_verifies(
    ops_url: str, ops_db: Database, world: dict[str, Any], tmp_path: Any
) -> None:
    t = world["tenant"]
    # Seen from 200 days on: every log written now is past its retention.
    later = datetime.now(UTC) + timedelta(days=200)
    settings = Settings(retention_batch_size=2)
    month = f"webhook_delivery_attempts_p{datetime.now(UTC):%Y%m}"
    report = await retention.apply_retention(ops_db, later, settings)

    assert report.dropped_partitions.get(month, 0) >= 1  # the world's attempt, and any other of this month
    assert month not in await partitions(ops_db, "webhook_delivery_attempts")
    assert report.deleted["inbound_events"] >= 5  # in batches of 2
    assert report.audit_purged[t.client_id] > 0
    async with connect(ops_url) as owner:
        left = await scalar(owner, "select count(*) from inbound_events where client_id = %s", (t.client_id,))  # fmt: skip
        assert left == 1  # the unprocessed one stays
        kept = await scalar(owner, "select array[(select count(*) from leads where id = %(l)s), (select count(*) from lead_events where lead_id = %(l)s)]", {"l": world["lead"]["id"]})  # fmt: skip
        assert kept == [1, 1]
        trail = await scalar(owner, "select count(*) from audit_log where client_id = %s", (t.client_id,))  # fmt: skip
        assert trail == 0
        # The chain goes on from its anchor.
        await owner.execute("update leads set first_name = 'Ada' where id = %s", (world["lead"]["id"],))
        seal_audit(ops_url)
        reports = await verify_chain(owner, t.client_id)
    assert reports[0].ok, str(reports[0])
    assert reports[0].rows_checked == 1

    verified = run_cli(["audit", "verify"], ops_url, str(tmp_path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "chain holds" in verified.stdout
    assert "BROKEN" not in verified.stdout


async def test_a_chain_purged_in_part_still_verifies_and_a_tampered_one_does_not(
    ops_url: str, ops_db: Database
) -> None:
    async with connect(ops_url) as owner:
        t = await make_tenant(owner)
        for _ in range(3):
            await make_campaign(owner, client_id=t.client_id)
        seal_audit(ops_url)
        rows = await (await owner.execute("select seq, occurred_at from audit_log where client_id = %s order by seq", (t.client_id,))).fetchall()  # fmt: skip
        # Keep the last two entries: purge as if the retention ended just before them.
        cut = rows[-2]["occurred_at"]
        purged = await retention.purge_audit(ops_db, cut + timedelta(days=90), days=90, batch=1)
        assert purged[t.client_id] == len(rows) - 2
        reports = await verify_chain(owner, t.client_id)
        assert reports[0].ok, str(reports[0])
        assert reports[0].rows_checked == 2
        await owner.execute(
            "update audit_anchors set hash = %s where client_id = %s", (bytes(32), t.client_id)
        )
        assert not (await verify_chain(owner, t.client_id))[0].ok


async def test_finished_deliveries_go_in_batches_and_a_retrying_one_stays(
    ops_url: str, ops_db: Database
) -> None:
    async with connect(ops_url) as owner:
        t = await make_tenant(owner)
        config = await make_webhook_config(owner, client_id=t.client_id, url="https://esp.example/hook")
        for _ in range(3):
            await make_webhook_delivery(owner, webhook_config_id=config["id"], status="success")
        retrying = await make_webhook_delivery(
            owner, webhook_config_id=config["id"], status="failed", next_retry_at=datetime.now(UTC)
        )
    cutoff = datetime.now(UTC) + timedelta(days=1)
    counts = []
    for _ in range(3):
        async with ops_db.service() as conn:
            counts.append(await webhooks_repo.purge_finished_deliveries(conn, cutoff, 2))
    assert counts[:2] == [2, 1]
    async with connect(ops_url) as owner:
        left = await scalar(owner, "select array_agg(id) from webhook_deliveries where webhook_config_id = %s", (config["id"],))  # fmt: skip
    assert left == [retrying["id"]]
