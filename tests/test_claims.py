"""Several schedulers and dispatchers on one PostgreSQL store share the work (issue 14).

Real processes on a real PostgreSQL: each tick claims groups of due tenders that no other holds,
so every tender is caught up by exactly one of them and every event is written once; a claimant
killed mid-tick delays its tenders by the lease, no more (and not at all when it ran on this host). The same for notification dispatch.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from servers import SmtpServer
from sqlalchemy import func, select, update
from support import ROOT, at, empty_postgres, pilot_store, wait_for

from konkurrence_flow.channels import SmtpChannel
from konkurrence_flow.claims import claim_tenders, release_tenders
from konkurrence_flow.clock import FixedClock
from konkurrence_flow.errors import ConcurrentChange
from konkurrence_flow.model import NewTender
from konkurrence_flow.notify import BATCH, LEASE, dispatch
from konkurrence_flow.owed import catch_up
from konkurrence_flow.rows import T_EVENT, T_NOTE, T_TENDER
from konkurrence_flow.scheduler import forecast, tick
from konkurrence_flow.store import Store

DUE = 240  # tenders whose bidding closes by TICK_AT (besides the pilot's own)
TICK_AT = at("2008-05-01")
GROUP = 20  # small groups, so that the claimants interleave


def _build(url: str) -> None:
    """The pilot programme and DUE more tenders of Aarhus, published on different hours."""
    store = pilot_store(url)
    anna = store.person("anna")
    with store.batch(at("2008-01-21")) as unit:
        for n in range(DUE):
            spec = NewTender("individual-tender", f"Rengøring {n}", ("751",), id=f"AAR-R{n:03d}",
                             programme="pilot-2007", procedure="open", regime="eu-2004-18")  # fmt: skip
            tender = unit.create(spec, anna, at=at("2007-08-01"))
            unit.advance(tender.id, "approve_scope", anna, at=at("2007-08-15"))
            unit.advance(tender.id, "publish", anna, at=at("2008-01-10") + timedelta(hours=n))
    store.engine.dispose()


@pytest.fixture
def url(postgres_url: str) -> Iterator[str]:
    empty_postgres(postgres_url)
    _build(postgres_url)
    yield postgres_url


def _written(store: Store) -> Counter[tuple[Any, ...]]:
    """Every event of the store, as what happened (not the hashes, which chain them)."""
    e = T_EVENT.c
    with store.engine.connect() as conn:
        found = conn.execute(select(e.tender_id, e.seq, e.kind, e.trigger, e.source, e.dest,
                                    e.actor, e.occurred_at, e.note)).all()  # fmt: skip
    return Counter(tuple(row) for row in found)


def _happenings(found: list[Any]) -> list[tuple[str, str, str, str]]:
    return [(h.tender, h.what, h.at.isoformat(), h.detail) for h in found]


def _tick_in_a_process(url: str, barrier: Any, results: Any) -> None:
    store = Store(url)
    store.require_initialised()
    barrier.wait()
    report = tick(store, TICK_AT, group=GROUP)
    results.put((_happenings(report.happenings), report.claimed, report.rolled_back,
                 report.retry, [f.tender for f in report.failed]))  # fmt: skip


def _run_ticks(url: str, processes: int) -> list[tuple[Any, ...]]:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    procs = [
        ctx.Process(target=_tick_in_a_process, args=(url, barrier, results))
        for _ in range(processes)
    ]
    for proc in procs:
        proc.start()
    found = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    return found


def _events(store: Store) -> Counter[tuple[str, int]]:
    """(tender, seq) of every event: a doubled catch-up would write a seq twice or skip one."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(T_EVENT.c.tender_id, T_EVENT.c.seq)).all()
    return Counter((r.tender_id, r.seq) for r in rows)


@pytest.mark.parametrize("processes", [2, 3])
def test_concurrent_schedulers_catch_each_tender_up_once(
    url: str, processes: int, tmp_path: Path
) -> None:
    """Two or three ticks at once: what they did together is what the forecast says one tick
    would do, each tender by one of them, every event once (the events are those one tick
    writes on a copy of the store), and no catch-up thrown away."""
    _build(reference := f"sqlite:///{tmp_path / 'one.db'}")
    tick(one := Store(reference), TICK_AT)
    store = Store(url)
    expected = sorted(_happenings(forecast(store, TICK_AT)))
    due = store.count_due(TICK_AT)
    assert due >= DUE and len(expected) >= DUE
    before = _events(store)

    results = _run_ticks(url, processes)

    done = sorted(h for happenings, *_ in results for h in happenings)
    assert done == expected
    by_tick = [{h[0] for h in happenings} for happenings, *_ in results]
    assert sum(len(tenders) for tenders in by_tick) == len(set().union(*by_tick))  # disjoint
    assert sum(claimed for _, claimed, *_ in results) == due
    assert [rolled_back for _, _, rolled_back, *_ in results] == [0] * processes
    assert all(retry == [] and failed == [] for *_, retry, failed in results)
    assert _written(store) == _written(one)  # what one tick alone writes, nothing twice
    assert sum((_events(store) - before).values()) > DUE
    assert store.count_due(TICK_AT) == 0
    with store.engine.connect() as conn:
        held = conn.execute(select(func.count()).where(T_TENDER.c.claimed_by.is_not(None)))
        assert held.scalar_one() == 0  # every claim let go
    store.engine.dispose()


