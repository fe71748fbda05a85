"""Sends due deliveries: claim → commit → send → record, never HTTP inside a transaction.

`deliver_due` is a plain async function: a periodic task (or a loop in the demo) calls it. It claims a
batch with `for update skip locked` (several workers never send the same delivery), commits the claim
as a lease (next_retry_at = now + lease; a crashed worker's deliveries come back when it runs out),
sends them concurrently through the SSRF-safe client, and records each outcome in its own short
transaction. A late outcome for a delivery someone else has re-claimed is logged as an attempt but
does not overwrite the delivery.

Retry schedule of a delivery, after its attempt n (1-based) failed:
    delay = min(retry_delay_ms * 2**(n-1), webhook_retry_max_delay_ms) * (1 + U(0, webhook_retry_jitter))
raised to the receiver's Retry-After when that is longer (capped at webhook_retry_after_max_seconds).
Attempts stop after 1 + max_retries (or 1 when retry_enabled is false); HTTP 410 stops them and
disables the endpoint; N deliveries in a row that gave up disable it too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos import jsonsafe
from revos.clock import Clock
from revos.config import Settings
from revos.db.pool import Conn, Database
from revos.errors import RevosError
from revos.leads.lifecycle import handover
from revos.security import ssrf
from revos.security.vault import Vault
from revos.webhooks import adapters, repo, service
from revos.webhooks.schemas import TEST_EVENT

log = logging.getLogger(__name__)


def backoff_seconds(
    failed_attempts: int, retry_delay_ms: int, settings: Settings, rng: random.Random | None = None
) -> float:
    base_ms = min(retry_delay_ms * 2 ** max(0, failed_attempts - 1), settings.webhook_retry_max_delay_ms)
    jitter = (rng or random).uniform(0, settings.webhook_retry_jitter)
    return base_ms / 1000 * (1 + jitter)


def retry_delay(
    failed_attempts: int,
    retry_delay_ms: int,
    retry_after_s: float | None,
    settings: Settings,
    rng: random.Random | None = None,
) -> float:
    delay = backoff_seconds(failed_attempts, retry_delay_ms, settings, rng)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, float(settings.webhook_retry_after_max_seconds)))
    return delay


class Dispatcher:
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        settings: Settings,
        vault: Vault,
        resolver: ssrf.Resolver | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.vault = vault
        self.resolver = resolver
        self.rng = rng

    async def run(self, *, limit: int, delivery_id: UUID | None = None) -> int:
        jobs = await self._claim(limit=limit, delivery_id=delivery_id)
        if not jobs:
            return 0
        client = ssrf.PinnedClient(
            allow_http_loopback=service.loopback_allowed(self.settings),
            max_response_bytes=self.settings.webhook_response_max_bytes,
            resolver=self.resolver,
        )
        semaphore = asyncio.Semaphore(self.settings.webhook_dispatch_concurrency)

        async def deliver(job: adapters.Job) -> adapters.Outcome:
            # Every delivery's outcome is its own: an exception here would leave the others of the
            # batch sent but unrecorded, to be sent again, to every tenant, at each lease expiry.
            try:
                async with semaphore:
                    return await adapters.send(client, job, self.settings)
            except Exception as exc:
                reason = adapters.describe(exc, job)
                log.error(
                    "webhook delivery %s: unexpected error while sending: %s", job.delivery["id"], reason
                )
                return adapters.Outcome(ok=False, error=f"not sent: unexpected error ({reason})")

        try:
            outcomes = await asyncio.gather(*(deliver(j) for j in jobs))
        finally:
            await client.aclose()
        # One transaction records the whole batch (one commit instead of one per delivery). Should one
        # record fail, the batch is recorded again with a savepoint per delivery, so one bad record
        # cannot undo the others (and the common case costs no savepoint round trips). A crash before
        # this commit leaves the claims to expire: those deliveries are sent again, with the same
        # webhook-id.
        try:
            async with self.db.service(actor="webhooks.deliver") as conn:
                for job, outcome in zip(jobs, outcomes, strict=True):
                    await self._record(conn, job, outcome)
        except Exception:
            log.exception("recording %d webhook deliveries at once failed: recorded one by one", len(jobs))
            async with self.db.service(actor="webhooks.deliver") as conn:
                for job, outcome in zip(jobs, outcomes, strict=True):
                    await self._record_one(conn, job, outcome)
        return len(jobs)

    async def _record_one(self, conn: Conn, job: adapters.Job, outcome: adapters.Outcome) -> None:
        try:
            async with conn.transaction():
                await self._record(conn, job, outcome)
            return
        except Exception as exc:
            log.exception("webhook delivery %s: outcome could not be recorded in full", job.delivery["id"])
            problem = type(exc).__name__
        # Recorded plainly rather than not at all: an unrecorded delivery stays claimed and is sent
        # again when its lease runs out.
        note = f"response not stored ({problem})"
        plain = adapters.Outcome(
            ok=outcome.ok,
            status_code=outcome.status_code,
            elapsed_ms=outcome.elapsed_ms,
            error=f"{jsonsafe.storable(outcome.error)[:500]}; {note}" if outcome.error else note,
            gone=outcome.gone,
            permanent=outcome.permanent,
        )
        try:
            async with conn.transaction():
                await self._record(conn, job, plain)
        except Exception:
            log.exception("webhook delivery %s could not be recorded", job.delivery["id"])

    async def _claim(self, *, limit: int, delivery_id: UUID | None) -> list[adapters.Job]:
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.settings.webhook_claim_lease_seconds)
        jobs: list[adapters.Job] = []
        async with self.db.service(actor="webhooks.deliver") as conn:
            rows = await repo.claim_due(
                conn, now=now, lease_until=lease_until, limit=limit, delivery_id=delivery_id
            )
            if not rows:
                return []
            configs = await repo.configs_by_id(conn, [r["webhook_config_id"] for r in rows])
            sealer = service.ConnSealer(conn, self.vault)
            # Deliveries of a batch often share an endpoint: its secrets are opened once per batch.
            prepared: dict[UUID, adapters.Job] = {}
            for row in rows:
                config = configs.get(row["webhook_config_id"])
                if config is None or (not config["active"] and row["event_type"] != TEST_EVENT):
                    reason = "endpoint deleted" if config is None else config["disabled_reason"] or "inactive"
                    await repo.give_up_unsent(
                        conn, delivery_id=row["id"], reason=f"endpoint disabled ({reason})"
                    )
                    continue
                known = prepared.get(config["id"])
                if known is not None:
                    jobs.append(
                        adapters.Job(
                            delivery=row,
                            config=config,
                            secrets=list(known.secrets),
                            kit_api_key=known.kit_api_key,
                            error=known.error,
                        )
                    )
                    continue
                try:
                    # A savepoint: one config whose secrets cannot be read must not roll back the
                    # claim of the whole batch (which would then be claimed, and fail, forever).
                    async with conn.transaction():
                        job = await self._job(sealer, row, config, now)
                except Exception as exc:
                    log.exception("webhook delivery %s: cannot prepare the attempt", row["id"])
                    job = adapters.Job(delivery=row, config=config)
                    job.error = f"cannot prepare the attempt ({type(exc).__name__})"
                prepared[config["id"]] = job
                jobs.append(job)
        return jobs

    async def _job(
        self, sealer: service.ConnSealer, row: dict[str, Any], config: dict[str, Any], now: datetime
    ) -> adapters.Job:
        job = adapters.Job(delivery=row, config=config)
        client_id, config_id = config["client_id"], config["id"]
        try:
            if config["secret"] is not None:
                job.secrets.append(
                    await sealer.open(
                        client_id=client_id,
                        column="secret",
                        row_id=config_id,
                        ciphertext=bytes(config["secret"]),
                    )
                )
            expires = config["secret_previous_expires_at"]
            if config["secret_previous"] is not None and expires is not None and expires > now:
                job.secrets.append(
                    await sealer.open(
                        client_id=client_id,
                        column="secret_previous",
                        row_id=config_id,
                        ciphertext=bytes(config["secret_previous"]),
                    )
                )
            if config["esp_credentials"] is not None:
                creds = json.loads(
                    await sealer.open(
                        client_id=client_id,
                        column="esp_credentials",
                        row_id=config_id,
                        ciphertext=bytes(config["esp_credentials"]),
                    )
                )
                job.kit_api_key = creds.get("api_key")
        except RevosError as exc:
            job.error = f"cannot read the endpoint's secrets: {exc.message}"
        if config["esp_type"] != "convertkit" and not job.secrets and job.error is None:
            job.error = "the endpoint has no signing secret"
        return job

    async def _record(self, conn: Conn, job: adapters.Job, outcome: adapters.Outcome) -> None:
        delivery, config = job.delivery, job.config
        now = self.clock.now()
        settings = self.settings
        values: dict[str, Any] = {
            "status_code": outcome.status_code,
            "response_body": stored_body(outcome, settings.webhook_response_store_chars),
            "response_time_ms": outcome.elapsed_ms,
            "error_message": jsonsafe.storable(outcome.error) if outcome.error is not None else None,
        }
        is_test = delivery["event_type"] == TEST_EVENT
        retry = False
        if outcome.ok:
            values.update(status="success", next_retry_at=None, delivered_at=now)
        else:
            attempts = int(delivery["attempt_count"])
            retry = (
                bool(config["retry_enabled"])
                and not (outcome.gone or outcome.permanent or is_test)
                and attempts <= int(config["max_retries"])
            )
            next_at = None
            if retry:
                delay = retry_delay(
                    attempts, int(config["retry_delay_ms"]), outcome.retry_after_s, settings, self.rng
                )
                next_at = now + timedelta(seconds=delay)
            values.update(status="failed", next_retry_at=next_at)
            if not retry and not outcome.gone:
                values["error_message"] = f"{values['error_message']}; gave up after {attempts} attempt(s)"
        current = await repo.record_attempt(
            conn,
            delivery=delivery,
            attempted_at=delivery["last_attempt_at"] or now,
            values=values,
            # A success resets the endpoint's run of failures (with the delivery, in one statement).
            config_succeeded=outcome.ok and not is_test,
        )
        if not current or is_test:
            return
        if outcome.ok:
            if delivery["event_type"] == "lead.captured" and delivery["lead_id"] is not None:
                await handover.webhook_accepted(conn, delivery["lead_id"])
        elif outcome.gone:
            await repo.disable_config(
                conn,
                config_id=config["id"],
                reason=f"the endpoint answered HTTP 410 Gone at {now:%Y-%m-%d %H:%M:%S} UTC",
                at=now,
            )
        elif not retry:
            failures = await repo.config_gave_up(conn, config["id"])
            if failures >= settings.webhook_disable_after_failures:
                await repo.disable_config(
                    conn,
                    config_id=config["id"],
                    reason=f"{failures} deliveries in a row failed after all retries (last: {outcome.error})",
                    at=now,
                )


def stored_body(outcome: adapters.Outcome, max_chars: int) -> dict[str, Any] | list[Any] | None:
    """The response body for the JSONB log: the JSON itself when it is JSON and small, else {"text"}."""
    if outcome.body is None:
        return None
    text = jsonsafe.storable(outcome.body.decode("utf-8", errors="replace"))
    if not text:
        return None
    # "\u0000" inside JSON would decode to a NUL that jsonb refuses: such a body is kept as text.
    if not outcome.truncated and len(text) <= max_chars and "\\u0000" not in text:
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, (dict, list)):
            return value
    stored: dict[str, Any] = {"text": text[:max_chars]}
    if outcome.truncated or len(text) > max_chars:
        stored["truncated"] = True
    return stored


async def deliver_due(
    db: Database,
    *,
    clock: Clock,
    limit: int = 100,
    settings: Settings,
    vault: Vault,
    resolver: ssrf.Resolver | None = None,
    rng: random.Random | None = None,
) -> int:
    """Send up to `limit` due deliveries; returns how many were attempted. For a periodic task."""
    dispatcher = Dispatcher(db, clock=clock, settings=settings, vault=vault, resolver=resolver, rng=rng)
    return await dispatcher.run(limit=limit)


async def send_now(
    db: Database,
    delivery_id: UUID,
    *,
    clock: Clock,
    settings: Settings,
    vault: Vault,
    resolver: ssrf.Resolver | None = None,
) -> bool:
    """Attempt one due delivery right away (the "send test event" endpoint). False if it was not due
    or another dispatcher holds it."""
    dispatcher = Dispatcher(db, clock=clock, settings=settings, vault=vault, resolver=resolver)
    return await dispatcher.run(limit=1, delivery_id=delivery_id) > 0
