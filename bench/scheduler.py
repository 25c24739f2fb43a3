"""Benchmark: the scheduler's tick against the store's size; a forecast against a catch-up tick.

Run it from the repository root:

    .venv/bin/python bench/scheduler.py            # full run: 1,000 vs 100,000 tenders
    .venv/bin/python bench/scheduler.py --quick    # smoke run: 1,000 vs 10,000, fewer repeats
    .venv/bin/python bench/scheduler.py --profile  # and a cProfile of the big tick and the forecast

This is not a timed test. It prints figures and compares them with baselines measured in the same
run, on the same machine, so that the verdicts are ratios rather than absolute times. Every figure
is the best of several repeats (a shared machine only ever makes a run slower).

What is measured:

1. `tick(store, now)` on a SQLite file store holding 1,000 tenders, and on one holding 100,000,
   with the very same 100 tenders due in both (`next_check_at <= now`): 50 owe a timed
   `close_bidding` and what the award step owes after it by then (its reminder and overdue flag),
   50 only the timer. Every other tender waits in scoping for a due date years away. The small store is built through the package's API; the big
   one is the small one plus copies of its waiting tenders, made with INSERT ... SELECT into the
   package's own tables (tender, tender_municipality, step, event). Each repeat ticks a fresh copy
   of the prepared file, on a warm `Store` (definition parsed, people and milestones read, as the
   daemon's store is after its first tick); only the `tick` call is timed. The issue's goal: the
   cost follows the work due, not the store size, so tick(100,000) / tick(1,000) < 2.
2. `forecast(store, until=2008-10-01)` over the 2007-2008 timeline for all 98 municipalities x 10
   individual tenders (a programme built in memory, one project leader per municipality; six in ten
   tenders approved in the autumn of 2007, half published on different days in early 2008, one in
   ten cancelled), and the real catch-up `tick` at 2008-10-01 on a fresh copy of the same store.
   They run the same code, so they must report the same happenings, one for one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from common import print_profile, source_version, verdict
from sqlalchemy import insert, literal, select

from konkurrence_flow.calendar import parse_instant, start_of_day
from konkurrence_flow.definitions import Definition, load_definition
from konkurrence_flow.municipalities import Municipality, all_municipalities
from konkurrence_flow.programme import parse_programme
from konkurrence_flow.rows import T_EVENT, T_STEP, T_TENDER, T_TM
from konkurrence_flow.scheduler import Happening, forecast, tick
from konkurrence_flow.store import NewTender, Store
from konkurrence_flow.unit import Unit

ROOT = Path(__file__).resolve().parent.parent
DEFINITION = ROOT / "definitions" / "individual-tender.yaml"
KIND = "individual-tender"
REGIME = "eu-2004-18"  # Directive 2004/18/EC: open procedure, 52-day tender period (Art. 38(2))

GOAL_TICK_RATIO = 2.0  # the issue: tick(100,000 tenders) / tick(1,000) < 2, the same 100 due


def at(text: str) -> datetime:
    """An instant from an ISO date or datetime (a bare date is 00:00 Copenhagen time)."""
    return parse_instant(text)


@dataclass(frozen=True)
class Settings:
    """How big and how often: tenders in the big store, repeats of every timing."""

    big: int
    repeats: int
    profile: bool


# 1. Tick cost against the store's size

SMALL = 1_000  # tenders in the small store, built through the API
DUE = 100  # of them due at TICK_AT, in both stores
CREATED = at("2007-06-01")
APPROVED = at("2007-09-03")
PUBLISHED = (at("2008-01-07"), at("2008-04-01"))  # the award late by TICK_AT / only the timer
TICK_AT = at("2008-06-16")
NEVER = at("2000-01-01")  # before anything: a query that finds no tender due

FAR_HEAD = """\
name: bench-far
title: Benchmark - deadlines years away
start: 2007-04-01
end: 2019-12-31
regime: eu-2004-18
municipalities:
  - {code: "751", name: Aarhus}
people:
  - {id: kl-sek, name: Sekretariatet, email: sekretariat@kl.dk, role: secretariat}
  - {id: anna, name: Anna Jensen, email: anna@aarhus.dk, role: project_leader, municipality: "751"}
