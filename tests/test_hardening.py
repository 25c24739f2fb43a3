"""Issue 9: only the secretariat administers, every bad input gets one sentence, nothing written.

Each test names the item of the issue it pins. A refusal is checked twice: its sentence, and that
the store holds exactly what it held before (people, definitions, histories).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from support import DEFINITIONS, ROOT
from test_cli import Kflow

from konkurrence_flow.municipalities import all_municipalities

FORUM = ROOT / "workflows" / "forum-2007-2008.yaml"


@pytest.fixture
def kflow(tmp_path: Path) -> Kflow:
    """The forum programme loaded by the secretariat, on 2007-06-01."""
    k = Kflow(tmp_path / "kflow.db")
    k.ok("init")
    k.ok("definitions", "load", str(DEFINITIONS))
    k.ok("programme", "load", str(FORUM), now="2007-06-01")
    return k


def dump(kflow: Kflow) -> str:
    """Every row of the store: what a refusal must leave as it was."""
    with sqlite3.connect(kflow.env["KFLOW_DB"].removeprefix("sqlite:///")) as conn:
        return "\n".join(conn.iterdump())


def refused(kflow: Kflow, *args: str, code: int = 1, **kw: str) -> str:
    """Run a command that must be refused and write nothing; return its stderr."""
    before = dump(kflow)
    result = kflow(*args, **kw)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert dump(kflow) == before, "a refusal wrote to the store"
    return result.stderr


# -- 1, 2: authority ------------------------------------------------------------------------------


def test_only_the_secretariat_adds_people(kflow: Kflow) -> None:
    """1: a project leader cannot promote herself; an unknown id cannot add anyone."""
    add = ("person", "add", "boss", "--name", "Boss", "--email", "b@x.dk", "--role", "secretariat")
    assert "anna is project leader; only the secretariat may add people" in refused(
        kflow, *add, user="anna"
    )
    assert "unknown person 'mallory'" in refused(kflow, *add, user="mallory")


def test_only_the_secretariat_loads_programmes(kflow: Kflow, tmp_path: Path) -> None:
    """1: a copy of the programme with the secretariat's email changed, loaded by a leader."""
    copy = tmp_path / "forum.yaml"
    copy.write_text(FORUM.read_text("utf-8").replace("sekretariat@", "anna-er-sekretariat@"))
    err = refused(kflow, "programme", "load", str(copy), user="anna")
    assert "only the secretariat may load programmes" in err


def test_only_the_secretariat_loads_definitions(kflow: Kflow, tmp_path: Path) -> None:
    """1: a changed definition without the legal minimum on close_bidding, loaded by a leader."""
    changed = tmp_path / "individual-tender.yaml"
    text = (DEFINITIONS / "individual-tender.yaml").read_text("utf-8")
    changed.write_text(text.replace("min_period: legal.tender_period", ""))
    err = refused(kflow, "definitions", "load", str(changed), user="anna")
    assert "only the secretariat may load definitions" in err


def test_init_on_a_store_with_people_registers_nobody(kflow: Kflow) -> None:
    """1: only init on an empty store registers the first secretariat."""
    out = kflow.ok("init", user="mallory")
    assert "registered" not in out
    assert "mallory" not in kflow.ok("person", "list")


@pytest.mark.parametrize(
    "args",
    [
        ("tender", "create", "--definition", "individual-tender", "--title", "X",
         "--id", "../../etc/passwd", "--municipality", "751"),
        ("tender", "set", "AAR-SUND-01", "contract_value=1"),
        ("advance", "AAR-SUND-01", "cancel", "--note", "x"),
        ("tender", "list"),
        ("audit", "head"),
    ],
)  # fmt: skip
def test_system_is_nobody_s_user_name(kflow: Kflow, args: tuple[str, ...]) -> None:
    """2: --user system is refused for every command, reading ones too."""
    err = refused(kflow, *args, code=2, user="system")
    assert "'system' is the scheduler's identity, not a person's" in err


