"""The materials bank: attaching documents to tenders, getting them back byte for byte, searching
them, and who sees what; on SQLite and a real PostgreSQL, from the CLI and over HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import event, func, select, text
from support import ANNA, DEFINITIONS, OLE, ROOT, SEK, at, pilot_store

from cli import _KINDS, main
from konkurrence_flow import documents, samples
from konkurrence_flow.app import App
from konkurrence_flow.audit import verify
from konkurrence_flow.errors import Forbidden, InvalidInput, NotFound, RunError
from konkurrence_flow.materials import T_BLOB, T_CHUNK, T_DOC, Upload, attach
from konkurrence_flow.store import Store

NOW = at("2007-09-20T10:00")
SPEC = ["Leverandøren skal levere varm mad fem dage om ugen.", "Kvaliteten måles med "
        "brugertilfredshedsundersøgelser hvert halve år."]  # fmt: skip


def counts(store: Store) -> tuple[int, int, int, int]:
    """Rows of blob, blob_chunk, document, and events: what a refusal must leave as it was."""
    with store.engine.connect() as conn:
        found = [conn.execute(select(func.count()).select_from(t)).scalar() for t in
                 (T_BLOB, T_CHUNK, T_DOC)]  # fmt: skip
    events = sum(len(store.history(t.id)) for t in store.tenders())
    return (*found, events)  # type: ignore[return-value]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "docs"
    made.mkdir()
    (made / "udbud.pdf").write_bytes(samples.pdf("Udbudsbekendtgørelse", ["Genoptræning af "
                                                 "borgere efter sygehusophold i Aarhus."]))  # fmt: skip
    samples.docx(made / "krav.docx", "Kravspecifikation", SPEC)
    samples.odt(made / "notat.odt", "Notat", ["Mentorordningen evalueres i efteråret."])
    samples.xlsx(made / "priser.xlsx", "Priser", [["Ydelse", "Pris"], ["Træningstime", 450]])
    (made / "noter.txt").write_text("Referat: madservice drøftet på forum 2.\n", "utf-8")
    return made


def files_of(folder: Path, *names: str) -> list[Upload]:
    return [Upload(folder / n, n) for n in names]


def publish(store: Store, tender: str, actor: object) -> None:
    store.advance(tender, "approve_scope", actor, at("2007-09-21"))  # type: ignore[arg-type]
    store.advance(tender, "publish", actor, at("2007-10-01"),  # type: ignore[arg-type]
                  facts={"tender_deadline": "2007-12-14"})  # fmt: skip


# -- attach, list, get ---------------------------------------------------------------------------


def test_attach_list_and_get_back_byte_identical(any_store: Store, folder: Path) -> None:
    store = pilot_store(any_store.url)
    app = App(store, NOW, ANNA)
    made = app.attach("AAR-SUND-01", files_of(folder, "udbud.pdf", "krav.docx", "notat.odt",
                                              "priser.xlsx", "noter.txt"), kind="kravspecifikation")  # fmt: skip
    assert [f["format"] for f in made] == ["PDF", "Word (DOCX)", "OpenDocument text (ODT)",
                                           "Excel (XLSX)", "plain text"]  # fmt: skip
    assert app.files("AAR-SUND-01") == sorted(made, key=lambda f: (f["title"], f["version"]))
    for found in made:
        facts, chunks = app.file_content(found["id"])
        original = (folder / found["filename"]).read_bytes()
        assert b"".join(chunks) == original
        assert facts["sha256"] == hashlib.sha256(original).hexdigest() == found["sha256"]
        assert found["indexed_chars"] > 0, found["filename"]  # each format's text was read
    history = store.history("AAR-SUND-01")[-5:]
    assert [e.data["attached"]["sha256"] for e in history] == [f["sha256"] for f in made]
    assert {e.actor for e in history} == {"anna"}


def test_the_same_bytes_twice_are_stored_once_and_a_title_again_is_a_new_version(
    any_store: Store, folder: Path
) -> None:
    store = pilot_store(any_store.url)
    app = App(store, NOW, ANNA)
    first = app.attach("AAR-SUND-01", files_of(folder, "krav.docx"), title="Kravspecifikation")
    second = app.attach("AAR-BESK-01", files_of(folder, "krav.docx"), title="Kravspecifikation")
    samples.docx(folder / "krav.docx", "Kravspecifikation", [*SPEC, "Tilføjet: diætkost."])
    third = app.attach("AAR-SUND-01", files_of(folder, "krav.docx"), title="Kravspecifikation")
    assert [f["version"] for f in first + second + third] == [1, 1, 2]
    assert first[0]["sha256"] == second[0]["sha256"] != third[0]["sha256"]
    blobs, _chunks, docs, _events = counts(store)
    assert (blobs, docs) == (2, 3)
    kept = app.files("AAR-SUND-01")
    assert [(f["title"], f["version"]) for f in kept] == [("Kravspecifikation", 1),
                                                          ("Kravspecifikation", 2)]  # fmt: skip


def test_a_big_file_spans_chunks_and_comes_back_whole(tmp_path: Path) -> None:
    store = pilot_store(f"sqlite:///{tmp_path / 's.db'}")
    big = tmp_path / "stor.pdf"
    big.write_bytes(samples.pdf("Stor", ["tekst"], filler=3 * documents.CHUNK + 123))
    made = attach(store, "AAR-SUND-01", [Upload(big, "stor.pdf")], ANNA, NOW)
    assert counts(store)[1] == 4  # chunks
    _facts, chunks = App(store, NOW, ANNA).file_content(made[0]["id"])
    assert b"".join(chunks) == big.read_bytes()


# -- refusals leave nothing behind ---------------------------------------------------------------


def test_a_60_mb_file_is_refused_and_nothing_is_written(tmp_path: Path, folder: Path) -> None:
    store = pilot_store(f"sqlite:///{tmp_path / 's.db'}")
    huge = tmp_path / "stort-udbud.pdf"
    with huge.open("wb") as out:
        out.write(b"%PDF-1.4\n")
        out.truncate(60_000_000)
    before = counts(store)
    with pytest.raises(InvalidInput) as refused:
        attach(store, "AAR-SUND-01", [*files_of(folder, "krav.docx"), Upload(huge, huge.name)],
               ANNA, NOW)  # fmt: skip
    assert str(refused.value) == ("stort-udbud.pdf is 60.0 MB, over the 50.0 MB limit for one "
                                  "document (KFLOW_MAX_FILE_MB)")  # fmt: skip
    assert counts(store) == before  # the DOCX beside it was not attached either


def test_the_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = pilot_store(f"sqlite:///{tmp_path / 's.db'}")
    two = tmp_path / "to.pdf"
    two.write_bytes(samples.pdf("To", ["mb"], filler=2_000_000))
    monkeypatch.setenv("KFLOW_MAX_FILE_MB", "1.5")
    with pytest.raises(InvalidInput, match=r"to.pdf is 2.0 MB, over the 1.5 MB limit"):
        attach(store, "AAR-SUND-01", [Upload(two, two.name)], ANNA, NOW)
    for bad in ("nan", "-1", "lots", "inf"):
        monkeypatch.setenv("KFLOW_MAX_FILE_MB", bad)
        with pytest.raises(InvalidInput, match="KFLOW_MAX_FILE_MB must be a number"):
            attach(store, "AAR-SUND-01", [Upload(two, two.name)], ANNA, NOW)
    assert counts(store)[:3] == (0, 0, 0)


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("krav.pdf", "docx", "krav.pdf ends in .pdf, but its content is Word (DOCX); name it .docx"),
        ("udbud.docx", "pdf", "udbud.docx ends in .docx, but its content is PDF; name it .pdf"),
        ("noter.pdf", "txt", "noter.pdf ends in .pdf, but its content is plain text; name it .txt"),
        ("program.exe", "exe", "program.exe is not a PDF, DOCX, XLSX, ODT or plain-text (UTF-8) "
                               "file by its content; the bank keeps only those"),
        ("billede.png", "png", "billede.png is not a PDF, DOCX, XLSX, ODT or plain-text (UTF-8) "
                               "file by its content; the bank keeps only those"),
        ("tom.txt", "empty", "tom.txt is empty"),
        ("latin1.txt", "latin1", "latin1.txt is not a PDF, DOCX, XLSX, ODT or plain-text (UTF-8)"),
        ("arkiv.docx", "zip", "arkiv.docx is not a PDF, DOCX, XLSX, ODT or plain-text (UTF-8)"),
    ],
)  # fmt: skip
def test_a_file_whose_content_is_not_what_its_name_says_is_refused_and_nothing_is_written(
    tmp_path: Path, folder: Path, name: str, content: str, says: str
) -> None:
    import zipfile

    store = pilot_store(f"sqlite:///{tmp_path / 's.db'}")
    target = tmp_path / name
    if content == "zip":
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr("word/evil.xml", "<x/>")
    else:
        target.write_bytes({
            "docx": (folder / "krav.docx").read_bytes(), "pdf": (folder / "udbud.pdf").read_bytes(),
            "txt": b"bare tekst\n", "exe": b"MZ\x90\x00\x03\x00\x00\x00" * 64,
            "png": b"\x89PNG\r\n\x1a\n" + bytes(64), "empty": b"", "latin1": "æøå".encode("latin-1"),
        }[content])  # fmt: skip
    before = counts(store)
    with pytest.raises(InvalidInput) as refused:
        attach(store, "AAR-SUND-01", [Upload(target, name)], ANNA, NOW)
    assert str(refused.value).startswith(says)
    assert "\n" not in str(refused.value)
    assert counts(store) == before


def test_who_may_attach(tmp_path: Path, folder: Path) -> None:
    """A project leader attaches to their own municipality's tenders; the secretariat to any."""
    store = pilot_store(f"sqlite:///{tmp_path / 's.db'}")
    before = counts(store)
    with pytest.raises(Forbidden, match="ole is project leader for municipality 461"):
        App(store, NOW, OLE).attach("AAR-SUND-01", files_of(folder, "krav.docx"))
    with pytest.raises(Exception, match="only a registered person may act"):
        App(store, NOW, None).attach("AAR-SUND-01", files_of(folder, "krav.docx"))
    with pytest.raises(NotFound, match="NOPE"):
        App(store, NOW, ANNA).attach("NOPE", files_of(folder, "krav.docx"))
    with pytest.raises(InvalidInput, match=r"unknown kind 'hemmelig' \(kinds: udbudsbekendt"):
        App(store, NOW, ANNA).attach("AAR-SUND-01", files_of(folder, "krav.docx"), kind="hemmelig")
    with pytest.raises(InvalidInput, match="a title names one document: attach one file with it"):
        App(store, NOW, ANNA).attach("AAR-SUND-01", files_of(folder, "krav.docx", "udbud.pdf"),
                                     title="Samlet")  # fmt: skip
    with pytest.raises(InvalidInput, match="a document's title must be one line"):
        App(store, NOW, ANNA).attach("AAR-SUND-01", files_of(folder, "krav.docx"), title="a\nb")
    assert counts(store) == before
    assert App(store, NOW, SEK).attach("ODE-BESK-01", files_of(folder, "krav.docx"))


