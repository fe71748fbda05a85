"""Standard Webhooks signing (https://www.standardwebhooks.com), with the `standardwebhooks` library.

Headers: `webhook-id` (stable for one event across retries and replays), `webhook-timestamp` (unix
seconds of this attempt) and `webhook-signature`: one `v1,<base64 HMAC-SHA256>` entry per active
secret, space-separated. During a rotation's overlap window both the new and the previous secret
sign, so a receiver holding either one verifies.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def message_id(delivery_id: UUID) -> str:
    """The event's `webhook-id`: derived from the delivery row, so it can never change on retry."""
    return f"msg_{delivery_id.hex}"


def sign_headers(
    *, msg_id: str, body: str, secrets_: Sequence[str], timestamp: datetime | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed by every secret given."""
    if not secrets_:
        raise ValueError("at least one signing secret is required")
    # Receivers compare webhook-timestamp with their own wall clock (5 minutes' tolerance), so this is
    # wall time even when the dispatcher runs on a scaled or manual clock.
    at = (timestamp or datetime.now(UTC)).replace(microsecond=0)
    signatures = [Webhook(secret).sign(msg_id, at, body) for secret in secrets_]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
