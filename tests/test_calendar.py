"""Tests for konkurrence_flow.calendar: periods, Danish holidays, day boundaries and quarters.

The worked examples come from DOMAIN.md §3 (counting periods, Regulation 1182/71) and §4 (Danish
public holidays; Easter 2007 is 8 April, Easter 2008 is 23 March).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konkurrence_flow.calendar import (
    TZ,
    Period,
    add_working_days,
    danish_holidays,
    end_of_day,
    expires_at,
    expiry_day,
    is_holiday,
    is_working_day,
    local_date,
    next_working_day,
    parse_date_expr,
    parse_instant,
    parse_period,
    quarter_end,
    quarter_label,
    quarter_of,
    quarter_start,
    start_of_day,
)
from konkurrence_flow.errors import PeriodError

P52D_ROLLING = Period(52, "D", rolls=True)  # Directive 2004/18/EC Art. 38(2): open, tenders

# Parsing periods


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P52D", Period(52, "D")),
        ("P2W", Period(2, "W")),
        ("P1M", Period(1, "M")),
        ("p52d", Period(52, "D")),
        ("  P0D  ", Period(0, "D")),
        ("10 working days", Period(10, "WD")),
        ("1 working day", Period(1, "WD")),
        ("10  Working  Days", Period(10, "WD")),
        ("10 arbejdsdage", Period(10, "WD")),
        ("1 arbejdsdag", Period(1, "WD")),
    ],
)
def test_parse_period_reads_iso_and_working_day_forms(text: str, expected: Period) -> None:
    """ISO 8601 days, weeks, months and English or Danish working days are read in any case."""
    assert parse_period(text) == expected


def test_parse_period_passes_rolls_on() -> None:
    """The rolls flag given to the parser ends up on the period."""
    assert parse_period("P52D", rolls=True) == P52D_ROLLING


@pytest.mark.parametrize(
    "text", ["P5X", "52 days", "P-1D", "PT5H", "P1Y", "P1M2D", "working days", "", "10 hverdage"]
)
def test_parse_period_refuses_other_forms(text: str) -> None:
    """Anything but P<n>D, P<n>W, P<n>M or '<n> working days' is a PeriodError naming the text."""
    message = f"period {text!r} is not understood; use P<n>D, P<n>W, P<n>M or '<n> working days'"
    with pytest.raises(PeriodError, match=re.escape(message)):
        parse_period(text)


@pytest.mark.parametrize(
    ("period", "text"),
    [
        (Period(52, "D"), "P52D"),
        (Period(2, "W"), "P2W"),
        (Period(1, "M"), "P1M"),
        (Period(10, "WD"), "10 working days"),
        (Period(1, "WD"), "1 working day"),
        (Period(52, "D", rolls=True), "P52D"),
    ],
)
def test_period_str_is_canonical(period: Period, text: str) -> None:
    """A period prints in its canonical form, without mentioning the roll."""
    assert str(period) == text


def test_period_refuses_a_negative_amount() -> None:
    """A period cannot be negative."""
    with pytest.raises(PeriodError, match="period amount -1 is negative"):
        Period(-1, "D")


def test_period_refuses_an_unknown_unit() -> None:
    """A period's unit is one of D, W, M, WD."""
    with pytest.raises(PeriodError, match="period unit 'Y' is not understood; use D, W, M or WD"):
        Period(1, "Y")  # type: ignore[arg-type]


# Counting periods (Regulation 1182/71, DOMAIN.md §3)


def test_open_procedure_example_rolls_from_sunday_to_monday() -> None:
    """Notice sent Thu 2008-01-10: day 52 is Sun 2008-03-02, so the period ends Mon 2008-03-03."""
    assert expiry_day(date(2008, 1, 10), Period(52, "D")) == date(2008, 3, 2)
    assert expiry_day(date(2008, 1, 10), P52D_ROLLING) == date(2008, 3, 3)


def test_open_procedure_example_expires_at_end_of_monday() -> None:
    """The example period expires at 24:00 on Mon 2008-03-03, i.e. 2008-03-04 00:00 Copenhagen."""
    instant = expires_at(date(2008, 1, 10), P52D_ROLLING)
    assert instant == datetime(2008, 3, 4, tzinfo=TZ)
    assert instant.tzinfo is UTC  # instants are kept in UTC
    assert instant.astimezone(UTC) == datetime(2008, 3, 3, 23, 0, tzinfo=UTC)


