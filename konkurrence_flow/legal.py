"""Legal regimes: minimum periods, standstill, award notices and EU thresholds, as data with the
rule beside each number.

A tender names its regime (`eu-2004-18`, `eu-2014-24`, `annex-iib`, `tilbudsloven`) and its
procedure. A definition names a legal period by its stage; `resolve` turns it into calendar days
for the tender, always rolling a last day on a weekend or Danish holiday to the next working day
(Regulation 1182/71 Art. 3(4)):

| stage          | period in a definition  | counted from                                      |
|----------------|-------------------------|---------------------------------------------------|
| `requests`     | `legal.requests_period` | the contract notice (two-stage procedures)        |
| `tenders`      | `legal.tender_period`   | the notice (open) or the invitation to tender     |
| `standstill`   | `legal.standstill`      | the award decision notified to the tenderers      |
| `award_notice` | `legal.award_notice`    | the contract (the notice is due within the period)|

`deadline` answers for one stage: the days, the legal basis and notes on the facts that shaped
them. The same function answers `kflow legal deadline` and the timers of the definitions.

The tender's facts apply the reductions: `pin_sent_on` (the day a prior information notice was
sent; it counts only inside its window before the contract notice, `notice_sent_on`, which the act
that publishes the tender records), `electronic_notice` and `notice_by_fax` (how the notice was
sent), `electronic_access` (free electronic access to the documents), `electronic_submission`
(2014/24: tenders may be submitted electronically), `agreed_tender_deadline` (2014/24: agreed with
the selected candidates), `notified_electronically` (the award decision; standstill from 2010) and
`standstill` (Annex II B: whether a standstill is observed).

Where the law sets no minimum (Annex II B services, tilbudsloven, the tender period of a negotiated
procedure or a competitive dialogue under 2004/18), the period runs to the tender's own
`tender_deadline` (or `requests_deadline`), and `deadline` says so instead of inventing a number.
Figures marked *verify* come from secondary sources (DOMAIN.md) and are kept here, as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias

from .calendar import (
    Period,
    add_months,
    end_of_day,
    expiry_day,
    is_working_day,
    parse_date_expr,
)
from .errors import NotAllowed, PeriodError
from .model import Tender

STAGES: Mapping[str, str] = {
    "requests": "requests_period",
    "tenders": "tender_period",
    "standstill": "standstill",
    "award_notice": "award_notice",
}
"""Each stage a legal period belongs to, and the name a definition gives it (`legal.<name>`)."""

LEGAL_PERIODS: tuple[str, ...] = tuple(STAGES.values())
_STAGE_OF = {period: stage for stage, period in STAGES.items()}


@dataclass(frozen=True)
class LegalPeriod:
    """A period set by the tender's legal regime (`legal.tender_period`); it always rolls."""

    name: str  # one of LEGAL_PERIODS

    def __str__(self) -> str:
        return f"legal.{self.name}"

    @property
    def stage(self) -> str:
        """The stage of the procedure this period belongs to (`tenders`, `requests`, …)."""
        return _STAGE_OF[self.name]


PeriodRef: TypeAlias = Period | LegalPeriod


class NoMinimum(NotAllowed):
    """The law sets no minimum for this stage: the tender's own deadline (a fact) applies."""

    def __init__(self, message: str, fact: str) -> None:
        super().__init__(message)
        self.fact = fact


@dataclass(frozen=True)
class Answer:
    """A legal period for one tender and stage: its calendar days, the rule, and how facts shaped it."""

    days: int
    basis: str
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # facts that look as if they shorten it, and why they do not
    rolls: bool = True  # a period rolls past days off; a date fixed by the tender does not


# Minimum periods


