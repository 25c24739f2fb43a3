"""Random definitions, programme files, facts, times and ids thrown at the command line.

Whatever comes in: exit code 0, 1 or 2, never a traceback, and a refusal leaves the store exactly
as it was. Before each command a `tick` at the same clock records what time owes the store (a
person's act first lets time catch its tender up, and that stands whatever the act's fate), so
every change left after a refusal would be the refused command's own.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import DEFINITIONS, ROOT

from cli import main

FORUM = (ROOT / "workflows" / "forum-2007-2008.yaml").read_text("utf-8")
DEFINITION = (DEFINITIONS / "individual-tender.yaml").read_text("utf-8")
TENDERS = ["AAR-SUND-01", "FAE-BESK-01", "ODE-BESK-01", "KL-FORUM", "NOPE-1"]
TRIGGERS = ["approve_scope", "publish", "close_bidding", "decide_award", "cancel",
            "approve_materials", "complete", "sign_contract", "close_requests", "invite",
            "send_award_notice", "nope"]  # fmt: skip
KEYS = ["contract_value", "baseline_cost", "bidders", "winner", "in_house_bid", "pin_published",
        "regime", "procedure", "cvr", "x", "tender_deadline", "pin_sent_on", "notice_sent_on",
        "agreed_tender_deadline", "standstill", "notice_by_fax"]  # fmt: skip

weird = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
"""Any text a command line or an environment variable can carry (no NUL: C strings end there)."""
values = st.one_of(
    weird,
    st.sampled_from(
        [
            "nan",
            "inf",
            "-1",
            "1e400",
            "01234567",
            "+4512345678",
            "4.100.000,50",
            "ja",
            "Nej",
            "",
            "annex-iib",
            "open",
            "2008-02-30",
            "9" * 30,
            "0x1F",
        ]
    ),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
times = st.one_of(
    st.sampled_from(
        [
            "2007-07-01",
            "2007-09-20",
            "2008-01-10",
            "2008-03-05",
            "2008-10-01",
            "2008-03-30T02:30",
            "2007-10-28T02:30",
            "",
            "9999-12-31",
            "2007-13-01",
            "0001-01-01",
            "2008-01-10T25:00",
            "2008-01-10Z",
        ]
    ),
    weird,
)
users = st.sampled_from(["kl-sek", "anna", "ole", "soeren", "system", "nobody"])


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """A YAML file a careless hand has been at: lines lost, doubled, characters changed."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "double", "char", "insert"]))
        if action == "drop" and len(lines) > 1:
            del lines[i]
        elif action == "double":
            lines.insert(i, lines[i])
        elif action == "char" and lines[i]:
            j = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:j] + draw(st.sampled_from([":", "-", " ", "&a", "*a", "{", "'",
                                                              "\t", "æ", "9999"])) + lines[i][j + 1 :]  # fmt: skip
        else:
            lines.insert(i, draw(weird))
    return "\n".join(lines) + "\n"


def file_command(kind: str, text: str) -> st.SearchStrategy[tuple[str, ...]]:
    path = Path(tempfile.mkdtemp(prefix="kflow-fuzz-")) / "f.yaml"
    return mutated(text).map(lambda body: (*kind.split(), _written(path, body)))


def _written(path: Path, body: str) -> str:
    path.write_text(body, "utf-8")
    return str(path)


commands = st.one_of(
    st.tuples(
        st.just("tender"),
        st.just("set"),
        st.sampled_from(TENDERS) | weird,
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS) | weird, values),
    ),
    st.builds(
        lambda t, trig, at, note: ("advance", t, trig, *at, *note),
        st.sampled_from(TENDERS) | weird,
        st.sampled_from(TRIGGERS) | weird,
        st.just(()) | times.map(lambda x: ("--at", x)),
        st.just(()) | weird.map(lambda x: ("--note", x)),
    ),
    st.builds(
        lambda d, title, m, i: (
            "tender",
            "create",
            "--definition",
            d,
            "--title",
            title,
            "--municipality",
            m,
            *i,
        ),
        st.sampled_from(["individual-tender", "joint-tender", "nope"]),
        weird,
        st.sampled_from(["751", "København", "Aarhus", "999"]) | weird,
        st.just(()) | weird.map(lambda x: ("--id", x)),
    ),
    st.builds(
        lambda i, e, r: ("person", "add", i, "--name", "N", "--email", e, "--role", r),
        weird,
        weird,
        st.sampled_from(["secretariat", "project_leader"]),
    ),
    file_command("definitions load", DEFINITION),
    file_command("definitions validate", DEFINITION),
    file_command("programme load", FORUM),
    st.tuples(st.just("forecast"), st.just("--until"), times),
    st.builds(
        lambda r, p, stage, day, fact: (
            "legal",
            "deadline",
            "--regime",
            r,
            "--procedure",
            p,
            "--stage",
            stage,
            "--from",
            day,
            "--set",
            fact,
        ),
        st.sampled_from(["eu-2004-18", "eu-2014-24", "annex-iib", "tilbudsloven"]) | weird,
        st.sampled_from(["open", "restricted", "negotiated", "accelerated-open"]) | weird,
        st.sampled_from(["requests", "tenders", "standstill", "award_notice"]) | weird,
        times,
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS) | weird, values),
    ),
    st.tuples(
        st.just("plan"),
        st.sampled_from(["--tender", "--municipality", "--programme"]),
        st.sampled_from(TENDERS) | weird,
    ),
    st.sampled_from(
        [
            ("tender", "show", "AAR-SUND-01"),
            ("tender", "list", "--overdue"),
            ("overdue",),
            ("effects", "--json"),
            ("audit", "verify"),
        ]
    ),
)


def dump(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return "\n".join(conn.iterdump())


def run(env: dict[str, str], args: tuple[str, ...]) -> Result:
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.stderr)
    unexpected = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not unexpected, (args, repr(result.exception))
    assert "Traceback" not in result.stdout + result.stderr, args
    return result


def test_the_command_line_holds_against_random_input(tmp_path: Path) -> None:
    db = tmp_path / "fuzz.db"
    env = {"KFLOW_DB": f"sqlite:///{db}", "KFLOW_USER": "kl-sek", "KFLOW_NOW": "2007-06-01"}
    for args in (("init",), ("definitions", "load", str(DEFINITIONS)),
                 ("programme", "load", str(ROOT / "workflows" / "forum-2007-2008.yaml"))):  # fmt: skip
        assert run(env, args).exit_code == 0

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(args=commands, user=users, now=times)
    def one_command(args: tuple[str, ...], user: str, now: str) -> None:
        here = {**env, "KFLOW_USER": user, "KFLOW_NOW": now}
        run({**here, "KFLOW_USER": "kl-sek"}, ("tick",))
        before = dump(db)
        if run(here, args).exit_code != 0:
            assert dump(db) == before, f"refused {args} as {user} at {now!r} left a trace"

    one_command()
