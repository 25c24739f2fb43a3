"""Dates for tender processes: periods, Danish working days, day boundaries and quarters.

Everything here is pure and in Europe/Copenhagen local time (DESIGN.md, "Time").

Periods are counted as Regulation (EEC, Euratom) No 1182/71 counts them, which the Danish
Complaints Board for Public Procurement applies (DOMAIN.md §3):

- the day of the triggering act is not counted (Art. 3(1));
- a period in days, weeks or months ends at the end of its last day (Art. 3(2));
- a period in months whose day does not exist in the last month ends on that month's last day
  (Art. 3(2)(c));
- if the last day is a Saturday, Sunday or public holiday, the period runs to the end of the next
  working day (Art. 3(4)); a `Period` asks for this with `rolls=True`.

Danish public holidays come from the `holidays` package (DOMAIN.md §4), pinned to the rules the
project relies on: Store Bededag only before 2024, and Constitution Day, Christmas Eve and New
Year's Eve never (they are often days off, but not public holidays).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Final, Literal
from zoneinfo import ZoneInfo

import holidays
from dateutil.easter import easter

from konkurrence_flow.errors import PeriodError

__all__ = [
    "CLOSED_DAYS",
    "TZ",
    "Period",
    "add_months",
    "add_working_days",
    "danish_holidays",
    "day_before",
    "end_of_day",
    "expires_at",
    "expiry_day",
    "is_holiday",
    "is_working_day",
    "local_date",
    "next_working_day",
    "parse_date_expr",
    "parse_instant",
    "parse_period",
    "quarter_end",
    "quarter_label",
    "quarter_of",
    "quarter_start",
    "start_of_day",
]

TZ: Final = ZoneInfo("Europe/Copenhagen")

Unit = Literal["D", "W", "M", "WD"]
_UNITS: Final = ("D", "W", "M", "WD")

# Periods


@dataclass(frozen=True)
class Period:
    """A length of time: an amount of days, weeks, months or working days, optionally rolling."""

    amount: int
    unit: Unit
    rolls: bool = False
    closed: frozenset[str] = frozenset()  # days off that count as closed here (CLOSED_DAYS)

    def __post_init__(self) -> None:
        if self.unit not in _UNITS:
            raise PeriodError(f"period unit {self.unit!r} is not understood; use D, W, M or WD")
        if self.amount < 0:
            raise PeriodError(f"period amount {self.amount} is negative; use a whole number >= 0")

    def __str__(self) -> str:
        if self.unit == "WD":
            return f"{self.amount} working day" + ("" if self.amount == 1 else "s")
        return f"P{self.amount}{self.unit}"


_ISO_PERIOD: Final = re.compile(r"P(\d+)([DWM])", re.IGNORECASE | re.ASCII)
_ISO_UNITS: Final[dict[str, Unit]] = {"D": "D", "W": "W", "M": "M"}
_WORKING_DAYS: Final = re.compile(
    r"(\d+)\s+(?:working\s+days?|arbejdsdage?)", re.IGNORECASE | re.ASCII
)
_PERIOD_FORMS: Final = "use P<n>D, P<n>W, P<n>M or '<n> working days'"


def parse_period(text: str, *, rolls: bool = False) -> Period:
    """Read "P52D", "P2W", "P1M", "10 working days" or "10 arbejdsdage" into a `Period`."""
    stripped = text.strip()
    if match := _ISO_PERIOD.fullmatch(stripped):
        return _bounded(Period(int(match[1]), _ISO_UNITS[match[2].upper()], rolls), text)
    if match := _WORKING_DAYS.fullmatch(stripped):
        return _bounded(Period(int(match[1]), "WD", rolls), text)
    raise PeriodError(f"period {_quoted(text)} is not understood; {_PERIOD_FORMS}")


_MOST = {"D": 36_500, "W": 5_200, "M": 1_200, "WD": 26_000}
"""The longest periods there are: a hundred years, in each unit."""


def _bounded(period: Period, text: str) -> Period:
    if period.amount > _MOST[period.unit]:
        raise PeriodError(f"period {_quoted(text)} is longer than a hundred years; check it")
    return period


def _quoted(text: str) -> str:
    """A text quoted for a message, cut short (a message never repeats a huge value whole)."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def expiry_day(start: date, period: Period) -> date:
    """The last day of `period` counted from `start`, the entry day not counted (1182/71 Art. 3)."""
    try:
        last = _last_day(start, period)
        return next_working_day(last, period.closed) if period.rolls else last
    except (OverflowError, ValueError) as exc:
        raise PeriodError(
            f"period {period} from {start.isoformat()} ends after the year 9999; "
            "use a shorter period"
        ) from exc


