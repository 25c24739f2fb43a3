"""Read-only projections: the JSON shapes of DESIGN.md (keys may be added, never renamed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .calendar import TZ, local_date
from .definitions import Definition
from .engine import allowed_triggers, days_overdue
from .model import Event, Tender


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
