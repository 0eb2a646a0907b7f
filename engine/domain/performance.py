"""Performance evaluation (绩效评价, art. 26): the authority's figures per department and period.

For a department and a period of Beijing dates (both ends included):

- cases handled: cases in which a task of the department was completed in the period;
- on-time rate: of the department's tasks completed in the period that had a due date, the share
  completed on or before it;
- overdue: the department's tasks whose (published, not 暂定) due date fell in the period and that
  missed it: completed or withdrawn after it, or still open past it;
- mean reply time: working days from the day a task was received to the day it was completed, over
  the tasks completed in the period that had a due date;
- violations: art. 31 violations recorded against the department in the period, and those still open.

Tasks belong to the department in their ``department`` column; tasks of county-wide roles (the
authority, the county government) have none and are not evaluated. Six queries, whatever
the number of tasks.
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
from ..models import HumanTask, UTCDateTime
from ..uow import Actor
from .org import Department
from .violations import Violation

EVALUATED_KINDS = ("county_department", "township", "public_service")  # art. 26: 县直部门和各乡镇
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
            errors["from"] = "请填写开始日期 (enter the first day)"
        if end is None:
            errors["to"] = "请填写结束日期 (enter the last day)"
        if not errors and end < start:
            errors["to"] = "结束日期不能早于开始日期 (the last day cannot be before the first)"
        elif not errors and (end - start).days > MAX_PERIOD_DAYS:
            errors["to"] = "期间最长五年 (a period is at most five years)"
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
    total: Figures


def scope(actor: Actor, requested: str | None) -> str | None:
    """The department ``actor`` may evaluate: the authority any (None: all), a 数长 only their own."""
    if "authority" in actor.roles:
        return requested or None
    if "dept_head" in actor.roles and actor.department:
        if requested and requested != actor.department:
            raise PermissionDenied("数长只能查看本部门的绩效 (a department head sees only their own department)")
        return actor.department
    raise PermissionDenied("仅限主管部门和数长 (for the data authority and department heads only)")


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
    """The figures of every evaluated department (or of ``department``), and the county's total."""
    departments = _departments(session, department)
    codes = [d.code for d in departments]
    completed = _completed(session, codes, period)
    replies = _reply_days(session, codes, period, calendar)
    late = _overdue(session, codes, period, now)
    broken = _violations(session, [d.id for d in departments], period)
    rows = []
    for d in departments:
        cases, tasks, with_deadline, on_time = completed.get(d.code, (0, 0, 0, 0))
        recorded, still_open = broken.get(d.id, (0, 0))
        rows.append(Figures(d.code, d.name, cases, tasks, with_deadline, on_time, late.get(d.code, 0),
                            replies.get(d.code, 0), recorded, still_open))
    return Report(period, rows, _total(rows, _cases_handled(session, codes, period)))


def evaluated_departments(session: Session) -> list[Department]:
    """The active county departments, townships and public-service bodies (art. 26, art. 2)."""
    return list(session.scalars(sa.select(Department).where(
        Department.active.is_(True), Department.kind.in_(EVALUATED_KINDS)).order_by(Department.code)))


def _departments(session: Session, code: str | None) -> list[Department]:
    if code is None:
        return evaluated_departments(session)
    return list(session.scalars(sa.select(Department).where(Department.code == code)))


def _completed_in(codes: list[str], period: Period) -> list:
    start, end = period.instants()
    return [HumanTask.department.in_(codes), HumanTask.state == "completed",
            HumanTask.completed_at >= start, HumanTask.completed_at < end]


def _completed(session: Session, codes: list[str], period: Period) -> dict[str, tuple[int, int, int, int]]:
    on_time = sa.func.sum(sa.case((HumanTask.completed_at <= HumanTask.due_at, 1), else_=0))
    query = sa.select(HumanTask.department, sa.func.count(sa.distinct(HumanTask.case_id)), sa.func.count(),
                      sa.func.count(HumanTask.due_at), on_time) \
        .where(*_completed_in(codes, period)).group_by(HumanTask.department)
    return {dept: (cases, tasks, with_deadline, int(punctual or 0))
            for dept, cases, tasks, with_deadline, punctual in session.execute(query)}


def _reply_days(session: Session, codes: list[str], period: Period, calendar: WorkingDayCalendar) -> dict[str, int]:
    """Working days received → completed, summed per department (counted by pairs of days in SQL)."""
    received, done = beijing_day(HumanTask.created_at), beijing_day(HumanTask.completed_at)
    query = sa.select(HumanTask.department, received, done, sa.func.count()) \
        .where(*_completed_in(codes, period), HumanTask.due_at.is_not(None)) \
        .group_by(HumanTask.department, received, done)
    totals: dict[str, int] = defaultdict(int)
    for dept, first, last, n in session.execute(query):
        totals[dept] += n * calendar.working_days_between(first, last)
    return totals


def _overdue(session: Session, codes: list[str], period: Period, now: datetime) -> dict[str, int]:
    finished = sa.func.coalesce(HumanTask.completed_at, sa.literal(now, UTCDateTime()))
    query = sa.select(HumanTask.department, sa.func.count()).where(
        HumanTask.department.in_(codes), HumanTask.provisional.is_(False),
        HumanTask.due_date >= period.start, HumanTask.due_date <= period.end,
        sa.or_(HumanTask.overdue.is_(True), finished > HumanTask.due_at)).group_by(HumanTask.department)
    return dict(session.execute(query).all())


def _violations(session: Session, department_ids: list[int], period: Period) -> dict[int, tuple[int, int]]:
    start, end = period.instants()
    recorded = sa.func.sum(sa.case((sa.and_(Violation.recorded_at >= start, Violation.recorded_at < end), 1),
                                   else_=0))
    still_open = sa.func.sum(sa.case((Violation.status.not_in(CLOSED_VIOLATIONS), 1), else_=0))
    query = sa.select(Violation.department_id, recorded, still_open) \
        .where(Violation.department_id.in_(department_ids)).group_by(Violation.department_id)
    return {dept: (int(r or 0), int(o or 0)) for dept, r, o in session.execute(query)}


def _cases_handled(session: Session, codes: list[str], period: Period) -> int:
    """Cases handled county-wide: a case two departments worked on counts once."""
    return session.scalar(sa.select(sa.func.count(sa.distinct(HumanTask.case_id)))
                          .where(*_completed_in(codes, period))) or 0


def _total(rows: list[Figures], cases_handled: int) -> Figures:
    sums = {name: sum(getattr(r, name) for r in rows) for name in (
        "tasks_completed", "with_deadline", "on_time", "overdue", "reply_days_total",
        "violations_recorded", "violations_open")}
    return Figures("", "", cases_handled, **sums)
