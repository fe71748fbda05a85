"""The one clock every part of revOS reads time from.

Delays and windows are expressed in real units (hours, days); a scaled clock lets a multi-day
campaign run in seconds in tests and in the demo without any code knowing about it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for `seconds` of clock time."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Clock time runs `factor` times faster than wall time, starting at `start` (default: now)."""

    def __init__(self, factor: float, start: datetime | None = None) -> None:
        if factor <= 0:
            raise ValueError("factor must be positive")
        self.factor = factor
        self._origin_wall = time.monotonic()
        self._origin = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=(time.monotonic() - self._origin_wall) * self.factor)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.factor)


class ManualClock:
    """A clock that only moves when told to: for tests that step through schedules."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        self._now += timedelta(seconds=seconds, **delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)


_default: Clock = SystemClock()


def get_clock() -> Clock:
    return _default


def set_clock(clock: Clock) -> Clock:
    """Install `clock` process-wide; returns the previous one so tests can restore it."""
    global _default
    previous, _default = _default, clock
    return previous


def utcnow() -> datetime:
    return _default.now()
