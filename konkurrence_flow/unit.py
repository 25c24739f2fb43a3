"""The unit of work: read the tenders an act touches, let the engine decide, write once.

Every change waits in memory until `commit()`, which writes all of it in one transaction with an
optimistic version check on every tender it changed. A unit that is never committed changes
nothing, which is how `forecast` runs the scheduler's own code without touching the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from . import engine as core
from . import messages
from .calendar import day_before, expiry_day, local_date, parse_period, start_of_day
from .chain import GENESIS, Content, event_hash
from .definitions import Definition
from .errors import ConcurrentChange, Forbidden, InvalidInput, NotAllowed, NotFound
from .identifiers import ascii_prefix, tender_id_problem, title_problem
from .legal import check_procedure, check_regime
from .log import logger
from .model import SYSTEM, Person, Tender, described
from .municipalities import municipality
from .owed import catch_up
from .rows import T_EVENT, T_NOTE, T_STEP, T_TENDER, T_TM, tender_values

if TYPE_CHECKING:
    from .model import NewTender
    from .store import Store


@dataclass
class _Work:
    """A tender being changed inside a unit: its current value and the rows still to write."""

    tender: Tender
    read_version: int | None  # None for a tender created in this unit
    events: list[dict[str, Any]] = field(default_factory=list)
    new_steps: dict[int, dict[str, Any]] = field(default_factory=dict)
    step_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    municipalities: tuple[str, ...] = ()
    dirty: bool = False
    first_visit: int = 0  # the visit the tender was in when this unit read it

    def __post_init__(self) -> None:
        self.first_visit = self.tender.visit

    def left(self) -> tuple[str, ...]:
        """The dedupe-key prefixes of the notices about the steps this unit took the tender out
        of: those not yet sent are withdrawn (`_withdraw`)."""
        return tuple(f"{kind}:{self.tender.id}:{visit}:" for visit in
                     range(self.first_visit, self.tender.visit) for kind in STEP_NOTICES)  # fmt: skip

    def update_step(self, visit: int, **values: Any) -> None:
        """Change a step row, whether it is new in this unit or already stored."""
        if visit in self.new_steps:
            self.new_steps[visit].update(values)
        else:
            self.step_updates.setdefault(visit, {}).update(values)


_NONE: Mapping[str, Any] = MappingProxyType({})


def _evolve(tender: Tender, **changes: Any) -> Tender:
    """`dataclasses.replace` for the unit's own working copies, without re-running `__init__`.

    A unit changes a tender several times per act; the values it sets are its own, already
    checked, so copying the frozen instance's fields is enough (and several times faster).
    """
    evolved = object.__new__(Tender)
    evolved.__dict__.update(tender.__dict__, **changes)
    return evolved


class Unit:
    """A unit of work at one `now`: acts in memory, then one transaction for every write."""

    def __init__(self, store: Store, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError(f"naive datetime {now} refused: `now` must be timezone-aware")
        self.store = store
        self.now = now
        self._work: dict[str, _Work] = {}
        self._also: list[Callable[[Any], None]] = []
        self._extra: list[dict[str, Any]] = []
        self.queued = 0  # notifications written by the last commit

    # -- reading ----------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        """True when the unit has something to write."""
        return bool(self._also or self._extra) or any(w.dirty for w in self._work.values())

    def tender(self, tender_id: str) -> Tender:
        """The tender as this unit sees it (with its own changes so far)."""
        return self._load(tender_id).tender

    def preload(self, tenders: Iterable[Tender]) -> None:
        """Seed the unit with tenders already read (one query for many)."""
        for tender in tenders:
            self._work.setdefault(tender.id, _Work(tender, tender.version))

    def _load(self, tender_id: str) -> _Work:
        work = self._work.get(tender_id)
        if work is None:
            tender = self.store.tender(tender_id)
            work = self._work[tender_id] = _Work(tender, tender.version)
        return work

    def definition_of(self, tender: Tender) -> Definition:
        """The definition version a tender runs on."""
        return self.store.definition(tender.definition, tender.definition_version)

    def pending(self, tender: Tender) -> list[core.Pending]:
        """What the scheduler owes the tender's current visit, with its programme's escalation."""
        escalate = self.store.escalate_after(tender.programme)
        return core.pending(self.definition_of(tender), tender, escalate)

    def recheck(self, tender_id: str) -> None:
        """Have the tender's `next_check_at` written if it is stale (it names an instant when the
        tender is owed nothing, say after its programme's escalation changed): the scheduler
        would otherwise find it due again and again."""
        work = self._load(tender_id)
        if work.dirty:
            return  # its next check is worked out at commit anyway
        items = self.pending(work.tender)
        if (items[0].at if items else None) != work.tender.next_check_at:
            work.dirty = True

    # -- acts -------------------------------------------------------------------------------

    def create(self, spec: NewTender, actor: Person, at: datetime | None = None) -> Tender:
        """Start a tender in the initial state of the latest version of its definition."""
        at = at or self.now
        version, definition = self.store.versioned_definition(spec.definition)
        codes = tuple(dict.fromkeys(municipality(m).code for m in spec.municipalities))
        _check_creator(actor, codes)
        _check_not_recorded(spec.facts)
        check_regime(spec.regime)
        check_procedure(spec.procedure, spec.regime)
        tender_id = self._new_id(codes) if spec.id is None else spec.id
        if actor.role != "system":  # a programme's own tenders were checked with its file
            self._check_new(spec, tender_id, codes)
            self._check_joint(spec, actor, codes)
        if tender_id in self._work or self.store.has_tender(tender_id):
            raise InvalidInput(f"tender '{tender_id}' exists already; choose another --id")
        tender = Tender(
            id=tender_id, title=spec.title, definition=definition.name,
            definition_version=version, state=definition.initial, state_entered_at=at,
            municipalities=codes, version=1, seq=0, visit=0, last_event_at=at, created_at=at,
            programme=spec.programme,
            leader=spec.leader or (actor.id if actor.role == "project_leader" else None),
            area=spec.area, procedure=spec.procedure, regime=spec.regime,
            facts=MappingProxyType(dict(spec.facts)),
        )  # fmt: skip
        work = self._work[tender_id] = _Work(tender, None, municipalities=codes)
        entry = self._entry(work, definition, definition.initial, at)
        kind = "system" if actor.role == "system" else "human"
        data: dict[str, Any] = {"tender": described(tender)}  # so `audit verify` can check the row
        if spec.facts:
            data["set"] = dict(spec.facts)
        self._record(work, kind, None, None, definition.initial, actor, at, None, data, entry)
        return work.tender

    def _check_new(self, spec: NewTender, tender_id: str, codes: tuple[str, ...]) -> None:
        """A new tender's id is a plain word, its title one line; its leader and programme exist."""
        problem = tender_id_problem(tender_id) or title_problem(spec.title, "a tender's title")
        if problem:
            raise InvalidInput(problem)
        if spec.leader is not None:
            _check_leader(self.store.person(spec.leader), codes)
        if spec.programme is not None and spec.programme not in self.store.programme_names():
            names = ", ".join(self.store.programme_names()) or "none is loaded"
            raise NotFound(f"unknown programme '{spec.programme}' (programmes: {names})")

    def _check_joint(self, spec: NewTender, actor: Person, codes: tuple[str, ...]) -> None:
        """A project leader's joint tender joins municipalities of one programme, named."""
        if actor.role != "project_leader" or len(codes) < 2:
            return
        if spec.programme is None:
            raise Forbidden(
                f"{actor.id} may create a joint tender only within a programme its municipalities "
                "take part in; give --programme"
            )
        members = {m.code for m in self.store.members(spec.programme)}
        outside = [c for c in codes if c not in members]
        if outside:
            raise Forbidden(
                f"municipalities {', '.join(outside)} do not take part in programme "
                f"{spec.programme}; a project leader's joint tender stays within it"
            )

    def _new_id(self, codes: tuple[str, ...]) -> str:
        prefix = ascii_prefix(municipality(codes[0]).name) if len(codes) == 1 else "FAE"
        n = self.store.count_tenders() + len(self._work) + 1
        while self.store.has_tender(f"{prefix}-{n:03d}") or f"{prefix}-{n:03d}" in self._work:
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
        _check_not_recorded(facts)
        own = sorted(set(facts or ()) & set(ATTRIBUTES))
        if own:
            raise InvalidInput(
                f"{' and '.join(own)} of tender {tender_id} are corrected with `kflow tender set` "
                "(until it is published), not with --set on an act"
            )
        given, at = at is not None, at or self.now
        core.check_effective_time(self._load(tender_id).tender, at, self.now, given=given)
        if actor.role != "system":
            self.catch_up(tender_id, at)
        work = self._load(tender_id)
        definition = self.definition_of(work.tender)
        outcome = core.fire(
            definition, work.tender, trigger, actor, at,
            note=note, facts=facts, resolve=self.store.resolve,
        )  # fmt: skip
        self._apply(work, definition, outcome, actor)
        return outcome

    def catch_up(self, tender_id: str, until: datetime) -> None:
        """Let time do what it owes the tender up to `until` (timers, notices) before a person acts."""
        catch_up(self, tender_id, until, [])

    def _apply(
        self, work: _Work, definition: Definition, outcome: core.Outcome, actor: Person
    ) -> None:
        changes: dict[str, Any] = {}
        if outcome.facts:  # before the entry: a legal period may depend on a fact just given
            work.tender = _evolve(
                work.tender, facts=MappingProxyType({**work.tender.facts, **outcome.facts})
            )
        if outcome.pending:
            signed = {**work.tender.signoffs, outcome.trigger: outcome.signed}
            changes["signoffs"] = MappingProxyType(signed)
            changes.update(self._replan(work, definition))
            self._ask_for_signoffs(work, outcome)
        else:
            work.update_step(work.tender.visit, left_at=outcome.occurred_at)
            changes = self._entry(work, definition, outcome.dest, outcome.occurred_at)
        data: dict[str, Any] = {}
        if outcome.facts:
            data["set"] = dict(outcome.facts)
        if outcome.signoff:
            data.update(signoff=outcome.signoff, pending=list(outcome.pending))
        self._record(
            work, outcome.kind, outcome.trigger, outcome.source, outcome.dest,
            actor, outcome.occurred_at, outcome.note, data, changes,
        )  # fmt: skip

    def _entry(
        self, work: _Work, definition: Definition, state: str, at: datetime
    ) -> dict[str, Any]:
        """Open a step for a visit of `state`; return the tender's changes for entering it."""
        milestones = self.store.milestones(work.tender.programme)
        plan = core.plan_step(definition, state, at, work.tender, milestones, self.store.resolve)
        visit = work.tender.visit + 1
        work.new_steps[visit] = {
            "tender_id": work.tender.id, "visit": visit, "state": state, "entered_at": at,
            "due": plan.due, "timer_at": plan.timer_at, "left_at": None,
            "overdue_flagged_at": None,
        }  # fmt: skip
        return {
            "state": state, "state_entered_at": at, "visit": visit, "due": plan.due,
            "timer_at": plan.timer_at, "signoffs": _NONE, "overdue_flagged_at": None,
            "reminded": (),
        }  # fmt: skip

    def set_facts(self, tender_id: str, facts: Mapping[str, Any], actor: Person) -> Tender:
        """Record facts on a tender (an event of its own). `regime` and `procedure` are the
        tender's own attributes: they can be corrected until the tender is published."""
        if not facts:
            raise InvalidInput("give at least one KEY=VALUE to record")
        _check_not_recorded(facts)
        tender = self._load(tender_id).tender
        core.check_may_touch(tender, actor)
        core.check_effective_time(tender, self.now, self.now, given=False)
        attributes = _corrections(self.definition_of(tender), tender, facts)
        self.catch_up(tender_id, self.now)
        work = self._load(tender_id)
        state, data = work.tender.state, {"set": dict(facts)}
        known = {k: v for k, v in facts.items() if k not in attributes}
        work.tender = _evolve(
            work.tender, facts=MappingProxyType({**work.tender.facts, **known}), **attributes
        )
        changes = self._replan(work, self.definition_of(work.tender))
        self._record(work, "human", None, state, state, actor, self.now, None, data, changes)
        self.catch_up(tender_id, self.now)  # a timer the new facts moved into the past fires now
        return work.tender

    def attach(self, tender_id: str, actor: Person, attached: Mapping[str, Any]) -> int:
        """Record that a document was attached (an event, whose hash covers the document's
        SHA-256); return its seq. The document's own rows are written through `also`."""
        tender = self._load(tender_id).tender
        core.check_may_touch(tender, actor)
        core.check_effective_time(tender, self.now, self.now, given=False)
        self.catch_up(tender_id, self.now)
        work = self._load(tender_id)
        state, data = work.tender.state, {"attached": dict(attached)}
        self._record(work, "human", None, state, state, actor, self.now, None, data)
        return work.tender.seq

    def _replan(self, work: _Work, definition: Definition) -> dict[str, Any]:
        """Facts changed in a state: its timer (and a due date counted by a period) follow them.

        A legal period may depend on facts (`tender_deadline`, `pin_published`, …): a timer planned
        with the old facts would close the bidding at the wrong instant.
        """
        tender = work.tender
        milestones = self.store.milestones(tender.programme)
        plan = core.plan_step(
            definition, tender.state, tender.state_entered_at, tender, milestones,
            self.store.resolve,
        )  # fmt: skip
        changes: dict[str, Any] = {}
        if plan.timer_at != tender.timer_at:  # moved, or armed again after a refusal
            changes["timer_at"] = plan.timer_at
        if plan.due != tender.due and tender.overdue_flagged_at is None and plan.due is not None:
            changes["due"] = plan.due
            work.update_step(tender.visit, due=plan.due)
            changes["reminded"] = self._notices_for(work, plan.due, still_late=False)
        if "timer_at" in changes:
            work.update_step(tender.visit, timer_at=plan.timer_at)
        return changes

    # -- the scheduler's acts -----------------------------------------------------------------

    def flag_overdue(self, tender_id: str, at: datetime) -> Tender:
        """Flag the current step overdue (once), with a system event and overdue notices."""
        work = self._load(tender_id)
        at = max(at, work.tender.last_event_at)
        work.update_step(work.tender.visit, overdue_flagged_at=at)
        state, due = work.tender.state, work.tender.due
        data = {"overdue": due.isoformat() if due else None}
        changes = {"overdue_flagged_at": at}
        self._record(work, "system", None, state, state, SYSTEM, at, None, data, changes)
        self._notify(work, "overdue", f"first-day@{_iso(work.tender.due)}")
        return work.tender

    def remind(self, tender_id: str, period: str) -> Tender:
        """Queue the reminder `period` before the current step's due date (once).

        After downtime, a reminder whose due date has already passed would only confuse: it is
        recorded as given (never owed again) but not queued; the overdue notice says it instead.
        """
        work = self._load(tender_id)
        work.tender = _evolve(work.tender, reminded=(*work.tender.reminded, period))
        work.dirty = True
        if not self.too_late(work.tender.due):
            self._notify(work, "reminder", f"{period}@{_iso(work.tender.due)}")
        return work.tender

    def too_late(self, due: date | None) -> bool:
        """True when a reminder of `due`, queued now, would come after the day itself."""
        return due is not None and due < local_date(self.now)

    def escalate(self, tender_id: str, period: str) -> Tender:
        """Tell the secretariat that the current step has stayed overdue for `period` (once)."""
        work = self._load(tender_id)
        key = core.escalation_key(period)
        work.tender = _evolve(work.tender, reminded=(*work.tender.reminded, key))
        work.dirty = True
        due = work.tender.due
        assert due is not None
        days = (expiry_day(due, parse_period(period)) - due).days
        threshold = f"{period}@{_iso(due)}"
        self._notify(work, "escalation", threshold, self.store.secretariat(), days)
        return work.tender

    def queue(self, row: dict[str, Any]) -> None:
        """Queue a notification about no single tender (the secretariat's digest)."""
        self._extra.append(row)

    def disarm_timer(self, tender_id: str, at: datetime, reason: str) -> Tender:
        """A timed transition the engine refused: record why, and stop retrying it."""
        work = self._load(tender_id)
        at = max(at, work.tender.last_event_at)
        state = work.tender.state
        data = {"timer": "refused"}
        self._record(
            work, "system", None, state, state, SYSTEM, at, reason, data, {"timer_at": None}
        )
        return work.tender

    def move_timer(self, tender_id: str, at: datetime, until: datetime, reason: str) -> Tender:
        """A timed transition fired before its minimum period expired (a timer planned under
        older facts or rules): record why, and fire it again when the period does expire."""
        work = self._load(tender_id)
        at = max(at, work.tender.last_event_at)
        state = work.tender.state
        data = {"timer": "moved", "to": until.isoformat()}
        work.update_step(work.tender.visit, timer_at=until)
        self._record(work, "system", None, state, state, SYSTEM, at, reason, data,
                     {"timer_at": until})  # fmt: skip
        return work.tender

    def move_due(self, tender_id: str, due: date, milestone: str) -> Tender:
        """A milestone moved: the current step's due date follows it (and the history says so).

        Time first catches up to now on the old date. A step that was flagged overdue and is now
        due later is unflagged, to be flagged again if the new date passes; the new date gets the
        reminders that still lie ahead (see `_notices_for`).
        """
        self.catch_up(tender_id, self.now)
        work = self._load(tender_id)
        old = work.tender.due
        late_again = work.tender.overdue_flagged_at is not None and due > (old or due)
        flagged = None if late_again else work.tender.overdue_flagged_at
        work.update_step(work.tender.visit, due=due, overdue_flagged_at=flagged)
        state = work.tender.state
        data = {"due_moved": {"milestone": milestone, "from": _iso(old), "to": due.isoformat()}}
        at = max(self.now, work.tender.last_event_at)
        reminded = self._notices_for(work, due, flagged is not None)
        changes = {"due": due, "overdue_flagged_at": flagged, "reminded": reminded}
        self._record(work, "system", None, state, state, SYSTEM, at, None, data, changes)
        return work.tender

    def _notices_for(self, work: _Work, due: date, still_late: bool) -> tuple[str, ...]:
        """The notices a step with a new due date counts as given: every reminder whose day has
        passed (or all, if the step stays overdue), and the escalation if it stays overdue."""
        state = self.definition_of(work.tender).state(work.tender.state)
        passed = tuple(
            str(p) for p in state.remind
            if still_late or start_of_day(day_before(due, p)) <= self.now
        )  # fmt: skip
        return passed + (core.escalations(work.tender) if still_late else ())

    def _notify(
        self,
        work: _Work,
        kind: str,
        threshold: str,
        to: list[Person] | None = None,
        days: int = 0,
        triggers: tuple[str, ...] | None = None,
    ) -> None:
        """Queue a `kind` notice about the tender's current step, once per visit and person."""
        tender = work.tender
        definition = self.definition_of(tender)
        about = messages.About(
            tender=tender.id, title=tender.title, state=tender.state,
            label=definition.state(tender.state).label, due=tender.due,
            municipalities=tender.municipalities,
            triggers=triggers or core.allowed_triggers(definition, tender.state),
        )  # fmt: skip
        lang = self.store.language(tender.programme)
        for person in self.store.leaders_of(tender) if to is None else to:
            key = f"{kind}:{tender.id}:{tender.visit}:{threshold}:{person.id}"
            work.notifications.append(
                {
                    "dedupe_key": key, "kind": kind, "tender_id": tender.id,
                    "recipient": person.id, "address": person.email,
                    "subject": messages.subject(kind, about, lang, days),
                    "body": messages.body(kind, about, lang, days), "status": "queued",
                    "attempts": 0, "created_at": self.now, "next_attempt_at": self.now,
                    "data": {"state": tender.state, "due": _iso(tender.due),
                             "threshold": threshold, "lang": lang},
                }
            )  # fmt: skip

    def _ask_for_signoffs(self, work: _Work, outcome: core.Outcome) -> None:
        """A sign-off that leaves others pending asks their project leaders for theirs."""
        waiting = [
            p for p in self.store.people()
            if p.role == "project_leader" and p.municipality in outcome.pending
        ]  # fmt: skip
        trigger = outcome.trigger
        self._notify(work, "signoff", trigger, waiting, triggers=(trigger,))

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
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        seq, prev = work.tender.seq + 1, work.tender.head or GENESIS
        content = Content(
            work.tender.id, seq, kind, trigger, source, dest, actor.id, at, self.now, note, data
        )
        digest = event_hash(prev, content)
        work.tender = _evolve(
            work.tender, seq=seq, last_event_at=at, head=digest, **(changes or {})
        )
        work.dirty = True
        work.events.append(
            {
                "tender_id": work.tender.id, "seq": seq, "kind": kind, "trigger": trigger,
                "source": source, "dest": dest, "actor": actor.id, "occurred_at": at,
                "recorded_at": self.now, "note": note, "data": data, "prev_hash": prev,
                "hash": digest,
            }
        )  # fmt: skip

    def also(self, write: Callable[[Any], None]) -> None:
        """Another write (with a connection) that must commit in this unit's transaction."""
        self._also.append(write)

    # -- writing ----------------------------------------------------------------------------

    def discard(self) -> None:
        """Forget every change waiting in this unit: nothing of it is ever written."""
        self._work.clear()
        self._also.clear()
        self._extra.clear()

    def commit(self, conn: Any = None) -> None:
        """Write every change of this unit in one transaction, or nothing at all (on `conn`, a
        connection the caller holds with no transaction begun, else on one from the pool)."""
        if not self.dirty:
            self._work.clear()
            return
        for work in self._work.values():
            if not work.dirty:
                continue
            items = self.pending(work.tender)
            work.tender = _evolve(work.tender, next_check_at=items[0].at if items else None)
        try:
            if conn is None:
                with self.store.engine.begin() as pooled:
                    self._write(pooled)
            else:
                with conn.begin():
                    self._write(conn)
        except IntegrityError as exc:
            raise ConcurrentChange(_first_id(self._work)) from exc
        except OperationalError as exc:
            if _is_busy(exc):
                raise ConcurrentChange(_first_id(self._work)) from exc
            raise
        _log(self._work.values())
        self.discard()  # written: nothing waits any more

    def _write(self, conn: Any) -> None:
        touched = [w for w in self._work.values() if w.dirty]
        created = [w for w in touched if w.read_version is None]
        if created:
            conn.execute(insert(T_TENDER), [tender_values(w.tender) for w in created])
            members = [row for w in created for row in _members(w)]
            if members:
                conn.execute(insert(T_TM), members)
        _update_tenders(conn, [w for w in touched if w.read_version is not None])
        _write_steps(conn, touched)
        events = [e for w in touched for e in w.events]
        if events:
            conn.execute(insert(T_EVENT), events)
        notes = [n for w in touched for n in w.notifications] + self._extra
        left = [w for w in touched if w.tender.visit != w.first_visit]
        self.queued = _write_notifications(conn, _withdraw(conn, notes, left))
        for write in self._also:
            write(conn)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _members(work: _Work) -> list[dict[str, Any]]:
    return [
        {"tender_id": work.tender.id, "municipality": code, "position": i}
        for i, code in enumerate(work.municipalities)
    ]


