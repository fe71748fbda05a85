"""The fault run's clock: the demo's, started at a fixed hour and held back at will."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from revos.demo.world import DemoClock


@dataclass(frozen=True)
class Hold:
    """From `at` on, the clock runs at `speed` (clock seconds per wall second; 0: it stands still), never
    past `until` (default: `at`)."""

    at: datetime
    speed: float = 0.0
    until: datetime | None = None

    @property
    def limit(self) -> datetime:
        return self.until or self.at

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "speed": self.speed, "until": self.limit.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hold:
        return cls(
            datetime.fromisoformat(data["at"]), float(data["speed"]), datetime.fromisoformat(data["until"])
        )


class FaultClock(DemoClock):
    """The demo's clock, starting at 07:00 UTC tomorrow: the run's days (and so where the daily caps
    bite) fall the same way whatever the hour it runs at.

    It can be held back (`hold`): from an instant on it runs slower, or stands still, and never passes a
    limit, until `release()`; then it runs on at full speed from where it stands, without a jump. While
    it runs slower, `factor` is that speed, so wall delays computed from it (the queue's schedules) hold."""

    def __init__(self, speed: float, *, start: datetime | None = None) -> None:
        super().__init__(speed)
        tomorrow = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0) + timedelta(days=1)
        self._origin = start or tomorrow
        self.held: Hold | None = None

    @property
    def factor(self) -> float:
        held, wall = self.held, time.monotonic()
        if (
            held is not None
            and held.speed > 0
            and self._unheld(wall) > held.at
            and self._at(wall) < held.limit
        ):
            return held.speed
        return self._factor

    @factor.setter
    def factor(self, value: float) -> None:
        self._factor = value

    @property
    def held_at(self) -> datetime | None:
        return self.held.at if self.held is not None else None

    def _unheld(self, wall: float) -> datetime:
        return self._origin + timedelta(seconds=(wall - self._origin_wall) * self._factor)

    def _at(self, wall: float) -> datetime:
        """The clock's reading at monotonic instant `wall`."""
        unheld, held = self._unheld(wall), self.held
        if held is None or unheld <= held.at:
            return unheld
        since = (unheld - held.at).total_seconds() / self._factor  # wall seconds since it reached `at`
        return min(held.at + timedelta(seconds=since * held.speed), held.limit)

    def now(self) -> datetime:
        return self._at(time.monotonic())

    def hold(self, held: Hold) -> None:
        self.held = held

    def release(self, wall: float | None = None) -> None:
        """Run on at full speed from the reading at `wall` (`time.time()`, default now): the worker
        process's copy hears of the run's release a little later, and catches up."""
        behind = 0.0 if wall is None else max(0.0, time.time() - wall)
        at = time.monotonic() - behind
        self._origin, self._origin_wall = self._at(at), at
        self.held = None
