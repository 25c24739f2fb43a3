"""The domain records: frozen values that the store hands out and the engine reasons about.

SQL rows never leave the store; these do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

ROLES = ("project_leader", "secretariat", "system")
EVENT_KINDS = ("human", "timer", "system")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Person:
    """Someone who acts: a project leader of a municipality, the secretariat, or the scheduler."""

    id: str
    name: str
    email: str
    role: str
    municipality: str | None = None


SYSTEM = Person(id="system", name="Scheduler", email="", role="system")


@dataclass(frozen=True)
class Tender:
    """A tender as stored: where it is, since when, and what is known about it."""

    id: str
    title: str
    definition: str
    definition_version: int
    state: str
    state_entered_at: datetime
    municipalities: tuple[str, ...]
    version: int
    seq: int
    visit: int
    last_event_at: datetime
    created_at: datetime
    due: date | None = None
    timer_at: datetime | None = None
    next_check_at: datetime | None = None
    programme: str | None = None
    leader: str | None = None
    area: str | None = None
    procedure: str | None = None
    regime: str | None = None
    facts: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    signoffs: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _EMPTY)
    overdue_flagged_at: datetime | None = None  # the current visit's overdue flag (scheduler)
    reminded: tuple[str, ...] = ()  # the current visit's reminders already queued, by period
    head: str | None = None  # the hash of its last event: where the next one chains on


DESCRIBED = ("title", "municipalities", "definition", "definition_version", "programme", "leader",
             "area", "procedure", "regime")  # fmt: skip
"""What a tender's creation event records of it (`described`), besides its first facts."""


def described(tender: Tender) -> dict[str, Any]:
    """The tender as its creation event records it (JSON: the municipalities as a list)."""
    return {name: list(value) if isinstance(value := getattr(tender, name), tuple) else value
            for name in DESCRIBED}  # fmt: skip


NOTICE_STATUSES = ("queued", "sent", "failed", "withdrawn")
"""An outbox message's statuses: waiting, delivered, given up on, or moot before it went out (the
tender left the step it was about)."""


@dataclass(frozen=True)
class NewTender:
    """What `tender create` asks for (a light value: the CLI builds it without the store)."""

    definition: str
    title: str
    municipalities: tuple[str, ...] = ()
    id: str | None = None
    programme: str | None = None
    leader: str | None = None
    area: str | None = None
    procedure: str | None = None
    regime: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One line of a tender's append-only history."""

    tender: str
    seq: int
    kind: str
    trigger: str | None
    source: str | None
    dest: str | None
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    note: str | None = None
    data: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    hash: str | None = None  # over its content and the previous event's hash (see `chain`)


@dataclass(frozen=True)
class Step:
    """One visit of a state: when it was entered, when it is due, when it was left."""

    tender: str
    visit: int
    state: str
    entered_at: datetime
    due: date | None = None
    timer_at: datetime | None = None
    left_at: datetime | None = None
    overdue_flagged_at: datetime | None = None


@dataclass(frozen=True)
class Notification:
    """A message in the outbox: queued with the act that causes it, sent by a channel later."""

    id: int
    dedupe_key: str
    kind: str
    recipient: str
    address: str
    subject: str
    body: str
    created_at: datetime
    tender: str | None = None
    status: str = "queued"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    data: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    claimed_until: datetime | None = None  # when a dispatch's claim lapses, on the real clock


CLAIM = "claimed_until"
"""Where stores before r6 kept a claim, in a notification's `data` (dropped when it is settled)."""
