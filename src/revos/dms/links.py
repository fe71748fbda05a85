"""Signed, expiring download links: `/d/{token}`.

The token is `<payload>.<signature>`, both base64url: the payload is `{"s": <sequence id>, "e": <expiry,
unix seconds>}` and the signature an HMAC-SHA256 of it under a key derived from the JWT secret (its own
purpose string, so a link can never be replayed as a session token or the other way round). Nothing is
stored to check a link, and nothing in it can be altered without breaking the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

from revos.errors import RevosError
from revos.runtime import Runtime

_PURPOSE = b"revos:download-link:v1"


class LinkInvalid(RevosError):
    status_code = 404
    code = "link_invalid"


class LinkExpired(RevosError):
    status_code = 410
    code = "link_expired"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def sign(secret: str, sequence_id: UUID, expires_at: datetime) -> str:
    payload = _b64(json.dumps({"s": str(sequence_id), "e": int(expires_at.timestamp())}).encode())
    mac = hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify(secret: str, token: str, now: datetime) -> tuple[UUID, datetime]:
    """The sequence id and expiry of a genuine, unexpired token; LinkInvalid / LinkExpired otherwise."""
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        raise LinkInvalid("this download link is not valid")
    expected = hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest()
    try:
        given = _unb64(signature)
    except ValueError as exc:
        raise LinkInvalid("this download link is not valid") from exc
    if not hmac.compare_digest(expected, given):
        raise LinkInvalid("this download link is not valid")
    try:
        data = json.loads(_unb64(payload))
        sequence_id = UUID(str(data["s"]))
        expires_at = datetime.fromtimestamp(int(data["e"]), tz=UTC)
    except (ValueError, KeyError, TypeError) as exc:
        raise LinkInvalid("this download link is not valid") from exc
    if now >= expires_at:
        raise LinkExpired(f"this download link expired on {expires_at:%Y-%m-%d}")
    return sequence_id, expires_at


def download_url(runtime: Runtime, sequence_id: UUID, now: datetime) -> tuple[str, datetime]:
    """A fresh link for the sequence's lead magnet and when it expires."""
    settings = runtime.settings
    expires_at = now + timedelta(days=settings.download_link_ttl_days)
    token = sign(runtime.jwt_secret, sequence_id, expires_at)
    return f"{settings.public_base_url.rstrip('/')}/d/{token}", expires_at
