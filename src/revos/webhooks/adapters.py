"""How one delivery reaches one kind of endpoint.

- custom, zapier, make: the event as signed JSON (Standard Webhooks headers) POSTed to the URL.
  Zapier's REST hooks and Make's custom webhooks take any JSON; the signature costs them nothing and
  lets a custom receiver verify.
- convertkit (Kit API v4): upsert the subscriber, then add it to the configured form and/or tag.
  Kit authenticates with the client's API key (X-Kit-Api-Key); the base URL is a setting.

Every call goes through the SSRF-safe PinnedClient. Adapters never touch the database.
"""

from __future__ import annotations

import email.utils
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from revos import __version__, jsonsafe
from revos.config import Settings
from revos.security import ssrf
from revos.webhooks import payloads, signing
from revos.webhooks.schemas import TEST_EVENT

USER_AGENT = f"revOS-Webhooks/{__version__}"
log = logging.getLogger(__name__)


@dataclass
class Job:
    """A claimed delivery with what is needed to send it (secrets in clear, in memory only)."""

    delivery: dict[str, Any]
    config: dict[str, Any]
    secrets: list[str] = field(default_factory=list)
    kit_api_key: str | None = None
    error: str | None = None  # set when the job cannot be sent at all (e.g. undecryptable secret)


@dataclass
class Outcome:
    ok: bool
    status_code: int | None = None
    body: bytes | None = None
    truncated: bool = False
    error: str | None = None
    elapsed_ms: int | None = None
    retry_after_s: float | None = None
    gone: bool = False  # HTTP 410: the receiver says this endpoint is gone for good
    permanent: bool = False  # retrying cannot help (e.g. Kit without an email address)


async def send(client: ssrf.PinnedClient, job: Job, settings: Settings) -> Outcome:
    """Try the delivery once. Never raises (but for cancellation): whatever goes wrong is this
    delivery's failed attempt, with a reason a person can read, and never the batch's problem."""
    if job.error:
        return Outcome(ok=False, error=job.error, permanent=True)
    try:
        if job.config.get("esp_type") == "convertkit":
            return await _send_kit(client, job, settings)
        return await _send_signed(client, job)
    except ssrf.MalformedUrl as exc:
        # Deterministic: retrying cannot help until someone edits the URL (then replay).
        return Outcome(ok=False, error=f"not sent: {redact(exc.message, job)}", permanent=True)
    except ssrf.UnsafeUrl as exc:
        return Outcome(ok=False, error=f"refused: {redact(exc.message, job)}")
    except httpx.TimeoutException:
        return Outcome(ok=False, error=f"timed out after {job.config['timeout_ms']} ms")
    except httpx.InvalidURL as exc:
        return Outcome(ok=False, error=f"not sent: invalid URL ({redact(str(exc), job)})", permanent=True)
    except (httpx.HTTPError, OSError) as exc:
        # OSError: DNS failures and TLS errors that reach us unwrapped.
        return Outcome(ok=False, error=f"connection failed: {describe(exc, job)}")
    except Exception as exc:
        # Redacted, without the traceback: its last line would quote the exception unredacted.
        reason = describe(exc, job)
        log.warning("webhook delivery %s: unexpected error while sending: %s", job.delivery.get("id"), reason)
        return Outcome(ok=False, error=f"not sent: unexpected error ({reason})")


MAX_REASON_CHARS = 500


def describe(exc: BaseException, job: Job) -> str:
    """`ClassName: message` of an exception, without anything secret the job carries."""
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    return redact(text, job)


