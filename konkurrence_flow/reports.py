"""Read-only projections: the JSON shapes of DESIGN.md (keys may be added, never renamed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .calendar import TZ, local_date, quarter_end, quarter_label, quarter_of, quarter_start
from .definitions import Definition
from .engine import allowed_triggers, days_overdue, triggers_for
from .legal import tender_notes, threshold_warning
from .model import Event, Notification, Person, Tender

if TYPE_CHECKING:
    from .programme import Programme
    from .store import Store


def instant(value: datetime | None) -> str | None:
    """An instant as ISO 8601 with its Copenhagen offset."""
    return None if value is None else value.astimezone(TZ).isoformat()


def tender_json(
    tender: Tender, definition: Definition, now: datetime, actor: Person | None = None
) -> dict[str, Any]:
    """The `tender show` object; `triggers` are those `actor` may fire (all, without one)."""
    late = days_overdue(tender.due, local_date(now))
    notes, warnings = tender_notes(tender, local_date(now))
    return {
        "id": tender.id,
        "title": tender.title,
        "definition": tender.definition,
        "definition_version": tender.definition_version,
        "programme": tender.programme,
        "state": tender.state,
        "state_label": definition.state(tender.state).label,
        "final": definition.state(tender.state).final,
        "entered_at": instant(tender.state_entered_at),
        "due": tender.due.isoformat() if tender.due else None,
        "overdue": late > 0,
        "days_overdue": late,
        "municipalities": list(tender.municipalities),
        "leader": tender.leader,
        "area": tender.area,
        "procedure": tender.procedure,
        "regime": tender.regime,
        "facts": dict(tender.facts),
        "triggers": list(_triggers(tender, definition, actor)),
        "signoffs": {k: list(v) for k, v in tender.signoffs.items()},
        "signoffs_pending": {
            k: [m for m in tender.municipalities if m not in v] for k, v in tender.signoffs.items()
        },
        "version": tender.version,
        "timer_at": instant(tender.timer_at),
        "timer_trigger": _timer_trigger(tender, definition),
        "warnings": [w for w in [threshold_warning(tender, local_date(now)), *warnings] if w],
        "legal_notes": notes,
    }


def _triggers(tender: Tender, definition: Definition, actor: Person | None) -> tuple[str, ...]:
    if actor is None:
        return allowed_triggers(definition, tender.state)
    return triggers_for(definition, tender, actor)


def _timer_trigger(tender: Tender, definition: Definition) -> str | None:
    after = definition.state(tender.state).after
    return after.trigger if after is not None and tender.timer_at is not None else None


def event_json(event: Event) -> dict[str, Any]:
    """One `tender history` entry."""
    return {
        "seq": event.seq,
        "kind": event.kind,
        "trigger": event.trigger,
        "source": event.source,
        "dest": event.dest,
        "actor": event.actor,
        "occurred_at": instant(event.occurred_at),
        "recorded_at": instant(event.recorded_at),
        "note": event.note,
        "data": dict(event.data),
        "hash": event.hash,
    }


def overdue(
    store: Store,
    now: datetime,
    municipality_code: str | None = None,
    programme: str | None = None,
) -> list[dict[str, Any]]:
    """Every overdue step as of `now`: the `overdue` JSON rows, most overdue first."""
    return list(each_overdue(store, now, municipality_code, programme))


def each_overdue(
    store: Store,
    now: datetime,
    municipality_code: str | None = None,
    programme: str | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[dict[str, Any]]:
    """The overdue steps as of `now`, most overdue first, as the store selects and orders them
    (due before today, in a state that is not final): a page, or all of them as they are read."""
    today = local_date(now)
    found = store.with_due_before(today, municipality_code, programme, limit=limit, offset=offset)
    for tender in found:
        definition = store.definition(tender.definition, tender.definition_version)
        yield {
            "tender": tender.id,
            "title": tender.title,
            "state": tender.state,
            "state_label": definition.state(tender.state).label,
            "due": tender.due.isoformat() if tender.due else None,
            "days_overdue": days_overdue(tender.due, today),
            "municipalities": list(tender.municipalities),
            "leader": tender.leader,
        }


def timeline(store: Store, programme: Programme) -> list[dict[str, Any]]:
    """A programme's quarters with their milestones and the tenders currently due on each."""
    due_on: dict[date, list[str]] = {}
    for tender in store.tenders():
        if tender.programme == programme.name and tender.due is not None:
            due_on.setdefault(tender.due, []).append(tender.id)
    quarters = []
    year, q = quarter_of(programme.start)
    while quarter_start(year, q) <= programme.end:
        quarters.append(_quarter(year, q, programme, due_on))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return quarters


def _quarter(
    year: int, q: int, programme: Programme, due_on: dict[date, list[str]]
) -> dict[str, Any]:
    first, last = quarter_start(year, q), quarter_end(year, q)
    milestones = sorted(
        (m for m in programme.milestones.values() if first <= m.date <= last), key=lambda m: m.date
    )
    return {
        "quarter": quarter_label(year, q),
        "start": first.isoformat(),
        "end": last.isoformat(),
        "milestones": [
            {"name": m.name, "date": m.date.isoformat(), "label": m.label, "planned": m.planned,
             "due": sorted(due_on.get(m.date, []))}
            for m in milestones
        ],
    }  # fmt: skip


