"""The materials bank on the dashboard: the search page, the downloads and the tender page's
documents, for the signed-in person and by the bank's one rule of who sees what. The pilot's
documents (`dashboard_store.attach_samples`): a PDF in two versions on Aarhus's AAR-SUND-01, a
draft DOCX on Odense's ODE-BESK-01; neither tender is published."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_store import NOW, Board, make_board
from fastapi.testclient import TestClient
from httpx import Response
from structlog.testing import capture_logs
from support import ANNA, OLE, SEK, at
from test_pages import client_for, csrf_of, signed_in

from konkurrence_flow import http, materials, samples
from konkurrence_flow.app import App
from konkurrence_flow.clock import FixedClock
from konkurrence_flow.documents import KINDS
from konkurrence_flow.errors import InvalidInput
from konkurrence_flow.model import NewTender, Person
from konkurrence_flow.store import Store
from konkurrence_flow.web import bank
from konkurrence_flow.web.bank import file_size, marked
from konkurrence_flow.web.text import translator


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Board:
    return make_board(tmp_path_factory.mktemp("bank"), materials=True)


@pytest.fixture
def store(board: Board, tmp_path: Path) -> Iterator[Store]:
    """A copy of the board's store for one test."""
    found = board.copy(tmp_path)
    yield found
    found.engine.dispose()


def file_id(store: Store, tender: str, version: int = 1) -> int:
    """The id of a version of the tender's document (it has one title)."""
    found = App(store, at(NOW), store.person("kl-sek")).files(tender)
    return next(f["id"] for f in found if f["version"] == version)


def attach_text(store: Store, folder: Path, tender: str, text: str, title: str, name: str) -> int:
    """A plain-text document attached to the tender by the secretariat; its id."""
    path = folder / "upload.txt"
    path.write_text(text, encoding="utf-8")
    done = materials.attach(store, tender, [materials.Upload(path, name)], store.person("kl-sek"),
                            at(NOW), title=title)  # fmt: skip
    return int(done[0]["id"])


def hit_titles(html: str) -> list[str]:
    """The titles of the hits the page lists, in order."""
    return re.findall(r"<li>\s*<h3>(.*?) <span", html)


# -- the search ------------------------------------------------------------------------------------


def test_the_search_finds_a_word_in_a_pdfs_text_and_marks_it(store: Store, board: Board) -> None:
    """A word's longer forms match; the hit shows the latest version only, its tender (linked),
    municipality, area and year, and a download link."""
    page = signed_in(store, board, "anna").get("/materials?q=funktionsevne")
    assert page.status_code == 200
    assert "<mark>funktionsevnemålinger</mark>" in page.text
    title = "Kravspecifikation: Genoptræning"
    assert hit_titles(page.text) == [title]
    assert '<span class="tag">v2</span>' in page.text and "v1<" not in page.text
    tender = "AAR-SUND-01: Genoptræning efter sygehusudskrivning"
    assert f'<a href="/tenders/AAR-SUND-01">{tender}</a>' in page.text
    for shown in ("<dd>Aarhus</dd>", "<dd>sundhed</dd>", "<dd>2007</dd>", "<dd>Kravspecifikation</dd>"):  # fmt: skip
        assert shown in page.text
    newest = file_id(store, "AAR-SUND-01", 2)
    link = f'href="/materials/files/{newest}" download>Hent kravspecifikation-genoptraening.pdf'
    assert link in page.text
    client = signed_in(store, board, "anna")
    assert hit_titles(client.get("/materials?q=fem+dage").text) == [title]  # version 2's text
    assert hit_titles(client.get("/materials?q=syv+dage").text) == []  # version 1's


def test_without_words_the_page_lists_the_documents_attached_last(
    store: Store, board: Board
) -> None:
    page = signed_in(store, board, "kl-sek").get("/materials").text
    assert "Senest tilføjede dokumenter" in page
    assert hit_titles(page) == ["Udkast: Mentorordning", "Kravspecifikation: Genoptræning"]
    assert 'Genoptræning <span class="tag">v2</span>' in page  # the latest version only
    assert "<mark>" not in page


