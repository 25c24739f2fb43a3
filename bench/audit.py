"""Benchmark: `audit.verify` over 100,000 and 1,000,000 events, against a plain read of the same rows.

Run it from the repository root:

    .venv/bin/python bench/audit.py            # full run: 100,000 vs 1,000,000 events
    .venv/bin/python bench/audit.py --quick    # smoke run: 10,000 vs 100,000 events, fewer repeats
    .venv/bin/python bench/audit.py --profile  # and a cProfile of one verify of the small store
    .venv/bin/python bench/audit.py --tracemalloc  # and Python's peak allocations (5x slower verify)

This is not a timed test. It prints figures and compares them with baselines measured in the same
run, on the same machine, so that the verdicts are ratios rather than absolute times. Every figure
is the best of several repeats (a shared machine only ever makes a run slower).

What is measured (bench/README.md says more):

1. `audit.verify(store)` on a SQLite file store of 100,000 events and on one of 1,000,000 (10 events
   per tender: a whole life in the individual-tender definition, with notes in Danish, facts, an
   overdue flag and a moved due date). The stores are made by `Store.init` and filled with bulk
   inserts through the package's own tables, each event hashed exactly as the store hashes it.
   The issue's goal: verify stays linear, so its cost per event at 10^6 is within 1.5x that at 10^5.
2. baselines on the same rows: the very SELECT verify streams (events joined to their tender, in
   (tender, seq) order) read through SQLAlchemy Core with no hashing, the same SQL through bare
   `sqlite3`, and `chain.event_hash` alone in memory;
3. the memory of a fresh process that opens each store and verifies it: how far its resident set
   grows during verify (Linux: VmHWM reset before it), and with `--tracemalloc` the peak of Python's
   allocations during a second verify, traced. Verify streams (5,000 rows fetched at a time, one
   tender's chain in memory), so 10x the events should take no more memory;
4. `take_head` (the store-wide digest) at both sizes;
5. the upgrade of a store made by v0.1.0 (schema r1, no hashes, no `kflow_version`) holding as
   many events as the small store: `migrate.upgrade` to the newest revision, as `kflow init` runs
   it, whose work is r2's (copying the event and tender tables to add the hash columns, then the
   backfill that hashes every event), in microseconds per event; the upgraded store must verify
   and hold the very hashes the store writes live.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from common import print_profile, source_version, verdict
from sqlalchemy import Engine, create_engine, delete, insert, outerjoin, select, text
from sqlalchemy.dialects import sqlite as sqlite_dialect

from konkurrence_flow import audit, chain, migrate
from konkurrence_flow.chain import GENESIS, Content, event_hash
from konkurrence_flow.municipalities import all_municipalities
from konkurrence_flow.rows import T_EVENT, T_TENDER, T_TM
from konkurrence_flow.store import Store

CPH = ZoneInfo("Europe/Copenhagen")
START = datetime(2007, 8, 1, 9, 0, tzinfo=CPH)  # the first tender's creation
EVENTS_EACH = 10  # events per tender
CHUNK = 2_000  # tenders per executemany while building a store
STREAM = audit.STREAM  # rows fetched at a time, as verify fetches them
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=CPH)  # when the heads are taken

GOAL_LINEAR = 1.5  # the issue: verify stays linear (per event at 10^6 within 1.5x that at 10^5)
GOAL_MEMORY = 1.5  # verify streams: 10x the events, not much more memory


@dataclass(frozen=True)
class Settings:
    """How big and how often: events in each store, repeats of each timing."""

    small: int
    big: int
    backfill: int
    small_repeats: int
    big_repeats: int
    profile: bool
    tracemalloc: bool


# The workload: one tender's whole life, ten events, its values varied by the tender's number

AREAS = ("SUND", "BESK", "AELD", "TEKN", "ADM")
WINNERS = ("Falck Health Care A/S", "Det Danske Madhus A/S", "Rehab Partner ApS",
           "Jobcenter Odense (kontrolbud)", "Ærø Pleje ApS", "Coloplast Danmark A/S")  # fmt: skip
SCOPES = ("Skoler i Åby, Ørsted og Æbeltoft", "Genoptræning efter sygehusophold",
          "Madservice til hjemmeboende ældre", "Vintertjeneste på kommuneveje")  # fmt: skip
NOTES = {
    "approve_scope": "Besluttet i byrådet",
    "decide_award": "Tre konditionsmæssige tilbud; {winner} bedst på kvalitet",
    "sign_contract": "Kontrakten underskrevet efter standstill-perioden",
}
# kind, trigger, source, dest, who (the leader, the system or the secretariat), days after creation
LIFE = (
    ("system", None, None, "scoping", "system", 0),
    ("human", "approve_scope", "scoping", "materials", "leader", 35),
    ("human", "publish", "materials", "publication", "leader", 61),
    ("timer", "close_bidding", "publication", "award", "system", 113),
    ("system", None, "award", "award", "system", 145),  # the award is late: flagged overdue
    ("human", "decide_award", "award", "standstill", "leader", 151),
    ("timer", "end_standstill", "standstill", "contracting", "system", 166),
    ("system", None, "contracting", "contracting", "system", 170),  # a milestone moved its due date
    ("human", "sign_contract", "contracting", "data_collection", "leader", 172),
    ("human", "complete", "data_collection", "done", "kl-sek", 230),
)  # fmt: skip
MEMBERS = tuple(all_municipalities())  # the 98 municipality codes


def tender_id(i: int) -> str:
    code = MEMBERS[i % len(MEMBERS)]
    return f"K{code}-{AREAS[i % len(AREAS)]}-{i:06d}"


def life_data(i: int, trigger: str | None, step: int, day: datetime) -> dict[str, Any]:
    """The small `data` dict an event of tender `i` carries (most carry none)."""
    value = 900_000 + (i * 7_919 % 60) * 100_000
    if trigger == "approve_scope":
        return {"set": {"estimated_value": value, "scope_note": SCOPES[i % len(SCOPES)]}}
    if trigger == "publish":
        return {"set": {"tender_deadline": (day + timedelta(days=52)).date().isoformat()}}
    if trigger == "decide_award":
        return {"set": {"winner": WINNERS[i % len(WINNERS)], "contract_value": value}}
    if trigger == "complete":
        return {"set": {"baseline_cost": value + 800_000, "bidders": 2 + i % 5,
                        "in_house_bid": i % 7 == 0}}  # fmt: skip
    if step == 4:
        return {"overdue": (day - timedelta(days=3)).date().isoformat()}
    if step == 7:
        return {"due_moved": {"milestone": "tenders-concluded", "from": "2008-06-30",
                              "to": "2008-07-31"}}  # fmt: skip
    return {}


def described(i: int) -> dict[str, Any]:
    """Tender `i` as its creation event records it (`model.described`); its row says the same."""
    code = MEMBERS[i % len(MEMBERS)]
    return {"title": f"{SCOPES[i % len(SCOPES)]} ({code})", "municipalities": [code],
            "definition": "individual-tender", "definition_version": 1, "programme": None,
            "leader": f"pl-{code}", "area": AREAS[i % len(AREAS)].lower(), "procedure": "open",
            "regime": "eu-2004-18"}  # fmt: skip


def life(i: int, chained: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Tender `i`'s row and its ten event rows, hashed as `unit._record` hashes them (or not)."""
    tid, code = tender_id(i), MEMBERS[i % len(MEMBERS)]
    leader = f"pl-{code}"
    created = START + timedelta(days=i % 400, minutes=7 * (i % 480))
    events: list[dict[str, Any]] = []
    prev, facts = GENESIS, dict[str, Any]()
    for seq, (kind, trigger, source, dest, who, days) in enumerate(LIFE, start=1):
        occurred = created + timedelta(days=days, minutes=seq)
        recorded = occurred + timedelta(minutes=(i + seq) % 90)
        actor = leader if who == "leader" else who
        data: dict[str, Any] = (
            life_data(i, trigger, seq, occurred) if seq > 1 else {"tender": described(i)}
        )
        note = NOTES.get(trigger or "")
        if note is not None:
            note = note.format(winner=WINNERS[i % len(WINNERS)])
        facts.update(data.get("set", {}))
        row = {"tender_id": tid, "seq": seq, "kind": kind, "trigger": trigger, "source": source,
               "dest": dest, "actor": actor, "occurred_at": occurred, "recorded_at": recorded,
               "note": note, "data": data}  # fmt: skip
        if chained:
            content = Content(tid, seq, kind, trigger, source, dest, actor, occurred, recorded,
                              note, data)  # fmt: skip
            row["prev_hash"], row["hash"] = prev, event_hash(prev, content)
            prev = row["hash"]
        events.append(row)
    last = events[-1]["occurred_at"]
    said = {k: v for k, v in described(i).items() if k != "municipalities"}
    tender = {
        "id": tid, **said, "state": "done", "state_entered_at": last,
        "due": None, "timer_at": None, "next_check_at": None,
        "facts": facts, "signoffs": {}, "version": len(LIFE) + 1, "seq": len(LIFE), "visit": 8,
        "last_event_at": last, "created_at": created, "overdue_flagged_at": None, "reminded": [],
    }  # fmt: skip
    if chained:
        tender["chain_head"] = prev
    return tender, events


