"""The definition language: YAML -> a validated, frozen Definition, or every problem at once."""

from __future__ import annotations

import hashlib
import re
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from konkurrence_flow._yaml import Problems, YList, YMap, check_keys, did_you_mean, read_yaml
from konkurrence_flow.calendar import Period
from konkurrence_flow.definitions import (
    Definition,
    Due,
    LegalPeriod,
    State,
    Timed,
    Transition,
    load_definition,
    parse_definition,
    validate_paths,
)
from konkurrence_flow.errors import DefinitionError, NotFound

FIXTURES = Path(__file__).parent / "fixtures" / "definitions"
INDIVIDUAL = FIXTURES / "individual-tender.yaml"
MANY_PROBLEMS = FIXTURES / "invalid" / "many-problems.yaml"
LEADERS = frozenset({"project_leader", "secretariat"})
NON_FINAL = ("scoping", "materials", "publication", "award", "data_collection")


def parse(text: str) -> Definition:
    """Parse an indented snippet as the file x.yaml."""
    return parse_definition(textwrap.dedent(text), "x.yaml")


def expect_problem(text: str, where_and_what: str) -> None:
    """Parsing `text` must report the problem `line:col: message` (among others)."""
    with pytest.raises(DefinitionError, match=re.escape(f"x.yaml:{where_and_what}")):
        parse(text)


@pytest.fixture(scope="module")
def individual() -> Definition:
    """The shipped-style individual tender definition."""
    return load_definition(INDIVIDUAL)


# A valid definition


def test_states_parse_into_frozen_states_in_display_order(individual: Definition) -> None:
    """Every state keeps its label, due, reminders and timed transition, in file order."""
    assert dict(individual.states) == {
        "scoping": State(
            "scoping",
            "Afdækning og beslutning af udbudsområde",
            due=Due(milestone="areas-decided"),
            remind=(Period(14, "D"), Period(3, "D")),
        ),
        "materials": State("materials", "Udbudsmateriale", due=Due(after=Period(10, "WD"))),
        "publication": State(
            "publication",
            "Tilbudsperiode",
            after=Timed(Period(52, "D", rolls=True), "close_bidding"),
        ),
        "award": State("award", "Tildeling", due=Due(after=Period(10, "D", rolls=True))),
        "data_collection": State(
            "data_collection", "Dataindsamling", due=Due(date=date(2008, 9, 30))
        ),
        "done": State("done", "done", final=True),
        "cancelled": State("cancelled", "Annulleret", final=True),
    }


def test_transitions_parse_with_defaults_and_the_wildcard_expanded(individual: Definition) -> None:
    """Roles default to project leader and secretariat; "*" means every non-final state."""
    assert individual.transitions == (
        Transition("approve_scope", ("scoping",), "materials", LEADERS, ("baseline_cost",)),
        Transition("publish", ("materials",), "publication", frozenset({"secretariat"})),
        Transition(
            "close_bidding", ("publication",), "award", frozenset({"system", "secretariat"})
        ),
        Transition(
            "award_contract",
            ("award",),
            "data_collection",
            min_period=LegalPeriod("standstill"),
            signoff="each-municipality",
        ),
        Transition("finish", ("data_collection",), "done"),
        Transition("cancel", NON_FINAL, "cancelled", note_required=True),
    )


def test_definition_keeps_its_identity_and_source(individual: Definition) -> None:
    """Name, title, initial state, path, source text and its sha256 are kept."""
    source = INDIVIDUAL.read_text(encoding="utf-8")
    assert (individual.name, individual.title, individual.initial) == (
        "individual-tender",
        "Individuelt udbud",
        "scoping",
    )
    assert (individual.path, individual.source) == (str(INDIVIDUAL), source)
    assert individual.sha256 == hashlib.sha256(source.encode()).hexdigest()


def test_lookups_answer_from_precomputed_indexes(individual: Definition) -> None:
    """transitions_from, find and triggers answer in file order; finals have no exits."""
    assert [t.trigger for t in individual.transitions_from("publication")] == [
        "close_bidding",
        "cancel",
    ]
    assert individual.transitions_from("done") == ()
    assert individual.find("award", "cancel") is individual.transitions[-1]
    assert individual.find("done", "cancel") is None
    assert individual.triggers() == (
        *("approve_scope", "publish", "close_bidding", "award_contract", "finish", "cancel"),
    )


