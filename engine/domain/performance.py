"""Performance evaluation (绩效评价, art. 26): the authority's figures per department and period.

For a department and a period of Beijing dates (both ends included):

- cases handled: cases in which a task of the department was completed in the period;
- tasks completed: the department's tasks completed in the period;
- with a due date / on time / on-time rate: the department's timed obligations that ended in the
  period, and the share met. An obligation is a *statutory period* (``statutory_period``, issue 13)
  where the procedure declares one, else a task with a deadline of its own (see below);
- overdue: the department's obligations whose (published, not 暂定) due date fell in the period
  and that missed it: ended after it, or still running past it;
- mean reply time: working days from an obligation's start (a period's day 0, a task's receipt) to
  its end, over the obligations that ended in the period;
- violations: art. 31 violations recorded against the department in the period, and those still open.

Why periods, not tasks, where there are periods: a period is the party's obligation under one
article and spans every task the party uses inside it (the clerk's update *and* the 数长's
approval of art. 9, a transfer, a return inside the department). Counted by task, one obligation
counted as many as its steps (the 15 days late once showed as two late tasks), and a step finished
"on time" inside a late period counted as punctual. So the figures take:

- every statutory period of a department (``party`` department), by the department it names,
  closed in the period (``met`` on time, ``late`` not) — its length from ``start_date`` to the day
  it closed. An applicant's period (supplying materials, asking for coordination) is not counted:
  the regulation puts no duty on the applicant, whose silence only withdraws its own application
  (such a period closes ``lapsed``, not ``late``);
- plus every task with a deadline that no period watches (the procedures not yet converted, a
  diagram deployed with ``workdays(...)``): a task is *watched* when one of its deadline rows
  carries a period (the timer's ``period`` parameter), and is then counted through its period only.

A period that closed because its party's part ended otherwise (the case withdrawn, the clock
stopped while the other party holds the case) counts like any other: met if it closed by its end.
"Cases handled" and "tasks completed" stay counts of task rows: they measure work done, not time.
The existing tests of this module (tests/integration/test_performance.py, tests/e2e/
test_performance.py) time single tasks without periods, so their figures are unchanged.

The authority's own periods (party ``authority``: a review, a coordination, a 督办 decision) and
the tasks of the authority's role (or of the authority's own department) are counted the same way
in a row of their own (``Report.authority``, 主管部门), shown apart from the departments and left
out of the county's total: the authority evaluates the departments (art. 26), and its own lateness
is counted, never a violation (none is recorded against it). The county government's tasks and
periods (no department) are not evaluated. Tasks and periods without a department, other than the
authority's, are not evaluated either.

Eight queries, whatever the number of tasks and periods.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from ..calendar import BEIJING, WorkingDayCalendar
from ..errors import InvalidForm, PermissionDenied
from ..messages import msg
from ..models import Deadline, HumanTask, StatutoryPeriod, UTCDateTime
from ..uow import Actor
from .org import Department
from .violations import Violation

EVALUATED_KINDS = ("county_department", "township", "public_service")  # art. 26: 县直部门和各乡镇
AUTHORITY_KIND = "authority"  # the data authority's own department (its row is apart)
AUTHORITY_ROLES = ("authority",)  # art. 4: tasks of the data authority (engine.supervision.SUPERVISORS)
AUTHORITY_PARTY = "authority"  # engine.periods.AUTHORITY
DEPARTMENT_PARTY = "department"  # the obligations the regulation puts on departments (evaluated)
AUTHORITY_KEY = "authority"  # the authority's row when no department of kind authority exists
CLOSED_VIOLATIONS = ("rectified", "closed")
MAX_PERIOD_DAYS = 366 * 5


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included

    @classmethod
    def of(cls, start: date | None, end: date | None) -> "Period":
        """A checked period; errors by field (``from``, ``to``) for the form."""
        errors = {}
        if start is None:
            errors["from"] = msg("performance.first_day_required", "enter the first day")
        if end is None:
            errors["to"] = msg("performance.last_day_required", "enter the last day")
        if not errors and end < start:
            errors["to"] = msg("performance.period_reversed", "the last day cannot be before the first")
        elif not errors and (end - start).days > MAX_PERIOD_DAYS:
            errors["to"] = msg("performance.period_too_long", "a period is at most five years")
        if errors:
            raise InvalidForm(errors)
        return cls(start, end)

    def instants(self) -> tuple[datetime, datetime]:
        """[00:00 of the first day, 00:00 after the last day), Beijing time."""
        return (datetime.combine(self.start, time(), BEIJING),
                datetime.combine(self.end + timedelta(days=1), time(), BEIJING))


@dataclass(frozen=True)
class Figures:
    code: str
    name: str
    cases_handled: int = 0
    tasks_completed: int = 0
    with_deadline: int = 0
    on_time: int = 0
    overdue: int = 0
    reply_days_total: int = 0  # summed over the ``with_deadline`` tasks
    violations_recorded: int = 0
    violations_open: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.with_deadline if self.with_deadline else None

    @property
    def mean_reply_days(self) -> float | None:
        return self.reply_days_total / self.with_deadline if self.with_deadline else None


@dataclass(frozen=True)
class Report:
    period: Period
    rows: list[Figures]
    total: Figures  # the departments' (the authority is not in it)
    authority: Figures | None = None  # the authority's own steps; None for one department


def scope(actor: Actor, requested: str | None) -> str | None:
    """The department ``actor`` may evaluate: the authority any (None: all), a 数长 only their own."""
    if "authority" in actor.roles:
        return requested or None
    if "dept_head" in actor.roles and actor.department:
        if requested and requested != actor.department:
            raise PermissionDenied(msg("performance.own_department_only",
                                       "a department head sees only their own department"))
        return actor.department
    raise PermissionDenied(msg("performance.authority_or_head_only",
                               "for the data authority and department heads only"))


class beijing_day(FunctionElement):
    """The Beijing calendar date of a UTC timestamp column (China keeps no daylight saving time)."""

    type = sa.Date()
    inherit_cache = True


@compiles(beijing_day, "sqlite")
def _beijing_day_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


@compiles(beijing_day)
def _beijing_day_default(element, compiler, **kw):
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE 'Asia/Shanghai') AS DATE)"


def report(session: Session, period: Period, now: datetime, calendar: WorkingDayCalendar,
           department: str | None = None) -> Report:
    """The figures of every evaluated department (or of ``department``) and the county's total;
    with every department, also the authority's own (``Report.authority``)."""
    departments, authority = _departments(session, department)
    codes = [d.code for d in departments]
    whole = department is None  # the authority's own row comes with the whole county
    key = authority.code if authority is not None else AUTHORITY_KEY
    owner_task, task_scope = _task_owner(codes, key, whole)
    owner_period, period_scope = _period_owner(codes, key, whole)
    completed = _completed(session, owner_task, task_scope, period)
    replies = _reply_days(session, owner_task, task_scope, period, calendar)
    late = _overdue(session, owner_task, task_scope, period, now)
    closed = _closed_periods(session, owner_period, period_scope, period, calendar)
    late_periods = _overdue_periods(session, owner_period, period_scope, period, now)
    ids = [d.id for d in departments] + ([authority.id] if whole and authority is not None else [])
    broken = _violations(session, ids, period)

    def figures(code: str, name: str, dept_id: int | None) -> Figures:
        cases, tasks, with_deadline, on_time = completed.get(code, (0, 0, 0, 0))
        ended, met, period_days = closed.get(code, (0, 0, 0))
        recorded, still_open = broken.get(dept_id, (0, 0))
        return Figures(code, name, cases, tasks, with_deadline + ended, on_time + met,
                       late.get(code, 0) + late_periods.get(code, 0), replies.get(code, 0) + period_days,
                       recorded, still_open)

    rows = [figures(d.code, d.name, d.id) for d in departments]
    own = None
    if whole:
        own = figures(key, authority.name, authority.id) if authority is not None else figures(key, "", None)
    cases = _cases_handled(session, _task_owner(codes, key, False)[1], period)
    return Report(period, rows, _total(rows, cases), own)


