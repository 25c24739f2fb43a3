"""The daemon: as a real process stopped by signals mid-run, restarted, nothing lost or doubled;
what it says as it starts, runs and stops; where it stops; a tender that fails every tick."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, MutableMapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs
from support import ROOT, at, empty_postgres, pilot_store, wait_for

from konkurrence_flow import scheduler
from konkurrence_flow.calendar import local_date
from konkurrence_flow.clock import AcceleratedClock
from konkurrence_flow.log import configure
from konkurrence_flow.scheduler import TickReport, run, tick
from konkurrence_flow.store import Store


def _prepared(db: Path) -> str:
    url = f"sqlite:///{db}"
    store = pilot_store(url)
    anna, ole = store.person("anna"), store.person("ole")
    for tender, leader, day in (
        ("AAR-SUND-01", anna, "2008-01-10"),
        ("ODE-BESK-01", ole, "2008-01-29"),
    ):
        store.advance(tender, "approve_scope", leader, at("2007-09-20"))
        store.advance(tender, "publish", leader, at(day))
    store.engine.dispose()
    return url


def _daemon(url: str, speed: str) -> subprocess.Popen[str]:
    env = {**os.environ, "KFLOW_DB": url, "KFLOW_NOW": "2007-06-01"}
    cmd = [sys.executable, str(ROOT / "cli.py"), "scheduler", "run", "--interval", "0.05",
           "--speed", speed, "--until", "2008-10-01"]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _timer_events(url: str) -> int:
    store = Store(url)
    count = sum(e.kind == "timer" for t in store.tenders() for e in store.history(t.id))
    store.engine.dispose()
    return count


def _facts(url: str) -> tuple[list[tuple[object, ...]], list[str]]:
    """The history, and the outbox's keys but the reminders'.

    A late tick skips a reminder whose due date has passed, where a punctual daemon sends it; so
    reminders are not compared with one tick's, but each must have been queued in time (and the
    outbox holds a key once by construction).
    """
    store = Store(url)
    events = [
        (e.tender, e.seq, e.kind, e.trigger, e.source, e.dest, e.occurred_at, str(dict(e.data)))
        for t in store.tenders()
        for e in store.history(t.id)
    ]
    outbox = store.notifications()
    store.engine.dispose()
    reminders = [n for n in outbox if n.kind == "reminder"]
    assert all(local_date(n.created_at) <= date.fromisoformat(n.data["due"]) for n in reminders)
    return events, sorted(n.dedupe_key for n in outbox if n.kind != "reminder")


def test_killed_and_restarted_daemons_do_what_one_tick_does(tmp_path: Path) -> None:
    """SIGTERM, then SIGKILL mid-run, then a run to the end: same events and outbox as one tick."""
    url = _prepared(tmp_path / "daemon.db")
    shutil.copy(tmp_path / "daemon.db", tmp_path / "reference.db")
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    tick(Store(reference), at("2008-10-01"))

    first = _daemon(url, "4000000")  # ~46 days a second: the timeline takes ~10 s
    wait_for(lambda: _timer_events(url) >= 1)  # the daemon is running and has fired a timer
    first.send_signal(signal.SIGTERM)
    _out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert "scheduler stopping" in err and "signal='SIGTERM'" in err and "scheduler stopped" in err
    assert "Traceback" not in err

    second = _daemon(url, "4000000")
    wait_for(lambda: _timer_events(url) >= 2)
    second.kill()
    second.wait(timeout=30)

    third = _daemon(url, "40000000")
    _out, err = third.communicate(timeout=120)
    assert third.returncode == 0, err

    events, keys = _facts(url)
    expected_events, expected_keys = _facts(reference)
    assert keys == expected_keys and len(keys) == len(set(keys)) and keys
    assert sorted(map(str, events)) == sorted(map(str, expected_events))


def test_two_daemons_at_once_fire_nothing_twice(tmp_path: Path) -> None:
    """Two schedulers on one store race for the same tenders; every timer fires once."""
    url = _prepared(tmp_path / "two.db")
    shutil.copy(tmp_path / "two.db", tmp_path / "reference.db")
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    tick(Store(reference), at("2008-10-01"))
    daemons = [_daemon(url, "20000000"), _daemon(url, "20000000")]
    for daemon in daemons:
        _out, err = daemon.communicate(timeout=120)
        assert daemon.returncode == 0, err
    events, keys = _facts(url)
    expected_events, expected_keys = _facts(reference)
    assert keys == expected_keys
    assert sorted(map(str, events)) == sorted(map(str, expected_events))


def test_a_daemon_stops_when_a_newer_kflow_upgrades_its_store(tmp_path: Path) -> None:
    """A store moved to a schema this code does not know stops the daemon with one sentence."""
    from sqlalchemy import text

    url = _prepared(tmp_path / "future.db")
    daemon = _daemon(url, "432000")  # five virtual days a second: about 100 s to its end
    store = Store(url)
    wait_for(lambda: daemon.poll() is None and _ticked(store))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE kflow_version SET version_num = 'r99'"))
    _out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 1
    assert "is at schema r99, newer than this kflow knows" in err.splitlines()[-1]
    assert "Traceback" not in err


def _ticked(store: Store) -> bool:
    """The daemon's first tick has caught the pilot up (its tenders have overdue flags)."""
    return any(t.overdue_flagged_at for t in store.tenders())