def test_unknown_state_lookup_says_what_exists(individual: Definition) -> None:
    """Asking for a state that does not exist is NotFound, with a suggestion."""
    with pytest.raises(NotFound, match="has no state 'publikation'; did you mean 'publication'"):
        individual.state("publikation")
    with pytest.raises(NotFound, match="has no state 'nowhere'"):
        individual.transitions_from("nowhere")


def test_definition_is_frozen(individual: Definition) -> None:
    """A parsed definition cannot be changed."""
    with pytest.raises(AttributeError):
        individual.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        individual.states["x"] = individual.states["done"]  # type: ignore[index]


def test_parsing_twice_gives_the_same_hash_and_states() -> None:
    """Loading a definition twice changes nothing."""
    text = INDIVIDUAL.read_text(encoding="utf-8")
    first, second = parse_definition(text), parse_definition(text)
    assert first.sha256 == second.sha256
    assert first.states == second.states
    assert first.transitions == second.transitions


def test_definitions_built_in_code_get_distinct_hashes() -> None:
    """Without a source, the hash is of the content, so different machines never share one."""
    states = {"a": State("a", "a"), "b": State("b", "b", final=True)}
    one = Definition("m", "M", "a", states, (Transition("go", ("a",), "b"),))
    two = Definition("m", "M", "a", states, (Transition("jump", ("a",), "b"),))
    assert one.sha256 != two.sha256


def test_initial_may_be_marked_on_the_state_and_periods_take_the_mapping_form() -> None:
    """`initial: true` replaces the top-level key; `{period: .., rolls: ..}` works everywhere."""
    definition = parse(
        """\
        name: mini
        states:
          a: {initial: true, due: {after: {period: P2W, rolls: true}}, remind: [P1W]}
          b: {final: true}
        transitions:
          - {trigger: go, source: [a], dest: b, min_period: {period: 5 working days, rolls: true}}
        """
    )
    assert definition.initial == "a"
    assert definition.state("a").due == Due(after=Period(2, "W", rolls=True))
    assert definition.transitions[0].min_period == Period(5, "WD", rolls=True)


def test_legal_periods_always_roll_and_keep_their_name() -> None:
    """`legal.*` periods are kept by name, to be resolved from the tender's regime."""
    definition = parse(
        """\
        name: mini
        initial: a
        states:
          a: {after: {period: legal.tender_period, trigger: go}}
          b: {final: true}
        transitions:
          - {trigger: go, source: a, dest: b, min_period: legal.requests_period}
        """
    )
    timed = definition.state("a").after
    assert timed == Timed(LegalPeriod("tender_period"), "go")
    assert str(timed.period) == "legal.tender_period"
    assert definition.transitions[0].min_period == LegalPeriod("requests_period")


# One problem of each kind, where it is


def test_yaml_syntax_error_points_at_yaml_mark_with_a_hint() -> None:
    """A YAML syntax error is reported where YAML saw it, with the usual culprits."""
    hint = "; hint: check indentation and that ':' is followed by a space"
    # libyaml says "not allowed in this context", pure-Python PyYAML "not allowed here"
    with pytest.raises(
        DefinitionError, match=rf"^x.yaml:3:7: mapping values are not allowed .*{hint}$"
    ):
        parse(
            """\
            name: mini
            states:
              a: b: c
            """
        )


def test_top_level_must_be_a_mapping() -> None:
    """A list (or an empty file) is not a definition."""
    expect_problem("- a\n- b\n", "1:1: a definition must be a mapping with keys name, title")
    expect_problem(
        "",
        "1:1: a definition must be a mapping with keys name, title, initial, states, "
        "transitions; got an empty file",
    )


def test_missing_name_and_states_are_reported() -> None:
    """`name` and `states` are required."""
    with pytest.raises(DefinitionError) as caught:
        parse("title: x\n")
    assert [str(p) for p in caught.value.problems] == [
        "x.yaml:1:1: the definition is missing the key 'name' (an id like 'individual-tender')",
        "x.yaml:1:1: the definition is missing the key 'states' (state names, in display order)",
    ]


def test_name_must_be_an_id() -> None:
    """A definition's name is lowercase letters, digits and dashes."""
    expect_problem(
        """\
        name: Joint Tender
        initial: a
        states: {a: {final: true}}
        """,
        "1:7: name 'Joint Tender' is not an id; use lowercase letters, digits and dashes, "
        "e.g. 'joint-tender'",
    )


