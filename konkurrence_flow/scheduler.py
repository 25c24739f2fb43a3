"""The scheduler: make time move tenders. `tick` is one idempotent pass; the daemon is a clock around it.

Each tender carries `next_check_at`, the earliest thing its current visit is owed: a timed
transition, a reminder, or the overdue flag at the end of its due date. `tick(now)` takes only the
tenders with `next_check_at <= now` (an indexed query), claimed a group at a time so that several
schedulers share them (`claims`), and for each one catches up on everything owed up to `now`, in
order: a group in one transaction (one tender at a time if the group fails), each timer recorded at
the instant it was due. What is owed is decided from the tender alone (`engine.pending`), never from `now`, so one
late tick does exactly what many punctual ones would have done — and `forecast` runs the very same
code in a unit that is never committed. One thing alone depends on `now`: a reminder whose due date
has passed by then is recorded but not sent (it would only confuse; the overdue notice says it).
"""

from __future__ import annotations

import itertools
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from . import messages
from .calendar import TZ, Period, expiry_day, local_date, parse_period, start_of_day
from .claims import GROUP, TICK_LEASE, claim_tenders, claimant, release_abandoned, release_tenders
from .clock import Clock, SystemClock
from .errors import ConcurrentChange, KonkurrenceFlowError, PeriodError, StoreVersionError
from .log import logger
from .model import Tender
from .owed import Happening, catch_up
from .store import Store

Wrap = Callable[[list[str]], Iterable[str]]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Failure:
    """A tender whose catch-up failed in a tick: nothing of it was written; the next tick retries."""

    tender: str
    reason: str


@dataclass
class TickReport:
    """What one tick did."""

    at: datetime
    happenings: list[Happening] = field(default_factory=list)
    notifications: int = 0
    retry: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    claimed: int = 0  # tenders this tick claimed (and caught up, or tried to)
    rolled_back: int = 0  # catch-ups computed and thrown away (a group redone, a tender changed)

    def of(self, what: str) -> list[Happening]:
        return [h for h in self.happenings if h.what == what]


def tick(
    store: Store,
    now: datetime,
    progress: Progress | None = None,
    *,
    real: Clock | None = None,
    lease: timedelta = TICK_LEASE,
    group: int = GROUP,
) -> TickReport:
    """One pass: catch up every tender owed something by `now`, `group` tenders a transaction.

    The tick claims a group of due tenders nobody else holds (until `lease` has passed on `real`,
    the machine's clock, or whose claimant was a process on this host that has ended), catches
    them up in one unit and commits it, letting go of the claim in the same transaction; then the
    next group, until no unclaimed tender is due. Several ticks on one store so share the due set.
    When the group's commit finds a tender changed meanwhile, or one tender's catch-up fails, the
    group is done again one tender at a time: whatever one tender's catch-up raises stays that
    tender's (it is reported as failed, the tick goes on).
    Only a store this code must not write stops it. `progress(done, total)` follows the tick.
    """
    store.refresh()  # another process may have loaded a programme or added people since
    store.require_initialised()  # ... or upgraded the store to a schema this code does not know
    report = TickReport(now)
    clock, owner = real or SystemClock(), claimant()
    total = store.count_due(now) if progress else 0
    held: set[str] = set()  # failed, changed meanwhile, owed more: kept claimed to the tick's end
    with store.engine.connect() as conn:  # one connection for the whole tick
        if gone := release_abandoned(conn, now, clock.now()):
            logger().warning("released the claims of ended processes", claimants=gone)
        try:
            while ids := claim_tenders(conn, now, clock.now(), owner, lease=lease, limit=group):
                report.claimed += len(ids)
                held |= _tick_group(store, conn, ids, now, report, owner)
                if progress:
                    progress(report.claimed, max(total, report.claimed))
        finally:
            with suppress(SQLAlchemyError), conn.begin():  # else they lapse with the lease
                release_tenders(conn, held, owner)
    report.happenings.sort(key=lambda h: (h.at, h.tender))
    report.notifications += queue_digests(store, now)
    return report


