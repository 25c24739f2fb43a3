"""Benchmark: the store at 10^5 and 10^6 tenders, on SQLite and on a throwaway PostgreSQL.

Run it from the repository root:

    .venv/bin/python bench/scale.py                     # full run: 10^5 and 10^6, both backends
    .venv/bin/python bench/scale.py --quick             # smoke run: 10^3 and 10^4, one repeat
    .venv/bin/python bench/scale.py --sizes 100000 --backend postgresql
    .venv/bin/python bench/scale.py --profile           # + cProfile of `tender list --overdue`
    .venv/bin/python bench/scale.py --keep              # keep the stores (their folders are printed)

This is not a timed test. It prints figures, min / median of the repeats (3, 1 with --quick), and
a verdict on the issue's goals; a MISS is a measurement, not a failure. It fails (exit 1) only
when the work measured is not the right work: a count that is off, a tick that did too much or
too little.

What is measured, on each backend and at each size, in a store built by `bigstore.py` (400
tenders made through the API, copied in SQL; exactly 1,000 of them due at the tick instant, the
others far from it, about half of them overdue):

1. The commands as users run them: a new `python cli.py --db URL --now 2008-06-16T06:00 --user
   kl-sek ...` process each time, timed from its start to its exit, with its peak resident memory
   (`ru_maxrss` from `os.wait4`, taken by a small watcher process: see WATCHER). Its stdout is a
   pipe the benchmark drains, counting the rows. `tick --json` runs on a fresh clone of the
   prepared store each time; the others only read it.
2. The catch-up in process: `scheduler.tick(store, now)` on a fresh clone, the store warm
   (definition parsed, people and milestones read); ms per due tender.
3. Concurrency: a store of 100,000 tenders with 10,000 due (10,000 and 1,000 with --quick); 1, 2
   and 4 `kflow tick --json` processes started together on a fresh clone, timed until the last
   exits. Conflicts are the catch-ups thrown away (`rolled_back`, which counts the tenders in
   `retry` too; the `retry` lists where a tick document has no `rolled_back`) and `failed`.
   Every run must write exactly the events one scheduler writes (compared row for row) and leave
   nothing due.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from statistics import median
from typing import IO, Any

from bigstore import (
    CLOCK,
    TICK_AT,
    Census,
    PostgresStores,
    SqliteStores,
    Stores,
    Template,
    an_overdue_copy,
    build_templates,
    census,
    engine_of,
    grow,
    new_events,
)
from common import source_version, verdict
from pgcluster import throwaway_cluster

from konkurrence_flow.definitions import Definition, load_definition
from konkurrence_flow.scheduler import tick
from konkurrence_flow.store import Store

ROOT = Path(__file__).resolve().parent.parent
DEFINITION = ROOT / "definitions" / "individual-tender.yaml"
NOW = CLOCK
UNTIL = "2008-12-31"  # the forecast: the rest of the year (only the due tenders owe anything)
DUE = 1_000  # due at the tick instant, at every size (a tenth of the store below 10,000)
PROCESSES = (1, 2, 4)

GOAL_TICK_S = 1.0  # PostgreSQL, 10^6 tenders, 1,000 due: `kflow tick` within 1 s
GOAL_CATCH_UP_MS = 0.5  # per tender
GOAL_TWO = 1.6  # two schedulers at least 1.6 times as fast as one ...
GOAL_CONFLICTS = 1.0  # ... with under 1 % of the due tenders in conflict
GOAL_LIST_S = 2.0  # `tender list --overdue` at 10^6 within 2 s ...
GOAL_LIST_MIB = 200.0  # ... and 200 MiB


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]
    backends: tuple[str, ...]
    repeats: int
    concurrency: tuple[int, int]  # tenders, due
    keep: bool
    profile: bool


def due_at(size: int) -> int:
    return min(DUE, size // 10)


# Child processes


@dataclass(frozen=True)
class Run:
    """One finished command: wall time, peak memory, exit code and what it printed."""

    started: float  # time.monotonic(), the system's clock: comparable between processes
    ended: float
    peak_kib: int
    code: int
    lines: int
    objects: int  # tender objects in a JSON list (`{"id": ` after a line's indent)
    out: bytes  # kept only when asked for
    err: bytes

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024


OBJECT = b'\n  {"id": '  # a tender object in a streamed JSON list: one a line, after two spaces


class Drain(threading.Thread):
    """Read a pipe to its end, counting lines and tender objects; keep the bytes if asked."""

    def __init__(self, pipe: IO[bytes], keep: bool) -> None:
        super().__init__(daemon=True)
        self.pipe, self.keep = pipe, keep
        self.lines = self.objects = 0
        self.parts: list[bytes] = []

    def run(self) -> None:
        tail = b""
        while chunk := self.pipe.read(1 << 20):
            data = tail + chunk
            self.lines += chunk.count(b"\n")
            self.objects += data.count(OBJECT)
            tail = data[-(len(OBJECT) - 1) :]
            if self.keep:
                self.parts.append(chunk)


# Linux keeps, in a process's peak RSS, the peak of the memory it had before `exec`: a child
# spawned by this (big) process would report at least this process's own peak. So each command
# is spawned by a small watcher (`python -S`, about 10 MiB) that times it, waits for it with
# `wait4` and writes what it found to a file: start, end, ru_maxrss (KiB), exit code.
WATCHER = """\
import os, sys, time
started = time.monotonic()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
ended = time.monotonic()
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as out:
    out.write(f"{started} {ended} {usage.ru_maxrss} {code}")
