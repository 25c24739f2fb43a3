"""The dashboard: server-rendered pages over the application API, for the secretariat and the
project leaders. Mounted by `http.create_app` under `/` beside `/api/v1`.

Each page asks `App` (as the signed-in person) or the dashboard's read models, and renders a
Jinja2 template; forms post back here and go through the same `App` calls as the CLI and the
API, so the same rules refuse the same things with the same sentences. A refusal re-renders the
page with that sentence; a success redirects to the tender (POST, redirect, GET).
The materials bank's pages (search, downloads) are `bank`'s.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from .. import dashboard, exports, ical, tokens
from ..app import App
from ..calendar import local_date, parse_instant
from ..clock import Clock
from ..errors import InvalidInput, KonkurrenceFlowError, NotFound, http_status
from ..facts import parse_assignments
from ..http import received, upload_refusal
from ..log import logger
from ..model import NOTICE_STATUSES
from ..programme import Milestone, Programme
from ..store import Store
from . import bank, charts, paging, session
from .text import LANGUAGES, Refusal, refusal, translator

HERE = Path(__file__).parent
FORM_FIELDS = 20
"""The most fields a dashboard form may have (its own are five)."""
MAX_FACTS, MAX_NOTE = 100, 10_000
"""As the API takes them (`http.AdvanceBody`)."""

_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class _SignIn(Exception):
    """The page needs a signed-in person."""


class Pages(Mount):
    """The dashboard mounted at `/`, for every path but the API's: `/api/…` stays the API's own
    (an unknown method there is its 405, an unknown path its JSON 404)."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__("", app=app)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def http_failures() -> Any:
    """A new counter of failed authentications per address (`http._Failures`)."""
    from ..http import _Failures

    return _Failures()


def create_pages(store: Store, clock: Clock, failures: Any) -> FastAPI:
    """The dashboard's pages as an ASGI application (no OpenAPI document of its own).
    `failures` counts failed authentications per address, shared with the API (`http._Failures`)."""
    pages = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(),
                      trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    env.filters.update(marked=bank.marked, file_size=bank.file_size)
    pages.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    view = _Views(store, clock, env, failures)
    _routes(pages, view)
    _errors(pages, view)
    return pages


class _Views:
    """What every page needs: the store, the clock, the templates, and how to render."""

    def __init__(self, store: Store, clock: Clock, env: Environment, failures: Any) -> None:
        self.store, self.clock, self.env, self.failures = store, clock, env, failures

    def app(self, request: Request) -> App:
        """The request's App as the signed-in person; `_SignIn` if nobody is."""
        person = session.person_of(self.store, request)
        if person is None:
            raise _SignIn()
        return App(self.store, self.clock.now(), person)

    def render(self, request: Request, name: str, code: int = 200, **context: Any) -> Response:
        lang = _language(request)
        person = context.pop("person", None)
        if person is None:
            person = session.person_of(self.store, request)
        context.setdefault("csrf", session.csrf_token(request))
        html = self.env.get_template(name).render(
            t=translator(lang), lang=lang, other=_other_language(request, lang), person=person,
            path=request.url.path, now=self.clock.now(), today=local_date(self.clock.now()),
            **context,
        )  # fmt: skip
        response = HTMLResponse(html, status_code=code, headers=_HEADERS)
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(session.LANG_COOKIE, lang, max_age=365 * 86400,
                                samesite="strict", path="/")  # fmt: skip
        return response

    def error(self, request: Request, status: int, message: str) -> Response:
        return self.render(request, "error.html", status, status=status, message=message)


def _language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(session.LANG_COOKIE)
    return chosen if chosen in LANGUAGES else "da"


def _other_language(request: Request, lang: str) -> str:
    """The link that shows this page in the other language: a query alone, relative to the page
    (a path such as `//evil.example` in the link would be another site's address)."""
    query = dict(request.query_params)
    query["lang"] = "en" if lang == "da" else "da"
    return f"?{urlencode(query)}"


