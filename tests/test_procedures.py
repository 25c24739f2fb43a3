"""Procedures as the law has them (issue 10): two-stage procedures, the 2014/24 reductions, the PIN
window, award notices, the Annex II B standstill, the 22-day floor, the deadline calculator, the
plan and the closed days. Every date here was worked by hand from the articles cited in legal.py.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import ANNA, DEFINITIONS, PILOT_TEXT, ROOT, SEK, at, pilot_store
from test_cli import Kflow

from konkurrence_flow.calendar import Period, expiry_day, is_working_day
from konkurrence_flow.definitions import parse_definition
from konkurrence_flow.errors import DefinitionError, InvalidInput, NotAllowed
from konkurrence_flow.legal import (
    REGIMES,
    STAGES,
    LegalPeriod,
    Minimum,
    calculate,
    closed_for,
    deadline,
    procedures_of,
    with_closed,
)
from konkurrence_flow.plan import plan
from konkurrence_flow.programme import parse_programme
from konkurrence_flow.scheduler import digest_rows, tick
from konkurrence_flow.store import NewTender, Store


@pytest.fixture
def pilot(tmp_path: Path) -> Kflow:
    """The pilot programme (eu-2004-18) with the shipped definitions, at the CLI."""
    k = Kflow(tmp_path / "kflow.db")
    k.ok("init")
    k.ok("definitions", "load", str(DEFINITIONS))
    k.ok("programme", "load", str(ROOT / "workflows" / "pilot-2007.yaml"), now="2007-06-01")
    return k


def create(k: Kflow, tender_id: str, procedure: str, regime: str = "eu-2004-18") -> None:
    """A tender of Aarhus in the pilot programme, scoped and with its materials drafted."""
    k.ok("tender", "create", "--definition", "individual-tender", "--title", "Madservice",
         "--municipality", "751", "--id", tender_id, "--programme", "pilot-2007",
         "--regime", regime, "--procedure", procedure, user="anna", now="2007-07-02")  # fmt: skip
    k.ok("advance", tender_id, "approve_scope", user="anna", now="2007-09-20")


def history(k: Kflow, tender_id: str, now: str) -> list[dict[str, Any]]:
    return json.loads(k.ok("tender", "history", tender_id, "--json", now=now))


def moves(k: Kflow, tender_id: str, now: str) -> list[tuple[str, str, str]]:
    """(trigger, dest, occurred_at) of each move in the tender's history."""
    return [(e["trigger"], e["dest"], e["occurred_at"]) for e in history(k, tender_id, now)
            if e["trigger"]]  # fmt: skip


def calc(k: Kflow, *args: str) -> dict[str, Any]:
    return json.loads(k.ok("legal", "deadline", *args, "--json"))


# -- 1. the restricted procedure counts its tender period from the invitation ---------------------


def test_restricted_2004_18_through_the_calculator(pilot: Kflow) -> None:
    """Requests close at the end of Mon 2008-02-18; 40 days from the invitation of 02-19 end on
    Sun 03-30, rolled to the end of Mon 2008-03-31."""
    base = ("--regime", "eu-2004-18", "--procedure", "restricted")
    requests = calc(pilot, *base, "--stage", "requests", "--from", "2008-01-10")
    assert (requests["days"], requests["last_day"]) == (37, "2008-02-18")
    assert requests["ends_at"] == "2008-02-19T00:00:00+01:00"
    assert "Art. 38(3)(a)" in requests["basis"]
    tenders = calc(pilot, *base, "--stage", "tenders", "--from", "2008-02-19")
    assert tenders == {
        "regime": "eu-2004-18", "procedure": "restricted", "stage": "tenders",
        "from": "2008-02-19", "days": 40, "last_day": "2008-03-31",
        "ends_at": "2008-04-01T00:00:00+02:00",
        "basis": "Directive 2004/18/EC Art. 38(3)(b), (4), (6), (7)",
        "notes": ["day 40 is Sun 2008-03-30, not a working day: the period runs to the end of "
                  "Mon 2008-03-31 (Regulation 1182/71 Art. 3(4))"],
    }  # fmt: skip


def test_restricted_2004_18_through_the_shipped_definition(pilot: Kflow) -> None:
    """publish -> tick -> invite -> tick: the bidding closes at the end of 2008-03-31, not on
    2008-02-19 as a single publication state had it."""
    create(pilot, "AAR-R", "restricted")
    pilot.ok("advance", "AAR-R", "publish", user="anna", now="2008-01-10")
    pilot.ok("tick", now="2008-02-18T23:59")
    assert json.loads(pilot.ok("tender", "show", "AAR-R", "--json", now="2008-02-18T23:59"))[
        "state"] == "requests"  # fmt: skip
    pilot.ok("tick", now="2008-02-19")
    pilot.ok("advance", "AAR-R", "invite", user="anna", now="2008-02-19T10:00")
    pilot.ok("tick", now="2008-03-31T23:59")
    pilot.ok("tick", now="2008-04-01")
    assert moves(pilot, "AAR-R", "2008-04-01")[1:] == [
        ("publish", "requests", "2008-01-10T00:00:00+01:00"),
        ("close_requests", "selection", "2008-02-19T00:00:00+01:00"),
        ("invite", "publication", "2008-02-19T10:00:00+01:00"),
        ("close_bidding", "award", "2008-04-01T00:00:00+02:00"),
    ]
    published = history(pilot, "AAR-R", "2008-04-01")[2]
    assert published["data"] == {"set": {"notice_sent_on": "2008-01-10"}}


def test_nobody_closes_the_requests_early(pilot: Kflow) -> None:
    """close_requests has a minimum period: the secretariat's attempt is refused, nothing written."""
    create(pilot, "AAR-R", "restricted")
    pilot.ok("advance", "AAR-R", "publish", user="anna", now="2008-01-10")
    before = history(pilot, "AAR-R", "2008-02-18T12:00")
    result = pilot("advance", "AAR-R", "close_requests", now="2008-02-18T12:00")
    assert result.exit_code == 1
    assert "legal.requests_period (P37D)" in result.stderr
    assert "has expired at the end of 2008-02-18" in result.stderr
    assert history(pilot, "AAR-R", "2008-02-18T12:00") == before