_TENDER_SET = [c for c in T_TENDER.columns if c.name not in ("id", "claimed_by", "claimed_until")]
_UPDATE_TENDER = (
    update(T_TENDER)
    .where(T_TENDER.c.id == bindparam("b_id"), T_TENDER.c.version == bindparam("b_read"))
    .values({c.name: bindparam(f"v_{c.name}", type_=c.type) for c in _TENDER_SET})
)
"""One prebuilt statement for every tender update: SQLAlchemy compiles it once."""


def _update_tenders(conn: Any, works: list[_Work]) -> None:
    """Write changed tenders, each only if nobody changed it since this unit read it."""
    if not works:
        return
    if len(works) > 1:
        _check_versions(conn, works)  # names the tender that changed, before anything is written
    params = [_tender_params(w) for w in works]
    if conn.dialect.supports_sane_multi_rowcount:
        if conn.execute(_UPDATE_TENDER, params).rowcount != len(works):
            raise ConcurrentChange(works[0].tender.id)  # after the pre-check: a race in between
        return
    for work, one in zip(works, params, strict=True):
        if conn.execute(_UPDATE_TENDER, one).rowcount != 1:
            raise ConcurrentChange(work.tender.id)


def _check_versions(conn: Any, works: list[_Work]) -> None:
    ids = [w.tender.id for w in works]
    stored: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = select(T_TENDER.c.id, T_TENDER.c.version).where(
            T_TENDER.c.id.in_(ids[start : start + 500])
        )
        stored.update((row.id, row.version) for row in conn.execute(chunk))
    for work in works:
        if stored.get(work.tender.id) != work.read_version:
            raise ConcurrentChange(work.tender.id)


