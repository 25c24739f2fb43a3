"""The dashboard's pages in process (Starlette's test client): signing in and out, the session
cookie, CSRF, who sees and does what, refusals that write nothing. The same pages in a real
browser against `kflow serve`: test_browser.py."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest
from dashboard_store import NOW, Board, make_board
from fastapi.testclient import TestClient
from support import at

from konkurrence_flow import dashboard, http, tokens
from konkurrence_flow.app import App
from konkurrence_flow.calendar import local_date
from konkurrence_flow.clock import FixedClock
from konkurrence_flow.store import Store
from konkurrence_flow.web import charts
from konkurrence_flow.web.session import SESSION_COOKIE


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Board:
    return make_board(tmp_path_factory.mktemp("pages"))


@pytest.fixture
def store(board: Board, tmp_path: Path) -> Iterator[Store]:
    """A copy of the board's store for one test."""
    found = board.copy(tmp_path)
    yield found
    found.engine.dispose()


def client_for(store: Store) -> TestClient:
    return TestClient(http.create_app(store, FixedClock(at(NOW))), follow_redirects=False)


def sign_in(client: TestClient, token: str, next_page: str = "/") -> None:
    """Sign in through the form, as a browser would (its CSRF cookie and field)."""
    form = client.get("/signin")
    assert form.status_code == 200
    response = client.post("/signin", data={"csrf": csrf_of(form.text), "token": token,
                                            "next": next_page})  # fmt: skip
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next_page


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def signed_in(store: Store, board: Board, person: str) -> TestClient:
    client = client_for(store)
    sign_in(client, board.tokens[person])
    return client


def dump(store: Store) -> list[tuple[str, int, int]]:
    """Every tender's id, version and event count: what a refusal must leave as it was."""
    return [(t.id, t.version, len(store.history(t.id))) for t in store.tenders()]


# -- signing in and out -------------------------------------------------------------------------


def test_a_page_without_a_session_sends_the_browser_to_sign_in(store: Store) -> None:
    """Every page but the sign-in form needs a session; the redirect remembers where to return."""
    client = client_for(store)
    for path in ("/", "/gantt?municipality=751", "/overdue", "/tenders/AAR-SUND-01",
                 "/notifications", "/effects", "/effects.csv"):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/signin?next=%2F"), path


def test_signing_in_sets_a_strict_httponly_session_cookie_holding_a_new_session_token(
    store: Store, board: Board
) -> None:
    """The cookie is HttpOnly, SameSite=Strict, for the whole site, for 12 hours; it holds a new
    `session` token, never the API token the person typed."""
    client = client_for(store)
    form = client.get("/signin")
    answer = client.post("/signin", data={"csrf": csrf_of(form.text), "token": board.tokens["anna"],
                                          "next": "/overdue"})  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/overdue"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Max-Age=43200" in cookie and "Secure" not in cookie  # plain HTTP here: no Secure
    value = client.cookies[SESSION_COOKIE]
    assert value != board.tokens["anna"]
    assert tokens.authenticate(store, value, kind="session").id == "anna"
    assert client.get("/overdue").status_code == 200


def test_a_wrong_token_is_refused_on_the_page_and_starts_no_session(store: Store) -> None:
    client = client_for(store)
    before = len(tokens.tokens(store))
    form = client.get("/signin")
    answer = client.post("/signin", data={"csrf": csrf_of(form.text), "token": "kf_nope"})
    assert answer.status_code == 401
    assert "no valid token" in answer.text and SESSION_COOKIE not in client.cookies
    assert len(tokens.tokens(store)) == before


def test_signing_in_needs_the_forms_own_csrf_value(store: Store, board: Board) -> None:
    """A sign-in posted by another page (no CSRF cookie, or another value) is refused."""
    client = client_for(store)
    answer = client.post("/signin", data={"csrf": "forged", "token": board.tokens["anna"]})
    assert answer.status_code == 403 and "did not come from this page" in answer.text
    assert SESSION_COOKIE not in client.cookies