"""


@dataclass
class Child:
    """A started command (under its watcher), its output drained as it comes."""

    process: subprocess.Popen[bytes]
    out: Drain
    err: Drain
    report: Path


def command(url: str, *args: str) -> list[str]:
    """The command line a user types: `kflow --db URL --now ... --user kl-sek ARGS`."""
    kflow = [sys.executable, str(ROOT / "cli.py")]
    return [*kflow, "--db", url, "--now", NOW, "--user", "kl-sek", *args]


def environment() -> dict[str, str]:
    """This benchmark's tree first on the path; no remote service, no store from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def start(argv: list[str], keep: bool = False) -> Child:
    fd, name = tempfile.mkstemp(prefix="kflow-run-")
    os.close(fd)
    watched = [sys.executable, "-S", "-c", WATCHER, name, *argv]
    process = subprocess.Popen(watched, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=environment())  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    out, err = Drain(process.stdout, keep), Drain(process.stderr, keep=True)
    out.start()
    err.start()
    return Child(process, out, err, Path(name))


def finish(child: Child) -> Run:
    """Wait for the watcher; read what it measured of the command."""
    child.process.wait()
    child.out.join()
    child.err.join()
    found = child.report.read_text().split()
    child.report.unlink()
    if len(found) != 4:
        raise RuntimeError(f"the watcher failed: {b''.join(child.err.parts)[-500:]!r}")
    started, ended, peak, code = float(found[0]), float(found[1]), int(found[2]), int(found[3])
    return Run(started, ended, peak, code, child.out.lines, child.out.objects,
               b"".join(child.out.parts), b"".join(child.err.parts))  # fmt: skip


def run(argv: list[str], keep: bool = False) -> Run:
    return finish(start(argv, keep))


# Results


@dataclass
class Prepared:
    """A prepared store: its name on the backend, URL, contents, and a tender to show."""

    name: str
    url: str
    size: int
    due: int
    census: Census
    show: str


@dataclass(frozen=True)
class ConcurrentTick:
    """One concurrency run: n `kflow tick --json` at once."""

    seconds: float
    advanced: int
    retry: int
    failed: int
    extra: dict[str, int]  # fields of newer tick documents (`rolled_back`, `claimed`), if present
    peak_kib: int
    events: int
    same_events: bool
    left_due: int

    @property
    def conflicts(self) -> int:
        """Catch-ups thrown away: `rolled_back` (it counts the retries too), else the retries;
        and the failed."""
        return max(self.retry, self.extra.get("rolled_back", 0)) + self.failed