def evaluated_departments(session: Session) -> list[Department]:
    """The active county departments, townships and public-service bodies (art. 26, art. 2)."""
    return list(session.scalars(sa.select(Department).where(
        Department.active.is_(True), Department.kind.in_(EVALUATED_KINDS)).order_by(Department.code)))


def _departments(session: Session, code: str | None) -> tuple[list[Department], Department | None]:
    """The evaluated departments (or ``code`` alone) and the authority's department, in one query."""
    if code is not None:
        return list(session.scalars(sa.select(Department).where(Department.code == code))), None
    found = list(session.scalars(sa.select(Department).where(
        Department.active.is_(True), Department.kind.in_((*EVALUATED_KINDS, AUTHORITY_KIND)))
        .order_by(Department.code)))
    authority = next((d for d in found if d.kind == AUTHORITY_KIND), None)
    return [d for d in found if d.kind != AUTHORITY_KIND], authority


def _task_owner(codes: list[str], key: str, with_authority: bool):
    """(whose task a row is: a department's code, or ``key`` for the authority's; the rows in scope).
    The authority's tasks (its role, or its own department) are never a department's."""
    authority_role = HumanTask.role.in_(AUTHORITY_ROLES)
    departments = sa.and_(HumanTask.department.in_(codes), sa.or_(HumanTask.role.is_(None), sa.not_(authority_role)))
    if not with_authority:
        return HumanTask.department, departments
    mine = sa.or_(authority_role, HumanTask.department == key)
    return sa.case((mine, key), else_=HumanTask.department), sa.or_(departments, mine)


