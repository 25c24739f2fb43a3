"""Benchmark: the materials bank with big files and with many documents, on SQLite and PostgreSQL.

Run it from the repository root:

    .venv/bin/python bench/materials.py                    # full run: 1, 10, 40 MB; both backends
    .venv/bin/python bench/materials.py --quick            # smoke run: 1 and 8 MB, SQLite, < 60 s
    .venv/bin/python bench/materials.py --backend sqlite --repeats 5
    .venv/bin/python bench/materials.py --sizes 1,10,40 --docs 20,200 --audit-docs 20,200,2000

The issue's goal: memory stays flat when attaching and reading a 40 MB file. This is not a timed
test: it prints figures, min / median of the repeats, and a verdict table; a MISS is a measurement.
It fails (exit 1) only when the work measured was wrong: a command that failed, a fetched file that
is not byte-identical to the one attached, a search with the wrong hits, a verify not ok.

Every store starts as users start one: `kflow init`, `definitions load definitions/`, `programme
load workflows/forum-2007-2008.yaml` at --now 2007-06-01 (19 tenders and their people); each part
below works on a copy of it (a file copy; CREATE DATABASE ... TEMPLATE). The acts are at 2007-08-01.

1. Big files: `kflow --user anna tender attach AAR-SUND-01 FILE --json`, then `kflow --user anna
   file get ID -o OUT`, for a PDF (a page of text and an unused stream: `samples.pdf`'s filler) and
   a plain-text file of each size; a new file every repeat (new bytes, so every attach stores its
   blob). Each command's wall time and peak resident set, taken by scale.py's watcher (`wait4`);
   `cmp` of every fetched file with its source; `cp` of the same file as the time baseline. Flat:
   peak(biggest) / peak(smallest) at most 1.2, or less than 20 MiB more.
2. Where the memory goes: `documents.check` (hash, sniff) and `documents.text_of` (the text for the
   index) each alone in a process, on the smallest and the biggest file; and tracemalloc's biggest
   live allocation while the format's reader holds the biggest file's first part.
3. Search against the number of documents: stores with 20 and 200 small documents (PDF, DOCX and
   text in turn, spread over the 19 tenders, attached through the package, not timed);
   `kflow materials search Q --json` as kl-sek and as anna for three queries (a word in every
   document, one in a tenth of the titles, one in a single text), and `materials.search` in process
   with the store warm. The secretariat must get exactly the expected hits; Anna only documents of
   Aarhus's tenders (751: nothing is published yet, so she sees no one else's).
4. `audit.verify` against the number of documents: stores with 20, 200 and 2000 small documents
   (20 and 200 with --quick; filled as for 3, the same stores where the sizes are the same), the
   whole store verified in process (one untimed verify first, which must report ok with every
   document counted). Baselines, same run, between the verifies: what verify reads, with nothing
   checked (the events in chain order, the documents joined with their search entries as verify
   streams them, every blob's chunks in one stream), and the old ways of reading the search
   entries, one `SELECT title, body FROM document_text WHERE rowid = :id` (PostgreSQL:
   `document_id`) per document, and the chunks, one query per blob, each alone. Linear: verify's ms per document at the biggest store at
   most 1.5x that at the smallest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from statistics import median
from typing import Any

from bigstore import PostgresStores, SqliteStores, Stores
from common import ROOT, source_version, verdict
from pgcluster import throwaway_cluster
from scale import Run, run
from sqlalchemy import LargeBinary, cast, outerjoin, select
from sqlalchemy import text as sql_text

import konkurrence_flow
from konkurrence_flow import audit, materials, samples
from konkurrence_flow.calendar import parse_instant
from konkurrence_flow.materials import T_CHUNK, T_DOC, Upload
from konkurrence_flow.rows import T_EVENT, T_TENDER
from konkurrence_flow.store import Store

SETUP_NOW = "2007-06-01"
ACT_NOW = "2007-08-01"  # the programme's tenders start on 2007-07-01: an act cannot come before
TENDER = "AAR-SUND-01"  # Anna's (Aarhus, 751)
FORMATS = {"pdf": ("PDF", ".pdf"), "text": ("text", ".txt")}
GOAL_RATIO = 1.2  # peak(biggest) / peak(smallest) ...
GOAL_DELTA_MIB = 20.0  # ... or less than this much more
MB = 1_000_000  # files in MB (as KFLOW_MAX_FILE_MB counts them); memory in MiB
USERS = ("kl-sek", "anna")
WHATS = ("attach", "get", "cp")
TOPICS = ("genoptraening", "hjemmepleje", "rengoering", "vikarer", "beskaeftigelse", "transport",
          "hjaelpemidler", "vinterbekaempelse", "it drift")  # fmt: skip
EVERY, TENTH, ONE = "leverandøren", "madservice", "fodterapi"
QUERIES = ((EVERY, "a word in every document"), (TENTH, "a word in a tenth of the titles"),
           (ONE, "a word in one document's text"))  # fmt: skip
ONE_DOC = 7  # the document whose text holds ONE
GOAL_LINEAR = 1.5  # verify's ms per document, biggest store / smallest
READS = ("events", "documents", "chunks")  # what verify reads, timed apart


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]  # MB
    backends: tuple[str, ...]
    repeats: int
    docs: tuple[int, int]  # documents in the small and the big search store
    audit_docs: tuple[int, ...]  # documents in the stores audit.verify checks
    calls: int  # in-process searches per figure


@dataclass
class Results:
    files: dict[tuple[str, str, int, str], list[Run]] = field(default_factory=dict)
    seconds: dict[tuple[str, str, int, str], list[float]] = field(default_factory=dict)
    bytes_of: dict[tuple[str, int], int] = field(default_factory=dict)
    stages: dict[tuple[str, str, int], list[Run]] = field(default_factory=dict)
    traces: list[str] = field(default_factory=list)
    searches: dict[tuple[str, int, str, str], list[Run]] = field(default_factory=dict)
    in_process: dict[tuple[str, int, str, str], list[float]] = field(default_factory=dict)
    hits: dict[tuple[str, int, str, str], int] = field(default_factory=dict)
    audits: dict[tuple[str, int, str], list[float]] = field(default_factory=dict)
    wrong: dict[str, list[str]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def add(self, table: dict[Any, list[Any]], key: Any, value: Any) -> None:
        table.setdefault(key, []).append(value)

    def problem(self, part: str, text: str = "") -> None:
        """Note a part of the run (a problem in it, if `text`): its check is printed at the end."""
        found = self.wrong.setdefault(part, [])
        if text:
            found.append(text)


# Commands


def kflow(url: str, user: str, now: str, *args: str) -> list[str]:
    """The command line a user types: `kflow --db URL --now NOW --user USER ARGS`."""
    return [sys.executable, str(ROOT / "cli.py"), "--db", url, "--now", now, "--user", user, *args]


def failed(done: Run, what: str) -> str:
    """'' if the command succeeded, else what went wrong."""
    if done.code == 0:
        return ""
    return f"`{what}`: exit {done.code}: {done.err.decode('utf-8', 'replace').strip()[-300:]}"


def same_bytes(a: Path, b: Path) -> bool:
    return subprocess.run(["cmp", "-s", str(a), str(b)], check=False).returncode == 0


def build_base(stores: Stores) -> None:
    """The store users start with: init, the definitions, the 2007-2008 programme."""
    url = stores.create("base")
    for args in (("init",), ("definitions", "load", str(ROOT / "definitions")),
                 ("programme", "load", str(ROOT / "workflows" / "forum-2007-2008.yaml"))):  # fmt: skip
        problem = failed(run(kflow(url, "kl-sek", SETUP_NOW, *args)), f"kflow {' '.join(args)}")
        if problem:
            raise SystemExit(f"{stores.name}: setting up the store failed: {problem}")
    stores.seal("base")


# Files


PARAGRAPHS = [
    "Leverandøren skal tilbyde genoptræning af borgere udskrevet fra sygehus, senest syv dage "
    "efter udskrivningen, efter sundhedslovens § 140.",
    "Tilbuddet vurderes på pris (40 %) og kvalitet (60 %); kvaliteten dokumenteres med "
    "brugertilfredshedsmålinger og faglige mål for træningens effekt.",
]
LINE = " ".join(PARAGRAPHS) + "\n"
BLOCK = (LINE * (65_536 // len(LINE.encode()))).encode()  # whole lines, about 64 KB


def big_file(folder: Path, form: str, mb: int, copy: str) -> Path:
    """A file of about `mb` MB in this format, its bytes (and name) different for each `copy`."""
    title = f"Kravspecifikation, genoptræning ({mb} MB, nr. {copy})"
    path = folder / f"krav-{mb}mb-{copy}{FORMATS[form][1]}"
    if form == "pdf":
        path.write_bytes(samples.pdf(title, PARAGRAPHS, filler=mb * MB - 2_000))
        return path
    with path.open("wb") as out:
        written = out.write(f"{title}\n".encode())
        while written + len(BLOCK) <= mb * MB:
            written += out.write(BLOCK)
    return path


def small_document(folder: Path, n: int) -> Path:
    """Document n of a search store: PDF, DOCX and text in turn; TENTH in every tenth title,
    ONE in one text, EVERY in all."""
    topic = TENTH if n % 10 == 0 else TOPICS[n % len(TOPICS)]
    title = f"Kravspecifikation {n:03d} {topic}"
    paragraphs = [*PARAGRAPHS, f"Område: {topic}, udbud nummer {n}."]
    if n == ONE_DOC:
        paragraphs.append(f"Ydelsen omfatter også {ONE} for borgere med diabetes.")
    stem = folder / f"{n:03d}-{topic.replace(' ', '-')}"
    kind = ("pdf", "docx", "txt")[n % 3]
    path = stem.with_suffix(f".{kind}")
    if kind == "pdf":
        path.write_bytes(samples.pdf(title, paragraphs))
    elif kind == "docx":
        samples.docx(path, title, paragraphs)
    else:
        path.write_text("\n\n".join([title, *paragraphs]) + "\n", encoding="utf-8")
    return path


# 1. Big files


def bench_files(stores: Stores, folder: Path, s: Settings, r: Results) -> None:
    """Attach, fetch and copy each file, the sizes interleaved, `repeats` times."""
    part = f"{stores.name}, big files: every command succeeded; every file came back byte-identical"
    r.problem(part)
    url = stores.clone("base", "files")
    store = Store(url)
    for repeat in range(s.repeats):
        for form in FORMATS:
            for mb in s.sizes:
                key = (stores.name, form, mb)
                for problem in one_size(store, folder, key, repeat, r):
                    r.problem(part, problem)
    store.engine.dispose()
    stores.drop("files")


def one_size(
    store: Store, folder: Path, key: tuple[str, str, int], repeat: int, r: Results
) -> Iterator[str]:
    """The commands on one file, `cp` on it, and the same work in process on another (new bytes:
    the same bytes again would not be stored again)."""
    _, form, mb = key
    source = big_file(folder, form, mb, f"{repeat + 1}a")
    r.bytes_of[(form, mb)] = source.stat().st_size
    yield from attach_and_get(store.url, source, key, r)
    copied = folder / "copied"
    r.add(r.files, (*key, "cp"), run([shutil.which("cp") or "/bin/cp", str(source), str(copied)]))
    for path in (source, copied):
        path.unlink(missing_ok=True)
    source = big_file(folder, form, mb, f"{repeat + 1}b")
    yield from in_process(store, source, key, r)
    source.unlink()


def attach_and_get(url: str, source: Path, key: tuple[str, str, int], r: Results) -> Iterator[str]:
    """`tender attach`, `file get`, and cmp of what came back: the problems, if any."""
    attach = run(kflow(url, "anna", ACT_NOW, "tender", "attach", TENDER, str(source), "--json"),
                 keep=True)  # fmt: skip
    r.add(r.files, (*key, "attach"), attach)
    if problem := failed(attach, f"tender attach {source.name}"):
        yield problem
        return
    file_id = json.loads(attach.out)[0]["id"]
    fetched = source.with_name("fetched")
    get = run(kflow(url, "anna", ACT_NOW, "file", "get", str(file_id), "-o", str(fetched)))
    r.add(r.files, (*key, "get"), get)
    if problem := failed(get, f"file get {file_id}"):
        yield problem
    elif not same_bytes(source, fetched):
        yield f"file {file_id} came back different from {source.name} (cmp)"
    fetched.unlink(missing_ok=True)


def in_process(store: Store, source: Path, key: tuple[str, str, int], r: Results) -> Iterator[str]:
    """What the two commands do, timed in this process with the store warm: the work on the
    bytes, without the start-up (`file get` also hashes what it writes)."""
    started = time.perf_counter()
    [found] = materials.attach(store, TENDER, [Upload(source, source.name)],
                               store.person("anna"), parse_instant(ACT_NOW))  # fmt: skip
    attached = time.perf_counter()
    fetched, sha = source.with_name("fetched"), hashlib.sha256()
    with fetched.open("wb") as out:
        for chunk in materials.content(store, found["sha256"]):
            sha.update(chunk)
            out.write(chunk)
    r.add(r.seconds, (*key, "attach"), attached - started)
    r.add(r.seconds, (*key, "get"), time.perf_counter() - attached)
    if sha.hexdigest() != found["sha256"] or not same_bytes(source, fetched):
        yield f"file {found['id']} came back different from {source.name} (in process, cmp)"
    fetched.unlink()


# 2. Where the memory goes


STAGE = """\
import sys
from pathlib import Path
from konkurrence_flow import documents
path = Path(sys.argv[2])
if sys.argv[1] == "check":
    documents.check(path)