@dataclass
class Results:
    runs: dict[tuple[str, int, str], list[Run]] = field(default_factory=dict)
    in_process: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    concurrent: dict[tuple[str, int], list[ConcurrentTick]] = field(default_factory=dict)
    prepared: dict[tuple[str, int], Prepared] = field(default_factory=dict)
    builds: list[tuple[str, str, float, int | None]] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    profiles: list[str] = field(default_factory=list)

    def check(self, label: str, ok: bool, detail: str = "") -> None:
        self.checks.append((label, ok, detail))


def spread(values: Sequence[float]) -> tuple[float, float]:
    return min(values), median(values)


# Building


def prepare(
    stores: Stores, s: Settings, definition: Definition, r: Results
) -> dict[tuple[int, int], Prepared]:
    """The templates through the API, then each store (tenders, due) grown from a clone of them."""
    started = time.perf_counter()
    made = build_templates(stores.create("base"), definition)
    stores.seal("base")
    r.builds.append((stores.name, "400 templates through the API", elapsed(started), None))
    wanted = {(size, due_at(size)) for size in s.sizes} | {s.concurrency}
    return {(size, due): grow_one(stores, made, size, due, r) for size, due in sorted(wanted)}


def grow_one(stores: Stores, made: list[Template], size: int, due: int, r: Results) -> Prepared:
    started, name = time.perf_counter(), f"n{size}_due{due}"
    url = stores.clone("base", name)
    with engine_of(url) as engine:
        grow(engine, made, size, due)
    stores.seal(name)
    label = f"{size:,} tenders, {due:,} due: clone + INSERT ... SELECT"
    r.builds.append((stores.name, label, elapsed(started), stores.disk_bytes(name)))
    with engine_of(url) as engine:
        found, show = census(engine), an_overdue_copy(engine)
    r.check(f"{stores.name} {size:,}: {size:,} tenders, exactly {due:,} due at the tick instant",
            found.tenders == size and found.due == due, f"{found.tenders:,}, {found.due:,} due")  # fmt: skip
    return Prepared(name, url, size, due, found, show)


def elapsed(started: float) -> float:
    return time.perf_counter() - started


# 1 and 2: the commands and the in-process catch-up


EARLY = "2007-06-01"  # before any due date: nothing is overdue yet (the measurement)
NOTHING = "tender list --overdue, none yet"
READS = (
    (NOTHING, ("--now", EARLY, "tender", "list", "--overdue")),
    ("tender list --overdue", ("tender", "list", "--overdue")),
    ("tender list --overdue --json", ("tender", "list", "--overdue", "--json")),
    ("overdue", ("overdue",)),
    ("tender show ID", ("tender", "show", "{show}")),
    (f"forecast --until {UNTIL}", ("forecast", "--until", UNTIL)),
)
TICK = "tick --json"


def bench_size(stores: Stores, p: Prepared, s: Settings, r: Results) -> None:
    """Every command and the in-process tick, in turn, `repeats` times."""
    wrong: list[str] = []
    for _ in range(s.repeats):
        for label, args in READS:
            done = run(command(p.url, *(a.format(show=p.show) for a in args)))
            r.runs.setdefault((stores.name, p.size, label), []).append(done)
            wrong += read_problems(label, done, p)
        done, problems = tick_command(stores, p)
        r.runs.setdefault((stores.name, p.size, TICK), []).append(done)
        seconds, more = tick_in_process(stores, p)
        r.in_process.setdefault((stores.name, p.size), []).append(seconds)
        wrong += problems + more
    r.check(f"{stores.name} {p.size:,}: every list printed the {p.census.overdue:,} overdue "
            f"tenders; every tick advanced the {p.due:,} due, once", not wrong, "; ".join(wrong[:3]))  # fmt: skip


