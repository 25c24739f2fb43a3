"""kflow: the command line of konkurrence-flow. Parse, call the package, render; no domain logic.

The package is imported lazily, inside each command, so that `kflow --help` stays fast.

With `KFLOW_URL` set, the day-to-day commands ask the shared service instead of a store
(`konkurrence_flow.client.RemoteApp`, the token from KFLOW_TOKEN or `kflow login`): the same
output, the same `--json`, the same exit codes, and neither SQLAlchemy nor SQLModel imported.
The administration of the store stays with the machine that holds it.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import sys
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, NoReturn

import click
from click.core import ParameterSource

if TYPE_CHECKING:
    from datetime import datetime

    from konkurrence_flow.app import App
    from konkurrence_flow.client import RemoteApp
    from konkurrence_flow.definitions import Definition
    from konkurrence_flow.model import Person
    from konkurrence_flow.store import Store

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
OFFSET_OPTION = click.option("--offset", default=0, type=click.IntRange(0, 2**62),
                             help="Skip this many first.")  # fmt: skip


@dataclass
class Settings:
    """The global options, resolved lazily: one store, one actor, one `now` per command."""

    db: str | None
    user: str | None
    now_text: str | None
    verbose: bool
    url: str | None = None  # the shared service (KFLOW_URL): then no store is opened here

    @cached_property
    def store(self) -> Store:
        if self.url:
            _needs_the_store()
        from konkurrence_flow.store import Store, default_url

        return Store(self.db or default_url())

    @cached_property
    def now(self) -> datetime:
        """The one `now` of this command; a malformed --now / KFLOW_NOW is a usage error."""
        from konkurrence_flow.calendar import parse_instant
        from konkurrence_flow.clock import FixedClock, SystemClock
        from konkurrence_flow.errors import PeriodError

        if self.now_text is None:
            if os.environ.get("KFLOW_NOW") == "":
                raise click.UsageError(
                    "KFLOW_NOW is set but empty; unset it to use the system clock, or give a "
                    "date (2007-10-01) or time (2007-10-01T09:30)"
                )
            return SystemClock().now()
        try:
            return FixedClock(parse_instant(self.now_text)).now()
        except PeriodError as exc:
            ctx = click.get_current_context()
            source = ctx.find_root().get_parameter_source("now_text")
            name = "KFLOW_NOW" if source == ParameterSource.ENVIRONMENT else "--now"
            raise click.UsageError(f"{name}: {exc}") from exc

    def ready_store(self) -> Store:
        self.store.require_initialised()
        return self.store

    def actor(self) -> Person:
        """The acting person: registered in the store, and never the scheduler's `system`."""
        import getpass

        from konkurrence_flow.access import require_person
        from konkurrence_flow.model import SYSTEM

        if self.user == "" or (self.user is None and os.environ.get("KFLOW_USER") == ""):
            raise click.UsageError(
                "--user / KFLOW_USER is set but empty; give a person's id, or unset it to act "
                "as your login name"
            )
        name = self.user or getpass.getuser()
        if name == SYSTEM.id:
            require_person(SYSTEM)
        return self.ready_store().person(name)

    @cached_property
    def viewer(self) -> Person | None:
        """The acting person, if registered: what they may do is what read commands show."""
        from konkurrence_flow.errors import NotFound

        try:
            return self.actor()
        except NotFound:  # reading needs no registration: then every trigger is listed
            return None

    def app(self, *, acting: bool = False) -> App | RemoteApp:
        """The application API for this command: as the acting person (`acting`, who must be
        registered), or as whoever reads (anyone; a registered person sees their own triggers).
        With KFLOW_URL, the service's, as the person whose token it is (whatever `acting`)."""
        if self.url:
            from konkurrence_flow import credentials
            from konkurrence_flow.client import RemoteApp

            found = credentials.for_service(self.url)
            return RemoteApp(found.url, found.token, found.hint)
        from konkurrence_flow.app import App

        store = self.ready_store()
        return App(store, self.now, self.actor() if acting else self.viewer)

    def admin(self, what: str) -> Person:
        """The acting person, who must be of the secretariat to do `what`."""
        from konkurrence_flow.access import require_secretariat

        actor = self.actor()
        require_secretariat(actor, what)
        return actor


class KflowGroup(click.Group):
    """Turns the package's refusals into one sentence on stderr and exit code 1."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Refuse an argument that is not text (bytes that were not UTF-8): a usage error."""
        for arg in args:
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError as exc:
                shown = arg.encode("utf-8", "replace").decode("utf-8")
                raise click.UsageError(f"argument {shown!r} is not valid UTF-8 text") from exc
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from konkurrence_flow.errors import DefinitionError, KonkurrenceFlowError

        try:
            return super().invoke(ctx)
        except DefinitionError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            sys.exit(1)
        except KonkurrenceFlowError as exc:
            _fail(str(exc))
        except Exception as exc:
            if (said := _store_trouble(exc, ctx)) is None:
                raise
            if said[0] == 2:
                raise click.UsageError(said[1]) from None
            _fail(said[1])


def _store_trouble(exc: Exception, ctx: click.Context) -> tuple[int, str] | None:
    """A sentence (and exit code) for a store that cannot be opened or used: a URL that is no
    URL, a database that is not there, not reachable or not a database; None for anything else
    (a bug, which keeps its traceback)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import (
        ArgumentError,
        DatabaseError,
        DBAPIError,
        InterfaceError,
        NoSuchModuleError,
        OperationalError,
    )

    settings = ctx.obj if isinstance(ctx.obj, Settings) else None
    from konkurrence_flow.store import default_url

    url = (settings.db if settings else None) or default_url()
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:  # no URL at all: show it as given, any password hidden
        from konkurrence_flow.channels import redacted

        shown = redacted(url)
    forms = "e.g. sqlite:///kflow.db or postgresql+psycopg://user@host/db"
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return 2, f"--db / KFLOW_DB '{shown}' is not a store URL this kflow can open ({forms})"
    if isinstance(exc, ImportError) and _raised_in(exc, f"sqlalchemy{os.sep}dialects"):
        return 2, f"--db / KFLOW_DB '{shown}' needs a database driver kflow does not ship ({forms})"
    # not there, not reachable, or not a database; a constraint or a data error is a bug
    unusable = isinstance(exc, OperationalError | InterfaceError) or type(exc) is DatabaseError
    if isinstance(exc, DBAPIError) and unusable:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        again = "; try again" if "locked" in reason or "busy" in reason else ""
        return 1, f"the store at '{shown}' could not be used: {reason}{again}"
    return None


def _raised_in(exc: BaseException, where: str) -> bool:
    """Whether the exception came through code whose file's path holds `where`."""
    import traceback

    return any(where in frame.filename for frame in traceback.extract_tb(exc.__traceback__))


def _fail(message: str) -> NoReturn:
    click.echo(f"kflow: {message}", err=True)
    sys.exit(1)


def _needs_the_store() -> NoReturn:
    """Refuse, in remote mode, a command that works on the store itself (administration)."""
    from konkurrence_flow.errors import NotAllowed

    ctx, names = click.get_current_context(), []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    raise NotAllowed(
        f"`kflow {' '.join(reversed(names))}` needs direct access to the store: run it on the "
        "machine that holds it, with KFLOW_URL unset"
    )