# -- 3: joint tenders -----------------------------------------------------------------------------


def test_a_leader_s_joint_tender_stays_within_a_programme(kflow: Kflow) -> None:
    create = ("tender", "create", "--definition", "joint-tender", "--title", "Fælles madservice",
              "--municipality", "751", "--municipality", "461")  # fmt: skip
    assert "give --programme" in refused(kflow, *create, user="anna")
    outside = (*create, "--municipality", "101", "--programme", "forum-2007-2008")
    assert "municipalities 101 do not take part in programme forum-2007-2008" in refused(
        kflow, *outside, user="anna"
    )
    kflow.ok(*create, "--programme", "forum-2007-2008", "--id", "FAE-MAD-01", user="anna")


def test_a_tenders_leader_is_a_person_who_may_act_on_it(kflow: Kflow) -> None:
    """2: neither the scheduler nor a project leader of another municipality leads a tender: he
    could never act on it. An empty --id is refused, not replaced by a made-up one."""
    create = ("tender", "create", "--definition", "individual-tender", "--title", "Madservice",
              "--municipality", "751")  # fmt: skip
    assert "'system' is the scheduler's identity; a tender's leader is a person" in refused(
        kflow, *create, "--leader", "system"
    )
    assert ("ole is project leader for municipality 461, which is not in this tender (751)"
            in refused(kflow, *create, "--leader", "ole", user="anna"))  # fmt: skip
    assert "tender id '' may hold 1-64 letters" in refused(kflow, *create, "--id", "")
    made = json.loads(kflow.ok(*create, "--leader", "anna", "--json"))
    assert made["leader"] == "anna"
    secretariat = json.loads(kflow.ok(*create, "--leader", "lise", "--json"))
    assert secretariat["leader"] == "lise"


def test_system_has_no_calendar_and_a_bad_link_url_issues_no_token(kflow: Kflow) -> None:
    """2: `export ical --person system` is a usage error; `token create --link` with a --url
    that is no address is refused before any token is made (a live link would be left)."""
    assert "'system' is the scheduler's identity; it has no calendar" in refused(
        kflow, "export", "ical", "--person", "system", code=2
    )
    for kind in ("--link", "--calendar"):
        assert "is not the service's http(s) address" in refused(
            kflow, "token", "create", "anna", kind, "--url", "notaurl", code=2
        )


def test_a_refusal_lists_each_allowed_trigger_once_and_names_the_programmes(kflow: Kflow) -> None:
    """`publish` has two `when:` branches: the list of allowed triggers names it once. An
    unknown programme is named with the loaded ones."""
    create = ("tender", "create", "--definition", "individual-tender", "--title", "Madservice",
              "--municipality", "751", "--id", "AAR-MAD-09", "--procedure", "open")  # fmt: skip
    kflow.ok(*create, now="2007-07-01")
    kflow.ok("advance", "AAR-MAD-09", "approve_scope", now="2007-07-02")
    err = refused(kflow, "advance", "AAR-MAD-09", "approve_scope", now="2007-07-03")
    allowed = err.split("(allowed: ", 1)[1].split(")", 1)[0].split(", ")
    assert "publish" in allowed and len(allowed) == len(set(allowed)), err
    said = refused(kflow, "programme", "show", "forum-2007")
    assert "unknown programme 'forum-2007'; did you mean 'forum-2007-2008'?" in said
    assert "(programmes: forum-2007-2008)" in refused(kflow, "programme", "show", "nope")
    assert "(programmes: forum-2007-2008)" in refused(kflow, "programme", "show", "")


def test_a_leader_cannot_cancel_a_joint_tender_alone(kflow: Kflow) -> None:
    """3: each participant's leader signs the cancellation off; the secretariat may do it alone."""
    joint = "FAE-BESK-01"  # Aarhus, Odense, Esbjerg
    out = kflow.ok("advance", joint, "cancel", "--note", "Vi trækker os", user="anna")
    show = json.loads(kflow.ok("tender", "show", joint, "--json"))
    assert show["state"] != "cancelled" and show["signoffs"] == {"cancel": ["751"]}
    assert "cancel" in out
    kflow.ok("advance", joint, "cancel", "--note", "Aflyst af sekretariatet")
    assert json.loads(kflow.ok("tender", "show", joint, "--json"))["state"] == "cancelled"