def _period_owner(codes: list[str], key: str, with_authority: bool):
    """(whose period a row is, the rows in scope): the authority's, or the department it names."""
    departments = sa.and_(StatutoryPeriod.party == DEPARTMENT_PARTY, StatutoryPeriod.department.in_(codes))
    if not with_authority:
        return StatutoryPeriod.department, departments
    mine = StatutoryPeriod.party == AUTHORITY_PARTY
    return sa.case((mine, key), else_=StatutoryPeriod.department), sa.or_(departments, mine)


def _watched():
    """The task is watched by a statutory period (one of its timers carries the period's name): it
    is counted through that period, not on its own."""
    return sa.exists().where(Deadline.human_task_id == HumanTask.id, Deadline.params.like('%"period"%'))


def _completed_in(scope, period: Period) -> list:
    start, end = period.instants()
    return [scope, HumanTask.state == "completed", HumanTask.completed_at >= start, HumanTask.completed_at < end]


def _completed(session: Session, owner, scope, period: Period) -> dict[str, tuple[int, int, int, int]]:
    """Per owner: cases, tasks completed, and of the tasks no period watches, those with a due date
    and those completed by it."""
    own_deadline = sa.and_(HumanTask.due_at.is_not(None), sa.not_(_watched()))
    with_deadline = sa.func.sum(sa.case((own_deadline, 1), else_=0))
    on_time = sa.func.sum(sa.case((sa.and_(own_deadline, HumanTask.completed_at <= HumanTask.due_at), 1), else_=0))
    query = sa.select(owner, sa.func.count(sa.distinct(HumanTask.case_id)), sa.func.count(),
                      with_deadline, on_time) \
        .where(*_completed_in(scope, period)).group_by(owner)
    return {who: (cases, tasks, int(timed or 0), int(punctual or 0))
            for who, cases, tasks, timed, punctual in session.execute(query)}


def _reply_days(session: Session, owner, scope, period: Period, calendar: WorkingDayCalendar) -> dict[str, int]:
    """Working days received → completed of the tasks no period watches, summed per owner (counted
    by pairs of days in SQL)."""
    received, done = beijing_day(HumanTask.created_at), beijing_day(HumanTask.completed_at)
    query = sa.select(owner, received, done, sa.func.count()) \
        .where(*_completed_in(scope, period), HumanTask.due_at.is_not(None), sa.not_(_watched())) \
        .group_by(owner, received, done)
    totals: dict[str, int] = defaultdict(int)
    for who, first, last, n in session.execute(query):
        totals[who] += n * calendar.working_days_between(first, last)
    return totals


