"""Clocks: the system clock, a fixed instant (`KFLOW_NOW`, `--now`), or an accelerated virtual time.

One `now` per command: the command asks its clock once and passes that instant on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the time as an aware instant."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """Always the same instant: replaying the programme's past, or a test."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError(f"a clock needs an aware instant, not the naive {self.instant}")

    def now(self) -> datetime:
        return self.instant


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