@dataclass(frozen=True)
class Minimum:
    """A minimum period in calendar days, and the reductions its directive allows.

    Reductions are applied as the articles have them:
    - a prior information notice (PIN) replaces the ordinary period by `pin` days, if the PIN was
      sent at least `pin_window` days and at most 12 months before the contract notice;
    - `electronic_notice` and `electronic_access` (2004/18) are cumulative, also with the PIN;
    - `floor` bounds the reductions, but only where the notice was neither sent electronically
      nor by fax (2004/18 Art. 38(7) as DOMAIN.md reads it);
    - `electronic_submission` (2014/24) comes off the ordinary period only, never off the PIN
      or urgency period;
    - `agreed_floor` (2014/24 Art. 28(4), udbudsloven § 60(5)): a sub-central authority (every
      municipality) may agree the tender deadline with the selected candidates, never below it.
    """

    days: int
    source: str
    pin: int | None = None
    pin_window: int | None = None  # least days between the PIN and the contract notice
    floor: int | None = None
    electronic_notice: int = 0
    electronic_access: int = 0
    electronic_submission: int = 0
    agreed_floor: int | None = None  # *verify*: Art. 28(4) gives 10 days where none is agreed

    def answer(self, facts: Mapping[str, Any], start: date, notice: date) -> Answer:
        """The minimum for a tender with these facts, its period counted from `start`, its
        contract notice sent on `notice`."""
        notes: list[str] = []
        warnings: list[str] = []
        agreed = self._agreed(facts, start)
        if agreed is not None:
            return agreed
        with_pin = self._pin_applies(facts, notice, notes, warnings)
        days = self.pin if with_pin and self.pin is not None else self.days
        if _yes(facts, "electronic_notice") and self.electronic_notice:
            days -= self.electronic_notice
            notes.append(f"notice sent electronically: -{self.electronic_notice} days")
        if _yes(facts, "electronic_access") and self.electronic_access:
            days -= self.electronic_access
            notes.append(f"free electronic access to the documents: -{self.electronic_access} days")
        if _yes(facts, "electronic_submission") and self.electronic_submission:
            if with_pin:
                notes.append(
                    f"electronic submission takes nothing off the period of a PIN ({self.pin} days)"
                )
            else:
                days -= self.electronic_submission
                notes.append(f"electronic submission: -{self.electronic_submission} days")
        days = self._floored(days, facts, notes)
        return Answer(days, self.source, tuple(notes), tuple(warnings))

    def _floored(self, days: int, facts: Mapping[str, Any], notes: list[str]) -> int:
        if self.floor is None or days >= self.floor:
            return days
        if _yes(facts, "electronic_notice") or _yes(facts, "notice_by_fax"):
            return days  # the floor binds only notices sent neither electronically nor by fax
        notes.append(f"never below {self.floor} days for a notice sent by post")
        return self.floor

    def _pin_applies(
        self, facts: Mapping[str, Any], notice: date, notes: list[str], warnings: list[str]
    ) -> bool:
        """True if a PIN was sent inside its window before the contract notice (else a note why not)."""
        if self.pin is None:
            return False
        sent = _date_fact(facts, "pin_sent_on")
        if sent is None:
            if _yes(facts, "pin_published"):
                warnings.append(
                    "pin_published without pin_sent_on: the PIN's window cannot be checked, so "
                    "the full period applies; record pin_sent_on=YYYY-MM-DD"
                )
            return False
        least = self.pin_window or 0
        ahead = (notice - sent).days
        if ahead < least:
            warnings.append(
                f"the PIN sent on {sent} is {ahead} days before the contract notice of {notice}; "
                f"it counts only from {least} days before, so the full period applies"
            )
            return False
        if sent < add_months(notice, -12):
            warnings.append(
                f"the PIN sent on {sent} is more than 12 months before the contract notice of "
                f"{notice}, so the full period applies"
            )
            return False
        notes.append(f"prior information notice sent on {sent}: {self.pin} days")
        return True

    def _agreed(self, facts: Mapping[str, Any], start: date) -> Answer | None:
        """The tender deadline agreed with the selected candidates: that date (it does not roll),
        or the floor's period if the date is too early."""
        if self.agreed_floor is None:
            return None
        agreed = _date_fact(facts, "agreed_tender_deadline")
        if agreed is None:
            return None
        days, floor = (agreed - start).days, self.agreed_floor
        ends = expiry_day(start, Period(floor, "D", rolls=True))  # the floor rolls, as a period
        if days < floor:
            note = f"the agreed tender deadline {agreed} is under {floor} days from {start}"
            return Answer(floor, self.source, (f"{note}; {floor} days apply",))
        if agreed < ends:  # on the floor's own non-working last day or the ones after it
            note = (f"the agreed tender deadline {agreed} is before the end of {floor} days from "
                    f"{start}, which run to the end of {ends} (Regulation 1182/71 Art. 3(4))")  # fmt: skip
            return Answer(floor, self.source, (f"{note}; {floor} days apply",))
        note = f"tender deadline {agreed} agreed with the selected candidates"
        return Answer(days, self.source, (note,), rolls=False)


