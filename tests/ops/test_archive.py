"""A campaign completed long ago is archived: its rows and numbers stay, no dispatcher scans them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from revos.campaigns import service as campaigns
from revos.db.pool import Database
from revos.leads import sequence_repo
from revos.webhooks import repo as webhooks
from tests.support import (
    connect,
    make_campaign,
    make_lead,
    make_tenant,
    make_webhook_config,
    make_webhook_delivery,
)
from tests.support.rows import insert


async def test_an_archived_campaign_leaves_the_dm_and_webhook_scans(ops_url: str, ops_db: Database) -> None:
    now = datetime.now(UTC)
    async with connect(ops_url) as owner:
        t = await make_tenant(owner)
        campaign = await make_campaign(owner, client_id=t.client_id, status="completed", metrics={"leads": 1})
        lead = await make_lead(owner, campaign_id=campaign["id"])
        sequence = await insert(
            owner,
            "dm_sequences",
            {"lead_id": lead["id"], "campaign_id": campaign["id"], "status": "in_progress",
             "next_action_at": now - timedelta(minutes=1)},
        )  # fmt: skip
        config = await make_webhook_config(owner, client_id=t.client_id, url="https://esp.example/hook")
        delivery = await make_webhook_delivery(
            owner,
            webhook_config_id=config["id"],
            lead_id=lead["id"],
            next_retry_at=now - timedelta(minutes=1),
        )

    async def scanned() -> tuple[bool, bool]:
        async with ops_db.service() as conn:
            due = {r["id"] for r in await sequence_repo.due(conn, now, 1000)}
            # The claim leases until `now`: the delivery stays due for the next look.
            claimed = await webhooks.claim_due(
                conn, now=now, lease_until=now, limit=1000, delivery_id=delivery["id"]
            )
        return sequence["id"] in due, bool(claimed)

    assert await scanned() == (True, True)
    async with ops_db.service() as conn:
        # Not yet: completed less than the delay ago.
        assert await campaigns.archive_completed(conn, now=now, after_days=30) == []
        archived = await campaigns.archive_completed(conn, now=now + timedelta(days=31), after_days=30)
    assert campaign["id"] in {r["id"] for r in archived}
    assert await scanned() == (False, False)
    async with connect(ops_url) as owner:
        row = await (await owner.execute("select status, metrics, archived_at from campaigns where id = %s", (campaign["id"],))).fetchone()  # fmt: skip
    assert row is not None
    assert row["status"] == "completed"
    assert row["metrics"] == {"leads": 1}
    assert row["archived_at"] is not None
