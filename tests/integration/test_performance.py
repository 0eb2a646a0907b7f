"""Performance evaluation (art. 26) on SQLite and PostgreSQL, against figures worked out by hand.

The tasks are written straight into the human-task projection with chosen instants, so every number
below can be checked on the calendar: March 2026 has no holidays; 2026-02-28 (Saturday) is a 调休
working day.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from itertools import count

import pytest
import sqlalchemy as sa

from engine.calendar import BEIJING, default_calendar
from engine.domain import org, performance
from engine.domain.performance import Period
from engine.domain.violations import Violation
from engine.errors import InvalidForm, PermissionDenied
from engine.models import Case, HumanTask
from engine.uow import Actor
from tests.conftest import FIXTURES, make_engine

D1, D2, AUTH = "D1", "D2", "A"
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
NOW = datetime(2026, 4, 10, 9, 0, tzinfo=BEIJING)
_ids = count(1)


def bj(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BEIJING)


def end_of(month: int, day: int) -> datetime:
    """24:00 Beijing of the given day: the instant a due date ends."""
    return datetime.combine(date(2026, month, day), time(), BEIJING) + timedelta(days=1)


@pytest.fixture
def session(db_url, clock):
    engine = make_engine(db_url, clock)
    engine.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    with engine.uow() as uow:
        s = uow.session
        org.create_department(s, D1, "县公安局", "county_department")
        org.create_department(s, D2, "高河镇", "township")
        org.create_department(s, AUTH, "县数据资源管理局", "authority")
        definition_id = s.scalar(sa.text("select id from definition_version"))
        cases = {n: Case(id=n, number=f"2026{n:07d}", process_id="review_loop", definition_id=definition_id,
                         title=f"案件{n}", started_by="x", started_at=bj(2, 1), updated_at=bj(2, 1),
                         serializer_version="1", state="{}") for n in range(1, 10)}
        s.add_all(cases.values())
        s.flush()
        world(s, definition_id)
        uow.commit()
    with engine.uow() as uow:
        yield uow.session
    engine.db_engine.dispose()


def task(dept, case_id, created, due=None, completed=None, state="completed", provisional=False, overdue=False):
    return HumanTask(id=f"t{next(_ids)}", case_id=case_id, process_id="review_loop", definition_id=0,
                     element_id="submit", name="填写材料", role="provider_clerk", department=dept, state=state,
                     created_at=created, completed_at=completed, due_date=due,
                     due_at=end_of(due.month, due.day) if due else None, provisional=provisional, overdue=overdue)


def world(s, definition_id: int) -> None:
    d1 = s.scalar(sa.select(org.Department.id).where(org.Department.code == D1))
    d2 = s.scalar(sa.select(org.Department.id).where(org.Department.code == D2))
    s.add_all([
        # D1, completed in March with a due date: t1 on time (3 working days), t2 late (2), t4 late (4,
        # due in February), t9 completed at the very instant its period ends (on time; 1 working day:
        # 03-14 00:00 Beijing is still 03-13 in UTC)
        task(D1, 1, bj(3, 2, 10), date(2026, 3, 9), bj(3, 5, 15)),
        task(D1, 1, bj(3, 5, 16), date(2026, 3, 6), bj(3, 9, 9)),
        task(D1, 3, bj(2, 25, 11), date(2026, 2, 27), bj(3, 2, 10)),
        task(D1, 8, bj(3, 12, 9), date(2026, 3, 13), end_of(3, 13)),
        # D1, completed in March without a due date: a case and a task, nothing else
        task(D1, 2, bj(3, 10), None, bj(3, 11)),
        # D1, not completed in March
        task(D1, 4, bj(3, 16, 7), date(2026, 3, 20), None, "ready"),          # open, past due: overdue
        task(D1, 5, bj(3, 20), date(2026, 3, 25), None, "ready", provisional=True),  # 暂定: never overdue
        task(D1, 6, bj(3, 9), date(2026, 3, 12), bj(3, 11), "cancelled"),     # withdrawn in time
        task(D1, 7, bj(3, 25), date(2026, 3, 31), bj(4, 2)),                  # due in March, done late in April
        # D2: one task of case 1 (shared with D1), on time in 1 working day; one in February
        task(D2, 1, bj(3, 3), date(2026, 3, 4), bj(3, 4, 18)),
        task(D2, 9, bj(2, 2), date(2026, 2, 4), bj(2, 3)),
        # county-wide and authority tasks are not evaluated
        task(None, 2, bj(3, 3), date(2026, 3, 4), bj(3, 10)),
        task(AUTH, 2, bj(3, 3), date(2026, 3, 4), bj(3, 10)),
    ])
    for row in s.new:
        if isinstance(row, HumanTask):
            row.definition_id = definition_id
    violation = dict(item=3, evidence="超期", recorded_by="supervisor", updated_at=bj(3, 10))
    s.add_all([Violation(department_id=d1, status="notified", recorded_at=bj(3, 10), **violation),
               Violation(department_id=d1, status="closed", recorded_at=bj(1, 5), **violation),
               Violation(department_id=d2, status="rectified", recorded_at=bj(2, 1), **violation)])


def figures(report, code):
    return next(r for r in report.rows if r.code == code)


def test_the_figures_of_each_department_match_the_hand_count(session):
    calendar = default_calendar()
    report = performance.report(session, MARCH, NOW, calendar)
    assert [r.code for r in report.rows] == [D1, D2]  # the authority itself is not evaluated
    d1 = figures(report, D1)
    assert (d1.cases_handled, d1.tasks_completed, d1.with_deadline, d1.on_time) == (4, 5, 4, 2)
    assert d1.on_time_rate == 0.5
    assert d1.overdue == 3  # t2 (late), the open task past due, the task due 03-31 done in April
    assert (d1.reply_days_total, d1.mean_reply_days) == (10, 2.5)  # 3 + 2 + 4 + 1
    assert (d1.violations_recorded, d1.violations_open) == (1, 1)
    d2 = figures(report, D2)
    assert (d2.cases_handled, d2.tasks_completed, d2.on_time_rate, d2.overdue, d2.mean_reply_days) == (1, 1, 1.0, 0, 1.0)
    assert (d2.violations_recorded, d2.violations_open) == (0, 0)
    total = report.total
    assert total.cases_handled == 4  # case 1 was handled by both departments: counted once
    assert (total.tasks_completed, total.with_deadline, total.on_time, total.overdue) == (6, 5, 3, 3)
    assert total.mean_reply_days == pytest.approx(11 / 5)


def test_one_department_and_a_period_with_nothing_in_it(session):
    calendar = default_calendar()
    only = performance.report(session, MARCH, NOW, calendar, department=D2)
    assert [r.code for r in only.rows] == [D2]
    quiet = performance.report(session, Period(date(2025, 6, 1), date(2025, 6, 30)), NOW, calendar)
    d1 = figures(quiet, D1)
    assert (d1.tasks_completed, d1.overdue, d1.on_time_rate, d1.mean_reply_days) == (0, 0, None, None)
    assert d1.violations_open == 1  # open now, whatever the period


def test_an_open_task_is_overdue_only_once_its_due_date_has_passed(session):
    def overdue_at(now):
        return figures(performance.report(session, MARCH, now, default_calendar(), department=D1), D1).overdue
    assert overdue_at(bj(3, 20, 23, 59)) == 2  # the open task is due at 24:00 on the 20th
    assert overdue_at(bj(3, 21, 0, 1)) == 3


def test_periods_are_checked():
    assert Period.of(date(2026, 3, 1), date(2026, 3, 1)).instants() == (bj(3, 1, 0), bj(3, 2, 0))
    with pytest.raises(InvalidForm) as bad:
        Period.of(date(2026, 3, 2), date(2026, 3, 1))
    assert list(bad.value.errors) == ["to"]
    with pytest.raises(InvalidForm) as missing:
        Period.of(None, None)
    assert set(missing.value.errors) == {"from", "to"}


def test_who_sees_which_department():
    authority = Actor("supervisor", frozenset({"authority"}), AUTH)
    head = Actor("head", frozenset({"dept_head"}), D1)
    assert performance.scope(authority, None) is None and performance.scope(authority, D2) == D2
    assert performance.scope(head, None) == D1 and performance.scope(head, D1) == D1
    with pytest.raises(PermissionDenied):
        performance.scope(head, D2)
    with pytest.raises(PermissionDenied):
        performance.scope(Actor("clerk", frozenset({"provider_clerk"}), D1), None)


def test_the_day_of_an_instant_is_the_beijing_day(session):
    late_evening_utc = datetime(2026, 3, 13, 16, 0, tzinfo=timezone.utc)  # 03-14 00:00 Beijing
    day = session.scalar(sa.select(performance.beijing_day(sa.literal(late_evening_utc, HumanTask.created_at.type))))
    assert day == date(2026, 3, 14)
