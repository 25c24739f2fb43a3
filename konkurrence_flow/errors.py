"""The errors of konkurrence-flow: one root, a definition-time and a run-time branch.

    KonkurrenceFlowError
    ├── DefinitionError          a definition or programme file is invalid (carries every problem)
    ├── PeriodError (ValueError) a period or date expression cannot be read
    └── RunError                 refused at run time
        ├── NotFound (LookupError)       unknown tender, definition, person, municipality
        ├── NotAllowed                   trigger not allowed in this state, guard, period
        │   └── Forbidden                not for this person: role, municipality, secretariat only
        ├── ConcurrentChange             the tender changed meanwhile: try again
        ├── InvalidInput (ValueError)    a bad value given by the user (a fact, a time)
        ├── StoreVersionError            the store's schema is older or newer than this code
        ├── Unauthenticated              no token, or an unknown, revoked or expired one
        └── ServiceUnavailable           the shared service cannot be reached, or is not one

Every message is one sentence that names the thing and says what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass


class KonkurrenceFlowError(Exception):
    """The root of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a file: where it is, what is wrong, and a hint."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class DefinitionError(KonkurrenceFlowError):
    """A definition or programme file is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PeriodError(KonkurrenceFlowError, ValueError):
    """A period ("P52D", "10 working days") or a date expression cannot be read."""


class RunError(KonkurrenceFlowError):
    """An act or a query refused at run time."""


class NotFound(RunError, LookupError):
    """Something named by the user does not exist."""


class NotAllowed(RunError):
    """The domain refuses the act: wrong state, role, missing fact, period not expired."""


class Forbidden(NotAllowed):
    """The person asking may not do this (their role or municipality), whatever the tender's state.

    The HTTP service answers it with 403; any other refusal by the domain is a 409."""


class ConcurrentChange(RunError):
    """Someone else changed the tender between our read and our write."""

    def __init__(self, tender_id: str) -> None:
        self.tender_id = tender_id
        super().__init__(f"tender {tender_id} changed meanwhile; try again")


class InvalidInput(RunError, ValueError):
    """A value given by the user is malformed or out of range."""


class StoreVersionError(RunError):
    """The store's schema is not the one this code writes: `kflow init` upgrades an older one;
    a newer one is never written to."""


class Unauthenticated(RunError):
    """No token, or one that is unknown, revoked or expired. The message never repeats it."""


class ServiceUnavailable(RunError):
    """The shared service (`KFLOW_URL`) cannot be reached, or what answers is not konkurrence-flow."""


_HTTP_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (ConcurrentChange, 409),
    (NotAllowed, 409),
    (InvalidInput, 400),
    (PeriodError, 400),
    (DefinitionError, 400),
    (StoreVersionError, 503),
)


def http_status(exc: Exception) -> int:
    """The HTTP status a refusal is answered with, by the API and the dashboard alike: 401 who,
    403 not for this person, 404 unknown, 409 refused or changed meanwhile, 400 malformed, 503 a
    store of another schema."""
    return next((code for kind, code in _HTTP_STATUS if isinstance(exc, kind)), 400)