def _overdue(session: Session, owner, scope, period: Period, now: datetime) -> dict[str, int]:
    """Tasks no period watches, due in the period, that missed it (done after it, or open past it)."""
    finished = sa.func.coalesce(HumanTask.completed_at, sa.literal(now, UTCDateTime()))
    query = sa.select(owner, sa.func.count()).where(
        scope, HumanTask.provisional.is_(False),
        HumanTask.due_date >= period.start, HumanTask.due_date <= period.end,
        sa.or_(HumanTask.overdue.is_(True), finished > HumanTask.due_at), sa.not_(_watched())).group_by(owner)
    return dict(session.execute(query).all())


def _closed_periods(session: Session, owner, scope, period: Period,
                    calendar: WorkingDayCalendar) -> dict[str, tuple[int, int, int]]:
    """Per owner: statutory periods closed in the period, those met, and their working days from
    day 0 to the day they closed (counted by pairs of days in SQL)."""
    start, end = period.instants()
    closed = beijing_day(StatutoryPeriod.closed_at)
    query = sa.select(owner, StatutoryPeriod.state, StatutoryPeriod.start_date, closed, sa.func.count()).where(
        scope, StatutoryPeriod.state.in_(("met", "late")),
        StatutoryPeriod.closed_at >= start, StatutoryPeriod.closed_at < end) \
        .group_by(owner, StatutoryPeriod.state, StatutoryPeriod.start_date, closed)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for who, state, first, last, n in session.execute(query):
        found = totals[who]
        found[0] += n
        found[1] += n if state == "met" else 0
        found[2] += n * calendar.working_days_between(first, last)
    return {who: (ended, met, days) for who, (ended, met, days) in totals.items()}


def _overdue_periods(session: Session, owner, scope, period: Period, now: datetime) -> dict[str, int]:
    """Statutory periods whose (published) due date fell in the period and that missed it: closed
    late, or still running past their end (or marked overdue by their timer)."""
    running_late = sa.and_(StatutoryPeriod.state == "running",
                           sa.or_(StatutoryPeriod.overdue_at.is_not(None),
                                  StatutoryPeriod.due_at < sa.literal(now, UTCDateTime())))
    query = sa.select(owner, sa.func.count()).where(
        scope, StatutoryPeriod.provisional.is_(False),
        StatutoryPeriod.due_date >= period.start, StatutoryPeriod.due_date <= period.end,
        sa.or_(StatutoryPeriod.state == "late", running_late)).group_by(owner)
    return dict(session.execute(query).all())


def _violations(session: Session, department_ids: list[int], period: Period) -> dict[int, tuple[int, int]]:
    start, end = period.instants()
    recorded = sa.func.sum(sa.case((sa.and_(Violation.recorded_at >= start, Violation.recorded_at < end), 1),
                                   else_=0))
    still_open = sa.func.sum(sa.case((Violation.status.not_in(CLOSED_VIOLATIONS), 1), else_=0))
    query = sa.select(Violation.department_id, recorded, still_open) \
        .where(Violation.department_id.in_(department_ids)).group_by(Violation.department_id)
    return {dept: (int(r or 0), int(o or 0)) for dept, r, o in session.execute(query)}


def _cases_handled(session: Session, departments, period: Period) -> int:
    """Cases handled county-wide: a case two departments worked on counts once."""
    return session.scalar(sa.select(sa.func.count(sa.distinct(HumanTask.case_id)))
                          .where(*_completed_in(departments, period))) or 0


def _total(rows: list[Figures], cases_handled: int) -> Figures:
    sums = {name: sum(getattr(r, name) for r in rows) for name in (
        "tasks_completed", "with_deadline", "on_time", "overdue", "reply_days_total",
        "violations_recorded", "violations_open")}
    return Figures("", "", cases_handled, **sums)