async def _form(request: Request, *, signin: bool = False) -> dict[str, str]:
    """A URL-encoded form (the body is already within `http.MAX_BODY`), its CSRF token checked."""
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        form = dict(parse_qsl(body, keep_blank_values=True, max_num_fields=FORM_FIELDS))
    except ValueError as exc:
        raise session.BadForm(f"a form has at most {FORM_FIELDS} fields", 400) from exc
    session.check_form(request, form, signin=signin)
    return form


def _routes(pages: FastAPI, view: _Views) -> None:
    _calendar_routes(pages, view)
    _sign_in_routes(pages, view)
    _network_routes(pages, view)
    _tender_routes(pages, view)
    _outbox_routes(pages, view)
    _export_routes(pages, view)
    bank.routes(pages, view)


# The calendar feed (no session: a calendar client has only the feed's secret URL)


def _calendar_routes(pages: FastAPI, view: _Views) -> None:
    guessing = http_failures()  # its own: a stale subscription must not lock out the API

    @pages.api_route("/calendar/{name}", methods=["GET", "HEAD"])
    def calendar(request: Request, name: str) -> Response:
        """A person's calendar (`kflow token create PERSON --calendar`); 304 while unchanged."""
        address, text = _client(request), name.removesuffix(".ics")
        if guessing.blocked(address):
            return Response("too many unknown calendars asked from this address; wait a minute\n",
                            429, media_type="text/plain")  # fmt: skip
        try:
            person = tokens.authenticate(view.store, text, kind="calendar")
        except tokens.Unauthenticated:
            if not tokens.exists(view.store, text):  # a revoked feed still polled is no guess
                guessing.add(address)
            return Response("no such calendar\n", 404, media_type="text/plain")
        made = ical.feed(view.store, person)
        headers = {"ETag": made.etag, "Cache-Control": "private, no-cache",
                   "X-Content-Type-Options": "nosniff"}  # fmt: skip
        if made.last_modified is not None:
            headers["Last-Modified"] = format_datetime(made.last_modified, usegmt=True)
        if _unchanged(request, made):
            return Response(status_code=304, headers=headers)
        return Response(made.body, media_type="text/calendar; charset=utf-8", headers=headers)


def _unchanged(request: Request, made: ical.Feed) -> bool:
    """The client's copy is current: it names the feed's ETag (If-None-Match). If-Modified-Since
    alone is not trusted: a milestone moved by a programme file carries no recorded time."""
    tags = request.headers.get("if-none-match")
    if tags is None:
        return False
    return tags.strip() == "*" or made.etag in [
        t.strip().removeprefix("W/") for t in tags.split(",")
    ]


# Signing in and out


def _sign_in_routes(pages: FastAPI, view: _Views) -> None:
    @pages.get("/signin")
    def signin_form(request: Request) -> Response:
        if session.person_of(view.store, request) is not None:
            return RedirectResponse(_local(request.query_params.get("next")), 303)
        response = _signin_page(view, request, None, 200)
        if session.SESSION_COOKIE in request.cookies:
            session.forget(response)
        return response

    @pages.post("/signin")
    async def signin(request: Request) -> Response:
        try:
            form = await _form(request, signin=True)
        except session.BadForm as exc:
            return _signin_page(view, request, str(exc), exc.status)
        target = _local(form.get("next"))
        if view.failures.blocked(_client(request)):
            message = "too many failed sign-ins from this address; wait a minute"
            return _signin_page(view, request, message, 429)
        try:
            person, text = await run_in_threadpool(tokens.sign_in, view.store,
                                                   form.get("token", "")[:200])  # fmt: skip
        except tokens.Unauthenticated as exc:
            view.failures.add(_client(request))
            logger().warning("dashboard sign-in failed", client=_client(request), reason=str(exc))
            return _signin_page(view, request, str(exc), 401)
        logger().info("dashboard sign-in", person=person.id, client=_client(request))
        response = RedirectResponse(target, status_code=303)
        session.start(response, request, text)
        return response

    @pages.post("/signout")
    async def signout(request: Request) -> Response:
        try:
            await _form(request)
        except session.BadForm as exc:
            return view.error(request, exc.status, str(exc))
        response = RedirectResponse("/signin", status_code=303)
        await run_in_threadpool(session.end, view.store, request, response)
        return response