def test_hits_and_the_documents_attached_last_are_paged_with_the_search_kept(
    store: Store, board: Board, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of two: together the search's order, each hit once; the words, area and kind stay
    in the links; past the end, a way back; without words, the latest documents page alike."""
    monkeypatch.setattr(bank, "HITS", 2)
    for n in range(5):
        attach_text(store, tmp_path, "AAR-SUND-01", f"Fællesord nummer {n}.", f"Notat {n}",
                    f"notat-{n}.txt")  # fmt: skip
    client = signed_in(store, board, "kl-sek")
    every = [h["file"]["title"] for h in App(store, at(NOW), SEK).search_materials("fællesord")]
    assert len(every) == 5
    seen: list[str] = []
    path: str | None = "/materials?q=f%C3%A6llesord&area=sundhed"
    while path:
        page = client.get(path).text
        titles = hit_titles(page)
        assert f"Viser {len(seen) + 1}–{len(seen) + len(titles)} af 5</p>" in page
        assert "Fundne dokumenter (5)" in page
        seen += titles
        found = re.search(r'<a href="([^"]*)">Næste</a>', page)
        path = found.group(1).replace("&amp;", "&") if found else None
        assert path is None or ("q=f%C3%A6llesord" in path and "area=sundhed" in path)
    assert seen == every
    beyond = client.get("/materials?q=f%C3%A6llesord&offset=40").text
    assert hit_titles(beyond) == [] and "Der er ikke så mange." in beyond
    assert "Ingen dokumenter" not in beyond and "Viser" not in beyond
    latest = [h["file"]["title"] for h in App(store, at(NOW), SEK).recent_materials(limit=50)]
    second = client.get("/materials?offset=2").text
    assert hit_titles(second) == latest[2:4] and '<ol class="hits" start="3">' in second
    assert 'href="/materials?offset=0">Forrige</a>' in second


def test_area_and_kind_narrow_the_search_and_the_form_offers_the_stores_areas(
    store: Store, board: Board
) -> None:
    client = signed_in(store, board, "kl-sek")
    page = client.get("/materials?q=genoptræning&area=sundhed&kind=kravspecifikation").text
    assert hit_titles(page) == ["Kravspecifikation: Genoptræning"]
    assert '<option value="sundhed" selected>' in page
    assert '<option value="kravspecifikation" selected>Kravspecifikation</option>' in page
    assert '<option value="beskæftigelse">' in page
    assert '<option value="udbudsbekendtgoerelse">Udbudsbekendtgørelse</option>' in page
    for narrowed in ("area=beskæftigelse", "kind=kontrakt"):
        page = client.get(f"/materials?q=genoptræning&{narrowed}").text
        assert hit_titles(page) == [] and "Ingen dokumenter, du kan se, indeholder ordene." in page
    assert hit_titles(client.get("/materials?area=beskæftigelse").text) == ["Udkast: Mentorordning"]


def test_a_search_the_bank_refuses_shows_its_sentence_on_the_page(
    store: Store, board: Board
) -> None:
    """Only punctuation, or an unknown kind: a 400 with the CLI's sentence and the form kept."""
    client = signed_in(store, board, "anna")
    for query, sentence in (
        ("q=%21%22%23%3F*", "give a word to search for (letters or digits)"),
        ("q=madservice&kind=nope", "unknown kind &#39;nope&#39; (kinds: udbudsbekendtgoerelse"),
        ("kind=%3Cb%3E", "unknown kind &#39;&lt;b&gt;&#39;"),
    ):
        answer = client.get(f"/materials?{query}")
        assert answer.status_code == 400, query
        assert 'role="alert"' in answer.text and sentence in answer.text, answer.text
        assert 'id="m-q"' in answer.text
    long = client.get("/materials?q=" + "genoptræning+" * 500)
    assert long.status_code == 200 and hit_titles(long.text) == ["Kravspecifikation: Genoptræning"]


def test_markup_in_a_documents_title_or_text_is_shown_as_text(
    store: Store, board: Board, tmp_path: Path
) -> None:
    attach_text(store, tmp_path, "AAR-SUND-01",
                'Tilbudsliste <script>alert("tekst")</script> <b>fed</b> a**b',
                '<script>alert("titel")</script> Tilbudsliste', "tilbudsliste.txt")  # fmt: skip
    client = signed_in(store, board, "anna")
    for page in (client.get("/materials?q=tilbudsliste").text,
                 client.get("/materials").text, client.get("/tenders/AAR-SUND-01").text):  # fmt: skip
        assert "<script>" not in page and "<b>fed" not in page
        assert "&lt;script&gt;alert(&#34;titel&#34;)&lt;/script&gt; Tilbudsliste" in page
    page = client.get("/materials?q=tilbudsliste").text
    assert "<mark>Tilbudsliste</mark> &lt;script&gt;alert(&#34;tekst&#34;)" in page
    assert "&lt;b&gt;fed&lt;/b&gt; a\u2217\u2217b" in page  # a ** of the text marks nothing


# -- who sees what ---------------------------------------------------------------------------------


def test_a_leader_never_sees_another_municipalitys_unpublished_draft(
    store: Store, board: Board
) -> None:
    """anna (Aarhus) neither finds, lists nor downloads Odense's draft; the tender page says in a
    line that its documents are not hers to see."""
    draft = file_id(store, "ODE-BESK-01")
    client = signed_in(store, board, "anna")
    for path in ("/materials?q=mentorforløb", "/materials?q=mentorordning", "/materials"):
        page = client.get(path)
        assert page.status_code == 200 and "Mentorordning" not in page.text, path
    answer = client.get(f"/materials/files/{draft}")
    assert answer.status_code == 403 and "<h1>Ingen adgang (403)</h1>" in answer.text
    assert "tender ODE-BESK-01 is not published yet" in answer.text
    assert "content-disposition" not in answer.headers
    tender = client.get("/tenders/ODE-BESK-01")
    assert tender.status_code == 200
    assert "Udbuddet er ikke offentliggjort endnu: dets dokumenter er kun for deltagerne" in (
        tender.text
    )
    assert "/materials/files/" not in tender.text


@pytest.mark.parametrize("person", ["ole", "kl-sek"])
def test_the_drafts_own_leader_and_the_secretariat_find_and_download_it(
    store: Store, board: Board, person: str
) -> None:
    draft = file_id(store, "ODE-BESK-01")
    client = signed_in(store, board, person)
    page = client.get("/materials?q=mentorforløb").text
    assert hit_titles(page) == ["Udkast: Mentorordning"] and "<mark>mentorforløb</mark>" in page
    assert client.get(f"/materials/files/{draft}").status_code == 200
    assert f'href="/materials/files/{draft}"' in client.get("/tenders/ODE-BESK-01").text


def test_once_published_a_tenders_documents_are_for_everyone(store: Store, board: Board) -> None:
    secretariat = App(store, at(NOW), store.person("kl-sek"))
    for trigger in ("approve_scope", "publish"):
        secretariat.advance("ODE-BESK-01", trigger)
    client = signed_in(store, board, "anna")
    assert hit_titles(client.get("/materials?q=mentorforløb").text) == ["Udkast: Mentorordning"]
    assert client.get(f"/materials/files/{file_id(store, 'ODE-BESK-01')}").status_code == 200


def test_the_bank_needs_a_session(store: Store, board: Board) -> None:
    client = client_for(store)
    for path in ("/materials?q=genoptræning", f"/materials/files/{file_id(store, 'AAR-SUND-01')}"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin?next=")


# -- downloads -------------------------------------------------------------------------------------


def test_a_download_is_the_documents_bytes_under_its_own_name(store: Store, board: Board) -> None:
    original = Path(board.url.removeprefix("sqlite:///")).parent / "samples"
    sent = (original / "kravspecifikation-genoptraening-fem.pdf").read_bytes()
    answer = signed_in(store, board, "anna").get(
        f"/materials/files/{file_id(store, 'AAR-SUND-01', 2)}"
    )
    assert answer.status_code == 200 and answer.content == sent
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-length"] == str(len(sent))
    assert answer.headers["x-content-sha256"] == hashlib.sha256(sent).hexdigest()
    assert answer.headers["content-disposition"] == (
        'attachment; filename="kravspecifikation-genoptraening.pdf"; '
        "filename*=UTF-8''kravspecifikation-genoptraening.pdf"
    )


def test_a_danish_file_name_is_sent_whole_and_as_ascii(
    store: Store, board: Board, tmp_path: Path
) -> None:
    text = "Økonomisk ramme for genoptræning: 1,2 mio. kr. om året.\n"
    made = attach_text(store, tmp_path, "AAR-SUND-01", text, "Økonomi", "bilag-økonomi.txt")
    answer = signed_in(store, board, "anna").get(f"/materials/files/{made}")
    assert answer.content == text.encode("utf-8")
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        "attachment; filename=\"bilag-_konomi.txt\"; filename*=UTF-8''bilag-%C3%B8konomi.txt"
    )


def test_an_unknown_or_malformed_file_is_a_page_not_a_failure(store: Store, board: Board) -> None:
    client = signed_in(store, board, "anna")
    unknown = client.get("/materials/files/999")
    assert unknown.status_code == 404 and "no file 999" in unknown.text
    for bad in ("abc", "0", str(2**63)):
        answer = client.get(f"/materials/files/{bad}")
        assert answer.status_code == 400 and "malformed request" in answer.text, bad


# -- the tender page -------------------------------------------------------------------------------


def test_the_tender_page_lists_every_version_newest_first(store: Store, board: Board) -> None:
    page = signed_in(store, board, "anna").get("/tenders/AAR-SUND-01").text
    section = page[page.index('<h2 id="docs-h">Dokumenter</h2>') : page.index('id="hist-h"')]
    newest, oldest = file_id(store, "AAR-SUND-01", 2), file_id(store, "AAR-SUND-01", 1)
    assert section.index(f"/materials/files/{newest}") < section.index(f"/materials/files/{oldest}")
    assert section.count("<td>v2</td>") == 1 and section.count("<td>v1</td>") == 1
    assert "<td>Kravspecifikation</td>" in section and "<td>anna</td>" in section
    empty = signed_in(store, board, "kl-sek").get("/tenders/FRB-SUND-01").text
    assert "Ingen dokumenter endnu." in empty


# -- the words and the filters -------------------------------------------------------------------


def test_the_bank_is_in_the_menu_in_both_languages(store: Store, board: Board) -> None:
    client = signed_in(store, board, "anna")
    danish = client.get("/materials").text
    assert '<a href="/materials" aria-current="page">Materialebank</a>' in danish
    english = client.get("/materials?lang=en").text
    assert "<h1>Materials bank</h1>" in english and "Requirement specification" in english
    assert '<a href="/materials">Materials bank</a>' in client.get("/").text


def test_every_kind_of_document_has_words_in_both_languages() -> None:
    for lang in ("da", "en"):
        t = translator(lang)
        assert all(t(f"kind_{kind}") != f"kind_{kind}" for kind in KINDS), lang


def test_a_snippet_is_escaped_and_its_hits_marked() -> None:
    assert str(marked("før **Genoptræning** <i>&</i> **x**")) == (
        "før <mark>Genoptræning</mark> &lt;i&gt;&amp;&lt;/i&gt; <mark>x</mark>"
    )
    assert str(marked("**a****b**")) == "<mark>a</mark><mark>b</mark>"
    assert str(marked("ingen hits")) == "ingen hits"


def test_a_file_size_reads_in_the_pages_language() -> None:
    assert [file_size(n, "da") for n in (850, 12_345, 999_499, 999_500, 3_450_000)] == [
        "850 B", "12 kB", "999 kB", "1,0 MB", "3,5 MB"
    ]  # fmt: skip
    assert file_size(3_450_000, "en") == "3.5 MB"


# -- the bank's front page, on both stores ---------------------------------------------------------


def test_the_documents_attached_last_are_the_latest_versions_the_viewer_may_see(
    any_store: Store, tmp_path: Path
) -> None:
    """`materials.recent` on SQLite and PostgreSQL: the same rule of who sees what as the search,
    one row per title (its latest version), the last attached first, area and kind narrowing;
    a title hit's snippet is of the text on both."""
    for spec, who in ((NewTender("individual-tender", "Genoptræning", ("751",), id="AAR-01",
                                 area="sundhed"), ANNA),
                      (NewTender("individual-tender", "Mentor", ("461",), id="ODE-01",
                                 area="beskæftigelse"), OLE)):  # fmt: skip
        any_store.create_tender(spec, who, at("2007-07-02"))
    path = tmp_path / "a.txt"
    for tender, who, title, text, when in (
        ("AAR-01", ANNA, "Krav", "Træning i hjemmet.", "2007-08-01"),
        ("AAR-01", ANNA, "Krav", "Træning i hjemmet eller på center.", "2007-08-02"),
        ("ODE-01", OLE, "Udkast", "Mentorforløb i seks måneder.", "2007-08-03"),
    ):
        path.write_text(text, encoding="utf-8")
        materials.attach(any_store, tender, [materials.Upload(path, "a.txt")], who, at(when),
                         kind="kravspecifikation", title=title)  # fmt: skip

    def shown(viewer: Person | None, **chosen: str) -> list[tuple[str, int]]:
        found = materials.recent(any_store, viewer, **chosen)
        return [(f["file"]["title"], f["file"]["version"]) for f in found]

    assert shown(SEK) == [("Udkast", 1), ("Krav", 2)]
    assert shown(ANNA) == [("Krav", 2)] and shown(OLE) == [("Udkast", 1)] and shown(None) == []
    assert shown(SEK, area="sundhed") == [("Krav", 2)] and shown(SEK, kind="kontrakt") == []
    (hit,) = materials.search(any_store, "krav", SEK)
    assert hit["title_hit"] and hit["snippet"] == "Træning i hjemmet eller på center."
    with pytest.raises(InvalidInput, match=r"unknown kind 'x' \(kinds: udbudsbekendtgoerelse"):
        materials.recent(any_store, SEK, kind="x")


# -- attaching from the tender page ----------------------------------------------------------------

ATTACH = "/tenders/AAR-SUND-01/files"


def attach_form_of(html: str) -> str:
    """The tender page's form to attach documents ("" when the page has none)."""
    found = re.search(r'<form method="post" action="/tenders/[^"]+/files".*?</form>', html, re.S)
    return found.group(0) if found else ""


def written(store: Store, tender: str = "AAR-SUND-01") -> tuple[int, int]:
    """The tender's events and the bank's documents: what a refusal must leave as they were."""
    return len(store.history(tender)), len(
        App(store, at(NOW), store.person("kl-sek")).files(tender)
    )


def sample_pdf(folder: Path, name: str = "tilbudsliste.pdf") -> Path:
    path = folder / name
    path.write_bytes(samples.pdf("Tilbudsliste", ["Priser pr. træningsforløb, i kroner."]))
    return path


def post_files(
    client: TestClient,
    files: list[tuple[str, bytes]],
    *,
    csrf: str | None = None,
    kind: str = "kravspecifikation",
    title: str = "",
    tender: str = "AAR-SUND-01",
) -> Response:
    """The attach form as a browser posts it: multipart, the page's own CSRF token unless
    another is given, one `file` part per file (one with an empty name when none is chosen)."""
    if csrf is None:
        csrf = csrf_of(client.get(f"/tenders/{tender}").text)
    fields = {"csrf": csrf, "kind": kind, "title": title}
    body = b"".join(
        [*(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
           .encode() for name, value in fields.items()),
         *(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
           "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
           for name, data in files or [("", b"")]),
         f"--{BOUNDARY}--\r\n".encode()]
    )  # fmt: skip
    return client.post(f"/tenders/{tender}/files", content=body,
                       headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})  # fmt: skip


