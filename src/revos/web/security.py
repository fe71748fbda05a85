"""What every dashboard response carries (CSP and friends), CSRF tokens, and signed flash cookies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/app"
SESSION_COOKIE = "revos_session"
ANON_COOKIE = "revos_anon"  # ties the sign-in and link forms' CSRF token to this browser
FLASH_COOKIE = "revos_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# No inline script or style anywhere: htmx is a file of ours, its indicator styles are turned off
# (templates/base.html's htmx-config) and nothing is loaded from elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Invitation and reset links carry their token in the path: never send it anywhere as a referrer.
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class DashboardHeaders:
    """Adds the headers above to every response under /app (pages, fragments, errors, static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        static = path.startswith(PREFIX + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"cache-control"]
                headers += HEADERS
                # Pages show tenant data: never kept by a shared cache or the back-forward cache.
                cache = b"public, max-age=3600" if static else b"no-store"
                headers.append((b"cache-control", cache))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"revos-web:{purpose}:{secret}".encode()).digest()


def csrf_token(secret: str, binding: bytes) -> str:
    """The CSRF token of a session (binding: its id) or of an anonymous browser (its anon cookie)."""
    return hmac.new(_key(secret, "csrf"), binding, hashlib.sha256).hexdigest()


def csrf_matches(secret: str, binding: bytes, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(secret, binding), presented or "")


def new_anon_id() -> str:
    return secrets.token_urlsafe(24)


def sign_flash(secret: str, messages: list[tuple[str, str]]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(messages).encode()).decode().rstrip("=")
    mac = hmac.new(_key(secret, "flash"), body.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{body}.{mac}"


def read_flash(secret: str, value: str | None) -> list[tuple[str, str]]:
    if not value or "." not in value:
        return []
    body, mac = value.rsplit(".", 1)
    expected = hmac.new(_key(secret, "flash"), body.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(expected, mac):
        return []
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return []
    return [(str(level), str(text)) for level, text in data if isinstance(level, str)][:10]
