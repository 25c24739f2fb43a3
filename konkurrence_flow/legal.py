"""Legal regimes: minimum periods, standstill and EU thresholds, as data with the rule beside each number.

A tender names its regime (`eu-2004-18`, `eu-2014-24`, `annex-iib`, `tilbudsloven`) and its
procedure; `resolve` turns `legal.tender_period`, `legal.requests_period` and `legal.standstill`
into calendar days for that tender, always rolling a last day on a weekend or Danish holiday to the
next working day (Regulation 1182/71 Art. 3(4)). The tender's facts apply the reductions:
`pin_published` (a prior information notice), `electronic_notice` (the notice was sent
electronically), `electronic_access` (free electronic access to the documents),
`electronic_submission` (2014/24: tenders may be submitted electronically) and
`notified_electronically` (the award decision was notified electronically; standstill from 2010).

Regimes without statutory minimum periods (Annex II B services, tilbudsloven) take the period from
the tender's own fact `tender_deadline` (or `requests_deadline`), or refuse with a clear message.
Figures marked *verify* come from secondary sources (DOMAIN.md) and are kept here, as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .calendar import Period, parse_date_expr
from .definitions import LegalPeriod, PeriodRef
from .errors import NotAllowed, PeriodError
from .model import Tender


@dataclass(frozen=True)
class Minimum:
    """A minimum period in calendar days and the reductions the directive allows."""

    days: int
    source: str
    pin: int | None = None  # the period when a prior information notice was published
    floor: int | None = None  # never below this, however reduced
    electronic_notice: int = 0  # days off when the notice was sent electronically
    electronic_access: int = 0  # days off for free electronic access to the documents
    electronic_submission: int = 0  # days off when tenders may be submitted electronically

    def days_for(self, facts: Mapping[str, Any]) -> int:
        """The minimum for a tender with these facts."""
        days = self.pin if self.pin is not None and _yes(facts, "pin_published") else self.days
        days -= self.electronic_notice if _yes(facts, "electronic_notice") else 0
        days -= self.electronic_access if _yes(facts, "electronic_access") else 0
        days -= self.electronic_submission if _yes(facts, "electronic_submission") else 0
        return max(days, self.floor or 0)


_D2004 = "Directive 2004/18/EC"
_D2014 = "Directive 2014/24/EU / udbudsloven"

# Directive 2004/18/EC Art. 38, in force in Denmark 2006-2015.
EU_2004_18: Mapping[str, Mapping[str, Minimum]] = {
    "open": {
        "tender_period": Minimum(52, f"{_D2004} Art. 38(2), (4), (5), (6)", pin=36, floor=22,
                                 electronic_notice=7, electronic_access=5),
    },
    "restricted": {
        "requests_period": Minimum(37, f"{_D2004} Art. 38(3)(a), (5)", electronic_notice=7),
        "tender_period": Minimum(40, f"{_D2004} Art. 38(3)(b), (4), (6)", pin=36, floor=22,
                                 electronic_access=5),
    },
    "negotiated": {
        "requests_period": Minimum(37, f"{_D2004} Art. 38(3)(a), (5)", electronic_notice=7),
    },
    "competitive-dialogue": {
        "requests_period": Minimum(37, f"{_D2004} Art. 38(3)(a), (5)", electronic_notice=7),
    },
    "accelerated-restricted": {
        "requests_period": Minimum(15, f"{_D2004} Art. 38(8)(a)", electronic_notice=5),
        "tender_period": Minimum(10, f"{_D2004} Art. 38(8)(b)"),
    },
    "accelerated-negotiated": {
        "requests_period": Minimum(15, f"{_D2004} Art. 38(8)(a)", electronic_notice=5),
    },
}  # fmt: skip

# Directive 2014/24/EU Arts. 27-30, udbudsloven (lov nr. 1564 af 15/12/2015) §§ 57-59, from 2016.
EU_2014_24: Mapping[str, Mapping[str, Minimum]] = {
    "open": {
        "tender_period": Minimum(35, f"{_D2014}: Art. 27(1)-(4); § 57", pin=15,
                                 electronic_submission=5),
    },
    "restricted": {
        "requests_period": Minimum(30, f"{_D2014}: Art. 28(1); § 58"),
        "tender_period": Minimum(30, f"{_D2014}: Art. 28(2)-(5); § 59", pin=10,
                                 electronic_submission=5),
    },
    "negotiated": {
        "requests_period": Minimum(30, f"{_D2014}: Art. 29(1); § 58"),
        "tender_period": Minimum(30, f"{_D2014}: Art. 29(1), 28(2); § 59", pin=10,
                                 electronic_submission=5),
    },
    "competitive-dialogue": {
        "requests_period": Minimum(30, f"{_D2014}: Art. 30(1); § 58"),
    },
    "accelerated-open": {
        "tender_period": Minimum(15, f"{_D2014}: Art. 27(3)"),
    },
    "accelerated-restricted": {
        "requests_period": Minimum(15, f"{_D2014}: Art. 28(6)(a)"),
        "tender_period": Minimum(10, f"{_D2014}: Art. 28(6)(b)"),
    },
}  # fmt: skip


@dataclass(frozen=True)
class Standstill:
    """The Danish standstill after the award decision is notified, by date of the decision."""

    since: date
    days: int  # by letter before 2010; electronically from 2010
    accelerated: int | None
    by_letter: int | None
    source: str


STANDSTILL = (
    Standstill(date(2006, 10, 1), 10, 7, None,
               "Danish standstill in force from 1 Oct 2006 (DOMAIN.md §3; instrument *verify*)"),
    Standstill(date(2010, 7, 1), 10, None, 15,
               "Lov nr. 492 af 12/05/2010 om håndhævelse af udbudsreglerne m.v. § 3 (*verify*)"),
)  # fmt: skip


@dataclass(frozen=True)
class Threshold:
    """EU thresholds for municipalities (sub-central authorities), date-ranged, in EUR and DKK."""

    since: date
    until: date
    services_eur: int
    services_dkk: int
    works_eur: int
    works_dkk: int
    source: str


THRESHOLDS = (
    Threshold(date(2006, 1, 1), date(2007, 12, 31), 211_000, 1_570_203, 5_278_000, 39_277_401,
              "Commission Regulation (EC) No 2083/2005"),
    Threshold(date(2008, 1, 1), date(2009, 12, 31), 206_000, 1_535_109, 5_150_000, 38_378_800,
              "Commission Regulation (EC) No 1422/2007 (DKK values *verify*)"),
)  # fmt: skip


@dataclass(frozen=True)
class Regime:
    """A legal regime: its minimum periods by procedure, and whether it is national only."""

    name: str
    title: str
    minimums: Mapping[str, Mapping[str, Minimum]] | None  # None: no statutory minimum periods
    national_only: bool = False
    standstill: bool = True


REGIMES: Mapping[str, Regime] = {
    "eu-2004-18": Regime("eu-2004-18", "EU-udbud, direktiv 2004/18/EF", EU_2004_18),
    "eu-2014-24": Regime("eu-2014-24", "EU-udbud, direktiv 2014/24/EU / udbudsloven", EU_2014_24),
    # Annex II B services (health, social services, personnel placement): no statutory minimum
    # periods under 2004/18/EC Art. 21 (only Arts. 23 and 35(4) apply) (*verify*).
    "annex-iib": Regime("annex-iib", "Bilag II B-tjenesteydelser", None),
    # Tilbudsloven (lov nr. 338 af 18/05/2005): works below the thresholds, "reasonable" periods.
    "tilbudsloven": Regime("tilbudsloven", "Tilbudsloven (national)", None, national_only=True,
                           standstill=False),
}  # fmt: skip

_DEADLINE_FACT = {"tender_period": "tender_deadline", "requests_period": "requests_deadline"}


def regime_of(tender: Tender) -> Regime:
    """The tender's regime, or a refusal naming the regimes there are."""
    if not tender.regime:
        raise NotAllowed(
            f"tender {tender.id} has no legal regime; its legal periods depend on one "
            f"(regimes: {', '.join(REGIMES)})"
        )
    regime = REGIMES.get(tender.regime)
    if regime is None:
        raise NotAllowed(
            f"tender {tender.id} has the unknown regime '{tender.regime}' "
            f"(regimes: {', '.join(REGIMES)})"
        )
    return regime


