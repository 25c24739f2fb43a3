"""Read YAML into plain data that remembers where everything came from.

`read_yaml` composes the text with PyYAML (libyaml when available) and builds the data itself, so
that every mapping and list knows its own position and those of its keys, values and items:

    YMap (dict)   .line .col   key_pos(key)   value_pos(key)
    YList (list)  .line .col   item_pos(i)

Scalars are resolved as YAML resolves them (`2007-09-30` becomes a `datetime.date`). Positions are
1-based (line, column). Anything that is not plain data - duplicate keys, merge keys, custom tags,
recursive aliases, unreadable scalars - is a `Problem`; a syntax error is a `DefinitionError` at
once, since nothing after it can be trusted.

`Problems`, `did_you_mean`, `close_match`, `check_keys`, `describe` and `expect` help a loader
validate the data and report every problem in one `DefinitionError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeAlias

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from konkurrence_flow.errors import DefinitionError, Problem

_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OFFSETS_IN_BYTES = _LOADER is not yaml.SafeLoader  # libyaml reports reader errors in bytes
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_BYTES = 1_000_000  # the shipped programme is 10 KB
MAX_DEPTH = 32
SYNTAX_HINT = "hint: check indentation and that ':' is followed by a space"

Pos: TypeAlias = tuple[int, int]


class YMap(dict[Any, Any]):
    """A YAML mapping: a dict that knows its position and those of its keys and values."""

    def __init__(self, line: int = 1, col: int = 1) -> None:
        super().__init__()
        self.line = line
        self.col = col
        self._key_pos: dict[Any, Pos] = {}
        self._value_pos: dict[Any, Pos] = {}

    @property
    def pos(self) -> Pos:
        """Where the mapping itself starts."""
        return (self.line, self.col)

    def key_pos(self, key: Any) -> Pos:
        """Where `key` is written; the mapping's own position when the key is absent."""
        return self._key_pos.get(key, self.pos)

    def value_pos(self, key: Any) -> Pos:
        """Where the value of `key` is written; the key's position when the key is absent."""
        return self._value_pos.get(key, self.key_pos(key))

    def put(self, key: Any, value: Any, key_pos: Pos, value_pos: Pos) -> None:
        """Store `value` under `key` with the positions of both."""
        self[key] = value
        self._key_pos[key] = key_pos
        self._value_pos[key] = value_pos


class YList(list[Any]):
    """A YAML sequence: a list that knows its position and those of its items."""

    def __init__(self, line: int = 1, col: int = 1) -> None:
        super().__init__()
        self.line = line
        self.col = col
        self._item_pos: list[Pos] = []

    @property
    def pos(self) -> Pos:
        """Where the list itself starts."""
        return (self.line, self.col)

    def item_pos(self, index: int) -> Pos:
        """Where item `index` is written."""
        return self._item_pos[index]

    def put(self, value: Any, pos: Pos) -> None:
        """Append `value`, written at `pos`."""
        self.append(value)
        self._item_pos.append(pos)


class Problems:
    """Collects the problems of one file, to raise them together."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._problems: list[Problem] = []

    def add(self, pos: Pos, message: str) -> None:
        """Record a problem at `pos` (line, column)."""
        self._problems.append(Problem(self.file, pos[0], pos[1], message))

    def extend(self, problems: Iterable[Problem]) -> None:
        """Record problems found elsewhere (e.g. in the same file by `read_yaml`)."""
        self._problems.extend(problems)

    @property
    def problems(self) -> list[Problem]:
        """Every problem so far, ordered by position."""
        return sorted(self._problems, key=lambda p: (p.line, p.col))

    def __len__(self) -> int:
        return len(self._problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    def raise_if_any(self) -> None:
        """Raise one `DefinitionError` carrying every problem, if there is any."""
        if self._problems:
            raise DefinitionError(self.problems)


def read_limited(path: Path) -> bytes:
    """A definition or programme file's bytes; refused, after reading no more than the limit,
    when it is larger than any could be (also a device or a pipe that never ends)."""
    with path.open("rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        problem = Problem(str(path), 1, 1, f"the file is larger than {MAX_BYTES:,} bytes, "
                          "the most a definition or programme file may have")  # fmt: skip
        raise DefinitionError([problem])
    return raw


def read_yaml(text: str, file: str) -> Any:
    """Parse one YAML document into plain data with positions (`YMap`, `YList`, scalars)."""
    node = _compose(text, file)
    if node is None:
        return None
    builder = _Builder(file)
    data = builder.value(node)
    builder.problems.raise_if_any()
    return data


def shorten(value: Any, limit: int = 60) -> str:
    """A value quoted for a message, cut short: a problem never repeats a huge value whole."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """A hint: "; did you mean 'x'?" for a close match, else "; allowed: a, b, c"."""
    choices = [str(option) for option in options]
    close = close_match(word, choices)
    if close is not None:
        return f"; did you mean {close!r}?"
    return f"; allowed: {', '.join(choices)}" if choices else ""


def close_match(word: str, options: Iterable[str]) -> str | None:
    """The option closest to `word`, if one is close enough to be a likely typo."""
    close = difflib.get_close_matches(str(word), [str(option) for option in options], n=1)
    return close[0] if close else None


def check_keys(ymap: YMap, allowed: Collection[str], what: str, problems: Problems) -> None:
    """Report every key of `ymap` that is not in `allowed`, at the key, with a hint."""
    for key in ymap:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            problems.add(ymap.key_pos(key), f"unknown key {key!r} in {what}{hint}")


def describe(value: Any) -> str:
    """Name a value for a message: "'maybe'", "5", "a list", "nothing"."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    return shorten(value) if isinstance(value, str) else str(value)[:60]


