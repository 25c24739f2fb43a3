"""Benchmark: persisted advances against bare `transitions` and bare `sqlite3`; CLI start-up.

Run it from the repository root:

    .venv/bin/python bench/engine.py            # full run, about 30 s on 2 cores
    .venv/bin/python bench/engine.py --quick    # smoke run, a few seconds
    .venv/bin/python bench/engine.py --profile  # and a cProfile of the batched path

This is not a timed test. It prints figures and compares them with baselines measured in the same
run, on the same machine, so that the verdicts are ratios rather than absolute times. Every figure
is the best of several repeats (a shared machine only ever makes a run slower).

What is measured (bench/README.md says more):

1. advances persisted on a SQLite file through `Store`: one transaction per act
   (`store.advance`), and many acts in one transaction (`store.batch(now)` + `unit.advance`);
2. baseline A: a bare `transitions.Machine` with the same states and transitions, in memory;
3. baseline B: bare `sqlite3` inserts of as many event-like rows, one transaction per row and one
   `executemany` transaction;
4. the ratios between them, against the goals of the issue (and, for context, `engine.fire`
   in memory: the package's pure core without a store);
5. wall times of `kflow tender show`, `kflow --help` and their floors (`python -c pass`,
   `python -c "import sqlmodel"`).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from common import print_profile, source_version, verdict
from transitions import Machine

from konkurrence_flow.definitions import Definition, load_definition
from konkurrence_flow.engine import fire
from konkurrence_flow.model import SYSTEM, Person, Tender
from konkurrence_flow.store import NewTender, Store

ROOT = Path(__file__).resolve().parent.parent
DEFINITION = ROOT / "definitions" / "individual-tender.yaml"
START = datetime(2026, 11, 27, 8, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))

ANNA = Person("anna", "Anna Jensen", "anna@aarhus.dk", "project_leader", "751")
SEK = Person("kl-sek", "Sekretariatet", "sekretariat@kl.dk", "secretariat")

GOAL_BATCHED_VS_TRANSITIONS = 0.25  # the issue: batched persisted >= 1/4 of bare transitions
GOAL_HELP_SECONDS = 0.150  # the issue: `kflow --help` under 150 ms


@dataclass(frozen=True)
class Act:
    """One step of the benchmark's cycle: who fires which trigger, with which facts."""

    trigger: str
    actor: Person
    facts: Mapping[str, Any] = field(default_factory=dict)


