"""Tests for engine.calendar: the working-day rule of /work/shared/calendar.md."""
from __future__ import annotations

import ast
import pickle
import random
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from engine import calendar as cal
from engine.calendar import (
    BEIJING,
    MAX_WORKING_DAYS,
    CalendarNotPublished,
    Due,
    Override,
    PublishedYear,
    WorkingDayCalendar,
    default_calendar,
    due_date,
    period_end,
)

FIRST_YEAR, LAST_YEAR = 2004, 2026  # years covered by chinesecalendar 1.11.0
ONE = timedelta(days=1)
UTC = timezone.utc


# --------------------------------------------------------------------------- reference


def _build_reference() -> dict[date, bool]:
    """is_workday for every covered day, computed once with the package itself."""
    out: dict[date, bool] = {}
    d = date(FIRST_YEAR, 1, 1)
    while d.year <= LAST_YEAR:
        out[d] = chinese_calendar.is_workday(d)
        d += ONE
    return out


WORK = _build_reference()


def ref_due(d0: date, n: int) -> date | None:
    """Straightforward day-by-day count; None if the count leaves the covered years."""
    d = d0
    while n:
        d += ONE
        if d not in WORK:
            return None
        if WORK[d]:
            n -= 1
    return d


def provisional_rule(d: date) -> bool:
    """calendar.md provisional rule (unpublished years): Monday–Friday except 1 January."""
    if d in WORK:
        return WORK[d]
    return d.weekday() < 5 and (d.month, d.day) != (1, 1)


def ref_provisional_due(d0: date, n: int) -> date:
    d = d0
    while n:
        d += ONE
        n -= provisional_rule(d)
    return d


@pytest.fixture(scope="module")
def calendar() -> WorkingDayCalendar:
    return WorkingDayCalendar()


# --------------------------------------------------------------------------- worked examples

WORKED_EXAMPLES = [
    # received, N, due — calendar.md "Worked examples"
    (date(2026, 2, 12), 5, date(2026, 2, 26)),   # Sat 02-14 works; 02-15..02-23 Spring Festival
    (date(2026, 2, 15), 5, date(2026, 2, 28)),   # D0 a holiday; day 1 = 02-24; Sat 02-28 works
    (date(2026, 9, 24), 10, date(2026, 10, 15)),  # National Day; Sat 10-10 works
    (date(2026, 10, 15), 10, date(2026, 10, 29)),  # extension counted from the original due date
    (date(2025, 12, 31), 1, date(2026, 1, 4)),   # 01-01..01-03 holiday; Sun 01-04 works
]


@pytest.mark.parametrize("received, n, expected", WORKED_EXAMPLES)
def test_worked_examples(calendar, received, n, expected):
    assert calendar.due_date(received, n) == expected
    assert due_date(received, n) == expected
    assert calendar.compute_due(received, n) == Due(expected, provisional=False)
    assert ref_due(received, n) == expected


def test_worked_example_not_yet_published(calendar):
    with pytest.raises(CalendarNotPublished) as exc:
        calendar.due_date(date(2026, 12, 25), 10)
    assert exc.value.year == 2027
    assert "2027" in str(exc.value) and "not published" in str(exc.value)


def test_extension_chain_equals_single_count(calendar):
    original = calendar.due_date(date(2026, 9, 24), 10)
    assert calendar.due_date(original, 10) == calendar.due_date(date(2026, 9, 24), 20)


def test_due_day_can_be_a_weekend_working_day(calendar):
    for d in (date(2026, 2, 28), date(2026, 10, 10), date(2026, 1, 4)):
        assert d.weekday() >= 5
        assert calendar.is_working_day(d)
        previous = calendar.working_days_before(d, 1).date
        assert calendar.due_date(previous, 1) == d


# --------------------------------------------------------------------------- instants


