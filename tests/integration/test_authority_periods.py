"""The authority's own late steps (issue 13 item 3) on SQLite and PostgreSQL: a catalog change whose
review by the authority passes its period (authority_decide_days, 5 working days) is reminded,
listed on the supervision dashboard in the authority's own section (never a department's), raises
no 督办 and no violation against the authority, and is counted in the evaluation in a row of its
own; the department's figures count its statutory periods, not each task inside them.

Dates (engine.calendar.due_date): the review opened Mon 2026-11-02 ends 11-09 (5 working days);
县市场监督管理局's update from the change date 2026-10-19 ends 11-09 (15); the 督办 decision opened
11-10 ends 11-17 (5).
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from engine import supervision
from engine.domain import catalog, org, performance
from engine.domain.performance import Period
from engine.domain.violations import SupervisionItem, Violation
from engine.models import HumanTask, StatutoryPeriod
from tests.integration.test_supervision import counted
from tests.workflows.conftest import world  # noqa: F401  (the county with the five procedures)

AUTHORITY, GONGAN, SHICHANG, MINZHENG = "340822001", "340822101", "340822102", "340822103"
RESOURCE = {GONGAN: "HN-GA-001", SHICHANG: "HN-SJ-001", MINZHENG: "HN-MZ-001"}
CLERK = {GONGAN: "gongan.clerk", SHICHANG: "shichang.clerk", MINZHENG: "minzheng.clerk"}
HEAD = {GONGAN: "gongan.head", SHICHANG: "shichang.head", MINZHENG: "minzheng.head"}
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def start_change(world, dept: str, change_date: str) -> int:
    return world.start("catalog_change", CLERK[dept], {
        "department": dept, "change_kind": "regulation", "change_date": change_date,
        "basis_document": "《中华人民共和国户口登记条例》修订（国务院令第 1 号）"})


def update(world, case_id: int, dept: str) -> None:
    """The clerk edits the draft and submits it (art. 7, 9)."""
    draft = world.engine.case_data(case_id)["draft_id"]
    with world.engine.uow() as uow:
        catalog.upsert_entry(uow, draft, {"code": RESOURCE[dept], "update_frequency": "realtime"},
                             world.actors[CLERK[dept]], world.clock.now())
        uow.commit()
    world.complete(case_id, "update_catalog", CLERK[dept], {"change_summary": "更新频率改为实时", "action": "submit"})


def to_review(world, dept: str, change_date: str) -> int:
    """A change updated, approved by the 数长 and reported: the authority's review is open."""
    case_id = start_change(world, dept, change_date)
    update(world, case_id, dept)
    world.complete(case_id, "internal_approval", HEAD[dept], {"head_decision": "approve"})
    world.complete(case_id, "report", CLERK[dept], {"report_note": "报送更新后的目录及变更依据"})
    assert world.open_elements(case_id) == ["authority_review"]
    return case_id


def board(world, **filters) -> supervision.Dashboard:
    engine = world.engine
    with engine.uow() as uow:
        return supervision.dashboard(uow.session, engine.clock.now(), engine.calendar(uow.session),
                                     supervision.Filters(**filters), engine.procedures)


def evaluation(world, department: str | None = None) -> performance.Report:
    engine = world.engine
    with engine.uow() as uow:
        return performance.report(uow.session, NOVEMBER, engine.clock.now(), engine.calendar(uow.session), department)


def listed_tasks(found: supervision.Dashboard) -> set[str]:
    """The element ids of the tasks the department sections list."""
    return {w.task.element_id for g in found.groups for w in g.tasks}


def own(found: supervision.Dashboard) -> list[tuple]:
    return [(s.case_id, s.title, s.article, s.due_date, s.state, s.remaining_days, s.reminded,
             [t.element_id for t in s.tasks]) for s in found.authority]


def supervision_departments(world) -> list[str]:
    with world.engine.uow() as uow:
        return sorted(uow.session.scalars(sa.select(org.Department.code).join(
            SupervisionItem, SupervisionItem.department_id == org.Department.id)))


def violations(world) -> int:
    with world.engine.uow() as uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(Violation))