def _instant(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """Check a time option at parse time: a bad one is a usage error (exit 2)."""
    if value is None:
        return None
    from konkurrence_flow.calendar import parse_instant
    from konkurrence_flow.errors import PeriodError

    try:
        parse_instant(value)
    except PeriodError as exc:
        raise click.BadParameter(str(exc)) from exc
    return value


def _until(_ctx: click.Context, _param: click.Parameter, value: str) -> Any:
    """--until: a day (its end), a quarter expression, or an instant."""
    from konkurrence_flow.calendar import end_of_day, parse_date_expr, parse_instant
    from konkurrence_flow.errors import PeriodError

    try:
        return end_of_day(parse_date_expr(value))
    except PeriodError:
        pass
    try:
        return parse_instant(value)
    except PeriodError as exc:
        raise click.BadParameter(
            f"{value!r} is neither a day (2008-06-30, 'end of Q2 2008') nor a time: {exc}"
        ) from exc


def _facts(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> Any:
    """KEY=VALUE pairs, typed; a malformed one is a usage error (exit 2)."""
    from konkurrence_flow.errors import InvalidInput
    from konkurrence_flow.facts import parse_assignments

    try:
        return parse_assignments(value)
    except InvalidInput as exc:
        raise click.BadParameter(str(exc)) from exc


def _positive(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise click.BadParameter(f"must be a number greater than 0, not {value}")
    return value


MAX_SPEED = 1e9  # about 31 virtual years a second (the demo uses 864000: ten days)


def _speed(ctx: click.Context, param: click.Parameter, value: float) -> float:
    value = _positive(ctx, param, value)
    if value > MAX_SPEED:
        raise click.BadParameter(
            f"must be at most {MAX_SPEED:,.0f} (virtual seconds a second), not {value:g}"
        )
    return value


def _settings() -> Settings:
    return click.get_current_context().find_object(Settings)  # type: ignore[return-value]


def _emit(data: Any) -> None:
    """One JSON document on stdout: never NaN or Infinity (a store written by v0.1.0 may hold
    such a fact; it is printed as null)."""
    from konkurrence_flow.jsonsafe import finite

    click.echo(json.dumps(finite(data), indent=2, ensure_ascii=False, default=str, allow_nan=False))


def _emit_each(items: Iterable[Any]) -> None:
    """A JSON array on stdout, written as it is read: one item a line (the same document as
    `_emit`'s, laid out for a long list), never NaN or Infinity."""
    from konkurrence_flow.jsonsafe import finite

    first = True
    for item in items:
        try:  # the C encoder, fast; only an item holding NaN or Infinity takes the long way
            text = json.dumps(item, ensure_ascii=False, default=str, allow_nan=False)
        except ValueError:
            text = json.dumps(finite(item), ensure_ascii=False, default=str, allow_nan=False)
        click.echo(("[\n  " if first else ",\n  ") + text, nl=False)
        first = False
    click.echo("[]" if first else "\n]")


TABLE_WIDTHS_FROM = 1_000
"""A table's columns are as wide as its first this many rows need: the rest stream after them."""


def _table(rows: Iterable[Iterable[Any]], headers: Iterable[str]) -> None:
    """Columns aligned to the header and the first rows; later rows are printed as they come."""
    rows = iter(rows)
    head = [[str(h) for h in headers]]
    lines = head + [
        ["" if c is None else str(c) for c in r] for r in islice(rows, TABLE_WIDTHS_FROM)
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    rest = (["" if c is None else str(c) for c in r] for r in rows)
    for line in chain(lines, rest):
        click.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


@click.group(cls=KflowGroup)
@click.option("--db", envvar="KFLOW_DB", help="Store URL (KFLOW_DB; default sqlite:///kflow.db).")
@click.option("--user", envvar="KFLOW_USER", help="Acting person's id (KFLOW_USER; default login).")
@click.option("--now", "now_text", envvar="KFLOW_NOW", help="The clock: ISO date or datetime.")
@click.option("-v", "--verbose", is_flag=True, help="Log each act on stderr.")
@click.version_option(package_name="konkurrence-flow")
@click.pass_context
def main(ctx: click.Context, db: str | None, user: str | None, now_text: str | None, verbose: bool):
    """konkurrence-flow: run public tender processes as YAML-defined workflows."""
    if user == "system":
        raise click.BadParameter(
            "'system' is the scheduler's identity, not a person's; act as yourself",
            param_hint="--user / KFLOW_USER",
        )
    ctx.obj = Settings(db, user, now_text, verbose, _service(ctx))
    if verbose:
        from konkurrence_flow.log import configure

        configure(verbose=True)


def _service(ctx: click.Context) -> str | None:
    """KFLOW_URL, checked; with it, who acts is the token's and when is the service's clock, so
    --user and --now (or KFLOW_USER and KFLOW_NOW) would mislead: they are refused."""
    from konkurrence_flow.errors import InvalidInput

    text = os.environ.get("KFLOW_URL")
    if not text:
        return None
    from konkurrence_flow.credentials import service_url

    try:
        url = service_url(text)
    except InvalidInput as exc:
        raise click.UsageError(str(exc)) from exc
    for option, param, says in (
        ("--user / KFLOW_USER", "user", "your token decides who acts"),
        ("--now / KFLOW_NOW", "now_text", "the service keeps the time"),
    ):
        if ctx.params[param] is not None:
            raise click.UsageError(f"{option} does not apply with KFLOW_URL: {says}; unset it")
    return url


@main.command()
def init() -> None:
    """Create or upgrade the store; register you as secretariat if nobody exists yet."""
    import getpass

    from konkurrence_flow.identifiers import person_id_problem

    settings = _settings()
    store = settings.store
    problem = person_id_problem(settings.user or getpass.getuser())
    if problem:  # before anything is created: the first secretariat would get this id
        _fail(problem)
    found = store.schema()
    if found.state == "behind":
        click.echo(f"upgrading the store from {found.revision} to {found.head} …")
    before, _after = store.upgrade()
    person = store.register_first(settings.user)
    if before.state == "empty":
        click.echo(f"store created at {store.safe_url} (schema {before.head})")
    elif before.state == "behind":
        click.echo(f"store upgraded from {before.revision} to {before.head}")
    click.echo(f"store ready at {store.safe_url}")
    if person is not None:
        click.echo(f"registered {person.id} as secretariat")


@main.group()
def db() -> None:
    """The store itself: its schema revision."""


@db.command("status")
@JSON_OPTION
def db_status(as_json: bool) -> None:
    """The store's schema revision, the newest this kflow knows, and what an upgrade would run."""
    store = _settings().store
    found = store.schema()
    if as_json:
        _emit(
            {"url": store.safe_url, "revision": found.revision, "head": found.head,
             "state": found.state, "pending": list(found.pending), "legacy": found.legacy}
        )  # fmt: skip
        return
    click.echo(f"store:    {store.safe_url}")
    click.echo(f"schema:   {found.revision or 'none (no store yet)'}"
               + (" (made by v0.1.0)" if found.legacy else ""))  # fmt: skip
    click.echo(f"this kflow: {found.head}")
    click.echo(_SCHEMA_SAYS[found.state].format(pending=", ".join(found.pending)))
    if found.state in ("ahead", "foreign"):
        sys.exit(1)


_SCHEMA_SAYS = {
    "empty": "no store yet: `kflow init` creates one ({pending})",
    "current": "up to date",
    "behind": "out of date: `kflow init` upgrades it ({pending})",
    "ahead": "newer than this kflow: upgrade konkurrence-flow; it will not be written to",
    "foreign": "not a konkurrence-flow store: its tables belong to something else",
}


# -- definitions -------------------------------------------------------------------------------


@main.group()
def definitions() -> None:
    """Process definitions (YAML state machines)."""


@definitions.command("validate")
@click.argument("paths", nargs=-1, required=True)
def definitions_validate(paths: tuple[str, ...]) -> None:
    """Check definition files or folders; print every problem; exit 1 if any."""
    from konkurrence_flow.definitions import validate_paths

    found, problems = validate_paths(paths)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        sys.exit(1)
    for definition in found:
        click.echo(
            f"{definition.path}: {definition.name} is valid ({len(definition.states)} states)"
        )


@definitions.command("load")
@click.argument("paths", nargs=-1, required=True)
def definitions_load(paths: tuple[str, ...]) -> None:
    """Validate and store definitions; a changed file becomes a new version."""
    from konkurrence_flow.definitions import validate_paths
    from konkurrence_flow.errors import DefinitionError

    settings = _settings()
    settings.admin("load definitions")
    found, problems = validate_paths(paths)
    if problems:
        raise DefinitionError(problems)
    store = settings.ready_store()
    for definition in found:
        version, what = store.load_definition(definition, settings.now)
        click.echo(f"{definition.name} v{version}: {what}")


@definitions.command("list")
@JSON_OPTION
def definitions_list(as_json: bool) -> None:
    """Every stored definition and version."""
    stored = _settings().ready_store().definitions()
    if as_json:
        _emit(
            [
                {"name": d.name, "version": d.version, "title": d.title, "sha256": d.sha256,
                 "path": d.path, "loaded_at": d.loaded_at.isoformat()}
                for d in stored
            ]
        )  # fmt: skip
        return
    _table(((d.name, d.version, d.title, d.path) for d in stored), ("NAME", "V", "TITLE", "PATH"))


@definitions.command("show")
@click.argument("name")
@click.option("--version", "version", type=click.IntRange(1, 2**31),
              help="A stored version (default: latest).")  # fmt: skip
@JSON_OPTION
def definitions_show(name: str, version: int | None, as_json: bool) -> None:
    """A definition's states and transitions."""
    number, definition = _settings().ready_store().versioned_definition(name, version)
    if as_json:
        _emit(_definition_json(definition, number))
        return
    click.echo(f"{definition.name} v{number}: {definition.title}")
    click.echo("states:")
    for state in definition.states.values():
        marks = " (initial)" if state.name == definition.initial else ""
        marks += " (final)" if state.final else ""
        click.echo(f"  {state.name}{marks}: {state.label}")
    click.echo("transitions:")
    for t in definition.transitions:
        click.echo(
            f"  {t.trigger}: {', '.join(t.sources)} -> {t.dest}  [{', '.join(sorted(t.roles))}]"
        )


def _definition_json(definition: Definition, version: int) -> dict[str, Any]:
    return {
        "name": definition.name,
        "version": version,
        "title": definition.title,
        "initial": definition.initial,
        "states": [
            {"name": s.name, "label": s.label, "final": s.final,
             "after": {"period": str(s.after.period), "trigger": s.after.trigger}
             if s.after else None}
            for s in definition.states.values()
        ],
        "transitions": [
            {"trigger": t.trigger, "sources": list(t.sources), "dest": t.dest,
             "roles": sorted(t.roles), "requires": list(t.requires),
             "min_period": str(t.min_period) if t.min_period else None,
             "note_required": t.note_required, "signoff": t.signoff,
             "when": {name: list(values) for name, values in t.when} or None}
            for t in definition.transitions
        ],
    }  # fmt: skip


@definitions.command("graph")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid")
def definitions_graph(name: str, fmt: str) -> None:
    """The state graph as mermaid or DOT text."""
    from konkurrence_flow.graph import graph

    click.echo(graph(_settings().ready_store().definition(name), fmt))


# -- people ------------------------------------------------------------------------------------


@main.group()
def person() -> None:
    """People and their roles."""


@person.command("add")
@click.argument("person_id")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["project_leader", "secretariat"]))
@click.option("--municipality", help="Code or name (required for a project leader).")
def person_add(person_id: str, name: str, email: str, role: str, municipality: str | None) -> None:
    """Register a person."""
    from konkurrence_flow.model import Person

    settings = _settings()
    settings.admin("add people")
    added = settings.ready_store().add_person(Person(person_id, name, email, role, municipality))
    click.echo(
        f"added {added.id} ({added.role}{', ' + added.municipality if added.municipality else ''})"
    )


@person.command("list")
@JSON_OPTION
def person_list(as_json: bool) -> None:
    """Everyone registered."""
    people = _settings().ready_store().people()
    if as_json:
        _emit([{"id": p.id, "name": p.name, "email": p.email, "role": p.role,
                "municipality": p.municipality} for p in people])  # fmt: skip
        return
    _table(((p.id, p.name, p.role, p.municipality, p.email) for p in people),
           ("ID", "NAME", "ROLE", "MUNICIPALITY", "EMAIL"))  # fmt: skip


# -- tenders -----------------------------------------------------------------------------------


@main.group()
def tender() -> None:
    """Create and inspect tenders."""


@tender.command("create")
@click.option("--definition", required=True)
@click.option("--title", required=True)
@click.option("--id", "tender_id")
@click.option("--programme")
@click.option("--municipality", "municipalities", multiple=True, help="Code or name; repeatable.")
@click.option("--leader")
@click.option("--area")
@click.option("--procedure")
@click.option("--regime")
@JSON_OPTION
def tender_create(as_json: bool, **options: Any) -> None:
    """Start a tender in its definition's initial state."""
    from konkurrence_flow.model import NewTender

    spec = NewTender(
        definition=options["definition"], title=options["title"], id=options["tender_id"],
        programme=options["programme"], municipalities=tuple(options["municipalities"]),
        leader=options["leader"], area=options["area"], procedure=options["procedure"],
        regime=options["regime"],
    )  # fmt: skip
    created = _settings().app(acting=True).create_tender(spec)
    if as_json:
        _emit(created)
        return
    click.echo(f"created {created['id']} in '{created['state']}'")


@tender.command("list")
@click.option("--municipality", help="Code or name.")
@click.option("--state")
@click.option("--overdue", is_flag=True, help="Only tenders whose current step is overdue.")
@click.option("--limit", type=click.IntRange(1, 10_000), help="At most this many (a page).")
@OFFSET_OPTION
@JSON_OPTION
def tender_list(
    municipality: str | None,
    state: str | None,
    overdue: bool,
    limit: int | None,
    offset: int,
    as_json: bool,
) -> None:
    """Tenders by id, filtered (in the store's own query), a page with --limit/--offset."""
    app = _settings().app()
    if limit is None and not offset:  # all of them: read and printed a chunk at a time
        rows: Iterable[dict[str, Any]] = app.each_tender(municipality, state, overdue,
                                                         brief=not as_json)  # fmt: skip
    else:
        rows = app.tenders(municipality, state, overdue, limit=limit, offset=offset)
    if as_json:
        _emit_each(rows)
        return
    _table(
        ((r["id"], r["state"], r["due"], r["days_overdue"] or "", ",".join(r["municipalities"]),
          r["title"]) for r in rows),
        ("ID", "STATE", "DUE", "LATE", "MUNICIPALITIES", "TITLE"),
    )  # fmt: skip


@tender.command("show")
@click.argument("tender_id")
@JSON_OPTION
def tender_show(tender_id: str, as_json: bool) -> None:
    """One tender: state, due date, facts, allowed triggers, sign-offs."""
    data = _settings().app().tender(tender_id)
    if as_json:
        _emit(data)
        return
    click.echo(f"{data['id']}: {data['title']}")
    click.echo(f"  definition  {data['definition']} v{data['definition_version']}")
    click.echo(f"  state       {data['state']} ({data['state_label']}) since {data['entered_at']}")
    if data["due"]:
        late = f", {data['days_overdue']} days overdue" if data["overdue"] else ""
        click.echo(f"  due         {data['due']}{late}")
    if data["timer_at"]:
        click.echo(f"  timer       {data['timer_trigger']} fires at {data['timer_at']}")
    leader = f"leader {data['leader']}" if data["leader"] else "no leader"
    click.echo(f"  municipalities {', '.join(data['municipalities']) or 'none'}; {leader}")
    for key, value in data["facts"].items():
        click.echo(f"  fact        {key} = {value}")
    for trigger, signed in data["signoffs"].items():
        waiting = ", ".join(data["signoffs_pending"][trigger])
        click.echo(f"  signed off  {trigger}: {', '.join(signed)}; waiting for {waiting}")
    for note in data["legal_notes"]:
        click.echo(f"  legal       {note}")
    for warning in data["warnings"]:
        click.echo(f"  warning     {warning}")
    none = "(none: it is final)" if data["final"] else "(none for you here)"
    click.echo(f"  triggers    {', '.join(data['triggers']) or none}")


@tender.command("history")
@click.argument("tender_id")
@JSON_OPTION
def tender_history(tender_id: str, as_json: bool) -> None:
    """A tender's events, in order."""
    events = _settings().app().history(tender_id)
    if as_json:
        _emit(events)
        return
    _table(
        ((e["seq"], e["occurred_at"][:16], e["kind"], e["trigger"] or "", _move(e), e["actor"],
          e["note"] or "") for e in events),
        ("SEQ", "OCCURRED", "KIND", "TRIGGER", "MOVE", "ACTOR", "NOTE"),
    )  # fmt: skip


def _move(event: dict[str, Any]) -> str:
    if event["source"] is None:
        return f"created in {event['dest']}"
    if event["source"] == event["dest"]:
        data = event["data"]
        if "signoff" in data:
            return f"signed off by {data['signoff']}"
        if "overdue" in data:
            return f"overdue (due {data['overdue']})"
        if "attached" in data:
            doc = data["attached"]
            if "withheld" in doc:
                return f"attached a draft {doc.get('kind')} (v{doc.get('version')})"
            return f"attached '{doc.get('title')}' v{doc.get('version')} ({doc.get('kind')})"
        if "due_moved" in data:
            return f"due moved to {data['due_moved']['to']} ({data['due_moved']['milestone']})"
        if data.get("timer") == "moved":
            return f"timer moved to {data.get('to', '?')[:16]}"
        if "timer" in data:
            return "timed transition refused"
        return "set " + ", ".join(f"{k}={v}" for k, v in data.get("set", {}).items())
    return f"{event['source']} -> {event['dest']}"


@tender.command("set")
@click.argument("tender_id")
@click.argument("assignments", nargs=-1, required=True, callback=_facts)
def tender_set(tender_id: str, assignments: dict[str, Any]) -> None:
    """Record facts on a tender: KEY=VALUE (numbers, yes/no, dates, text)."""
    _settings().app(acting=True).set_facts(tender_id, assignments)
    click.echo(f"{tender_id}: recorded {', '.join(assignments)}")


@main.command()
@click.argument("tender_id")
@click.argument("trigger")
@click.option("--note", help="Why (mandatory for some triggers).")
@click.option("--set", "assignments", multiple=True, callback=_facts,
              help="KEY=VALUE fact recorded with the act.")  # fmt: skip
@click.option("--at", "at_text", callback=_instant,
              help="Earlier effective time (ISO date or datetime).")  # fmt: skip
@JSON_OPTION
def advance(
    tender_id: str,
    trigger: str,
    note: str | None,
    assignments: dict[str, Any],
    at_text: str | None,
    as_json: bool,
) -> None:
    """Fire TRIGGER on tender TENDER_ID."""
    from konkurrence_flow.calendar import parse_instant

    at = parse_instant(at_text) if at_text else None
    outcome = (
        _settings()
        .app(acting=True)
        .advance(tender_id, trigger, note=note, facts=assignments, at=at)
    )
    if as_json:
        _emit(outcome)
    elif outcome["changed"]:
        click.echo(f"{tender_id}: {outcome['source']} -> {outcome['dest']}")
    else:
        click.echo(
            f"{tender_id}: {outcome['signoff']} signed off '{trigger}'; "
            f"waiting for {', '.join(outcome['pending'])}"
        )


# -- the materials bank ------------------------------------------------------------------------

_KINDS = ("udbudsbekendtgoerelse", "kravspecifikation", "kontrakt", "evaluering", "effektmaaling",
          "andet")  # fmt: skip
"""`konkurrence_flow.documents.KINDS`, spelled out so that building the command line imports
nothing (tests/test_materials.py holds the two equal)."""


@tender.command("attach")
@click.argument("tender_id")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, readable=True))  # fmt: skip
@click.option("--kind", default="andet", show_default=True, type=click.Choice(_KINDS),
              help="What the documents are.")  # fmt: skip
