"""The command line: exit codes, JSON on stdout only, one clear sentence on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support import DEFINITIONS

from cli import main


class Kflow:
    """Runs kflow in-process against one store, as a user, at a time."""

    def __init__(self, db: Path) -> None:
        self.env = {
            "KFLOW_DB": f"sqlite:///{db}",
            "KFLOW_USER": "kl-sek",
            "KFLOW_NOW": "2007-07-01",
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, user: str | None = None, now: str | None = None) -> Result:
        env = dict(self.env)
        if user:
            env["KFLOW_USER"] = user
        if now:
            env["KFLOW_NOW"] = now
        return self.runner.invoke(main, list(args), env=env)

    def ok(self, *args: str, **kw: str) -> str:
        result = self(*args, **kw)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result.stdout


@pytest.fixture
def kflow(tmp_path: Path) -> Kflow:
    """A store with the shipped definitions, the secretariat, Anna (Aarhus) and one tender."""
    k = Kflow(tmp_path / "kflow.db")
    assert "registered kl-sek as secretariat" in k.ok("init")
    k.ok("person", "add", "anna", "--name", "Anna Jensen", "--email", "anna@aarhus.example.dk",
         "--role", "project_leader", "--municipality", "Aarhus")  # fmt: skip
    k.ok("definitions", "load", str(DEFINITIONS))
    k.ok("tender", "create", "--definition", "individual-tender", "--title", "Genoptræning",
         "--municipality", "751", "--id", "AAR-01", "--regime", "eu-2004-18",
         "--procedure", "open", user="anna")  # fmt: skip
    return k


def test_a_tender_walks_through_its_phases(kflow: Kflow) -> None:
    """advance moves the tender; show --json reflects state, facts and allowed triggers."""
    assert "scoping -> materials" in kflow.ok("advance", "AAR-01", "approve_scope", user="anna",
                                              now="2007-09-01")  # fmt: skip
    kflow.ok("advance", "AAR-01", "publish", user="anna", now="2008-01-10")
    kflow.ok("advance", "AAR-01", "decide_award", "--set", "winner=Falck A/S",
             "--set", "contract_value=1_200_000", user="anna", now="2008-03-20")  # fmt: skip
    shown = json.loads(kflow.ok("tender", "show", "AAR-01", "--json", now="2008-03-21"))
    assert shown["state"] == "standstill"
    assert shown["facts"] == {"notice_sent_on": "2008-01-10", "winner": "Falck A/S",
                              "contract_value": 1200000}  # fmt: skip
    assert shown["triggers"] == ["end_standstill", "cancel"]
    assert shown["timer_at"] == "2008-04-01T00:00:00+02:00"  # 10 days from 2008-03-20, rolled
    assert set(shown) >= {
        "id", "title", "definition", "definition_version", "programme", "state", "state_label",
        "entered_at", "due", "overdue", "days_overdue", "municipalities", "leader", "area",
        "procedure", "regime", "facts", "triggers", "signoffs", "version",
    }  # fmt: skip


def test_history_json_has_the_documented_keys(kflow: Kflow) -> None:
    """history --json lists events with seq, kind, times and data."""
    kflow.ok("advance", "AAR-01", "approve_scope", "--at", "2007-08-01", user="anna",
             now="2007-08-15")  # fmt: skip
    events = json.loads(kflow.ok("tender", "history", "AAR-01", "--json", now="2007-08-15"))
    assert [e["seq"] for e in events] == [1, 2]
    assert events[1]["occurred_at"] == "2007-08-01T00:00:00+02:00"
    assert events[1]["recorded_at"] == "2007-08-15T00:00:00+02:00"
    assert set(events[0]) == {"seq", "kind", "trigger", "source", "dest", "actor", "occurred_at",
                              "recorded_at", "note", "data", "hash"}  # fmt: skip


def test_json_stdout_stays_clean_when_verbose(kflow: Kflow) -> None:
    """With -v the act's log line goes to stderr; stdout holds only the JSON document."""
    result = kflow("-v", "advance", "AAR-01", "approve_scope", user="anna", now="2007-09-01")
    assert result.exit_code == 0
    assert "trigger='approve_scope'" in result.stderr and "tender='AAR-01'" in result.stderr
    listed = kflow("-v", "tender", "list", "--json", now="2007-09-01")
    assert json.loads(listed.stdout)[0]["state"] == "materials"


