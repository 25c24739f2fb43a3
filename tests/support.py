"""Test helpers shared by the test modules: people, paths and instants."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from konkurrence_flow.calendar import parse_instant
from konkurrence_flow.definitions import load_definition
from konkurrence_flow.model import Person
from konkurrence_flow.programme import parse_programme
from konkurrence_flow.store import Store

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"

ANNA = Person("anna", "Anna Jensen", "anna@aarhus.example.dk", "project_leader", "751")
OLE = Person("ole", "Ole Hansen", "ole@odense.example.dk", "project_leader", "461")
SEK = Person("kl-sek", "Sekretariatet", "sekretariat@kl.example.dk", "secretariat")


def at(text: str) -> datetime:
    """An instant from an ISO date or datetime (a bare date is 00:00 Copenhagen time)."""
    return parse_instant(text)


PILOT_TEXT = (ROOT / "workflows" / "pilot-2007.yaml").read_text("utf-8")


def pilot_store(url: str = "sqlite://", text: str = PILOT_TEXT) -> Store:
    """A store with the individual-tender definition and a pilot programme, loaded 2007-06-01."""
    store = Store(url)
    store.init("kl-sek")
    store.load_definition(load_definition(DEFINITIONS / "individual-tender.yaml"), at("2007-04-01"))
    store.load_programme(parse_programme(text, "pilot.yaml"), at("2007-06-01"))
    return store


def wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Poll until `condition()` holds (a real process has got going), or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {seconds} s")
        time.sleep(0.1)


def empty_postgres(url: str) -> None:
    """Drop everything in the throwaway cluster's database: tables, schema revision and all."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
