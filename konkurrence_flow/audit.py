"""`kflow audit`: verify every tender's hash chain, and take or check the store-wide digest.

Verification streams the events in (tender, seq) order, one tender's chain in memory at a time, so
its cost grows linearly with the history and its memory with the longest chain. Rows are read raw
and decoded here, so a row mangled behind the store's back is reported, not a crash.

The digest is `chain.digest` over every tender's last (seq, hash). `take_head` records it as a
checkpoint with those heads, so `verify --head DIGEST` can check each of them against the events
and name every tender whose covered history is no longer what the digest vouched for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import TYPE_CHECKING, Any

from sqlalchemy import LargeBinary, String, cast, func, insert, outerjoin, select, type_coerce

from . import chain
from .chain import Break, Content, Link, Recorded
from .errors import InvalidInput, NotAllowed
from .model import DESCRIBED
from .rows import T_EVENT, T_TENDER, T_TM
from .tables import CheckpointRow, table
from .unit import ATTRIBUTES

if TYPE_CHECKING:
    from .store import Store

T_CHECK = table(CheckpointRow)
STREAM = 5000  # rows fetched at a time
NAMED = 20  # orphan search entries named one by one; the rest are counted
DOCUMENTS_AT_ONCE = 32  # each with its indexed text, up to documents.TEXT_LIMIT characters


@dataclass(frozen=True)
class Checkpoint:
    """A digest handed out by `kflow audit head`, and what it covers."""

    digest: str
    taken_at: datetime
    covers_until: datetime | None
    tenders: int
    events: int


@dataclass
class HeadCheck:
    """Does the history a digest covers still end where it did?"""

    digest: str
    checkpoint: Checkpoint | None  # None: the store holds no checkpoint with this digest
    intact: bool = False  # the checkpoint's own heads still hash to the digest
    changed: list[str] = field(default_factory=list)  # one sentence per tender that differs

    @property
    def ok(self) -> bool:
        return self.checkpoint is not None and self.intact and not self.changed


@dataclass
class Report:
    """What `verify` found: how much it read, and where each broken chain first breaks."""

    tenders: int = 0
    events: int = 0
    documents: int = 0
    breaks: list[Break] = field(default_factory=list)
    head: HeadCheck | None = None
    index: list[str] = field(default_factory=list)  # the search index's own damage, store-wide

    @property
    def ok(self) -> bool:
        return not self.breaks and not self.index and (self.head is None or self.head.ok)


def verify(
    store: Store, tenders: Sequence[str] = (), head: str | None = None, check_index: bool = False
) -> Report:
    """Check the chains of the named tenders (all when none is named), or the whole store against
    a digest that `take_head` handed out. `check_index` also runs SQLite's full-text index's own
    integrity-check, which holds the store's write lock while it runs."""
    if head is not None and tenders:
        raise InvalidInput("--head checks the whole store; name no tender with it")
    if check_index and tenders:
        raise InvalidInput("--check-index checks the whole store's search index; name no tender "
                           "with it")  # fmt: skip
    for tender_id in tenders:
        store.tender(tender_id)  # an unknown id is refused with a hint, before any work
    covered = _checkpoint_heads(store, head) if head else None
    report = Report()
    seen: dict[str, dict[int, str | None]] = {}
    attached: dict[tuple[str, int], Mapping[str, Any]] = {}
    with store.engine.connect() as conn:
        for tender_id, links, recorded, row in _chains(conn, tenders):
            report.tenders += 1
            report.events += len(links)
            found = chain.verify(tender_id, links, recorded)
            if found is None and row is not None:  # an intact history: does the row agree?
                found = _row_problem(tender_id, links, row)
            if found is not None:
                report.breaks.append(found)
            if covered is not None and tender_id in covered[1]:
                seen[tender_id] = {link.seq: link.hash for link in links}
            attached.update(_attached(tender_id, links))
        report.tenders += _tenders_without_events(conn, tenders, report)
        _check_documents(conn, tenders, attached, report)
        if not tenders:
            report.index = _index_damage(conn, check_index)
    if head is not None:
        report.head = _check_head(head, covered, seen)
    return report


_ON_THE_ROW = tuple(name for name in DESCRIBED if name != "municipalities")
"""What the creation event describes that the tender row holds (its municipalities have a table)."""

