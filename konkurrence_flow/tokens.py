"""Per-person access tokens for the shared service.

A token reads `kf_<id>_<secret>`: the id names the row, the secret (256 random bits) proves it.
Only the SHA-256 of the secret is stored, and it is compared in constant time. Tokens live on the
real clock whatever `--now` says: a demo's virtual 2008 must not make a token expire or revive.
A token decides who acts; nothing in a request can name another person.

Three kinds: `api` (a person's bearer token, until revoked or its `expires` day ends), `link` (a
one-time sign-in link for the dashboard, `kflow token create --link`, valid LINK_LIFETIME) and
`session` (a browser's sign-in: the dashboard's cookie holds it; SESSION_LIFETIME, revoked at
sign-out) and `calendar` (a person's calendar feed, `/calendar/<token>.ics`: read-only, until
revoked). Each works only where its kind is asked for: a link is no bearer token, a session
cookie no API token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from .access import require_person
from .calendar import end_of_day, local_date
from .credentials import TOKEN_FORM
from .errors import InvalidInput, NotFound, Unauthenticated
from .model import Person
from .rows import T_PERSON
from .store import Store
from .tables import TokenRow, table

T_TOKEN = table(TokenRow)

KINDS = ("api", "link", "session", "calendar")
LINK_LIFETIME = timedelta(days=3)
"""How long a sign-in link works (once)."""
SESSION_LIFETIME = timedelta(hours=12)
"""How long a dashboard sign-in lasts: a working day."""
KEEP_ENDED = timedelta(days=30)
"""Ended sessions and links stay listed this long, then go at the next sign-in."""

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
    kind: str = "api"
    expires_at: datetime | None = None

    def json(self) -> dict[str, Any]:
        """The `kflow token list --json` entry."""
        from .reports import instant

        return {
            "id": self.id, "person": self.person, "label": self.label,
            "created_at": instant(self.created_at),
            "expires": self.expires.isoformat() if self.expires else None,
            "last_used_at": instant(self.last_used_at), "revoked": self.revoked_at is not None,
            "kind": self.kind, "expires_at": instant(self.expires_at),
        }  # fmt: skip


_SECRET_IN = re.compile(r"(kf_[0-9a-f]{12}_)[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    """`text` with every token's secret replaced by "…" (its id stays: enough to revoke it)."""
    return _SECRET_IN.sub(r"\1…", text)


def exists(store: Store, text: str) -> bool:
    """True if `text` names a stored token (revoked or not), whatever its secret."""
    match = TOKEN_FORM.fullmatch(text)
    return match is not None and _row(store, match.group(1)) is not None


def real_now() -> datetime:
    """The real clock (tokens never follow a virtual one)."""
    return datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create(
    store: Store, person_id: str, label: str | None = None, expires: date | None = None
) -> tuple[Token, str]:
    """A new API token for a person: the listed token, and its text (shown once, never stored)."""
    person = store.person(person_id)
    require_person(person)
    if expires is not None and expires < local_date(real_now()):
        raise InvalidInput(
            f"--expires {expires} is in the past (today is {local_date(real_now())})"
        )
    if label is not None and (len(label) > 200 or not label.isprintable()):
        raise InvalidInput("--label is one line of at most 200 printable characters")
    with store.engine.begin() as conn:
        return _insert(conn, person.id, "api", label=label, expires=expires)


def create_link(store: Store, person_id: str) -> tuple[Token, str]:
    """A one-time sign-in link's token for a person, valid LINK_LIFETIME."""
    person = store.person(person_id)
    require_person(person)
    with store.engine.begin() as conn:
        return _insert(conn, person.id, "link", label="sign-in link",
                       expires_at=real_now() + LINK_LIFETIME)  # fmt: skip


def create_calendar(store: Store, person_id: str) -> tuple[Token, str]:
    """A token for a person's calendar feed: it reads their calendar and nothing else."""
    person = store.person(person_id)
    require_person(person)
    with store.engine.begin() as conn:
        return _insert(conn, person.id, "calendar", label="calendar feed")


def sign_in(store: Store, text: str) -> tuple[Person, str]:
    """A browser signs in with a person's API token or a sign-in link (used up by it): the person
    and a new session token's text, for the cookie."""
    match = TOKEN_FORM.fullmatch(text.strip())
    token_id = match.group(1) if match else ""
    given = _row(store, token_id) if match else None
    kind = "link" if given is not None and given.kind == "link" else "api"
    person = authenticate(store, text.strip(), kind=kind)
    assert given is not None  # authenticate found it
    now = real_now()
    ends = now + SESSION_LIFETIME
    if given.expires is not None:  # a session outlives no token it was started with
        ends = min(ends, end_of_day(given.expires))
    with store.engine.begin() as conn:
        if kind == "link":  # once only: of two tabs redeeming it at once, one wins
            used = conn.execute(update(T_TOKEN).where(T_TOKEN.c.id == token_id)
                                .where(T_TOKEN.c.revoked_at.is_(None)).values(revoked_at=now))  # fmt: skip
            if used.rowcount != 1:
                raise Unauthenticated("this sign-in link has been used; ask for a new one")
        conn.execute(delete(T_TOKEN).where(T_TOKEN.c.kind.in_(("session", "link")))
                     .where(T_TOKEN.c.expires_at < now - KEEP_ENDED))  # fmt: skip
        _made, session = _insert(conn, person.id, "session", label="dashboard session",
                                 expires_at=ends, parent_id=token_id if kind == "api" else None)  # fmt: skip
    return person, session