"""


def far_programme(definition: Definition) -> str:
    """Every milestone the definition uses, years away (the first in 2012, then one a year)."""
    days = {name: date(2012 + n, 9, 30) for n, name in enumerate(milestones_used(definition))}
    return FAR_HEAD + milestones_yaml(days)


def milestones_used(definition: Definition) -> list[str]:
    """The milestones the definition's due dates name, in state order."""
    names = (s.due.milestone for s in definition.states.values() if s.due and s.due.milestone)
    return list(dict.fromkeys(names))


def milestones_yaml(days: Mapping[str, date]) -> str:
    return "milestones:\n" + "".join(f"  {name}: {day}\n" for name, day in days.items())


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def new_store(path: Path, definition: Definition, programme: str, now: datetime) -> Store:
    """An initialised store with the definition and a programme (its people and milestones)."""
    store = Store(sqlite_url(path))
    store.init("kl-sek")
    store.load_definition(definition, now)
    store.load_programme(parse_programme(programme, f"{path.stem}.yaml"), now)
    return store


def build_small(path: Path, definition: Definition) -> list[str]:
    """SMALL tenders of Aarhus in scoping, every tenth of them published; returns those due."""
    store = new_store(path, definition, far_programme(definition), CREATED)
    anna = store.person("anna")
    ids = [f"BEN-{i:05d}" for i in range(SMALL)]
    with store.batch(CREATED) as unit:
        for tender_id in ids:
            spec = NewTender(KIND, f"Udbud {tender_id}", ("751",), id=tender_id,
                             programme="bench-far", procedure="open", regime=REGIME)  # fmt: skip
            unit.create(spec, anna)
    due = ids[:: SMALL // DUE]
    with store.batch(PUBLISHED[-1]) as unit:
        for n, tender_id in enumerate(due):
            unit.advance(tender_id, "approve_scope", anna, at=APPROVED)
            unit.advance(tender_id, "publish", anna, at=PUBLISHED[n % len(PUBLISHED)])
    seal(store)
    return due


def grow(small: Path, big: Path, total: int) -> None:
    """Copy the small store to `big` and add copies of its waiting tenders until it holds `total`."""
    shutil.copyfile(small, big)
    store = Store(sqlite_url(big))
    waiting = select(T_TENDER.c.id).where(
        T_TENDER.c.id.like("BEN-%"), T_TENDER.c.state == "scoping"
    )
    count = SMALL - DUE
    if (total - SMALL) % count:
        raise ValueError(f"the big store must be {SMALL:,} + a multiple of {count}: {total:,}")
    with store.engine.begin() as conn:
        for copy in range((total - SMALL) // count):
            for table, key in ((T_TENDER, "id"), (T_TM, "tender_id"), (T_STEP, "tender_id"),
                               (T_EVENT, "tender_id")):  # fmt: skip
                conn.execute(copy_rows(table, key, f"C{copy:03d}-", waiting))
    if store.count_tenders() != total:
        raise RuntimeError(f"the big store holds {store.count_tenders():,} tenders, not {total:,}")
    seal(store)


def copy_rows(table: Any, key: str, prefix: str, ids: Any) -> Any:
    """INSERT ... SELECT: the rows of the tenders `ids` selects, under ids with `prefix`."""
    columns = [literal(prefix).concat(c) if c.name == key else c for c in table.c]
    rows = select(*columns).where(table.c[key].in_(ids))
    return insert(table).from_select([c.name for c in table.c], rows)


def seal(store: Store) -> None:
    """Checkpoint the WAL into the file and close every connection: the file is then complete."""
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.engine.dispose()


# 2. Forecast against a catch-up tick, 98 municipalities x 10 tenders

TENDERS_EACH = 10
FORUM_AT = at("2007-06-01")  # the programme is loaded
ACTS_AT = at("2008-03-20")  # the acts below are recorded (each at its own effective time)
UNTIL = at("2008-10-01")
AREAS = ("sundhed", "beskæftigelse", "ældrepleje", "teknik og miljø", "administration")

FORUM_HEAD = """\
name: bench-forum
title: Forum for konkurrenceudsættelse 2007-2008, every municipality
start: 2007-04-01
end: 2008-09-30
regime: eu-2004-18
"""
SEED_MILESTONES = {  # the seed's timeline; any other milestone a definition uses: the end
    "areas-decided": date(2007, 9, 30),  # tender areas decided, end of Q3 2007
    "tenders-launched": date(2008, 3, 31),  # materials finished, tenders launched, Q1 2008
    "tenders-concluded": date(2008, 6, 30),  # tenders concluded, Q2 2008
    "results-collected": date(2008, 9, 30),  # results collected, Q3 2008
}


def flow(**values: Any) -> str:
    """A YAML flow mapping; JSON strings are YAML scalars, so names like Ærø need no care."""
    return "{" + ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()) + "}"  # fmt: skip


def forum_programme(definition: Definition, members: Sequence[Municipality]) -> str:
    """The programme text: milestones, every municipality, its project leader, its ten tenders."""
    days = {n: SEED_MILESTONES.get(n, date(2008, 9, 30)) for n in milestones_used(definition)}
    lines = [FORUM_HEAD + milestones_yaml(days).rstrip("\n"), "municipalities:"]
    lines += [f"  - {flow(code=m.code, name=m.name)}" for m in members]
    lines += ["people:", "  - " + flow(id="kl-sek", name="Sekretariatet",
                                       email="sekretariat@kl.dk", role="secretariat")]  # fmt: skip
    lines += [f"  - {flow(**leader_of(m))}" for m in members]
    lines += ["tenders:"]
    lines += [f"  - {flow(**planned(m, i))}" for m in members for i in range(TENDERS_EACH)]
    return "\n".join(lines) + "\n"


def leader_of(m: Municipality) -> dict[str, Any]:
    return {"id": f"pl-{m.code}", "name": f"Projektleder {m.name}",
            "email": f"udbud@kommune-{m.code}.dk", "role": "project_leader",
            "municipality": m.code}  # fmt: skip


def planned(m: Municipality, i: int) -> dict[str, Any]:
    spec = {"id": forum_id(m, i), "definition": KIND, "title": f"{AREAS[i % len(AREAS)]} {i} i {m.name}",
            "area": AREAS[i % len(AREAS)], "municipalities": [m.code], "leader": f"pl-{m.code}",
            "procedure": "open", "start": str(date(2007, 7, 2) + timedelta(days=i))}  # fmt: skip
    if i % 3 == 0:
        spec["facts"] = {"baseline_cost": 1_000_000 * (i + 1)}
    return spec


def forum_id(m: Municipality, i: int) -> str:
    return f"K{m.code}-{i:02d}"


def forum_acts(store: Store, members: Sequence[Municipality]) -> None:
    """Tenders 0-4 approved and published, 5-6 only approved, 7-8 left alone, 9 cancelled."""
    with store.batch(ACTS_AT) as unit:
        for n, m in enumerate(members):
            for i in range(TENDERS_EACH):
                act(unit, store, m, n, i)


def act(unit: Unit, store: Store, m: Municipality, n: int, i: int) -> None:
    leader, tender_id = store.person(f"pl-{m.code}"), forum_id(m, i)
    approved = start_of_day(date(2007, 8, 20) + timedelta(days=(n + i) % 20))
    published = start_of_day(date(2008, 1, 7) + timedelta(days=(7 * n + 11 * i) % 70))
    if i == 9:
        unit.advance(tender_id, "cancel", leader, at=approved, note="Ikke egnet til udbud")
        return
    if i <= 6:
        unit.advance(tender_id, "approve_scope", leader, at=approved)
    if i <= 4:
        unit.advance(tender_id, "publish", leader, at=published)


def build_forum(path: Path, definition: Definition) -> int:
    """The forum store, acts recorded; returns its number of tenders."""
    members = list(all_municipalities().values())
    store = new_store(path, definition, forum_programme(definition, members), FORUM_AT)
    forum_acts(store, members)
    count = store.count_tenders()
    seal(store)
    return count


# Timing


def warm(store: Store, programme: str) -> Store:
    """Read what a daemon's store holds after its first tick: definition, people, milestones."""
    store.definition(KIND, 1)
    store.people()
    store.milestones(programme)
    store.language(programme)
    store.due_for_check(NEVER)
    return store


@dataclass(frozen=True)
class Timing:
    """How long one call took, and what it returned."""

    seconds: float
    result: Any


def measure(call: Callable[[], Any]) -> Timing:
    started = time.perf_counter()
    result = call()
    return Timing(time.perf_counter() - started, result)


def keep_best(best: dict[str, Timing], name: str, new: Timing) -> None:
    """Keep the fastest of the repeats under `name` (a shared machine only ever slows a run)."""
    if name not in best or new.seconds < best[name].seconds:
        best[name] = new


class Fresh:
    """A fresh copy of a prepared store file for each repeat, removed after it."""

    def __init__(self, prepared: Path, programme: str) -> None:
        self.prepared, self.programme = prepared, programme
        self.copy = prepared.with_name(f"copy-{prepared.name}")
        self.store: Store | None = None

    def open(self) -> Store:
        shutil.copyfile(self.prepared, self.copy)
        self.store = warm(Store(sqlite_url(self.copy)), self.programme)
        return self.store

    def close(self) -> None:
        if self.store is not None:
            self.store.engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.copy}{suffix}").unlink(missing_ok=True)


