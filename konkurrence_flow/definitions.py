"""Process definitions: a YAML file becomes a validated, frozen `Definition` (DESIGN.md).

    name: individual-tender
    initial: scoping
    states:
      scoping: {label: Afdækning, due: {milestone: areas-decided}, remind: [P14D]}
      publication: {after: {period: P52D, rolls: true, trigger: close_bidding}}
      done: {final: true}
    transitions:
      - {trigger: approve_scope, source: scoping, dest: publication}
      - {trigger: close_bidding, source: publication, dest: done, roles: [system]}

Validation collects every problem of a file before raising one `DefinitionError`; each problem
says `file:line:col: what is wrong`, at the offending key or value, with a hint. Once parsed, a
`Definition` is trusted: nothing downstream checks it again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

from konkurrence_flow._yaml import (
    Pos,
    Problems,
    YList,
    YMap,
    check_keys,
    describe,
    did_you_mean,
    expect,
    read_yaml,
)
from konkurrence_flow.calendar import Period, parse_date_expr, parse_period
from konkurrence_flow.errors import DefinitionError, NotFound, Problem

__all__ = [
    "DEFAULT_ROLES",
    "LEGAL_PERIODS",
    "ROLES",
    "SIGNOFFS",
    "Definition",
    "Due",
    "LegalPeriod",
    "PeriodRef",
    "State",
    "Timed",
    "Transition",
    "load_definition",
    "parse_definition",
    "validate_paths",
]

LEGAL_PERIODS = ("tender_period", "requests_period", "standstill")
ROLES = ("project_leader", "secretariat", "system")
DEFAULT_ROLES = frozenset({"project_leader", "secretariat"})
SIGNOFFS = ("each-municipality",)

_TOP_KEYS = ("name", "title", "initial", "states", "transitions")
_STATE_KEYS = ("label", "due", "remind", "after", "final", "initial")
_TRANSITION_KEYS = (
    *("trigger", "source", "dest", "roles", "requires"),
    *("min_period", "note_required", "signoff"),
)
_DUE_KEYS = ("milestone", "after", "date")
_TIMED_KEYS = ("period", "trigger", "rolls")
_PERIOD_KEYS = ("period", "rolls")

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_STATE_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_PERIOD_FORMS = "a period like 'P52D', '10 working days' or 'legal.tender_period'"


# The model


@dataclass(frozen=True)
class LegalPeriod:
    """A period set by the tender's legal regime (`legal.tender_period`); it always rolls."""

    name: str  # one of LEGAL_PERIODS

    def __str__(self) -> str:
        return f"legal.{self.name}"


PeriodRef: TypeAlias = Period | LegalPeriod


@dataclass(frozen=True)
class Due:
    """When a state's step is due: at a programme milestone, a period after entry, or a date."""

    milestone: str | None = None
    after: PeriodRef | None = None  # counted from the day the state is entered
    date: date | None = None


@dataclass(frozen=True)
class Timed:
    """A state's `after:`: the scheduler fires `trigger` when `period` since entry expires."""

    period: PeriodRef
    trigger: str


@dataclass(frozen=True)
class State:
    """One state of a process, with its step's due date, reminders and timed transition."""

    name: str
    label: str
    final: bool = False
    due: Due | None = None
    remind: tuple[Period, ...] = ()
    after: Timed | None = None


@dataclass(frozen=True)
class Transition:
    """A trigger that moves a tender from one of `sources` to `dest`, and who may fire it."""

    trigger: str
    sources: tuple[str, ...]  # "*" already expanded to every non-final state, in display order
    dest: str
    roles: frozenset[str] = DEFAULT_ROLES
    requires: tuple[str, ...] = ()
    min_period: PeriodRef | None = None
    note_required: bool = False
    signoff: str | None = None  # only "each-municipality"