def _tick_group(
    store: Store, conn: Any, ids: list[str], now: datetime, report: TickReport, owner: str
) -> set[str]:
    """Catch up a claimed group in one unit; if that fails, one tender at a time. Lets go of
    the claims of the tenders caught up; returns the others (the tick holds them to its end)."""
    with conn.begin():
        tenders = store.read_tenders(conn, ids)
    unit = store.act(now)
    unit.preload(tenders)
    found: list[Happening] = []
    try:
        owing = {t.id for t in tenders if not catch_up(unit, t.id, now, found)}
        for tender in tenders:
            unit.recheck(tender.id)
        unit.also(lambda c: release_tenders(c, [i for i in ids if i not in owing], owner))
        unit.commit(conn)
    except StoreVersionError:
        raise
    except Exception:  # a tender changed meanwhile, or one's catch-up failed: one at a time
        unit.discard()
        report.rolled_back += len(tenders)
        with conn.begin():
            tenders = store.read_tenders(conn, ids)  # as they stand now
        held = {t.id for t in tenders if not _tick_one(store, conn, t, now, report)}
        with conn.begin():
            release_tenders(conn, [i for i in ids if i not in held], owner)
        return held
    report.happenings.extend(found)
    report.notifications += unit.queued
    return owing


def _tick_one(store: Store, conn: Any, tender: Tender, now: datetime, report: TickReport) -> bool:
    """Catch one tender up in a unit of its own and add what it did (or why not) to `report`;
    False unless it is caught up."""
    unit = store.act(now)
    unit.preload([tender])
    found: list[Happening] = []
    try:
        complete = catch_up(unit, tender.id, now, found)
        unit.recheck(tender.id)
        unit.commit(conn)
    except ConcurrentChange:
        report.retry.append(tender.id)
        report.rolled_back += 1
        return False
    except StoreVersionError:
        raise
    except Exception as exc:  # anything else is this tender's alone: the sweep goes on
        unit.discard()
        report.failed.append(_failed(tender.id, exc))
        return False
    report.happenings.extend(found)
    report.notifications += unit.queued
    return complete