def test_trigger_must_be_snake_case() -> None:
    """A trigger is snake_case."""
    expect_problem(
        """\
        name: mini
        initial: a
        states: {a: , b: {final: true}}
        transitions:
          - {trigger: Go-Now, source: a, dest: b}
        """,
        "5:15: trigger 'Go-Now' is not snake_case; use lowercase letters, digits and "
        "underscores, e.g. 'go_now'",
    )


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    """A misspelt top-level key is named, with the closest allowed key."""
    expect_problem(
        """\
        name: mini
        titel: Mini
        initial: a
        states: {a: {final: true}}
        """,
        "2:1: unknown key 'titel' in the definition; did you mean 'title'?",
    )


def test_unknown_state_key_suggests_the_right_one() -> None:
    """A misspelt key in a state is reported at the key."""
    expect_problem(
        """\
        name: mini
        initial: scoping
        states:
          scoping:
            lable: Afdækning
            final: true
        """,
        "5:5: unknown key 'lable' in state 'scoping'; did you mean 'label'?",
    )


def test_unknown_transition_key_lists_the_allowed_keys() -> None:
    """A key with no close match lists what is allowed."""
    expect_problem(
        """\
        name: mini
        initial: a
        states: {a: , b: {final: true}}
        transitions:
          - {trigger: go, source: a, dest: b, colour: red}
        """,
        "5:39: unknown key 'colour' in transition 'go'; allowed: trigger, source, dest, roles, "
        "requires, min_period, note_required, signoff",
    )


def test_unknown_dest_suggests_a_state() -> None:
    """A transition to a state that does not exist names the closest state."""
    expect_problem(
        """\
        name: mini
        initial: materials
        states:
          materials:
          publication: {final: true}
        transitions:
          - trigger: publish
            source: materials
            dest: publikation
        """,
        "9:11: transition 'publish' goes to unknown state 'publikation'; "
        "did you mean 'publication'?",
    )


def test_unknown_source_in_a_list_is_reported_at_the_item() -> None:
    """Each source of a list is checked where it is written."""
    expect_problem(
        """\
        name: mini
        initial: a
        states: {a: , b: {final: true}}
        transitions:
          - {trigger: go, source: [a, c], dest: b}
        """,
        "5:31: transition 'go' comes from unknown state 'c'; allowed: a, b",
    )


def test_unknown_initial_state_suggests_a_state() -> None:
    """The top-level `initial` must name a state."""
    expect_problem(
        """\
        name: mini
        initial: scopin
        states: {scoping: {final: true}}
        """,
        "2:10: initial state 'scopin' is not a state; did you mean 'scoping'?",
    )


def test_no_initial_state_is_reported() -> None:
    """Without `initial`, one state must say `initial: true`."""
    expect_problem(
        """\
        name: mini
        states: {a: {final: true}}
        """,
        "1:1: no initial state; set 'initial: <state>' at the top or 'initial: true' on a state",
    )


def test_top_level_initial_and_another_marked_state_are_several() -> None:
    """A different state marked `initial: true` conflicts with the top-level `initial`."""
    expect_problem(
        """\
        name: mini
        initial: a
        states:
          a:
          b: {initial: true, final: true}
        transitions:
          - {trigger: go, source: a, dest: b}
        """,
        "5:16: several initial states: 'a' (top-level 'initial') and 'b' (initial: true); keep one",
    )


def test_two_states_marked_initial_are_several() -> None:
    """Only one state may be marked `initial: true`."""
    expect_problem(
        """\
        name: mini
        states:
          a: {initial: true}
          b: {initial: true, final: true}
        transitions:
          - {trigger: go, source: a, dest: b}
        """,
        "4:16: several initial states: 'a' (initial: true) and 'b' (initial: true); keep one",
    )


def test_unreachable_state_is_reported_at_its_name() -> None:
    """A state that no path from the initial state reaches is reported."""
    expect_problem(
        """\
        name: mini
        initial: scoping
        states:
          scoping:
          done: {final: true}
          award:
        transitions:
          - {trigger: finish, source: scoping, dest: done}
          - {trigger: close, source: award, dest: done}
        """,
        "6:3: state 'award' is unreachable from the initial state 'scoping'",
    )


