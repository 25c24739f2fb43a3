"""The application API over HTTP: `RemoteApp` offers `App`'s methods and answers, asked of a
shared service (`kflow serve`) with a bearer token.

`kflow` uses it when `KFLOW_URL` is set, so that a laptop runs the day-to-day commands against
the network's service with the same output as on the machine that holds the store. It speaks
through the standard library alone and never imports the store (nor SQLAlchemy or SQLModel):
a remote `kflow tender show` starts as fast as Python and click do.

The service's refusals come back as the exceptions the local path raises, with its sentence:

    400, 413  InvalidInput        403  Forbidden        404  NotFound
    409       NotAllowed          401  Unauthenticated  503  StoreVersionError
    connection refused, an answer that is not konkurrence-flow's: ServiceUnavailable
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .errors import (
    Forbidden,
    InvalidInput,
    NotAllowed,
    NotFound,
    RunError,
    ServiceUnavailable,
    StoreVersionError,
    Unauthenticated,
)
from .model import NewTender

API = "/api/v1"
TIMEOUT = 30.0
"""Seconds to wait for the service to connect or answer."""
CHUNK = 1 << 20
"""Bytes sent and received at a time (an upload or a download)."""
PAGE = 10_000
"""Rows asked for at a time when a command lists them all (the API's largest page)."""

_REFUSALS: dict[int, type[RunError]] = {
    400: InvalidInput,
    403: Forbidden,
    404: NotFound,
    409: NotAllowed,
    411: InvalidInput,
    413: InvalidInput,
    503: StoreVersionError,
}


class RemoteApp:
    """The application API of the service at `url`, as the person whose token this is.

    `hint` finishes the sentence when the service refuses the token (what to do about it)."""

    def __init__(self, url: str, token: str, hint: str = "", timeout: float = TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.hint = hint or f"run `kflow login {self.url}` with a valid token"
        self.timeout = timeout

    # -- who ---------------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The person the token belongs to: `{"id", "name", "email", "role", "municipality"}`."""
        return self._call("GET", "/me")

    # -- tenders -------------------------------------------------------------------------------

    def create_tender(self, spec: NewTender) -> dict[str, Any]:
        """Start a tender in its definition's initial state; the `tender show` object."""
        body: dict[str, Any] = {
            "definition": spec.definition, "title": spec.title, "id": spec.id,
            "programme": spec.programme, "municipalities": list(spec.municipalities),
            "leader": spec.leader, "area": spec.area, "procedure": spec.procedure,
            "regime": spec.regime,
        }  # fmt: skip
        if spec.facts:  # the service takes none here: let it say so rather than drop them
            body["facts"] = dict(spec.facts)
        return self._call("POST", "/tenders", body)

    def tenders(
        self,
        municipality: str | None = None,
        state: str | None = None,
        overdue: bool = False,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Tenders by id, of one municipality (code or name) and/or in one state; a page."""
        query = {"municipality": municipality, "state": state, "overdue": overdue or None,
                 "limit": limit, "offset": offset or None}  # fmt: skip
        return self._call("GET", "/tenders", query=query)

    def each_tender(
        self,
        municipality: str | None = None,
        state: str | None = None,
        overdue: bool = False,
        *,
        brief: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """What `tenders` selects, all of it, a page of PAGE at a time (whole tenders, `brief`
        or not: the API has one shape)."""
        return _pages(lambda offset: self.tenders(municipality, state, overdue, limit=PAGE,
                                                  offset=offset))  # fmt: skip

    def tender(self, tender_id: str) -> dict[str, Any]:
        """One tender: the `tender show` object."""
        return self._call("GET", f"/tenders/{_segment(tender_id, 'tender')}")

    def history(self, tender_id: str) -> list[dict[str, Any]]:
        """A tender's events, in order."""
        path = f"/tenders/{_segment(tender_id, 'tender')}/history"
        return self._call("GET", path)

    def advance(
        self,
        tender_id: str,
        trigger: str,
        *,
        note: str | None = None,
        facts: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Fire a trigger as the token's person; the `advance --json` object.

        Facts go as the CLI typed them (text, numbers, yes/no); the service reads each as
        `--set KEY=VALUE` reads it, which gives the same value back."""
        body = {"trigger": trigger, "note": note, "facts": dict(facts or {}),
                "at": at.isoformat() if at else None}  # fmt: skip
        path = f"/tenders/{_segment(tender_id, 'tender')}/advance"
        return self._call("POST", path, body)

    def set_facts(self, tender_id: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        """Record facts on a tender; the `tender show` object after."""
        path = f"/tenders/{_segment(tender_id, 'tender')}/facts"
        return self._call("POST", path, {"facts": dict(facts)})

    # -- the network ----------------------------------------------------------------------------

    def overdue(
        self, municipality: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The overdue steps as of the service's clock, most overdue first; a page."""
        query = {"municipality": municipality, "limit": limit, "offset": offset or None}
        return self._call("GET", "/overdue", query=query)

    def each_overdue(self, municipality: str | None = None) -> Iterator[dict[str, Any]]:
        """Every overdue step, a page of PAGE at a time."""
        return _pages(lambda offset: self.overdue(municipality, limit=PAGE, offset=offset))

    def forecast(self, until: datetime, wrap: Any = list) -> list[dict[str, Any]]:
        """What happens by `until` if nobody acts (`wrap`, a local progress bar, is not used)."""
        query = {"until": until.isoformat()}
        return self._call("GET", "/forecast", query=query)

    def plan(
        self,
        tender: str | None = None,
        municipality: str | None = None,
        programme: str | None = None,
    ) -> list[dict[str, Any]]:
        """Each open tender's steps ahead: earliest day against due date."""
        query = {"tender": tender, "municipality": municipality, "programme": programme}
        return self._call("GET", "/plan", query=query)

    def effects(self) -> dict[str, Any]:
        """Savings per tender, area and municipality; estimated IKU against the 25 % target."""
        return self._call("GET", "/effects")

    def programme(self, name: str | None = None) -> dict[str, Any]:
        """A programme's timeline (without a name: the one `kflow programme show` shows)."""
        path = "/programmes" if name is None else f"/programmes/{_segment(name, 'programme')}"
        return self._call("GET", path)

    # -- the outbox (secretariat) ----------------------------------------------------------------

    def notifications(
        self, status: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The outbox, oldest first (the secretariat only); a page."""
        query = {"status": status, "limit": limit, "offset": offset or None}
        return self._call("GET", "/notifications", query=query)

    def retry_notification(self, note_id: int) -> dict[str, Any]:
        """Queue a failed message again (the secretariat only)."""
        return self._call("POST", f"/notifications/{int(note_id)}/retry")

    # -- the materials bank -----------------------------------------------------------------

    def attach(
        self, tender_id: str, uploads: Sequence[Any], *, kind: str = "andet",
        title: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Attach files (each `.path` and `.filename`) to a tender, all or none: one upload,
        streamed from disk a chunk at a time."""
        boundary = f"kflow-{secrets.token_hex(16)}"
        heads = [_part_head(boundary, u.filename) for u in uploads]
        sizes = [os.path.getsize(u.path) for u in uploads]
        tail = f"--{boundary}--\r\n".encode()
        length = sum(len(h) + n + 2 for h, n in zip(heads, sizes, strict=True)) + len(tail)

        def body() -> Iterator[bytes]:
            for head, upload in zip(heads, uploads, strict=True):
                yield head
                with open(upload.path, "rb") as file:
                    while chunk := file.read(CHUNK):
                        yield chunk
                yield b"\r\n"
            yield tail

        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
                   "Content-Length": str(length), "X-Files": str(len(uploads))}  # fmt: skip
        query = {"kind": kind, "title": title}
        target = self._target(f"/tenders/{_segment(tender_id, 'tender')}/files", query)
        return self._send("POST", target, body(), headers)

    def files(self, tender_id: str) -> list[dict[str, Any]]:
        """Every version of the tender's documents."""
        return self._call("GET", f"/tenders/{_segment(tender_id, 'tender')}/files")

    def file(self, file_id: int) -> dict[str, Any]:
        """One document version's facts."""
        return self._call("GET", f"/files/{int(file_id)}")

    def file_content(self, file_id: int) -> tuple[dict[str, Any], Iterator[bytes]]:
        """A document version and its bytes, as they arrive."""
        found = self.file(file_id)
        return found, self._download(self._target(f"/files/{int(file_id)}/content", {}))

    def search_materials(
        self,
        query: str,
        *,
        area: str | None = None,
        kind: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The documents the token's person may see that hold the query's words, best first."""
        given = {"q": query, "area": area, "kind": kind, "limit": limit, "offset": offset}
        return self._call("GET", "/materials/search", query=given)

    def recent_materials(
        self,
        *,
        area: str | None = None,
        kind: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The documents the token's person may see, attached last first."""
        given = {"area": area, "kind": kind, "limit": limit, "offset": offset}
        return self._call("GET", "/materials/recent", query=given)

    # -- HTTP ---------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
    ) -> Any:
        """One request; the decoded answer, or the refusal raised as the local path raises it."""
        target = self._target(path, query or {})
        payload = None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        try:
            status, raw = self._exchange(method, target, payload)
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from exc
        return self._answer(status, raw, f"{method} {target}")

    def _send(
        self, method: str, target: str, body: Iterator[bytes], headers: Mapping[str, str]
    ) -> Any:
        """A request whose body streams from `body`; the decoded answer."""
        conn = self._connection()
        try:
            conn.request(method, target, body, {**self._headers(), **headers})
            response = conn.getresponse()
            status, raw = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from exc
        finally:
            conn.close()
        return self._answer(status, raw, f"{method} {target}")

    def _download(self, target: str) -> Iterator[bytes]:
        """The bytes of a GET, a chunk at a time as they arrive."""
        conn = self._connection()
        try:
            conn.request("GET", target, None, self._headers())
            response = conn.getresponse()
            if response.status != 200:
                self._answer(response.status, response.read(), f"GET {target}")
            while chunk := response.read(CHUNK):
                yield chunk
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from exc
        finally:
            conn.close()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                "User-Agent": "kflow"}  # fmt: skip

    def _unreachable(self, exc: BaseException) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"cannot reach the service at {self.url} ({_reason(exc)}); is `kflow serve` "
            "running there, and is KFLOW_URL right?"
        )

    def _target(self, path: str, query: Mapping[str, Any]) -> str:
        prefix = urlsplit(self.url).path  # a service behind a proxy, under /kflow say
        given = {k: _query_value(v) for k, v in query.items() if v is not None}
        return f"{prefix}{API}{path}" + (f"?{urlencode(given)}" if given else "")

    def _exchange(self, method: str, target: str, payload: bytes | None) -> tuple[int, bytes]:
        headers = self._headers()
        if payload is not None:
            headers["Content-Type"] = "application/json"
        conn = self._connection()
        try:
            conn.request(method, target, payload, headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def _connection(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.url)
        host, port = parts.hostname or "", parts.port
        if parts.scheme == "https":
            context = ssl.create_default_context()  # trusts SSL_CERT_FILE too, if set
            return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def _answer(self, status: int, raw: bytes, request: str) -> Any:
        """The JSON of a 2xx answer; else the service's sentence, as the local exception."""
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = _NOT_JSON
        if 200 <= status < 300 and data is not _NOT_JSON:
            return data
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, str):
            raise ServiceUnavailable(
                f"the service at {self.url} answered {status} to {request} without a "
                "konkurrence-flow answer; is KFLOW_URL the service's address?"
            )
        if status == 401:
            raise Unauthenticated(f"{error}; {self.hint}")
        raise _REFUSALS.get(status, RunError)(error)


def _pages(page: Callable[[int], list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Every row of a paged list: `page(offset)` until a page comes back short."""
    offset = 0
    while True:
        rows = page(offset)
        yield from rows[:PAGE]
        if len(rows) != PAGE:  # the last page; more than asked for: a service that does not page
            return
        offset += PAGE


_NOT_JSON = object()


def _part_head(boundary: str, filename: str) -> bytes:
    """A multipart part's head for a file (its name on one line, quotes escaped)."""
    name = "".join(" " if c in "\r\n" else c for c in filename).replace("\\", "\\\\")
    name = name.replace('"', '\\"')
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def _segment(text: str, what: str) -> str:
    """A path segment: every reserved character escaped. An id that no path can carry (empty,
    `.`, `..`, or with a `/`, which no tender or programme id holds) is refused here, as the
    store would refuse it, not sent to be answered with the framework's bare Not Found."""
    if text in ("", ".", "..") or "/" in text:
        see = "tender list" if what == "tender" else "programme show"
        raise NotFound(f"unknown {what} '{text[:64]}'; see `kflow {see}`")
    return quote(text, safe="")


def _query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its certificate is not trusted: {exc.verify_message}"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
