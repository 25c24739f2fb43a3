"""`kflow audit` and `kflow db status` on the command line: exit codes, sentences, JSON."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from support import DEFINITIONS
from test_cli import Kflow


@pytest.fixture
def kflow(tmp_path: Path) -> Kflow:
    """A store with the shipped definitions, the secretariat, Anna (Aarhus) and one acted tender."""
    k = Kflow(tmp_path / "kflow.db")
    k.ok("init")
    k.ok("person", "add", "anna", "--name", "Anna Jensen", "--email", "anna@aarhus.example.dk",
         "--role", "project_leader", "--municipality", "Aarhus")  # fmt: skip
    k.ok("definitions", "load", str(DEFINITIONS))
    k.ok("tender", "create", "--definition", "individual-tender", "--title", "Genoptræning",
         "--municipality", "751", "--id", "AAR-01", "--regime", "eu-2004-18",
         "--procedure", "open", user="anna")  # fmt: skip
    k.ok("advance", "AAR-01", "approve_scope", "--note", "Besluttet", user="anna", now="2007-09-01")
    return k


def db(kflow: Kflow) -> sqlite3.Connection:
    return sqlite3.connect(kflow.env["KFLOW_DB"].removeprefix("sqlite:///"))


def checkpoint_count(kflow: Kflow) -> int:
    with db(kflow) as conn:
        return int(conn.execute("SELECT count(*) FROM audit_checkpoint").fetchone()[0])


def test_verify_says_every_chain_holds(kflow: Kflow) -> None:
    assert "verified 1 tenders, 2 events: every chain holds" in kflow.ok("audit", "verify")
    found = json.loads(kflow.ok("audit", "verify", "AAR-01", "--json"))
    assert found == {"ok": True, "tenders": 1, "events": 2, "documents": 0, "breaks": [],
                     "index": [], "head": None}  # fmt: skip


def test_verify_names_the_tender_and_event_where_the_chain_breaks(kflow: Kflow) -> None:
    with db(kflow) as conn:
        conn.execute("UPDATE event SET note = 'Ikke besluttet' WHERE seq = 2")
    result = kflow("audit", "verify")
    assert result.exit_code == 1
    assert result.stdout.strip() == (
        "tender AAR-01: the history breaks at event 2 (changed): "
        "its content no longer matches its hash"
    )
    assert result.stderr == (
        "kflow: the history of 1 of 1 tenders was changed behind the store's back (see above)\n"
    )
    found = json.loads(kflow("audit", "verify", "--json").stdout)
    assert found["ok"] is False
    assert found["breaks"] == [{"tender": "AAR-01", "seq": 2, "what": "changed",
                                "detail": "its content no longer matches its hash"}]  # fmt: skip


def test_the_secretariat_takes_a_digest_that_verify_accepts_later(kflow: Kflow) -> None:
    out = kflow.ok("audit", "head", now="2007-09-02")
    digest = out.splitlines()[0]
    assert len(digest) == 64 and "covers 2 events in 1 tenders" in out
    kflow.ok("advance", "AAR-01", "publish", user="anna", now="2008-01-10")
    checked = kflow.ok("audit", "verify", "--head", digest.upper(), now="2008-01-11")
    assert f"digest {digest} holds: nothing it covers has changed" in checked
    head = json.loads(kflow.ok("audit", "verify", "--head", digest, "--json"))["head"]
    assert head["ok"] and head["found"] and head["events"] == 2
    assert head["covers_until"] == "2007-09-01T00:00:00+02:00"


def test_a_digest_that_no_longer_holds_names_the_tender(kflow: Kflow) -> None:
    digest = kflow.ok("audit", "head").splitlines()[0]
    with db(kflow) as conn:
        conn.execute("DELETE FROM event WHERE seq = 2")
        conn.execute("UPDATE tender SET seq = 1, state = 'scoping', chain_head = "
                     "(SELECT hash FROM event WHERE seq = 1)")  # fmt: skip
    assert "every chain holds" in kflow.ok("audit", "verify")  # a careful forger fools the chains
    result = kflow("audit", "verify", "--head", digest)
    assert result.exit_code == 1
    assert result.stdout == "tender AAR-01: event 2 is gone\n"
    assert result.stderr == f"kflow: digest {digest} does not prove this history (see above)\n"


def test_an_unknown_digest_fails_and_a_malformed_one_is_a_usage_error(kflow: Kflow) -> None:
    unknown = kflow("audit", "verify", "--head", "ab" * 32)
    assert unknown.exit_code == 1
    assert "the store holds no checkpoint with digest abab" in unknown.stdout
    assert "does not prove this history" in unknown.stderr
    malformed = kflow("audit", "verify", "--head", "not-a-digest")
    assert malformed.exit_code == 2 and "64 hex digits" in malformed.stderr


def test_a_project_leader_may_not_take_the_digest_and_nothing_is_written(kflow: Kflow) -> None:
    result = kflow("audit", "head", user="anna")
    assert result.exit_code == 1
    assert (
        result.stderr
        == "kflow: anna is project leader; only the secretariat may take the audit digest\n"
    )
    assert checkpoint_count(kflow) == 0


def test_verify_refuses_an_unknown_tender(kflow: Kflow) -> None:
    result = kflow("audit", "verify", "AAR-1")
    assert result.exit_code == 1 and "unknown tender 'AAR-1'; did you mean AAR-01?" in result.stderr


def test_db_status_says_where_the_schema_stands(kflow: Kflow, tmp_path: Path) -> None:
    assert "up to date" in kflow.ok("db", "status")
    found = json.loads(kflow.ok("db", "status", "--json"))
    assert found["revision"] == found["head"] and found["state"] == "current"
    assert found["pending"] == [] and found["url"].endswith("kflow.db")
    empty = Kflow(tmp_path / "new.db")
    assert json.loads(empty.ok("db", "status", "--json"))["state"] == "empty"
    assert "no store yet: `kflow init` creates one" in empty.ok("db", "status")


def test_db_status_never_prints_the_password() -> None:
    from click.testing import CliRunner

    from cli import main

    url = "postgresql+psycopg://kflow:s3cret-pw@127.0.0.1:1/x"
    result = CliRunner().invoke(main, ["--db", url, "db", "status"])
    assert "s3cret-pw" not in result.output + result.stderr