_D2004 = "Directive 2004/18/EC"
_D2014 = "Directive 2014/24/EU / udbudsloven"
# Art. 38(4): the PIN sent 52 days to 12 months before the contract notice; Art. 38(7) (as DOMAIN.md
# cites it, paragraph *verify*): never below 22 days for a notice not sent electronically or by fax.
_PIN_2004 = {"pin": 36, "pin_window": 52, "floor": 22}
_REQUESTS_2004 = Minimum(37, f"{_D2004} Art. 38(3)(a), (5)", electronic_notice=7)
_ACCELERATED_REQUESTS_2004 = Minimum(15, f"{_D2004} Art. 38(8)(a)", electronic_notice=5)

# Directive 2004/18/EC Art. 38, in force in Denmark 2006-2015. A procedure without a stage here
# has no statutory minimum for it: its tender period is the tender's own tender_deadline.
EU_2004_18: Mapping[str, Mapping[str, Minimum]] = {
    "open": {
        "tenders": Minimum(52, f"{_D2004} Art. 38(2), (4)-(7)", **_PIN_2004,
                           electronic_notice=7, electronic_access=5),
    },
    "restricted": {
        "requests": _REQUESTS_2004,
        "tenders": Minimum(40, f"{_D2004} Art. 38(3)(b), (4), (6), (7)", **_PIN_2004,
                           electronic_access=5),
    },
    "negotiated": {"requests": _REQUESTS_2004},
    "competitive-dialogue": {"requests": _REQUESTS_2004},
    "accelerated-restricted": {
        "requests": _ACCELERATED_REQUESTS_2004,
        "tenders": Minimum(10, f"{_D2004} Art. 38(8)(b)"),
    },
    "accelerated-negotiated": {"requests": _ACCELERATED_REQUESTS_2004},
}  # fmt: skip

# Directive 2014/24/EU Arts. 27-30, udbudsloven (lov nr. 1564 af 15/12/2015) §§ 57, 59, 60, from
# 2016. The PIN counts if sent 35 days to 12 months before the notice (Art. 27(2), 28(3)).
_TENDERS_2014 = Minimum(30, f"{_D2014}: Art. 28(2)-(5); § 60", pin=10, pin_window=35,
                        electronic_submission=5, agreed_floor=10)  # fmt: skip
_REQUESTS_2014 = Minimum(30, f"{_D2014}: Art. 28(1); § 59")
_ACCELERATED_2014 = {
    "requests": Minimum(15, f"{_D2014}: Art. 28(6)(a); § 59"),
    "tenders": Minimum(10, f"{_D2014}: Art. 28(6)(b); § 60"),
}
EU_2014_24: Mapping[str, Mapping[str, Minimum]] = {
    "open": {
        "tenders": Minimum(35, f"{_D2014}: Art. 27(1)-(4); § 57", pin=15, pin_window=35,
                           electronic_submission=5),
    },
    "restricted": {"requests": _REQUESTS_2014, "tenders": _TENDERS_2014},
    "negotiated": {"requests": _REQUESTS_2014, "tenders": _TENDERS_2014},  # Art. 29(1)
    "competitive-dialogue": {"requests": Minimum(30, f"{_D2014}: Art. 30(1); § 59")},
    "accelerated-open": {"tenders": Minimum(15, f"{_D2014}: Art. 27(3); § 57")},
    "accelerated-restricted": _ACCELERATED_2014,
    "accelerated-negotiated": _ACCELERATED_2014,  # Art. 29(1) refers to Art. 28(6)
}  # fmt: skip

TWO_STAGE: frozenset[str] = frozenset(
    {"restricted", "negotiated", "competitive-dialogue", "accelerated-restricted",
     "accelerated-negotiated"}
)  # fmt: skip
"""The procedures whose notice invites requests to participate; tenders come after the selection."""