@pytest.mark.parametrize(
    "instant, beijing_day, due5",
    [
        # 2026-02-12 00:30 Beijing
        (datetime(2026, 2, 11, 16, 30, tzinfo=UTC), date(2026, 2, 12), date(2026, 2, 26)),
        # 2026-02-11 23:59 Beijing
        (datetime(2026, 2, 11, 15, 59, tzinfo=UTC), date(2026, 2, 11), date(2026, 2, 25)),
        # 2026-02-12 23:59 Beijing
        (datetime(2026, 2, 12, 15, 59, tzinfo=UTC), date(2026, 2, 12), date(2026, 2, 26)),
        # 2026-02-13 00:00 Beijing
        (datetime(2026, 2, 12, 16, 0, tzinfo=UTC), date(2026, 2, 13), date(2026, 2, 27)),
        # already Beijing
        (datetime(2026, 2, 12, 23, 59, tzinfo=BEIJING), date(2026, 2, 12), date(2026, 2, 26)),
        # New York 09:00 = 14:00Z = 22:00 Beijing the same day
        (datetime(2026, 2, 12, 9, 0, tzinfo=ZoneInfo("America/New_York")), date(2026, 2, 12),
         date(2026, 2, 26)),
        # New York 12:00 on 02-12 = 01:00 Beijing on 02-13 (not .date() in its own zone)
        (datetime(2026, 2, 12, 12, 0, tzinfo=ZoneInfo("America/New_York")), date(2026, 2, 13),
         date(2026, 2, 27)),
    ],
)
def test_aware_datetimes_are_counted_in_beijing(calendar, instant, beijing_day, due5):
    assert calendar.receipt_date(instant) == beijing_day
    assert calendar.due_date(instant, 5) == due5 == ref_due(beijing_day, 5)
    assert calendar.compute_due(instant, 5).date == due5
    assert calendar.provisional_due_date(instant, 5) == due5


def test_naive_datetime_is_rejected(calendar):
    naive = datetime(2026, 2, 12, 10, 0)
    for call in (
        lambda: calendar.due_date(naive, 5),
        lambda: calendar.compute_due(naive, 5),
        lambda: calendar.provisional_due_date(naive, 5),
        lambda: calendar.receipt_date(naive),
        lambda: calendar.is_working_day(naive),
        lambda: due_date(naive, 5),
    ):
        with pytest.raises(ValueError, match="naive datetime"):
            call()


def test_period_end_is_24h_beijing(calendar):
    end = period_end(date(2026, 2, 26))
    assert end == datetime(2026, 2, 27, 0, 0, tzinfo=BEIJING)
    assert end.astimezone(UTC) == datetime(2026, 2, 26, 16, 0, tzinfo=UTC)
    assert end.utcoffset() == timedelta(hours=8)
    due = calendar.compute_due(date(2026, 2, 12), 5)
    assert due.end == end
    with pytest.raises(TypeError):
        period_end(datetime(2026, 2, 26, tzinfo=UTC))


# --------------------------------------------------------------------------- year boundaries


def _last_working_day(year: int) -> date:
    d = date(year, 12, 31)
    while not WORK[d]:
        d -= ONE
    return d


@pytest.mark.parametrize("year", range(FIRST_YEAR, LAST_YEAR))
@pytest.mark.parametrize("n", [1, 5])
def test_year_boundaries_match_reference(calendar, year, n):
    for d0 in {date(year, 12, 31), _last_working_day(year)}:
        expected = ref_due(d0, n)
        assert expected is not None
        assert calendar.due_date(d0, n) == expected, (d0, n)


@pytest.mark.parametrize("n", [1, 5])
def test_last_boundary_is_unpublished(calendar, n):
    with pytest.raises(CalendarNotPublished) as exc:
        calendar.due_date(date(LAST_YEAR, 12, 31), n)
    assert exc.value.year == LAST_YEAR + 1