@click.option("--title", help="The document's title (one FILE; default: from its file name). "
              "The same title again is a new version; the old ones are kept.")  # fmt: skip
@JSON_OPTION
def tender_attach(
    tender_id: str, paths: tuple[str, ...], kind: str, title: str | None, as_json: bool
) -> None:
    """Attach FILEs (PDF, DOCX, XLSX, ODT, plain text) to tender TENDER_ID: all or none."""
    from pathlib import Path

    from konkurrence_flow.documents import Upload

    uploads = [Upload(Path(p), Path(p).name) for p in paths]
    attached = _settings().app(acting=True).attach(tender_id, uploads, kind=kind, title=title)
    if as_json:
        _emit(attached)
        return
    for f in attached:
        click.echo(f"{tender_id}: attached file {f['id']}, '{f['title']}' v{f['version']} "
                   f"({f['kind']}, {f['format']}, {_size(f['size'])}, sha256 {f['sha256'][:12]}…)")  # fmt: skip


@tender.command("files")
@click.argument("tender_id")
@JSON_OPTION
def tender_files(tender_id: str, as_json: bool) -> None:
    """The documents of tender TENDER_ID, every version (if you may see them)."""
    found = _settings().app().files(tender_id)
    if as_json:
        _emit(found)
        return
    if not found:
        click.echo(f"{tender_id} has no documents yet (`kflow tender attach {tender_id} FILE`)")
        return
    _table(
        ((f["id"], f["title"], f["version"], f["kind"], f["format"], _size(f["size"]),
          f["attached_at"][:10], f["attached_by"]) for f in found),
        ("FILE", "TITLE", "V", "KIND", "FORMAT", "SIZE", "ATTACHED", "BY"),
    )  # fmt: skip


