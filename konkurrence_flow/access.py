"""Who may do what, beyond the definitions' own roles: the rules every front door applies.

The secretariat administers the network (people, definitions, programmes, the audit digest);
`system` is the scheduler's identity, never a person's.
"""

from __future__ import annotations

from .errors import Forbidden
from .identifiers import SYSTEM_ID
from .model import Person


def require_person(actor: Person) -> None:
    """Refuse the scheduler's identity where a person must act."""
    if actor.id == SYSTEM_ID or actor.role == "system":
        raise Forbidden(
            "'system' is the scheduler's identity, not a person's; act as yourself "
            "(--user ID or KFLOW_USER)"
        )


def require_secretariat(actor: Person, what: str) -> None:
    """Refuse anyone but the secretariat: `what` says what they tried ("add people")."""
    require_person(actor)
    if actor.role != "secretariat":
        role = actor.role.replace("_", " ")
        raise Forbidden(f"{actor.id} is {role}; only the secretariat may {what}")