BOUNDARY = "----kflowFormBoundary7MA4YWxkTrZu0gW"


def test_a_participant_attaches_a_pdf_and_a_docx_through_the_tender_pages_form(
    store: Store, board: Board, tmp_path: Path
) -> None:
    """303 back to the tender, which says two documents were attached and lists them; the
    history has both as anna's acts; each downloads byte for byte."""
    pdf = sample_pdf(tmp_path).read_bytes()
    docx = samples.docx(tmp_path / "bilag.docx", "Bilag", ["Leverandørens ydelser."]).read_bytes()
    client = signed_in(store, board, "anna")
    events, documents = written(store)
    answer = post_files(client, [("tilbudsliste.pdf", pdf), ("bilag.docx", docx)])
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/tenders/AAR-SUND-01?attached=2"
    assert written(store) == (events + 2, documents + 2)
    history = store.history("AAR-SUND-01")[-2:]
    assert [(e.actor, e.data["attached"]["filename"]) for e in history] == [
        ("anna", "tilbudsliste.pdf"), ("anna", "bilag.docx")
    ]  # fmt: skip
    assert {e.data["attached"]["kind"] for e in history} == {"kravspecifikation"}
    page = client.get(answer.headers["location"]).text
    assert '<div class="success" role="status"><strong>Tilføjet: 2 dokumenter.</strong>' in page
    made = {f["filename"]: f for f in App(store, at(NOW), ANNA).files("AAR-SUND-01")}
    for name, data, title in (("tilbudsliste.pdf", pdf, "Tilbudsliste"),
                              ("bilag.docx", docx, "Bilag")):  # fmt: skip
        assert f'<th scope="row">{title}</th>' in page
        assert f'href="/materials/files/{made[name]["id"]}" download>{name}</a>' in page
        assert client.get(f"/materials/files/{made[name]['id']}").content == data
    english = client.get(answer.headers["location"] + "&lang=en").text
    assert "<strong>Attached: 2 documents.</strong>" in english