def test_period_ending_on_good_friday_rolls_past_easter() -> None:
    """Sent Tue 2008-01-29: day 52 is Good Friday 2008-03-21; the roll skips Easter to Tue 25th."""
    assert expiry_day(date(2008, 1, 29), Period(52, "D")) == date(2008, 3, 21)
    assert expiry_day(date(2008, 1, 29), P52D_ROLLING) == date(2008, 3, 25)


def test_period_without_rolls_ends_on_the_weekend_or_holiday() -> None:
    """Without rolls, the last day is kept even on a Sunday or Good Friday."""
    assert expires_at(date(2008, 1, 10), Period(52, "D")) == datetime(2008, 3, 3, tzinfo=TZ)
    assert expires_at(date(2008, 1, 29), Period(52, "D")) == datetime(2008, 3, 22, tzinfo=TZ)


def test_rolls_do_not_move_a_working_last_day() -> None:
    """A last day that is already a working day stays put with rolls."""
    assert expiry_day(date(2008, 1, 7), P52D_ROLLING) == date(2008, 2, 28)


@pytest.mark.parametrize(
    ("start", "period", "last"),
    [
        (date(2008, 1, 10), Period(2, "W"), date(2008, 1, 24)),
        (date(2008, 1, 10), Period(0, "D"), date(2008, 1, 10)),
        (date(2007, 12, 15), Period(1, "M"), date(2008, 1, 15)),
        (date(2008, 1, 31), Period(1, "M"), date(2008, 2, 29)),
        (date(2007, 1, 31), Period(1, "M"), date(2007, 2, 28)),
        (date(2007, 8, 31), Period(3, "M"), date(2007, 11, 30)),
        (date(2007, 4, 1), Period(18, "M"), date(2008, 10, 1)),
    ],
)
def test_weeks_and_months_count_like_1182_71(start: date, period: Period, last: date) -> None:
    """Weeks are 7 days; months keep the day of month, clamped to the month's end (Art. 3(2)(c))."""
    assert expiry_day(start, period) == last


def test_zero_working_days_is_the_start_day_rolled_if_asked() -> None:
    """0 working days after Sat 2008-03-22 is that Saturday; rolled, Tue 25th (after Easter)."""
    assert expiry_day(date(2008, 3, 22), Period(0, "WD")) == date(2008, 3, 22)
    assert expiry_day(date(2008, 3, 22), Period(0, "WD", rolls=True)) == date(2008, 3, 25)


def test_expiry_past_year_9999_is_a_period_error() -> None:
    """A period running off the calendar is refused with a PeriodError naming it."""
    with pytest.raises(PeriodError, match="period P1000000W from 2007-01-01 ends after the year"):
        expiry_day(date(2007, 1, 1), Period(1_000_000, "W"))


# Danish public holidays (DOMAIN.md §4)


@pytest.mark.parametrize(
    "day",
    [
        date(2007, 1, 1),  # New Year's Day
        date(2007, 4, 5),  # Maundy Thursday, E-3 (Easter 2007 = 8 April)
        date(2007, 4, 6),  # Good Friday, E-2
        date(2007, 4, 8),  # Easter Sunday
        date(2007, 4, 9),  # Easter Monday, E+1
        date(2007, 5, 4),  # Store Bededag, E+26
        date(2007, 5, 17),  # Ascension, E+39
        date(2007, 5, 27),  # Whit Sunday, E+49
        date(2007, 5, 28),  # Whit Monday, E+50
        date(2007, 12, 25),  # Christmas Day
        date(2007, 12, 26),  # Boxing Day
        date(2008, 1, 1),  # New Year's Day
        date(2008, 3, 20),  # Maundy Thursday (Easter 2008 = 23 March)
        date(2008, 3, 21),  # Good Friday
        date(2008, 3, 23),  # Easter Sunday
        date(2008, 3, 24),  # Easter Monday
        date(2008, 4, 18),  # Store Bededag
        date(2008, 5, 1),  # Ascension
        date(2008, 5, 12),  # Whit Monday
        date(2023, 5, 5),  # the last Store Bededag
    ],
)
def test_danish_public_holidays(day: date) -> None:
    """The fixed and Easter-based Danish public holidays are holidays, not working days."""
    assert is_holiday(day)
    assert not is_working_day(day)
    assert day in danish_holidays(day.year)