# A tender's whole life in the individual-tender definition: every act is allowed for its actor.
# The two timed transitions are the scheduler's (`system`): through the package they fire by
# themselves, in the same transaction, when the next person's act catches the tender up.
CYCLE = (
    Act("approve_scope", ANNA),
    Act("publish", ANNA),
    Act("close_bidding", SYSTEM),  # timed: when the 52-day bid period expires
    Act("decide_award", ANNA, {"winner": "Genoptræning A/S", "contract_value": 4_200_000}),
    Act("end_standstill", SYSTEM),  # timed: when the 10-day standstill expires
    Act("sign_contract", ANNA),
    Act("send_award_notice", ANNA),  # the contract award notice, within 48 days
    Act("complete", ANNA, {"baseline_cost": 5_100_000, "bidders": 4, "in_house_bid": False}),
)
# The people's acts, on time: the award 70 days in (the 52-day bid period has closed, the award is
# not yet due), the contract after the standstill, its award notice 10 days later (15 days by letter, the rule since July 2010). So the scheduler owes these tenders only
# their two timed transitions, which each act's catch-up performs first.
HUMAN = tuple(
    (act, START + timedelta(days=day))
    for act, day in zip([a for a in CYCLE if a.actor is not SYSTEM], (1, 10, 70, 90, 100, 120), strict=True)
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """How big and how often: tenders per run, repeats, tenders per batched transaction."""

    n: int
    repeats: int
    cheap_repeats: int
    cli_repeats: int
    batch: int
    profile: bool

    @property
    def advances(self) -> int:
        return self.n * len(CYCLE)


class Clock:
    """Instants that never go backwards: sixty days apart (so every legal period has expired)."""

    def __init__(self) -> None:
        self._ticks = 0

    def tick(self) -> datetime:
        self._ticks += 1
        return START + timedelta(days=60 * self._ticks)

    def ticks(self, count: int) -> list[datetime]:
        return [self.tick() for _ in range(count)]


# The persisted path: the package's API on a SQLite file


def open_store(folder: Path, definition: Definition, clock: Clock) -> Store:
    """A fresh store with Anna (Aarhus' project leader), the secretariat and the definition."""
    store = Store(f"sqlite:///{folder / 'kflow.db'}")
    store.init("root-user")
    for person in (ANNA, SEK):
        store.add_person(person)
    store.load_definition(definition, clock.tick())
    return store


def create_tenders(store: Store, clock: Clock, tag: str, n: int) -> list[str]:
    """Create `n` tenders of Aarhus in scoping (one transaction; not part of any timing)."""
    ids = [f"{tag}-{i:05d}" for i in range(n)]
    with store.batch(START) as unit:
        for tender_id in ids:
            spec = NewTender("individual-tender", f"Bench {tender_id}", ("751",), id=tender_id,
                             regime="eu-2004-18", procedure="open")  # fmt: skip
            unit.create(spec, ANNA)
    return ids


# Every tender lives the same four months; a batch's `now` comes after all of it.
AFTER_LIFE = START + timedelta(days=130)


def advance_per_act(store: Store, clock: Clock, ids: Sequence[str]) -> int:
    """Every act of the cycle on every tender, each act its own transaction."""
    for tender_id in ids:
        for act, at in HUMAN:
            store.advance(tender_id, act.trigger, act.actor, at, facts=act.facts)
    return len(ids) * len(CYCLE)


def advance_batched(store: Store, clock: Clock, ids: Sequence[str], size: int) -> int:
    """The whole cycle of `size` tenders per transaction, their rows read in one query."""
    for chunk in chunks(ids, size):
        with store.batch(AFTER_LIFE) as unit:
            unit.preload(store.tenders_by_id(list(chunk)).values())
            for tender_id in chunk:
                for act, at in HUMAN:
                    unit.advance(tender_id, act.trigger, act.actor, at=at, facts=act.facts)
    return len(ids) * len(CYCLE)


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Baseline A: bare transitions, in memory


class Model:
    """The plain model a bare machine moves."""

    state: str


def bare_machine(definition: Definition) -> tuple[Machine, Model]:
    """A `transitions.Machine` with the definition's states and transitions, one plain model."""
    model = Model()
    machine = Machine(
        model=model,
        states=list(definition.states),
        transitions=[
            {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
            for t in definition.transitions
        ],
        initial=definition.initial,
        auto_transitions=False,
    )
    return machine, model


def fire_bare(machine: Machine, model: Model, initial: str, n: int) -> int:
    """The cycle's trigger sequence `n` times, the model put back in the initial state each time."""
    events = [machine.events[act.trigger] for act in CYCLE]
    for _ in range(n):
        model.state = initial
        for event in events:
            event.trigger(model)
    assert model.state == "done", model.state
    return n * len(events)


# Context: the package's pure core, in memory


def fire_core(definition: Definition, n: int) -> int:
    """`engine.fire` for every act of the cycle on `n` tenders, each outcome applied to the tender."""
    first = Tender(
        id="MEM-00000", title="Bench", definition=definition.name, definition_version=1,
        state=definition.initial, state_entered_at=START, municipalities=("751",), version=1,
        seq=1, visit=1, last_event_at=START, created_at=START, regime="eu-2004-18",
        procedure="open",
    )  # fmt: skip
    for _ in range(n):
        tender = first
        for act in CYCLE:
            when = tender.state_entered_at + timedelta(days=60)
            outcome = fire(definition, tender, act.trigger, act.actor, when, facts=act.facts)
            facts = MappingProxyType({**tender.facts, **outcome.facts})
            tender = replace(tender, state=outcome.dest, facts=facts, state_entered_at=when)
    return n * len(CYCLE)


# Baseline B: bare sqlite3 inserts of event-like rows

EVENT_DDL = """
CREATE TABLE event (
    tender_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, trigger TEXT,
    source TEXT, dest TEXT, actor TEXT NOT NULL, occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL, note TEXT, data TEXT, PRIMARY KEY (tender_id, seq)
)
"""
INSERT_EVENT = "INSERT INTO event VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


STATES = ("scoping", "materials", "publication", "award", "standstill", "contracting",
          "award_notice",
          "data_collection", "done")  # fmt: skip
MOVES = tuple(zip(CYCLE, STATES[:-1], STATES[1:], strict=True))


def event_rows(n: int) -> list[tuple[Any, ...]]:
    """As many rows as the persisted runs write events, shaped like the store's event rows."""
    clock, rows = Clock(), []
    for i in range(n):
        for seq, (act, source, dest) in enumerate(MOVES, start=2):
            at = clock.tick().isoformat()
            data = json.dumps({"set": dict(act.facts)} if act.facts else {})
            rows.append((f"ROW-{i:05d}", seq, "human", act.trigger, source, dest, act.actor.id,
                         at, at, None, data))  # fmt: skip
    return rows


def open_sqlite(path: Path) -> sqlite3.Connection:
    """A new database, set up as the store sets up its own (WAL, synchronous=NORMAL)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(EVENT_DDL)
    return conn


def insert_per_row(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """One transaction per row."""
    for row in rows:
        conn.execute("BEGIN")
        conn.execute(INSERT_EVENT, row)
        conn.execute("COMMIT")
    return len(rows)


def insert_many(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Every row in one transaction, with `executemany`."""
    conn.execute("BEGIN")
    conn.executemany(INSERT_EVENT, rows)
    conn.execute("COMMIT")
    return len(rows)


# Timing


def best_rate(repeats: int, prepare: Callable[[int], Callable[[], int]]) -> float:
    """Operations per second, best of `repeats`; `prepare(r)` is untimed, its result is timed."""
    best = 0.0
    for r in range(repeats):
        run = prepare(r)
        started = time.perf_counter()
        count = run()
        best = max(best, count / (time.perf_counter() - started))
    return best


def best_wall(command: Sequence[str], repeats: int, env: Mapping[str, str]) -> float:
    """Wall time of a command in seconds, best of `repeats`; a failing command is an error."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env={**env})
        best = min(best, time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    return best


# The benchmarks


@dataclass
class Results:
    """Every figure of the run, by name."""

    rates: dict[str, float] = field(default_factory=dict)
    walls: dict[str, float] = field(default_factory=dict)


def bench_persisted(s: Settings, store: Store, clock: Clock, results: Results) -> None:
    def per_act(r: int) -> Callable[[], int]:
        ids = create_tenders(store, clock, f"ACT{r}", s.n)
        return lambda: advance_per_act(store, clock, ids)

    def batched(r: int) -> Callable[[], int]:
        ids = create_tenders(store, clock, f"BAT{r}", s.n)
        return lambda: advance_batched(store, clock, ids, s.batch)

    results.rates["per_act"] = best_rate(s.repeats, per_act)
    results.rates["batched"] = best_rate(s.repeats, batched)


def bench_transitions(s: Settings, definition: Definition, results: Results) -> None:
    machine, model = bare_machine(definition)

    def run() -> int:
        return fire_bare(machine, model, definition.initial, s.n)

    results.rates["transitions"] = best_rate(s.cheap_repeats, lambda _: run)


def bench_core(s: Settings, definition: Definition, results: Results) -> None:
    results.rates["core"] = best_rate(s.cheap_repeats, lambda _: lambda: fire_core(definition, s.n))


def bench_sqlite(s: Settings, folder: Path, results: Results) -> None:
    rows, connections = event_rows(s.n), []

    def fresh(name: str) -> sqlite3.Connection:
        connections.append(open_sqlite(folder / f"{name}-{len(connections)}.db"))
        return connections[-1]

    def per_row(_: int) -> Callable[[], int]:
        conn = fresh("per-row")
        return lambda: insert_per_row(conn, rows)

    def many(_: int) -> Callable[[], int]:
        conn = fresh("many")
        return lambda: insert_many(conn, rows)

    results.rates["sqlite_per_row"] = best_rate(s.cheap_repeats, per_row)
    results.rates["sqlite_many"] = best_rate(s.cheap_repeats, many)
    for conn in connections:
        conn.close()


def bench_cli(s: Settings, store: Store, clock: Clock, results: Results) -> None:
    """Wall times of the CLI and its floors, against a store with a tender in 'award'."""
    (tender_id,) = create_tenders(store, clock, "SHOW", 1)
    for act, at in HUMAN[:2]:
        store.advance(tender_id, act.trigger, act.actor, at, facts=act.facts)
    python, kflow = sys.executable, str(Path(sys.executable).with_name("kflow"))
    env = {**os.environ, "KFLOW_DB": store.url, "KFLOW_NOW": clock.tick().isoformat()}
    commands = {
        "python_pass": [python, "-c", "pass"],
        "import_sqlmodel": [python, "-c", "import sqlmodel"],
        "kflow_help": [kflow, "--help"],
        "kflow_show": [kflow, "tender", "show", tender_id],
    }
    for name, command in commands.items():
        results.walls[name] = best_wall(command, s.cli_repeats, env)


def profile_batched(s: Settings, store: Store, clock: Clock) -> None:
    """cProfile of the batched path."""
    ids = create_tenders(store, clock, "PROF", s.n)
    print_profile(f"batched path ({s.advances:,} advances)", advance_batched, store, clock, ids,
                  s.batch)  # fmt: skip


# The report


def report(s: Settings, r: Results) -> None:
    print_header(s)
    print_rates(s, r.rates)
    print_ratios(r.rates)
    print_walls(s, r.walls)


def print_header(s: Settings) -> None:
    print(
        f"konkurrence-flow engine benchmark: {s.n:,} tenders x {len(CYCLE)} acts = "
        f"{s.advances:,} advances; best of {s.repeats} (persisted), "
        f"{s.cheap_repeats} (baselines), {s.cli_repeats} (commands)"
    )
    print(
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {version('SQLAlchemy')}, SQLModel {version('sqlmodel')}, "
        f"transitions {version('transitions')}; {os.cpu_count()} CPUs"
    )
    print(f"package at {source_version()}; cycle: "
          f"{' -> '.join(f'{a.trigger} ({a.actor.id})' for a in CYCLE)}")  # fmt: skip


def print_rates(s: Settings, rates: Mapping[str, float]) -> None:
    size = f"{s.batch} tenders = {s.batch * len(CYCLE)} acts per transaction"
    rows = [
        ("persisted (SQLite file), one transaction per act", rates["per_act"]),
        (f"persisted (SQLite file), batched: {size}", rates["batched"]),
        ("context: engine.fire + tender update, in memory (pure core, no store)", rates["core"]),
        ("baseline A: bare transitions.Machine, in memory", rates["transitions"]),
        ("baseline B: bare sqlite3 insert, one transaction per row", rates["sqlite_per_row"]),
        ("baseline B: bare sqlite3 executemany, one transaction", rates["sqlite_many"]),
    ]
    print(f"\n{'advances (rows) per second':<74}{'per s':>12}{'us each':>10}")
    for label, rate in rows:
        print(f"  {label:<72}{rate:>12,.0f}{1e6 / rate:>10,.1f}")


def print_ratios(rates: Mapping[str, float]) -> None:
    batched = rates["batched"] / rates["transitions"]
    per_act = rates["per_act"] / rates["sqlite_per_row"]
    context = rates["batched"] / rates["sqlite_many"]
    goal = GOAL_BATCHED_VS_TRANSITIONS
    rows = [
        ("batched persisted / bare transitions", batched, f">= {goal}", verdict(batched >= goal)),
        ("per-act persisted / bare sqlite3 per-row transactions", per_act, "(none)", "-"),
        ("batched persisted / bare sqlite3 executemany (context)", context, "(none)", "-"),
    ]
    print(f"\n{'ratios':<60}{'value':>8}  {'goal':<10}verdict")
    for label, value, goal_text, result in rows:
        print(f"  {label:<58}{value:>8.3f}  {goal_text:<10}{result}".rstrip())


def print_walls(s: Settings, walls: Mapping[str, float]) -> None:
    help_ok = verdict(walls["kflow_help"] < GOAL_HELP_SECONDS)
    rows = [
        ("python -c pass (interpreter floor)", walls["python_pass"], "", ""),
        ('python -c "import sqlmodel" (import floor)', walls["import_sqlmodel"], "", ""),
        ("kflow --help", walls["kflow_help"], f"< {GOAL_HELP_SECONDS * 1000:.0f} ms", help_ok),
        ("kflow tender show SHOW-00000", walls["kflow_show"], "", ""),
    ]
    print(f"\n{f'wall time, best of {s.cli_repeats}':<60}{'ms':>8}  {'goal':<10}verdict")
    for label, seconds, goal_text, result in rows:
        print(f"  {label:<58}{seconds * 1000:>8.0f}  {goal_text:<10}{result}".rstrip())


# The command line


def settings(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, help="tenders per run (default 1000; --quick: 40)")
    parser.add_argument("--batch", type=int, default=100, help="tenders per batched transaction")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--profile", action="store_true", help="cProfile the batched path")
    args = parser.parse_args(argv)
    n = args.n or (40 if args.quick else 1000)
    if n < 1 or args.batch < 1:
        parser.error(f"--n and --batch must be >= 1: {n}, {args.batch}")
    batch = min(args.batch, n)
    if args.quick:
        return Settings(n, repeats=2, cheap_repeats=2, cli_repeats=2, batch=batch,
                        profile=args.profile)  # fmt: skip
    return Settings(n, repeats=3, cheap_repeats=7, cli_repeats=7, batch=batch,
                    profile=args.profile)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    s = settings(argv)
    definition = load_definition(DEFINITION)
    results, clock = Results(), Clock()
    with tempfile.TemporaryDirectory(prefix="kflow-bench-") as tmp:
        folder = Path(tmp)
        store = open_store(folder, definition, clock)
        bench_persisted(s, store, clock, results)
        bench_transitions(s, definition, results)
        bench_core(s, definition, results)
        bench_sqlite(s, folder, results)
        bench_cli(s, store, clock, results)
        report(s, results)
        if s.profile:
            profile_batched(s, store, clock)
        store.engine.dispose()


if __name__ == "__main__":
    main()