_COLUMNS = (
    T_EVENT.c.tender_id, T_EVENT.c.seq, T_EVENT.c.kind, T_EVENT.c.trigger, T_EVENT.c.source,
    T_EVENT.c.dest, T_EVENT.c.actor, type_coerce(T_EVENT.c.occurred_at, String),
    type_coerce(T_EVENT.c.recorded_at, String), T_EVENT.c.note, type_coerce(T_EVENT.c.data, String),
    T_EVENT.c.prev_hash, T_EVENT.c.hash, T_TENDER.c.id, T_TENDER.c.seq, T_TENDER.c.chain_head,
    T_TENDER.c.state, type_coerce(T_TENDER.c.facts, String),
    *(T_TENDER.c[name] for name in _ON_THE_ROW),
)  # fmt: skip
"""Raw values (no type conversion that could fail on a mangled row), read by position."""


@dataclass
class _Row:
    """What a tender row says of the tender, besides its history's end (`Recorded`)."""

    facts: Any  # as stored: JSON text on SQLite, decoded on PostgreSQL
    described: dict[str, Any]


def _chains(
    conn: Any, tenders: Sequence[str]
) -> Iterator[tuple[str, list[Link], Recorded | None, _Row | None]]:
    """Each tender's stored events as links, with what its tender row records (None if gone)."""
    joined = outerjoin(T_EVENT, T_TENDER, T_EVENT.c.tender_id == T_TENDER.c.id)
    by_id = _in_code_order(conn)  # both streams in one order, the one Python's `<` knows
    query = select(*_COLUMNS).select_from(joined)
    query = query.order_by(by_id(T_EVENT.c.tender_id), T_EVENT.c.seq)
    members = select(T_TM.c.tender_id, T_TM.c.municipality).order_by(
        by_id(T_TM.c.tender_id), T_TM.c.position, T_TM.c.municipality
    )
    if tenders:
        query = query.where(T_EVENT.c.tender_id.in_(list(tenders)))
        members = members.where(T_TM.c.tender_id.in_(list(tenders)))
    rows = conn.execution_options(yield_per=STREAM).execute(query)
    of = _Members(conn.execution_options(yield_per=STREAM).execute(members))
    for tender_id, group in groupby(rows, key=lambda r: r[0]):
        found = list(group)
        row_id, seq, head, state, facts, *described = found[0][13:]
        if row_id is None:
            yield tender_id, [_link(r) for r in found], None, None
            continue
        said = dict(zip(_ON_THE_ROW, described, strict=True))
        said["municipalities"] = of.tender(tender_id)
        yield tender_id, [_link(r) for r in found], Recorded(seq, head, state), _Row(facts, said)


def _in_code_order(conn: Any) -> Any:
    """Sort a text column by its characters' codes (SQLite's own order; PostgreSQL's "C"
    collation), whatever the database's collation says: `_Members` walks two streams in it."""
    if conn.dialect.name == "postgresql":
        return lambda column: column.collate("C")
    return lambda column: column


class _Members:
    """The municipalities of each tender, from one stream in tender order, read alongside the
    events' stream (which is in the same order)."""

    def __init__(self, rows: Iterator[Any]) -> None:
        self._rows = groupby(rows, key=lambda r: r[0])
        self._next: tuple[str, list[str]] | None = None

    def tender(self, tender_id: str) -> list[str]:
        while self._next is None or self._next[0] < tender_id:
            found = next(self._rows, None)
            if found is None:
                return []
            self._next = (found[0], [r[1] for r in found[1]])
        return self._next[1] if self._next[0] == tender_id else []


def _row_problem(tender_id: str, links: Sequence[Link], row: _Row) -> Break | None:
    """Where the tender row's facts or description differ from what its (intact) history
    recorded: the first difference, at the event that recorded the value."""
    facts, described, whole = _history_says(links)
    try:
        stored = _data(row.facts)
    except (ValueError, TypeError) as exc:
        return Break(tender_id, links[-1].seq, chain.CHANGED,
                     f"the tender row's facts cannot be read ({exc})")  # fmt: skip
    for name, (seq, value) in sorted(described.items()):
        if row.described.get(name) != value:
            return _differs(tender_id, seq, name, row.described.get(name), value)
    for name, (seq, value) in sorted(facts.items()):
        if name not in stored or stored[name] != value:
            return _differs(tender_id, seq, f"fact {name}", stored.get(name, "(none)"), value)
    extra = sorted(set(stored) - set(facts)) if whole else []
    if extra:
        return Break(tender_id, links[-1].seq, chain.ADDED,
                     f"the tender row has a fact no event recorded: {extra[0]}="
                     f"{stored[extra[0]]!r}")  # fmt: skip
    return None


