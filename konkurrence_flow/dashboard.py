"""What the dashboard's pages show, read from the store in few queries: the network at a glance
(tenders per municipality and phase, overdue steps) and the Gantt rows (each tender's visits of
its phases against their due dates, and the plan's steps ahead).

The pages (`web.pages`) only lay these out. Everything here costs what is shown, not the store's
size: counts are grouped in SQL, and the Gantt reads the steps of one page of tenders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from .calendar import local_date
from .definitions import Definition
from .engine import days_overdue
from .errors import NotFound
from .model import Tender
from .municipalities import municipality as lookup
from .plan import PlannedStep, plan_tender
from .rows import T_STEP, T_TENDER, T_TM
from .store import Store

GANTT_PAGE = 100
"""Tenders on one page of the Gantt (a page prints on a few sheets of A4)."""
OVERDUE_PAGE = 100
"""Overdue steps on one page of `/overdue` (the most overdue first)."""
EFFECTS_PAGE = 100
"""Awarded tenders on one page of `/effects` (the totals above and below count them all)."""


@dataclass(frozen=True)
class Phase:
    """A column of the overview: a state, by name, with its label from the definitions."""

    name: str
    label: str
    final: bool


@dataclass
class MunicipalityLine:
    """One municipality's line of the overview."""

    code: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)  # state -> tenders in it
    overdue: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Overview:
    """The network at a glance: phases as columns, a line per municipality."""

    phases: tuple[Phase, ...]
    lines: tuple[MunicipalityLine, ...]

    @property
    def overdue(self) -> int:
        return sum(line.overdue for line in self.lines)

    @property
    def totals(self) -> dict[str, int]:
        """Tenders per phase, over the network (a joint tender once per municipality)."""
        found: dict[str, int] = {}
        for line in self.lines:
            for state, n in line.counts.items():
                found[state] = found.get(state, 0) + n
        return found


def overview(store: Store, now: datetime, programme: str | None = None) -> Overview:
    """Tenders per municipality and phase, and the overdue steps of each (as of `now`); of one
    programme's tenders only, if named."""
    today = local_date(now)
    late = (T_TENDER.c.due < today).label("late")
    query = (
        select(T_TM.c.municipality, T_TENDER.c.definition, T_TENDER.c.definition_version,
               T_TENDER.c.state, late, func.count().label("n"))
        .join(T_TENDER, T_TENDER.c.id == T_TM.c.tender_id)
        .group_by(T_TM.c.municipality, T_TENDER.c.definition, T_TENDER.c.definition_version,
                  T_TENDER.c.state, late)
    )  # fmt: skip
    if programme is not None:
        query = query.where(T_TENDER.c.programme == programme)
    with store.engine.connect() as conn:
        grouped = conn.execute(query).all()
    lines = {m.code: MunicipalityLine(m.code, m.name) for m in store.members(programme)}
    phases: dict[str, Phase] = {}
    for code, name, version, state, is_late, n in grouped:
        definition = store.definition(name, version)
        _add_phases(phases, definition)
        line = lines.setdefault(code, MunicipalityLine(code, municipality_name(code)))
        line.counts[state] = line.counts.get(state, 0) + n
        if is_late and not definition.state(state).final:
            line.overdue += n
    shown = tuple(p for p in phases.values() if any(p.name in li.counts for li in lines.values()))
    return Overview(shown, tuple(sorted(lines.values(), key=lambda li: li.name)))


def _add_phases(phases: dict[str, Phase], definition: Definition) -> None:
    for state in definition.states.values():
        phases.setdefault(state.name, Phase(state.name, state.label or state.name, state.final))


def municipality_name(code: str) -> str:
    """A municipality's name from the reference data (the code itself if it is not there)."""
    try:
        return lookup(code).name
    except NotFound:
        return code


# The Gantt


@dataclass(frozen=True)
class Visit:
    """One visit of a phase: entered, left (None: still there), and its due date then."""

    state: str
    label: str
    entered: date
    left: date | None
    due: date | None
    final: bool = False


@dataclass(frozen=True)
class GanttRow:
    """One tender's line of the Gantt."""

    id: str
    title: str
    municipalities: tuple[str, ...]
    area: str | None
    definition: str
    state: str
    state_label: str
    final: bool
    days_overdue: int
    visits: tuple[Visit, ...]
    ahead: tuple[PlannedStep, ...]
    labels: dict[str, str]

    @property
    def earliest_done(self) -> date | None:
        """The plan's earliest day the last step ahead can be completed, if known."""
        return self.ahead[-1].earliest if self.ahead else None