def test_an_open_tender_goes_straight_to_publication(pilot: Kflow) -> None:
    """The open procedure: publish -> publication, 52 days from the notice, as before."""
    create(pilot, "AAR-O", "open")
    pilot.ok("advance", "AAR-O", "publish", user="anna", now="2008-01-10")
    shown = json.loads(pilot.ok("tender", "show", "AAR-O", "--json", now="2008-01-10"))
    assert (shown["state"], shown["timer_at"]) == ("publication", "2008-03-04T00:00:00+01:00")


# -- 2. negotiated and competitive dialogue run, with the tender's own tender deadline -------------


@pytest.mark.parametrize("procedure", ["negotiated", "competitive-dialogue"])
def test_negotiated_and_dialogue_run_to_their_own_tender_deadline(
    pilot: Kflow, procedure: str
) -> None:
    """Requests 37 days by statute; no statutory tender minimum: the invitation needs the
    tender's own tender_deadline, and the bidding closes at its end."""
    create(pilot, "AAR-N", procedure)
    pilot.ok("advance", "AAR-N", "publish", user="anna", now="2008-01-10")
    pilot.ok("tick", now="2008-02-19")
    before = history(pilot, "AAR-N", "2008-02-20")
    result = pilot("advance", "AAR-N", "invite", user="anna", now="2008-02-20")
    assert result.exit_code == 1
    assert f"sets no minimum legal.tender_period for the {procedure} procedure" in result.stderr
    assert "kflow tender set AAR-N tender_deadline=YYYY-MM-DD" in result.stderr
    assert history(pilot, "AAR-N", "2008-02-20") == before
    pilot.ok("advance", "AAR-N", "invite", "--set", "tender_deadline=2008-03-18", user="anna",
             now="2008-02-20")  # fmt: skip
    shown = json.loads(pilot.ok("tender", "show", "AAR-N", "--json", now="2008-02-20"))
    assert (shown["state"], shown["timer_at"]) == ("publication", "2008-03-19T00:00:00+01:00")


def test_the_calculator_says_where_the_law_sets_no_minimum(pilot: Kflow) -> None:
    """Exit 1 with a sentence saying so and what to record instead."""
    result = pilot("legal", "deadline", "--regime", "eu-2004-18", "--procedure", "negotiated",
                   "--stage", "tenders", "--from", "2008-02-19")  # fmt: skip
    assert result.exit_code == 1 and result.stdout == ""
    assert ("eu-2004-18 sets no minimum period for tenders in the negotiated procedure; the period "
            "is the tender's own: record tender_deadline=YYYY-MM-DD") in result.stderr  # fmt: skip
    result = pilot("legal", "deadline", "--regime", "annex-iib", "--procedure", "restricted",
                   "--stage", "requests", "--from", "2008-02-19")  # fmt: skip
    assert result.exit_code == 1 and "record requests_deadline=YYYY-MM-DD" in result.stderr
    result = pilot("legal", "deadline", "--regime", "eu-2004-18", "--procedure", "open",
                   "--stage", "requests", "--from", "2008-02-19")  # fmt: skip
    assert result.exit_code == 1 and "the open procedure has no requests" in result.stderr
    result = pilot("legal", "deadline", "--regime", "eu-2004-81", "--stage", "standstill",
                   "--from", "2008-02-19")  # fmt: skip
    assert result.exit_code == 2 and "eu-2004-18" in result.stderr


# -- 3. 2014/24: the electronic-submission reduction, the section numbers, the agreed deadline ----


def days_2014(procedure: str, stage: str = "tenders", **facts: Any) -> int:
    """The days of a 2014/24 stage whose notice (and, two-stage, invitation) is of 2024-03-01."""
    facts = {"notice_sent_on": "2024-03-01", **facts}
    return deadline("eu-2014-24", procedure, stage, date(2024, 3, 1), facts).days


PIN_2024 = "2023-11-01"  # 121 days before 2024-03-01: inside the 35-day to 12-month window


def test_electronic_submission_comes_off_the_ordinary_period_only() -> None:
    """Open: 35, 30 with e-submission, 15 with a PIN, still 15 with both (not 10)."""
    assert days_2014("open") == 35
    assert days_2014("open", electronic_submission=True) == 30
    assert days_2014("open", pin_sent_on=PIN_2024) == 15
    assert days_2014("open", pin_sent_on=PIN_2024, electronic_submission=True) == 15
    assert days_2014("accelerated-open", electronic_submission=True) == 15
    for procedure in ("restricted", "negotiated"):
        assert days_2014(procedure) == 30
        assert days_2014(procedure, electronic_submission=True) == 25
        assert days_2014(procedure, pin_sent_on=PIN_2024, electronic_submission=True) == 10


def test_udbudsloven_sections_are_cited_right(pilot: Kflow) -> None:
    """Open § 57, requests § 59, tenders § 60; the JSON gives the 10 days of PIN + e-submission."""
    base = ("--regime", "eu-2014-24", "--from", "2024-03-01")
    assert "§ 57" in calc(pilot, *base, "--procedure", "open", "--stage", "tenders")["basis"]
    requests = calc(pilot, *base, "--procedure", "restricted", "--stage", "requests")
    assert "§ 59" in requests["basis"] and "§ 58" not in requests["basis"]
    tenders = calc(pilot, *base, "--procedure", "restricted", "--stage", "tenders",
                   "--set", f"pin_sent_on={PIN_2024}", "--set", "electronic_submission=yes",
                   "--set", "notice_sent_on=2024-01-31")  # fmt: skip
    assert "§ 60" in tenders["basis"]
    assert (tenders["days"], tenders["last_day"]) == (10, "2024-03-11")
    assert (
        "electronic submission takes nothing off the period of a PIN (10 days)" in tenders["notes"]
    )


def test_a_sub_central_authority_may_agree_the_tender_deadline_never_below_ten_days() -> None:
    """§ 60(5): the agreed deadline is the period, but at least 10 days from the invitation."""
    assert days_2014("restricted", agreed_tender_deadline="2024-03-21") == 20
    answer = deadline("eu-2014-24", "restricted", "tenders", date(2024, 3, 1),
                      {"agreed_tender_deadline": "2024-03-05"})  # fmt: skip
    assert answer.rolls  # the floor is a period; an agreed date is not
    assert answer.days == 10
    assert "under 10 days from 2024-03-01; 10 days apply" in answer.notes[0]
    assert days_2014("open", agreed_tender_deadline="2024-03-05") == 35  # open: no agreement


# -- 4. the PIN window -------------------------------------------------------------------------