def _history_says(
    links: Sequence[Link],
) -> tuple[dict[str, tuple[int, Any]], dict[str, tuple[int, Any]], bool]:
    """The facts and the description the events recorded, each with the event that recorded it
    last; and whether the creation event described the tender whole (events written before
    that was done leave the first facts and the description unknown)."""
    facts: dict[str, tuple[int, Any]] = {}
    described: dict[str, tuple[int, Any]] = {}
    whole = False
    for link in links:
        data = link.content.data if link.content is not None else {}
        if link.seq == 1 and isinstance(data.get("tender"), Mapping):
            whole = True
            described.update((k, (1, v)) for k, v in data["tender"].items() if k in DESCRIBED)
        given = data.get("set")
        for name, value in given.items() if isinstance(given, Mapping) else ():
            if name in ATTRIBUTES and link.seq > 1:  # `tender set regime=…` corrects the tender
                described[name] = (link.seq, str(value))
            else:  # the first facts are facts, whatever their names
                facts[name] = (link.seq, value)
    return facts, described, whole


def _differs(tender_id: str, seq: int, what: str, stored: Any, recorded: Any) -> Break:
    return Break(tender_id, seq, chain.CHANGED,
                 f"the tender row says {what} is {stored!r}, but event {seq} recorded "
                 f"{recorded!r}")  # fmt: skip


def _link(row: Any) -> Link:
    tender, seq, kind, trigger, source, dest, actor, occurred, recorded, note, data = row[:11]
    try:
        content = Content(
            tender, seq, kind, trigger, source, dest, actor, _instant(occurred),
            _instant(recorded), note, _data(data),
        )  # fmt: skip
    except (ValueError, TypeError) as exc:
        return Link(seq, None, row[11], row[12], unreadable=str(exc) or type(exc).__name__)
    return Link(seq, content, row[11], row[12])


def _instant(value: Any) -> datetime:
    """A stored instant: UTC text on SQLite, an aware datetime from PostgreSQL."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise TypeError(f"an instant stored as {type(value).__name__}")
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _data(value: Any) -> Mapping[str, Any]:
    """A stored `data` column: JSON text on SQLite, already decoded from PostgreSQL."""
    decoded = json.loads(value) if isinstance(value, str | bytes) else value
    if decoded is None:
        return {}
    if not isinstance(decoded, dict):
        raise TypeError(f"data is a {type(decoded).__name__}, not a mapping")
    return decoded


def _attached(tender_id: str, links: Sequence[Link]) -> Iterator[tuple[tuple[str, int], Any]]:
    """The documents a tender's events say were attached, by (tender, seq)."""
    for link in links:
        if link.content is not None and isinstance(link.content.data.get("attached"), Mapping):
            said = link.content.data["attached"]
            yield (tender_id, link.seq), {**said, "attached_by": link.content.actor,
                                          "attached_at": link.content.occurred_at}  # fmt: skip


_DOCUMENT_FIELDS = ("title", "kind", "version", "filename", "sha256", "size", "media_type",
                    "attached_by", "attached_at")  # fmt: skip


def _check_documents(
    conn: Any,
    tenders: Sequence[str],
    attached: dict[tuple[str, int], Mapping[str, Any]],
    report: Report,
) -> None:
    """Each document is what its event attached, and its bytes still hash to what the event
    recorded (read a chunk at a time); no document lacks its event, no event its document."""
    from .materials import T_DOC, index_table

    entries, entry_id = index_table(conn.dialect.name)
    joined = outerjoin(T_DOC, entries, entry_id == T_DOC.c.id)
    columns = (entry_id.label("entry_id"), entries.c.title.label("entry_title"), entries.c.body)
    query = select(T_DOC, *columns).select_from(joined).order_by(T_DOC.c.id)
    if tenders:
        query = query.where(T_DOC.c.tender_id.in_(list(tenders)))
    blobs: dict[str, list[tuple[str, int, str]]] = {}  # the documents of each blob checked
    sizes: dict[str, int] = {}
    for row in conn.execution_options(yield_per=DOCUMENTS_AT_ONCE).execute(query):
        report.documents += 1
        said = attached.pop((row.tender_id, row.seq), None)
        named = f"document {row.id} ('{row.title}' v{row.version})"
        if said is None:
            report.breaks.append(Break(row.tender_id, row.seq, chain.ADDED,
                                       f"{named} has no event attaching it: written behind the "
                                       "store's back"))  # fmt: skip
            continue
        changed = [f for f in _DOCUMENT_FIELDS if said.get(f) != getattr(row, f)]
        if changed:
            report.breaks.append(Break(row.tender_id, row.seq, chain.CHANGED,
                                       f"{named} is not what the event attached: its "
                                       f"{', '.join(changed)} changed"))  # fmt: skip
            continue
        if problem := _entry_problem(row, said.get("text_sha256")):
            report.breaks.append(Break(row.tender_id, row.seq, chain.CHANGED,
                                       f"the search entry of {named} {problem}"))  # fmt: skip
        blobs.setdefault(row.sha256, []).append((row.tender_id, row.seq, named))
        sizes[row.sha256] = row.size
    for (tender_id, seq), said in sorted(attached.items()):
        report.breaks.append(Break(tender_id, seq, chain.REMOVED,
                                   f"the document the event attached ('{said.get('title')}' "
                                   f"v{said.get('version')}) is gone"))  # fmt: skip
    problems = dict(_blob_problems(conn, tenders, sizes))
    for sha256, documents in blobs.items():  # in document order
        for tender_id, seq, named in documents if sha256 in problems else ():
            report.breaks.append(Break(tender_id, seq, chain.CHANGED,
                                       f"the bytes of {named} {problems[sha256]}"))  # fmt: skip


