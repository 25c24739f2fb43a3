"""The store: the only code that talks SQL. One act = one transaction.

Acts go through a `Unit` (a unit of work): it reads the tenders it touches, lets the engine decide,
keeps the resulting rows in memory and writes them in one transaction at the end, with an
optimistic version check on every tender it changed. `Store.act()` is a unit for one act;
`Store.batch()` lets many acts share one transaction (imports, the scheduler's sweep, benchmarks).
"""

from __future__ import annotations

import difflib
import getpass
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from . import engine as core
from .calendar import end_of_day
from .definitions import Definition, parse_definition
from .errors import ConcurrentChange, InvalidInput, NotAllowed, NotFound
from .model import SYSTEM, Event, Person, Step, Tender
from .municipalities import municipality
from .tables import (
    SCHEMA_VERSION,
    DefinitionRow,
    EventRow,
    MetaRow,
    PersonRow,
    StepRow,
    TenderMunicipalityRow,
    TenderRow,
    table,
)

DEFAULT_URL = "sqlite:///kflow.db"
PERSON_ROLES = ("project_leader", "secretariat")

T_TENDER = table(TenderRow)
T_TM = table(TenderMunicipalityRow)
T_STEP = table(StepRow)
T_EVENT = table(EventRow)
T_PERSON = table(PersonRow)
T_DEF = table(DefinitionRow)
T_META = table(MetaRow)


@dataclass(frozen=True)
class StoredDefinition:
    """A stored version of a definition."""

    name: str
    version: int
    sha256: str
    path: str
    loaded_at: datetime
    title: str


@dataclass(frozen=True)
class NewTender:
    """What `tender create` asks for."""

    definition: str
    title: str
    municipalities: tuple[str, ...] = ()
    id: str | None = None
    programme: str | None = None
    leader: str | None = None
    area: str | None = None
    procedure: str | None = None
    regime: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)


