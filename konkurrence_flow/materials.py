"""The materials bank: documents attached to tenders, kept in the store, shared across the network.

Attaching is an act on the tender: an event (with the document's SHA-256, so the hash chain
covers the document) and the document's rows, in one transaction. The bytes are stored once per
SHA-256, a chunk at a time (`blob`, `blob_chunk`), and read back the same way.

Who sees what (the same rule for every door: `check_may_see`, and `_visible` in SQL):
the participants of a tender (project leaders of its municipalities) see its documents at any
time; everyone in the network sees those of a tender that has reached publication (published
material is no secret; drafts are); the secretariat sees everything.

The search index is the database's own: FTS5 on SQLite, a `tsvector` with the `danish`
configuration on PostgreSQL; in both a hit in a title ranks before a hit in the text only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    LargeBinary,
    String,
    cast,
    column,
    exists,
    func,
    insert,
    select,
    text,
)
from sqlalchemy import table as sql_table
from sqlalchemy.exc import DBAPIError

from . import documents
from .documents import FORMAT_OF, FORMATS, KINDS, Checked, Upload
from .engine import PUBLISHED, check_may_touch
from .errors import Forbidden, InvalidInput, NotFound, RunError
from .identifiers import title_problem
from .model import Person, Tender
from .rows import T_STEP, T_TENDER, T_TM
from .tables import BlobChunkRow, BlobRow, DocumentRow, table

if TYPE_CHECKING:
    from .store import Store

T_BLOB = table(BlobRow)
T_CHUNK = table(BlobChunkRow)
T_DOC = table(DocumentRow)
SEARCH_INDEX = "document_text"
MAX_QUERY_WORDS = 20
MAX_HITS = 200
HIT, END = "\ue000", "\ue001"  # around each hit in a snippet, until it is shown


def create_search_index(conn: Any) -> None:
    """The search index of the documents' titles and text, the database's own."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {SEARCH_INDEX} USING fts5(title, body, "
            "tokenize = 'unicode61 remove_diacritics 0')"
        )
        return
    conn.exec_driver_sql(
        f"CREATE TABLE {SEARCH_INDEX} (document_id integer PRIMARY KEY REFERENCES document(id), "
        "title text NOT NULL, body text NOT NULL, search tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('danish'::regconfig, title), 'A') || "
        "setweight(to_tsvector('danish'::regconfig, body), 'B')) STORED)"
    )
    conn.exec_driver_sql(
        f"CREATE INDEX ix_{SEARCH_INDEX}_search ON {SEARCH_INDEX} USING gin (search)"
    )


# -- who sees what ------------------------------------------------------------------------------


def sees_all(viewer: Person | None) -> bool:
    return viewer is not None and viewer.role == "secretariat"


def may_see(store: Store, tender: Tender, viewer: Person | None) -> bool:
    """May the viewer see the tender's documents?"""
    return sees_all(viewer) or _participant(viewer, tender) or published(store, tender.id)


WITHHELD = "a draft, for the tender's participants and the secretariat"


def withheld(attached: Any) -> dict[str, Any]:
    """What the history shows of a document the viewer may not see: its kind and version."""
    said = attached if isinstance(attached, dict) else {}
    return {"kind": said.get("kind"), "version": said.get("version"), "withheld": WITHHELD}


def check_may_see(store: Store, tender: Tender, viewer: Person | None) -> None:
    """Refuse a viewer the documents of an unpublished tender they do not take part in."""
    if may_see(store, tender, viewer):
        return
    who = viewer.id if viewer is not None else "a reader the store does not know"
    raise Forbidden(
        f"tender {tender.id} is not published yet: its materials are drafts, for its "
        f"participants ({', '.join(tender.municipalities)}) and the secretariat, not for {who}"
    )


def _participant(viewer: Person | None, tender: Tender) -> bool:
    return (
        viewer is not None
        and viewer.role == "project_leader"
        and viewer.municipality in tender.municipalities
    )


def published(store: Store, tender_id: str) -> bool:
    """True once the tender has reached publication (a step of it was a published state)."""
    with store.engine.connect() as conn:
        return conn.execute(_reached(T_STEP.c.tender_id == tender_id).limit(1)).first() is not None


def _reached(tender: Any) -> Any:
    """The published steps of the tender(s) the condition names."""
    return select(T_STEP.c.tender_id).where(tender, T_STEP.c.state.in_(PUBLISHED))


