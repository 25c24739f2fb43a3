"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against `kflow serve`
on 127.0.0.1 (the pilot on 2007-10-05: scoping steps five days overdue, Odense's messages
failed, documents in the materials bank). Every page is checked with axe-core (the npm package) for serious or critical
accessibility violations, and screenshotted into test-artifacts/browser/.

`make test` installs both (Chromium with apt-get, axe-core with npm); without them these tests
fail with a sentence saying what to install, never skip.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_store import NOW, Board, make_board
from servers import free_port
from support import ROOT, wait_for

from konkurrence_flow import samples

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
"""Chromium as root on a closed network: no sandbox, and no calls home."""


@dataclass
class Served:
    board: Board
    base: str
    process: subprocess.Popen[bytes]
    log: Path
    secrets: list[str] = field(default_factory=list)  # session cookies and links seen

    def api(self, person: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.board.tokens[person]}"}
        return httpx.Client(base_url=f"{self.base}/api/v1", headers=headers, timeout=30)

    def history(self, tender: str) -> list[dict[str, Any]]:
        with self.api("kl-sek") as client:
            return list(client.get(f"/tenders/{tender}/history").json())

    def kflow(self, *args: str) -> str:
        env = {**os.environ, "KFLOW_DB": self.board.url, "KFLOW_USER": "kl-sek",
               "PYTHONPATH": str(ROOT)}  # fmt: skip
        done = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`kflow --now NOW serve --no-scheduler` on a free port; stopped cleanly after, and no
    token's text in what it wrote."""
    folder = tmp_path_factory.mktemp("browser")
    board = make_board(folder, materials=True)
    port, log = free_port(), folder / "serve.log"
    env = {**os.environ, "KFLOW_DB": board.url, "KFLOW_USER": "kl-sek", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(ROOT / "cli.py"), "--now", NOW, "serve", "--no-scheduler",
           "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT)
    service = Served(board, f"http://127.0.0.1:{port}", process, log)
    try:
        wait_for(lambda: _healthy(service), seconds=60)
        service.secrets.append(_session_of(service, board.tokens["kl-sek"]))
        yield service
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text("utf-8")
    written = log.read_text("utf-8")
    # one session is always there (above), whichever of the tests ran: the sessions, the link
    # and the calendar link the tests saw are looked for too
    for text in [*board.tokens.values(), *service.secrets]:
        assert text.split("_", 2)[2] not in written


def _session_of(service: Served, token: str) -> str:
    """Sign in through the form without a browser: the session cookie's text."""
    with httpx.Client(base_url=service.base, timeout=30) as client:
        form = client.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]*)"', form.text)
        assert csrf, "the sign-in page has no CSRF token"
        done = client.post("/signin", data={"csrf": csrf.group(1), "token": token, "next": "/"})
        assert done.status_code == 303, done.text
        return str(done.cookies["kflow_session"])