def _last_day(start: date, period: Period) -> date:
    """The last day before any roll to a working day."""
    if period.unit == "D":
        return start + timedelta(days=period.amount)
    if period.unit == "W":
        return start + timedelta(weeks=period.amount)
    if period.unit == "M":
        return add_months(start, period.amount)
    return add_working_days(start, period.amount, period.closed)


def day_before(end: date, period: Period) -> date:
    """The day `period` before `end` (a reminder's day before a due date); never rolls."""
    if period.unit == "D":
        return end - timedelta(days=period.amount)
    if period.unit == "W":
        return end - timedelta(weeks=period.amount)
    if period.unit == "M":
        return add_months(end, -period.amount)
    day = end
    for _ in range(period.amount):
        day -= timedelta(days=1)
        while not is_working_day(day):
            day -= timedelta(days=1)
    return day


def add_months(start: date, months: int) -> date:
    """The same day-of-month `months` later, clamped to that month's end (1182/71 Art. 3(2)(c))."""
    year, month0 = divmod(start.month - 1 + months, 12)
    target_year, target_month = start.year + year, month0 + 1
    last_day = _days_in_month(target_year, target_month)
    return date(target_year, target_month, min(start.day, last_day))


def _days_in_month(year: int, month: int) -> int:
    """The number of days in a month."""
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return (first_of_next - timedelta(days=1)).day


def expires_at(start: date, period: Period) -> datetime:
    """The instant `period` from `start` expires: the end (24:00 local) of its last day."""
    return end_of_day(expiry_day(start, period))


# Day boundaries


@lru_cache(maxsize=8192)
def start_of_day(d: date) -> datetime:
    """The instant day `d` begins: 00:00 Copenhagen time, as an instant in UTC.

    Instants are kept in UTC: Python compares two datetimes that share a tzinfo by wall time,
    which is wrong in the hour the clocks go back.
    """
    try:
        return datetime.combine(d, time(0), tzinfo=TZ).astimezone(UTC)
    except OverflowError as exc:
        raise PeriodError(f"day {d.isoformat()} is out of range") from exc


def end_of_day(d: date) -> datetime:
    """The instant day `d` ends: 00:00 Copenhagen time on the next day (24:00 of `d`), in UTC."""
    try:
        return start_of_day(d + timedelta(days=1))
    except OverflowError as exc:
        raise PeriodError(f"day {d.isoformat()} is out of range") from exc


