"""The command line for programmes and time: programme load/show, overdue, tick, forecast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import DEFINITIONS, ROOT
from test_cli import Kflow

PILOT = ROOT / "workflows" / "pilot-2007.yaml"


@pytest.fixture
def pilot(tmp_path: Path) -> Kflow:
    """A store with the shipped definitions and the pilot programme, loaded on 2007-06-01."""
    k = Kflow(tmp_path / "kflow.db")
    k.ok("init")
    k.ok("definitions", "load", str(DEFINITIONS))
    assert "tenders created: 4" in k.ok("programme", "load", str(PILOT), now="2007-06-01")
    return k


def test_programme_load_is_idempotent_and_reports_moves(pilot: Kflow, tmp_path: Path) -> None:
    """Loading again says unchanged; a moved milestone lists the tenders whose due moved."""
    assert "programme pilot-2007: unchanged" in pilot.ok("programme", "load", str(PILOT))
    moved = tmp_path / "pilot.yaml"
    moved.write_text(PILOT.read_text().replace("end of Q3 2007", "2007-10-15"))
    out = pilot.ok("programme", "load", str(moved), now="2007-08-01")
    assert "milestone areas-decided moved: 2007-09-30 -> 2007-10-15" in out
    assert "ODE-BESK-01 (scoping): due 2007-09-30 -> 2007-10-15" in out


def test_programme_show_json(pilot: Kflow) -> None:
    """The timeline by quarter, with the tenders due on each milestone."""
    shown = json.loads(pilot.ok("programme", "show", "--json"))
    assert shown["name"] == "pilot-2007" and shown["municipalities"] == ["751", "461", "147"]
    q3 = next(q for q in shown["quarters"] if q["quarter"] == "Q3 2007")
    assert q3["milestones"][0]["due"] == [
        "AAR-BESK-01",
        "AAR-SUND-01",
        "FRB-SUND-01",
        "ODE-BESK-01",
    ]


def test_overdue_json_as_of_the_clock(pilot: Kflow) -> None:
    """Nothing on 2007-09-30; every scoping tender, one day late, on 2007-10-01."""
    assert json.loads(pilot.ok("overdue", "--json", now="2007-09-30T23:00")) == []
    rows = json.loads(pilot.ok("overdue", "--json", now="2007-10-01"))
    assert len(rows) == 4 and {r["days_overdue"] for r in rows} == {1}
    assert set(rows[0]) == {
        "tender",
        "title",
        "state",
        "state_label",
        "due",
        "days_overdue",
        "municipalities",
        "leader",
    }
    only = json.loads(pilot.ok("overdue", "--municipality", "Odense", "--json", now="2007-10-01"))
    assert [r["tender"] for r in only] == ["ODE-BESK-01"]
    assert "nothing is overdue" in pilot.ok("overdue", now="2007-09-01")


def test_tick_json_shape_and_idempotence(pilot: Kflow) -> None:
    """tick --json: the documented keys; a second tick at the same time does nothing."""
    pilot.ok("advance", "AAR-SUND-01", "approve_scope", user="anna", now="2007-09-20")
    pilot.ok("advance", "AAR-SUND-01", "publish", user="anna", now="2008-01-10")
    report = json.loads(pilot.ok("tick", "--json", now="2008-03-04"))
    assert set(report) >= {"at", "advanced", "flagged_overdue", "reminders", "notifications"}
    assert report["advanced"] == [
        {"tender": "AAR-SUND-01", "trigger": "close_bidding", "source": "publication",
         "dest": "award", "occurred_at": "2008-03-04T00:00:00+01:00"}
    ]  # fmt: skip
    assert len(report["flagged_overdue"]) == 3 and report["notifications"] == 3
    assert len(report["reminders"]) == 6 and {r["skipped"] for r in report["reminders"]} == {True}
    again = json.loads(pilot.ok("tick", "--json", now="2008-03-04"))
    assert (again["advanced"], again["flagged_overdue"], again["notifications"]) == ([], [], 0)


def test_forecast_lists_what_happens_if_nobody_acts(pilot: Kflow) -> None:
    """forecast --until: dated rows of advance, reminder and overdue; the store is unchanged."""
    pilot.ok("advance", "AAR-SUND-01", "approve_scope", user="anna", now="2007-09-20")
    pilot.ok("advance", "AAR-SUND-01", "publish", user="anna", now="2008-01-10")
    rows = json.loads(pilot.ok("forecast", "--until", "2008-06-30", "--json", now="2008-01-11"))
    assert {"date": "2008-03-04", "tender": "AAR-SUND-01", "what": "advance",
            "state": "publication", "detail": "close_bidding: publication -> award",
            "infeasible": False} in rows  # fmt: skip
    assert {r["what"] for r in rows} == {"advance", "reminder", "overdue"}
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    shown = json.loads(pilot.ok("tender", "show", "AAR-SUND-01", "--json", now="2008-01-11"))
    assert shown["state"] == "publication"


def test_forecast_until_takes_days_quarters_and_times(pilot: Kflow) -> None:
    """--until: a day to its end, a quarter in any case, or an instant; without it, exit 2."""
    assert pilot("forecast").exit_code == 2
    for until in ("2007-10-01", "end of q3 2007", "3. kvartal 2007", "2007-10-01T12:00"):
        assert pilot("forecast", "--until", until, "--json", now="2007-09-01").exit_code == 0
    rows = json.loads(pilot.ok("forecast", "--until", "end of q3 2007", "--json", now="2007-09-01"))
    assert {r["what"] for r in rows} == {"reminder", "overdue"}  # to the end of 30 September
    assert {r["date"] for r in rows if r["what"] == "overdue"} == {"2007-10-01"}


def test_programme_show_before_any_programme(tmp_path: Path) -> None:
    """No programme loaded: one sentence naming the command to run."""
    k = Kflow(tmp_path / "empty.db")
    k.ok("init")
    result = k("programme", "show")
    assert result.exit_code == 1 and "use `kflow programme load FILE`" in result.stderr


@pytest.fixture
def forum(tmp_path: Path) -> Kflow:
    """A store with the shipped definitions and the 2007–2008 programme."""
    k = Kflow(tmp_path / "forum.db")
    k.ok("init")
    k.ok("definitions", "load", str(DEFINITIONS))
    k.ok("programme", "load", str(ROOT / "workflows" / "forum-2007-2008.yaml"), now="2007-06-01")
    return k


def test_tender_show_lists_who_has_signed_and_who_is_awaited(forum: Kflow) -> None:
    """A joint tender half signed off: show names the signed and the pending municipalities."""
    forum.ok("advance", "FAE-BESK-01", "approve_scope", user="anna", now="2007-09-24")
    out = forum.ok("advance", "FAE-BESK-01", "approve_materials", user="ole", now="2008-02-07")
    assert "461 signed off 'approve_materials'; waiting for 751, 561" in out
    shown = forum.ok("tender", "show", "FAE-BESK-01", now="2008-02-08")
    assert "signed off  approve_materials: 461; waiting for 751, 561" in shown
    data = json.loads(forum.ok("tender", "show", "FAE-BESK-01", "--json", now="2008-02-08"))
    assert data["signoffs"] == {"approve_materials": ["461"]}
    assert data["signoffs_pending"] == {"approve_materials": ["751", "561"]}


def test_effects_json_and_text(forum: Kflow) -> None:
    """effects --json has tenders, areas, municipalities, network; the text shows the IKU table."""
    forum.ok("tender", "set", "AAR-SUND-01", "contract_value=4100000", "baseline_cost=4800000",
             user="anna", now="2008-05-01")  # fmt: skip
    report = json.loads(forum.ok("effects", "--json"))
    assert set(report) == {"tenders", "areas", "municipalities", "network", "target_percent"}
    assert report["tenders"][0]["saving"] == 700000
    text = forum.ok("effects")
    assert "estimated IKU against the 25 % target" in text and "700.000" in text


def test_threshold_warning_is_shown(forum: Kflow) -> None:
    """A national-only tender above the EU threshold carries a warning on show."""
    forum.ok("tender", "create", "--definition", "individual-tender", "--title", "Vejbelysning",
             "--municipality", "751", "--id", "AAR-VEJ-01", "--regime", "tilbudsloven",
             user="anna", now="2007-08-01")  # fmt: skip
    forum.ok(
        "tender", "set", "AAR-VEJ-01", "estimated_value=2000000", user="anna", now="2007-08-02"
    )
    shown = forum.ok("tender", "show", "AAR-VEJ-01", now="2007-08-02")
    assert "warning     tender AAR-VEJ-01: estimated value DKK 2,000,000 reaches the EU" in shown


def _effects_lines(k: Kflow) -> dict[str, list[str]]:
    """`kflow effects` as text: each table row split on its column gaps, by its first cell."""
    rows = [line.split("  ") for line in k.ok("effects").splitlines()]
    return {cells[0]: [c.strip() for c in cells if c.strip()] for cells in rows if cells[0]}


def test_effects_without_iku_figures_says_so_instead_of_reached(pilot: Kflow) -> None:
    """A programme with no IKU figures: every municipality says 'no IKU figures', none 'reached'."""
    text = pilot.ok("effects")
    assert "reached" not in text
    for code in ("751", "461", "147"):
        assert _effects_lines(pilot)[code][-1] == "no IKU figures"


def test_effects_says_reached_only_when_the_target_is_met(forum: Kflow) -> None:
    """With IKU figures: the gap in percent, or 'reached' once the estimate is at 25 % or more."""
    forum.ok("tender", "set", "AAR-SUND-01", "contract_value=260000000", user="anna",
             now="2008-05-01")  # fmt: skip
    rows = _effects_lines(forum)
    assert rows["751"][-1] == "reached"  # (1,050 + 260) M of 5,200 M: 25.2 %
    assert rows["461"][-1] == "5.5 %"  # Odense: 760 M of 3,900 M is 19.5 %


def _network(k: Kflow) -> str:
    return k.ok("effects").splitlines()[-1]


def test_the_network_line_is_never_empty(pilot: Kflow, forum: Kflow) -> None:
    """Every part of the network line is a figure or words: nothing awarded, no baseline, no IKU."""
    assert _network(pilot) == (
        "Network: no tender has a contract value yet; no IKU figures in the programme"
    )
    assert _network(forum).startswith("Network: no tender has a contract value yet; IKU 20.")
    pilot.ok("tender", "set", "AAR-SUND-01", "contract_value=4100000", user="anna",
             now="2008-05-01")  # fmt: skip
    assert _network(pilot) == (
        "Network: 1 tender, none with a baseline_cost to compare; no IKU figures in the programme"
    )
    pilot.ok("tender", "set", "FRB-SUND-01", "contract_value=1000000", "baseline_cost=1250000",
             user="mette", now="2008-05-01")  # fmt: skip
    assert _network(pilot) == (
        "Network: 2 tenders, saving 250.000 DKK a year (20.0 %) on the 1 with a baseline_cost; "
        "no IKU figures in the programme"
    )


def test_an_area_compares_only_the_tenders_with_a_baseline(pilot: Kflow) -> None:
    """A tender without a baseline is left out of both BEFORE and AFTER of its area."""
    pilot.ok("tender", "set", "AAR-SUND-01", "contract_value=4100000", "baseline_cost=4800000",
             user="anna", now="2008-05-01")  # fmt: skip
    pilot.ok("tender", "set", "FRB-SUND-01", "contract_value=1000000", user="mette",
             now="2008-05-01")  # fmt: skip
    pilot.ok("tender", "set", "AAR-BESK-01", "contract_value=2000000", user="anna",
             now="2008-05-01")  # fmt: skip
    rows = _effects_lines(pilot)
    assert rows["sundhed"] == ["sundhed", "2", "1", "4.800.000", "4.100.000", "700.000", "14.6 %"]
    assert rows["beskæftigelse"] == ["beskæftigelse", "1", "0"]
    areas = {a["area"]: a for a in json.loads(pilot.ok("effects", "--json"))["areas"]}
    assert (areas["sundhed"]["compared_tenders"], areas["sundhed"]["compared_contract_value"]) == (
        1,
        4_100_000,
    )
    assert areas["sundhed"]["contract_value"] == 5_100_000  # every awarded tender, as before


def test_forecast_with_nothing_to_report_says_so(pilot: Kflow) -> None:
    """Nothing owed by --until: one sentence instead of a bare header; --json stays an empty list."""
    out = pilot.ok("forecast", "--until", "2007-06-02", now="2007-06-01")
    assert out == (
        "nothing happens by the end of 2007-06-02 if nobody acts (no timer, reminder, overdue "
        "step or escalation falls due)\n"
    )
    at_noon = pilot.ok("forecast", "--until", "2007-06-02T12:00", now="2007-06-01")
    assert at_noon.startswith("nothing happens by 2007-06-02T12:00+02:00 if nobody acts")
    assert (
        json.loads(pilot.ok("forecast", "--until", "2007-06-02", "--json", now="2007-06-01")) == []
    )


@pytest.fixture
def breaks_aar_sund(monkeypatch: pytest.MonkeyPatch) -> None:
    """AAR-SUND-01's catch-up does all its work in its unit, then raises: nothing may be written."""
    from konkurrence_flow import scheduler

    real = scheduler.catch_up

    def catch_up(unit: Any, tender_id: str, until: Any, found: list[Any]) -> None:
        real(unit, tender_id, until, found)
        if tender_id == "AAR-SUND-01":
            raise RuntimeError("the disk said no\nTraceback-ish detail")

    monkeypatch.setattr(scheduler, "catch_up", catch_up)