def redact(text: str, job: Job) -> str:
    """`text` without the job's secrets, header values or URL path and query (a Zapier or Make hook URL
    is itself a credential), cut to a readable length. Exception messages can quote any of them."""
    secrets_ = [*job.secrets, job.kit_api_key or ""]
    secrets_ += [str(v) for v in (job.config.get("headers") or {}).values()]
    url = str(job.config.get("url") or "")
    try:
        parts = urlsplit(url)
        secrets_ += [parts.path, parts.query, url.split("//", 1)[-1].split("/", 1)[-1]]
    except ValueError:
        secrets_.append(url)
    for secret in sorted(set(secrets_), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    text = jsonsafe.storable(text)
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


async def _send_signed(client: ssrf.PinnedClient, job: Job) -> Outcome:
    delivery, config = job.delivery, job.config
    body = payloads.body_of(delivery["payload"])
    headers = {
        **(config.get("headers") or {}),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.sign_headers(msg_id=signing.message_id(delivery["id"]), body=body, secrets_=job.secrets),
    }
    response = await client.send(
        "POST", config["url"], content=body.encode(), headers=headers, timeout_s=config["timeout_ms"] / 1000
    )
    return outcome_of(response)


def outcome_of(response: ssrf.Response) -> Outcome:
    code = response.status_code
    outcome = Outcome(
        ok=200 <= code < 300,
        status_code=code,
        body=response.body,
        truncated=response.truncated,
        elapsed_ms=response.elapsed_ms,
        retry_after_s=parse_retry_after(response.headers.get("retry-after")),
        gone=code == 410,
    )
    if 300 <= code < 400:
        outcome.error = (
            f"HTTP {code}: redirects are not followed (Location: {response.headers.get('location')})"
        )
    elif code == 410:
        outcome.error = "HTTP 410 Gone: the receiver retired this endpoint"
    elif not outcome.ok:
        outcome.error = f"HTTP {code}"
    return outcome


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


async def _send_kit(client: ssrf.PinnedClient, job: Job, settings: Settings) -> Outcome:
    if not job.kit_api_key:
        return Outcome(ok=False, error="no Kit API key configured", permanent=True)
    base = settings.kit_base_url.rstrip("/")
    headers = {
        "X-Kit-Api-Key": job.kit_api_key,
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    timeout_s = job.config["timeout_ms"] / 1000
    payload = job.delivery["payload"]
    if payload.get("type") == TEST_EVENT:
        # A test checks the key without adding a sample person to the client's list.
        return outcome_of(
            await client.send("GET", f"{base}/v4/account", headers=headers, timeout_s=timeout_s)
        )

    lead = (payload.get("data") or {}).get("lead") or {}
    email_address = lead.get("email")
    if not email_address:
        return Outcome(ok=False, error="the lead has no email address; Kit needs one", permanent=True)
    fields = {
        k: str(v)
        for k, v in {
            "last_name": lead.get("last_name"),
            "company": lead.get("company"),
            "job_title": lead.get("title"),
            "linkedin_url": lead.get("linkedin_url"),
        }.items()
        if v
    }
    subscriber = {
        "email_address": email_address,
        "first_name": lead.get("first_name"),
        "state": "active",
        "fields": fields,
    }
    calls: list[tuple[str, dict[str, Any]]] = [(f"{base}/v4/subscribers", subscriber)]
    settings_ = job.config.get("esp_settings") or {}
    if settings_.get("form_id"):
        calls.append(
            (f"{base}/v4/forms/{int(settings_['form_id'])}/subscribers", {"email_address": email_address})
        )
    if settings_.get("tag_id"):
        calls.append(
            (f"{base}/v4/tags/{int(settings_['tag_id'])}/subscribers", {"email_address": email_address})
        )
    # Each call is idempotent in Kit (upsert, add-to-form, tag), so a retry repeats them all.
    total_ms = 0
    outcome = Outcome(ok=False)
    for url, body in calls:
        response = await client.send(
            "POST", url, content=json.dumps(body).encode(), headers=headers, timeout_s=timeout_s
        )
        total_ms += response.elapsed_ms
        outcome = outcome_of(response)
        outcome.elapsed_ms = total_ms
        if not outcome.ok:
            step = url.removeprefix(base)
            outcome.error = f"Kit {step}: {outcome.error}"
            # 410 from Kit is not "this endpoint is retired": never disable a Kit config for it.
            outcome.gone = False
            return outcome
    return outcome