def days_2004(start: str = "2008-01-10", **facts: Any) -> int:
    return deadline("eu-2004-18", "open", "tenders", date.fromisoformat(start), facts).days


def test_the_pin_counts_only_52_days_to_12_months_before_the_notice() -> None:
    """2004/18 Art. 38(4): 36 days only with a PIN sent 52 days to 12 months before the notice."""
    assert days_2004(pin_sent_on="2007-11-19") == 36  # 52 days before 2008-01-10
    assert days_2004(pin_sent_on="2007-11-20") == 52  # 51 days: too late
    assert days_2004(pin_sent_on="2007-01-10") == 36  # 12 months exactly
    assert days_2004(pin_sent_on="2007-01-09") == 52  # a day more than 12 months
    assert days_2004(pin_sent_on="2008-02-01") == 52  # after the notice
    assert days_2004(pin_published=True) == 52  # no date: the window cannot be checked


def test_the_2014_24_pin_window_is_35_days() -> None:
    """Art. 27(2): at least 35 days before the notice."""
    assert days_2014("open", pin_sent_on="2024-01-26") == 15  # 35 days before 2024-03-01
    assert days_2014("open", pin_sent_on="2024-01-27") == 35


def test_a_pin_window_counts_back_from_the_notice_not_the_invitation() -> None:
    """Restricted: the tender period starts at the invitation; the PIN window at the notice."""
    facts = {"pin_sent_on": "2007-11-19", "notice_sent_on": "2008-01-10"}
    assert deadline("eu-2004-18", "restricted", "tenders", date(2008, 2, 19), facts).days == 36


def test_tender_show_warns_of_a_pin_outside_its_window(pilot: Kflow) -> None:
    """The full period applies and `tender show` says why; the timer runs the full 52 days."""
    create(pilot, "AAR-P", "open")
    pilot.ok("advance", "AAR-P", "publish", "--set", "pin_sent_on=2007-12-01", user="anna",
             now="2008-01-10")  # fmt: skip
    shown = json.loads(pilot.ok("tender", "show", "AAR-P", "--json", now="2008-01-10"))
    assert shown["timer_at"] == "2008-03-04T00:00:00+01:00"  # 52 days, rolled to Mon 03-03
    assert any("the PIN sent on 2007-12-01 is 40 days before the contract notice of 2008-01-10; "
               "it counts only from 52 days before, so the full period applies" in w
               for w in shown["warnings"])  # fmt: skip
    text = pilot.ok("tender", "show", "AAR-P", now="2008-01-10")
    assert "warning     the PIN sent on 2007-12-01" in text


# -- 5. the award notice ------------------------------------------------------------------------


def awarded(store: Store, tender_id: str, regime: str, procedure: str = "open") -> None:
    """A tender taken to the signed contract on Fri 2008-05-02 (the scheduler's timers included)."""
    facts = {"tender_deadline": "2008-03-01"} if regime in ("annex-iib", "tilbudsloven") else {}
    store.create_tender(NewTender("individual-tender", "T", ("751",), id=tender_id,
                                  programme="pilot-2007", regime=regime, procedure=procedure),
                        ANNA, at("2007-07-02"))  # fmt: skip
    store.advance(tender_id, "approve_scope", ANNA, at("2007-09-01"))
    store.advance(tender_id, "publish", ANNA, at("2008-01-10"), facts=facts)
    store.advance(tender_id, "decide_award", ANNA, at("2008-04-10"),
                  facts={"winner": "Madservice A/S", "contract_value": 1_000_000})  # fmt: skip
    store.advance(tender_id, "sign_contract", ANNA, at("2008-05-02"))


@pytest.mark.parametrize(
    ("regime", "due"),
    [("eu-2004-18", "2008-06-19"), ("annex-iib", "2008-06-19"), ("eu-2014-24", "2008-06-02")],
)
def test_the_award_notice_is_a_step_due_48_or_30_days_after_the_contract(
    regime: str, due: str
) -> None:
    """2004/18 Art. 35(4), Annex II B too: 48 days (Thu 2008-06-19); 2014/24 Art. 50: 30 days,
    day 30 is Sun 2008-06-01, so Mon 06-02."""
    store = pilot_store()
    awarded(store, "AAR-A", regime)
    tender = store.tender("AAR-A")
    assert (tender.state, tender.due) == ("award_notice", date.fromisoformat(due))


def test_tilbudsloven_has_no_award_notice() -> None:
    """A national tender goes from the contract straight to the data collection."""
    store = pilot_store()
    awarded(store, "AAR-T", "tilbudsloven")
    assert store.tender("AAR-T").state == "data_collection"


def test_an_award_notice_is_reminded_and_flagged_overdue() -> None:
    """Its reminder a week before the due date, its overdue flag the day after, by the scheduler."""
    store = pilot_store()
    awarded(store, "AAR-A", "eu-2004-18")
    reminded = tick(store, at("2008-06-12"))
    mine = [(h.tender, h.state, h.due) for h in reminded.of("reminder") if h.tender == "AAR-A"]
    assert mine == [("AAR-A", "award_notice", date(2008, 6, 19))]
    late = tick(store, at("2008-06-20"))
    assert [(h.tender, h.state) for h in late.of("overdue")] == [("AAR-A", "award_notice")]
    store.advance("AAR-A", "send_award_notice", ANNA, at("2008-06-21"))
    assert store.tender("AAR-A").state == "data_collection"


# -- 6. the Annex II B standstill is the tender's choice ------------------------------------------


def test_annex_iib_standstill_is_observed_unless_waived(pilot: Kflow) -> None:
    """Default: 10 days, and `tender show` says it is the tender's choice; standstill=no: none.
    Under a mandatory regime standstill=no is ignored, with a warning."""
    base = ("--regime", "annex-iib", "--stage", "standstill", "--from", "2008-04-10")
    observed = calc(pilot, *base)
    assert observed["days"] == 10 and "the tender's choice" in observed["notes"][0]
    assert calc(pilot, *base, "--set", "standstill=no")["days"] == 0
    forced = calc(pilot, "--regime", "eu-2004-18", "--stage", "standstill", "--from", "2008-04-10",
                  "--set", "standstill=no")  # fmt: skip
    assert forced["days"] == 10
    assert (
        "standstill=no is ignored: the standstill is mandatory under eu-2004-18" in forced["notes"]
    )
    create(pilot, "AAR-B", "open", regime="annex-iib")
    shown = json.loads(pilot.ok("tender", "show", "AAR-B", "--json", now="2008-01-10"))
    assert ("standstill: a standstill is observed (the tender's choice; standstill=no to waive "
            "it)") in shown["legal_notes"]  # fmt: skip


