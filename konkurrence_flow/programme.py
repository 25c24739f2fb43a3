"""Programmes (`workflows/*.yaml`): a timeline, its milestones, municipalities, people and tenders.

    name: forum-2007
    title: Forum for konkurrenceudsættelse 2007–2008
    start: 2007-04-01
    end: 2008-09-30
    regime: eu-2004-18
    milestones:
      forum-1: 2007-06-22
      areas-decided: end of Q3 2007              # or "3. kvartal 2007"
      forum-3: {date: 2007-12-07, label: Forum 3, planned: true}
    municipalities:
      - {code: "751", name: Aarhus, iku: {year: 2006, exposable: 5200000000, exposed: 1050000000}}
    people:
      - {id: anna, name: Anna Jensen, email: anna@example.dk, role: project_leader, municipality: "751"}
    tenders:
      - {id: AAR-SUND-01, definition: individual-tender, title: Genoptræning, area: sundhed,
         municipalities: ["751"], leader: anna, procedure: open, start: 2007-07-01}

Every problem is reported at once as `file:line:col: message`, as for definitions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ._yaml import (
    Pos,
    Problems,
    YList,
    YMap,
    check_keys,
    describe,
    did_you_mean,
    expect,
    read_limited,
    read_yaml,
)
from .calendar import CLOSED_DAYS, parse_date_expr, parse_period
from .errors import DefinitionError, InvalidInput, NotFound, PeriodError, Problem
from .facts import parse_assignments
from .identifiers import email_problem, person_id_problem, tender_id_problem, title_problem
from .legal import PROCEDURES, REGIMES
from .messages import LANGUAGES
from .model import Person
from .municipalities import municipality

_TOP = ("name", "title", "start", "end", "regime", "milestones", "municipalities", "people",
        "tenders", "notifications", "calendar")  # fmt: skip
_MILESTONE = ("date", "label", "planned")
_MUNICIPALITY = ("code", "name", "iku")
_IKU = ("year", "exposable", "exposed")
_PERSON = ("id", "name", "email", "role", "municipality")
_TENDER = ("id", "definition", "title", "area", "municipalities", "leader", "procedure", "regime",
           "start", "facts")  # fmt: skip
_ROLES = ("project_leader", "secretariat")
_NOTIFICATIONS = ("language", "escalate_after", "digest_every")


@dataclass(frozen=True)
class Milestone:
    """A named date on the timeline; `planned` marks a date the sources do not give."""

    name: str
    date: date
    label: str
    planned: bool = False


@dataclass(frozen=True)
class Iku:
    """A municipality's competitive-exposure figures for a year (KL's IKU indicator), in DKK."""

    year: int
    exposable: int
    exposed: int

    @property
    def percent(self) -> float:
        """IKU = exposed / exposable × 100."""
        return 100.0 * self.exposed / self.exposable if self.exposable else 0.0


@dataclass(frozen=True)
class Member:
    """A participating municipality, with its starting IKU figures if known."""

    code: str
    name: str
    iku: Iku | None = None


@dataclass(frozen=True)
class PlannedTender:
    """A tender the programme starts: created in its definition's initial state on `start`."""

    id: str
    definition: str
    title: str
    municipalities: tuple[str, ...]
    start: date
    leader: str | None = None
    area: str | None = None
    procedure: str | None = None
    regime: str | None = None
    facts: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    pos: Pos = (1, 1)


@dataclass(frozen=True, eq=False)
class Programme:
    """A validated, frozen programme file."""

    name: str
    title: str
    start: date
    end: date
    regime: str | None
    milestones: Mapping[str, Milestone]
    members: tuple[Member, ...]
    people: tuple[Person, ...]
    tenders: tuple[PlannedTender, ...]
    notifications: Mapping[str, Any]
    source: str
    sha256: str
    path: str
    closed: tuple[str, ...] = ()  # `calendar: {closed: [...]}`: days off the periods roll past

    @property
    def settings(self) -> Mapping[str, Any]:
        """What the store keeps of the programme's settings: notifications and closed days."""
        closed = {"closed": list(self.closed)} if self.closed else {}
        return MappingProxyType({**self.notifications, **closed})

    def milestone_dates(self) -> Mapping[str, date]:
        """Milestone name -> date."""
        return MappingProxyType({m.name: m.date for m in self.milestones.values()})


