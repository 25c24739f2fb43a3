"""Clocks: the system clock, a fixed instant (`KFLOW_NOW`, `--now`), or an accelerated virtual time.

One `now` per command: the command asks its clock once and passes that instant on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from .calendar import TZ


class Clock(Protocol):
    """Anything that tells the time as an aware instant; `str()` says which time it tells."""

    @property
    def speed(self) -> float:
        """Seconds of its time per second of the machine's (0: it stands still)."""
        ...

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __str__(self) -> str:
        return "system time"


@dataclass(frozen=True)
class FixedClock:
    """Always the same instant: replaying the programme's past, or a test."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError(f"a clock needs an aware instant, not the naive {self.instant}")

    @property
    def speed(self) -> float:
        return 0.0

    def now(self) -> datetime:
        return self.instant

    def __str__(self) -> str:
        return f"fixed at {self.instant.astimezone(TZ).isoformat()}"


class AcceleratedClock:
    """Virtual time that starts at `start` and runs `speed` times faster than the machine's clock."""

    def __init__(self, start: datetime, speed: float) -> None:
        if start.tzinfo is None:
            raise ValueError(f"a clock needs an aware instant, not the naive {start}")
        if speed <= 0:
            raise ValueError(f"speed must be > 0: {speed}")
        self.start = start
        self.speed = speed
        self._origin = time.monotonic()

    def now(self) -> datetime:
        elapsed = time.monotonic() - self._origin
        return self.start + timedelta(seconds=elapsed * self.speed)

    def __str__(self) -> str:
        return f"virtual from {self.start.astimezone(TZ).isoformat()}"
