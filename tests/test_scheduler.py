"""The scheduler against the seed's timeline: timers, overdue flags, reminders, catch-up, forecast."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from structlog.testing import capture_logs
from support import ROOT, SEK, at, empty_postgres, pilot_store

from konkurrence_flow import legal, scheduler
from konkurrence_flow.calendar import Period
from konkurrence_flow.definitions import Definition, PeriodRef, load_definition, parse_definition
from konkurrence_flow.engine import PeriodResolver
from konkurrence_flow.errors import PeriodError, StoreVersionError
from konkurrence_flow.model import Tender
from konkurrence_flow.programme import load_programme
from konkurrence_flow.reports import overdue
from konkurrence_flow.rows import T_TENDER
from konkurrence_flow.scheduler import forecast, tick, tick_json
from konkurrence_flow.store import NewTender, Store

PILOT = load_programme(ROOT / "workflows" / "pilot-2007.yaml")
INDIVIDUAL = load_definition(ROOT / "definitions" / "individual-tender.yaml")


def published(store: Store, tender: str = "AAR-SUND-01", on: str = "2008-01-10") -> Tender:
    """Anna approves the scope in September and publishes on `on`."""
    anna = store.person("anna")
    store.advance(tender, "approve_scope", anna, at("2007-09-20"))
    store.advance(tender, "publish", anna, at(on))
    return store.tender(tender)


def versions(store: Store) -> dict[str, int]:
    return {t.id: t.version for t in store.tenders()}


def test_end_of_q3_is_not_overdue_on_the_30th_and_one_day_overdue_on_the_1st() -> None:
    """A step due 'end of Q3 2007' is overdue from 2007-10-01, by one day."""
    store = pilot_store()
    assert overdue(store, at("2007-09-30T23:59")) == []
    rows = overdue(store, at("2007-10-01"))
    assert [(r["tender"], r["due"], r["days_overdue"]) for r in rows] == [
        (t, "2007-09-30", 1) for t in ("AAR-BESK-01", "AAR-SUND-01", "FRB-SUND-01", "ODE-BESK-01")
    ]
    assert overdue(store, at("2007-10-01"), "461")[0]["tender"] == "ODE-BESK-01"
    assert tick(store, at("2007-09-30T23:59")).of("overdue") == []
    flagged = tick(store, at("2007-10-01")).of("overdue")
    assert len(flagged) == 4 and flagged[0].at == at("2007-10-01")


def test_a_52_day_bid_period_rolls_past_the_sunday_and_fires_at_its_instant() -> None:
    """Entered 2008-01-10: day 52 is Sun 2008-03-02, so close_bidding is recorded 2008-03-04 00:00."""
    store = pilot_store()
    assert published(store).timer_at == at("2008-03-04")
    assert tick(store, at("2008-03-03T23:59:59")).of("advance") == []
    (fired,) = tick(store, at("2008-03-04T00:00")).of("advance")
    assert (fired.tender, fired.trigger, fired.dest) == ("AAR-SUND-01", "close_bidding", "award")
    event = store.history("AAR-SUND-01")[-1]
    assert (event.kind, event.actor, event.trigger) == ("timer", "system", "close_bidding")
    assert event.occurred_at.isoformat() == "2008-03-03T23:00:00+00:00"  # 00:00 CET


def test_after_downtime_one_tick_catches_up_at_the_instants_due() -> None:
    """A tick run in June records the March timer at its March instant, and the June time as written."""
    store = pilot_store()
    published(store)
    report = tick(store, at("2008-06-01T12:00"))
    assert {h.tender for h in report.of("advance")} == {"AAR-SUND-01"}
    timer = next(e for e in store.history("AAR-SUND-01") if e.kind == "timer")
    assert timer.occurred_at == at("2008-03-04") and timer.recorded_at == at("2008-06-01T12:00")
    late = store.history("AAR-SUND-01")[-1]  # award is due six weeks after it began
    assert late.data == {"overdue": "2008-04-15"} and late.occurred_at == at("2008-04-16")


def test_tick_twice_at_the_same_instant_does_nothing_the_second_time() -> None:
    """The second tick finds nothing owed: no events, no versions, no notifications."""
    store = pilot_store()
    published(store)
    first = tick(store, at("2008-04-20"))
    assert first.happenings and first.notifications > 0
    before = (versions(store), len(store.notifications()))
    second = tick(store, at("2008-04-20"))
    assert (second.happenings, second.notifications) == ([], 0)
    assert (versions(store), len(store.notifications())) == before


def test_reminders_are_queued_once_before_the_due_date() -> None:
    """P14D and P3D before 2007-09-30: on 2007-09-16 and 2007-09-27, once each per leader."""
    store = pilot_store()
    report = tick(store, at("2007-09-16"))
    assert {(h.tender, h.detail) for h in report.of("reminder")} == {
        (t, "P14D before 2007-09-30")
        for t in ("AAR-BESK-01", "AAR-SUND-01", "FRB-SUND-01", "ODE-BESK-01")
    }
    tick(store, at("2007-09-27"))
    tick(store, at("2007-09-28"))
    keys = [n.dedupe_key for n in store.notifications()]
    assert len(keys) == len(set(keys)) == 8
    assert "reminder:AAR-SUND-01:1:P14D@2007-09-30:anna" in keys


def test_the_tick_query_uses_next_check_at() -> None:
    """Only tenders owed something are taken; next_check_at moves to the next thing owed."""
    store = pilot_store()
    assert store.due_for_check(at("2007-09-15")) == []
    assert len(store.due_for_check(at("2007-09-16"))) == 4
    tick(store, at("2007-09-16"))
    assert store.tender("AAR-SUND-01").next_check_at == at("2007-09-27")


CHAIN = """
name: chain
initial: a
states:
  a: {after: {period: P1D, trigger: go}}
  b: {after: {period: P2D, trigger: go_on}}
  c: {after: {period: P1D, trigger: finish}}
  done: {final: true}