def _visible(viewer: Person | None) -> Any:
    """SQL: the documents (of `tender`, joined) this viewer may see."""
    if sees_all(viewer):
        return text("1 = 1")
    reached = exists(_reached(T_STEP.c.tender_id == T_TENDER.c.id))
    if viewer is None or viewer.role != "project_leader" or not viewer.municipality:
        return reached
    own = exists(
        select(T_TM.c.tender_id).where(
            T_TM.c.tender_id == T_TENDER.c.id, T_TM.c.municipality == viewer.municipality
        )
    )
    return own | reached


# -- attaching ----------------------------------------------------------------------------------


def attach(
    store: Store,
    tender_id: str,
    uploads: Sequence[Upload],
    actor: Person,
    now: datetime,
    *,
    kind: str = "andet",
    title: str | None = None,
) -> list[dict[str, Any]]:
    """Attach files to a tender, all or none: each an event and a document, one transaction."""
    check_attach(store, tender_id, actor, kind, title, len(uploads))
    checked = [documents.check(u.path, u.filename) for u in uploads]
    # a title made from a file name is one printable line of at most 200 characters already
    titles = [title if title is not None else default_title(c.filename) for c in checked]
    texts = [documents.text_of(c.path, c.format) for c in checked]
    unit = store.act(now)
    versions = _next_versions(store, tender_id, titles)
    written: list[int] = []
    for file, name, body in zip(checked, titles, texts, strict=True):
        version = versions[name]
        versions[name] += 1
        attached = {"title": name, "kind": kind, "version": version, "filename": file.filename,
                    "sha256": file.sha256, "size": file.size, "media_type": file.media_type}  # fmt: skip
        seq = unit.attach(tender_id, actor, {**attached, "text_sha256": text_digest(body)})
        row = {**attached, "tender_id": tender_id, "seq": seq, "attached_by": actor.id,
               "attached_at": now, "chars": len(body)}  # fmt: skip
        unit.also(_writer(file, row, body, now, written))
    unit.commit()
    return files_by_id(store, written)


def check_attach(
    store: Store, tender_id: str, actor: Person, kind: str, title: str | None, files: int
) -> None:
    """Refuse an attachment before any file is read (the service: before the upload is)."""
    if kind not in KINDS:
        shown = kind if len(kind) <= 40 else kind[:40] + "…"
        raise InvalidInput(f"unknown kind {shown!r} (kinds: {', '.join(KINDS)})")
    if files < 1:
        raise InvalidInput("give at least one file to attach")
    if title is not None and files > 1:
        raise InvalidInput("a title names one document: attach one file with it")
    if title is not None and (problem := title_problem(title, "a document's title")):
        raise InvalidInput(problem)
    check_may_touch(store.tender(tender_id), actor)


def default_title(filename: str) -> str:
    """A document's title from its file's name: the stem, with - and _ as spaces, capitalised."""
    stem = " ".join(Path(filename).stem.replace("_", " ").replace("-", " ").split())[:200]
    return stem[:1].upper() + stem[1:] if stem else filename[:200]


def _next_versions(store: Store, tender_id: str, titles: Sequence[str]) -> dict[str, int]:
    query = (
        select(T_DOC.c.title, func.max(T_DOC.c.version))
        .where(T_DOC.c.tender_id == tender_id, T_DOC.c.title.in_(set(titles)))
        .group_by(T_DOC.c.title)
    )
    with store.engine.connect() as conn:
        latest: dict[str, int] = {t: v for t, v in conn.execute(query)}
    return {t: latest.get(t, 0) + 1 for t in titles}


def _writer(file: Checked, row: dict[str, Any], body: str, now: datetime, written: list[int]):
    """The writes of one document, in the act's transaction: its bytes (unless stored already),
    its row and its search entry."""

    def write(conn: Any) -> None:
        if _new_blob(conn, file, now):  # the same bytes are stored once, whoever was first
            _store_bytes(conn, file)
        doc_id = conn.execute(insert(T_DOC).values(row)).inserted_primary_key[0]
        _index(conn, doc_id, row["title"], body)
        written.append(doc_id)

    return write