_DOOMED = textwrap.dedent(
    """
    import sys, time
    from konkurrence_flow import scheduler
    from konkurrence_flow.calendar import parse_instant
    from konkurrence_flow.store import Store

    def hang(store, conn, ids, *rest):
        print(" ".join(ids), flush=True)  # claimed, and now it never commits
        time.sleep(600)

    scheduler._tick_group = hang
    scheduler.tick(Store(sys.argv[1]), parse_instant(sys.argv[2]), lease=__import__(
        "datetime").timedelta(seconds=float(sys.argv[3])), group=50)
    """
)


def _doomed_claim(url: str, lease: float) -> tuple[subprocess.Popen[str], list[str]]:
    """A `tick` process that has claimed a group of 50 and will never commit it."""
    doomed = subprocess.Popen(
        [sys.executable, "-c", _DOOMED, url, TICK_AT.isoformat(), str(lease)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert doomed.stdout is not None
    claimed = doomed.stdout.readline().split()
    assert len(claimed) == 50
    return doomed, claimed


def test_a_claimant_killed_on_this_host_leaves_its_tenders_to_the_next_tick_at_once(
    url: str,
) -> None:
    """While the claimant lives, another tick leaves its group alone; once it is killed, the
    next tick on this host sees that the process is gone and catches the group up, once, without
    waiting for the lease (a scheduler killed and restarted carries on where it stopped)."""
    doomed, claimed = _doomed_claim(url, lease=600.0)
    store = Store(url)
    due = store.count_due(TICK_AT)
    first = tick(store, TICK_AT)
    assert first.claimed == due - 50  # the living claimant's group is its own
    assert not {h.tender for h in first.happenings} & set(claimed)

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(30)
    _takes_the_group_once(store, claimed)


def test_a_claimant_killed_on_another_host_delays_its_tenders_by_the_lease_only(url: str) -> None:
    """A claimant on another host may be alive for all this host knows: its group is left alone
    while the lease holds (on the real clock), then caught up, once."""
    lease = 3.0
    doomed, claimed = _doomed_claim(url, lease)
    killed_at = time.monotonic()
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(30)
    store = Store(url)
    with store.engine.begin() as conn:  # as if it had run elsewhere, under the same pid
        held = T_TENDER.c.claimed_by.is_not(None)
        conn.execute(update(T_TENDER).where(held).values(claimed_by=f"elsewhere:{doomed.pid}:cafe"))

    due = store.count_due(TICK_AT)
    first = tick(store, TICK_AT)
    assert first.claimed == due - 50
    assert not {h.tender for h in first.happenings} & set(claimed)
    assert store.count_due(TICK_AT) == 50  # still held by the dead claimant

    wait_for(lambda: time.monotonic() - killed_at > lease + 0.5, seconds=30)
    _takes_the_group_once(store, claimed)


def _takes_the_group_once(store: Store, claimed: list[str]) -> None:
    """The next tick catches up the dead claimant's group, each tender once, and nothing else."""
    tick_ = tick(store, TICK_AT)
    assert tick_.claimed == 50 and tick_.rolled_back == 0
    assert {h.tender for h in tick_.happenings} == set(claimed)
    assert store.count_due(TICK_AT) == 0
    assert max(_events(store).values()) == 1
    store.engine.dispose()


def test_a_lapsed_claim_is_still_guarded_by_the_version_check(url: str) -> None:
    """A slow claimant whose lease lapsed commits after another tick caught its group up: its
    commit is refused (changed meanwhile) and nothing is written twice."""
    store = Store(url)
    real = datetime.now(UTC)
    with store.engine.connect() as conn:
        (first, *_rest) = claim_tenders(conn, TICK_AT, real, "slow", lease=timedelta(0), limit=1)
    slow = store.act(TICK_AT)
    slow.preload(store.tenders_by_id([first]).values())
    assert catch_up(slow, first, TICK_AT, [])
    tick(store, TICK_AT)  # the lease had lapsed: this tick caught `first` up too
    before = _events(store)
    slow.also(lambda c: release_tenders(c, [first], "slow"))
    with store.engine.connect() as conn, pytest.raises(ConcurrentChange, match="try again"):
        slow.commit(conn)
    assert _events(store) == before
    store.engine.dispose()


# -- dispatch ----------------------------------------------------------------------------------

MESSAGES = 300
RECIPIENTS = 60


def _queue_messages(store: Store) -> list[str]:
    unit = store.act(TICK_AT)
    keys = []
    for n in range(MESSAGES):
        key = f"test:{n}"
        keys.append(key)
        person = n % RECIPIENTS
        unit.queue({
            "dedupe_key": key, "kind": "reminder", "tender_id": None,
            "recipient": f"p{person}", "address": f"p{person}@example.dk",
            "subject": f"Besked {n}", "body": "Frist nærmer sig.", "status": "queued",
            "attempts": 0, "created_at": TICK_AT, "next_attempt_at": TICK_AT, "data": {},
        })  # fmt: skip
    unit.commit()
    return keys


def _dispatch_in_a_process(url: str, smtp: str, barrier: Any, results: Any) -> None:
    store = Store(url)
    store.require_initialised()
    barrier.wait()
    report = dispatch(store, [SmtpChannel(smtp, "kflow@example.dk")], TICK_AT)
    results.put((report.sent, report.failed, report.retrying))


def test_concurrent_dispatchers_deliver_every_message_once(url: str) -> None:
    """Three dispatchers at once over 300 queued messages: each arrives exactly once, each
    dispatcher sent a share, and every message is settled as sent with one attempt."""
    store = Store(url)
    keys = _queue_messages(store)
    queued = [n for n in store.notifications("queued")]
    server = SmtpServer().start()
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    procs = [
        ctx.Process(target=_dispatch_in_a_process, args=(url, server.url, barrier, results))
        for _ in range(3)
    ]
    try:
        for proc in procs:
            proc.start()
        found = [results.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(30)
    finally:
        server.stop()
    sent = [note for each, _failed, _retrying in found for note in each]
    assert sorted(sent) == sorted(n.id for n in queued)  # each sent by one dispatcher
    assert all(failed == [] and retrying == [] for _, failed, retrying in found)
    received = [k for k in server.inbox.keys() if k.startswith("test:")]  # noqa: SIM118
    assert sorted(received) == sorted(keys)  # ... and received once
    with store.engine.connect() as conn:
        rows = conn.execute(select(T_NOTE.c.status, T_NOTE.c.attempts, T_NOTE.c.claimed_by)
                            .where(T_NOTE.c.dedupe_key.startswith("test:"))).all()  # fmt: skip
    assert {(r.status, r.attempts, r.claimed_by) for r in rows} == {("sent", 1, None)}
    store.engine.dispose()


_DOOMED_DISPATCH = textwrap.dedent(
    """
    import sys, time
    from konkurrence_flow import notify
    from konkurrence_flow.calendar import parse_instant
    from konkurrence_flow.channels import LogChannel
    from konkurrence_flow.store import Store

    def hang(store, channels, notes, *rest):
        print(" ".join(str(n.id) for n in notes), flush=True)  # claimed; it never sends
        time.sleep(600)

    notify._by_recipient = lambda notes: [notes]  # all it claimed, as one group
    notify._deliver = hang
    notify.dispatch(Store(sys.argv[1]), [LogChannel()], parse_instant(sys.argv[2]))
    """
)


def test_a_dispatcher_killed_after_claiming_delays_its_messages_by_the_lease_only(
    url: str,
) -> None:
    """A dispatch process claims a batch of messages and is killed before sending: the next
    dispatch sends every other message and leaves those alone while the lease holds (on the
    real clock); once it has passed, they are sent, and every message arrives exactly once."""
    store = Store(url)
    keys = _queue_messages(store)
    doomed = subprocess.Popen(
        [sys.executable, "-c", _DOOMED_DISPATCH, url, TICK_AT.isoformat()],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert doomed.stdout is not None
    held = {int(i) for i in doomed.stdout.readline().split()}
    killed_at = datetime.now(UTC)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(30)
    assert len(held) == BATCH  # one batch claimed

    server = SmtpServer().start()
    try:
        channel = [SmtpChannel(server.url, "kflow@example.dk")]
        soon = dispatch(store, channel, TICK_AT, real=FixedClock(killed_at + LEASE / 2))
        assert len(soon.sent) == MESSAGES - len(held) and not held & set(soon.sent)
        later = dispatch(store, channel, TICK_AT, real=FixedClock(killed_at + LEASE))
        assert set(later.sent) == held
    finally:
        server.stop()
    received = [k for k in server.inbox.keys() if k.startswith("test:")]  # noqa: SIM118
    assert sorted(received) == sorted(keys)  # each once
    store.engine.dispose()


def test_only_an_ended_process_on_this_host_counts_as_gone() -> None:
    """A claimant is gone when it names this host and a process id that no longer runs; anything
    else (another host, this process, a name no claimant writes) may be alive and waits."""
    import socket

    from konkurrence_flow.claims import _gone

    here = socket.gethostname()[:40]
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait(30)
    assert _gone(f"{here}:{ended.pid}:cafe0001")
    assert not _gone(f"elsewhere:{ended.pid}:cafe0001")
    assert not _gone(f"{here}:{os.getpid()}:cafe0001")
    assert not _gone(f"{here}:{os.getppid()}:cafe0001")  # alive
    for odd in ("²", "99999999999999999999", "-5", "", "1"):  # a row edited behind our back
        assert not _gone(f"{here}:{odd}:cafe0001")
    assert not _gone("no colons")