# -- 4: what tender show offers ---------------------------------------------------------------------


def test_tender_show_lists_only_what_the_person_may_fire(kflow: Kflow) -> None:
    kflow.ok("advance", "AAR-SUND-01", "approve_scope", user="anna", now="2007-09-20")
    kflow.ok("tender", "set", "AAR-SUND-01", "regime=eu-2004-18", user="anna", now="2008-01-09")
    kflow.ok("advance", "AAR-SUND-01", "publish", user="anna", now="2008-01-10")
    as_anna = json.loads(kflow.ok("tender", "show", "AAR-SUND-01", "--json", user="anna",
                                  now="2008-01-11"))  # fmt: skip
    as_sek = json.loads(kflow.ok("tender", "show", "AAR-SUND-01", "--json", now="2008-01-11"))
    assert as_anna["triggers"] == ["cancel"]
    assert as_sek["triggers"] == ["close_bidding", "cancel"]
    as_ole = json.loads(kflow.ok("tender", "show", "AAR-SUND-01", "--json", user="ole",
                                 now="2008-01-11"))  # fmt: skip
    assert as_ole["triggers"] == []


def test_a_tender_without_a_leader_says_so(kflow: Kflow) -> None:
    kflow.ok("tender", "create", "--definition", "individual-tender", "--title", "Uden leder",
             "--municipality", "751", "--id", "AAR-X-01")  # fmt: skip
    out = kflow.ok("tender", "show", "AAR-X-01")
    assert "no leader" in out and "leader None" not in out


# -- 6, 7, 8: history integrity --------------------------------------------------------------------


def published(kflow: Kflow) -> None:
    kflow.ok("advance", "AAR-SUND-01", "approve_scope", user="anna", now="2007-09-20")
    kflow.ok("tender", "set", "AAR-SUND-01", "regime=eu-2004-18", user="anna", now="2008-01-09")
    kflow.ok("advance", "AAR-SUND-01", "publish", user="anna", now="2008-01-10")


def test_a_refused_act_in_the_future_writes_nothing(kflow: Kflow) -> None:
    """6: a refused --at in the future neither records a refusal nor disarms the bid timer."""
    published(kflow)
    timer = json.loads(kflow.ok("tender", "show", "AAR-SUND-01", "--json", now="2008-01-11"))
    err = refused(kflow, "advance", "AAR-SUND-01", "close_bidding", "--at", "2008-06-01",
                  now="2008-01-11")  # fmt: skip
    assert "is in the future" in err
    after = json.loads(kflow.ok("tender", "show", "AAR-SUND-01", "--json", now="2008-01-11"))
    assert after["timer_at"] == timer["timer_at"] is not None


def test_tender_set_never_goes_back_before_the_last_event(kflow: Kflow) -> None:
    """7: the same rule as advance --at."""
    published(kflow)
    err = refused(kflow, "tender", "set", "AAR-SUND-01", "bidders=3", now="2007-01-01")
    assert "is before tender AAR-SUND-01's last event" in err


def test_facts_on_a_cancelled_tender_are_refused(kflow: Kflow) -> None:
    """8: a final tender's facts no longer change."""
    kflow.ok("advance", "AAR-SUND-01", "cancel", "--note", "Opgivet", now="2007-08-01")
    err = refused(kflow, "tender", "set", "AAR-SUND-01", "contract_value=1", now="2007-08-02")
    assert "is 'cancelled', a final state: its facts can no longer change" in err


