"""The HTTP front door: `/api/v1/…` over the application API (`app.App`), for `kflow serve`,
and the dashboard's pages (`web.pages`) under `/`.

FastAPI (on Starlette) because the API is a handful of JSON endpoints whose OpenAPI document the
network's scripts can rely on, and FastAPI writes that document from the same declarations that
parse the requests. Every answer is the `--json` shape of the matching `kflow` command; every
refusal is `{"error": sentence}` with 400 (malformed), 401 (no or bad token), 403 (not for this
person), 404 (unknown), 409 (refused by the domain or changed meanwhile) or 413 (too large).

Who acts is decided by the bearer token alone (`tokens.authenticate`): no header, field or
parameter names another person. Failed authentications are logged with the client's address
(never the token) and limited per address.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as FastPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from . import tokens
from .app import App
from .calendar import end_of_day, parse_date_expr, parse_instant
from .clock import Clock
from .documents import CHUNK, max_bytes, megabytes
from .errors import InvalidInput, KonkurrenceFlowError, PeriodError, http_status
from .facts import parse_assignments
from .jsonsafe import finite
from .log import logger
from .materials import Upload
from .model import NewTender
from .store import Store

API = "/api/v1"
MAX_BODY = 64 * 1024
"""The largest request body accepted, in bytes (a tender's facts fit a hundred times over)."""
MAX_PAGE = 10_000
MAX_OFFSET = 2**62  # beyond it no store could hold rows; a larger one would overflow SQL
"""The most tenders one page of `/tenders` may ask for (`limit`)."""
FAILURES_ALLOWED = 10
FAILURE_WINDOW = 60.0
"""Failed authentications allowed per client address per window (seconds); then 429."""


# Request bodies


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field (say "actor") is a 400


class NewTenderBody(_Body):
    definition: str = Field(max_length=200)
    title: str = Field(max_length=2000)
    id: str | None = Field(default=None, max_length=200)
    programme: str | None = Field(default=None, max_length=200)
    municipalities: list[str] = Field(default_factory=list, max_length=98)
    leader: str | None = Field(default=None, max_length=200)
    area: str | None = Field(default=None, max_length=200)
    procedure: str | None = Field(default=None, max_length=200)
    regime: str | None = Field(default=None, max_length=200)


Scalar = str | int | float | bool


class AdvanceBody(_Body):
    trigger: str = Field(max_length=200)
    note: str | None = Field(default=None, max_length=10_000)
    facts: dict[str, Scalar] = Field(default_factory=dict, max_length=100)
    at: str | None = Field(default=None, max_length=64)


class FactsBody(_Body):
    facts: dict[str, Scalar] = Field(max_length=100)


FILE_ID = FastPath(ge=1, le=2**62)
MAX_FILES = 20
"""The most files one upload may carry."""


def _declared_parts(request: Request) -> int:
    """How many files an upload says it carries (`X-Files`, which `kflow` sends; else one): so
    that `--title` with several is refused before the body is read (the body decides after)."""
    given = request.headers.get("x-files", "1")
    return int(given) if given.isdigit() and 0 < int(given) <= MAX_FILES else 1


@dataclass(frozen=True)
class Received:
    """An upload as received: its files, copied to disk, and the form's other fields."""

    uploads: list[Upload]
    fields: dict[str, str]


async def received(request: Request, folder: Path, fields: tuple[str, ...] = ()) -> Received:
    """The uploaded files, each copied into `folder` a chunk at a time, and the fields named in
    `fields` (the API's upload has none; the dashboard's form its CSRF token, kind and title).
    On the form, a part with neither a file name nor bytes is no file: a file input left empty
    (the API's upload refuses such a part as an empty file)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput("send the files as multipart/form-data, each a part named 'file'")
    uploads, given = [], {}
    try:
        async with request.form(max_files=MAX_FILES, max_fields=len(fields)) as form:
            for n, (name, part) in enumerate(form.multi_items()):
                if isinstance(part, str) and name in fields and name not in given:
                    given[name] = part
                elif name != "file" or not isinstance(part, UploadFile):
                    raise InvalidInput(f"unexpected part {name[:40]!r}: each file is a part "
                                       f"named 'file'{_besides(fields)}")  # fmt: skip
                elif part.filename or part.size or not fields:
                    uploads.append(await _spooled(part, folder / str(n), f"file-{n}"))
    except HTTPException as exc:  # the framework's refusal of the body as a form
        raise InvalidInput(_unreadable(str(exc.detail))) from None
    except ClientDisconnect:  # the client went, or sent more than its Content-Length
        raise InvalidInput(
            "the upload was cut off (it ended early, or ran past its Content-Length); "
            "nothing was attached, try again"
        ) from None
    return Received(uploads, given)


def _unreadable(detail: str) -> str:
    """Our sentence for the framework's refusal of a multipart body."""
    if detail.startswith("Too many files"):
        return f"at most {MAX_FILES} files at once; nothing was attached"
    return f"the upload is not a form this service can read ({detail.rstrip('.')})"


def _besides(fields: tuple[str, ...]) -> str:
    return f", beside the fields {', '.join(fields)}" if fields else ""


async def _spooled(part: UploadFile, path: Path, default: str) -> Upload:
    """The part copied to `path`, a chunk at a time."""
    with path.open("wb") as out:
        while chunk := await part.read(CHUNK):
            out.write(chunk)
    return Upload(path, part.filename or default)


def download(found: Mapping[str, Any], chunks: Iterator[bytes]) -> StreamingResponse:
    """A document's bytes as a download: its name, type, length and SHA-256 in the headers."""
    name = Path(found["filename"]).name or f"file-{found['id']}"
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    headers = {
        "Content-Length": str(found["size"]),
        "Content-Disposition": f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}",
        "X-Content-SHA256": found["sha256"], "ETag": f'"{found["sha256"]}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
    }  # fmt: skip
    return StreamingResponse(chunks, media_type=found["media_type"], headers=headers)