transitions:
  - {trigger: go, source: a, dest: b}
  - {trigger: go_on, source: b, dest: c}
  - {trigger: finish, source: c, dest: done, requires: [report]}
"""


def test_timers_cascade_and_a_refused_timer_is_recorded_once() -> None:
    """a -> b -> c each at its own instant; c's timer needs a fact, so it is refused and disarmed."""
    store = Store("sqlite://")
    store.init("kl-sek")
    store.load_definition(parse_definition(CHAIN, "chain.yaml"), at("2008-01-01"))
    store.create_tender(NewTender("chain", "Kæde", ("751",), id="K-1"), SEK, at("2008-01-01"))
    report = tick(store, at("2008-02-01"))
    assert [(h.what, h.at) for h in report.happenings] == [
        ("advance", at("2008-01-03")), ("advance", at("2008-01-06")), ("refused", at("2008-01-08")),
    ]  # fmt: skip
    assert "needs the facts report" in report.happenings[-1].detail
    assert store.tender("K-1").state == "c" and store.tender("K-1").next_check_at is None
    assert tick(store, at("2008-03-01")).happenings == []


def test_a_refused_timer_is_armed_again_once_the_missing_fact_is_recorded() -> None:
    """The refusal says to record the fact: once it is, the timer is planned again from its
    period and, its instant long past, fires at once; the tender is never stuck in c."""
    store = Store("sqlite://")
    store.init("kl-sek")
    store.load_definition(parse_definition(CHAIN, "chain.yaml"), at("2008-01-01"))
    store.create_tender(NewTender("chain", "Kæde", ("751",), id="K-1"), SEK, at("2008-01-01"))
    assert [h.what for h in tick(store, at("2008-01-08T12:00")).happenings][-1] == "refused"
    assert store.tender("K-1").timer_at is None
    store.set_facts("K-1", {"report": "afleveret"}, SEK, at("2008-01-09"))
    done = store.tender("K-1")
    assert done.state == "done"
    last = store.history("K-1")[-1]
    assert (last.trigger, last.occurred_at, last.actor) == ("finish", at("2008-01-09"), "system")