def _failed(tender_id: str, exc: Exception) -> Failure:
    """The failure in one line, logged: a refusal's own sentence, else the error's type and text."""
    text = next(iter(str(exc).strip().splitlines()), "")
    if not isinstance(exc, KonkurrenceFlowError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    logger().error("tick failed for one tender", tender=tender_id, reason=text)
    return Failure(tender_id, text)


def queue_digests(store: Store, now: datetime) -> int:
    """Queue each programme's periodic digest for the secretariat (the latest one due, once)."""
    queued = 0
    for name, start, settings in store.programme_schedules():
        every = settings.get("digest_every")
        day = _last_digest_day(start, parse_period(str(every)), local_date(now)) if every else None
        if day is None:
            continue
        if store.last_digest(name).get("day") == day.isoformat():
            continue  # queued already: no need to work it out again
        unit = store.act(now)
        for row in digest_rows(store, name, day):
            unit.queue(row)
        unit.commit()
        queued += unit.queued
    return queued


def _last_digest_day(start: date, every: Period, today: date) -> date | None:
    """The latest digest day (start + k × every, k >= 1) that is not after today. Each is
    counted from the start, not from the one before: monthly from 31 January is the last day of
    each month, not the 28th ever after February."""
    latest, day = None, start
    for k in itertools.count(1):
        try:  # months from the start; days, weeks and working days add up the same either way
            if every.unit == "M":
                day = expiry_day(start, replace(every, amount=every.amount * k))
            else:
                day = expiry_day(day, every)
        except PeriodError:  # the calendar's end: no later digest day
            break
        if day > today:
            break
        latest = day
    return latest


def digest_rows(store: Store, programme: str, day: date) -> list[dict[str, Any]]:
    """The digest of a programme's overdue steps as of `day`, and of the steps `kflow plan` newly
    finds infeasible, one outbox row per secretariat member."""
    from .plan import plan
    from .reports import overdue

    late = [
        messages.Late(r["tender"], r["title"], r["state"], date.fromisoformat(r["due"]),
                      r["days_overdue"], tuple(r["municipalities"]))
        for r in overdue(store, start_of_day(day), programme=programme)
    ]  # fmt: skip
    titles = {}
    infeasible = {}
    for step in plan(store, start_of_day(day), programme=programme):
        # a step already past its due date is in the overdue list above
        if step.status == "infeasible" and step.due and step.earliest and step.due >= day:
            infeasible[f"{step.tender}:{step.step}"] = step
    before = store.last_digest(programme, before=day)
    new = [s for key, s in infeasible.items() if key not in set(before.get("infeasible", ()))]
    if new:
        titles = {
            t.id: t.title for t in store.tenders_by_id(sorted({s.tender for s in new})).values()
        }
    if not late and not new:
        return []
    names = {m.code: m.name for m in store.members(programme)}
    lang = store.language(programme)
    steps = [messages.Infeasible(s.tender, titles.get(s.tender, ""), s.step, s.due, s.earliest)
             for s in new if s.due and s.earliest]  # fmt: skip
    subject, body = messages.digest(late, day, names, lang, steps)
    return [
        {"dedupe_key": f"digest:{programme}:{day.isoformat()}:{person.id}", "kind": "digest",
         "tender_id": None, "recipient": person.id, "address": person.email, "subject": subject,
         "body": body, "status": "queued", "attempts": 0, "created_at": start_of_day(day),
         "next_attempt_at": start_of_day(day),
         "data": {"programme": programme, "day": day.isoformat(), "steps": len(late),
                  "lang": lang, "infeasible": sorted(infeasible)}}
        for person in store.secretariat()
    ]  # fmt: skip


def forecast(store: Store, until: datetime, wrap: Wrap = list) -> list[Happening]:
    """What the scheduler will do by `until` if nobody acts. Changes nothing."""
    store.refresh()
    unit = store.act(until)
    found: list[Happening] = []
    for tender in _read_ahead(store, wrap(store.due_for_check(until))):
        unit.preload([tender])
        catch_up(unit, tender.id, until, found)
    return sorted(found, key=lambda h: (h.at, h.tender))


def _read_ahead(store: Store, ids: Iterable[str], size: int = 200) -> Iterator[Tender]:
    """The tenders of `ids`, read `size` at a time (the version check guards what changes later)."""
    chunk: list[str] = []
    for tender_id in ids:
        chunk.append(tender_id)
        if len(chunk) == size:
            yield from _read(store, chunk)
            chunk = []
    yield from _read(store, chunk)


def _read(store: Store, ids: list[str]) -> Iterator[Tender]:
    found = store.tenders_by_id(ids) if ids else {}
    return (found[i] for i in ids if i in found)


def run(
    store: Store,
    clock: Clock,
    interval: float,
    until: datetime | None = None,
    on_tick: Callable[[TickReport], Any] | None = None,
) -> int:
    """The daemon: APScheduler calls `tick` every `interval` seconds until SIGTERM/SIGINT or `until`.

    Logs one line as it starts (the store without its password, the clock, its speed, `until`)
    and one per virtual day its ticks reach. Its last tick is at `until`, never after it, and it
    returns only once no tick is running. Returns the number of ticks run. Daemons on one store
    share the due tenders (each tick claims its own) and never double-fire anything: each
    catch-up commits with a version check.
    A store upgraded meanwhile to a schema this code does not write stops the daemon with that
    refusal.
    """
    daemon = _Daemon(store, clock, until, on_tick)
    logger().info("scheduler started", store=store.safe_url, clock=str(clock), speed=clock.speed,
                  until=_local(until), interval=interval)  # fmt: skip
    daemon.serve(interval)
    daemon.progress.flush()
    logger().warning("scheduler stopped", ticks=daemon.ticks, at=_local(daemon.last or clock.now()))
    if daemon.refused is not None:
        raise daemon.refused
    return daemon.ticks


class _Daemon:
    """The job APScheduler runs, and how it stops: after its tick at `until`, on a signal, or on
    a store it must not write. A tick in progress always finishes; none starts after a stop."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        until: datetime | None,
        on_tick: Callable[[TickReport], Any] | None,
    ) -> None:
        from apscheduler.schedulers.blocking import BlockingScheduler

        self.store, self.clock, self.until, self.on_tick = store, clock, until, on_tick
        self.scheduler = BlockingScheduler(timezone=UTC)
        self.progress = _Progress()
        self.busy = threading.Lock()
        self.stopping = False
        self.ticks = 0
        self.last: datetime | None = None
        self.refused: StoreVersionError | None = None

    def serve(self, interval: float) -> None:
        """Run the job every `interval` seconds (the first at once) until stopped; then wait for
        the tick in progress, if any."""
        self.scheduler.add_job(self.job, "interval", seconds=interval,
                               next_run_time=datetime.now(UTC), max_instances=1, coalesce=True)  # fmt: skip
        previous = {
            sig: signal.signal(sig, self.on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.scheduler.start()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        with self.busy:  # the job thread's tick, if one is running, ends first
            self.stopping = True

    def job(self) -> None:
        with self.busy:
            if self.stopping:
                return
            now, last = self._next()
            if not self.tick(now) or last:
                self.stop()

    def _next(self) -> tuple[datetime, bool]:
        """The instant to tick at, and whether it is the last: `until`, once the clock reaches it."""
        now = self.clock.now()
        if self.until is not None and now >= self.until:
            return self.until, True
        return now, False

    def tick(self, now: datetime) -> bool:
        """One tick at `now`; False when the store refuses this code."""
        try:
            report = tick(self.store, now)
        except StoreVersionError as exc:
            self.refused = exc
            return False
        self.ticks, self.last = self.ticks + 1, now
        self.progress.add(report)
        if self.on_tick is not None:
            self.on_tick(report)
        return True

    def on_signal(self, signum: int, _frame: Any) -> None:
        logger().info("scheduler stopping", signal=signal.Signals(signum).name)
        self.stop()

    def stop(self) -> None:
        from apscheduler.schedulers import SchedulerNotRunningError

        self.stopping = True
        with suppress(SchedulerNotRunningError):  # stopped already (a signal during the last tick)
            self.scheduler.shutdown(wait=False)


_PROGRESS = {"advance": "advanced", "overdue": "flagged_overdue", "reminder": "reminders",
             "escalation": "escalations", "refused": "refused"}  # fmt: skip


@dataclass
class _Progress:
    """The daemon's progress: one log line for each virtual day its ticks reach, with what the
    ticks since the previous line did."""

    day: date | None = None
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, report: TickReport) -> None:
        self.counts.update(_PROGRESS[h.what] for h in report.happenings if h.what in _PROGRESS)
        self.counts.update(ticks=1, notifications=report.notifications, failed=len(report.failed))
        if local_date(report.at) != self.day:
            self.day = local_date(report.at)
            self.flush()

    def flush(self) -> None:
        """Log what the ticks since the last line did, if any ran."""
        if self.day is None or not self.counts["ticks"]:
            return
        names = ("ticks", *_PROGRESS.values(), "failed", "notifications")
        logger().info("scheduler progress", day=self.day.isoformat(),
                      **{name: self.counts[name] for name in names})  # fmt: skip
        self.counts.clear()


def _local(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(TZ).isoformat()


def happening_json(h: Happening) -> dict[str, Any]:
    """The forecast entry of DESIGN.md: {"date", "tender", "what", "state", "detail"}."""
    return {
        "date": local_date(h.at).isoformat(),
        "tender": h.tender,
        "what": h.what,
        "state": h.state,
        "detail": h.detail,
    }


def tick_json(report: TickReport) -> dict[str, Any]:
    """The tick document of DESIGN.md."""
    from .reports import instant

    return {
        "at": instant(report.at),
        "advanced": [
            {"tender": h.tender, "trigger": h.trigger, "source": h.state, "dest": h.dest,
             "occurred_at": instant(h.at)} for h in report.of("advance")
        ],
        "flagged_overdue": [
            {"tender": h.tender, "state": h.state, "due": _iso(h.due)} for h in report.of("overdue")
        ],
        "reminders": [
            {"tender": h.tender, "state": h.state, "due": _iso(h.due), "skipped": h.skipped}
            for h in report.of("reminder")
        ],
        "escalations": [
            {"tender": h.tender, "state": h.state, "due": _iso(h.due)}
            for h in report.of("escalation")
        ],
        "refused": [{"tender": h.tender, "trigger": h.trigger, "reason": h.detail}
                    for h in report.of("refused")],
        "notifications": report.notifications,
        "retry": report.retry,
        "failed": [{"tender": f.tender, "reason": f.reason} for f in report.failed],
        "claimed": report.claimed,
        "rolled_back": report.rolled_back,
    }  # fmt: skip


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


class Background:
    """The scheduler in a service's own process: APScheduler runs `tick` (then `after`, e.g. the
    notification dispatch) every `interval` seconds in a thread, on the service's clock, until
    `stop`, which waits for a tick in progress. A store upgraded past this code stops it."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        interval: float,
        after: Callable[[TickReport], Any] | None = None,
    ) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.store, self.clock, self.after = store, clock, after
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.scheduler.add_job(self.job, "interval", seconds=interval,
                               next_run_time=datetime.now(UTC), max_instances=1, coalesce=True)  # fmt: skip
        self.ticks = 0

    def start(self) -> None:
        logger().info("scheduler started in the service", store=self.store.safe_url,
                      clock=str(self.clock), speed=self.clock.speed)  # fmt: skip
        self.scheduler.start()

    def job(self) -> None:
        try:
            report = tick(self.store, self.clock.now())
        except StoreVersionError as exc:
            logger().error("scheduler stopped", reason=str(exc))
            self.scheduler.remove_all_jobs()
            return
        self.ticks += 1
        if self.after is not None:
            self.after(report)

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        logger().info("scheduler stopped in the service", ticks=self.ticks)
