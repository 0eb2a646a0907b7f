"""A task's deadline state, in one place: the inbox, the case and task pages, the API and the
supervision dashboard all ask this module (docs/deadlines.md, "Deadline state").

The rule (one per open task; a task that is not open, ``state != "ready"``, has none):

- **overdue**: its overdue timer fired (the row's ``overdue`` flag, set only by an escalation the
  engine did not hold), or its due instant has passed and the due date is *published*. A
  provisional (暂定) due date never makes a task overdue by itself: the escalation waits for the
  year's holiday notice (docs/deadlines.md, "Held actions").
- **provisional_past**: not flagged, its provisional due instant has passed (shown as "暂定期限已过",
  left to the recomputation when the year is published).
- **due_soon**: not overdue, the due instant still ahead, and at most the reminder window of
  working days left (``working_days_between(today, due_date) <= window``), the window being the
  ``reminder_days_before`` of the case's rule set (``DEFAULT_REMINDER_DAYS`` when the case has none,
  or its rule set is unknown). Provisional or not.
- **none**: anything else (no due date, or further away, or not open).

The dashboard counts three disjoint buckets (``bucket``): overdue; due soon with a published due
date; provisional (a provisional due date that is due soon or has passed).

Before this module the copies disagreed: the inbox (and the case and task pages through it) counted
a passed provisional due date as overdue, and its SQL filter ignored whether the task was still open;
the supervision dashboard used a fixed window of one working day (``DUE_SOON_DAYS``) where the inbox
and the authority's own steps used the rule set's reminder window, and counted a flagged task with a
provisional due date as provisional where the authority's steps counted it overdue.

Two forms, table-tested to agree on SQLite and PostgreSQL (tests/integration/test_deadline_state.py):
``state``/``classify`` in Python for one task, and ``Rule.sql_*`` expressions over ``HumanTask``
joined to ``Case`` (the window depends on ``Case.rule_set``).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .calendar import BEIJING, WorkingDayCalendar
from .models import Case, HumanTask, RuleSetRow

OVERDUE, PROVISIONAL_PAST, DUE_SOON, NONE = "overdue", "provisional_past", "due_soon", "none"
STATES = (OVERDUE, PROVISIONAL_PAST, DUE_SOON, NONE)
BUCKETS = ("overdue", "due_soon", "provisional")  # the dashboard's counts
DEFAULT_REMINDER_DAYS = 1  # rule sets say ``reminder_days_before``; this when a case has none


def reminder_windows(session: Session) -> dict[str, int]:
    """Each rule set's reminder window in working days, by rule-set key (``name@version``)."""
    rows = session.execute(sa.select(RuleSetRow.name, RuleSetRow.version, RuleSetRow.periods)).all()
    return {f"{name}@{version}": int(json.loads(periods).get("reminder_days_before", DEFAULT_REMINDER_DAYS))
            for name, version, periods in rows}


# -- the Python form ---------------------------------------------------------------------------

def classify(*, is_open: bool, flagged: bool, due_at: datetime | None, due_date: date | None, provisional: bool,
             now: datetime, calendar: WorkingDayCalendar, window: int) -> str:
    """The deadline state of one open-or-not task (or of a statutory period watching one: pass the
    period's due instant, date, provisional mark, and ``flagged`` when it was escalated)."""
    if not is_open:
        return NONE
    past = due_at is not None and due_at < now
    if flagged or (past and not provisional):
        return OVERDUE
    if past:
        return PROVISIONAL_PAST
    if due_at is not None and due_date is not None and remaining_days(due_date, now, calendar) <= window:
        return DUE_SOON
    return NONE


def is_overdue(task, now: datetime) -> bool:
    """``classify(...) == OVERDUE`` for a ``HumanTask`` row (no calendar needed: overdue does not
    depend on the window): open, and escalated or past a published due instant."""
    past = task.due_at is not None and task.due_at < now
    return task.state == "ready" and bool(task.overdue or (past and not task.provisional))


def remaining_days(due_date: date | None, now: datetime, calendar: WorkingDayCalendar) -> int | None:
    """Working days from today (Beijing) to the due date; negative when it has passed."""
    if due_date is None:
        return None
    return calendar.working_days_between(now.astimezone(BEIJING).date(), due_date)


def bucket(state: str, provisional: bool) -> str | None:
    """The dashboard's bucket of a state: overdue, due_soon (published), provisional, else None."""
    if state == OVERDUE:
        return "overdue"
    if state == PROVISIONAL_PAST or (state == DUE_SOON and provisional):
        return "provisional"
    if state == DUE_SOON:
        return "due_soon"
    return None