def read_problems(label: str, done: Run, p: Prepared) -> list[str]:
    """Every overdue tender printed, once: a table's rows (lines less the header), JSON objects."""
    rows = {"tender list --overdue": done.lines - 1, "overdue": done.lines - 1,
            "tender list --overdue --json": done.objects, NOTHING: done.lines - 1}.get(label)  # fmt: skip
    if done.code == 0 and rows in (None, 0 if label == NOTHING else p.census.overdue):
        return []
    shown = f", {rows:,} rows" if rows is not None else ""
    return [f"`kflow {label}`: exit {done.code}{shown}; {tail(done.err)}"]


def tail(err: bytes) -> str:
    return err.decode("utf-8", "replace").strip()[-300:]


def tick_command(stores: Stores, p: Prepared) -> tuple[Run, list[str]]:
    """`kflow tick --json` on a fresh clone."""
    url = stores.clone(p.name, "tick")
    done = run(command(url, "tick", "--json"), keep=True)
    stores.drop("tick")
    doc = tick_document(done)
    advanced = len(doc.get("advanced", ()))
    if advanced == p.due and not doc.get("retry") and not doc.get("failed"):
        return done, []
    return done, [f"`kflow tick`: {advanced:,} advanced, exit {done.code}; {tail(done.err)}"]


def tick_document(done: Run) -> dict[str, Any]:
    try:
        found = json.loads(done.out)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def tick_in_process(stores: Stores, p: Prepared) -> tuple[float, list[str]]:
    """`tick(store, TICK_AT)` on a fresh clone with a warm store; only the tick is timed."""
    url = stores.clone(p.name, "inproc")
    store = warm(Store(url))
    started = time.perf_counter()
    report = tick(store, TICK_AT)
    seconds = elapsed(started)
    store.engine.dispose()
    stores.drop("inproc")
    advanced = len(report.of("advance"))
    if advanced == p.due and not report.retry and not report.failed:
        return seconds, []
    return seconds, [f"in-process tick: {advanced:,} advanced, {len(report.failed)} failed"]


def warm(store: Store) -> Store:
    """Read what a daemon's store holds after its first tick: definition, people, milestones."""
    store.definition("individual-tender", 1)
    store.people()
    for name in store.programme_names():
        store.milestones(name)
        store.language(name)
    store.due_for_check(TICK_AT.replace(year=2000))
    return store


# 3. Concurrency


def bench_concurrency(stores: Stores, p: Prepared, s: Settings, r: Results) -> None:
    for _ in range(s.repeats):
        reference: list[tuple[Any, ...]] | None = None
        for n in PROCESSES:
            found, events = concurrent_tick(stores, p, n, reference)
            reference = events if reference is None else reference
            r.concurrent.setdefault((stores.name, n), []).append(found)


def concurrent_tick(
    stores: Stores, p: Prepared, n: int, reference: list[tuple[Any, ...]] | None
) -> tuple[ConcurrentTick, list[tuple[Any, ...]]]:
    """n ticks at once on a fresh clone; the events they wrote, compared with one tick's."""
    url = stores.clone(p.name, f"conc{n}")
    children = [start(command(url, "tick", "--json"), keep=True) for _ in range(n)]
    runs = [finish(child) for child in children]
    seconds = max(x.ended for x in runs) - min(x.started for x in runs)
    with engine_of(url) as engine:
        events, left = new_events(engine, TICK_AT), census(engine).due
    stores.drop(f"conc{n}")
    docs = [tick_document(done) for done in runs]
    found = ConcurrentTick(
        seconds=seconds, advanced=sum(len(d.get("advanced", ())) for d in docs),
        retry=sum(len(d.get("retry", ())) for d in docs),
        failed=sum(len(d.get("failed", ())) for d in docs) + sum(not d for d in docs),
        extra=newer_fields(docs), peak_kib=max(done.peak_kib for done in runs),
        events=len(events), same_events=events == (reference if reference is not None else events), left_due=left,
    )  # fmt: skip
    return found, events