def test_before_first_covered_year_is_unpublished(calendar):
    with pytest.raises(CalendarNotPublished) as exc:
        calendar.due_date(date(2003, 12, 1), 5)
    assert exc.value.year == 2003
    # D0 = 2003-12-31: the counting starts on 2004-01-01, which is covered
    assert calendar.due_date(date(2003, 12, 31), 1) == date(2004, 1, 2)
    assert calendar.compute_due(date(2003, 12, 1), 5).provisional


# --------------------------------------------------------------------------- exhaustive


def test_is_working_day_matches_package_everywhere(calendar):
    mismatches = [d for d, w in WORK.items() if calendar.is_working_day(d) != w]
    assert mismatches == []


def test_exhaustive_equivalence_with_day_by_day_reference(calendar):
    """Every D0 from 2004-01-01 to 2026-12-31, N in {1, 2, 5, 10, 15}."""
    checked = raised = 0
    for d0 in WORK:
        for n in (1, 2, 5, 10, 15):
            expected = ref_due(d0, n)
            if expected is None:
                with pytest.raises(CalendarNotPublished) as exc:
                    calendar.due_date(d0, n)
                assert exc.value.year == 2027
                assert calendar.compute_due(d0, n) == Due(ref_provisional_due(d0, n), True)
                raised += 1
            else:
                got = calendar.due_date(d0, n)
                assert got == expected, (d0, n, got, expected)
                checked += 1
    assert checked > 40_000 and raised > 0


def test_random_long_periods_match_reference(calendar):
    rng = random.Random(20260212)
    days = list(WORK)
    for _ in range(2000):
        d0 = rng.choice(days)
        n = rng.randint(1, 300)
        expected = ref_due(d0, n)
        if expected is None:
            assert calendar.compute_due(d0, n) == Due(ref_provisional_due(d0, n), True)
        else:
            assert calendar.due_date(d0, n) == expected


# --------------------------------------------------------------------------- unpublished years


def test_unpublished_year_raises_and_provisional_counts_mon_fri_and_jan_1(calendar):
    # 2026-12-28..31 are real 2026 working days (the package covers 2026)
    assert all(calendar.is_working_day(date(2026, 12, d)) for d in (28, 29, 30, 31))
    assert not calendar.is_published(2027)
    with pytest.raises(CalendarNotPublished) as exc:
        calendar.is_working_day(date(2027, 1, 4))
    assert exc.value.year == 2027
    # 12-28,29,30,31 (4); 2027-01-01 rest; 01-04..01-08 (9); 01-11 (10)
    expected = date(2027, 1, 11)
    assert calendar.provisional_due_date(date(2026, 12, 25), 10) == expected
    due = calendar.compute_due(date(2026, 12, 25), 10)
    assert due == Due(expected, provisional=True)
    assert due.end == datetime(2027, 1, 12, tzinfo=BEIJING)
    # staying inside 2026 is exact
    assert calendar.compute_due(date(2026, 12, 25), 4) == Due(date(2026, 12, 31), False)
    # a count that reaches 2027 only through its 1 January rest day is still provisional
    assert calendar.compute_due(date(2026, 12, 30), 2) == Due(date(2027, 1, 4), True)


def test_provisional_far_beyond_the_precomputed_table(calendar):
    rng = random.Random(7)
    for _ in range(300):
        d0 = date(2026, 6, 1) + timedelta(days=rng.randint(0, 365 * 15))
        n = rng.randint(1, 400)
        due = calendar.compute_due(d0, n)
        assert due == Due(ref_provisional_due(d0, n), ref_due(d0, n) is None)
        assert calendar.provisional_due_date(d0, n) == due.date


def test_provisional_before_the_first_covered_year(calendar):
    d0 = date(1995, 12, 20)
    due = calendar.compute_due(d0, 300)
    assert due == Due(ref_provisional_due(d0, 300), True)


def ref_provisional_before(day: date, n: int) -> date:
    d = day
    while n:
        d -= ONE
        n -= provisional_rule(d)
    return d