def test_non_final_state_without_a_way_out_is_reported() -> None:
    """A state that is not final needs at least one transition out of it."""
    expect_problem(
        """\
        name: mini
        initial: a
        states:
          a:
          stuck:
        transitions:
          - {trigger: go, source: a, dest: stuck}
        """,
        "5:3: state 'stuck' has no way out; add a transition from it or mark it 'final: true'",
    )


def test_final_state_named_as_a_source_is_reported() -> None:
    """A final state has no exits; '*' skips final states, but naming one is an error."""
    expect_problem(
        """\
        name: mini
        initial: a
        states: {a: , done: {final: true}}
        transitions:
          - {trigger: finish, source: a, dest: done}
          - {trigger: reopen, source: done, dest: a}
        """,
        "6:31: transition 'reopen' leaves final state 'done'; a final state has no exits",
    )


def test_same_trigger_twice_from_one_state_is_reported() -> None:
    """A trigger leads to one place from each state, including through '*'."""
    expect_problem(
        """\
        name: mini
        initial: a
        states: {a: , b: {final: true}, c: {final: true}}
        transitions:
          - {trigger: cancel, source: "*", dest: b}
          - {trigger: cancel, source: [a], dest: c}
        """,
        "6:32: trigger 'cancel' is defined twice from state 'a' (first at line 5); "
        "one trigger leads to one place",
    )


def test_malformed_period_reports_the_calendar_message() -> None:
    """A period that cannot be read is reported at its value with the allowed forms."""
    expect_problem(
        """\
        name: mini
        initial: a
        states:
          a: {due: {after: 52 days}}
          b: {final: true}
        transitions:
          - {trigger: go, source: a, dest: b}
        """,
        "4:20: due of state 'a': period '52 days' is not understood; use P<n>D, P<n>W, P<n>M "
        "or '<n> working days'",
    )


def test_unknown_legal_period_suggests_the_right_one() -> None:
    """`legal.<name>` must name a legal period."""
    expect_problem(
        """\
        name: mini
        initial: a
        states: {a: , b: {final: true}}
        transitions:
          - trigger: go
            source: a
            dest: b
            min_period: legal.tender
        """,
        "8:17: unknown legal period 'legal.tender' in min_period of transition 'go'; "
        "did you mean 'legal.tender_period'?",
    )


def test_legal_periods_cannot_be_told_not_to_roll() -> None:
    """`rolls: false` on a legal period is a contradiction."""
    expect_problem(
        """\
        name: mini
        initial: a
        states: {a: , b: {final: true}}
        transitions:
          - {trigger: go, source: a, dest: b, min_period: {period: legal.standstill, rolls: false}}
        """,
        "5:60: min_period of transition 'go': legal periods always roll; remove 'rolls: false'",
    )


def test_reminders_take_calendar_periods_only() -> None:
    """A reminder before the due date cannot be a legal period."""
    expect_problem(
        """\
        name: mini
        initial: a
        states:
          a: {due: {milestone: m}, remind: [P3D, legal.standstill]}
          b: {final: true}
        transitions:
          - {trigger: go, source: a, dest: b}
        """,
        "4:42: remind of state 'a' takes calendar periods like 'P14D', not the legal period "
        "'legal.standstill'",
    )


def test_unknown_role_suggests_the_right_one() -> None:
    """Roles are project_leader, secretariat and system."""
    expect_problem(
        """\
        name: mini
        initial: a
        states: {a: , b: {final: true}}
        transitions:
          - {trigger: go, source: a, dest: b, roles: [project_leder]}
        """,
        "5:47: unknown role 'project_leder' in transition 'go'; did you mean 'project_leader'?",
    )


def test_unknown_signoff_lists_the_allowed_value() -> None:
    """The only sign-off is each-municipality."""
    expect_problem(
        """\
        name: mini
        initial: a
        states: {a: , b: {final: true}}
        transitions:
          - {trigger: go, source: a, dest: b, signoff: everyone}
        """,
        "5:48: unknown signoff 'everyone' in transition 'go'; allowed: each-municipality",
    )


def test_signoff_needs_project_leaders_among_the_roles() -> None:
    """Each municipality's project leader signs off, so the role must be allowed."""
    expect_problem(
        """\
        name: mini
        initial: a
        states: {a: , b: {final: true}}
        transitions:
          - {trigger: go, source: a, dest: b, signoff: each-municipality, roles: [secretariat]}
        """,
        "5:74: transition 'go' needs a sign-off by each municipality's project leader, "
        "so its roles must include 'project_leader'",
    )