@pytest.mark.parametrize(
    "day",
    [
        date(2024, 4, 26),  # Store Bededag, abolished from 2024 (Act no. 214 of 6 March 2023)
        date(2007, 6, 5),  # Grundlovsdag: often a day off, not a public holiday
        date(2007, 12, 24),  # juleaften
        date(2007, 12, 31),  # nytårsaften
        date(2008, 5, 2),  # the Friday after Ascension
    ],
)
def test_days_off_that_are_not_public_holidays(day: date) -> None:
    """Constitution Day, 24 and 31 December and Store Bededag from 2024 are working days."""
    assert not is_holiday(day)
    assert is_working_day(day)
    assert day not in danish_holidays(day.year)


def _easter(year: int) -> date:
    """Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher), written out here
    so the calendar's holiday table is checked against a count of its own."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


@pytest.mark.parametrize("year", range(1990, 2101))
def test_the_holidays_of_a_year_are_exactly_the_laws(year: int) -> None:
    """New Year's Day, Maundy Thursday to Easter Monday, Store Bededag (before 2024), Ascension,
    Whitsun and its Monday, 25 and 26 December: no more, no fewer, whatever day Easter falls."""
    easter = _easter(year)
    after = [-3, -2, 0, 1, *([26] if year < 2024 else []), 39, 49, 50]
    expected = {date(year, 1, 1), date(year, 12, 25), date(year, 12, 26)}
    expected |= {easter + timedelta(days=n) for n in after}
    assert set(danish_holidays(year)) == expected
    assert all(is_holiday(day) for day in expected)


def test_whit_monday_on_constitution_day_is_a_holiday_and_a_period_rolls_past_it() -> None:
    """Whit Monday falls on 5 June in 2006, 2017 and 2028: a holiday, though 5 June is not one by
    its date. Day 35 from 2017-05-01 is that Monday, so the period runs to the end of Tuesday."""
    for year in (2006, 2017, 2028):
        assert is_holiday(date(year, 6, 5)) and not is_working_day(date(year, 6, 5))
    assert expiry_day(date(2017, 5, 1), Period(35, "D", rolls=True)) == date(2017, 6, 6)
    assert not is_holiday(date(2018, 6, 5))  # Grundlovsdag alone is a working day


def test_danish_holidays_names_store_bededag() -> None:
    """Holidays carry their names; Store Bededag 2007 is the Great Prayer Day."""
    assert danish_holidays(2007)[date(2007, 5, 4)] == "Great Prayer Day"
    assert len(danish_holidays(2007)) == 11
    assert len(danish_holidays(2024)) == 10


def test_danish_holidays_returns_a_copy() -> None:
    """Changing the returned dict does not change the calendar."""
    danish_holidays(2007).pop(date(2007, 12, 25))
    assert is_holiday(date(2007, 12, 25))


def test_weekends_are_not_working_days() -> None:
    """Saturday and Sunday are never working days, holiday or not."""
    assert not is_working_day(date(2007, 12, 29))
    assert not is_working_day(date(2007, 12, 30))
    assert not is_holiday(date(2007, 12, 29))


# Working days


def test_next_working_day_keeps_a_working_day_and_rolls_the_rest() -> None:
    """A working day is its own roll; Christmas rolls to the 27th, Good Friday to Tuesday."""
    assert next_working_day(date(2007, 12, 24)) == date(2007, 12, 24)
    assert next_working_day(date(2007, 12, 25)) == date(2007, 12, 27)
    assert next_working_day(date(2008, 3, 21)) == date(2008, 3, 25)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, date(2007, 12, 21)),
        (1, date(2007, 12, 24)),  # Christmas Eve is a working day
        (2, date(2007, 12, 27)),  # 25 and 26 December are holidays
        (3, date(2007, 12, 28)),
        (4, date(2007, 12, 31)),  # New Year's Eve is a working day
        (5, date(2008, 1, 2)),  # 1 January is a holiday
    ],
)
def test_add_working_days_across_christmas_2007(n: int, expected: date) -> None:
    """From Fri 2007-12-21, working days skip the weekend, Christmas and New Year's Day."""
    assert add_working_days(date(2007, 12, 21), n) == expected


def test_ten_working_days_across_christmas() -> None:
    """'10 working days' from Thu 2007-12-20 end on Tue 2008-01-08."""
    assert expiry_day(date(2007, 12, 20), parse_period("10 working days")) == date(2008, 1, 8)