def test_the_cli_kinds_are_the_packages() -> None:
    assert _KINDS == documents.KINDS


# -- who sees what --------------------------------------------------------------------------------


def test_drafts_are_for_participants_and_the_secretariat_published_material_for_everyone(
    any_store: Store, folder: Path
) -> None:
    store = pilot_store(any_store.url)
    made = App(store, NOW, ANNA).attach("AAR-SUND-01", files_of(folder, "krav.docx"))
    file_id = made[0]["id"]
    for person in (ANNA, SEK):
        assert App(store, NOW, person).files("AAR-SUND-01") == made
        assert App(store, NOW, person).file(file_id) == made[0]
    for person in (OLE, None):
        with pytest.raises(Forbidden, match="AAR-SUND-01 is not published yet: its materials are "
                                            r"drafts, for its participants \(751\)"):  # fmt: skip
            App(store, NOW, person).files("AAR-SUND-01")
        with pytest.raises(Forbidden, match="not published yet"):
            App(store, NOW, person).file_content(file_id)
        assert App(store, NOW, person).search_materials("varm mad") == []
    publish(store, "AAR-SUND-01", ANNA)
    later = at("2007-10-02")
    assert App(store, later, OLE).files("AAR-SUND-01") == made
    assert [h["file"]["id"] for h in App(store, later, OLE).search_materials("varm mad")] == [
        file_id
    ]
    with pytest.raises(NotFound, match="no file 999"):
        App(store, later, SEK).file(999)


# -- search -------------------------------------------------------------------------------------


def test_search_finds_words_in_a_pdfs_and_a_docxs_text(any_store: Store, folder: Path) -> None:
    store = pilot_store(any_store.url)
    app = App(store, NOW, ANNA)
    made = app.attach("AAR-SUND-01", files_of(folder, "udbud.pdf", "krav.docx"))
    pdf, docx = (f["id"] for f in made)
    in_pdf = app.search_materials("sygehusophold")  # in the PDF's text only, not its title
    assert [h["file"]["id"] for h in in_pdf] == [pdf]
    assert "**sygehusophold**" in in_pdf[0]["snippet"] and not in_pdf[0]["title_hit"]
    in_docx = app.search_materials("brugertilfredshedsundersøgelser")
    assert [h["file"]["id"] for h in in_docx] == [docx]
    hit = in_docx[0]
    assert hit["tender"] == {
        "id": "AAR-SUND-01", "title": "Genoptræning efter sygehusudskrivning",
        "state": "scoping", "area": "sundhed", "year": 2007,
        "municipalities": [{"code": "751", "name": "Aarhus"}],
    }  # fmt: skip
    assert app.search_materials("varm mad ugen")[0]["file"]["id"] == docx  # every word, any order
    assert app.search_materials("varm sygehusophold") == []  # no document holds both