def test_a_waived_standstill_lets_the_contract_follow_the_decision() -> None:
    """standstill=no on an Annex II B tender: the standstill ends as the decision is made."""
    store = pilot_store()
    store.create_tender(NewTender("individual-tender", "T", ("751",), id="AAR-W",
                                  programme="pilot-2007", regime="annex-iib", procedure="open"),
                        ANNA, at("2007-07-02"))  # fmt: skip
    store.advance("AAR-W", "approve_scope", ANNA, at("2007-09-01"))
    store.advance("AAR-W", "publish", ANNA, at("2008-01-10"),
                  facts={"tender_deadline": "2008-03-01", "standstill": False})  # fmt: skip
    store.advance("AAR-W", "decide_award", ANNA, at("2008-04-10T10:00"),
                  facts={"winner": "W", "contract_value": 1})  # fmt: skip
    assert store.tender("AAR-W").timer_at == at("2008-04-10T10:00")
    assert tick(store, at("2008-04-10T10:01")).of("advance")[0].dest == "contracting"


# -- 7. the 22-day floor binds only notices sent neither electronically nor by fax ----------------


def test_the_22_day_floor_binds_notices_sent_by_post_only() -> None:
    """Art. 38(7) as written: a reduction below 22 days stands for a notice sent electronically
    or by fax, and is raised to 22 for one sent by post."""
    rule = Minimum(26, "test", floor=22, electronic_access=5)
    notice = start = date(2008, 1, 10)
    assert rule.answer({}, start, notice).days == 26
    by_post = rule.answer({"electronic_access": True}, start, notice)
    assert by_post.days == 22 and "never below 22 days" in by_post.notes[-1]
    assert rule.answer({"electronic_access": True, "notice_by_fax": True}, start, notice).days == 21
    assert rule.answer({"electronic_access": True, "electronic_notice": True}, start,
                       notice).days == 21  # fmt: skip


# -- the definition language's `when:` -------------------------------------------------------------

WHEN = """\
name: w
initial: a
states:
  a: {}
  b: {}
  c: {}
  done: {final: true}
transitions:
  - {trigger: go, source: a, dest: b, when: {procedure: [open, accelerated-open]}}
  - trigger: go
    source: a
    dest: c
    when: {procedure: [restricted, negotiated, competitive-dialogue, accelerated-restricted,
                       accelerated-negotiated]}
  - {trigger: end, source: [b, c], dest: done}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, "w.yaml")
    return [str(p) for p in caught.value.problems]


def test_when_splits_a_trigger_by_procedure() -> None:
    """A covered split is valid; each tender takes the branch of its procedure."""
    definition = parse_definition(WHEN, "w.yaml")
    open_ = definition.find("a", "go", {"regime": "eu-2004-18", "procedure": "open"})
    negotiated = definition.find("a", "go", {"regime": "annex-iib", "procedure": "negotiated"})
    assert open_ is not None and open_.dest == "b"
    assert negotiated is not None and negotiated.dest == "c"
    assert definition.find("a", "go", {"regime": "annex-iib", "procedure": None}) is None


def test_when_with_an_unknown_attribute_or_value_is_refused_at_its_place() -> None:
    """file:line:col at the attribute or the value, with what is allowed."""
    found = problems(WHEN.replace("when: {procedure: [open,", "when: {procedur: [open,"))
    assert found == [
        "w.yaml:9:46: unknown attribute 'procedur' in when of transition 'go'; did you mean "
        "'procedure'? (it tests: regime, procedure)"
    ]
    found = problems(WHEN.replace("[open, accelerated-open]", "[open, acelerated-open]"))
    assert any(p.startswith("w.yaml:9:64: unknown procedure 'acelerated-open' in when of "
                            "transition 'go'; did you mean 'accelerated-open'?")
               for p in found)  # fmt: skip


def test_when_leaving_a_procedure_without_a_transition_is_refused() -> None:
    """No transition left for negotiated: refused at validation, at the trigger's source."""
    found = problems(WHEN.replace("restricted, negotiated,", "restricted,"))
    assert found == [
        "w.yaml:9:27: trigger 'go' from state 'a' leads nowhere for procedure 'negotiated'; "
        "cover them in a 'when:' (no transition left for them)"
    ]


def test_when_giving_two_ways_for_one_case_is_refused() -> None:
    """Overlapping conditions: refused at the second."""
    found = problems(
        WHEN.replace("[open, accelerated-open]", "[open, accelerated-open, restricted]")
    )
    assert found[0].startswith("w.yaml:11:13: trigger 'go' from state 'a' has two transitions for "
                               "regime 'eu-2004-18' with procedure 'restricted' (the other at line "
                               "9); make their 'when:' exclusive")  # fmt: skip


def test_a_trigger_twice_without_when_is_still_refused() -> None:
    found = problems(WHEN.replace(", when: {procedure: [open, accelerated-open]}", ""))
    assert any("trigger 'go' is defined twice from state 'a' (first at line 9)" in p for p in found)


def test_a_tender_without_a_procedure_is_told_to_set_it() -> None:
    """publish depends on the procedure: the refusal names the command and writes nothing."""
    store = pilot_store()
    store.create_tender(NewTender("individual-tender", "T", ("751",), id="AAR-X",
                                  programme="pilot-2007", regime="eu-2004-18"),
                        ANNA, at("2007-07-02"))  # fmt: skip
    store.advance("AAR-X", "approve_scope", ANNA, at("2007-09-01"))
    before = store.history("AAR-X")
    with pytest.raises(NotAllowed, match=r"'publish' on tender AAR-X depends on its procedure, "
                       r"which is not set; set it first \(kflow tender set AAR-X procedure=…"):  # fmt: skip
        store.advance("AAR-X", "publish", ANNA, at("2008-01-10"))
    assert store.history("AAR-X") == before