@pytest.mark.parametrize("start, end", [
    (date(2003, 10, 1), date(2004, 3, 1)),   # first edge of the precomputed table (2004-01-01)
    (date(2029, 10, 1), date(2030, 3, 1)),   # last edge (2026 + 3 provisional years)
])
def test_precomputed_table_edges(calendar, start, end):
    d = start
    while d <= end:
        for n in (1, 2, 3, 7, 30):
            expected = ref_provisional_due(d, n)
            assert calendar.provisional_due_date(d, n) == expected, (d, n)
            assert calendar.working_days_before(d, n).date == ref_provisional_before(d, n), (d, n)
            assert calendar.working_days_between(d, expected) == n
        d += ONE
    assert calendar.working_days_before(date(2004, 1, 5), 1) == Due(date(2004, 1, 2), False)


def test_published_range_and_repr(calendar):
    assert calendar.published_range == (FIRST_YEAR, LAST_YEAR)
    assert calendar.last_published_year == LAST_YEAR
    assert calendar.published_years == frozenset(range(FIRST_YEAR, LAST_YEAR + 1))
    assert calendar.is_published(2004) and calendar.is_published(2026)
    assert not calendar.is_published(2003) and not calendar.is_published(2027)
    assert "2004..2026" in repr(calendar)


# --------------------------------------------------------------------------- overrides

NOTICE_2027 = "国办发明电〔2026〕X号"
# hypothetical 2027 notice entries (test data, not the real schedule)
OVERRIDES_2027 = [
    Override(date(2027, 1, 1), False, "元旦"),
    Override(date(2027, 1, 4), False, "调休"),
    Override(date(2027, 1, 5), False, "调休"),
    Override(date(2027, 1, 9), True, "调休上班"),
]


def test_published_year_with_overrides():
    c = WorkingDayCalendar(OVERRIDES_2027, [PublishedYear(2027, NOTICE_2027)])
    assert c.is_published(2027) and c.last_published_year == 2027
    assert c.published_document(2027) == NOTICE_2027
    assert c.published_document(2026) is None
    # 12-28..31 (4); 01-06,07,08 (7); Sat 01-09 (8); 01-11 (9); 01-12 (10)
    assert c.due_date(date(2026, 12, 25), 10) == date(2027, 1, 12)
    assert c.compute_due(date(2026, 12, 25), 10) == Due(date(2027, 1, 12), False)
    assert c.is_working_day(date(2027, 1, 9))
    assert not c.is_working_day(date(2027, 1, 4))
    assert c.missing_next_year_warning(date(2026, 12, 1)) is None
    # 2028 is still unpublished
    with pytest.raises(CalendarNotPublished) as exc:
        c.due_date(date(2027, 12, 20), 15)
    assert exc.value.year == 2028
    # other years unchanged
    for received, n, expected in WORKED_EXAMPLES:
        assert c.due_date(received, n) == expected


def test_published_year_baseline_is_mon_fri_with_jan_1_rest():
    c = WorkingDayCalendar(published_years=[2027])
    assert c.published_document(2027) == ""
    assert not c.is_working_day(date(2027, 1, 1))
    assert c.due_date(date(2026, 12, 25), 10) == date(2027, 1, 11)


def test_overrides_without_publication_only_shape_the_provisional_count():
    c = WorkingDayCalendar(OVERRIDES_2027)
    assert not c.is_published(2027)
    with pytest.raises(CalendarNotPublished):
        c.due_date(date(2026, 12, 25), 10)
    assert c.compute_due(date(2026, 12, 25), 10) == Due(date(2027, 1, 12), True)