def test_a_title_hit_ranks_before_hits_in_the_text(any_store: Store, tmp_path: Path) -> None:
    store = pilot_store(any_store.url)
    app = App(store, NOW, SEK)
    many = tmp_path / "referat.txt"
    many.write_text("Madservice madservice madservice: madservice til ældre. " * 40, "utf-8")
    once = tmp_path / "madservice.txt"
    once.write_text("Kontrakten gælder fra 1. april.", "utf-8")
    app.attach("AAR-SUND-01", [Upload(many, many.name)], title="Referat fra forum")
    app.attach("ODE-BESK-01", [Upload(once, once.name)], title="Kontrakt om madservice")
    hits = app.search_materials("madservice")
    assert [(h["file"]["title"], h["title_hit"]) for h in hits] == [
        ("Kontrakt om madservice", True), ("Referat fra forum", False)
    ]  # fmt: skip


def test_a_project_leader_never_finds_another_municipalitys_drafts(
    any_store: Store, folder: Path
) -> None:
    store = pilot_store(any_store.url)
    App(store, NOW, OLE).attach("ODE-BESK-01", files_of(folder, "krav.docx"), title="Odense krav")
    App(store, NOW, ANNA).attach("AAR-SUND-01", files_of(folder, "krav.docx"), title="Aarhus krav")
    seen = {who.id: sorted(h["tender"]["id"] for h in App(store, NOW, who).search_materials("krav"))
            for who in (ANNA, OLE, SEK)}  # fmt: skip
    assert seen == {"anna": ["AAR-SUND-01"], "ole": ["ODE-BESK-01"],
                    "kl-sek": ["AAR-SUND-01", "ODE-BESK-01"]}  # fmt: skip


def test_the_count_is_what_search_and_recent_find_in_all(any_store: Store, folder: Path) -> None:
    """The dashboard's "af N": the same rule of who sees what, the same latest versions and
    filters as the lists, counted past any page."""
    store = pilot_store(any_store.url)
    App(store, NOW, OLE).attach("ODE-BESK-01", files_of(folder, "krav.docx"), title="Odense krav")
    for _ in range(2):  # a second version: still one document
        App(store, NOW, ANNA).attach("AAR-SUND-01", files_of(folder, "krav.docx", "udbud.pdf"))
    chosen = [{}, {"area": "sundhed"}, {"area": "beskæftigelse"}, {"kind": "andet"},
              {"kind": "kontrakt"}]  # fmt: skip
    for who in (ANNA, OLE, SEK):
        app = App(store, NOW, who)
        for query in ("krav", "varm", "udbud", "ingenting", None):
            for narrowed in chosen:
                listed = (app.search_materials(query, limit=200, **narrowed) if query
                          else app.recent_materials(limit=200, **narrowed))  # fmt: skip
                assert app.count_materials(query, **narrowed) == len(listed), (who, query, narrowed)
    sek = App(store, NOW, SEK)
    assert [sek.count_materials(q) for q in ("krav", None)] == [2, 3]  # the PDF says no "krav"
    assert sek.count_materials("krav", area="sundhed") == 1
    assert App(store, NOW, ANNA).count_materials(None) == 2  # not Odense's draft
    with pytest.raises(InvalidInput, match="give a word"):
        sek.count_materials("!!")


def test_search_filters_and_latest_versions_only(any_store: Store, folder: Path) -> None:
    store = pilot_store(any_store.url)
    app = App(store, NOW, SEK)
    app.attach("AAR-SUND-01", files_of(folder, "krav.docx"), kind="kravspecifikation")
    newer = app.attach("AAR-SUND-01", files_of(folder, "krav.docx"), kind="kravspecifikation")
    app.attach("ODE-BESK-01", files_of(folder, "krav.docx"), kind="kontrakt")
    found = app.search_materials("varm")
    assert sorted(h["file"]["id"] for h in found) == sorted(
        [newer[0]["id"], found[-1]["file"]["id"]]
    )
    assert len(found) == 2  # version 1 of AAR-SUND-01's is not among them
    assert [h["tender"]["id"] for h in app.search_materials("varm", area="sundhed")] == [
        "AAR-SUND-01"
    ]
    assert [h["tender"]["id"] for h in app.search_materials("varm", kind="kontrakt")] == [
        "ODE-BESK-01"
    ]
    with pytest.raises(InvalidInput, match="unknown kind"):
        app.search_materials("varm", kind="x")


@pytest.mark.parametrize(
    "query",
    ['"', "* OR title:", "NEAR(a b)", "a & | ! :*", "'; DROP TABLE document; --", "æ" * 5000,
     "title : x", "-", "\x00\x01", "(((", "x" * 10_000],
)  # fmt: skip
def test_hostile_searches_are_words_or_a_sentence(
    any_store: Store, folder: Path, query: str
) -> None:
    store = pilot_store(any_store.url)
    App(store, NOW, SEK).attach("AAR-SUND-01", files_of(folder, "krav.docx"))
    try:
        found = App(store, NOW, SEK).search_materials(query)
    except InvalidInput as exc:
        assert str(exc) == "give a word to search for (letters or digits)"
    else:
        assert isinstance(found, list)
    assert counts(store)[2] == 1


# -- the tamper-evident history covers the documents --------------------------------------------


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        ("UPDATE blob_chunk SET data = X'00' || substr(data, 2)", "no longer match the SHA-256"),
        ("DELETE FROM blob_chunk", "are 0 bytes, not the"),
        ("UPDATE document SET title = 'Andet'", "is not what the event attached: its title"),
        ("UPDATE document SET sha256 = (SELECT sha256 FROM blob WHERE sha256 <> document.sha256 "
         "LIMIT 1)", "its sha256 changed"),
        ("DELETE FROM document WHERE version = 1", "the document the event attached"),
        ("UPDATE document SET attached_by = 'ole'", "its attached_by changed"),
        ("UPDATE document_text SET body = 'Leverandøren skal intet' WHERE rowid = 1",
         "the search entry of document 1 ('Krav' v1) is not what was indexed: its text changed"),
        ("UPDATE document_text SET title = 'Hemmelig' WHERE rowid = 2", "its title changed"),
        ("DELETE FROM document_text WHERE rowid = 1", "is gone: search no longer finds it"),
    ],
)  # fmt: skip
def test_audit_verify_detects_a_changed_document(
    tmp_path: Path, folder: Path, tamper: str, says: str
) -> None:
    store = pilot_store(f"sqlite:///{tmp_path / 's.db'}")
    attach(store, "AAR-SUND-01", files_of(folder, "krav.docx"), ANNA, NOW)
    attach(store, "ODE-BESK-01", files_of(folder, "udbud.pdf"), OLE, NOW)
    report = verify(store)
    assert report.ok and report.documents == 2
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(tamper + (" WHERE tender_id = 'AAR-SUND-01'" if "document SET" in tamper
                               and "WHERE" not in tamper.split("document SET")[1] else ""))  # fmt: skip
    report = verify(store)
    assert not report.ok
    assert any(says in b.detail for b in report.breaks), report.breaks


