"""Work due at a point of simulated time: persona actions and webhook retries.

Nothing sleeps on the clock: a `ManualClock` test advances time and calls `run_due()`; under `serve()` a
ticker calls `run_due()` every few wall milliseconds, so a `ScaledClock` drives everything by itself.
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from revos.clock import Clock

Action = Callable[[], Awaitable[None] | None]
log = logging.getLogger("revos.sim")


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[tuple[datetime, int, Action]] = []
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self.errors: list[BaseException] = []  # failed actions, kept so tests can assert there were none

    def at(self, when: datetime, action: Action) -> None:
        with self._lock:
            heapq.heappush(self._heap, (when, next(self._counter), action))

    def after(self, seconds: float, action: Action) -> None:
        self.at(self.clock.now() + timedelta(seconds=max(0.0, seconds)), action)

    def pending(self) -> int:
        return len(self._heap)

    def next_due(self) -> datetime | None:
        with self._lock:
            return self._heap[0][0] if self._heap else None

    def _pop_due(self) -> Action | None:
        with self._lock:
            if self._heap and self._heap[0][0] <= self.clock.now():
                return heapq.heappop(self._heap)[2]
            return None

    async def run_due(self) -> int:
        """Run every action due now, including ones that become due while running; returns how many."""
        ran = 0
        while (action := self._pop_due()) is not None:
            try:
                result = action()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # one broken action must not stop simulated time
                log.exception("scheduled action failed")
                self.errors.append(exc)
            ran += 1
        return ran
