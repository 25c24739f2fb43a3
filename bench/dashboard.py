"""How fast the dashboard's pages render: the whole programme, then with 10,000 tenders.

    .venv/bin/python bench/dashboard.py            # 10,000 tenders
    .venv/bin/python bench/dashboard.py --quick    # 1,000 (a smoke run)

The store is the full programme (workflows/forum-2007-2008.yaml, 19 tracks) as loaded, on 2008-04-04;
then the same with N more tenders spread over its nine municipalities: every scoping step approved
on time, half the tenders published and the other half's materials late (due 2008-03-31), a
quarter with contract figures, ticked to the same day (overdue flags, timers). Each page is fetched through the whole ASGI stack (Starlette's test client: routing,
session check, the queries, Jinja2) as the secretariat, best and median of 5. The goal (issue 12):
the overview and the Gantt under 1 s at 10,000 tenders; the ratio to the programme alone shows how
each page's cost grows with the store.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from common import ROOT, source_version, verdict

from konkurrence_flow import http, tokens
from konkurrence_flow.calendar import local_date, parse_instant
from konkurrence_flow.clock import FixedClock
from konkurrence_flow.definitions import load_definition
from konkurrence_flow.model import NewTender
from konkurrence_flow.programme import load_programme
from konkurrence_flow.scheduler import tick
from konkurrence_flow.store import Store

NOW = parse_instant("2008-04-04")
GOAL_SECONDS = 1.0
PAGES = ("/", "/gantt", "/gantt?municipality=751", "/overdue", "/effects")
GOAL_PAGES = ("/", "/gantt")
BATCH = 500


def build(folder: Path, extra: int) -> Store:
    """The programme, and `extra` more tenders of its municipalities, ticked to NOW."""
    store = Store(f"sqlite:///{folder / f'dash-{extra}.db'}")
    store.init("kl-sek")
    for path in sorted((ROOT / "definitions").glob("*.yaml")):
        store.load_definition(load_definition(path), parse_instant("2007-04-01"))
    store.load_programme(load_programme(ROOT / "workflows" / "forum-2007-2008.yaml"),
                         parse_instant("2007-06-01"))  # fmt: skip
    leaders = [p for p in store.people() if p.role == "project_leader" and p.municipality]
    ids = [f"X{i:06d}" for i in range(extra)]
    for start in range(0, extra, BATCH):
        with store.batch(parse_instant("2007-07-02")) as unit:
            for n, tender_id in enumerate(ids[start : start + BATCH], start):
                leader = leaders[n % len(leaders)]
                spec = NewTender("individual-tender", f"Udbud {tender_id}", (leader.municipality,),
                                 id=tender_id, programme="forum-2007-2008", leader=leader.id,
                                 area=("sundhed", "beskæftigelse", "ældre")[n % 3],
                                 procedure="open", regime="annex-iib")  # fmt: skip
                unit.create(spec, leader)
    for start in range(0, extra, BATCH):  # scoping approved on time; half the materials late
        with store.batch(NOW) as unit:
            chunk = ids[start : start + BATCH]
            unit.preload(store.tenders_by_id(chunk).values())
            for n, tender_id in enumerate(chunk, start):
                leader = leaders[n % len(leaders)]
                unit.advance(tender_id, "approve_scope", leader, at=parse_instant("2007-09-20"))
                if n % 2:
                    unit.advance(tender_id, "publish", leader, at=parse_instant("2008-03-20"),
                                 facts={"tender_deadline": "2008-05-02"})  # fmt: skip
                if n % 4 == 1:  # a quarter with figures for the effects report
                    unit.set_facts(tender_id, {"contract_value": 900_000 + n,
                                               "baseline_cost": 1_000_000 + n}, leader)  # fmt: skip
    tick(store, NOW)
    return store


def client_of(store: Store) -> Any:
    """A client signed in as the secretariat (a session cookie, as a browser holds)."""
    with warnings.catch_warnings():  # Starlette's advice to move to httpx2: not ours to take
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    client = TestClient(http.create_app(store, FixedClock(NOW + timedelta(hours=9))))
    _person, session = tokens.sign_in(store, tokens.create(store, "kl-sek")[1])
    client.cookies.set("kflow_session", session)
    return client


def timed(call: Callable[[], object], repeats: int = 5) -> tuple[float, float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return min(seconds), statistics.median(seconds)


def measure(store: Store) -> dict[str, tuple[float, float, int]]:
    """Per page: best and median seconds, and the page's size in bytes."""
    client = client_of(store)
    found = {}
    for page in PAGES:
        answer = client.get(page)
        assert answer.status_code == 200, (page, answer.text[:500])
        found[page] = (*timed(lambda page=page: client.get(page)), len(answer.content))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 tenders (a smoke run)")
    extra = 1_000 if parser.parse_args().quick else 10_000
    print(f"konkurrence-flow dashboard benchmark at {source_version()}; clock {local_date(NOW)}")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        small, big = build(Path(folder), 0), build(Path(folder), extra)
        print(f"stores built in {time.perf_counter() - started:.1f} s: "
              f"{small.count_tenders()} and {big.count_tenders():,} tenders")  # fmt: skip
        base, grown = measure(small), measure(big)
        drawn = len(re.findall('class="lane', client_of(big).get("/gantt").text))
        print(f"gantt page 1: {drawn} rows drawn")
    print(f"\n{'page':<26}{'programme (best/median)':>26}{f'+{extra:,} tenders':>26}"
          f"{'ratio':>8}{'size':>10}  goal")  # fmt: skip
    ok = True
    for page in PAGES:
        b, g = base[page], grown[page]
        goal = ""
        if page in GOAL_PAGES:
            passed = g[1] < GOAL_SECONDS
            ok = ok and passed
            goal = f"< {GOAL_SECONDS:.0f} s {verdict(passed)}"
        print(f"{page:<26}{b[0] * 1000:>14.1f} / {b[1] * 1000:6.1f} ms{g[0] * 1000:>14.1f} / "
              f"{g[1] * 1000:6.1f} ms{g[1] / b[1]:>8.1f}{g[2] / 1024:>8.0f} KiB  {goal}")  # fmt: skip
    print(f"\noverview and Gantt under {GOAL_SECONDS:.0f} s with {extra:,} more tenders: "
          f"{verdict(ok)}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