def test_one_file_takes_the_title_given_and_the_page_says_one_document(
    store: Store, board: Board, tmp_path: Path
) -> None:
    client = signed_in(store, board, "kl-sek")
    answer = post_files(client, [("a.pdf", sample_pdf(tmp_path).read_bytes())],
                        title="  Tilbudsliste, endelig  ", kind="kontrakt")  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"].endswith("?attached=1")
    (last,) = App(store, at(NOW), SEK).files("AAR-SUND-01")[-1:]
    assert (last["title"], last["kind"], last["attached_by"]) == (
        "Tilbudsliste, endelig", "kontrakt", "kl-sek"
    )  # fmt: skip
    page = client.get(answer.headers["location"]).text
    assert "<strong>Tilføjet: 1 dokument.</strong>" in page


def test_the_attach_form_is_for_the_tenders_participants_and_the_secretariat(
    store: Store, board: Board
) -> None:
    """anna and the secretariat get the form (a labelled file input for several files, the kinds
    in Danish, an optional title, the CSRF token); anna gets none on Odense's tender."""
    for person in ("anna", "kl-sek"):
        form = attach_form_of(signed_in(store, board, person).get("/tenders/AAR-SUND-01").text)
        assert 'enctype="multipart/form-data"' in form, person
        assert '<label for="attach-file">Filer</label>' in form
        assert re.search(r'<input id="attach-file" name="file" type="file" multiple', form)
        assert '<option value="andet" selected>Andet</option>' in form
        assert '<option value="udbudsbekendtgoerelse">Udbudsbekendtgørelse</option>' in form
        assert '<label for="attach-title">Titel (valgfri)</label>' in form
        assert "højst 50,0 MB pr. dokument og 20 filer ad gangen" in form
        assert re.search(r'name="csrf" value="[0-9a-f]{64}"', form)
    english = signed_in(store, board, "anna").get("/tenders/AAR-SUND-01?lang=en").text
    assert '<h3 id="attach-h">Attach documents</h3>' in english and "With one file only" in english
    assert attach_form_of(signed_in(store, board, "anna").get("/tenders/ODE-BESK-01").text) == ""