def _new_blob(conn: Any, file: Checked, now: datetime) -> bool:
    """Name the bytes (unless they are named already: then False)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect: Any = sqlite if conn.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(T_BLOB).values(
        sha256=file.sha256, size=file.size, media_type=file.media_type, stored_at=now
    )
    named = statement.on_conflict_do_nothing().returning(T_BLOB.c.sha256)
    return conn.execute(named).first() is not None


def _store_bytes(conn: Any, file: Checked) -> None:
    sha, size = hashlib.sha256(), 0
    for n, chunk in enumerate(documents.chunks(file.path)):
        sha.update(chunk)
        size += len(chunk)
        conn.execute(insert(T_CHUNK).values(sha256=file.sha256, n=n, data=chunk))
    if sha.hexdigest() != file.sha256 or size != file.size:
        raise InvalidInput(
            f"{file.filename} changed while it was being attached; nothing was attached, try again"
        )


def _index(conn: Any, doc_id: int, title: str, body: str) -> None:
    if conn.dialect.name == "sqlite":
        statement = f"INSERT INTO {SEARCH_INDEX} (rowid, title, body) VALUES (:id, :title, :body)"
    else:
        statement = (
            f"INSERT INTO {SEARCH_INDEX} (document_id, title, body) VALUES (:id, :title, :body)"
        )
    conn.execute(text(statement), {"id": doc_id, "title": title, "body": body})


def text_digest(body: str) -> str:
    """The SHA-256 of the text a document was indexed with (its attach event records it)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def index_table(dialect: str) -> tuple[Any, Any]:
    """The search index as a table to select from (`title`, `body`), and its column naming the
    document. Joined as it is, not as a subquery: SQLite would copy a subquery over FTS5 whole."""
    key = "rowid" if dialect == "sqlite" else "document_id"
    entries = sql_table(SEARCH_INDEX, column(key), column("title"), column("body"))
    return entries, entries.c[key]


CORRUPT = 11  # SQLITE_CORRUPT, the primary code of SQLITE_CORRUPT_VTAB too


def index_damage(conn: Any) -> str | None:
    """Why SQLite's full-text index no longer agrees with the text it holds (FTS5's own
    integrity-check: search would find words no entry has, or miss some), or None when it does.
    The check is an INSERT that writes nothing, but it holds the store's write lock while it reads
    every entry. PostgreSQL's `tsvector` is a generated column, recomputed on every write: None."""
    if conn.dialect.name != "sqlite":
        return None
    check = f"INSERT INTO {SEARCH_INDEX} ({SEARCH_INDEX}) VALUES ('integrity-check')"
    try:
        conn.exec_driver_sql(check)
    except DBAPIError as exc:
        said = str(exc.orig).strip()[:200]
        if getattr(exc.orig, "sqlite_errorcode", 0) & 0xFF != CORRUPT:
            raise RunError(f"the search index's integrity-check could not run ({said}): "
                           f"{_why_unchecked(said)}") from exc  # fmt: skip
        return (f"FTS5's integrity-check fails ({said}): search may find words no document "
                "holds, or miss some")  # fmt: skip
    finally:
        conn.rollback()  # let the writers go as soon as the check is done
    return None


def _why_unchecked(said: str) -> str:
    if "locked" in said or "busy" in said:
        return "another program was writing to the store all along; try again"
    if "readonly" in said or "read-only" in said:
        return (
            "the store may not be written to, and the check takes its write lock; leave out "
            "--check-index, or check a copy you may write"
        )
    return "nothing was found wrong or right"


# -- reading ------------------------------------------------------------------------------------


def files(store: Store, tender_id: str, viewer: Person | None) -> list[dict[str, Any]]:
    """Every version of every document of the tender, by title then version."""
    check_may_see(store, store.tender(tender_id), viewer)
    query = select(T_DOC).where(T_DOC.c.tender_id == tender_id)
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(T_DOC.c.title, T_DOC.c.version)).all()
    return [document_json(r) for r in rows]


def files_by_id(store: Store, ids: Sequence[int]) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(T_DOC).where(T_DOC.c.id.in_(list(ids))))}
    return [document_json(rows[i]) for i in ids]


def document(store: Store, file_id: int, viewer: Person | None) -> dict[str, Any]:
    """One document version, if the viewer may see it."""
    with store.engine.connect() as conn:
        row = conn.execute(select(T_DOC).where(T_DOC.c.id == file_id)).first()
    if row is None:
        raise NotFound(f"no file {file_id}; `kflow tender files TENDER` lists a tender's files")
    check_may_see(store, store.tender(row.tender_id), viewer)
    return document_json(row)


def content(store: Store, sha256: str) -> Iterator[bytes]:
    """A blob's bytes, a chunk at a time (one short query each: nothing is held open between)."""
    raw = cast(T_CHUNK.c.data, LargeBinary)  # bytes, whatever a hand-made UPDATE stored
    query = select(raw).where(T_CHUNK.c.sha256 == sha256)
    n = 0
    while True:
        with store.engine.connect() as conn:
            chunk = conn.execute(query.where(T_CHUNK.c.n == n)).scalar()
        if chunk is None:
            return
        yield bytes(chunk)
        n += 1