# Errors


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


class _Failures:
    """Failed authentications per client address, in a sliding window. Only the last
    FAILURES_ALLOWED of an address are kept, and an address is forgotten once its last failure
    has left the window: what is kept is bounded by the failures of the last minute."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: OrderedDict[str, deque[float]] = OrderedDict()  # by last failure, oldest first

    def blocked(self, address: str) -> bool:
        with self.lock:
            since = time.monotonic() - FAILURE_WINDOW
            return sum(t >= since for t in self.seen.get(address, ())) >= FAILURES_ALLOWED

    def add(self, address: str) -> None:
        with self.lock:
            now = time.monotonic()
            self.seen.setdefault(address, deque(maxlen=FAILURES_ALLOWED)).append(now)
            self.seen.move_to_end(address)
            while self.seen and next(iter(self.seen.values()))[-1] < now - FAILURE_WINDOW:
                self.seen.popitem(last=False)


# The application


def create_app(store: Store, clock: Clock) -> FastAPI:
    """The ASGI application over one store, on one clock."""
    api = FastAPI(
        title="konkurrence-flow",
        version="1",
        default_response_class=FiniteJSON,
        description="Tender processes of a network of Danish municipalities. Authenticate with "
        "`Authorization: Bearer <token>` (`kflow token create`).",
    )
    failures = _Failures()
    max_bytes()  # a malformed KFLOW_MAX_FILE_MB stops the service at its start, not an upload
    _redact_access_log()
    _install_errors(api)
    api.openapi = _document(api)  # type: ignore[method-assign]
    api.add_middleware(_BodyLimit)

    def app_for(request: Request) -> App:
        """The request's App, as the token's person (one dependency: one hand-off to a thread)."""
        address = request.client.host if request.client else "?"
        if failures.blocked(address):
            raise _TooMany()
        header = request.headers.get("authorization", "")
        scheme, _, text = header.partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise tokens.Unauthenticated("no valid token (Authorization: Bearer kf_…)")
            person = tokens.authenticate(store, text.strip())
        except tokens.Unauthenticated as exc:
            failures.add(address)
            logger().warning("authentication failed", client=address, reason=str(exc),
                             path=request.url.path)  # fmt: skip
            raise
        return App(store, clock.now(), person)

    For = Depends(app_for)

    @api.get(f"{API}/healthz")
    def healthz() -> dict[str, Any]:
        """Alive, and the store's schema revision (no token needed)."""
        status = store.schema()
        return {"ok": status.state == "current", "revision": status.revision}

    @api.get(f"{API}/me")
    def me(app: App = For) -> dict[str, Any]:
        """The person the token belongs to."""
        return app.me()

    @api.get(f"{API}/tenders")
    def list_tenders(
        municipality: str | None = None,
        state: str | None = None,
        overdue: bool = False,
        limit: int | None = Query(None, ge=1, le=MAX_PAGE),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        app: App = For,
    ) -> list[dict[str, Any]]:
        """Tenders by id (filters as `kflow tender list`); `limit` of them from `offset`."""
        return app.tenders(municipality, state, overdue, limit=limit, offset=offset)

    @api.post(f"{API}/tenders", status_code=201)
    def create_tender(body: NewTenderBody, app: App = For) -> dict[str, Any]:
        """Start a tender (as `kflow tender create`)."""
        spec = NewTender(
            definition=body.definition, title=body.title, id=body.id, programme=body.programme,
            municipalities=tuple(body.municipalities), leader=body.leader, area=body.area,
            procedure=body.procedure, regime=body.regime,
        )  # fmt: skip
        return app.create_tender(spec)

    @api.get(f"{API}/tenders/{{tender_id}}")
    def show_tender(tender_id: str, app: App = For) -> dict[str, Any]:
        """One tender (as `kflow tender show --json`)."""
        return app.tender(tender_id)

    @api.get(f"{API}/tenders/{{tender_id}}/history")
    def history(tender_id: str, app: App = For) -> list[dict[str, Any]]:
        """A tender's events, in order."""
        return app.history(tender_id)

    @api.post(f"{API}/tenders/{{tender_id}}/advance")
    def advance(tender_id: str, body: AdvanceBody, app: App = For) -> dict[str, Any]:
        """Fire a trigger, as the token's person."""
        at = parse_instant(body.at) if body.at else None
        return app.advance(tender_id, body.trigger, note=body.note, facts=_facts(body.facts),
                           at=at)  # fmt: skip

    @api.post(f"{API}/tenders/{{tender_id}}/facts")
    def set_facts(tender_id: str, body: FactsBody, app: App = For) -> dict[str, Any]:
        """Record facts on a tender; the tender after."""
        return app.set_facts(tender_id, _facts(body.facts))

    @api.get(f"{API}/overdue")
    def overdue(
        municipality: str | None = None,
        limit: int | None = Query(None, ge=1, le=MAX_PAGE),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        app: App = For,
    ) -> list[dict[str, Any]]:
        """The overdue steps as of the clock, most overdue first; `limit` of them from `offset`."""
        return app.overdue(municipality, limit=limit, offset=offset)

    @api.get(f"{API}/forecast")
    def forecast(until: str, app: App = For) -> list[dict[str, Any]]:
        """What happens by `until` (a day, to its end, or an instant) if nobody acts."""
        return app.forecast(_until(until))

    @api.get(f"{API}/plan")
    def plan(
        tender: str | None = None,
        municipality: str | None = None,
        programme: str | None = None,
        app: App = For,
    ) -> list[dict[str, Any]]:
        """Each open tender's steps ahead: earliest day against due date."""
        return app.plan(tender, municipality, programme)

    @api.get(f"{API}/effects")
    def effects(app: App = For) -> dict[str, Any]:
        """Savings and estimated IKU."""
        return app.effects()

    @api.get(f"{API}/programmes")
    def programme_default(app: App = For) -> dict[str, Any]:
        """The programme `kflow programme show` shows without a name."""
        return app.programme(None)

    @api.get(f"{API}/programmes/{{name}}")
    def programme(name: str, app: App = For) -> dict[str, Any]:
        """A programme's timeline."""
        return app.programme(name)

    @api.get(f"{API}/notifications")
    def notifications(
        status: str | None = None,
        limit: int | None = Query(None, ge=1, le=MAX_PAGE),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        app: App = For,
    ) -> list[dict[str, Any]]:
        """The outbox (the secretariat only), oldest first; a page with `limit` from `offset`."""
        return app.notifications(status, limit=limit, offset=offset)  # it checks the status

    @api.post(f"{API}/notifications/{{note_id}}/retry")
    def retry(note_id: int, app: App = For) -> dict[str, Any]:
        """Queue a failed message again (the secretariat only)."""
        return app.retry_notification(note_id)

    @api.post(f"{API}/tenders/{{tender_id}}/files", status_code=201)
    async def attach(
        tender_id: str,
        request: Request,
        kind: str = Query("andet", max_length=40),
        title: str | None = Query(None, max_length=1000),
        app: App = For,
    ) -> list[dict[str, Any]]:
        """Attach files to a tender, all or none (as `kflow tender attach`): a
        multipart/form-data body, each file a part named `file`, with a Content-Length."""
        parts = _declared_parts(request)
        await run_in_threadpool(app.check_attach, tender_id, kind=kind, title=title, files=parts)
        with tempfile.TemporaryDirectory(prefix="kflow-upload-") as folder:
            got = await received(request, Path(folder))
            return await run_in_threadpool(app.attach, tender_id, got.uploads, kind=kind,
                                           title=title)  # fmt: skip

    @api.get(f"{API}/tenders/{{tender_id}}/files")
    def files(tender_id: str, app: App = For) -> list[dict[str, Any]]:
        """Every version of the tender's documents (as `kflow tender files --json`)."""
        return app.files(tender_id)

    @api.get(f"{API}/files/{{file_id}}")
    def file(file_id: int = FILE_ID, app: App = For) -> dict[str, Any]:
        """One document version's facts."""
        return app.file(file_id)

    @api.get(f"{API}/files/{{file_id}}/content", response_class=StreamingResponse)
    def file_content(file_id: int = FILE_ID, app: App = For) -> StreamingResponse:
        """A document version's bytes, streamed; `X-Content-SHA256` says what they hash to."""
        found, chunks = app.file_content(file_id)
        return download(found, chunks)

    @api.get(f"{API}/materials/search")
    def search(
        q: str = Query(max_length=1000),
        area: str | None = Query(None, max_length=200),
        kind: str | None = Query(None, max_length=40),
        limit: int = Query(20, ge=1, le=200),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        app: App = For,
    ) -> list[dict[str, Any]]:
        """The documents you may see holding every word of `q`, title hits first (as
        `kflow materials search --json`); `limit` of them from `offset`."""
        return app.search_materials(q, area=area, kind=kind, limit=limit, offset=offset)

    @api.get(f"{API}/materials/recent")
    def recent(
        area: str | None = Query(None, max_length=200),
        kind: str | None = Query(None, max_length=40),
        limit: int = Query(20, ge=1, le=200),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        app: App = For,
    ) -> list[dict[str, Any]]:
        """The documents you may see, attached last first (as `kflow materials recent --json`);
        `limit` of them from `offset`."""
        return app.recent_materials(area=area, kind=kind, limit=limit, offset=offset)

    from .web.pages import Pages, create_pages

    api.router.routes.append(Pages(create_pages(store, clock, failures)))  # `/`, not `/api/…`
    return api