# Standstill and award notice


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
               "Bek. nr. 588 af 12/06/2006 (in force 1 Oct 2006), DOMAIN.md §3"),
    Standstill(date(2010, 7, 1), 10, None, 15,
               "Lov nr. 492 af 12/05/2010 om håndhævelse af udbudsreglerne m.v. § 3 (*verify*)"),
)  # fmt: skip

AWARD_NOTICE: Mapping[str, Answer] = {
    "eu-2004-18": Answer(48, f"{_D2004} Art. 35(4)"),
    "eu-2014-24": Answer(30, f"{_D2014}: Art. 50(1); § 129"),
    # Annex II B: exempt from the minimum periods, not from the award notice (Art. 21, 35(4)).
    "annex-iib": Answer(48, f"{_D2004} Arts. 21, 35(4) (Annex II B)"),
}
"""Days after the contract within which the contract award notice must be sent, by regime."""


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
    standstill: str = "mandatory"  # mandatory | optional (the tender's choice) | none


REGIMES: Mapping[str, Regime] = {
    "eu-2004-18": Regime("eu-2004-18", "EU-udbud, direktiv 2004/18/EF", EU_2004_18),
    "eu-2014-24": Regime("eu-2014-24", "EU-udbud, direktiv 2014/24/EU / udbudsloven", EU_2014_24),
    # Annex II B services (health, social services, personnel placement): no statutory minimum
    # periods under 2004/18/EC Art. 21 (only Arts. 23 and 35(4) apply) (*verify*); a standstill is
    # not required where the contract may be awarded without a prior contract notice.
    "annex-iib": Regime("annex-iib", "Bilag II B-tjenesteydelser", None, standstill="optional"),
    # Tilbudsloven (lov nr. 338 af 18/05/2005): works below the thresholds, "reasonable" periods.
    "tilbudsloven": Regime("tilbudsloven", "Tilbudsloven (national)", None, national_only=True,
                           standstill="none"),
}  # fmt: skip

PROCEDURES: tuple[str, ...] = tuple(
    dict.fromkeys(p for r in REGIMES.values() for p in (r.minimums or {}))
)
"""Every procedure some regime knows (a regime without minimum periods accepts any of them)."""

_DEADLINE_FACT = {"tenders": "tender_deadline", "requests": "requests_deadline"}


def regime_of(tender: Tender) -> Regime:
    """The tender's regime, or a refusal naming the regimes there are."""
    if not tender.regime:
        raise NotAllowed(
            f"tender {tender.id} has no legal regime; its legal periods depend on one "
            f"(regimes: {', '.join(REGIMES)})"
        )
    return _regime(tender.regime, f"tender {tender.id} has the unknown regime")


def _regime(name: str, what: str = "unknown legal regime") -> Regime:
    regime = REGIMES.get(name)
    if regime is None:
        raise NotAllowed(f"{what} '{name}' (regimes: {', '.join(REGIMES)})")
    return regime


def check_regime(name: str | None) -> None:
    """Refuse an unknown regime name at the boundary (tender create, programme load)."""
    if name is not None:
        _regime(name)


def procedures_of(regime: str) -> tuple[str, ...]:
    """The procedures a regime has (every known procedure where it sets no minimum periods)."""
    rules = REGIMES[regime].minimums
    return tuple(rules) if rules is not None else PROCEDURES


def check_procedure(procedure: str | None, regime: str | None) -> None:
    """Refuse a procedure no regime knows, or one the tender's regime does not have."""
    if procedure is None:
        return
    if procedure not in PROCEDURES:
        raise NotAllowed(f"unknown procedure '{procedure}' (procedures: {', '.join(PROCEDURES)})")
    if regime is not None and regime in REGIMES and procedure not in procedures_of(regime):
        raise NotAllowed(
            f"{regime} has no '{procedure}' procedure "
            f"(procedures: {', '.join(procedures_of(regime))})"
        )


# Answering