def load_programme(path: str | Path) -> Programme:
    """Read and validate a programme file."""
    path = Path(path)
    try:
        text = read_limited(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        message = "the file is not UTF-8; save it as UTF-8"
        raise DefinitionError([Problem(str(path), 1, 1, message)]) from exc
    except OSError as exc:
        raise DefinitionError([Problem(str(path), 1, 1, f"cannot read: {exc.strerror}")]) from exc
    return parse_programme(text, str(path))


def parse_programme(text: str, file: str = "<string>") -> Programme:
    """Validate a programme's text; raise one DefinitionError with every problem."""
    data = read_yaml(text, file)
    problems = Problems(file)
    if not isinstance(data, YMap):
        problems.add((1, 1), "a programme file must be a mapping with name, start, end, …")
        problems.raise_if_any()
    parsed = _Reader(problems).read(data)
    problems.raise_if_any()
    assert parsed is not None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Programme(**parsed, source=text, sha256=digest, path=file)


class _Reader:
    """Reads a programme's data, collecting every problem instead of stopping."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def read(self, top: YMap) -> dict[str, Any] | None:
        check_keys(top, _TOP, "the programme", self.problems)
        name = self._text(top, "name", "the programme", required=True)
        self._check_regime(top, "regime", self._text(top, "regime", "the programme"))
        start, end = self._date(top, "start", required=True), self._date(top, "end", required=True)
        if start and end and end < start:
            self.problems.add(top.value_pos("end"), f"end {end} is before start {start}")
        members = self._members(top)
        people = self._people(top)
        result = {
            "name": name, "title": self._text(top, "title", "the programme") or name,
            "start": start, "end": end, "regime": self._text(top, "regime", "the programme"),
            "milestones": MappingProxyType(self._milestones(top)), "members": tuple(members),
            "people": tuple(people),
            "tenders": tuple(self._tenders(top, start, members, people)),
            "notifications": MappingProxyType(self._notifications(top)),
            "closed": self._closed(top),
        }  # fmt: skip
        return result if not len(self.problems) else None

    def _notifications(self, top: YMap) -> dict[str, Any]:
        """`notifications: {language: da|en, escalate_after: PERIOD, digest_every: PERIOD}`."""
        spec = top.get("notifications")
        if spec is None:
            return {}
        pos = top.value_pos("notifications")
        if not expect(spec, YMap, "a mapping", pos, "notifications", self.problems):
            return {}
        check_keys(spec, _NOTIFICATIONS, "notifications", self.problems)
        found: dict[str, Any] = {}
        language = spec.get("language")
        if language is not None and language not in LANGUAGES:
            hint = did_you_mean(str(language), LANGUAGES)
            self.problems.add(spec.value_pos("language"), f"unknown language {language!r}{hint}")
        elif language is not None:
            found["language"] = language
        for key in ("escalate_after", "digest_every"):
            if spec.get(key) is not None:
                found[key] = self._period_text(spec, key)
        return {k: v for k, v in found.items() if v is not None}

    def _closed(self, top: YMap) -> tuple[str, ...]:
        """`calendar: {closed: [grundlovsdag, juleaften, nytaarsaften]}`: working days in law that
        the programme's periods roll past as if they were holidays."""
        spec = top.get("calendar")
        if spec is None:
            return ()
        forms = "a mapping like {closed: [grundlovsdag, juleaften, nytaarsaften]}"
        if not expect(spec, YMap, forms, top.value_pos("calendar"), "calendar", self.problems):
            return ()
        check_keys(spec, ("closed",), "calendar", self.problems)
        names = spec.get("closed")
        if names is None:
            return ()
        pos = spec.value_pos("closed")
        if not expect(
            names, YList, "a list of day names", pos, "closed of calendar", self.problems
        ):
            return ()
        found = []
        for i, name in enumerate(names):
            if not isinstance(name, str):
                self.problems.add(names.item_pos(i), f"closed day {describe(name)} is not a name")
                continue
            if name in CLOSED_DAYS:
                found.append(str(name))
                continue
            hint = did_you_mean(str(name), CLOSED_DAYS)
            self.problems.add(
                names.item_pos(i),
                f"unknown closed day {name!r}{hint} (closed days: {', '.join(CLOSED_DAYS)})",
            )
        return tuple(dict.fromkeys(found))

    def _period_text(self, spec: YMap, key: str) -> str | None:
        try:
            period = parse_period(str(spec[key]))
        except PeriodError as exc:
            self.problems.add(spec.value_pos(key), str(exc))
            return None
        if period.amount <= 0:
            self.problems.add(spec.value_pos(key), f"{key} must be a period longer than zero")
            return None
        return str(period)

    def _text(self, ymap: YMap, key: str, what: str, *, required: bool = False) -> str | None:
        if key not in ymap or ymap[key] is None:
            if required:
                self.problems.add(ymap.pos, f"{what} needs '{key}'")
            return None
        value = ymap[key]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if not expect(value, str, "text", ymap.value_pos(key), f"{key!r} of {what}", self.problems):
            return None
        if required and not str(value).strip():
            self.problems.add(ymap.value_pos(key), f"{key!r} of {what} cannot be empty")
            return None
        return str(value)

    def _checked(
        self, ymap: YMap, key: str, value: str | None, check: Callable[[str], str | None]
    ) -> str | None:
        """`value` if `check` finds nothing wrong with it; else the problem, at the value."""
        problem = check(value) if value is not None else None
        if problem:
            self.problems.add(ymap.value_pos(key), problem)
            return None
        return value

    def _date(self, ymap: YMap, key: str, *, required: bool = False) -> date | None:
        if key not in ymap:
            if required:
                self.problems.add(ymap.pos, f"the programme needs '{key}' (a date)")
            return None
        return self._date_value(ymap[key], ymap.value_pos(key))

    def _date_value(self, value: Any, pos: Pos) -> date | None:
        try:
            return parse_date_expr(value if isinstance(value, date) else str(value))
        except PeriodError as exc:
            self.problems.add(pos, str(exc))
            return None

    def _items(self, top: YMap, key: str) -> list[tuple[YMap, Pos]]:
        value = top.get(key)
        if value is None:
            return []
        if not expect(value, YList, "a list", top.value_pos(key), key, self.problems):
            return []
        items = []
        for i, item in enumerate(value):
            if expect(item, YMap, "a mapping", value.item_pos(i), f"{key}[{i}]", self.problems):
                items.append((item, value.item_pos(i)))
        return items

    def _milestones(self, top: YMap) -> dict[str, Milestone]:
        value = top.get("milestones")
        if value is None:
            return {}
        if not expect(value, YMap, "a mapping", top.value_pos("milestones"), "milestones",
                      self.problems):  # fmt: skip
            return {}
        found = {}
        for name, spec in value.items():
            milestone = self._milestone(str(name), spec, value.value_pos(name))
            if milestone is not None:
                found[milestone.name] = milestone
        return found

    def _milestone(self, name: str, spec: Any, pos: Pos) -> Milestone | None:
        if not isinstance(spec, YMap):
            when = self._date_value(spec, pos)
            return Milestone(name, when, name) if when else None
        check_keys(spec, _MILESTONE, f"milestone {name!r}", self.problems)
        when = self._date(spec, "date", required=True)
        label = self._text(spec, "label", f"milestone {name!r}") or name
        return Milestone(name, when, label, bool(spec.get("planned"))) if when else None

    def _members(self, top: YMap) -> list[Member]:
        members = []
        for item, pos in self._items(top, "municipalities"):
            check_keys(item, _MUNICIPALITY, "a municipality", self.problems)
            code = self._code(item, "code", pos)
            if code is None:
                continue
            official = municipality(code).name
            given = item.get("name")
            if given is not None and str(given) != official:
                self.problems.add(item.value_pos("name"),
                                  f"municipality {code} is {official}, not {given!r}")  # fmt: skip
            members.append(Member(code, official, self._iku(item)))
        return members

    def _code(self, ymap: YMap, key: str, pos: Pos) -> str | None:
        if key not in ymap:
            self.problems.add(pos, f"needs '{key}' (an official municipality code like \"751\")")
            return None
        try:
            return municipality(str(ymap[key])).code
        except NotFound as exc:
            self.problems.add(ymap.value_pos(key), str(exc))
            return None

    def _iku(self, item: YMap) -> Iku | None:
        spec = item.get("iku")
        if spec is None:
            return None
        if not expect(spec, YMap, "a mapping", item.value_pos("iku"), "iku", self.problems):
            return None
        check_keys(spec, _IKU, "iku", self.problems)
        numbers = {}
        for key in _IKU:
            value = spec.get(key)
            if not expect(value, int, "a whole number", spec.pos if value is None
                          else spec.value_pos(key), f"iku {key}", self.problems):  # fmt: skip
                return None
            if not 0 <= value <= 10**15:
                self.problems.add(spec.value_pos(key), f"iku {key} lies within 0-10^15 (DKK)")
                return None
            numbers[key] = value
        return Iku(**numbers)

    def _people(self, top: YMap) -> list[Person]:
        people: list[Person] = []
        for item, pos in self._items(top, "people"):
            check_keys(item, _PERSON, "a person", self.problems)
            texts = {k: self._text(item, k, "a person", required=k in ("id", "name", "role"))
                     for k in _PERSON}  # fmt: skip
            texts["id"] = self._checked(item, "id", texts["id"], person_id_problem)
            texts["name"] = self._checked(item, "name", texts["name"], title_problem)
            texts["email"] = self._checked(item, "email", texts["email"], email_problem)
            role = texts["role"]
            if role is not None and role not in _ROLES:
                self.problems.add(item.value_pos("role"),
                                  f"unknown role {role!r}{did_you_mean(role, _ROLES)}")  # fmt: skip
            code = self._code(item, "municipality", pos) if "municipality" in item else None
            if role == "project_leader" and code is None and "municipality" not in item:
                self.problems.add(pos, f"project leader {texts['id']!r} needs a municipality")
            if texts["id"] in {p.id for p in people}:
                self.problems.add(item.value_pos("id"), f"person id {texts['id']!r} is used twice")
            elif texts["id"] and texts["name"] and role:
                people.append(Person(texts["id"], texts["name"], texts["email"] or "", role, code))
        return people

    def _tenders(
        self, top: YMap, start: date | None, members: list[Member], people: list[Person]
    ) -> list[PlannedTender]:
        codes = {m.code for m in members}
        ids = {p.id: p for p in people}
        tenders: list[PlannedTender] = []
        for item, pos in self._items(top, "tenders"):
            tender = self._tender(item, pos, start, codes, ids)
            if tender is None:
                continue
            if any(t.id == tender.id for t in tenders):
                self.problems.add(item.value_pos("id"), f"tender id {tender.id!r} is used twice")
            tenders.append(tender)
        return tenders

    def _tender(
        self, item: YMap, pos: Pos, start: date | None, codes: set[str], ids: dict[str, Person]
    ) -> PlannedTender | None:
        check_keys(item, _TENDER, "a tender", self.problems)
        text = {k: self._text(item, k, "a tender", required=k in ("id", "definition", "title"))
                for k in ("id", "definition", "title", "area", "leader", "procedure", "regime")}  # fmt: skip
        text["id"] = self._checked(item, "id", text["id"], tender_id_problem)
        text["title"] = self._checked(item, "title", text["title"], title_problem)
        text["procedure"] = self._checked(item, "procedure", text["procedure"], _procedure_problem)
        self._check_regime(item, "regime", text["regime"])
        own = self._tender_municipalities(item, pos, codes)
        if own is None:
            return None
        leader = ids.get(text["leader"] or "")
        if text["leader"] is not None and leader is None:
            hint = did_you_mean(text["leader"], ids)
            self.problems.add(item.value_pos("leader"),
                              f"leader {text['leader']!r} is not among the people{hint}")  # fmt: skip
        elif (
            leader is not None
            and leader.role == "project_leader"
            and (leader.municipality not in own)
        ):
            self.problems.add(item.value_pos("leader"),
                              f"leader {leader.id!r} is project leader for municipality "
                              f"{leader.municipality}, which is not in this tender "
                              f"({', '.join(own)}): a leader must be able to act on it")  # fmt: skip
        when = self._date(item, "start") if "start" in item else start
        facts = self._facts(item)
        if not (text["id"] and text["definition"] and text["title"] and when):
            return None
        return PlannedTender(
            id=text["id"], definition=text["definition"], title=text["title"],
            municipalities=own, start=when, leader=text["leader"], area=text["area"],
            procedure=text["procedure"], regime=text["regime"],
            facts=MappingProxyType(dict(facts)), pos=pos,
        )  # fmt: skip

    def _facts(self, item: YMap) -> dict[str, Any]:
        """A planned tender's `facts:`, typed as `--set KEY=VALUE` types them."""
        spec = item.get("facts")
        pos = item.value_pos("facts")
        if spec is None or not expect(spec, YMap, "a mapping", pos, "facts", self.problems):
            return {}
        found: dict[str, Any] = {}
        for key in spec:
            value, at = spec[key], spec.value_pos(key)
            if isinstance(value, YMap | YList) or value is None:
                self.problems.add(at, f"fact {key!r} takes one value, not {describe(value)}")
                continue
            if key == "notice_sent_on":
                self.problems.add(spec.key_pos(key), "notice_sent_on is recorded by the act "
                                  "that publishes the tender, not in a programme")  # fmt: skip
                continue
            text = value.isoformat() if isinstance(value, date) else str(value)
            try:
                found.update(parse_assignments([f"{key}={text}"]))
            except InvalidInput as exc:
                self.problems.add(at, str(exc))
        return found

    def _check_regime(self, ymap: YMap, key: str, name: str | None) -> None:
        if name is not None and name not in REGIMES:
            self.problems.add(ymap.value_pos(key),
                              f"unknown legal regime {name!r}{did_you_mean(name, REGIMES)}")  # fmt: skip

    def _tender_municipalities(
        self, item: YMap, pos: Pos, codes: set[str]
    ) -> tuple[str, ...] | None:
        listed = item.get("municipalities")
        if not isinstance(listed, YList):
            self.problems.add(pos, "a tender needs 'municipalities': a list of codes "
                              "([] for a network-wide track run by the secretariat)")  # fmt: skip
            return None
        own = []
        for i, ref in enumerate(listed):
            try:
                code = municipality(str(ref)).code
            except NotFound as exc:
                self.problems.add(listed.item_pos(i), str(exc))
                continue
            if code not in codes:
                self.problems.add(listed.item_pos(i),
                                  f"municipality {code} is not in the programme's municipalities")  # fmt: skip
            own.append(code)
        return tuple(own)


def _procedure_problem(procedure: str) -> str | None:
    if procedure in PROCEDURES:
        return None
    return f"unknown procedure {procedure!r}{did_you_mean(procedure, PROCEDURES)}"