def _tender_params(work: _Work) -> dict[str, Any]:
    values = tender_values(work.tender)
    values["version"] = work.read_version + 1  # type: ignore[operator]
    params = {f"v_{c.name}": values[c.name] for c in _TENDER_SET}
    params.update(b_id=work.tender.id, b_read=work.read_version)
    return params


@lru_cache(maxsize=16)
def _update_step(columns: tuple[str, ...]) -> Any:
    """A prebuilt step update for one set of columns."""
    return (
        update(T_STEP)
        .where(T_STEP.c.tender_id == bindparam("b_tender"), T_STEP.c.visit == bindparam("b_visit"))
        .values({name: bindparam(f"v_{name}", type_=T_STEP.c[name].type) for name in columns})
    )


def _write_steps(conn: Any, works: list[_Work]) -> None:
    new = [s for w in works for s in w.new_steps.values()]
    if new:
        conn.execute(insert(T_STEP), new)
    grouped: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for work in works:
        for visit, values in work.step_updates.items():
            params = {f"v_{k}": v for k, v in values.items()}
            params.update(b_tender=work.tender.id, b_visit=visit)
            grouped.setdefault(tuple(sorted(values)), []).append(params)
    for columns, batch in grouped.items():
        conn.execute(_update_step(columns), batch)