def deadline(
    regime: str, procedure: str | None, stage: str, start: date, facts: Mapping[str, Any]
) -> Answer:
    """The legal period of `stage` for a tender under `regime` and `procedure`, counted from
    `start`: the days, the basis and notes. `NoMinimum` where the law sets none, `NotAllowed`
    where the stage does not exist for the procedure."""
    rules = _regime(regime)
    if stage not in STAGES:
        raise NotAllowed(f"unknown stage '{stage}' (stages: {', '.join(STAGES)})")
    if stage == "standstill":
        return _standstill(rules, procedure, start, facts)
    if stage == "award_notice":
        return _award_notice(rules)
    check_procedure(procedure, regime)
    if stage == "requests" and procedure is not None and procedure not in TWO_STAGE:
        raise NotAllowed(
            f"the {procedure} procedure has no requests to participate; its tender period "
            "runs from the notice (stage tenders)"
        )
    if rules.minimums is None:
        raise _no_minimum(regime, procedure, stage)
    if procedure is None:
        raise NotAllowed(
            f"the {stage} period under {regime} depends on the procedure, which is not set "
            f"(procedures: {', '.join(procedures_of(regime))})"
        )
    minimum = rules.minimums.get(procedure, {}).get(stage)
    if minimum is None:
        raise _no_minimum(regime, procedure, stage)
    notice = _date_fact(facts, "notice_sent_on")
    if notice is None and stage == "tenders" and procedure in TWO_STAGE and "pin_sent_on" in facts:
        raise NotAllowed(
            f"the PIN window counts back from the contract notice, which in the {procedure} "
            "procedure is not the invitation to tender; give notice_sent_on=YYYY-MM-DD too"
        )
    return minimum.answer(facts, start, notice or start)


def _no_minimum(regime: str, procedure: str | None, stage: str) -> NoMinimum:
    fact = _DEADLINE_FACT[stage]
    what = "requests to participate" if stage == "requests" else "tenders"
    where = f" in the {procedure} procedure" if procedure else ""
    return NoMinimum(
        f"{regime} sets no minimum period for {what}{where}; the period is the tender's own: "
        f"record {fact}=YYYY-MM-DD (kflow tender set ID {fact}=…) and its timer runs to the "
        "end of that day",
        fact,
    )


def _standstill(
    regime: Regime, procedure: str | None, start: date, facts: Mapping[str, Any]
) -> Answer:
    if regime.standstill == "none":
        return Answer(0, f"{regime.title}: no statutory standstill")
    observed = facts.get("standstill")
    notes: tuple[str, ...] = ()
    if regime.standstill == "optional":
        if observed is False:
            return Answer(
                0,
                f"{regime.title}: no standstill required without a prior contract notice",
                ("standstill=no: the tender observes no standstill (its choice)",),
            )
        notes = ("a standstill is observed (the tender's choice; standstill=no to waive it)",)
    warnings: tuple[str, ...] = ()
    if regime.standstill == "mandatory" and observed is False:
        warnings = (f"standstill=no is ignored: the standstill is mandatory under {regime.name}",)
    rule = next((s for s in reversed(STANDSTILL) if s.since <= start), None)
    if rule is None:
        return Answer(0, f"no standstill rule before {STANDSTILL[0].since}", notes, warnings)
    if rule.accelerated is not None and str(procedure or "").startswith("accelerated"):
        notes = (*notes, "accelerated procedure")
        return Answer(rule.accelerated, rule.source, notes, warnings)
    sent = _yes(facts, "notified_electronically") or _yes(facts, "notified_by_fax")
    if rule.by_letter is not None and not sent:
        notes = (*notes, "decision notified by letter")
        return Answer(rule.by_letter, rule.source, notes, warnings)
    return Answer(rule.days, rule.source, notes, warnings)


def _award_notice(regime: Regime) -> Answer:
    answer = AWARD_NOTICE.get(regime.name)
    if answer is None:
        raise NotAllowed(f"{regime.name} has no contract award notice (it is national only)")
    return answer


def resolve(ref: PeriodRef, tender: Tender, start: date) -> Period:
    """A definition's period for this tender, counted from `start`; legal.* per the regime. A
    period of no days, and a date the tender fixed itself, do not roll."""
    if isinstance(ref, Period):
        return ref
    answer = legal_period(ref, tender, start)
    return Period(answer.days, "D", rolls=answer.rolls and answer.days > 0)