def test_single_date_override_in_a_published_year_shifts_the_result(calendar):
    # Sat 2026-02-28 is a 调休 working day; Mon 03-02 a normal one
    assert calendar.due_date(date(2026, 2, 28), 1) == date(2026, 3, 2)
    assert calendar.due_date(date(2026, 2, 27), 5) == date(2026, 3, 5)
    c = WorkingDayCalendar([Override(date(2026, 3, 2), False, "correction")])
    assert not c.is_working_day(date(2026, 3, 2))
    assert c.due_date(date(2026, 2, 28), 1) == date(2026, 3, 3)
    assert c.due_date(date(2026, 2, 27), 5) == date(2026, 3, 6)
    # a weekend made working
    c2 = WorkingDayCalendar([Override(date(2026, 3, 7), True)])
    assert c2.due_date(date(2026, 3, 6), 1) == date(2026, 3, 7)
    # the default calendar is untouched
    assert default_calendar().due_date(date(2026, 2, 28), 1) == date(2026, 3, 2)


def test_override_far_outside_the_table_is_honoured():
    c = WorkingDayCalendar([Override(date(2045, 3, 6), False)])  # a Monday
    assert c.provisional_due_date(date(2045, 3, 3), 1) == date(2045, 3, 7)


def test_override_validation():
    with pytest.raises(ValueError, match="conflicting"):
        WorkingDayCalendar([Override(date(2026, 3, 2), False), Override(date(2026, 3, 2), True)])
    WorkingDayCalendar([Override(date(2026, 3, 2), False), Override(date(2026, 3, 2), False)])
    with pytest.raises(TypeError):
        Override(datetime(2026, 3, 2, tzinfo=UTC), False)
    with pytest.raises(TypeError):
        Override(date(2026, 3, 2), 0)
    with pytest.raises(TypeError):
        WorkingDayCalendar([(date(2026, 3, 2), False)])
    with pytest.raises(TypeError):
        WorkingDayCalendar(published_years=["2027"])
    with pytest.raises(TypeError):
        PublishedYear("2027")


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    "day, n, expected",
    [
        (date(2026, 2, 26), 1, date(2026, 2, 25)),
        (date(2026, 2, 24), 1, date(2026, 2, 14)),   # back across Spring Festival to 调休 Sat
        (date(2026, 10, 15), 10, date(2026, 9, 24)),
        (date(2026, 3, 2), 1, date(2026, 2, 28)),    # Monday → the 调休 Saturday
        (date(2026, 3, 1), 1, date(2026, 2, 28)),    # from a Sunday
        (date(2026, 1, 4), 1, date(2025, 12, 31)),
    ],
)
def test_working_days_before(calendar, day, n, expected):
    assert calendar.working_days_before(day, n) == Due(expected, False)


def test_working_days_before_is_the_inverse_of_due_date(calendar):
    for day in (d for d in WORK if d.year in (2025, 2026) and WORK[d]):
        for n in (1, 3, 10):
            back = calendar.working_days_before(day, n)
            assert not back.provisional
            assert calendar.due_date(back.date, n) == day


def test_working_days_before_provisional(calendar):
    assert calendar.working_days_before(date(2027, 1, 11), 10) == Due(date(2026, 12, 25), True)
    # 2027-01-01..03 are passed over (rest only provisionally): provisional
    assert calendar.working_days_before(date(2027, 1, 4), 1) == Due(date(2026, 12, 31), True)
    # only 2026-12-31 is looked at: exact
    assert calendar.working_days_before(date(2027, 1, 1), 1) == Due(date(2026, 12, 31), False)
    assert calendar.working_days_before(date(2004, 1, 5), 3).provisional  # reaches 2003


def test_working_days_between(calendar):
    assert calendar.working_days_between(date(2026, 2, 12), date(2026, 2, 26)) == 5
    assert calendar.working_days_between(date(2026, 2, 26), date(2026, 2, 12)) == -5
    assert calendar.working_days_between(date(2026, 2, 12), date(2026, 2, 12)) == 0
    assert calendar.working_days_between(date(2026, 2, 15), date(2026, 2, 23)) == 0
    assert calendar.working_days_between(date(2026, 9, 24), date(2026, 10, 15)) == 10
    # provisional in 2027, never raises
    assert calendar.working_days_between(date(2026, 12, 25), date(2027, 1, 11)) == 10
    # aware datetimes are taken in Beijing
    assert calendar.working_days_between(
        datetime(2026, 2, 11, 16, 30, tzinfo=UTC), date(2026, 2, 26)) == 5


