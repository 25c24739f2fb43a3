"""Deadlines as iCalendar: the feed a person may see, parsed back with `icalendar` — events,
alarms, stable UIDs, SEQUENCE after a moved milestone, no other municipality's tenders — from
`kflow export ical` and from the service's `/calendar/<token>.ics` (ETag, 304, revocation)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from dashboard_store import NOW, Board, make_board
from fastapi.testclient import TestClient
from icalendar import Calendar
from support import PILOT_TEXT, at

from cli import main
from konkurrence_flow import http, ical, tokens
from konkurrence_flow.calendar import TZ
from konkurrence_flow.clock import FixedClock
from konkurrence_flow.errors import Forbidden
from konkurrence_flow.programme import parse_programme
from konkurrence_flow.store import Store


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Board:
    return make_board(tmp_path_factory.mktemp("ical"))


@pytest.fixture
def store(board: Board, tmp_path: Path) -> Iterator[Store]:
    """A copy of the board's store for one test."""
    found = board.copy(tmp_path)
    yield found
    found.engine.dispose()


def events(body: bytes) -> dict[str, dict[str, object]]:
    """The feed's events by UID: summary, start, end, sequence and alarm triggers."""
    calendar = Calendar.from_ical(body)
    found = {}
    for event in calendar.walk("VEVENT"):
        alarms = [a.decoded("trigger") for a in event.walk("VALARM")]
        found[str(event["UID"])] = {
            "summary": str(event["SUMMARY"]), "start": event.decoded("dtstart"),
            "end": event.decoded("dtend") if "DTEND" in event else None,
            "sequence": int(event.get("SEQUENCE", 0)),
            "alarms": alarms,
        }  # fmt: skip
    return found


def test_a_leaders_feed_holds_their_steps_with_alarms_and_the_milestones(store: Store) -> None:
    """anna (Aarhus): each open step with a due date, all day, with an alarm per `remind:` period
    (P14D, P3D before the due day), and the programme's milestones; Europe/Copenhagen defined."""
    body = ical.feed(store, store.person("anna")).body
    assert b"BEGIN:VTIMEZONE" in body and b"TZID:Europe/Copenhagen" in body
    found = events(body)
    due = found["AAR-SUND-01.1.due@konkurrence-flow"]
    assert due["summary"] == "AAR-SUND-01: Behovsafdækning og beslutning om udbudsområde — frist"
    assert (due["start"], due["end"]) == (date(2007, 9, 30), date(2007, 10, 1))
    at_eight = timedelta(hours=8)  # on the reminder's day, at 08:00
    assert sorted(due["alarms"]) == [timedelta(days=-14) + at_eight, timedelta(days=-3) + at_eight]
    milestone = found["pilot-2007.tenders-launched@konkurrence-flow"]
    assert milestone["summary"] == "Udbudsmateriale færdigt og udbud igangsat"
    assert milestone["start"] == date(2008, 3, 31)
    assert {uid.split(".")[0] for uid in found if "due@" in uid} == {"AAR-SUND-01", "AAR-BESK-01"}


def test_a_feed_never_holds_another_municipalitys_tenders(store: Store) -> None:
    for person, own in (("anna", "AAR-"), ("ole", "ODE-")):
        body = ical.feed(store, store.person(person)).body.decode()
        for other in {"AAR-", "ODE-", "FRB-"} - {own}:
            assert other not in body, (person, other)
    with pytest.raises(Forbidden, match="anna is project leader for municipality 751"):
        ical.feed(store, store.person("anna"), municipality="461")
    everything = events(ical.feed(store, store.person("kl-sek")).body)
    assert {uid.split(".")[0] for uid in everything if "due@" in uid} == {
        "AAR-SUND-01", "AAR-BESK-01", "ODE-BESK-01", "FRB-SUND-01"}  # fmt: skip


def test_a_running_timer_is_an_event_at_the_instant_it_runs_out(store: Store) -> None:
    anna = store.person("anna")
    store.advance("AAR-SUND-01", "approve_scope", anna, at("2007-10-05T10:00"))
    store.advance("AAR-SUND-01", "publish", anna, at("2007-10-05T11:00"),
                  facts={"tender_deadline": "2007-12-14"})  # fmt: skip
    tender = store.tender("AAR-SUND-01")
    assert tender.timer_at is not None
    found = events(ical.feed(store, anna).body)
    timer = found[f"AAR-SUND-01.{tender.visit}.timer@konkurrence-flow"]
    assert timer["summary"] == "AAR-SUND-01: Tilbudsperiode — udløber ved udgangen af 2007-12-14"
    start = timer["start"]
    assert isinstance(start, datetime) and start == tender.timer_at
    assert (
        start.tzinfo is not None and start.utcoffset() == tender.timer_at.astimezone(TZ).utcoffset()
    )
    assert "AAR-SUND-01.1.due@konkurrence-flow" not in found  # the step left is gone