def test_remind_without_due_is_reported() -> None:
    """Reminders are counted back from a due date, so they need one."""
    expect_problem(
        """\
        name: mini
        initial: a
        states:
          a:
            remind: [P3D]
          b: {final: true}
        transitions:
          - {trigger: go, source: a, dest: b}
        """,
        "5:5: state 'a' has 'remind' but no 'due'; reminders are counted back from the due date",
    )


def test_due_takes_exactly_one_form() -> None:
    """`due` is a milestone, a period after entry, or a date: one of them."""
    expect_problem(
        """\
        name: mini
        initial: a
        states:
          a: {due: {milestone: m, date: 2007-09-30}}
          b: {final: true}
        transitions:
          - {trigger: go, source: a, dest: b}
        """,
        "4:12: due of state 'a' takes exactly one of milestone, after, date; got milestone, date",
    )


def test_unreadable_due_date_reports_the_calendar_message() -> None:
    """A due date must be an ISO date or a quarter expression."""
    expect_problem(
        """\
        name: mini
        initial: a
        states:
          a: {due: {date: next spring}}
          b: {final: true}
        transitions:
          - {trigger: go, source: a, dest: b}
        """,
        "4:19: due of state 'a': date 'next spring' is not understood",
    )


def test_timed_trigger_must_leave_its_state() -> None:
    """A state's `after:` fires a trigger that some transition from that state defines."""
    expect_problem(
        """\
        name: mini
        initial: publication
        states:
          publication:
            after: {period: P52D, rolls: true, trigger: close_biding}
          award: {final: true}
        transitions:
          - {trigger: close_bidding, source: publication, dest: award}
        """,
        "5:49: state 'publication' fires 'close_biding' after P52D, but no transition "
        "'close_biding' leaves 'publication'; did you mean 'close_bidding'?",
    )


@pytest.mark.parametrize(
    ("transition", "expected"),
    [
        (
            "{trigger: go, source: a, dest: b, note_required: maybe}",
            "5:54: note_required of transition 'go' must be true or false; got 'maybe'",
        ),
        (
            "{trigger: go, source: a, dest: b, requires: 5}",
            "5:49: requires of transition 'go' must be a list of facts; got 5",
        ),
        (
            "{trigger: go, source: a, dest: b, roles: secretariat}",
            "5:46: roles of transition 'go' must be a list of roles; got 'secretariat'",
        ),
        (
            "{trigger: go, source: 7, dest: b}",
            "5:27: source of transition 'go' must be a state, a list of states, or '*'; got 7",
        ),
    ],
)
def test_values_of_the_wrong_type_are_reported(transition: str, expected: str) -> None:
    """A value of the wrong type says what was expected and what was found."""
    states = "{a: , b: {final: true}}"
    expect_problem(
        f"name: mini\ninitial: a\nstates: {states}\ntransitions:\n  - {transition}\n", expected
    )


def test_duplicate_yaml_keys_are_reported() -> None:
    """A key written twice in one mapping is a problem, not a silent overwrite."""
    expect_problem(
        """\
        name: mini
        initial: a
        states:
          a:
          a:
        """,
        "5:3: duplicate key 'a' (first at line 4)",
    )


# Every problem at once


def test_a_file_with_several_problems_reports_them_all_in_order() -> None:
    """Validation does not stop at the first problem: every one is reported, by position."""
    with pytest.raises(DefinitionError) as caught:
        load_definition(MANY_PROBLEMS)
    where = [(p.line, p.col, p.message.split(";")[0]) for p in caught.value.problems]
    assert where == [
        (2, 7, "name 'Joint Tender' is not an id"),
        (6, 5, "unknown key 'lable' in state 'scoping'"),
        (8, 18, "due of state 'materials': period 'P2X' is not understood"),
        (9, 3, "state 'publication' has no way out"),
        (9, 3, "state 'publication' is unreachable from the initial state 'scoping'"),
        (
            10,
            36,
            "state 'publication' fires 'close_bidding' after P52D, but no transition "
            "'close_bidding' leaves 'publication'",
        ),
        (11, 3, "state 'award' has no way out"),
        (11, 3, "state 'award' is unreachable from the initial state 'scoping'"),
        (12, 3, "state 'done' is unreachable from the initial state 'scoping'"),
        (17, 13, "unknown role 'project_leder' in transition 'approve_scope'"),
        (20, 11, "transition 'publish' goes to unknown state 'publikation'"),
        (22, 13, "transition 'reopen' leaves final state 'done'"),
    ]
    assert all(p.file == str(MANY_PROBLEMS) for p in caught.value.problems)


