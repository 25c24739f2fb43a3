"""Read-only projections: the JSON shapes of DESIGN.md (keys may be added, never renamed)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .calendar import TZ, local_date, quarter_end, quarter_label, quarter_of, quarter_start
from .definitions import Definition
from .engine import allowed_triggers, days_overdue
from .legal import threshold_warning
from .model import Event, Tender

if TYPE_CHECKING:
    from .programme import Programme
    from .store import Store


def instant(value: datetime | None) -> str | None:
    """An instant as ISO 8601 with its Copenhagen offset."""
    return None if value is None else value.astimezone(TZ).isoformat()


def tender_json(tender: Tender, definition: Definition, now: datetime) -> dict[str, Any]:
    """The `tender show` object."""
    late = days_overdue(tender.due, local_date(now))
    return {
        "id": tender.id,
        "title": tender.title,
        "definition": tender.definition,
        "definition_version": tender.definition_version,
        "programme": tender.programme,
        "state": tender.state,
        "state_label": definition.state(tender.state).label,
        "entered_at": instant(tender.state_entered_at),
        "due": tender.due.isoformat() if tender.due else None,
        "overdue": late > 0,
        "days_overdue": late,
        "municipalities": list(tender.municipalities),
        "leader": tender.leader,
        "area": tender.area,
        "procedure": tender.procedure,
        "regime": tender.regime,
        "facts": dict(tender.facts),
        "triggers": list(allowed_triggers(definition, tender.state)),
        "signoffs": {k: list(v) for k, v in tender.signoffs.items()},
        "version": tender.version,
        "timer_at": instant(tender.timer_at),
        "warnings": [w for w in [threshold_warning(tender, local_date(now))] if w],
    }


def event_json(event: Event) -> dict[str, Any]:
    """One `tender history` entry."""
    return {
        "seq": event.seq,
        "kind": event.kind,
        "trigger": event.trigger,
        "source": event.source,
        "dest": event.dest,
        "actor": event.actor,
        "occurred_at": instant(event.occurred_at),
        "recorded_at": instant(event.recorded_at),
        "note": event.note,
        "data": dict(event.data),
    }


def overdue(
    store: Store, now: datetime, municipality_code: str | None = None
) -> list[dict[str, Any]]:
    """Every overdue step as of `now`: the `overdue` JSON rows, most overdue first."""
    today = local_date(now)
    found = []
    for tender in store.with_due_before(today, municipality_code):
        definition = store.definition(tender.definition, tender.definition_version)
        if definition.state(tender.state).final:
            continue
        found.append(
            {
                "tender": tender.id,
                "title": tender.title,
                "state": tender.state,
                "due": tender.due.isoformat() if tender.due else None,
                "days_overdue": days_overdue(tender.due, today),
                "municipalities": list(tender.municipalities),
                "leader": tender.leader,
            }
        )
    return sorted(found, key=lambda r: (-r["days_overdue"], r["tender"]))


def timeline(store: Store, programme: Programme) -> list[dict[str, Any]]:
    """A programme's quarters with their milestones and the tenders currently due on each."""
    due_on: dict[date, list[str]] = {}
    for tender in store.tenders():
        if tender.programme == programme.name and tender.due is not None:
            due_on.setdefault(tender.due, []).append(tender.id)
    quarters = []
    year, q = quarter_of(programme.start)
    while quarter_start(year, q) <= programme.end:
        quarters.append(_quarter(year, q, programme, due_on))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return quarters


def _quarter(
    year: int, q: int, programme: Programme, due_on: dict[date, list[str]]
) -> dict[str, Any]:
    first, last = quarter_start(year, q), quarter_end(year, q)
    milestones = sorted(
        (m for m in programme.milestones.values() if first <= m.date <= last), key=lambda m: m.date
    )
    return {
        "quarter": quarter_label(year, q),
        "start": first.isoformat(),
        "end": last.isoformat(),
        "milestones": [
            {"name": m.name, "date": m.date.isoformat(), "label": m.label, "planned": m.planned,
             "due": sorted(due_on.get(m.date, []))}
            for m in milestones
        ],
    }  # fmt: skip
