"""Channels: where a notification can be delivered — the log, email over SMTP, a webhook.

A channel either delivers or raises `ChannelError`, which says whether retrying can help
(`permanent`) and whether the server could not be reached at all (`unreachable`): a server that
answered and said no has refused that message; one that did not answer says nothing about it.
A channel that could not be reached rests (`Rest`) before it is tried again.
"""

from __future__ import annotations

import json
import re
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from . import messages
from .errors import InvalidInput, KonkurrenceFlowError
from .log import logger
from .model import CLAIM, Notification

TIMEOUT = 10.0


class ChannelError(KonkurrenceFlowError):
    """A channel could not deliver; `permanent` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False, unreachable: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unreachable = unreachable


REST = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1))
"""How long a channel rests after it could not be reached once, twice, three or more times."""


class Rest:
    """When a channel that could not be reached is tried again, on the dispatcher's clock."""

    def __init__(self) -> None:
        self.until: datetime | None = None
        self.failures = 0

    def resting(self, now: datetime) -> bool:
        """True while the channel waits out its rest."""
        return self.until is not None and now < self.until

    def unreachable(self, now: datetime) -> None:
        """It could not be reached at `now`: rest a little longer than last time."""
        self.until = now + REST[min(self.failures, len(REST) - 1)]
        self.failures += 1

    def reached(self) -> None:
        """It answered: no more rest."""
        self.until, self.failures = None, 0


class Channel(Protocol):
    """Somewhere a notification can be delivered.

    `send` takes messages to one recipient and delivers all of them, or raises: a channel that
    `bundles` them (email) makes them one delivery; the others are given one message at a time.
    `check` refuses, before anything is sent, a message this channel can never carry.
    """

    name: str
    bundles: bool
    rest: Rest

    def check(self, note: Notification) -> None: ...

    def send(self, notes: Sequence[Notification]) -> None: ...

    def close(self) -> None: ...


class LogChannel:
    """Writes each notification as a structured log line (stderr)."""

    name = "log"
    bundles = False

    def __init__(self) -> None:
        self.rest = Rest()

    def check(self, note: Notification) -> None:
        """Any message can be logged."""

    def send(self, notes: Sequence[Notification]) -> None:
        for note in notes:
            logger().warning(
                "notification", kind=note.kind, tender=note.tender, to=note.recipient,
                subject=note.subject,
            )  # fmt: skip

    def close(self) -> None:
        """Nothing to close."""


def _split(url: str, what: str) -> Any:
    """The parts of a channel's URL; one that cannot be split is refused in a sentence."""
    try:
        return urlsplit(url)
    except ValueError as exc:
        raise InvalidInput(f"{what} URL '{redacted(url)}' is not understood: {exc}") from exc


def _site(parts: Any) -> str:
    """A URL's scheme and host (and port): no user, password, path or query."""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def redacted(url: str) -> str:
    """A URL as written, less any user and password."""
    return re.sub(r"//[^/@]*@", "//***@", url)


def _port(parts: Any) -> int | None:
    """The URL's port (25 when it names none), or None when it is no port at all."""
    try:
        port = parts.port
    except ValueError:  # out of range, or not a number
        return None
    return 25 if port is None else port if 0 < port <= 65535 else None