def test_add_working_days_refuses_a_negative_count() -> None:
    """Working days are only counted forwards."""
    with pytest.raises(PeriodError, match="working days -1 is negative"):
        add_working_days(date(2007, 12, 21), -1)


# Day boundaries and instants


def test_start_and_end_of_day_are_copenhagen_midnights() -> None:
    """A winter day runs from 00:00 CET to the next 00:00 CET."""
    assert start_of_day(date(2008, 1, 10)) == datetime(2008, 1, 9, 23, tzinfo=UTC)
    assert end_of_day(date(2008, 1, 10)) == datetime(2008, 1, 10, 23, tzinfo=UTC)
    assert start_of_day(date(2008, 1, 10)).tzinfo is UTC


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2008, 3, 30), 23), (date(2008, 10, 26), 25), (date(2008, 7, 1), 24)],
)
def test_day_length_follows_daylight_saving_time(day: date, hours: int) -> None:
    """The spring-forward day lasts 23 hours, the fall-back day 25, others 24."""
    length = end_of_day(day).astimezone(UTC) - start_of_day(day).astimezone(UTC)
    assert length == timedelta(hours=hours)


def test_local_date_is_the_copenhagen_date() -> None:
    """22:30 UTC on 30 June is already 1 July in Copenhagen."""
    assert local_date(datetime(2007, 6, 30, 22, 30, tzinfo=UTC)) == date(2007, 7, 1)
    assert local_date(datetime(2007, 6, 30, 21, 30, tzinfo=UTC)) == date(2007, 6, 30)


def test_local_date_refuses_a_naive_datetime() -> None:
    """A naive datetime has no instant; it is a ValueError."""
    with pytest.raises(ValueError, match="datetime 2007-07-01T12:00:00 is naive"):
        local_date(datetime(2007, 7, 1, 12))


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2007-07-01", datetime(2007, 6, 30, 22, tzinfo=UTC)),  # CEST, UTC+2
        ("2008-01-15", datetime(2008, 1, 14, 23, tzinfo=UTC)),  # CET, UTC+1
        ("  2007-10-01  ", datetime(2007, 9, 30, 22, tzinfo=UTC)),
        ("2007-10-01T09:30", datetime(2007, 10, 1, 7, 30, tzinfo=UTC)),
        ("2007-10-01 09:30:15", datetime(2007, 10, 1, 7, 30, 15, tzinfo=UTC)),
        ("2007-10-01T09:30:00+00:00", datetime(2007, 10, 1, 9, 30, tzinfo=UTC)),
        ("2007-10-01T09:30:00Z", datetime(2007, 10, 1, 9, 30, tzinfo=UTC)),
        ("2007-10-01T09:30+02:00", datetime(2007, 10, 1, 7, 30, tzinfo=UTC)),
    ],
)
def test_parse_instant_reads_dates_and_datetimes(text: str, utc: datetime) -> None:
    """A bare date is 00:00 local, a naive datetime is Copenhagen wall time, an offset is kept."""
    instant = parse_instant(text)
    assert instant == utc
    assert instant.tzinfo is UTC


def test_parse_instant_refuses_a_wall_time_that_never_happened() -> None:
    """02:30 on the spring-forward day does not exist in Copenhagen: refused, naming 03:30."""
    with pytest.raises(PeriodError, match=r"'2008-03-30T02:30' does not exist in Copenhagen.*"
                       r"give 2008-03-30T03:30, or an offset"):  # fmt: skip
        parse_instant("2008-03-30T02:30")
    with_offset = parse_instant("2008-03-30T02:30+01:00").astimezone(TZ)
    assert with_offset.isoformat() == "2008-03-30T03:30:00+02:00"


def test_instants_in_the_hour_the_clocks_go_back_compare_as_time_does() -> None:
    """02:50+02:00 comes 40 minutes before 02:10+01:00 on 2007-10-28, though its wall time is later."""
    summer, winter = (
        parse_instant("2007-10-28T02:50+02:00"),
        parse_instant("2007-10-28T02:10+01:00"),
    )
    assert summer < winter and winter - summer == timedelta(minutes=20)


def test_out_of_range_times_are_refused_in_a_sentence() -> None:
    """Times lie within 1900-2200 (a far-future --now would freeze a tender's history); the
    error names the time."""
    for text in ("0001-01-01", "9998-12-31", "2201-01-01T00:00"):
        with pytest.raises(PeriodError, match=rf"time '{text}' lies outside 1900-2200"):
            parse_instant(text)
    with pytest.raises(PeriodError, match=r"day 9999-12-31 is out of range"):
        end_of_day(date(9999, 12, 31))