# -- 9: YAML bombs --------------------------------------------------------------------------------

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_a_billion_laughs_is_refused_in_bounded_time(kflow: Kflow, tmp_path: Path) -> None:
    """9: the aliases are refused, not expanded (9^9 strings would need gigabytes)."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(LAUGHS)
    assert len(LAUGHS) < 600
    for command in (("definitions", "validate"), ("programme", "load")):
        result = kflow(*command, str(bomb))
        assert result.exit_code == 1
        assert "bomb.yaml:2:4: this value is used again through an alias" in result.stderr


def test_aliases_of_plain_values_are_refused_and_messages_stay_short(
    kflow: Kflow, tmp_path: Path
) -> None:
    """9: a 400 KB value repeated through a thousand aliases is refused, not repeated in messages."""
    bomb = tmp_path / "scalars.yaml"
    bomb.write_text(
        "name: x\ntitle: &x P1" + "1" * 400_000 + "X\nremind: [" + ", ".join(["*x"] * 1000) + "]\n"
    )
    result = kflow("definitions", "validate", str(bomb))
    assert result.exit_code == 1 and "used again through an alias" in result.stderr
    assert len(result.stderr) < 5_000


def test_a_huge_file_is_refused_unread(kflow: Kflow, tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 2_000_000)
    err = refused(kflow, "definitions", "load", str(big))
    assert "larger than 1,000,000 bytes" in err
    for endless in ("/dev/zero",):  # a device (or a pipe) never ends: read no more than the limit
        assert "larger than 1,000,000 bytes" in refused(kflow, "definitions", "validate", endless)


# -- 10: facts --------------------------------------------------------------------------------------


def facts_after(kflow: Kflow, *assignments: str) -> dict[str, object]:
    kflow.ok("tender", "set", "AAR-SUND-01", *assignments, user="anna", now="2007-07-02")
    show = json.loads(kflow.ok("tender", "show", "AAR-SUND-01", "--json", now="2007-07-02"))
    return dict(show["facts"])


def test_text_that_a_number_would_spoil_stays_text(kflow: Kflow) -> None:
    facts = facts_after(kflow, "cvr=01234567", "phone=+4512345678", "winner=Ja", "bidders=4")
    assert facts == {"cvr": "01234567", "phone": "+4512345678", "winner": "Ja", "bidders": 4}


def test_danish_amounts_are_numbers(kflow: Kflow) -> None:
    facts = facts_after(kflow, "contract_value=4.100.000,50", "baseline_cost=4.000.000",
                        "estimated_value=4_500_000", "in_house_bid=nej")  # fmt: skip
    assert facts == {"contract_value": 4100000.5, "baseline_cost": 4000000,
                     "estimated_value": 4500000, "in_house_bid": False}  # fmt: skip


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("x=nan", "x=nan is not a number a fact can hold"),
        ("x=-inf", "x=-inf is not a number a fact can hold"),
        ("x=1e400", "x=1e400 is out of range"),
        ("x=99999999999999999999", "is out of range"),
        ("contract_value=fire millioner", "is not an amount in DKK like 4100000, 4.100.000"),
        ("contract_value=-5", "is negative"),
        ("bidders=3.5", "is a whole number"),
        ("pin_published=maybe", "is yes or no"),
    ],
)
def test_facts_that_cannot_be_what_they_say_are_refused(
    kflow: Kflow, assignment: str, message: str
) -> None:
    err = refused(kflow, "tender", "set", "AAR-SUND-01", assignment, code=2, user="anna")
    assert message in err


def test_json_never_says_nan(kflow: Kflow) -> None:
    """10: a NaN fact written by v0.1.0 is printed as null."""
    with sqlite3.connect(kflow.env["KFLOW_DB"].removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE tender SET facts = '{\"x\": NaN}' WHERE id = 'AAR-SUND-01'")
    out = kflow.ok("tender", "show", "AAR-SUND-01", "--json")
    assert "NaN" not in out and json.loads(out)["facts"] == {"x": None}
    listed = kflow.ok("tender", "list", "--json")  # streamed: the fast path must not let it by
    assert "NaN" not in listed
    assert [t["facts"] for t in json.loads(listed) if t["id"] == "AAR-SUND-01"] == [{"x": None}]


def test_an_argument_that_is_not_utf8_is_a_usage_error(kflow: Kflow) -> None:
    err = refused(kflow, "tender", "set", "AAR-SUND-01", "winner=Falck\udcff", code=2)
    assert "is not valid UTF-8 text" in err


# -- 11: names, addresses, titles --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person_id", "email", "message"),
    [
        ("eve", "eve@x.dk\nBcc: all@kl.dk", "is not one address like anna@aarhus.example.dk"),
        ("eve", "Eve <eve@x.dk>", "is not one address"),
        ("eve", "eve@x.dk, mallory@x.dk", "is not one address"),
        ("e" * 65, "eve@x.dk", "must be 1-64 letters, digits"),
        ("system", "eve@x.dk", "'system' is the scheduler's identity"),
        ("ev e", "eve@x.dk", "must be 1-64 letters"),
    ],
)
def test_people_are_checked_when_added(
    kflow: Kflow, person_id: str, email: str, message: str
) -> None:
    err = refused(kflow, "person", "add", person_id, "--name", "Eve", "--email", email,
                  "--role", "secretariat")  # fmt: skip
    assert message in err


def test_an_empty_title_is_refused(kflow: Kflow) -> None:
    err = refused(kflow, "tender", "create", "--definition", "individual-tender", "--title", "  ",
                  "--municipality", "751")  # fmt: skip
    assert "a tender's title cannot be empty" in err


def test_programme_files_follow_the_same_rules(kflow: Kflow, tmp_path: Path) -> None:
    """11: an empty person id is an error at its place, not silently dropped."""
    text = FORUM.read_text("utf-8").replace("{id: anna,", '{id: "",', 1)
    copy = tmp_path / "forum.yaml"
    copy.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '{id: "",' in row)
    err = refused(kflow, "programme", "load", str(copy))
    assert re.search(rf"forum.yaml:{line}:\d+: 'id' of a person cannot be empty", err)


# -- 12, 13: regimes, procedures, generated ids -----------------------------------------------------


def test_unknown_regimes_and_procedures_are_refused_naming_the_valid_ones(kflow: Kflow) -> None:
    create = ("tender", "create", "--definition", "individual-tender", "--title", "T",
              "--municipality", "751")  # fmt: skip
    err = refused(kflow, *create, "--regime", "eu-2004-81")
    assert "unknown legal regime 'eu-2004-81' (regimes: eu-2004-18, eu-2014-24" in err
    err = refused(kflow, *create, "--procedure", "opne")
    assert "unknown procedure 'opne' (procedures: open, restricted" in err
    err = refused(kflow, *create, "--regime", "eu-2004-18", "--procedure", "accelerated-open")
    assert "eu-2004-18 has no 'accelerated-open' procedure" in err


def test_regime_and_procedure_are_corrected_until_publication(kflow: Kflow) -> None:
    kflow.ok("tender", "set", "AAR-SUND-01", "regime=annex-iib", "procedure=restricted",
             user="anna", now="2007-07-02")  # fmt: skip
    show = json.loads(kflow.ok("tender", "show", "AAR-SUND-01", "--json", now="2007-07-02"))
    assert (show["regime"], show["procedure"]) == ("annex-iib", "restricted")
    assert "regime" not in show["facts"]
    err = refused(kflow, "tender", "set", "AAR-SUND-01", "regime=nowhere", now="2007-07-03")
    assert "unknown legal regime 'nowhere'" in err
    published(kflow)
    err = refused(kflow, "tender", "set", "AAR-SUND-01", "regime=annex-iib", now="2008-01-11")
    assert "is published ('requests'): its regime can no longer be corrected" in err


def test_generated_ids_work_for_all_98_municipalities(kflow: Kflow) -> None:
    """13: København gives KOE-…, Ærø AER-…; never a refusal."""
    ids = {}
    for m in all_municipalities().values():
        out = kflow.ok("tender", "create", "--definition", "individual-tender", "--title", "T",
                       "--municipality", m.code, "--json")  # fmt: skip
        ids[m.name] = json.loads(out)["id"]
    assert len(ids) == 98 and all(re.fullmatch(r"[A-Z0-9]{3}-\d{3}", i) for i in ids.values())
    assert ids["København"].startswith("KOE-") and ids["Ærø"].startswith("AER-")


# -- 14: dates ----------------------------------------------------------------------------------------


def test_a_due_date_far_in_the_future_is_refused_at_validation(tmp_path: Path) -> None:
    text = (DEFINITIONS / "individual-tender.yaml").read_text("utf-8")
    text = text.replace("due: {milestone: areas-decided}", "due: {date: 9999-12-31}", 1)
    bad = tmp_path / "individual-tender.yaml"
    bad.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "9999-12-31" in row)
    result = Kflow(tmp_path / "k.db")("definitions", "validate", str(bad))
    assert result.exit_code == 1
    assert re.search(rf"individual-tender.yaml:{line}:\d+: .*9999-12-31 lies outside 1900-2200",
                     result.stderr)  # fmt: skip


# -- 15: the clock ----------------------------------------------------------------------------------


def test_an_empty_now_is_a_usage_error(kflow: Kflow) -> None:
    assert "is not understood" in refused(kflow, "--now", "", "tick", code=2)
    result = kflow.runner.invoke(
        __import__("cli").main, ["tick"], env={**kflow.env, "KFLOW_NOW": ""}
    )
    assert result.exit_code == 2 and "KFLOW_NOW is set but empty" in result.stderr


def test_a_wall_time_that_never_happened_is_a_usage_error(kflow: Kflow) -> None:
    err = refused(kflow, "--now", "2008-03-30T02:30", "tick", code=2)
    assert "does not exist in Copenhagen" in err


def test_an_absurd_speed_is_refused_up_front(kflow: Kflow) -> None:
    err = refused(kflow, "scheduler", "run", "--speed", "1e15", code=2)
    assert "must be at most 1,000,000,000" in err


@pytest.mark.parametrize(
    "url", ["smtp://mail.example.dk:99999", "smtp://kflow:s3cret@mail.example.dk:0", "smtp://:25"]
)
def test_a_bad_smtp_url_is_a_usage_error_that_keeps_its_password(kflow: Kflow, url: str) -> None:
    """15: a port out of range is refused up front; the password never shows."""
    result = kflow.runner.invoke(__import__("cli").main, ["notify", "dispatch"],
                                 env={**kflow.env, "KFLOW_SMTP_URL": url})  # fmt: skip
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "SMTP URL" in result.stderr and "port from 1 to 65535" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_an_act_cannot_change_regime_or_procedure_on_the_side(kflow: Kflow) -> None:
    """A published tender's procedure set through `advance --set` would shorten its bid period."""
    published(kflow)
    err = refused(kflow, "advance", "AAR-SUND-01", "cancel", "--note", "x",
                  "--set", "procedure=accelerated-restricted", user="anna", now="2008-01-11")  # fmt: skip
    assert "are corrected with `kflow tender set` (until it is published)" in err