@pytest.mark.parametrize(
    ("args", "user", "message"),
    [
        (("tender", "show", "AAR-1"), None, "unknown tender 'AAR-1'; did you mean AAR-01?"),
        (("advance", "AAR-01", "publish"), "anna",
         "tender AAR-01 is in 'scoping'; 'publish' is not allowed there (allowed: approve_scope, cancel)"),
        (("advance", "AAR-01", "launch"), "anna", "'launch' is not a trigger of definition"),
        (("advance", "AAR-01", "cancel"), "anna", "needs a note saying why (give --note)"),
        (("advance", "AAR-01", "approve_scope"), "bob", "unknown person 'bob'"),
        (("advance", "AAR-01", "approve_scope", "--at", "2099-01-01"), "anna", "is in the future"),
        (("tender", "create", "--definition", "individual-tender", "--title", "x", "--id", "X 1"),
         None, "tender id 'X 1' may hold 1-64 letters, digits"),
        (("tender", "create", "--definition", "individual-tender", "--title", "x", "--leader",
          "ghost"), None, "unknown person 'ghost'"),
        (("tender", "create", "--definition", "individual-tender", "--title", "x", "--programme",
          "nosuch"), None, "unknown programme 'nosuch' (programmes: none is loaded)"),
        (("definitions", "show", "individual-tender", "--version", "9"), None,
         "definition 'individual-tender' has no version 9 (versions: 1)"),
        (("tender", "list", "--municipality", "Arhus"), None, "did you mean 751 (Aarhus)?"),
        (("tender", "create", "--definition", "nope", "--title", "x"), None,
         "unknown definition 'nope'; loaded: individual-tender, joint-tender"),
    ],
)  # fmt: skip
def test_refusals_exit_1_with_one_sentence(
    kflow: Kflow, args: tuple[str, ...], user: str | None, message: str
) -> None:
    """Each refusal: exit 1, the reason on stderr, nothing on stdout, no traceback."""
    result = kflow(*args, user=user)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("db", "code", "message"),
    [
        ("nope", 2, "--db / KFLOW_DB 'nope' is not a store URL this kflow can open"),
        ("foo://bar", 2, "'foo://bar' is not a store URL this kflow can open"),
        ("mysql://x/y", 2, "'mysql://x/y' needs a database driver kflow does not ship"),
        ("sqlite:////nonexistent/dir/x.db", 1, "could not be used: unable to open database file"),
        ("{text}", 1, "could not be used: file is not a database"),
        ("postgresql+psycopg://u:hemmelig@127.0.0.1:1/x", 1,
         "the store at 'postgresql+psycopg://u:***@127.0.0.1:1/x' could not be used: "),
    ],
)  # fmt: skip
def test_a_store_that_cannot_be_opened_is_one_sentence(
    tmp_path: Path, db: str, code: int, message: str
) -> None:
    """A malformed, missing, unreachable or foreign store: a sentence naming the URL (its
    password hidden), exit 2 for a URL that is none, 1 for a store that cannot be used."""
    text = tmp_path / "krav.txt"
    text.write_text("ikke en database\n" * 100, encoding="utf-8")
    url = db.replace("{text}", f"sqlite:///{text}")
    missing = "nonexistent" in db  # a read finds no store there; only init tries to make it
    for args in (("init",),) if missing else (("tender", "list"), ("init",)):
        result = CliRunner().invoke(main, ["--db", url, *args], env={"KFLOW_USER": "kl-sek"})
        assert isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code == code
        assert message in result.stderr and "hemmelig" not in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_bug_in_the_store_keeps_its_traceback() -> None:
    """A constraint or data error is no store that cannot be opened: no sentence hides it."""
    import sqlite3

    import click
    from sqlalchemy.exc import DataError, IntegrityError

    from cli import _store_trouble

    ctx = click.Context(main)
    unique = sqlite3.IntegrityError("UNIQUE constraint failed: event.tender_id, event.seq")
    assert _store_trouble(IntegrityError("INSERT …", {}, unique), ctx) is None
    assert _store_trouble(DataError("UPDATE …", {}, ValueError("value too long")), ctx) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("advance",), "Missing argument"),
        (("definitions", "graph", "individual-tender", "--format", "png"), "'png' is not one of"),
        (("advance", "AAR-01", "approve_scope", "--at", "yesterday"),
         "time 'yesterday' is not understood"),
        (("--now", "0001-01-01", "tender", "list"), "time '0001-01-01' lies outside 1900-2200"),
        (("tender", "set", "AAR-01", "Bad Key=1"), "is not KEY=VALUE"),
        (("advance", "AAR-01", "approve_scope", "--set", "x"), "is not KEY=VALUE"),
        (("scheduler", "run", "--speed", "0"), "must be a number greater than 0"),
        (("scheduler", "run", "--interval", "-1"), "must be a number greater than 0"),
        (("scheduler", "run", "--speed", "nan"), "must be a number greater than 0"),
        (("forecast", "--until", "soon"), "is neither a day"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(kflow: Kflow, args: tuple[str, ...], message: str) -> None:
    """Malformed options and arguments are usage errors: exit 2, the reason, no traceback."""
    result = kflow(*args, user="anna")
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_validate_reports_problems_with_positions(tmp_path: Path, kflow: Kflow) -> None:
    """definitions validate: exit 1 and file:line:col for a broken file, exit 0 for good ones."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ninitial: a\nstates:\n  a: {lable: A}\ntransitions: []\n")
    result = kflow("definitions", "validate", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:4:7: unknown key 'lable'" in result.stderr
    assert kflow("definitions", "validate", str(DEFINITIONS)).exit_code == 0


def test_yaml_syntax_errors_give_a_position_and_a_hint(tmp_path: Path, kflow: Kflow) -> None:
    """Malformed YAML is reported at its line and column with a hint."""
    broken = tmp_path / "syntax.yaml"
    broken.write_text("name: x\nstates:\n  a: [\n")
    result = kflow("definitions", "load", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:" in result.stderr and "hint" in result.stderr


def test_graph_prints_mermaid_and_dot(kflow: Kflow) -> None:
    """The state graph as mermaid text and as DOT."""
    mermaid = kflow.ok("definitions", "graph", "individual-tender")
    assert "stateDiagram-v2" in mermaid and "scoping --> materials: approve_scope" in mermaid
    assert "digraph" in kflow.ok("definitions", "graph", "individual-tender", "--format", "dot")


def test_definitions_list_and_show(kflow: Kflow) -> None:
    """list and show describe what is loaded."""
    listed = json.loads(kflow.ok("definitions", "list", "--json"))
    assert [(d["name"], d["version"]) for d in listed] == [
        ("individual-tender", 1), ("joint-tender", 1), ("municipal-strategy", 1),
        ("secretariat-programme", 1),
    ]  # fmt: skip
    shown = json.loads(kflow.ok("definitions", "show", "individual-tender", "--json"))
    assert shown["initial"] == "scoping"
    assert "Individuelt udbud" in kflow.ok("definitions", "show", "individual-tender")


def test_person_list(kflow: Kflow) -> None:
    """person list shows roles and municipalities."""
    people = json.loads(kflow.ok("person", "list", "--json"))
    assert {p["id"]: p["municipality"] for p in people}["anna"] == "751"


def test_an_unknown_state_to_list_by_is_named_and_an_empty_user_refused(kflow: Kflow) -> None:
    """`tender list --state scopin` lists nothing because of a typo: it says so, with the states
    of the loaded definitions; an empty --user / KFLOW_USER is no login name."""
    result = kflow("tender", "list", "--state", "scopin")
    assert result.exit_code == 1 and result.stdout == ""
    assert "unknown state 'scopin'; did you mean 'scoping'? (states: " in result.stderr
    assert json.loads(kflow.ok("tender", "list", "--state", "scoping", "--json"))
    blank = CliRunner().invoke(main, ["tender", "list"], env={**kflow.env, "KFLOW_USER": ""})
    given = CliRunner().invoke(main, ["--user", "", "tender", "list"], env=kflow.env)
    for refused in (blank, given):
        assert refused.exit_code == 2 and refused.stdout == ""
        assert "--user / KFLOW_USER is set but empty" in refused.stderr


def test_commands_before_init_say_run_init(tmp_path: Path) -> None:
    """A store that does not exist yet: exit 1 and the command to run; no empty file is left
    where it would be (SQLite makes one as soon as it connects)."""
    for args in (("tender", "list"), ("overdue",), ("person", "list")):
        result = Kflow(tmp_path / "none.db")(*args)
        assert result.exit_code == 1 and "run `kflow init` first" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_a_bad_kflow_now_is_named_and_spares_commands_without_a_clock(kflow: Kflow) -> None:
    """KFLOW_NOW=garbage: validate still works; a command needing the clock names KFLOW_NOW."""
    bad = dict(kflow.env, KFLOW_NOW="garbage")
    ok = kflow.runner.invoke(main, ["definitions", "validate", str(DEFINITIONS)], env=bad)
    assert ok.exit_code == 0
    refused = kflow.runner.invoke(main, ["tender", "show", "AAR-01"], env=bad)
    assert (
        refused.exit_code == 2 and "KFLOW_NOW: time 'garbage' is not understood" in refused.stderr
    )


def test_a_refused_act_after_an_expired_bid_period_names_the_state_the_store_shows(
    kflow: Kflow,
) -> None:
    """The bid period expired with no tick: the catch-up stands even though the act is refused."""
    kflow.ok("advance", "AAR-01", "approve_scope", user="anna", now="2007-09-01")
    kflow.ok("advance", "AAR-01", "publish", user="anna", now="2008-01-10")
    refused = kflow("advance", "AAR-01", "publish", user="anna", now="2008-03-05")
    assert refused.exit_code == 1 and "tender AAR-01 is in 'award'" in refused.stderr
    shown = json.loads(kflow.ok("tender", "show", "AAR-01", "--json", now="2008-03-05"))
    assert shown["state"] == "award"


def test_a_long_table_is_aligned_to_its_first_rows_and_streams_the_rest(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Columns fit the header and the first rows; a later, wider cell pushes only its own line."""
    import cli

    monkeypatch.setattr(cli, "TABLE_WIDTHS_FROM", 2)
    rows = iter([("a", "x"), ("bb", "y"), ("a-much-wider-id", "z"), ("c", None)])
    cli._table(rows, ("ID", "V"))
    assert capsys.readouterr().out.splitlines() == [
        "ID  V", "a   x", "bb  y", "a-much-wider-id  z", "c",
    ]  # fmt: skip