def _write_notifications(conn: Any, rows: list[dict[str, Any]]) -> int:
    """Queue notifications; a dedupe key already in the outbox is never queued twice. Returns
    how many were queued (not those withdrawn before they were written)."""
    if not rows:
        return 0
    keys = [r["dedupe_key"] for r in rows]
    known = set(
        conn.execute(select(T_NOTE.c.dedupe_key).where(T_NOTE.c.dedupe_key.in_(keys))).scalars()
    )
    fresh = {r["dedupe_key"]: r for r in rows if r["dedupe_key"] not in known}
    if fresh:
        conn.execute(insert(T_NOTE), list(fresh.values()))
    return sum(r["status"] == "queued" for r in fresh.values())


STEP_NOTICES = ("reminder", "overdue", "escalation", "signoff")
"""The notices about one step of a tender (its dedupe key names the visit): moot once it is left."""

WITHDRAWN = "withdrawn: the tender left the step before the message went out"


def _withdraw(conn: Any, rows: list[dict[str, Any]], left: list[_Work]) -> list[dict[str, Any]]:
    """Withdraw the notices about the steps the tenders `left` that are not sent yet: those in
    the outbox still queued, and those about to be written (a catch-up that flagged a step and
    then left it, in one unit). One indexed read of the outbox for all of them."""
    if not left:
        return rows
    prefixes = tuple(prefix for work in left for prefix in work.left())
    withdrawn = {"status": "withdrawn", "last_error": WITHDRAWN, "next_attempt_at": None}
    stored = [work.tender.id for work in left if work.read_version is not None]
    for start in range(0, len(stored), 500):  # within any database's limit of parameters
        some = stored[start : start + 500]
        found = conn.execute(*(_NOTICES_OF_ONE, {"tender": some[0]}) if len(some) == 1 else
                             (_NOTICES_OF, {"tenders": some}))  # fmt: skip
        moot = [r.id for r in found if r.status == "queued" and r.dedupe_key.startswith(prefixes)]
        if moot:
            n = T_NOTE.c
            conn.execute(
                update(T_NOTE).where(n.id.in_(moot), n.status == "queued").values(withdrawn)
            )
    return [{**r, **withdrawn} if r["dedupe_key"].startswith(prefixes) else r for r in rows]


