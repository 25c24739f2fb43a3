"""`kflow plan`: can the timeline still be met?

For an open tender, each step ahead of it (its current one included) gets the earliest day it can
be completed if every person acts at once and every timed or legal period runs its minimum, and
that day is set against the step's due date. The path ahead is the shortest way through the
tender's definition (its own `when:` branches, for its regime and procedure) to a final state
other than `cancelled`. A step is `feasible`, `at_risk` (under a week to spare) or `infeasible`
(its earliest day is after its due date); `unknown` once a period cannot be worked out yet (no
regime, or the tender's own deadline not recorded), with the sentence that says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import engine as core
from .calendar import local_date, start_of_day
from .definitions import Definition, Transition
from .errors import KonkurrenceFlowError
from .model import Tender

if TYPE_CHECKING:
    from .store import Store

AT_RISK_DAYS = 7
"""A step with less slack than this is at risk."""

STATUSES = ("feasible", "at_risk", "infeasible", "unknown")


@dataclass(frozen=True)
class PlannedStep:
    """One step ahead of a tender: its due date against the earliest day it can be completed."""

    tender: str
    step: str
    due: date | None
    earliest: date | None
    status: str
    note: str | None = None

    @property
    def slack_days(self) -> int | None:
        """Days to spare (negative: days too late); None without a due date or an earliest day."""
        if self.due is None or self.earliest is None:
            return None
        return (self.due - self.earliest).days

    def json(self) -> dict[str, Any]:
        """The `kflow plan --json` row."""
        return {
            "tender": self.tender,
            "step": self.step,
            "due": _iso(self.due),
            "earliest": _iso(self.earliest),
            "slack_days": self.slack_days,
            "status": self.status,
            "note": self.note,
        }


def status_of(due: date | None, earliest: date | None) -> str:
    """feasible, at_risk (under AT_RISK_DAYS to spare) or infeasible; unknown without an earliest."""
    if earliest is None:
        return "unknown"
    if due is None:
        return "feasible"
    slack = (due - earliest).days
    if slack < 0:
        return "infeasible"
    return "at_risk" if slack < AT_RISK_DAYS else "feasible"


Resolver = core.PeriodResolver


def plan_tender(
    definition: Definition,
    tender: Tender,
    now: datetime,
    milestones: Mapping[str, date],
    resolve: Resolver,
) -> list[PlannedStep]:
    """The steps ahead of one tender, from its current one to the end of its path."""
    if definition.state(tender.state).final:
        return []
    path = path_ahead(definition, tender)
    steps: list[PlannedStep] = []
    state, entered, due = tender.state, tender.state_entered_at, tender.due
    timer: datetime | None = tender.timer_at
    for i, transition in enumerate(path):
        try:
            done = _completed(definition, tender, state, entered, timer, transition, now, resolve)
        except KonkurrenceFlowError as exc:
            unknown = PlannedStep(tender.id, state, due, None, "unknown", str(exc))
            return [*steps, unknown, *_unknown(definition, tender, path[i:-1], milestones)]
        earliest = _day_of(definition, state, done)
        steps.append(PlannedStep(tender.id, state, due, earliest, status_of(due, earliest)))
        if i == len(path) - 1:
            break  # the next state is the final one: nothing to complete there
        tender = _moved(definition, tender, transition.dest, done)
        try:
            planned = core.plan_step(definition, transition.dest, done, tender, milestones, resolve)
        except KonkurrenceFlowError as exc:
            fixed = _fixed_due(definition, transition.dest, milestones)
            unknown = PlannedStep(tender.id, transition.dest, fixed, None, "unknown", str(exc))
            return [*steps, unknown, *_unknown(definition, tender, path[i + 1 : -1], milestones)]
        state, entered, due, timer = transition.dest, done, planned.due, planned.timer_at
    return steps


def _completed(
    definition: Definition,
    tender: Tender,
    state: str,
    entered: datetime,
    timer: datetime | None,
    transition: Transition,
    now: datetime,
    resolve: Resolver,
) -> datetime:
    """The earliest instant the step in `state`, entered at `entered`, can be left by `transition`."""
    spec = definition.state(state)
    day = local_date(entered)
    if spec.after is not None and spec.after.trigger == transition.trigger:
        if timer is None:
            period = resolve(spec.after.period, tender, day)
            timer = core.period_end(spec.after.period, period, entered)
        return timer
    done = max(entered, now)
    if transition.min_period is not None:
        period = resolve(transition.min_period, tender, day)
        done = max(done, core.period_end(transition.min_period, period, entered))
    return done


def _day_of(definition: Definition, state: str, done: datetime) -> date:
    """The day a step is completed: a period's last day (it ends at 24:00), or the day acted on."""
    timed = definition.state(state).after is not None
    midnight = done == start_of_day(local_date(done))
    return local_date(done - timedelta(microseconds=1)) if timed and midnight else local_date(done)


