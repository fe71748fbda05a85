"""Accounts and checkpoints against the simulator over HTTP (spec §4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from revos.clock import ManualClock
from revos.linkedin import (
    Account,
    AccountCreated,
    AccountDisconnected,
    AccountReconnected,
    ActionRejected,
    CaptchaNotSupported,
    Checkpoint,
    CheckpointError,
    CheckpointExpired,
    InvalidApiKey,
    InvalidCheckpointSolution,
    InvalidCredentials,
    InvalidRequest,
    NotFound,
    UnipileClient,
)
from tests.linkedin.conftest import World


async def test_connect_with_password_creates_the_account(sim: Any, client: UnipileClient) -> None:
    sim.add_account(username="jane@example.com", password="pw", name="Jane Doe")
    result = await client.connect_account(username="jane@example.com", password="pw")
    assert isinstance(result, AccountCreated)
    account = await client.get_account(result.account_id)
    assert account.status == "OK"
    assert account.name == "Jane Doe"
    assert account.connection_params.im is not None
    assert account.connection_params.im.username == "jane@example.com"


async def test_connect_with_cookie_and_user_agent(sim: Any, client: UnipileClient) -> None:
    login = sim.add_account(username="c@example.com", checkpoint="2FA", access_token="AQEcookie")
    # Cookie logins skip the checkpoint: the session already exists.
    result = await client.connect_account(access_token="AQEcookie", user_agent="Mozilla/5.0 (X11)")
    assert isinstance(result, AccountCreated)
    assert login.account_id == result.account_id


async def test_wrong_password_is_invalid_credentials(sim: Any, client: UnipileClient) -> None:
    sim.add_account(username="jane@example.com", password="pw")
    with pytest.raises(InvalidCredentials) as info:
        await client.connect_account(username="jane@example.com", password="nope")
    assert info.value.status == 401
    assert not info.value.retryable


@pytest.mark.parametrize("kind", ["2FA", "OTP"])
async def test_code_checkpoint_bad_then_good_code(sim: Any, client: UnipileClient, kind: str) -> None:
    sim.add_account(username="jane@example.com", password="pw", checkpoint=kind, code="123456")
    pending = await client.connect_account(username="jane@example.com", password="pw")
    assert isinstance(pending, Checkpoint)
    assert pending.type == kind
    assert pending.needs_code
    with pytest.raises(InvalidCheckpointSolution):
        await client.solve_checkpoint(pending.account_id, "000000")
    # The intent survives a wrong code: the user can try again.
    done = await client.solve_checkpoint(pending.account_id, "123456")
    assert isinstance(done, AccountCreated)
    assert done.account_id == pending.account_id


async def test_chained_checkpoints(sim: Any, client: UnipileClient) -> None:
    sim.add_account(username="jane@example.com", password="pw", checkpoint=["2FA", "OTP"], code="42")
    first = await client.connect_account(username="jane@example.com", password="pw")
    assert isinstance(first, Checkpoint)
    second = await client.solve_checkpoint(first.account_id, "42")
    assert isinstance(second, Checkpoint)
    assert second.type == "OTP"
    assert isinstance(await client.solve_checkpoint(first.account_id, "42"), AccountCreated)


async def test_in_app_validation_resolves_out_of_band(sim: Any, client: UnipileClient) -> None:
    sim.add_account(username="jane@example.com", password="pw", checkpoint="IN_APP_VALIDATION")
    pending = await client.connect_account(username="jane@example.com", password="pw")
    assert isinstance(pending, Checkpoint)
    assert pending.type == "IN_APP_VALIDATION"
    assert not pending.needs_code
    with pytest.raises(CheckpointError):
        await client.solve_checkpoint(pending.account_id, "anything")
    sim.approve_in_app(pending.account_id)
    account = await client.get_account(pending.account_id)
    assert account.status == "OK"


async def test_captcha_is_surfaced_as_unsolvable(sim: Any, client: UnipileClient) -> None:
    sim.add_account(username="jane@example.com", password="pw", checkpoint="CAPTCHA")
    with pytest.raises(CaptchaNotSupported) as info:
        await client.connect_account(username="jane@example.com", password="pw")
    assert info.value.account_id
    assert "cookie" in str(info.value)


async def test_resend_checkpoint_then_too_soon(sim: Any, client: UnipileClient) -> None:
    sim.add_account(username="jane@example.com", password="pw", checkpoint="OTP")
    pending = await client.connect_account(username="jane@example.com", password="pw")
    assert isinstance(pending, Checkpoint)
    resent = await client.resend_checkpoint(pending.account_id)
    assert resent.success is True
    with pytest.raises(ActionRejected) as info:
        await client.resend_checkpoint(pending.account_id)
    assert info.value.type == "errors/cannot_resend_yet"


async def test_expired_intent(recorder: Any) -> None:
    from revos.sim import Simulator, serve

    clock = ManualClock()
    sim = Simulator(api_key="sim-key", seed=2, clock=clock)
    sim.add_account(username="jane@example.com", password="pw", checkpoint="2FA", code="1")
    async with serve(sim, host="127.0.0.1", port=0) as url, UnipileClient(url, "sim-key") as client:
        pending = await client.connect_account(username="jane@example.com", password="pw")
        assert isinstance(pending, Checkpoint)
        clock.advance(timedelta(minutes=6).total_seconds())
        with pytest.raises(CheckpointExpired) as late:
            await client.solve_checkpoint(pending.account_id, "1")
        assert late.value.status == 408
        with pytest.raises(CheckpointExpired) as gone:
            await client.solve_checkpoint(pending.account_id, "1")
        assert gone.value.status == 400


async def test_list_get_delete(sim: Any, client: UnipileClient) -> None:
    ids = []
    for n in range(3):
        sim.add_account(username=f"u{n}@example.com", password="pw")
        created = await client.connect_account(username=f"u{n}@example.com", password="pw")
        assert isinstance(created, AccountCreated)
        ids.append(created.account_id)
    first_page, cursor = await client.list_accounts(limit=2)
    assert len(first_page) == 2
    assert cursor is not None
    listed = [a async for a in client.iter_accounts(limit=1)]
    assert [a.id for a in listed] == ids
    assert all(isinstance(a, Account) for a in listed)
    deleted = await client.delete_account(ids[0])
    assert deleted.object == "AccountDeleted"
    with pytest.raises(NotFound):
        await client.get_account(ids[0])


async def test_reconnect_after_disconnection(sim: Any, client: UnipileClient, world: World) -> None:
    sim.disconnect(world.account_id)
    assert (await client.get_account(world.account_id)).status == "CREDENTIALS"
    with pytest.raises(AccountDisconnected):
        await client.get_own_profile(world.account_id)
    result = await client.reconnect_account(world.account_id, username="jane@example.com", password="pw")
    assert isinstance(result, AccountReconnected)
    assert (await client.get_account(world.account_id)).status == "OK"
    me = await client.get_own_profile(world.account_id)
    assert me.provider_id == world.login.member.provider_id


async def test_bad_api_key(base_url: str) -> None:
    async with UnipileClient(base_url, "wrong-key") as client:
        with pytest.raises(InvalidApiKey) as info:
            await client.list_accounts()
    assert "wrong-key" not in str(info.value)
    assert "wrong-key" not in repr(info.value)


async def test_connect_body_is_validated_before_sending(client: UnipileClient, recorder: Any) -> None:
    with pytest.raises(InvalidRequest):
        await client.connect_account(username="jane@example.com")
    assert recorder.exchanges == []