_NOTICES_OF = select(T_NOTE.c.id, T_NOTE.c.dedupe_key, T_NOTE.c.status).where(
    T_NOTE.c.tender_id.in_(bindparam("tenders", expanding=True))
)
_NOTICES_OF_ONE = select(T_NOTE.c.id, T_NOTE.c.dedupe_key, T_NOTE.c.status).where(
    T_NOTE.c.tender_id == bindparam("tender")
)
"""The outbox's messages about some tenders, or one (a plainer statement: one act's), found by
their index (a few each)."""


def _log(works: Iterable[_Work]) -> None:
    log = logger()
    for work in works:
        for e in work.events:
            log.info(
                "act", tender=e["tender_id"], trigger=e["trigger"], actor=e["actor"],
                source=e["source"], dest=e["dest"], kind=e["kind"],
            )  # fmt: skip


def _first_id(work: Mapping[str, _Work]) -> str:
    return next(iter(work), "?")


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text or "could not serialize" in text


ATTRIBUTES = ("regime", "procedure")
"""Facts that are the tender's own attributes (its legal periods depend on them)."""


def _check_not_recorded(facts: Mapping[str, Any] | None) -> None:
    """Refuse a fact that only the engine records (the day the notice was sent)."""
    if facts and core.NOTICE_SENT_ON in facts:
        raise InvalidInput(
            f"{core.NOTICE_SENT_ON} is recorded by the act that publishes the tender; "
            "date that act with --at instead"
        )