class Store:
    """A konkurrence-flow store at a SQLAlchemy URL (SQLite by default, PostgreSQL to grow)."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self.resolve: core.PeriodResolver = core.calendar_periods
        self._definitions: dict[tuple[str, int], Definition] = {}

    # -- set-up -------------------------------------------------------------------------------

    def init(self, os_user: str | None = None) -> Person | None:
        """Create or upgrade the tables; register the OS user as secretariat if nobody exists yet."""
        SQLModel.metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(T_META.delete().where(T_META.c.key == "schema_version"))
            conn.execute(insert(T_META).values(key="schema_version", value=str(SCHEMA_VERSION)))
            if conn.execute(select(func.count()).select_from(T_PERSON)).scalar_one():
                return None
            user = os_user or getpass.getuser()
            person = Person(user, user, "", "secretariat")
            conn.execute(insert(T_PERSON).values(**_person_values(person)))
            return person

    def is_initialised(self) -> bool:
        """True when `init` has created the tables here."""
        return inspect(self.engine).has_table("tender")

    def require_initialised(self) -> None:
        """Refuse to work on a store that `kflow init` has not created."""
        if not self.is_initialised():
            raise NotFound(f"no konkurrence-flow store at {self.url}; run `kflow init` first")

    # -- definitions ----------------------------------------------------------------------------

    def load_definition(self, definition: Definition, now: datetime) -> tuple[int, str]:
        """Store a definition; a changed text becomes a new version. Returns (version, what)."""
        with self.engine.begin() as conn:
            latest = conn.execute(
                select(T_DEF.c.version, T_DEF.c.sha256)
                .where(T_DEF.c.name == definition.name)
                .order_by(T_DEF.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.sha256 == definition.sha256:
                return latest.version, "unchanged"
            version = 1 if latest is None else latest.version + 1
            conn.execute(
                insert(T_DEF).values(
                    name=definition.name,
                    version=version,
                    sha256=definition.sha256,
                    path=definition.path,
                    source=definition.source,
                    loaded_at=now,
                )
            )
        self._definitions[(definition.name, version)] = definition
        return version, "new" if version == 1 else "new version"

    def definition(self, name: str, version: int | None = None) -> Definition:
        """A stored definition (the latest version unless one is named)."""
        return self.versioned_definition(name, version)[1]

    def versioned_definition(self, name: str, version: int | None = None) -> tuple[int, Definition]:
        """(version, definition) of a stored definition, the latest unless a version is named."""
        if version is not None and (name, version) in self._definitions:
            return version, self._definitions[(name, version)]
        query = select(T_DEF).where(T_DEF.c.name == name)
        if version is not None:
            query = query.where(T_DEF.c.version == version)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(T_DEF.c.version.desc()).limit(1)).first()
        if row is None:
            raise NotFound(f"unknown definition '{name}'{self._known_definitions()}")
        key = (row.name, row.version)
        if key not in self._definitions:
            self._definitions[key] = parse_definition(row.source, row.path)
        return row.version, self._definitions[key]

    def _known_definitions(self) -> str:
        names = sorted({d.name for d in self.definitions()})
        if not names:
            return "; none is loaded yet (use `kflow definitions load definitions/`)"
        return f"; loaded: {', '.join(names)}"

    def definitions(self) -> list[StoredDefinition]:
        """Every stored version of every definition, by name then version."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(T_DEF).order_by(T_DEF.c.name, T_DEF.c.version)).all()
        return [
            StoredDefinition(
                r.name,
                r.version,
                r.sha256,
                r.path,
                r.loaded_at,
                self.definition(r.name, r.version).title,
            )
            for r in rows
        ]

    # -- people ---------------------------------------------------------------------------------

    def add_person(self, person: Person) -> Person:
        """Register a person; a project leader needs a (known) municipality."""
        person = _checked_person(person)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(T_PERSON).values(**_person_values(person)))
        except IntegrityError as exc:
            raise InvalidInput(f"person '{person.id}' exists already") from exc
        return person

    def person(self, person_id: str) -> Person:
        """The person with this id; the scheduler is the built-in person 'system'."""
        if person_id == SYSTEM.id:
            return SYSTEM
        with self.engine.connect() as conn:
            row = conn.execute(select(T_PERSON).where(T_PERSON.c.id == person_id)).first()
        if row is None:
            known = ", ".join(p.id for p in self.people()) or "nobody yet"
            raise NotFound(
                f"unknown person '{person_id}' (known: {known}); "
                "add one with `kflow person add` or set KFLOW_USER / --user"
            )
        return _person(row)

    def people(self) -> list[Person]:
        """Everyone registered, by id."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(T_PERSON).order_by(T_PERSON.c.id)).all()
        return [_person(r) for r in rows]

    # -- reading tenders ------------------------------------------------------------------------

    def tender(self, tender_id: str) -> Tender:
        """One tender, or a refusal that names it."""
        with self.engine.connect() as conn:
            found = _read_tenders(conn, select(T_TENDER).where(T_TENDER.c.id == tender_id))
        if not found:
            raise NotFound(f"unknown tender '{tender_id}'{self._tender_hint(tender_id)}")
        return found[0]

    def _tender_hint(self, tender_id: str) -> str:
        with self.engine.connect() as conn:
            ids = list(conn.execute(select(T_TENDER.c.id)).scalars())
        close = difflib.get_close_matches(tender_id, ids, n=1)
        if close:
            return f"; did you mean {close[0]}?"
        return "; see `kflow tender list`" if ids else "; there are no tenders yet"

    def tenders(
        self, municipality_code: str | None = None, state: str | None = None
    ) -> list[Tender]:
        """Tenders, optionally of one municipality and/or in one state, by id."""
        query = select(T_TENDER).order_by(T_TENDER.c.id)
        if municipality_code is not None:
            query = query.where(
                T_TENDER.c.id.in_(
                    select(T_TM.c.tender_id).where(T_TM.c.municipality == municipality_code)
                )
            )
        if state is not None:
            query = query.where(T_TENDER.c.state == state)
        with self.engine.connect() as conn:
            return _read_tenders(conn, query)

    def history(self, tender_id: str) -> list[Event]:
        """A tender's events, in order."""
        self.tender(tender_id)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(T_EVENT).where(T_EVENT.c.tender_id == tender_id).order_by(T_EVENT.c.seq)
            ).all()
        return [_event(r) for r in rows]

    def steps(self, tender_id: str) -> list[Step]:
        """A tender's state visits, in order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(T_STEP).where(T_STEP.c.tender_id == tender_id).order_by(T_STEP.c.visit)
            ).all()
        return [_step(r) for r in rows]

    def milestones(self, programme: str | None) -> Mapping[str, date]:
        """A programme's milestones by name (none until programmes are loaded)."""
        return MappingProxyType({})

    # -- acting ---------------------------------------------------------------------------------

    @contextmanager
    def batch(self, now: datetime) -> Iterator[Unit]:
        """Many acts, one transaction: all of them commit together, or none does."""
        unit = Unit(self, now)
        yield unit
        unit.commit()

    def act(self, now: datetime) -> Unit:
        """A unit for a single act; call one method on it, then `commit()`."""
        return Unit(self, now)

    def create_tender(self, spec: NewTender, actor: Person, now: datetime) -> Tender:
        """Start a tender in its definition's initial state."""
        with self.batch(now) as unit:
            return unit.create(spec, actor)

    def advance(
        self,
        tender_id: str,
        trigger: str,
        actor: Person,
        now: datetime,
        *,
        at: datetime | None = None,
        note: str | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> core.Outcome:
        """Fire a trigger on a tender as one transaction."""
        with self.batch(now) as unit:
            return unit.advance(tender_id, trigger, actor, at=at, note=note, facts=facts)

    def set_facts(
        self, tender_id: str, facts: Mapping[str, Any], actor: Person, now: datetime
    ) -> Tender:
        """Record facts on a tender as one transaction."""
        with self.batch(now) as unit:
            return unit.set_facts(tender_id, facts, actor)


@dataclass
class _Work:
    """A tender being changed inside a unit: its current value and the rows still to write."""

    tender: Tender
    read_version: int | None  # None for a tender created in this unit
    events: list[dict[str, Any]] = field(default_factory=list)
    new_steps: dict[int, dict[str, Any]] = field(default_factory=dict)
    closed_steps: dict[int, datetime] = field(default_factory=dict)
    municipalities: tuple[str, ...] = ()


class Unit:
    """A unit of work: reads, decisions by the engine, and one transaction for every write."""

    def __init__(self, store: Store, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError(f"naive datetime {now} refused: `now` must be timezone-aware")
        self.store = store
        self.now = now
        self._work: dict[str, _Work] = {}

    def tender(self, tender_id: str) -> Tender:
        """The tender as this unit sees it (with its own changes so far)."""
        return self._load(tender_id).tender

    def _load(self, tender_id: str) -> _Work:
        work = self._work.get(tender_id)
        if work is None:
            tender = self.store.tender(tender_id)
            work = self._work[tender_id] = _Work(tender, tender.version)
        return work

    def create(self, spec: NewTender, actor: Person) -> Tender:
        """Start a tender in the initial state of the latest version of its definition."""
        version, definition = self.store.versioned_definition(spec.definition)
        codes = tuple(dict.fromkeys(municipality(m).code for m in spec.municipalities))
        _check_creator(actor, codes)
        tender_id = spec.id or self._new_id(codes)
        if tender_id in self._work or self._exists(tender_id):
            raise InvalidInput(f"tender '{tender_id}' exists already; choose another --id")
        tender = Tender(
            id=tender_id,
            title=spec.title,
            definition=definition.name,
            definition_version=version,
            state=definition.initial,
            state_entered_at=self.now,
            municipalities=codes,
            version=1,
            seq=0,
            visit=0,
            last_event_at=self.now,
            created_at=self.now,
            programme=spec.programme,
            leader=spec.leader or (actor.id if actor.role == "project_leader" else None),
            area=spec.area,
            procedure=spec.procedure,
            regime=spec.regime,
            facts=MappingProxyType(dict(spec.facts)),
        )
        work = self._work[tender_id] = _Work(tender, None, municipalities=codes)
        self._enter(work, definition, definition.initial, self.now)
        self._record(work, "human", None, None, definition.initial, actor, self.now, None, {})
        return work.tender

    def _exists(self, tender_id: str) -> bool:
        with self.store.engine.connect() as conn:
            found = conn.execute(select(T_TENDER.c.id).where(T_TENDER.c.id == tender_id)).first()
        return found is not None

    def _new_id(self, codes: tuple[str, ...]) -> str:
        prefix = municipality(codes[0]).name[:3].upper() if len(codes) == 1 else "FAE"
        with self.store.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(T_TENDER)).scalar_one()
        n = count + len(self._work) + 1
        while self._exists(f"{prefix}-{n:03d}") or f"{prefix}-{n:03d}" in self._work:
            n += 1
        return f"{prefix}-{n:03d}"

    def advance(
        self,
        tender_id: str,
        trigger: str,
        actor: Person,
        *,
        at: datetime | None = None,
        note: str | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> core.Outcome:
        """Fire a trigger; the rows it makes wait for `commit`."""
        work = self._load(tender_id)
        at = at or self.now
        core.check_effective_time(work.tender, at, self.now)
        definition = self.store.definition(work.tender.definition, work.tender.definition_version)
        outcome = core.fire(
            definition, work.tender, trigger, actor, at,
            note=note, facts=facts, resolve=self.store.resolve,
        )  # fmt: skip
        self._apply(work, definition, outcome, actor)
        return outcome

    def _apply(
        self, work: _Work, definition: Definition, outcome: core.Outcome, actor: Person
    ) -> None:
        tender = work.tender
        facts = MappingProxyType({**tender.facts, **outcome.facts})
        signoffs = dict(tender.signoffs)
        if outcome.signed:
            signoffs[outcome.trigger] = outcome.signed
        work.tender = replace(tender, facts=facts, signoffs=MappingProxyType(signoffs))
        if outcome.changed:
            work.closed_steps[tender.visit] = outcome.occurred_at
            work.new_steps.get(tender.visit, {}).update(left_at=outcome.occurred_at)
            self._enter(work, definition, outcome.dest, outcome.occurred_at)
        data: dict[str, Any] = {}
        if outcome.facts:
            data["set"] = dict(outcome.facts)
        if outcome.signoff:
            data.update(signoff=outcome.signoff, pending=list(outcome.pending))
        self._record(
            work, outcome.kind, outcome.trigger, outcome.source, outcome.dest,
            actor, outcome.occurred_at, outcome.note, data,
        )  # fmt: skip

    def _enter(self, work: _Work, definition: Definition, state: str, at: datetime) -> None:
        milestones = self.store.milestones(work.tender.programme)
        plan = core.plan_step(definition, state, at, work.tender, milestones, self.store.resolve)
        visit = work.tender.visit + 1
        final = definition.state(state).final
        work.tender = replace(
            work.tender,
            state=state,
            state_entered_at=at,
            visit=visit,
            due=plan.due,
            timer_at=plan.timer_at,
            next_check_at=None if final else _next_check(plan),
            signoffs=MappingProxyType({}),
        )
        work.new_steps[visit] = {
            "tender_id": work.tender.id, "visit": visit, "state": state, "entered_at": at,
            "due": plan.due, "timer_at": plan.timer_at, "left_at": None,
            "overdue_flagged_at": None,
        }  # fmt: skip

    def set_facts(self, tender_id: str, facts: Mapping[str, Any], actor: Person) -> Tender:
        """Record facts on a tender (an event of its own)."""
        work = self._load(tender_id)
        if not facts:
            raise InvalidInput("give at least one KEY=VALUE to record")
        core.check_may_touch(work.tender, actor)
        work.tender = replace(work.tender, facts=MappingProxyType({**work.tender.facts, **facts}))
        state = work.tender.state
        self._record(work, "human", None, state, state, actor, self.now, None, {"set": dict(facts)})
        return work.tender

    def _record(
        self,
        work: _Work,
        kind: str,
        trigger: str | None,
        source: str | None,
        dest: str | None,
        actor: Person,
        at: datetime,
        note: str | None,
        data: dict[str, Any],
    ) -> None:
        seq = work.tender.seq + 1
        work.tender = replace(work.tender, seq=seq, last_event_at=at)
        work.events.append(
            {
                "tender_id": work.tender.id, "seq": seq, "kind": kind, "trigger": trigger,
                "source": source, "dest": dest, "actor": actor.id, "occurred_at": at,
                "recorded_at": self.now, "note": note, "data": data,
            }
        )  # fmt: skip

    def commit(self) -> None:
        """Write every change of this unit in one transaction, or nothing at all."""
        if not self._work:
            return
        try:
            with self.store.engine.begin() as conn:
                self._write(conn)
        except IntegrityError as exc:
            raise ConcurrentChange(_first_id(self._work)) from exc
        except OperationalError as exc:
            if _is_busy(exc):
                raise ConcurrentChange(_first_id(self._work)) from exc
            raise
        self._work.clear()

    def _write(self, conn: Any) -> None:
        created = [w for w in self._work.values() if w.read_version is None]
        changed = [w for w in self._work.values() if w.read_version is not None]
        if created:
            conn.execute(insert(T_TENDER), [_tender_values(w.tender) for w in created])
            rows = [row for w in created for row in _tm(w)]
            if rows:
                conn.execute(insert(T_TM), rows)
        for work in changed:
            _update_tender(conn, work)
        _write_steps(conn, self._work.values())
        events = [e for w in self._work.values() for e in w.events]
        if events:
            conn.execute(insert(T_EVENT), events)


def _tm(work: _Work) -> list[dict[str, Any]]:
    return [
        {"tender_id": work.tender.id, "municipality": code, "position": i}
        for i, code in enumerate(work.municipalities)
    ]


def _update_tender(conn: Any, work: _Work) -> None:
    values = _tender_values(work.tender)
    values["version"] = work.read_version + 1  # type: ignore[operator]
    result = conn.execute(
        update(T_TENDER)
        .where(T_TENDER.c.id == work.tender.id, T_TENDER.c.version == work.read_version)
        .values(**{k: v for k, v in values.items() if k != "id"})
    )
    if result.rowcount != 1:
        raise ConcurrentChange(work.tender.id)


def _write_steps(conn: Any, works: Any) -> None:
    new = [s for w in works for s in w.new_steps.values()]
    if new:
        conn.execute(insert(T_STEP), new)
    for work in works:
        for visit, left_at in work.closed_steps.items():
            if visit not in work.new_steps:
                conn.execute(
                    update(T_STEP)
                    .where(T_STEP.c.tender_id == work.tender.id, T_STEP.c.visit == visit)
                    .values(left_at=left_at)
                )


def _next_check(plan: core.StepPlan) -> datetime | None:
    candidates = [plan.timer_at]
    if plan.due is not None:
        candidates.append(end_of_day(plan.due))
    present = [c for c in candidates if c is not None]
    return min(present) if present else None


def _first_id(work: Mapping[str, _Work]) -> str:
    return next(iter(work))


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text or "could not serialize" in text


def _check_creator(actor: Person, codes: tuple[str, ...]) -> None:
    if actor.role == "project_leader" and actor.municipality not in codes:
        raise NotAllowed(
            f"{actor.id} is project leader for municipality {actor.municipality} and can only "
            "create tenders that include it (give --municipality "
            f"{actor.municipality})"
        )


def _checked_person(person: Person) -> Person:
    if person.role not in PERSON_ROLES:
        raise InvalidInput(
            f"unknown role '{person.role}' for person '{person.id}'; "
            f"allowed: {', '.join(PERSON_ROLES)}"
        )
    if person.role == "project_leader" and not person.municipality:
        raise InvalidInput(f"project leader '{person.id}' needs a --municipality")
    code = municipality(person.municipality).code if person.municipality else None
    return replace(person, municipality=code)


def _person_values(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "role": person.role,
        "municipality": person.municipality,
    }


def _person(row: Any) -> Person:
    return Person(row.id, row.name, row.email, row.role, row.municipality)


def _tender_values(t: Tender) -> dict[str, Any]:
    return {
        "id": t.id, "title": t.title, "definition": t.definition,
        "definition_version": t.definition_version, "programme": t.programme, "state": t.state,
        "state_entered_at": t.state_entered_at, "due": t.due, "timer_at": t.timer_at,
        "next_check_at": t.next_check_at, "leader": t.leader, "area": t.area,
        "procedure": t.procedure, "regime": t.regime, "facts": dict(t.facts),
        "signoffs": {k: list(v) for k, v in t.signoffs.items()}, "version": t.version,
        "seq": t.seq, "visit": t.visit, "last_event_at": t.last_event_at,
        "created_at": t.created_at,
    }  # fmt: skip


def _read_tenders(conn: Any, query: Any) -> list[Tender]:
    rows = conn.execute(query).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    codes: dict[str, list[str]] = {i: [] for i in ids}
    for tm in conn.execute(select(T_TM).where(T_TM.c.tender_id.in_(ids)).order_by(T_TM.c.position)):
        codes[tm.tender_id].append(tm.municipality)
    return [_tender(r, tuple(codes[r.id])) for r in rows]


def _tender(row: Any, codes: tuple[str, ...]) -> Tender:
    return Tender(
        id=row.id, title=row.title, definition=row.definition,
        definition_version=row.definition_version, state=row.state,
        state_entered_at=row.state_entered_at, municipalities=codes, version=row.version,
        seq=row.seq, visit=row.visit, last_event_at=row.last_event_at,
        created_at=row.created_at, due=row.due, timer_at=row.timer_at,
        next_check_at=row.next_check_at, programme=row.programme, leader=row.leader,
        area=row.area, procedure=row.procedure, regime=row.regime,
        facts=MappingProxyType(dict(row.facts or {})),
        signoffs=MappingProxyType({k: tuple(v) for k, v in (row.signoffs or {}).items()}),
    )  # fmt: skip


def _event(row: Any) -> Event:
    return Event(
        tender=row.tender_id, seq=row.seq, kind=row.kind, trigger=row.trigger,
        source=row.source, dest=row.dest, actor=row.actor, occurred_at=row.occurred_at,
        recorded_at=row.recorded_at, note=row.note, data=MappingProxyType(dict(row.data or {})),
    )  # fmt: skip


def _step(row: Any) -> Step:
    return Step(
        tender=row.tender_id, visit=row.visit, state=row.state, entered_at=row.entered_at,
        due=row.due, timer_at=row.timer_at, left_at=row.left_at,
        overdue_flagged_at=row.overdue_flagged_at,
    )  # fmt: skip


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    if url in ("sqlite://", "sqlite:///:memory:"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    else:
        engine = create_engine(url, connect_args={"timeout": 15})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def default_url() -> str:
    """The store's URL: KFLOW_DB, or a SQLite file in the current directory."""
    return os.environ.get("KFLOW_DB") or DEFAULT_URL