class _SecretPaths(logging.Filter):
    """Keeps calendar feeds' secrets out of the access log: `/calendar/kf_<id>_<secret>.ics` is
    logged as `/calendar/kf_<id>_….ics` (the id is enough to revoke it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(tokens.redact(a) if isinstance(a, str) else a
                                for a in record.args)  # fmt: skip
        return True


def _redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _SecretPaths) for f in access.filters):
        access.addFilter(_SecretPaths())


class _TooMany(Exception):
    """Too many failed authentications from one address."""


class FiniteJSON(JSONResponse):
    """JSON without NaN or Infinity: a fact a v0.1.0 store may hold as NaN is sent as null, as
    `--json` prints it."""

    def render(self, content: Any) -> bytes:
        return super().render(finite(content))


def _install_errors(api: FastAPI) -> None:
    @api.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> JSONResponse:
        if not getattr(exc, "kflow_logged", False):  # a page's failure is logged by the pages
            logger().exception("request failed", path=tokens.redact(request.url.path),
                               error=type(exc).__name__)  # fmt: skip
        return _error(500, "the service failed on this request; its log says more")

    @api.exception_handler(KonkurrenceFlowError)
    def domain(_request: Request, exc: KonkurrenceFlowError) -> JSONResponse:
        status = http_status(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        return _error(status, str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                      **headers)  # fmt: skip

    @api.exception_handler(_TooMany)
    def too_many(_request: Request, _exc: _TooMany) -> JSONResponse:
        return _error(429, "too many failed authentications from this address; wait a minute",
                      **{"Retry-After": str(int(FAILURE_WINDOW))})  # fmt: skip

    @api.exception_handler(HTTPException)
    def framework(_request: Request, exc: HTTPException) -> JSONResponse:
        """The framework's own refusals (no such path or method, a body it cannot read)."""
        return _error(exc.status_code, str(exc.detail), **(exc.headers or {}))

    @api.exception_handler(RequestValidationError)
    def malformed(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(400, f"malformed request: {where or 'body'}: {first.get('msg', 'invalid')}")


class _BodyLimit:
    """ASGI middleware: refuse a body over MAX_BODY bytes, by its Content-Length or as it streams
    in. The body is read up to the limit before the application sees it (never further), so a
    chunked body is refused with the same 413: the framework would turn an error raised while it
    reads into a 400. An upload (`UPLOAD`: the API's, and the dashboard's form on a tender's
    page) has a limit of its own."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if scope["method"] == "POST" and UPLOAD.fullmatch(scope["path"]):
            await self._upload(scope, receive, send, length)
            return
        over = length is not None and (not length.isdigit() or int(length) > MAX_BODY)
        messages = None if over else await _body_within_limit(receive)
        if messages is None:
            await _error(413, f"the request body is over {MAX_BODY} bytes")(scope, receive, send)
            return
        await self.app(scope, _replay(messages, receive), send)

    async def _upload(self, scope: Any, receive: Any, send: Any, length: bytes | None) -> None:
        """An upload streams on to the application (to disk, a chunk at a time), if it says
        how long it is, and that is within what MAX_FILES documents may take. Else the API
        answers its JSON refusal; the dashboard's page is given the refusal (`upload_refusal`)
        and no body, to say it on the tender's page."""
        size = int(length) if length is not None and length.isdigit() else None
        refusal = _upload_refusal(size)
        if refusal is None:
            await self.app(scope, _counted(receive, size or 0), send)
        elif scope["path"].startswith(f"{API}/"):
            await _error(*refusal)(scope, receive, send)
        else:
            scope[_REFUSED] = refusal
            await self.app(scope, _unread, send)


_REFUSED = "kflow.upload_refused"


def _upload_refusal(size: int | None) -> tuple[int, str] | None:
    """Why an upload of this Content-Length (None: none given) is refused unread, or None."""
    limit = MAX_FILES * max_bytes() + 1_000_000
    if size is None:
        return 411, "an upload must give its Content-Length"
    if size > limit:
        return 413, (f"the upload is over {megabytes(limit)} "
                     f"({MAX_FILES} documents of at most {megabytes(max_bytes())})")  # fmt: skip
    return None


def upload_refusal(request: Request) -> tuple[int, str] | None:
    """The status and sentence `_BodyLimit` refused the dashboard's upload with, unread."""
    found: tuple[int, str] | None = request.scope.get(_REFUSED)
    return found


async def _unread() -> Any:
    """An ASGI `receive` for a body refused unread: the client is as good as gone."""
    return {"type": "http.disconnect"}


def _counted(receive: Any, length: int) -> Any:
    """An ASGI `receive` that ends the request (as a disconnect) once more than `length` bytes
    came in: whatever the transfer encoding, an upload is no longer than it said."""
    seen = 0

    async def counted() -> Any:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        return {"type": "http.disconnect"} if seen > length else message

    return counted


UPLOAD = re.compile(rf"(?:{API})?/tenders/[^/]+/files")
"""The paths of uploads: the API's, and the dashboard's form on a tender's page."""


async def _body_within_limit(receive: Any) -> list[Any] | None:
    """The request's body messages, read until its end; None once past MAX_BODY bytes."""
    messages, seen = [], 0
    while True:
        message = await receive()
        messages.append(message)
        seen += len(message.get("body", b""))
        if seen > MAX_BODY:
            return None
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replay(messages: list[Any], receive: Any) -> Any:
    """An ASGI `receive` giving the messages already read, then what the client sends next."""

    async def replayed() -> Any:
        return messages.pop(0) if messages else await receive()

    return replayed


# The OpenAPI document

_ERRORS = {
    400: "Malformed: not JSON, a wrong type, a missing or unknown field, a bad parameter.",
    401: "No token, or one that is unknown, revoked or expired.",
    403: "Not allowed for this person: their role or municipality.",
    404: "Unknown: a tender, programme, municipality or notification.",
    409: "Refused by the domain, or the tender changed meanwhile.",
    411: "An upload without a Content-Length.",
    413: f"The request body is over {MAX_BODY} bytes (an upload: over its limit).",
    429: "Too many failed authentications from this address; see Retry-After.",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "One sentence."}},
    "additionalProperties": False,
}


