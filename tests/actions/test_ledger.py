"""The exactly-once ledger against the simulator: nothing twice, nothing marked sent without the provider."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest

from revos.actions import ledger
from revos.actions.reconcile import perform_standard, reconcile_dm, send_dm
from revos.clock import ManualClock
from revos.linkedin import NotConnected, RateLimited
from revos.runtime import Runtime
from revos.sim import FaultRule, Simulator
from tests.support import Conn, Tenant, make_linkedin_account, read_row

FREE = {"working_hours_enabled": False, "gap_min_seconds": 0, "gap_max_seconds": 0}


@dataclass
class Setup:
    account_id: UUID
    unipile_id: str
    friend: Any
    stranger: Any


@pytest.fixture
async def setup(owner: Conn, linkedin: Simulator, tenant: Tenant, db_url: str) -> Setup:
    login = linkedin.add_account(name="Jane Doe")
    account = linkedin.connect_account(login)
    friend = linkedin.add_member("Ann", "Lee", connected_to=[login])
    stranger = linkedin.add_member("Bob", "Stone")
    account_id = (
        await make_linkedin_account(
            owner, client_id=tenant.client_id, unipile_account_id=account.id, safety=FREE
        )
    )["id"]
    return Setup(account_id, account.id, friend, stranger)


async def _begin(
    runtime: Runtime, tenant: Tenant, s: Setup, kind: str, target: str, **payload: Any
) -> ledger.Action:
    async with runtime.db.service() as conn:
        return await ledger.begin(
            conn,
            client_id=tenant.client_id,
            account_id=s.account_id,
            kind=kind,
            key=f"{kind}:{uuid4()}",
            target=target,
            payload=payload,
        )


def _dm_usage(db_url: str, s: Setup) -> int:
    return int(read_row(db_url, "linkedin_accounts", s.account_id)["daily_dm_count"] or 0)


async def test_a_dm_is_sent_once_and_confirmed_with_the_providers_id(
    runtime: Runtime, tenant: Tenant, linkedin: Simulator, setup: Setup, db_url: str
) -> None:
    action = await _begin(runtime, tenant, setup, "dm", setup.friend.provider_id, text="Hi Ann, here it is")
    outcome = await ledger.perform(runtime, action.id, send_dm, reconcile_dm)
    assert outcome.status == "done"
    sent = linkedin.sent_messages(setup.unipile_id, to=setup.friend)
    assert [m.id for m in sent] == [outcome.action.provider_id]
    assert outcome.action.provider_chat_id == sent[0].chat.id
    # Running it again (a retried job, a second worker) does nothing.
    again = await ledger.perform(runtime, action.id, send_dm, reconcile_dm)
    assert again.status == "done"
    assert again.reason == "already performed"
    # And begin() with the same key returns the same row.
    async with runtime.db.service() as conn:
        same = await ledger.begin(
            conn,
            client_id=tenant.client_id,
            account_id=setup.account_id,
            kind="dm",
            key=action.key,
            target=action.target,
            payload={},
        )
    assert same.id == action.id
    assert same.status == "done"
    assert len(linkedin.sent_messages(setup.unipile_id, to=setup.friend)) == 1
    assert _dm_usage(db_url, setup) == 1


async def test_a_timeout_after_the_dm_went_out_is_reconciled_without_a_second_send(
    runtime: Runtime, tenant: Tenant, linkedin: Simulator, setup: Setup, db_url: str
) -> None:
    linkedin.faults.add(FaultRule("timeout", route="POST /chats", after=True, times=1))
    action = await _begin(runtime, tenant, setup, "dm", setup.friend.provider_id, text="Your guide")
    first = await ledger.perform(runtime, action.id, send_dm, reconcile_dm)
    assert first.status == "ambiguous"
    assert first.action.provider_id is None  # never "sent" without the provider's id
    assert len(linkedin.sent_messages(setup.unipile_id, to=setup.friend)) == 1  # it did go out

    second = await ledger.perform(runtime, action.id, send_dm, reconcile_dm)
    assert second.status == "done"
    assert "reconciled" in second.reason
    sent = linkedin.sent_messages(setup.unipile_id, to=setup.friend)
    assert len(sent) == 1
    assert second.action.provider_id == sent[0].id
    assert len(linkedin.calls("POST", "/chats")) == 1
    assert _dm_usage(db_url, setup) == 1


async def test_a_timeout_before_the_dm_went_out_is_resent_exactly_once(
    runtime: Runtime, tenant: Tenant, linkedin: Simulator, setup: Setup, db_url: str
) -> None:
    linkedin.faults.add(FaultRule("timeout", route="POST /chats", after=False, times=1))
    action = await _begin(runtime, tenant, setup, "dm", setup.friend.provider_id, text="Your guide")
    first = await ledger.perform(runtime, action.id, send_dm, reconcile_dm)
    assert first.status == "ambiguous"
    assert linkedin.sent_messages(setup.unipile_id, to=setup.friend) == []

    second = await ledger.perform(runtime, action.id, send_dm, reconcile_dm)
    assert second.status == "done"
    assert len(linkedin.sent_messages(setup.unipile_id, to=setup.friend)) == 1
    assert len(linkedin.calls("POST", "/chats")) == 2
    assert second.action.attempts == 2
    assert _dm_usage(db_url, setup) == 1  # the first attempt's unit was given back


async def test_a_crash_between_start_and_confirm_is_reconciled_once_the_attempt_is_stale(
    runtime: Runtime, tenant: Tenant, linkedin: Simulator, setup: Setup, clock: ManualClock
) -> None:
    from revos.accounts.provider import linkedin_client

    action = await _begin(runtime, tenant, setup, "dm", setup.friend.provider_id, text="Crash test")
    async with runtime.db.service() as conn:
        assert await ledger.start(conn, action.id)
    # The worker made the call, then died before recording anything.
    await linkedin_client(runtime).start_chat(setup.unipile_id, setup.friend.provider_id, "Crash test")

    early = await ledger.perform(runtime, action.id, send_dm, reconcile_dm)
    assert early.status == "deferred"
    assert early.not_before is not None
    clock.advance(seconds=runtime.settings.action_inflight_timeout_seconds + 1)
    late = await ledger.perform(runtime, action.id, send_dm, reconcile_dm)
    assert late.status == "done"
    assert len(linkedin.sent_messages(setup.unipile_id, to=setup.friend)) == 1


async def test_concurrent_performs_of_one_action_send_one_message(
    runtime: Runtime, tenant: Tenant, linkedin: Simulator, setup: Setup
) -> None:
    action = await _begin(runtime, tenant, setup, "dm", setup.friend.provider_id, text="Only once")
    outcomes = await asyncio.gather(
        *(ledger.perform(runtime, action.id, send_dm, reconcile_dm) for _ in range(8))
    )
    assert sum(o.status == "done" for o in outcomes) >= 1
    assert {o.status for o in outcomes} <= {"done", "deferred"}
    assert len(linkedin.sent_messages(setup.unipile_id, to=setup.friend)) == 1


async def test_a_429_defers_the_action_pauses_the_account_and_gives_the_budget_back(
    runtime: Runtime, tenant: Tenant, linkedin: Simulator, setup: Setup, db_url: str, clock: ManualClock
) -> None:
    linkedin.faults.add(FaultRule("rate_limit", route="POST /chats", times=1))
    action = await _begin(runtime, tenant, setup, "dm", setup.friend.provider_id, text="Later")
    outcome = await ledger.perform(runtime, action.id, send_dm, reconcile_dm)
    assert outcome.status == "deferred"
    assert isinstance(outcome.error, RateLimited)
    assert outcome.action.status == "intent"
    row = read_row(db_url, "linkedin_accounts", setup.account_id)
    assert row["pause_source"] == "rate_limited"
    assert row["paused_until"] == outcome.not_before
    assert _dm_usage(db_url, setup) == 0
    # Paused: nothing is attempted before the pause ends.
    assert (await ledger.perform(runtime, action.id, send_dm, reconcile_dm)).status == "deferred"
    assert len(linkedin.calls("POST", "/chats")) == 1
    assert outcome.not_before is not None
    clock.set(outcome.not_before)
    assert (await ledger.perform(runtime, action.id, send_dm, reconcile_dm)).status == "done"
    assert len(linkedin.sent_messages(setup.unipile_id, to=setup.friend)) == 1


async def test_a_definite_refusal_fails_the_action_with_the_reason(
    runtime: Runtime, tenant: Tenant, linkedin: Simulator, setup: Setup, db_url: str
) -> None:
    action = await _begin(runtime, tenant, setup, "dm", setup.stranger.provider_id, text="Hi stranger")
    outcome = await ledger.perform(runtime, action.id, send_dm, reconcile_dm)
    assert outcome.status == "failed"
    assert isinstance(outcome.error, NotConnected)
    assert outcome.action.status == "failed"
    assert "no_connection_with_recipient" in (outcome.action.last_error or "")
    assert _dm_usage(db_url, setup) == 0


async def test_an_invitation_already_sent_is_confirmed_from_the_pending_list(
    runtime: Runtime, tenant: Tenant, linkedin: Simulator, setup: Setup
) -> None:
    from revos.accounts.provider import linkedin_client

    # Sent by an attempt whose answer was lost; the retry meets "already invited".
    sent = await linkedin_client(runtime).send_invitation(
        setup.stranger.provider_id, setup.unipile_id, "Hi Bob"
    )
    action = await _begin(runtime, tenant, setup, "invitation", setup.stranger.provider_id, message="Hi Bob")
    outcome = await perform_standard(runtime, action.id)
    assert outcome.status == "done"
    assert outcome.action.provider_id == sent.invitation_id
    assert len(linkedin.invitations(setup.unipile_id, to=setup.stranger)) == 1


async def test_an_invitation_accepted_before_its_reconciliation_is_confirmed_and_never_sent_again(
    runtime: Runtime, tenant: Tenant, linkedin: Simulator, setup: Setup
) -> None:
    # LinkedIn records the invitation, the answer is lost; the invitee accepts before anyone looks.
    linkedin.faults.add(FaultRule("timeout", route="POST /users/invite", after=True, times=1))
    action = await _begin(runtime, tenant, setup, "invitation", setup.stranger.provider_id, message="Hi Bob")
    assert (await perform_standard(runtime, action.id)).status == "ambiguous"
    (invitation,) = linkedin.invitations(setup.unipile_id, to=setup.stranger)
    assert linkedin.world.accept_invitation(invitation)

    outcome = await perform_standard(runtime, action.id)
    assert outcome.status == "done", outcome.reason
    assert outcome.action.provider_id == f"connected:{setup.stranger.provider_id}"
    assert len(linkedin.calls("POST", "/users/invite")) == 1  # reconciled, never sent a second time
    assert len(linkedin.invitations(setup.unipile_id, to=setup.stranger)) == 1


async def test_already_a_connection_on_the_resend_of_an_unknown_invitation_confirms_it(
    runtime: Runtime, tenant: Tenant, linkedin: Simulator, setup: Setup, clock: ManualClock
) -> None:
    # A connection older than the attempt is not taken for its acceptance (the reconciliation finds
    # nothing), but LinkedIn's "already a connection" to the resend is: no invitation goes out either way
    # (as when LinkedIn's list of relations lags behind an acceptance).
    clock.advance(seconds=3600)
    linkedin.faults.add(FaultRule("timeout", route="POST /users/invite", after=False, times=1))
    action = await _begin(runtime, tenant, setup, "invitation", setup.friend.provider_id, message="Hi Ann")
    assert (await perform_standard(runtime, action.id)).status == "ambiguous"
    outcome = await perform_standard(runtime, action.id)
    assert outcome.status == "done", outcome.reason
    assert outcome.reason == "reconciled: they are already a connection"
    assert outcome.action.provider_id == f"connected:{setup.friend.provider_id}"
    assert linkedin.invitations(setup.unipile_id, to=setup.friend) == []


async def test_posts_and_comments_reconcile_after_a_timeout(
    runtime: Runtime, tenant: Tenant, linkedin: Simulator, setup: Setup
) -> None:
    linkedin.faults.add(FaultRule("timeout", route="POST /posts", after=True, times=1))
    post = await _begin(runtime, tenant, setup, "post", "", text="Comment GUIDE for the playbook")
    assert (await perform_standard(runtime, post.id)).status == "ambiguous"
    done = await perform_standard(runtime, post.id)
    assert done.status == "done"
    posts = linkedin.posts(setup.unipile_id)
    assert len(posts) == 1
    assert posts[0].id == done.action.provider_id

    social_id = f"urn:li:activity:{posts[0].id}"
    linkedin.faults.add(FaultRule("timeout", route="POST /posts/*/comments", after=True, times=1))
    comment = await _begin(runtime, tenant, setup, "comment", social_id, text="Thanks all!")
    assert (await perform_standard(runtime, comment.id)).status == "ambiguous"
    confirmed = await perform_standard(runtime, comment.id)
    assert confirmed.status == "done"
    assert len(linkedin.comments(posts[0])) == 1


async def test_begin_refuses_a_key_used_by_another_kind(
    runtime: Runtime, tenant: Tenant, setup: Setup
) -> None:
    action = await _begin(runtime, tenant, setup, "dm", setup.friend.provider_id, text="x")
    async with runtime.db.service() as conn:
        with pytest.raises(ledger.ActionConflict):
            await ledger.begin(
                conn,
                client_id=tenant.client_id,
                account_id=setup.account_id,
                kind="invitation",
                key=action.key,
                target=None,
                payload={},
            )


async def test_confirm_needs_a_provider_id(runtime: Runtime, tenant: Tenant, setup: Setup) -> None:
    action = await _begin(runtime, tenant, setup, "dm", setup.friend.provider_id, text="x")
    async with runtime.db.service() as conn:
        with pytest.raises(ValueError, match="provider"):
            await ledger.confirm(conn, action.id, provider_id="")
