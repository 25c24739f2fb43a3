"""Delivering the outbox: which channels (SMTP, webhook, log; see `channels`), and `dispatch`.

Notifications are queued in the store by the act that causes them (see `unit`), each with a dedupe
key, so nothing is queued twice. `dispatch` sends what is due, one recipient at a time:

1. claim a batch of due messages (attempts + 1, in the store; a second dispatcher takes others),
2. send them through every configured channel each has not yet reached (email bundles them into
   one mail; a channel that cannot be reached rests, and its messages wait without losing an
   attempt),
3. record each result at once: sent, or a retry at a growing delay when a server refused it, or
   failed after the last attempt (a channel that fails for good, say an address missing, does not
   keep the others from sending).

A crash between 2 and 3 can re-send that one recipient's messages, never more. Delays run on the
caller's clock, so a virtual clock replays retries too; the claim is held on the real clock, so
that a dispatcher on a fast virtual clock (`--speed`) never takes a message another is sending.

Settings come from the environment or a config file (`KFLOW_CONFIG`, else `./kflow.toml`):

    [notify]
    smtp_url = "smtp://user:password@mail.example.dk:587?starttls=1"   # KFLOW_SMTP_URL
    mail_from = "Konkurrence-flow <noreply@example.dk>"                # KFLOW_MAIL_FROM
    webhook_url = "http://chat.example.dk/hooks/udbud"                 # KFLOW_WEBHOOK_URL
    log = true                                                         # KFLOW_NOTIFY_LOG=1
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from .channels import Channel, ChannelError, LogChannel, SmtpChannel, WebhookChannel
from .claims import claimant
from .clock import Clock, SystemClock
from .errors import InvalidInput
from .log import logger
from .model import Notification

__all__ = [
    "LEASE", "MAX_ATTEMPTS", "RETRY_DELAYS", "Channel", "ChannelError", "DispatchReport",
    "LogChannel", "Settings", "SmtpChannel", "WebhookChannel", "dispatch",
]  # fmt: skip

RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
)
"""The waits after the 1st, 2nd, … failed attempt; after the last one the message is failed."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
LEASE = timedelta(minutes=5)
"""A claimed message not settled within this, on the real clock (its dispatcher died), is free."""
BATCH = 100
"""Messages claimed at a time."""


@dataclass(frozen=True)
class Settings:
    """Where notifications go."""

    smtp_url: str | None = None
    mail_from: str = "konkurrence-flow <noreply@localhost>"
    webhook_url: str | None = None
    log: bool = False

    @classmethod
    def load(cls, environ: dict[str, str] | None = None) -> Settings:
        """The config file's [notify] table, overridden by KFLOW_* environment variables."""
        env = dict(os.environ if environ is None else environ)
        table = _config_table(env)
        log = env.get("KFLOW_NOTIFY_LOG", str(table.get("log", ""))).lower() in ("1", "true", "yes")
        return cls(
            smtp_url=env.get("KFLOW_SMTP_URL") or table.get("smtp_url"),
            mail_from=env.get("KFLOW_MAIL_FROM") or table.get("mail_from") or cls.mail_from,
            webhook_url=env.get("KFLOW_WEBHOOK_URL") or table.get("webhook_url"),
            log=log,
        )

    def channels(self) -> list[Channel]:
        """The configured channels; the log when nothing else is configured."""
        found: list[Channel] = []
        if self.smtp_url:
            found.append(SmtpChannel(self.smtp_url, self.mail_from))
        if self.webhook_url:
            found.append(WebhookChannel(self.webhook_url))
        if self.log or not found:
            found.append(LogChannel())
        return found


def _config_table(env: dict[str, str]) -> dict[str, Any]:
    path = Path(env.get("KFLOW_CONFIG") or "kflow.toml")
    if not path.exists():
        if env.get("KFLOW_CONFIG"):
            raise InvalidInput(f"config file {path} (KFLOW_CONFIG) does not exist")
        return {}
    try:
        table = tomllib.loads(path.read_text("utf-8")).get("notify", {})
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"config file {path} is not valid TOML: {exc}") from exc
    if not isinstance(table, dict):
        raise InvalidInput(f"config file {path}: [notify] must be a table")
    return table