def test_another_municipalitys_leader_is_refused_before_the_body_is_read(
    store: Store, board: Board, tmp_path: Path
) -> None:
    """anna posts to Odense's tender with her own valid CSRF token: the 403 page with the
    domain's sentence, nothing written; called directly, the application never asks for the
    body."""
    client = signed_in(store, board, "anna")
    csrf = csrf_of(client.get("/tenders/AAR-SUND-01").text)
    before = written(store, "ODE-BESK-01")
    answer = post_files(client, [("a.pdf", sample_pdf(tmp_path).read_bytes())], csrf=csrf,
                        tender="ODE-BESK-01")  # fmt: skip
    sentence = "anna is project leader for municipality 751; tender ODE-BESK-01 belongs to 461"
    assert answer.status_code == 403 and sentence in answer.text
    assert written(store, "ODE-BESK-01") == before
    status, body, asked = asgi_post(store, "/tenders/ODE-BESK-01/files", {
        "content-type": "multipart/form-data; boundary=x", "content-length": "50000000",
        "cookie": f"kflow_session={client.cookies['kflow_session']}",
    }, b"--x\r\n")  # fmt: skip
    assert (status, asked) == (403, 0) and sentence in body


def test_an_upload_without_a_session_goes_to_sign_in_and_writes_nothing(
    store: Store, board: Board, tmp_path: Path
) -> None:
    before = written(store)
    answer = post_files(client_for(store), [("a.pdf", sample_pdf(tmp_path).read_bytes())],
                        csrf="x")  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/signin?next=%2F"
    assert written(store) == before


