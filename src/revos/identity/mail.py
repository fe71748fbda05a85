"""Invitation and reset links by mail, when SMTP is configured (REVOS_SMTP_*); stdlib smtplib."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage

from revos.config import Settings

log = logging.getLogger(__name__)

SUBJECTS = {"invite": "You are invited to revOS", "reset": "Reset your revOS password"}
BODIES = {
    "invite": "You have been invited to revOS. Choose your password here (the link works once):\n\n{link}\n",
    "reset": "Someone asked to reset your revOS password. If it was you, choose a new one here "
    "(the link works once):\n\n{link}\n\nIf it was not you, ignore this mail.",
}


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def _send(settings: Settings, message: EmailMessage) -> None:
    assert settings.smtp_host is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)


async def send_link(settings: Settings, *, to: str, purpose: str, link: str) -> bool:
    """Mail the link; False (logged, never the link) when no SMTP is configured or sending failed."""
    if not configured(settings):
        return False
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = SUBJECTS[purpose]
    message.set_content(BODIES[purpose].format(link=link))
    try:
        await asyncio.to_thread(_send, settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("could not send the %s mail: %s", purpose, exc.__class__.__name__)
        return False
    return True