@dataclass(frozen=True)
class Rule:
    """The rule at one instant: ``now``, the calendar and the rule sets' reminder windows. Build it
    with ``at(session, now, calendar)`` (one query) and ask it per task (Python) or per query (SQL)."""

    now: datetime
    calendar: WorkingDayCalendar
    windows: dict[str, int] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.astimezone(BEIJING).date()

    def window(self, rule_set: str | None) -> int:
        return self.windows.get(rule_set or "", DEFAULT_REMINDER_DAYS)

    def state(self, task, rule_set: str | None) -> str:
        """The state of a ``HumanTask`` (or anything with its attributes) of a case on ``rule_set``."""
        return classify(is_open=task.state == "ready", flagged=bool(task.overdue), due_at=task.due_at,
                        due_date=task.due_date, provisional=bool(task.provisional), now=self.now,
                        calendar=self.calendar, window=self.window(rule_set))

    def remaining(self, task) -> int | None:
        return remaining_days(task.due_date, self.now, self.calendar)

    # -- the SQL form: conditions over HumanTask joined to Case ---------------------------------

    def _past(self):
        return sa.and_(HumanTask.due_at.is_not(None), HumanTask.due_at < self.now)

    def sql_overdue(self):
        return sa.and_(HumanTask.state == "ready", sa.or_(
            HumanTask.overdue.is_(True), sa.and_(HumanTask.provisional.is_(False), self._past())))

    def sql_provisional_past(self):
        return sa.and_(HumanTask.state == "ready", HumanTask.overdue.is_(False),
                       HumanTask.provisional.is_(True), self._past())

    def sql_near(self):
        """Due dates at most the case's reminder window of working days away (or already passed)."""
        by_window: dict[int, list[str]] = defaultdict(list)
        for key, days in self.windows.items():
            by_window[days].append(key)

        def before_cutoff(days: int):  # the first date with more than ``days`` left
            return HumanTask.due_date < self.calendar.provisional_due_date(self.today, days + 1)
        # never NULL (``sql_is(NONE)`` negates it): a NULL rule set is tested apart from IN / NOT IN
        known = Case.rule_set.is_not(None)
        default = sa.or_(Case.rule_set.is_(None), sa.and_(known, Case.rule_set.not_in(list(self.windows)))) \
            if self.windows else sa.true()
        clauses = [sa.and_(default, before_cutoff(DEFAULT_REMINDER_DAYS))]
        clauses += [sa.and_(known, Case.rule_set.in_(keys), before_cutoff(days)) for days, keys in by_window.items()]
        return sa.and_(HumanTask.due_date.is_not(None), sa.or_(*clauses))

    def sql_due_soon(self):
        return sa.and_(HumanTask.state == "ready", HumanTask.overdue.is_(False), HumanTask.due_at.is_not(None),
                       HumanTask.due_at >= self.now, self.sql_near())

    def sql_is(self, state: str):
        """The condition of one state (``NONE``: none of the others)."""
        if state == OVERDUE:
            return self.sql_overdue()
        if state == PROVISIONAL_PAST:
            return self.sql_provisional_past()
        if state == DUE_SOON:
            return self.sql_due_soon()
        if state == NONE:
            return sa.not_(self.sql_watched())
        raise ValueError(f"unknown deadline state {state!r}")

    def sql_watched(self):
        """Any state but none."""
        return sa.or_(self.sql_overdue(), self.sql_provisional_past(), self.sql_due_soon())

    def sql_state(self):
        """The state as a column (a CASE expression)."""
        return sa.case((self.sql_overdue(), OVERDUE), (self.sql_provisional_past(), PROVISIONAL_PAST),
                       (self.sql_due_soon(), DUE_SOON), else_=NONE)

    def sql_bucket(self, name: str):
        """The condition of one dashboard bucket (``bucket``)."""
        if name == "overdue":
            return self.sql_overdue()
        if name == "due_soon":
            return sa.and_(self.sql_due_soon(), HumanTask.provisional.is_(False))
        if name == "provisional":
            return sa.or_(self.sql_provisional_past(), sa.and_(self.sql_due_soon(), HumanTask.provisional.is_(True)))
        raise ValueError(f"unknown deadline bucket {name!r}")


def at(session: Session, now: datetime, calendar: WorkingDayCalendar) -> Rule:
    """The rule at ``now`` with the rule sets' reminder windows read from ``session``."""
    return Rule(now, calendar, reminder_windows(session))