def document_json(row: Any) -> dict[str, Any]:
    from .reports import instant

    return {
        "id": row.id, "tender": row.tender_id, "title": row.title, "kind": row.kind,
        "version": row.version, "filename": row.filename, "media_type": row.media_type,
        "format": FORMATS[FORMAT_OF[row.media_type]].label if row.media_type in FORMAT_OF else "?",
        "size": row.size, "sha256": row.sha256, "attached_by": row.attached_by,
        "attached_at": instant(row.attached_at), "event": row.seq, "indexed_chars": row.chars,
    }  # fmt: skip


# -- search -------------------------------------------------------------------------------------


def words(query: str) -> list[str]:
    """The words of a search: letters and digits only (no operator of either index's syntax)."""
    found = [w[:64] for w in re.findall(r"[^\W_]+", query)]
    return list(dict.fromkeys(w.casefold() for w in found))[:MAX_QUERY_WORDS]


def _terms(query: str) -> list[str]:
    """The words to search for; a query of none is refused."""
    terms = words(query)
    if not terms:
        raise InvalidInput("give a word to search for (letters or digits)")
    return terms


def search(
    store: Store,
    query: str,
    viewer: Person | None,
    *,
    area: str | None = None,
    kind: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The latest versions of the documents the viewer may see that hold every word of the
    query (a word matches its longer forms too), title hits first, then by the index's rank:
    `limit` of them from `offset`."""
    _check_kind(kind)
    terms = _terms(query)
    sqlite = store.engine.dialect.name == "sqlite"
    ranked = _sqlite_hits(terms) if sqlite else _postgres_hits(terms)
    statement = (
        select(T_DOC, *_TENDER_COLUMNS, ranked.c.rank, ranked.c.snippet, ranked.c.title_hit)
        .join(ranked, ranked.c.id == T_DOC.c.id)
        .join(T_TENDER, T_TENDER.c.id == T_DOC.c.tender_id)
        .where(*_seen(viewer, area, kind))
        .order_by(ranked.c.title_hit.desc(), ranked.c.rank.desc(), T_DOC.c.id)
        .limit(max(1, min(limit, MAX_HITS)))
        .offset(offset or None)
    )
    rows, members = _read(store, statement, _params(terms, sqlite))
    return [_hit(r, members.get(r.tender_id, [])) for r in rows]


def recent(
    store: Store,
    viewer: Person | None,
    *,
    area: str | None = None,
    kind: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The latest versions of the documents the viewer may see, the last attached first: a
    search hit's `file` and `tender`, without rank or snippet; `limit` of them from `offset`."""
    _check_kind(kind)
    statement = (
        select(T_DOC, *_TENDER_COLUMNS)
        .join(T_TENDER, T_TENDER.c.id == T_DOC.c.tender_id)
        .where(*_seen(viewer, area, kind))
        .order_by(T_DOC.c.attached_at.desc(), T_DOC.c.id.desc())
        .limit(max(1, min(limit, MAX_HITS)))
        .offset(offset or None)
    )
    rows, members = _read(store, statement, {})
    return [_found(r, members.get(r.tender_id, [])) for r in rows]


def count(
    store: Store,
    query: str | None,
    viewer: Person | None,
    *,
    area: str | None = None,
    kind: str | None = None,
) -> int:
    """How many documents `search` finds in all for the query (`recent` lists, when None): the
    latest versions the viewer may see, of the area and kind asked for."""
    _check_kind(kind)
    statement = (
        select(func.count())
        .select_from(T_DOC)
        .join(T_TENDER, T_TENDER.c.id == T_DOC.c.tender_id)
        .where(*_seen(viewer, area, kind))
    )
    params: dict[str, str] = {}
    if query is not None:
        sqlite = store.engine.dialect.name == "sqlite"
        statement = statement.where(T_DOC.c.id.in_(_matching(sqlite)))
        params = {"all_words": _params(_terms(query), sqlite)["all_words"]}
    with store.engine.connect() as conn:
        return int(conn.execute(statement, params).scalar_one())


def _matching(sqlite: bool) -> Any:
    """SQL: the ids of the documents whose entry holds every word (`:all_words`), unranked."""
    if sqlite:
        found = f"SELECT rowid FROM {SEARCH_INDEX} WHERE {SEARCH_INDEX} MATCH :all_words"
    else:
        found = (f"SELECT document_id FROM {SEARCH_INDEX} "
                 "WHERE search @@ to_tsquery('danish', :all_words)")  # fmt: skip
    return text(found).columns(id=Integer)


_TENDER_COLUMNS = (T_TENDER.c.title.label("tender_title"), T_TENDER.c.state, T_TENDER.c.area,
                   T_TENDER.c.created_at)  # fmt: skip


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind[:40]!r} (kinds: {', '.join(KINDS)})")