def timed_tick(prepared: Path, programme: str, now: datetime) -> Timing:
    """`tick(now)` on a fresh, warm copy of `prepared`; only the tick is timed."""
    fresh = Fresh(prepared, programme)
    store = fresh.open()
    timing = measure(lambda: tick(store, now))
    fresh.close()
    return timing


def due_ids(path: Path, now: datetime) -> list[str]:
    store = Store(sqlite_url(path))
    found = store.due_for_check(now)
    store.engine.dispose()
    return found


def keys(happenings: Sequence[Happening]) -> list[tuple[datetime, str, str, str]]:
    return sorted(h.key() for h in happenings)


# The benchmarks


@dataclass
class Results:
    """Every figure of the run."""

    sizes: dict[str, int] = field(default_factory=dict)
    ticks: dict[str, Timing] = field(default_factory=dict)
    same_due: bool = False
    same_work: bool = False
    forum_tenders: int = 0
    forum: dict[str, Timing] = field(default_factory=dict)  # forecast, tick
    same_forecast: bool = False
    setup: dict[str, float] = field(default_factory=dict)


@contextmanager
def stopwatch(r: Results, name: str) -> Iterator[None]:
    """Record how long an untimed set-up step took (for the run's summary)."""
    started = time.perf_counter()
    yield
    r.setup[name] = time.perf_counter() - started