def _size(size: int) -> str:
    for unit, step in (("MB", 1_000_000), ("kB", 1_000)):
        if size >= step:
            return f"{size / step:.1f} {unit}"
    return f"{size} B"


@main.group("file")
def file_group() -> None:
    """A document of the materials bank."""


@file_group.command("get")
@click.argument("file_id", type=click.IntRange(1, 2**62))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to FILE ('-': stdout; default: the document's file name, here).")  # fmt: skip
def file_get(file_id: int, output: str | None) -> None:
    """Fetch document FILE_ID, byte for byte (its SHA-256 checked as it is written)."""
    import hashlib
    import tempfile
    from pathlib import Path

    found, chunks = _settings().app().file_content(file_id)
    if output == "-":
        if _stdout_is_terminal() and not found["media_type"].startswith("text/"):
            raise click.UsageError(f"file {file_id} is {found['format']}, binary: give -o FILE")
        sha = hashlib.sha256()
        for chunk in chunks:
            sha.update(chunk)
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        _check_sha(found, sha.hexdigest(), sent=True)
        return
    target = Path(output) if output else Path(Path(found["filename"]).name or f"file-{file_id}")
    if output is None and target.exists():
        _fail(f"{target} exists already; give -o PATH to write file {file_id} elsewhere")
    partial = None
    try:
        with tempfile.NamedTemporaryFile("wb", dir=target.parent or ".", prefix=f".{target.name}.",
                                         delete=False) as out:  # fmt: skip
            partial = Path(out.name)
            sha = hashlib.sha256()
            for chunk in chunks:
                sha.update(chunk)
                out.write(chunk)
        _check_sha(found, sha.hexdigest())
        partial.replace(target)
    except OSError as exc:
        _fail(f"cannot write {target}: {exc.strerror or exc}")
    finally:  # a refusal or a failure on the way leaves no part of the file behind
        if partial is not None:
            partial.unlink(missing_ok=True)
    click.echo(f"wrote {target} (file {file_id}, '{found['title']}' v{found['version']}, "
               f"{_size(found['size'])})", err=True)  # fmt: skip


def _check_sha(found: dict[str, Any], sha256: str, sent: bool = False) -> None:
    if sha256 != found["sha256"]:
        _fail(f"file {found['id']}'s stored bytes do not match its SHA-256: the store was changed "
              "behind kflow's back (see `kflow audit verify`); "
              f"{'discard what was printed' if sent else 'nothing was written'}")  # fmt: skip


@main.group()
def materials() -> None:
    """The materials bank: the network's tender documents, searchable."""


def _bank_page(command: Callable[..., None]) -> Callable[..., None]:
    """The options of a list of the materials bank: area, kind, a page of it, JSON."""
    for option in reversed((
        click.option("--area", help="Only tenders of this area (e.g. sundhed)."),
        click.option("--kind", type=click.Choice(_KINDS), help="Only documents of this kind."),
        click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 200)),
        OFFSET_OPTION, JSON_OPTION,
    )):  # fmt: skip
        command = option(command)
    return command


@materials.command("search")
@click.argument("query")
@_bank_page
def materials_search(
    query: str, area: str | None, kind: str | None, limit: int, offset: int, as_json: bool
) -> None:
    """Documents whose title or text holds every word of QUERY, title hits first (the latest
    version of each; only what you may see; a page with --limit/--offset)."""
    hits = _settings().app().search_materials(query, area=area, kind=kind, limit=limit,
                                              offset=offset)  # fmt: skip
    if as_json:
        _emit(hits)
        return
    if not hits:
        click.echo(f"no document you may see holds {query!r}"
                   + (f" from offset {offset}: there are fewer" if offset else ""))  # fmt: skip
        return
    for hit in hits:
        _echo_found(hit)
        if hit["snippet"]:
            click.echo(f"  {hit['snippet']}")


@materials.command("recent")
@_bank_page
def materials_recent(
    area: str | None, kind: str | None, limit: int, offset: int, as_json: bool
) -> None:
    """The documents attached last, newest first (the latest version of each; only what you
    may see; a page with --limit/--offset)."""
    found = _settings().app().recent_materials(area=area, kind=kind, limit=limit, offset=offset)
    if as_json:
        _emit(found)
        return
    if not found:
        click.echo("no document you may see" + (" of that area or kind" if area or kind else "")
                   + (f" from offset {offset}: there are fewer" if offset else ""))  # fmt: skip
        return
    for item in found:
        _echo_found(item, attached=True)


def _echo_found(item: dict[str, Any], *, attached: bool = False) -> None:
    """A document of the materials bank in two lines: the file, then its tender."""
    f, t = item["file"], item["tender"]
    places = ", ".join(m["name"] for m in t["municipalities"])
    when = f"  attached {f['attached_at'][:10]} by {f['attached_by']}" if attached else ""
    click.echo(f"file {f['id']}  {f['title']} v{f['version']} ({f['kind']}, {f['format']}){when}")
    click.echo(f"  {t['id']} {t['title']} · {places} · {t['area'] or 'no area'} · {t['year']}")


# -- programmes --------------------------------------------------------------------------------


@main.group()
def programme() -> None:
    """Programmes: timelines with milestones, municipalities, people and planned tenders."""


@programme.command("load")
@click.argument("path")
def programme_load(path: str) -> None:
    """Load a workflows/ file (idempotent); moved milestones move the due dates that use them."""
    from konkurrence_flow.programme import load_programme

    settings = _settings()
    settings.admin("load programmes")
    report = settings.ready_store().load_programme(load_programme(path), settings.now)
    click.echo(f"programme {report.name}: {report.status}")
    for label, items in (("tenders created", report.tenders_created),
                         ("people added", report.people_added),
                         ("people updated", report.people_updated)):  # fmt: skip
        if items:
            click.echo(
                f"  {label}: {len(items)} ({', '.join(items[:8])}{', …' if len(items) > 8 else ''})"
            )
    for name, (before, after) in report.milestones_moved.items():
        click.echo(f"  milestone {name} moved: {before} -> {after}")
    for tender_id, state, was, moved_to, _ in report.dues_moved:
        click.echo(f"  {tender_id} ({state}): due {was} -> {moved_to}")


@programme.command("show")
@click.argument("name", required=False)
@JSON_OPTION
def programme_show(name: str | None, as_json: bool) -> None:
    """A programme's timeline: quarters, milestones, and which tenders are due when."""
    shown = _settings().app().programme(name)
    if as_json:
        _emit(shown)
        return
    click.echo(f"{shown['title']} ({shown['name']}): {shown['start']} – {shown['end']}")
    click.echo(f"  {len(shown['municipalities'])} municipalities, {shown['people']} people, "
               f"{shown['planned_tenders']} planned tenders")  # fmt: skip
    for quarter in shown["quarters"]:
        click.echo(f"{quarter['quarter']}  ({quarter['start']} – {quarter['end']})")
        for m in quarter["milestones"]:
            planned = " (planned)" if m["planned"] else ""
            due = f"  — {len(m['due'])} due" if m["due"] else ""
            click.echo(f"  {m['date']}  {m['label']}{planned}{due}")


