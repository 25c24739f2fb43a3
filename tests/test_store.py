"""The store contract, run against SQLite and a real PostgreSQL: acts, history, versions, locking."""

from __future__ import annotations

import pytest
from support import ANNA, DEFINITIONS, OLE, SEK, at

from konkurrence_flow.definitions import Definition, parse_definition
from konkurrence_flow.errors import ConcurrentChange, InvalidInput, NotAllowed, NotFound
from konkurrence_flow.model import Person
from konkurrence_flow.store import NewTender, Store

GENOPTRAENING = NewTender(
    "individual-tender", "Genoptræning", ("751",), id="AAR-01", area="sundhed",
    regime="eu-2004-18", procedure="open",
)  # fmt: skip


def created(store: Store, spec: NewTender = GENOPTRAENING) -> str:
    return store.create_tender(spec, ANNA, at("2007-07-01")).id


def test_a_new_tender_starts_in_the_initial_state(any_store: Store) -> None:
    """create puts the tender in 'scoping' with one step and one event."""
    tender = any_store.tender(created(any_store))
    assert (tender.state, tender.version, tender.seq, tender.municipalities) == (
        "scoping", 1, 1, ("751",),
    )  # fmt: skip
    assert tender.leader == "anna" and tender.state_entered_at == at("2007-07-01")
    assert [s.state for s in any_store.steps("AAR-01")] == ["scoping"]
    (event,) = any_store.history("AAR-01")
    assert (event.seq, event.source, event.dest, event.actor) == (1, None, "scoping", "anna")


def test_an_advance_writes_state_step_and_event_together(any_store: Store) -> None:
    """One act: the tender moves, the old step closes, a new step opens, an event is appended."""
    created(any_store)
    any_store.advance("AAR-01", "approve_scope", ANNA, at("2007-08-02"), at=at("2007-08-01"))
    tender = any_store.tender("AAR-01")
    assert (tender.state, tender.version, tender.seq) == ("materials", 2, 2)
    steps = any_store.steps("AAR-01")
    assert [(s.state, s.left_at) for s in steps] == [
        ("scoping", at("2007-08-01")), ("materials", None),
    ]  # fmt: skip
    last = any_store.history("AAR-01")[-1]
    assert (last.occurred_at, last.recorded_at) == (at("2007-08-01"), at("2007-08-02"))


def test_a_timed_state_records_its_timer(any_store: Store) -> None:
    """Entering publication on 2008-01-10 sets the timer to 2008-03-04 00:00 Copenhagen."""
    created(any_store)
    any_store.advance("AAR-01", "approve_scope", ANNA, at("2007-08-01"))
    any_store.advance("AAR-01", "publish", ANNA, at("2008-01-10T09:00"))
    tender = any_store.tender("AAR-01")
    assert tender.timer_at == at("2008-03-04") and tender.next_check_at == at("2008-03-04")


def test_a_refused_act_leaves_no_trace(any_store: Store) -> None:
    """A refusal changes nothing: same version, same history."""
    created(any_store)
    with pytest.raises(NotAllowed):
        any_store.advance("AAR-01", "publish", ANNA, at("2007-08-01"))
    assert any_store.tender("AAR-01").version == 1
    assert len(any_store.history("AAR-01")) == 1


def test_a_failing_batch_writes_nothing(any_store: Store) -> None:
    """Acts in one batch commit together or not at all."""
    created(any_store)
    with pytest.raises(NotAllowed), any_store.batch(at("2007-08-01")) as unit:
        unit.advance("AAR-01", "approve_scope", ANNA)
        unit.advance("AAR-01", "decide_award", ANNA)
    assert any_store.tender("AAR-01").state == "scoping"
    assert len(any_store.history("AAR-01")) == 1


def test_a_batch_may_move_one_tender_several_times(any_store: Store) -> None:
    """Within a batch a step can open and close; every row is written once, in order."""
    created(any_store)
    with any_store.batch(at("2008-01-10")) as unit:
        unit.advance("AAR-01", "approve_scope", ANNA, at=at("2007-08-01"))
        unit.advance("AAR-01", "publish", ANNA)
    assert [s.state for s in any_store.steps("AAR-01")] == ["scoping", "materials", "publication"]
    assert [e.seq for e in any_store.history("AAR-01")] == [1, 2, 3]
    assert any_store.tender("AAR-01").version == 2