def test_tick_reports_a_failed_tender_in_one_line_and_goes_on(
    pilot: Kflow, breaks_aar_sund: None
) -> None:
    """One line per failed tender, the others caught up; exit 1 with one sentence on stderr."""
    history = pilot.ok("tender", "history", "AAR-SUND-01", "--json", now="2007-09-01")
    result = pilot("tick", now="2007-10-01")
    assert result.exit_code == 1
    assert "2007-10-01  AAR-SUND-01    failed    RuntimeError: the disk said no\n" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert (
        "ODE-BESK-01    overdue" in result.stdout and "AAR-SUND-01    overdue" not in result.stdout
    )
    assert result.stdout.splitlines()[-1].endswith(", 1 failed")
    assert result.stderr.splitlines()[-1] == (
        "kflow: 1 tender failed to catch up (see above); every other tender was caught up"
    )
    assert pilot.ok("tender", "history", "AAR-SUND-01", "--json", now="2007-10-01") == history


def test_tick_json_lists_the_failed_tenders(pilot: Kflow, breaks_aar_sund: None) -> None:
    """tick --json gains "failed": [{"tender", "reason"}]; the other keys are as they were."""
    result = pilot("tick", "--json", now="2007-10-01")
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert report["failed"] == [
        {"tender": "AAR-SUND-01", "reason": "RuntimeError: the disk said no"}
    ]
    assert {r["tender"] for r in report["flagged_overdue"]} == {
        "AAR-BESK-01",
        "FRB-SUND-01",
        "ODE-BESK-01",
    }
    assert json.loads(pilot.ok("tick", "--json", now="2007-09-01"))["failed"] == []