# Files and folders


def test_validate_paths_reads_the_yaml_files_of_a_folder(tmp_path: Path) -> None:
    """A folder yields its *.yaml and *.yml files, sorted; other files are ignored."""
    text = INDIVIDUAL.read_text(encoding="utf-8")
    (tmp_path / "b.yml").write_text(text.replace("individual-tender", "other-tender"))
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "notes.txt").write_text("not a definition")
    (tmp_path / "c.yaml").write_text(MANY_PROBLEMS.read_text(encoding="utf-8"))
    definitions, problems = validate_paths([tmp_path])
    assert [d.name for d in definitions] == ["individual-tender", "other-tender"]
    assert len(problems) == 12
    assert {p.file for p in problems} == {str(tmp_path / "c.yaml")}


def test_validate_paths_does_not_descend_into_subfolders() -> None:
    """Only the files directly in a folder are definitions (fixtures/invalid is left alone)."""
    definitions, problems = validate_paths([FIXTURES])
    assert ([d.name for d in definitions], problems) == (["individual-tender"], [])


def test_validate_paths_reports_a_missing_path_at_its_first_line(tmp_path: Path) -> None:
    """A path that cannot be read is a problem at line 1, column 1."""
    missing = tmp_path / "nowhere.yaml"
    definitions, problems = validate_paths([INDIVIDUAL, missing])
    assert [d.name for d in definitions] == ["individual-tender"]
    assert [str(p) for p in problems] == [
        f"{missing}:1:1: cannot read the file: No such file or directory"
    ]


def test_validate_paths_reports_a_name_used_twice(tmp_path: Path) -> None:
    """Two files may not define the same name."""
    (tmp_path / "copy.yaml").write_text(INDIVIDUAL.read_text(encoding="utf-8"))
    _, problems = validate_paths([INDIVIDUAL, tmp_path])
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'copy.yaml'}:2:7: definition name 'individual-tender' is already used by "
        f"{INDIVIDUAL}"
    ]


def test_a_file_that_is_not_utf8_is_reported_where_it_breaks(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are located, not raised as UnicodeDecodeError."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: x\ntitle: Afdækning\n".encode("latin-1"))
    with pytest.raises(
        DefinitionError, match=r"latin1.yaml:2:11: the file is not UTF-8 \(byte 0xe6\)"
    ):
        load_definition(path)


# The YAML reader


def test_read_yaml_remembers_positions_of_keys_values_and_items() -> None:
    """Mappings and lists know where they, their keys, values and items are written."""
    data = read_yaml("a:\n  b: [1, 2007-09-30]\n  c: x\n", "f.yaml")
    assert isinstance(data, YMap) and isinstance(data["a"], YMap)
    inner = data["a"]
    assert (data.key_pos("a"), data.value_pos("a")) == ((1, 1), (2, 3))
    assert (inner.key_pos("c"), inner.value_pos("c")) == ((3, 3), (3, 6))
    assert isinstance(inner["b"], YList)
    assert (inner["b"].line, inner["b"].col, inner["b"].item_pos(1)) == (2, 6, (2, 10))
    assert inner["b"] == [1, date(2007, 9, 30)]


def test_read_yaml_refuses_what_is_not_plain_data() -> None:
    """Custom tags, merge keys and unreadable dates are problems with positions."""
    with pytest.raises(DefinitionError) as caught:
        read_yaml("a: !secret x\n<<: {b: 1}\nc: 2007-13-45\n", "f.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "f.yaml:1:4: cannot read 'x': could not determine a constructor for the tag '!secret'",
        "f.yaml:2:1: merge keys ('<<') are not supported; write keys out",
        "f.yaml:3:4: cannot read '2007-13-45': month must be in 1..12",
    ]