def local_date(instant: datetime) -> date:
    """The Copenhagen calendar date of an aware instant; a naive datetime is refused."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"datetime {instant.isoformat()} is naive; give a timezone-aware instant")
    return instant.astimezone(TZ).date()


def wall_time(instant: datetime) -> str:
    """An instant as Copenhagen wall time, for messages: `2007-09-16 00:05 CEST`."""
    return instant.astimezone(TZ).strftime("%Y-%m-%d %H:%M %Z")


# Holidays and working days

_GREAT_PRAYER_DAY_ABOLISHED: Final = 2024  # Act no. 214 of 6 March 2023, from 1 January 2024
_NOT_PUBLIC_HOLIDAYS: Final = frozenset({"Constitution Day", "Christmas Eve", "New Year's Eve"})
"""Days off that are working days in law (Grundlovsdag, juleaften, nytårsaften): dropped by name
should the holiday table list them, never by date, since Whit Monday may fall on 5 June."""

CLOSED_DAYS: Final[Mapping[str, tuple[int, int]]] = MappingProxyType({
    "grundlovsdag": (6, 5),
    "juleaften": (12, 24),
    "nytaarsaften": (12, 31),
})  # fmt: skip
"""Working days in law that many offices treat as closed; a programme may roll past them
(`calendar: {closed: [grundlovsdag, juleaften, nytaarsaften]}`). The statutory reading is the
default: none of them is closed."""


def danish_holidays(year: int) -> dict[date, str]:
    """The Danish public holidays of `year`, date -> English name (DOMAIN.md §4)."""
    return dict(_holidays_of(year))


@lru_cache(maxsize=256)  # one entry per year; a run touches a handful
def _holidays_of(year: int) -> Mapping[date, str]:
    """The cached, read-only holiday table of one year."""
    table = dict(holidays.country_holidays("DK", years=year, language="en_US", categories="public"))
    _pin_great_prayer_day(table, year)
    for day, names in list(table.items()):
        public = [name for name in names.split("; ") if name not in _NOT_PUBLIC_HOLIDAYS]
        if public:
            table[day] = "; ".join(public)
        else:
            del table[day]
    return MappingProxyType(table)


def _pin_great_prayer_day(table: dict[date, str], year: int) -> None:
    """Store Bededag (Easter + 26 days) is a holiday before 2024 and not from 2024 on."""
    day = easter(year) + timedelta(days=26)
    if year < _GREAT_PRAYER_DAY_ABOLISHED:
        table.setdefault(day, "Great Prayer Day")
    else:
        table.pop(day, None)


def is_holiday(d: date) -> bool:
    """Whether `d` is a Danish public holiday."""
    return d in _holidays_of(d.year)


def is_working_day(d: date, closed: frozenset[str] = frozenset()) -> bool:
    """Whether `d` is Monday to Friday, not a public holiday, and not one of the `closed` days."""
    if d.weekday() >= 5 or is_holiday(d):
        return False
    return not closed or not any(CLOSED_DAYS[name] == (d.month, d.day) for name in closed)


def next_working_day(d: date, closed: frozenset[str] = frozenset()) -> date:
    """`d` itself if it is a working day, else the first working day after it (the roll)."""
    while not is_working_day(d, closed):
        d += timedelta(days=1)
    return d


def add_working_days(d: date, n: int, closed: frozenset[str] = frozenset()) -> date:
    """The `n`-th working day after `d`; `d` itself for n = 0."""
    if n < 0:
        raise PeriodError(f"working days {n} is negative; use a whole number >= 0")
    for _ in range(n):
        d = next_working_day(d + timedelta(days=1), closed)
    return d


# Quarters


def quarter_of(d: date) -> tuple[int, int]:
    """The (year, quarter) that `d` falls in."""
    return d.year, (d.month - 1) // 3 + 1


def quarter_start(year: int, q: int) -> date:
    """The first day of quarter `q` of `year`."""
    return date(year, 3 * _checked_quarter(q) - 2, 1)


def quarter_end(year: int, q: int) -> date:
    """The last day of quarter `q` of `year`."""
    month = 3 * _checked_quarter(q)
    return date(year, month, _days_in_month(year, month))


def quarter_label(year: int, q: int) -> str:
    """The display form of a quarter: "Q3 2007"."""
    return f"Q{_checked_quarter(q)} {year}"


def _checked_quarter(q: int) -> int:
    """`q` if it is a quarter number; else PeriodError."""
    if q not in (1, 2, 3, 4):
        raise PeriodError(f"quarter {q!r} is not understood; use 1, 2, 3 or 4")
    return q


# Parsing dates and instants

_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_END_WORDS: Final = r"end of|udgangen af|slutningen af|ultimo"
_START_WORDS: Final = r"start of|beginning of|starten af|begyndelsen af|primo"
_QUARTER: Final = r"q ?(?P<q1>[1-4])|(?P<q2>[1-4])\.? ?(?:kvartal|kvt\.?)"
_QUARTER_EXPR: Final = re.compile(
    rf"(?:(?:(?P<end>{_END_WORDS})|(?P<start>{_START_WORDS})) )?(?:{_QUARTER}) ?(?P<year>\d{{4}})",
    re.ASCII,
)
_DATE_FORMS: Final = (
    "use an ISO date (2007-09-30), 'end of Q3 2007', 'start of Q4 2007', "
    "'3. kvartal 2007', 'ultimo 3. kvt. 2007' or 'primo 4. kvartal 2007'"
)


FIRST_YEAR, LAST_YEAR = 1900, 2200
"""Dates in definitions, programmes and reports lie within these years: anything else is a typo
(9999-12-31 would make a step that is never due, and break the calendar's arithmetic)."""


def parse_date_expr(value: date | str) -> date:
    """Read a date, an ISO date string or a quarter expression ("end of Q3 2007") into a date."""
    day = _date_expr(value)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise PeriodError(
            f"date {day.isoformat()} lies outside {FIRST_YEAR}-{LAST_YEAR}; check the year"
        )
    return day


def _date_expr(value: date | str) -> date:
    if isinstance(value, datetime):
        raise PeriodError(f"date {value.isoformat()!r} has a time of day; {_DATE_FORMS}")
    if isinstance(value, date):
        return value
    normal = " ".join(value.lower().split())
    if _ISO_DATE.fullmatch(normal):
        return _iso_date(value, normal)
    if match := _QUARTER_EXPR.fullmatch(normal):
        return _quarter_day(match)
    raise PeriodError(f"date {_quoted(value)} is not understood; {_DATE_FORMS}")


def _iso_date(text: str, normal: str) -> date:
    """An ISO date string as a date; an impossible date (2007-02-30) is refused."""
    try:
        return date.fromisoformat(normal)
    except ValueError as exc:
        raise PeriodError(f"date {text!r} is not a calendar date; {_DATE_FORMS}") from exc


def _quarter_day(match: re.Match[str]) -> date:
    """The first or last day of the quarter a matched quarter expression names (bare = last)."""
    year, q = int(match["year"]), int(match["q1"] or match["q2"])
    if not FIRST_YEAR <= year <= LAST_YEAR:  # before the dates: Q4 9999 ends past year 9999
        raise PeriodError(
            f"date {_quoted(match.string)} lies outside {FIRST_YEAR}-{LAST_YEAR}; check the year"
        )
    return quarter_start(year, q) if match["start"] else quarter_end(year, q)


_ISO_INSTANT: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    re.IGNORECASE | re.ASCII,
)