def _latest() -> Any:
    """SQL: the document is the latest version of its title in its tender."""
    newer = T_DOC.alias("newer")
    return ~exists(
        select(newer.c.id).where(
            newer.c.tender_id == T_DOC.c.tender_id, newer.c.title == T_DOC.c.title,
            newer.c.version > T_DOC.c.version,
        )
    )  # fmt: skip


def _seen(viewer: Person | None, area: str | None, kind: str | None) -> list[Any]:
    """SQL: the documents a search or a list shows: latest versions the viewer may see, of the
    area and kind asked for (the tender joined)."""
    return [
        _latest(), _visible(viewer),
        *([T_TENDER.c.area == area] if area is not None else []),
        *([T_DOC.c.kind == kind] if kind is not None else []),
    ]  # fmt: skip


def _read(
    store: Store, statement: Any, params: dict[str, str]
) -> tuple[Sequence[Any], dict[str, list[str]]]:
    """The rows, and the municipalities of their tenders."""
    with store.engine.connect() as conn:
        rows = conn.execute(statement, params).all()
        return rows, _municipalities(conn, {r.tender_id for r in rows})


def _sqlite_hits(terms: list[str]) -> Any:
    """id, rank (higher is better), snippet, title_hit: FTS5, each word a prefix. The snippet is
    of the text (column 1), as PostgreSQL's: the title is shown beside it anyway."""
    return (
        text(
            f"SELECT rowid AS id, -bm25({SEARCH_INDEX}, 10.0, 1.0) AS rank, "
            f"snippet({SEARCH_INDEX}, 1, '{HIT}', '{END}', '…', 24) AS snippet, "
            f"rowid IN (SELECT rowid FROM {SEARCH_INDEX} WHERE {SEARCH_INDEX} MATCH :in_title) "
            f"AS title_hit FROM {SEARCH_INDEX} WHERE {SEARCH_INDEX} MATCH :all_words"
        )
        .columns(**_RANKED)
        .subquery("ranked")
    )


def _postgres_hits(terms: list[str]) -> Any:
    """The same on PostgreSQL: the `danish` configuration stems the words, each a prefix."""
    options = f"StartSel={HIT}, StopSel={END}, MaxWords=24, MinWords=12, MaxFragments=2"
    return (
        text(
            f"SELECT x.document_id AS id, ts_rank(x.search, q.words) AS rank, "
            f"ts_headline('danish', x.body, q.words, '{options}') AS snippet, "
            f"to_tsvector('danish', x.title) @@ q.any_word AS title_hit "
            f"FROM {SEARCH_INDEX} x, (SELECT to_tsquery('danish', :all_words) AS words, "
            f"to_tsquery('danish', :in_title) AS any_word) q WHERE x.search @@ q.words"
        )
        .columns(**_RANKED)
        .subquery("ranked")
    )


_RANKED = {"id": Integer, "rank": Float, "snippet": String, "title_hit": Boolean}


def _params(terms: list[str], sqlite: bool) -> dict[str, str]:
    if sqlite:
        each = [f'"{t}"*' for t in terms]
        return {"all_words": " ".join(each), "in_title": " OR ".join(f"title : {e}" for e in each)}
    each = [f"{t}:*" for t in terms]
    return {"all_words": " & ".join(each), "in_title": " | ".join(each)}


def _municipalities(conn: Any, tenders: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if tenders:
        query = select(T_TM.c.tender_id, T_TM.c.municipality).where(T_TM.c.tender_id.in_(tenders))
        for tender_id, code in conn.execute(query.order_by(T_TM.c.tender_id, T_TM.c.position)):
            found.setdefault(tender_id, []).append(code)
    return found


def _found(row: Any, codes: list[str]) -> dict[str, Any]:
    """A document row joined with its tender's columns: the document and its tender."""
    from .municipalities import municipality

    return {
        "file": document_json(row),
        "tender": {
            "id": row.tender_id, "title": row.tender_title, "state": row.state, "area": row.area,
            "year": row.created_at.year if row.created_at else None,
            "municipalities": [{"code": c, "name": municipality(c).name} for c in codes],
        },
    }  # fmt: skip


def _hit(row: Any, codes: list[str]) -> dict[str, Any]:
    snippet = (row.snippet or "").replace("*", "\u2217").replace(HIT, "**").replace(END, "**")
    return {
        **_found(row, codes), "title_hit": bool(row.title_hit),
        "rank": round(float(row.rank or 0), 6), "snippet": snippet,
    }  # fmt: skip
