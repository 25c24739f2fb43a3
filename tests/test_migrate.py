"""Schema revisions: a new store at the newest, an older one upgraded whole, a newer one untouched."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import DateTime, MetaData, create_engine, text
from sqlmodel import SQLModel
from support import ROOT, empty_postgres
from test_cli import Kflow

from konkurrence_flow import migrate
from konkurrence_flow.audit import verify
from konkurrence_flow.errors import StoreVersionError
from konkurrence_flow.materials import SEARCH_INDEX
from konkurrence_flow.store import Store

KFLOW = [sys.executable, str(ROOT / "cli.py")]


def dump(path: Path) -> str:
    """Every table's schema and rows: what a write would change."""
    with sqlite3.connect(path) as conn:
        return "\n".join(conn.iterdump())


def test_the_known_revisions_are_the_shipped_scripts() -> None:
    """REVISIONS (read on every command, without Alembic) lists the scripts in migrations/."""
    assert migrate.script_revisions() == migrate.REVISIONS
    assert migrate.REVISIONS[-1] == migrate.HEAD


def schema_drift(url: str) -> list[object]:
    """What differs between a store built by running every revision and the tables in code."""
    engine = create_engine(url)
    migrate.upgrade(engine, "r1")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        opts = {"compare_type": True, "version_table": migrate.VERSION_TABLE,
                "include_name": _not_the_search_index}  # fmt: skip
        context = MigrationContext.configure(conn, opts=opts)
        drift = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    return drift


def _not_the_search_index(name: str | None, kind: str, _parents: object) -> bool:
    """The search index is the database's own (an FTS5 table, a tsvector): not in the tables."""
    return not (kind == "table" and (name or "").startswith(SEARCH_INDEX))


def test_the_search_index_is_made_the_same_way_by_both(tmp_path: Path) -> None:
    """A new store and an upgraded one both have the search index (which the drift check skips)."""
    for name, start in (("new.db", None), ("old.db", "r6")):
        engine = create_engine(f"sqlite:///{tmp_path / name}")
        if start:
            migrate.upgrade(engine, start)
        migrate.upgrade(engine)
        with engine.connect() as conn:
            found = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"),
                                 {"n": SEARCH_INDEX}).scalar()  # fmt: skip
        engine.dispose()
        assert found is not None and "fts5" in found.lower(), name


def test_running_every_revision_gives_the_schema_in_code_on_sqlite(tmp_path: Path) -> None:
    """A new store (made from the tables) and an upgraded one (made by the revisions) agree."""
    assert schema_drift(f"sqlite:///{tmp_path / 'm.db'}") == []


def test_running_every_revision_gives_the_schema_in_code_on_postgresql(postgres_url: str) -> None:
    empty_postgres(postgres_url)
    assert schema_drift(postgres_url) == []


def test_init_creates_a_new_store_at_the_newest_revision(tmp_path: Path) -> None:
    kflow = Kflow(tmp_path / "new.db")
    out = kflow.ok("init")
    assert f"store created at sqlite:///{tmp_path / 'new.db'} (schema {migrate.HEAD})" in out
    again = kflow.ok("init")
    assert "created" not in again and "upgraded" not in again and "store ready" in again
    assert Store(kflow.env["KFLOW_DB"]).schema().state == "current"


def r1_store(path: Path) -> Kflow:
    """A store at revision r1, stamped by Alembic (as an r1 store made by a later kflow is)."""
    migrate.upgrade(create_engine(f"sqlite:///{path}"), "r1")
    return Kflow(path)


def test_every_command_refuses_an_out_of_date_store_and_writes_nothing(tmp_path: Path) -> None:
    kflow = r1_store(tmp_path / "old.db")
    before = dump(tmp_path / "old.db")
    for args in (["tender", "list"], ["person", "add", "x", "--name", "X", "--email", "x@x.dk",
                                      "--role", "secretariat"], ["tick"], ["audit", "verify"]):  # fmt: skip
        result = kflow(*args)
        assert result.exit_code == 1, args
        assert result.stderr == (
            f"kflow: the store at sqlite:///{tmp_path / 'old.db'} is at schema r1 and this kflow "
            f"needs {migrate.HEAD}; run `kflow init` to upgrade it\n"
        )
    assert dump(tmp_path / "old.db") == before
    assert "out of date: `kflow init` upgrades it (r2, r3, r4, r5, r6, r7)" in kflow.ok(
        "db", "status"
    )
    assert f"store upgraded from r1 to {migrate.HEAD}" in kflow.ok("init")