@dataclass(frozen=True, eq=False)
class Definition:
    """A validated process definition: states in display order, transitions, and its source.

    `sha256` is the hash of `source`; a definition built in code without a source gets the hash
    of its content instead, so that two different definitions never share one.
    """

    name: str
    title: str
    initial: str
    states: Mapping[str, State]
    transitions: tuple[Transition, ...]
    source: str = ""
    sha256: str = ""
    path: str = ""
    _from: Mapping[str, tuple[Transition, ...]] = field(init=False, repr=False)
    _index: Mapping[tuple[str, str], Transition] = field(init=False, repr=False)
    _triggers: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._set("states", MappingProxyType(dict(self.states)))
        self._set("transitions", tuple(self.transitions))
        self._set("sha256", self.sha256 or _sha256(self.source or repr(self._content())))
        self._set("_from", MappingProxyType(_by_source(self.states, self.transitions)))
        self._set("_index", MappingProxyType(_by_state_and_trigger(self.transitions)))
        self._set("_triggers", tuple(dict.fromkeys(t.trigger for t in self.transitions)))

    def state(self, name: str) -> State:
        """The state called `name`; `NotFound` if there is none."""
        try:
            return self.states[name]
        except KeyError:
            hint = did_you_mean(name, self.states)
            raise NotFound(f"definition {self.name!r} has no state {name!r}{hint}") from None

    def transitions_from(self, state: str) -> tuple[Transition, ...]:
        """The transitions leaving `state`, in file order (none from a final state)."""
        if state not in self._from:
            self.state(state)
        return self._from[state]

    def find(self, state: str, trigger: str) -> Transition | None:
        """The transition `trigger` fires from `state`, or None."""
        return self._index.get((state, trigger))

    def triggers(self) -> tuple[str, ...]:
        """Every trigger of the definition, in the order first written."""
        return self._triggers

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _content(self) -> tuple[Any, ...]:
        return (self.name, self.title, self.initial, tuple(self.states.items()), self.transitions)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _by_source(
    states: Mapping[str, State], transitions: Iterable[Transition]
) -> dict[str, tuple[Transition, ...]]:
    leaving: dict[str, list[Transition]] = {name: [] for name in states}
    for transition in transitions:
        for source in transition.sources:
            leaving.setdefault(source, []).append(transition)
    return {name: tuple(found) for name, found in leaving.items()}


def _by_state_and_trigger(transitions: Iterable[Transition]) -> dict[tuple[str, str], Transition]:
    index: dict[tuple[str, str], Transition] = {}
    for transition in transitions:
        for source in transition.sources:
            index.setdefault((source, transition.trigger), transition)
    return index


# Loading


def parse_definition(text: str, file: str = "<string>") -> Definition:
    """Parse and validate a definition; `DefinitionError` lists every problem found."""
    top = _top_mapping(read_yaml(text, file), file)
    parser = _Parser(Problems(file))
    parsed = parser.parse(top)
    parser.problems.raise_if_any()
    assert parsed is not None  # no problems means every part was read
    return replace(parsed, source=text, sha256=_sha256(text), path=file)


def load_definition(path: str | Path) -> Definition:
    """Read a definition file; an unreadable file is a `DefinitionError` too."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        problem = Problem(file, 1, 1, f"cannot read the file: {exc.strerror or exc}")
        raise DefinitionError([problem]) from exc
    return parse_definition(_decode(raw, file), file)


def validate_paths(paths: Iterable[str | Path]) -> tuple[list[Definition], list[Problem]]:
    """Load every definition in the given files and folders; return them and all problems."""
    definitions: list[Definition] = []
    problems: list[Problem] = []
    for path in _definition_files(paths, problems):
        try:
            definitions.append(load_definition(path))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    problems.extend(_duplicate_names(definitions))
    return definitions, problems


def _decode(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = len(raw[raw.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "ignore"))
        message = f"the file is not UTF-8 (byte {raw[exc.start]:#04x}); save it as UTF-8"
        raise DefinitionError([Problem(file, line, col + 1, message)]) from exc


def _definition_files(paths: Iterable[str | Path], problems: list[Problem]) -> list[Path]:
    """The files named, and the *.yaml / *.yml files of the folders named (sorted)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            files.append(path)
            continue
        try:
            files.extend(sorted(p for p in path.iterdir() if _is_yaml_file(p)))
        except OSError as exc:
            problems.append(Problem(str(path), 1, 1, f"cannot read the folder: {exc.strerror}"))
    return files