# Building the stores


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def fill(engine: Engine, events: int, chained: bool) -> None:
    """Insert events / 10 tenders and their events, CHUNK tenders per executemany, one transaction."""
    tenders = events // EVENTS_EACH
    with engine.begin() as conn:
        for start in range(0, tenders, CHUNK):
            lives = [life(i, chained) for i in range(start, min(start + CHUNK, tenders))]
            conn.execute(insert(T_TENDER), [t for t, _ in lives])
            members = [{"tender_id": t["id"], "municipality": t["id"].split("-")[0][1:],
                        "position": 0} for t, _ in lives]  # fmt: skip
            conn.execute(insert(T_TM), members)
            conn.execute(insert(T_EVENT), [e for _, evs in lives for e in evs])


def seal(engine: Engine) -> None:
    """Checkpoint the WAL into the file and close every connection: the file is then complete."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


def build_store(path: Path, events: int) -> None:
    """A store at the newest schema (`Store.init`), filled with hashed events."""
    store = Store(sqlite_url(path))
    store.init("kl-sek")
    fill(store.engine, events, chained=True)
    seal(store.engine)


def build_v010_store(path: Path, events: int) -> None:
    """A store as v0.1.0 made it: schema r1, no `kflow_version`, events without hashes."""
    engine = create_engine(sqlite_url(path))
    migrate.upgrade(engine, "r1")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE kflow_version"))
    fill(engine, events, chained=False)
    engine.dispose()


def check_report(report: audit.Report, events: int, where: str) -> None:
    """Fail loudly: the benchmark's figures mean nothing if the store does not verify whole."""
    tenders = events // EVENTS_EACH
    if not report.ok or report.events != events or report.tenders != tenders:
        breaks = "; ".join(str(b) for b in report.breaks[:3])
        raise RuntimeError(
            f"{where}: verify found ok={report.ok}, {report.events:,} events of {events:,}, "
            f"{report.tenders:,} tenders of {tenders:,}: {breaks}"
        )


