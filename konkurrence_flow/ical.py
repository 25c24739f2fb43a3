"""Deadlines as an iCalendar feed (RFC 5545), for the calendars people already use.

A feed holds, for the tenders a person may see:

- each open step with a due date: an all-day event on the due day ("AAR-SUND-01: Udarbejdelse af
  udbudsmateriale — frist"), with an alarm for each of the step's `remind:` periods;
- each running timer: an event at the instant it runs out (the end of a bid period, a standstill);
- the milestones of the programmes, forum meetings among them, as all-day events.

Times are Europe/Copenhagen, with its VTIMEZONE. UIDs are stable — a step's is its tender and
visit, a milestone's its programme and name — so a re-import or a subscription updates an event
instead of adding one; a due date that moved keeps its UID with a higher SEQUENCE (the step's
events since it entered the step; a milestone's own count of changes). A step that is left, or a
tender cancelled, is simply no longer in the feed.

The feed's text depends on the store only (DTSTAMP is each event's last recorded change), so the
same data gives the same bytes: its SHA-256 is the HTTP ETag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from icalendar import Alarm, Calendar, Event, Timezone
from sqlalchemy import func, or_, select

from .calendar import TZ, day_before
from .errors import Forbidden
from .model import Person, Tender
from .rows import T_EVENT, T_TENDER
from .store import T_MEMBER, T_MILE, T_PROG, Store

DOMAIN = "konkurrence-flow"
PRODID = "-//konkurrence-flow//kflow//DA"

_WORDS = {
    "da": {"due": "frist", "ends": "udløber", "reminder": "Påmindelse", "milestone": "Milepæl",
           "tender": "Udbud", "leader": "Projektleder", "end_of": "ved udgangen af"},
    "en": {"due": "due", "ends": "ends", "reminder": "Reminder", "milestone": "Milestone",
           "tender": "Tender", "leader": "Project leader", "end_of": "at the end of"},
}  # fmt: skip


@dataclass(frozen=True)
class Feed:
    """A calendar's bytes, its ETag and the last change it shows."""

    body: bytes
    etag: str
    last_modified: datetime | None