def test_a_store_newer_than_the_code_is_refused_and_never_written(tmp_path: Path) -> None:
    kflow = Kflow(tmp_path / "future.db")
    kflow.ok("init")
    with create_engine(kflow.env["KFLOW_DB"]).begin() as conn:
        conn.execute(text("UPDATE kflow_version SET version_num = 'r99'"))
    before = dump(tmp_path / "future.db")
    for args in (["init"], ["tender", "list"], ["tick"], ["audit", "head"]):
        result = kflow(*args)
        assert result.exit_code == 1, args
        assert "is at schema r99, newer than this kflow knows (r7); upgrade konkurrence-flow" in (
            result.stderr
        )
    status = kflow("db", "status")
    assert status.exit_code == 1 and "newer than this kflow" in status.stdout
    assert dump(tmp_path / "future.db") == before
    with pytest.raises(StoreVersionError, match="nothing was written"):
        Store(kflow.env["KFLOW_DB"]).init("x")


# -- a v0.1.0 store, big enough to kill its upgrade halfway ---------------------------------------


def legacy_store(url: str, tenders: int, events: int) -> None:
    """A store with v0.1.0's schema and no Alembic table (as v0.1.0 left it, in WAL mode on
    SQLite), bulk-filled."""
    engine = Store(url).engine
    migrate.upgrade(engine, "r1")
    stamp: object = datetime(2008, 1, 1, tzinfo=UTC)
    if url.startswith("sqlite"):  # v0.1.0 kept instants as UTC text there
        stamp = "2008-01-01 00:00:00.000000"
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE kflow_version"))
        conn.execute(
            text("INSERT INTO tender (id, title, definition, definition_version, state, "
                 "state_entered_at, facts, signoffs, version, seq, visit, last_event_at, "
                 "created_at, reminded) VALUES (:id, 'T', 'individual-tender', 1, 'scoping', "
                 ":t, :f, '{}', 1, :n, 1, :t, :t, '[]')"),
            [{"id": f"T-{i:05d}", "t": stamp, "n": events, "f": '{"x": 1.5}'}
             for i in range(tenders)],
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO event (tender_id, seq, kind, actor, occurred_at, recorded_at, "
                 "note, data) VALUES (:id, :s, 'human', 'anna', :t, :t, 'Notat æøå', :d)"),
            [{"id": f"T-{i:05d}", "s": s, "t": stamp, "d": '{"set": {"x": 1.5}}'}
             for i in range(tenders) for s in range(1, events + 1)],
        )  # fmt: skip
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_killed_upgrade_leaves_the_old_revision_and_the_next_init_completes(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SIGKILL at moments in the backfill: each time the store is still r1 with every row (or
    already done); `kflow init` again upgrades it, and every chain verifies."""
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    if kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
        empty_postgres(url)
    legacy_store(url, tenders=4000, events=40)
    env = {**os.environ, "KFLOW_DB": url, "KFLOW_USER": "kl-sek"}
    killed_halfway = 0
    for delay in (0.5, 1.5, 2.5):
        proc = subprocess.Popen([*KFLOW, "init"], env=env, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("upgrading the store from r1 to r7")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store = Store(url)
        if store.schema().state == "current":
            break
        killed_halfway += 1
        assert store.schema() == migrate.Status("r1", legacy=True)
        with store.engine.connect() as conn:
            count = "SELECT count(*) FROM event WHERE note = 'Notat æøå' AND data IS NOT NULL"
            assert conn.execute(text(count)).scalar() == 160_000
        store.engine.dispose()
    assert killed_halfway >= 1
    done = subprocess.run([*KFLOW, "init"], env=env, capture_output=True, text=True, check=True)
    assert "store ready" in done.stdout
    report = verify(Store(url))
    assert report.ok and (report.tenders, report.events) == (4000, 160_000)


# -- the store v0.1.0 made, upgraded: every row reads back the same --------------------------------

FIXTURE = ROOT / "tests" / "fixtures" / "v010"
EXPECTED = FIXTURE / "expected"


def v010_kflow(db: str) -> Kflow:
    kflow = Kflow(Path("unused"))
    kflow.env.update(KFLOW_DB=db, KFLOW_NOW="2008-10-01", KFLOW_USER="kl-sek")
    return kflow


@pytest.fixture
def v010(tmp_path: Path) -> Kflow:
    """A copy of the store v0.1.0 wrote (the original stays as it was made)."""
    shutil.copy(FIXTURE / "store.db", tmp_path / "store.db")
    return v010_kflow(f"sqlite:///{tmp_path / 'store.db'}")


def readings() -> list[tuple[list[str], Path]]:
    """Each read command v0.1.0 ran, and the file holding what it printed."""
    found = [
        (["tender", "list", "--json"], EXPECTED / "tenders.json"),
        (["person", "list", "--json"], EXPECTED / "people.json"),
        (["notify", "list", "--json"], EXPECTED / "notifications.json"),
        (["notify", "list", "--failed", "--json"], EXPECTED / "notifications-failed.json"),
        (["overdue", "--json"], EXPECTED / "overdue.json"),
        (["effects", "--json"], EXPECTED / "effects.json"),
        (["programme", "show", "--json"], EXPECTED / "programme.json"),
        (["definitions", "list", "--json"], EXPECTED / "definitions.json"),
        (["forecast", "--until", "2008-12-31", "--json"], EXPECTED / "forecast.json"),
    ]
    for tender in json.loads((EXPECTED / "tenders.json").read_text("utf-8")):
        found.append((["tender", "history", tender["id"], "--json"],
                      EXPECTED / "history" / f"{tender['id']}.json"))  # fmt: skip
        found.append((["tender", "show", tender["id"], "--json"],
                      EXPECTED / "show" / f"{tender['id']}.json"))  # fmt: skip
    for path in sorted((EXPECTED / "definitions").glob("*.json")):
        name, version = path.stem.rsplit("-v", 1)
        found.append((["definitions", "show", name, "--version", version, "--json"], path))
    return found


def holds(expected: object, actual: object, where: str = "") -> None:
    """`actual` says everything `expected` says (JSON objects may have gained keys, never lost)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} is gone"
            holds(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            holds(e, a, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def reads_back_as_v010_did(kflow: Kflow) -> None:
    """Read as someone not registered: v0.1.0 listed every trigger; now a registered person
    sees only the triggers they may fire. The outbox is the secretariat's to read."""
    for args, path in readings():
        printed = json.loads(kflow.ok(*args, user="kl-sek" if args[0] == "notify" else "reader"))
        holds(json.loads(path.read_text("utf-8")), printed, " ".join(args))


def test_the_fixture_covers_the_whole_schema() -> None:
    """The v0.1.0 store has rows in every table, and histories, outbox states and facts to lose."""
    with sqlite3.connect(FIXTURE / "store.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert "kflow_version" not in tables and len(tables) == 11
        for table in tables:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table
        statuses = dict(conn.execute("SELECT status, count(*) FROM notification GROUP BY status"))
    assert set(statuses) == {"sent", "queued", "failed"}
    assert len(readings()) > 50


def test_a_v010_store_is_refused_until_init_upgrades_it(v010: Kflow) -> None:
    result = v010("tender", "list")
    assert result.exit_code == 1
    assert "is at schema r1 (made by v0.1.0) and this kflow needs r7; run `kflow init`" in (
        result.stderr
    )
    status = json.loads(v010.ok("db", "status", "--json"))
    assert (status["revision"], status["legacy"], status["pending"]) == (
        "r1",
        True,
        ["r2", "r3", "r4", "r5", "r6", "r7"],
    )


def test_a_v010_store_upgrades_on_sqlite_and_every_row_reads_back_the_same(v010: Kflow) -> None:
    out = v010.ok("init")
    assert "store upgraded from r1 to r7" in out and "registered" not in out
    reads_back_as_v010_did(v010)
    assert "verified 21 tenders, 124 events: every chain holds" in v010.ok("audit", "verify")
    assert "up to date" in v010.ok("db", "status")


def copy_v010_rows(url: str) -> None:
    """The fixture's rows into a PostgreSQL store at r1 without Alembic's table, as v0.1.0 left
    a PostgreSQL store. One difference: v0.1.0 could not store Aarhus's IKU amount (5.2 bn DKK)
    in its 32-bit column on PostgreSQL (r3 widens it), so the copy widens those two columns first
    (`test_iku_amounts_past_2_31_load_on_postgresql` covers r3 itself)."""
    source = create_engine(f"sqlite:///{FIXTURE / 'store.db'}")
    target = create_engine(url)
    migrate.upgrade(target, "r1")
    old, new = MetaData(), MetaData()
    old.reflect(source)
    with source.connect() as read, target.begin() as write:
        write.execute(text("DROP TABLE kflow_version"))
        for amount in ("iku_exposable", "iku_exposed"):  # see below
            write.execute(text(f"ALTER TABLE programme_municipality ALTER {amount} TYPE bigint"))
        new.reflect(write)
        write.execute(new.tables["meta"].delete())
        for table in (t for t in new.sorted_tables if t.name in old.tables):
            rows = [dict(r._mapping) for r in read.execute(old.tables[table.name].select())]
            for row in rows:
                for column in table.columns:
                    if isinstance(column.type, DateTime) and row[column.name] is not None:
                        row[column.name] = datetime.fromisoformat(row[column.name]).replace(
                            tzinfo=UTC
                        )
            write.execute(table.insert(), rows)
        write.execute(text("SELECT setval(pg_get_serial_sequence('notification', 'id'), "
                           "(SELECT max(id) FROM notification))"))  # fmt: skip
    source.dispose()
    target.dispose()


def test_a_v010_store_upgrades_on_postgresql_and_every_row_reads_back_the_same(
    postgres_url: str,
) -> None:
    empty_postgres(postgres_url)
    copy_v010_rows(postgres_url)
    kflow = v010_kflow(postgres_url)
    assert "made by v0.1.0" in kflow("tender", "list").stderr
    assert "store upgraded from r1 to r7" in kflow.ok("init")
    reads_back_as_v010_did(kflow)
    assert "verified 21 tenders, 124 events: every chain holds" in kflow.ok("audit", "verify")


def test_iku_amounts_past_2_31_load_on_postgresql(postgres_url: str) -> None:
    """r3: the forum programme (Aarhus: 5,200,000,000 DKK exposable) loads on PostgreSQL."""
    from support import DEFINITIONS, at

    from konkurrence_flow.definitions import load_definition
    from konkurrence_flow.programme import load_programme

    empty_postgres(postgres_url)
    engine = create_engine(postgres_url)
    migrate.upgrade(engine, "r2")
    migrate.upgrade(engine)
    engine.dispose()
    store = Store(postgres_url)
    store.init("kl-sek")
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        store.load_definition(load_definition(path), at("2007-04-01"))
    store.load_programme(
        load_programme(ROOT / "workflows" / "forum-2007-2008.yaml"), at("2007-05-01")
    )
    aarhus = next(m for m in store.members() if m.code == "751")
    assert aarhus.iku is not None and aarhus.iku.exposable == 5_200_000_000
    store.engine.dispose()


def test_two_inits_at_once_upgrade_once(tmp_path: Path) -> None:
    """The second `kflow init` waits for the first, then finds the store up to date."""
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    legacy_store(url, tenders=1000, events=40)
    env = {**os.environ, "KFLOW_DB": url, "KFLOW_USER": "kl-sek"}
    runs = [subprocess.Popen([*KFLOW, "init"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    outs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outs
    said = [out for out, _err in outs if "store upgraded from r1 to r7" in out]
    assert len(said) == 1
    assert verify(Store(url)).events == 40_000


def test_a_database_that_is_no_store_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount INTEGER)")
    before = dump(db)
    kflow = Kflow(db)
    for args in (["init"], ["tender", "list"]):
        result = kflow(*args)
        assert result.exit_code == 1
        assert "holds tables that are not a konkurrence-flow store" in result.stderr
    assert "not a konkurrence-flow store" in kflow("db", "status").stdout
    assert dump(db) == before


def test_a_password_in_the_url_is_never_printed() -> None:
    """Neither in the user:password part nor as a query parameter."""
    for url in ("postgresql+psycopg://kflow:s3cret-pw@127.0.0.1:1/x",
                "postgresql+psycopg://kflow@127.0.0.1:1/x?password=s3cret-pw&sslmode=disable"):  # fmt: skip
        store = Store(url)
        assert "s3cret-pw" not in store.safe_url and "127.0.0.1:1/x" in store.safe_url