def test_an_upload_without_this_sessions_csrf_token_writes_nothing(
    store: Store, board: Board, tmp_path: Path
) -> None:
    client, other = signed_in(store, board, "anna"), signed_in(store, board, "kl-sek")
    pdf = [("a.pdf", sample_pdf(tmp_path).read_bytes())]
    before = written(store)
    for csrf in ("", "forged", csrf_of(other.get("/").text)):
        answer = post_files(client, pdf, csrf=csrf)
        assert answer.status_code == 403, csrf
        assert "this form has expired or did not come from this page; reload and try again" in (
            answer.text
        )
    answer = client.post(ATTACH, data={"kind": "andet"}, files=[("file", ("a.pdf", pdf[0][1]))])
    assert answer.status_code == 403 and "did not come from this page" in answer.text  # no field
    assert written(store) == before


@pytest.mark.parametrize(
    ("files", "kind", "title", "sentence"),
    [
        ([("tilbud.docx", b"%PDF-1.4 not a word file")], "andet", "",
         "tilbud.docx ends in .docx, but its content is PDF; name it .pdf (or attach the file "
         "you meant)"),
        ([("billede.png", b"\x89PNG\r\n\x1a\n\x00\x00")], "andet", "",
         "billede.png is not a PDF, DOCX, XLSX, ODT or plain-text (UTF-8) file by its content"),
        ([("a.txt", b"Tekst.")], "tilbud", "",
         "unknown kind &#39;tilbud&#39; (kinds: udbudsbekendtgoerelse, kravspecifikation"),
        ([("a.txt", b"Tekst."), ("b.txt", b"Mere tekst.")], "andet", "Bilag",
         "a title names one document: attach one file with it"),
        ([], "andet", "", "give at least one file to attach"),
        ([("a.txt", b"Tekst."), ("tom.txt", b"")], "andet", "", "tom.txt is empty"),
    ],
    ids=["false-extension", "not-a-document", "unknown-kind", "title-with-two", "no-file",
         "one-empty"],
)  # fmt: skip
def test_a_refused_upload_shows_the_sentence_on_the_tender_page_and_writes_nothing(
    store: Store,
    board: Board,
    files: list[tuple[str, bytes]],
    kind: str,
    title: str,
    sentence: str,
) -> None:
    """A 400 with the tender's page, the domain's sentence in its alert, the kind and title as
    chosen; no event, no document (all or none: a good file beside a bad one is not kept)."""
    client = signed_in(store, board, "anna")
    before = written(store)
    answer = post_files(client, files, kind=kind, title=title)
    assert answer.status_code == 400
    alert = re.search(r'<div class="refusal" role="alert">(.*?)</div>', answer.text, re.S)
    assert alert and sentence in alert.group(1), answer.text
    assert written(store) == before
    form = attach_form_of(answer.text)
    assert f'value="{title}"' in form
    if kind in KINDS:
        assert f'<option value="{kind}" selected>' in form