def with_closed(ref: PeriodRef, period: Period, closed: frozenset[str]) -> Period:
    """`period` (what `ref` resolved to) rolling past the programme's closed days too (a period
    that rolls), or counting them out (a period in working days); never the award notice's."""
    closed = closed_for(ref.stage if isinstance(ref, LegalPeriod) else None, closed)
    if closed and (period.rolls or period.unit == "WD"):
        return replace(period, closed=closed)
    return period


def closed_for(stage: str | None, closed: frozenset[str]) -> frozenset[str]:
    """The programme's closed days that move a stage's period: none for the award notice. A
    minimum period only grows by them, which is the safe side; the award notice is the
    authority's own duty, due within its days in law whatever days the office keeps closed."""
    return frozenset() if stage == "award_notice" else closed


def legal_days(ref: LegalPeriod, tender: Tender, start: date) -> int:
    """The calendar days of a legal period for a tender whose period starts on `start`."""
    return legal_period(ref, tender, start).days


def legal_period(ref: LegalPeriod, tender: Tender, start: date) -> Answer:
    """A legal period for a tender whose period starts on `start`: the statute's, or the
    tender's own deadline where the statute sets none."""
    regime = regime_of(tender)
    procedure = tender.procedure or tender.facts.get("procedure")
    try:
        answer = deadline(regime.name, procedure, ref.stage, start, tender.facts)
    except NoMinimum as exc:
        days = _own_deadline(ref, regime, tender, start, exc.fact)
        return Answer(days, f"the tender's own {exc.fact}", rolls=False)
    except NotAllowed as exc:
        raise NotAllowed(f"tender {tender.id}: {ref}: {exc}") from exc
    return _as_announced(answer, tender, ref.stage, start)


def _as_announced(minimum: Answer, tender: Tender, stage: str, start: date) -> Answer:
    """The stage's period as the tender announced it (`announced`), where it did; a date the
    tender fixed already (a deadline agreed with the candidates, 2014/24) stands as it is."""
    fact = _DEADLINE_FACT.get(stage)
    if fact is None or tender.facts.get(fact) in (None, "") or not minimum.rolls:
        return minimum
    return announced(minimum, start, fact, _own_date(tender, fact))


def announced(minimum: Answer, start: date, fact: str, deadline: date) -> Answer:
    """The period a tender announced (its `tender_deadline` or `requests_deadline`, a date that
    does not roll) where the law sets a minimum: it runs to the end of that day when that is no
    earlier than the minimum's last day (Directive 2004/18 Art. 38(1), 2014/24 Art. 47(1): the
    authority fixes the time limit, the minimum is only its floor; a bid is on time until the
    announced deadline); an announced day before that is unlawful, so the minimum applies, and
    a warning says so."""
    last = expiry_day(start, Period(minimum.days, "D", rolls=minimum.rolls))
    if deadline < last:
        warning = (f"{fact} {deadline} is earlier than the legal minimum allows: {minimum.days} "
                   f"days from {start} run to the end of {last} ({minimum.basis}); the minimum "
                   "applies, so correct the announced deadline")  # fmt: skip
        return replace(minimum, warnings=(*minimum.warnings, warning))
    note = f"{fact} {deadline} as announced (the minimum, {minimum.days} days, ends {last})"
    return Answer((deadline - start).days, f"the tender's own {fact}; at least {minimum.basis}",
                  (*minimum.notes, note), minimum.warnings, rolls=False)  # fmt: skip


def tender_notes(tender: Tender, today: date) -> tuple[list[str], list[str]]:
    """Notes and warnings on how a tender's facts shape its tender period and standstill (for
    `tender show`): a PIN outside its window, the standstill Annex II B leaves to the tender."""
    if not tender.regime or tender.regime not in REGIMES:
        return [], []
    notice = _date_fact(tender.facts, "notice_sent_on") or today
    notes: list[str] = []
    warnings: list[str] = []
    two_stage = tender.procedure in TWO_STAGE
    stages = (("requests", notice),) if two_stage else ()
    for stage, start in (*stages, ("tenders", notice), ("standstill", today)):
        try:
            answer = deadline(tender.regime, tender.procedure, stage, start, tender.facts)
            if not (two_stage and stage == "tenders"):  # that period starts at the invitation
                answer = _as_announced(answer, tender, stage, start)
        except NotAllowed:
            continue
        notes.extend(f"{stage}: {note}" for note in answer.notes)
        warnings.extend(answer.warnings)
    return notes, warnings