def sign_out(store: Store, text: str) -> None:
    """End a dashboard session (its token is revoked; nothing if it was not one)."""
    match = TOKEN_FORM.fullmatch(text or "")
    if match is None:
        return
    with store.engine.begin() as conn:
        conn.execute(update(T_TOKEN).where(T_TOKEN.c.id == match.group(1))
                     .where(T_TOKEN.c.kind == "session").where(T_TOKEN.c.revoked_at.is_(None))
                     .values(revoked_at=real_now()))  # fmt: skip


def _row(store: Store, token_id: str) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(select(T_TOKEN).where(T_TOKEN.c.id == token_id)).first()


def _insert(
    conn: Any,
    person_id: str,
    kind: str,
    *,
    label: str | None = None,
    expires: date | None = None,
    expires_at: datetime | None = None,
    parent_id: str | None = None,
) -> tuple[Token, str]:
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    now = real_now()
    conn.execute(insert(T_TOKEN).values(
        id=token_id, person_id=person_id, label=label, secret_sha256=_digest(secret),
        created_at=now, expires=expires, last_used_at=None, revoked_at=None, kind=kind,
        expires_at=expires_at, parent_id=parent_id,
    ))  # fmt: skip
    token = Token(token_id, person_id, label, now, expires, None, None, kind, expires_at)
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


def authenticate(store: Store, text: str | None, kind: str = "api") -> Person:
    """The person a token of `kind` belongs to; `Unauthenticated` for anything else."""
    match = TOKEN_FORM.fullmatch(text or "")
    if match is None:
        raise Unauthenticated("no valid token (Authorization: Bearer kf_…)")
    token_id, secret = match.groups()
    parent = T_TOKEN.alias("parent")
    query = (
        select(T_TOKEN, T_PERSON.c.name, T_PERSON.c.email, T_PERSON.c.role,
               T_PERSON.c.municipality, parent.c.revoked_at.label("parent_revoked_at"),
               parent.c.expires.label("parent_expires"))
        .join(T_PERSON, T_PERSON.c.id == T_TOKEN.c.person_id)
        .outerjoin(parent, parent.c.id == T_TOKEN.c.parent_id)
        .where(T_TOKEN.c.id == token_id)
    )  # fmt: skip
    with store.engine.connect() as conn:
        row = conn.execute(query).first()  # the token and its person in one read
    stored = row.secret_sha256 if row is not None else _digest("x" * 43)
    if not hmac.compare_digest(_digest(secret), stored) or row is None or row.kind != kind:
        raise Unauthenticated(_UNKNOWN[kind])
    now = real_now()
    if row.revoked_at is not None or row.parent_revoked_at is not None:
        raise Unauthenticated(_REVOKED[kind].format(token_id))
    if row.expires is not None and now >= end_of_day(row.expires):
        raise Unauthenticated(f"token {token_id} expired on {row.expires}")
    if row.expires_at is not None and now >= row.expires_at:
        raise Unauthenticated(_EXPIRED[kind])
    if row.parent_expires is not None and now >= end_of_day(row.parent_expires):
        raise Unauthenticated(_EXPIRED[kind])
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        with store.engine.begin() as conn:
            conn.execute(update(T_TOKEN).where(T_TOKEN.c.id == token_id)
                         .values(last_used_at=now))  # fmt: skip
    person = Person(row.person_id, row.name, row.email, row.role, row.municipality)
    require_person(person)
    return person


_UNKNOWN = {
    "api": "no valid token (Authorization: Bearer kf_…)",
    "link": "no valid sign-in link or token",
    "session": "not signed in",
    "calendar": "no such calendar",
}
_REVOKED = {
    "api": "token {} is revoked",
    "link": "this sign-in link has been used; ask for a new one",
    "session": "the session has ended; sign in again",
    "calendar": "no such calendar",
}
_EXPIRED = {
    "api": "the token has expired",
    "link": "this sign-in link has expired; ask for a new one",
    "session": "the session has ended; sign in again",
    "calendar": "no such calendar",
}


def _token(row: Any) -> Token:
    return Token(row.id, row.person_id, row.label, row.created_at, row.expires,
                 row.last_used_at, row.revoked_at, row.kind, row.expires_at)  # fmt: skip