def test_the_daemon_says_where_it_starts_how_far_it_got_and_stops_at_until(tmp_path: Path) -> None:
    """One start line (store, clock, speed, until), a line per virtual day, the last one at --until."""
    url = _prepared(tmp_path / "said.db")
    daemon = _daemon(url, "40000000")  # ~23 virtual days a tick
    _out, err = daemon.communicate(timeout=120)
    assert daemon.returncode == 0, err
    (started,) = [line for line in err.splitlines() if "event='scheduler started'" in line]
    assert (f"store='{url}' clock='virtual from 2007-06-01T00:00:00+02:00' speed=40000000.0 "
            "until='2008-10-01T00:00:00+02:00' interval=0.05") in started  # fmt: skip
    days = re.findall(r"event='scheduler progress' day='([\d-]+)' ticks=(\d+)", err)
    assert [d for d, _ in days] == sorted({d for d, _ in days}) and days[-1][0] == "2008-10-01"
    (stopped,) = [line for line in err.splitlines() if "event='scheduler stopped'" in line]
    assert stopped.endswith(f"ticks={sum(int(n) for _, n in days)} at='2008-10-01T00:00:00+02:00'")


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every log entry at info and above, as `scheduler run` logs them; the set-up reset after."""
    configure(verbose=True)
    with capture_logs() as captured:
        yield captured
    structlog.reset_defaults()


def _run(store: Store, start: str, until: str) -> list[TickReport]:
    """The daemon in this process at about a virtual day a tick; the reports of its ticks."""
    reports: list[TickReport] = []
    clock = AcceleratedClock(at(start), 86400 / 0.02)
    assert run(store, clock, 0.02, at(until), on_tick=reports.append) == len(reports)
    return reports


def test_the_last_tick_is_at_until_and_run_returns_after_it(logs: list[Any]) -> None:
    """No tick after --until; the last one at it, done before run returns and the stop line."""
    reports = _run(pilot_store(), "2007-09-25", "2007-10-03")
    assert reports[-1].at == at("2007-10-03") and all(r.at <= at("2007-10-03") for r in reports)
    stopped = [e for e in logs if e["event"] == "scheduler stopped"]
    assert stopped == [{"event": "scheduler stopped", "log_level": "warning",
                        "ticks": len(reports), "at": "2007-10-03T00:00:00+02:00"}]  # fmt: skip
    assert logs[-1]["event"] == "scheduler stopped"
    progress = [e for e in logs if e["event"] == "scheduler progress"]
    assert sum(e["ticks"] for e in progress) == len(reports)
    assert sum(e["flagged_overdue"] for e in progress) == 4  # the pilot's scoping steps, 1 October


def test_the_start_line_never_shows_the_stores_password(postgres_url: str, logs: list[Any]) -> None:
    """A PostgreSQL URL with a password is logged with *** in its place."""
    empty_postgres(postgres_url)
    pilot_store(postgres_url).engine.dispose()
    secret = postgres_url.replace("kflow@", "kflow:pa55-w0rd@")
    store = Store(secret)  # the throwaway cluster trusts every local login
    _run(store, "2007-06-01", "2007-06-02")
    store.engine.dispose()
    (started,) = [e for e in logs if e["event"] == "scheduler started"]
    assert started["store"] == postgres_url.replace("kflow@", "kflow:***@")
    assert "pa55-w0rd" not in repr(logs)


def test_a_tender_that_fails_every_tick_does_not_stop_the_daemon(
    monkeypatch: pytest.MonkeyPatch, logs: list[Any]
) -> None:
    """Each tick reports AAR-SUND-01 as failed and catches the others up; the daemon runs on."""
    real = scheduler.catch_up

    def catch_up(unit: Any, tender_id: str, until: datetime, found: list[Any]) -> None:
        if tender_id == "AAR-SUND-01":
            raise RuntimeError("the disk said no")
        real(unit, tender_id, until, found)

    monkeypatch.setattr(scheduler, "catch_up", catch_up)
    reports = _run(pilot_store(), "2007-09-25", "2007-10-03")
    assert reports[-1].at == at("2007-10-03")
    assert all([(f.tender, f.reason) for f in r.failed] == [
        ("AAR-SUND-01", "RuntimeError: the disk said no")] for r in reports)  # fmt: skip
    flagged = {h.tender for r in reports for h in r.of("overdue")}
    assert flagged == {"AAR-BESK-01", "FRB-SUND-01", "ODE-BESK-01"}
    progress = [e for e in logs if e["event"] == "scheduler progress"]
    assert sum(e["failed"] for e in progress) == len(reports)