def test_a_sign_in_link_works_once_and_is_no_api_token(store: Store) -> None:
    """`kflow token create --link`: the link signs in once; again it is refused with a sentence;
    as a bearer token on the API it is refused too."""
    _made, text = tokens.create_link(store, "kl-sek")
    with client_for(store) as api:
        assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {text}"}).status_code == 401
    client = client_for(store)
    sign_in(client, text)
    assert client.get("/notifications").status_code == 200
    again = client_for(store)
    form = again.get("/signin")
    answer = again.post("/signin", data={"csrf": csrf_of(form.text), "token": text})
    assert answer.status_code == 401 and "this sign-in link has been used" in answer.text


def test_a_session_cookie_is_not_an_api_token_nor_an_api_token_a_cookie(
    store: Store, board: Board
) -> None:
    client = signed_in(store, board, "anna")
    session_token = client.cookies[SESSION_COOKIE]
    api = client_for(store)
    assert (
        api.get("/api/v1/me", headers={"Authorization": f"Bearer {session_token}"}).status_code
        == 401
    )
    api.cookies.set(SESSION_COOKIE, board.tokens["anna"])
    assert api.get("/overdue").status_code == 303


def test_signing_out_ends_the_session_for_good(store: Store, board: Board) -> None:
    """After sign-out the old cookie, replayed, gets the sign-in page: its token is revoked."""
    client = signed_in(store, board, "anna")
    session_token = client.cookies[SESSION_COOKIE]
    page = client.get("/")
    answer = client.post("/signout", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
    replay = client_for(store)
    replay.cookies.set(SESSION_COOKIE, session_token)
    assert replay.get("/").status_code == 303
    assert [t.revoked_at is not None for t in tokens.tokens(store) if t.kind == "session"] == [True]


def test_the_return_address_after_sign_in_stays_on_this_site(store: Store, board: Board) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client = client_for(store)
        form = client.get("/signin")
        answer = client.post("/signin", data={"csrf": csrf_of(form.text),
                                              "token": board.tokens["anna"], "next": target})  # fmt: skip
        assert answer.headers["location"] == "/", target


# -- the pages -----------------------------------------------------------------------------------


def test_the_overdue_board_lists_each_municipalitys_steps_most_overdue_first(
    store: Store, board: Board
) -> None:
    client = signed_in(store, board, "anna")
    page = client.get("/overdue").text
    for tender in ("AAR-SUND-01", "AAR-BESK-01", "ODE-BESK-01"):
        assert f'href="/tenders/{tender}"' in page
    assert page.index('<h2 id="m-751">Aarhus</h2>') < page.index("AAR-SUND-01")
    assert '<td class="num late">5</td>' in page  # due 2007-09-30, today 2007-10-05
    only = client.get("/overdue?municipality=461").text
    assert "ODE-BESK-01" in only and "AAR-SUND-01" not in only


def test_the_overdue_board_is_paged_most_overdue_first(
    store: Store, board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of two steps: together they are every overdue step once, each page no less overdue
    than the next; a municipality's filter stays in the links; past the end, a way back."""
    monkeypatch.setattr(dashboard, "OVERDUE_PAGE", 2)
    client = signed_in(store, board, "anna")
    every = App(store, at(NOW)).overdue()
    assert len(every) > 2, "the board needs more overdue steps than one page"
    pages: list[dict[str, int]] = []
    path: str | None = "/overdue"
    while path:
        page = client.get(path).text
        pages.append(_overdue_rows(page))
        shown = sum(len(p) for p in pages)
        assert f"Viser {shown - len(pages[-1]) + 1}–{shown} af {len(every)}" in page
        found = re.search(r'<a href="([^"]*)">Næste</a>', page)
        path = found.group(1).replace("&amp;", "&") if found else None
    assert [t for p in pages for t in p] == [r["tender"] for r in every]
    assert all(min(a.values()) >= max(b.values()) for a, b in pairwise(pages))
    assert 'href="/overdue?offset=0">Forrige</a>' in client.get("/overdue?offset=2").text
    only = client.get("/overdue?municipality=751&offset=1").text
    assert "municipality=751&amp;offset=0" in only
    beyond = client.get("/overdue?offset=500").text
    assert "Der er ikke så mange." in beyond
    assert 'href="/overdue?offset=0">Til første side' in beyond
    assert "Intet er forsinket." not in beyond and "Viser" not in beyond
    last = (len(every) - 1) // 2 * 2  # where the last page of two starts
    assert f'href="/overdue?offset={last}">Forrige</a>' in beyond


def _overdue_rows(page: str) -> dict[str, int]:
    """A page of `/overdue`: its tenders and their days overdue, most overdue first (a joint
    tender, shown under each of its municipalities, once)."""
    rows = re.findall(r'<tr><th scope="row"><a href="/tenders/([^"]+)">.*?class="num late">(\d+)<',
                      page)  # fmt: skip
    return dict(sorted(((t, int(d)) for t, d in rows), key=lambda r: -r[1]))


def test_firing_a_trigger_through_the_form_moves_the_tender_as_the_person(
    store: Store, board: Board
) -> None:
    client = signed_in(store, board, "anna")
    page = client.get("/tenders/AAR-SUND-01")
    assert 'value="approve_scope"' in page.text
    answer = client.post("/tenders/AAR-SUND-01/advance", data={
        "csrf": csrf_of(page.text), "trigger": "approve_scope", "note": "Besluttet i byrådet",
        "facts": "", "at": "2007-10-04"})  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"] == "/tenders/AAR-SUND-01?done=approve_scope"
    shown = client.get(answer.headers["location"]).text
    assert "Udarbejdelse af udbudsmateriale" in shown and 'role="status"' in shown
    last = store.history("AAR-SUND-01")[-1]
    assert (last.trigger, last.actor, last.note, last.dest) == (
        "approve_scope",
        "anna",
        "Besluttet i byrådet",
        "materials",
    )
    assert last.occurred_at == at("2007-10-04")


def test_a_refused_trigger_shows_the_clis_sentence_and_writes_nothing(
    store: Store, board: Board
) -> None:
    """cancel needs a note: the page says so as `kflow advance` does, keeps what was typed, and
    the history is as it was."""
    client = signed_in(store, board, "anna")
    page = client.get("/tenders/AAR-SUND-01")
    before = dump(store)
    answer = client.post("/tenders/AAR-SUND-01/advance", data={
        "csrf": csrf_of(page.text), "trigger": "cancel", "note": "", "facts": "bidders=4"})  # fmt: skip
    assert answer.status_code == 409
    assert ("'cancel' on tender AAR-SUND-01 needs a note saying why (give --note)"
            in answer.text.replace("&#39;", "'"))  # fmt: skip
    assert (
        "<strong>Afvist:</strong> Handlingen kan ikke udføres. Begrundelse (på engelsk"
        in answer.text
    )
    assert '<span lang="en">&#39;cancel&#39; on tender AAR-SUND-01 needs a note' in answer.text
    assert "bidders=4</textarea>" in answer.text
    assert dump(store) == before
    for facts, when, sentence in (
        ("4=x", "", "is not KEY=VALUE with a snake_case key"),
        ("bidders=NaN", "", "bidders=&#39;NaN&#39; is a whole number, 0 or more"),
        ("", "2999-01-01", "time &#39;2999-01-01&#39; lies outside 1900-2200"),
        ("", "2007-10-06", "in the future"),
    ):
        answer = client.post("/tenders/AAR-SUND-01/advance", data={
            "csrf": csrf_of(page.text), "trigger": "approve_scope", "facts": facts, "at": when})  # fmt: skip
        assert sentence in answer.text, answer.text
        assert "Afvist:</strong> Noget af det angivne kan ikke bruges." in answer.text
        assert answer.status_code == 400
    assert dump(store) == before


def test_a_refusal_leads_with_its_kind_in_the_pages_words() -> None:
    """Each kind of no has a lead in Danish and English; the CLI's sentence follows as it is."""
    from konkurrence_flow.errors import (
        ConcurrentChange,
        Forbidden,
        InvalidInput,
        NotAllowed,
        RunError,
    )
    from konkurrence_flow.web.text import refusal, translator

    danish, english = translator("da"), translator("en")
    cases = [(ConcurrentChange("tender X changed; try again"), "En anden ændrede udbuddet imens."),
             (NotAllowed("not in scoping"), "Handlingen kan ikke udføres."),
             (Forbidden("not yours"), "Handlingen kan ikke udføres."),
             (InvalidInput("bad"), "Noget af det angivne kan ikke bruges."),
             (RunError("store busy"), "Det blev afvist.")]  # fmt: skip
    for exc, lead in cases:
        said = refusal(exc)
        assert danish(said.reason).startswith(lead) and said.text == str(exc)
        assert english(said.reason) != said.reason  # every lead has its English words


def test_a_form_without_this_sessions_csrf_token_or_from_another_site_writes_nothing(
    store: Store, board: Board
) -> None:
    client = signed_in(store, board, "anna")
    page = client.get("/tenders/AAR-SUND-01")
    before = dump(store)
    fields = {"trigger": "approve_scope"}
    assert client.post("/tenders/AAR-SUND-01/advance", data=fields).status_code == 403
    other = signed_in(store, board, "ole")  # another session's token is not this one's
    stolen = csrf_of(other.get("/").text)
    answer = client.post("/tenders/AAR-SUND-01/advance", data={**fields, "csrf": stolen})
    assert answer.status_code == 403
    answer = client.post("/tenders/AAR-SUND-01/advance", data={**fields, "csrf": csrf_of(page.text)},
                         headers={"Origin": "http://evil.example"})  # fmt: skip
    assert answer.status_code == 403 and "another site" in answer.text
    assert dump(store) == before


def test_a_leader_gets_no_forms_on_another_municipalitys_tender_and_a_post_is_403(
    store: Store, board: Board
) -> None:
    client = signed_in(store, board, "anna")
    page = client.get("/tenders/ODE-BESK-01")
    assert page.status_code == 200 and "/tenders/ODE-BESK-01/advance" not in page.text
    before = dump(store)
    answer = client.post("/tenders/ODE-BESK-01/advance", data={
        "csrf": csrf_of(page.text), "trigger": "approve_scope"})  # fmt: skip
    assert answer.status_code == 403
    assert "anna is project leader for municipality 751; tender ODE-BESK-01 belongs to 461" in (
        answer.text
    )
    assert dump(store) == before


def test_the_outbox_is_the_secretariats_and_a_failed_message_can_be_retried(
    store: Store, board: Board
) -> None:
    leader = signed_in(store, board, "anna")
    refused = leader.get("/notifications")
    assert refused.status_code == 403 and "only the secretariat may" in refused.text
    failed = store.notifications("failed")[0]
    page = leader.get("/")
    answer = leader.post(f"/notifications/{failed.id}/retry", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 403 and store.notification(failed.id).status == "failed"

    secretariat = signed_in(store, board, "kl-sek")
    page = secretariat.get("/notifications")
    assert "ole has no email address" in page.text
    answer = secretariat.post(
        f"/notifications/{failed.id}/retry", data={"csrf": csrf_of(page.text)}
    )
    assert answer.status_code == 303
    assert store.notification(failed.id).status == "queued"
    assert f"#{failed.id} sat i kø igen" in secretariat.get(answer.headers["location"]).text


def test_pages_are_danish_by_default_and_english_on_request(store: Store, board: Board) -> None:
    client = signed_in(store, board, "anna")
    danish = client.get("/").text
    assert '<html lang="da">' in danish and "Overblik" in danish
    english = client.get("/?lang=en")
    assert '<html lang="en">' in english.text and ">Overview<" in english.text
    assert "Behovsafdækning" in english.text  # the definitions' labels stay as written
    assert '<html lang="en">' in client.get("/gantt").text  # the choice is remembered


def test_pages_send_a_content_security_policy_and_are_not_cached(
    store: Store, board: Board
) -> None:
    client = signed_in(store, board, "anna")
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"


def test_the_api_keeps_its_json_errors_beside_the_pages(store: Store) -> None:
    client = client_for(store)
    answer = client.get("/api/v1/no-such-thing")
    assert answer.status_code == 404 and answer.json() == {"error": "Not Found"}
    assert client.get("/api/v1/me").json()["error"].startswith("no valid token")


def test_an_unknown_tender_is_a_404_page_with_the_clis_hint(store: Store, board: Board) -> None:
    client = signed_in(store, board, "anna")
    answer = client.get("/tenders/AAR-SUND-1")
    assert answer.status_code == 404 and "did you mean AAR-SUND-01?" in answer.text


@pytest.mark.parametrize("path", ["/%2Fevil.example", "/%2F%2Fevil.example", "/%5Cevil.example"])
def test_the_language_link_never_leads_to_another_site(
    store: Store, board: Board, path: str
) -> None:
    """A crafted path (`//evil.example` once decoded) must not become the language link's
    address: the link is the page's query alone, kept with the page's own parameters."""
    for client in (client_for(store), signed_in(store, board, "anna")):
        page = client.get(path).text
        links = re.findall(r'<a href="([^"]*)" lang="en"', page)
        assert links == ["?lang=en"], links
        assert 'href="//' not in page and 'href="/\\' not in page
    gantt = signed_in(store, board, "anna").get("/gantt?municipality=461").text
    assert '<a href="?municipality=461&amp;lang=en" lang="en">' in gantt


def test_the_gantt_filters_and_shows_overdue_stretches_in_red(store: Store, board: Board) -> None:
    client = signed_in(store, board, "anna")
    page = client.get("/gantt").text
    assert page.count('<a href="/tenders/') >= 4
    assert 'class="bar late"' in page and 'class="today"' in page
    only = client.get("/gantt?municipality=461").text
    assert "ODE-BESK-01" in only and "AAR-SUND-01" not in only
    nothing = client.get("/gantt?area=ingen").text
    assert "0 af 0" in nothing.replace("–0 ", "0 ")


def test_the_overview_counts_tenders_by_phase_and_overdue_steps(store: Store, board: Board) -> None:
    seen = dashboard.overview(store, at(NOW))
    lines = {line.code: line for line in seen.lines}
    assert lines["751"].counts == {"scoping": 2} and lines["751"].overdue == 2
    assert lines["461"].counts == {"scoping": 1} and lines["461"].overdue == 1
    assert seen.overdue == 4 and seen.totals == {"scoping": 4}
    page = signed_in(store, board, "kl-sek").get("/").text
    assert "Pilotforløb" in page and 'href="/overdue?municipality=751">2</a>' in page


def test_the_effects_csv_has_the_rows_of_the_effects_report(store: Store, board: Board) -> None:
    anna = store.person("anna")
    store.set_facts("AAR-SUND-01", {"contract_value": 900000, "baseline_cost": 1000000}, anna,
                    at(NOW))  # fmt: skip
    expected = App(store, at(NOW), anna).effects()["tenders"]
    answer = signed_in(store, board, "anna").get("/effects.csv")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert (
        [(r["tender"], r["contract_value"], r["saving"], r["saving_percent"]) for r in rows]
        == [
            (e["tender"], str(e["contract_value"]), str(e["saving"]), str(e["saving_percent"]))
            for e in expected
        ]
        == [("AAR-SUND-01", "900000", "100000", "10.0")]
    )


# -- the charts' geometry ------------------------------------------------------------------------


def test_a_late_visit_is_red_from_the_day_after_its_due_date_and_a_final_state_draws_nothing() -> (
    None
):
    visits = (
        dashboard.Visit("scoping", "Scoping", date(2007, 7, 2), date(2007, 10, 10), date(2007, 9, 30)),
        dashboard.Visit("done", "Done", date(2007, 10, 10), None, None, final=True),
    )  # fmt: skip
    row = dashboard.GanttRow("T-1", "A tender", ("751",), None, "d", "done", "Done", True, 0,
                             visits, (), {})  # fmt: skip
    scale = charts.Scale(date(2007, 7, 1), date(2007, 12, 31))
    chart = charts.gantt([row], date(2007, 12, 1), scale, [(date(2007, 9, 30), "M")])
    kinds = [(b.kind, b.x, b.width) for b in chart.bars]
    late = next(b for b in chart.bars if b.kind == "late")
    assert late.x == scale.x(date(2007, 10, 1))
    assert late.x + late.width == pytest.approx(scale.x(date(2007, 10, 11)))
    assert [k for k, _x, _w in kinds] == ["planned", "actual", "late"]  # nothing after "done"
    assert [m.kind for m in chart.markers] == ["milestone"]


def test_the_scale_runs_by_whole_quarters_and_keeps_stray_dates_inside() -> None:
    scale = charts.Scale(date(2007, 4, 1), date(2008, 9, 30))
    assert [t.label for t in scale.quarters()][:2] == ["Q2 2007", "Q3 2007"]
    assert len(scale.quarters()) == 6
    assert scale.x(date(1900, 1, 1)) == scale.x0
    assert scale.x(date(2200, 1, 1)) == scale.x0 + scale.width


def test_behind_tls_the_session_cookie_is_secure(store: Store, board: Board) -> None:
    client = TestClient(http.create_app(store, FixedClock(at(NOW))), base_url="https://testserver",
                        follow_redirects=False)  # fmt: skip
    form = client.get("/signin")
    answer = client.post("/signin", data={"csrf": csrf_of(form.text), "token": board.tokens["ole"]})
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "; Secure" in cookie and "HttpOnly" in cookie


def test_ten_failed_sign_ins_from_one_address_then_429_even_with_a_good_token(
    store: Store, board: Board
) -> None:
    """The sign-in form counts failures with the API's limit (per address, per minute)."""
    client = client_for(store)
    form = client.get("/signin")
    for _ in range(http.FAILURES_ALLOWED):
        bad = client.post("/signin", data={"csrf": csrf_of(form.text), "token": "kf_wrong"})
        assert bad.status_code == 401
    answer = client.post("/signin", data={"csrf": csrf_of(form.text), "token": board.tokens["ole"]})
    assert answer.status_code == 429 and "too many failed sign-ins" in answer.text
    assert SESSION_COOKIE not in client.cookies


def test_a_stale_session_cookie_does_not_stop_the_next_sign_in(store: Store, board: Board) -> None:
    """A session revoked on the server (`kflow token revoke`): the sign-in page drops the dead
    cookie, and signing in again works."""
    client = signed_in(store, board, "anna")
    dead = next(t for t in tokens.tokens(store) if t.kind == "session")
    tokens.revoke(store, dead.id)
    assert client.get("/").status_code == 303
    sign_in(client, board.tokens["anna"])
    assert client.get("/").status_code == 200


def test_revoking_an_api_token_ends_the_sessions_started_with_it(
    store: Store, board: Board
) -> None:
    today = local_date(tokens.real_now())  # the service's day (Copenhagen), not the machine's
    made, text = tokens.create(store, "ole", expires=today)
    client = client_for(store)
    sign_in(client, text)
    session_row = next(t for t in tokens.tokens(store) if t.kind == "session")
    assert session_row.expires_at is not None
    assert session_row.expires_at <= tokens.end_of_day(today)  # not past its token's day
    assert client.get("/").status_code == 200
    tokens.revoke(store, made.id)
    assert client.get("/").status_code == 303


def test_a_form_posted_without_a_session_or_with_too_many_fields_writes_nothing(
    store: Store, board: Board
) -> None:
    before = dump(store)
    anonymous = client_for(store)
    answer = anonymous.post("/tenders/AAR-SUND-01/advance", data={"trigger": "approve_scope"})
    assert answer.status_code == 303 and answer.headers["location"] == "/signin?next=%2F"
    client = signed_in(store, board, "anna")
    page = client.get("/tenders/AAR-SUND-01")
    fields = {"csrf": csrf_of(page.text), "trigger": "approve_scope",
              **{f"x{n}": "1" for n in range(30)}}  # fmt: skip
    answer = client.post("/tenders/AAR-SUND-01/advance", data=fields)
    assert answer.status_code == 400 and "at most 20 fields" in answer.text
    answer = client.post("/tenders/AAR-SUND-01/advance", data={
        "csrf": csrf_of(page.text), "trigger": "approve_scope", "note": "x" * 10_001})  # fmt: skip
    assert answer.status_code == 400 and "at most 10,000 characters" in answer.text
    assert dump(store) == before


def test_retrying_a_message_already_sent_is_refused_as_in_the_api(
    store: Store, board: Board
) -> None:
    client = signed_in(store, board, "kl-sek")
    queued = store.notifications("sent")[0]
    page = client.get("/notifications")
    answer = client.post(f"/notifications/{queued.id}/retry", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 400 and "nothing to retry" in answer.text
    assert store.notification(queued.id).status == "sent"
    with client_for(store) as api:
        headers = {"Authorization": f"Bearer {board.tokens['kl-sek']}"}
        assert (
            api.post(f"/api/v1/notifications/{queued.id}/retry", headers=headers).status_code == 400
        )
    assert client.post("/notifications/abc/retry", data={}).status_code == 400
    assert client.get("/notifications?status=lost").status_code == 400


def test_a_link_cannot_make_a_page_say_something_was_done(store: Store, board: Board) -> None:
    client = signed_in(store, board, "anna")
    shown = client.get("/tenders/AAR-SUND-01?done=Sagen+er+afgjort").text
    assert "Sagen er afgjort" not in shown and 'role="status"' not in shown
    assert "#999 sat" not in client.get("/?retried=999").text
    assert client.get("/?programme=nope").status_code == 404


def test_the_effects_page_pages_its_tenders_and_totals_them_all(
    store: Store, board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of three awarded tenders: together every tender of the report once, in its order;
    the totals by area and for the network count every tender on every page."""
    monkeypatch.setattr(dashboard, "EFFECTS_PAGE", 3)
    secretariat = store.person("kl-sek")
    for n, tender in enumerate(store.tenders()):
        store.set_facts(tender.id, {"contract_value": 100_000 * (n + 1), "baseline_cost": 900_000},
                        secretariat, at(NOW))  # fmt: skip
    every = [r["tender"] for r in App(store, at(NOW)).effects()["tenders"]]
    assert len(every) == 4
    client = signed_in(store, board, "kl-sek")
    first, second = client.get("/effects").text, client.get("/effects?offset=3").text
    assert "Viser 1–3 af 4" in first and "Viser 4–4 af 4" in second
    assert 'href="/effects?offset=3">Næste</a>' in first
    assert 'href="/effects?offset=0">Forrige</a>' in second and "Næste" not in second
    shown = [_effects_rows(first), _effects_rows(second)]
    assert shown == [every[:3], every[3:]]
    for page in (first, second):  # the network's line counts all four, whichever page
        assert re.search(r'<tfoot><tr><th scope="row">Netværket</th><td class="num">4</td>', page)
    beyond = client.get("/effects?offset=40").text
    assert "Der er ikke så mange." in beyond and _effects_rows(beyond) == []
    assert 'href="/effects?offset=0">Til første side' in beyond


def _effects_rows(page: str) -> list[str]:
    """The tenders of a page of `/effects`'s table of tenders, in order."""
    table = page.split('id="tenders-h"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<th scope="row"><a href="/tenders/([^"]+)">', table)


def test_the_effects_csv_keeps_a_formula_as_text(store: Store, board: Board) -> None:
    anna = store.person("anna")
    store.set_facts("AAR-SUND-01", {"contract_value": 5, "quality_note": "=HYPERLINK(1)"}, anna,
                    at(NOW))  # fmt: skip
    answer = signed_in(store, board, "anna").get("/effects.csv")
    (row,) = list(csv.DictReader(io.StringIO(answer.text)))
    assert row["quality_note"] == "'=HYPERLINK(1)"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_the_api_answers_its_own_405_beside_the_pages(store: Store) -> None:
    answer = client_for(store).post("/api/v1/me")
    assert answer.status_code == 405 and answer.json() == {"error": "Method Not Allowed"}


def test_the_effects_page_says_so_when_nothing_is_awarded_yet(store: Store, board: Board) -> None:
    page = signed_in(store, board, "anna").get("/effects").text
    assert "Intet udbud har en kontraktsum endnu." in page and "/export/effects.xlsx" in page


def test_the_api_pages_tender_lists_and_refuses_a_bad_page(store: Store, board: Board) -> None:
    headers = {"Authorization": f"Bearer {board.tokens['kl-sek']}"}
    with client_for(store) as api:
        everything = [t["id"] for t in api.get("/api/v1/tenders", headers=headers).json()]
        page = api.get("/api/v1/tenders", params={"limit": 2, "offset": 1}, headers=headers)
        assert [t["id"] for t in page.json()] == everything[1:3]
        late = api.get("/api/v1/tenders", params={"overdue": "true"}, headers=headers).json()
        assert [t["id"] for t in late] == everything and all(t["overdue"] for t in late)
        for path in ("/api/v1/tenders", "/api/v1/overdue", "/api/v1/notifications"):
            for bad in ({"limit": 0}, {"limit": 10_001}, {"offset": -1}, {"offset": 2**63}):
                answer = api.get(path, params=bad, headers=headers)
                assert answer.status_code == 400 and "malformed request" in answer.json()["error"]
        overdue = api.get("/api/v1/overdue", headers=headers).json()
        paged = api.get("/api/v1/overdue", params={"limit": 1, "offset": 1}, headers=headers)
        assert len(overdue) > 1 and paged.json() == overdue[1:2]
        outbox = api.get("/api/v1/notifications", headers=headers).json()
        paged = api.get("/api/v1/notifications", params={"limit": 1}, headers=headers)
        assert len(outbox) > 1 and paged.json() == outbox[:1]


def test_the_outbox_filters_withdrawn_messages_and_refuses_an_unknown_status(
    store: Store, board: Board
) -> None:
    """A withdrawn message (its step left before it went out) has its own filter, in Danish;
    a status the outbox does not have is refused with the list of those it has."""
    from sqlalchemy import text

    from konkurrence_flow.unit import WITHDRAWN

    newest = store.notifications()[-1:]  # as if it had been withdrawn before it went out
    assert newest, "the dashboard's store has messages"
    with store.engine.begin() as conn:  # as `_withdraw` leaves one
        conn.execute(text("UPDATE notification SET status = 'withdrawn', last_error = :e "
                          "WHERE id = :i"), {"e": WITHDRAWN, "i": newest[0].id})  # fmt: skip
    secretariat = signed_in(store, board, "kl-sek")
    page = secretariat.get("/notifications")
    assert '<a href="/notifications?status=withdrawn">Trukket tilbage</a>' in page.text
    only = secretariat.get("/notifications?status=withdrawn")
    assert only.status_code == 200 and f"<td>{newest[0].id}</td>" in only.text
    assert "Trukket tilbage (1)" in only.text
    odd = secretariat.get("/notifications?status=late")
    assert odd.status_code == 400 and "statuses: queued, sent, failed, withdrawn" in odd.text