def test_a_file_over_the_limit_is_refused_and_writes_nothing(
    store: Store, board: Board, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFLOW_MAX_FILE_MB", "0.01")  # 10 kB
    client = signed_in(store, board, "anna")
    assert "højst 10 kB pr. dokument" in client.get("/tenders/AAR-SUND-01").text
    big = samples.pdf("Stor", ["Fyld."], filler=20_000)
    before = written(store)
    answer = post_files(client, [("stor.pdf", big)])
    assert answer.status_code == 400
    said = re.search(r"stor\.pdf is (\d+) kB, over the 10 kB limit for one document", answer.text)
    assert said and int(said.group(1)) == round(len(big) / 1000), answer.text
    assert 'role="alert"' in answer.text and written(store) == before


def test_a_body_over_the_upload_limit_is_refused_by_its_length_unread(
    store: Store, board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Content-Length over what 20 documents may take: 413 on the tender's page, and the body is
    never read (the application is called directly, counting what it asks of the client)."""
    monkeypatch.setenv("KFLOW_MAX_FILE_MB", "0.01")
    client = signed_in(store, board, "anna")
    csrf = csrf_of(client.get("/tenders/AAR-SUND-01").text)
    cookie = f"kflow_session={client.cookies['kflow_session']}"
    before = written(store)
    status, body, asked = asgi_post(store, ATTACH, {
        "content-type": "multipart/form-data; boundary=x", "content-length": str(10**9),
        "cookie": cookie,
    }, f'--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'.encode())  # fmt: skip
    assert status == 413 and asked == 0
    assert "the upload is over 1.2 MB (20 documents of at most 10 kB)" in body
    assert 'role="alert"' in body and "<h1>AAR-SUND-01: " in body
    assert written(store) == before
    status, body, asked = asgi_post(store, ATTACH, {
        "content-type": "multipart/form-data; boundary=x", "cookie": cookie,
    }, b"--x--\r\n")  # fmt: skip
    assert status == 411 and asked == 0 and "an upload must give its Content-Length" in body


def test_a_link_cannot_make_the_page_say_documents_were_attached(
    store: Store, board: Board
) -> None:
    """`?attached=N` is believed only of the person's own last N acts, each an attachment; the
    page never shows the link's text."""
    client = signed_in(store, board, "ole")
    for given in ("1", "2", "<b>3</b>", "99999999999"):
        page = client.get(f"/tenders/AAR-SUND-01?attached={given}").text
        assert 'role="status"' not in page and "<b>3" not in page, given
    anna = signed_in(store, board, "anna")  # her last two acts are the sample's versions
    assert (
        "<strong>Tilføjet: 2 dokumenter.</strong>"
        in anna.get("/tenders/AAR-SUND-01?attached=2").text
    )
    assert 'role="status"' not in anna.get("/tenders/AAR-SUND-01?attached=3").text


def asgi_post(
    store: Store, path: str, headers: dict[str, str], body: bytes, *, then_gone: bool = False
) -> tuple[int, str, int]:
    """POST to the service's ASGI application as a server would: its status, its body, and how
    many times it asked the client for the request's body (`then_gone`: the client sends `body`
    as if more were coming, then goes)."""
    import asyncio

    app = http.create_app(store, FixedClock(at(NOW)))
    asked, sent = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        if then_gone and asked > 1:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": body, "more_body": then_gone}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
             "headers": [(k.encode(), v.encode()) for k, v in
                         {"host": "testserver", **headers}.items()]}  # fmt: skip
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    text = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], text.decode("utf-8"), asked