@pytest.mark.parametrize(
    "text",
    ["xyz", "", "2007-13-01", "2007-02-30", "2007-10-01T25:00", "01/10/2007", "20071001", "2007"],
)
def test_parse_instant_refuses_other_text(text: str) -> None:
    """Anything but an ISO date or datetime is a PeriodError naming the text and the forms."""
    message = (
        f"time {text!r} is not understood; "
        "use an ISO date (2007-10-01) or datetime (2007-10-01T09:30)"
    )
    with pytest.raises(PeriodError, match=re.escape(message)):
        parse_instant(text)


# Quarters


@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        (date(2007, 1, 1), (2007, 1)),
        (date(2007, 9, 30), (2007, 3)),
        (date(2007, 10, 1), (2007, 4)),
        (date(2008, 12, 31), (2008, 4)),
    ],
)
def test_quarter_of(day: date, quarter: tuple[int, int]) -> None:
    """A date falls in the quarter of its month."""
    assert quarter_of(day) == quarter


def test_quarter_bounds_and_label() -> None:
    """Quarters start on the 1st of Jan/Apr/Jul/Oct and end on the last day of Mar/Jun/Sep/Dec."""
    assert quarter_start(2007, 4) == date(2007, 10, 1)
    assert quarter_end(2007, 3) == date(2007, 9, 30)
    assert quarter_end(2007, 2) == date(2007, 6, 30)
    assert quarter_end(2008, 1) == date(2008, 3, 31)
    assert quarter_end(2008, 4) == date(2008, 12, 31)
    assert quarter_label(2007, 3) == "Q3 2007"


@pytest.mark.parametrize("text", ["Q4 9999", "end of Q4 9999", "4. kvartal 9999", "Q1 1899"])
def test_a_quarter_outside_the_years_is_refused_in_a_sentence(text: str) -> None:
    """Q4 9999 ends past the last date Python knows: refused like 9999-12-31, not a crash."""
    with pytest.raises(PeriodError, match=r"lies outside 1900-2200; check the year"):
        parse_date_expr(text)


@pytest.mark.parametrize("function", [quarter_start, quarter_end, quarter_label])
def test_quarter_functions_refuse_a_fifth_quarter(function: object) -> None:
    """A quarter number is 1, 2, 3 or 4."""
    with pytest.raises(
        PeriodError, match=re.escape("quarter 5 is not understood; use 1, 2, 3 or 4")
    ):
        function(2007, 5)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2007-09-30", date(2007, 9, 30)),
        ("end of Q3 2007", date(2007, 9, 30)),
        ("start of Q4 2007", date(2007, 10, 1)),
        ("beginning of Q4 2007", date(2007, 10, 1)),
        ("Q3 2007", date(2007, 9, 30)),
        ("end of Q1 2008", date(2008, 3, 31)),
        ("End Of q1 2008", date(2008, 3, 31)),
        ("  end   of  Q3   2007 ", date(2007, 9, 30)),
        ("3. kvartal 2007", date(2007, 9, 30)),
        ("3. kvt. 2007", date(2007, 9, 30)),
        ("3 kvt 2007", date(2007, 9, 30)),
        ("udgangen af 3. kvartal 2007", date(2007, 9, 30)),
        ("slutningen af 3. kvartal 2007", date(2007, 9, 30)),
        ("ultimo 3. kvt. 2007", date(2007, 9, 30)),
        ("Ultimo 3. Kvt. 2007", date(2007, 9, 30)),
        ("primo 4. kvartal 2007", date(2007, 10, 1)),
        ("starten af 4. kvartal 2007", date(2007, 10, 1)),
        ("begyndelsen af 4. kvartal 2007", date(2007, 10, 1)),
    ],
)
def test_parse_date_expr_reads_dates_and_quarters(text: str, expected: date) -> None:
    """ISO dates and English or Danish quarter expressions are read; a bare quarter is its end."""
    assert parse_date_expr(text) == expected


def test_parse_date_expr_passes_a_date_through() -> None:
    """A date (as PyYAML gives for 2007-06-22) is returned unchanged."""
    assert parse_date_expr(date(2007, 6, 22)) == date(2007, 6, 22)


def test_parse_date_expr_refuses_a_datetime() -> None:
    """A datetime is not a date expression, though it is a date subclass."""
    with pytest.raises(PeriodError, match=r"date '2007-06-22T10:00:00' has a time of day; use"):
        parse_date_expr(datetime(2007, 6, 22, 10))