# -- time --------------------------------------------------------------------------------------


@main.command()
@click.option("--municipality", help="Code or name.")
@click.option("--limit", type=click.IntRange(1, 10_000), help="At most this many (a page).")
@OFFSET_OPTION
@JSON_OPTION
def overdue(municipality: str | None, limit: int | None, offset: int, as_json: bool) -> None:
    """Every overdue step as of the clock, most overdue first (a page with --limit/--offset)."""
    app = _settings().app()
    if limit is None and not offset:  # all of them: read and printed a chunk at a time
        found: Iterator[dict[str, Any]] = app.each_overdue(municipality)
    else:
        found = iter(app.overdue(municipality, limit=limit, offset=offset))
    if as_json:
        _emit_each(found)
        return
    first = next(found, None)
    if first is None:
        click.echo(f"no overdue step from offset {offset}: there are fewer"
                   if offset else "nothing is overdue")  # fmt: skip
        return
    _table(((r["tender"], r["state"], r["due"], r["days_overdue"], ",".join(r["municipalities"]),
             r["leader"]) for r in chain([first], found)),
           ("TENDER", "STATE", "DUE", "DAYS", "MUNICIPALITIES", "LEADER"))  # fmt: skip


def _progress(label: str) -> Callable[[list[str]], Iterable[str]]:
    """A progress bar on stderr for long passes, when stderr is a terminal."""

    def wrap(ids: list[str]) -> Iterable[str]:
        if len(ids) < 50 or not sys.stderr.isatty():
            return ids
        bar = click.progressbar(ids, label=label, file=sys.stderr)
        return _through(bar)

    return wrap