def test_audit_verify_checks_the_search_entries_on_either_backend(
    any_store: Store, folder: Path
) -> None:
    """The attach event records the SHA-256 of the text indexed: an entry rewritten behind the
    store's back (search would show its words) is named; a true one is not."""
    store = pilot_store(any_store.url)
    attach(store, "AAR-SUND-01", files_of(folder, "krav.docx", "udbud.pdf"), ANNA, NOW)
    said = store.history("AAR-SUND-01")[-1].data["attached"]
    assert len(said["text_sha256"]) == 64
    assert verify(store).ok
    key = "rowid" if store.engine.dialect.name == "sqlite" else "document_id"
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE document_text SET body = body || ' gratis' WHERE {key} = 2")
    breaks = [b.detail for b in verify(store).breaks]
    assert breaks == ["the search entry of document 2 ('Udbud' v1) is not what was indexed: "
                      "its text changed"]  # fmt: skip


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        ("DELETE FROM blob_chunk WHERE n = 1", "are incomplete: chunk 1 is missing"),
        ("DELETE FROM blob_chunk WHERE n = 2", "are 2097152 bytes, not the 2500000 the event "
         "recorded"),
        ("UPDATE blob_chunk SET n = 3 WHERE n = 2", "are incomplete: chunk 2 is missing"),
    ],
)  # fmt: skip
def test_audit_verify_reads_a_big_documents_bytes_chunk_by_chunk(
    any_store: Store, folder: Path, tmp_path: Path, tamper: str, says: str
) -> None:
    """Every blob's chunks are read in one stream: a chunk gone from the middle or the end of a
    file of three is named on that document only, on either backend."""
    store = pilot_store(any_store.url)
    big = tmp_path / "bilag.txt"
    big.write_bytes(b"Bilag om madservice. " * 119_047 + b"x" * 13)  # 2,500,000 bytes
    assert big.stat().st_size == 2_500_000
    attach(store, "AAR-SUND-01", [Upload(big, "bilag.txt")], ANNA, NOW)
    attach(store, "ODE-BESK-01", files_of(folder, "udbud.pdf"), OLE, NOW)
    assert verify(store).ok
    with store.engine.begin() as conn:
        conn.exec_driver_sql(tamper)
    breaks = [(b.tender, b.detail) for b in verify(store).breaks]
    assert breaks == [("AAR-SUND-01", f"the bytes of document 1 ('Bilag' v1) {says}")]
    assert verify(store, ["ODE-BESK-01"]).ok and not verify(store, ["AAR-SUND-01"]).ok


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        ("INSERT INTO document_text (rowid, title, body) VALUES (99, 'Falsk', 'gratis')",
         "search entry 99 ('Falsk') belongs to no document: written or left behind the store's "
         "back"),
        ("DELETE FROM document_text_data WHERE id > 10",
         "the search index is damaged: FTS5's integrity-check fails (database disk image is "
         "malformed): search may find words no document holds, or miss some"),
    ],
)  # fmt: skip
def test_audit_verify_names_a_search_index_changed_as_a_whole(
    tmp_path: Path, folder: Path, tamper: str, says: str
) -> None:
    """An index entry of no document, or an index that no longer agrees with its text (FTS5's
    own check), is the index's damage: named apart from the chains, which still hold."""
    store = pilot_store(f"sqlite:///{tmp_path / 's.db'}")
    attach(store, "AAR-SUND-01", files_of(folder, "krav.docx", "udbud.pdf"), ANNA, NOW)
    assert verify(store, check_index=True).ok and verify(store, check_index=True).index == []
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute(tamper)
    report = verify(store, check_index=True)
    assert not report.ok and report.breaks == []
    assert report.index == [says]
    assert verify(store, ["AAR-SUND-01"]).ok  # a tender's own check does not read the index
    inner = "integrity-check" in says  # FTS5's own check runs only when asked (it locks)
    assert verify(store).index == ([] if inner else [says])


def test_the_index_check_that_cannot_run_says_why_and_finds_nothing(
    tmp_path: Path, folder: Path
) -> None:
    """A store another program writes to all along, or one that may not be written to: the
    check cannot take the write lock, and says so; it never calls the index damaged."""
    store = pilot_store(f"sqlite:///{tmp_path / 's.db'}")
    attach(store, "AAR-SUND-01", files_of(folder, "krav.docx"), ANNA, NOW)
    read_only = Store(f"sqlite:///file:{tmp_path / 's.db'}?mode=ro&uri=true")
    assert verify(read_only).ok  # the rest of the audit only reads
    with pytest.raises(RunError, match=r"could not run \(attempt to write a readonly database\): "
                       "the store may not be written to, .* leave out --check-index"):  # fmt: skip
        verify(read_only, check_index=True)
    event.listen(store.engine, "connect", lambda c, _r: c.execute("PRAGMA busy_timeout = 50"))
    store.engine.dispose()
    writer = sqlite3.connect(tmp_path / "s.db")
    writer.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(RunError, match=r"could not run \(database is locked\): another "
                           "program was writing to the store all along; try again"):  # fmt: skip
            verify(store, check_index=True)
    finally:
        writer.rollback()
        writer.close()
    assert verify(store, check_index=True).ok
    with pytest.raises(InvalidInput, match="--check-index checks the whole store's search index"):
        verify(store, ["AAR-SUND-01"], check_index=True)


def test_audit_verify_counts_the_orphan_entries_past_the_first_twenty(any_store: Store) -> None:
    store = pilot_store(any_store.url)
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # no FK check
        key = "rowid" if store.engine.dialect.name == "sqlite" else "document_id"
        for n in range(100, 125):
            conn.exec_driver_sql(f"INSERT INTO document_text ({key}, title, body) "
                                 f"VALUES ({n}, 'Falsk', 'gratis')")  # fmt: skip
    index = verify(store).index
    assert len(index) == 21 and index[0].startswith("search entry 100 ('Falsk')")
    assert index[-1] == "and 5 more search entries that belong to no document"