def test_forecast_changes_nothing() -> None:
    """A forecast over the whole timeline leaves every tender and the outbox as they were."""
    store = pilot_store()
    published(store)
    before = (versions(store), len(store.notifications()))
    found = forecast(store, at("2008-10-01"))
    assert any(h.what == "advance" for h in found)
    assert (versions(store), len(store.notifications())) == before


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ticks=st.lists(st.integers(0, 480), max_size=6),
    publish_day=st.integers(0, 80),
)
def test_forecast_and_real_ticks_agree_event_for_event(ticks: list[int], publish_day: int) -> None:
    """Whatever instants the real ticks run at, they do exactly what the forecast said; and a
    tick repeated at the same instant does nothing."""
    store = pilot_store()
    published(store, on=(date(2008, 1, 2) + timedelta(days=publish_day)).isoformat())
    until = at("2008-10-01")
    predicted = [h.key() for h in forecast(store, until)]
    done = []
    for instant in [at("2008-01-01") + timedelta(days=d) for d in sorted(ticks)] + [until]:
        done += [h.key() for h in tick(store, instant).happenings]
        again = tick(store, instant)
        assert (again.happenings, again.notifications) == ([], 0)
    assert sorted(done) == sorted(predicted)


def test_a_timed_state_of_the_shipped_definition_is_owed_its_timer(individual: Definition) -> None:
    """The shipped individual tender closes bidding by timer: the definition says so."""
    publication = individual.state("publication")
    assert publication.after is not None and publication.after.trigger == "close_bidding"


@pytest.mark.parametrize("url_kind", ["sqlite", "postgresql"])
def test_tick_contract_on_both_stores(url_kind: str, tmp_path, request) -> None:  # type: ignore[no-untyped-def]
    """The same sweep gives the same result on SQLite and PostgreSQL."""
    if url_kind == "sqlite":
        url = f"sqlite:///{tmp_path / 's.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        empty_postgres(url)
    store = pilot_store(url)
    published(store)
    report = tick(store, at("2008-10-01"))
    assert [(h.tender, h.what) for h in report.of("advance")] == [("AAR-SUND-01", "advance")]
    assert len(report.of("overdue")) == 4
    assert report.notifications == 4  # overdue: every reminder's due date had passed (skipped)
    assert len(report.of("reminder")) == 3 * 2 + 1  # P14D and P3D; award's P7D
    assert tick(store, at("2008-10-01")).happenings == []


def test_a_person_acting_late_finds_time_caught_up_first() -> None:
    """No tick ran since the bid period expired: the award act first records the timer, at its
    instant, then itself; the same history a punctual scheduler would have left."""
    store = pilot_store()
    published(store)
    anna = store.person("anna")
    facts = {"winner": "Falck", "contract_value": 4_100_000}
    store.advance("AAR-SUND-01", "decide_award", anna, at("2008-03-20"), facts=facts)
    moves = [(e.kind, e.trigger, e.dest, e.occurred_at) for e in store.history("AAR-SUND-01")][-2:]
    assert moves == [
        ("timer", "close_bidding", "award", at("2008-03-04")),
        ("human", "decide_award", "standstill", at("2008-03-20")),
    ]
    assert tick(store, at("2008-03-20")).of("advance") == []


def test_without_a_tick_a_late_cancel_still_leaves_the_overdue_award_on_record() -> None:
    """Cancelling in June, with no tick since January: the award step was entered and went
    overdue first (with its notice), exactly as with a running scheduler."""
    store = pilot_store()
    published(store)
    store.advance("AAR-SUND-01", "cancel", store.person("anna"), at("2008-06-01"), note="Stop")
    history = store.history("AAR-SUND-01")
    assert [e.dest for e in history][-3:] == ["award", "award", "cancelled"]
    assert history[-2].data == {"overdue": "2008-04-15"}
    assert any(n.kind == "overdue" and n.tender == "AAR-SUND-01" for n in store.notifications())


