"""Webhook registrations and deliveries (spec §9): POST to `request_url` with the custom headers, no JSON
Content-Type unless the registration adds one, retried up to 5 times with growing delays of simulated time.

Deliveries never run inside the API request: each attempt is its own asyncio task. Every attempt is
recorded so a test can assert what was delivered, when and how many times.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from revos.clock import Clock
from revos.sim.scheduler import Scheduler

SOURCES = ("messaging", "account_status", "users", "email", "email_tracking")
DEFAULT_EVENTS = {"messaging": ["message_received"], "users": ["new_relation"]}
# Delays (simulated seconds) before retries 1..5; Unipile documents "5 retries, increasing delay".
RETRY_DELAYS: tuple[float, ...] = (10.0, 30.0, 90.0, 270.0, 810.0)


@dataclass
class Webhook:
    id: str
    source: str
    request_url: str
    name: str
    headers: list[dict[str, str]]
    events: list[str]
    account_ids: list[str]
    enabled: bool = True
    format: str = "json"
    data: list[dict[str, str]] = field(default_factory=list)

    def wants(self, event: str, account_id: str) -> bool:
        if not self.enabled or (self.account_ids and account_id not in self.account_ids):
            return False
        # Event names for account_status are undocumented (spec §9.1): deliver every status change.
        return self.source == "account_status" or event in self.events


@dataclass
class Attempt:
    number: int
    at: datetime  # simulated time the attempt started
    status_code: int | None
    error: str | None = None


@dataclass
class Delivery:
    webhook_id: str
    source: str
    event: str
    account_id: str
    url: str
    headers: dict[str, str]
    payload: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)
    delivered: bool = False
    gave_up: bool = False


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default verifying context, built once: building it (the CA bundle) costs ~20 ms of CPU, which
    every delivery paid when each attempt's client built its own."""
    return httpx.create_ssl_context()


class WebhookDispatcher:
    def __init__(
        self,
        clock: Clock,
        scheduler: Scheduler,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        timeout: float = 30.0,
    ) -> None:
        self.clock = clock
        self.scheduler = scheduler
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.webhooks: dict[str, Webhook] = {}
        self.deliveries: list[Delivery] = []
        # The loop of the server (set by serve()); used when an event fires from a thread without one.
        self.loop: asyncio.AbstractEventLoop | None = None
        self._inflight = 0
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Future[None]] = set()

    def publish(
        self, source: str, event: str, account_id: str, build: Callable[[Webhook], dict[str, Any]]
    ) -> list[Delivery]:
        out = []
        for hook in list(self.webhooks.values()):
            if hook.source != source or not hook.wants(event, account_id):
                continue
            payload = build(hook)
            for rename in hook.data:
                if rename.get("key") in payload and rename.get("name"):
                    payload[rename["name"]] = payload.pop(rename["key"])
            headers = {h["key"]: h["value"] for h in hook.headers}
            delivery = Delivery(hook.id, source, event, account_id, hook.request_url, headers, payload)
            self.deliveries.append(delivery)
            self._spawn(lambda d=delivery: self._attempt(d))  # type: ignore[misc]
            out.append(delivery)
        return out

    def _spawn(self, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        with self._lock:
            self._inflight += 1
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            task = loop.create_task(make())
        elif self.loop is not None and self.loop.is_running():
            task = asyncio.run_coroutine_threadsafe(make(), self.loop)  # type: ignore[assignment]
        else:
            # No loop anywhere yet: the next run_due() (ticker or test) starts it.
            with self._lock:
                self._inflight -= 1
            self.scheduler.after(0, lambda: self._spawn(make))
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            number = len(delivery.attempts) + 1
            attempt = Attempt(number, self.clock.now(), None)
            delivery.attempts.append(attempt)
            body, headers = self._encode(delivery)
            try:
                async with httpx.AsyncClient(timeout=self.timeout, trust_env=False, verify=_tls()) as client:
                    response = await client.post(delivery.url, content=body, headers=headers)
                attempt.status_code = response.status_code
                delivery.delivered = 200 <= response.status_code < 300
            except httpx.HTTPError as exc:
                attempt.error = f"{type(exc).__name__}: {exc}"
            if not delivery.delivered:
                if number <= len(self.retry_delays):
                    delay = self.retry_delays[number - 1]
                    self.scheduler.after(delay, lambda: self._spawn(lambda: self._attempt(delivery)))
                else:
                    delivery.gave_up = True
        finally:
            with self._lock:
                self._inflight -= 1

    def _encode(self, delivery: Delivery) -> tuple[bytes, dict[str, str]]:
        hook = self.webhooks.get(delivery.webhook_id)
        if hook is not None and hook.format == "form":
            flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in delivery.payload.items()}
            headers = {"Content-Type": "application/x-www-form-urlencoded", **delivery.headers}
            return urlencode(flat).encode(), headers
        return json.dumps(delivery.payload).encode(), dict(delivery.headers)

    @property
    def inflight(self) -> int:
        return self._inflight

    async def wait_idle(self, wait: float = 5.0) -> bool:
        """Wait up to `wait` wall seconds until no attempt is running; retries not yet due don't count."""
        deadline = time.monotonic() + wait
        while self._inflight > 0:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True
