"""Legal regimes, one rule per test, with the dates worked by hand."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Any

import pytest
from support import ANNA, SEK, at

from konkurrence_flow.calendar import expires_at, expiry_day
from konkurrence_flow.definitions import LegalPeriod
from konkurrence_flow.errors import NotAllowed
from konkurrence_flow.legal import legal_days, resolve, threshold_warning
from konkurrence_flow.model import Tender
from konkurrence_flow.scheduler import tick
from konkurrence_flow.store import NewTender, Store

TENDER = LegalPeriod("tender_period")
REQUESTS = LegalPeriod("requests_period")
STANDSTILL = LegalPeriod("standstill")


def tender(regime: str = "eu-2004-18", procedure: str | None = "open", **facts: Any) -> Tender:
    """A tender of Aarhus under `regime` and `procedure`, with `facts`."""
    return Tender(
        id="AAR-01", title="T", definition="individual-tender", definition_version=1,
        state="publication", state_entered_at=at("2008-01-10"), municipalities=("751",),
        version=1, seq=1, visit=1, last_event_at=at("2008-01-10"), created_at=at("2008-01-10"),
        regime=regime, procedure=procedure,
        facts=MappingProxyType({"notice_sent_on": "2008-01-10", **facts}),
    )  # fmt: skip


def days(t: Tender, ref: LegalPeriod = TENDER, start: date = date(2008, 1, 10)) -> int:
    return legal_days(ref, t, start)


def test_open_procedure_notice_on_a_thursday_rolls_past_the_sunday() -> None:
    """Notice sent Thu 2008-01-10: day 52 is Sun 2008-03-02; the period runs to the end of Mon 03-03."""
    period = resolve(TENDER, tender(), date(2008, 1, 10))
    assert (period.amount, period.rolls) == (52, True)
    assert expiry_day(date(2008, 1, 10), period) == date(2008, 3, 3)
    assert expires_at(date(2008, 1, 10), period) == at("2008-03-04")


def test_open_procedure_over_easter_runs_to_the_tuesday_after_easter_monday() -> None:
    """Notice sent Tue 2008-01-29: day 52 is Good Friday 2008-03-21; the period ends Tue 03-25."""
    period = resolve(TENDER, tender(), date(2008, 1, 29))
    assert expiry_day(date(2008, 1, 29), period) == date(2008, 3, 25)


def test_open_procedure_reductions() -> None:
    """2004/18 Art. 38: PIN 36 (sent 52 days to 12 months ahead); e-notice -7; e-access -5."""
    pin = "2007-11-01"  # 70 days before the notice of 2008-01-10
    assert days(tender(pin_sent_on=pin)) == 36
    assert days(tender(electronic_notice=True)) == 45
    assert days(tender(electronic_notice=True, electronic_access=True)) == 40
    assert days(tender(pin_sent_on=pin, electronic_notice=True, electronic_access=True)) == 24


def test_restricted_procedure_requests_and_tenders() -> None:
    """Restricted: requests 37 (30 electronically), tenders 40 (36 with a PIN, -5 e-access)."""
    restricted = tender(procedure="restricted")
    assert days(restricted, REQUESTS) == 37
    assert days(tender(procedure="restricted", electronic_notice=True), REQUESTS) == 30
    assert days(restricted) == 40
    pin = tender(procedure="restricted", pin_sent_on="2007-11-01", electronic_access=True)
    assert days(pin) == 31


def test_accelerated_procedures() -> None:
    """Accelerated restricted: requests 15 (10 electronically), tenders 10."""
    fast = tender(procedure="accelerated-restricted")
    assert days(fast, REQUESTS) == 15
    assert days(tender(procedure="accelerated-restricted", electronic_notice=True), REQUESTS) == 10
    assert days(fast) == 10


def test_standstill_from_2006_is_ten_days_seven_when_accelerated() -> None:
    """Award decided Thu 2008-03-20: standstill 10 days, to the end of Mon 2008-03-31."""
    period = resolve(STANDSTILL, tender(), date(2008, 3, 20))
    assert period.amount == 10 and expiry_day(date(2008, 3, 20), period) == date(2008, 3, 31)
    assert days(tender(procedure="accelerated-restricted"), STANDSTILL, date(2008, 3, 20)) == 7


def test_standstill_from_july_2010_depends_on_how_the_decision_was_notified() -> None:
    """From 1 July 2010: 15 days by letter, 10 when notified electronically; dated by the decision."""
    assert days(tender(), STANDSTILL, date(2010, 6, 30)) == 10
    assert days(tender(), STANDSTILL, date(2010, 7, 1)) == 15
    assert days(tender(notified_electronically=True), STANDSTILL, date(2010, 7, 1)) == 10


def test_current_rules_of_2014_24() -> None:
    """Udbudsloven: open 35 (15 with PIN; -5 electronic submission); restricted 30 and 30."""
    pin = "2007-11-01"
    assert days(tender("eu-2014-24")) == 35
    assert days(tender("eu-2014-24", pin_sent_on=pin)) == 15
    assert days(tender("eu-2014-24", electronic_submission=True)) == 30
    assert days(tender("eu-2014-24", "restricted"), REQUESTS) == 30
    assert days(tender("eu-2014-24", "restricted", pin_sent_on=pin)) == 10


def test_annex_iib_takes_the_tenders_own_deadline() -> None:
    """No statutory minimum: the period runs to the end of the recorded tender_deadline. A date
    the tender fixed itself does not roll (Regulation 1182/71 rolls periods, not dates): a
    Saturday deadline ends on the Saturday."""
    assert days(tender("annex-iib", tender_deadline="2008-02-22")) == 43
    period = resolve(TENDER, tender("annex-iib", tender_deadline="2008-02-23"), date(2008, 1, 10))
    assert expiry_day(date(2008, 1, 10), period) == date(2008, 2, 23)


def test_annex_iib_without_a_deadline_is_refused_with_the_command() -> None:
    """The refusal names the fact to record and how."""
    with pytest.raises(NotAllowed, match=r"tender AAR-01 is under annex-iib, which sets no minimum "
                       r"legal.tender_period for the open procedure; record the tender's own "
                       r"tender_deadline first \(kflow tender set AAR-01 "
                       r"tender_deadline=YYYY-MM-DD\)"):  # fmt: skip
        days(tender("annex-iib"))
    with pytest.raises(NotAllowed, match=r"tender_deadline 2007-12-01 is before the period starts"):
        days(tender("annex-iib", tender_deadline="2007-12-01"))


def test_tilbudsloven_has_no_standstill() -> None:
    """National works tenders: no statutory standstill, so it ends with the decision day."""
    assert days(tender("tilbudsloven"), STANDSTILL) == 0


def test_a_missing_or_unknown_procedure_or_regime_says_what_is_allowed() -> None:
    """Each refusal lists the allowed values."""
    with pytest.raises(NotAllowed, match=r"depends on the procedure, which is not set "
                       r"\(procedures: open, restricted, negotiated"):  # fmt: skip
        days(tender(procedure=None))
    with pytest.raises(NotAllowed, match=r"tender AAR-01 is under eu-2004-18, which sets no minimum "
                       r"legal.tender_period for the negotiated procedure; record the tender's "
                       r"own tender_deadline first"):  # fmt: skip
        days(tender(procedure="negotiated"))
    with pytest.raises(NotAllowed, match=r"the open procedure has no requests to participate"):
        days(tender(procedure="open"), REQUESTS)
    with pytest.raises(NotAllowed, match=r"unknown regime 'eu-2099' \(regimes: eu-2004-18"):
        days(tender("eu-2099"))


def test_thresholds_warn_for_a_national_only_regime() -> None:
    """DKK 1,570,203 (2006-07) and 1,535,109 (2008-09) for services; national regimes are warned.
    No notice sent yet: the threshold of the day asked about."""
    unsent = {"notice_sent_on": ""}
    assert threshold_warning(
        tender("tilbudsloven", estimated_value=1_600_000, **unsent), date(2007, 6, 1)
    )
    assert (
        threshold_warning(
            tender("tilbudsloven", estimated_value=1_550_000, **unsent), date(2007, 6, 1)
        )
        is None
    )
    warning = threshold_warning(
        tender("tilbudsloven", estimated_value=1_550_000, **unsent), date(2008, 6, 1)
    )
    assert warning is not None and "DKK 1,535,109" in warning and "No 1422/2007" in warning
    assert (
        threshold_warning(tender("eu-2004-18", estimated_value=9_000_000), date(2008, 6, 1)) is None
    )
    works = tender("tilbudsloven", estimated_value=9_000_000, contract_type="works")
    assert threshold_warning(works, date(2008, 6, 1)) is None


def test_the_threshold_is_the_one_in_force_when_the_notice_was_sent() -> None:
    """A notice sent in December 2007 is measured against 2006-07's DKK 1,570,203, though the
    tender is looked at in 2008 (when DKK 1,535,109 applies to new notices)."""
    sent = tender("tilbudsloven", estimated_value=1_550_000, notice_sent_on="2007-12-20")
    assert threshold_warning(sent, date(2008, 6, 1)) is None
    later = tender("tilbudsloven", estimated_value=1_550_000, notice_sent_on="2008-01-02")
    warning = threshold_warning(later, date(2008, 6, 1))
    assert warning is not None and "DKK 1,535,109" in warning


def test_min_period_refuses_closing_the_bidding_early_with_the_expiry(store: Store) -> None:
    """The secretariat cannot close the bidding before the 52 days since the notice expire."""
    spec = NewTender("individual-tender", "T", ("751",), id="AAR-01", regime="eu-2004-18",
                     procedure="open")  # fmt: skip
    store.create_tender(spec, ANNA, at("2007-07-01"))
    store.advance("AAR-01", "approve_scope", ANNA, at("2007-09-01"))
    store.advance("AAR-01", "publish", ANNA, at("2008-01-10"))
    with pytest.raises(NotAllowed, match=r"'close_bidding' on tender AAR-01 is not allowed before "
                       r"the period legal.tender_period \(P52D\) since entering 'publication' on "
                       r"2008-01-10 has expired at the end of 2008-03-03"):  # fmt: skip
        store.advance("AAR-01", "close_bidding", SEK, at("2008-03-03T16:00"))
    assert store.tender("AAR-01").state == "publication"
    assert tick(store, at("2008-03-04")).of("advance")[0].dest == "award"  # the scheduler's own


def test_unknown_regime_is_refused_at_creation(store: Store) -> None:
    """A tender cannot be created under a regime the package does not know."""
    spec = NewTender("individual-tender", "T", ("751",), regime="eu-2004-81")
    with pytest.raises(NotAllowed, match=r"unknown legal regime 'eu-2004-81' \(regimes: "):
        store.create_tender(spec, ANNA, at("2007-07-01"))


def test_facts_given_with_publish_set_the_period(store: Store) -> None:
    """An Annex II B tender published with --set tender_deadline times out at that deadline."""
    spec = NewTender("individual-tender", "T", ("751",), id="AAR-02", regime="annex-iib",
                     procedure="open")  # fmt: skip
    store.create_tender(spec, ANNA, at("2007-07-01"))
    store.advance("AAR-02", "approve_scope", ANNA, at("2007-09-01"))
    with pytest.raises(NotAllowed, match=r"record the tender's own tender_deadline first"):
        store.advance("AAR-02", "publish", ANNA, at("2008-01-10"))
    store.advance(
        "AAR-02", "publish", ANNA, at("2008-01-10"), facts={"tender_deadline": "2008-02-22"}
    )
    assert store.tender("AAR-02").timer_at == at("2008-02-23")
    assert store.tender("AAR-02").facts["tender_deadline"] == "2008-02-22"


def test_an_announced_deadline_after_the_minimum_closes_the_bidding_at_its_end() -> None:
    """The law sets a floor; the notice fixes the deadline (2004/18 Art. 38(1)). Notice Thu
    2008-01-10, the 52 days end on Mon 03-03; a deadline announced for Fri 03-14 runs to its end,
    one announced for Sat 03-08 to the end of that Saturday (a date does not roll)."""
    period = resolve(TENDER, tender(tender_deadline="2008-03-14"), date(2008, 1, 10))
    assert (period.amount, period.rolls) == (64, False)
    assert expires_at(date(2008, 1, 10), period) == at("2008-03-15")
    saturday = resolve(TENDER, tender(tender_deadline="2008-03-08"), date(2008, 1, 10))
    assert expires_at(date(2008, 1, 10), saturday) == at("2008-03-09")
    same = resolve(TENDER, tender(tender_deadline="2008-03-03"), date(2008, 1, 10))
    assert expires_at(date(2008, 1, 10), same) == at("2008-03-04")


@pytest.mark.parametrize("announced", ["2008-03-02", "2008-02-15", "2007-12-24"])
def test_an_announced_deadline_before_the_minimum_never_shortens_it(announced: str) -> None:
    """A deadline the law does not allow (even the minimum's own rolled-over Sunday, or a day
    before the notice) leaves the minimum, to the end of Mon 03-03, and says why."""
    from konkurrence_flow.legal import legal_period, tender_notes

    t = tender(tender_deadline=announced)
    period = resolve(TENDER, t, date(2008, 1, 10))
    assert expires_at(date(2008, 1, 10), period) == at("2008-03-04")
    (warning,) = legal_period(TENDER, t, date(2008, 1, 10)).warnings
    assert warning.startswith(f"tender_deadline {announced} is earlier than the legal minimum")
    assert "run to the end of 2008-03-03" in warning
    assert warning in tender_notes(t, date(2008, 1, 10))[1]  # `tender show` says it too


def test_an_announced_deadline_moves_a_published_tenders_timer(store: Store) -> None:
    """Published on 2008-01-10 under 2004/18 without a deadline: the timer stands at the end of
    the minimum; the deadline announced in the notice, recorded later, moves it there."""
    spec = NewTender("individual-tender", "T", ("751",), id="AAR-04", regime="eu-2004-18",
                     procedure="open")  # fmt: skip
    store.create_tender(spec, ANNA, at("2007-07-01"))
    store.advance("AAR-04", "approve_scope", ANNA, at("2007-09-01"))
    store.advance("AAR-04", "publish", ANNA, at("2008-01-10"))
    assert store.tender("AAR-04").timer_at == at("2008-03-04")
    store.set_facts("AAR-04", {"tender_deadline": "2008-03-14"}, ANNA, at("2008-01-11"))
    assert store.tender("AAR-04").timer_at == at("2008-03-15")
    assert tick(store, at("2008-03-10")).of("advance") == []  # bids still on time
    assert [h.dest for h in tick(store, at("2008-03-15")).of("advance")] == ["award"]


def test_a_changed_deadline_moves_the_running_timer(store: Store) -> None:
    """The bid deadline extended while bidding is open: the timer follows, nothing gets stuck."""
    spec = NewTender("individual-tender", "T", ("751",), id="AAR-03", regime="annex-iib",
                     procedure="open")  # fmt: skip
    store.create_tender(spec, ANNA, at("2007-07-01"))
    store.advance("AAR-03", "approve_scope", ANNA, at("2007-09-01"))
    store.advance(
        "AAR-03", "publish", ANNA, at("2008-01-10"), facts={"tender_deadline": "2008-02-01"}
    )
    assert store.tender("AAR-03").timer_at == at("2008-02-02")
    store.set_facts("AAR-03", {"tender_deadline": "2008-02-15"}, ANNA, at("2008-01-20"))
    assert store.tender("AAR-03").timer_at == at("2008-02-16")
    assert store.steps("AAR-03")[-1].timer_at == at("2008-02-16")
    assert tick(store, at("2008-02-05")).happenings == []
    assert [h.dest for h in tick(store, at("2008-02-16")).of("advance")] == ["award"]


def test_tender_show_checks_an_announced_requests_deadline_not_a_two_stage_tender_period() -> None:
    """Restricted, notice 2008-01-10: 37 days for requests end Mon 02-18 (day 37 is Sat 02-16).
    A requests_deadline of 02-15 is warned about; the tender period starts at the invitation,
    which `tender show` does not know, so it says nothing of tender_deadline there."""
    from konkurrence_flow.legal import tender_notes

    t = tender(procedure="restricted", requests_deadline="2008-02-15",
               tender_deadline="2008-02-20")  # fmt: skip
    notes, warnings = tender_notes(t, date(2008, 1, 10))
    assert [w[:60] for w in warnings] == [
        "requests_deadline 2008-02-15 is earlier than the legal minim"
    ]
    assert "run to the end of 2008-02-18" in warnings[0]
    assert not [n for n in notes if "tender_deadline" in n]
    later = tender(procedure="restricted", requests_deadline="2008-02-29")
    assert "requests: requests_deadline 2008-02-29 as announced (the minimum, 37 days, ends " \
           "2008-02-18)" in tender_notes(later, date(2008, 1, 10))[0]  # fmt: skip


def test_a_deadline_agreed_with_the_candidates_is_not_overruled_by_tender_deadline() -> None:
    """2014/24 restricted: a deadline agreed with the selected candidates (Art. 28(4)) is the
    period; a tender_deadline beside it neither moves it nor is called unlawful."""
    from konkurrence_flow.legal import legal_period

    t = tender(regime="eu-2014-24", procedure="restricted",
               agreed_tender_deadline="2024-04-15", tender_deadline="2024-04-25")  # fmt: skip
    answer = legal_period(TENDER, t, date(2024, 3, 1))
    assert (answer.days, answer.rolls, answer.warnings) == (45, False, ())
    earlier = tender(regime="eu-2014-24", procedure="restricted",
                     agreed_tender_deadline="2024-04-15", tender_deadline="2024-04-05")  # fmt: skip
    assert legal_period(TENDER, earlier, date(2024, 3, 1)).warnings == ()