def test_the_notice_day_is_recorded_by_the_act_only() -> None:
    """notice_sent_on is the publishing act's: refused from --set, tender set and creation."""
    store = pilot_store()
    store.create_tender(NewTender("individual-tender", "T", ("751",), id="AAR-Y",
                                  programme="pilot-2007", procedure="open"),
                        ANNA, at("2007-07-02"))  # fmt: skip
    before = store.history("AAR-Y")
    with pytest.raises(InvalidInput, match=r"notice_sent_on is recorded by the act that publishes"):
        store.advance("AAR-Y", "approve_scope", ANNA, at("2007-09-01"),
                      facts={"notice_sent_on": "2007-01-01"})  # fmt: skip
    with pytest.raises(InvalidInput, match=r"date that act with --at instead"):
        store.set_facts("AAR-Y", {"notice_sent_on": "2007-01-01"}, ANNA, at("2007-09-01"))
    assert store.history("AAR-Y") == before


ONE_STAGE = """\
name: individual-tender
initial: scoping
states:
  scoping: {}
  publication: {after: {period: legal.tender_period, trigger: close_bidding}}
  done: {final: true}
transitions:
  - {trigger: publish, source: scoping, dest: publication}
  - {trigger: close_bidding, source: publication, dest: done, roles: [system, secretariat]}
"""


def test_tenders_already_stored_keep_their_definition_version(tmp_path: Path) -> None:
    """A restricted tender created on a one-stage definition keeps it after the two-stage one is
    loaded: it is published straight into `publication`."""
    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    store.init("kl-sek")
    store.load_definition(parse_definition(ONE_STAGE, "old.yaml"), at("2007-04-01"))
    store.load_programme(parse_programme(PILOT_TEXT, "pilot.yaml"), at("2007-06-01"))
    store.create_tender(NewTender("individual-tender", "T", ("751",), id="AAR-V",
                                  programme="pilot-2007", regime="eu-2004-18",
                                  procedure="restricted"),
                        ANNA, at("2007-07-02"))  # fmt: skip
    new = (DEFINITIONS / "individual-tender.yaml").read_text("utf-8")
    store.load_definition(parse_definition(new, "new.yaml"), at("2007-08-01"))
    store.advance("AAR-V", "publish", ANNA, at("2008-01-10"))
    tender = store.tender("AAR-V")
    assert (tender.definition_version, tender.state) == (1, "publication")


# -- the plan -----------------------------------------------------------------------------------


def test_plan_a_restricted_tender_published_2008_04_04_cannot_be_contracted_by_june(
    pilot: Kflow,
) -> None:
    """Requests until Tue 2008-05-13 (after Whit Monday), 40 days from the 05-14 invitation until
    06-23, then the standstill to Fri 07-04: the contract on 07-05 is after the 06-30 due date."""
    create(pilot, "AAR-R", "restricted")
    pilot.ok("advance", "AAR-R", "publish", user="anna", now="2008-04-04")
    rows = json.loads(pilot.ok("plan", "--tender", "AAR-R", "--json", now="2008-04-04"))
    by_step = {r["step"]: r for r in rows}
    assert [r["step"] for r in rows] == ["requests", "selection", "publication", "award",
                                         "standstill", "contracting", "award_notice",
                                         "data_collection"]  # fmt: skip
    assert by_step["requests"]["earliest"] == "2008-05-13"
    assert by_step["publication"]["earliest"] == "2008-06-23"
    assert by_step["standstill"]["earliest"] == "2008-07-04"
    assert by_step["contracting"] == {
        "tender": "AAR-R", "step": "contracting", "due": "2008-06-30", "earliest": "2008-07-05",
        "slack_days": -5, "status": "infeasible", "note": None,
    }  # fmt: skip
    assert by_step["data_collection"]["status"] == "feasible"  # due 2008-09-30


def test_plan_an_open_tender_published_2008_03_01_is_feasible(pilot: Kflow) -> None:
    """52 days to Tue 04-22, standstill to Mon 05-05 (Sat 05-03 rolled), contract 05-06."""
    create(pilot, "AAR-O", "open")
    pilot.ok("advance", "AAR-O", "publish", user="anna", now="2008-03-01")
    rows = json.loads(pilot.ok("plan", "--tender", "AAR-O", "--json", now="2008-03-01"))
    contracting = next(r for r in rows if r["step"] == "contracting")
    assert (contracting["earliest"], contracting["slack_days"]) == ("2008-05-06", 55)
    assert {r["status"] for r in rows} == {"feasible"}


def test_plan_marks_a_step_at_risk_and_says_what_is_unknown(pilot: Kflow) -> None:
    """Under a week to spare is at_risk; an Annex II B tender without its deadline is unknown."""
    create(pilot, "AAR-O", "open")
    pilot.ok("advance", "AAR-O", "publish", user="anna", now="2008-04-21")
    rows = json.loads(pilot.ok("plan", "--tender", "AAR-O", "--json", now="2008-04-21"))
    contracting = next(r for r in rows if r["step"] == "contracting")
    assert (contracting["status"], contracting["slack_days"]) == ("at_risk", 6)  # 06-24
    create(pilot, "AAR-B", "open", regime="annex-iib")
    rows = json.loads(pilot.ok("plan", "--tender", "AAR-B", "--json", now="2008-01-10"))
    assert [(r["step"], r["due"], r["status"]) for r in rows] == [
        ("materials", "2008-03-31", "feasible"),
        ("publication", None, "unknown"),
        ("award", None, "unknown"),
        ("standstill", None, "unknown"),
        ("contracting", "2008-06-30", "unknown"),
        ("award_notice", None, "unknown"),
        ("data_collection", "2008-09-30", "unknown"),
    ]
    assert "record the tender's own tender_deadline first" in rows[1]["note"]
    assert rows[2]["note"] == "an earlier step's period is not known yet"
    text = pilot.ok("plan", "--municipality", "Aarhus", now="2008-04-21")
    assert re.search(r"AAR-O +contracting +2008-06-30 +2008-06-24 +6 +at_risk", text)
    assert "note: AAR-B: tender AAR-B is under annex-iib" in text


