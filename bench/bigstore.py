"""Big stores for the benchmarks: a few hundred tenders made through the API, then copied in SQL.

The 400 templates are real tenders of the shipped individual-tender definition, in two programmes
over ten municipalities (one project leader each, and the secretariat `kl-sek`):

| group | how many | programme | where it is at TICK_AT | owed at TICK_AT |
|---|---:|---|---|---|
| `L` late in scoping | 100 | bench-late (areas decided 2007-09-30) | scoping, overdue, flagged | nothing |
| `M` late in materials | 90 | bench-late (launched 2008-03-31) | materials, overdue, flagged | nothing |
| `W` waiting in scoping | 120 | bench-far (every milestone from 2012) | scoping | first reminder in 2012 |
| `A` waiting in materials | 50 | bench-far | materials | first reminder in 2013 |
| `X` cancelled | 20 | 10 of each | cancelled (final) | nothing |
| `D` due | 20 | bench-far | publication, bid period expired | `close_bidding` (and for half, the award's reminder and overdue flag) |

The late ones were flagged by a tick at PREP_AT, so that nothing is owed them at TICK_AT
(`next_check_at` is empty); half of the `D` tenders were published on 2008-03-03 (their award,
due six weeks after the bidding closed on 2008-04-24, is late by TICK_AT), half on 2008-04-15.

`grow` copies the templates with INSERT ... SELECT into the package's own tables (tender,
tender_municipality, step, event: every row of a template, its id prefixed `C<k>-`), until the
store holds `size` tenders of which exactly `due` are owed something at TICK_AT (copies of `D`),
and the other tenders are copies of the 380 others in turn, so that half of them are overdue.
The copies' events keep their template's hashes: `audit verify` would report them (nothing here
runs it); each copy's `chain_head` is its last event's hash, so the scheduler chains on correctly.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pgcluster import Cluster
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    cast,
    create_engine,
    func,
    insert,
    literal,
    not_,
    select,
    text,
)

from konkurrence_flow.calendar import local_date, parse_instant, start_of_day
from konkurrence_flow.definitions import Definition
from konkurrence_flow.municipalities import all_municipalities
from konkurrence_flow.programme import parse_programme
from konkurrence_flow.rows import T_EVENT, T_STEP, T_TENDER, T_TM
from konkurrence_flow.scheduler import tick
from konkurrence_flow.store import NewTender, Store
from konkurrence_flow.unit import Unit

KIND = "individual-tender"
REGIME = "eu-2004-18"  # Directive 2004/18/EC: open procedure, 52-day tender period (Art. 38(2))
FINAL = ("done", "cancelled")  # the definition's final states

CREATED = parse_instant("2007-06-01")
APPROVED = date(2007, 8, 20)  # + up to 19 days
PREP_AT = parse_instant("2008-04-05")  # a tick flags the late ones (materials due 2008-03-31)
PUBLISHED = (parse_instant("2008-03-03"), parse_instant("2008-04-15"))  # closing 04-24, 06-06
CLOCK = "2008-06-16T06:00"  # the benchmark's clock (Copenhagen time), as `--now` gives it
TICK_AT = parse_instant(CLOCK)
TODAY = local_date(TICK_AT)

GROUPS = {"L": 100, "M": 90, "W": 120, "A": 50, "X": 20, "D": 20}
OVERDUE_GROUPS = ("L", "M")
TEMPLATES = sum(GROUPS.values())
DUE_TEMPLATES = GROUPS["D"]
MUNICIPALITIES = 10

LATE = {"areas-decided": date(2007, 9, 30), "tenders-launched": date(2008, 3, 31),
        "tenders-concluded": date(2008, 6, 30), "results-collected": date(2008, 9, 30)}  # fmt: skip
FAR = {name: date(2012 + n, 9, 30) for n, name in enumerate(LATE)}


@dataclass(frozen=True)
class Template:
    """One template tender: its id, group and programme."""

    id: str
    group: str
    programme: str
    municipality: str

    @property
    def due(self) -> bool:
        return self.group == "D"


# The templates, through the package's API


def templates() -> list[Template]:
    codes = list(all_municipalities())[:MUNICIPALITIES]
    found, n = [], 0
    for group, count in GROUPS.items():
        for i in range(count):
            late = group in OVERDUE_GROUPS or (group == "X" and i % 2 == 0)
            programme = "bench-late" if late else "bench-far"
            found.append(Template(f"T-{group}-{i:03d}", group, programme, codes[n % len(codes)]))
            n += 1
    return found


def programme_text(name: str, milestones: Mapping[str, date]) -> str:
    members = [all_municipalities()[c] for c in list(all_municipalities())[:MUNICIPALITIES]]
    lines = [f"name: {name}", f"title: Benchmark {name}", "start: 2007-04-01", "end: 2016-12-31",
             f"regime: {REGIME}", "milestones:"]  # fmt: skip
    lines += [f"  {m}: {day}" for m, day in milestones.items()]
    lines += ["municipalities:"] + [f'  - {{code: "{m.code}", name: "{m.name}"}}' for m in members]
    lines += ["people:", "  - {id: kl-sek, name: Sekretariatet, email: sek@kl.example.dk, "
              "role: secretariat}"]  # fmt: skip
    lines += [f'  - {{id: pl-{m.code}, name: "Projektleder {m.name}", '
              f'email: pl-{m.code}@example.dk, role: project_leader, municipality: "{m.code}"}}'
              for m in members]  # fmt: skip
    return "\n".join(lines) + "\n"


def build_templates(url: str, definition: Definition) -> list[Template]:
    """The 400 templates in a new store at `url`, acted on and ticked as the table above says."""
    store = Store(url)
    store.init("kl-sek")
    store.load_definition(definition, CREATED)
    for name, days in (("bench-late", LATE), ("bench-far", FAR)):
        store.load_programme(parse_programme(programme_text(name, days), f"{name}.yaml"), CREATED)
    made = templates()
    with store.batch(CREATED) as unit:
        for t in made:
            spec = NewTender(KIND, f"Udbud {t.id}", (t.municipality,), id=t.id,
                             programme=t.programme, procedure="open", regime=REGIME)  # fmt: skip
            unit.create(spec, store.person(f"pl-{t.municipality}"))
    with store.batch(PREP_AT) as unit:
        for n, t in enumerate(made):
            act_before_prep(unit, store, t, n)
    prepared = tick(store, PREP_AT)
    if prepared.failed or prepared.retry:
        raise RuntimeError(f"the preparing tick failed: {prepared.failed or prepared.retry}")
    with store.batch(PUBLISHED[1]) as unit:
        for t in made[-DUE_TEMPLATES // 2 :]:
            unit.advance(t.id, "publish", store.person(f"pl-{t.municipality}"))
    store.engine.dispose()
    return made


def act_before_prep(unit: Unit, store: Store, t: Template, n: int) -> None:
    """Approve M, A and D; cancel X; publish the first half of D on 2008-03-03."""
    leader = store.person(f"pl-{t.municipality}")
    approved = start_of_day(APPROVED + timedelta(days=n % 20))
    if t.group == "X":
        unit.advance(t.id, "cancel", leader, at=approved, note="Ikke egnet til udbud")
    if t.group in ("M", "A", "D"):
        unit.advance(t.id, "approve_scope", leader, at=approved)
    if t.group == "D" and int(t.id[-3:]) < DUE_TEMPLATES // 2:
        unit.advance(t.id, "publish", leader, at=PUBLISHED[0])


# Copies, in SQL

HELPERS = MetaData()
T_TEMPLATE = Table(
    "bench_template", HELPERS,
    Column("id", String(64), primary_key=True), Column("n", Integer), Column("due", Integer),
)  # fmt: skip
T_COPY = Table("bench_copy", HELPERS, Column("k", Integer, primary_key=True))
COPIED = ((T_TENDER, "id"), (T_TM, "tender_id"), (T_STEP, "tender_id"), (T_EVENT, "tender_id"))


def grow(engine: Engine, made: list[Template], size: int, due: int) -> None:
    """Add copies of the templates until the store holds `size` tenders, `due` of them due."""
    plan = {True: due - DUE_TEMPLATES, False: size - due - (TEMPLATES - DUE_TEMPLATES)}
    if min(plan.values()) < 0:
        raise ValueError(f"a store of {size:,} with {due:,} due needs at least {TEMPLATES} "
                         f"tenders and {DUE_TEMPLATES} due")  # fmt: skip
    HELPERS.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(insert(T_TEMPLATE), numbered(made))
            copies = max(-(-needed // group_size(made, g)) for g, needed in plan.items())
            conn.execute(insert(T_COPY), [{"k": k} for k in range(max(copies, 1))])
            for is_due, needed in plan.items():
                for table, key in COPIED:
                    conn.execute(copy_rows(table, key, is_due, group_size(made, is_due), needed))
    finally:
        HELPERS.drop_all(engine)


def numbered(made: list[Template]) -> list[dict[str, Any]]:
    """Each template's number within its group (due or not): copy k of number n is k * size + n."""
    counts = {True: 0, False: 0}
    rows = []
    for t in made:
        rows.append({"id": t.id, "n": counts[t.due], "due": int(t.due)})
        counts[t.due] += 1
    return rows