# Timing


def best_seconds(repeats: int, prepare: Callable[[], Callable[[], Any]]) -> tuple[float, Any]:
    """The fastest of `repeats` runs and its result; `prepare()` is untimed, its result is timed."""
    best, result = float("inf"), None
    for _ in range(repeats):
        run = prepare()
        started = time.perf_counter()
        found = run()
        seconds = time.perf_counter() - started
        if seconds < best:
            best, result = seconds, found
    return best, result


def stream_query() -> Any:
    """The SELECT that verify streams: every event joined to its tender, in (tender, seq) order."""
    joined = outerjoin(T_EVENT, T_TENDER, T_EVENT.c.tender_id == T_TENDER.c.id)
    return select(
        T_EVENT, T_TENDER.c.id.label("row_id"), T_TENDER.c.seq.label("row_seq"),
        T_TENDER.c.chain_head.label("row_head"),
    ).select_from(joined).order_by(T_EVENT.c.tender_id, T_EVENT.c.seq)  # fmt: skip


def read_core(store: Store) -> int:
    """Baseline: the same rows through SQLAlchemy Core (types converted), nothing else."""
    count = 0
    with store.engine.connect() as conn:
        for _row in conn.execution_options(yield_per=STREAM).execute(stream_query()):
            count += 1
    return count


