"""Schema revisions: create a store at the newest one, upgrade an older one, refuse a newer one.

The revisions are Alembic scripts shipped in `migrations/` (no alembic.ini: the configuration is
built here). A new store is made from the tables and stamped with the newest revision; an older
store runs every pending revision. Either happens in one transaction, DDL included (SQLite too),
so a killed upgrade leaves the store at its old revision, and the next `kflow init` starts again.

The revision is kept in the table `kflow_version` (Alembic's version table, under a name of its
own, so a PostgreSQL database shared with another Alembic-managed application is no problem). A
store made by v0.1.0 has no such table; its `meta.schema_version = 1` says it is r1. Alembic is
imported only here, and only to change a schema: reading the revision is one query.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError

from .errors import StoreVersionError

VERSION_TABLE = "kflow_version"
REVISIONS = ("r1", "r2", "r3", "r4", "r5", "r6", "r7")
"""Every revision this code knows, oldest first (a test checks them against `migrations/`)."""
HEAD = REVISIONS[-1]
MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class Status:
    """Where a store's schema stands against this code."""

    revision: str | None  # None: there is no store here yet
    legacy: bool = False  # made by v0.1.0, before Alembic

    @property
    def head(self) -> str:
        return HEAD

    @property
    def state(self) -> str:
        """empty | current | behind | ahead (a revision this code does not know) | foreign (tables
        that are not a konkurrence-flow store)."""
        if self.revision is None:
            return "empty"
        if self.revision == FOREIGN:
            return "foreign"
        if self.revision == HEAD:
            return "current"
        return "behind" if self.revision in REVISIONS else "ahead"

    @property
    def pending(self) -> tuple[str, ...]:
        """The revisions an upgrade would run, in order."""
        if self.state == "empty":
            return REVISIONS
        if self.state == "behind":
            return REVISIONS[REVISIONS.index(self.revision or "") + 1 :]
        return ()


def status(engine: Engine) -> Status:
    """The store's revision (one or two cheap queries; writes nothing)."""
    with engine.connect() as conn:
        return _status(conn)


FOREIGN = "?"


def _status(conn: Any) -> Status:
    tables = inspect(conn)
    if tables.has_table(VERSION_TABLE):
        query = text(f"SELECT version_num FROM {VERSION_TABLE}")
        found = conn.execute(query).scalars().all()
        return Status(found[0] if len(found) == 1 else ",".join(found) or FOREIGN)
    names = set(tables.get_table_names())
    if not names:
        return Status(None)
    if "meta" in names and "tender" in names:
        query = text("SELECT value FROM meta WHERE key = 'schema_version'")
        if conn.execute(query).scalar() == "1":
            return Status("r1", legacy=True)
    return Status(FOREIGN)


def upgrade(engine: Engine, to: str = HEAD) -> tuple[Status, Status]:
    """Bring the store to HEAD (or to an older revision `to`, for tests) in one transaction;
    return (before, after). Never touches a store whose revision this code does not know."""
    from alembic import command
    from sqlmodel import SQLModel

    from . import tables  # noqa: F401  (registers the tables)
    from .materials import create_search_index

    with exclusive(engine) as conn:
        before = _status(conn)
        if before.state in ("ahead", "foreign"):
            return before, before
        config = _config(conn)
        if before.state == "empty" and to == HEAD:
            SQLModel.metadata.create_all(conn)
            create_search_index(conn)
            command.stamp(config, HEAD)
        elif before.state != "current":
            if before.legacy:
                command.stamp(config, before.revision or "")
            command.upgrade(config, to)
        return before, _status(conn)


@contextmanager
def exclusive(engine: Engine) -> Iterator[Any]:
    """One transaction that holds the DDL too, and keeps a second upgrader (or a second
    `kflow init` registering the first secretariat) waiting.

    pysqlite does not open a transaction before DDL, so SQLite gets an explicit BEGIN IMMEDIATE
    (waiting up to ten minutes for another writer), with foreign keys off while Alembic's batch
    mode copies tables, and no new dangling reference allowed at the commit. PostgreSQL's DDL is
    transactional, and an advisory lock makes a second `kflow init` wait for the first.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        waits = conn.exec_driver_sql("PRAGMA busy_timeout").scalar() if sqlite else None
        try:
            dangling = _begin(conn) if sqlite else _lock(conn)
            yield conn
            if sqlite and _dangling(conn) > dangling:
                raise StoreVersionError(
                    "the upgrade would leave rows whose references point nowhere; "
                    "nothing was changed"
                )
            conn.commit()
        except OperationalError as exc:
            conn.rollback()
            if "locked" in str(exc.orig).lower():
                raise StoreVersionError(
                    "the store is busy (another kflow is upgrading or writing it); try again"
                ) from exc
            raise
        except BaseException:
            conn.rollback()
            raise
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.exec_driver_sql(f"PRAGMA busy_timeout={int(waits or 0)}")


def _begin(conn: Any) -> int:
    """Open SQLite's write transaction; return how many dangling references there already are."""
    conn.exec_driver_sql("PRAGMA busy_timeout=600000")
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    return _dangling(conn)


def _dangling(conn: Any) -> int:
    return len(conn.exec_driver_sql("PRAGMA foreign_key_check").all())


def _lock(conn: Any) -> int:
    conn.execute(text("SELECT pg_advisory_xact_lock(7146001)"))
    return 0


def _config(conn: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def script_revisions() -> tuple[str, ...]:
    """The revisions in `migrations/`, oldest first (for the test that keeps REVISIONS true)."""
    from alembic.script import ScriptDirectory

    from_head = ScriptDirectory(str(MIGRATIONS)).walk_revisions()
    return tuple(reversed([script.revision for script in from_head]))
