"""Comment polling: every comment and reply read once, paging bounded by the high-water mark, full rescans
catching what it skipped, coverage against LinkedIn's counter, and one lead per commenter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from revos.clock import ManualClock
from revos.posts import polling
from revos.runtime import Runtime
from revos.sim import Simulator
from revos.sim.models import Post as SimPost
from tests.posts.conftest import World
from tests.support import read_row, superuser_conn


async def _published(sim: Simulator, world: World, db_url: str, clock: ManualClock) -> tuple[UUID, SimPost]:
    on_linkedin = sim.add_post(world.login, "Comment GUIDE and I'll send it")
    post_id = await world.post(
        status="published",
        unipile_post_id=on_linkedin.id,
        social_id=on_linkedin.social_id,
        published_at=clock.now(),
        poll_next_at=clock.now(),
    )
    return post_id, on_linkedin


def _comment_reads(sim: Simulator) -> int:
    return sum(1 for call in sim.calls("GET") if call.path.endswith("/comments"))


def _stored(db_url: str, post_id: UUID) -> list[dict[str, Any]]:
    with superuser_conn(db_url) as conn:
        return conn.execute("select * from comments where post_id = %s", (post_id,)).fetchall()


def _leads(db_url: str, campaign_id: UUID) -> list[dict[str, Any]]:
    with superuser_conn(db_url) as conn:
        return conn.execute("select * from leads where campaign_id = %s", (campaign_id,)).fetchall()


async def test_every_comment_and_reply_is_read_once_and_coverage_is_shown(
    api: httpx.AsyncClient, world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    post_id, on_linkedin = await _published(sim, world, db_url, clock)
    members = [sim.add_member(f"Member{i}", "Test") for i in range(130)]
    top = [
        sim.add_comment(on_linkedin, m, "GUIDE please" if i % 10 == 0 else f"Great post #{i}")
        for i, m in enumerate(members)
    ]
    for parent in top[:5]:
        for m in members[-2:]:
            sim.add_comment(on_linkedin, m, "agreed", reply_to=parent)
    for m in members[:110]:  # a thread longer than one page of replies
        sim.add_comment(on_linkedin, m, "+1", reply_to=top[50])
    total = 130 + 10 + 110
    assert len(sim.comments(on_linkedin)) == total

    first = await polling.poll_post(runtime, post_id)
    assert first.full is True
    assert first.new_comments == total
    stored = _stored(db_url, post_id)
    assert len(stored) == total
    assert len({c["unipile_comment_id"] for c in stored}) == total
    assert sum(1 for c in stored if c["parent_unipile_comment_id"]) == 120
    assert len(_leads(db_url, world.campaign_id)) == 13  # one per commenter who wrote GUIDE

    body = (await api.get(f"/v1/posts/{post_id}", headers=world.tenant.headers)).json()
    assert body["comments_seen"] == total
    assert body["provider_comment_count"] == total
    assert body["coverage"] == 1.0
    assert body["metrics"]["comments"] == total
    assert body["last_polled_at"] is not None

    clock.advance(minutes=3)
    again = await polling.poll_post(runtime, post_id)
    assert again.new_comments == 0
    assert len(_stored(db_url, post_id)) == total
    assert len(_leads(db_url, world.campaign_id)) == 13

    listed = await api.get(
        f"/v1/posts/{post_id}/comments?trigger_only=true&limit=200", headers=world.tenant.headers
    )
    assert len(listed.json()["items"]) == 13


async def test_the_high_water_mark_stops_paging_at_known_comments(
    world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    post_id, on_linkedin = await _published(sim, world, db_url, clock)
    members = [sim.add_member(f"Hw{i}") for i in range(250)]
    for m in members:
        sim.add_comment(on_linkedin, m, "interesting")
    first = await polling.poll_post(runtime, post_id)
    assert first.new_comments == 250
    assert first.pages == 3
    assert read_row(db_url, "posts", post_id)["high_water_comment_id"] == sim.comments(on_linkedin)[-1].id

    clock.advance(minutes=3)
    for m in members[:3]:
        sim.add_comment(on_linkedin, m, "one more thought")
    reads_before = _comment_reads(sim)
    second = await polling.poll_post(runtime, post_id)
    assert second.full is False
    assert second.new_comments == 3
    assert _comment_reads(sim) - reads_before == 1  # one page, not three

    clock.advance(minutes=3)
    reads_before = _comment_reads(sim)
    quiet = await polling.poll_post(runtime, post_id)
    assert quiet.new_comments == 0
    assert _comment_reads(sim) - reads_before == 1


async def test_a_full_rescan_catches_a_reply_the_high_water_mark_skipped(
    api: httpx.AsyncClient,
    world: World,
    sim: Simulator,
    clock: ManualClock,
    runtime: Runtime,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime.settings, "poll_mismatch_rescan_seconds", 10**9)  # only the periodic rescan
    post_id, on_linkedin = await _published(sim, world, db_url, clock)
    members = [sim.add_member(f"Old{i}") for i in range(120)]
    oldest = sim.add_comment(on_linkedin, members[0], "first!")
    for m in members[1:]:
        sim.add_comment(on_linkedin, m, "nice")
    await polling.poll_post(runtime, post_id)

    clock.advance(minutes=5)
    late = sim.add_member("Late", "Replier")
    sim.add_comment(on_linkedin, late, "GUIDE for me too", reply_to=oldest)
    missed = await polling.poll_post(runtime, post_id)
    assert missed.full is False
    assert missed.new_comments == 0
    body = (await api.get(f"/v1/posts/{post_id}", headers=world.tenant.headers)).json()
    assert (body["comments_seen"], body["provider_comment_count"]) == (120, 121)
    assert body["coverage"] == pytest.approx(120 / 121, abs=1e-4)

    clock.advance(hours=6)
    rescan = await polling.poll_post(runtime, post_id)
    assert rescan.full is True
    assert rescan.new_comments == 1
    assert rescan.leads == 1
    body = (await api.get(f"/v1/posts/{post_id}", headers=world.tenant.headers)).json()
    assert body["coverage"] == 1.0
    [lead] = _leads(db_url, world.campaign_id)
    assert lead["linkedin_id"] == late.provider_id


async def test_a_lower_count_than_linkedins_triggers_a_rescan(
    world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    post_id, on_linkedin = await _published(sim, world, db_url, clock)
    members = [sim.add_member(f"Mm{i}") for i in range(105)]
    oldest = sim.add_comment(on_linkedin, members[0], "first")
    for m in members[1:]:
        sim.add_comment(on_linkedin, m, "ok")
    await polling.poll_post(runtime, post_id)
    sim.add_comment(on_linkedin, members[1], "a late reply", reply_to=oldest)
    clock.advance(minutes=11)
    result = await polling.poll_post(runtime, post_id)
    assert result.full is True
    assert result.new_comments == 1
    assert read_row(db_url, "posts", post_id)["comments_seen"] == 106


async def test_trigger_comments_make_one_lead_per_commenter_and_never_the_author(
    world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    post_id, on_linkedin = await _published(sim, world, db_url, clock)
    ann, bob, cy, dee = (sim.add_member(n, "X") for n in ("Ann", "Bob", "Cy", "Dee"))
    sim.add_comment(on_linkedin, ann, "GUIDE please!")
    chatty = sim.add_comment(on_linkedin, cy, "Nice post")
    sim.add_comment(on_linkedin, bob, "#guide 🙏")
    sim.add_comment(on_linkedin, world.login, "Comment GUIDE to get it")  # the author's own comment
    sim.add_comment(on_linkedin, dee, "Guíde, thanks", reply_to=chatty)
    await polling.poll_post(runtime, post_id)
    clock.advance(minutes=3)
    sim.add_comment(on_linkedin, ann, "GUIDE again, in case")
    second = await polling.poll_post(runtime, post_id)
    assert second.new_comments == 1
    assert second.trigger_comments == 1
    assert second.leads == 0

    leads = _leads(db_url, world.campaign_id)
    assert sorted(lead["linkedin_id"] for lead in leads) == sorted(m.provider_id for m in (ann, bob, dee))
    flags = {c["content"]: c["has_trigger_word"] for c in _stored(db_url, post_id)}
    assert flags["Comment GUIDE to get it"] is False
    assert flags["Nice post"] is False
    assert flags["Guíde, thanks"] is True


def test_cadence_slows_as_the_post_ages(runtime: Runtime) -> None:
    s = runtime.settings
    assert polling.poll_interval(s, None, timedelta(minutes=30)) == s.poll_fresh_seconds == 120
    assert polling.poll_interval(s, None, timedelta(hours=12)) == s.poll_day_seconds == 900
    assert polling.poll_interval(s, None, timedelta(days=3)) == s.poll_week_seconds == 3600
    assert polling.poll_interval(s, None, timedelta(days=30)) == s.poll_old_seconds == 6 * 3600
    override = {"settings": {"comment_polling": {"fresh_seconds": 60}}}
    assert polling.poll_interval(s, override, timedelta(minutes=5)) == 60


async def test_the_dispatcher_polls_due_posts_of_running_campaigns_only(
    api: httpx.AsyncClient, world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    post_id, on_linkedin = await _published(sim, world, db_url, clock)
    sim.add_comment(on_linkedin, sim.add_member("Eve"), "GUIDE")
    polled = [r.post_id for r in await polling.poll_due(runtime)]
    assert post_id in polled
    after = read_row(db_url, "posts", post_id)
    gap = (after["poll_next_at"] - clock.now()).total_seconds()
    assert 120 * 0.9 <= gap <= 120 * 1.1
    assert post_id not in [r.post_id for r in await polling.poll_due(runtime)]  # not due yet

    await api.post(f"/v1/campaigns/{world.campaign_id}/pause", headers=world.tenant.headers)
    clock.advance(minutes=5)
    assert post_id not in [r.post_id for r in await polling.poll_due(runtime)]
    await api.post(f"/v1/campaigns/{world.campaign_id}/activate", headers=world.tenant.headers)
    assert post_id in [r.post_id for r in await polling.poll_due(runtime)]

    clock.advance(days=91)
    await polling.poll_post(runtime, post_id)
    assert read_row(db_url, "posts", post_id)["poll_next_at"] is None  # too old to keep polling


async def test_a_disconnected_account_records_the_error_and_pauses_the_account(
    world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    post_id, _ = await _published(sim, world, db_url, clock)
    sim.disconnect(world.unipile_account_id)
    result = await polling.poll_post(runtime, post_id)
    assert result.error is not None
    post = read_row(db_url, "posts", post_id)
    assert post["last_poll_error"]
    assert post["poll_next_at"] > clock.now()
    account = read_row(db_url, "linkedin_accounts", world.account_id)
    assert account["paused_at"] is not None


async def test_an_account_unipile_no_longer_knows_is_marked_disconnected_with_a_reason(
    world: World, sim: Simulator, clock: ManualClock, runtime: Runtime, db_url: str
) -> None:
    post_id, _ = await _published(sim, world, db_url, clock)
    # Deleted at Unipile (from its dashboard, say): every call with its id is a 404 "Account not found".
    del sim.world.accounts[world.unipile_account_id]
    result = await polling.poll_post(runtime, post_id)
    assert result.error is not None
    account = read_row(db_url, "linkedin_accounts", world.account_id)
    assert account["status"] == "expired"
    assert account["provider_status"] == "NOT_FOUND"
    assert account["paused_at"] is not None
    assert "no longer knows this LinkedIn account" in account["pause_reason"]
    assert "reconnect" in account["pause_reason"]