def test_optimistic_locking_refuses_a_stale_write(any_store: Store) -> None:
    """A unit that read version 1 cannot write after someone else wrote version 2."""
    created(any_store)
    stale = any_store.act(at("2007-08-01"))
    stale.advance("AAR-01", "approve_scope", ANNA)
    any_store.advance("AAR-01", "cancel", ANNA, at("2007-08-01"), note="Politisk stop")
    with pytest.raises(ConcurrentChange, match=r"tender AAR-01 changed meanwhile; try again"):
        stale.commit()
    assert any_store.tender("AAR-01").state == "cancelled"
    assert [e.seq for e in any_store.history("AAR-01")] == [1, 2]


def test_facts_are_recorded_with_an_event(any_store: Store) -> None:
    """tender set records facts and says so in the history."""
    created(any_store)
    any_store.set_facts("AAR-01", {"baseline_cost": 2_400_000}, ANNA, at("2007-08-01"))
    assert any_store.tender("AAR-01").facts == {"baseline_cost": 2_400_000}
    assert any_store.history("AAR-01")[-1].data == {"set": {"baseline_cost": 2_400_000}}


def test_a_leader_cannot_set_facts_on_another_municipalitys_tender(any_store: Store) -> None:
    """Ole of Odense cannot record facts on an Aarhus tender."""
    created(any_store)
    with pytest.raises(NotAllowed, match=r"ole is project leader for municipality 461"):
        any_store.set_facts("AAR-01", {"bidders": 3}, OLE, at("2007-08-01"))


def test_unknown_tender_names_the_nearest(any_store: Store) -> None:
    """A misspelt id is refused with a suggestion."""
    created(any_store)
    with pytest.raises(NotFound, match=r"unknown tender 'AAR-1'; did you mean AAR-01\?"):
        any_store.tender("AAR-1")


def test_duplicate_tender_id_is_refused(any_store: Store) -> None:
    """Two tenders cannot share an id."""
    created(any_store)
    with pytest.raises(InvalidInput, match=r"tender 'AAR-01' exists already"):
        created(any_store)


def test_ids_are_made_from_the_municipality(any_store: Store) -> None:
    """Without --id, a tender of Odense is ODE-001, a joint one FAE-00n."""
    spec = NewTender("individual-tender", "Jobcenter", ("Odense",))
    assert any_store.create_tender(spec, OLE, at("2007-07-01")).id == "ODE-001"
    joint = NewTender("individual-tender", "Fælles", ("751", "461"))
    assert any_store.create_tender(joint, SEK, at("2007-07-01")).id == "FAE-002"


def test_unknown_municipality_is_refused_with_the_nearest(any_store: Store) -> None:
    """'Arhus' is not a municipality; Aarhus (751) is suggested."""
    spec = NewTender("individual-tender", "X", ("Arhus",))
    with pytest.raises(
        NotFound, match=r"unknown municipality 'Arhus'; did you mean 751 \(Aarhus\)"
    ):
        any_store.create_tender(spec, SEK, at("2007-07-01"))


def test_a_leader_creates_tenders_of_their_own_municipality_only(any_store: Store) -> None:
    """Anna of Aarhus cannot start a tender for Odense."""
    spec = NewTender("individual-tender", "X", ("461",))
    with pytest.raises(NotAllowed, match=r"can only create tenders that include it"):
        any_store.create_tender(spec, ANNA, at("2007-07-01"))


def test_a_changed_definition_is_a_new_version_and_tenders_keep_theirs(
    any_store: Store, individual: Definition
) -> None:
    """Loading a changed text makes v2; an existing tender stays on v1, a new one starts on v2."""
    created(any_store)
    assert any_store.load_definition(individual, at("2007-07-02")) == (1, "unchanged")
    changed = parse_definition(
        individual.source.replace("Tilbudsperiode", "Tilbudsfrist"), "x.yaml"
    )
    assert any_store.load_definition(changed, at("2007-07-02")) == (2, "new version")
    assert any_store.tender("AAR-01").definition_version == 1
    spec = NewTender("individual-tender", "Ny", ("751",), id="AAR-02")
    assert any_store.create_tender(spec, ANNA, at("2007-07-03")).definition_version == 2