@dataclass(frozen=True)
class Page:
    """Where a page lies among all the rows: `shown` of them from `offset`, of `total` in all."""

    shown: int
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class GanttPage:
    """A page of Gantt rows, and how many tenders the filters match in all."""

    rows: tuple[GanttRow, ...]
    total: int
    offset: int
    limit: int

    @property
    def place(self) -> Page:
        return Page(len(self.rows), self.total, self.offset, self.limit)


@dataclass(frozen=True)
class GanttFilter:
    """The Gantt's filters (None: all)."""

    municipality: str | None = None
    area: str | None = None
    definition: str | None = None
    programme: str | None = None


def gantt(
    store: Store, now: datetime, chosen: GanttFilter, offset: int = 0, limit: int = GANTT_PAGE
) -> GanttPage:
    """A page of the Gantt: the tenders the filters match, by id, with their visits and plan."""
    query = select(T_TENDER.c.id)
    if chosen.municipality:
        members = select(T_TM.c.tender_id).where(T_TM.c.municipality == chosen.municipality)
        query = query.where(T_TENDER.c.id.in_(members))
    if chosen.area:
        query = query.where(T_TENDER.c.area == chosen.area)
    if chosen.definition:
        query = query.where(T_TENDER.c.definition == chosen.definition)
    if chosen.programme:
        query = query.where(T_TENDER.c.programme == chosen.programme)
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        ids = list(
            conn.execute(query.order_by(T_TENDER.c.id).offset(offset).limit(limit)).scalars()
        )
        visits = _visits(conn, ids)
    tenders = store.tenders_by_id(ids)
    rows = tuple(_row(store, tenders[i], visits.get(i, []), now) for i in ids if i in tenders)
    return GanttPage(rows, total, offset, limit)


def choices(store: Store) -> dict[str, list[str]]:
    """The values the Gantt's filters offer: municipalities, areas and definitions in use."""
    with store.engine.connect() as conn:
        codes = conn.execute(select(T_TM.c.municipality).distinct()).scalars().all()
        areas = conn.execute(select(T_TENDER.c.area).distinct()).scalars().all()
        names = conn.execute(select(T_TENDER.c.definition).distinct()).scalars().all()
    return {"municipality": sorted(codes), "area": sorted(a for a in areas if a),
            "definition": sorted(names)}  # fmt: skip


StepSpan = tuple[str, datetime, datetime | None, date | None]
"""A visit as read: state, entered, left, due."""


def _visits(conn: Any, ids: list[str]) -> dict[str, list[StepSpan]]:
    found: dict[str, list[StepSpan]] = {}
    if not ids:
        return found
    query = (
        select(T_STEP.c.tender_id, T_STEP.c.state, T_STEP.c.entered_at, T_STEP.c.left_at,
               T_STEP.c.due)
        .where(T_STEP.c.tender_id.in_(ids))
        .order_by(T_STEP.c.tender_id, T_STEP.c.visit)
    )  # fmt: skip
    for tender_id, state, entered, left, due in conn.execute(query):
        found.setdefault(tender_id, []).append((state, entered, left, due))
    return found


def _row(store: Store, tender: Tender, visits: Iterable[StepSpan], now: datetime) -> GanttRow:
    definition = store.definition(tender.definition, tender.definition_version)
    labels = {s.name: s.label or s.name for s in definition.states.values()}
    final = definition.state(tender.state).final
    ahead = () if final else tuple(plan_tender(
        definition, tender, now, store.milestones(tender.programme), store.resolve
    ))  # fmt: skip
    return GanttRow(
        id=tender.id, title=tender.title, municipalities=tuple(tender.municipalities),
        area=tender.area, definition=tender.definition, state=tender.state,
        state_label=labels.get(tender.state, tender.state), final=final,
        days_overdue=0 if final else days_overdue(tender.due, local_date(now)),
        visits=tuple(
            Visit(state, labels.get(state, state), local_date(entered),
                  local_date(left) if left else None, due, definition.state(state).final)
            for state, entered, left, due in visits if state in definition.states
        ),
        ahead=ahead, labels=labels,
    )  # fmt: skip