def bench_tick(s: Settings, folder: Path, definition: Definition, r: Results) -> dict[str, Path]:
    """Tick the small and the big store in turn, each repeat on fresh copies."""
    paths = {"small": folder / "small.db", "big": folder / "big.db"}
    with stopwatch(r, "small store, through the API"):
        due = build_small(paths["small"], definition)
    with stopwatch(r, "big store, INSERT ... SELECT"):
        grow(paths["small"], paths["big"], s.big)
    r.sizes = {"small": SMALL, "big": s.big}
    found = {name: due_ids(path, TICK_AT) for name, path in paths.items()}
    r.same_due = found["small"] == found["big"] and sorted(found["small"]) == due
    for _ in range(s.repeats):
        for name, path in paths.items():
            keep_best(r.ticks, name, timed_tick(path, "bench-far", TICK_AT))
    small, big = (keys(r.ticks[n].result.happenings) for n in ("small", "big"))
    r.same_work = small == big and len({k[1] for k in small}) == DUE
    return paths


def bench_forecast(s: Settings, folder: Path, definition: Definition, r: Results) -> Path:
    """The forecast (on the prepared store) and the catch-up tick (on copies), in turn."""
    path = folder / "forum.db"
    with stopwatch(r, "forum store, programme load + acts"):
        r.forum_tenders = build_forum(path, definition)
    store = warm(Store(sqlite_url(path)), "bench-forum")
    for _ in range(s.repeats):
        keep_best(r.forum, "forecast", measure(lambda: forecast(store, UNTIL)))
        keep_best(r.forum, "tick", timed_tick(path, "bench-forum", UNTIL))
    store.engine.dispose()
    r.same_forecast = keys(r.forum["forecast"].result) == keys(r.forum["tick"].result.happenings)
    return path


def profile(big: Path, forum: Path) -> None:
    """cProfile of a tick on the big store and of the forecast: top entries by own and total time."""
    fresh = Fresh(big, "bench-far")
    print_profile(f"tick on the big store at {TICK_AT.date()}", tick, fresh.open(), TICK_AT)
    fresh.close()
    store = warm(Store(sqlite_url(forum)), "bench-forum")
    print_profile(f"forecast until {UNTIL.date()}", forecast, store, UNTIL)
    store.engine.dispose()


# The report


def report(s: Settings, r: Results) -> None:
    print_header(s)
    print_ticks(r)
    print_forecast(r)


def print_header(s: Settings) -> None:
    print(f"konkurrence-flow scheduler benchmark: best of {s.repeats}; "
          f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
          f"SQLAlchemy {version('SQLAlchemy')}; {os.cpu_count()} CPUs")  # fmt: skip
    print(f"package at {source_version()}")


