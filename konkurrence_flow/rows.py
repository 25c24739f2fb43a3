"""Rows <-> domain records. Store-internal: only `store` and `unit` import this module."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Any, NamedTuple

from sqlalchemy import select

from .model import Event, Notification, Person, Step, Tender
from .tables import (
    EventRow,
    NotificationRow,
    PersonRow,
    StepRow,
    TenderMunicipalityRow,
    TenderRow,
    table,
)

T_TENDER = table(TenderRow)
T_TM = table(TenderMunicipalityRow)
T_STEP = table(StepRow)
T_EVENT = table(EventRow)
T_PERSON = table(PersonRow)
T_NOTE = table(NotificationRow)


def person_values(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "role": person.role,
        "municipality": person.municipality,
    }


def person(row: Any) -> Person:
    return Person(row.id, row.name, row.email, row.role, row.municipality)


def tender_values(t: Tender) -> dict[str, Any]:
    return {
        "id": t.id, "title": t.title, "definition": t.definition,
        "definition_version": t.definition_version, "programme": t.programme, "state": t.state,
        "state_entered_at": t.state_entered_at, "due": t.due, "timer_at": t.timer_at,
        "next_check_at": t.next_check_at, "leader": t.leader, "area": t.area,
        "procedure": t.procedure, "regime": t.regime, "facts": dict(t.facts),
        "signoffs": {k: list(v) for k, v in t.signoffs.items()}, "version": t.version,
        "seq": t.seq, "visit": t.visit, "last_event_at": t.last_event_at,
        "created_at": t.created_at, "overdue_flagged_at": t.overdue_flagged_at,
        "reminded": list(t.reminded), "chain_head": t.head,
    }  # fmt: skip


def read_tenders(conn: Any, query: Any) -> list[Tender]:
    """The tenders a query selects, each with its municipalities in order."""
    rows = conn.execute(query).all()
    codes = _municipalities(conn, [r.id for r in rows])
    return [tender(r, codes[r.id]) for r in rows]


class TenderLine(NamedTuple):
    """What a list of tenders shows of each: a tender without its facts, history or timers."""

    id: str
    title: str
    state: str
    due: date | None
    leader: str | None
    definition: str
    definition_version: int
    municipalities: tuple[str, ...]


LINE_COLUMNS = tuple(T_TENDER.c[name] for name in TenderLine._fields[:-1])


def read_lines(conn: Any, query: Any) -> list[TenderLine]:
    """The lines of a query that selects LINE_COLUMNS, each with its municipalities."""
    rows = conn.execute(query).all()
    codes = _municipalities(conn, [r.id for r in rows])
    return [TenderLine(r.id, r.title, r.state, r.due, r.leader, r.definition,
                       r.definition_version, codes[r.id]) for r in rows]  # fmt: skip


def _municipalities(conn: Any, ids: list[str]) -> dict[str, tuple[str, ...]]:
    """Each tender's municipality codes, in order (500 tenders a query)."""
    codes: dict[str, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        members = select(T_TM).where(T_TM.c.tender_id.in_(chunk)).order_by(T_TM.c.position)
        for tm in conn.execute(members):
            codes[tm.tender_id].append(tm.municipality)
    return {i: tuple(c) for i, c in codes.items()}


def tender(row: Any, codes: tuple[str, ...]) -> Tender:
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
        overdue_flagged_at=row.overdue_flagged_at, reminded=tuple(row.reminded or ()),
        head=row.chain_head,
    )  # fmt: skip


def event(row: Any) -> Event:
    return Event(
        tender=row.tender_id, seq=row.seq, kind=row.kind, trigger=row.trigger,
        source=row.source, dest=row.dest, actor=row.actor, occurred_at=row.occurred_at,
        recorded_at=row.recorded_at, note=row.note, data=MappingProxyType(dict(row.data or {})),
        hash=row.hash,
    )  # fmt: skip


def step(row: Any) -> Step:
    return Step(
        tender=row.tender_id, visit=row.visit, state=row.state, entered_at=row.entered_at,
        due=row.due, timer_at=row.timer_at, left_at=row.left_at,
        overdue_flagged_at=row.overdue_flagged_at,
    )  # fmt: skip


def notification(row: Any) -> Notification:
    return Notification(
        id=row.id, dedupe_key=row.dedupe_key, kind=row.kind, recipient=row.recipient,
        address=row.address, subject=row.subject, body=row.body, created_at=row.created_at,
        tender=row.tender_id, status=row.status, attempts=row.attempts,
        next_attempt_at=row.next_attempt_at, sent_at=row.sent_at, last_error=row.last_error,
        data=MappingProxyType(dict(row.data or {})), claimed_until=row.claimed_until,
    )  # fmt: skip
