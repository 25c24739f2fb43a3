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


def test_a_nan_fact_of_an_old_store_is_sent_as_null_and_a_failure_as_an_error(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A v0.1.0 store may hold a NaN fact: the API sends null (as `--json` prints it), never a
    500. A request that fails unexpectedly answers 500 with {"error"}, like every refusal."""
    import json

    from fastapi.testclient import TestClient
    from sqlalchemy import update
    from support import ANNA, DEFINITIONS, at

    from konkurrence_flow import tokens
    from konkurrence_flow.app import App
    from konkurrence_flow.clock import FixedClock
    from konkurrence_flow.definitions import load_definition
    from konkurrence_flow.rows import T_TENDER
    from konkurrence_flow.store import NewTender, Store

    store = Store(f"sqlite:///{tmp_path}/k.db")  # type: ignore[operator]
    store.init("kl-sek")
    store.add_person(ANNA)
    store.load_definition(load_definition(DEFINITIONS / "individual-tender.yaml"), at("2007-04-01"))
    store.create_tender(NewTender("individual-tender", "T", ("751",), id="AAR-01"), ANNA,
                        at("2007-07-01"))  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(update(T_TENDER).values(facts={"bidders": float("nan")}))
    _, token = tokens.create(store, "anna")
    client = TestClient(http.create_app(store, FixedClock(at("2007-07-02"))),
                        raise_server_exceptions=False)  # fmt: skip
    auth = {"Authorization": f"Bearer {token}"}
    shown = client.get("/api/v1/tenders/AAR-01", headers=auth)
    assert shown.status_code == 200 and json.loads(shown.text)["facts"] == {"bidders": None}

    def broken(self: App) -> dict[str, object]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(App, "effects", broken)
    failed = client.get("/api/v1/effects", headers=auth)
    assert failed.status_code == 500
    assert failed.json() == {"error": "the service failed on this request; its log says more"}