def group_size(made: list[Template], due: bool) -> int:
    return sum(1 for t in made if t.due == due)


def copy_rows(table: Any, key: str, due: bool, per: int, needed: int) -> Any:
    """INSERT ... SELECT of the rows of copies 0, 1, ... of the group, the first `needed` of them."""
    new_id = literal("C").concat(cast(T_COPY.c.k, String)).concat("-").concat(table.c[key])
    columns = [new_id if c.name == key else c for c in table.c]
    joined = table.join(T_TEMPLATE, T_TEMPLATE.c.id == table.c[key]).join(
        T_COPY, T_COPY.c.k * per + T_TEMPLATE.c.n < needed
    )
    rows = select(*columns).select_from(joined).where(T_TEMPLATE.c.due == int(due))
    return insert(table).from_select([c.name for c in table.c], rows)


# What a store holds


@dataclass(frozen=True)
class Census:
    """What a prepared store holds, counted in SQL (independently of the package's queries)."""

    tenders: int
    events: int
    due: int
    overdue: int


def census(engine: Engine) -> Census:
    count = select(func.count())
    with engine.connect() as conn:
        return Census(
            tenders=conn.execute(count.select_from(T_TENDER)).scalar_one(),
            events=conn.execute(count.select_from(T_EVENT)).scalar_one(),
            due=conn.execute(count.where(T_TENDER.c.next_check_at <= TICK_AT)).scalar_one(),
            overdue=conn.execute(count.where(overdue_at(TODAY))).scalar_one(),
        )