def test_more_files_than_twenty_are_refused_on_the_tender_page_and_write_nothing(
    store: Store, board: Board, tmp_path: Path
) -> None:
    """A browser's file input takes any number: the 21st is refused with our sentence on the
    tender's page (not the framework's on an error page), and nothing is attached."""
    client = signed_in(store, board, "anna")
    before = written(store)
    text = [(f"noter-{n}.txt", f"Note {n}\n".encode()) for n in range(21)]
    answer = post_files(client, text)
    assert answer.status_code == 400
    assert "at most 20 files at once; nothing was attached" in answer.text
    assert 'role="alert"' in answer.text and "<h1>AAR-SUND-01: " in answer.text
    assert written(store) == before


def test_an_upload_cut_off_midway_is_a_sentence_not_a_failure_and_writes_nothing(
    store: Store, board: Board
) -> None:
    """The client goes (a tab closed) before its body is whole: a 400 with a sentence, no
    error logged as the page failing, nothing written, no upload left in the temp folder."""
    import tempfile

    client = signed_in(store, board, "anna")
    csrf = csrf_of(client.get("/tenders/AAR-SUND-01").text)
    cookie = f"kflow_session={client.cookies['kflow_session']}"
    before = written(store)
    temp = set(Path(tempfile.gettempdir()).glob("kflow-upload-*"))
    start = (f'--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
             '--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
             "Halvdelen af en").encode()  # fmt: skip
    with capture_logs() as logs:
        status, body, _ = asgi_post(store, ATTACH, {
            "content-type": "multipart/form-data; boundary=x", "content-length": "100000",
            "cookie": cookie,
        }, start, then_gone=True)  # fmt: skip
    assert status == 400
    assert "the upload was cut off (it ended early, or ran past its Content-Length)" in body
    assert not [e for e in logs if e["log_level"] in ("error", "critical")], logs
    assert written(store) == before
    assert set(Path(tempfile.gettempdir()).glob("kflow-upload-*")) == temp