class _Bar:
    """A progress bar on stderr for a long tick, when stderr is a terminal (`show(done, total)`)."""

    def __init__(self, label: str) -> None:
        self.label, self.done = label, 0
        self.bar: Any = None

    def show(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < 50 or not sys.stderr.isatty():
                return
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
        self.bar.update(done - self.done)
        self.done = done

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.bar is not None:
            self.bar.render_finish()


def _through(bar: Any) -> Iterable[str]:
    with bar as items:
        yield from items


@main.command()
@JSON_OPTION
def tick(as_json: bool) -> None:
    """One scheduler pass as of the clock (cron-friendly, idempotent)."""
    from konkurrence_flow.scheduler import tick as run_tick
    from konkurrence_flow.scheduler import tick_json

    settings = _settings()
    with _Bar("catching up") as bar:
        report = run_tick(settings.ready_store(), settings.now, bar.show)
    if as_json:
        _emit(tick_json(report))
    else:
        _print_tick(report)
    if report.failed:
        _fail(f"{len(report.failed)} {_plural(len(report.failed))} failed to catch up (see "
              "above); every other tender was caught up")  # fmt: skip


def _print_tick(report: Any) -> None:
    from konkurrence_flow.calendar import local_date

    for h in sorted(report.happenings, key=lambda h: (h.at, h.tender)):
        detail = f"{h.detail} (skipped: the due date has passed)" if h.skipped else h.detail
        click.echo(f"{local_date(h.at)}  {h.tender:<14} {h.what:<9} {h.state}: {detail}")
    for f in report.failed:
        click.echo(f"{local_date(report.at)}  {f.tender:<14} {'failed':<9} {f.reason}")
    click.echo(f"tick {report.at.isoformat()}: {len(report.of('advance'))} advanced, "
               f"{len(report.of('overdue'))} flagged overdue, {len(report.of('reminder'))} "
               f"reminders, {report.notifications} notifications queued"
               + (f", {len(report.retry)} changed meanwhile (next tick)" if report.retry else "")
               + (f", {len(report.failed)} failed" if report.failed else ""))  # fmt: skip


@main.command()
@click.option("--until", "until", required=True, callback=_until,
              help="A day (to its end), a quarter expression or an ISO datetime.")  # fmt: skip
@JSON_OPTION
def forecast(until: Any, as_json: bool) -> None:
    """What happens by --until if nobody acts: timed transitions, reminders, overdue steps."""
    rows = _settings().app().forecast(until, _progress("forecasting"))
    if as_json:
        _emit(rows)
        return
    if not rows:
        click.echo(f"nothing happens by {_by(until)} if nobody acts (no timer, reminder, overdue "
                   "step or escalation falls due)")  # fmt: skip
        return
    _table(((r["date"], r["tender"], r["what"], r["state"], r["detail"],
             "INFEASIBLE" if r["infeasible"] else "") for r in rows),
           ("DATE", "TENDER", "WHAT", "STATE", "DETAIL", "PLAN"))  # fmt: skip


def _by(until: datetime) -> str:
    """An instant as a person says it: 'the end of 2008-06-30' for midnight, else local time."""
    from datetime import time, timedelta

    from konkurrence_flow.calendar import TZ

    local = until.astimezone(TZ)
    if local.time() == time(0):
        return f"the end of {(local.date() - timedelta(days=1)).isoformat()}"
    return local.isoformat(timespec="minutes")


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    """A day option: an ISO date or a quarter expression; a bad one is a usage error."""
    if value is None:
        return None
    from konkurrence_flow.calendar import parse_date_expr
    from konkurrence_flow.errors import PeriodError

    try:
        return parse_date_expr(value)
    except PeriodError as exc:
        raise click.BadParameter(str(exc)) from exc


class _LawNames(click.Choice[str]):
    """One of the law's names (regimes, procedures, stages), read from `konkurrence_flow.legal`
    only when the option is used or shown: importing the law and its holiday calendar when the
    command line is built would cost every command, a remote one too, some 50 ms."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from konkurrence_flow import legal

        names = {"regime": legal.REGIMES, "procedure": legal.PROCEDURES, "stage": legal.STAGES}
        return tuple(names[self.what])

    @choices.setter
    def choices(self, _given: tuple[str, ...]) -> None:
        """The names are the law's: what `Choice.__init__` sets is not kept."""


@main.group()
def token() -> None:
    """Access tokens for the shared service (the secretariat, on the machine with the store)."""


@token.command("create")
@click.argument("person_id")
@click.option("--label", help="What the token is for (a laptop, a script).")
@click.option("--expires", callback=_day, help="Last day it works (default: until revoked).")
@click.option("--link", is_flag=True,
              help="A one-time sign-in link to the dashboard instead (valid 3 days).")  # fmt: skip
@click.option("--calendar", is_flag=True,
              help="A calendar feed URL instead (read-only, until revoked).")  # fmt: skip
@click.option("--url", "base_url", default="http://127.0.0.1:8000", show_default=True,
              help="The service's address, for --link and --calendar.")  # fmt: skip
@JSON_OPTION
def token_create(
    person_id: str,
    label: str | None,
    expires: Any,
    link: bool,
    calendar: bool,
    base_url: str,
    as_json: bool,
) -> None:
    """Issue a token for PERSON_ID; it is printed once and only its hash is kept. With --link, a
    one-time sign-in link for the dashboard (the token rides after '#', which no server logs)."""
    from konkurrence_flow import tokens

    settings = _settings()
    settings.admin("issue tokens")
    if link or calendar:
        if link and calendar:
            raise click.UsageError("give --link or --calendar, not both")
        if label is not None or expires is not None:
            raise click.UsageError("--link and --calendar take no --label or --expires")
        create = tokens.create_link if link else tokens.create_calendar
        base = _service_base(base_url)  # before the token: a refusal writes nothing
        _print_link(*create(settings.ready_store(), person_id), base, as_json)
        return
    made, text = tokens.create(settings.ready_store(), person_id, label, expires)
    if as_json:
        _emit({"id": made.id, "person": made.person, "token": text,
               "expires": made.expires.isoformat() if made.expires else None})  # fmt: skip
        return
    click.echo(text)
    until = f"until the end of {made.expires}" if made.expires else "until revoked"
    click.echo(f"token {made.id} for {made.person}, {until}; it is shown only now", err=True)


def _service_base(base_url: str) -> str:
    """--url checked: the service's http(s) address, without a trailing slash."""
    try:
        parsed = urllib.parse.urlsplit(base_url)
        valid = parsed.scheme in ("http", "https") and bool(parsed.hostname)
    except ValueError:  # a port that is no number, a bracket left open
        valid = False
    if not valid or parsed.query or parsed.fragment:
        raise click.UsageError(f"--url {base_url[:80]!r} is not the service's http(s) address")
    return base_url.rstrip("/")


def _print_link(made: Any, text: str, base: str, as_json: bool) -> None:
    from konkurrence_flow.reports import instant

    url = f"{base}/calendar/{text}.ics" if made.kind == "calendar" else f"{base}/signin#{text}"
    if as_json:
        _emit({"id": made.id, "person": made.person, "link": url,
               "expires_at": instant(made.expires_at)})  # fmt: skip
        return
    click.echo(url)
    if made.kind == "calendar":
        click.echo(f"calendar feed {made.id} for {made.person}: read-only, until revoked "
                   f"(kflow token revoke {made.id}); it is shown only now", err=True)  # fmt: skip
        return
    click.echo(f"sign-in link {made.id} for {made.person}: it works once, until "
               f"{instant(made.expires_at)}; it is shown only now", err=True)  # fmt: skip


@token.command("list")
@JSON_OPTION
def token_list(as_json: bool) -> None:
    """Every token (never its secret), oldest first."""
    from konkurrence_flow import tokens

    settings = _settings()
    settings.admin("list tokens")
    rows = [t.json() for t in tokens.tokens(settings.ready_store())]
    if as_json:
        _emit(rows)
        return
    _table(((r["id"], r["person"], r["kind"], r["label"] or "", r["created_at"][:16],
             r["expires"] or (r["expires_at"] or "")[:16], (r["last_used_at"] or "")[:16],
             "revoked" if r["revoked"] else "") for r in rows),
           ("ID", "PERSON", "KIND", "LABEL", "CREATED", "EXPIRES", "LAST USED", ""))  # fmt: skip


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token at once."""
    from konkurrence_flow import tokens

    settings = _settings()
    settings.admin("revoke tokens")
    revoked = tokens.revoke(settings.ready_store(), token_id)
    click.echo(f"token {revoked.id} of {revoked.person} is revoked")


@main.group()
def export() -> None:
    """Deadlines for calendars (iCalendar) and tables for spreadsheets (CSV, XLSX)."""


# -- exports: tables (csv, xlsx) -----------------------------------------------------------------

_TABLES = ("tenders", "overdue", "effects", "history")
"""`konkurrence_flow.exports.TABLES`, spelled out so that building the command line imports nothing
(tests/test_exports.py holds the two equal)."""


@export.command("csv")
@click.argument("table", type=click.Choice(_TABLES))
@click.option("--municipality", help="Code or name (tenders, overdue, history).")
@click.option("--sheet", help="effects: tenders (the default), areas or municipalities.")
@click.option("--excel", is_flag=True,
              help="For Danish Excel: UTF-8 with a byte order mark, ';' between fields, decimal "
                   "comma.")  # fmt: skip
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE (default: stdout)."
)
def export_csv(
    table: str, municipality: str | None, sheet: str | None, excel: bool, output: str | None
) -> None:
    """TABLE as CSV (RFC 4180, UTF-8): the rows of its `--json`, a column per key."""
    from konkurrence_flow import exports

    found = exports.pick(exports.sheets(_settings().app(), table, municipality), sheet)
    _write_export(exports.to_csv(found, excel=excel), output, _rows_said([found]))


@export.command("xlsx")
@click.argument("table", type=click.Choice(_TABLES))
@click.option("--municipality", help="Code or name (tenders, overdue, history).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to FILE (default: stdout, when it is not a terminal).")  # fmt: skip
def export_xlsx(table: str, municipality: str | None, output: str | None) -> None:
    """TABLE as an Excel workbook: typed cells, a frozen header with filters; a sheet per part
    (effects: tenders, areas, municipalities)."""
    from konkurrence_flow import exports

    if output is None and _stdout_is_terminal():
        raise click.UsageError(
            "an .xlsx file is binary and would garble the terminal: give -o FILE, or redirect "
            "stdout to a file or a pipe"
        )
    found = exports.sheets(_settings().app(), table, municipality)
    _write_export(exports.to_xlsx(found), output, _rows_said(found))


def _rows_said(found: list[Any]) -> str:
    """`tenders: 1 row; areas: 3 rows`."""
    return "; ".join(f"{s.name}: {len(s.rows)} row{'' if len(s.rows) == 1 else 's'}" for s in found)


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _write_export(data: bytes, output: str | None, what: str) -> None:
    """The file's bytes on stdout, or into `output` (then a line on stderr saying so)."""
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        with open(output, "wb") as out:
            out.write(data)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(f"wrote {output} ({what})", err=True)


# -- exports: calendars (ical) -------------------------------------------------------------------


@export.command("ical")
@click.option("--person", "person_id", help="Whose calendar (default: yours; another person's: "
              "the secretariat).")  # fmt: skip
@click.option("--municipality", help="Only this municipality's tenders (code or name).")
@click.option("--programme", help="Only this programme's tenders and milestones.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE (else stdout)."
)
def export_ical(
    person_id: str | None, municipality: str | None, programme: str | None, output: str | None
) -> None:
    """Due dates, running timers and milestones as an iCalendar file (Outlook, Google, Apple)."""
    from konkurrence_flow import ical
    from konkurrence_flow.access import require_secretariat
    from konkurrence_flow.municipalities import municipality as lookup

    settings = _settings()
    if settings.url:
        _needs_the_store()
    store = settings.ready_store()
    actor = settings.actor()
    viewer = actor
    if person_id is not None and person_id != actor.id:
        require_secretariat(actor, "export another person's calendar")
        if person_id == "system":
            raise click.BadParameter("'system' is the scheduler's identity; it has no calendar",
                                     param_hint="--person")  # fmt: skip
        viewer = store.person(person_id)
    if programme is not None and programme not in store.programme_names():
        names = ", ".join(store.programme_names()) or "none is loaded"
        _fail(f"unknown programme {programme[:40]!r} (programmes: {names})")
    code = lookup(municipality).code if municipality else None
    made = ical.feed(store, viewer, code, programme)
    _write_export(made.body, output, f"the calendar of {viewer.id}")


@main.group()
def legal() -> None:
    """The procurement law: minimum periods, worked out from a day."""


@legal.command("deadline")
@click.option("--regime", required=True, type=_LawNames("regime"))
@click.option("--procedure", type=_LawNames("procedure"),
              help="Required for the requests and tenders stages.")  # fmt: skip
@click.option("--stage", required=True, type=_LawNames("stage"))
@click.option("--from", "start", required=True, callback=_day,
              help="The day the period starts (the notice, the invitation, the decision, the "
                   "contract): 2008-01-10 or 'end of Q1 2008'.")  # fmt: skip
@click.option("--set", "assignments", multiple=True, callback=_facts, metavar="KEY=VALUE",
              help="A fact that shapes the period (pin_sent_on=…, electronic_notice=yes, "
                   "notice_sent_on=…); repeatable.")  # fmt: skip
@click.option("--closed", multiple=True, type=click.Choice(["grundlovsdag", "juleaften",
              "nytaarsaften"]), help="Also roll past this day; repeatable.")  # fmt: skip
@JSON_OPTION
def legal_deadline(
    regime: str,
    procedure: str | None,
    stage: str,
    start: Any,
    assignments: dict[str, Any],
    closed: tuple[str, ...],
    as_json: bool,
) -> None:
    """The minimum period of a stage, its last day (rolled) and the instant it ends."""
    from konkurrence_flow.legal import calculate
    from konkurrence_flow.reports import instant

    found = calculate(regime, procedure, stage, start, assignments, frozenset(closed))
    data = {
        "regime": regime, "procedure": procedure, "stage": stage, "from": start.isoformat(),
        "days": found.answer.days, "last_day": found.last_day.isoformat(),
        "ends_at": instant(found.ends_at), "basis": found.answer.basis,
        "notes": list(found.answer.notes),
    }  # fmt: skip
    if as_json:
        _emit(data)
        return
    what = ", ".join(str(x) for x in (regime, procedure, stage) if x)
    click.echo(f"{what} from {data['from']}: {data['days']} days")
    if found.ends_at is None:
        click.echo("  ends at   once: there is no period")
    else:
        click.echo(f"  last day  {found.last_day:%a} {data['last_day']}")
        click.echo(f"  ends at   the end of {data['last_day']} ({data['ends_at']})")
    click.echo(f"  basis     {data['basis']}")
    for note in data["notes"]:
        click.echo(f"  note      {note}")


@main.command("plan")
@click.option("--tender", "tender_id", help="One tender only.")
@click.option("--municipality", help="Code or name.")
@click.option("--programme", help="Only the tenders of this programme.")
@JSON_OPTION
def plan_command(
    tender_id: str | None, municipality: str | None, programme: str | None, as_json: bool
) -> None:
    """Can the timeline still be met? Each open tender's steps ahead, earliest against due."""
    steps = _settings().app().plan(tender_id, municipality, programme)
    if as_json:
        _emit(steps)
        return
    if not steps:
        click.echo("no open tender has steps ahead")
        return
    _table(((s["tender"], s["step"], s["due"], s["earliest"], s["slack_days"],
             s["status"].upper() if s["status"] == "infeasible" else s["status"]) for s in steps),
           ("TENDER", "STEP", "DUE", "EARLIEST", "SLACK", "STATUS"))  # fmt: skip
    notes = (f"{s['tender']}: {s['note']}" for s in steps if s["status"] == "unknown"
             and s["note"] and not s["note"].startswith("an earlier"))  # fmt: skip
    for note in dict.fromkeys(notes):
        click.echo(f"note: {note}")


@main.group()
def scheduler() -> None:
    """The scheduler daemon."""


@scheduler.command("run")
@click.option("--interval", default=60.0, show_default=True, callback=_positive,
              help="Seconds between ticks.")  # fmt: skip
@click.option("--speed", default=1.0, show_default=True, callback=_speed,
              help="Virtual time runs this many times faster from --now (86400 = a day a second).")  # fmt: skip
@click.option("--until", "until_text", callback=_instant,
              help="Tick last at this ISO date/datetime (a date: its 00:00), then stop.")  # fmt: skip
def scheduler_run(interval: float, speed: float, until_text: str | None) -> None:
    """Tick every --interval seconds until SIGTERM/SIGINT (or --until)."""
    if _settings().url:
        _needs_the_store()
    from konkurrence_flow.calendar import parse_instant
    from konkurrence_flow.clock import AcceleratedClock, SystemClock
    from konkurrence_flow.log import configure
    from konkurrence_flow.notify import dispatch
    from konkurrence_flow.scheduler import run

    settings = _settings()
    configure(verbose=True)
    clock = (
        AcceleratedClock(settings.now, speed) if settings.now_text or speed != 1 else SystemClock()
    )
    until = parse_instant(until_text) if until_text else None
    store = settings.ready_store()
    channels = _channels()

    def after_tick(report: Any) -> None:
        if settings.verbose:
            _print_tick(report)
        _print_dispatch(dispatch(store, channels, report.at), quiet=not settings.verbose)

    run(store, clock, interval, until, on_tick=after_tick)


# -- the service -------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--no-scheduler", is_flag=True, help="Serve only; a scheduler runs elsewhere.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (more than one: the system clock only).")  # fmt: skip
@click.option("--interval", default=60.0, show_default=True, callback=_positive,
              help="Seconds between the scheduler's ticks.")  # fmt: skip
@click.option("--speed", default=1.0, show_default=True, callback=_speed,
              help="Virtual time runs this many times faster from --now (demos).")  # fmt: skip
@click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False),
              help="Serve HTTPS with this certificate (or put a TLS proxy in front).")  # fmt: skip
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False))
def serve(
    host: str,
    port: int,
    no_scheduler: bool,
    workers: int,
    interval: float,
    speed: float,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
) -> None:
    """The shared service: the dashboard (/), the HTTP API (/api/v1, /docs) and, unless
    --no-scheduler, the scheduler and the notification dispatch, on one clock. SIGTERM stops it
    cleanly."""
    if _settings().url:
        _needs_the_store()
    import uvicorn

    from konkurrence_flow.clock import AcceleratedClock, SystemClock
    from konkurrence_flow.http import create_app
    from konkurrence_flow.log import configure
    from konkurrence_flow.notify import dispatch
    from konkurrence_flow.scheduler import Background

    settings = _settings()
    virtual = bool(settings.now_text) or speed != 1
    if workers > 1 and virtual:
        raise click.UsageError("--now and --speed need one worker (--workers 1)")
    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise click.UsageError("give both --ssl-certfile and --ssl-keyfile, or neither")
    settings.admin("serve the store")
    configure(verbose=True)
    clock = AcceleratedClock(settings.now, speed) if virtual else SystemClock()
    store = settings.ready_store()
    background = None
    signal.signal(signal.SIGTERM, _exit_cleanly)  # uvicorn stops, then re-raises it to us
    signal.signal(signal.SIGINT, _exit_cleanly)
    if not no_scheduler:
        channels = _channels()
        background = Background(
            store, clock, interval, lambda report: dispatch(store, channels, report.at)
        )
        background.start()
    try:
        if workers == 1:
            uvicorn.run(create_app(store, clock), host=host, port=port, log_level="info",
                        ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)  # fmt: skip
        else:
            os.environ["KFLOW_DB"] = store.url
            uvicorn.run("konkurrence_flow.http:from_environment", factory=True, host=host,
                        port=port, workers=workers, log_level="info", ssl_certfile=ssl_certfile,
                        ssl_keyfile=ssl_keyfile)  # fmt: skip
    finally:
        if background is not None:
            background.stop()