def _signin_page(view: _Views, request: Request, message: str | None, status: int) -> Response:
    value = session.signin_value(request)
    response = view.render(request, "signin.html", status, message=message, csrf=value,
                           next=_local(request.query_params.get("next")), person=False)  # fmt: skip
    session.set_signin_cookie(request, response, value)
    return response


def _local(target: str | None) -> str:
    """A redirect target on this site only (never `//host` or `https://…`)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


# The network: overview, Gantt, overdue board, effects


def _network_routes(pages: FastAPI, view: _Views) -> None:
    @pages.get("/")
    def overview(request: Request) -> Response:
        app = view.app(request)
        store, now = view.store, app.now
        names, programme = _programme_of(store, request.query_params.get("programme"))
        only = programme.name if programme and len(names) > 1 else None
        effects = app.effects()
        network = translator(_language(request))("network")
        return view.render(request, "overview.html", person=app.actor, programme=programme,
                           programmes=names, board=dashboard.overview(store, now, only),
                           milestones=_milestones(programme), timeline=_timeline(programme, now),
                           effects=effects, iku=_iku(effects, network))  # fmt: skip

    @pages.get("/gantt")
    def gantt(request: Request) -> Response:
        app = view.app(request)
        query = request.query_params
        names, programme = _programme_of(view.store, query.get("programme") or None)
        chosen = dashboard.GanttFilter(query.get("municipality") or None, query.get("area") or None,
                                       query.get("definition") or None,
                                       programme.name if programme and len(names) > 1 else None)  # fmt: skip
        offset = paging.offset_of(query.get("offset"))
        page = dashboard.gantt(view.store, app.now, chosen, offset)
        milestones = [(m.date, m.label) for m in _milestones(programme)]
        rows = list(page.rows)
        start, end = (programme.start, programme.end) if programme else (None, None)
        scale = charts.span_of(rows, local_date(app.now), start, end)
        chart = charts.gantt(rows, local_date(app.now), scale, milestones)
        return view.render(request, "gantt.html", person=app.actor, page=page, chart=chart,
                           chosen=chosen, choices=dashboard.choices(view.store),
                           programmes=names, programme=programme,
                           pager=paging.links(request, page.place))  # fmt: skip

    @pages.get("/overdue")
    def overdue(request: Request) -> Response:
        app = view.app(request)
        municipality = request.query_params.get("municipality") or None
        offset = paging.offset_of(request.query_params.get("offset"))
        rows = app.overdue(municipality, limit=dashboard.OVERDUE_PAGE, offset=offset)
        page = dashboard.Page(len(rows), app.count_overdue(municipality), offset,
                              dashboard.OVERDUE_PAGE)  # fmt: skip
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            for code in row["municipalities"] or ["—"]:
                groups.setdefault(code, []).append(row)
        names = {code: dashboard.municipality_name(code) for code in groups}
        ordered = sorted(groups.items(), key=lambda kv: -kv[1][0]["days_overdue"])
        return view.render(request, "overdue.html", person=app.actor, groups=ordered,
                           names=names, page=page, pager=paging.links(request, page),
                           municipality=municipality)  # fmt: skip

    @pages.get("/effects")
    def effects(request: Request) -> Response:
        app = view.app(request)
        found = app.effects()
        chart = [(a["area"] or "—", a["saving_percent"]) for a in found["areas"]
                 if a["saving_percent"] is not None]  # fmt: skip
        offset = paging.offset_of(request.query_params.get("offset"))
        rows = found["tenders"][offset : offset + dashboard.EFFECTS_PAGE]
        page = dashboard.Page(len(rows), len(found["tenders"]), offset, dashboard.EFFECTS_PAGE)
        return view.render(request, "effects.html", person=app.actor, effects=found, rows=rows,
                           page=page, pager=paging.links(request, page),
                           chart=_savings_chart(chart))  # fmt: skip

    @pages.get("/effects.csv")
    def effects_csv(request: Request) -> Response:
        """The effects report's tenders as CSV (kept from before `/export/effects.csv`)."""
        return _download(view.app(request), "effects", "csv", request.query_params)


