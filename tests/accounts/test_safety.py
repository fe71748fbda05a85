"""One safety budget per account: caps, working hours, gaps, warm-up, pauses (design §7)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

from revos.accounts import safety
from revos.clock import ManualClock
from revos.linkedin import AccountDisconnected, AccountRestricted, RateLimited
from revos.runtime import Runtime
from tests.support import Conn, Tenant, make_linkedin_account, read_row

NO_GAP = {"gap_min_seconds": 0, "gap_max_seconds": 0}


async def _reserve(runtime: Runtime, account_id: UUID, kind: str, now: datetime) -> safety.Reservation:
    async with runtime.db.service() as conn:
        return await safety.reserve(
            conn, account_id=account_id, kind=kind, now=now, settings=runtime.settings
        )


async def test_twenty_concurrent_reservations_never_exceed_the_daily_cap(
    owner: Conn, runtime: Runtime, tenant: Tenant, db_url: str, clock: ManualClock
) -> None:
    account_id = (
        await make_linkedin_account(owner, client_id=tenant.client_id, safety={"cap_dm": 5, **NO_GAP})
    )["id"]
    now = clock.now()
    results = await asyncio.gather(*(_reserve(runtime, account_id, "dm", now) for _ in range(20)))
    allowed = [r for r in results if r.allowed]
    assert len(allowed) == 5
    assert sorted(r.used for r in allowed) == [1, 2, 3, 4, 5]
    refused = [r for r in results if not r.allowed]
    assert all("cap reached" in r.reason for r in refused)
    # Tomorrow (in the account's time zone) is a new budget.
    assert all(r.not_before is not None and r.not_before > now for r in refused)
    async with runtime.db.service() as conn:
        assert await safety.usage(conn, account_id=account_id, day=now.date()) == {"dm": 5}
    assert read_row(db_url, "linkedin_accounts", account_id)["daily_dm_count"] == 5
    # Other kinds have their own cap; a refund gives one unit back.
    assert (await _reserve(runtime, account_id, "invitation", now)).allowed
    async with runtime.db.service() as conn:
        await safety.refund(conn, account_id=account_id, kind="dm", day=now.date())
    assert (await _reserve(runtime, account_id, "dm", now)).allowed
    assert not (await _reserve(runtime, account_id, "dm", now)).allowed


async def test_caps_are_shared_across_campaigns_and_counted_per_local_day(
    owner: Conn, runtime: Runtime, tenant: Tenant, db_url: str
) -> None:
    # 23:30 in Paris is already the next day there: the budget is the Paris day's.
    account_id = (
        await make_linkedin_account(
            owner,
            client_id=tenant.client_id,
            timezone="Europe/Paris",
            safety={"cap_invitation": 1, "working_hours_enabled": False, **NO_GAP},
        )
    )["id"]
    late = datetime(2026, 1, 5, 22, 30, tzinfo=UTC)  # 23:30 Paris, Monday
    first = await _reserve(runtime, account_id, "invitation", late)
    assert first.allowed
    assert first.day == datetime(2026, 1, 5).date()
    assert not (await _reserve(runtime, account_id, "invitation", late)).allowed
    after_midnight = late + timedelta(minutes=45)  # 00:15 Tuesday in Paris, still Monday in UTC
    second = await _reserve(runtime, account_id, "invitation", after_midnight)
    assert second.allowed
    assert second.day == datetime(2026, 1, 6).date()


async def test_invitations_also_respect_a_weekly_cap_over_seven_local_days(
    owner: Conn, runtime: Runtime, tenant: Tenant, db_url: str
) -> None:
    account_id = (
        await make_linkedin_account(
            owner,
            client_id=tenant.client_id,
            safety={
                "cap_invitation": 3,
                "cap_invitation_weekly": 7,
                "working_hours_enabled": False,
                **NO_GAP,
            },
        )
    )["id"]
    monday = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    sent = []
    for day in range(7):
        now = monday + timedelta(days=day)
        sent.append(sum([(await _reserve(runtime, account_id, "invitation", now)).allowed for _ in range(3)]))
    # 3 a day until the week holds 7; then nothing until the oldest day leaves the window.
    assert sent == [3, 3, 1, 0, 0, 0, 0]
    refused = await _reserve(runtime, account_id, "invitation", monday + timedelta(days=6))
    assert "weekly invitation cap reached (7" in refused.reason
    assert refused.not_before is not None
    assert refused.not_before.date() == (monday + timedelta(days=7)).date()
    # A DM is another budget; next Monday the first Monday's three have left the window.
    assert (await _reserve(runtime, account_id, "dm", monday + timedelta(days=6))).allowed
    next_monday = monday + timedelta(days=7)
    again = [(await _reserve(runtime, account_id, "invitation", next_monday)).allowed for _ in range(4)]
    assert again == [True, True, True, False]


async def test_outside_working_hours_waits_for_the_next_window_in_the_accounts_time_zone(
    owner: Conn, runtime: Runtime, tenant: Tenant, db_url: str, clock: ManualClock
) -> None:
    account_id = (
        await make_linkedin_account(
            owner,
            client_id=tenant.client_id,
            timezone="America/New_York",
            safety={
                "working_hours_start": 9,
                "working_hours_end": 17,
                "working_days": "mon,tue,wed,thu,fri",
                **NO_GAP,
            },
        )
    )["id"]
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # Monday 04:00 in New York
    refused = await _reserve(runtime, account_id, "dm", now)
    assert not refused.allowed
    assert "working hours" in refused.reason
    assert refused.not_before == datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # 09:00 New York
    assert (await _reserve(runtime, account_id, "dm", datetime(2026, 1, 5, 14, 0, tzinfo=UTC))).allowed
    # Friday 17:30 New York → Monday 09:00.
    friday_evening = datetime(2026, 1, 9, 22, 30, tzinfo=UTC)
    weekend = await _reserve(runtime, account_id, "dm", friday_evening)
    assert weekend.not_before == datetime(2026, 1, 12, 14, 0, tzinfo=UTC)


async def test_actions_of_one_account_are_spaced_by_a_random_gap(
    owner: Conn, runtime: Runtime, tenant: Tenant, db_url: str, clock: ManualClock
) -> None:
    account_id = (
        await make_linkedin_account(
            owner, client_id=tenant.client_id, safety={"gap_min_seconds": 60, "gap_max_seconds": 90}
        )
    )["id"]
    now = clock.now()
    assert (await _reserve(runtime, account_id, "dm", now)).allowed
    spaced = await _reserve(runtime, account_id, "comment", now + timedelta(seconds=30))
    assert not spaced.allowed
    assert "gap" in spaced.reason
    assert spaced.not_before is not None
    assert now + timedelta(seconds=60) <= spaced.not_before <= now + timedelta(seconds=90)
    assert (await _reserve(runtime, account_id, "comment", spaced.not_before)).allowed


async def test_new_accounts_warm_up_from_a_fifth_of_the_cap(
    owner: Conn, runtime: Runtime, tenant: Tenant, db_url: str, clock: ManualClock
) -> None:
    start = clock.now()
    account_id = (
        await make_linkedin_account(
            owner,
            client_id=tenant.client_id,
            warmup_started_at=start,
            safety={
                "cap_dm": 10,
                "warmup_days": 10,
                "warmup_start_fraction": 0.2,
                "working_hours_enabled": False,
                **NO_GAP,
            },
        )
    )["id"]

    async def allowed_on(day: int) -> int:
        now = start + timedelta(days=day)
        count = 0
        while (await _reserve(runtime, account_id, "dm", now)).allowed:
            count += 1
        return count

    assert await allowed_on(0) == 2
    assert await allowed_on(5) == 6
    assert await allowed_on(10) == 10
    assert await allowed_on(30) == 10


async def test_paused_accounts_refuse_and_provider_errors_pause_them(
    owner: Conn, runtime: Runtime, tenant: Tenant, db_url: str, clock: ManualClock
) -> None:
    account_id = (
        await make_linkedin_account(
            owner, client_id=tenant.client_id, safety={"working_hours_enabled": False, **NO_GAP}
        )
    )["id"]
    now = clock.now()
    async with runtime.db.service() as conn:
        until = await safety.apply_provider_error(
            conn, account_id, RateLimited(status=429), now, runtime.settings
        )
    assert until is not None
    assert until >= now + timedelta(seconds=runtime.settings.safety_rate_limit_pause_seconds)
    refused = await _reserve(runtime, account_id, "dm", now)
    assert not refused.allowed
    assert "429" in refused.reason
    assert refused.not_before == until
    # A second 429 in a row pauses twice as long.
    async with runtime.db.service() as conn:
        second = await safety.apply_provider_error(
            conn, account_id, RateLimited(status=429), until, runtime.settings
        )
    assert second is not None
    assert second - until >= 2 * (until - now) - timedelta(seconds=1)
    # Past the pause, the account acts again by itself.
    assert (await _reserve(runtime, account_id, "dm", second)).allowed

    async with runtime.db.service() as conn:
        await safety.apply_provider_error(
            conn, account_id, AccountRestricted(status=403), now, runtime.settings
        )
        # A milder pause never replaces a restriction.
        await safety.pause(conn, account_id, "429 again", now + timedelta(hours=1), source="rate_limited")
    row = read_row(db_url, "linkedin_accounts", account_id)
    assert row["pause_source"] == "restricted"
    assert row["paused_until"] is None
    later = await _reserve(runtime, account_id, "dm", now + timedelta(days=3))
    assert not later.allowed
    assert later.not_before is None
    assert "restricted" in later.reason

    async with runtime.db.service() as conn:
        assert await safety.resume(runtime, conn, account_id, only_sources=safety.PROVIDER_PAUSES) is False
        assert await safety.resume(runtime, conn, account_id) is True
        await safety.apply_provider_error(
            conn, account_id, AccountDisconnected(status=401), now, runtime.settings
        )
    row = read_row(db_url, "linkedin_accounts", account_id)
    assert row["status"] == "expired"
    assert row["pause_source"] == "disconnected"
    refused = await _reserve(runtime, account_id, "dm", now)
    assert not refused.allowed
    assert refused.not_before is None


def test_safety_overrides_are_validated() -> None:
    import pytest

    with pytest.raises(ValueError, match="unknown safety setting"):
        safety.validate_overrides({"cap_dms": 3})
    with pytest.raises(ValueError, match="weekday"):
        safety.validate_overrides({"working_days": "mon,funday"})
    safety.validate_overrides({"cap_dm": 3, "working_days": ["mon", "tue"]})


def test_safety_overrides_report_the_documents_first_problem() -> None:
    import pytest

    with pytest.raises(ValueError, match=r"^warmup_days must be a number between 0 and 365$"):
        safety.SafetyOverrides.parse({"warmup_days": 400, "cap_dm": -1})
    with pytest.raises(ValueError, match=r"^cap_dm must be a number between 0 and 100000$"):
        safety.SafetyOverrides.parse({"cap_dm": -1, "warmup_days": 400})
    overrides = safety.SafetyOverrides.parse({"cap_dm": 3, "working_days": ["mon", "tue"]})
    assert overrides.working_days == frozenset({0, 1})


def test_an_account_s_policy_follows_its_document_and_the_settings_it_was_made_of() -> None:
    import pytest

    from revos.config import Settings

    settings = Settings(_env_file=None, safety_cap_dm=40)
    plain = safety.Policy.of_account(settings, None)
    assert plain.caps["dm"] == 40
    assert safety.Policy.of_account(settings, {}) is plain  # made once, shared
    assert safety.Policy.of_account(settings, {"cap_dm": 7}).caps["dm"] == 7
    assert safety.Policy.of_account(settings, {"cap_dm": "many"}).caps["dm"] == 40  # invalid: the settings
    settings.safety_cap_dm = 25  # a setting changed in place: not the policy made before
    assert safety.Policy.of_account(settings, None).caps["dm"] == 25
    assert safety.Policy.of_account(Settings(_env_file=None, safety_cap_dm=40), None) is plain
    with pytest.raises(TypeError):
        plain.caps["dm"] = 1  # type: ignore[index]  # shared, so read-only


def test_working_hours_need_no_settings() -> None:
    window = safety.Window.hours(9, 17.5, ["mon", "tue"])
    monday_evening = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    assert window.in_window(monday_evening.replace(hour=17, minute=29))
    assert not window.in_window(monday_evening)
    assert window.next_window(monday_evening) == datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
    assert safety.Window.hours(9, 17, "mon,tue") == window.__class__(True, 9.0, 17.0, frozenset({0, 1}))


async def test_a_lane_reserves_what_the_caps_allow_and_one_action_per_gap(
    owner: Conn, runtime: Runtime, tenant: Tenant, clock: ManualClock
) -> None:
    free = {"working_hours_enabled": False, "warmup_days": 0}
    capped = await make_linkedin_account(
        owner, client_id=tenant.client_id, safety={"cap_reaction": 3, **NO_GAP, **free}
    )
    spaced = await make_linkedin_account(owner, client_id=tenant.client_id,
                                         safety={"gap_min_seconds": 60, "gap_max_seconds": 90, **free})  # fmt: skip
    now = clock.now()
    kinds = ["reaction", "comment", "reaction", "reaction", "reaction"]
    async with runtime.db.service() as conn:
        lane = await safety.reserve_many(
            conn, account_id=capped["id"], kinds=kinds, now=now, settings=runtime.settings
        )
        assert [r.allowed for r in lane.each] == [True, True, True, True, False]
        assert "daily reaction cap reached (3)" in lane.each[4].reason
        assert await safety.usage(conn, account_id=capped["id"], day=now.date()) == {
            "reaction": 3,
            "comment": 1,
        }
        lane = await safety.reserve_many(
            conn, account_id=spaced["id"], kinds=kinds, now=now, settings=runtime.settings
        )
        assert [r.allowed for r in lane.each] == [True, False, False, False, False]
        gap = {r.not_before for r in lane.each[1:]}
        assert len(gap) == 1
        assert now + timedelta(seconds=60) <= gap.pop() <= now + timedelta(seconds=90)
        assert await safety.usage(conn, account_id=spaced["id"], day=now.date()) == {"reaction": 1}
    # The account acts no sooner than the gap, whichever way it asks next.
    refused = await _reserve(runtime, spaced["id"], "comment", now + timedelta(seconds=30))
    assert not refused.allowed
    assert "gap" in refused.reason


async def test_one_round_reserves_for_many_accounts_each_within_its_own_budget(
    owner: Conn, runtime: Runtime, tenant: Tenant, clock: ManualClock
) -> None:
    free = {"working_hours_enabled": False, "warmup_days": 0}
    capped = await make_linkedin_account(
        owner, client_id=tenant.client_id, safety={"cap_reaction": 2, **NO_GAP, **free}
    )
    # Spaced, its reactions spent for the day: the round gives it a comment instead, one per gap.
    spent = await make_linkedin_account(owner, client_id=tenant.client_id,
                                        safety={"cap_reaction": 1, "gap_min_seconds": 60, "gap_max_seconds": 60,
                                                **free})  # fmt: skip
    paused = await make_linkedin_account(owner, client_id=tenant.client_id, safety={**NO_GAP, **free})
    now = clock.now()
    await owner.execute(
        "insert into account_daily_usage (client_id, linkedin_account_id, day, kind, used)"
        " values (%s, %s, %s, 'reaction', 1)",
        (tenant.client_id, spent["id"], now.date()),
    )
    await owner.execute(
        "update linkedin_accounts set paused_at = %s, pause_source = 'manual', pause_reason = 'by hand'"
        " where id = %s",
        (now, paused["id"]),
    )
    gone = UUID(int=7)
    wants = {
        capped["id"]: ["reaction", "comment", "reaction", "reaction"],
        spent["id"]: ["reaction", "comment", "comment"],
        paused["id"]: ["comment"],
        gone: ["reaction"],
    }
    async with runtime.db.service() as conn:
        budgets = await safety.reserve_accounts(conn, wants, now=now, settings=runtime.settings)
        assert set(budgets) == {capped["id"], spent["id"], paused["id"]}  # a vanished account is left out
        assert [r.allowed for r in budgets[capped["id"]].each] == [True, True, True, False]
        assert "daily reaction cap reached (2)" in budgets[capped["id"]].each[3].reason
        assert [r.allowed for r in budgets[spent["id"]].each] == [False, True, False]
        assert "daily reaction cap reached (1)" in budgets[spent["id"]].each[0].reason
        assert budgets[spent["id"]].each[2].not_before == now + timedelta(seconds=60)
        assert [r.allowed for r in budgets[paused["id"]].each] == [False]
        assert "by hand" in budgets[paused["id"]].each[0].reason
        assert await safety.usage(conn, account_id=capped["id"], day=now.date()) == {
            "reaction": 2,
            "comment": 1,
        }
        assert await safety.usage(conn, account_id=spent["id"], day=now.date()) == {
            "reaction": 1,
            "comment": 1,
        }
        assert await safety.usage(conn, account_id=paused["id"], day=now.date()) == {}
    # The spaced account's gap holds after the round, whichever way it asks next.
    refused = await _reserve(runtime, spent["id"], "comment", now + timedelta(seconds=30))
    assert not refused.allowed
    assert "gap" in refused.reason
