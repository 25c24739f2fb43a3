"""The pure engine: firing triggers, guards and their refusals, step plans. No database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from types import MappingProxyType
from typing import Any

import pytest
from support import ANNA, OLE, SEK, at

from konkurrence_flow import engine
from konkurrence_flow.definitions import Definition, parse_definition
from konkurrence_flow.errors import InvalidInput, NotAllowed, NotFound
from konkurrence_flow.model import SYSTEM, Tender

JOINT = """
name: joint-demo
title: Fælles udbud
initial: materials
states:
  materials: {label: Materiale}
  ready: {label: Klar}
  published:
    label: Offentliggjort
    after: {period: P40D, trigger: close_bidding}
  award: {label: Tildeling}
  done: {final: true}
transitions:
  - {trigger: approve_materials, source: materials, dest: ready, signoff: each-municipality}
  - {trigger: publish, source: ready, dest: published}
  - {trigger: close_bidding, source: published, dest: award, roles: [secretariat]}
  - {trigger: decide_award, source: award, dest: done, min_period: P10D}
"""


def tender(state: str = "scoping", **changes: Any) -> Tender:
    """A tender of Aarhus in `state`, entered on 2008-01-10."""
    base = Tender(
        id="AAR-01", title="Genoptræning", definition="individual-tender", definition_version=1,
        state=state, state_entered_at=at("2008-01-10"), municipalities=("751",), version=1,
        seq=1, visit=1, last_event_at=at("2008-01-10"), created_at=at("2008-01-10"),
        regime="eu-2004-18", procedure="open",
    )  # fmt: skip
    return replace(base, **changes)


@pytest.fixture(scope="module")
def joint() -> Definition:
    return parse_definition(JOINT, "joint-demo.yaml")


def test_fire_moves_to_the_destination(individual: Definition) -> None:
    """approve_scope takes a tender from scoping to materials."""
    outcome = engine.fire(individual, tender(), "approve_scope", ANNA, at("2008-01-11"))
    assert (outcome.source, outcome.dest, outcome.changed) == ("scoping", "materials", True)
    assert outcome.kind == "human" and outcome.actor == "anna"


def test_the_machine_is_built_once_per_definition(individual: Definition) -> None:
    """Every tender of one definition shares one transitions machine."""
    assert engine.machine_for(individual) is engine.machine_for(individual)


def test_a_trigger_not_allowed_here_lists_what_is(individual: Definition) -> None:
    """The refusal names the state and the triggers allowed there."""
    with pytest.raises(
        NotAllowed,
        match=r"tender AAR-01 is in 'scoping'; 'publish' is not allowed there "
        r"\(allowed: approve_scope, cancel\)",
    ):
        engine.fire(individual, tender(), "publish", ANNA, at("2008-01-11"))


def test_an_unknown_trigger_is_named(individual: Definition) -> None:
    """A trigger the definition does not have is refused as unknown."""
    with pytest.raises(
        NotFound, match=r"'launch' is not a trigger of definition 'individual-tender'"
    ):
        engine.fire(individual, tender(), "launch", ANNA, at("2008-01-11"))


def test_a_final_state_allows_nothing(individual: Definition) -> None:
    """From a final state no trigger is allowed, and the message says so."""
    with pytest.raises(NotAllowed, match=r"allowed: none: it is final"):
        engine.fire(individual, tender("done"), "cancel", ANNA, at("2008-01-11"), note="x")


def test_roles_are_enforced(individual: Definition) -> None:
    """close_bidding is for the system and the secretariat, not a project leader."""
    with pytest.raises(NotAllowed, match=r"anna \(project_leader\) may not fire 'close_bidding'.*"
                       r"allowed roles: secretariat, system"):  # fmt: skip
        engine.fire(individual, tender("publication"), "close_bidding", ANNA, at("2008-03-05"))
    assert engine.fire(individual, tender("publication"), "close_bidding", SEK, at("2008-03-05"))


def test_the_system_may_fire_a_timed_trigger_without_the_role(joint: Definition) -> None:
    """The scheduler fires a state's timed trigger even when `roles` does not name 'system'."""
    t = tender("published", definition="joint-demo")
    assert engine.fire(joint, t, "close_bidding", SYSTEM, at("2008-03-05")).kind == "timer"
    with pytest.raises(NotAllowed, match=r"system \(system\) may not fire 'publish'"):
        engine.fire(joint, tender("ready"), "publish", SYSTEM, at("2008-03-05"))


def test_a_project_leader_acts_only_in_their_municipality(individual: Definition) -> None:
    """Ole of Odense may not move an Aarhus tender."""
    with pytest.raises(NotAllowed, match=r"ole is project leader for municipality 461; "
                       r"tender AAR-01 belongs to 751"):  # fmt: skip
        engine.fire(individual, tender(), "approve_scope", OLE, at("2008-01-11"))


def test_a_mandatory_note_is_enforced(individual: Definition) -> None:
    """cancel needs a note; blanks do not count."""
    with pytest.raises(NotAllowed, match=r"'cancel' on tender AAR-01 needs a note saying why"):
        engine.fire(individual, tender(), "cancel", ANNA, at("2008-01-11"), note="  ")
    outcome = engine.fire(individual, tender(), "cancel", ANNA, at("2008-01-11"), note="Ingen bud")
    assert outcome.dest == "cancelled" and outcome.note == "Ingen bud"