def test_a_joint_tender_on_an_older_definition_cannot_be_cancelled_alone_either(
    kflow: Kflow, tmp_path: Path
) -> None:
    """3: a definition without the sign-off on `cancel` (as stored before this rule) still needs
    every participant's leader to end a joint tender in 'cancelled'."""
    text = (DEFINITIONS / "joint-tender.yaml").read_text("utf-8")
    text = text.replace("name: joint-tender", "name: old-joint").replace(
        "    signoff: each-municipality-or-secretariat\n", ""
    )
    old = tmp_path / "old-joint.yaml"
    old.write_text(text)
    kflow.ok("definitions", "load", str(old))
    kflow.ok("tender", "create", "--definition", "old-joint", "--title", "Gammel", "--id", "OLD-1",
             "--municipality", "751", "--municipality", "461", "--programme", "forum-2007-2008",
             user="anna")  # fmt: skip
    kflow.ok("advance", "OLD-1", "cancel", "--note", "Vi trækker os", user="anna")
    assert json.loads(kflow.ok("tender", "show", "OLD-1", "--json"))["state"] == "scoping"
    kflow.ok("advance", "OLD-1", "cancel", "--note", "Også Odense", user="ole")
    assert json.loads(kflow.ok("tender", "show", "OLD-1", "--json"))["state"] == "cancelled"


