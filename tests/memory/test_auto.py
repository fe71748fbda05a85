"""The memories revOS writes itself: posts whose leads per comment beat the client's median, DM templates
whose reply rate stands out; each once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from revos.clock import ManualClock
from revos.memory import auto
from revos.runtime import Runtime
from tests.support import (
    Conn,
    Tenant,
    make_campaign,
    make_comment,
    make_dm_sequence,
    make_lead,
    make_linkedin_account,
    make_post,
    make_tenant,
    read_rows,
)


@pytest.fixture(autouse=True)
def every_candidate(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    # The session's database holds other tests' posts too: take every candidate in one run.
    monkeypatch.setattr(runtime.settings, "memory_auto_batch", 100_000)


async def post_with(
    owner: Conn, tenant: Tenant, campaign: dict[str, Any], account: dict[str, Any], clock: ManualClock,
    *, comments: int, leads: int, age_hours: float = 72, text: str = "",
) -> UUID:  # fmt: skip
    post = await make_post(
        owner,
        campaign_id=campaign["id"],
        linkedin_account_id=account["id"],
        status="published",
        published_at=clock.now() - timedelta(hours=age_hours),
        content=text or f"Post with {leads} leads out of {comments} comments",
    )
    for i in range(comments):
        comment = await make_comment(owner, post_id=post["id"])
        if i < leads:
            await make_lead(owner, campaign_id=campaign["id"], comment_id=comment["id"])
    return post["id"]


async def template_with(
    owner: Conn, tenant: Tenant, clock: ManualClock, *, template: str, sent: int, replied: int
) -> None:
    campaign = await make_campaign(owner, client_id=tenant.client_id, dm_template_step1=template)
    for i in range(sent):
        lead = await make_lead(owner, campaign_id=campaign["id"])
        at = clock.now() - timedelta(days=5)
        await make_dm_sequence(
            owner,
            lead_id=lead["id"],
            campaign_id=campaign["id"],
            step1_sent_at=at,
            last_reply_at=at + timedelta(hours=2) if i < replied else None,
        )


def memories_of(db_url: str, client_id: UUID) -> list[dict[str, Any]]:
    return read_rows(
        db_url,
        "select memory_type, content, user_id, metadata, embedding_model from memories where client_id = %s"
        " order by memory_type, content",
        client_id,
    )


async def test_posts_that_beat_the_median_become_memories_once(
    runtime: Runtime, owner: Conn, clock: ManualClock, db_url: str
) -> None:
    tenant = await make_tenant(owner)
    account = await make_linkedin_account(owner, client_id=tenant.client_id, user_id=tenant.user_id)
    campaign = await make_campaign(owner, client_id=tenant.client_id)

    async def post(**kw: Any) -> UUID:
        return await post_with(owner, tenant, campaign, account, clock, **kw)

    best = await post(comments=10, leads=8, text="Steal my 3-line cold email. Comment GUIDE.")
    above = await post(comments=10, leads=5, text="The checklist we use for every launch. Comment GUIDE.")
    await post(comments=10, leads=4)
    await post(comments=10, leads=2)
    await post(comments=2, leads=2)  # too few comments to judge
    await post(comments=10, leads=10, age_hours=2)  # not settled yet

    written = await auto.write_automatic(runtime)
    assert written["successful_post"] >= 2
    rows = memories_of(db_url, tenant.client_id)
    assert [r["content"] for r in rows] == [
        "Steal my 3-line cold email. Comment GUIDE.",
        "The checklist we use for every launch. Comment GUIDE.",
    ]
    first = rows[0]
    assert first["memory_type"] == "successful_post"
    assert first["user_id"] == tenant.user_id
    assert first["embedding_model"] == "wordllama/l2_supercat/256"
    assert first["metadata"] == {
        "auto_source": f"post:{best}",
        "post_id": str(best),
        "campaign_id": str(campaign["id"]),
        "leads": 8,
        "comments": 10,
        "ratio": 0.8,
        "client_median": 0.45,
    }
    assert rows[1]["metadata"]["post_id"] == str(above)

    await auto.write_automatic(runtime)
    assert memories_of(db_url, tenant.client_id) == rows


async def test_a_client_with_too_few_posts_has_no_median(runtime: Runtime, owner: Conn, clock: ManualClock,
                                                          db_url: str) -> None:  # fmt: skip
    tenant = await make_tenant(owner)
    account = await make_linkedin_account(owner, client_id=tenant.client_id, user_id=tenant.user_id)
    campaign = await make_campaign(owner, client_id=tenant.client_id)
    await post_with(owner, tenant, campaign, account, clock, comments=10, leads=9)
    await post_with(owner, tenant, campaign, account, clock, comments=10, leads=1)
    await auto.write_automatic(runtime)
    assert memories_of(db_url, tenant.client_id) == []


async def test_dm_templates_with_a_standout_reply_rate_become_conversion_patterns(
    runtime: Runtime, owner: Conn, clock: ManualClock, db_url: str
) -> None:
    tenant = await make_tenant(owner)
    good = "Hi {{first_name}}, quick one: where should I send {{lead_magnet_name}}?"
    await template_with(owner, tenant, clock, template=good, sent=20, replied=12)
    await template_with(owner, tenant, clock, template="Hello, send me your email.", sent=20, replied=5)
    await template_with(owner, tenant, clock, template="Email please.", sent=20, replied=2)
    await template_with(owner, tenant, clock, template="Tiny sample", sent=5, replied=5)  # too few sends

    await auto.write_automatic(runtime)
    rows = memories_of(db_url, tenant.client_id)
    assert [(r["memory_type"], r["content"]) for r in rows] == [("conversion_pattern", good)]
    metadata = rows[0]["metadata"]
    assert metadata["auto_source"].startswith("dm_template:")
    assert (metadata["sent"], metadata["replied"], metadata["reply_rate"], metadata["client_median"]) == (
        20, 12, 0.6, 0.25)  # fmt: skip
    assert len(metadata["campaign_ids"]) == 1

    await auto.write_automatic(runtime)
    assert memories_of(db_url, tenant.client_id) == rows


async def test_a_template_just_above_the_median_does_not_stand_out(
    runtime: Runtime, owner: Conn, clock: ManualClock, db_url: str
) -> None:
    tenant = await make_tenant(owner)
    await template_with(owner, tenant, clock, template="A", sent=20, replied=6)
    await template_with(owner, tenant, clock, template="B", sent=20, replied=5)
    await template_with(owner, tenant, clock, template="C", sent=20, replied=4)
    await auto.write_automatic(runtime)
    assert memories_of(db_url, tenant.client_id) == []