def read_sqlite(path: Path) -> int:
    """Baseline: the same SQL through bare `sqlite3` (text as stored, no conversion)."""
    sql = str(stream_query().compile(dialect=sqlite_dialect.dialect()))
    count = 0
    conn = sqlite3.connect(path)
    try:
        cursor = conn.execute(sql)
        while rows := cursor.fetchmany(STREAM):
            count += len(rows)
    finally:
        conn.close()
    return count


def contents(events: int) -> list[tuple[str, Content]]:
    """Every event of a store of `events`, as (prev, content) pairs in memory."""
    found = []
    for i in range(events // EVENTS_EACH):
        for row in life(i, chained=True)[1]:
            content = Content(*(row[k] for k in (
                "tender_id", "seq", "kind", "trigger", "source", "dest", "actor", "occurred_at",
                "recorded_at", "note", "data")))  # fmt: skip
            found.append((row["prev_hash"], content))
    return found


def hash_all(pairs: Sequence[tuple[str, Content]]) -> int:
    """Baseline: `chain.event_hash` alone, on contents already in memory."""
    for prev, content in pairs:
        event_hash(prev, content)
    return len(pairs)


def clear_checkpoints(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(audit.T_CHECK))


def memory_of(path: Path, events: int, traced: bool) -> dict[str, int]:
    """What `probe_memory` finds in a fresh process that verifies the store at `path`."""
    command = [sys.executable, __file__, "--memory-of", str(path), "--events", str(events)]
    command += ["--tracemalloc"] if traced else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the memory probe failed: {done.stderr}")
    found: dict[str, int] = json.loads(done.stdout.splitlines()[-1])
    return found


def probe_memory(path: Path, events: int, traced: bool) -> None:
    """In the child: open the store and read one row; then verify, printing the resident memory
    before (KiB) and its peak during verify; when `traced`, verify again under tracemalloc for the
    peak of Python's own allocations (bytes; apart, as tracing costs memory and time of its own)."""
    store = Store(sqlite_url(path))
    with store.engine.connect() as conn:
        conn.execute(select(T_EVENT).limit(1)).all()
    before = rss("VmRSS")
    reset_peak_rss()
    check_report(audit.verify(store), events, f"memory probe of {path.name}")
    found = {"before": before, "peak": rss("VmHWM")}
    if traced:
        tracemalloc.start()
        check_report(audit.verify(store), events, f"memory probe of {path.name}")
        found["traced"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(json.dumps(found))


STATUS = Path("/proc/self/status")


def rss(key: str) -> int:
    """The process's resident memory now (VmRSS) or at its peak (VmHWM), KiB; without /proc
    (not Linux), the peak since the process started."""
    if STATUS.exists():
        for line in STATUS.read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak_rss() -> None:
    """Start VmHWM afresh from the current RSS (Linux >= 4.0; elsewhere the peak stays the
    process's, imports included)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


# The benchmarks


@dataclass
class Results:
    """Every figure of the run, in seconds unless named otherwise."""

    verify: dict[str, float] = field(default_factory=dict)
    core: dict[str, float] = field(default_factory=dict)
    sqlite: dict[str, float] = field(default_factory=dict)
    hashing: float = 0.0  # seconds for the small store's events
    memory: dict[str, dict[str, int]] = field(default_factory=dict)
    head: dict[str, float] = field(default_factory=dict)
    backfill: float = 0.0
    backfill_same: bool | None = None  # None: the sizes differ, nothing to compare
    setup: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Sized:
    """One prepared store: its name, file and number of events."""

    name: str
    path: Path
    events: int
    repeats: int


def stopwatch(r: Results, name: str, call: Callable[[], Any]) -> Any:
    """Run an untimed set-up step, recording how long it took (for the run's summary)."""
    started = time.perf_counter()
    found = call()
    r.setup[name] = time.perf_counter() - started
    return found


def bench_store(s: Sized, r: Results) -> None:
    """verify, the two plain reads and take_head on one store."""
    store = Store(sqlite_url(s.path))

    def verify() -> audit.Report:
        report = audit.verify(store)
        check_report(report, s.events, f"the {s.name} store")
        return report

    r.verify[s.name], _ = best_seconds(s.repeats, lambda: verify)
    r.core[s.name], count = best_seconds(s.repeats, lambda: lambda: read_core(store))
    r.sqlite[s.name], raw = best_seconds(s.repeats, lambda: lambda: read_sqlite(s.path))
    if count != s.events or raw != s.events:
        raise RuntimeError(f"the plain reads found {count:,} and {raw:,} events, not {s.events:,}")

    def head() -> Callable[[], audit.Checkpoint]:
        clear_checkpoints(store)
        return lambda: audit.take_head(store, NOW)

    r.head[s.name], checkpoint = best_seconds(s.repeats, head)
    if checkpoint.events != s.events or checkpoint.tenders != s.events // EVENTS_EACH:
        raise RuntimeError(f"take_head covered {checkpoint.events:,} events, not {s.events:,}")
    clear_checkpoints(store)
    store.engine.dispose()


def bench_hashing(s: Settings, r: Results) -> None:
    pairs = contents(s.small)
    r.hashing, _ = best_seconds(s.small_repeats, lambda: lambda: hash_all(pairs))


def heads(path: Path) -> str:
    """The digest over every tender's (id, seq, chain_head), as stored."""
    conn = sqlite3.connect(path)
    try:
        found = conn.execute("SELECT id, seq, chain_head FROM tender").fetchall()
    finally:
        conn.close()
    return chain.digest((t, seq, head or "") for t, seq, head in found)


def bench_backfill(s: Settings, folder: Path, r: Results, live: Path | None) -> None:
    """The upgrade of a v0.1.0 store (r2 backfills the hashes), each repeat on a fresh copy."""
    prepared, copy = folder / "v010.db", folder / "v010-copy.db"
    stopwatch(
        r, f"v0.1.0 store, {s.backfill:,} events", lambda: build_v010_store(prepared, s.backfill)
    )

    def upgrade() -> Callable[[], tuple[migrate.Status, migrate.Status]]:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(prepared, copy)
        engine = Store(sqlite_url(copy)).engine
        return lambda: migrate.upgrade(engine)

    r.backfill, (before, after) = best_seconds(s.small_repeats, upgrade)
    if not before.legacy or before.revision != "r1" or after.state != "current":
        raise RuntimeError(f"the upgrade went from {before} to {after}")
    upgraded = Store(sqlite_url(copy))
    check_report(audit.verify(upgraded), s.backfill, "the upgraded v0.1.0 store")
    upgraded.engine.dispose()
    r.backfill_same = None if live is None else heads(copy) == heads(live)


def profile(small: Path) -> None:
    store = Store(sqlite_url(small))
    print_profile(f"audit.verify of the small store ({small.name})", audit.verify, store)
    store.engine.dispose()


# The report


def per_event(seconds: float, events: int) -> float:
    """Microseconds per event."""
    return seconds * 1e6 / events


def report(s: Settings, r: Results) -> None:
    print_header(s)
    print_verify(s, r)
    print_baselines(s, r)
    print_memory(s, r)
    print_others(s, r)
    print_checks(s, r)


def print_header(s: Settings) -> None:
    print(f"konkurrence-flow audit benchmark: verify at {s.small:,} and {s.big:,} events "
          f"({EVENTS_EACH} per tender); best of {s.small_repeats} (small), {s.big_repeats} (big)")  # fmt: skip
    print(f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
          f"SQLAlchemy {version('SQLAlchemy')}; {os.cpu_count()} CPUs")  # fmt: skip
    print(f"package at {source_version()}")


def sizes(s: Settings) -> dict[str, int]:
    return {"small": s.small, "big": s.big}


def print_verify(s: Settings, r: Results) -> None:
    print("\n1. audit.verify(store): every event read, re-hashed and checked (SQLite file, warm)")
    print(f"  {'store':<8}{'events':>12}{'tenders':>10}{'s':>10}{'events/s':>12}{'us/event':>10}")
    for name, events in sizes(s).items():
        seconds = r.verify[name]
        print(f"  {name:<8}{events:>12,}{events // EVENTS_EACH:>10,}{seconds:>10.3f}"
              f"{events / seconds:>12,.0f}{per_event(seconds, events):>10.2f}")  # fmt: skip


def print_baselines(s: Settings, r: Results) -> None:
    print("\n2. the same rows without verify (us per event)")
    print(f"  {'':<62}{'small':>8}{'big':>8}")
    n = sizes(s)
    hashing = per_event(r.hashing, s.small)
    rows = [
        ("verify (read, rebuild the chain, re-hash, check)", r.verify),
        ("baseline: the same SELECT through SQLAlchemy Core, no hashing", r.core),
        ("baseline: the same SQL through bare sqlite3", r.sqlite),
    ]
    for label, figures in rows:
        print(f"  {label:<62}" + "".join(f"{per_event(figures[k], n[k]):>8.2f}" for k in n))
    print(f"  {'baseline: chain.event_hash alone, in memory':<62}{hashing:>8.2f}{'':>8}")
    print(f"  {'ratios':<62}{'small':>8}{'big':>8}")
    ratios = [
        ("verify / Core read", lambda k: r.verify[k] / r.core[k]),
        ("verify / bare sqlite3 read", lambda k: r.verify[k] / r.sqlite[k]),
        ("verify / (Core read + hashing alone)",
         lambda k: per_event(r.verify[k], n[k]) / (per_event(r.core[k], n[k]) + hashing)),
    ]  # fmt: skip
    for label, ratio in ratios:
        print(f"  {label:<62}" + "".join(f"{ratio(k):>8.2f}" for k in n))


def print_memory(s: Settings, r: Results) -> None:
    print("\n3. memory of a fresh process that opens the store and verifies it (MiB): RSS before\n"
          "   verify and its peak during it (with --tracemalloc: Python's peak allocations in it)")  # fmt: skip
    traced = f"{'traced peak':>13}" if s.tracemalloc else ""
    print(f"  {'store':<8}{'events':>12}{'RSS before':>12}{'RSS peak':>10}{'growth':>8}{traced}")
    for name, events in sizes(s).items():
        m = r.memory[name]
        traced = f"{m['traced'] / 2**20:>13.2f}" if s.tracemalloc else ""
        print(f"  {name:<8}{events:>12,}{m['before'] / 1024:>12.1f}{m['peak'] / 1024:>10.1f}"
              f"{growth(m) / 1024:>8.1f}{traced}")  # fmt: skip


def growth(memory: Mapping[str, int]) -> int:
    """How far the resident set grew during verify (KiB; at least 1)."""
    return max(1, memory["peak"] - memory["before"])


def print_others(s: Settings, r: Results) -> None:
    print("\n4. take_head(store, now): the store-wide digest")
    print(f"  {'store':<8}{'events':>12}{'s':>10}{'us/event':>10}")
    for name, events in sizes(s).items():
        print(f"  {name:<8}{events:>12,}{r.head[name]:>10.3f}"
              f"{per_event(r.head[name], events):>10.2f}")  # fmt: skip
    print(f"\n5. upgrade of a v0.1.0 store ({s.backfill:,} events, {s.backfill // EVENTS_EACH:,} "
          f"tenders) to {migrate.HEAD}: migrate.upgrade, r2's table copies and hash backfill")  # fmt: skip
    print(f"  {r.backfill:.3f} s, {per_event(r.backfill, s.backfill):.2f} us per event")


def print_checks(s: Settings, r: Results) -> None:
    linear = (r.verify["big"] / s.big) / (r.verify["small"] / s.small)
    rss = growth(r.memory["big"]) / growth(r.memory["small"])
    head = (r.head["big"] / s.big) / (r.head["small"] / s.small)
    rows = [
        ("every store verifies ok, every event and tender counted", "yes", "yes", "PASS"),
        ("verify per event, big store / small store", f"{linear:.3f}", f"<= {GOAL_LINEAR:g}",
         verdict(linear <= GOAL_LINEAR)),
        ("verify RSS growth, big store / small store", f"{rss:.3f}", f"< {GOAL_MEMORY:g}",
         verdict(rss < GOAL_MEMORY)),
        ("r2 backfill: the very hashes the store writes live", yes(r.backfill_same), "yes",
         "-" if r.backfill_same is None else verdict(r.backfill_same)),
        ("take_head per event, big store / small store (context)", f"{head:.3f}", "", "-"),
    ]  # fmt: skip
    if s.tracemalloc:
        memory = r.memory["big"]["traced"] / r.memory["small"]["traced"]
        rows.insert(
            3,
            (
                "verify peak allocations (traced), big store / small store",
                f"{memory:.3f}",
                f"< {GOAL_MEMORY:g}",
                verdict(memory < GOAL_MEMORY),
            ),
        )
    print(f"\n  {'check':<60}{'value':>8}  {'goal':<8}verdict")
    for label, value, goal, result in rows:
        print(f"  {label:<60}{value:>8}  {goal:<8}{result}".rstrip())


def yes(ok: bool | None) -> str:
    return "-" if ok is None else "yes" if ok else "no"


def print_setup(setup: Mapping[str, float], total: float) -> None:
    steps = "; ".join(f"{name} {seconds:.1f} s" for name, seconds in setup.items())
    print(f"\nset-up (untimed): {steps}\nwhole run: {total:.1f} s")


# The command line


def events_arg(text: str) -> int:
    n = int(text.replace("_", "").replace(",", ""))
    if n < EVENTS_EACH or n % EVENTS_EACH:
        raise argparse.ArgumentTypeError(f"a positive multiple of {EVENTS_EACH}: {text}")
    return n


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="10,000 vs 100,000 events, fewer repeats"
    )
    parser.add_argument("--small", type=events_arg, help="events in the small store (100,000)")
    parser.add_argument("--big", type=events_arg, help="events in the big store (1,000,000)")
    parser.add_argument("--backfill", type=events_arg, help="events upgraded (as --small)")
    parser.add_argument("--small-repeats", type=int, help="repeats on the small store (3)")
    parser.add_argument("--big-repeats", type=int, help="repeats on the big store (2)")
    parser.add_argument("--profile", action="store_true", help="cProfile one verify, small store")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also trace verify's allocations (slow)"
    )
    parser.add_argument("--memory-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def settings(args: argparse.Namespace) -> Settings:
    small, big, repeats = (10_000, 100_000, (2, 1)) if args.quick else (100_000, 1_000_000, (3, 2))
    small, big = args.small or small, args.big or big
    return Settings(
        small=small, big=big, backfill=args.backfill or small,
        small_repeats=max(1, args.small_repeats or repeats[0]),
        big_repeats=max(1, args.big_repeats or repeats[1]), profile=args.profile,
        tracemalloc=args.tracemalloc,
    )  # fmt: skip


def stores(s: Settings, folder: Path) -> Iterator[Sized]:
    yield Sized("small", folder / "small.db", s.small, s.small_repeats)
    yield Sized("big", folder / "big.db", s.big, s.big_repeats)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.memory_of is not None:
        probe_memory(args.memory_of, args.events, args.tracemalloc)
        return
    started = time.perf_counter()
    s, r = settings(args), Results()
    with tempfile.TemporaryDirectory(prefix="kflow-bench-") as tmp:
        folder = Path(tmp)
        prepared = list(stores(s, folder))
        for sized in prepared:
            build = partial(build_store, sized.path, sized.events)
            stopwatch(r, f"{sized.name} store, {sized.events:,} events", build)
        for sized in prepared:
            bench_store(sized, r)
            r.memory[sized.name] = memory_of(sized.path, sized.events, s.tracemalloc)
        bench_hashing(s, r)
        live = prepared[0].path if s.backfill == s.small else None
        bench_backfill(s, folder, r, live)
        report(s, r)
        if s.profile:
            profile(prepared[0].path)
    print_setup(r.setup, time.perf_counter() - started)


if __name__ == "__main__":
    main()