# -- what the review of this issue found -------------------------------------------------------------


def test_a_programme_that_would_leave_no_secretariat_is_refused(
    kflow: Kflow, tmp_path: Path
) -> None:
    text = FORUM.read_text("utf-8")
    text = text.replace("role: secretariat}", 'role: project_leader, municipality: "751"}')
    text = text.replace("municipalities: [], leader: kl-sek,", "municipalities: [],")  # else:
    copy = tmp_path / "forum.yaml"  # a project leader could not lead the secretariat's track
    copy.write_text(text)
    err = refused(kflow, "programme", "load", str(copy))
    assert "would leave no secretariat (it makes kl-sek, lise a project leader)" in err


def test_a_person_listed_twice_in_a_programme_is_an_error(kflow: Kflow, tmp_path: Path) -> None:
    text = FORUM.read_text("utf-8").replace(
        "  - {id: ole,", "  - {id: mette, name: M, role: secretariat}\n  - {id: ole,", 1
    )
    copy = tmp_path / "forum.yaml"
    copy.write_text(text)
    assert "person id 'mette' is used twice" in refused(kflow, "programme", "load", str(copy))


def test_init_checks_the_first_secretariat_s_id(tmp_path: Path) -> None:
    fresh = Kflow(tmp_path / "new.db")
    result = fresh("init", user="bad id!")
    assert result.exit_code == 1 and "person id 'bad id!' must be" in result.stderr
    assert not (tmp_path / "new.db").exists() or "no store yet" in fresh.ok("db", "status")


