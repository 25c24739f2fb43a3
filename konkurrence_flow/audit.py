"""`kflow audit`: verify every tender's hash chain, and take or check the store-wide digest.

Verification streams the events in (tender, seq) order, one tender's chain in memory at a time, so
its cost grows linearly with the history and its memory with the longest chain. The digest is
`chain.digest` over every tender's last (seq, hash); `head` records it as a checkpoint with the
seqs it covers, so `verify --head DIGEST` can recompute it later from the events themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, outerjoin, select

from . import chain
from .chain import Break, Content, Link
from .errors import InvalidInput
from .rows import T_EVENT, T_TENDER
from .tables import CheckpointRow, table

if TYPE_CHECKING:
    from .store import Store

T_CHECK = table(CheckpointRow)
STREAM = 5000  # rows fetched at a time


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
    """Does the history a digest covers still hash to it?"""

    digest: str
    checkpoint: Checkpoint | None  # None: the store holds no checkpoint with this digest
    recomputed: str | None = None

    @property
    def ok(self) -> bool:
        return self.checkpoint is not None and self.recomputed == self.digest


@dataclass
class Report:
    """What `verify` found: how much it read, and where each broken chain first breaks."""

    tenders: int = 0
    events: int = 0
    breaks: list[Break] = field(default_factory=list)
    head: HeadCheck | None = None

    @property
    def ok(self) -> bool:
        return not self.breaks and (self.head is None or self.head.ok)


def verify(store: Store, tenders: Sequence[str] = (), head: str | None = None) -> Report:
    """Check the chains of the named tenders (all when none is named), or the whole store against
    a digest that `take_head` handed out."""
    if head is not None and tenders:
        raise InvalidInput("--head checks the whole store; name no tender with it")
    for tender_id in tenders:
        store.tender(tender_id)  # an unknown id is refused with a hint, before any work
    covered = _checkpoint_heads(store, head) if head else None
    report = Report()
    seen_heads: dict[str, tuple[int, str]] = {}
    with store.engine.connect() as conn:
        for tender_id, links, recorded in _chains(conn, tenders):
            report.tenders += 1
            report.events += len(links)
            found = chain.verify(tender_id, links, recorded)
            if found is not None:
                report.breaks.append(found)
            if covered is not None and tender_id in covered[1]:
                seen_heads[tender_id] = _hash_at(links, covered[1][tender_id])
        report.tenders += _tenders_without_events(conn, tenders, report)
    if head is not None and covered is not None:
        report.head = _check_head(head, covered, seen_heads)
    elif head is not None:
        report.head = HeadCheck(head, None)
    return report


def _chains(
    conn: Any, tenders: Sequence[str]
) -> Iterator[tuple[str, list[Link], tuple[int, str | None] | None]]:
    """Each tender's stored events as links, with what its tender row records (None if gone)."""
    joined = outerjoin(T_EVENT, T_TENDER, T_EVENT.c.tender_id == T_TENDER.c.id)
    query = select(
        T_EVENT, T_TENDER.c.id.label("row_id"), T_TENDER.c.seq.label("row_seq"),
        T_TENDER.c.chain_head.label("row_head"),
    ).select_from(joined).order_by(T_EVENT.c.tender_id, T_EVENT.c.seq)  # fmt: skip
    if tenders:
        query = query.where(T_EVENT.c.tender_id.in_(list(tenders)))
    rows = conn.execution_options(yield_per=STREAM).execute(query)
    for tender_id, group in groupby(rows, key=lambda r: r.tender_id):
        found = list(group)
        first = found[0]
        recorded = None if first.row_id is None else (first.row_seq, first.row_head)
        yield tender_id, [_link(r) for r in found], recorded


def _link(row: Any) -> Link:
    content = Content(
        row.tender_id, row.seq, row.kind, row.trigger, row.source, row.dest, row.actor,
        row.occurred_at, row.recorded_at, row.note, row.data or {},
    )  # fmt: skip
    return Link(content, row.prev_hash, row.hash)


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


def _hash_at(links: Sequence[Link], seq: int) -> tuple[int, str]:
    for link in links:
        if link.seq == seq:
            return seq, link.hash or ""
    return seq, ""


def _check_head(
    digest: str,
    covered: tuple[Checkpoint, Mapping[str, int]],
    seen: Mapping[str, tuple[int, str]],
) -> HeadCheck:
    checkpoint, heads = covered
    recomputed = chain.digest((t, *seen.get(t, (seq, ""))) for t, seq in heads.items())
    return HeadCheck(digest, checkpoint, recomputed)


def _checkpoint_heads(store: Store, digest: str) -> tuple[Checkpoint, Mapping[str, int]] | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(T_CHECK).where(T_CHECK.c.digest == digest.lower())).first()
    if row is None:
        return None
    return _checkpoint(row), {str(k): int(v) for k, v in (row.heads or {}).items()}


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(row.digest, row.taken_at, row.covers_until, row.tenders, row.events)


def take_head(store: Store, now: datetime) -> Checkpoint:
    """The digest over every tender's last event now, recorded as a checkpoint (once per digest).

    One statement reads every head, so the digest is of one consistent moment of the store.
    """
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
        digest = chain.digest((r.tender_id, r.seq, r.hash or "") for r in heads)
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
            heads={r.tender_id: r.seq for r in heads},
        ))  # fmt: skip
    return checkpoint


def checkpoints(store: Store) -> list[Checkpoint]:
    """Every digest handed out, oldest first."""
    with store.engine.connect() as conn:
        found = conn.execute(select(T_CHECK).order_by(T_CHECK.c.id)).all()
    return [_checkpoint(r) for r in found]
