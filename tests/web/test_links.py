"""One-time links: an invitation (from the users page, or `revos user invite`) and a password reset."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, expect

from revos.runtime import Runtime
from tests.support.rows import Conn, make_client, tag
from tests.web.conftest import Person, make_person, screenshot, sign_in


async def _choose_password(page: Page, link: str, password: str) -> None:
    await page.goto(link)
    await page.get_by_label("New password", exact=True).fill(password)
    await page.get_by_label("New password, again").fill(password)
    await page.get_by_role("button", name="and sign in").click()


async def test_an_invited_person_sets_a_password_through_the_link_and_signs_in(
    owner: Conn, runtime: Runtime, browser: Browser, context: BrowserContext, page: Page, web_url: str
) -> None:
    admin = await make_person(owner, runtime)
    await sign_in(context, admin)
    await page.goto("/app/users")
    email = f"new-{tag()}@example.com"
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Role", exact=True).select_option("manager")
    await page.get_by_role("button", name="Invite").click()
    await expect(page.get_by_role("status").first).to_contain_text(f"{email} is invited as manager")
    await expect(page.get_by_role("row", name=email)).to_contain_text("invitation pending")
    await screenshot(page, "users")
    link = await page.get_by_label("One-time link").input_value()
    assert link.startswith(f"{web_url}/app/invite/")

    invitee = await browser.new_context(base_url=web_url)
    try:
        person_page = await invitee.new_page()
        await _choose_password(person_page, link, "the invitee's passphrase")
        await expect(person_page.get_by_role("status")).to_have_text("Welcome to revOS.")
        await expect(person_page.get_by_text("manager, working in")).to_be_visible()
        # The link worked once.
        await person_page.goto(link)
        await expect(person_page.get_by_role("alert")).to_contain_text("This link is not valid")
        # And the password is theirs from now on.
        await invitee.clear_cookies()
        user_id = await (await owner.execute("select id from users where email = %s", (email,))).fetchone()
        assert user_id is not None
        await sign_in(
            invitee,
            Person(
                email, "the invitee's passphrase", user_id["id"], admin.client_id, admin.agency_id, "manager"
            ),
        )
    finally:
        await invitee.close()
    await page.goto("/app/users")
    await expect(page.get_by_role("row", name=email)).to_contain_text("last sign-in")


async def test_a_password_reset_link_replaces_the_password_and_ends_old_sessions(
    owner: Conn, runtime: Runtime, browser: Browser, context: BrowserContext, page: Page, web_url: str
) -> None:
    admin = await make_person(owner, runtime)
    member = await make_person(owner, runtime, role="member", client_id=admin.client_id)
    forgetful = await browser.new_context(base_url=web_url)
    try:
        await sign_in(forgetful, member)  # an old session somewhere, to be ended by the reset
        await sign_in(context, admin)
        await page.goto("/app/users")
        await page.get_by_role("button", name=f"Password reset link for {member.email}").click()
        link = await page.get_by_label("One-time link").input_value()
        assert "/app/reset/" in link

        fresh = await browser.new_context(base_url=web_url)
        try:
            reset_page = await fresh.new_page()
            await _choose_password(reset_page, link, "short")
            await expect(reset_page.get_by_role("alert")).to_contain_text("at least 10 characters")
            await _choose_password(reset_page, link, "a much better passphrase")
            await expect(reset_page.get_by_role("status")).to_have_text("Your password is changed.")
        finally:
            await fresh.close()
        response = await forgetful.request.get("/app/", max_redirects=0)
        assert response.status == 303
        await forgetful.clear_cookies()
        refused = await forgetful.request.get("/app/sign-in")
        assert refused.ok
        member.password = "a much better passphrase"
        await sign_in(forgetful, member)
    finally:
        await forgetful.close()


async def test_an_operator_invites_the_first_admin_with_the_cli(
    owner: Conn, db_url: str, web_url: str, page: Page, tmp_path: Path
) -> None:
    client = await make_client(owner)
    email = f"first-{tag()}@example.com"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVOS_")}
    env |= {
        "REVOS_ENV": "development",
        "REVOS_DATABASE_URL": db_url,
        "REVOS_DATA_DIR": str(tmp_path),
        "REVOS_PUBLIC_BASE_URL": web_url,
        "COLUMNS": "200",
    }
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "revos.cli", "user", "invite", email, "--client", str(client["id"]),
        "--role", "admin", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(cli.communicate(), timeout=120)
    assert cli.returncode == 0, err.decode()
    link = out.decode().strip().splitlines()[-1]
    assert link.startswith(f"{web_url}/app/invite/")
    await _choose_password(page, link, "the first admin's passphrase")
    await expect(page.get_by_role("status")).to_have_text("Welcome to revOS.")
    await expect(page.get_by_role("link", name="Users & API keys")).to_be_visible()