@main.command()
@click.argument("url")
@click.option("--token-stdin", is_flag=True, help="Read the token from stdin (scripts).")
def login(url: str, token_stdin: bool) -> None:
    """Connect this machine to the shared service at URL with your token (from the secretariat):
    it is checked, then kept in ~/.config/kflow/token (or $KFLOW_TOKEN_FILE), mode 0600."""
    from konkurrence_flow import credentials
    from konkurrence_flow.client import RemoteApp
    from konkurrence_flow.errors import InvalidInput

    try:
        base = credentials.service_url(url, "URL")
    except InvalidInput as exc:
        raise click.BadParameter(str(exc), param_hint="URL") from exc
    text = sys.stdin.readline() if token_stdin else click.prompt("token", hide_input=True, err=True)
    token = credentials.checked_token(text, "the token given")
    hint = "ask the secretariat for a valid one (`kflow token create`)"
    me = RemoteApp(base, token, hint).me()
    path = credentials.save(base, token)
    click.echo(f"logged in to {base} as {me['id']} ({me['name']}, {me['role']}); "
               f"the token is kept in {path}")  # fmt: skip
    if _settings().url != base:
        click.echo(f"set KFLOW_URL={base} to work with the service", err=True)
    if os.environ.get("KFLOW_TOKEN"):
        click.echo("KFLOW_TOKEN is set, and is used rather than this file: unset it", err=True)


@main.command()
def logout() -> None:
    """Forget the token `kflow login` kept (it still works until the secretariat revokes it)."""
    from konkurrence_flow import credentials

    removed = credentials.remove()
    if removed is None:
        click.echo(f"not logged in: there is no {credentials.token_file()}")
        return
    click.echo(f"logged out: removed {removed} (the token itself works until the secretariat "
               "revokes it: `kflow token revoke ID`)")  # fmt: skip


def _exit_cleanly(_signum: int, _frame: Any) -> None:
    """After uvicorn's graceful shutdown: leave through `finally`, so the scheduler's tick in
    progress ends before the process does."""
    raise SystemExit(0)


# -- notifications -----------------------------------------------------------------------------


@main.group()
def notify() -> None:
    """The notification outbox: dispatch, list, retry."""


def _channels() -> list[Any]:
    """The configured notification channels; a malformed setting is a usage error (exit 2)."""
    from konkurrence_flow.errors import InvalidInput
    from konkurrence_flow.notify import Settings as NotifySettings

    try:
        return NotifySettings.load().channels()
    except InvalidInput as exc:
        raise click.UsageError(f"notification settings: {exc}") from exc


@notify.command("dispatch")
@JSON_OPTION
def notify_dispatch(as_json: bool) -> None:
    """Send what is queued and due (SMTP, webhook, log; see README)."""
    from konkurrence_flow.notify import dispatch

    settings = _settings()
    report = dispatch(settings.ready_store(), _channels(), settings.now)
    if as_json:
        _emit({"sent": report.sent,
               "retrying": [{"id": i, "error": e, "retry_at": t.isoformat()}
                            for i, e, t in report.retrying],
               "failed": [{"id": i, "error": e} for i, e in report.failed],
               "unreachable": report.unreachable})  # fmt: skip
        return
    _print_dispatch(report)


def _print_dispatch(report: Any, quiet: bool = False) -> None:
    if report.unreachable:
        click.echo(f"kflow: could not deliver ({report.unreachable}); the messages stay queued "
                   "and are retried", err=True)  # fmt: skip
    for note_id, error in report.failed:
        click.echo(f"kflow: notification {note_id} failed for good: {error}", err=True)
    if not quiet:
        click.echo(f"sent {len(report.sent)}, retrying {len(report.retrying)}, "
                   f"failed {len(report.failed)}")  # fmt: skip


@notify.command("list")
@click.option("--failed", is_flag=True, help="Only messages that failed for good.")
@click.option("--status", type=click.Choice(["queued", "sent", "failed", "withdrawn"]))
@click.option("--limit", type=click.IntRange(1, 10_000), help="At most this many (a page).")
@OFFSET_OPTION
@JSON_OPTION
def notify_list(
    failed: bool, status: str | None, limit: int | None, offset: int, as_json: bool
) -> None:
    """The outbox, oldest first; a page with --limit/--offset."""
    rows = _settings().app(acting=True).notifications("failed" if failed else status,
                                                       limit=limit, offset=offset)  # fmt: skip
    if as_json:
        _emit(rows)
        return
    _table(((r["id"], r["status"], r["kind"], r["tender"] or "", r["recipient"], r["attempts"],
             (r["last_error"] or r["subject"])[:70]) for r in rows),
           ("ID", "STATUS", "KIND", "TENDER", "TO", "TRIES", "SUBJECT / LAST ERROR"))  # fmt: skip


