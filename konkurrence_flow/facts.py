"""Facts recorded on a tender: `KEY=VALUE` from the command line, typed once at the boundary.

Known facts have a kind, and a value that does not fit it is refused with the form expected:

- amounts in DKK (`contract_value`, `baseline_cost`, `estimated_value`): `4100000`, `4_100_000`,
  Danish `4.100.000` or `4.100.000,50`; never negative;
- yes/no (`pin_published`, `electronic_*`, `notified_electronically`, `in_house_won`): yes, no, ja,
  nej, true, false; `in_house_bid` is yes/no or the in-house bid's amount;
- a whole number (`bidders`);
- a date (`pin_sent_on`, `tender_deadline`, `requests_deadline`, `agreed_tender_deadline`):
  2008-01-10 or "end of Q1 2008", kept as the ISO date;
- text, kept exactly as given (`winner`: "Ja" is a name there, not a yes).

Any other fact is a number when it reads as one without losing anything, yes/no for those words,
else text: `cvr=01234567` and `phone=+4512345678` stay text. `nan`, `inf` and numbers beyond
10^15 are refused everywhere: no fact may be a number JSON cannot write.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from .calendar import parse_date_expr
from .errors import InvalidInput, PeriodError

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_TRUE = {"true", "yes", "ja"}
_FALSE = {"false", "no", "nej"}
LIMIT = 10**15  # a thousand billion DKK: larger is a typing error

MONEY = frozenset({"contract_value", "baseline_cost", "estimated_value"})
YES_NO = frozenset({"pin_published", "electronic_notice", "electronic_access", "notice_by_fax",
                    "electronic_submission", "notified_electronically", "notified_by_fax", "in_house_won",
                    "standstill"})  # fmt: skip
DATES = frozenset({"pin_sent_on", "notice_sent_on", "tender_deadline", "requests_deadline",
                   "agreed_tender_deadline"})  # fmt: skip
WHOLE = frozenset({"bidders"})
TEXT = frozenset({"winner", "quality_note", "contract_type", "regime", "procedure"})

_NUMBER = re.compile(
    r"-?(?:0|[1-9]\d*|[1-9]\d{0,2}(?:_\d{3})+)(?:\.\d+)?(?:[eE][+-]?\d{1,4})?", re.ASCII
)
"""A number written plainly: digits, optionally grouped by '_' in thousands, a '.' decimal part,
an exponent (1e400 is read, and refused as out of range)."""
_DANISH_AMOUNT = re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?|\d+,\d+", re.ASCII)
_AMOUNT_FORMS = "an amount in DKK like 4100000, 4.100.000 or 4.100.000,50"


def parse_value(text: str, key: str = "") -> Any:
    """A fact's value for `key`: by the fact's kind when it is known, else read generically."""
    word = text.strip()
    if key in TEXT:
        return text
    if key in MONEY:
        return _amount(key, word)
    if key in YES_NO:
        return _yes_no(key, word)
    if key == "in_house_bid":
        return _yes_no(key, word) if word.casefold() in _TRUE | _FALSE else _amount(key, word)
    if key in WHOLE:
        return _whole(key, word)
    if key in DATES:
        return _date(key, word)
    return _generic(key, word)


def _date(key: str, word: str) -> str:
    try:
        return parse_date_expr(word).isoformat()
    except PeriodError as exc:
        raise InvalidInput(f"{key}={word[:40]!r} is not a date: {exc}") from None


def _generic(key: str, word: str) -> Any:
    if word.casefold() in _TRUE:
        return True
    if word.casefold() in _FALSE:
        return False
    if word.casefold().lstrip("+-") in ("nan", "inf", "infinity"):
        raise InvalidInput(f"{key}={word} is not a number a fact can hold")
    if len(word) > 24 or not _NUMBER.fullmatch(word) or _keeps_text(word):
        return word  # text, also a long reference, 01234567, +45…, 2008_01, -0
    return _number(key, word)


def _number(key: str, word: str) -> int | float:
    plain = word.replace("_", "")
    exact = "." not in plain and "e" not in plain.lower()
    return _bounded(key, word, int(plain) if exact else float(plain))


def _keeps_text(word: str) -> bool:
    """Text that would lose something as a number: leading zeros (01234567), or a minus zero."""
    digits = word.lstrip("-")
    leading_zero = len(digits) > 1 and digits[0] == "0" and digits[1] != "."
    return leading_zero or (word.startswith("-") and float(digits.replace("_", "")) == 0)


def _bounded(key: str, word: str, value: float) -> float:
    if not math.isfinite(value) or abs(value) > LIMIT:
        raise InvalidInput(f"{key}={word} is out of range: a fact's number lies within ±10^15")
    return value


def _amount(key: str, word: str) -> int | float:
    """An amount in DKK: plain (4100000, 4_100_000, 4100000.50) or Danish (4.100.000,50)."""
    if len(word) > 30:
        raise InvalidInput(
            f"{key}={word[:30]}… is out of range: a fact's number lies within ±10^15"
        )
    if _DANISH_AMOUNT.fullmatch(word):
        value = _number(key, word.replace(".", "").replace(",", "."))
    elif _NUMBER.fullmatch(word):
        value = _number(key, word)
    else:
        raise InvalidInput(f"{key}={word!r} is not {_AMOUNT_FORMS}")
    if value < 0:
        raise InvalidInput(f"{key}={word} is negative; {key} is {_AMOUNT_FORMS}")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _yes_no(key: str, word: str) -> bool:
    if word.casefold() in _TRUE:
        return True
    if word.casefold() in _FALSE:
        return False
    raise InvalidInput(f"{key}={word!r} is yes or no (also ja/nej, true/false)")


def _whole(key: str, word: str) -> int:
    if len(word) > 20 or not re.fullmatch(r"\d+(?:_\d{3})*", word):
        raise InvalidInput(f"{key}={word!r} is a whole number, 0 or more")
    return int(_number(key, word))


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
        facts[key] = parse_value(value, key)
    return facts
