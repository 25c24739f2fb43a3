"""What ids, email addresses and titles may look like: one set of rules for the command line and
for programme files. Each `*_problem` returns the sentence that says what is wrong, or None.
"""

from __future__ import annotations

import re
from typing import Final

MAX_ID: Final = 64
MAX_TITLE: Final = 200
MAX_EMAIL: Final = 254  # RFC 5321's limit on a path
SYSTEM_ID: Final = "system"

_PERSON_ID = re.compile(r"[^\W_][\w.@-]*")  # letters of any alphabet: søren is a fine id
_TENDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*", re.ASCII)
_ADDRESS_PART = r"[^\s@<>()\[\]\\,;:\"]+"
_EMAIL = re.compile(rf"{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}")
_DANISH = str.maketrans({"Æ": "AE", "Ø": "OE", "Å": "AA", "æ": "ae", "ø": "oe", "å": "aa"})


def person_id_problem(value: str) -> str | None:
    """A person's id: a plain word (letters, digits, '.', '_', '-', '@'), never 'system'."""
    if value.casefold() == SYSTEM_ID:
        return "'system' is the scheduler's identity, not a person's; choose another id"
    if len(value) > MAX_ID or not _PERSON_ID.fullmatch(value):
        return (
            f"person id {_shown(value)} must be 1-{MAX_ID} letters, digits, '.', '_', '-' or '@', "
            "starting with a letter or digit (e.g. anna or kl-sek)"
        )
    return None


def tender_id_problem(value: str) -> str | None:
    """A tender's id: a plain word (letters, digits, '-', '_', '.')."""
    if len(value) > MAX_ID or not _TENDER_ID.fullmatch(value):
        return (
            f"tender id {_shown(value)} may hold 1-{MAX_ID} letters, digits, '-', '_' and '.', "
            "starting with a letter or digit (e.g. AAR-SUND-01)"
        )
    return None


def email_problem(value: str) -> str | None:
    """One email address, nothing else: no display name, no second address, no header text.
    Empty means the person has no address (then nothing can be mailed to them)."""
    if value and (len(value) > MAX_EMAIL or not _EMAIL.fullmatch(value)):
        return f"email {_shown(value)} is not one address like anna@aarhus.example.dk"
    return None


def title_problem(value: str, what: str = "a title") -> str | None:
    """A title: some text on one line, of a sane length."""
    if not value.strip():
        return f"{what} cannot be empty"
    if len(value) > MAX_TITLE or "\n" in value or "\r" in value:
        return f"{what} must be one line of at most {MAX_TITLE} characters"
    if not value.isprintable():
        return f"{what} must be printable text (no control characters such as tab or escape)"
    return None


def ascii_prefix(name: str, length: int = 3) -> str:
    """The first letters of a Danish name in plain capitals: København -> KOE, Ærø -> AER."""
    letters = "".join(c for c in name.translate(_DANISH) if c.isascii() and c.isalnum())
    return letters[:length].upper()


def _shown(value: str) -> str:
    """A value for a message: quoted, and cut short if it is long."""
    return repr(value if len(value) <= 40 else value[:40] + "…")
