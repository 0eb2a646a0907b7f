"""Working-day (工作日) calendar for statutory deadlines.

Pure module: no Flask, no web layer, no SQLAlchemy. The rule it implements is in
docs/deadlines.md; in short:

* every instant is converted to Beijing time (Asia/Shanghai) before its date is taken;
* the day of receipt D0 is not counted (民法典 art. 201); day 1 is the first working day
  strictly after D0, also when D0 is itself a holiday or a weekend day;
* a working day is what the State Council's annual holiday notice makes one: Monday–Friday
  that are not holidays, plus the weekend days marked 上班 (调休); in-lieu weekdays are rest
  days (行政许可法 art. 82);
* the period ends at 24:00 Beijing time of the Nth working day (民法典 art. 203);
* a year whose notice is not loaded yet is *unpublished*: exact computations that reach it raise
  :class:`CalendarNotPublished`; the ``compute_due`` family falls back to a *provisional* count
  (Monday–Friday, and 1 January as a rest day) flagged ``provisional=True``.

All counting is done on a precomputed sorted list of working-day ordinals, so a deadline is a
``bisect`` plus an index: about a microsecond per call. ``chinese_calendar.find_workday`` is never
used (it is slow, and one day late when D0 is not a working day).
"""
from __future__ import annotations

import functools
import zoneinfo
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable, Union

from chinese_calendar import constants as _cc

__all__ = [
    "BEIJING",
    "MAX_WORKING_DAYS",
    "OFFICE_END",
    "POLICIES",
    "PROVISIONAL_MARGIN_YEARS",
    "CalendarNotPublished",
    "Due",
    "Override",
    "PublishedYear",
    "WorkingDayCalendar",
    "default_calendar",
    "due_date",
    "period_end",
]

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")

#: Upper bound on a single count (≈ 40 years); statutory periods are far shorter, and the bound
#: keeps the day-by-day fallback outside the precomputed table cheap.
MAX_WORKING_DAYS = 10_000

#: Unpublished years precomputed (with the provisional rule) after the last published year.
PROVISIONAL_MARGIN_YEARS = 3

#: End of office hours (Beijing wall-clock) for the "next_working_day" receipt policy.
OFFICE_END = time(17, 30)

#: Receipt policies for submissions after office hours or on a non-working day (docs/deadlines.md).
POLICIES = ("calendar_date", "next_working_day")

_MIN_ORD = date.min.toordinal()
_MAX_ORD = date.max.toordinal()

Received = Union[date, datetime]


class CalendarNotPublished(Exception):
    """The State Council holiday schedule for ``year`` is not loaded, so no exact count can use it."""

    def __init__(self, year: int) -> None:
        super().__init__(year)  # args == (year,): keeps the exception picklable
        self.year = year

    def __str__(self) -> str:
        return (
            f"The holiday schedule for {self.year} is not published yet: upgrade chinesecalendar "
            f"or enter the State Council notice for {self.year} as overrides (PublishedYear)."
        )


@dataclass(frozen=True)
class Override:
    """A single-date correction, or one entry of a State Council holiday notice.

    ``working=True`` makes ``day`` a working day (e.g. a 调休 Saturday), ``False`` a rest day.
    An override always wins over the package data and over the provisional rule.
    """

    day: date
    working: bool
    note: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise TypeError(f"Override.day must be a date, not {type(self.day).__name__}")
        if not isinstance(self.working, bool):
            raise TypeError(f"Override.working must be a bool, not {type(self.working).__name__}")


@dataclass(frozen=True)
class PublishedYear:
    """A year an administrator published through overrides (``document`` = the notice's number,
    e.g. ``国办发明电〔2026〕X号``) although the installed package does not cover it yet."""

    year: int
    document: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise TypeError(f"PublishedYear.year must be an int, not {type(self.year).__name__}")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"PublishedYear.year out of range: {self.year}")


@dataclass(frozen=True)
class Due:
    """A computed day and whether it is provisional (暂定: reaches an unpublished year)."""

    date: date
    provisional: bool

    @property
    def end(self) -> datetime:
        """The aware instant the period ends: 24:00 Beijing time of ``date`` (民法典 art. 203)."""
        return period_end(self.date)


def period_end(day: date) -> datetime:
    """Return 24:00 Beijing time of ``day``, i.e. the next day 00:00 +08:00 (民法典 art. 203)."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"period_end needs a date, not {type(day).__name__}")
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BEIJING)


def _beijing_date(value: Received, name: str) -> date:
    """Return the Beijing calendar date of a date or an aware datetime (naive → ValueError)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{name} is a naive datetime ({value.isoformat()}): pass an aware datetime "
                f"(e.g. tzinfo=timezone.utc) or a date; a naive value is ambiguous between UTC "
                f"and Beijing time"
            )
        return value.astimezone(BEIJING).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"{name} must be a date or an aware datetime, not {type(value).__name__}")


