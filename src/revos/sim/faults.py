"""Injected failures, matched per route pattern, per account, with a probability or for the next N calls.

Kinds:
- ``latency``: wait `latency` wall seconds, then serve normally (other kinds also honour `latency`).
- ``rate_limit``: 429 errors/too_many_requests; nothing happens.
- ``error``: `status` 500 (errors/provider_error) or 503 (errors/service_unavailable); nothing happens.
- ``timeout``: 504 errors/request_timeout, or with ``hang=True`` the connection is held open.
  ``after=False`` (default): before the action, nothing happens. ``after=True``: the action takes effect
  (message/invitation/comment recorded) and only then does the client see the timeout — the case that
  produces duplicate DMs when a client retries blindly.
- ``disconnect``: the account's source turns CREDENTIALS (with its account_status webhook); the call then
  fails with 401 errors/disconnected_account like every later one until a reconnect.
- ``restrict``: the account is restricted; this and later calls get 403 errors/account_restricted.

Latency and hangs are wall time on purpose: they exist to exercise the HTTP client's timeouts.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from revos.sim.errors import SimError, too_many_requests

FaultKind = Literal["latency", "rate_limit", "error", "timeout", "disconnect", "restrict"]
_ERROR_TYPES = {
    500: "provider_error",
    503: "service_unavailable",
    502: "provider_error",
    504: "request_timeout",
}


@dataclass
class FaultRule:
    kind: FaultKind
    route: str | None = None  # fnmatch on "METHOD /path" or "/path" (path after /api/v1), e.g. "POST /chats*"
    account_id: str | None = None  # None: any account (and calls that name none)
    probability: float = 1.0
    times: int | None = None  # only the next N matching calls; None: until removed
    latency: float = 0.0
    status: int = 500
    error_type: str | None = None
    after: bool = False
    hang: bool = False
    hang_seconds: float = 30.0
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if self.after and self.kind != "timeout":
            raise ValueError("after=True only makes sense for kind='timeout'")

    def matches_request(self, method: str, path: str, account_id: str | None) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.account_id is not None and self.account_id != account_id:
            return False
        if self.route is None:
            return True
        target = f"{method} {path}" if " " in self.route else path
        return fnmatch.fnmatchcase(target, self.route)

    def error(self) -> SimError:
        if self.kind == "rate_limit":
            return too_many_requests()
        if self.kind == "timeout":
            return SimError(504, "request_timeout", "The request timed out.")
        kind = self.error_type or _ERROR_TYPES.get(self.status, "unexpected_error")
        return SimError(self.status, kind, "The provider returned an error.")


class FaultSet:
    def __init__(self, seed: int) -> None:
        self.rules: list[FaultRule] = []
        self._rng = random.Random(f"faults:{seed}")
        self._lock = threading.Lock()
        self.stopping = False  # set on server shutdown so hung requests let go
        self.on_disconnect: Callable[[str], None] = lambda account_id: None
        self.on_restrict: Callable[[str], None] = lambda account_id: None

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        with self._lock:
            self.rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def _take(self, method: str, path: str, account_id: str | None, after: bool) -> list[FaultRule]:
        """Rules that fire for this call; a fired rule counts a hit (which is what `times` limits)."""
        fired = []
        with self._lock:
            for rule in self.rules:
                if rule.after != after or not rule.matches_request(method, path, account_id):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.hits += 1
                fired.append(rule)
        return fired

    async def before(self, method: str, path: str, account_id: str | None) -> SimError | None:
        for rule in self._take(method, path, account_id, after=False):
            if rule.latency > 0:
                await asyncio.sleep(rule.latency)
            if rule.kind == "latency":
                continue
            if rule.kind == "disconnect":
                if account_id:
                    self.on_disconnect(account_id)
                continue
            if rule.kind == "restrict":
                if account_id:
                    self.on_restrict(account_id)
                continue
            if rule.kind == "timeout" and rule.hang:
                await self.hang(rule.hang_seconds)
            return rule.error()
        return None

    async def after(self, method: str, path: str, account_id: str | None) -> SimError | None:
        for rule in self._take(method, path, account_id, after=True):
            if rule.latency > 0:
                await asyncio.sleep(rule.latency)
            if rule.hang:
                await self.hang(rule.hang_seconds)
            return rule.error()
        return None

    def has_after_rules(self) -> bool:
        return any(rule.after for rule in self.rules)

    async def hang(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        # Polled rather than an asyncio.Event: the flag is set from whichever thread stops the server.
        while not self.stopping and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