def _programme_of(store: Store, name: str | None) -> tuple[list[str], Programme | None]:
    """The programmes loaded, and the one to show: the one named, else the first by name."""
    names = store.programme_names()
    if name and name not in names:
        raise NotFound(
            f"unknown programme {name[:40]!r} (programmes: {', '.join(names) or 'none'})"
        )
    if not names:
        return names, None
    return names, store.programme(name or names[0])


def _milestones(programme: Programme | None) -> list[Milestone]:
    return sorted(programme.milestones.values(), key=lambda m: m.date) if programme else []


def _timeline(programme: Programme | None, now: datetime) -> charts.Timeline | None:
    if programme is None:
        return None
    milestones = [(m.date, m.label) for m in _milestones(programme)]
    return charts.timeline(programme.start, programme.end, milestones, local_date(now))


def _iku(effects: dict[str, Any], network_label: str) -> charts.IkuChart | None:
    rows = [(m["name"], m["iku_before"], m["iku_after"]) for m in effects["municipalities"]
            if m["iku_before"] is not None]  # fmt: skip
    network = effects["network"]
    if network.get("iku_before") is not None:
        rows.insert(0, (network_label, network["iku_before"], network["iku_after"]))
    return charts.iku_chart(rows, effects["target_percent"]) if rows else None


def _savings_chart(rows: list[tuple[str, float]]) -> charts.IkuChart | None:
    """Savings in percent by area; a loss is drawn as no bar, its figure beside the label."""
    bars = [(f"{label} ({value:+.1f} %)" if value < 0 else label, 0.0, max(value, 0.0))
            for label, value in rows]  # fmt: skip
    return charts.iku_chart(bars, 0.0) if rows else None


# A tender: its page and its forms


def _tender_routes(pages: FastAPI, view: _Views) -> None:
    @pages.get("/tenders/{tender_id}")
    def tender(request: Request, tender_id: str) -> Response:
        app = view.app(request)
        query = request.query_params
        return _tender_page(view, request, app, tender_id, done=query.get("done"),
                            attached=query.get("attached"))  # fmt: skip

    @pages.post("/tenders/{tender_id}/advance")
    async def advance(request: Request, tender_id: str) -> Response:
        app = await run_in_threadpool(view.app, request)
        try:
            form = await _form(request)
        except session.BadForm as exc:
            return view.error(request, exc.status, str(exc))
        trigger = form.get("trigger", "")
        try:
            await run_in_threadpool(_fire, app, tender_id, form)
        except KonkurrenceFlowError as exc:
            return await _refused(view, request, app, tender_id, exc, form)
        return RedirectResponse(f"/tenders/{tender_id}?{urlencode({'done': trigger})}", 303)

    @pages.post("/tenders/{tender_id}/files")
    async def attach(request: Request, tender_id: str) -> Response:
        """The attach form's files, all or none. Who may attach is known from the session and
        the URL, so a person who may not is refused before the body is read; so is a body over
        the upload limit (`http._BodyLimit`). The CSRF token is in the body, checked once it is
        parsed: before anything is written."""
        app = await run_in_threadpool(view.app, request)
        fields: dict[str, str] = {}
        try:
            await run_in_threadpool(app.check_attach, tender_id)
            if (unread := upload_refusal(request)) is not None:
                return await run_in_threadpool(_tender_page, view, request, app, tender_id,
                                               refused=Refusal("refused_input", unread[1]),
                                               status=unread[0])  # fmt: skip
            with tempfile.TemporaryDirectory(prefix="kflow-upload-") as folder:
                got = await received(request, Path(folder), bank.ATTACH_FIELDS)
                fields = got.fields
                session.check_form(request, fields)
                done = await run_in_threadpool(app.attach, tender_id, got.uploads,
                                               **bank.attach_choices(fields))  # fmt: skip
        except session.BadForm as exc:
            return view.error(request, exc.status, str(exc))
        except KonkurrenceFlowError as exc:
            return await _refused(view, request, app, tender_id, exc, fields)
        return RedirectResponse(f"/tenders/{tender_id}?{urlencode({'attached': len(done)})}", 303)