def newer_fields(docs: Sequence[dict[str, Any]]) -> dict[str, int]:
    """`rolled_back` and `claimed`, summed, if the tick document has them (a list or a count)."""
    found: dict[str, int] = {}
    for doc in docs:
        for key in ("rolled_back", "claimed"):
            value = doc.get(key)
            if isinstance(value, list | dict):
                found[key] = found.get(key, 0) + len(value)
            elif isinstance(value, int | float):
                found[key] = found.get(key, 0) + int(value)
    return found


def check_concurrency(backend: str, p: Prepared, r: Results) -> None:
    """Each n: in every repeat, the events one tick writes, each due tender advanced once."""
    for n in PROCESSES:
        runs = r.concurrent[(backend, n)]
        bad = [t for t in runs if not t.same_events or t.left_due or t.advanced != p.due]
        t = (bad or runs)[0]
        r.check(f"{backend}, {n} at once: {t.events:,} events, those of one tick (none twice, "
                f"none missing), {p.due:,} advanced, nothing left due", not bad,
                f"same events: {yes(t.same_events)}, {t.advanced:,} advanced, "
                f"{t.left_due:,} left due")  # fmt: skip


def yes(ok: bool) -> str:
    return "yes" if ok else "no"


# The profile


def profile(stores: Stores, p: Prepared) -> str:
    """cProfile of `kflow tender list --overdue` in its own process: the top entries, as text."""
    text = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "list.prof"
        argv = command(p.url, "tender", "list", "--overdue")
        argv[1:1] = ["-m", "cProfile", "-o", str(out)]
        done = run(argv)
        print(f"\ncProfile of `kflow tender list --overdue` on {stores.name}, {p.size:,} tenders "
              f"({done.lines - 1:,} rows, {done.seconds:.1f} s under the profiler)", file=text)  # fmt: skip
        stats = pstats.Stats(str(out), stream=text).strip_dirs()
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
    return text.getvalue()


# A backend, from start to end


@contextmanager
def backend(name: str, folder: Path, s: Settings, r: Results) -> Iterator[Stores]:
    if name == "sqlite":
        yield SqliteStores(folder)
        return
    with throwaway_cluster(keep=s.keep) as cluster:
        r.versions["PostgreSQL"] = cluster.version()
        if s.keep:
            print(f"PostgreSQL cluster kept (stopped) in {cluster.folder}")
        yield PostgresStores(cluster)


def bench_backend(stores: Stores, s: Settings, definition: Definition, r: Results) -> None:
    prepared = prepare(stores, s, definition, r)
    for size in s.sizes:
        r.prepared[(stores.name, size)] = prepared[(size, due_at(size))]
        bench_size(stores, prepared[(size, due_at(size))], s, r)
    bench_concurrency(stores, prepared[s.concurrency], s, r)
    check_concurrency(stores.name, prepared[s.concurrency], r)
    if s.profile:
        r.profiles.append(profile(stores, r.prepared[(stores.name, min(s.sizes))]))


# The report


def report(s: Settings, r: Results, total: float) -> None:
    print_header(s, r)
    print_builds(r)
    for name in s.backends:
        for size in s.sizes:
            print_size(name, r.prepared[(name, size)], r)
    print_concurrency(s, r)
    print_checks(r)
    print_goals(s, r)
    for text in r.profiles:
        print(text, end="")
    print(f"\nwhole run: {total / 60:.1f} min")


def print_header(s: Settings, r: Results) -> None:
    print(f"konkurrence-flow scale benchmark: min / median of {s.repeats}; "
          f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
          + "".join(f"{k} {v}, " for k, v in r.versions.items())
          + f"SQLAlchemy {version('SQLAlchemy')}, psycopg {version('psycopg')}; "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"package at {source_version()}; the clock at {NOW}")