def _check_count(n: int, name: str) -> int:
    """Validate a working-day count: an int (not bool) in 1..MAX_WORKING_DAYS."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} must be an int, not {type(n).__name__} ({n!r})")
    if n < 1:
        raise ValueError(
            f"{name} must be >= 1, got {n} (the day of receipt itself is never counted, "
            f"民法典 art. 201)"
        )
    if n > MAX_WORKING_DAYS:
        raise ValueError(f"{name} must be <= {MAX_WORKING_DAYS}, got {n}")
    return n


def _is_jan_1(d: date) -> bool:
    return d.month == 1 and d.day == 1


class WorkingDayCalendar:
    """Working days from ``chinese_calendar`` data merged with administrator overrides.

    Immutable after construction (safe to share between threads). Build a new instance when the
    overrides change.

    * Published years = the years the package covers (first..last year of its ``holidays``) ∪
      ``published_years``.
    * Rule for a day, in order: an override; in a package year, the package semantics
      (``workdays`` → working, ``holidays``/``in_lieu_days`` → rest, else Monday–Friday);
      in any other year, Monday–Friday except 1 January (全国年节及纪念日放假办法 art. 2: 元旦
      is always a holiday). That last rule is the *provisional* rule of docs/deadlines.md for
      unpublished years, and the baseline of an admin-published year (whose notice dates are
      entered as overrides). Overrides in an unpublished year are also honoured by the
      provisional count, which stays flagged provisional.
    """

    def __init__(
        self,
        overrides: Iterable[Override] = (),
        published_years: Iterable[Union[PublishedYear, int]] = (),
    ) -> None:
        first_pkg, last_pkg = min(_cc.holidays).year, max(_cc.holidays).year
        self._package_years = range(first_pkg, last_pkg + 1)
        # The package counts workdays first, then holidays (utils.is_workday); in-lieu days are
        # part of holidays in 1.11.0 but are added to the rest set defensively.
        self._pkg_work = frozenset(d.toordinal() for d in _cc.workdays)
        self._pkg_rest = frozenset(d.toordinal() for d in (*_cc.holidays, *_cc.in_lieu_days))

        self._documents: dict[int, str] = {}
        for item in published_years:
            if isinstance(item, PublishedYear):
                self._documents[item.year] = item.document
            elif isinstance(item, int) and not isinstance(item, bool):
                self._documents.setdefault(PublishedYear(item).year, "")
            else:
                raise TypeError(f"published_years items must be PublishedYear or int, not {item!r}")
        self._published = frozenset(self._package_years) | frozenset(self._documents)

        self._overrides: dict[int, bool] = {}
        for ov in overrides:
            if not isinstance(ov, Override):
                raise TypeError(f"overrides items must be Override, not {type(ov).__name__}")
            key = ov.day.toordinal()
            if self._overrides.get(key, ov.working) != ov.working:
                raise ValueError(f"conflicting overrides for {ov.day.isoformat()}")
            self._overrides[key] = ov.working

        # Contiguous published run starting at the first published year: exact-window fast check.
        first = min(self._published)
        last = first
        while last + 1 in self._published:
            last += 1
        self._range = (first, last)
        self._exact_lo = date(first, 1, 1).toordinal()
        self._exact_hi = date(last, 12, 31).toordinal()

        # Precomputed table: every published year, the provisional margin, every override year.
        years = [*self._published, *(date.fromordinal(o).year for o in self._overrides)]
        lo_year = min(years)
        hi_year = min(9999, max(max(self._published) + PROVISIONAL_MARGIN_YEARS, max(years)))
        self._lo = date(lo_year, 1, 1).toordinal()
        self._hi = date(hi_year, 12, 31).toordinal()
        self._ords: list[int] = [o for o in range(self._lo, self._hi + 1) if self._rule(o)]
        self._work_set = frozenset(self._ords)

    # ------------------------------------------------------------------ publication

    def is_published(self, year: int) -> bool:
        """True if the holiday schedule of ``year`` is loaded (package or administrator)."""
        return year in self._published

    @property
    def published_years(self) -> frozenset[int]:
        """Every published year (package years ∪ administrator-published years)."""
        return self._published

    @property
    def package_years(self) -> range:
        """The years the installed ``chinesecalendar`` package covers."""
        return self._package_years

    @property
    def published_range(self) -> tuple[int, int]:
        """(first, last) of the contiguous run of published years starting at the first one.

        An isolated later year published by an administrator is in :attr:`published_years`
        but not in this range.
        """
        return self._range

    @property
    def last_published_year(self) -> int:
        """Last year of :attr:`published_range`."""
        return self._range[1]

    def published_document(self, year: int) -> str | None:
        """The notice number an administrator gave for ``year`` ('' if none), None if not
        administrator-published."""
        return self._documents.get(year)

    def missing_next_year_warning(self, today: date) -> int | None:
        """The year administrators must be warned about, or None.

        From 1 December on, next year if it is not published (docs/deadlines.md). The current year is
        also returned if it is (still) unpublished, whatever the month.
        """
        today = _beijing_date(today, "today")
        if today.year not in self._published:
            return today.year
        if today.month == 12 and today.year + 1 not in self._published:
            return today.year + 1
        return None

    # ------------------------------------------------------------------ single days

    def is_working_day(self, d: date) -> bool:
        """True if ``d`` is a working day; raises CalendarNotPublished for an unpublished year."""
        d = _beijing_date(d, "d")
        if d.year not in self._published:
            raise CalendarNotPublished(d.year)
        o = d.toordinal()
        if self._lo <= o <= self._hi:
            return o in self._work_set
        return self._rule(o)

    def _rule(self, o: int) -> bool:
        """Working-day rule for one ordinal (see class docstring); no publication check."""
        working = self._overrides.get(o)
        if working is not None:
            return working
        d = date.fromordinal(o)
        if d.year in self._package_years:
            if o in self._pkg_work:
                return True
            if o in self._pkg_rest:
                return False
            return d.weekday() < 5
        return d.weekday() < 5 and not _is_jan_1(d)

    def _first_unpublished(self, first_o: int, last_o: int) -> int | None:
        """First unpublished year among the days first_o..last_o (inclusive), or None."""
        if first_o > last_o or (self._exact_lo <= first_o and last_o <= self._exact_hi):
            return None
        for year in range(date.fromordinal(first_o).year, date.fromordinal(last_o).year + 1):
            if year not in self._published:
                return year
        return None

    # ------------------------------------------------------------------ counting primitives

    def _nth_after(self, d0: int, n: int) -> int:
        """Ordinal of the nth working day strictly after ordinal d0 (n >= 1)."""
        ords, o = self._ords, d0
        while True:
            if self._lo - 1 <= o < self._hi:  # the next day is inside the table
                i = bisect_right(ords, o)
                j = i + n - 1
                if j < len(ords):
                    return ords[j]
                n -= len(ords) - i
                o = self._hi
            else:  # outside the table: day by day (bounded by MAX_WORKING_DAYS)
                if o >= _MAX_ORD:
                    raise OverflowError("working-day count runs past date.max")
                o += 1
                if self._rule(o):
                    n -= 1
                    if n == 0:
                        return o

    def _nth_before(self, day: int, n: int) -> int:
        """Ordinal of the nth working day strictly before ordinal ``day`` (n >= 1)."""
        ords, o = self._ords, day
        while True:
            if self._lo < o <= self._hi + 1:  # the previous day is inside the table
                k = bisect_left(ords, o)
                if k >= n:
                    return ords[k - n]
                n -= k
                o = self._lo
            else:
                if o <= _MIN_ORD:
                    raise OverflowError("working-day count runs before date.min")
                o -= 1
                if self._rule(o):
                    n -= 1
                    if n == 0:
                        return o

    def _count(self, a: int, b: int) -> int:
        """Number of working days in the ordinal interval (a, b], a <= b."""
        ords, o, total = self._ords, a, 0
        while o < b:
            if self._lo - 1 <= o < self._hi:
                e = min(b, self._hi)
                total += bisect_right(ords, e) - bisect_right(ords, o)
                o = e
            else:
                o += 1
                total += self._rule(o)
        return total

    # ------------------------------------------------------------------ deadlines

    def due_date(self, received: Received, working_days: int) -> date:
        """The Nth working day after the day of receipt (the period ends at its 24:00).

        ``received`` is a date or an aware datetime (converted to Beijing time; naive →
        ValueError). D0 is not counted (民法典 art. 201); day 1 is the first working day after
        D0. ``working_days`` is an int in 1..MAX_WORKING_DAYS. For an extension, pass the
        original due date as ``received``. Raises CalendarNotPublished(year) with the first
        unpublished year the count reaches.
        """
        n = _check_count(working_days, "working_days")
        d0 = _beijing_date(received, "received").toordinal()
        result = self._nth_after(d0, n)
        year = self._first_unpublished(d0 + 1, result)
        if year is not None:
            raise CalendarNotPublished(year)
        return date.fromordinal(result)

    def provisional_due_date(self, received: Received, working_days: int) -> date:
        """Like :meth:`due_date`, but unpublished years are counted with the provisional rule
        (Monday–Friday except 1 January, plus any overrides); never raises CalendarNotPublished."""
        n = _check_count(working_days, "working_days")
        d0 = _beijing_date(received, "received").toordinal()
        return date.fromordinal(self._nth_after(d0, n))

    def compute_due(self, received: Received, working_days: int) -> Due:
        """Exact due date when every counted day is published, else the provisional one
        (``provisional=True``: shown as 暂定, no automatic overdue escalation)."""
        n = _check_count(working_days, "working_days")
        d0 = _beijing_date(received, "received").toordinal()
        result = self._nth_after(d0, n)
        provisional = self._first_unpublished(d0 + 1, result) is not None
        return Due(date.fromordinal(result), provisional)

    def working_days_before(self, day: date, n: int) -> Due:
        """The nth working day strictly before ``day`` (e.g. n=1: reminder one working day before
        the due date). Provisional rule where unpublished; ``provisional`` is True if any day from
        the result through ``day - 1`` is in an unpublished year. Inverse of due_date when ``day``
        is a working day: ``due_date(working_days_before(day, n).date, n) == day``."""
        n = _check_count(n, "n")
        o = _beijing_date(day, "day").toordinal()
        result = self._nth_before(o, n)
        provisional = self._first_unpublished(result, o - 1) is not None
        return Due(date.fromordinal(result), provisional)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end] (the remaining working days from ``start`` to a due date
        ``end``); negative, -(working days in (end, start]), if end < start. Provisional rule in
        unpublished years; never raises CalendarNotPublished. O(log n) inside the precomputed
        years, day by day outside them."""
        a = _beijing_date(start, "start").toordinal()
        b = _beijing_date(end, "end").toordinal()
        return self._count(a, b) if a <= b else -self._count(b, a)

    def receipt_date(
        self,
        instant: Received,
        policy: str = "calendar_date",
        office_end: time = OFFICE_END,
    ) -> date:
        """The day of receipt D0 of a submission, under the deployment's after-hours policy.

        * ``"calendar_date"`` (default): the Beijing date of the instant.
        * ``"next_working_day"``: if that date is not a working day, or the Beijing wall-clock
          time is after ``office_end`` (strictly later), D0 is the next working day.

        A plain date has no time of day: only the non-working-day part applies. Under
        ``"next_working_day"`` raises CalendarNotPublished if the answer needs an unpublished year.
        """
        if policy not in POLICIES:
            raise ValueError(f"unknown receipt policy {policy!r}; expected one of {POLICIES}")
        if office_end.tzinfo is not None:
            raise ValueError("office_end is a Beijing wall-clock time: pass a naive time")
        d = _beijing_date(instant, "instant")
        if policy == "calendar_date":
            return d
        after_hours = isinstance(instant, datetime) and instant.astimezone(BEIJING).time() > office_end
        if after_hours or not self.is_working_day(d):
            return self.due_date(d, 1)
        return d

    def receipt(self, instant: Received, policy: str = "calendar_date", office_end: time = OFFICE_END) -> Due:
        """Like :meth:`receipt_date`, but never raises: under ``"next_working_day"`` a day 0 that
        needs an unpublished year is the provisional next working day (``provisional=True``), to be
        recomputed when the year is published (docs/deadlines.md: never crash, never guess silently)."""
        try:
            return Due(self.receipt_date(instant, policy, office_end), False)
        except CalendarNotPublished:
            d = _beijing_date(instant, "instant")
            return Due(self.provisional_due_date(d, 1), True)

    def __repr__(self) -> str:
        first, last = self._range
        extra = sorted(self._published - set(range(first, last + 1)))
        return (
            f"WorkingDayCalendar(published={first}..{last}"
            f"{', +' + ','.join(map(str, extra)) if extra else ''}, overrides={len(self._overrides)})"
        )


@functools.lru_cache(maxsize=1)
def default_calendar() -> WorkingDayCalendar:
    """Shared calendar with package data only (no overrides)."""
    return WorkingDayCalendar()


def due_date(received: Received, working_days: int) -> date:
    """``default_calendar().due_date(received, working_days)``."""
    return default_calendar().due_date(received, working_days)