else:
    documents.text_of(path, sys.argv[1])
"""

# The reader `documents.text_of` uses for the format (a private function: this is a diagnosis),
# stopped after its first part, when it holds what it needs to read the file.
TRACE = """\
import linecache, sys, tracemalloc
from pathlib import Path
from konkurrence_flow import documents
reader = getattr(documents, "_" + sys.argv[1])
tracemalloc.start(16)
parts = reader(Path(sys.argv[2]))
next(parts, None)
held = tracemalloc.get_traced_memory()[0]
top = tracemalloc.take_snapshot().statistics("traceback")[0]
print(f"{held / 2**20:.1f} MiB held; the biggest allocation {top.size / 2**20:.1f} MiB "
      f"({top.count} blocks), made at")
for frame in [f for f in top.traceback if "<string>" not in f.filename][:4]:
    where = "/".join(Path(frame.filename).parts[-2:])
    print(f"    {where}:{frame.lineno}  {linecache.getline(frame.filename, frame.lineno).strip()}")
"""


def bench_stages(folder: Path, s: Settings, r: Results) -> None:
    """Each step of attaching alone in a process, on the smallest and the biggest file."""
    part = "each step of attaching alone: every process succeeded"
    r.problem(part)
    for repeat in range(s.repeats):
        for form in FORMATS:
            for mb in (min(s.sizes), max(s.sizes)):
                source = big_file(folder, form, mb, f"{repeat + 1}")
                for stage in ("check", form):
                    done = run([sys.executable, "-c", STAGE, stage, str(source)])
                    r.add(r.stages, (form, stage, mb), done)
                    if problem := failed(done, f"{stage} {source.name}"):
                        r.problem(part, problem)
                if repeat == 0 and mb == max(s.sizes):
                    r.traces.append(trace(form, source))
                source.unlink()


def trace(form: str, source: Path) -> str:
    done = run([sys.executable, "-c", TRACE, form, str(source)], keep=True)
    found = (done.out or done.err).decode("utf-8", "replace").rstrip()
    return f"  {FORMATS[form][0]} {source.stat().st_size / MB:.1f} MB: {found}"


# 3. Search


def bench_documents(stores: Stores, folder: Path, s: Settings, r: Results) -> None:
    """Parts 3 and 4 on stores of small documents, each size filled once."""
    for n in sorted({*s.docs, *s.audit_docs}):
        url = stores.clone("base", f"docs{n}")
        fill(url, folder / f"docs{n}", n)
        if n in s.docs:
            bench_search(stores.name, url, n, s, r)
        if n in s.audit_docs:
            bench_audit(stores.name, url, n, s, r)
        stores.drop(f"docs{n}")


def bench_search(backend: str, url: str, n: int, s: Settings, r: Results) -> None:
    part = f"{backend}, {n} documents: every search succeeded, with the expected hits"
    r.problem(part)
    for problem in search_commands(backend, url, n, s, r):
        r.problem(part, problem)
    for problem in search_in_process(backend, url, n, s, r):
        r.problem(part, problem)


def fill(url: str, folder: Path, n: int) -> None:
    """n small documents, spread over the tenders, attached by the secretariat (one act a tender)."""
    folder.mkdir()
    store = Store(url)
    tenders = [t.id for t in store.tenders()]
    given: dict[str, list[Upload]] = {}
    for i in range(n):
        path = small_document(folder, i)
        given.setdefault(tenders[i % len(tenders)], []).append(Upload(path, path.name))
    secretariat = store.person("kl-sek")
    for tender_id, uploads in given.items():
        materials.attach(store, tender_id, uploads, secretariat, parse_instant(ACT_NOW),
                         kind="kravspecifikation")  # fmt: skip
    store.engine.dispose()
    shutil.rmtree(folder)


def expected(query: str, n: int) -> int:
    """The secretariat's hits (it sees everything), at most the default limit of 20."""
    matching = {EVERY: n, TENTH: (n + 9) // 10, ONE: int(n > ONE_DOC)}[query]
    return min(20, matching)


def hit_problems(user: str, query: str, n: int, hits: list[dict[str, Any]]) -> list[str]:
    if user == "kl-sek" and len(hits) != expected(query, n):
        return [f"kl-sek searching {query!r}: {len(hits)} hits, not {expected(query, n)}"]
    foreign = [h["file"]["id"] for h in hits
               if "751" not in [m["code"] for m in h["tender"]["municipalities"]]]  # fmt: skip
    if user == "anna" and (foreign or (query == EVERY and not hits)):
        return [f"anna searching {query!r}: {len(hits)} hits, of other tenders: {foreign[:5]}"]
    return []


def search_commands(backend: str, url: str, n: int, s: Settings, r: Results) -> Iterator[str]:
    """`kflow materials search Q --json`, each user and query, `repeats` times."""
    for _ in range(s.repeats):
        for user in USERS:
            for query, _label in QUERIES:
                done = run(kflow(url, user, ACT_NOW, "materials", "search", query, "--json"),
                           keep=True)  # fmt: skip
                r.add(r.searches, (backend, n, user, query), done)
                if problem := failed(done, f"materials search {query}"):
                    yield problem
                    continue
                hits = json.loads(done.out)
                r.hits[(backend, n, user, query)] = len(hits)
                yield from hit_problems(user, query, n, hits)


def search_in_process(backend: str, url: str, n: int, s: Settings, r: Results) -> Iterator[str]:
    """`materials.search` with the store warm (people read, one search done): `calls` each."""
    store = Store(url)
    for user in USERS:
        viewer = store.person(user)
        for query, _label in QUERIES:
            hits = materials.search(store, query, viewer)
            yield from hit_problems(user, query, n, hits)
            for _ in range(s.calls):
                started = time.perf_counter()
                materials.search(store, query, viewer)
                r.add(r.in_process, (backend, n, user, query), time.perf_counter() - started)
    store.engine.dispose()


# 4. audit.verify


def bench_audit(backend: str, url: str, n: int, s: Settings, r: Results) -> None:
    """`audit.verify` on the whole store, then the same reads with nothing checked, then the old
    way's one query per document for the search entries: in turn, `repeats` times, the store warm
    (one verify first, untimed)."""
    part = (f"{backend}, {n} documents: audit verify ok with every document; the reads read "
            "every event, document, blob and search entry")  # fmt: skip
    r.problem(part)
    store = Store(url)
    with store.engine.connect() as conn:
        ids = list(conn.execute(select(T_DOC.c.id).order_by(T_DOC.c.id)).scalars())
    for problem in verify_problems(audit.verify(store), n):
        r.problem(part, problem)
    for _ in range(s.repeats):
        report = timed(r, (backend, n, "verify"), audit.verify, store)
        with store.engine.connect() as conn:
            events = timed(r, (backend, n, "events"), read_events, conn)
            blobs = timed(r, (backend, n, "documents"), read_documents, conn)
            chunks = timed(r, (backend, n, "chunks"), read_chunks, conn)
            entries = timed(r, (backend, n, "lookups"), look_up_entries, conn, ids)
            per_blob = timed(r, (backend, n, "per_blob"), read_chunks_per_blob, conn,
                             dict.fromkeys(blobs))  # fmt: skip
        r.add(r.audits, (backend, n, "read"), sum(r.audits[(backend, n, w)][-1] for w in READS))
        for problem in verify_problems(report, n):
            r.problem(part, problem)
        if (
            (events, len(blobs), entries) != (report.events, n, n)
            or chunks < len(set(blobs))
            or per_blob != chunks
        ):
            r.problem(part, f"read {events} events of {report.events}, {len(blobs)} documents "
                            f"and {entries} search entries of {n}, {chunks} chunks")  # fmt: skip
    store.engine.dispose()


def timed(r: Results, key: tuple[str, int, str], work: Callable[..., Any], *args: Any) -> Any:
    """`work(*args)`, its wall time added to the figures of `key`."""
    started = time.perf_counter()
    found = work(*args)
    r.add(r.audits, key, time.perf_counter() - started)
    return found


def verify_problems(report: audit.Report, n: int) -> list[str]:
    if report.ok and report.documents == n:
        return []
    found = [str(b) for b in report.breaks[:3]] + report.index[:3]
    return [f"audit verify: ok {report.ok}, {report.documents} documents of {n}: {found}"]


def read_events(conn: Any) -> int:
    """Baseline: every event joined to its tender, in chain order, as verify streams them (here
    with the columns' types converted, where verify reads them raw)."""
    joined = outerjoin(T_EVENT, T_TENDER, T_EVENT.c.tender_id == T_TENDER.c.id)
    query = (select(T_EVENT, T_TENDER.c.seq.label("tender_seq"), T_TENDER.c.chain_head,
                    T_TENDER.c.state).select_from(joined)
             .order_by(T_EVENT.c.tender_id, T_EVENT.c.seq))  # fmt: skip
    count = 0
    for _row in conn.execution_options(yield_per=audit.STREAM).execute(query):
        count += 1
    return count


def read_documents(conn: Any) -> list[str]:
    """Baseline: every document joined with its search entry, the SELECT verify streams, fetched
    as verify fetches it; only each row's blob is kept."""
    entries, entry_id = materials.index_table(conn.dialect.name)
    joined = outerjoin(T_DOC, entries, entry_id == T_DOC.c.id)
    query = (select(T_DOC, entry_id.label("entry_id"), entries.c.title.label("entry_title"),
                    entries.c.body).select_from(joined).order_by(T_DOC.c.id))  # fmt: skip
    rows = conn.execution_options(yield_per=audit.DOCUMENTS_AT_ONCE).execute(query)
    return [row.sha256 for row in rows]


def read_chunks(conn: Any) -> int:
    """Baseline: every document's blob's chunks in one stream, four at a time, as verify reads
    them, not hashed."""
    raw = cast(T_CHUNK.c.data, LargeBinary)
    query = (select(T_CHUNK.c.sha256, T_CHUNK.c.n, raw)
             .where(T_CHUNK.c.sha256.in_(select(T_DOC.c.sha256)))
             .order_by(T_CHUNK.c.sha256, T_CHUNK.c.n))  # fmt: skip
    return sum(1 for _row in conn.execution_options(yield_per=4).execute(query))


def read_chunks_per_blob(conn: Any, blobs: Iterable[str]) -> int:
    """The old way (before the blobs were streamed): each blob's chunks, one query a blob."""
    raw = cast(T_CHUNK.c.data, LargeBinary)
    count = 0
    for sha256 in blobs:
        query = select(T_CHUNK.c.n, raw).where(T_CHUNK.c.sha256 == sha256).order_by(T_CHUNK.c.n)
        for _row in conn.execution_options(yield_per=4).execute(query):
            count += 1
    return count


def look_up_entries(conn: Any, ids: Sequence[int]) -> int:
    """The old way (before 3421d0d): one query per document for its search entry, alone."""
    key = "rowid" if conn.dialect.name == "sqlite" else "document_id"
    statement = sql_text(f"SELECT title, body FROM {materials.SEARCH_INDEX} WHERE {key} = :id")
    return sum(conn.execute(statement, {"id": doc_id}).first() is not None for doc_id in ids)


# A backend, from start to end


@contextmanager
def backend(name: str, folder: Path, r: Results) -> Iterator[Stores]:
    if name == "sqlite":
        yield SqliteStores(folder)
        return
    with throwaway_cluster() as cluster:
        r.versions["PostgreSQL"] = cluster.version()
        stores = PostgresStores(cluster)
        try:
            yield stores
        finally:
            stores.admin.dispose()


def bench_backend(stores: Stores, folder: Path, s: Settings, r: Results) -> None:
    build_base(stores)
    bench_files(stores, folder, s, r)
    bench_documents(stores, folder, s, r)


# The report


def spread(values: Sequence[float]) -> tuple[float, float]:
    return min(values), median(values)


def label(form: str, mb: int) -> str:
    return f"{FORMATS[form][0]} {mb} MB"


def report(s: Settings, r: Results, total: float) -> None:
    print_header(s, r)
    print_stages(s, r)
    for name in s.backends:
        print_files(name, s, r)
        print_search(name, s, r)
        print_audit(name, s, r)
    print_checks(r)
    print_goals(s, r)
    print(f"\nwhole run: {total:.0f} s")


def print_header(s: Settings, r: Results) -> None:
    print(f"konkurrence-flow materials benchmark: min / median of {s.repeats}; "
          f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
          + "".join(f"{k} {v}, " for k, v in r.versions.items())
          + f"SQLAlchemy {version('SQLAlchemy')}, psycopg {version('psycopg')}, "
          f"pypdf {version('pypdf')}; {os.cpu_count()} CPUs")  # fmt: skip
    print(f"package at {source_version()} ({Path(konkurrence_flow.__file__).parent}); acts at "
          f"{ACT_NOW} by anna on {TENDER}")  # fmt: skip


def print_stages(s: Settings, r: Results) -> None:
    print("\nwhere the memory goes: each step of attaching alone in a process, peak MiB "
          "(min / max of the repeats)")  # fmt: skip
    print(f"  {'file':<16}{'documents.check':>20}{'documents.text_of':>20}")
    for form in FORMATS:
        for mb in (min(s.sizes), max(s.sizes)):
            cells = [r.stages[(form, stage, mb)] for stage in ("check", form)]
            shown = [f"{min(x.peak_mib for x in c):.0f} / {max(x.peak_mib for x in c):.0f}"
                     for c in cells]  # fmt: skip
            print(f"  {label(form, mb):<16}{shown[0]:>20}{shown[1]:>20}")
    print("tracemalloc, while the reader `text_of` uses holds the biggest file's first part:")
    for text in r.traces:
        print(text)


def print_files(name: str, s: Settings, r: Results) -> None:
    print(f"\n{name}: big files: `kflow tender attach` and `kflow file get`, s (min / median) and "
          "peak MiB (max); the same work in process and `cp`, ms per MB (min)")  # fmt: skip
    print(f"  {'file':<16}{'bytes':>12}{'attach s':>14}{'peak':>6}{'get s':>14}{'peak':>6}"
          f"{'attach/MB':>11}{'get/MB':>8}{'cp/MB':>7}{'attach/cp':>11}{'get/cp':>8}")  # fmt: skip
    for form in FORMATS:
        for mb in s.sizes:
            key = (name, form, mb)
            attach, get = r.files.get((*key, "attach")), r.files.get((*key, "get"))
            if not (attach and get and (*key, "get") in r.seconds):
                continue
            per = [per_mb(r, key, what) for what in WHATS]
            print(f"  {label(form, mb):<16}{r.bytes_of[(form, mb)]:>12,}{times(attach)}"
                  f"{peak(attach):>6.0f}{times(get)}{peak(get):>6.0f}{per[0]:>11.1f}{per[1]:>8.1f}"
                  f"{per[2]:>7.2f}{per[0] / per[2]:>10.1f}x{per[1] / per[2]:>7.1f}x")  # fmt: skip
    print("  (every fetched file compared with its source by cmp; a new file each repeat)")


def best(runs: Sequence[Run]) -> float:
    return min(x.seconds for x in runs)


def peak(runs: Sequence[Run]) -> float:
    return max(x.peak_mib for x in runs)


def times(runs: Sequence[Run]) -> str:
    return cell([x.seconds for x in runs], 16)


def cell(values: Sequence[float], width: int) -> str:
    """min / median, right-aligned in `width`."""
    low, mid = spread(values)
    return f"{low:.2f} / {mid:.2f}".rjust(width)


def per_mb(r: Results, key: tuple[str, str, int], what: str) -> float:
    """ms per MB: attach and get in process, cp as a command."""
    seconds = best(r.files[(*key, "cp")]) if what == "cp" else min(r.seconds[(*key, what)])
    return seconds * 1000 / (r.bytes_of[key[1:]] / MB)


def print_search(name: str, s: Settings, r: Results) -> None:
    small, big = s.docs
    print(f"\n{name}: `kflow materials search Q --json`, s (min / median), and `materials.search` "
          f"in process, ms (min / median of {s.calls}); {small} and {big} documents")  # fmt: skip
    print(f"  {'query':<14}{'user':<8}{f'{small} docs':>14}{f'{big} docs':>14}{'ratio':>7}"
          f"{f'{small}, in proc':>16}{f'{big}, in proc':>16}{'ratio':>7}{'hits':>9}")  # fmt: skip
    for query, _label in QUERIES:
        for user in USERS:
            key = (name, small, user, query), (name, big, user, query)
            if not all(k in r.searches and k in r.in_process for k in key):
                continue
            cmd = [[x.seconds for x in r.searches[k]] for k in key]
            inp = [[x * 1000 for x in r.in_process[k]] for k in key]
            hits = f"{r.hits.get(key[0], '?')} / {r.hits.get(key[1], '?')}"
            print(f"  {query:<14}{user:<8}{cell(cmd[0], 14)}{cell(cmd[1], 14)}"
                  f"{min(cmd[1]) / min(cmd[0]):>7.2f}{cell(inp[0], 16)}{cell(inp[1], 16)}"
                  f"{min(inp[1]) / min(inp[0]):>7.2f}{hits:>9}")  # fmt: skip
    print(f"  ({', '.join(f'{q}: {what}' for q, what in QUERIES)}; hits: at most 20, the default "
          "limit)")  # fmt: skip


def print_audit(name: str, s: Settings, r: Results) -> None:
    print(f"\n{name}: `audit.verify` of the whole store, ms (min / median of {s.repeats}) and "
          "ms per document (min); the same reads with nothing checked (the events, the documents "
          "joined with their search entries, the blobs' chunks) and one query per document for "
          "its search entry (the old way), ms per document (min)")  # fmt: skip
    print(f"  {'documents':<11}{'verify ms':>18}{'/doc':>8}{'read ms':>18}{'/doc':>8}"
          f"{'verify/read':>13}{'events':>9}{'joined':>9}{'chunks':>9}{'one query each':>16}"
          f"{'each/joined':>13}{'per blob':>10}{'blob/stream':>13}")  # fmt: skip
    for n in s.audit_docs:
        if (name, n, "verify") not in r.audits:
            continue
        ms = {what: [x * 1000 for x in r.audits[(name, n, what)]]
              for what in ("verify", "read", *READS, "lookups", "per_blob")}  # fmt: skip
        per = {what: min(values) / n for what, values in ms.items()}
        print(f"  {n:<11,}{cell(ms['verify'], 18)}{per['verify']:>8.3f}{cell(ms['read'], 18)}"
              f"{per['read']:>8.3f}{per['verify'] / per['read']:>12.2f}x{per['events']:>9.3f}"
              f"{per['documents']:>9.3f}{per['chunks']:>9.3f}{per['lookups']:>16.3f}"
              f"{per['lookups'] / per['documents']:>12.2f}x{per['per_blob']:>10.3f}"
              f"{per['per_blob'] / per['chunks']:>12.2f}x")  # fmt: skip
    print("  (read: the same statements fetched the same way; joined: the documents with "
          "their entries, one query; chunks: every blob's, one stream; one query each: the "
          "entries alone, the old way; per blob: the chunks one query a blob, the old way)")  # fmt: skip


def per_document(r: Results, name: str, n: int, what: str) -> float:
    """ms per document, min of the repeats."""
    return min(r.audits[(name, n, what)]) * 1000 / n


def print_checks(r: Results) -> None:
    print("\nchecks: the work measured is the right work")
    for part, problems in r.wrong.items():
        mark = "WRONG" if problems else "ok   "
        detail = f" ({'; '.join(problems[:3])})" if problems else ""
        print(f"  {mark}  {part}{detail}")


def print_goals(s: Settings, r: Results) -> None:
    print(f"\n  {'goal (the issue) or ratio (context)':<60}{'value':>46}  {'goal':<22}verdict")
    for text, value, goal, ok in goals(s, r):
        shown = "–" if ok is None else verdict(ok)
        print(f"  {text:<60}{value:>46}  {goal:<22}{shown}")
    print("  (memory: the peak resident set of the command, max of the repeats; times: min)")


def goals(s: Settings, r: Results) -> list[tuple[str, str, str, bool | None]]:
    rows: list[tuple[str, str, str, bool | None]] = []
    for name in s.backends:
        for what in ("attach", "get"):
            for form in FORMATS:
                rows += memory_goal(name, what, form, s, r)
        rows += speed_ratios(name, s, r)
        rows += search_ratios(name, s, r)
        rows += audit_goal(name, s, r)
    return rows


def speed_ratios(name: str, s: Settings, r: Results) -> list[tuple[str, str, str, bool | None]]:
    rows: list[tuple[str, str, str, bool | None]] = []
    for form in FORMATS:
        key = (name, form, max(s.sizes))
        if (*key, "get") in r.seconds:
            cp = per_mb(r, key, "cp")
            value = " / ".join(f"{per_mb(r, key, what) / cp:.1f}x" for what in ("attach", "get"))
            rows.append((f"{name}: attach / get in process, ms per MB / cp's, {label(*key[1:])}",
                         value, "none", None))  # fmt: skip
    return rows


def command_of(what: str) -> str:
    return {"attach": "tender attach", "get": "file get"}[what]


def memory_goal(
    name: str, what: str, form: str, s: Settings, r: Results
) -> list[tuple[str, str, str, bool | None]]:
    small, big = min(s.sizes), max(s.sizes)
    runs = [r.files.get((name, form, mb, what)) for mb in (small, big)]
    if not all(runs):
        return []
    low, high = (peak(found or ()) for found in runs)
    grown, more = high / low, high - low
    slope = more / ((r.bytes_of[(form, big)] - r.bytes_of[(form, small)]) / MB)
    ok = grown <= GOAL_RATIO or more < GOAL_DELTA_MIB
    return [(f"{name}: {command_of(what)}, peak RSS, {label(form, big)} / {small} MB",
             f"{high:.0f} / {low:.0f} MiB = {grown:.2f}x ({more:+.0f} MiB, {slope:.2f} per MB)",
             f"<= {GOAL_RATIO}x or < +{GOAL_DELTA_MIB:.0f} MiB", ok)]  # fmt: skip


def search_ratios(name: str, s: Settings, r: Results) -> list[tuple[str, str, str, bool | None]]:
    small, big = s.docs
    rows: list[tuple[str, str, str, bool | None]] = []
    for user in USERS:
        key = (name, small, user, EVERY), (name, big, user, EVERY)
        if all(k in r.searches for k in key):
            cmd = best(r.searches[key[1]]) / best(r.searches[key[0]])
            inp = min(r.in_process[key[1]]) / min(r.in_process[key[0]])
            rows.append((f"{name}: materials search, {big} / {small} documents, {user}",
                         f"command {cmd:.2f}x; in process {inp:.2f}x", "none", None))  # fmt: skip
    return rows


def audit_goal(name: str, s: Settings, r: Results) -> list[tuple[str, str, str, bool | None]]:
    sizes = [n for n in s.audit_docs if (name, n, "verify") in r.audits]
    if len(sizes) < 2:
        return []
    small, before, big = sizes[0], sizes[-2], sizes[-1]
    low, mid, high = (per_document(r, name, n, "verify") for n in (small, before, big))
    grown = high / low
    rows: list[tuple[str, str, str, bool | None]] = [
        (f"{name}: audit verify per document, {big} / {small} documents",
         f"{high:.3f} / {low:.3f} ms = {grown:.2f}x", f"<= {GOAL_LINEAR}x", grown <= GOAL_LINEAR),
    ]  # fmt: skip
    if before != small:
        rows.append((f"{name}: audit verify per document, {big} / {before} documents",
                     f"{high:.3f} / {mid:.3f} ms = {high / mid:.2f}x", "none", None))  # fmt: skip
    read, each, joined, per_blob, stream = (
        per_document(r, name, big, w)
        for w in ("read", "lookups", "documents", "per_blob", "chunks")
    )
    rows += [
        (f"{name}: audit verify / the same reads, {big} documents",
         f"{high:.3f} / {read:.3f} ms per doc = {high / read:.2f}x", "none", None),
        (f"{name}: one entry query per document / the join, {big} docs",
         f"{each:.3f} / {joined:.3f} ms per doc = {each / joined:.2f}x", "none", None),
        (f"{name}: one chunk query per blob / one stream, {big} docs",
         f"{per_blob:.3f} / {stream:.3f} ms per doc = {per_blob / stream:.2f}x", "none", None),
    ]  # fmt: skip
    return rows


# The command line


def settings(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 and 8 MB, SQLite, one repeat")
    parser.add_argument("--sizes", help="file sizes in MB, comma-separated (1,10,40), at most 50")
    parser.add_argument("--docs", help="documents in the two search stores (20,200)")
    parser.add_argument("--audit-docs", help="documents in the stores audit.verify checks, at "
                        "least two sizes (20,200,2000; 20,200 with --quick)")  # fmt: skip
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--repeats", type=int, help="repeats of every figure (3; 1 with --quick)")
    args = parser.parse_args(argv)
    sizes = tuple(sorted(int(n) for n in args.sizes.split(","))) if args.sizes else None
    if sizes and not (len(sizes) >= 2 and sizes[0] >= 1 and sizes[-1] <= 50):
        parser.error("--sizes: at least two sizes, 1 to 50 MB (the default KFLOW_MAX_FILE_MB)")
    docs = tuple(sorted(int(n) for n in args.docs.split(","))) if args.docs else (20, 200)
    if len(docs) != 2 or docs[0] < 1:
        parser.error("--docs: two numbers of documents, e.g. 20,200")
    audit_docs = (tuple(sorted({int(n) for n in args.audit_docs.split(",")})) if args.audit_docs
                  else (20, 200) if args.quick else (20, 200, 2000))  # fmt: skip
    if len(audit_docs) < 2 or audit_docs[0] < 1:
        parser.error("--audit-docs: at least two numbers of documents, e.g. 20,200,2000")
    chosen = args.backend or ("sqlite" if args.quick else "both")
    backends = ("sqlite", "postgresql") if chosen == "both" else (chosen,)
    return Settings(sizes=sizes or ((1, 8) if args.quick else (1, 10, 40)), backends=backends,
                    repeats=args.repeats or (1 if args.quick else 3), docs=(docs[0], docs[1]),
                    audit_docs=audit_docs, calls=5 if args.quick else 20)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    started = time.perf_counter()
    s, r = settings(argv), Results()
    folder = Path(tempfile.mkdtemp(prefix="kflow-materials-"))
    try:
        bench_stages(folder, s, r)
        for name in s.backends:
            with backend(name, folder, r) as stores:
                bench_backend(stores, folder, s, r)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(s, r, time.perf_counter() - started)
    if any(r.wrong.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