@dataclass
class DispatchReport:
    """What one dispatch did."""

    sent: list[int] = field(default_factory=list)
    retrying: list[tuple[int, str, datetime]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    unreachable: str | None = None  # a channel that could not be reached: it rests, messages wait


def dispatch(
    store: Any, channels: Sequence[Channel], now: datetime, real: Clock | None = None
) -> DispatchReport:
    """Send every queued notification that is due by `now`, one recipient at a time.

    Messages are claimed `BATCH` at a time (see `claims`): dispatchers running together on one
    store each take messages the others do not hold. `now` is the caller's clock, on which
    retries and a channel's rest wait; a claim is held for `LEASE` on `real`, the machine's clock,
    so that no dispatcher, however fast its virtual clock runs, takes a message another one is
    still sending.
    """
    real = real or SystemClock()
    report = DispatchReport()
    owner, held = claimant(), set[int]()  # held: put back in the queue, kept claimed to the end
    try:
        while not all(channel.rest.resting(now) for channel in channels):
            notes = store.claim_notifications(now, real.now(), owner, LEASE, limit=BATCH)
            if not notes:
                break
            for group in _by_recipient(notes):
                mine = store.renew_notifications([n.id for n in group], owner, real.now() + LEASE)
                ours = [note for note in group if note.id in mine]  # a lapsed claim: not ours
                if ours:
                    held |= _deliver(store, channels, ours, now, report, owner)
    finally:
        for channel in channels:
            channel.close()
        if held:
            store.release_notifications(held, owner)
    return report


def _by_recipient(notes: Sequence[Notification]) -> list[list[Notification]]:
    """The messages grouped by recipient and address, in the order they fell due."""
    groups: dict[tuple[str, str], list[Notification]] = {}
    for note in notes:
        groups.setdefault((note.recipient, note.address), []).append(note)
    return list(groups.values())


@dataclass
class _Attempt:
    """One message's attempt across the channels."""

    delivered: list[str]
    refused: list[ChannelError] = field(default_factory=list)  # a server or the message said no
    waiting: bool = False  # a channel it still needs could not be reached, or rests


def _deliver(
    store: Any, channels: Sequence[Channel], notes: list[Notification], now: datetime,
    report: DispatchReport, owner: str,
) -> set[int]:  # fmt: skip
    """Deliver one recipient's messages through every channel each has not reached yet (as one
    delivery where the channel bundles them), then settle each. Returns the messages put back
    in the queue as they were (a channel they need rests): still claimed, so that this dispatch
    does not take them again."""
    attempts = {note.id: _Attempt(list(note.data.get("delivered", []))) for note in notes}
    for channel in channels:
        todo = [n for n in notes if channel.name not in attempts[n.id].delivered]
        for batch in _batches(channel, _checked(channel, todo, attempts)):
            _send(channel, batch, attempts, now, report)
    return {n.id for n in notes if _settle(store, note=n, attempt=attempts[n.id], now=now,
                                           report=report, owner=owner)}  # fmt: skip


def _checked(
    channel: Channel, notes: list[Notification], attempts: dict[int, _Attempt]
) -> list[Notification]:
    """The messages the channel can carry; one it never can is refused for good, on its own."""
    ready = []
    for note in notes:
        try:
            channel.check(note)
        except ChannelError as exc:
            attempts[note.id].refused.append(exc)
            continue
        ready.append(note)
    return ready


def _batches(channel: Channel, notes: list[Notification]) -> list[list[Notification]]:
    """All of them as one delivery where the channel bundles, else one message at a time."""
    if channel.bundles:
        return [notes] if notes else []
    return [[note] for note in notes]


def _send(
    channel: Channel, notes: list[Notification], attempts: dict[int, _Attempt], now: datetime,
    report: DispatchReport,
) -> None:  # fmt: skip
    """One delivery through one channel; what came of it is noted on each message's attempt."""
    outcomes = [attempts[note.id] for note in notes]
    if channel.rest.resting(now):  # it could not be reached a moment ago
        for attempt in outcomes:
            attempt.waiting = True
        return
    try:
        channel.send(notes)
    except ChannelError as exc:
        _note_failure(channel, exc, outcomes, now, report)
        return
    except Exception as exc:  # a channel's own fault (a password that will not encode, say):
        logger().error("channel failed", channel=channel.name, error=type(exc).__name__)
        failure = ChannelError(  # the type only: its text may quote a setting (a password)
            f"{channel.name} failed ({type(exc).__name__}); check its settings", permanent=True
        )
        _note_failure(channel, failure, outcomes, now, report)  # settled, never left claimed
        return
    channel.rest.reached()
    for attempt in outcomes:
        attempt.delivered.append(channel.name)


def _note_failure(
    channel: Channel, exc: ChannelError, outcomes: list[_Attempt], now: datetime,
    report: DispatchReport,
) -> None:  # fmt: skip
    """A refusal counts against each message; no answer rests the channel, and they wait."""
    if not exc.unreachable:
        for attempt in outcomes:
            attempt.refused.append(exc)
        return
    channel.rest.unreachable(now)
    report.unreachable = report.unreachable or str(exc)
    for attempt in outcomes:
        attempt.waiting = True


def _settle(
    store: Any, *, note: Notification, attempt: _Attempt, now: datetime, report: DispatchReport,
    owner: str,
) -> bool:  # fmt: skip
    """Sent; or, when a server refused it, a counted attempt; or, when all it lacks is a channel
    that could not be reached, queued as it was (that costs the message no attempt) and still
    held: True then."""
    error = "; ".join(str(e) for e in attempt.refused)
    settle = partial(store.settle_notification, note.id, attempt.delivered, owner=owner)
    if any(not e.permanent for e in attempt.refused):
        if note.attempts >= MAX_ATTEMPTS:  # the claim counted this one
            settle(status="failed", error=error)
            report.failed.append((note.id, error))
        else:
            retry_at = now + RETRY_DELAYS[note.attempts - 1]
            settle(status="queued", error=error, retry_at=retry_at)
            report.retrying.append((note.id, error, retry_at))
    elif attempt.waiting:
        settle(status="queued", error=note.last_error, attempts=note.attempts - 1, hold=True)
        return True
    elif attempt.refused:
        settle(status="failed", error=error)
        report.failed.append((note.id, error))
    else:
        settle(status="sent", sent_at=now)
        report.sent.append(note.id)
    return False