def test_tender_list_overdue_and_pages(pilot: Kflow) -> None:
    """`--overdue` as of the clock (before any tick), a page with --limit/--offset; a bad page
    is a usage error."""
    rows = json.loads(pilot.ok("tender", "list", "--overdue", "--json", now="2007-10-01"))
    assert [r["id"] for r in rows] == ["AAR-BESK-01", "AAR-SUND-01", "FRB-SUND-01", "ODE-BESK-01"]
    assert all(r["overdue"] and r["days_overdue"] == 1 for r in rows)
    page = json.loads(pilot.ok("tender", "list", "--overdue", "--limit", "2", "--offset", "1",
                               "--json", now="2007-10-01"))  # fmt: skip
    assert [r["id"] for r in page] == ["AAR-SUND-01", "FRB-SUND-01"]
    assert json.loads(pilot.ok("tender", "list", "--overdue", "--json", now="2007-09-30")) == []
    refused = pilot("tender", "list", "--limit", "0")
    assert refused.exit_code == 2 and "Invalid value for '--limit'" in refused.stderr
    # `overdue` the same way: most overdue first, a page of it, streamed when whole
    late = json.loads(pilot.ok("overdue", "--json", now="2007-10-01"))
    assert [r["tender"] for r in late] == [r["id"] for r in rows]
    page = json.loads(pilot.ok("overdue", "--json", "--limit", "1", "--offset", "3",
                               now="2007-10-01"))  # fmt: skip
    assert page == late[3:]
    assert pilot.ok("overdue", now="2007-09-30") == "nothing is overdue\n"
    beyond = pilot.ok("overdue", "--offset", "4", now="2007-10-01")
    assert beyond == "no overdue step from offset 4: there are fewer\n"
    table = pilot.ok("overdue", now="2007-10-01").splitlines()
    assert table[0].split() == ["TENDER", "STATE", "DUE", "DAYS", "MUNICIPALITIES", "LEADER"]
    assert [line.split()[0] for line in table[1:]] == [r["tender"] for r in late]
