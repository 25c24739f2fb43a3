"""The application API: what a person may ask of konkurrence-flow, answered in the JSON shapes of
the README. Both front doors call it — the command line (`cli.py`) and the HTTP service
(`konkurrence_flow.http`) — and neither holds domain logic of its own.

An `App` is one request: a store, the clock's `now`, and the person asking (`None` for a local
reader the store does not know, who may read but not act). Every method checks who may do it,
through the same rules whichever door the request came in by.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .access import require_person, require_secretariat
from .errors import InvalidInput, NotAllowed
from .model import NOTICE_STATUSES, NewTender, Person
from .store import Store

if TYPE_CHECKING:
    from .materials import Upload


@dataclass
class App:
    """One request to the application: the store, the clock and who asks."""

    store: Store
    now: datetime
    actor: Person | None = None

    def _acting(self) -> Person:
        """The person acting, who must be one (a reader the store does not know cannot act)."""
        if self.actor is None:
            raise NotAllowed("only a registered person may act; give --user ID or KFLOW_USER")
        require_person(self.actor)
        return self.actor

    # -- who ---------------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The person asking: `{"id", "name", "email", "role", "municipality"}`."""
        actor = self._acting()
        return {"id": actor.id, "name": actor.name, "email": actor.email, "role": actor.role,
                "municipality": actor.municipality}  # fmt: skip

    # -- tenders -------------------------------------------------------------------------------

    def create_tender(self, spec: NewTender) -> dict[str, Any]:
        """Start a tender in its definition's initial state; the `tender show` object."""
        created = self.store.create_tender(spec, self._acting(), self.now)
        return self._tender_json(created)

    def tenders(
        self,
        municipality: str | None = None,
        state: str | None = None,
        overdue: bool = False,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Tenders by id, of one municipality (code or name), in one state, overdue as of the
        clock; `limit` of them from `offset` (filtered and paged in SQL)."""
        from .calendar import local_date

        self._check_state(state)
        found = self.store.tenders(_code(municipality), state, limit=limit, offset=offset,
                                   overdue_on=local_date(self.now) if overdue else None)  # fmt: skip
        return [self._tender_json(t) for t in found]

    def each_tender(
        self,
        municipality: str | None = None,
        state: str | None = None,
        overdue: bool = False,
        *,
        brief: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """What `tenders` selects, all of it, read a chunk at a time (memory stays flat); `brief`:
        only what a list shows (id, title, state, due, days_overdue, municipalities)."""
        from .calendar import local_date
        from .engine import days_overdue

        code, today = _code(municipality), local_date(self.now)
        on = today if overdue else None
        self._check_state(state)
        if not brief:
            return (
                self._tender_json(t) for t in self.store.each_tender(code, state, overdue_on=on)
            )
        return (
            {"id": t.id, "title": t.title, "state": t.state,
             "due": t.due.isoformat() if t.due else None, "days_overdue": days_overdue(t.due, today),
             "municipalities": list(t.municipalities)}
            for t in self.store.each_line(code, state, overdue_on=on)
        )  # fmt: skip

    def _check_state(self, state: str | None) -> None:
        """A state to list by is a state of some loaded definition: a typo lists nothing, and
        says so instead of an empty list."""
        if state is None:
            return
        stored = self.store.definitions()
        known = sorted({name for d in stored
                        for name in self.store.definition(d.name, d.version).states})  # fmt: skip
        if known and state not in known:
            from ._yaml import close_match

            close = close_match(state, known)
            hint = f"; did you mean {close!r}?" if close else ""
            raise InvalidInput(f"unknown state {state[:40]!r}{hint} (states: {', '.join(known)})")

    def tender(self, tender_id: str) -> dict[str, Any]:
        """One tender: the `tender show` object."""
        return self._tender_json(self.store.tender(tender_id))

    def history(self, tender_id: str) -> list[dict[str, Any]]:
        """A tender's events, in order (what a draft document attached to it is called, and its
        hash, only for those who may see it)."""
        from .materials import may_see, withheld
        from .reports import event_json

        found = [event_json(e) for e in self.store.history(tender_id)]
        drafts = [e for e in found if "attached" in e["data"]]
        if drafts and not may_see(self.store, self.store.tender(tender_id), self.actor):
            for event in drafts:  # a draft's title, file name and hash are its participants'
                event["data"] = {**event["data"], "attached": withheld(event["data"]["attached"])}
        return found

    def advance(
        self,
        tender_id: str,
        trigger: str,
        *,
        note: str | None = None,
        facts: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Fire a trigger: `{"tender", "trigger", "source", "dest", "changed", "signoff",
        "pending", "occurred_at"}`."""
        from .reports import instant

        outcome = self.store.advance(
            tender_id, trigger, self._acting(), self.now, at=at, note=note, facts=dict(facts or {})
        )
        return {
            "tender": outcome.tender, "trigger": outcome.trigger, "source": outcome.source,
            "dest": outcome.dest, "changed": outcome.changed, "signoff": outcome.signoff,
            "pending": list(outcome.pending), "occurred_at": instant(outcome.occurred_at),
        }  # fmt: skip

    def set_facts(self, tender_id: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        """Record facts on a tender; the `tender show` object after."""
        tender = self.store.set_facts(tender_id, dict(facts), self._acting(), self.now)
        return self._tender_json(tender)

    def _tender_json(self, tender: Any) -> dict[str, Any]:
        from .reports import tender_json

        definition = self.store.definition(tender.definition, tender.definition_version)
        return tender_json(tender, definition, self.now, self.actor)

    # -- the materials bank -----------------------------------------------------------------

    def attach(
        self, tender_id: str, uploads: Sequence[Upload], *, kind: str = "andet",
        title: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Attach files to a tender (all or none): the `tender files` object of each."""
        from .materials import attach

        return attach(self.store, tender_id, uploads, self._acting(), self.now, kind=kind,
                      title=title)  # fmt: skip

    def check_attach(
        self, tender_id: str, *, kind: str = "andet", title: str | None = None, files: int = 1
    ) -> None:
        """Refuse an attachment before its files are read (or uploaded)."""
        from .materials import check_attach

        check_attach(self.store, tender_id, self._acting(), kind, title, files)

    def files(self, tender_id: str) -> list[dict[str, Any]]:
        """Every version of the tender's documents, if the person asking may see them."""
        from .materials import files

        return files(self.store, tender_id, self.actor)

    def file(self, file_id: int) -> dict[str, Any]:
        """One document version's facts (not its bytes), if the person asking may see it."""
        from .materials import document

        return document(self.store, file_id, self.actor)

    def file_content(self, file_id: int) -> tuple[dict[str, Any], Iterator[bytes]]:
        """A document version and its bytes, a chunk at a time."""
        from .materials import content

        found = self.file(file_id)
        return found, content(self.store, found["sha256"])

    def search_materials(
        self,
        query: str,
        *,
        area: str | None = None,
        kind: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The documents the person asking may see that hold the query's words, best first."""
        from .materials import search

        return search(self.store, query, self.actor, area=area, kind=kind, limit=limit,
                      offset=offset)  # fmt: skip

    def recent_materials(
        self,
        *,
        area: str | None = None,
        kind: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The documents the person asking may see, the last attached first (latest versions)."""
        from .materials import recent

        return recent(self.store, self.actor, area=area, kind=kind, limit=limit, offset=offset)

    def count_materials(
        self, query: str | None = None, *, area: str | None = None, kind: str | None = None
    ) -> int:
        """How many documents `search_materials` finds in all (`recent_materials` lists, when
        there is no query)."""
        from .materials import count

        return count(self.store, query, self.actor, area=area, kind=kind)

    # -- the network ----------------------------------------------------------------------------

    def overdue(
        self, municipality: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The overdue steps as of the clock, most overdue first; a page with `limit`."""
        from .reports import each_overdue

        found = each_overdue(self.store, self.now, _code(municipality), limit=limit, offset=offset)
        return list(found)

    def count_overdue(self, municipality: str | None = None) -> int:
        """How many steps are overdue as of the clock (every page of `overdue`)."""
        from .calendar import local_date

        return self.store.count_due_before(local_date(self.now), _code(municipality))

    def each_overdue(self, municipality: str | None = None) -> Iterator[dict[str, Any]]:
        """Every overdue step as of the clock, most overdue first, read a chunk at a time."""
        from .reports import each_overdue

        return each_overdue(self.store, self.now, _code(municipality))

    def forecast(self, until: datetime, wrap: Any = list) -> list[dict[str, Any]]:
        """What happens by `until` if nobody acts; each row marks a step the plan finds infeasible."""
        from .plan import infeasible_steps
        from .scheduler import forecast, happening_json

        found = forecast(self.store, until, wrap)
        late = infeasible_steps(self.store, self.now, {h.tender for h in found})
        return [{**happening_json(h), "infeasible": (h.tender, h.state) in late} for h in found]

    def plan(
        self,
        tender: str | None = None,
        municipality: str | None = None,
        programme: str | None = None,
    ) -> list[dict[str, Any]]:
        """Each open tender's steps ahead: earliest day against due date."""
        from .plan import plan

        if programme is not None and programme not in self.store.programme_names():
            names = ", ".join(self.store.programme_names()) or "none is loaded"
            shown = programme if len(programme) <= 40 else programme[:40] + "…"
            raise NotAllowed(f"unknown programme {shown!r} (programmes: {names})")
        steps = plan(self.store, self.now, tender_id=tender, municipality_code=_code(municipality),
                     programme=programme)  # fmt: skip
        return [s.json() for s in steps]

    def effects(self) -> dict[str, Any]:
        """Savings per tender, area and municipality; estimated IKU against the 25 % target."""
        from .reports import effects

        return effects(self.store)

    def programme(self, name: str | None = None) -> dict[str, Any]:
        """A programme's timeline: quarters, milestones, which tenders are due when."""
        from .reports import timeline

        shown = self.store.programme(name)
        return {
            "name": shown.name, "title": shown.title, "start": shown.start.isoformat(),
            "end": shown.end.isoformat(), "regime": shown.regime,
            "municipalities": [m.code for m in shown.members],
            "people": len(shown.people), "planned_tenders": len(shown.tenders),
            "quarters": timeline(self.store, shown),
        }  # fmt: skip

    # -- the outbox (secretariat) ----------------------------------------------------------------

    def notifications(
        self, status: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The outbox, oldest first (the secretariat only: it holds everyone's addresses); a page
        of `limit` from `offset`, selected in SQL."""
        from .reports import notification_json

        if status not in (None, *NOTICE_STATUSES):
            shown = ", ".join(NOTICE_STATUSES)
            raise InvalidInput(f"unknown status {status[:40]!r} (statuses: {shown})")
        require_secretariat(self._acting(), "read the notification outbox")
        found = self.store.notifications(status, limit=limit, offset=offset)
        return [notification_json(n) for n in found]

    def retry_notification(self, note_id: int) -> dict[str, Any]:
        """Queue a failed message again (the secretariat only)."""
        from .reports import notification_json

        require_secretariat(self._acting(), "re-send notifications")
        return notification_json(self.store.retry_notification(note_id, self.now))


def _code(municipality: str | None) -> str | None:
    """A municipality's code from its code or name (None: every municipality)."""
    from .municipalities import municipality as lookup

    return lookup(municipality).code if municipality else None