def test_uids_are_stable_and_a_moved_milestone_raises_the_sequence(store: Store) -> None:
    """The same store gives the same bytes; moving `areas-decided` (the scoping steps' due date)
    keeps each UID, with SEQUENCE 1 on the step and on the milestone."""
    anna = store.person("anna")
    first = ical.feed(store, anna)
    assert ical.feed(store, anna) == first
    before = events(first.body)
    uid = "AAR-SUND-01.1.due@konkurrence-flow"
    assert before["pilot-2007.areas-decided@konkurrence-flow"]["sequence"] == 0
    moved = PILOT_TEXT.replace("areas-decided: {date: end of Q3 2007",
                               "areas-decided: {date: 2007-10-31")  # fmt: skip
    assert moved != PILOT_TEXT
    store.load_programme(parse_programme(moved, "pilot.yaml"), at("2007-10-06"))
    after = ical.feed(store, anna)
    assert after.etag != first.etag
    found = events(after.body)
    assert found.keys() == before.keys()
    assert found[uid]["start"] == date(2007, 10, 31)
    assert found[uid]["sequence"] > before[uid]["sequence"]
    milestone = found["pilot-2007.areas-decided@konkurrence-flow"]
    assert (milestone["start"], milestone["sequence"]) == (date(2007, 10, 31), 1)
    unmoved = found["pilot-2007.tenders-launched@konkurrence-flow"]
    assert unmoved["sequence"] == 0


def test_kflow_export_ical_writes_the_actors_calendar_and_guards_others(
    store: Store, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = {"KFLOW_DB": store.url, "KFLOW_NOW": NOW}
    out = tmp_path / "anna.ics"
    done = runner.invoke(main, ["--user", "anna", "export", "ical", "-o", str(out)], env=env)
    assert done.exit_code == 0, done.output
    assert events(out.read_bytes()) == events(ical.feed(store, store.person("anna")).body)
    refused = runner.invoke(main, ["--user", "anna", "export", "ical", "--person", "ole"], env=env)
    assert refused.exit_code == 1
    assert "anna is project leader; only the secretariat may export another person's calendar" in (
        refused.output
    )
    done = runner.invoke(main, ["--user", "kl-sek", "export", "ical", "--person", "ole"], env=env)
    assert done.exit_code == 0 and "ODE-BESK-01" in done.output and "AAR-" not in done.output
    wrong = runner.invoke(main, ["--user", "kl-sek", "export", "ical", "--programme", "x"], env=env)
    assert wrong.exit_code == 1 and "unknown programme 'x' (programmes: pilot-2007)" in wrong.output
    bad = runner.invoke(main, ["--user", "anna", "export", "ical", "-o", str(tmp_path / "no/x.ics")],
                        env=env)  # fmt: skip
    assert bad.exit_code == 1 and "cannot write" in bad.output


def test_the_feed_url_answers_with_an_etag_then_304_until_something_changes(store: Store) -> None:
    _made, text = tokens.create_calendar(store, "anna")
    client = TestClient(http.create_app(store, FixedClock(at(NOW))))
    answer = client.get(f"/calendar/{text}.ics")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    etag, modified = answer.headers["etag"], answer.headers["last-modified"]
    assert "AAR-SUND-01" in answer.text and "ODE-" not in answer.text
    again = client.get(f"/calendar/{text}.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    only_date = client.get(f"/calendar/{text}.ics", headers={"If-Modified-Since": modified})
    assert only_date.status_code == 200  # a moved milestone has no recorded time: ETag only
    store.advance("AAR-SUND-01", "approve_scope", store.person("anna"), at(NOW))
    changed = client.get(f"/calendar/{text}.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_a_revoked_or_wrong_feed_url_is_404_and_no_other_token_opens_a_feed(
    store: Store, board: Board
) -> None:
    made, text = tokens.create_calendar(store, "anna")
    client = TestClient(http.create_app(store, FixedClock(at(NOW))))
    for wrong in (board.tokens["anna"], "kf_000000000000_" + "A" * 43, "nothing"):
        answer = client.get(f"/calendar/{wrong}.ics")
        assert answer.status_code == 404 and answer.text == "no such calendar\n"
    tokens.revoke(store, made.id)
    assert client.get(f"/calendar/{text}.ics").status_code == 404
    with TestClient(http.create_app(store, FixedClock(at(NOW)))) as api:
        headers = {"Authorization": f"Bearer {text}"}
        assert api.get("/api/v1/me", headers=headers).status_code == 401


def test_the_access_log_never_shows_a_feeds_secret() -> None:
    import logging

    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/calendar/kf_0123456789ab_S3cr-t_x.ics",
                                "1.1", 200), None)  # fmt: skip
    http._SecretPaths().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /calendar/kf_0123456789ab_….ics HTTP/1.1" 200'


