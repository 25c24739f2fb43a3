"""The materials bank on the dashboard: the search page (`/materials`), a document's download
(`/materials/files/ID`), and the list of documents a tender's page shows, with its form to
attach more (posted to `/tenders/ID/files`, a route of the tender's pages).

Every answer comes from `App` as the signed-in person, so the bank's one rule of who sees what
(`materials.check_may_see`, and `_visible` in SQL) decides here as at the API and the CLI: a
document the person may not see is neither found, listed nor sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from .. import dashboard
from ..app import App
from ..documents import FORMATS, KINDS, max_bytes
from ..errors import Forbidden, InvalidInput, NotAllowed
from ..http import FILE_ID, MAX_FILES, download
from ..identifiers import MAX_TITLE
from ..model import Person
from .paging import links, offset_of
from .text import refusal

if TYPE_CHECKING:
    from .pages import _Views

MAX_QUERY = 200
"""The most characters of a search the page reads (`materials.words` keeps 20 words of them)."""
HITS = 50
"""The most documents one page shows (the search's best, or the last attached)."""
ATTACH_FIELDS = ("csrf", "kind", "title")
"""The attach form's fields beside its files."""
ACCEPT = ",".join(e for f in FORMATS.values() for e in f.extensions)
"""The file names the attach form's file input offers (the bank checks the content anyway)."""


@dataclass(frozen=True)
class Asked:
    """The search form's fields as given: words (perhaps none), an area and a kind."""

    q: str
    area: str | None
    kind: str | None
    offset: int = 0


def routes(pages: FastAPI, view: _Views) -> None:
    @pages.get("/materials")
    def materials(request: Request) -> Response:
        """The search form and its hits; without words, the documents attached last."""
        app = view.app(request)
        asked = _asked(request)
        try:
            hits, total, refused = _hits(app, asked), _total(app, asked), None
        except InvalidInput as exc:  # only punctuation, an unknown kind: the sentence, a 400
            hits, total, refused = [], 0, refusal(exc)
        page = dashboard.Page(len(hits), total, asked.offset, HITS)
        return view.render(request, "materials.html", 400 if refused else 200, person=app.actor,
                           asked=asked, hits=hits, refused=refused, kinds=KINDS,
                           areas=dashboard.choices(view.store)["area"], page=page,
                           pager=links(request, page))  # fmt: skip

    @pages.get("/materials/files/{file_id}")
    def materials_file(request: Request, file_id: int = FILE_ID) -> Response:
        """A document's bytes, if the signed-in person may see it (else the 403 page)."""
        found, chunks = view.app(request).file_content(file_id)
        return download(found, chunks)


def _asked(request: Request) -> Asked:
    query = request.query_params
    return Asked(query.get("q", "")[:MAX_QUERY].strip(), query.get("area") or None,
                 query.get("kind") or None, offset_of(query.get("offset")))  # fmt: skip


def _hits(app: App, asked: Asked) -> list[dict[str, Any]]:
    """A page of the search's hits (or of the documents attached last)."""
    area, kind, offset = asked.area, asked.kind, asked.offset
    if asked.q:
        return app.search_materials(asked.q, area=area, kind=kind, limit=HITS, offset=offset)
    return app.recent_materials(area=area, kind=kind, limit=HITS, offset=offset)


def _total(app: App, asked: Asked) -> int:
    """How many documents the search finds (or the list holds) in all."""
    return app.count_materials(asked.q or None, area=asked.area, kind=asked.kind)


def tender_documents(app: App, tender_id: str) -> list[dict[str, Any]] | None:
    """The tender's documents for its page, each title's versions newest first; None when the
    person may not see them (an unpublished tender of another municipality)."""
    try:
        found = app.files(tender_id)
    except Forbidden:
        return None
    return sorted(found, key=lambda f: (f["title"].casefold(), f["title"], -f["version"]))


def attach_form(app: App, tender_id: str) -> dict[str, Any] | None:
    """What the tender page's form to attach documents offers; None when the person may not
    attach to the tender (`App.check_attach`: its participants and the secretariat)."""
    try:
        app.check_attach(tender_id)
    except (Forbidden, NotAllowed):
        return None
    return {"kinds": KINDS, "accept": ACCEPT, "max_bytes": max_bytes(), "max_files": MAX_FILES,
            "max_title": MAX_TITLE}  # fmt: skip


def attach_choices(fields: dict[str, str]) -> dict[str, Any]:
    """The kind and title the form chose: `App.attach`'s keywords (a blank title is none)."""
    return {"kind": fields.get("kind") or "andet", "title": fields.get("title", "").strip() or None}


def attached_now(history: list[dict[str, Any]], actor: Person | None, given: str | None) -> int:
    """How many documents to say were just attached (`?attached=N`): N if the tender's last N
    events are attachments by the person; else 0, whatever a link says."""
    if actor is None or not (given and given.isascii() and given.isdigit() and len(given) < 3):
        return 0
    count = int(given)
    mine = [e for e in history[-count:] if "attached" in e["data"] and e["actor"] == actor.id]
    return count if 0 < count == len(mine) else 0


# -- filters for the templates --------------------------------------------------------------------


def marked(snippet: str) -> Markup:
    """A search snippet as HTML: its text escaped, each `**hit**` in <mark>."""
    parts = snippet.split("**")
    return Markup("").join(
        Markup("<mark>{}</mark>").format(part) if n % 2 else escape(part)
        for n, part in enumerate(parts)
    )


def file_size(size: int, lang: str) -> str:
    """A file's size for people: 850 B, 12 kB, 3.4 MB (3,4 MB in Danish)."""
    if size < 1000:
        return f"{size} B"
    if size < 999_500:
        return f"{round(size / 1000)} kB"
    shown = f"{size / 1_000_000:.1f} MB"
    return shown.replace(".", ",") if lang == "da" else shown
