"""The store: the only code that talks SQL. One act = one transaction.

Acts go through a `Unit` (a unit of work): it reads the tenders it touches, lets the engine decide,
keeps the resulting rows in memory and writes them in one transaction at the end, with an
optimistic version check on every tender it changed. `Store.act()` is a unit for one act;
`Store.batch()` lets many acts share one transaction (imports, the scheduler's sweep, benchmarks).
"""

from __future__ import annotations

import difflib
import getpass
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    Engine,
    and_,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from . import claims, legal, migrate, rows
from . import engine as core
from ._yaml import close_match
from .calendar import Period, parse_period, start_of_day, wall_time
from .definitions import Definition, PeriodRef, parse_definition
from .errors import (
    ConcurrentChange,
    DefinitionError,
    InvalidInput,
    NotAllowed,
    NotFound,
    Problem,
    StoreVersionError,
)
from .identifiers import email_problem, person_id_problem, title_problem
from .model import CLAIM, SYSTEM, Event, NewTender, Notification, Person, Step, Tender
from .municipalities import municipality
from .programme import Iku, Member, Programme, parse_programme
from .rows import T_EVENT, T_NOTE, T_PERSON, T_STEP, T_TENDER, T_TM
from .tables import (
    DefinitionRow,
    MemberRow,
    MilestoneRow,
    ProgrammeRow,
    table,
)
from .unit import Unit

DEFAULT_URL = "sqlite:///kflow.db"
_SECRET_PARAMS = {"password", "passwd", "pwd", "sslpassword", "secret", "token", "passfile"}
PERSON_ROLES = ("project_leader", "secretariat")

T_DEF = table(DefinitionRow)
T_PROG = table(ProgrammeRow)
T_MILE = table(MilestoneRow)
T_MEMBER = table(MemberRow)


@dataclass(frozen=True)
class StoredDefinition:
    """A stored version of a definition."""

    name: str
    version: int
    sha256: str
    path: str
    loaded_at: datetime
    title: str