def _healthy(service: Served) -> bool:
    if service.process.poll() is not None:
        raise AssertionError(f"kflow serve left early:\n{service.log.read_text('utf-8')}")
    try:
        return httpx.get(f"{service.base}/api/v1/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Debian's chromium at {CHROMIUM}: run `make test` "
                    "as root (it installs it) or `sudo apt-get install chromium`")  # fmt: skip
    if not AXE.exists():
        pytest.fail(f"the browser tests need axe-core at {AXE}: run `npm ci` (make test does)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies). CSP is bypassed only so that the test can inject
    axe-core; the pages themselves load nothing but their own files."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def check(page: Any, name: str) -> None:
    """Screenshot the page into the artifacts, and let axe-core find no serious or critical
    violation on it."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in serious
    )


def sign_in(page: Any, served: Served, token: str, path: str = "/") -> None:
    page.goto(f"{served.base}{path}")
    assert "/signin" in page.url
    page.fill("#token", token)
    page.click("#signin button[type=submit]")
    page.wait_for_url(f"{served.base}{path}")
    remember_session(page, served)


def remember_session(page: Any, served: Served) -> None:
    """Keep the session cookie's text, to look for it in the service's log at the end."""
    cookie = next(c for c in page.context.cookies() if c["name"] == "kflow_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    served.secrets.append(cookie["value"])


# -- a project leader's day ------------------------------------------------------------------------


def test_a_leader_sees_the_overdue_step_opens_it_is_refused_then_moves_it_on(
    served: Served, page: Any
) -> None:
    base = served.base
    page.goto(f"{base}/overdue")
    check(page, "signin")
    sign_in(page, served, served.board.tokens["anna"], "/overdue")
    aarhus = page.locator("section", has=page.locator("h2", has_text="Aarhus"))
    assert aarhus.locator("a", has_text="AAR-SUND-01").is_visible()
    assert aarhus.locator("tr", has_text="AAR-SUND-01").locator("td.late").inner_text() == "5"
    check(page, "overdue")

    page.click("text=AAR-SUND-01")
    page.wait_for_url(f"{base}/tenders/AAR-SUND-01")
    check(page, "tender")
    before = served.history("AAR-SUND-01")

    page.click("button:has-text('Udfør: cancel')")  # cancel needs a note: none given
    alert = page.locator(".refusal[role=alert]")
    assert "'cancel' on tender AAR-SUND-01 needs a note saying why (give --note)" in (
        alert.inner_text()
    )
    assert served.history("AAR-SUND-01") == before  # the refusal wrote nothing
    check(page, "tender-refused")

    form = page.locator("form", has=page.locator("input[name=trigger][value=approve_scope]"))
    form.locator("textarea[name=note]").fill("Besluttet i byrådet")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/tenders/AAR-SUND-01?done=approve_scope")
    assert page.locator("#state").inner_text() == "Udarbejdelse af udbudsmateriale"
    assert "Udarbejdelse af udbudsmateriale" in page.locator("[role=status]").inner_text()
    last = served.history("AAR-SUND-01")[-1]
    assert (last["trigger"], last["actor"], last["note"]) == (
        "approve_scope",
        "anna",
        "Besluttet i byrådet",
    )
    check(page, "tender-moved")


def test_a_leader_cannot_use_another_municipalitys_forms(served: Served, page: Any) -> None:
    """No forms on Odense's tender for Aarhus's leader; a form posted anyway (with her own valid
    CSRF token) gets 403 and writes nothing; the outbox is the secretariat's."""
    base = served.base
    sign_in(page, served, served.board.tokens["anna"], "/tenders/ODE-BESK-01")
    assert page.locator("form[action='/tenders/ODE-BESK-01/advance']").count() == 0
    before = served.history("ODE-BESK-01")
    status = page.evaluate("""async () => {
        const csrf = document.querySelector("input[name=csrf]").value;
        const body = new URLSearchParams({csrf, trigger: "approve_scope"});
        return (await fetch("/tenders/ODE-BESK-01/advance", {method: "POST", body})).status;
    }""")
    assert status == 403
    assert served.history("ODE-BESK-01") == before
    answer = page.goto(f"{base}/notifications")
    assert answer.status == 403
    assert "only the secretariat may" in page.locator("[role=alert]").inner_text()
    check(page, "forbidden")


def test_keyboard_users_can_skip_to_the_content_and_see_where_focus_is(
    served: Served, page: Any
) -> None:
    sign_in(page, served, served.board.tokens["anna"], "/gantt")
    page.keyboard.press("Tab")
    focused = page.evaluate("""() => {
        const el = document.activeElement, style = getComputedStyle(el);
        return {cls: el.className, outline: style.outlineStyle, width: style.outlineWidth};
    }""")
    assert focused["cls"] == "skip" and focused["outline"] == "solid" and focused["width"] == "3px"
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"


def test_a_leader_searches_the_materials_bank_and_downloads_a_hit(
    served: Served, page: Any
) -> None:
    """The search marks the word found; the hit's link saves the PDF under its own name. The
    page is checked at a phone's width too."""
    sign_in(page, served, served.board.tokens["anna"], "/materials")
    page.fill("#m-q", "funktionsevne")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url(f"{served.base}/materials?q=funktionsevne&area=&kind=")
    assert page.locator("ol.hits mark").first.inner_text() == "funktionsevnemålinger"
    assert page.locator("ol.hits > li").count() == 1
    check(page, "materials-search")
    with page.expect_download() as started:
        page.click("ol.hits a[download]")
    saved = started.value
    assert saved.suggested_filename == "kravspecifikation-genoptraening.pdf"
    assert Path(saved.path()).read_bytes().startswith(b"%PDF-")
    page.set_viewport_size({"width": 390, "height": 844})
    check(page, "materials-search-phone")
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= 390, f"the page is {wide} px wide on a 390 px screen"


def test_a_leader_attaches_documents_through_the_tender_pages_form(
    served: Served, page: Any, tmp_path: Path
) -> None:
    """A file with a false extension is refused on the page (role=alert, nothing written); a PDF
    and a DOCX chosen together are attached, listed, and in the history as anna's."""
    base = served.base
    pdf = tmp_path / "tilbudsliste.pdf"
    pdf.write_bytes(samples.pdf("Tilbudsliste", ["Priser pr. træningsforløb, i kroner."]))
    docx = samples.docx(tmp_path / "bilag.docx", "Bilag", ["Leverandørens ydelser."])
    false = tmp_path / "falsk.docx"
    false.write_bytes(pdf.read_bytes())
    sign_in(page, served, served.board.tokens["anna"], "/tenders/AAR-SUND-01")
    form = page.locator("form[action='/tenders/AAR-SUND-01/files']")
    check(page, "tender-attach-form")
    before = served.history("AAR-SUND-01")

    form.get_by_label("Filer").set_input_files(str(false))
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "falsk.docx ends in .docx, but its content is PDF" in (
        page.locator(".refusal[role=alert]").inner_text()
    )
    assert served.history("AAR-SUND-01") == before
    check(page, "tender-attach-refused")

    form.get_by_label("Filer").set_input_files([str(pdf), str(docx)])
    form.get_by_label("Type").select_option("kravspecifikation")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/tenders/AAR-SUND-01?attached=2")
    assert "Tilføjet: 2 dokumenter." in page.locator("[role=status]").inner_text()
    documents = page.locator("section", has=page.locator("#docs-h"))
    for name in ("tilbudsliste.pdf", "bilag.docx"):
        assert documents.locator("a[download]", has_text=name).is_visible()
    added = served.history("AAR-SUND-01")[len(before) :]
    assert [(e["actor"], e["data"]["attached"]["filename"]) for e in added] == [
        ("anna", "tilbudsliste.pdf"), ("anna", "bilag.docx")
    ]  # fmt: skip
    check(page, "tender-attached")


# -- the secretariat ---------------------------------------------------------------------------------


def test_the_secretariat_signs_in_with_a_one_time_link_and_retries_a_failed_message(
    served: Served, page: Any
) -> None:
    base = served.base
    link = served.kflow("token", "create", "kl-sek", "--link", "--url", base).strip()
    assert link.startswith(f"{base}/signin#kf_")
    page.goto(link)
    assert page.input_value("#token") == link.split("#", 1)[1]  # the script took it from '#'
    assert "#" not in page.url  # and took it out of the address bar
    page.click("#signin button[type=submit]")
    page.wait_for_url(f"{base}/")
    served.secrets.append(link.split("#", 1)[1])
    remember_session(page, served)
    check(page, "overview")

    page.goto(f"{base}/notifications")
    failed = page.locator("section", has=page.locator("#failed-h"))
    first = failed.locator("tbody tr").first
    note_id = int(first.locator("td").first.inner_text())
    assert "ole has no email address" in first.inner_text()
    check(page, "notifications")
    first.locator("button", has_text="Send igen").click()
    page.wait_for_url(f"{base}/notifications?retried={note_id}")
    assert f"#{note_id} sat i kø igen" in page.locator("[role=status]").inner_text()
    with served.api("kl-sek") as api:
        notes = {n["id"]: n for n in api.get("/notifications").json()}
    assert notes[note_id]["status"] == "queued"

    other = page.context.browser.new_context()  # the link is used up
    again = other.new_page()
    again.goto(link)
    again.click("#signin button[type=submit]")
    assert "this sign-in link has been used" in again.locator("[role=alert]").inner_text()
    other.close()


def test_every_page_in_both_languages_passes_axe_and_is_captured(served: Served, page: Any) -> None:
    base = served.base
    sign_in(page, served, served.board.tokens["kl-sek"])
    for path, name in (("/", "overview"), ("/gantt", "gantt"), ("/effects", "effects"),
                       ("/overdue", "overdue-all"), ("/tenders/FRB-SUND-01", "tender-secretariat"),
                       ("/materials", "materials"), ("/tenders/ODE-BESK-01", "tender-documents")):  # fmt: skip
        page.goto(f"{base}{path}")
        check(page, f"{name}-da")
        page.goto(f"{base}{path}?lang=en")
        assert page.locator("html").get_attribute("lang") == "en"
        check(page, f"{name}-en")
        page.goto(f"{base}{path}?lang=da")


def test_the_gantt_prints_on_a4_landscape_without_menus_or_forms(served: Served, page: Any) -> None:
    sign_in(page, served, served.board.tokens["kl-sek"], "/gantt")
    page.emulate_media(media="print")
    assert not page.locator("header nav").is_visible()
    assert not page.locator("form.filters").is_visible()
    assert page.locator("svg.gantt").is_visible()
    pdf = page.pdf(format="A4", landscape=True, prefer_css_page_size=True)
    (ARTIFACTS / "gantt.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type/Page") >= 1


def test_signing_out_returns_to_the_sign_in_page_and_the_pages_stay_closed(
    served: Served, page: Any
) -> None:
    sign_in(page, served, served.board.tokens["ole"])
    started = time.monotonic()
    page.click("header button:has-text('Log ud')")
    page.wait_for_url(f"{served.base}/signin")
    assert time.monotonic() - started < 20
    page.goto(f"{served.base}/gantt")
    assert "/signin?next=%2Fgantt" in page.url


def test_a_calendar_feed_over_http_answers_304_and_keeps_its_secret_out_of_the_log(
    served: Served,
) -> None:
    """`kflow token create anna --calendar` gives the feed URL a calendar client subscribes to;
    uvicorn's access log shows the path without the secret (checked when the service stops)."""
    link = served.kflow("token", "create", "anna", "--calendar", "--url", served.base).strip()
    assert link.startswith(f"{served.base}/calendar/kf_") and link.endswith(".ics")
    served.secrets.append(link.rsplit("/", 1)[1].removesuffix(".ics"))
    first = httpx.get(link, timeout=30)
    assert first.status_code == 200 and "BEGIN:VCALENDAR" in first.text
    again = httpx.get(link, headers={"If-None-Match": first.headers["etag"]}, timeout=30)
    assert again.status_code == 304
