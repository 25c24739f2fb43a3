"""Programme files: validation with positions, idempotent loading, milestones that move."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from support import ROOT, at

from konkurrence_flow.definitions import Definition
from konkurrence_flow.errors import DefinitionError
from konkurrence_flow.programme import load_programme, parse_programme
from konkurrence_flow.reports import timeline
from konkurrence_flow.store import Store

PILOT = ROOT / "workflows" / "pilot-2007.yaml"


def test_the_pilot_programme_parses() -> None:
    """Milestones from quarter expressions, official municipality names, planned tenders."""
    pilot = load_programme(PILOT)
    assert pilot.milestones["areas-decided"].date == date(2007, 9, 30)
    assert pilot.milestones["tenders-launched"].date == date(2008, 3, 31)
    assert [m.name for m in pilot.members] == ["Aarhus", "Odense", "Frederiksberg"]
    assert {t.id for t in pilot.tenders} >= {"AAR-SUND-01", "ODE-BESK-01"}
    assert pilot.tenders[0].start == date(2007, 7, 2)


def test_every_problem_is_reported_with_its_position() -> None:
    """Unknown keys, bad dates, unknown municipalities and leaders: all at once, with line:col."""
    text = (
        "name: p\nstart: 2007-04-01\nend: 2008-09-30\n"
        "milestones:\n  a: end of Q5 2007\n"
        "municipalities:\n  - {code: '751', name: Arhus}\n  - {code: '999'}\n"
        "people:\n  - {id: x, name: X, email: x@x.dk, role: boss}\n"
        "tenders:\n  - {id: T1, definition: d, title: T, municipalities: ['461'], leader: y, strat: 1}\n"
    )
    with pytest.raises(DefinitionError) as caught:
        parse_programme(text, "p.yaml")
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith("p.yaml:5:6: ") and "Q5" in m for m in messages), messages
    assert "p.yaml:7:25: municipality 751 is Aarhus, not 'Arhus'" in messages
    assert any(m.startswith("p.yaml:8:12: unknown municipality '999'") for m in messages)
    assert any(m.startswith("p.yaml:10:43: unknown role 'boss'") for m in messages)
    assert any("municipality 461 is not in the programme's municipalities" in m for m in messages)
    assert any("leader 'y' is not among the people" in m for m in messages)
    assert any("unknown key 'strat' in a tender; did you mean 'start'?" in m for m in messages)


def test_a_planned_tenders_leader_may_act_on_it() -> None:
    """A project leader of a municipality the tender does not include could never act on it:
    refused at its place, as `tender create --leader` refuses it."""
    text = (
        "name: p\nstart: 2007-04-01\nend: 2008-09-30\n"
        "municipalities:\n  - {code: '751'}\n  - {code: '461'}\n"
        "people:\n  - {id: ole, name: Ole, email: o@x.dk, role: project_leader, municipality: '461'}\n"
        "tenders:\n  - {id: T1, definition: d, title: T, municipalities: ['751'], leader: ole}\n"
    )
    with pytest.raises(DefinitionError) as caught:
        parse_programme(text, "p.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "p.yaml:10:72: leader 'ole' is project leader for municipality 461, which is not in this "
        "tender (751): a leader must be able to act on it"
    ]
    fine = text.replace(
        "municipalities: ['751'], leader: ole", "municipalities: ['461'], leader: ole"
    )
    assert parse_programme(fine, "p.yaml").tenders[0].leader == "ole"


def test_loading_twice_changes_nothing(store: Store) -> None:
    """A second load of the same file reports 'unchanged' and writes nothing."""
    first = store.load_programme(load_programme(PILOT), at("2007-06-01"))
    assert first.status == "new" and len(first.tenders_created) == 4
    versions = {t.id: t.version for t in store.tenders()}
    again = store.load_programme(load_programme(PILOT), at("2007-06-02"))
    assert again.status == "unchanged" and again.tenders_created == []
    assert {t.id: t.version for t in store.tenders()} == versions


def test_planned_tenders_start_on_their_date_with_milestone_dues(store: Store) -> None:
    """AAR-SUND-01 enters scoping on 2007-07-02, due at the end of Q3 2007."""
    store.load_programme(load_programme(PILOT), at("2007-06-01"))
    tender = store.tender("AAR-SUND-01")
    assert (tender.state, tender.due, tender.programme) == (
        "scoping",
        date(2007, 9, 30),
        "pilot-2007",
    )
    assert tender.state_entered_at == at("2007-07-02")
    assert store.history("AAR-SUND-01")[0].kind == "system"


def test_a_moved_milestone_moves_the_due_dates_that_use_it(store: Store, tmp_path: Path) -> None:
    """Reloading with areas-decided a month later re-dues every tender in scoping, and says so."""
    store.load_programme(load_programme(PILOT), at("2007-06-01"))
    store.advance("AAR-SUND-01", "approve_scope", store.person("anna"), at("2007-08-01"))
    moved = tmp_path / "pilot.yaml"
    moved.write_text(PILOT.read_text().replace("end of Q3 2007", "2007-10-31"))
    report = store.load_programme(load_programme(moved), at("2007-08-02"))
    assert report.milestones_moved == {"areas-decided": (date(2007, 9, 30), date(2007, 10, 31))}
    assert sorted(t for t, *_ in report.dues_moved) == ["AAR-BESK-01", "FRB-SUND-01", "ODE-BESK-01"]
    assert store.tender("ODE-BESK-01").due == date(2007, 10, 31)
    assert store.tender("AAR-SUND-01").due == date(2008, 3, 31)  # already in materials
    last = store.history("ODE-BESK-01")[-1]
    assert last.data == {"due_moved": {"milestone": "areas-decided", "from": "2007-09-30",
                                       "to": "2007-10-31"}}  # fmt: skip
    assert [s.due for s in store.steps("ODE-BESK-01")] == [date(2007, 10, 31)]


def test_a_programme_needs_its_definitions_and_their_milestones(
    store: Store, individual: Definition
) -> None:
    """Unknown definitions and missing milestones are refused at the tender's position."""
    text = PILOT.read_text().replace("individual-tender", "joint-tender", 1)
    with pytest.raises(DefinitionError, match=r"pilot.yaml:\d+:\d+: tender AAR-SUND-01 uses "
                       r"definition 'joint-tender', which is not loaded"):  # fmt: skip
        store.load_programme(parse_programme(text, "pilot.yaml"), at("2007-06-01"))
    text = PILOT.read_text().replace("  results-collected:", "  results-gathered:")
    with pytest.raises(DefinitionError, match=r"needs the milestone 'results-collected'"):
        store.load_programme(parse_programme(text, "pilot.yaml"), at("2007-06-01"))
    assert store.count_tenders() == 0