class Store:
    """A konkurrence-flow store at a SQLAlchemy URL (SQLite by default, PostgreSQL to grow)."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self.resolve: core.PeriodResolver = self._resolve  # replaceable, e.g. in tests
        self._definitions: dict[tuple[str, int], Definition] = {}
        self._milestones: dict[str, Mapping[str, date]] = {}
        self._settings: dict[str, Mapping[str, Any]] = {}
        self._people: list[Person] | None = None
        self._schema_checked = False

    def refresh(self) -> None:
        """Forget what may have changed in the store since it was read (milestones, settings,
        people, the schema's revision): a long-running scheduler calls this before each tick. Definitions are kept:
        a stored version never changes."""
        self._milestones.clear()
        self._settings.clear()
        self._people = None
        self._schema_checked = False

    # -- set-up -------------------------------------------------------------------------------

    def init(self, os_user: str | None = None) -> Person | None:
        """Create the store at the newest schema or upgrade an older one (`upgrade`); register
        the OS user as secretariat if nobody exists yet, and return that person."""
        self.upgrade()
        return self.register_first(os_user)

    def register_first(self, os_user: str | None = None) -> Person | None:
        """Register the OS user (or `os_user`) as secretariat if nobody is registered yet (under
        the store's write lock: two `kflow init` at once register one person)."""
        with migrate.exclusive(self.engine) as conn:
            if conn.execute(select(func.count()).select_from(T_PERSON)).scalar_one():
                return None
            user = os_user or getpass.getuser()
            person = _checked_person(Person(user, user, "", "secretariat"))
            conn.execute(insert(T_PERSON).values(**rows.person_values(person)))
            return person

    def upgrade(self) -> tuple[migrate.Status, migrate.Status]:
        """Bring the schema to the newest revision in one transaction: (before, after). A store
        newer than this code, or a database that is not a store, is refused and never written."""
        before, after = migrate.upgrade(self.engine)
        _refuse_unusable(self.safe_url, after)
        self._schema_checked = True
        return before, after

    @property
    def safe_url(self) -> str:
        """The store's URL without its password (also one given as a query parameter)."""
        url = self.engine.url
        hidden = {k: "***" for k in url.query if k.lower() in _SECRET_PARAMS}
        return url.update_query_dict(hidden).render_as_string(hide_password=True)

    def schema(self) -> migrate.Status:
        """Where the store's schema stands against this code (`kflow db status`)."""
        return migrate.status(self.engine)

    def require_initialised(self) -> None:
        """Refuse to work on a store that `kflow init` has not created, or not upgraded to the
        schema this code writes; never touch a store newer than this code."""
        if self._schema_checked:
            return
        file = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        missing = file and file != ":memory:" and not os.path.exists(file)
        found = None if missing else self.schema()  # not connecting: SQLite would make the file
        if found is None or found.state == "empty":
            raise NotFound(f"no konkurrence-flow store at {self.safe_url}; run `kflow init` first")
        if found.state == "behind":
            made = " (made by v0.1.0)" if found.legacy else ""
            raise StoreVersionError(
                f"the store at {self.safe_url} is at schema {found.revision}{made} and this kflow "
                f"needs {found.head}; run `kflow init` to upgrade it"
            )
        _refuse_unusable(self.safe_url, found)
        self._schema_checked = True

    # -- definitions ----------------------------------------------------------------------------

    def load_definition(self, definition: Definition, now: datetime) -> tuple[int, str]:
        """Store a definition; a changed text becomes a new version. Returns (version, what)."""
        with self.engine.begin() as conn:
            latest = conn.execute(
                select(T_DEF.c.version, T_DEF.c.sha256)
                .where(T_DEF.c.name == definition.name)
                .order_by(T_DEF.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.sha256 == definition.sha256:
                return latest.version, "unchanged"
            version = 1 if latest is None else latest.version + 1
            conn.execute(
                insert(T_DEF).values(
                    name=definition.name,
                    version=version,
                    sha256=definition.sha256,
                    path=definition.path,
                    source=definition.source,
                    loaded_at=now,
                )
            )
        self._definitions[(definition.name, version)] = definition
        return version, "new" if version == 1 else "new version"

    def definition(self, name: str, version: int | None = None) -> Definition:
        """A stored definition (the latest version unless one is named)."""
        return self.versioned_definition(name, version)[1]

    def versioned_definition(self, name: str, version: int | None = None) -> tuple[int, Definition]:
        """(version, definition) of a stored definition, the latest unless a version is named."""
        if version is not None and (name, version) in self._definitions:
            return version, self._definitions[(name, version)]
        query = select(T_DEF).where(T_DEF.c.name == name)
        if version is not None:
            query = query.where(T_DEF.c.version == version)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(T_DEF.c.version.desc()).limit(1)).first()
        if row is None and version is not None and self._has_definition(name):
            versions = ", ".join(str(d.version) for d in self.definitions() if d.name == name)
            raise NotFound(f"definition '{name}' has no version {version} (versions: {versions})")
        if row is None:
            raise NotFound(f"unknown definition '{name}'{self._known_definitions()}")
        key = (row.name, row.version)
        if key not in self._definitions:
            self._definitions[key] = parse_definition(row.source, row.path)
        return row.version, self._definitions[key]

    def _has_definition(self, name: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(select(T_DEF.c.name).where(T_DEF.c.name == name).limit(1))
            return found.first() is not None

    def _known_definitions(self) -> str:
        names = sorted({d.name for d in self.definitions()})
        if not names:
            return "; none is loaded yet (use `kflow definitions load definitions/`)"
        return f"; loaded: {', '.join(names)}"

    def definitions(self) -> list[StoredDefinition]:
        """Every stored version of every definition, by name then version."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(T_DEF).order_by(T_DEF.c.name, T_DEF.c.version)).all()
        return [
            StoredDefinition(
                r.name,
                r.version,
                r.sha256,
                r.path,
                r.loaded_at,
                self.definition(r.name, r.version).title,
            )
            for r in rows
        ]

    # -- people ---------------------------------------------------------------------------------

    def add_person(self, person: Person) -> Person:
        """Register a person; a project leader needs a (known) municipality."""
        person = _checked_person(person)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(T_PERSON).values(**rows.person_values(person)))
            self._people = None
        except IntegrityError as exc:
            raise InvalidInput(f"person '{person.id}' exists already") from exc
        return person

    def person(self, person_id: str) -> Person:
        """The person with this id; the scheduler is the built-in person 'system'."""
        if person_id == SYSTEM.id:
            return SYSTEM
        with self.engine.connect() as conn:
            row = conn.execute(select(T_PERSON).where(T_PERSON.c.id == person_id)).first()
        if row is None:
            known = ", ".join(p.id for p in self.people()) or "nobody yet"
            raise NotFound(
                f"unknown person '{person_id}' (known: {known}); "
                "add one with `kflow person add` or set KFLOW_USER / --user"
            )
        return rows.person(row)

    def people(self) -> list[Person]:
        """Everyone registered, by id."""
        if self._people is None:
            with self.engine.connect() as conn:
                found = conn.execute(select(T_PERSON).order_by(T_PERSON.c.id)).all()
            self._people = [rows.person(r) for r in found]
        return list(self._people)

    def leaders_of(self, tender: Tender) -> list[Person]:
        """Who hears about a tender: its leader and each participating municipality's leader(s);
        the secretariat when there is nobody else."""
        people = self.people()
        leaders = [
            p for p in people
            if p.id == tender.leader
            or (p.role == "project_leader" and p.municipality in tender.municipalities)
        ]  # fmt: skip
        return leaders or [p for p in people if p.role == "secretariat"]

    # -- reading tenders ------------------------------------------------------------------------

    def tender(self, tender_id: str) -> Tender:
        """One tender, or a refusal that names it."""
        with self.engine.connect() as conn:
            found = rows.read_tenders(conn, select(T_TENDER).where(T_TENDER.c.id == tender_id))
        if not found:
            raise NotFound(f"unknown tender '{tender_id}'{self._tender_hint(tender_id)}")
        return found[0]

    def tenders_by_id(self, ids: list[str]) -> dict[str, Tender]:
        """Many tenders in few queries (chunks of 500 ids)."""
        with self.engine.connect() as conn:
            return {t.id: t for t in self.read_tenders(conn, ids)}

    def read_tenders(self, conn: Any, ids: list[str]) -> list[Tender]:
        """The tenders of `ids` that exist, in that order, on the caller's connection."""
        found: dict[str, Tender] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            query = select(T_TENDER).where(T_TENDER.c.id.in_(chunk))
            found.update((t.id, t) for t in rows.read_tenders(conn, query))
        return [found[i] for i in ids if i in found]

    def _tender_hint(self, tender_id: str) -> str:
        with self.engine.connect() as conn:
            ids = list(conn.execute(select(T_TENDER.c.id)).scalars())
        close = difflib.get_close_matches(tender_id, ids, n=1)
        if close:
            return f"; did you mean {close[0]}?"
        return "; see `kflow tender list`" if ids else "; there are no tenders yet"

    def tenders(
        self,
        municipality_code: str | None = None,
        state: str | None = None,
        *,
        overdue_on: date | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Tender]:
        """Tenders by id, optionally of one municipality, in one state, overdue on a day (due
        before it, in a state that is not final), a page of them: all filtered in SQL."""
        query = self._tenders_query(municipality_code, state, overdue_on)
        if offset:
            query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return rows.read_tenders(conn, query)

    def each_tender(
        self,
        municipality_code: str | None = None,
        state: str | None = None,
        *,
        overdue_on: date | None = None,
        chunk: int = 1_000,
    ) -> Iterator[Tender]:
        """The tenders `tenders` selects, read `chunk` at a time after the last id seen, so that
        memory stays flat however many there are."""
        query = self._tenders_query(municipality_code, state, overdue_on)
        return self._each(query, ("id",), chunk, rows.read_tenders)

    def each_line(
        self,
        municipality_code: str | None = None,
        state: str | None = None,
        *,
        overdue_on: date | None = None,
        chunk: int = 1_000,
    ) -> Iterator[rows.TenderLine]:
        """`each_tender`, reading only what a list shows of each (id, title, state, due date,
        municipalities)."""
        query = self._tenders_query(municipality_code, state, overdue_on, rows.LINE_COLUMNS)
        return self._each(query, ("id",), chunk, rows.read_lines)

    def _each(
        self, query: Any, keys: tuple[str, ...], chunk: int, read: Callable[[Any, Any], list[Any]]
    ) -> Iterator[Any]:
        """What `read` makes of `query`'s rows (ordered by `keys`, unique together), read `chunk`
        at a time, each chunk from where the last one ended (keyset paging: nothing skipped
        over)."""
        columns = [T_TENDER.c[key] for key in keys]
        after: tuple[Any, ...] | None = None
        while True:
            page = query.limit(chunk)
            if after is not None:
                page = page.where(tuple_(*columns) > tuple_(*after))
            with self.engine.connect() as conn:
                found = read(conn, page)
            yield from found
            if len(found) < chunk:
                return
            after = tuple(getattr(found[-1], key) for key in keys)

    def _tenders_query(
        self,
        municipality_code: str | None,
        state: str | None,
        overdue_on: date | None,
        columns: tuple[Any, ...] = (T_TENDER,),
    ) -> Any:
        query = _of_municipality(select(*columns).order_by(T_TENDER.c.id), municipality_code)
        if state is not None:
            query = query.where(T_TENDER.c.state == state)
        if overdue_on is not None:
            query = query.where(T_TENDER.c.due < overdue_on).where(self._not_final())
        return query

    def _not_final(self) -> Any:
        """SQL: the tender's state is not a final one of its definition's version."""
        finals = [
            and_(T_TENDER.c.definition == d.name, T_TENDER.c.definition_version == d.version,
                 T_TENDER.c.state.in_([s.name for s in self.definition(d.name, d.version)
                                       .states.values() if s.final]))
            for d in self.definitions()
        ]  # fmt: skip
        return not_(or_(*finals)) if finals else true()

    def tenders_with_fact(self, name: str) -> list[Tender]:
        """Tenders that have recorded the fact `name` (not null), by id: filtered in SQL."""
        query = (select(T_TENDER).where(T_TENDER.c.facts[name].as_string().is_not(None))
                 .order_by(T_TENDER.c.id))  # fmt: skip
        with self.engine.connect() as conn:
            return rows.read_tenders(conn, query)

    def history(self, tender_id: str) -> list[Event]:
        """A tender's events, in order."""
        self.tender(tender_id)
        with self.engine.connect() as conn:
            found = conn.execute(
                select(T_EVENT).where(T_EVENT.c.tender_id == tender_id).order_by(T_EVENT.c.seq)
            ).all()
        return [rows.event(r) for r in found]

    def steps(self, tender_id: str) -> list[Step]:
        """A tender's state visits, in order."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(T_STEP).where(T_STEP.c.tender_id == tender_id).order_by(T_STEP.c.visit)
            ).all()
        return [rows.step(r) for r in found]

    def has_tender(self, tender_id: str) -> bool:
        """True if a tender with this id is stored."""
        with self.engine.connect() as conn:
            found = conn.execute(select(T_TENDER.c.id).where(T_TENDER.c.id == tender_id)).first()
        return found is not None

    def count_tenders(self) -> int:
        """How many tenders are stored."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(T_TENDER)).scalar_one())

    def due_for_check(self, now: datetime, limit: int | None = None) -> list[str]:
        """Ids of the tenders the scheduler owes something by `now` (an indexed query)."""
        query = (
            select(T_TENDER.c.id)
            .where(T_TENDER.c.next_check_at <= now)
            .order_by(T_TENDER.c.next_check_at, T_TENDER.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def count_due(self, now: datetime) -> int:
        """How many tenders the scheduler owes something by `now`."""
        query = select(func.count()).select_from(T_TENDER).where(T_TENDER.c.next_check_at <= now)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def with_due_before(
        self,
        day: date,
        municipality_code: str | None = None,
        programme: str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        chunk: int = 1_000,
    ) -> Iterator[rows.TenderLine]:
        """The lines of the tenders whose current step, in a state that is not final, was due
        before `day` (overdue on `day`), earliest due first: filtered and ordered in SQL; a page
        of `limit` from `offset`, or all of them, read `chunk` at a time."""
        query = self._due_before(select(*rows.LINE_COLUMNS), day, municipality_code, programme)
        query = query.order_by(T_TENDER.c.due, T_TENDER.c.id)
        if limit is None and not offset:
            return self._each(query, ("due", "id"), chunk, rows.read_lines)
        with self.engine.connect() as conn:
            return iter(rows.read_lines(conn, query.offset(offset or None).limit(limit)))

    def count_due_before(
        self, day: date, municipality_code: str | None = None, programme: str | None = None
    ) -> int:
        """How many tenders `with_due_before` gives (all its pages)."""
        query = self._due_before(select(func.count()), day, municipality_code, programme)
        with self.engine.connect() as conn:
            return int(conn.execute(query.select_from(T_TENDER)).scalar_one())

    def _due_before(
        self, query: Any, day: date, municipality_code: str | None, programme: str | None
    ) -> Any:
        """`query` narrowed to the tenders overdue on `day` (a step in a state that is not final,
        due before it), of one municipality and one programme if named."""
        query = _of_municipality(query.where(T_TENDER.c.due < day, self._not_final()),
                                 municipality_code)  # fmt: skip
        return query if programme is None else query.where(T_TENDER.c.programme == programme)

    def notifications(
        self, status: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[Notification]:
        """The outbox, oldest first, optionally only one status (`NOTICE_STATUSES`); a page."""
        query = select(T_NOTE).order_by(T_NOTE.c.id).offset(offset or None).limit(limit)
        if status is not None:
            query = query.where(T_NOTE.c.status == status)
        with self.engine.connect() as conn:
            return [rows.notification(r) for r in conn.execute(query)]

    def last_digest(self, programme: str, before: date | None = None) -> Mapping[str, Any]:
        """The data of the programme's latest digest (before `before`), or {} if none was queued."""
        query = select(T_NOTE.c.data).where(
            T_NOTE.c.kind == "digest",
            T_NOTE.c.dedupe_key.startswith(f"digest:{programme}:", autoescape=True),
        )
        if before is not None:
            query = query.where(T_NOTE.c.created_at < start_of_day(before))
        query = query.order_by(T_NOTE.c.created_at.desc(), T_NOTE.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return MappingProxyType(dict(found or {}))

    def notification(self, note_id: int) -> Notification:
        """One message of the outbox."""
        with self.engine.connect() as conn:
            row = conn.execute(select(T_NOTE).where(T_NOTE.c.id == note_id)).first()
        if row is None:
            raise NotFound(f"unknown notification {note_id} (see `kflow notify list`)")
        return rows.notification(row)

    def claim_notifications(
        self, now: datetime, real_now: datetime, owner: str, lease: timedelta, *, limit: int
    ) -> list[Notification]:
        """Claim the oldest queued messages due by `now` that no other dispatch holds, each for
        one attempt, until `real_now + lease` (see `claims`)."""
        with self.engine.connect() as conn:
            return claims.claim_notifications(conn, now, real_now, owner, lease, limit=limit)

    def renew_notifications(self, ids: Collection[int], owner: str, until: datetime) -> set[int]:
        """Hold `owner`'s claims on `ids` until `until`; the ids it still holds."""
        with self.engine.connect() as conn:
            return claims.renew_notifications(conn, ids, owner, until)

    def release_notifications(self, ids: Collection[int], owner: str) -> None:
        """Let go of `owner`'s claims on `ids`."""
        with self.engine.begin() as conn:
            claims.release_notifications(conn, ids, owner)

    def settle_notification(
        self,
        note_id: int,
        delivered: list[str],
        *,
        status: str,
        error: str | None = None,
        retry_at: datetime | None = None,
        sent_at: datetime | None = None,
        attempts: int | None = None,
        owner: str | None = None,
        hold: bool = False,
    ) -> None:
        """Record an attempt's result and let go of the claim (unless `hold`: the dispatch keeps
        it to its end): sent, queued for a retry at `retry_at`, or failed; `attempts` puts the
        count back when the attempt does not count. With `owner`, only while it holds the claim."""
        row = T_NOTE.c
        mine = (row.id == note_id) if owner is None else and_(row.id == note_id,
                                                              row.claimed_by == owner)  # fmt: skip
        with self.engine.begin() as conn:
            data = conn.execute(select(row.data).where(mine)).scalar()
            kept = {k: v for k, v in (data or {}).items() if k != CLAIM}
            values: dict[str, Any] = {
                "status": status, "data": {**kept, "delivered": delivered},
                "last_error": error, "sent_at": sent_at,
            }  # fmt: skip
            if not hold:
                values.update(claimed_by=None, claimed_until=None)
            if retry_at is not None:
                values["next_attempt_at"] = retry_at
            if attempts is not None:
                values["attempts"] = attempts
            if status != "sent":  # withdrawn while it was being sent: it stays withdrawn
                kept_as_is = row.status == "withdrawn"
                for name in ("status", "last_error", "next_attempt_at"):
                    if name in values:
                        given = literal(values[name], row[name].type)
                        values[name] = case((kept_as_is, row[name]), else_=given)
            conn.execute(update(T_NOTE).where(mine).values(**values))

    def retry_notification(self, note_id: int, now: datetime) -> Notification:
        """Queue a failed message again, with a fresh set of attempts."""
        note = self.notification(note_id)
        if note.status == "sent":
            sent = wall_time(note.sent_at) if note.sent_at else "?"
            raise InvalidInput(f"notification {note_id} was sent at {sent}; nothing to retry")
        with self.engine.begin() as conn:
            conn.execute(
                update(T_NOTE).where(T_NOTE.c.id == note_id)
                .values(status="queued", attempts=0, next_attempt_at=now)
            )  # fmt: skip
        return self.notification(note_id)

    # -- programmes -------------------------------------------------------------------------

    def milestones(self, programme: str | None) -> Mapping[str, date]:
        """A programme's milestones by name (none for a tender outside any programme)."""
        if programme is None:
            return MappingProxyType({})
        if programme not in self._milestones:
            with self.engine.connect() as conn:
                found = conn.execute(select(T_MILE).where(T_MILE.c.programme == programme))
                self._milestones[programme] = MappingProxyType({r.name: r.date for r in found})
        return self._milestones[programme]

    def language(self, programme: str | None) -> str:
        """The language of notifications: the programme's `language`, else KFLOW_LANGUAGE, else da."""
        default = os.environ.get("KFLOW_LANGUAGE", "da")
        return str(self.programme_settings(programme).get("language", default))

    def escalate_after(self, programme: str | None) -> Period | None:
        """How long a step may stay overdue before the secretariat hears (the programme's setting)."""
        text = self.programme_settings(programme).get("escalate_after")
        return parse_period(str(text)) if text else None

    def closed_days(self, programme: str | None) -> frozenset[str]:
        """The days the programme's periods roll past besides holidays (`calendar: {closed:}`)."""
        return frozenset(self.programme_settings(programme).get("closed", ()))

    def _resolve(self, ref: PeriodRef, tender: Tender, start: date) -> Period:
        """A definition's period for the tender: its regime's, rolling past the closed days."""
        return legal.with_closed(
            ref, legal.resolve(ref, tender, start), self.closed_days(tender.programme)
        )

    def secretariat(self) -> list[Person]:
        """Everyone with the secretariat role."""
        return [p for p in self.people() if p.role == "secretariat"]

    def programme_settings(self, programme: str | None) -> Mapping[str, Any]:
        """A programme's `notifications:` settings."""
        if programme is None:
            return MappingProxyType({})
        if programme not in self._settings:
            with self.engine.connect() as conn:
                found = conn.execute(select(T_PROG.c.settings).where(T_PROG.c.name == programme))
                self._settings[programme] = MappingProxyType(dict(found.scalar() or {}))
        return self._settings[programme]

    def programme_names(self) -> list[str]:
        """The names of the loaded programmes."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(T_PROG.c.name).order_by(T_PROG.c.name)).scalars())

    def programme_schedules(self) -> list[tuple[str, date, Mapping[str, Any]]]:
        """Each loaded programme's name, start and notification settings."""
        with self.engine.connect() as conn:
            found = conn.execute(select(T_PROG.c.name, T_PROG.c.start, T_PROG.c.settings)).all()
        return [(r.name, r.start, MappingProxyType(dict(r.settings or {}))) for r in found]

    def members(self, programme: str | None = None) -> list[Member]:
        """The participating municipalities (of one programme, or of all), with IKU figures."""
        query = select(T_MEMBER).order_by(T_MEMBER.c.programme, T_MEMBER.c.code)
        if programme is not None:
            query = query.where(T_MEMBER.c.programme == programme)
        with self.engine.connect() as conn:
            found = conn.execute(query).all()
        members: dict[str, Member] = {}
        for r in found:
            iku = Iku(r.iku_year, r.iku_exposable, r.iku_exposed) if r.iku_year else None
            members.setdefault(r.code, Member(r.code, r.name, iku))
        return list(members.values())

    def programme(self, name: str | None = None) -> Programme:
        """A stored programme (the only one, or the one named)."""
        query = select(T_PROG).order_by(T_PROG.c.name)
        if name is not None:
            query = query.where(T_PROG.c.name == name)
        with self.engine.connect() as conn:
            found = conn.execute(query).all()
        if not found:
            loaded = self.programme_names()
            if not loaded:
                raise NotFound("no programme is loaded yet (use `kflow programme load FILE`)")
            close = close_match(name or "", loaded)
            hint = f"; did you mean {close!r}?" if close else ""
            raise NotFound(f"unknown programme {(name or '')[:64]!r}{hint} (programmes: "
                           f"{', '.join(loaded)})")  # fmt: skip
        if len(found) > 1:
            names = ", ".join(r.name for r in found)
            raise InvalidInput(f"several programmes are loaded ({names}); name one")
        return parse_programme(found[0].source, found[0].path)

    def load_programme(self, programme: Programme, now: datetime) -> ProgrammeReport:
        """Load a programme idempotently; moved milestones move the due dates that use them."""
        self._check_programme(programme)
        with self.engine.connect() as conn:
            known = conn.execute(select(T_PROG.c.sha256).where(T_PROG.c.name == programme.name))
            sha = known.scalar()
        report = ProgrammeReport(programme.name, "new" if sha is None else "changed")
        if sha == programme.sha256:
            return replace(report, status="unchanged")
        old = dict(self.milestones(programme.name))
        escalation = self.escalate_after(programme.name)
        self._milestones[programme.name] = programme.milestone_dates()
        self._settings[programme.name] = programme.settings
        try:
            recheck = self.escalate_after(programme.name) != escalation
            return self._load_programme(programme, now, old, report, recheck=recheck)
        except BaseException:
            self._milestones.pop(programme.name, None)
            self._settings.pop(programme.name, None)
            raise
        finally:
            self._people = None

    def _load_programme(
        self,
        programme: Programme,
        now: datetime,
        old: dict[str, date],
        report: ProgrammeReport,
        *,
        recheck: bool,
    ) -> ProgrammeReport:
        unit = Unit(self, now)
        people = {p.id: p for p in self.people()}
        _keep_a_secretariat(people, programme)
        for person in programme.people:
            if person.id not in people:
                report.people_added.append(person.id)
            elif people[person.id] != person:
                report.people_updated.append(person.id)
        for planned in programme.tenders:
            if not self.has_tender(planned.id):
                unit.create(_new_tender(programme, planned), SYSTEM, at=start_of_day(planned.start))
                report.tenders_created.append(planned.id)
        moved = {n: d for n, d in programme.milestone_dates().items() if n in old and old[n] != d}
        report.milestones_moved.update({n: (old[n], d) for n, d in moved.items()})
        for tender in self.tenders():
            if tender.programme == programme.name and not self._is_final(tender):
                self._follow_milestone(unit, tender, moved, report)
                if recheck:  # an escalation set or changed reaches steps late already
                    unit.recheck(tender.id)
        changed = {
            p.id: p for p in programme.people if p.id in report.people_added + report.people_updated
        }
        unit.also(lambda conn: _write_programme(conn, programme, changed, now))
        unit.commit()
        return report

    def _is_final(self, tender: Tender) -> bool:
        return (
            self.definition(tender.definition, tender.definition_version).state(tender.state).final
        )

    def _follow_milestone(
        self, unit: Unit, tender: Tender, moved: Mapping[str, date], report: ProgrammeReport
    ) -> None:
        due = self.definition(tender.definition, tender.definition_version).state(tender.state).due
        milestone = due.milestone if due else None
        if milestone is None or milestone not in moved:
            return
        unit.move_due(tender.id, moved[milestone], milestone)
        report.dues_moved.append((tender.id, tender.state, tender.due, moved[milestone], milestone))

    def _check_programme(self, programme: Programme) -> None:
        """Each tender's definition must be loaded, and every milestone it uses defined."""
        problems = []
        loaded = sorted({d.name for d in self.definitions()})
        for planned in programme.tenders:
            where = (programme.path, *planned.pos)
            if planned.definition not in loaded:
                problems.append(Problem(*where, f"tender {planned.id} uses definition "
                                        f"'{planned.definition}', which is not loaded "
                                        f"(loaded: {', '.join(loaded) or 'none'})"))  # fmt: skip
                continue
            for state in self.definition(planned.definition).states.values():
                name = state.due.milestone if state.due else None
                if name is not None and name not in programme.milestones:
                    problems.append(Problem(*where, f"tender {planned.id}: its definition "
                                            f"'{planned.definition}' needs the milestone '{name}' "
                                            f"(state '{state.name}'), which the programme does "
                                            "not define"))  # fmt: skip
        if problems:
            raise DefinitionError(problems)

    # -- acting ---------------------------------------------------------------------------------

    @contextmanager
    def batch(self, now: datetime) -> Iterator[Unit]:
        """Many acts, one transaction: all of them commit together, or none does."""
        unit = Unit(self, now)
        yield unit
        unit.commit()

    def act(self, now: datetime) -> Unit:
        """A unit for a single act; call one method on it, then `commit()`."""
        return Unit(self, now)

    def create_tender(self, spec: NewTender, actor: Person, now: datetime) -> Tender:
        """Start a tender in its definition's initial state."""
        with self.batch(now) as unit:
            return unit.create(spec, actor)

    def advance(
        self,
        tender_id: str,
        trigger: str,
        actor: Person,
        now: datetime,
        *,
        at: datetime | None = None,
        note: str | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> core.Outcome:
        """Fire a trigger on a tender as one transaction.

        What time owes the tender up to the act is committed first, on its own, as a tick would:
        it stands even if the act is refused, so a refusal names the state the store shows.
        """
        if at is not None:
            core.check_not_future(at, now)  # before the catch-up: nothing is ever dated after now
        unchanged = self.catch_up(tender_id, now, at or now)
        with self.batch(now) as unit:
            unit.preload([unchanged] if unchanged else [])
            return unit.advance(tender_id, trigger, actor, at=at, note=note, facts=facts)

    def catch_up(self, tender_id: str, now: datetime, until: datetime) -> Tender | None:
        """Commit what time owes one tender up to `until` (a one-tender tick).

        Returns the tender as read when time owed it nothing (the caller may reuse it), else None.
        """
        unit = Unit(self, now)
        unit.catch_up(tender_id, until)
        if not unit.dirty:
            return unit.tender(tender_id)
        with suppress(ConcurrentChange):  # caught up by someone else meanwhile: the act's own
            unit.commit()  # unit catches up again
        return None

    def set_facts(
        self, tender_id: str, facts: Mapping[str, Any], actor: Person, now: datetime
    ) -> Tender:
        """Record facts on a tender as one transaction (after committing what time owes it)."""
        unchanged = self.catch_up(tender_id, now, now)
        with self.batch(now) as unit:
            unit.preload([unchanged] if unchanged else [])
            return unit.set_facts(tender_id, facts, actor)


@dataclass
class ProgrammeReport:
    """What loading a programme did."""

    name: str
    status: str  # new | changed | unchanged
    tenders_created: list[str] = field(default_factory=list)
    people_added: list[str] = field(default_factory=list)
    people_updated: list[str] = field(default_factory=list)
    milestones_moved: dict[str, tuple[date, date]] = field(default_factory=dict)
    dues_moved: list[tuple[str, str, date | None, date, str]] = field(default_factory=list)


def _new_tender(programme: Programme, planned: Any) -> NewTender:
    return NewTender(
        definition=planned.definition, title=planned.title, municipalities=planned.municipalities,
        id=planned.id, programme=programme.name, leader=planned.leader, area=planned.area,
        procedure=planned.procedure, regime=planned.regime or programme.regime,
        facts=planned.facts,
    )  # fmt: skip


def _write_programme(
    conn: Any, programme: Programme, people: Mapping[str, Person], now: datetime
) -> None:
    """The programme's own rows: itself, its milestones and members, new or changed people."""
    name = programme.name
    before = {r.name: r for r in conn.execute(select(T_MILE).where(T_MILE.c.programme == name))}
    conn.execute(delete(T_MILE).where(T_MILE.c.programme == name))
    conn.execute(delete(T_MEMBER).where(T_MEMBER.c.programme == name))
    conn.execute(delete(T_PROG).where(T_PROG.c.name == name))
    conn.execute(insert(T_PROG).values(
        name=name, title=programme.title, start=programme.start, end=programme.end,
        regime=programme.regime, sha256=programme.sha256, path=programme.path,
        source=programme.source, settings=dict(programme.settings), loaded_at=now,
    ))  # fmt: skip
    if programme.milestones:
        conn.execute(insert(T_MILE), [
            {"programme": name, "name": m.name, "date": m.date, "label": m.label,
             "planned": m.planned, "sequence": _sequence(before.get(m.name), m)}
            for m in programme.milestones.values()
        ])  # fmt: skip
    if programme.members:
        conn.execute(insert(T_MEMBER), [
            {"programme": name, "code": m.code, "name": m.name,
             "iku_year": m.iku.year if m.iku else None,
             "iku_exposable": m.iku.exposable if m.iku else None,
             "iku_exposed": m.iku.exposed if m.iku else None} for m in programme.members
        ])  # fmt: skip
    for person in people.values():  # in place: tokens refer to people
        values = rows.person_values(person)
        if (
            conn.execute(
                update(T_PERSON).where(T_PERSON.c.id == person.id).values(**values)
            ).rowcount
            == 0
        ):
            conn.execute(insert(T_PERSON).values(**values))


def _sequence(before: Any, milestone: Any) -> int:
    """A milestone's revision: one more each time its date or label changes (iCalendar SEQUENCE)."""
    if before is None:
        return 0
    moved = (before.date, before.label) != (milestone.date, milestone.label)
    return int(before.sequence) + (1 if moved else 0)


def _keep_a_secretariat(people: Mapping[str, Person], programme: Programme) -> None:
    """Refuse a programme that would leave nobody able to administer the store."""
    after = {**people, **{p.id: p for p in programme.people}}
    if not any(p.role == "secretariat" for p in after.values()):
        demoted = [
            p.id for p in programme.people if p.id in people and people[p.id].role == "secretariat"
        ]
        raise NotAllowed(
            f"programme {programme.name} would leave no secretariat (it makes "
            f"{', '.join(demoted) or 'nobody'} a project leader); keep at least one"
        )


def _checked_person(person: Person) -> Person:
    problem = (
        person_id_problem(person.id)
        or title_problem(person.name, "a person's name")
        or email_problem(person.email)
    )
    if problem:
        raise InvalidInput(problem)
    if person.role not in PERSON_ROLES:
        raise InvalidInput(
            f"unknown role '{person.role}' for person '{person.id}'; "
            f"allowed: {', '.join(PERSON_ROLES)}"
        )
    if person.role == "project_leader" and not person.municipality:
        raise InvalidInput(f"project leader '{person.id}' needs a --municipality")
    code = municipality(person.municipality).code if person.municipality else None
    return replace(person, municipality=code)


def _refuse_unusable(url: str, found: migrate.Status) -> None:
    """Refuse a store newer than this code, or a database that is not a store at all."""
    if found.state == "ahead":
        raise StoreVersionError(
            f"the store at {url} is at schema {found.revision}, newer than this kflow knows "
            f"({found.head}); upgrade konkurrence-flow to use it (nothing was written)"
        )
    if found.state == "foreign":
        raise StoreVersionError(
            f"the database at {url} holds tables that are not a konkurrence-flow store; "
            "point --db / KFLOW_DB at an empty database or a store (nothing was written)"
        )


def _of_municipality(query: Any, code: str | None) -> Any:
    """`query`'s tenders, only those `code` takes part in (all of them without a code)."""
    if code is None:
        return query
    return query.where(
        T_TENDER.c.id.in_(select(T_TM.c.tender_id).where(T_TM.c.municipality == code))
    )


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    if url in ("sqlite://", "sqlite:///:memory:"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    else:
        engine = create_engine(url, connect_args={"timeout": 15})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def default_url() -> str:
    """The store's URL: KFLOW_DB, or a SQLite file in the current directory."""
    return os.environ.get("KFLOW_DB") or DEFAULT_URL
