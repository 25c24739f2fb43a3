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
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from konkurrence_flow._yaml import (
    Pos,
    Problems,
    YList,
    YMap,
    check_keys,
    close_match,
    describe,
    did_you_mean,
    expect,
    read_limited,
    read_yaml,
)
from konkurrence_flow.calendar import Period, parse_date_expr, parse_period
from konkurrence_flow.errors import DefinitionError, NotFound, Problem
from konkurrence_flow.legal import (
    LEGAL_PERIODS,
    PROCEDURES,
    REGIMES,
    LegalPeriod,
    PeriodRef,
    procedures_of,
)

__all__ = [
    "DEFAULT_ROLES",
    "LEGAL_PERIODS",
    "ROLES",
    "SIGNOFFS",
    "WHEN_ATTRIBUTES",
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

ROLES = ("project_leader", "secretariat", "system")
DEFAULT_ROLES = frozenset({"project_leader", "secretariat"})
SIGNOFFS = ("each-municipality", "each-municipality-or-secretariat")

_TOP_KEYS = ("name", "title", "initial", "states", "transitions")
_STATE_KEYS = ("label", "due", "remind", "after", "final", "initial")
_TRANSITION_KEYS = (
    "trigger",
    "source",
    "dest",
    "roles",
    "requires",
    "min_period",
    "note_required",
    "signoff",
    "when",
)
WHEN_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {"regime": tuple(REGIMES), "procedure": PROCEDURES}
"""What a transition's `when:` may test: the tender's own attributes, and the values they take."""
_DUE_KEYS = ("milestone", "after", "date")
_TIMED_KEYS = ("period", "trigger", "rolls")
_PERIOD_KEYS = ("period", "rolls")

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_STATE_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_PERIOD_FORMS = "a period like 'P52D', '10 working days' or 'legal.tender_period'"
_NO_INITIAL = "no initial state; set 'initial: <state>' at the top or 'initial: true' on a state"


# The model


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
    signoff: str | None = None  # each-municipality | each-municipality-or-secretariat
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (attribute, values it may take), all hold

    def applies(self, attributes: Mapping[str, str | None]) -> bool:
        """True if the tender's attributes (`regime`, `procedure`) meet every `when:` condition."""
        return all(attributes.get(name) in values for name, values in self.when)

    def depends_on(self) -> tuple[str, ...]:
        """The attributes its `when:` tests."""
        return tuple(name for name, _ in self.when)


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
    source: str = field(default="", repr=False)
    sha256: str = ""
    path: str = ""
    _from: Mapping[str, tuple[Transition, ...]] = field(init=False, repr=False)
    _index: Mapping[tuple[str, str], tuple[Transition, ...]] = field(init=False, repr=False)
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

    def find(
        self, state: str, trigger: str, attributes: Mapping[str, str | None] | None = None
    ) -> Transition | None:
        """The transition `trigger` fires from `state` for a tender with these attributes
        (`regime`, `procedure`; without them, the first written), or None."""
        candidates = self.candidates(state, trigger)
        if attributes is None:
            return candidates[0] if candidates else None
        return next((t for t in candidates if t.applies(attributes)), None)

    def candidates(self, state: str, trigger: str) -> tuple[Transition, ...]:
        """Every transition `trigger` names from `state` (several when each has a `when:`)."""
        return self._index.get((state, trigger), ())

    def triggers(self) -> tuple[str, ...]:
        """Every trigger of the definition, in the order first written."""
        return self._triggers

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _content(self) -> tuple[Any, ...]:
        """Everything that defines the machine, in a form whose repr is stable across runs."""
        transitions = tuple(
            (replace(t, roles=frozenset()), sorted(t.roles)) for t in self.transitions
        )
        return (self.name, self.title, self.initial, tuple(self.states.items()), transitions)


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


def _by_state_and_trigger(
    transitions: Iterable[Transition],
) -> dict[tuple[str, str], tuple[Transition, ...]]:
    index: dict[tuple[str, str], tuple[Transition, ...]] = {}
    for transition in transitions:
        for source in transition.sources:
            key = (source, transition.trigger)
            index[key] = (*index.get(key, ()), transition)
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
        raw = read_limited(Path(path))
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
    pos: Pos = (1, 1)
    when_broken: bool = False  # a `when:` was written but none of it could be read


class _Parser:
    """Reads a definition's YAML data, collecting every problem instead of stopping."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def parse(self, top: YMap) -> Definition | None:
        check_keys(top, _TOP_KEYS, "the definition", self.problems)
        name = self._name(top)
        title = self._text(top, "title", "the definition")
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
        name = self._text(top, "name", "the definition", required="an id like 'individual-tender'")
        if name is not None and not _ID.fullmatch(name):
            self.problems.add(
                top.value_pos("name"),
                f"name {name!r} is not an id; use lowercase letters, digits and dashes, "
                f"e.g. {_slug(name, '-')!r}",
            )
        return name

    def _initial(self, top: YMap, states: Mapping[str, _StateEntry]) -> str | None:
        """The one initial state, or None after reporting none, several or an unknown one."""
        marked = [(n, e.initial_pos, "initial: true") for n, e in states.items() if e.initial_pos]
        if top.get("initial") is not None:
            name = self._state_ref(top, "initial", states, "initial state")
            if name is None:
                self._one_initial(marked)
                return None
            marked.insert(0, (name, top.value_pos("initial"), "top-level 'initial'"))
        if not marked:
            self.problems.add(top.pos, _NO_INITIAL)
        return self._one_initial(marked)

    def _one_initial(self, marked: list[tuple[str, Pos, str]]) -> str | None:
        """The state marked initial, or None after reporting several (at the second)."""
        names = list(dict.fromkeys(name for name, _, _ in marked))
        if len(names) > 1:
            listed = " and ".join(f"{name!r} ({how})" for name, _, how in marked)
            second = next(pos for name, pos, _ in marked if name != names[0])
            self.problems.add(second, f"several initial states: {listed}; keep one")
        return names[0] if len(names) == 1 else None

    def _state_ref(
        self, ymap: YMap, key: str, states: Mapping[str, _StateEntry], subject: str
    ) -> str | None:
        """A known state named under `key`, or None after reporting what is wrong."""
        name = self._text(ymap, key, "the definition")
        if name is not None and name not in states:
            hint = did_you_mean(name, states)
            self.problems.add(ymap.value_pos(key), f"{subject} {name!r} is not a state{hint}")
            return None
        return name

    # states

    def _states(self, top: YMap) -> dict[str, _StateEntry]:
        if not self._present(top, "states", "the definition", "state names, in display order"):
            return {}
        states, pos = top["states"], top.value_pos("states")
        if not expect(states, YMap, "a mapping of state names", pos, "states", self.problems):
            return {}
        if not states:
            self.problems.add(pos, "states is empty; a definition needs at least one state")
        entries = (self._state_entry(states, name) for name in states)
        return {entry.state.name: entry for entry in entries if entry is not None}

    def _state_entry(self, states: YMap, name: Any) -> _StateEntry | None:
        pos = states.key_pos(name)
        if not self._is_state_name(name, pos):
            return None
        settings, what = states[name], f"state {name!r}"
        if settings is None:
            return _StateEntry(State(name, name), pos)
        forms = "a mapping of settings, or empty"
        if not expect(settings, YMap, forms, states.value_pos(name), what, self.problems):
            return _StateEntry(State(name, name), pos)
        return self._state_settings(name, settings, pos)

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
        due = self._due(settings, what)
        state = State(
            name=name,
            label=self._text(settings, "label", what) or name,
            final=self._bool(settings, "final", what),
            due=due,
            remind=self._remind(settings, what),
            after=self._timed(settings, what),
        )
        if state.final and "due" in settings:
            self.problems.add(settings.key_pos("due"), f"final {what} has a 'due'; it is never due")
        initial = self._bool(settings, "initial", what)
        initial_pos = settings.value_pos("initial") if initial else None
        return _StateEntry(state, pos, initial_pos, _timed_trigger_pos(settings))

    def _due(self, settings: YMap, what: str) -> Due | None:
        due, pos, subject = settings.get("due"), settings.value_pos("due"), f"due of {what}"
        forms = "a mapping like {milestone: NAME}, {after: P30D} or {date: 2007-09-30}"
        if due is None or not expect(due, YMap, forms, pos, subject, self.problems):
            return None
        check_keys(due, _DUE_KEYS, subject, self.problems)
        written = [key for key in _DUE_KEYS if key in due]
        if len(written) != 1:
            got = ", ".join(written) or "none"
            self.problems.add(
                pos, f"{subject} takes exactly one of milestone, after, date; got {got}"
            )
            return None
        return self._due_form(due, written[0], subject)

    def _due_form(self, due: YMap, key: str, subject: str) -> Due | None:
        pos = due.value_pos(key)
        if key == "milestone":
            milestone = self._text(due, key, subject, required="a milestone name")
            return Due(milestone=milestone) if milestone else None
        if key == "after":
            period = self._period(due[key], pos, subject)
            return Due(after=period) if period else None
        day = self._date(due[key], pos, subject)
        return Due(date=day) if day else None

    def _date(self, value: Any, pos: Pos, subject: str) -> date | None:
        forms = "a date like 2007-09-30 or 'end of Q3 2007'"
        if not expect(value, (date, str), forms, pos, subject, self.problems):
            return None
        try:
            return parse_date_expr(value)
        except ValueError as exc:
            self.problems.add(pos, f"{subject}: {exc}")
            return None

    def _remind(self, settings: YMap, what: str) -> tuple[Period, ...]:
        periods = self._items(settings, "remind", what, "a list of periods")
        if periods is None:
            return ()
        if "due" not in settings:
            self.problems.add(
                settings.key_pos("remind"),
                f"{what} has 'remind' but no 'due'; reminders are counted back from the due date",
            )
        read = (self._period(p, pos, f"remind of {what}", legal=False) for p, pos in periods)
        return tuple(p for p in read if isinstance(p, Period))

    def _timed(self, settings: YMap, what: str) -> Timed | None:
        after, pos, subject = settings.get("after"), settings.value_pos("after"), f"after of {what}"
        forms = "a mapping like {period: P52D, trigger: close_bidding}"
        if after is None or not expect(after, YMap, forms, pos, subject, self.problems):
            return None
        check_keys(after, _TIMED_KEYS, subject, self.problems)
        trigger = self._trigger(after, subject)
        rolls = self._optional_bool(after, "rolls", subject)
        if not self._present(after, "period", subject, _PERIOD_FORMS):
            return None
        period = self._period(after["period"], after.value_pos("period"), subject, rolls=rolls)
        return Timed(period, trigger) if period is not None and trigger is not None else None

    # transitions

    def _transitions(self, top: YMap, states: Mapping[str, _StateEntry]) -> list[_TransitionEntry]:
        forms = "a list of mappings with trigger, source and dest"
        items = self._items(top, "transitions", "the definition", forms)
        entries = (
            self._transition(item, pos, i, states) for i, (item, pos) in enumerate(items or ())
        )
        return [entry for entry in entries if entry is not None]

    def _transition(
        self, item: Any, pos: Pos, index: int, states: Mapping[str, _StateEntry]
    ) -> _TransitionEntry | None:
        forms = "a mapping with trigger, source and dest"
        if not expect(item, YMap, forms, pos, f"transition #{index + 1}", self.problems):
            return None
        written = item.get("trigger")
        what = f"transition {written!r}" if isinstance(written, str) else f"transition #{index + 1}"
        trigger = self._trigger(item, what)
        check_keys(item, _TRANSITION_KEYS, what, self.problems)
        sources = self._sources(item, what, states)
        problems_before = len(self.problems)
        when = self._when(item, what)
        broken = len(self.problems) > problems_before  # its `when:` is reported already
        transition = Transition(
            trigger=trigger or "",
            sources=tuple(sources),
            dest=self._dest(item, what, states) or "",
            roles=self._roles(item, what),
            requires=self._requires(item, what),
            min_period=self._optional_period(item, "min_period", what),
            note_required=self._bool(item, "note_required", what),
            signoff=self._signoff(item, what),
            when=when,
        )
        return _TransitionEntry(transition, trigger is not None, sources, pos, broken)

    def _sources(self, item: YMap, what: str, states: Mapping[str, _StateEntry]) -> dict[str, Pos]:
        """Each source state with where it is written; "*" is every non-final state."""
        if not self._present(item, "source", what, "a state, a list of states, or '*'"):
            return {}
        source, pos = item["source"], item.value_pos("source")
        if source == "*":
            return {name: pos for name, entry in states.items() if not entry.state.final}
        if isinstance(source, YList) and not source:
            self.problems.add(pos, f"source of {what} is empty; name at least one state")
        named = [(source, pos)] if isinstance(source, str) else self._source_list(item, what)
        return self._source_states(named, what, states)

    def _source_list(self, item: YMap, what: str) -> list[tuple[str, Pos]]:
        forms = "a state, a list of states, or '*'"
        named = self._items(item, "source", what, forms, text=True) or []
        for name, pos in named:
            if name == "*":
                self.problems.add(pos, f"'*' in the source of {what} must stand alone: source: '*'")
        return [(name, pos) for name, pos in named if name != "*"]

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
                self._check_not_final(states[name].state, pos, what)
                found[name] = pos
        return found

    def _check_not_final(self, state: State, pos: Pos, what: str) -> None:
        if state.final:
            message = f"{what} leaves final state {state.name!r}; a final state has no exits"
            self.problems.add(pos, message)

    def _dest(self, item: YMap, what: str, states: Mapping[str, _StateEntry]) -> str | None:
        dest = self._text(item, "dest", what, required="the state it goes to")
        if dest is not None and dest not in states:
            hint = did_you_mean(dest, states)
            self.problems.add(
                item.value_pos("dest"), f"{what} goes to unknown state {dest!r}{hint}"
            )
        return dest

    def _roles(self, item: YMap, what: str) -> frozenset[str]:
        roles = self._items(item, "roles", what, "a list of roles", text=True)
        if roles is None:
            return DEFAULT_ROLES
        for role, pos in roles:
            if role not in ROLES:
                self.problems.add(
                    pos, f"unknown role {role!r} in {what}{did_you_mean(role, ROLES)}"
                )
        if not item["roles"]:
            allowed = ", ".join(ROLES)
            message = f"roles of {what} is empty, so no one could fire it; allowed: {allowed}"
            self.problems.add(item.value_pos("roles"), message)
        return frozenset(role for role, _ in roles)

    def _requires(self, item: YMap, what: str) -> tuple[str, ...]:
        facts = self._items(item, "requires", what, "a list of facts", text=True)
        for fact, pos in facts or ():
            if not _SNAKE.fullmatch(fact):
                message = f"fact {fact!r} in {what} is not snake_case, e.g. {_slug(fact, '_')!r}"
                self.problems.add(pos, message)
        return tuple(fact for fact, _ in facts or ())

    def _signoff(self, item: YMap, what: str) -> str | None:
        signoff = self._text(item, "signoff", what)
        if signoff is not None and signoff not in SIGNOFFS:
            hint = did_you_mean(signoff, SIGNOFFS)
            message = f"unknown signoff {signoff!r} in {what}{hint}"
            self.problems.add(item.value_pos("signoff"), message)
            return None
        roles = item.get("roles")
        if signoff and isinstance(roles, YList) and "project_leader" not in roles:
            self.problems.add(
                item.value_pos("roles"),
                f"{what} needs a sign-off by each municipality's project leader, "
                "so its roles must include 'project_leader'",
            )
        return signoff

    def _when(self, item: YMap, what: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """`when: {procedure: open}` or `{regime: [eu-2004-18, annex-iib], procedure: …}`."""
        when, subject = item.get("when"), f"when of {what}"
        forms = "a mapping like {procedure: open} or {regime: [eu-2004-18, annex-iib]}"
        if when is None or not expect(
            when, YMap, forms, item.value_pos("when"), subject, self.problems
        ):
            return ()
        if not when:
            self.problems.add(item.value_pos("when"), f"{subject} is empty; name what it tests")
        conditions = []
        for name in when:
            if name not in WHEN_ATTRIBUTES:
                hint = did_you_mean(str(name), WHEN_ATTRIBUTES)
                allowed = ", ".join(WHEN_ATTRIBUTES)
                self.problems.add(
                    when.key_pos(name),
                    f"unknown attribute {name!r} in {subject}{hint} (it tests: {allowed})",
                )
                continue
            values = self._when_values(when, name, subject)
            if values:
                conditions.append((str(name), values))
        return tuple(conditions)

    def _when_values(self, when: YMap, name: str, subject: str) -> tuple[str, ...]:
        value, pos, known = when[name], when.value_pos(name), WHEN_ATTRIBUTES[name]
        if value is None:
            self.problems.add(pos, f"{name} of {subject} is empty; name at least one {name}")
            return ()
        if isinstance(value, str):
            named = [(value, pos)]
        else:
            named = self._items(when, name, subject, f"a {name} or a list of them", text=True) or []
            if isinstance(value, YList) and not value:
                self.problems.add(pos, f"{name} of {subject} is empty; name at least one {name}")
        for text, at in named:
            if text not in known:
                hint = did_you_mean(text, known)
                message = (
                    f"unknown {name} {text!r} in {subject}{hint} ({name}s: {', '.join(known)})"
                )
                self.problems.add(at, message)
        return tuple(dict.fromkeys(text for text, _ in named if text in known))

    def _trigger(self, ymap: YMap, what: str) -> str | None:
        trigger = self._text(ymap, "trigger", what, required="a snake_case name")
        if trigger is None or _SNAKE.fullmatch(trigger):
            return trigger
        self.problems.add(
            ymap.value_pos("trigger"),
            f"trigger {trigger!r} is not snake_case; use lowercase letters, digits and "
            f"underscores, e.g. {_slug(trigger, '_')!r}",
        )
        return None

    # periods

    def _optional_period(self, ymap: YMap, key: str, what: str) -> PeriodRef | None:
        value = ymap.get(key)
        subject = f"{key} of {what}"
        return None if value is None else self._period(value, ymap.value_pos(key), subject)

    def _period(
        self, value: Any, pos: Pos, subject: str, *, rolls: bool | None = None, legal: bool = True
    ) -> PeriodRef | None:
        """A period written as text or as {period: ..., rolls: ...}; None if it is invalid."""
        if isinstance(value, YMap):
            return self._period_mapping(value, subject, legal=legal)
        if not expect(value, str, _PERIOD_FORMS, pos, subject, self.problems):
            return None
        if value.startswith("legal."):
            return self._legal(value, pos, subject, rolls=rolls, legal=legal)
        try:
            return parse_period(value, rolls=bool(rolls))
        except ValueError as exc:
            self.problems.add(pos, f"{subject}: {exc}")
            return None

    def _period_mapping(self, ymap: YMap, subject: str, *, legal: bool) -> PeriodRef | None:
        """The form {period: P10D, rolls: true}."""
        check_keys(ymap, _PERIOD_KEYS, subject, self.problems)
        rolls = self._optional_bool(ymap, "rolls", subject)
        if not self._present(ymap, "period", subject, _PERIOD_FORMS):
            return None
        period, pos = ymap["period"], ymap.value_pos("period")
        return self._period(period, pos, subject, rolls=rolls, legal=legal)

    def _legal(
        self, text: str, pos: Pos, subject: str, *, rolls: bool | None, legal: bool
    ) -> LegalPeriod | None:
        name = text.removeprefix("legal.")
        if not legal:
            message = f"{subject} takes calendar periods like 'P14D', not the legal period {text!r}"
            self.problems.add(pos, message)
        elif name not in LEGAL_PERIODS:
            hint = did_you_mean(text, [f"legal.{n}" for n in LEGAL_PERIODS])
            self.problems.add(pos, f"unknown legal period {text!r} in {subject}{hint}")
        elif rolls is False:
            self.problems.add(pos, f"{subject}: legal periods always roll; remove 'rolls: false'")
        return LegalPeriod(name) if legal and name in LEGAL_PERIODS else None

    # values

    def _present(self, ymap: YMap, key: str, what: str, hint: str) -> bool:
        """True if `key` is written in `ymap`; otherwise report it missing, at the mapping."""
        if key in ymap:
            return True
        self.problems.add(ymap.pos, f"{what} is missing the key {key!r} ({hint})")
        return False

    def _text(self, ymap: YMap, key: str, what: str, *, required: str | None = None) -> str | None:
        """Non-blank text under `key`; None if absent or invalid. A `required` key's absence is
        reported, with `required` as the hint."""
        if required and not self._present(ymap, key, what, required):
            return None
        value: Any = ymap.get(key)
        pos, subject = ymap.value_pos(key), f"{key} of {what}"
        if value is None and not required:
            return None
        if not expect(value, str, "text", pos, subject, self.problems):
            return None
        if not value.strip():
            self.problems.add(pos, f"{subject} is blank")
            return None
        return str(value)

    def _items(
        self, ymap: YMap, key: str, what: str, forms: str, *, text: bool = False
    ) -> list[tuple[Any, Pos]] | None:
        """The items of the list under `key` with their positions; None if absent or no list.

        With `text`, only the items that are text (the others are reported).
        """
        value, pos, subject = ymap.get(key), ymap.value_pos(key), f"{key} of {what}"
        if value is None or not expect(value, YList, forms, pos, subject, self.problems):
            return None
        items = [(item, value.item_pos(i)) for i, item in enumerate(value)]
        if not text:
            return items
        return [(v, p) for v, p in items if expect(v, str, "text", p, subject, self.problems)]

    def _bool(self, ymap: YMap, key: str, what: str) -> bool:
        return bool(self._optional_bool(ymap, key, what))

    def _optional_bool(self, ymap: YMap, key: str, what: str) -> bool | None:
        value, pos = ymap.get(key), ymap.value_pos(key)
        if value is None:
            return None
        if not expect(value, bool, "true or false", pos, f"{key} of {what}", self.problems):
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
        """Report a trigger defined twice from one state (unless `when:` tells them apart, for
        every regime and procedure); return where each pair is first set."""
        first_seen: dict[tuple[str, str], Pos] = {}
        groups: dict[tuple[str, str], list[tuple[Transition, Pos]]] = {}
        broken: set[tuple[str, str]] = set()
        for entry in self.entries:
            trigger = entry.transition.trigger
            for source, pos in entry.source_pos.items() if entry.trigger_ok else ():
                first_seen.setdefault((source, trigger), pos)
                groups.setdefault((source, trigger), []).append((entry.transition, pos))
                if entry.when_broken:
                    broken.add((source, trigger))
        for (source, trigger), members in groups.items():
            if (source, trigger) in broken:
                continue  # its `when:` is reported already
            if all(t.when for t, _ in members):
                self._check_cover(source, trigger, members)
                continue
            for _, pos in members[1:]:
                self.problems.add(
                    pos,
                    f"trigger {trigger!r} is defined twice from state {source!r} "
                    f"(first at line {members[0][1][0]}); one trigger leads to one place, "
                    "unless each has a 'when:' telling them apart",
                )
        return first_seen

    def _check_cover(
        self, source: str, trigger: str, members: list[tuple[Transition, Pos]]
    ) -> None:
        """Transitions with `when:` must give `trigger` exactly one way from `source` for every
        regime and procedure there is."""
        uncovered: list[tuple[str, str]] = []
        overlaps: dict[Pos, tuple[str, str, Pos]] = {}
        for regime in REGIMES:
            for procedure in procedures_of(regime):
                attributes = {"regime": regime, "procedure": procedure}
                applying = [pos for t, pos in members if t.applies(attributes)]
                if not applying:
                    uncovered.append((regime, procedure))
                for pos in applying[1:]:
                    overlaps.setdefault(pos, (regime, procedure, applying[0]))
        what = f"trigger {trigger!r} from state {source!r}"
        if uncovered:
            self.problems.add(
                members[0][1],
                f"{what} leads nowhere for {_cases(uncovered)}; cover them in a 'when:' "
                "(no transition left for them)",
            )
        for pos, (regime, procedure, first) in overlaps.items():
            self.problems.add(
                pos,
                f"{what} has two transitions for regime {regime!r} with procedure "
                f"{procedure!r} (the other at line {first[0]}); make their 'when:' exclusive",
            )

    def _check_timed(self, first_seen: Mapping[tuple[str, str], Pos]) -> None:
        """A state's timed trigger must be a transition leaving that state."""
        for name, entry in self.states.items():
            timed = entry.state.after
            if timed is None or entry.after_pos is None or (name, timed.trigger) in first_seen:
                continue
            leaving = [trigger for source, trigger in first_seen if source == name]
            self.problems.add(
                entry.after_pos,
                f"state {name!r} fires {timed.trigger!r} after {timed.period}, but no transition "
                f"{timed.trigger!r} leaves {name!r}{_leaving_hint(timed.trigger, leaving)}",
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
                message = f"state {name!r} is unreachable from the initial state {initial!r}"
                self.problems.add(entry.pos, message)

    def _reached_from(self, initial: str) -> set[str]:
        following: dict[str, set[str]] = {}
        for entry in self.entries:
            for source in entry.source_pos:
                following.setdefault(source, set()).add(entry.transition.dest)
        reached, todo = {initial}, [initial]
        while todo:
            fresh = following.get(todo.pop(), set()) - reached
            reached |= fresh
            todo.extend(fresh)
        return reached


def _cases(pairs: list[tuple[str, str]]) -> str:
    """(regime, procedure) pairs in few words: a procedure uncovered under every regime that has
    it is named alone; a regime uncovered for all its procedures too."""
    by_procedure: dict[str, list[str]] = {}
    for regime, procedure in pairs:
        by_procedure.setdefault(procedure, []).append(regime)
    every = {p: [r for r in REGIMES if p in procedures_of(r)] for p in by_procedure}
    if all(by_procedure[p] == every[p] for p in by_procedure):
        return "procedure " + ", ".join(repr(p) for p in by_procedure)
    by_regime: dict[str, list[str]] = {}
    for regime, procedure in pairs:
        by_regime.setdefault(regime, []).append(procedure)
    if all(len(ps) == len(procedures_of(r)) for r, ps in by_regime.items()):
        return "regime " + ", ".join(repr(r) for r in by_regime)
    shown = ", ".join(f"{r} with {p}" for r, p in pairs[:4])
    return shown + (f" and {len(pairs) - 4} more" if len(pairs) > 4 else "")


def _leaving_hint(trigger: str, leaving: list[str]) -> str:
    close = close_match(trigger, leaving)
    if close is not None:
        return f"; did you mean {close!r}?"
    return f"; triggers from it: {', '.join(leaving)}" if leaving else "; none leaves it yet"


def _timed_trigger_pos(settings: YMap) -> Pos | None:
    after = settings.get("after")
    return after.value_pos("trigger") if isinstance(after, YMap) else None


def _slug(text: str, sep: str) -> str:
    """A suggestion for a malformed name: lowercase words joined by `sep`."""
    return sep.join(re.findall(r"[a-z0-9]+", text.lower())) or "name"