def print_builds(r: Results) -> None:
    print("\nbuilding the stores (not timed as figures)")
    for name, label, seconds, size in r.builds:
        disk = f"{size / 2**20:>9,.0f} MiB" if size is not None else ""
        print(f"  {name:<11}{label:<58}{seconds:>8.1f} s{disk}")


def print_size(name: str, p: Prepared, r: Results) -> None:
    c = p.census
    print(f"\n{name}, {p.size:,} tenders ({c.events:,} events): {p.due:,} due at the clock, "
          f"{c.overdue:,} overdue")  # fmt: skip
    print(f"  {'kflow ...':<38}{'s, min / median':>20}{'peak MiB, min / med':>22}{'lines out':>12}")
    for label in [TICK] + [label for label, _ in READS]:
        runs = r.runs[(name, p.size, label)]
        low, mid = spread([x.seconds for x in runs])
        mem = spread([x.peak_mib for x in runs])
        print(f"  {label:<38}{low:>10.2f} / {mid:<7.2f}{mem[0]:>12.0f} / {mem[1]:<7.0f}"
              f"{runs[-1].lines:>12,}")  # fmt: skip
    low, mid = spread([x * 1000 / p.due for x in r.in_process[(name, p.size)]])
    print(f"  {'in-process tick, ms per due tender':<38}{low:>10.3f} / {mid:<7.3f}")


def print_concurrency(s: Settings, r: Results) -> None:
    size, due = s.concurrency
    print(f"\nconcurrency: {size:,} tenders, {due:,} due; n `kflow tick --json` started together")
    print(f"  {'backend':<12}{'n':>3}{'wall s, min / median':>24}{'speed-up':>10}"
          f"{'retry':>8}{'failed':>8}{'conflicts':>11}{'peak MiB':>10}  newer fields")  # fmt: skip
    for name in s.backends:
        previous = None
        for n in PROCESSES:
            runs = r.concurrent[(name, n)]
            low, mid = spread([t.seconds for t in runs])
            gain = f"{previous / low:.2f}x" if previous else ""
            worst = max(runs, key=lambda t: t.conflicts)
            share = 100 * worst.conflicts / due
            extra = ", ".join(f"{k} {v:,}" for k, v in worst.extra.items()) or "-"
            print(f"  {name:<12}{n:>3}{low:>14.2f} / {mid:<7.2f}{gain:>10}{worst.retry:>8,}"
                  f"{worst.failed:>8,}{share:>10.1f}%{worst.peak_kib / 1024:>10.0f}  {extra}")  # fmt: skip
            previous = low
    print("  (retry, failed, conflicts: the worst repeat; speed-up: against n/2 processes, by min)")


def print_checks(r: Results) -> None:
    print("\nchecks: the work measured is the right work")
    for label, ok, detail in r.checks:
        print(f"  {'ok   ' if ok else 'WRONG'}  {label}" + (f" ({detail})" if detail else ""))


def print_goals(s: Settings, r: Results) -> None:
    print(f"\n  {'goal (the issue)':<68}{'value':>16}  {'goal':<20}verdict")
    for label, value, goal, ok in goals(s, r):
        print(f"  {label:<68}{value:>16}  {goal:<20}{verdict(ok)}")
    print("  (times: min of the repeats; memory: peak resident set of the process, max of them)")


