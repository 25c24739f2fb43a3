"""Facts recorded on a tender: `KEY=VALUE` from the command line, typed once at the boundary."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .errors import InvalidInput

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_TRUE = {"true", "yes", "ja"}
_FALSE = {"false", "no", "nej"}


def parse_value(text: str) -> Any:
    """A fact's value: an integer, a decimal number, a yes/no, or else the text as given."""
    word = text.strip()
    if word.casefold() in _TRUE:
        return True
    if word.casefold() in _FALSE:
        return False
    for kind in (int, float):
        try:
            return kind(word.replace("_", ""))
        except ValueError:
            continue
    return word


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """`["bidders=4", "winner=Falck A/S"]` -> `{"bidders": 4, "winner": "Falck A/S"}`."""
    facts: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise InvalidInput(
                f"'{item}' is not KEY=VALUE with a snake_case key (e.g. contract_value=1200000)"
            )
        facts[key] = parse_value(value)
    return facts