def test_the_cli_says_the_index_is_damaged_and_the_chains_hold(
    env: dict[str, str], folder: Path
) -> None:
    assert run(env, "tender", "attach", "AAR-SUND-01", str(folder / "krav.docx"),
               user="anna").exit_code == 0  # fmt: skip
    with sqlite3.connect(env["KFLOW_DB"].removeprefix("sqlite:///")) as conn:
        conn.execute("INSERT INTO document_text (rowid, title, body) VALUES (7, 'Falsk', 'x')")
    audit = run(env, "audit", "verify")
    assert audit.exit_code == 1
    assert audit.stdout.splitlines() == ["search index: search entry 7 ('Falsk') belongs to no "
                                         "document: written or left behind the store's back"]  # fmt: skip
    assert audit.stderr == ("kflow: the search index was changed behind the store's back (see "
                            "above); every chain holds\n")  # fmt: skip
    said = json.loads(run(env, "audit", "verify", "--json").stdout)
    assert said["ok"] is False and said["breaks"] == [] and len(said["index"]) == 1
    with sqlite3.connect(env["KFLOW_DB"].removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM document_text WHERE rowid = 7")
        conn.execute("DELETE FROM document_text_data WHERE id > 10")  # the inner tables
    assert run(env, "audit", "verify").exit_code == 0  # FTS5's own check runs when asked
    checked = run(env, "audit", "verify", "--check-index")
    assert checked.exit_code == 1 and checked.stdout.startswith(
        "search index: the search index is damaged: FTS5's integrity-check fails"
    )
    refused = run(env, "audit", "verify", "AAR-SUND-01", "--check-index")
    assert refused.exit_code == 1 and "name no tender with it" in refused.stderr


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    made = {"KFLOW_DB": f"sqlite:///{tmp_path / 'k.db'}", "KFLOW_USER": "kl-sek",
            "KFLOW_NOW": "2007-09-20T10:00"}  # fmt: skip
    for args in (["init"], ["definitions", "load", str(DEFINITIONS)],
                 ["programme", "load", str(ROOT / "workflows" / "pilot-2007.yaml")]):  # fmt: skip
        assert run(made, *args).exit_code == 0
    return made


def run(env: dict[str, str], *args: str, user: str | None = None) -> Result:
    given = {**env, **({"KFLOW_USER": user} if user else {}), "KFLOW_URL": None}
    return CliRunner().invoke(main, list(args), env=given)  # type: ignore[arg-type]


def test_the_cli_attaches_lists_gets_and_searches(
    env: dict[str, str], folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = run(env, "tender", "attach", "AAR-SUND-01", str(folder / "krav.docx"),
               str(folder / "udbud.pdf"), "--kind", "kravspecifikation", user="anna")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "AAR-SUND-01: attached file 1, 'Krav' v1 (kravspecifikation, Word (DOCX)" in done.stdout
    listed = json.loads(run(env, "tender", "files", "AAR-SUND-01", "--json", user="anna").stdout)
    assert [(f["id"], f["title"]) for f in listed] == [(1, "Krav"), (2, "Udbud")]
    table = run(env, "tender", "files", "AAR-SUND-01", user="anna").stdout
    assert table.splitlines()[0].split() == ["FILE", "TITLE", "V", "KIND", "FORMAT", "SIZE",
                                             "ATTACHED", "BY"]  # fmt: skip
    history = run(env, "tender", "history", "AAR-SUND-01").stdout
    assert "attached 'Krav' v1 (kravspecifikation)" in history
    out = tmp_path / "hentet.docx"
    got = run(env, "file", "get", "1", "-o", str(out), user="anna")
    assert got.exit_code == 0 and out.read_bytes() == (folder / "krav.docx").read_bytes()
    monkeypatch.chdir(tmp_path)
    assert run(env, "file", "get", "2", user="anna").exit_code == 0
    assert (tmp_path / "udbud.pdf").read_bytes() == (folder / "udbud.pdf").read_bytes()
    again = run(env, "file", "get", "2", user="anna")
    assert again.exit_code == 1 and "udbud.pdf exists already; give -o PATH" in again.stderr
    found = run(env, "materials", "search", "sygehusophold", user="anna")
    assert found.exit_code == 0 and "file 2  Udbud v1 (kravspecifikation, PDF)" in found.stdout
    assert "AAR-SUND-01 Genoptræning efter sygehusudskrivning · Aarhus · sundhed · 2007" in (
        found.stdout
    )
    hidden = run(env, "materials", "search", "sygehusophold", "--json", user="ole")
    assert json.loads(hidden.stdout) == []
    refused = run(env, "file", "get", "1", "-o", str(tmp_path / "x"), user="ole")
    assert refused.exit_code == 1 and "not published yet" in refused.stderr
    assert not (tmp_path / "x").exists()


def test_materials_recent_lists_what_was_attached_last_that_you_may_see(
    env: dict[str, str], folder: Path
) -> None:
    for user, tender, name, kind in (("anna", "AAR-SUND-01", "krav.docx", "kravspecifikation"),
                                     ("ole", "ODE-BESK-01", "udbud.pdf", "andet")):  # fmt: skip
        done = run(env, "tender", "attach", tender, str(folder / name), "--kind", kind, user=user)
        assert done.exit_code == 0, done.output
    everything = json.loads(run(env, "materials", "recent", "--json").stdout)  # the secretariat
    assert [(h["file"]["id"], h["tender"]["id"]) for h in everything] == [
        (2, "ODE-BESK-01"), (1, "AAR-SUND-01")
    ]  # fmt: skip
    assert [h["file"]["id"] for h in json.loads(run(env, "materials", "recent", "--kind",
            "kravspecifikation", "--json").stdout)] == [1]  # fmt: skip
    own = run(env, "materials", "recent", user="anna").stdout.splitlines()
    assert own == ["file 1  Krav v1 (kravspecifikation, Word (DOCX))  attached 2007-09-20 by anna",
                   "  AAR-SUND-01 Genoptræning efter sygehusudskrivning · Aarhus · sundhed · 2007"]  # fmt: skip
    page = json.loads(run(env, "materials", "recent", "--limit", "1", "--offset", "1",
                          "--json").stdout)  # fmt: skip
    assert [h["file"]["id"] for h in page] == [1]
    beyond = run(env, "materials", "search", "leverandøren", "--offset", "5")
    said = "no document you may see holds 'leverandøren' from offset 5: there are fewer\n"
    assert beyond.stdout == said
    none = run(env, "materials", "recent", "--kind", "kontrakt", user="anna")
    assert none.exit_code == 0 and none.stdout == "no document you may see of that area or kind\n"
    refused = run(env, "materials", "recent", "--limit", "0")
    assert refused.exit_code == 2 and "Invalid value for '--limit'" in refused.stderr


def test_a_refused_cli_attach_writes_nothing(env: dict[str, str], folder: Path) -> None:
    history = run(env, "tender", "history", "AAR-SUND-01", "--json").stdout
    fake = folder / "krav.pdf"
    fake.write_bytes((folder / "krav.docx").read_bytes())
    for args, says in (
        ((str(folder / "udbud.pdf"), str(fake)), "krav.pdf ends in .pdf, but its content is Word"),
        ((str(folder / "udbud.pdf"), "--kind", "hemmelig"), "Invalid value for '--kind'"),
        ((str(folder / "nope.pdf"),), "does not exist"),
    ):
        done = run(env, "tender", "attach", "AAR-SUND-01", *args, user="anna")
        assert done.exit_code != 0 and says in done.stderr, done.stderr
    assert run(env, "tender", "history", "AAR-SUND-01", "--json").stdout == history
    assert json.loads(run(env, "tender", "files", "AAR-SUND-01", "--json").stdout) == []


def test_file_get_refuses_bytes_changed_behind_its_back_and_writes_nothing(
    env: dict[str, str], folder: Path, tmp_path: Path
) -> None:
    assert run(env, "tender", "attach", "AAR-SUND-01", str(folder / "udbud.pdf")).exit_code == 0
    with sqlite3.connect(env["KFLOW_DB"].removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE blob_chunk SET data = X'00' || substr(data, 2)")
    out = tmp_path / "ud.pdf"
    done = run(env, "file", "get", "1", "-o", str(out))
    assert done.exit_code == 1 and "do not match its SHA-256" in done.stderr
    assert not out.exists() and list(tmp_path.glob(".ud.pdf.*")) == []
    audit = run(env, "audit", "verify")
    assert audit.exit_code == 1 and "no longer match the SHA-256 the event recorded" in audit.stdout


# -- over HTTP -----------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Store]]:
    """`kflow serve` on 127.0.0.1 (a real uvicorn), the tokens of anna, ole and kl-sek."""
    from servers import kflow_serve

    from konkurrence_flow import tokens as kinds_of_token

    db = tmp_path / "served.db"
    store = pilot_store(f"sqlite:///{db}")
    tokens = {p.id: kinds_of_token.create(store, p.id)[1] for p in (ANNA, OLE, SEK)}
    env = {"KFLOW_DB": f"sqlite:///{db}", "KFLOW_NOW": "2007-09-20T10:00",
           "KFLOW_MAX_FILE_MB": "5", "KFLOW_USER": "kl-sek"}  # fmt: skip
    with kflow_serve(env) as url:
        yield url, tokens, store


def test_the_api_attaches_lists_gets_and_searches_with_the_same_rules(
    served: tuple[str, dict[str, str], Store], folder: Path
) -> None:
    from konkurrence_flow.client import RemoteApp

    url, tokens, store = served
    anna, ole = RemoteApp(url, tokens["anna"]), RemoteApp(url, tokens["ole"])
    hostile = folder / "krav.docx"
    made = anna.attach("AAR-SUND-01", [Upload(folder / "udbud.pdf", "udbud.pdf"),
                                       Upload(hostile, '../../"ond"\r\n.docx')],
                       kind="udbudsbekendtgoerelse")  # fmt: skip
    assert [f["filename"] for f in made] == ["udbud.pdf", '"ond"  .docx']
    assert anna.files("AAR-SUND-01") == App(store, NOW, ANNA).files("AAR-SUND-01")
    facts, chunks = anna.file_content(made[0]["id"])
    assert b"".join(chunks) == (folder / "udbud.pdf").read_bytes()
    assert facts == made[0]
    assert [h["file"]["id"] for h in anna.search_materials("sygehusophold")] == [made[0]["id"]]
    assert ole.search_materials("sygehusophold") == []
    book = samples.xlsx(folder / "priser.xlsx", "Priser", [["Kostpris", "frugtordning", 12]])
    sheet = anna.attach("AAR-SUND-01", [Upload(book, book.name)], kind="andet")[0]
    assert sheet["indexed_chars"] > 0  # the upload's copy has no .xlsx: it was never read
    hits = anna.search_materials("frugtordning")
    assert [h["file"]["id"] for h in hits] == [sheet["id"]]
    made.append(sheet)
    assert [h["file"]["id"] for h in anna.recent_materials()] == [f["id"] for f in made][::-1]
    assert anna.recent_materials() == App(store, NOW, ANNA).recent_materials()
    assert ole.recent_materials() == []
    assert anna.recent_materials(limit=1, offset=1) == anna.recent_materials()[1:2]
    assert anna.search_materials("sygehusophold", offset=1) == []
    with pytest.raises(InvalidInput, match="unknown kind 'hemmelig'"):
        ole.recent_materials(kind="hemmelig")
    with pytest.raises(Forbidden, match="not published yet"):
        ole.files("AAR-SUND-01")
    with pytest.raises(Forbidden, match="not published yet"):
        b"".join(ole.file_content(made[0]["id"])[1])
    with pytest.raises(Forbidden, match="ole is project leader for municipality 461"):
        ole.attach("AAR-SUND-01", [Upload(folder / "udbud.pdf", "udbud.pdf")])
    fake = folder / "fake.pdf"
    fake.write_bytes(hostile.read_bytes())
    before = counts(store)
    with pytest.raises(InvalidInput, match=r"fake\.pdf ends in \.pdf, but its content is Word"):
        anna.attach("AAR-SUND-01", [Upload(folder / "noter.txt", "noter.txt"),
                                    Upload(fake, "fake.pdf")])  # fmt: skip
    big = folder / "stor.pdf"
    big.write_bytes(samples.pdf("Stor", ["x"], filler=6_000_000))
    with pytest.raises(InvalidInput, match=r"stor.pdf is 6.0 MB, over the 5.0 MB limit"):
        anna.attach("AAR-SUND-01", [Upload(big, "stor.pdf")])
    assert counts(store) == before


def test_uploads_are_refused_before_they_are_read(
    served: tuple[str, dict[str, str], Store],
) -> None:
    """No token: 401 (the body is not read); no Content-Length: 411; too long: 413."""
    import http.client
    from urllib.parse import urlsplit

    url, tokens, _store = served
    parts = urlsplit(url)

    def post(headers: dict[str, str], body: bytes | Iterator[bytes]) -> tuple[int, dict[str, str]]:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            conn.request("POST", "/api/v1/tenders/AAR-SUND-01/files", body, headers)
            answer = conn.getresponse()
            return answer.status, json.loads(answer.read())
        finally:
            conn.close()

    form = {"Content-Type": "multipart/form-data; boundary=x"}
    status, said = post({**form, "Content-Length": "10"}, b"0123456789")
    assert (status, said) == (401, {"error": "no valid token (Authorization: Bearer kf_…)"})
    bearer = {**form, "Authorization": f"Bearer {tokens['anna']}"}
    status, said = post(bearer, iter([b"--x--\r\n"]))  # chunked: no length
    assert (status, said) == (411, {"error": "an upload must give its Content-Length"})
    status, said = post({**bearer, "Content-Length": str(10**12)}, b"")
    assert status == 413
    assert "the upload is over 101.0 MB (20 documents of at most 5.0 MB)" in said["error"]
    status, said = post({**bearer, "Content-Type": "application/json", "Content-Length": "2"},
                        b"{}")  # fmt: skip
    assert status == 400 and "multipart/form-data" in said["error"]


def test_the_postgresql_index_is_danish(postgres_url: str, folder: Path) -> None:
    """The `danish` configuration stems: "kravspecifikationer" finds "kravspecifikationen"."""
    from support import empty_postgres

    empty_postgres(postgres_url)
    store = pilot_store(postgres_url)
    note = folder / "bilag.txt"
    note.write_text("Kravspecifikationen beskriver ydelsen.", "utf-8")
    App(store, NOW, SEK).attach("AAR-SUND-01", [Upload(note, note.name)], title="Bilag")
    found = App(store, NOW, SEK).search_materials("kravspecifikationer")
    assert [h["file"]["title"] for h in found] == ["Bilag"]
    with store.engine.connect() as conn:
        kind = conn.execute(text("SELECT pg_typeof(search)::text FROM document_text")).scalar()
    assert kind == "tsvector"


def test_the_remote_cli_attaches_gets_and_searches_without_sqlalchemy(
    served: tuple[str, dict[str, str], Store], folder: Path, tmp_path: Path
) -> None:
    """`kflow` with KFLOW_URL: the same commands, through the service, in a process that imports
    neither SQLAlchemy nor SQLModel."""
    import subprocess
    import sys

    url, tokens, _store = served
    env = {**os.environ, "KFLOW_URL": url, "KFLOW_TOKEN": tokens["anna"],
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    for name in ("KFLOW_DB", "KFLOW_USER", "KFLOW_NOW"):
        env.pop(name, None)
    probe = ("import sys, cli\ntry:\n    cli.main()\nfinally:\n"
             "    print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', "
             "'sqlmodel')), file=sys.stderr)")  # fmt: skip

    def kflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", probe, *args], env=env, text=True,
                              capture_output=True, timeout=60, check=False)  # fmt: skip

    done = kflow("tender", "attach", "AAR-SUND-01", str(folder / "udbud.pdf"), "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("[]")
    file_id = json.loads(done.stdout)[0]["id"]
    got = kflow("file", "get", str(file_id), "-o", str(tmp_path / "ud.pdf"))
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "ud.pdf").read_bytes() == (folder / "udbud.pdf").read_bytes()
    found = kflow("materials", "search", "sygehusophold", "--json")
    assert [h["file"]["id"] for h in json.loads(found.stdout)] == [file_id]
    assert found.stderr.strip().endswith("[]")
    recent = kflow("materials", "recent", "--kind", "andet", "--json")
    assert [h["file"]["id"] for h in json.loads(recent.stdout)] == [file_id]
    assert recent.stderr.strip().endswith("[]")


# -- the review's findings -----------------------------------------------------------------------


def test_the_history_withholds_a_drafts_title_and_hash_from_others(
    tmp_path: Path, folder: Path
) -> None:
    store = pilot_store(f"sqlite:///{tmp_path / 's.db'}")
    secret = folder / "budget_rammeaftale_40mio.txt"
    secret.write_text("Budget: 40 mio.\n", "utf-8")
    attach(store, "AAR-SUND-01", [Upload(secret, secret.name)], ANNA, NOW, kind="kontrakt")
    shown = {who: App(store, NOW, person).history("AAR-SUND-01")[-1]["data"]["attached"]
             for who, person in (("anna", ANNA), ("sek", SEK), ("ole", OLE), ("none", None))}  # fmt: skip
    assert shown["anna"]["title"] == shown["sek"]["title"] == "Budget rammeaftale 40mio"
    assert shown["ole"] == shown["none"] == {
        "kind": "kontrakt", "version": 1,
        "withheld": "a draft, for the tender's participants and the secretariat",
    }  # fmt: skip
    publish(store, "AAR-SUND-01", ANNA)
    later = App(store, at("2007-10-02"), OLE).history("AAR-SUND-01")
    assert next(e for e in later if "attached" in e["data"])["data"]["attached"]["title"] == (
        "Budget rammeaftale 40mio"
    )
    assert verify(store).ok  # withholding is in what is shown, never in what is stored


def test_the_cli_history_says_a_draft_was_attached_without_its_title(
    env: dict[str, str], folder: Path
) -> None:
    assert run(env, "tender", "attach", "AAR-SUND-01", str(folder / "krav.docx"),
               user="anna").exit_code == 0  # fmt: skip
    assert "attached 'Krav' v1 (andet)" in run(env, "tender", "history", "AAR-SUND-01").stdout
    hidden = run(env, "tender", "history", "AAR-SUND-01", user="ole").stdout
    assert "attached a draft andet (v1)" in hidden and "Krav" not in hidden


def test_office_text_keeps_words_split_over_runs_and_spans(tmp_path: Path) -> None:
    import zipfile

    odt = tmp_path / "spans.odt"
    content = (
        '<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:'
        'opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
        "<office:body><office:text><text:h>Overskrift</text:h><text:p>Leverandøren sørger for "
        "Genop<text:span>træning</text:span> efter udskrivning.</text:p></office:text>"
        "</office:body></office:document-content>"
    )
    with zipfile.ZipFile(odt, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content)
    assert documents.text_of(odt, "odt") == (
        "Overskrift Leverandøren sørger for Genoptræning efter udskrivning."
    )
    docx = samples.docx(tmp_path / "runs.docx", "Titel", ["første afsnit"])
    import docx as python_docx

    document = python_docx.Document(str(docx))
    paragraph = document.add_paragraph("Genop")
    paragraph.add_run("træning")
    document.save(str(docx))
    assert documents.text_of(docx, "docx") == "Titel første afsnit Genoptræning"


def test_a_paragraph_in_a_paragraph_is_read_once(tmp_path: Path) -> None:
    """A DOCX text box and an ODT footnote are paragraphs inside a paragraph: each text is read
    once, and the outer paragraph's own words stay apart from it (no made-up 'afnb')."""
    import zipfile

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    box = (f'<w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>ydre</w:t></w:r><w:r><w:pict>'
           "<w:txbxContent><w:p><w:r><w:t>indre</w:t></w:r></w:p></w:txbxContent></w:pict>"
           "</w:r><w:r><w:t>hale</w:t></w:r></w:p><w:p><w:r><w:t>næste</w:t></w:r></w:p>"
           "</w:body></w:document>")  # fmt: skip
    text = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    note = (f'<office:document-content xmlns:office="o" xmlns:text="{text}"><text:p>før'
            "<text:note><text:note-body><text:p>fodnote</text:p></text:note-body></text:note>"
            " efter</text:p></office:document-content>")  # fmt: skip
    docx, odt = tmp_path / "boks.docx", tmp_path / "note.odt"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("word/document.xml", box)
    with zipfile.ZipFile(odt, "w") as archive:
        archive.writestr("content.xml", note)
    assert documents.text_of(docx, "docx") == "indre ydrehale næste"
    assert documents.text_of(odt, "odt") == "fodnote før efter"


def test_a_docx_is_read_without_its_pictures(tmp_path: Path) -> None:
    """Only word/document.xml is unpacked: a 30 MB picture beside it is never read."""
    import resource
    import zipfile

    docx = samples.docx(tmp_path / "billeder.docx", "Kravspecifikation", SPEC)
    with zipfile.ZipFile(docx, "a") as archive:
        archive.writestr("word/media/image1.png", bytes(30_000_000))  # compresses to ~30 kB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    text = documents.text_of(docx, documents.check(docx).format)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert "varm mad" in text
    assert grown < 20_000  # KiB: the picture (30 MB) was never held


def _bomb(path: Path, body: str, paragraphs: str = "") -> Path:
    """A DOCX whose document.xml is `body` inside <w:body>: a few kB that unpack to many MB."""
    import zipfile

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml",
                         f"<w:document {w}><w:body>{paragraphs}{body}</w:body></w:document>")  # fmt: skip
    return path


def test_an_xml_bomb_in_a_docx_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """400,000 empty elements outside any paragraph (1.6 MB from a 4 kB file; a 50 MB upload
    could unpack to gigabytes): each is let go as soon as it ends, so memory stays flat; the
    paragraph before them is still read."""
    import tracemalloc

    text = "<w:p><w:r><w:t>madservice</w:t></w:r></w:p>"
    docx = _bomb(tmp_path / "bombe.docx", "<x/>" * 400_000, text)
    assert docx.stat().st_size < 10_000
    tracemalloc.start()
    try:
        found = documents.text_of(docx, documents.check(docx).format)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == "madservice"
    assert peak < 2_000_000, f"{peak:,} bytes"  # every element was held before: 33 MB


def test_an_endless_paragraph_or_part_stops_the_text_not_the_attach(
    any_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A paragraph of more than PARAGRAPH_ELEMENTS elements, or a part that unpacks to more than
    XML_LIMIT bytes, is read no further: the document is attached, its title searchable, and
    the text read before it kept."""
    monkeypatch.setattr(documents, "PARAGRAPH_ELEMENTS", 1_000)
    monkeypatch.setattr(documents, "XML_LIMIT", 200_000)
    monkeypatch.setattr(documents, "OFFICE_ELEMENTS", 30_000)
    first = "<w:p><w:r><w:t>genoptræning</w:t></w:r></w:p>"
    wide = _bomb(tmp_path / "bred.docx", "<w:p>" + "<w:r/>" * 2_000 + "</w:p>", first)
    long = _bomb(tmp_path / "lang.docx", first * 10_000)  # 460 kB unpacked
    assert documents.text_of(wide, "docx") == "genoptræning"
    last = "<w:p><w:r><w:t>sidst</w:t></w:r></w:p>"  # after 40,000 elements: never reached
    many = _bomb(tmp_path / "mange.docx", "<x/>" * 40_000 + last, first)  # under XML_LIMIT
    assert documents.text_of(many, "docx") == "genoptræning"
    few = _bomb(tmp_path / "faa.docx", "<x/>" * 20_000 + last, first)
    assert documents.text_of(few, "docx") == "genoptræning sidst"
    assert documents.text_of(long, "docx").startswith("genoptræning genoptræning")
    assert len(documents.text_of(long, "docx")) < 200_000 // 46 * 13
    store = pilot_store(any_store.url)
    made = attach(store, "AAR-SUND-01", [Upload(wide, wide.name)], SEK, NOW, title="Bred")
    assert made[0]["indexed_chars"] == len("genoptræning")
    assert [h["file"]["title"] for h in App(store, NOW, SEK).search_materials("bred")] == ["Bred"]


def test_a_sheet_that_claims_every_cell_is_read_as_written(tmp_path: Path) -> None:
    """A sheet whose cells stand at A1 and XFD20000 is not padded out to 20,000 × 16,384 cells:
    its text is read at once; one with more rows and cells than XLSX_CELLS stops there."""
    import time
    import zipfile

    book = samples.xlsx(tmp_path / "vid.xlsx", "Priser", [["madservice", 1]])
    with zipfile.ZipFile(book) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/sheet"))
    xml = parts[sheet].decode()
    xml = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD20000"/>', xml)
    far = '<row r="20000"><c r="XFD20000" t="inlineStr"><is><t>sidst</t></is></c></row>'
    parts[sheet] = xml.replace("</sheetData>", far + "</sheetData>").encode()
    wide = tmp_path / "bred.xlsx"
    with zipfile.ZipFile(wide, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    started = time.process_time()
    assert documents.text_of(wide, "xlsx").endswith("madservice 1 sidst")
    assert time.process_time() - started < 2  # padded, it took 5 s of CPU
    renamed = tmp_path / "uden-endelse"  # uploads are copied under a number: no .xlsx
    renamed.write_bytes(wide.read_bytes())
    assert "madservice" in documents.text_of(renamed, "xlsx")


def test_text_and_titles_with_control_characters(any_store: Store, tmp_path: Path) -> None:
    """A PDF's unmapped glyphs come out as NUL (which PostgreSQL's text cannot hold): they are
    indexed as spaces; a title with control characters is refused."""
    store = pilot_store(any_store.url)
    pdf = tmp_path / "glyffer.pdf"
    pdf.write_bytes(samples.pdf("Titel", ["madservice \x00\x1b[31m kravspecifikation"]))
    made = attach(store, "AAR-SUND-01", [Upload(pdf, pdf.name)], SEK, NOW)
    assert made[0]["indexed_chars"] > 0
    hits = App(store, NOW, SEK).search_materials("kravspecifikation")
    assert "\x00" not in hits[0]["snippet"] and "\x1b" not in hits[0]["snippet"]
    before = counts(store)
    for title in ("a\x00b", "rød\x1b[31m", "tab\there"):
        with pytest.raises(InvalidInput, match="must be printable text"):
            attach(store, "AAR-SUND-01", [Upload(pdf, pdf.name)], SEK, NOW, title=title)
    assert counts(store) == before


def test_a_zip_with_too_many_entries_is_no_office_document(tmp_path: Path) -> None:
    import zipfile

    many = tmp_path / "mange.docx"
    with zipfile.ZipFile(many, "w") as archive:
        archive.writestr("[Content_Types].xml", "<x/>")
        archive.writestr("word/document.xml", "<x/>")
        for n in range(documents.MAX_ENTRIES):
            archive.writestr(f"x{n}", "")
    with pytest.raises(InvalidInput, match="is not a PDF, DOCX, XLSX, ODT or plain-text"):
        documents.check(many)


def _whole_answer(conn: socket.socket) -> str:
    """Read one HTTP answer, head and body: they may come in separate packets."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536) or _closed()
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += conn.recv(65536) or _closed()
    return (head + b"\r\n\r\n" + body).decode("utf-8", "replace")


def _closed() -> bytes:
    raise AssertionError("the server closed the connection before its answer was whole")


def test_an_upload_is_refused_before_its_body_is_read(
    served: tuple[str, dict[str, str], Store],
) -> None:
    """A tender of another municipality: 403 while the 50 MB body is still unsent."""
    from urllib.parse import urlsplit

    url, tokens, store = served
    parts = urlsplit(url)
    head = (
        "POST /api/v1/tenders/ODE-BESK-01/files HTTP/1.1\r\n"
        f"Host: {parts.hostname}\r\nAuthorization: Bearer {tokens['anna']}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 50000000\r\n\r\n"
    )
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as conn:
        conn.sendall(head.encode())
        answer = _whole_answer(conn)
    assert answer.startswith("HTTP/1.1 403"), answer
    assert "anna is project leader for municipality 751" in answer
    assert counts(store)[:3] == (0, 0, 0)