def _document(api: FastAPI) -> Any:
    """`api.openapi` telling what the service does: FastAPI's document, with the bearer token and
    the errors as they are sent (`{"error"}`; 400 where FastAPI would write its 422)."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            _as_served(generate())
        return api.openapi_schema  # type: ignore[return-value]

    return openapi


def _as_served(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {})
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for path, operations in document["paths"].items():
        for operation in operations.values():
            operation["responses"].pop("422", None)  # never sent: a malformed request is a 400
            if path != f"{API}/healthz":
                operation["security"] = [{"bearer": []}]
                operation["responses"].update(_error_responses())
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)


def _error_responses() -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {str(code): {"description": text, "content": content} for code, text in _ERRORS.items()}


def _facts(given: Mapping[str, Scalar]) -> dict[str, Any]:
    """Facts from JSON typed as `--set KEY=VALUE` types them (a string is what a person wrote)."""
    texts = []
    for key, value in given.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(f"{key[:40]}: a fact's number is finite")
        word = {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
        texts.append(f"{key}={word}")
    return parse_assignments(texts)


def _until(text: str) -> datetime:
    """`until`: a day (to its end), a quarter expression, or an instant."""
    try:
        return end_of_day(parse_date_expr(text))
    except PeriodError:
        return parse_instant(text)


def from_environment() -> FastAPI:
    """The application of one of several worker processes (`kflow serve --workers N`): the store
    at KFLOW_DB, on the system clock."""
    import os

    from .clock import SystemClock

    store = Store(os.environ["KFLOW_DB"])
    store.require_initialised()
    return create_app(store, SystemClock())