def goals(s: Settings, r: Results) -> list[tuple[str, str, str, bool]]:
    big = max(s.sizes)
    rows = []
    if "postgresql" in s.backends:
        t = min(x.seconds for x in r.runs[("postgresql", big, TICK)])
        rows.append((f"postgresql {big:,}: `kflow tick --json`, {due_at(big):,} due",
                     f"{t:.2f} s", f"<= {GOAL_TICK_S:g} s", t <= GOAL_TICK_S))  # fmt: skip
    for name in s.backends:
        ms = min(r.in_process[(name, big)]) * 1000 / due_at(big)
        rows.append((f"{name} {big:,}: catch-up per due tender (in process)", f"{ms:.3f} ms",
                     f"<= {GOAL_CATCH_UP_MS:g} ms", ms <= GOAL_CATCH_UP_MS))  # fmt: skip
    if "postgresql" in s.backends:
        rows += concurrency_goals(s, r)
    for name in s.backends:
        runs = r.runs[(name, big, NOTHING)]
        t, mib = min(x.seconds for x in runs), max(x.peak_mib for x in runs)
        rows.append((f"{name} {big:,}: `tender list --overdue`, nothing overdue yet",
                     f"{t:.2f} s; {mib:.0f} MiB", f"<= {GOAL_LIST_S:g} s; {GOAL_LIST_MIB:g} MiB",
                     t <= GOAL_LIST_S and mib <= GOAL_LIST_MIB))  # fmt: skip
        runs = r.runs[(name, big, "tender list --overdue")]
        t, mib = min(x.seconds for x in runs), max(x.peak_mib for x in runs)
        rows.append((f"{name} {big:,}: `tender list --overdue`, time", f"{t:.2f} s",
                     f"<= {GOAL_LIST_S:g} s", t <= GOAL_LIST_S))  # fmt: skip
        rows.append((f"{name} {big:,}: `tender list --overdue`, peak memory", f"{mib:.0f} MiB",
                     f"<= {GOAL_LIST_MIB:g} MiB", mib <= GOAL_LIST_MIB))  # fmt: skip
    return rows


def concurrency_goals(s: Settings, r: Results) -> list[tuple[str, str, str, bool]]:
    best = {n: min(t.seconds for t in r.concurrent[("postgresql", n)]) for n in PROCESSES}
    worst = max(r.concurrent[("postgresql", 2)], key=lambda t: t.conflicts)
    share = 100 * worst.conflicts / s.concurrency[1]
    due = f"{s.concurrency[1]:,} due"
    return [
        (f"postgresql, {due}: speed-up, two schedulers / one", f"{best[1] / best[2]:.2f}x",
         f">= {GOAL_TWO:g}x", best[1] / best[2] >= GOAL_TWO),
        (f"postgresql, {due}: conflicts with two schedulers", f"{share:.1f} %",
         f"< {GOAL_CONFLICTS:g} %", share < GOAL_CONFLICTS),
        (f"postgresql, {due}: speed-up, four schedulers / two", f"{best[2] / best[4]:.2f}x",
         ">= 1x", best[4] <= best[2]),
    ]  # fmt: skip


# The command line


def settings(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10^3 and 10^4 tenders, 1 repeat")
    parser.add_argument("--sizes", help="tenders per store, comma-separated (100000,1000000)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeats", type=int, help="repeats of every figure (3; 1 with --quick)")
    parser.add_argument("--keep", action="store_true", help="keep the stores; print where")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile `tender list --overdue` at the smallest size")  # fmt: skip
    args = parser.parse_args(argv)
    default = (1_000, 10_000) if args.quick else (100_000, 1_000_000)
    sizes = tuple(int(n) for n in args.sizes.split(",")) if args.sizes else default
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    conc = (1_000, 100) if args.quick else (100_000, 10_000)
    repeats = args.repeats or (1 if args.quick else 3)
    return Settings(tuple(sorted(sizes)), backends, repeats, conc, args.keep, args.profile)


def main(argv: Sequence[str] | None = None) -> None:
    started = time.perf_counter()
    s, r = settings(argv), Results()
    definition = load_definition(DEFINITION)
    folder = Path(tempfile.mkdtemp(prefix="kflow-scale-"))
    try:
        for name in s.backends:
            with backend(name, folder, s, r) as stores:
                bench_backend(stores, s, definition, r)
    finally:
        if s.keep:
            print(f"SQLite stores kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    report(s, r, elapsed(started))
    if not all(ok for _, ok, _ in r.checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