def test_the_timeline_lists_quarters_and_what_is_due(store: Store) -> None:
    """programme show: six quarters, milestones in them, tenders due on each."""
    pilot = load_programme(PILOT)
    store.load_programme(pilot, at("2007-06-01"))
    quarters = timeline(store, pilot)
    assert [q["quarter"] for q in quarters] == ["Q2 2007", "Q3 2007", "Q4 2007", "Q1 2008",
                                                 "Q2 2008", "Q3 2008"]  # fmt: skip
    q3 = quarters[1]["milestones"][0]
    assert q3["name"] == "areas-decided" and len(q3["due"]) == 4


def test_a_step_due_later_gets_new_notices_for_the_new_date(store: Store, tmp_path: Path) -> None:
    """Overdue on the old date, then the milestone moves a month on: the old flag is lifted, the
    new date gets its own reminders and, once passed, its own overdue notice."""
    from konkurrence_flow.scheduler import tick

    store.load_programme(load_programme(PILOT), at("2007-06-01"))
    tick(store, at("2007-10-02"))
    moved = tmp_path / "pilot.yaml"
    moved.write_text(PILOT.read_text().replace("end of Q3 2007", "2007-10-31"))
    store.load_programme(load_programme(moved), at("2007-10-03"))
    assert store.tender("ODE-BESK-01").overdue_flagged_at is None
    report = tick(store, at("2007-11-01"))
    assert {(h.what, h.due) for h in report.happenings if h.tender == "ODE-BESK-01"} == {
        ("reminder", date(2007, 10, 31)), ("overdue", date(2007, 10, 31)),
    }  # fmt: skip
    keys = [n.dedupe_key for n in store.notifications() if n.tender == "ODE-BESK-01"]
    assert "overdue:ODE-BESK-01:1:first-day@2007-09-30:ole" in keys
    assert "overdue:ODE-BESK-01:1:first-day@2007-10-31:ole" in keys


def test_a_moved_due_date_does_not_repeat_reminders_whose_day_has_passed(
    store: Store, tmp_path: Path
) -> None:
    """Reminded for 09-30 on 09-16 and 09-27; moved to 10-03 on 09-29: the 14-day reminder (its day,
    09-19, has passed) is not sent again; the 3-day one, due on 09-30, is."""
    from konkurrence_flow.scheduler import tick

    store.load_programme(load_programme(PILOT), at("2007-06-01"))
    tick(store, at("2007-09-29"))
    before = len(store.notifications())
    moved = tmp_path / "pilot.yaml"
    moved.write_text(PILOT.read_text().replace("end of Q3 2007", "2007-10-03"))
    store.load_programme(load_programme(moved), at("2007-09-29"))
    reminders = tick(store, at("2007-09-30")).of("reminder")
    assert {h.detail for h in reminders} == {"P3D before 2007-10-03"} and len(reminders) == 4
    assert len(store.notifications()) == before + 4


def test_loading_a_moved_milestone_first_catches_up_on_the_old_date(
    store: Store, tmp_path: Path
) -> None:
    """No tick ran since September: the load first flags the step overdue on the old date."""
    store.load_programme(load_programme(PILOT), at("2007-06-01"))
    moved = tmp_path / "pilot.yaml"
    moved.write_text(PILOT.read_text().replace("end of Q3 2007", "2007-10-20"))
    store.load_programme(load_programme(moved), at("2007-10-10"))
    history = store.history("ODE-BESK-01")
    assert [e.data.get("overdue") for e in history if "overdue" in e.data] == ["2007-09-30"]
    assert history[-1].data["due_moved"]["to"] == "2007-10-20"