def feed(
    store: Store,
    viewer: Person,
    municipality: str | None = None,
    programme: str | None = None,
) -> Feed:
    """The calendar `viewer` may see: a project leader their municipality's tenders, the
    secretariat every tender; optionally only one municipality's (a code) or one programme's."""
    if viewer.role == "project_leader" and municipality not in (None, viewer.municipality):
        raise Forbidden(f"{viewer.id} is project leader for municipality {viewer.municipality}; "
                        f"their calendar holds only its tenders")  # fmt: skip
    code = viewer.municipality if viewer.role == "project_leader" else municipality
    tenders = [t for t in store.tenders(code) if programme in (None, t.programme)]
    calendar = _calendar(viewer)
    stamps = _last_recorded(store, [t.id for t in tenders])
    revisions = _revisions(store, tenders)
    events = [e for t in tenders for e in _tender_events(store, t, stamps, revisions)]
    events += _milestone_events(store, code, programme)
    for event in sorted(events, key=lambda e: str(e["UID"])):
        calendar.add_component(event)
    body = calendar.to_ical()
    changed = [s for s in stamps.values() if s] + [_loaded_at(store, code, programme)]
    last = max((c for c in changed if c is not None), default=None)
    return Feed(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', last)


def _calendar(viewer: Person) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Konkurrence-flow: {viewer.name}")
    calendar.add("x-wr-timezone", "Europe/Copenhagen")
    calendar.add_component(_copenhagen())
    return calendar


@cache
def _copenhagen() -> Timezone:
    """Europe/Copenhagen's VTIMEZONE (its rules 2000–2040), which the timed events refer to."""
    return Timezone.from_tzid("Europe/Copenhagen", first_date=date(2000, 1, 1),
                              last_date=date(2040, 1, 1))  # fmt: skip


# Tenders


def _ends(instant: datetime, words: dict[str, str]) -> str:
    """When a period runs out, as its last day says it: a period that ends at midnight is shown
    at 00:00 of the next day by a calendar, so the summary names its last day."""
    local = instant.astimezone(TZ)
    if local.time() == time(0):
        return f"{words['ends']} {words['end_of']} {(local.date() - timedelta(days=1)).isoformat()}"
    return f"{words['ends']} {local.strftime('%Y-%m-%d %H:%M')}"


def _tender_events(
    store: Store, tender: Tender, stamps: dict[str, datetime], revisions: dict[str, int]
) -> list[Event]:
    definition = store.definition(tender.definition, tender.definition_version)
    state = definition.state(tender.state)
    if state.final:
        return []
    words = _WORDS.get(store.language(tender.programme), _WORDS["da"])
    stamp = stamps.get(tender.id) or tender.last_event_at
    description = _describe(tender, words)
    found = []
    if tender.due is not None:
        due = _all_day(f"{tender.id}.{tender.visit}.due@{DOMAIN}", tender.due,
                       f"{tender.id}: {state.label} — {words['due']}", stamp,
                       revisions.get(tender.id, 0), description)  # fmt: skip
        for period in state.remind:
            before = (tender.due - day_before(tender.due, period)).days
            due.add_component(_alarm(before, f"{words['reminder']}: {tender.id}: {state.label}"))
        found.append(due)
    if tender.timer_at is not None:
        timer = Event()
        timer.add("uid", f"{tender.id}.{tender.visit}.timer@{DOMAIN}")
        timer.add("dtstamp", stamp.astimezone(UTC))
        timer.add("dtstart", tender.timer_at.astimezone(TZ))  # no DTEND: an instant (§3.6.1)
        timer.add("sequence", revisions.get(tender.id, 0))
        timer.add("summary", f"{tender.id}: {state.label} — {_ends(tender.timer_at, words)}")
        timer.add("description", description)
        timer.add("transp", "TRANSPARENT")
        found.append(timer)
    return found


def _describe(tender: Tender, words: dict[str, str]) -> str:
    lines = [f"{words['tender']}: {tender.id} — {tender.title}"]
    if tender.leader:
        lines.append(f"{words['leader']}: {tender.leader}")
    return "\n".join(lines)


def _all_day(
    uid: str, day: date, summary: str, stamp: datetime, sequence: int, description: str = ""
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    event.add("sequence", sequence)
    event.add("transp", "TRANSPARENT")
    if description:
        event.add("description", description)
    return event


ALARM_AT = timedelta(hours=8)
"""An alarm goes off at 08:00 on its day, not at midnight."""


def _alarm(days: int, text: str) -> Alarm:
    """An alarm at 08:00 `days` before the due day: the day the reminder mail is sent."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text)
    alarm.add("trigger", -timedelta(days=days) + ALARM_AT)
    return alarm


def _last_recorded(store: Store, ids: Sequence[str]) -> dict[str, datetime]:
    """Each tender's last recorded change (the real clock): its events' DTSTAMP."""
    found: dict[str, datetime] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(ids):
            query = (select(T_EVENT.c.tender_id, func.max(T_EVENT.c.recorded_at))
                     .where(T_EVENT.c.tender_id.in_(chunk)).group_by(T_EVENT.c.tender_id))  # fmt: skip
            found.update((tender_id, _utc(at)) for tender_id, at in conn.execute(query))
    return found


def _revisions(store: Store, tenders: Sequence[Tender]) -> dict[str, int]:
    """Each tender's events since it entered its current step: the SEQUENCE of the step's events.
    A moved due date or timer, a replanned step, each is an event, so SEQUENCE only grows while
    the UID (tender and visit) stays; a new visit is a new UID, from 0."""
    by_id = {t.id: t for t in tenders}
    entered = (
        select(T_EVENT.c.tender_id, func.max(T_EVENT.c.seq))
        .join(T_TENDER, T_TENDER.c.id == T_EVENT.c.tender_id)
        .where(T_EVENT.c.dest == T_TENDER.c.state)
        .where(or_(T_EVENT.c.source.is_(None), T_EVENT.c.source != T_EVENT.c.dest))
        .group_by(T_EVENT.c.tender_id)
    )  # fmt: skip
    found: dict[str, int] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(list(by_id)):
            for tender_id, seq in conn.execute(entered.where(T_EVENT.c.tender_id.in_(chunk))):
                found[tender_id] = by_id[tender_id].seq - int(seq)
    return found


# Milestones


def _milestone_events(store: Store, code: str | None, programme: str | None) -> list[Event]:
    query = (select(T_MILE, T_PROG.c.title, T_PROG.c.loaded_at)
             .join(T_PROG, T_PROG.c.name == T_MILE.c.programme))  # fmt: skip
    query = _of(query, code, programme)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    found = []
    for row in rows:
        words = _WORDS.get(store.language(row.programme), _WORDS["da"])
        found.append(_all_day(f"{row.programme}.{row.name}@{DOMAIN}", row.date, row.label,
                              _utc(row.loaded_at), int(row.sequence),
                              f"{words['milestone']}: {row.title}"))  # fmt: skip
    return found


def _loaded_at(store: Store, code: str | None, programme: str | None) -> datetime | None:
    query = _of(select(func.max(T_PROG.c.loaded_at)), code, programme)
    with store.engine.connect() as conn:
        found = conn.execute(query).scalar()
    return _utc(found) if found is not None else None


def _of(query: Any, code: str | None, programme: str | None) -> Any:
    """Only the programmes named, or that the municipality takes part in."""
    if programme is not None:
        query = query.where(T_PROG.c.name == programme)
    if code is not None:
        members = select(T_MEMBER.c.programme).where(T_MEMBER.c.code == code)
        query = query.where(T_PROG.c.name.in_(members))
    return query


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _chunks(ids: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