def _own_deadline(ref: LegalPeriod, regime: Regime, tender: Tender, start: date, fact: str) -> int:
    if tender.facts.get(fact) in (None, ""):
        raise NotAllowed(
            f"tender {tender.id} is under {regime.name}, which sets no minimum {ref} for "
            f"{_named(tender.procedure)}; record the tender's own {fact} first "
            f"(kflow tender set {tender.id} {fact}=YYYY-MM-DD)"
        )
    deadline = _own_date(tender, fact)
    if deadline < start:
        raise NotAllowed(
            f"tender {tender.id}: {fact} {deadline} is before the period starts on {start}"
        )
    return (deadline - start).days


def _own_date(tender: Tender, fact: str) -> date:
    """The tender's own deadline fact, as a date."""
    value = tender.facts.get(fact)
    try:
        deadline = parse_date_expr(str(value))
    except PeriodError as exc:
        raise NotAllowed(f"tender {tender.id}: {fact} {value!r} is not a date ({exc})") from exc
    return deadline


@dataclass(frozen=True)
class Calculated:
    """A deadline worked out from a day: `kflow legal deadline`'s answer."""

    regime: str
    procedure: str | None
    stage: str
    start: date
    answer: Answer
    last_day: date
    ends_at: datetime | None  # None: there is no period (no standstill)


def calculate(
    regime: str,
    procedure: str | None,
    stage: str,
    start: date,
    facts: Mapping[str, Any],
    closed: frozenset[str] = frozenset(),
) -> Calculated:
    """The minimum period of a stage from `start`, its last day (rolled) and the instant it ends."""
    answer = deadline(regime, procedure, stage, start, facts)
    if answer.days == 0:
        none = "no standstill: the contract may follow the award decision at once"
        answer = replace(answer, notes=(*answer.notes, *answer.warnings, none), warnings=())
        return Calculated(regime, procedure, stage, start, answer, start, None)
    if closed and not closed_for(stage, closed):
        kept = (f"closed days ({', '.join(sorted(closed))}) do not move the award notice: it is "
                f"due within {answer.days} days in law")  # fmt: skip
        answer = replace(answer, notes=(*answer.notes, kept))
    period = Period(answer.days, "D", rolls=answer.rolls, closed=closed_for(stage, closed))
    last = expiry_day(start, period)
    plain = start + timedelta(days=answer.days)
    if last != plain:
        why, basis = (("not a working day", "Regulation 1182/71 Art. 3(4)")
                      if not is_working_day(plain)
                      else ("closed here", "the programme's closed days; in law a working day"))  # fmt: skip
        rolled = (
            f"day {answer.days} is {plain:%a} {plain}, {why}: the period runs to the end of "
            f"{last:%a} {last} ({basis})"
        )
        answer = replace(answer, notes=(*answer.notes, rolled))
    answer = replace(answer, notes=(*answer.notes, *answer.warnings), warnings=())
    return Calculated(regime, procedure, stage, start, answer, last, end_of_day(last))


# Thresholds


def threshold_on(day: date) -> Threshold | None:
    """The EU thresholds in force on a day, if this package knows them."""
    return next((t for t in THRESHOLDS if t.since <= day <= t.until), None)


def threshold_warning(tender: Tender, day: date) -> str | None:
    """A warning when a national-only tender's estimated value reaches the EU threshold: the
    threshold in force when its notice was sent (`notice_sent_on`), else on `day`."""
    value = tender.facts.get("estimated_value")
    if not tender.regime or tender.regime not in REGIMES or not isinstance(value, int | float):
        return None
    threshold = threshold_on(_date_fact(tender.facts, "notice_sent_on") or day)
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


def _date_fact(facts: Mapping[str, Any], name: str) -> date | None:
    """A date fact's value; None if absent or not a date (facts are typed at the boundary)."""
    value = facts.get(name)
    if value in (None, ""):
        return None
    try:
        return parse_date_expr(value if isinstance(value, date) else str(value))
    except PeriodError:
        return None


def _named(value: object) -> str:
    return f"the {value} procedure" if value else "a tender without a procedure"
