"""The SQLModel tables. Only `store` imports this module: rows never leave it.

Portable SQL only (SQLite is the embedded default, PostgreSQL the way to grow). Instants are
stored as UTC; dates as dates. These classes describe the newest schema; `migrations/` holds how
every older store gets there (a test checks that the two agree).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant, stored in UTC; a naive datetime is refused at the boundary.

    PostgreSQL keeps it as `timestamp with time zone`. SQLite has no such type: there it is fixed-
    width ISO text in UTC (`2008-03-03 23:00:00.000000`), which sorts and compares as time does
    and converts much faster than SQLAlchemy's generic DATETIME emulation.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value} refused: instants must be timezone-aware")
        if dialect.name == "sqlite":
            return _sqlite_text(value.astimezone(UTC))  # UTC first: the cache keys by instant
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@lru_cache(maxsize=4096)
def _sqlite_text(value: datetime) -> str:
    """An instant as SQLite stores it (a batch writes the same few instants many times)."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


class MetaRow(SQLModel, table=True):
    """Store-wide settings (v0.1.0 kept its schema version here; Alembic keeps it now)."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class DefinitionRow(SQLModel, table=True):
    __tablename__ = "definition"
    name: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    sha256: str = Field(index=True)
    path: str
    source: str = Field(sa_type=Text)
    loaded_at: datetime = Field(sa_type=UTCDateTime)


class PersonRow(SQLModel, table=True):
    __tablename__ = "person"
    id: str = Field(primary_key=True)
    name: str
    email: str
    role: str
    municipality: str | None = Field(default=None, index=True)


class TenderRow(SQLModel, table=True):
    __tablename__ = "tender"
    __table_args__ = (Index("ix_tender_due_id", "due", "id"),)  # overdue lists, read in order
    id: str = Field(primary_key=True)
    title: str
    definition: str
    definition_version: int
    programme: str | None = Field(default=None, index=True)
    state: str = Field(index=True)
    state_entered_at: datetime = Field(sa_type=UTCDateTime)
    due: date | None = None
    timer_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    leader: str | None = None
    area: str | None = None
    procedure: str | None = None
    regime: str | None = None
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    signoffs: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    version: int = 1
    seq: int = 0
    visit: int = 1
    last_event_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    overdue_flagged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded: list[str] = Field(default_factory=list, sa_type=JSON)
    chain_head: str | None = Field(default=None, sa_type=String(64))  # its last event's hash
    claimed_by: str | None = Field(default=None, sa_type=String(64))  # the tick catching it up
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)  # on the real clock


class TenderMunicipalityRow(SQLModel, table=True):
    __tablename__ = "tender_municipality"
    tender_id: str = Field(primary_key=True, foreign_key="tender.id")
    municipality: str = Field(primary_key=True, index=True)
    position: int = 0


class StepRow(SQLModel, table=True):
    __tablename__ = "step"
    tender_id: str = Field(primary_key=True, foreign_key="tender.id")
    visit: int = Field(primary_key=True)
    state: str
    entered_at: datetime = Field(sa_type=UTCDateTime)
    due: date | None = None
    timer_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    overdue_flagged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EventRow(SQLModel, table=True):
    __tablename__ = "event"
    tender_id: str = Field(primary_key=True, foreign_key="tender.id")
    seq: int = Field(primary_key=True)
    kind: str
    trigger: str | None = None
    source: str | None = None
    dest: str | None = None
    actor: str
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    note: str | None = Field(default=None, sa_type=Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prev_hash: str = Field(sa_type=String(64))
    hash: str = Field(sa_type=String(64))


class CheckpointRow(SQLModel, table=True):
    """A store-wide digest handed to the secretariat, with the history it covers."""

    __tablename__ = "audit_checkpoint"
    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(sa_type=String(64), unique=True)
    taken_at: datetime = Field(sa_type=UTCDateTime)
    covers_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tenders: int
    events: int
    heads: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # tender -> last seq


class TokenRow(SQLModel, table=True):
    """A person's access token for the service: only the SHA-256 of its secret is kept."""

    __tablename__ = "token"
    id: str = Field(primary_key=True, sa_type=String(32))
    person_id: str = Field(foreign_key="person.id", index=True)
    label: str | None = None
    secret_sha256: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires: date | None = None
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    kind: str = Field(default="api", sa_type=String(8), sa_column_kwargs={"server_default": "api"})
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    parent_id: str | None = Field(default=None, sa_type=String(32))  # a session's API token


class ProgrammeRow(SQLModel, table=True):
    __tablename__ = "programme"
    name: str = Field(primary_key=True)
    title: str
    start: date
    end: date
    regime: str | None = None
    sha256: str
    path: str
    source: str = Field(sa_type=Text)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    loaded_at: datetime = Field(sa_type=UTCDateTime)


class MilestoneRow(SQLModel, table=True):
    __tablename__ = "milestone"
    programme: str = Field(primary_key=True, foreign_key="programme.name")
    name: str = Field(primary_key=True)
    date: date
    label: str
    planned: bool = False
    sequence: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # times it moved


class MemberRow(SQLModel, table=True):
    __tablename__ = "programme_municipality"
    programme: str = Field(primary_key=True, foreign_key="programme.name")
    code: str = Field(primary_key=True)
    name: str
    iku_year: int | None = None
    iku_exposable: int | None = Field(default=None, sa_type=BigInteger)  # DKK: past 2^31
    iku_exposed: int | None = Field(default=None, sa_type=BigInteger)


class NotificationRow(SQLModel, table=True):
    __tablename__ = "notification"
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True)
    kind: str
    tender_id: str | None = Field(default=None, index=True)
    recipient: str
    address: str
    subject: str
    body: str = Field(sa_type=Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="queued", index=True)
    attempts: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    claimed_by: str | None = Field(default=None, sa_type=String(64))  # the dispatch sending it
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)  # on the real clock


class BlobRow(SQLModel, table=True):
    """A document's bytes, once however often they are attached: named by their SHA-256."""

    __tablename__ = "blob"
    sha256: str = Field(primary_key=True, sa_type=String(64))
    size: int = Field(sa_type=BigInteger)
    media_type: str
    stored_at: datetime = Field(sa_type=UTCDateTime)


class BlobChunkRow(SQLModel, table=True):
    """A blob's bytes, a chunk at a time (written and read without holding the whole file)."""

    __tablename__ = "blob_chunk"
    sha256: str = Field(primary_key=True, foreign_key="blob.sha256", sa_type=String(64))
    n: int = Field(primary_key=True)
    data: bytes = Field(sa_type=LargeBinary)


class DocumentRow(SQLModel, table=True):
    """A version of a tender's document: its title, kind and bytes, and the event attaching it."""

    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("tender_id", "title", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    tender_id: str = Field(foreign_key="tender.id", index=True)
    seq: int  # the event that attached it
    title: str
    kind: str
    version: int
    filename: str
    sha256: str = Field(foreign_key="blob.sha256", sa_type=String(64), index=True)
    size: int = Field(sa_type=BigInteger)
    media_type: str
    attached_by: str
    attached_at: datetime = Field(sa_type=UTCDateTime)
    chars: int = 0  # characters of its text in the search index


def table(model: type[SQLModel]) -> Any:
    """The Core table behind a SQLModel class (for fast, explicit statements)."""
    return model.__table__  # type: ignore[attr-defined]