def _corrections(
    definition: Definition, tender: Tender, facts: Mapping[str, Any]
) -> dict[str, Any]:
    """Check that facts may be recorded on the tender now; return the attributes they correct."""
    if definition.state(tender.state).final:
        raise NotAllowed(
            f"tender {tender.id} is '{tender.state}', a final state: its facts can no longer change"
        )
    changes = {k: str(v) for k, v in facts.items() if k in ATTRIBUTES}
    if changes and core.is_published(definition, tender.state):
        raise NotAllowed(
            f"tender {tender.id} is published ('{tender.state}'): its "
            f"{' and '.join(changes)} can no longer be corrected"
        )
    regime = changes.get("regime", tender.regime)
    check_regime(regime)
    check_procedure(changes.get("procedure", tender.procedure), regime)
    return changes


def _check_leader(leader: Person, codes: tuple[str, ...]) -> None:
    """A tender's leader is a person who may act on it: the secretariat, or the project leader of
    one of its municipalities (never the scheduler)."""
    if leader.role == "system":
        raise InvalidInput("'system' is the scheduler's identity; a tender's leader is a person")
    if leader.role == "project_leader" and leader.municipality not in codes:
        raise InvalidInput(
            f"{leader.id} is project leader for municipality {leader.municipality}, which is not "
            f"in this tender ({', '.join(codes)}): a leader must be able to act on it"
        )


def _check_creator(actor: Person, codes: tuple[str, ...]) -> None:
    if actor.role == "project_leader" and actor.municipality not in codes:
        raise Forbidden(
            f"{actor.id} is project leader for municipality {actor.municipality} and can only "
            f"create tenders that include it (give --municipality {actor.municipality})"
        )