def test_read_yaml_locates_control_characters() -> None:
    """A control character is reported at its line and column, also after multi-byte text."""
    with pytest.raises(
        DefinitionError, match=r"^f.yaml:2:8: (control|special) characters are not allowed"
    ):
        read_yaml("a: 1\nb: 'é' \x01\n", "f.yaml")


def test_state_names_must_be_text() -> None:
    """YAML reads `yes` as true: a state name that is not text must be quoted."""
    expect_problem(
        """\
        name: mini
        initial: a
        states:
          a:
          yes: {final: true}
        """,
        "5:3: state name true must be text; quote it",
    )


def test_did_you_mean_suggests_or_lists() -> None:
    """A close match is suggested; otherwise the allowed options are listed."""
    assert did_you_mean("lable", ["label", "due"]) == "; did you mean 'label'?"
    assert did_you_mean("xyz", ["label", "due"]) == "; allowed: label, due"


def test_check_keys_reports_each_unknown_key_at_the_key() -> None:
    """Unknown keys are reported at their own position."""
    problems = Problems("f.yaml")
    check_keys(read_yaml("label: x\nfinnal: true\n", "f.yaml"), ["label", "final"], "s", problems)
    assert [str(p) for p in problems] == [
        "f.yaml:2:1: unknown key 'finnal' in s; did you mean 'final'?"
    ]


# Properties

_NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)
_TRIGGERS = st.from_regex(r"[a-z][a-z0-9]{0,5}(_[a-z0-9]{1,4}){0,2}", fullmatch=True)
_LABELS = st.text(min_size=1, max_size=20).filter(str.strip)


@st.composite
def small_machines(draw: st.DrawFn) -> dict[str, Any]:
    """A valid chain of states ending in a final one, random names, triggers, labels, '*' abort."""
    size = draw(st.integers(min_value=1, max_value=6))
    names = draw(st.lists(_NAMES, min_size=size + 1, max_size=size + 1, unique=True))
    triggers = draw(st.lists(_TRIGGERS, min_size=size + 1, max_size=size + 1, unique=True))
    states: dict[str, Any] = {name: {"label": draw(_LABELS)} for name in names[:-1]}
    states[names[-1]] = {"final": True}
    chain = [
        {"trigger": triggers[i], "source": names[i], "dest": names[i + 1]} for i in range(size)
    ]
    abort = {"trigger": triggers[-1], "source": "*", "dest": names[-1], "note_required": True}
    return {
        "name": "generated",
        "initial": names[0],
        "states": states,
        "transitions": [*chain, abort],
    }


@settings(deadline=None)
@given(small_machines())
def test_generated_valid_machines_parse_and_every_state_is_reachable(
    machine: dict[str, Any],
) -> None:
    """parse(dump(x)) succeeds for valid machines, and every state is reachable from initial."""
    definition = parse_definition(yaml.safe_dump(machine, sort_keys=False, allow_unicode=True))
    reached, todo = {definition.initial}, [definition.initial]
    while todo:
        fresh = {t.dest for t in definition.transitions_from(todo.pop())} - reached
        reached |= fresh
        todo.extend(fresh)
    assert reached == set(definition.states) == set(machine["states"])


@settings(deadline=None)
@given(small_machines())
def test_parsing_a_machine_twice_changes_nothing(machine: dict[str, Any]) -> None:
    """The same text gives the same hash, states and transitions."""
    text = yaml.safe_dump(machine, sort_keys=False, allow_unicode=True)
    first, second = parse_definition(text), parse_definition(text)
    assert (first.sha256, first.states, first.transitions) == (
        second.sha256,
        second.states,
        second.transitions,
    )


@settings(deadline=None, max_examples=300)
@given(
    position=st.integers(min_value=0, max_value=len(INDIVIDUAL.read_text(encoding="utf-8"))),
    char=st.characters(),
    edit=st.sampled_from(["replace", "insert", "delete"]),
)
def test_any_single_character_edit_parses_or_raises_definition_error(
    position: int, char: str, edit: str
) -> None:
    """A one-character typo never escapes as anything but a DefinitionError."""
    text = INDIVIDUAL.read_text(encoding="utf-8")
    after = position + (0 if edit == "insert" else 1)
    mutated = text[:position] + ("" if edit == "delete" else char) + text[after:]
    try:
        parse_definition(mutated, "x.yaml")
    except DefinitionError as exc:
        assert exc.problems and all(p.line >= 1 and p.col >= 1 for p in exc.problems)