class SmtpChannel:
    """Email over SMTP: `smtp://[user:password@]host:port[?starttls=1]` or `smtps://…`.

    A person's messages in one dispatch go as one mail that lists them; each one's dedupe key is
    in an `X-Kflow-Key` header, and the Message-ID is made from the keys.
    """

    name = "smtp"
    bundles = True

    def __init__(self, url: str, sender: str) -> None:
        parts = _split(url, "SMTP")
        port = _port(parts)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname or port is None:
            raise InvalidInput(
                f"SMTP URL '{redacted(url)}' is not understood; use smtp://[user:password@]host:port"
                "[?starttls=1] or smtps://host:port, with a port from 1 to 65535"
            )
        self.url = f"{parts.scheme}://{parts.hostname}:{port}"
        self.host, self.port, self.tls = parts.hostname, port, parts.scheme == "smtps"
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        if "\n" in sender or "\r" in sender:
            raise InvalidInput("the sender (KFLOW_MAIL_FROM) must be one line")
        self.sender = sender
        self.rest = Rest()
        self._smtp: smtplib.SMTP | None = None

    def check(self, note: Notification) -> None:
        """Refuse a message no mail can be made of: no address, or a header that will not build."""
        self._built([note])

    def send(self, notes: Sequence[Notification]) -> None:
        message = self._built(notes)
        try:
            self._connection().send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(
                f"{self.url} refused {message['To']}: {exc}", permanent=True
            ) from exc
        except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected) as exc:
            self.close()
            raise ChannelError(f"{self.url}: {exc}", unreachable=True) from exc
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as exc:
            self.close()  # the channel's own settings are wrong, not the message: it rests
            raise ChannelError(
                f"{self.url}: login refused ({exc.smtp_code if hasattr(exc, 'smtp_code') else exc}); "
                "check the SMTP user and password",
                unreachable=True,
            ) from exc
        except smtplib.SMTPException as exc:  # it answered, and said no (login, sender, data)
            self.close()
            raise ChannelError(f"{self.url}: {exc}") from exc
        except OSError as exc:  # no answer: connection refused, timed out, no route, TLS failed
            self.close()
            raise ChannelError(f"{self.url}: {exc}", unreachable=True) from exc

    def _built(self, notes: Sequence[Notification]) -> EmailMessage:
        """The mail, or a permanent error naming why it cannot be made (no address; a line break
        in an address would inject a header): retrying cannot mend either."""
        who = notes[0].recipient
        if not notes[0].address:
            raise ChannelError(f"{who} has no email address", permanent=True)
        try:
            message = self._message(notes)
            message.as_bytes()  # what sending would do to it: every header must encode
        except (ValueError, TypeError, MessageError) as exc:
            raise ChannelError(
                f"the mail to {who} could not be built: {exc}", permanent=True
            ) from exc
        return message

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            kind = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
            smtp = kind(self.host, self.port, timeout=TIMEOUT)
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            self._smtp = smtp
        return self._smtp

    def _message(self, notes: Sequence[Notification]) -> EmailMessage:
        subject, body = _text(notes)
        keys = [note.dedupe_key for note in notes]
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = notes[0].address
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = messages.message_id(keys)
        for key in keys:
            message["X-Kflow-Key"] = key
        message.set_content(body)
        return message

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _text(notes: Sequence[Notification]) -> tuple[str, str]:
    """One message's own subject and body; several, listed in one text in their language."""
    if len(notes) == 1:
        return notes[0].subject, notes[0].body
    lang = messages.language(notes[0].data.get("lang"))
    return messages.bundle([n.subject for n in notes], [n.body for n in notes], lang)


class WebhookChannel:
    """An HTTP POST with a JSON body (e.g. for a chat tool), one per message."""

    name = "webhook"
    bundles = False

    def __init__(self, url: str) -> None:
        parts = _split(url, "webhook")
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
            raise InvalidInput(
                f"webhook URL '{_site(parts)}…' must be http:// or https:// and a host, no spaces"
            )
        self.url = url
        self.site = _site(parts)
        """What a message says of the webhook: its scheme and host, never its path or query,
        which chat tools make the secret (https://hooks.slack.com/services/T0/B0/XXXX)."""
        self.rest = Rest()

    def check(self, note: Notification) -> None:
        """Any message can be posted (a header that will not go is refused when sent)."""

    def send(self, notes: Sequence[Notification]) -> None:
        for note in notes:
            self._post(note)

    def _post(self, note: Notification) -> None:
        body = json.dumps(payload(note), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "X-Kflow-Key": note.dedupe_key},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                response.read()
        except ValueError as exc:  # a header http.client will not send (a line break, say)
            raise ChannelError(
                f"the request for {note.recipient} could not be built: {exc}", permanent=True
            ) from exc
        except urllib.error.HTTPError as exc:
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise ChannelError(
                f"the webhook at {self.site} answered {exc.code} {exc.reason}", permanent=permanent
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = str(getattr(exc, "reason", exc)).replace(self.url, self.site)
            raise ChannelError(f"the webhook at {self.site}: {reason}", unreachable=True) from exc

    def close(self) -> None:
        """Nothing to close: one request per message."""


def payload(note: Notification) -> dict[str, Any]:
    """The webhook's JSON body."""
    return {
        "id": note.id, "key": note.dedupe_key, "kind": note.kind, "tender": note.tender,
        "recipient": note.recipient, "address": note.address, "subject": note.subject,
        "text": note.body, "data": {k: v for k, v in note.data.items() if k != CLAIM},
    }  # fmt: skip