def test_a_long_running_scheduler_sees_programme_changes_made_elsewhere(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Another process moves a milestone and adds a leader; the daemon's next tick uses both."""
    from support import PILOT_TEXT

    from konkurrence_flow.programme import parse_programme

    url = f"sqlite:///{tmp_path / 'k.db'}"
    daemon = pilot_store(url)
    tick(daemon, at("2007-09-01"))  # reads and caches milestones and people
    other = Store(url)
    moved = PILOT_TEXT.replace("end of Q3 2007", "2007-10-31").replace(
        "people:\n", "people:\n  - {id: bo, name: Bo, email: bo@aarhus.dk, role: project_leader, "
        'municipality: "751"}\n', 1,
    )  # fmt: skip
    other.load_programme(parse_programme(moved, "pilot.yaml"), at("2007-09-02"))
    report = tick(daemon, at("2007-10-17"))
    assert {h.detail for h in report.of("reminder")} == {"P14D before 2007-10-31"}
    assert any(n.recipient == "bo" for n in daemon.notifications())


def _failing_for(tender_id: str, error: Exception) -> PeriodResolver:
    """The legal resolver, except that a legal period of `tender_id` raises `error`."""

    def resolve(ref: PeriodRef, tender: Tender, start: date) -> Period:
        if tender.id == tender_id and not isinstance(ref, Period):
            raise error
        return legal.resolve(ref, tender, start)

    return resolve


def test_a_tender_that_fails_is_reported_and_the_tick_goes_on_with_the_others() -> None:
    """AAR-SUND-01's bid period cannot be resolved: it is failed, untouched; the others move on."""
    store = pilot_store()
    published(store, "AAR-SUND-01", "2008-01-10")  # its bidding closes first, on 2008-03-04
    published(store, "AAR-BESK-01", "2008-01-29")  # ... and this one's after it, on 2008-03-25
    history = store.history("AAR-SUND-01")
    store.resolve = _failing_for("AAR-SUND-01", PeriodError("day 10000-01-01 is out of range"))
    with capture_logs() as logs:
        report = tick(store, at("2008-04-01"))
    assert [(f.tender, f.reason) for f in report.failed] == [
        ("AAR-SUND-01", "day 10000-01-01 is out of range")
    ]
    assert [h.tender for h in report.of("advance")] == ["AAR-BESK-01"]
    assert {h.tender for h in report.of("overdue")} == {"FRB-SUND-01", "ODE-BESK-01"}
    assert store.history("AAR-SUND-01") == history and store.tender("AAR-SUND-01").state == (
        "publication"
    )
    assert tick_json(report)["failed"] == [
        {"tender": "AAR-SUND-01", "reason": "day 10000-01-01 is out of range"}
    ]
    assert [
        (e["log_level"], e["tender"]) for e in logs if e["event"].startswith("tick failed")
    ] == [("error", "AAR-SUND-01")]


def test_a_failed_tender_is_tried_again_by_the_next_tick() -> None:
    """Failed again while the cause lasts; caught up, at the instants due, once it is gone."""
    store = pilot_store()
    published(store)
    store.resolve = _failing_for("AAR-SUND-01", PeriodError("day 10000-01-01 is out of range"))
    assert [f.tender for f in tick(store, at("2008-04-01")).failed] == ["AAR-SUND-01"]
    assert [f.tender for f in tick(store, at("2008-04-02")).failed] == ["AAR-SUND-01"]
    store.resolve = legal.resolve
    report = tick(store, at("2008-04-03"))
    assert report.failed == [] and [h.at for h in report.of("advance")] == [at("2008-03-04")]


def test_an_unexpected_error_names_its_type_in_one_line() -> None:
    """A foreign error's reason is its type and the first line of its text."""
    store = pilot_store()
    published(store)
    store.resolve = _failing_for("AAR-SUND-01", ValueError("no regime 'eu-2004-18'\nsecond line"))
    (failed,) = tick(store, at("2008-04-01")).failed
    assert failed.reason == "ValueError: no regime 'eu-2004-18'"


def test_a_store_upgraded_during_a_tick_still_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """StoreVersionError is never one tender's failure: it stops the whole tick."""
    store = pilot_store()
    published(store)

    def upgraded(*_args: object) -> None:
        raise StoreVersionError("the store is at schema r99, newer than this kflow knows")

    monkeypatch.setattr(scheduler, "catch_up", upgraded)
    with pytest.raises(StoreVersionError, match="r99"):
        tick(store, at("2008-04-01"))


def test_a_reminder_whose_due_date_has_passed_is_skipped_and_never_owed_again() -> None:
    """No tick from June until 2007-10-01: the reminders before 2007-09-30 would come too late,
    so they are recorded as given but skipped; only the overdue notices are queued, and no
    later tick queues the reminders."""
    store = pilot_store()
    report = tick(store, at("2007-10-01"))
    assert {n.kind for n in store.notifications()} == {"overdue"}
    assert len(report.of("reminder")) == 8 and all(h.skipped for h in report.of("reminder"))
    assert set(store.tender("AAR-SUND-01").reminded) == {"P14D", "P3D"}
    assert tick(store, at("2007-10-02")).notifications == 0
    assert {n.kind for n in store.notifications()} == {"overdue"}


def test_a_late_reminder_whose_due_date_is_still_ahead_is_sent() -> None:
    """No tick until noon on the due day itself: both reminders are still worth sending, late."""
    store = pilot_store()
    report = tick(store, at("2007-09-30T12:00"))
    assert not any(h.skipped for h in report.of("reminder"))
    assert [n.kind for n in store.notifications()] == ["reminder"] * 8


def test_a_failing_tender_is_held_for_the_rest_of_its_tick_and_tried_by_the_next() -> None:
    """Groups of one: the failing tender is claimed once per tick (held to the tick's end, then
    let go), so the tick reaches every tender due after it and ends."""
    store = pilot_store()
    published(store, "AAR-SUND-01", "2008-01-10")
    published(store, "AAR-BESK-01", "2008-01-29")
    store.resolve = _failing_for("AAR-SUND-01", PeriodError("day 10000-01-01 is out of range"))
    due = store.count_due(at("2008-04-01"))
    report = tick(store, at("2008-04-01"), group=1)
    assert [f.tender for f in report.failed] == ["AAR-SUND-01"]
    assert [h.tender for h in report.of("advance")] == ["AAR-BESK-01"]
    assert report.claimed == due > 2  # each due tender claimed once, the failing one too
    assert store.count_due(at("2008-04-01")) == 1  # only the failing one is left due
    with store.engine.connect() as conn:  # nothing left claimed
        assert (
            conn.execute(select(T_TENDER.c.id).where(T_TENDER.c.claimed_by.is_not(None))).all()
            == []
        )
    assert [f.tender for f in tick(store, at("2008-04-01"), group=1).failed] == ["AAR-SUND-01"]


def test_a_stale_next_check_is_corrected_not_claimed_forever() -> None:
    """A tender whose stored next check has passed while it is owed nothing (its programme's
    escalation changed, say): the tick claims it once, writes its true next check, and ends."""
    store = pilot_store()
    tick(store, at("2007-09-01"))
    true_check = store.tender("AAR-SUND-01").next_check_at
    with store.engine.begin() as conn:
        conn.execute(update(T_TENDER).where(T_TENDER.c.id == "AAR-SUND-01")
                     .values(next_check_at=at("2007-09-02")))  # fmt: skip
    report = tick(store, at("2007-09-03"))
    assert report.claimed == 1 and report.happenings == [] and report.failed == []
    assert store.tender("AAR-SUND-01").next_check_at == true_check
    assert tick(store, at("2007-09-03")).claimed == 0


def test_an_escalation_set_later_reaches_steps_already_late_once() -> None:
    """The four scoping steps are flagged overdue on 2007-10-01 with no escalation set; the
    programme then says `escalate_after: P14D`: the next tick escalates all four (none waits
    for someone to touch its tender), and a later change to P21D escalates none again."""
    from support import PILOT_TEXT

    from konkurrence_flow.programme import parse_programme

    store = pilot_store()
    assert len(tick(store, at("2007-10-05")).of("overdue")) == 4
    p14 = PILOT_TEXT.replace("municipalities:\n", "notifications: {escalate_after: P14D}\n"
                             "municipalities:\n", 1)  # fmt: skip
    store.load_programme(parse_programme(p14, "pilot.yaml"), at("2007-10-06"))
    assert [h.tender for h in forecast(store, at("2007-10-20")) if h.what == "escalation"] == [
        "AAR-BESK-01", "AAR-SUND-01", "FRB-SUND-01", "ODE-BESK-01"
    ]  # fmt: skip
    assert len(tick(store, at("2007-10-20")).of("escalation")) == 4
    p21 = p14.replace("P14D", "P21D")
    store.load_programme(parse_programme(p21, "pilot.yaml"), at("2007-10-21"))
    assert tick(store, at("2007-11-30")).of("escalation") == []
    store.set_facts("AAR-SUND-01", {"baseline_cost": 100}, store.person("anna"), at("2007-12-01"))
    escalations = [n.dedupe_key for n in store.notifications() if n.kind == "escalation"]
    assert len(escalations) == 4 and all("P14D" in key for key in escalations)


def test_a_step_entered_late_is_flagged_at_its_entry_and_a_tick_in_the_past_writes_nothing() -> (
    None
):
    """Materials was due 2008-03-31; the scope is approved 2008-04-05 10:00. The flag is owed
    from the entry, and the forecast says so; a tick whose clock is before that entry (a past
    --now) does nothing to the tender: no event dated after its own clock."""
    store = pilot_store()
    store.advance("AAR-SUND-01", "approve_scope", store.person("anna"), at("2008-04-05T10:00"))
    entered = at("2008-04-05T10:00")
    assert store.tender("AAR-SUND-01").next_check_at == entered
    said = [h for h in forecast(store, at("2008-04-06")) if h.tender == "AAR-SUND-01"]
    assert [(h.what, h.at) for h in said] == [("overdue", entered)]
    events = len(store.history("AAR-SUND-01"))
    past = tick(store, at("2008-04-02"))
    assert [h for h in past.happenings if h.tender == "AAR-SUND-01"] == []
    assert len(store.history("AAR-SUND-01")) == events
    done = [h for h in tick(store, at("2008-04-06")).happenings if h.tender == "AAR-SUND-01"]
    assert [h.key() for h in done] == [h.key() for h in said]
    assert store.history("AAR-SUND-01")[-1].occurred_at == entered


def test_a_monthly_digest_from_the_31st_keeps_to_each_months_end() -> None:
    """Monthly from 31 January: 29 February, 31 March, 30 April (each counted from the start,
    1182/71 Art. 3(2)(c)), not the 29th ever after February; weekly adds up as before."""
    from konkurrence_flow.calendar import parse_period

    monthly, start = parse_period("P1M"), date(2008, 1, 31)
    found = [scheduler._last_digest_day(start, monthly, date(2008, m, d))
             for m, d in ((2, 28), (2, 29), (3, 30), (3, 31), (4, 30), (5, 30))]  # fmt: skip
    assert found == [None, date(2008, 2, 29), date(2008, 2, 29),
                     date(2008, 3, 31), date(2008, 4, 30), date(2008, 4, 30)]  # fmt: skip
    weekly = parse_period("P7D")
    assert scheduler._last_digest_day(date(2007, 6, 1), weekly, date(2008, 1, 1)) == date(
        2007, 12, 28
    )
