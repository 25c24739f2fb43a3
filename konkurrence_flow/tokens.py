"""Per-person access tokens for the shared service.

A token reads `kf_<id>_<secret>`: the id names the row, the secret (256 random bits) proves it.
Only the SHA-256 of the secret is stored, and it is compared in constant time. Tokens live on the
real clock whatever `--now` says: a demo's virtual 2008 must not make a token expire or revive.
A token decides who acts; nothing in a request can name another person.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from .access import require_person
from .calendar import end_of_day, local_date
from .credentials import TOKEN_FORM
from .errors import InvalidInput, NotFound, Unauthenticated
from .model import Person
from .rows import T_PERSON
from .store import Store
from .tables import TokenRow, table

T_TOKEN = table(TokenRow)

TOUCH_EVERY = timedelta(minutes=1)
"""`last_used_at` is written at most this often per token (a request must not cost a write)."""


@dataclass(frozen=True)
class Token:
    """A token as listed: never its secret."""

    id: str
    person: str
    label: str | None
    created_at: datetime
    expires: date | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def json(self) -> dict[str, Any]:
        """The `kflow token list --json` entry."""
        from .reports import instant

        return {
            "id": self.id, "person": self.person, "label": self.label,
            "created_at": instant(self.created_at),
            "expires": self.expires.isoformat() if self.expires else None,
            "last_used_at": instant(self.last_used_at), "revoked": self.revoked_at is not None,
        }  # fmt: skip


def real_now() -> datetime:
    """The real clock (tokens never follow a virtual one)."""
    return datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create(
    store: Store, person_id: str, label: str | None = None, expires: date | None = None
) -> tuple[Token, str]:
    """A new token for a person: the listed token, and its text (shown once, never stored)."""
    person = store.person(person_id)
    require_person(person)
    now = real_now()
    if expires is not None and expires < local_date(now):
        raise InvalidInput(f"--expires {expires} is in the past (today is {local_date(now)})")
    if label is not None and (len(label) > 200 or not label.isprintable()):
        raise InvalidInput("--label is one line of at most 200 printable characters")
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        conn.execute(insert(T_TOKEN).values(
            id=token_id, person_id=person.id, label=label, secret_sha256=_digest(secret),
            created_at=now, expires=expires, last_used_at=None, revoked_at=None,
        ))  # fmt: skip
    token = Token(token_id, person.id, label, now, expires, None, None)
    return token, f"kf_{token_id}_{secret}"


def tokens(store: Store) -> list[Token]:
    """Every token, oldest first (revoked ones too, marked)."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(T_TOKEN).order_by(T_TOKEN.c.created_at, T_TOKEN.c.id)).all()
    return [_token(r) for r in rows]


def revoke(store: Store, token_id: str) -> Token:
    """Revoke a token at once; a revoked token stays listed, and never works again."""
    with store.engine.begin() as conn:
        row = conn.execute(select(T_TOKEN).where(T_TOKEN.c.id == token_id)).first()
        if row is None:
            raise NotFound(f"unknown token {token_id[:40]!r} (see `kflow token list`)")
        if row.revoked_at is None:
            conn.execute(update(T_TOKEN).where(T_TOKEN.c.id == token_id)
                         .values(revoked_at=real_now()))  # fmt: skip
        row = conn.execute(select(T_TOKEN).where(T_TOKEN.c.id == token_id)).one()
    return _token(row)


def authenticate(store: Store, text: str | None) -> Person:
    """The person a bearer token belongs to; `Unauthenticated` for anything else."""
    match = TOKEN_FORM.fullmatch(text or "")
    if match is None:
        raise Unauthenticated("no valid token (Authorization: Bearer kf_…)")
    token_id, secret = match.groups()
    query = (
        select(T_TOKEN, T_PERSON.c.name, T_PERSON.c.email, T_PERSON.c.role,
               T_PERSON.c.municipality)
        .join(T_PERSON, T_PERSON.c.id == T_TOKEN.c.person_id)
        .where(T_TOKEN.c.id == token_id)
    )  # fmt: skip
    with store.engine.connect() as conn:
        row = conn.execute(query).first()  # the token and its person in one read
    stored = row.secret_sha256 if row is not None else _digest("x" * 43)
    if not hmac.compare_digest(_digest(secret), stored) or row is None:
        raise Unauthenticated("no valid token (Authorization: Bearer kf_…)")
    now = real_now()
    if row.revoked_at is not None:
        raise Unauthenticated(f"token {token_id} is revoked")
    if row.expires is not None and now >= end_of_day(row.expires):
        raise Unauthenticated(f"token {token_id} expired on {row.expires}")
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        with store.engine.begin() as conn:
            conn.execute(update(T_TOKEN).where(T_TOKEN.c.id == token_id)
                         .values(last_used_at=now))  # fmt: skip
    person = Person(row.person_id, row.name, row.email, row.role, row.municipality)
    require_person(person)
    return person


def _token(row: Any) -> Token:
    return Token(row.id, row.person_id, row.label, row.created_at, row.expires,
                 row.last_used_at, row.revoked_at)  # fmt: skip
