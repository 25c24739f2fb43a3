"""The HTTP layer's parts that need no server (the service itself: test_service.py)."""

from __future__ import annotations

import pytest

from konkurrence_flow import http
from konkurrence_flow.http import FAILURE_WINDOW, FAILURES_ALLOWED


class Clock:
    """`time.monotonic` for the failure counter, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(http.time, "monotonic", clock)
    return clock


def test_an_address_is_blocked_after_ten_failures_within_the_window(clock: Clock) -> None:
    """10 failures within a minute block the address (not another); once the first of them is a
    minute old, it may try again (a sliding window)."""
    failures = http._Failures()
    for n in range(FAILURES_ALLOWED):
        assert not failures.blocked("10.0.0.1")
        clock.now = 1000.0 + n
        failures.add("10.0.0.1")
    assert failures.blocked("10.0.0.1") and not failures.blocked("10.0.0.2")
    clock.now = 1000.0 + FAILURE_WINDOW - 0.5
    assert failures.blocked("10.0.0.1")
    clock.now = 1000.0 + FAILURE_WINDOW + 0.5
    assert not failures.blocked("10.0.0.1")


def test_addresses_without_recent_failures_are_forgotten(clock: Clock) -> None:
    """What is kept is bounded by the failures of the last minute: an address that only asks, or
    whose failures are older, leaves nothing behind; one failing often keeps at most 10."""
    failures = http._Failures()
    for n in range(1000):
        failures.blocked(f"10.0.{n // 256}.{n % 256}")  # a good request asks too
        failures.add(f"10.1.{n // 256}.{n % 256}")
    for _ in range(100):
        failures.add("10.2.0.1")
    assert len(failures.seen) == 1001 and len(failures.seen["10.2.0.1"]) == FAILURES_ALLOWED
    clock.now += FAILURE_WINDOW + 1
    failures.add("10.3.0.1")
    assert list(failures.seen) == ["10.3.0.1"]