@notify.command("retry")
@click.argument("note_id", type=click.IntRange(1, 2**62))
def notify_retry(note_id: int) -> None:
    """Queue a failed or withdrawn message again (secretariat; sent by the next dispatch)."""
    from datetime import datetime

    from konkurrence_flow.calendar import wall_time

    note = _settings().app(acting=True).retry_notification(note_id)
    when = wall_time(datetime.fromisoformat(note["next_attempt_at"]))
    click.echo(f"notification {note['id']} to {note['recipient']} queued again for {when}")


@main.command()
@JSON_OPTION
def effects(as_json: bool) -> None:
    """Effect documentation: savings per tender, area, municipality; estimated IKU vs 25 %."""
    report = _settings().app().effects()
    if as_json:
        _emit(report)
        return
    _print_effects(report)


def _print_effects(report: dict[str, Any]) -> None:
    if report["tenders"]:
        _print_effect_tenders(report["tenders"])
        _print_effect_areas(report["areas"])
    else:
        click.echo("Savings: no tender has a contract value yet "
                   "(`kflow tender set ID contract_value=…` records one)")  # fmt: skip
    _print_effect_municipalities(report)
    click.echo(f"\nNetwork: {_network_line(report['network'])}")


def _kr(value: Any) -> str:
    return "" if value is None else f"{value:,.0f}".replace(",", ".")


def _pct(value: Any) -> str:
    return "" if value is None else f"{value:.1f} %"


def _print_effect_tenders(rows: list[dict[str, Any]]) -> None:
    click.echo("Savings per tender (DKK per year)")
    _table(
        ((r["tender"], r["area"], _kr(r["baseline_cost"]), _kr(r["contract_value"]),
          _kr(r["saving"]), _pct(r["saving_percent"]), r["bidders"] or "",
          {True: "yes", False: "no"}.get(r["in_house_bid"], "")) for r in rows),
        ("TENDER", "AREA", "BEFORE", "AFTER", "SAVING", "%", "BIDDERS", "IN-HOUSE BID"),
    )  # fmt: skip


def _print_effect_areas(areas: list[dict[str, Any]]) -> None:
    """BEFORE and AFTER compare like with like: only the tenders with a baseline count in either."""
    click.echo("\nPer area")
    _table(
        ((a["area"], a["tenders"], a["compared_tenders"],
          _kr(a["baseline_cost"]) if a["compared_tenders"] else "",
          _kr(a["compared_contract_value"]) if a["compared_tenders"] else "",
          _kr(a["saving"]), _pct(a["saving_percent"])) for a in areas),
        ("AREA", "TENDERS", "COMPARED", "BEFORE", "AFTER", "SAVING", "%"),
    )  # fmt: skip
    if any(a["compared_tenders"] < a["tenders"] for a in areas):
        click.echo("BEFORE, AFTER and SAVING count only the COMPARED tenders: those with a "
                   "baseline_cost")  # fmt: skip


def _print_effect_municipalities(report: dict[str, Any]) -> None:
    click.echo(
        f"\nPer municipality: estimated IKU against the {report['target_percent']:.0f} % target"
    )
    _table(
        ((m["code"], m["name"], m["tenders"], _kr(m["saving"]), _pct(m["iku_before"]),
          _pct(m["iku_after"]), _to_target(m["iku_gap"])) for m in report["municipalities"]),
        ("CODE", "MUNICIPALITY", "TENDERS", "SAVING", "IKU BEFORE", "IKU AFTER", "TO TARGET"),
    )  # fmt: skip


def _to_target(gap: float | None) -> str:
    if gap is None:
        return "no IKU figures"
    return _pct(gap) if gap else "reached"


def _network_line(net: dict[str, Any]) -> str:
    """The network in one line; a part with no figure says so in words."""
    if net["iku_before"] is None:
        return f"{_network_savings(net)}; no IKU figures in the programme"
    return f"{_network_savings(net)}; IKU {_pct(net['iku_before'])} -> {_pct(net['iku_after'])}"


def _network_savings(net: dict[str, Any]) -> str:
    count, compared = net["tenders"], net["compared_tenders"]
    if not count:
        return "no tender has a contract value yet"
    if net["saving"] is None:
        return f"{count} {_plural(count)}, none with a baseline_cost to compare"
    on = f" on the {compared} with a baseline_cost" if compared < count else ""
    return (f"{count} {_plural(count)}, saving {_kr(net['saving'])} DKK a year "
            f"({_pct(net['saving_percent'])}){on}")  # fmt: skip


def _plural(count: int) -> str:
    return "tender" if count == 1 else "tenders"


# -- audit -------------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """The tamper-evident history: verify its hash chains; take a digest to keep outside."""


def _digest(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise click.BadParameter("a digest is the 64 hex digits `kflow audit head` printed")
    return value.lower() if value else None


@audit.command("verify")
@click.argument("tenders", nargs=-1)
@click.option("--head", "digest", callback=_digest,
              help="A digest from `kflow audit head`: prove the history it covers is unchanged.")  # fmt: skip
@click.option("--check-index", is_flag=True,
              help="Also run SQLite's full-text index's own integrity-check (it holds the store's "
                   "write lock while it runs: about a second per 40 MB of text).")  # fmt: skip
@JSON_OPTION
def audit_verify(
    tenders: tuple[str, ...], digest: str | None, check_index: bool, as_json: bool
) -> None:
    """Check every tender's hash chain (or those named); exit 1 naming each break."""
    from konkurrence_flow.audit import verify

    report = verify(_settings().ready_store(), tenders, digest, check_index)
    if as_json:
        _emit(_audit_json(report))
    else:
        _audit_text(report)
    if not report.ok:
        sys.exit(1)


def _audit_json(report: Any) -> dict[str, Any]:
    from dataclasses import asdict

    from konkurrence_flow.reports import instant

    head = report.head
    checkpoint = head.checkpoint if head else None
    return {
        "ok": report.ok, "tenders": report.tenders, "events": report.events,
        "documents": report.documents, "breaks": [asdict(b) for b in report.breaks],
        "index": report.index,
        "head": None if head is None else {
            "digest": head.digest, "ok": head.ok, "found": checkpoint is not None,
            "intact": head.intact, "changed": head.changed,
            "taken_at": instant(checkpoint.taken_at) if checkpoint else None,
            "covers_until": instant(checkpoint.covers_until) if checkpoint else None,
            "tenders": checkpoint.tenders if checkpoint else None,
            "events": checkpoint.events if checkpoint else None,
        },
    }  # fmt: skip


def _audit_text(report: Any) -> None:
    for found in report.breaks:
        click.echo(str(found))
    for damage in report.index:
        click.echo(f"search index: {damage}")
    head = report.head
    if head is not None:
        for line in _head_lines(head):
            click.echo(line)
    if report.breaks:
        _fail(f"the history of {len({b.tender for b in report.breaks})} of {report.tenders} "
              "tenders was changed behind the store's back (see above)")  # fmt: skip
    if head is not None and not head.ok:
        _fail(f"digest {head.digest} does not prove this history (see above)")
    if report.index:
        _fail("the search index was changed behind the store's back (see above); every chain "
              "holds")  # fmt: skip
    documents = f", {report.documents} documents" if report.documents else ""
    click.echo(f"verified {report.tenders} tenders, {report.events} events{documents}: every "
               "chain holds")  # fmt: skip


def _head_lines(head: Any) -> list[str]:
    if head.checkpoint is None:
        return [f"the store holds no checkpoint with digest {head.digest}: it was removed, "
                "or the digest is mistyped"]  # fmt: skip
    lines = list(head.changed)
    if not head.intact:
        lines.append(f"the checkpoint of digest {head.digest} was edited: its heads no longer "
                     "hash to it")  # fmt: skip
    if head.ok:
        lines.append(f"digest {head.digest} holds: nothing it covers has changed "
                     f"({_covers(head.checkpoint)})")  # fmt: skip
    return lines


def _covers(checkpoint: Any) -> str:
    from konkurrence_flow.reports import instant

    return (
        f"{checkpoint.events} events in {checkpoint.tenders} tenders, recorded up to "
        f"{instant(checkpoint.covers_until) or '-'}; taken {instant(checkpoint.taken_at)}"
    )


@audit.command("head")
@JSON_OPTION
def audit_head(as_json: bool) -> None:
    """The digest over the whole history now (secretariat): keep it outside the store."""
    from konkurrence_flow.audit import take_head
    from konkurrence_flow.reports import instant

    settings = _settings()
    settings.admin("take the audit digest")
    checkpoint = take_head(settings.ready_store(), settings.now)
    if as_json:
        _emit(
            {"digest": checkpoint.digest, "taken_at": instant(checkpoint.taken_at),
             "covers_until": instant(checkpoint.covers_until), "tenders": checkpoint.tenders,
             "events": checkpoint.events}
        )  # fmt: skip
        return
    click.echo(checkpoint.digest)
    click.echo(f"covers {_covers(checkpoint)}")
    click.echo("keep it outside the store (the minutes of a forum meeting, a mail); "
               "`kflow audit verify --head DIGEST` proves nothing it covers was changed")  # fmt: skip


if __name__ == "__main__":
    main()