IKU_TARGET = 25.0
"""The national target: 25 % of municipal tasks exposed to competition by 2010 (economic agreement
between the government and KL for 2007; DOMAIN.md §1)."""

_EFFECT_FACTS = ("bidders", "in_house_bid", "in_house_won", "quality_note")


def effects(store: Store) -> dict[str, Any]:
    """Effect documentation: savings per tender, area and municipality; estimated IKU vs 25 %.

    A tender counts once it has a `contract_value` (yearly, DKK) and has not ended cancelled.
    Its saving is `baseline_cost - contract_value`; totals compare only the `compared_tenders`,
    those with both (`baseline_cost` and `compared_contract_value`), while `contract_value` sums
    every awarded tender. A joint tender's values are shared equally among its municipalities. The IKU estimate adds each awarded tender's yearly contract value
    to the municipality's exposed total: the programme's new areas were not exposed before.
    """
    rows = [_effect_row(t) for t in store.tenders_with_fact("contract_value") if _awarded(store, t)]
    return {
        "tenders": rows,
        "areas": _by_area(rows),
        "municipalities": _by_municipality(store, rows),
        "network": _network(store, rows),
        "target_percent": IKU_TARGET,
    }


def _awarded(store: Store, tender: Tender) -> bool:
    if not isinstance(tender.facts.get("contract_value"), int | float):
        return False
    state = store.definition(tender.definition, tender.definition_version).state(tender.state)
    return not state.final or tender.state == "done"


def _effect_row(tender: Tender) -> dict[str, Any]:
    contract = tender.facts["contract_value"]
    baseline = tender.facts.get("baseline_cost")
    row = {
        "tender": tender.id, "title": tender.title, "area": tender.area, "state": tender.state,
        "municipalities": list(tender.municipalities), "contract_value": contract,
        "baseline_cost": baseline, **_saving(baseline, contract),
    }  # fmt: skip
    row.update({name: tender.facts.get(name) for name in _EFFECT_FACTS})
    return row


def _saving(baseline: Any, contract: Any) -> dict[str, Any]:
    if not isinstance(baseline, int | float) or not baseline:
        return {"saving": None, "saving_percent": None}
    saving = baseline - contract
    return {"saving": saving, "saving_percent": round(100.0 * saving / baseline, 1)}


def _totals(rows: list[dict[str, Any]], share: dict[str, float] | None = None) -> dict[str, Any]:
    weight = share or {}
    contract = sum(r["contract_value"] * weight.get(r["tender"], 1.0) for r in rows)
    known = [r for r in rows if r["saving"] is not None]
    baseline = sum(r["baseline_cost"] * weight.get(r["tender"], 1.0) for r in known)
    compared = sum(r["contract_value"] * weight.get(r["tender"], 1.0) for r in known)
    return {"tenders": len(rows), "contract_value": round(contract),
            "compared_tenders": len(known), "baseline_cost": round(baseline),
            "compared_contract_value": round(compared),
            **_saving(round(baseline), round(compared))}  # fmt: skip


def _by_area(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    areas = sorted({r["area"] or "" for r in rows})
    return [
        {"area": a or None, **_totals([r for r in rows if (r["area"] or "") == a])} for a in areas
    ]


def _by_municipality(store: Store, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for member in store.members():
        own = [r for r in rows if member.code in r["municipalities"]]
        share = {r["tender"]: 1.0 / len(r["municipalities"]) for r in own}
        totals = _totals(own, share)
        found.append({"code": member.code, "name": member.name, **totals,
                      **_iku(member.iku, totals["contract_value"])})  # fmt: skip
    return found


def _iku(iku: Any, added: float) -> dict[str, Any]:
    if iku is None or not iku.exposable:
        return {"iku_year": None, "iku_before": None, "iku_after": None, "iku_gap": None}
    before = 100.0 * iku.exposed / iku.exposable
    after = 100.0 * (iku.exposed + added) / iku.exposable
    return {"iku_year": iku.year, "iku_before": round(before, 2), "iku_after": round(after, 2),
            "iku_gap": round(max(0.0, IKU_TARGET - after), 2)}  # fmt: skip


def _network(store: Store, rows: list[dict[str, Any]]) -> dict[str, Any]:
    figures = {m.code: m.iku for m in store.members() if m.iku is not None and m.iku.exposable}
    exposable = sum(iku.exposable for iku in figures.values())
    exposed = sum(iku.exposed for iku in figures.values())
    totals = _totals(rows)
    if not exposable:
        return {**totals, "iku_before": None, "iku_after": None}
    added = sum(r["contract_value"] for r in rows if set(r["municipalities"]) & set(figures))
    return {**totals, "iku_before": round(100.0 * exposed / exposable, 2),
            "iku_after": round(100.0 * (exposed + added) / exposable, 2)}  # fmt: skip


def notification_json(note: Notification) -> dict[str, Any]:
    """One message of the outbox, as `notify list --json` prints it."""
    return {
        "id": note.id, "key": note.dedupe_key, "kind": note.kind, "tender": note.tender,
        "recipient": note.recipient, "address": note.address, "subject": note.subject,
        "body": note.body, "status": note.status, "attempts": note.attempts,
        "created_at": instant(note.created_at), "next_attempt_at": instant(note.next_attempt_at),
        "sent_at": instant(note.sent_at), "last_error": note.last_error,
        "delivered": list(note.data.get("delivered", [])),
    }  # fmt: skip
