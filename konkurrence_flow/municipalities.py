"""The 98 Danish municipalities since the structural reform of 1 January 2007.

Source: the official municipality codes (kommunekoder), shipped as `data/municipalities.csv`
(code, name, region). `--municipality 751` and `--municipality Aarhus` both mean Aarhus.
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .errors import NotFound


@dataclass(frozen=True)
class Municipality:
    """A municipality: official code (e.g. "751"), name and region."""

    code: str
    name: str
    region: str


@lru_cache(maxsize=1)
def all_municipalities() -> dict[str, Municipality]:
    """Every municipality by code, in the file's order."""
    text = resources.files(__package__).joinpath("data/municipalities.csv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines())
    return {r["code"]: Municipality(r["code"], r["name"], r["region"]) for r in rows}


def municipality(ref: str) -> Municipality:
    """The municipality with this code or name (case-insensitive); refuse with the nearest match."""
    known = all_municipalities()
    key = ref.strip()
    if key in known:
        return known[key]
    by_name = {m.name.casefold(): m for m in known.values()}
    if key.casefold() in by_name:
        return by_name[key.casefold()]
    raise NotFound(f"unknown municipality '{ref}'{_nearest(key, known)}")


def _nearest(key: str, known: dict[str, Municipality]) -> str:
    names = {m.name: m for m in known.values()}
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
    if close:
        m = names[close[0]]
        return f"; did you mean {m.code} ({m.name})?"
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if close:
        m = known[close[0]]
        return f"; did you mean {m.code} ({m.name})?"
    return "; use one of the 98 official codes (e.g. 751 for Aarhus) or a name"