PROCEDURES: tuple[str, ...] = tuple(
    dict.fromkeys(p for r in REGIMES.values() for p in (r.minimums or {}))
)
"""Every procedure some regime knows (a regime without minimum periods accepts any of them)."""


def check_regime(name: str | None) -> None:
    """Refuse an unknown regime name at the boundary (tender create, programme load)."""
    if name is not None and name not in REGIMES:
        raise NotAllowed(f"unknown legal regime '{name}' (regimes: {', '.join(REGIMES)})")


def check_procedure(procedure: str | None, regime: str | None) -> None:
    """Refuse a procedure no regime knows, or one the tender's regime does not have."""
    if procedure is None:
        return
    if procedure not in PROCEDURES:
        raise NotAllowed(f"unknown procedure '{procedure}' (procedures: {', '.join(PROCEDURES)})")
    known = REGIMES.get(regime or "")
    rules = known.minimums if known else None
    if rules is not None and procedure not in rules:
        raise NotAllowed(
            f"{regime} has no '{procedure}' procedure (procedures: {', '.join(rules)})"
        )


def resolve(ref: PeriodRef, tender: Tender, start: date) -> Period:
    """A definition's period for this tender, counted from `start`; legal.* per the regime."""
    if isinstance(ref, Period):
        return ref
    days = legal_days(ref, tender, start)
    return Period(days, "D", rolls=True)


