"""Signing in and out of the dashboard, in the browser."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, BrowserContext, Page, expect

from revos.runtime import Runtime
from tests.support.rows import Conn
from tests.support.tenant import token_headers
from tests.web.conftest import csrf_of, make_person, screenshot, sign_in


async def test_a_person_signs_in_and_lands_on_the_overview(
    owner: Conn, runtime: Runtime, page: Page, context: BrowserContext
) -> None:
    person = await make_person(owner, runtime, role="manager")
    await page.goto("/app/users")  # a page behind the sign-in: sent to sign in, then back there
    await expect(page).to_have_url("/app/sign-in?next=%2Fapp%2Fusers")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password").fill(person.password)
    await screenshot(page, "sign-in")
    await page.get_by_role("button", name="Sign in").click()
    # A manager may not manage users: the page they asked for refuses them, the overview welcomes them.
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await page.goto("/app/")
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page.get_by_text(person.email).first).to_be_visible()
    cookie = next(c for c in await context.cookies() if c["name"] == "revos_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/app"


async def test_a_wrong_password_is_refused_with_a_message(owner: Conn, runtime: Runtime, page: Page) -> None:
    person = await make_person(owner, runtime)
    await page.goto("/app/sign-in")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    await expect(page).to_have_url("/app/sign-in")
    await page.goto("/app/")
    await expect(page).to_have_url("/app/sign-in")


async def _still_signed_in(context: BrowserContext) -> bool:
    response = await context.request.get("/app/", max_redirects=0)
    return response.status == 200


async def test_failed_sign_ins_lock_the_account_for_a_while(
    owner: Conn, runtime: Runtime, page: Page
) -> None:
    person = await make_person(owner, runtime)
    for _ in range(runtime.settings.web_signin_max_per_account):
        token = await csrf_of(page.context, "/app/sign-in")
        response = await page.context.request.post(
            "/app/sign-in", form={"email": person.email, "password": "guess", "csrf_token": token}
        )
        assert response.status == 401
    # Even the right password is refused now, with a message saying why and for how long.
    await page.goto("/app/sign-in")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password").fill(person.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins for this account")
    await expect(page.get_by_role("alert")).to_contain_text("Try again in 15 minute(s)")
    assert not await _still_signed_in(page.context)


async def test_signing_out_ends_the_session_for_good(
    owner: Conn, runtime: Runtime, browser: Browser, context: BrowserContext, page: Page, web_url: str
) -> None:
    person = await make_person(owner, runtime)
    await sign_in(context, person)
    cookie = next(c for c in await context.cookies() if c["name"] == "revos_session")
    await page.goto("/app/")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("status")).to_have_text("You are signed out.")
    # The old cookie, replayed from elsewhere, opens nothing.
    replay = await browser.new_context(base_url=web_url)
    try:
        await replay.add_cookies([cookie])
        assert not await _still_signed_in(replay)
    finally:
        await replay.close()


async def test_a_password_change_signs_out_every_other_browser(
    owner: Conn, runtime: Runtime, browser: Browser, context: BrowserContext, page: Page, web_url: str
) -> None:
    person = await make_person(owner, runtime)
    await sign_in(context, person)
    await page.goto("/app/")
    other = await browser.new_context(base_url=web_url)
    try:
        await sign_in(other, person)
        assert await _still_signed_in(other)
        await page.goto("/app/account")
        await page.get_by_label("Current password").fill(person.password)
        await page.get_by_label("New password", exact=True).fill("a brand new passphrase")
        await page.get_by_label("New password, again").fill("a brand new passphrase")
        await page.get_by_role("button", name="Change password").click()
        await expect(page.get_by_role("status")).to_contain_text("Password changed")
        assert await _still_signed_in(context)  # this browser got a new session
        assert not await _still_signed_in(other)
    finally:
        await other.close()


async def test_a_demotion_or_a_removal_ends_the_persons_sessions_whoever_makes_it(
    owner: Conn, runtime: Runtime, browser: Browser, page: Page, web_url: str
) -> None:
    admin = await make_person(owner, runtime)
    manager = await make_person(owner, runtime, role="manager", client_id=admin.client_id)
    await sign_in(page.context, admin)
    theirs = await browser.new_context(base_url=web_url)
    try:
        await sign_in(theirs, manager)
        # Demoted on the users page: their session ends at once.
        await page.goto("/app/users")
        await page.get_by_label(f"Role of {manager.email}").select_option("member")
        await page.get_by_role("row", name=manager.email).get_by_role("button", name="Change role").click()
        await expect(page.get_by_role("status")).to_contain_text(f"{manager.email} is now member")
        assert not await _still_signed_in(theirs)
        # Signing in again gives the new role, and only its pages.
        await sign_in(theirs, manager)
        assert (await theirs.request.get("/app/users", max_redirects=0)).status == 403
        # Removed through the API: that session ends too.
        async with httpx.AsyncClient(base_url=web_url) as api:
            response = await api.delete(
                f"/v1/users/{manager.user_id}",
                headers=token_headers(runtime, admin.user_id, admin.client_id, "admin"),
            )
        assert response.status_code == 204, response.text
        assert not await _still_signed_in(theirs)
    finally:
        await theirs.close()