def parse_instant(text: str) -> datetime:
    """Read an ISO date (00:00 local) or datetime (naive = Copenhagen wall time) as an instant."""
    stripped = text.strip()
    if not _ISO_INSTANT.fullmatch(stripped):
        raise _bad_instant(text)
    try:
        parsed = datetime.fromisoformat(stripped.upper())
    except ValueError as exc:
        raise _bad_instant(text) from exc
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise PeriodError(
            f"time {_quoted(text)} lies outside {FIRST_YEAR}-{LAST_YEAR}; check the year"
        )
    if parsed.tzinfo is None:
        _check_wall_time(parsed, text)
        parsed = parsed.replace(tzinfo=TZ)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise PeriodError(
            f"time {text!r} is out of range; use a date between 0002 and 9998"
        ) from exc


def _check_wall_time(wall: datetime, text: str) -> None:
    """Refuse a Copenhagen wall time that never happened (the hour the clocks go forward)."""
    if 1 < wall.year < 9999:
        there_and_back = wall.replace(tzinfo=TZ).astimezone(UTC).astimezone(TZ)
        if there_and_back.replace(tzinfo=None) != wall:
            raise PeriodError(
                f"time {text!r} does not exist in Copenhagen: the clocks went forward an hour "
                f"that night (give {there_and_back.strftime('%Y-%m-%dT%H:%M')}, or an offset)"
            )


def _bad_instant(text: str) -> PeriodError:
    """The error for a time that cannot be read."""
    return PeriodError(
        f"time {_quoted(text)} is not understood; "
        "use an ISO date (2007-10-01) or datetime (2007-10-01T09:30)"
    )