def _is_yaml_file(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml") and path.is_file()


def _duplicate_names(definitions: Iterable[Definition]) -> list[Problem]:
    """A problem for each definition whose name an earlier file already uses."""
    first: dict[str, Definition] = {}
    problems: list[Problem] = []
    for definition in definitions:
        other = first.setdefault(definition.name, definition)
        if other is not definition:
            line, col = read_yaml(definition.source, definition.path).value_pos("name")
            message = f"definition name {definition.name!r} is already used by {other.path}"
            problems.append(Problem(definition.path, line, col, message))
    return problems


def _top_mapping(data: Any, file: str) -> YMap:
    if isinstance(data, YMap):
        return data
    got = "an empty file" if data is None else describe(data)
    message = f"a definition must be a mapping with keys {', '.join(_TOP_KEYS)}; got {got}"
    raise DefinitionError([Problem(file, 1, 1, message)])


# Validation


@dataclass
class _StateEntry:
    """A state as read, with the positions later checks point at."""

    state: State
    pos: Pos
    initial_pos: Pos | None = None
    after_pos: Pos | None = None


@dataclass
class _TransitionEntry:
    """A transition as read, with where each of its sources is written."""

    transition: Transition
    trigger_ok: bool
    source_pos: dict[str, Pos]


class _Parser:
    """Reads a definition's YAML data, collecting every problem instead of stopping."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def parse(self, top: YMap) -> Definition | None:
        check_keys(top, _TOP_KEYS, "the definition", self.problems)
        name = self._name(top)
        title = self._text(top, "title", "title of the definition") or name
        states = self._states(top)
        entries = self._transitions(top, states)
        initial = self._initial(top, states) if states else None
        _GraphCheck(self.problems, states, entries).run(initial)
        if name is None or initial is None:
            return None
        return Definition(
            name=name,
            title=title or name,
            initial=initial,
            states={n: e.state for n, e in states.items()},
            transitions=tuple(e.transition for e in entries),
        )

    # top level

    def _name(self, top: YMap) -> str | None:
        if "name" not in top:
            self._missing(top, "name", "an id like 'individual-tender'")
            return None
        name = self._text(top, "name", "name of the definition")
        if name is not None and not _ID.fullmatch(name):
            self.problems.add(
                top.value_pos("name"),
                f"name {name!r} is not an id; use lowercase letters, digits and dashes, "
                f"e.g. {_slug(name, '-')!r}",
            )
        return name

    def _initial(self, top: YMap, states: Mapping[str, _StateEntry]) -> str | None:
        candidates = self._initial_candidates(top, states)
        if candidates is None:
            return None
        names = list(dict.fromkeys(name for name, _, _ in candidates))
        if not names:
            self.problems.add(
                top.pos,
                "no initial state; set 'initial: <state>' at the top or 'initial: true' on a state",
            )
        if len(names) > 1:
            listed = " and ".join(f"{n!r} ({how})" for n, _, how in candidates)
            second = next(pos for n, pos, _ in candidates if n != names[0])
            self.problems.add(second, f"several initial states: {listed}; keep one")
        return names[0] if len(names) == 1 else None

    def _initial_candidates(
        self, top: YMap, states: Mapping[str, _StateEntry]
    ) -> list[tuple[str, Pos, str]] | None:
        """(state, where, how) for each way a state is marked initial; None if one is invalid."""
        candidates = [(n, e.initial_pos, "initial: true") for n, e in states.items() if e.initial_pos]
        if top.get("initial") is None:
            return [(n, pos, how) for n, pos, how in candidates if pos]
        name = self._state_ref(top, "initial", states, "initial state")
        if name is None:
            return None
        return [(name, top.value_pos("initial"), "top-level 'initial'")] + [
            (n, pos, how) for n, pos, how in candidates if pos
        ]

    def _state_ref(
        self, ymap: YMap, key: str, states: Mapping[str, _StateEntry], subject: str
    ) -> str | None:
        """A known state named under `key`, or None after reporting what is wrong."""
        name = self._text(ymap, key, subject)
        if name is not None and name not in states:
            hint = did_you_mean(name, states)
            self.problems.add(ymap.value_pos(key), f"{subject} {name!r} is not a state{hint}")
            return None
        return name

    # states

    def _states(self, top: YMap) -> dict[str, _StateEntry]:
        if "states" not in top:
            self._missing(top, "states", "a mapping of state names, in display order")
            return {}
        states = top["states"]
        pos = top.value_pos("states")
        if not expect(states, YMap, "a mapping of state names", pos, "states", self.problems):
            return {}
        if not states:
            self.problems.add(pos, "states is empty; a definition needs at least one state")
        return {
            name: entry
            for name in states
            if (entry := self._state_entry(states, name)) is not None
        }

    def _state_entry(self, states: YMap, name: Any) -> _StateEntry | None:
        pos = states.key_pos(name)
        if not self._is_state_name(name, pos):
            return None
        value = states[name]
        if value is None:
            return _StateEntry(State(name, name), pos)
        what = f"state {name!r}"
        if not expect(value, YMap, "a mapping of settings, or empty", value_pos(states, name),
                      what, self.problems):
            return _StateEntry(State(name, name), pos)
        return self._state_settings(name, value, pos)

    def _is_state_name(self, name: Any, pos: Pos) -> bool:
        if not isinstance(name, str):
            self.problems.add(pos, f"state name {describe(name)} must be text; quote it")
            return False
        if not _STATE_NAME.fullmatch(name):
            self.problems.add(
                pos,
                f"state name {name!r} is not a name; use lowercase letters, digits, '_' or '-', "
                f"starting with a letter, e.g. {_slug(name, '_')!r}",
            )
        return True

    def _state_settings(self, name: str, settings: YMap, pos: Pos) -> _StateEntry:
        what = f"state {name!r}"
        check_keys(settings, _STATE_KEYS, what, self.problems)
        final = self._bool(settings, "final", f"final of {what}")
        due = self._due(settings, what)
        state = State(
            name=name,
            label=self._text(settings, "label", f"label of {what}") or name,
            final=final,
            due=due,
            remind=self._remind(settings, what, due),
            after=self._timed(settings, what),
        )
        if final and "due" in settings:
            self.problems.add(
                settings.key_pos("due"), f"final {what} has a 'due'; a final state is never due"
            )
        initial = self._bool(settings, "initial", f"initial of {what}")
        initial_pos = settings.value_pos("initial") if initial else None
        after_pos = _timed_trigger_pos(settings)
        return _StateEntry(state, pos, initial_pos, after_pos)

    def _due(self, settings: YMap, what: str) -> Due | None:
        due = settings.get("due")
        pos = settings.value_pos("due")
        forms = "a mapping like {milestone: NAME}, {after: P30D} or {date: 2007-09-30}"
        if due is None or not expect(due, YMap, forms, pos, f"due of {what}", self.problems):
            return None
        check_keys(due, _DUE_KEYS, f"due of {what}", self.problems)
        written = [key for key in _DUE_KEYS if key in due]
        if len(written) != 1:
            got = ", ".join(written) or "none"
            self.problems.add(
                pos, f"due of {what} takes exactly one of milestone, after, date; got {got}"
            )
            return None
        return self._due_form(due, written[0], f"due of {what}")

    def _due_form(self, due: YMap, key: str, subject: str) -> Due | None:
        if key == "milestone":
            milestone = self._text(due, "milestone", f"milestone of {subject}")
            return Due(milestone=milestone) if milestone else None
        if key == "after":
            period = self._period(due["after"], due.value_pos("after"), f"after of {subject}")
            return Due(after=period) if period else None
        day = self._date(due["date"], due.value_pos("date"), f"date of {subject}")
        return Due(date=day) if day else None

    def _date(self, value: Any, pos: Pos, subject: str) -> date | None:
        if not expect(value, (date, str), "a date like 2007-09-30", pos, subject, self.problems):
            return None
        try:
            return parse_date_expr(value)
        except ValueError as exc:
            self.problems.add(pos, f"{subject}: {exc}")
            return None

    def _remind(self, settings: YMap, what: str, due: Due | None) -> tuple[Period, ...]:
        value = settings.get("remind")
        subject = f"remind of {what}"
        pos = settings.value_pos("remind")
        if value is None or not expect(value, YList, "a list of periods", pos, subject, self.problems):
            return ()
        if "due" not in settings:
            self.problems.add(
                settings.key_pos("remind"),
                f"{what} has 'remind' but no 'due'; reminders are counted back from the due date",
            )
        periods = (self._period(p, value.item_pos(i), subject, legal=False) for i, p in enumerate(value))
        return tuple(p for p in periods if isinstance(p, Period))

    def _timed(self, settings: YMap, what: str) -> Timed | None:
        after = settings.get("after")
        subject = f"after of {what}"
        forms = "a mapping like {period: P52D, trigger: close_bidding}"
        pos = settings.value_pos("after")
        if after is None or not expect(after, YMap, forms, pos, subject, self.problems):
            return None
        check_keys(after, _TIMED_KEYS, subject, self.problems)
        period = self._required(after, "period", subject)
        trigger = self._trigger(after, subject) if "trigger" in after else None
        if trigger is None and "trigger" not in after:
            self._missing(after, "trigger", "the trigger the scheduler fires", subject)
        rolls = self._optional_bool(after, "rolls", f"rolls of {subject}")
        ref = self._period(period, after.value_pos("period"), subject, rolls=rolls)
        return Timed(ref, trigger) if ref is not None and trigger is not None else None

    # transitions

    def _transitions(
        self, top: YMap, states: Mapping[str, _StateEntry]
    ) -> list[_TransitionEntry]:
        items = top.get("transitions")
        pos = top.value_pos("transitions")
        forms = "a list of mappings with trigger, source and dest"
        if items is None or not expect(items, YList, forms, pos, "transitions", self.problems):
            return []
        entries = (self._transition(item, items.item_pos(i), i + 1, states) for i, item in enumerate(items))
        return [entry for entry in entries if entry is not None]

    def _transition(
        self, item: Any, pos: Pos, number: int, states: Mapping[str, _StateEntry]
    ) -> _TransitionEntry | None:
        forms = "a mapping with trigger, source and dest"
        if not expect(item, YMap, forms, pos, f"transition #{number}", self.problems):
            return None
        trigger = self._trigger(item, f"transition #{number}") if "trigger" in item else None
        what = f"transition {trigger!r}" if trigger else f"transition #{number}"
        check_keys(item, _TRANSITION_KEYS, what, self.problems)
        if "trigger" not in item:
            self._missing(item, "trigger", "a snake_case name", what)
        source_pos = self._sources(item, what, states)
        dest = self._dest(item, what, states)
        transition = Transition(
            trigger=trigger or "",
            sources=tuple(source_pos),
            dest=dest or "",
            roles=self._roles(item, what),
            requires=self._requires(item, what),
            min_period=self._optional_period(item, "min_period", f"min_period of {what}"),
            note_required=self._bool(item, "note_required", f"note_required of {what}"),
            signoff=self._signoff(item, what),
        )
        return _TransitionEntry(transition, trigger is not None, source_pos)

    def _sources(
        self, item: YMap, what: str, states: Mapping[str, _StateEntry]
    ) -> dict[str, Pos]:
        """Each source state with where it is written; "*" is every non-final state."""
        source = self._required(item, "source", what)
        pos = item.value_pos("source")
        if source == "*":
            return {name: pos for name, entry in states.items() if not entry.state.final}
        if isinstance(source, YList):
            return self._source_list(source, what, states)
        forms = "a state, a list of states, or '*'"
        if source is None or not expect(source, str, forms, pos, f"source of {what}", self.problems):
            return {}
        return self._source_states([(source, pos)], what, states)

    def _source_list(
        self, source: YList, what: str, states: Mapping[str, _StateEntry]
    ) -> dict[str, Pos]:
        if not source:
            self.problems.add(source.pos, f"source of {what} is empty; name at least one state")
        named: list[tuple[str, Pos]] = []
        for i, name in enumerate(source):
            pos = source.item_pos(i)
            if name == "*":
                self.problems.add(pos, f"'*' in the source of {what} must stand alone: source: '*'")
            elif expect(name, str, "a state name", pos, f"source of {what}", self.problems):
                named.append((name, pos))
        return self._source_states(named, what, states)

    def _source_states(
        self, named: list[tuple[str, Pos]], what: str, states: Mapping[str, _StateEntry]
    ) -> dict[str, Pos]:
        found: dict[str, Pos] = {}
        for name, pos in named:
            if name in found:
                self.problems.add(pos, f"state {name!r} is listed twice in the source of {what}")
            elif name not in states:
                hint = did_you_mean(name, states)
                self.problems.add(pos, f"{what} comes from unknown state {name!r}{hint}")
            else:
                self._check_not_final(states[name], pos, what)
                found[name] = pos
        return found

    def _check_not_final(self, entry: _StateEntry, pos: Pos, what: str) -> None:
        if entry.state.final:
            self.problems.add(
                pos,
                f"{what} leaves final state {entry.state.name!r}; a final state has no exits",
            )

    def _dest(self, item: YMap, what: str, states: Mapping[str, _StateEntry]) -> str | None:
        dest = self._required(item, "dest", what)
        pos = item.value_pos("dest")
        if dest is None or not expect(dest, str, "a state name", pos, f"dest of {what}", self.problems):
            return None
        if dest not in states:
            hint = did_you_mean(dest, states)
            self.problems.add(pos, f"{what} goes to unknown state {dest!r}{hint}")
        return dest

    def _roles(self, item: YMap, what: str) -> frozenset[str]:
        names = self._names(item, "roles", f"roles of {what}", "a list of roles")
        if names is None:
            return DEFAULT_ROLES
        roles = item["roles"]
        for i, role in enumerate(names):
            if role not in ROLES:
                hint = did_you_mean(role, ROLES)
                self.problems.add(roles.item_pos(i), f"unknown role {role!r} in {what}{hint}")
        if not roles:
            self.problems.add(
                roles.pos, f"roles of {what} is empty; no one could fire it; allowed: {', '.join(ROLES)}"
            )
        return frozenset(names)

    def _requires(self, item: YMap, what: str) -> tuple[str, ...]:
        names = self._names(item, "requires", f"requires of {what}", "a list of fact names")
        if names is None:
            return ()
        for i, fact in enumerate(names):
            if not _SNAKE.fullmatch(fact):
                self.problems.add(
                    item["requires"].item_pos(i),
                    f"fact {fact!r} in {what} is not snake_case, e.g. {_slug(fact, '_')!r}",
                )
        return tuple(names)

    def _names(self, item: YMap, key: str, subject: str, forms: str) -> list[str] | None:
        """The text items of a list under `key`, or None when absent (or not a list)."""
        value = item.get(key)
        pos = item.value_pos(key)
        if value is None or not expect(value, YList, forms, pos, subject, self.problems):
            return None
        return [
            name
            for i, name in enumerate(value)
            if expect(name, str, "text", value.item_pos(i), subject, self.problems)
        ]

    def _signoff(self, item: YMap, what: str) -> str | None:
        signoff = self._text(item, "signoff", f"signoff of {what}")
        if signoff is None:
            return None
        if signoff not in SIGNOFFS:
            hint = did_you_mean(signoff, SIGNOFFS)
            self.problems.add(item.value_pos("signoff"), f"unknown signoff {signoff!r} in {what}{hint}")
            return None
        roles = item.get("roles")
        if isinstance(roles, YList) and "project_leader" not in roles:
            self.problems.add(
                roles.pos,
                f"{what} needs a sign-off by each municipality's project leader, "
                "so its roles must include 'project_leader'",
            )
        return signoff

    def _trigger(self, ymap: YMap, what: str) -> str | None:
        trigger = self._text(ymap, "trigger", f"trigger of {what}")
        if trigger is not None and not _SNAKE.fullmatch(trigger):
            self.problems.add(
                ymap.value_pos("trigger"),
                f"trigger {trigger!r} is not snake_case; use lowercase letters, digits and "
                f"underscores, e.g. {_slug(trigger, '_')!r}",
            )
            return None
        return trigger

    # periods

    def _optional_period(self, ymap: YMap, key: str, subject: str) -> PeriodRef | None:
        value = ymap.get(key)
        return None if value is None else self._period(value, ymap.value_pos(key), subject)

    def _period(
        self, value: Any, pos: Pos, subject: str, *, rolls: bool | None = None, legal: bool = True
    ) -> PeriodRef | None:
        """A period written as text or as {period: ..., rolls: ...}; None if it is invalid."""
        if isinstance(value, YMap):
            check_keys(value, _PERIOD_KEYS, subject, self.problems)
            rolls = self._optional_bool(value, "rolls", f"rolls of {subject}")
            pos, value = value.value_pos("period"), self._required(value, "period", subject)
        if not expect(value, str, _PERIOD_FORMS, pos, subject, self.problems):
            return None
        if value.startswith("legal."):
            return self._legal(value, pos, subject, rolls=rolls, legal=legal)
        try:
            return parse_period(value, rolls=bool(rolls))
        except ValueError as exc:
            self.problems.add(pos, f"{subject}: {exc}")
            return None

    def _legal(
        self, text: str, pos: Pos, subject: str, *, rolls: bool | None, legal: bool
    ) -> LegalPeriod | None:
        if not legal:
            self.problems.add(
                pos, f"{subject} takes calendar periods like 'P14D', not the legal period {text!r}"
            )
            return None
        name = text.removeprefix("legal.")
        if name not in LEGAL_PERIODS:
            hint = did_you_mean(text, [f"legal.{n}" for n in LEGAL_PERIODS])
            self.problems.add(pos, f"unknown legal period {text!r} in {subject}{hint}")
            return None
        if rolls is False:
            self.problems.add(pos, f"{subject}: legal periods always roll; remove 'rolls: false'")
        return LegalPeriod(name)

    # values

    def _required(self, ymap: YMap, key: str, what: str) -> Any:
        if key not in ymap:
            self._missing(ymap, key, None, what)
        return ymap.get(key)

    def _missing(self, ymap: YMap, key: str, hint: str | None, what: str = "the definition") -> None:
        tail = f" ({hint})" if hint else ""
        self.problems.add(ymap.pos, f"{what} is missing the key {key!r}{tail}")

    def _text(self, ymap: YMap, key: str, subject: str) -> str | None:
        value = ymap.get(key)
        if value is None:
            return None
        if not expect(value, str, "text", ymap.value_pos(key), subject, self.problems):
            return None
        if not value.strip():
            self.problems.add(ymap.value_pos(key), f"{subject} is empty")
            return None
        return value

    def _bool(self, ymap: YMap, key: str, subject: str) -> bool:
        return bool(self._optional_bool(ymap, key, subject))

    def _optional_bool(self, ymap: YMap, key: str, subject: str) -> bool | None:
        value = ymap.get(key)
        if value is None:
            return None
        if not expect(value, bool, "true or false", ymap.value_pos(key), subject, self.problems):
            return None
        return bool(value)


class _GraphCheck:
    """The checks that need the whole graph: reachability, exits, duplicates, timed triggers."""

    def __init__(
        self,
        problems: Problems,
        states: Mapping[str, _StateEntry],
        entries: list[_TransitionEntry],
    ) -> None:
        self.problems = problems
        self.states = states
        self.entries = entries

    def run(self, initial: str | None) -> None:
        first_seen = self._check_duplicates()
        self._check_timed(first_seen)
        self._check_ways_out()
        if initial is not None:
            self._check_reachable(initial)

    def _check_duplicates(self) -> dict[tuple[str, str], Pos]:
        """Report a trigger defined twice from one state; return where each pair is first set."""
        first_seen: dict[tuple[str, str], Pos] = {}
        for entry in self.entries:
            if not entry.trigger_ok:
                continue
            trigger = entry.transition.trigger
            for source, pos in entry.source_pos.items():
                first = first_seen.setdefault((source, trigger), pos)
                if first is not pos:
                    self.problems.add(
                        pos,
                        f"trigger {trigger!r} is defined twice from state {source!r} "
                        f"(first at line {first[0]}); one trigger leads to one place",
                    )
        return first_seen

    def _check_timed(self, first_seen: Mapping[tuple[str, str], Pos]) -> None:
        for name, entry in self.states.items():
            timed = entry.state.after
            if timed is None or (name, timed.trigger) in first_seen or entry.after_pos is None:
                continue
            leaving = [trigger for source, trigger in first_seen if source == name]
            hint = did_you_mean(timed.trigger, leaving) if leaving else "; none leaves it yet"
            self.problems.add(
                entry.after_pos,
                f"state {name!r} fires {timed.trigger!r} after {timed.period}, but no transition "
                f"{timed.trigger!r} leaves {name!r}{hint}",
            )

    def _check_ways_out(self) -> None:
        leaving = {source for entry in self.entries for source in entry.source_pos}
        for name, entry in self.states.items():
            if not entry.state.final and name not in leaving:
                self.problems.add(
                    entry.pos,
                    f"state {name!r} has no way out; add a transition from it "
                    "or mark it 'final: true'",
                )

    def _check_reachable(self, initial: str) -> None:
        reached = self._reached_from(initial)
        for name, entry in self.states.items():
            if name not in reached:
                self.problems.add(
                    entry.pos, f"state {name!r} is unreachable from the initial state {initial!r}"
                )

    def _reached_from(self, initial: str) -> set[str]:
        reached = {initial}
        todo = [initial]
        while todo:
            state = todo.pop()
            for entry in self.entries:
                dest = entry.transition.dest
                if state in entry.source_pos and dest in self.states and dest not in reached:
                    reached.add(dest)
                    todo.append(dest)
        return reached


def value_pos(ymap: YMap, key: Any) -> Pos:
    return ymap.value_pos(key)


def _timed_trigger_pos(settings: YMap) -> Pos | None:
    after = settings.get("after")
    return after.value_pos("trigger") if isinstance(after, YMap) else None


def _slug(text: str, sep: str) -> str:
    """A suggestion for a malformed name: lowercase words joined by `sep`."""
    return sep.join(re.findall(r"[a-z0-9]+", text.lower())) or "name"