def test_a_timer_is_an_instant_and_its_sequence_grows_when_it_moves(store: Store) -> None:
    """RFC 5545: no DTEND equal to DTSTART; a timer moved within the step keeps its UID with a
    higher SEQUENCE (the minimum bid period, no deadline announced yet, shortened by 7 days for an
    electronic notice)."""
    anna = store.person("anna")
    store.advance("AAR-SUND-01", "approve_scope", anna, at("2007-10-05T10:00"))
    store.advance("AAR-SUND-01", "publish", anna, at("2007-10-05T11:00"))
    visit = store.tender("AAR-SUND-01").visit
    uid = f"AAR-SUND-01.{visit}.timer@konkurrence-flow"
    body = ical.feed(store, anna).body
    timer = next(e for e in Calendar.from_ical(body).walk("VEVENT") if str(e["UID"]) == uid)
    assert "DTEND" not in timer and "DURATION" not in timer
    before = events(body)[uid]
    store.set_facts("AAR-SUND-01", {"electronic_notice": True}, anna, at("2007-10-05T12:00"))
    after = events(ical.feed(store, anna).body)[uid]
    assert after["start"] == before["start"] - timedelta(days=7)  # type: ignore[operator]
    assert after["sequence"] > before["sequence"]


def test_a_cancelled_tender_drops_out_of_the_feed(store: Store) -> None:
    anna = store.person("anna")
    assert "AAR-BESK-01.1.due@konkurrence-flow" in events(ical.feed(store, anna).body)
    store.advance("AAR-BESK-01", "cancel", anna, at(NOW), note="Ingen egnede leverandører")
    assert not [uid for uid in events(ical.feed(store, anna).body) if uid.startswith("AAR-BESK")]


def test_a_revoked_feed_polled_again_and_again_locks_nobody_out(store: Store, board: Board) -> None:
    """Calendar clients poll from shared addresses: a revoked feed's 404s are not counted as
    guesses, and unknown feeds are counted apart from the API's failed sign-ins."""
    made, text = tokens.create_calendar(store, "anna")
    _other, good = tokens.create_calendar(store, "ole")
    tokens.revoke(store, made.id)
    client = TestClient(http.create_app(store, FixedClock(at(NOW))))
    for _ in range(http.FAILURES_ALLOWED + 5):
        assert client.get(f"/calendar/{text}.ics").status_code == 404
    assert client.get(f"/calendar/{good}.ics").status_code == 200
    assert client.head(f"/calendar/{good}.ics").status_code == 200
    for n in range(http.FAILURES_ALLOWED):
        client.get(f"/calendar/kf_{n:012x}_{'A' * 43}.ics")
    assert client.get(f"/calendar/{good}.ics").status_code == 429
    headers = {"Authorization": f"Bearer {board.tokens['ole']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_a_failing_feed_is_logged_without_its_secret(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from structlog.testing import capture_logs

    _made, text = tokens.create_calendar(store, "anna")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ical, "feed", broken)
    client = TestClient(http.create_app(store, FixedClock(at(NOW))), raise_server_exceptions=False)
    with capture_logs() as logs:
        assert client.get(f"/calendar/{text}.ics").status_code == 500
    secret = text.split("_", 2)[2]
    assert logs and all(secret not in str(entry) for entry in logs)
    assert any(entry.get("path", "").endswith("_….ics") for entry in logs)


def test_a_timer_says_the_last_day_of_its_period_which_calendars_would_not_show() -> None:
    """A period that runs out at midnight shows at 00:00 of the next day in a calendar; its
    summary names the last day (Copenhagen time, summer or winter), in the programme's language;
    any other instant is named as it is."""
    from konkurrence_flow.calendar import start_of_day

    words = ical._WORDS
    midnight = start_of_day(date(2008, 3, 31))  # 22:00 UTC the day before: summer time
    assert midnight.astimezone(UTC).hour == 22
    assert ical._ends(midnight, words["da"]) == "udløber ved udgangen af 2008-03-30"
    assert ical._ends(midnight, words["en"]) == "ends at the end of 2008-03-30"
    later = midnight + timedelta(hours=12, minutes=30)
    assert ical._ends(later, words["da"]) == "udløber 2008-03-31 12:30"