def _moved(definition: Definition, tender: Tender, dest: str, at: datetime) -> Tender:
    """The tender as it would be on entering `dest` at `at` (the notice recorded if it publishes)."""
    facts = tender.facts
    if not core.is_published(definition, tender.state) and core.is_published(definition, dest):
        facts = MappingProxyType({**facts, core.NOTICE_SENT_ON: local_date(at).isoformat()})
    return replace(tender, state=dest, state_entered_at=at, facts=facts)


def _unknown(
    definition: Definition,
    tender: Tender,
    transitions: Iterable[Transition],
    milestones: Mapping[str, date],
) -> list[PlannedStep]:
    """The steps after one whose period is not known: their due dates where fixed, no earliest."""
    return [
        PlannedStep(tender.id, t.dest, _fixed_due(definition, t.dest, milestones), None,
                    "unknown", "an earlier step's period is not known yet")
        for t in transitions
    ]  # fmt: skip


def _fixed_due(definition: Definition, state: str, milestones: Mapping[str, date]) -> date | None:
    """A step's due date when it does not depend on when the step is entered (milestone, date)."""
    due = definition.state(state).due
    if due is None:
        return None
    return milestones.get(due.milestone) if due.milestone is not None else due.date


def path_ahead(definition: Definition, tender: Tender) -> list[Transition]:
    """The shortest way from the tender's state to a final state other than `cancelled`, through
    the transitions that apply to its regime and procedure; [] when there is none."""
    attributes = core.attributes_of(tender)
    came_from: dict[str, tuple[str, Transition] | None] = {tender.state: None}
    queue = [tender.state]
    for state in queue:  # breadth first: the queue grows as it is walked
        if definition.state(state).final:
            path: list[Transition] = []
            while (step := came_from[state]) is not None:
                state, transition = step
                path.append(transition)
            return path[::-1]
        for transition in definition.transitions_from(state):
            dest = transition.dest
            if dest != core.CANCELLED and dest not in came_from and transition.applies(attributes):
                came_from[dest] = (state, transition)
                queue.append(dest)
    return []


def plan(
    store: Store,
    now: datetime,
    *,
    tender_id: str | None = None,
    municipality_code: str | None = None,
    programme: str | None = None,
    wrap: Callable[[list[Tender]], Iterable[Tender]] = list,
) -> list[PlannedStep]:
    """The steps ahead of every open tender (or of one), tender by tender."""
    if tender_id is not None:
        tenders = [store.tender(tender_id)]
    else:
        tenders = [t for t in store.tenders(municipality_code)
                   if programme is None or t.programme == programme]  # fmt: skip
    found: list[PlannedStep] = []
    for tender in wrap(tenders):
        definition = store.definition(tender.definition, tender.definition_version)
        milestones = store.milestones(tender.programme)
        found.extend(plan_tender(definition, tender, now, milestones, store.resolve))
    return found


def infeasible_steps(
    store: Store, now: datetime, tender_ids: Iterable[str]
) -> set[tuple[str, str]]:
    """(tender, step) for each step of these tenders that cannot be completed by its due date."""
    found: set[tuple[str, str]] = set()
    for tender_id in sorted(set(tender_ids)):
        found.update((s.tender, s.step) for s in plan(store, now, tender_id=tender_id)
                     if s.status == "infeasible")  # fmt: skip
    return found


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