def test_forecast_and_digest_mark_infeasible_steps(tmp_path: Path) -> None:
    """forecast flags the rows of an infeasible step; the digest lists a newly infeasible step
    once, not again in the next digest."""
    text = PILOT_TEXT.replace(
        "regime: eu-2004-18", "regime: eu-2004-18\nnotifications: {digest_every: P7D}"
    )
    store = pilot_store(f"sqlite:///{tmp_path / 'k.db'}", text)
    store.create_tender(NewTender("individual-tender", "Madservice", ("751",), id="AAR-R",
                                  programme="pilot-2007", regime="eu-2004-18",
                                  procedure="restricted"),
                        ANNA, at("2007-07-02"))  # fmt: skip
    for tender_id in ("AAR-SUND-01", "AAR-BESK-01", "ODE-BESK-01", "FRB-SUND-01"):
        store.advance(tender_id, "cancel", SEK, at("2007-08-02"), note="not in this test")
    store.advance("AAR-R", "approve_scope", ANNA, at("2007-09-01"))
    store.advance("AAR-R", "publish", ANNA, at("2008-04-04"))
    assert ("AAR-R", "contracting", "infeasible") in {
        (s.tender, s.step, s.status) for s in plan(store, at("2008-04-04"))
    }
    first = digest_rows(store, "pilot-2007", date(2008, 4, 5))
    assert len(first) == 1 and "1 kan ikke nås" in first[0]["subject"]
    assert re.search(r"AAR-R +contracting +frist 2008-06-30  tidligst 2008-07-05  – Madservice",
                     first[0]["body"])  # fmt: skip
    unit = store.act(at("2008-04-05"))
    unit.queue(first[0])
    unit.commit()
    assert digest_rows(store, "pilot-2007", date(2008, 4, 12)) == []  # nothing late, nothing new


def test_forecast_json_marks_the_infeasible_step(pilot: Kflow) -> None:
    create(pilot, "AAR-R", "restricted")
    pilot.ok("advance", "AAR-R", "publish", user="anna", now="2008-04-04")
    rows = json.loads(pilot.ok("forecast", "--until", "2008-07-10", "--json", now="2008-04-04"))
    mine = [r for r in rows if r["tender"] == "AAR-R"]
    assert {r["infeasible"] for r in mine if r["state"] == "contracting"} <= {True}
    assert all(r["infeasible"] is False for r in mine if r["state"] != "contracting")


# -- closed days ---------------------------------------------------------------------------------


def test_closed_days_roll_the_calculator_past_grundlovsdag_and_christmas() -> None:
    """52 days from Mon 2008-04-14 is Grundlovsdag, Thu 06-05: a working day in law, closed here."""
    assert calculate("eu-2004-18", "open", "tenders", date(2008, 4, 14), {}).last_day == date(
        2008, 6, 5
    )
    closed = calculate("eu-2004-18", "open", "tenders", date(2008, 4, 14), {},
                       frozenset({"grundlovsdag"}))  # fmt: skip
    assert closed.last_day == date(2008, 6, 6)
    assert closed.answer.notes[-1] == (
        "day 52 is Thu 2008-06-05, closed here: the period runs to the end of Fri 2008-06-06 "
        "(the programme's closed days; in law a working day)"
    )
    eve = calculate("eu-2004-18", "open", "tenders", date(2008, 11, 2), {},
                    frozenset({"juleaften"}))  # fmt: skip
    assert eve.last_day == date(2008, 12, 29)  # Wed 24 Dec closed, 25-26 holidays, weekend


def test_closed_days_are_not_counted_in_working_days() -> None:
    """Three working days from Mon 2008-06-02: Thu 06-05 by statute, Fri 06-06 with it closed."""
    three = Period(3, "WD")
    assert expiry_day(date(2008, 6, 2), three) == date(2008, 6, 5)
    closed = with_closed(three, three, frozenset({"grundlovsdag"}))
    assert expiry_day(date(2008, 6, 2), closed) == date(2008, 6, 6)
    plain = Period(3, "D")
    assert with_closed(plain, plain, frozenset({"grundlovsdag"})).closed == frozenset()


def test_closed_days_never_move_the_award_notice() -> None:
    """The award notice is the authority's duty within 48 days (2004/18 Art. 35(4)): from a
    contract of Thu 2008-11-06, day 48 is Wed 2008-12-24, a working day in law. A programme that
    closes juleaften still owes the notice by the end of that day; a minimum period, which only
    grows by a closed day, still rolls past it."""
    christmas = frozenset({"juleaften"})
    notice = calculate("eu-2004-18", "open", "award_notice", date(2008, 11, 6), {}, christmas)
    assert notice.answer.days == 48 and notice.last_day == date(2008, 12, 24)
    assert "closed days (juleaften) do not move the award notice" in " ".join(notice.answer.notes)
    legal_notice = LegalPeriod("award_notice")
    resolved = Period(48, "D", rolls=True)
    assert with_closed(legal_notice, resolved, christmas).closed == frozenset()
    tenders = LegalPeriod("tender_period")
    assert with_closed(tenders, resolved, christmas).closed == christmas


def test_a_programme_may_close_grundlovsdag_for_its_timers() -> None:
    """`calendar: {closed: [grundlovsdag]}`: the bidding closes a day later than the statute's."""
    closed = PILOT_TEXT.replace(
        "regime: eu-2004-18", "regime: eu-2004-18\ncalendar: {closed: [grundlovsdag]}"
    )
    for text, end in ((PILOT_TEXT, "2008-06-06"), (closed, "2008-06-07")):
        store = pilot_store(text=text)
        store.advance("AAR-SUND-01", "approve_scope", ANNA, at("2007-09-01"))
        store.advance("AAR-SUND-01", "publish", ANNA, at("2008-04-14"))
        assert store.tender("AAR-SUND-01").timer_at == at(end)


def test_an_unknown_closed_day_is_refused_at_its_place() -> None:
    text = PILOT_TEXT.replace(
        "regime: eu-2004-18", "regime: eu-2004-18\ncalendar: {closed: [juleafen]}"
    )
    with pytest.raises(DefinitionError) as caught:
        parse_programme(text, "p.yaml")
    assert str(caught.value.problems[0]) == (
        "p.yaml:10:21: unknown closed day 'juleafen'; did you mean 'juleaften'? "
        "(closed days: grundlovsdag, juleaften, nytaarsaften)"
    )


# -- the programme tells the truth about itself ------------------------------------------------


def test_programmes_use_example_addresses_and_say_what_is_invented() -> None:
    """No real municipality's mail domain; the forum says its people and areas are invented."""
    for path in (ROOT / "workflows").glob("*.yaml"):
        text = path.read_text("utf-8")
        addresses = re.findall(r"[\w.+-]+@[\w.-]+", text)
        assert addresses and all(a.endswith("example.dk") for a in addresses), path
        assert "forsikrede ledige" not in text, path
    forum = (ROOT / "workflows" / "forum-2007-2008.yaml").read_text("utf-8")
    assert "INVENTED FOR THE EXAMPLE" in forum and "kontanthjælpsmodtagere" in forum