def legal_days(ref: LegalPeriod, tender: Tender, start: date) -> int:
    """The calendar days of a legal period for a tender whose period starts on `start`."""
    regime = regime_of(tender)
    if ref.name == "standstill":
        return _standstill_days(regime, tender, start)
    if regime.minimums is None:
        return _own_deadline(ref, regime, tender, start)
    return _minimum(ref, regime, tender).days_for(tender.facts)


def _minimum(ref: LegalPeriod, regime: Regime, tender: Tender) -> Minimum:
    procedure = tender.procedure or tender.facts.get("procedure")
    rules = regime.minimums or {}
    if procedure not in rules:
        raise NotAllowed(
            f"tender {tender.id}: {ref} under {regime.name} depends on the procedure, which is "
            f"{_named(procedure)} (procedures: {', '.join(rules)})"
        )
    rule = rules[str(procedure)].get(ref.name)
    if rule is None:
        raise NotAllowed(
            f"tender {tender.id}: the {procedure} procedure under {regime.name} has no {ref} "
            f"(it has: {', '.join('legal.' + k for k in rules[str(procedure)])})"
        )
    return rule


def _own_deadline(ref: LegalPeriod, regime: Regime, tender: Tender, start: date) -> int:
    fact = _DEADLINE_FACT.get(ref.name, f"{ref.name}_deadline")
    value = tender.facts.get(fact)
    if value in (None, ""):
        raise NotAllowed(
            f"tender {tender.id} is under {regime.name}, which sets no minimum {ref}; record "
            f"the tender's own {fact} first (kflow tender set {tender.id} {fact}=YYYY-MM-DD)"
        )
    try:
        deadline = parse_date_expr(str(value))
    except PeriodError as exc:
        raise NotAllowed(f"tender {tender.id}: {fact} {value!r} is not a date ({exc})") from exc
    if deadline < start:
        raise NotAllowed(
            f"tender {tender.id}: {fact} {deadline} is before the period starts on {start}"
        )
    return (deadline - start).days


def _standstill_days(regime: Regime, tender: Tender, start: date) -> int:
    if not regime.standstill:
        return 0
    rule = next((s for s in reversed(STANDSTILL) if s.since <= start), None)
    if rule is None:
        return 0
    procedure = str(tender.procedure or "")
    if rule.accelerated is not None and procedure.startswith("accelerated"):
        return rule.accelerated
    if rule.by_letter is not None and not _yes(tender.facts, "notified_electronically"):
        return rule.by_letter
    return rule.days


def threshold_on(day: date) -> Threshold | None:
    """The EU thresholds in force on a day, if this package knows them."""
    return next((t for t in THRESHOLDS if t.since <= day <= t.until), None)


def threshold_warning(tender: Tender, day: date) -> str | None:
    """A warning when a national-only tender's estimated value reaches the EU threshold."""
    value = tender.facts.get("estimated_value")
    if not tender.regime or tender.regime not in REGIMES or not isinstance(value, int | float):
        return None
    threshold = threshold_on(day)
    if threshold is None or not REGIMES[tender.regime].national_only:
        return None
    works = tender.facts.get("contract_type") == "works"
    limit = threshold.works_dkk if works else threshold.services_dkk
    if value < limit:
        return None
    return (
        f"tender {tender.id}: estimated value DKK {value:,.0f} reaches the EU threshold "
        f"DKK {limit:,} ({threshold.source}); {tender.regime} is national only — an EU "
        "procedure (eu-2004-18) is probably required"
    )


def _yes(facts: Mapping[str, Any], name: str) -> bool:
    return facts.get(name) is True


def _named(value: object) -> str:
    return f"'{value}'" if value else "not set"