async def _refused(
    view: _Views,
    request: Request,
    app: App,
    tender_id: str,
    exc: KonkurrenceFlowError,
    form: dict[str, str],
) -> Response:
    """A form's refusal: the tender's page with the sentence and the form as it was filled in;
    the error page when the tender is not there or not for this person."""
    code = http_status(exc)
    if code in (401, 403, 404, 503):
        return view.error(request, code, _sentence(exc))
    return await run_in_threadpool(_tender_page, view, request, app, tender_id,
                                   refused=refusal(exc), form=form, status=code)  # fmt: skip


def _fire(app: App, tender_id: str, form: dict[str, str]) -> dict[str, Any]:
    """Fire the form's trigger, as `kflow advance ID TRIGGER --note … --set … --at …` would."""
    lines = [line.strip() for line in form.get("facts", "").splitlines() if line.strip()]
    if len(lines) > MAX_FACTS:
        raise InvalidInput(f"at most {MAX_FACTS} facts at once")
    if len(form.get("note", "")) > MAX_NOTE:
        raise InvalidInput(f"a note is at most {MAX_NOTE:,} characters")
    at = form.get("at", "").strip()
    return app.advance(tender_id, form.get("trigger", ""), note=form.get("note") or None,
                       facts=parse_assignments(lines), at=parse_instant(at) if at else None)  # fmt: skip