# -- properties ------------------------------------------------------------------------------

CASES = [(r, p, s) for r in REGIMES if REGIMES[r].minimums
         for p in procedures_of(r) for s in STAGES]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    case=st.sampled_from(CASES),
    start=st.dates(date(2006, 1, 1), date(2030, 12, 31)),
    pin_ahead=st.none() | st.integers(0, 400),
    flags=st.sets(st.sampled_from(["electronic_notice", "electronic_access", "notice_by_fax",
                                   "electronic_submission", "notified_electronically"])),
    closed=st.sets(st.sampled_from(["grundlovsdag", "juleaften", "nytaarsaften"])),
)  # fmt: skip
def test_every_answer_ends_on_an_open_working_day_no_earlier_than_its_days(
    case: tuple[str, str, str],
    start: date,
    pin_ahead: int | None,
    flags: set[str],
    closed: set[str],
) -> None:
    """Whatever the facts: the last day is the first working day (closed days too, but for the
    award notice) at least `days` after the start, and no reduction takes a 2014/24 period below its PIN period."""
    regime, procedure, stage = case
    facts: dict[str, Any] = {flag: True for flag in flags}
    facts["notice_sent_on"] = start.isoformat()
    if pin_ahead is not None:
        facts["pin_sent_on"] = date.fromordinal(start.toordinal() - pin_ahead).isoformat()
    try:
        found = calculate(regime, procedure, stage, start, facts, frozenset(closed))
    except NotAllowed:
        return  # no such stage, or no statutory minimum: said in a sentence, tested above
    if found.ends_at is None:  # no standstill at all
        assert stage == "standstill" and found.answer.days == 0
        return
    shut = closed_for(stage, frozenset(closed))  # the award notice is due in law's days
    assert is_working_day(found.last_day, shut)
    assert (found.last_day - start).days >= found.answer.days >= 0
    plain = start + timedelta(days=found.answer.days)  # and it rolls no further than it must
    between = (plain + timedelta(days=n) for n in range((found.last_day - plain).days))
    assert not any(is_working_day(day, shut) for day in between)
    if regime == "eu-2014-24" and stage == "tenders" and procedure in ("open", "restricted"):
        floor = 15 if procedure == "open" else 10
        assert found.answer.days >= floor


# -- review fixes ----------------------------------------------------------------------------


def test_the_calculator_wants_the_notice_day_for_a_pin_on_a_two_stage_tender(pilot: Kflow) -> None:
    """The PIN window counts back from the notice, not the invitation given as --from."""
    args = ("legal", "deadline", "--regime", "eu-2004-18", "--procedure", "restricted",
            "--stage", "tenders", "--from", "2008-03-01", "--set", "pin_sent_on=2008-01-01")  # fmt: skip
    result = pilot(*args)
    assert result.exit_code == 1 and "give notice_sent_on=YYYY-MM-DD too" in result.stderr
    late = json.loads(pilot.ok(*args, "--set", "notice_sent_on=2008-01-20", "--json"))
    assert late["days"] == 40  # the PIN was 19 days before the notice: too late to count
    early = json.loads(pilot.ok(*args, "--set", "notice_sent_on=2008-02-22", "--json"))
    assert early["days"] == 36  # 52 days before the notice


def test_no_standstill_ends_at_once(pilot: Kflow) -> None:
    """tilbudsloven has none: 0 days, no end instant, and a sentence saying so."""
    found = calc(pilot, "--regime", "tilbudsloven", "--stage", "standstill", "--from", "2008-03-01")
    assert (found["days"], found["last_day"], found["ends_at"]) == (0, "2008-03-01", None)
    assert "no standstill: the contract may follow the award decision at once" in found["notes"]
    text = pilot.ok("legal", "deadline", "--regime", "tilbudsloven", "--stage", "standstill",
                    "--from", "2008-03-01")  # fmt: skip
    assert "ends at   once: there is no period" in text


def test_a_decision_notified_by_fax_has_the_electronic_standstill() -> None:
    """From July 2010: 10 days by fax or electronically, 15 by letter (Directive 2007/66 Art. 2a)."""
    day = date(2010, 8, 2)
    assert deadline("eu-2004-18", "open", "standstill", day, {}).days == 15
    assert deadline("eu-2004-18", "open", "standstill", day, {"notified_by_fax": True}).days == 10


def test_an_agreed_tender_deadline_is_never_before_the_floors_rolled_end() -> None:
    """Invited Thu 2024-03-21: 10 days end on Easter Sunday 03-31 and roll to Tue 04-02. An
    agreed Easter Sunday or Monday is 10 and 11 days out, yet before that end: the floor applies,
    so agreeing a later day never closes the bidding earlier than agreeing an earlier one."""
    start = date(2024, 3, 21)
    agreed = ("2024-03-29", "2024-03-31", "2024-04-01", "2024-04-02", "2024-04-03")
    facts = [{"agreed_tender_deadline": day} for day in agreed]
    ends = [calculate("eu-2014-24", "restricted", "tenders", start, f).last_day for f in facts]
    assert ends == [date(2024, 4, 2)] * 4 + [date(2024, 4, 3)]
    easter = deadline("eu-2014-24", "restricted", "tenders", start,
                      {"agreed_tender_deadline": "2024-03-31"})  # fmt: skip
    assert easter.days == 10 and easter.rolls
    assert easter.notes[0] == (
        "the agreed tender deadline 2024-03-31 is before the end of 10 days from 2024-03-21, which "
        "run to the end of 2024-04-02 (Regulation 1182/71 Art. 3(4)); 10 days apply"
    )


@settings(max_examples=200, deadline=None)
@given(start=st.dates(date(2016, 4, 15), date(2030, 12, 31)), a=st.integers(0, 40),
       b=st.integers(0, 40))  # fmt: skip
def test_agreeing_a_later_tender_deadline_never_ends_the_bidding_earlier(
    start: date, a: int, b: int
) -> None:
    """The bidding's last day rises with the agreed day, and is never a non-working day unless
    it is the agreed day itself (an agreed date does not roll)."""
    early, late = sorted((a, b))

    def last(days: int) -> date:
        agreed = (start + timedelta(days=days)).isoformat()
        return calculate("eu-2014-24", "restricted", "tenders", start,
                         {"agreed_tender_deadline": agreed}).last_day  # fmt: skip

    assert last(early) <= last(late)
    assert last(late) == start + timedelta(days=late) or is_working_day(last(late))