def expect(
    value: Any,
    kind: type | tuple[type, ...],
    expected: str,
    pos: Pos,
    subject: str,
    problems: Problems,
) -> bool:
    """True if `value` is a `kind`; otherwise report "<subject> must be <expected>; got ..."."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    is_bool = isinstance(value, bool)
    if isinstance(value, kinds) and (bool in kinds or not is_bool):
        return True
    problems.add(pos, f"{subject} must be {expected}; got {describe(value)}")
    return False


def _compose(text: str, file: str) -> Node | None:
    """The node tree of `text`; a syntax error is raised as a `DefinitionError`."""
    try:
        node: Node | None = yaml.compose(text, Loader=_LOADER)
        return node
    except RecursionError as exc:
        raise DefinitionError(
            [Problem(file, 1, 1, f"nested deeper than {MAX_DEPTH} levels")]
        ) from exc
    except yaml.MarkedYAMLError as exc:
        raise DefinitionError([_marked_problem(exc, file)]) from exc
    except yaml.reader.ReaderError as exc:
        line, col = _offset_pos(text, exc.position, in_bytes=_OFFSETS_IN_BYTES)
        message = f"{exc.reason}; remove the character here"
        raise DefinitionError([Problem(file, line, col, message)]) from exc
    except UnicodeError as exc:
        line, col = _offset_pos(text, getattr(exc, "start", 0), in_bytes=False)
        message = "a character here is not valid text (a lone surrogate); save the file as UTF-8"
        raise DefinitionError([Problem(file, line, col, message)]) from exc


def _marked_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    """A syntax error as a problem at YAML's mark, with the indentation hint."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = exc.problem or exc.context or "invalid YAML"
    return Problem(file, line, col, f"{what}; {SYNTAX_HINT}")


def _offset_pos(text: str, offset: int, *, in_bytes: bool) -> Pos:
    """The (line, column) of a character offset (or a UTF-8 byte offset) into `text`."""
    if in_bytes:
        before = text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore")
    else:
        before = text[:offset]
    line = before.count("\n") + 1
    return (line, len(before) - (before.rfind("\n") + 1) + 1)


def _node_pos(node: Node) -> Pos:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a node tree into `YMap`/`YList`/scalars, collecting problems on the way."""

    def __init__(self, file: str) -> None:
        self.problems = Problems(file)
        self._constructor = SafeConstructor()
        self._built: set[int] = set()  # nodes read so far: meeting one again is an alias
        self._aliased: set[int] = set()  # those reported as aliased already
        self._depth = 0

    def value(self, node: Node) -> Any:
        """Plain data for a node. An alias is refused, never expanded: a few hundred bytes of
        nested aliases would otherwise expand to gigabytes ("billion laughs")."""
        if id(node) in self._built:
            if id(node) not in self._aliased:
                self._aliased.add(id(node))
                self.problems.add(_node_pos(node), "this value is used again through an alias "
                                  "('*name'), which is not supported; write it out")  # fmt: skip
            return None
        self._built.add(id(node))
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if self._depth >= MAX_DEPTH:
            self.problems.add(_node_pos(node), f"nested deeper than {MAX_DEPTH} levels")
            return None
        self._depth += 1
        try:
            return self._collection(node)
        finally:
            self._depth -= 1

    def _collection(self, node: Node) -> YMap | YList:
        if isinstance(node, MappingNode):
            return self._mapping(node)
        assert isinstance(node, SequenceNode)  # the composer makes no other kind of node
        return self._sequence(node)

    def _scalar(self, node: ScalarNode) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            reason = getattr(exc, "problem", None) or str(exc)
            self.problems.add(_node_pos(node), f"cannot read {shorten(node.value)}: {reason}")
            return None

    def _mapping(self, node: MappingNode) -> YMap:
        self._check_tag(node, _MAP_TAG)
        ymap = YMap(*_node_pos(node))
        for key_node, value_node in node.value:
            key = self._key(key_node)
            if key is not _SKIP and self._is_new_key(ymap, key, key_node):
                ymap.put(key, self.value(value_node), _node_pos(key_node), _node_pos(value_node))
        return ymap

    def _sequence(self, node: SequenceNode) -> YList:
        self._check_tag(node, _SEQ_TAG)
        ylist = YList(*_node_pos(node))
        for item in node.value:
            ylist.put(self.value(item), _node_pos(item))
        return ylist

    def _key(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            self.problems.add(_node_pos(node), "a key must be a plain value, not a list or mapping")
            return _SKIP
        if node.tag == _MERGE_TAG:
            self.problems.add(
                _node_pos(node), "merge keys ('<<') are not supported; write keys out"
            )
            return _SKIP
        return self._scalar(node)

    def _is_new_key(self, ymap: YMap, key: Any, key_node: Node) -> bool:
        if key not in ymap:
            return True
        first = ymap.key_pos(key)[0]
        self.problems.add(_node_pos(key_node), f"duplicate key {key!r} (first at line {first})")
        return False

    def _check_tag(self, node: Node, tag: str) -> None:
        if node.tag != tag:
            self.problems.add(_node_pos(node), f"the tag {node.tag!r} is not supported here")


_SKIP = object()
