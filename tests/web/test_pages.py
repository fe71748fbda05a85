"""The pages as people of each role see them: what they may open, the client switcher, API keys, CSRF,
and what every page must be (no console error, labelled keyboard-reachable fields, strict CSP, escaped text)."""

from __future__ import annotations

import httpx
from playwright.async_api import BrowserContext, ConsoleMessage, Page, expect

from revos.runtime import Runtime
from tests.support.rows import Conn, make_client, tag
from tests.web.conftest import csrf_of, make_person, screenshot, sign_in

ADMIN_PAGES = ["/app/users", "/app/audit"]

# Every visible form control of the page that has no label, or that the keyboard cannot reach.
UNLABELLED_OR_UNREACHABLE = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(el => el.type !== 'hidden')
  .filter(el => (el.tagName === 'BUTTON' ? !(el.textContent.trim() || el.getAttribute('aria-label'))
                                         : el.labels.length === 0)
                || el.tabIndex < 0 || el.disabled)
  .map(el => el.outerHTML)"""


async def test_a_member_sees_no_admin_page_and_is_refused_them(
    owner: Conn, runtime: Runtime, page: Page
) -> None:
    member = await make_person(owner, runtime, role="member")
    await sign_in(page.context, member)
    await page.goto("/app/")
    nav = page.get_by_role("navigation", name="Main")
    labels = await nav.get_by_role("link").all_inner_texts()
    assert "Overview" in labels
    assert not {"Users & API keys", "Audit log", "Clients"} & set(labels), labels
    for path in [*ADMIN_PAGES, "/app/clients"]:
        response = await page.goto(path)
        assert response is not None
        assert response.status == 403, path
        await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    # Nor can they write there.
    token = await csrf_of(page.context, "/app/")
    response = await page.context.request.post("/app/api-keys", form={"name": "sneaky", "csrf_token": token})
    assert response.status == 403
    count = await (
        await owner.execute("select count(*) as n from api_keys where client_id = %s", (member.client_id,))
    ).fetchone()
    assert count is not None
    assert count["n"] == 0


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    owner: Conn, runtime: Runtime, context: BrowserContext
) -> None:
    admin = await make_person(owner, runtime)
    await sign_in(context, admin)
    for form in ({"name": "no token"}, {"name": "wrong token", "csrf_token": "0" * 64}):
        response = await context.request.post("/app/api-keys", form=form)
        assert response.status == 403
        assert "CSRF" in await response.text()
    # A token of another session is no better.
    other = await make_person(owner, runtime)
    foreign = await csrf_of(context, "/app/")  # this session's, then signed in as somebody else
    await sign_in(context, other)
    response = await context.request.post("/app/api-keys", form={"name": "foreign", "csrf_token": foreign})
    assert response.status == 403
    keys = await (
        await owner.execute(
            "select count(*) as n from api_keys where client_id = any(%s)",
            ([admin.client_id, other.client_id],),
        )
    ).fetchone()
    assert keys is not None
    assert keys["n"] == 0
    # With the right token the same request goes through: the refusals above were the token's doing.
    token = await csrf_of(context, "/app/")
    response = await context.request.post("/app/api-keys", form={"name": "with token", "csrf_token": token})
    assert response.status == 200


async def test_an_api_key_is_shown_once_works_on_the_api_and_stops_when_revoked(
    owner: Conn, runtime: Runtime, page: Page, web_url: str
) -> None:
    admin = await make_person(owner, runtime)
    await sign_in(page.context, admin)
    await page.goto("/app/users")
    await page.get_by_label("Key name").fill("zapier")
    await page.get_by_role("button", name="Create key").click()
    key = await page.get_by_role("textbox", name="API key", exact=True).input_value()
    async with httpx.AsyncClient(base_url=web_url) as api:
        me = await api.get("/v1/me", headers={"X-API-Key": key})
        assert me.status_code == 200
        assert me.json()["client_id"] == str(admin.client_id)
        await page.goto("/app/users")
        await expect(page.get_by_role("textbox", name="API key", exact=True)).to_have_count(
            0
        )  # never shown again
        await page.get_by_role("button", name="Revoke API key zapier").click()
        await expect(page.get_by_role("status")).to_have_text("API key zapier is revoked.")
        assert (await api.get("/v1/me", headers={"X-API-Key": key})).status_code == 401


async def test_agency_staff_switch_between_their_clients(owner: Conn, runtime: Runtime, page: Page) -> None:
    staff = await make_person(owner, runtime, agency_staff=True)
    second = await make_client(owner, agency_id=staff.agency_id, name=f"Second {tag(6)}")
    colleague = await make_person(owner, runtime, role="member", client_id=second["id"])
    elsewhere = await make_person(owner, runtime)  # another agency: never listed
    await sign_in(page.context, staff)
    await page.goto("/app/clients")
    await expect(page.get_by_role("row", name=second["name"])).to_be_visible()
    await expect(page.get_by_role("table")).not_to_contain_text(str(elsewhere.client_id))
    await screenshot(page, "clients")
    await page.goto("/app/users")
    await expect(page.get_by_role("table").first).not_to_contain_text(colleague.email)
    await page.get_by_label("Client", exact=True).select_option(label=second["name"])
    await page.get_by_role("button", name="Switch").click()
    await expect(page.get_by_role("status")).to_have_text(f"You are now working in {second['name']}.")
    await expect(page).to_have_url("/app/users")
    await expect(page.get_by_role("row", name=colleague.email)).to_be_visible()
    await expect(page.get_by_role("table").first).not_to_contain_text(staff.email)
    # A client of another agency cannot be switched to, whatever the form says.
    token = await csrf_of(page.context, "/app/")
    response = await page.context.request.post(
        "/app/clients/switch", form={"client_id": str(elsewhere.client_id), "csrf_token": token}
    )
    assert response.ok
    assert "client not found" in await response.text()
    await page.goto("/app/")
    await expect(page.get_by_text(f"working in {second['name']}")).to_be_visible()


async def test_every_page_is_clean_labelled_and_strict(
    owner: Conn, runtime: Runtime, page: Page, web_url: str
) -> None:
    admin = await make_person(owner, runtime, agency_staff=True)
    # LinkedIn-originated and user-given text is shown as text, never as markup.
    await owner.execute(
        "update clients set name = %s where id = %s", ("<img src=x onerror=alert(1)>", admin.client_id)
    )
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    for path, name in [("/app/sign-in", "sign-in-page"), ("/app/forgot", "forgot")]:
        response = await page.goto(path)
        assert response is not None
        assert response.status == 200
        assert await page.evaluate(UNLABELLED_OR_UNREACHABLE) == []
        await screenshot(page, name)
    # The keyboard reaches the sign-in form in order.
    await page.goto("/app/sign-in")
    for _ in range(3):  # the skip link, the brand, then the form
        await page.keyboard.press("Tab")
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.keyboard.type(admin.email)
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type(admin.password)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    for path, name in [
        ("/app/", "overview"),
        ("/app/users", "users-and-keys"),
        ("/app/audit?limit=5", "audit"),
        ("/app/clients", "clients-list"),
        ("/app/account", "account"),
    ]:
        response = await page.goto(path)
        assert response is not None
        assert response.status == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "'unsafe-inline'" not in csp
        assert response.headers["cache-control"] == "no-store"
        assert await page.evaluate(UNLABELLED_OR_UNREACHABLE) == [], path
        assert await page.locator("img").count() == 0, path  # the client's name did not become an element
        await screenshot(page, name)
    await expect(page.get_by_role("main")).to_contain_text("<img src=x onerror=alert(1)>")
    # htmx is loaded from the app itself and works under the CSP: older audit entries come in place.
    await page.goto("/app/audit?limit=2")
    rows = page.locator("#audit-rows tr:not(#audit-more)")
    await expect(rows).to_have_count(2)
    await page.get_by_role("link", name="Older entries").click()
    await expect(rows).to_have_count(4)
    await expect(page).to_have_url("/app/audit?limit=2")  # a fragment came in, no navigation
    assert errors == []
