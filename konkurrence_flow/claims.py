"""Claims: how several schedulers and dispatchers on one store share the work.

A tick does not walk the list of due tenders: it claims a group of them (`claim_tenders`), catches
that group up, and lets go of the claim in the same transaction that writes the catch-up; then it
claims the next group, until nothing due is left unclaimed. A dispatch claims messages the same
way (`claim_notifications`). A claim names its claimant and lapses at `claimed_until` on the real
clock, however fast a virtual clock runs: a claimant that dies holding one only delays that work
by the lease. A tick does not wait even that long for a claimant that was a process on its own
host and is gone (a scheduler killed and restarted): it clears that claimant's claims first
(`release_abandoned`). Messages wait for the lease: a message may be on its way, and a host name
is not proof enough that its sender is gone (containers sharing a host's name have their own
processes); for tenders the version check at commit makes such a mistake harmless.

One statement claims a group: it picks the oldest due rows nobody holds and marks them, so two
claimants never take the same row. On PostgreSQL the pick is `FOR UPDATE SKIP LOCKED`, so a second
claimant passes over rows the first is marking instead of queueing behind it; SQLite has one
writer at a time, which makes the statement atomic there as it is.

Claims only divide the work. What keeps it from being done twice is still each tender's version
check at commit; a claim cannot be trusted alone, since a lease can lapse while its claimant is
merely slow.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from .model import Notification
from .rows import T_NOTE, T_TENDER, notification

TICK_LEASE = timedelta(minutes=2)
"""How long a tick holds a group of tenders (it needs well under a second for one)."""
GROUP = 100
"""Tenders claimed, caught up and committed together."""


def claimant() -> str:
    """A name for one tick or dispatch: host, process, and a random part (threads share a pid)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def claim_tenders(
    conn: Any,
    now: datetime,
    real_now: datetime,
    owner: str,
    *,
    lease: timedelta = TICK_LEASE,
    limit: int = GROUP,
) -> list[str]:
    """Claim up to `limit` of the tenders due for a check by `now` that nobody holds (or whose
    claim lapsed by `real_now`), oldest first; returns their ids, in order."""
    c = T_TENDER.c
    taken = _claim(conn, T_TENDER, c.next_check_at <= now, c.next_check_at, real_now, limit,
                   {"claimed_by": owner, "claimed_until": real_now + lease})  # fmt: skip
    return [row.id for row in taken]


def release_abandoned(conn: Any, now: datetime, real_now: datetime) -> list[str]:
    """Clear the claims on tenders due for a check by `now`, not lapsed by `real_now`, of
    claimants that were processes on this host and are no longer running (a scheduler killed
    mid-tick); returns those claimants. Only due tenders are read (an index finds them)."""
    c = T_TENDER.c
    live = and_(c.next_check_at <= now, c.claimed_until > real_now)
    holders = select(c.claimed_by).where(live).distinct()
    with conn.begin():
        gone = [owner for owner in conn.execute(holders).scalars() if owner and _gone(owner)]
        if gone:
            free = {"claimed_by": None, "claimed_until": None}
            conn.execute(update(T_TENDER).where(c.claimed_by.in_(gone)).values(free))
    return gone


def _gone(owner: str) -> bool:
    """Whether `owner` (a `claimant()` name) was a process on this host that has ended; False
    whenever that cannot be known (another host, a name of another form, not POSIX)."""
    parts = owner.rsplit(":", 2)
    if os.name != "posix" or len(parts) != 3 or parts[0] != socket.gethostname()[:40]:
        return False
    digits = parts[1]
    pid = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 9 else 0
    if pid in (0, 1, os.getpid()):  # this process's own ticks are alive; 0 and 1 are no claimants
        return False
    try:
        os.kill(pid, 0)  # signal 0: is there such a process? (nothing is sent)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError, ValueError):  # it exists but is not ours; or no pid at all
        return False
    return False


def release_tenders(conn: Any, ids: Collection[str], owner: str) -> None:
    """Let go of this claimant's claims on `ids` (inside the caller's transaction)."""
    _release(conn, T_TENDER, ids, owner)


def claim_notifications(
    conn: Any,
    now: datetime,
    real_now: datetime,
    owner: str,
    lease: timedelta,
    *,
    limit: int,
) -> list[Notification]:
    """Claim up to `limit` queued messages due by `now` that nobody holds, oldest first, each
    for one attempt (counted now: a claimant that dies has used it)."""
    n = T_NOTE.c
    due = and_(n.status == "queued", n.next_attempt_at <= now)
    values = {"attempts": n.attempts + 1, "claimed_by": owner, "claimed_until": real_now + lease}
    return [notification(row) for row in
            _claim(conn, T_NOTE, due, n.next_attempt_at, real_now, limit, values)]  # fmt: skip


def renew_notifications(conn: Any, ids: Collection[int], owner: str, until: datetime) -> set[int]:
    """Extend this claimant's claims on `ids` to `until`; the ids it still holds (a claim that
    lapsed may have been taken by another dispatch meanwhile)."""
    n = T_NOTE.c
    renew = (
        update(T_NOTE)
        .where(n.id.in_(list(ids)), n.claimed_by == owner)
        .values(claimed_until=until)
        .returning(n.id)
    )
    with conn.begin():
        return set(conn.execute(renew).scalars())


def release_notifications(conn: Any, ids: Collection[int], owner: str) -> None:
    """Let go of this claimant's claims on `ids` (messages it put back in the queue)."""
    _release(conn, T_NOTE, ids, owner)


def _release(conn: Any, table: Any, ids: Collection[Any], owner: str) -> None:
    """Clear the claims `owner` holds on the rows `ids` of `table`, 500 rows a statement."""
    c = table.c
    for chunk in _chunks(list(ids)):
        conn.execute(
            update(table)
            .where(c.id.in_(chunk), c.claimed_by == owner)
            .values(claimed_by=None, claimed_until=None)
        )


def _claim(
    conn: Any, table: Any, due: Any, order: Any, real_now: datetime, limit: int,
    values: dict[str, Any],
) -> list[Any]:  # fmt: skip
    """One statement, one transaction: mark the oldest `limit` rows that are `due` and free
    (their claim lapsed by `real_now`) with `values`; the rows as marked, oldest first. On
    PostgreSQL the pick passes over rows another claimant is marking right now (SQLite has one
    writer at a time)."""
    c = table.c
    free = or_(c.claimed_until.is_(None), c.claimed_until <= real_now)
    pick = select(c.id).where(due, free).order_by(order, c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    claim = update(table).where(c.id.in_(pick.scalar_subquery())).values(values).returning(*c)
    with conn.begin():
        taken = conn.execute(claim).all()
    return sorted(taken, key=lambda row: (getattr(row, order.name), row.id))


def _chunks(ids: list[Any], size: int = 500) -> list[list[Any]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]
