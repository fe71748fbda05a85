"""Sign-in rules without a browser: the per-address limit and what ends a session."""

from __future__ import annotations

from uuid import uuid4

from revos.identity import service as identity
from revos.runtime import Runtime
from tests.support.rows import Conn, make_client, make_user, tag

PASSWORD = "correct horse battery"


async def _person(owner: Conn, runtime: Runtime) -> dict[str, object]:
    client = await make_client(owner)
    user = await make_user(owner, client_id=client["id"], email=f"{tag()}@example.com")
    async with runtime.db.service() as conn:
        await identity.set_password(conn, runtime.settings, user["id"], PASSWORD)
    return user


async def _attempt(runtime: Runtime, email: str, password: str, ip: str) -> identity.SignIn:
    async with runtime.db.service() as conn:
        return await identity.sign_in(
            conn, runtime.settings, email=email, password=password, ip=ip, user_agent="test"
        )


async def test_one_address_guessing_many_accounts_is_stopped(owner: Conn, runtime: Runtime) -> None:
    ip = f"198.51.100.{uuid4().int % 250}"
    person = await _person(owner, runtime)
    settings = runtime.settings
    previous, settings.web_signin_max_per_address = settings.web_signin_max_per_address, 3
    try:
        for _ in range(3):
            outcome = await _attempt(runtime, f"{tag()}@example.com", "guess", ip)  # a new account each time
            assert outcome.refusal is not None
            assert outcome.refusal.status_code == 401
        refused = await _attempt(runtime, str(person["email"]), PASSWORD, ip)
    finally:
        settings.web_signin_max_per_address = previous
    assert refused.token is None
    assert refused.refusal is not None
    assert refused.refusal.status_code == 429
    assert "from your network address" in refused.refusal.message
    # The same person from another address is welcome.
    assert (await _attempt(runtime, str(person["email"]), PASSWORD, "203.0.113.9")).token is not None


async def test_a_success_starts_the_accounts_count_afresh(owner: Conn, runtime: Runtime) -> None:
    person = await _person(owner, runtime)
    email, limit = str(person["email"]), runtime.settings.web_signin_max_per_account
    for _ in range(limit - 1):
        assert (await _attempt(runtime, email, "guess", "192.0.2.10")).token is None
    assert (await _attempt(runtime, email, PASSWORD, "192.0.2.10")).token is not None
    for _ in range(limit - 1):
        assert (await _attempt(runtime, email, "guess", "192.0.2.11")).token is None
    assert (await _attempt(runtime, email, PASSWORD, "192.0.2.11")).token is not None


async def test_sessions_end_with_their_user_and_with_a_revocation_of_tokens(
    owner: Conn, runtime: Runtime
) -> None:
    person = await _person(owner, runtime)
    first = (await _attempt(runtime, str(person["email"]), PASSWORD, "192.0.2.20")).token
    assert first is not None
    async with runtime.db.service() as conn:
        assert await identity.session_for(conn, first) is not None
    await owner.execute("update users set tokens_valid_after = now() where id = %s", (person["id"],))
    async with runtime.db.service() as conn:
        assert await identity.session_for(conn, first) is None
    second = (await _attempt(runtime, str(person["email"]), PASSWORD, "192.0.2.20")).token
    assert second is not None
    await owner.execute("delete from users where id = %s", (person["id"],))
    async with runtime.db.service() as conn:
        assert await identity.session_for(conn, second) is None