def test_the_authority_late_on_its_review_has_a_section_of_its_own_and_no_violation(world):
    world.at(2026, 11, 2, 10, 0)
    review = to_review(world, GONGAN, "2026-11-02")
    late_update = start_change(world, SHICHANG, "2026-10-19")  # the department's 15 days end 11-09
    assert world.task(review, "authority_review").due_date == date(2026, 11, 9)

    world.at(2026, 11, 5, 10, 0)  # two working days left: neither listed yet
    found = board(world)
    assert own(found) == [] and found.authority_counts.total == 0
    assert listed_tasks(found) == set()

    world.at(2026, 11, 6, 9, 0)  # the reminder instant: one working day left (the rule set's window)
    world.fire_timers()
    found = board(world)
    assert own(found) == [(review, "审核报送的目录", "9, 16", date(2026, 11, 9), "due_soon", 1, True,
                           ["authority_review"])]
    assert listed_tasks(found) == {"update_catalog"}  # the department's own task, due 11-09 too

    world.at(2026, 11, 10, 9, 0)  # both periods ended at 24:00 on 11-09
    world.fire_timers()
    assert world.task(review, "authority_review").overdue is True
    found = board(world)
    assert own(found) == [(review, "审核报送的目录", "9, 16", date(2026, 11, 9), "overdue", -1, True,
                           ["authority_review"])]
    step = found.authority[0]
    assert (step.case_number, step.process_id, step.days_over, step.provisional) == (
        world.case(review).number, "catalog_change", 1, False)
    assert (found.authority_counts.overdue, found.authority_counts.due_soon) == (1, 0)
    # the department sections: the department's late update, never the authority's review
    assert "authority_review" not in listed_tasks(found) and "update_catalog" in listed_tasks(found)
    assert [g.code for g in found.groups] == [SHICHANG]
    assert found.totals.overdue == 1 and found.by_procedure["catalog_change"].overdue == 1
    # no 督办 and no violation name the authority; the department's lateness has its 督办
    assert supervision_departments(world) == [SHICHANG] and violations(world) == 0
    with world.engine.uow() as uow:
        period = uow.session.scalars(sa.select(StatutoryPeriod).where(
            StatutoryPeriod.case_id == review, StatutoryPeriod.name == "review")).one()
        assert (period.party, period.department, period.supervision_id) == ("authority", None, None)
        assert period.overdue_at is not None

    # the filters: a department's view leaves the authority's section out; status and procedure apply
    assert board(world, department=SHICHANG).authority == []
    assert len(board(world, status="overdue").authority) == 1
    assert board(world, status="due_soon").authority == []
    assert board(world, process_id="data_review").authority == []

    # the 督办 decision on the department's lateness is the authority's own step too (art. 31, 5 days)
    world.at(2026, 11, 16, 9, 0)
    world.fire_timers()
    found = board(world)
    assert [(s.case_id, s.title, s.article, s.state, s.tasks[0].element_id) for s in found.authority] == [
        (review, "审核报送的目录", "9, 16", "overdue", "authority_review"),
        (late_update, "督办决定", "31", "due_soon", "update_catalog_supervise")]
    assert "update_catalog_supervise" not in listed_tasks(found)


def test_the_evaluation_counts_the_authority_apart_and_the_department_by_its_periods(world):
    world.at(2026, 11, 2, 10, 0)
    review = to_review(world, GONGAN, "2026-11-02")
    world.at(2026, 11, 10, 9, 0)
    world.fire_timers()
    running = evaluation(world).authority
    assert (running.code, running.name, running.overdue, running.on_time) == (AUTHORITY, "县数据资源管理局", 1, 0)

    world.at(2026, 11, 11, 10, 0)
    world.complete(review, "authority_review", "supervisor", {"review_decision": "approve"})
    assert world.case(review).outcome == "published"
    found = evaluation(world)
    authority = found.authority
    assert (authority.cases_handled, authority.tasks_completed) == (1, 1)
    assert (authority.with_deadline, authority.on_time, authority.on_time_rate, authority.overdue) == (1, 0, 0.0, 1)
    assert (authority.violations_recorded, authority.violations_open) == (0, 0)
    # 县公安局: three tasks (update, the 数长's approval, report) in two statutory periods, both met
    gongan = next(r for r in found.rows if r.code == GONGAN)
    assert (gongan.cases_handled, gongan.tasks_completed) == (1, 3)
    assert (gongan.with_deadline, gongan.on_time, gongan.on_time_rate, gongan.overdue) == (2, 2, 1.0, 0)
    assert AUTHORITY not in [r.code for r in found.rows]
    assert found.total.with_deadline == 2 and found.total.overdue == 0  # the authority is not in the total
    assert found.total.tasks_completed == 3
    # one department evaluated: no authority row; the department's figures are the same
    alone = evaluation(world, GONGAN)
    assert alone.authority is None and alone.rows == [gongan]


def test_a_department_late_across_two_tasks_of_one_period_is_late_once(world):
    """The 15 days of art. 9 span the clerk's update and the 数长's approval: both tasks carry the
    period's due date, the period is counted once, late (by task it was two late tasks)."""
    world.at(2026, 11, 2, 10, 0)
    case_id = start_change(world, MINZHENG, "2026-10-19")  # ends 11-09
    world.at(2026, 11, 10, 10, 0)
    world.fire_timers()
    update(world, case_id, MINZHENG)
    world.complete(case_id, "internal_approval", HEAD[MINZHENG], {"head_decision": "approve"})
    with world.engine.uow() as uow:
        dues = set(uow.session.scalars(sa.select(HumanTask.due_date).where(
            HumanTask.case_id == case_id, HumanTask.element_id.in_(("update_catalog", "internal_approval")))))
    assert dues == {date(2026, 11, 9)}
    minzheng = next(r for r in evaluation(world).rows if r.code == MINZHENG)
    assert (minzheng.tasks_completed, minzheng.with_deadline, minzheng.on_time, minzheng.overdue) == (2, 1, 0, 1)
    assert supervision_departments(world) == [MINZHENG]  # the department's lateness: its 督办


def test_the_authority_section_takes_a_fixed_number_of_queries(world):
    def queries() -> int:
        with counted(world.engine) as statements:
            board(world)
        return len(statements)
    world.at(2026, 11, 2, 10, 0)
    first = to_review(world, GONGAN, "2026-11-02")
    world.at(2026, 11, 10, 9, 0)
    world.fire_timers()
    world.engine.claim(world.task(first, "authority_review").id, world.actors["supervisor"])
    queries()  # the calendar is loaded once, then cached
    few = queries()
    assert len(board(world).authority) == 1
    for dept in (SHICHANG, MINZHENG):
        to_review(world, dept, "2026-11-10")  # due 11-17
    world.at(2026, 11, 16, 9, 0)
    found = board(world)
    assert [s.state for s in found.authority] == ["overdue", "due_soon", "due_soon"]
    assert found.people == {"supervisor": "supervisor"}
    assert queries() == few
