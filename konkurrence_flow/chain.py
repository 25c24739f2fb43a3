"""The tamper-evident history, pure: event hashes, one tender's chain, and the store-wide digest.

Every event carries `hash = SHA-256(canonical content, previous event's hash)`, per tender, the
first event chained to `GENESIS`. Editing, deleting, inserting or reordering an event with plain
SQL breaks the chain at that event. Someone who rewrites a whole chain, hashes and all, is caught
by a digest over every tender's last hash (`digest`), kept outside the store.

The canonical form is a contract (format "kf1"): stores hold hashes made with it. Changing it
needs a new schema revision that re-hashes every event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
"""The `prev_hash` of a tender's first event."""

CHANGED, REMOVED, ADDED, REORDERED = "changed", "removed", "added", "reordered"


@dataclass(slots=True)
class Content:
    """What an event's hash covers, besides the previous hash (every column of the event)."""

    tender: str
    seq: int
    kind: str
    trigger: str | None
    source: str | None
    dest: str | None
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    note: str | None
    data: Mapping[str, Any]


def event_hash(prev: str, content: Content) -> str:
    """The hash of an event: its content and the previous event's hash (format kf1)."""
    c = content
    fields = [
        "kf1", prev, c.tender, c.seq, c.kind, c.trigger, c.source, c.dest, c.actor,
        instant(c.occurred_at), instant(c.recorded_at), c.note, dict(c.data),
    ]  # fmt: skip
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def instant(value: datetime) -> str:
    """An instant as the hash sees it: UTC, ISO 8601, microseconds."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(slots=True)
class Link:
    """One stored event as the chain sees it: its content and the two hashes stored with it.

    `unreadable` says why a row could not be read as an event at all (then `content` is None).
    """

    seq: int
    content: Content | None
    prev: str | None
    hash: str | None
    unreadable: str | None = None


@dataclass(frozen=True)
class Recorded:
    """What a tender row says of its history: its last seq, that event's hash, and its state."""

    seq: int
    head: str | None
    state: str


@dataclass(frozen=True)
class Break:
    """Where a tender's chain first breaks, and what was done there."""

    tender: str
    seq: int
    what: str  # changed | removed | added | reordered
    detail: str

    def __str__(self) -> str:
        return f"tender {self.tender}: the history breaks at event {self.seq} ({self.what}): {self.detail}"


def verify(tender: str, links: Sequence[Link], recorded: Recorded | None) -> Break | None:
    """The first break in one tender's chain, or None when it holds.

    `links` are the tender's stored events in `seq` order; `recorded` is what its tender row says,
    or None when the tender row is gone.
    """
    if recorded is None:
        return Break(tender, links[-1].seq if links else 0, REMOVED, "the tender row is gone")
    later = {link.hash: link.seq for link in links if link.hash}
    prev = GENESIS
    for expected, link in enumerate(links, start=1):
        found = _check_link(tender, expected, link, prev, later, recorded.seq)
        if found is not None:
            return found
        prev = link.hash or ""
    return _check_end(tender, links, recorded)


def _check_link(
    tender: str, expected: int, link: Link, prev: str, later: Mapping[str, int], last_seq: int
) -> Break | None:
    seq = link.seq
    if link.content is None:
        return Break(tender, seq, CHANGED, f"it cannot be read ({link.unreadable})")
    if seq > last_seq or link.hash is None:
        why = (
            "has no hash"
            if link.hash is None
            else f"lies beyond the tender's last event {last_seq}"
        )
        return Break(tender, seq, ADDED, f"it {why}: written behind the store's back")
    if seq > expected:
        missing = (
            f"event {expected} is" if seq == expected + 1 else f"events {expected}–{seq - 1} are"
        )
        return Break(tender, expected, REMOVED, f"{missing} missing")
    if link.prev != prev and later.get(link.prev or "", 0) > seq:
        return Break(tender, seq, REORDERED, f"it was chained after event {later[link.prev or '']}")
    try:
        matches = event_hash(link.prev or "", link.content) == link.hash
    except (TypeError, ValueError) as exc:  # a value no event can hold (bytes, say)
        return Break(tender, seq, CHANGED, f"it cannot be read ({exc})")
    if not matches:
        return _moved_or_changed(tender, link, link.content)
    if link.prev != prev:
        return Break(
            tender, seq - 1, CHANGED, f"event {seq} was chained to another event {seq - 1}"
        )
    return None


def _moved_or_changed(tender: str, link: Link, content: Content) -> Break:
    """An event whose content no longer matches its hash: renumbered, or edited."""
    seq = link.seq
    for was in range(max(1, seq - 64), seq + 65):  # renumbered: the content matches another seq
        if was != seq and event_hash(link.prev or "", replace(content, seq=was)) == link.hash:
            if was > seq:
                return Break(
                    tender, seq, REMOVED, f"event {seq} is gone and event {was} renumbered"
                )
            return Break(tender, was, ADDED, f"the event now at {seq} was event {was} before")
    return Break(tender, seq, CHANGED, "its content no longer matches its hash")


def _check_end(tender: str, links: Sequence[Link], recorded: Recorded) -> Break | None:
    count = len(links)
    if count < recorded.seq:
        return Break(
            tender, count + 1, REMOVED, f"the tender has {recorded.seq} events, {count} remain"
        )
    last = links[-1] if links else None
    if last is None or last.content is None:
        return None
    if recorded.head != last.hash:
        if any(link.hash == recorded.head for link in links):
            return Break(
                tender, count, ADDED, "it follows the event the tender records as its last"
            )
        return Break(tender, count + 1, REMOVED, "the event the tender records as its last is "
                     "gone (removed, or the chain after it rewritten)")  # fmt: skip
    if last.content.dest is not None and last.content.dest != recorded.state:
        return Break(tender, count, CHANGED, f"the tender is in '{recorded.state}', but its last "
                     f"event left it in '{last.content.dest}'")  # fmt: skip
    return None


def digest(heads: Iterable[tuple[str, int, str]]) -> str:
    """One digest over every tender's (id, last seq, last hash), in id order."""
    sha = hashlib.sha256(b"kf1-heads\n")
    for tender, seq, head in sorted(heads):
        sha.update(f"{tender}\t{seq}\t{head}\n".encode())
    return sha.hexdigest()