def test_working_days_between_agrees_with_due_date(calendar):
    rng = random.Random(3)
    days = [d for d in WORK if d.year >= 2010]
    for _ in range(2000):
        d0 = rng.choice(days)
        n = rng.randint(1, 60)
        due = calendar.compute_due(d0, n)
        assert calendar.working_days_between(d0, due.date) == n
        assert calendar.working_days_between(d0, due.date - ONE) == n - 1
    # across the edges of the precomputed table and before the first covered year
    a, b = date(1999, 5, 5), date(2040, 5, 5)
    total = calendar.working_days_between(a, b)
    mid = date(2026, 7, 1)
    assert total == calendar.working_days_between(a, mid) + calendar.working_days_between(mid, b)
    brute = sum(provisional_rule(a + timedelta(days=k)) for k in range(1, (b - a).days + 1))
    assert total == brute


# --------------------------------------------------------------------------- receipt


def bj(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


@pytest.mark.parametrize(
    "instant, calendar_date, next_working_day",
    [
        (bj(2026, 3, 7, 10, 0), date(2026, 3, 7), date(2026, 3, 9)),     # Saturday
        (bj(2026, 3, 5, 18, 0), date(2026, 3, 5), date(2026, 3, 6)),     # Thursday 18:00
        (bj(2026, 3, 6, 18, 0), date(2026, 3, 6), date(2026, 3, 9)),     # Friday 18:00
        (bj(2026, 3, 5, 17, 30), date(2026, 3, 5), date(2026, 3, 5)),    # exactly 17:30: in hours
        (bj(2026, 3, 5, 17, 30, 1), date(2026, 3, 5), date(2026, 3, 6)),
        (bj(2026, 3, 5, 7, 0), date(2026, 3, 5), date(2026, 3, 5)),      # before opening: same day
        (bj(2026, 2, 28, 10, 0), date(2026, 2, 28), date(2026, 2, 28)),  # 调休 Saturday works
        (bj(2026, 2, 13, 18, 0), date(2026, 2, 13), date(2026, 2, 14)),  # → 调休 Saturday
        (bj(2026, 2, 15, 9, 0), date(2026, 2, 15), date(2026, 2, 24)),   # Spring Festival
        (datetime(2026, 3, 5, 10, 0, tzinfo=UTC), date(2026, 3, 5), date(2026, 3, 6)),  # 18:00 BJ
        (date(2026, 3, 7), date(2026, 3, 7), date(2026, 3, 9)),          # plain date, Saturday
        (date(2026, 3, 5), date(2026, 3, 5), date(2026, 3, 5)),
    ],
)
def test_receipt_date_policies(calendar, instant, calendar_date, next_working_day):
    assert calendar.receipt_date(instant) == calendar_date
    assert calendar.receipt_date(instant, "calendar_date") == calendar_date
    assert calendar.receipt_date(instant, "next_working_day") == next_working_day


def test_receipt_policy_effect_on_due_date(calendar):
    saturday = bj(2026, 3, 7, 10, 0)
    assert calendar.due_date(calendar.receipt_date(saturday), 5) == date(2026, 3, 13)
    assert calendar.due_date(calendar.receipt_date(saturday, "next_working_day"), 5) == date(2026, 3, 16)


def test_receipt_date_office_end_and_errors(calendar):
    assert calendar.receipt_date(bj(2026, 3, 5, 17, 0), "next_working_day", time(16, 30)) == date(2026, 3, 6)
    assert calendar.receipt_date(bj(2026, 3, 5, 17, 0), "next_working_day") == date(2026, 3, 5)
    with pytest.raises(ValueError, match="unknown receipt policy"):
        calendar.receipt_date(bj(2026, 3, 5, 17, 0), "whenever")
    with pytest.raises(ValueError, match="naive"):
        calendar.receipt_date(datetime(2026, 3, 5, 17, 0), "next_working_day")
    with pytest.raises(ValueError, match="naive time"):
        calendar.receipt_date(bj(2026, 3, 5, 17, 0), "next_working_day", time(17, 30, tzinfo=UTC))
    with pytest.raises(CalendarNotPublished) as exc:
        calendar.receipt_date(bj(2026, 12, 31, 18, 0), "next_working_day")
    assert exc.value.year == 2027


# --------------------------------------------------------------------------- warnings


def test_missing_next_year_warning(calendar):
    assert calendar.missing_next_year_warning(date(2026, 11, 30)) is None
    assert calendar.missing_next_year_warning(date(2026, 12, 1)) == 2027
    assert calendar.missing_next_year_warning(date(2026, 12, 31)) == 2027
    assert calendar.missing_next_year_warning(date(2025, 12, 1)) is None
    assert calendar.missing_next_year_warning(date(2027, 3, 1)) == 2027  # current year missing
    # 2026-11-30 16:00Z is already 1 December in Beijing
    assert calendar.missing_next_year_warning(datetime(2026, 11, 30, 16, 0, tzinfo=UTC)) == 2027
    published = WorkingDayCalendar(OVERRIDES_2027, [PublishedYear(2027, NOTICE_2027)])
    assert published.missing_next_year_warning(date(2026, 12, 1)) is None
    assert published.missing_next_year_warning(date(2027, 12, 1)) == 2028


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("bad", [0, -1, -10, MAX_WORKING_DAYS + 1])
def test_out_of_range_working_days(calendar, bad):
    for call in (calendar.due_date, calendar.compute_due, calendar.provisional_due_date):
        with pytest.raises(ValueError, match="working_days must be"):
            call(date(2026, 2, 12), bad)
    with pytest.raises(ValueError, match="n must be"):
        calendar.working_days_before(date(2026, 2, 12), bad)


@pytest.mark.parametrize("bad", [1.0, 5.5, "5", None, True])
def test_non_int_working_days(calendar, bad):
    with pytest.raises(TypeError, match="working_days must be an int"):
        calendar.due_date(date(2026, 2, 12), bad)
    with pytest.raises(TypeError, match="working_days must be an int"):
        calendar.compute_due(date(2026, 2, 12), bad)


@pytest.mark.parametrize("bad", ["2026-02-12", 20260212, None])
def test_bad_received_type(calendar, bad):
    with pytest.raises(TypeError, match="received must be a date or an aware datetime"):
        calendar.due_date(bad, 5)


def test_max_working_days_is_computable(calendar):
    due = calendar.compute_due(date(2020, 1, 1), MAX_WORKING_DAYS)
    assert due.provisional and due.date.year > 2050
    assert calendar.working_days_between(date(2020, 1, 1), due.date) == MAX_WORKING_DAYS


# --------------------------------------------------------------------------- module


def test_default_calendar_is_cached():
    assert default_calendar() is default_calendar()


def test_exception_is_picklable():
    err = pickle.loads(pickle.dumps(CalendarNotPublished(2027)))
    assert isinstance(err, CalendarNotPublished) and err.year == 2027
    assert "2027" in str(err)


def test_module_is_pure_and_never_uses_find_workday():
    tree = ast.parse(Path(cal.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
            assert node.level == 0, "no relative imports (web layer) in engine.calendar"
            assert all(alias.name != "find_workday" for alias in node.names)
    assert imported <= {"__future__", "functools", "zoneinfo", "bisect", "dataclasses",
                        "datetime", "typing", "chinese_calendar"}
    names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "find_workday" not in names