def test_required_facts_are_enforced(individual: Definition) -> None:
    """decide_award needs winner and contract_value, recorded before or with the act."""
    with pytest.raises(NotAllowed, match=r"needs the facts winner, contract_value first"):
        engine.fire(individual, tender("award"), "decide_award", ANNA, at("2008-04-01"))
    partial = tender("award", facts=MappingProxyType({"winner": "Falck"}))
    with pytest.raises(NotAllowed, match=r"needs the facts contract_value first"):
        engine.fire(individual, partial, "decide_award", ANNA, at("2008-04-01"))
    outcome = engine.fire(individual, partial, "decide_award", ANNA, at("2008-04-01"),
                          facts={"contract_value": 1_200_000})  # fmt: skip
    assert outcome.dest == "standstill" and outcome.facts == {"contract_value": 1_200_000}


def test_min_period_refuses_before_expiry_with_the_date(joint: Definition) -> None:
    """decide_award waits P10D since entering award; the message gives the last day."""
    t = tender("award", definition="joint-demo", state_entered_at=at("2008-01-10"))
    with pytest.raises(NotAllowed, match=r"not allowed before the period P10D .* entering 'award' "
                       r"on 2008-01-10 has expired at the end of 2008-01-20"):  # fmt: skip
        engine.fire(joint, t, "decide_award", SEK, at("2008-01-20T23:59"))
    assert engine.fire(joint, t, "decide_award", SEK, at("2008-01-21")).dest == "done"


def test_signoff_waits_for_every_municipality(joint: Definition) -> None:
    """The state changes only on the last participant's sign-off; each one is recorded."""
    t = tender("materials", definition="joint-demo", municipalities=("751", "461"))
    first = engine.fire(joint, t, "approve_materials", ANNA, at("2008-01-11"))
    assert (first.changed, first.dest, first.signed, first.pending) == (
        False, "materials", ("751",), ("461",),
    )  # fmt: skip
    t = replace(t, signoffs=MappingProxyType({"approve_materials": first.signed}))
    with pytest.raises(NotAllowed, match=r"municipality 751 has already signed off "
                       r"'approve_materials' on tender AAR-01; waiting for: 461"):  # fmt: skip
        engine.fire(joint, t, "approve_materials", ANNA, at("2008-01-12"))
    last = engine.fire(joint, t, "approve_materials", OLE, at("2008-01-12"))
    assert (last.changed, last.dest, last.signed) == (True, "ready", ("751", "461"))


def test_signoff_is_for_project_leaders_only(joint: Definition) -> None:
    """The secretariat cannot sign off on a municipality's behalf."""
    t = tender("materials", definition="joint-demo", municipalities=("751", "461"))
    with pytest.raises(NotAllowed, match=r"is a sign-off by each participating municipality's "
                       r"project leader; kl-sek is secretariat"):  # fmt: skip
        engine.fire(joint, t, "approve_materials", SEK, at("2008-01-11"))


def test_plan_step_gives_due_and_timer(individual: Definition) -> None:
    """Publication entered 2008-01-10 times out at 2008-03-04 00:00 (day 52 is a Sunday)."""
    plan = engine.plan_step(individual, "publication", at("2008-01-10T10:00"), tender(), {})
    assert plan.timer_at == at("2008-03-04") and plan.timer_trigger == "close_bidding"
    award = engine.plan_step(individual, "award", at("2008-03-04"), tender(), {})
    assert award.due == date(2008, 4, 15) and award.timer_at is None
    scoping = engine.plan_step(individual, "scoping", at("2007-07-01"), tender(),
                               {"areas-decided": date(2007, 9, 30)})  # fmt: skip
    assert scoping.due == date(2007, 9, 30)


def test_days_overdue_counts_from_the_day_after_due() -> None:
    """Due 2007-09-30: 0 on that day, 1 on 2007-10-01."""
    assert engine.days_overdue(date(2007, 9, 30), date(2007, 9, 30)) == 0
    assert engine.days_overdue(date(2007, 9, 30), date(2007, 10, 1)) == 1
    assert engine.days_overdue(None, date(2007, 10, 1)) == 0


def test_effective_time_is_neither_future_nor_before_the_last_event() -> None:
    """--at must lie between the tender's last event and now."""
    t = tender(last_event_at=at("2008-01-10T12:00"))
    with pytest.raises(InvalidInput, match=r"is in the future"):
        engine.check_effective_time(t, at("2008-02-01"), at("2008-01-20"))
    with pytest.raises(InvalidInput, match=r"is before tender AAR-01's last event"):
        engine.check_effective_time(t, at("2008-01-10T11:00"), at("2008-01-20"))
    engine.check_effective_time(t, at("2008-01-15"), at("2008-01-20"))


def test_the_clock_behind_the_last_event_is_a_refusal_not_bad_input() -> None:
    """No --at: the clock's time before the last event (another act got in after the service read
    its clock) is refused by the domain (409 in the service), not malformed input (400)."""
    t = tender(last_event_at=at("2008-01-10T12:00:00.000002"))
    now = at("2008-01-10T12:00:00.000001")
    with pytest.raises(NotAllowed, match=r"is before tender AAR-01's last event") as refused:
        engine.check_effective_time(t, now, now, given=False)
    assert not isinstance(refused.value, InvalidInput)