def print_ticks(r: Results) -> None:
    print(f"\n1. tick at {TICK_AT.date()}, the same {DUE} tenders due in both stores\n"
          "   (SQLite file; warm store; a fresh copy per repeat; only `tick` timed)")  # fmt: skip
    print(f"  {'store':<38}{'tenders':>9}{'due':>6}{'happenings':>12}{'notices':>9}"
          f"{'s/tick':>10}{'ms/due':>8}")  # fmt: skip
    labels = {"small": "small: built through the API", "big": "big: + copies by INSERT ... SELECT"}
    for name, label in labels.items():
        t = r.ticks[name]
        print(f"  {label:<38}{r.sizes[name]:>9,}{DUE:>6}{len(t.result.happenings):>12,}"
              f"{t.result.notifications:>9,}{t.seconds:>10.4f}{t.seconds * 1000 / DUE:>8.2f}")  # fmt: skip
    ratio = r.ticks["big"].seconds / r.ticks["small"].seconds
    rows = [
        ("the same tenders due, the same happenings, in both", yes(r.same_due and r.same_work),
         "yes", verdict(r.same_due and r.same_work)),
        (f"tick({r.sizes['big']:,}) / tick({SMALL:,})", f"{ratio:.3f}", f"< {GOAL_TICK_RATIO:g}",
         verdict(ratio < GOAL_TICK_RATIO)),
    ]  # fmt: skip
    print_goals(rows)


def print_forecast(r: Results) -> None:
    members = len(all_municipalities())
    print(f"\n2. 2007-2008 timeline until {UNTIL.date()}: {members} municipalities x "
          f"{TENDERS_EACH} = {r.forum_tenders:,} tenders of '{KIND}'")  # fmt: skip
    print(f"  {'run':<38}{'s':>9}{'happenings':>12}{'ms each':>9}  by kind")
    predicted, done = r.forum["forecast"], r.forum["tick"]
    rows = [("forecast (one unit, never committed)", predicted.seconds, predicted.result),
            ("catch-up tick (one commit per tender)", done.seconds, done.result.happenings)]  # fmt: skip
    for label, seconds, found in rows:
        print(f"  {label:<38}{seconds:>9.3f}{len(found):>12,}{seconds * 1000 / len(found):>9.3f}"
              f"  {by_kind(found)}")  # fmt: skip
    print(
        f"  catch-up tick queued {done.result.notifications:,} notifications; "
        f"forecast / tick = {predicted.seconds / done.seconds:.3f} (context, no goal)"
    )
    print_goals([("forecast and tick: the same happenings, one for one", yes(r.same_forecast),
                  "yes", verdict(r.same_forecast))])  # fmt: skip


def by_kind(found: Sequence[Happening]) -> str:
    counts = Counter(h.what for h in found)
    return ", ".join(f"{what} {counts[what]:,}" for what in sorted(counts))


def yes(ok: bool) -> str:
    return "yes" if ok else "no"


def print_goals(rows: Sequence[tuple[str, str, str, str]]) -> None:
    print(f"  {'check':<60}{'value':>8}  {'goal':<8}verdict")
    for label, value, goal, result in rows:
        print(f"  {label:<60}{value:>8}  {goal:<8}{result}")


def print_setup(setup: Mapping[str, float], total: float) -> None:
    steps = "; ".join(f"{name} {seconds:.1f} s" for name, seconds in setup.items())
    print(f"\nset-up (untimed): {steps}\nwhole run: {total:.1f} s")


# The command line


def settings(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 tenders, fewer repeats")
    parser.add_argument("--profile", action="store_true", help="cProfile the big tick and forecast")
    args = parser.parse_args(argv)
    if args.quick:
        return Settings(big=10_000, repeats=2, profile=args.profile)
    return Settings(big=100_000, repeats=5, profile=args.profile)


def main(argv: Sequence[str] | None = None) -> None:
    started = time.perf_counter()
    s, r = settings(argv), Results()
    definition = load_definition(DEFINITION)
    with tempfile.TemporaryDirectory(prefix="kflow-bench-") as tmp:
        folder = Path(tmp)
        big = bench_tick(s, folder, definition, r)["big"]
        forum = bench_forecast(s, folder, definition, r)
        report(s, r)
        if s.profile:
            profile(big, forum)
    print_setup(r.setup, time.perf_counter() - started)


if __name__ == "__main__":
    main()