def _entry_problem(row: Any, text_sha256: Any) -> str | None:
    """Why a document's search entry (`entry_id`, `entry_title`, `body` beside the document's
    columns) is not what was indexed when it was attached (its title, and its text as the event's
    `text_sha256` records it), or None when it is."""
    from .materials import text_digest

    if row.entry_id is None:
        return "is gone: search no longer finds it"
    changed = ["title"] if row.entry_title != row.title else []
    if text_sha256 is not None and text_digest(row.body or "") != text_sha256:
        changed.append("text")  # an event from before text_sha256 was recorded has none
    return f"is not what was indexed: its {' and '.join(changed)} changed" if changed else None


def _index_damage(conn: Any, check_index: bool) -> list[str]:
    """What is wrong with the search index as a whole: entries of no document (written or left
    behind the store's back), and, when asked, an index that no longer agrees with its text."""
    from .materials import T_DOC, index_damage, index_table

    entries, entry_id = index_table(conn.dialect.name)
    orphan = ~select(T_DOC.c.id).where(T_DOC.c.id == entry_id).exists()
    orphans = select(entry_id, entries.c.title).where(orphan).order_by(entry_id)
    found = [f"search entry {n} ({str(title)[:80]!r}) belongs to no document: written or left "
             "behind the store's back" for n, title in conn.execute(orphans.limit(NAMED))]  # fmt: skip
    if len(found) == NAMED:
        more = conn.execute(select(func.count()).select_from(entries).where(orphan)).scalar_one()
        if more > NAMED:
            found.append(f"and {more - NAMED} more search entries that belong to no document")
    if check_index and (damage := index_damage(conn)):
        found.append(f"the search index is damaged: {damage}")
    return found


def _blob_problems(
    conn: Any, tenders: Sequence[str], sizes: dict[str, int]
) -> Iterator[tuple[str, str]]:
    """Each blob to check (its SHA-256 and the size its documents' events recorded) whose stored
    bytes are not the ones it names, and why: every chunk read in one stream, a few at a time,
    hashed as it comes."""
    from .materials import T_CHUNK, T_DOC

    raw = cast(T_CHUNK.c.data, LargeBinary)  # bytes, whatever a hand-made UPDATE stored
    checked = select(T_DOC.c.sha256)
    if tenders:
        checked = checked.where(T_DOC.c.tender_id.in_(list(tenders)))
    query = (
        select(T_CHUNK.c.sha256, T_CHUNK.c.n, raw)
        .where(T_CHUNK.c.sha256.in_(checked))
        .order_by(T_CHUNK.c.sha256, T_CHUNK.c.n)
    )
    rows = conn.execution_options(yield_per=4).execute(query)
    unread = set(sizes)
    for sha256, chunks in groupby(rows, key=lambda r: r[0]):
        unread.discard(sha256)
        if sha256 in sizes and (problem := _blob_problem(chunks, sha256, sizes[sha256])):
            yield sha256, problem
    for sha256 in sorted(unread):
        if problem := _blob_problem(iter(()), sha256, sizes[sha256]):
            yield sha256, problem


