"""Test helpers shared by the test modules: people, paths and instants."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from konkurrence_flow.calendar import parse_instant
from konkurrence_flow.model import Person

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"

ANNA = Person("anna", "Anna Jensen", "anna@aarhus.dk", "project_leader", "751")
OLE = Person("ole", "Ole Hansen", "ole@odense.dk", "project_leader", "461")
SEK = Person("kl-sek", "Sekretariatet", "sekretariat@kl.dk", "secretariat")


def at(text: str) -> datetime:
    """An instant from an ISO date or datetime (a bare date is 00:00 Copenhagen time)."""
    return parse_instant(text)