def test_no_person_is_called_system_in_any_case(kflow: Kflow) -> None:
    err = refused(kflow, "person", "add", "SYSTEM", "--name", "S", "--email", "s@x.dk",
                  "--role", "secretariat")  # fmt: skip
    assert "'system' is the scheduler's identity" in err


def test_only_the_secretariat_re_sends_a_notification(kflow: Kflow) -> None:
    err = refused(kflow, "notify", "retry", "1", user="anna")
    assert "only the secretariat may re-send notifications" in err
    assert "Usage" in refused(kflow, "notify", "retry", "9" * 30, code=2)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("x=" + "9" * 5000, None),  # a long run of digits is a reference: kept as text
        ("contract_value=" + "9" * 5000, "is out of range"),
        ("bidders=" + "9" * 5000, "is a whole number"),
    ],
)
def test_five_thousand_digits_are_no_traceback(
    kflow: Kflow, assignment: str, message: str | None
) -> None:
    if message is None:
        kflow.ok("tender", "set", "AAR-SUND-01", assignment, user="anna", now="2007-07-02")
        return
    assert message in refused(kflow, "tender", "set", "AAR-SUND-01", assignment, code=2)


def test_a_period_longer_than_a_century_is_refused_at_validation(tmp_path: Path) -> None:
    text = (DEFINITIONS / "individual-tender.yaml").read_text("utf-8")
    bad = tmp_path / "individual-tender.yaml"
    bad.write_text(text.replace("remind: [P14D, P3D]", "remind: [P999999D, P3D]", 1))
    result = Kflow(tmp_path / "k.db")("definitions", "validate", str(bad))
    assert result.exit_code == 1 and "is longer than a hundred years" in result.stderr


def test_a_final_tender_shows_it_has_no_triggers_because_it_is_final(kflow: Kflow) -> None:
    kflow.ok("advance", "AAR-SUND-01", "cancel", "--note", "Opgivet", now="2007-08-01")
    assert "(none: it is final)" in kflow.ok("tender", "show", "AAR-SUND-01", now="2007-08-02")
