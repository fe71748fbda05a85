"""Signing in and out of the dashboard, in the browser."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page, expect

from revos.runtime import Runtime
from tests.support.rows import Conn
from tests.web.conftest import make_person, screenshot


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
