"""The pure core: (definition, tender, trigger, actor, time) -> outcome, or a refusal that says why.

The state graph is a `transitions` machine, built once per definition (by content hash) and reused;
a tender is bound to it only for the moment it fires. The machine knows where a trigger leads;
the guards that the definition language adds (roles, facts, notes, periods, sign-offs) are checked
here first, so that a refusal can name the rule and what is allowed instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from transitions import Machine

from .calendar import (
    Period,
    day_before,
    end_of_day,
    expires_at,
    expiry_day,
    local_date,
    start_of_day,
    wall_time,
)
from .definitions import Definition, PeriodRef, State, Transition
from .errors import Forbidden, InvalidInput, NotAllowed, NotFound
from .legal import LegalPeriod
from .legal import resolve as legal_resolve
from .model import Person, Tender

PeriodResolver = Callable[[PeriodRef, Tender, date], Period]
"""Turns a period of a definition into a calendar period for one tender, counted from a day
(legal.* periods need the tender's regime, procedure and facts, and the day for dated rules)."""


@dataclass(frozen=True)
class Outcome:
    """What firing a trigger did: the move (or a recorded sign-off that leaves the state as it is)."""

    tender: str
    trigger: str
    source: str
    dest: str
    actor: str
    kind: str
    occurred_at: datetime
    note: str | None = None
    facts: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    signed: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    signoff: str | None = None

    @property
    def changed(self) -> bool:
        """True when the tender moved to `dest` (a pending sign-off leaves it where it was)."""
        return not self.pending


@dataclass(frozen=True)
class StepPlan:
    """What entering a state sets up: its due date and the instant its timed transition fires."""

    due: date | None
    timer_at: datetime | None
    timer_trigger: str | None


class _Bound:
    """The stand-in a tender becomes while bound to its definition's machine for one firing."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


_machines: dict[str, Machine] = {}


def machine_for(definition: Definition) -> Machine:
    """The definition's machine: built on first use, then shared by every tender of that content."""
    machine = _machines.get(definition.sha256)
    if machine is None:
        machine = Machine(
            model=None,
            states=list(definition.states),
            transitions=[_machine_transition(t) for t in definition.transitions],
            initial=definition.initial,
            auto_transitions=False,
        )
        _machines[definition.sha256] = machine
    return machine


def _machine_transition(t: Transition) -> dict[str, Any]:
    spec: dict[str, Any] = {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
    if t.when:
        spec["conditions"] = [t.applies]  # called with the tender's attributes (see `_move`)
    return spec


PUBLISHED = ("requests", "publication")
"""The states a tender's notice is sent in (`requests` for a two-stage procedure, `publication`
for an open one): the first of them in a definition, and every state after it, count as published."""


def is_published(definition: Definition, state: str) -> bool:
    """True once a tender has reached its definition's first published state (in display order)."""
    order = list(definition.states)
    first = next((order.index(s) for s in order if s in PUBLISHED), None)
    return first is not None and order.index(state) >= first


NOTICE_SENT_ON = "notice_sent_on"
"""The fact the publishing act records: the day the contract notice was sent (the PIN window and
the legal clock count from it)."""


def attributes_of(tender: Tender) -> dict[str, str | None]:
    """What a transition's `when:` tests."""
    return {"regime": tender.regime, "procedure": tender.procedure}


def allowed_triggers(definition: Definition, state: str) -> tuple[str, ...]:
    """The triggers that can be fired from `state`, in definition order, each once (a trigger
    with several `when:` branches is one trigger)."""
    return tuple(dict.fromkeys(t.trigger for t in definition.transitions_from(state)))


def triggers_for(definition: Definition, tender: Tender, actor: Person) -> tuple[str, ...]:
    """The triggers `actor` may fire on the tender now, as far as role, municipality and
    sign-offs go (facts, notes and periods are checked when they fire)."""
    attributes = attributes_of(tender)
    return tuple(dict.fromkeys(
        t.trigger for t in definition.transitions_from(tender.state)
        if t.applies(attributes) and _may_fire(definition, tender, t, actor)
    ))  # fmt: skip


def _may_fire(
    definition: Definition, tender: Tender, transition: Transition, actor: Person
) -> bool:
    try:
        check_actor(definition, tender, transition, actor)
        check_signoff(tender, transition, actor)
    except NotAllowed:
        return False
    return True


def fire(
    definition: Definition,
    tender: Tender,
    trigger: str,
    actor: Person,
    at: datetime,
    *,
    note: str | None = None,
    facts: Mapping[str, Any] | None = None,
    resolve: PeriodResolver = legal_resolve,
) -> Outcome:
    """Fire `trigger` on `tender` as `actor` at effective time `at`; refuse with the reason."""
    transition = find_transition(definition, tender, trigger)
    check_actor(definition, tender, transition, actor)
    check_note(tender, transition, note)
    known = {**tender.facts, **(facts or {})}
    check_requires(tender, transition, known)
    check_min_period(tender, transition, at, resolve)
    signed, pending = check_signoff(tender, transition, actor)
    dest = tender.state if pending else _move(definition, tender, trigger)
    if dest in PUBLISHED and not is_published(definition, tender.state):
        facts = {**(facts or {}), NOTICE_SENT_ON: local_date(at).isoformat()}
    return Outcome(
        tender=tender.id,
        trigger=trigger,
        source=tender.state,
        dest=dest,
        actor=actor.id,
        kind="timer" if actor.role == "system" else "human",
        occurred_at=at,
        note=note,
        facts=MappingProxyType(dict(facts or {})),
        signed=signed,
        pending=pending,
        signoff=actor.municipality if signed else None,
    )


def _move(definition: Definition, tender: Tender, trigger: str) -> str:
    bound = _Bound(tender.state)
    machine_for(definition).events[trigger].trigger(bound, attributes_of(tender))
    return bound.state


def find_transition(definition: Definition, tender: Tender, trigger: str) -> Transition:
    """The transition `trigger` names from the tender's state, or a refusal listing what is allowed."""
    candidates = definition.candidates(tender.state, trigger)
    attributes = attributes_of(tender)
    transition = next((t for t in candidates if t.applies(attributes)), None)
    if transition is not None:
        return transition
    if candidates:
        raise _not_for(tender, trigger, candidates, attributes)
    allowed = ", ".join(allowed_triggers(definition, tender.state)) or "none: it is final"
    if trigger not in definition.triggers():
        raise NotFound(
            f"'{trigger}' is not a trigger of definition '{definition.name}' "
            f"(tender {tender.id} is in '{tender.state}'; allowed there: {allowed})"
        )
    raise NotAllowed(
        f"tender {tender.id} is in '{tender.state}'; '{trigger}' is not allowed there "
        f"(allowed: {allowed})"
    )


def _not_for(
    tender: Tender,
    trigger: str,
    candidates: tuple[Transition, ...],
    attributes: Mapping[str, str | None],
) -> NotAllowed:
    """Why none of a trigger's `when:` transitions applies: an attribute not set, or no way."""
    needed = dict.fromkeys(name for t in candidates for name in t.depends_on())
    unset = [name for name in needed if attributes.get(name) is None]
    if unset:
        name = unset[0]
        values = dict.fromkeys(v for t in candidates for n, vs in t.when if n == name for v in vs)
        return NotAllowed(
            f"'{trigger}' on tender {tender.id} depends on its {name}, which is not set; set it "
            f"first (kflow tender set {tender.id} {name}=…; {name}s: {', '.join(values)})"
        )
    shown = ", ".join(f"{n} {attributes.get(n)}" for n in needed)
    return NotAllowed(
        f"'{trigger}' from '{tender.state}' is not defined for tender {tender.id}'s {shown}"
    )


def check_actor(
    definition: Definition, tender: Tender, transition: Transition, actor: Person
) -> None:
    """Refuse an actor whose role may not fire the transition, or whose municipality is not in it."""
    if actor.role == "system" and _is_timed(definition.state(tender.state), transition):
        return
    if actor.role not in transition.roles:
        roles = ", ".join(sorted(transition.roles))
        raise Forbidden(
            f"{actor.id} ({actor.role}) may not fire '{transition.trigger}' on tender {tender.id}; "
            f"allowed roles: {roles}"
        )
    check_may_touch(tender, actor)


def check_may_touch(tender: Tender, actor: Person) -> None:
    """A project leader acts only on tenders of their own municipality."""
    if actor.role == "project_leader" and actor.municipality not in tender.municipalities:
        raise Forbidden(
            f"{actor.id} is project leader for municipality {actor.municipality}; tender "
            f"{tender.id} belongs to {', '.join(tender.municipalities) or 'no municipality'}"
        )


def _is_timed(state: State, transition: Transition) -> bool:
    return state.after is not None and state.after.trigger == transition.trigger


def check_note(tender: Tender, transition: Transition, note: str | None) -> None:
    """Refuse a transition that needs a note when none (or only blanks) was given."""
    if transition.note_required and not (note and note.strip()):
        raise NotAllowed(
            f"'{transition.trigger}' on tender {tender.id} needs a note saying why (give --note)"
        )


def check_requires(tender: Tender, transition: Transition, facts: Mapping[str, Any]) -> None:
    """Refuse while facts that the transition requires are not recorded on the tender."""
    missing = [name for name in transition.requires if facts.get(name) in (None, "")]
    if missing:
        raise NotAllowed(
            f"'{transition.trigger}' on tender {tender.id} needs the facts "
            f"{', '.join(missing)} first (record them with `kflow tender set` or --set)"
        )


class TooEarly(NotAllowed):
    """A transition refused because its minimum period has not expired; `until` is when it does."""

    def __init__(self, until: datetime, message: str) -> None:
        super().__init__(message)
        self.until = until


def period_end(ref: PeriodRef, period: Period, entered_at: datetime) -> datetime:
    """The instant a period counted from a state's entry expires: the end of its last day. A legal
    standstill of no days (waived, or none in the regime) ends as it starts."""
    if period.amount == 0 and isinstance(ref, LegalPeriod) and ref.name == "standstill":
        return entered_at
    return expires_at(local_date(entered_at), period)


def check_min_period(
    tender: Tender, transition: Transition, at: datetime, resolve: PeriodResolver
) -> None:
    """Refuse before the transition's minimum period since entering the state has expired."""
    if transition.min_period is None:
        return
    entered = local_date(tender.state_entered_at)
    period = resolve(transition.min_period, tender, entered)
    ends = period_end(transition.min_period, period, tender.state_entered_at)
    if at < ends:
        last = expiry_day(entered, period)
        raise TooEarly(
            ends,
            f"'{transition.trigger}' on tender {tender.id} is not allowed before the period "
            f"{transition.min_period} ({period}) since entering '{tender.state}' on "
            f"{entered.isoformat()} has expired at the end of {last.isoformat()}",
        )


CANCELLED = "cancelled"


def signoff_of(tender: Tender, transition: Transition) -> str | None:
    """The sign-off a transition needs on this tender. Ending a joint tender in `cancelled` always
    needs every participant's leader (or the secretariat), whatever the definition's version says:
    tenders started on an older version keep it, and no leader may cancel the others' tender."""
    if (
        transition.signoff is None
        and transition.dest == CANCELLED
        and len(tender.municipalities) > 1
    ):
        return "each-municipality-or-secretariat"
    return transition.signoff


def check_signoff(
    tender: Tender, transition: Transition, actor: Person
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """For a sign-off transition: who has signed with this act, and who is still pending."""
    mode = signoff_of(tender, transition)
    if mode is None:
        return (), ()
    if mode == "each-municipality-or-secretariat" and actor.role == "secretariat":
        return (), ()  # the secretariat may do alone what the participants do only together
    signed = tender.signoffs.get(transition.trigger, ())
    if actor.role != "project_leader":
        raise Forbidden(
            f"'{transition.trigger}' on tender {tender.id} is a sign-off by each participating "
            f"municipality's project leader; {actor.id} is {actor.role}"
        )
    if actor.municipality in signed:
        waiting = [m for m in tender.municipalities if m not in signed]
        raise NotAllowed(
            f"municipality {actor.municipality} has already signed off '{transition.trigger}' "
            f"on tender {tender.id}; waiting for: {', '.join(waiting)}"
        )
    now_signed = (*signed, str(actor.municipality))
    pending = tuple(m for m in tender.municipalities if m not in now_signed)
    return now_signed, pending


def plan_step(
    definition: Definition,
    state: str,
    entered_at: datetime,
    tender: Tender,
    milestones: Mapping[str, date],
    resolve: PeriodResolver = legal_resolve,
) -> StepPlan:
    """Due date and timer of a visit of `state` entered at `entered_at`."""
    spec = definition.state(state)
    entered = local_date(entered_at)
    timer_at = timer_trigger = None
    if spec.after is not None:
        period = resolve(spec.after.period, tender, entered)
        timer_at = period_end(spec.after.period, period, entered_at)
        timer_trigger = spec.after.trigger
    return StepPlan(_due(spec, entered, tender, milestones, resolve), timer_at, timer_trigger)


def _due(
    spec: State,
    entered: date,
    tender: Tender,
    milestones: Mapping[str, date],
    resolve: PeriodResolver,
) -> date | None:
    due = spec.due
    if due is None:
        return None
    if due.milestone is not None:
        return milestones.get(due.milestone)
    if due.after is not None:
        return expiry_day(entered, resolve(due.after, tender, entered))
    return due.date


def days_overdue(due: date | None, today: date) -> int:
    """Whole days past the due date (0 when not overdue): a step is overdue from the day after."""
    if due is None or today <= due:
        return 0
    return (today - due).days


def check_effective_time(
    tender: Tender, at: datetime, now: datetime, *, given: bool = True
) -> None:
    """An act's effective time is never in the future and never before the tender's last event.

    A time the user `given` (`--at`) is their input; the clock's own time behind the last event
    is the tender's state (it starts later, a `--now` in the past) or another act got in first
    since the clock was read (the service): refused by the domain, not malformed."""
    check_not_future(at, now)
    if at < tender.last_event_at:
        planned = f" (tender {tender.id} starts then)" if tender.seq == 1 else ""
        raise (InvalidInput if given else NotAllowed)(
            f"{wall_time(at)} is before tender {tender.id}'s last event ({wall_time(tender.last_event_at)})"
            f"{planned}; an act cannot go back before it"
        )


def check_not_future(at: datetime, now: datetime) -> None:
    """An effective time is never after the clock."""
    if at > now:
        raise InvalidInput(
            f"--at {wall_time(at)} is in the future (now is {wall_time(now)}); "
            "an act can only be recorded at an earlier time"
        )


_RANK = {"reminder": 0, "advance": 1, "overdue": 2, "escalation": 3}


@dataclass(frozen=True, order=True)
class Pending:
    """Something the scheduler owes a tender's current visit, at an instant.

    At the same instant a reminder comes first, then a timed transition, then the overdue flag:
    a period that expires exactly when the due date ends moves the tender on before it is late.
    """

    at: datetime
    rank: int
    what: str  # reminder | advance | overdue | escalation
    detail: str  # the reminder's or escalation's period, the timed trigger, or the due date


def pending(
    definition: Definition, tender: Tender, escalate_after: Period | None = None
) -> list[Pending]:
    """What the current visit still owes, in order; decided from the tender alone, never from now.

    `escalate_after` (the programme's setting) adds an escalation to the secretariat once the
    step has been overdue that long. Nothing is owed before the tender's last event: a step
    entered after its due date is overdue from its entry, which is when the flag is recorded
    (and what a forecast says, and the soonest a tick does it).
    """
    state = definition.state(tender.state)
    if state.final:
        return []
    items = []
    if tender.timer_at is not None and state.after is not None:
        items.append(Pending(tender.timer_at, _RANK["advance"], "advance", state.after.trigger))
    if tender.due is not None:
        items.extend(_due_items(state, tender, tender.due, escalate_after))
    last = tender.last_event_at
    return [replace(p, at=last) if p.at < last else p for p in sorted(items)]


def escalation_key(period: Period | str) -> str:
    """How an escalation is remembered among a visit's notices."""
    return f"escalation:{period}"


def escalations(tender: Tender) -> tuple[str, ...]:
    """The escalations the current visit has had (at most one, whatever its period)."""
    return tuple(key for key in tender.reminded if key.startswith(escalation_key("")))


def _due_items(
    state: State, tender: Tender, due: date, escalate_after: Period | None
) -> list[Pending]:
    late_at = end_of_day(due)
    items = []
    if tender.overdue_flagged_at is None:
        items.append(Pending(late_at, _RANK["overdue"], "overdue", due.isoformat()))
    if escalate_after is not None and not escalations(tender):  # once a visit, whatever period
        at = max(start_of_day(expiry_day(due, escalate_after)), late_at)
        items.append(Pending(at, _RANK["escalation"], "escalation", str(escalate_after)))
    for period in state.remind:
        at = start_of_day(day_before(due, period))
        if str(period) not in tender.reminded and tender.state_entered_at <= at < late_at:
            items.append(Pending(at, _RANK["reminder"], "reminder", str(period)))
    return items