@pytest.mark.parametrize(
    "text",
    ["end of Q5 2007", "Q3", "end of 2007", "tomorrow", "", "5. kvartal 2007", "end of Q3 07"],
)
def test_parse_date_expr_refuses_other_text(text: str) -> None:
    """Anything else is a PeriodError naming the text and the allowed forms."""
    message = (
        f"date {text!r} is not understood; use an ISO date (2007-09-30), 'end of Q3 2007', "
        "'start of Q4 2007', '3. kvartal 2007', 'ultimo 3. kvt. 2007' or 'primo 4. kvartal 2007'"
    )
    with pytest.raises(PeriodError, match=re.escape(message)):
        parse_date_expr(text)


def test_parse_date_expr_refuses_an_impossible_iso_date() -> None:
    """An ISO-shaped string that is no calendar date is refused."""
    with pytest.raises(PeriodError, match=r"date '2007-02-30' is not a calendar date; use an ISO"):
        parse_date_expr("2007-02-30")


# Properties

UnitName = Literal["D", "W", "M", "WD"]
UNITS: tuple[UnitName, ...] = ("D", "W", "M", "WD")
_MAX_AMOUNT = {"D": 400, "W": 60, "M": 24, "WD": 300}
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31))
units = st.sampled_from(UNITS)


@st.composite
def periods(draw: st.DrawFn, min_amount: int = 0) -> Period:
    """Any period of a bounded amount, rolling or not."""
    unit = draw(units)
    amount = draw(st.integers(min_value=min_amount, max_value=_MAX_AMOUNT[unit]))
    return Period(amount, unit, draw(st.booleans()))


@given(days, units, st.booleans(), st.data())
def test_expiry_day_is_monotone_in_the_amount(
    start: date, unit: UnitName, rolls: bool, data: st.DataObject
) -> None:
    """For the same start and unit, a longer period never ends earlier."""
    bound = st.integers(min_value=0, max_value=_MAX_AMOUNT[unit])
    n, m = sorted((data.draw(bound), data.draw(bound)))
    shorter, longer = Period(n, unit, rolls), Period(m, unit, rolls)
    assert expiry_day(start, shorter) <= expiry_day(start, longer)


@given(days, periods())
def test_rolled_expiry_is_a_working_day(start: date, period: Period) -> None:
    """A rolling period never ends on a Saturday, Sunday or public holiday."""
    last = expiry_day(start, Period(period.amount, period.unit, rolls=True))
    assert last.weekday() < 5
    assert not is_holiday(last)


@given(days, periods(min_amount=1))
def test_expiry_day_is_after_the_start(start: date, period: Period) -> None:
    """The entry day is not counted: a non-empty period ends after its start."""
    assert expiry_day(start, period) > start


@given(days, periods())
def test_expires_at_is_the_end_of_the_expiry_day(start: date, period: Period) -> None:
    """A period expires at the end of its last day, which is still that day locally."""
    instant = expires_at(start, period)
    assert local_date(instant - timedelta(microseconds=1)) == expiry_day(start, period)


@given(days, st.integers(min_value=1, max_value=300))
def test_add_working_days_lands_on_a_working_day(start: date, n: int) -> None:
    """Counting n > 0 working days ends on a working day."""
    assert is_working_day(add_working_days(start, n))


@given(days)
def test_a_day_lasts_23_24_or_25_hours(day: date) -> None:
    """Measured in real time, a Copenhagen day lasts 23, 24 or 25 hours."""
    length = end_of_day(day).astimezone(UTC) - start_of_day(day).astimezone(UTC)
    assert length in {timedelta(hours=h) for h in (23, 24, 25)}
    assert local_date(start_of_day(day)) == day


@given(periods())
def test_period_text_round_trips(period: Period) -> None:
    """Parsing a period's canonical text gives the period back."""
    assert parse_period(str(period), rolls=period.rolls) == period


@given(days)
def test_a_day_lies_within_its_quarter(day: date) -> None:
    """Every date lies between the start and the end of its quarter."""
    year, q = quarter_of(day)
    assert quarter_start(year, q) <= day <= quarter_end(year, q)
    assert parse_date_expr(f"start of Q{q} {year}") == quarter_start(year, q)
    assert parse_date_expr(f"{q}. kvartal {year}") == quarter_end(year, q)