def test_unknown_definition_lists_the_loaded_ones(any_store: Store) -> None:
    """A tender of an unknown definition is refused with what is loaded."""
    spec = NewTender("joint-tender", "X", ("751",))
    with pytest.raises(
        NotFound, match=r"unknown definition 'joint-tender'; loaded: individual-tender"
    ):
        any_store.create_tender(spec, ANNA, at("2007-07-01"))


def test_people_roles_are_checked(any_store: Store) -> None:
    """A project leader needs a municipality; roles are project_leader or secretariat."""
    with pytest.raises(InvalidInput, match=r"project leader 'x' needs a --municipality"):
        any_store.add_person(Person("x", "X", "x@x.dk", "project_leader"))
    with pytest.raises(
        InvalidInput, match=r"unknown role 'boss'.*allowed: project_leader, secretariat"
    ):
        any_store.add_person(Person("y", "Y", "y@y.dk", "boss"))
    with pytest.raises(InvalidInput, match=r"person 'anna' exists already"):
        any_store.add_person(ANNA)
    with pytest.raises(
        NotFound, match=r"unknown person 'bob' \(known: anna, kl-sek, ole, root-user\)"
    ):
        any_store.person("bob")


def test_init_registers_the_os_user_only_when_nobody_exists(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The first init registers a secretariat person; a second init (upgrade) does not."""
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    first = store.init("karen")
    assert first is not None and (first.id, first.role) == ("karen", "secretariat")
    assert store.init("karen") is None


def test_an_uninitialised_store_says_run_init(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Using a store before `kflow init` is refused with the command to run."""
    with pytest.raises(NotFound, match=r"run `kflow init` first"):
        Store(f"sqlite:///{tmp_path / 'none.db'}").require_initialised()


def test_naive_times_are_refused(any_store: Store) -> None:
    """A naive `now` never reaches the store."""
    from datetime import datetime

    with pytest.raises(ValueError, match=r"naive"):
        any_store.act(datetime(2007, 7, 1))


def test_a_stale_batch_names_the_tender_that_changed(any_store: Store) -> None:
    """Two tenders in one unit, the second changed by someone else: the refusal names it."""
    created(any_store)
    created(any_store, NewTender("individual-tender", "B", ("751",), id="AAR-02",
                                 regime="eu-2004-18", procedure="open"))  # fmt: skip
    unit = any_store.act(at("2007-08-01"))
    unit.advance("AAR-01", "approve_scope", ANNA)
    unit.advance("AAR-02", "approve_scope", ANNA)
    any_store.advance("AAR-02", "cancel", ANNA, at("2007-08-01"), note="Stop")
    with pytest.raises(ConcurrentChange, match=r"tender AAR-02 changed meanwhile; try again"):
        unit.commit()
    assert any_store.tender("AAR-01").state == "scoping"


def test_the_shipped_programme_loads_on_both_stores(any_store: Store) -> None:
    """Issue 9 item 21: the forum programme, IKU amounts past 2^31 DKK and all, on both backends."""
    from konkurrence_flow.definitions import load_definition
    from konkurrence_flow.programme import load_programme

    for path in sorted(DEFINITIONS.glob("*.yaml")):
        any_store.load_definition(load_definition(path), at("2007-04-01"))
    report = any_store.load_programme(
        load_programme(DEFINITIONS.parent / "workflows" / "forum-2007-2008.yaml"), at("2007-05-01")
    )
    assert report.status == "new" and len(report.tenders_created) == any_store.count_tenders() > 10
    aarhus = next(m for m in any_store.members() if m.code == "751")
    assert aarhus.iku is not None and aarhus.iku.exposable == 5_200_000_000


def test_tenders_with_a_fact_are_found_in_sql_whatever_its_type(any_store: Store) -> None:
    """`tenders_with_fact` (what the effects report reads) finds a fact recorded as a number or a
    text, and not a tender without it."""
    for n, value in enumerate((1200000, 99.5, "ukendt", None)):
        spec = NewTender("individual-tender", f"T{n}", ("751",), id=f"AAR-0{n}",
                         regime="eu-2004-18", procedure="open")  # fmt: skip
        any_store.create_tender(spec, ANNA, at("2007-07-01"))
        if value is not None:
            any_store.set_facts(spec.id or "", {"contract_value": value}, ANNA, at("2007-07-02"))
    found = any_store.tenders_with_fact("contract_value")
    assert [(t.id, t.facts["contract_value"]) for t in found] == [
        ("AAR-00", 1200000),
        ("AAR-01", 99.5),
        ("AAR-02", "ukendt"),
    ]
    assert any_store.tenders_with_fact("winner") == []


def test_the_dashboards_grouped_counts_and_gantt_rows_read_the_same_on_both_backends(
    any_store: Store,
) -> None:
    """dashboard.overview groups in SQL (the overdue flag computed in the query) and
    dashboard.gantt pages tenders with their visits: one query shape for SQLite and PostgreSQL."""
    from konkurrence_flow import dashboard

    created(any_store)
    spec = NewTender("individual-tender", "Mentor", ("461",), id="ODE-01", regime="eu-2004-18",
                     procedure="open")  # fmt: skip
    any_store.create_tender(spec, OLE, at("2007-07-01"))
    any_store.advance("AAR-01", "approve_scope", ANNA, at("2007-07-10"))
    seen = dashboard.overview(any_store, at("2007-07-20"))
    counts = {line.code: line.counts for line in seen.lines}
    assert counts == {"751": {"materials": 1}, "461": {"scoping": 1}}
    page = dashboard.gantt(any_store, at("2007-07-20"), dashboard.GanttFilter(), 0, 1)
    assert page.total == 2 and [r.id for r in page.rows] == ["AAR-01"]
    assert [v.state for v in page.rows[0].visits] == ["scoping", "materials"]
    only = dashboard.gantt(any_store, at("2007-07-20"), dashboard.GanttFilter(municipality="461"))
    assert [r.id for r in only.rows] == ["ODE-01"]


def test_tender_lists_filter_overdue_and_page_in_sql(any_store: Store) -> None:
    """`overdue_on`: due before the day and not in a final state; `limit`/`offset` page by id.
    The same answers on SQLite and PostgreSQL."""
    from datetime import date

    for n in range(5):
        spec = NewTender("individual-tender", f"T{n}", ("751",), id=f"AAR-0{n}",
                         regime="eu-2004-18", procedure="open")  # fmt: skip
        any_store.create_tender(spec, ANNA, at("2007-07-01"))
    with any_store.batch(at("2007-07-02")) as unit:  # due dates by hand: no programme here
        for n, due in enumerate((date(2007, 9, 1), date(2007, 10, 1), None, date(2007, 8, 1))):
            if due is not None:
                unit.move_due(f"AAR-0{n}", due, "m")
    any_store.advance("AAR-03", "cancel", ANNA, at("2007-07-03"), note="for good")
    overdue = any_store.tenders(overdue_on=date(2007, 9, 15))
    assert [t.id for t in overdue] == ["AAR-00"]  # AAR-03 was due earlier but is cancelled
    assert [t.id for t in any_store.tenders(overdue_on=date(2007, 12, 1))] == ["AAR-00", "AAR-01"]
    assert [t.id for t in any_store.tenders(limit=2, offset=1)] == ["AAR-01", "AAR-02"]
    assert [t.id for t in any_store.tenders("751", limit=10, offset=4)] == ["AAR-04"]
    assert any_store.tenders(offset=9) == []
    # every tender, read two at a time: the same tenders in the same order, filters and all
    assert [t.id for t in any_store.each_tender(chunk=2)] == [f"AAR-0{n}" for n in range(5)]
    assert list(any_store.each_tender("751", chunk=2)) == any_store.tenders("751")
    late = any_store.each_tender(overdue_on=date(2007, 12, 1), chunk=1)
    assert [t.id for t in late] == ["AAR-00", "AAR-01"]
    assert list(any_store.each_tender("461", chunk=2)) == []
    # the overdue report's candidates: final states left out by the query, earliest due first
    late_on = date(2007, 12, 1)
    assert [t.id for t in any_store.with_due_before(late_on)] == ["AAR-00", "AAR-01"]
    assert [t.id for t in any_store.with_due_before(late_on, chunk=1)] == ["AAR-00", "AAR-01"]
    assert [t.id for t in any_store.with_due_before(late_on, limit=1, offset=1)] == ["AAR-01"]
    assert list(any_store.with_due_before(late_on, programme="pilot-2007")) == []
    # what a list shows, read alone: the same tenders, lines in the same order
    lines = list(any_store.each_line(overdue_on=late_on, chunk=1))
    assert [(t.id, t.state, t.due, t.municipalities) for t in lines] == [
        (t.id, t.state, t.due, t.municipalities) for t in any_store.tenders(overdue_on=late_on)
    ]