def test_an_agreed_tender_deadline_is_a_date_and_does_not_roll() -> None:
    """Agreed for Sat 2024-03-23: the bidding ends with that day, not on the Monday."""
    found = calculate("eu-2014-24", "restricted", "tenders", date(2024, 3, 1),
                      {"agreed_tender_deadline": "2024-03-23"})  # fmt: skip
    assert (found.answer.days, found.last_day) == (22, date(2024, 3, 23))


def test_a_timer_planned_under_older_rules_waits_for_the_period_instead_of_dropping() -> None:
    """A timer stored before the PIN window was checked fires too early: the engine refuses the
    close, and the timer moves to when the period does expire; the tender is never stuck."""
    from sqlalchemy import update

    from konkurrence_flow.rows import T_TENDER

    store = pilot_store()
    store.advance("AAR-SUND-01", "approve_scope", ANNA, at("2007-09-01"))
    store.advance("AAR-SUND-01", "publish", ANNA, at("2008-01-10"))
    with store.engine.begin() as conn:  # as v0.1 planned it: 36 days for pin_published=yes
        conn.execute(update(T_TENDER).where(T_TENDER.c.id == "AAR-SUND-01")
                     .values(timer_at=at("2008-02-16"), next_check_at=at("2008-02-16")))  # fmt: skip
    early = tick(store, at("2008-02-16"))
    assert [h.tender for h in early.of("refused")] == ["AAR-SUND-01"]
    tender = store.tender("AAR-SUND-01")
    assert (tender.state, tender.timer_at) == ("publication", at("2008-03-04"))
    moved = store.history("AAR-SUND-01")[-1]
    assert moved.data == {"timer": "moved", "to": at("2008-03-04").isoformat()}
    assert tick(store, at("2008-03-04")).of("advance")[0].dest == "award"


def test_cancelling_before_publication_records_no_notice(pilot: Kflow) -> None:
    create(pilot, "AAR-C", "open")
    pilot.ok("advance", "AAR-C", "cancel", "--note", "dropped", now="2007-10-01")
    shown = json.loads(pilot.ok("tender", "show", "AAR-C", "--json", now="2007-10-01"))
    assert shown["state"] == "cancelled" and "notice_sent_on" not in shown["facts"]


def test_an_empty_when_value_is_refused() -> None:
    """`when: {procedure: }` names nothing: refused, not read as 'every tender'."""
    found = problems(
        WHEN.replace("when: {procedure: [open, accelerated-open]}", "when: {procedure: }")
    )
    assert found == ["w.yaml:9:57: procedure of when of transition 'go' is empty; name at least "
                     "one procedure"]  # fmt: skip


def test_a_programme_types_its_tenders_facts_and_refuses_what_it_cannot_hold() -> None:
    """Dates become ISO dates, amounts numbers; a nested value, a non-name closed day and the
    notice day are refused at their place."""
    text = PILOT_TEXT.replace(
        "procedure: open, start: 2007-07-02}",
        "procedure: open, start: 2007-07-02,\n     facts: {pin_sent_on: 2007-11-19, "
        "estimated_value: 4.100.000}}",
        1,
    )
    programme = parse_programme(text, "p.yaml")
    assert dict(programme.tenders[0].facts) == {"pin_sent_on": "2007-11-19",
                                                 "estimated_value": 4_100_000}  # fmt: skip
    bad = text.replace(
        "estimated_value: 4.100.000", "estimated_value: [1, 2], notice_sent_on: 2008-01-01"
    )
    bad = bad.replace("regime: eu-2004-18", "regime: eu-2004-18\ncalendar: {closed: [[x]]}")
    with pytest.raises(DefinitionError) as caught:
        parse_programme(bad, "p.yaml")
    found = [str(p) for p in caught.value.problems]
    assert any("closed day a list is not a name" in p for p in found), found
    assert any("fact 'estimated_value' takes one value, not a list" in p for p in found), found
    assert any(
        "notice_sent_on is recorded by the act that publishes the tender" in p for p in found
    )


def test_2014_24_periods_through_the_shipped_definition() -> None:
    """Restricted, PIN + e-submission: requests 30 days from Fri 2024-03-01 end on Easter Sunday
    03-31, rolled past Easter Monday to Tue 04-02; the 10 tender days from the 04-03 invitation end
    Sat 04-13, rolled to Mon 04-15."""
    store = pilot_store()
    store.create_tender(NewTender("individual-tender", "T", ("751",), id="AAR-24",
                                  regime="eu-2014-24", procedure="restricted"),
                        ANNA, at("2024-01-02"))  # fmt: skip
    store.advance("AAR-24", "approve_scope", ANNA, at("2024-01-03"))
    store.advance("AAR-24", "publish", ANNA, at("2024-03-01"),
                  facts={"pin_sent_on": "2023-11-01", "electronic_submission": True})  # fmt: skip
    tick(store, at("2024-04-03"))
    store.advance("AAR-24", "invite", ANNA, at("2024-04-03"))
    tick(store, at("2024-04-16"))
    moves_ = [(e.trigger, e.occurred_at) for e in store.history("AAR-24") if e.trigger]
    assert moves_[-3:] == [("close_requests", at("2024-04-03")), ("invite", at("2024-04-03")),
                           ("close_bidding", at("2024-04-16"))]  # fmt: skip


def test_definitions_show_and_graph_carry_the_conditions(pilot: Kflow) -> None:
    """`definitions show --json` gives each transition's `when`; the diagram labels its edges."""
    shown = json.loads(pilot.ok("definitions", "show", "individual-tender", "--json"))
    publish = [t for t in shown["transitions"] if t["trigger"] == "publish"]
    assert [(t["dest"], t["when"]) for t in publish] == [
        ("publication", {"procedure": ["open", "accelerated-open"]}),
        ("requests", {"procedure": ["restricted", "negotiated", "competitive-dialogue",
                                    "accelerated-restricted", "accelerated-negotiated"]}),
    ]  # fmt: skip
    assert next(t for t in shown["transitions"] if t["trigger"] == "invite")["when"] is None
    drawn = pilot.ok("definitions", "graph", "individual-tender")
    assert "contracting --> data_collection: sign_contract [regime: tilbudsloven]" in drawn