def _tender_page(
    view: _Views,
    request: Request,
    app: App,
    tender_id: str,
    *,
    done: str | None = None,
    attached: str | None = None,
    refused: Refusal | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    shown = app.tender(tender_id)
    history = app.history(tender_id)
    if done and not (history and history[-1]["trigger"] == done and app.actor
                     and history[-1]["actor"] == app.actor.id):  # fmt: skip
        done = None  # say "done" only of the person's own last act, never of a link's text
    definition = view.store.definition(shown["definition"], shown["definition_version"])
    labels = {s.name: s.label or s.name for s in definition.states.values()}
    forms = [_trigger_form(definition, shown["state"], trigger) for trigger in shown["triggers"]]
    return view.render(request, "tender.html", status, person=app.actor, tender=shown,
                       history=history, labels=labels, forms=forms, done=done,
                       attached=bank.attached_now(history, app.actor, attached),
                       refused=refused, form=form or {},
                       documents=bank.tender_documents(app, tender_id),
                       attach=bank.attach_form(app, tender_id))  # fmt: skip


def _trigger_form(definition: Any, state: str, trigger: str) -> dict[str, Any]:
    """What a trigger's form says it needs: a note, facts."""
    found = [t for t in definition.transitions_from(state) if t.trigger == trigger]
    requires = sorted({name for t in found for name in t.requires})
    dest = dict.fromkeys(definition.state(t.dest).label or t.dest for t in found)
    return {"trigger": trigger, "note_required": any(t.note_required for t in found),
            "requires": requires, "dest": list(dest)}  # fmt: skip


def _sentence(exc: KonkurrenceFlowError) -> str:
    """The sentence `kflow` prints for a refusal (after its `kflow: `)."""
    return refusal(exc).text


# The outbox (secretariat)


def _outbox_routes(pages: FastAPI, view: _Views) -> None:
    @pages.get("/notifications")
    def notifications(request: Request) -> Response:
        app = view.app(request)
        status = request.query_params.get("status") or None
        retried = request.query_params.get("retried", "")
        rows = app.notifications(status)  # it checks the status
        rows.reverse()  # newest first
        failed = [r for r in app.notifications("failed")] if status is None else []
        return view.render(request, "notifications.html", person=app.actor, rows=rows[:300],
                           total=len(rows), failed=failed, status=status,
                           statuses=NOTICE_STATUSES,
                           retried=int(retried) if retried.isascii() and retried.isdigit()
                           and len(retried) < 12 else None)  # fmt: skip

    @pages.post("/notifications/{note_id}/retry")
    async def retry(request: Request, note_id: int) -> Response:
        app = await run_in_threadpool(view.app, request)
        try:
            await _form(request)
        except session.BadForm as exc:
            return view.error(request, exc.status, str(exc))
        await run_in_threadpool(app.retry_notification, note_id)
        return RedirectResponse(f"/notifications?retried={note_id}", 303)


# Exports: tables for spreadsheets


def _export_routes(pages: FastAPI, view: _Views) -> None:
    @pages.get("/export/{name}")
    def export(request: Request, name: str) -> Response:
        """A table as `kflow export csv|xlsx` writes it; for the signed-in person, or for a
        script with `Authorization: Bearer <api token>`. Query: municipality, sheet (csv),
        excel=yes (csv)."""
        try:
            app = _reader(view, request)
        except _Refused as exc:
            response = view.error(request, exc.status, str(exc))
            response.headers.update(exc.headers)
            return response
        table, fmt = _export_name(name)
        return _download(app, table, fmt, request.query_params)


class _Refused(Exception):
    """A request to download refused before it reaches the App: who asks is not known."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.headers = status, headers or {}


def _reader(view: _Views, request: Request) -> App:
    """The signed-in person's App or, with an `Authorization` header, the API token's."""
    header = request.headers.get("authorization")
    if header is None:
        return view.app(request)
    address = _client(request)
    if view.failures.blocked(address):
        raise _Refused(429, "too many failed authentications from this address; wait a minute")
    scheme, _, text = header.partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise tokens.Unauthenticated("no valid token (Authorization: Bearer kf_…)")
        person = tokens.authenticate(view.store, text.strip())
    except tokens.Unauthenticated as exc:
        view.failures.add(address)
        logger().warning("authentication failed", client=address, reason=str(exc),
                         path=request.url.path)  # fmt: skip
        raise _Refused(401, str(exc), {"WWW-Authenticate": "Bearer"}) from exc
    return App(view.store, view.clock.now(), person)


def _export_name(name: str) -> tuple[str, str]:
    """`tenders.xlsx` as ("tenders", "xlsx"); NotFound, naming what exists, for anything else."""
    table, _, fmt = name.rpartition(".")
    if table not in exports.TABLES or fmt not in exports.FORMATS:
        raise NotFound(
            f"there is no export {name[:60]!r}; the exports are /export/TABLE.csv and "
            f"/export/TABLE.xlsx, TABLE one of {', '.join(exports.TABLES)}"
        )
    return table, fmt


def _download(app: App, table: str, fmt: str, query: Any) -> Response:
    """The table as a file to save: CSV (one sheet) or XLSX (every sheet)."""
    found = exports.sheets(app, table, query.get("municipality") or None)
    if fmt == "xlsx":
        body, media, name = exports.to_xlsx(found), exports.XLSX_TYPE, f"{table}.xlsx"
    else:
        sheet = exports.pick(found, query.get("sheet") or None)
        excel = query.get("excel", "") in ("yes", "true", "1")
        body, media = exports.to_csv(sheet, excel=excel), exports.CSV_TYPE
        name = f"{table}.csv" if sheet is found[0] else f"{table}-{sheet.name}.csv"
    headers = {**_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=media, headers=headers)


# Errors, as pages


def _errors(pages: FastAPI, view: _Views) -> None:
    @pages.exception_handler(_SignIn)
    def sign_in(request: Request, _exc: _SignIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"/signin?{urlencode({'next': target})}", 303)

    @pages.exception_handler(KonkurrenceFlowError)
    def domain(request: Request, exc: KonkurrenceFlowError) -> Response:
        return view.error(request, http_status(exc), _sentence(exc))

    @pages.exception_handler(HTTPException)
    def framework(request: Request, exc: HTTPException) -> Response:
        return view.error(request, exc.status_code, str(exc.detail))

    @pages.exception_handler(RequestValidationError)
    def malformed(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return view.error(
            request, 400, f"malformed request: {where}: {first.get('msg', 'invalid')}"
        )

    @pages.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> Response:
        logger().exception("page failed", path=tokens.redact(request.url.path),
                           error=type(exc).__name__)  # fmt: skip
        exc.kflow_logged = True  # type: ignore[attr-defined]  # the API's handler sees it again
        return view.error(request, 500, "the service failed on this page; its log says more")