def overdue_at(day: date) -> Any:
    """SQL: the tender's step was due before `day` and its state is not final."""
    return and_(T_TENDER.c.due < day, not_(T_TENDER.c.state.in_(FINAL)))


def new_events(engine: Engine, since: datetime) -> list[tuple[Any, ...]]:
    """The events recorded at or after `since` (a tick's), in order, as comparable tuples."""
    e = T_EVENT.c
    query = (select(e.tender_id, e.seq, e.kind, e.trigger, e.source, e.dest, e.occurred_at)
             .where(e.recorded_at >= since).order_by(e.tender_id, e.seq))  # fmt: skip
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def an_overdue_copy(engine: Engine) -> str:
    """The id of an overdue tender in materials, a copy if there is one (for `tender show`)."""
    late = select(T_TENDER.c.id).where(T_TENDER.c.state == "materials", overdue_at(TODAY))
    with engine.connect() as conn:
        copy = conn.execute(late.where(T_TENDER.c.id.like("C%")).limit(1)).scalar()
        return str(copy or conn.execute(late.limit(1)).scalar_one())


# Where the stores live


class SqliteStores:
    """SQLite files in a folder; a clone is a copy of the file."""

    name = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def url(self, db: str) -> str:
        return f"sqlite:///{self.folder / db}.db"

    def create(self, db: str) -> str:
        return self.url(db)  # the store makes the file

    def clone(self, source: str, db: str) -> str:
        shutil.copyfile(self.folder / f"{source}.db", self.folder / f"{db}.db")
        return self.url(db)

    def drop(self, db: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            (self.folder / f"{db}.db{suffix}").unlink(missing_ok=True)

    def seal(self, db: str) -> None:
        """Checkpoint the WAL into the file: the file alone is then the whole store."""
        with engine_of(self.url(db)) as engine, engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def disk_bytes(self, db: str) -> int:
        return (self.folder / f"{db}.db").stat().st_size


class PostgresStores:
    """Databases in a throwaway cluster; a clone is CREATE DATABASE ... TEMPLATE (a file copy)."""

    name = "postgresql"

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.admin = cluster.admin()

    def url(self, db: str) -> str:
        return self.cluster.url(db)

    def create(self, db: str) -> str:
        self._sql(f'CREATE DATABASE "{db}"')
        return self.url(db)

    def clone(self, source: str, db: str) -> str:
        self._sql(f'CREATE DATABASE "{db}" TEMPLATE "{source}" STRATEGY FILE_COPY')
        return self.url(db)

    def drop(self, db: str) -> None:
        self._sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

    def seal(self, db: str) -> None:
        """VACUUM ANALYZE, as autovacuum would have done by the time a store has grown this big."""
        engine = create_engine(self.url(db), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()

    def disk_bytes(self, db: str) -> int:
        with self.admin.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(:db)"), {"db": db}).scalar_one())

    def _sql(self, statement: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(statement))


Stores = SqliteStores | PostgresStores


@contextmanager
def engine_of(url: str) -> Iterator[Engine]:
    """An engine on a store, disposed after (a PostgreSQL template must have no connections)."""
    engine = Store(url).engine
    try:
        yield engine
    finally:
        engine.dispose()
