"""What time owes a tender: catching it up, in order, on timers, reminders, overdue flags and
escalations. Shared by the scheduler's tick and forecast and by a human act, which first lets time
catch up to its own effective instant so that the result never depends on when a tick last ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from . import engine as core
from .errors import RunError
from .log import logger
from .model import SYSTEM

if TYPE_CHECKING:
    from .unit import Unit

MAX_STEPS_PER_TENDER = 200
"""A guard against definitions whose timers chase each other forever (e.g. P0D cycles)."""


@dataclass(frozen=True)
class Happening:
    """One thing the scheduler did (or, in a forecast, would do) to a tender."""

    at: datetime
    tender: str
    what: str  # advance | overdue | reminder | escalation | refused
    state: str
    detail: str
    trigger: str | None = None
    dest: str | None = None
    due: date | None = None
    skipped: bool = False  # a reminder recorded as given, not sent: its due date had passed

    def key(self) -> tuple[datetime, str, str, str]:
        """What identifies it when a forecast is compared with a real run."""
        return (self.at, self.tender, self.what, self.detail)


def catch_up(unit: Unit, tender_id: str, until: datetime, found: list[Happening]) -> bool:
    """Do, in order, everything the tender is owed up to `until`, cascading through timers.
    False when it is owed more than the steps one pass may take (the next pass goes on)."""
    for _ in range(MAX_STEPS_PER_TENDER):
        tender = unit.tender(tender_id)
        items = unit.pending(tender)
        if not items or items[0].at > until:
            return True
        found.append(_do(unit, tender.id, tender.state, items[0]))
    logger().warning("tender owed more than the steps allowed per tick", tender=tender_id)
    return False


def _do(unit: Unit, tender_id: str, state: str, item: core.Pending) -> Happening:
    if item.what == "reminder":
        due = unit.remind(tender_id, item.detail).due
        detail = f"{item.detail} before {due}"
        skipped = unit.too_late(due)
        return Happening(item.at, tender_id, "reminder", state, detail, due=due, skipped=skipped)
    if item.what == "escalation":
        due = unit.escalate(tender_id, item.detail).due
        detail = f"overdue {item.detail} since {due}"
        return Happening(item.at, tender_id, "escalation", state, detail, due=due)
    if item.what == "overdue":
        due = unit.flag_overdue(tender_id, item.at).due
        return Happening(item.at, tender_id, "overdue", state, f"due {due}", due=due)
    at = max(item.at, unit.tender(tender_id).last_event_at)
    try:
        outcome = unit.advance(tender_id, item.detail, SYSTEM, at=at)
    except core.TooEarly as exc:  # the period now runs longer (facts or rules changed): wait
        unit.move_timer(tender_id, at, exc.until, str(exc))
        return Happening(at, tender_id, "refused", state, str(exc), trigger=item.detail)
    except RunError as exc:
        unit.disarm_timer(tender_id, at, str(exc))
        return Happening(at, tender_id, "refused", state, str(exc), trigger=item.detail)
    detail = f"{item.detail}: {outcome.source} -> {outcome.dest}"
    return Happening(at, tender_id, "advance", state, detail, item.detail, outcome.dest)