def _blob_problem(chunks: Iterator[Any], sha256: str, size: int) -> str | None:
    """Why a blob's chunks, (sha256, n, data) in order, are not the bytes named `sha256`, or None
    when they are."""
    digest, count = hashlib.sha256(), 0
    for expected, (_, n, data) in enumerate(chunks):
        if n != expected:
            return f"are incomplete: chunk {expected} is missing"
        digest.update(data or b"")
        count += len(data or b"")
    if count != size:
        return f"are {count} bytes, not the {size} the event recorded"
    if digest.hexdigest() != sha256:
        return "no longer match the SHA-256 the event recorded"
    return None


def _tenders_without_events(conn: Any, tenders: Sequence[str], report: Report) -> int:
    """A tender always has its creation event: one with none lost its whole history."""
    has_events = select(T_EVENT.c.tender_id).where(T_EVENT.c.tender_id == T_TENDER.c.id)
    query = select(T_TENDER.c.id).where(~has_events.exists())
    if tenders:
        query = query.where(T_TENDER.c.id.in_(list(tenders)))
    empty = list(conn.execute(query.order_by(T_TENDER.c.id)).scalars())
    for tender_id in empty:
        report.breaks.append(
            Break(tender_id, 1, chain.REMOVED, "every event of the tender is gone")
        )
    return len(empty)


def _check_head(
    digest: str,
    covered: tuple[Checkpoint, Mapping[str, tuple[int, str]]] | None,
    seen: Mapping[str, Mapping[int, str | None]],
) -> HeadCheck:
    if covered is None:
        return HeadCheck(digest, None)
    checkpoint, heads = covered
    intact = chain.digest((t, seq, h) for t, (seq, h) in heads.items()) == digest
    changed = []
    for tender_id, (seq, vouched) in sorted(heads.items()):
        now = seen.get(tender_id, {}).get(seq)
        if now != vouched:
            what = "is gone" if now is None else "is not the one the digest covers: rewritten"
            changed.append(f"tender {tender_id}: event {seq} {what}")
    return HeadCheck(digest, checkpoint, intact, changed)


def _checkpoint_heads(
    store: Store, digest: str
) -> tuple[Checkpoint, Mapping[str, tuple[int, str]]] | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(T_CHECK).where(T_CHECK.c.digest == digest.lower())).first()
    if row is None:
        return None
    heads = {str(t): (int(h[0]), str(h[1])) for t, h in (row.heads or {}).items()}
    return _checkpoint(row), heads


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(row.digest, row.taken_at, row.covers_until, row.tenders, row.events)


def take_head(store: Store, now: datetime) -> Checkpoint:
    """The digest over every tender's last event now, recorded as a checkpoint (once per digest).

    The history is verified first: a digest must never vouch for a history already broken. One
    statement reads every head, so the digest is of one consistent moment of the store.
    """
    broken = verify(store).breaks
    if broken:
        raise NotAllowed(
            f"the history of {len(broken)} tenders is already broken (first: {broken[0]}); "
            "a digest would vouch for it: see `kflow audit verify`"
        )
    last = (
        select(T_EVENT.c.tender_id, func.max(T_EVENT.c.seq).label("seq"),
               func.count().label("n"), func.max(T_EVENT.c.recorded_at).label("until"))
        .group_by(T_EVENT.c.tender_id).subquery()
    )  # fmt: skip
    query = select(last.c.tender_id, last.c.seq, last.c.n, last.c.until, T_EVENT.c.hash).join(
        T_EVENT, (T_EVENT.c.tender_id == last.c.tender_id) & (T_EVENT.c.seq == last.c.seq)
    )
    with store.engine.begin() as conn:
        heads = conn.execute(query).all()
        digest = chain.digest((r.tender_id, r.seq, r.hash) for r in heads)
        known = conn.execute(select(T_CHECK).where(T_CHECK.c.digest == digest)).first()
        if known is not None:
            return _checkpoint(known)
        checkpoint = Checkpoint(
            digest, now, max((r.until for r in heads), default=None), len(heads),
            sum(r.n for r in heads),
        )  # fmt: skip
        conn.execute(insert(T_CHECK).values(
            digest=digest, taken_at=now, covers_until=checkpoint.covers_until,
            tenders=checkpoint.tenders, events=checkpoint.events,
            heads={r.tender_id: [r.seq, r.hash] for r in heads},
        ))  # fmt: skip
    return checkpoint


def checkpoints(store: Store) -> list[Checkpoint]:
    """Every digest handed out, oldest first."""
    with store.engine.connect() as conn:
        found = conn.execute(select(T_CHECK).order_by(T_CHECK.c.id)).all()
    return [_checkpoint(r) for r in found]
