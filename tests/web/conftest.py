"""The dashboard in a real browser: the app on a loopback port (the session's runtime and database), Debian's
chromium driven by Playwright, one browser for the session and a fresh context (cookies) per test."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from revos.identity import service as identity
from revos.runtime import Runtime
from tests.support.rows import Conn, make_client, make_user, tag

CHROMIUM = os.environ.get("REVOS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
async def web_url(runtime: Runtime) -> AsyncIterator[str]:
    """The whole app (API and dashboard) served on a free loopback port."""
    from revos.app import create_app

    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def context(browser: Browser, web_url: str) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(base_url=web_url)
    ctx.set_default_timeout(20_000)  # a busy 2-core CI machine; failing assertions still fail fast enough
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@dataclass
class Person:
    """A user with a password, able to sign in to the dashboard."""

    email: str
    password: str
    user_id: UUID
    client_id: UUID
    agency_id: UUID
    role: str


async def make_person(
    owner: Conn,
    runtime: Runtime,
    *,
    role: str = "admin",
    client_id: UUID | None = None,
    agency_staff: bool = False,
    password: str = PASSWORD,
) -> Person:
    """A user of `client_id` (default: a new client of a new agency) whose password is `password`."""
    client = (
        await make_client(owner)
        if client_id is None
        else (await (await owner.execute("select * from clients where id = %s", (client_id,))).fetchone())
    )
    assert client is not None
    user = await make_user(owner, client_id=client["id"], role=role, email=f"{tag()}@example.com")
    async with runtime.db.service(actor="test") as conn:
        await identity.set_password(conn, runtime.settings, user["id"], password)
        if agency_staff:
            await identity.set_agency_staff(conn, user["id"], True)
    return Person(user["email"], password, user["id"], client["id"], client["agency_id"], role)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_of(context: BrowserContext, path: str) -> str:
    """The CSRF token of the context's session (or of its anonymous cookie), read from a page's form."""
    response = await context.request.get(path)
    match = _CSRF.search(await response.text())
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def sign_in(context: BrowserContext, person: Person) -> None:
    """Sign the context in as `person` through the sign-in form's POST (no page rendering: fast), in
    place of whoever was signed in there."""
    await context.clear_cookies()
    token = await csrf_of(context, "/app/sign-in")
    response = await context.request.post(
        "/app/sign-in",
        form={"email": person.email, "password": person.password, "csrf_token": token, "next": "/app/"},
    )
    assert response.ok, await response.text()
    assert response.url.endswith("/app/"), "the sign-in did not land on the overview"


async def screenshot(page: Page, name: str) -> None:
    """A test artefact (tests/artifacts/screenshots, not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
