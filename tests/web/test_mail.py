"""With SMTP configured, a person who forgot their password gets a one-time reset link by mail (a local
SMTP server on loopback receives it), follows it and signs in with the new password; an unknown address
gets the same answer and no mail."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import Page, expect

from revos.runtime import Runtime
from tests.support.rows import Conn
from tests.web.conftest import make_person


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def inbox(runtime: Runtime) -> Iterator[Inbox]:
    box = Inbox()
    with socket.socket() as probe:  # a free loopback port (the controller checks it can connect)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings = runtime.settings
    before = (settings.smtp_host, settings.smtp_port, settings.smtp_starttls)
    settings.smtp_host, settings.smtp_port, settings.smtp_starttls = "127.0.0.1", controller.port, False
    try:
        yield box
    finally:
        settings.smtp_host, settings.smtp_port, settings.smtp_starttls = before
        controller.stop()


async def test_a_forgotten_password_is_reset_through_the_mailed_link(
    owner: Conn, runtime: Runtime, inbox: Inbox, page: Page
) -> None:
    person = await make_person(owner, runtime)
    await page.goto("/app/forgot")
    await page.get_by_label("Email").fill("nobody-here@example.com")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("status")).to_contain_text("If an account has that email")
    await page.goto("/app/forgot")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("status")).to_contain_text("If an account has that email")
    for _ in range(200):  # the mail is sent before the page answers; allow the server to hand it over
        if inbox.messages:
            break
        await asyncio.sleep(0.05)
    assert [m["To"] for m in inbox.messages] == [person.email]  # none for the unknown address
    # Asking again at once mails nothing more (nobody floods a mailbox through the form); the page says
    # the same as ever.
    await page.goto("/app/forgot")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("status")).to_contain_text("If an account has that email")
    assert len(inbox.messages) == 1
    body = inbox.messages[0].get_payload(decode=True).decode()
    link = re.search(r"https?://\S+/app/reset/\S+", body)
    assert link, body
    await page.goto(link.group(0))
    await page.get_by_label("New password", exact=True).fill("a brand new password")
    await page.get_by_label("New password, again").fill("a brand new password")
    await page.get_by_role("button", name="and sign in").click()
    await expect(page).to_have_url(re.compile(r"/app/$"))
    # The link worked once.
    await page.context.clear_cookies()
    await page.goto(link.group(0))
    await expect(page.get_by_text(re.compile("no longer valid|expired|used", re.I)).first).to_be_visible()
