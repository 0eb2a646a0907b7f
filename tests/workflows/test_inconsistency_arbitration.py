"""Walk 不一致协调 (art. 19): agreement, the authority's decision after a disagreement or when the
negotiation period ends, and the validation of a report."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine.calendar import BEIJING
from engine.domain import records
from engine.errors import InvalidForm, PermissionDenied
from engine.models import AuditRecord, Deadline, HumanTask

PROCESS = "inconsistency_arbitration"
GA, SJ, MZ = "340822101", "340822102", "340822103"
CLERK = {GA: "gongan.clerk", SJ: "shichang.clerk", MZ: "minzheng.clerk"}
START = {"resources": "HN-GA-001\nHN-MZ-001", "description": "同一公民的婚姻状况：公安为未婚，民政为已婚",
         "records": "公民身份号码 340822199001010011"}


@pytest.fixture
def world(world):
    assert PROCESS not in world.deploy_errors, world.deploy_errors.get(PROCESS)
    world.at(2026, 2, 12, 10, 0)  # Thursday; 10 working days → Wednesday 2026-03-04 (calendar.md)
    return world


# -- helpers ---------------------------------------------------------------------------------------

def start(world, login: str = "supervisor", **changes) -> int:
    return world.start(PROCESS, login, {**START, **changes})


def instance(world, case_id: int, element_id: str, dept: str) -> HumanTask:
    """The open instance of a multi-instance task that belongs to ``dept``."""
    with world.engine.uow() as uow:
        return uow.session.scalars(sa.select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.element_id == element_id,
            HumanTask.department == dept, HumanTask.state == "ready")).one()


def work(world, case_id: int, element_id: str, dept: str, data: dict, login: str | None = None) -> None:
    task = instance(world, case_id, element_id, dept)
    world.engine.complete_task(task.id, world.actors[login or CLERK[dept]], data)


def open_tasks(world, case_id: int) -> list[tuple[str, str | None]]:
    with world.engine.uow() as uow:
        return sorted(uow.session.execute(sa.select(HumanTask.element_id, HumanTask.department).where(
            HumanTask.case_id == case_id, HumanTask.state == "ready")).all(), key=str)


def state_positions(world, case_id: int, depts: list[str]) -> None:
    for dept in depts:
        work(world, case_id, "state_position", dept, {"position": f"{dept} 的值正确", "evidence": "原始登记档案"})


def report_of(world, case_id: int) -> records.InconsistencyReport:
    with world.engine.uow() as uow:
        return uow.session.scalars(sa.select(records.InconsistencyReport).where(  # parties load eagerly
            records.InconsistencyReport.case_id == case_id)).one()


def party(report, dept: str) -> records.InconsistencyParty:
    (found,) = report.parties_of(dept)
    return found


def audit_actions(world, case_id: int) -> list[str]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(AuditRecord.action).where(
            AuditRecord.case_id == case_id).order_by(AuditRecord.id)))


def completed_tasks(world, case_id: int) -> list[str]:
    """The element ids of the case's completed tasks, in the order the audit trail recorded them."""
    with world.engine.uow() as uow:
        summaries = uow.session.scalars(sa.select(AuditRecord.summary).where(
            AuditRecord.case_id == case_id, AuditRecord.action == "task_completed").order_by(AuditRecord.id))
        return [json.loads(summary)["task"] for summary in summaries]


def deadlines(world, case_id: int, element_id: str) -> list[Deadline]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(Deadline).where(
            Deadline.case_id == case_id, Deadline.element_id == element_id).order_by(Deadline.created_at)))


def assert_ended(world, case_id: int, outcome: str) -> None:
    case = world.case(case_id)
    assert (case.status, case.outcome) == ("completed", outcome)
    assert open_tasks(world, case_id) == []
    assert world.engine.verify_audit() is None


# -- the paths -------------------------------------------------------------------------------------

def test_agreement_then_the_wrong_department_corrects(world):
    case_id = start(world, "minzheng.clerk")
    data = world.engine.case_data(case_id)
    assert data["departments"] == [GA, MZ] and data["arbitration_started"] == "2026-02-12"
    assert data["parties"] == [{"department": GA, "resource_code": "HN-GA-001"},
                               {"department": MZ, "resource_code": "HN-MZ-001"}]
    assert world.case(case_id).title == "数据不一致协调：HN-GA-001、HN-MZ-001"
    assert open_tasks(world, case_id) == [("state_position", GA), ("state_position", MZ)]

    world.at(2026, 2, 13, 9, 0)
    state_positions(world, case_id, [GA])
    world.reload()
    state_positions(world, case_id, [MZ])
    assert open_tasks(world, case_id) == [("negotiate", GA), ("negotiate", MZ)]
    report = report_of(world, case_id)
    assert party(report, GA).position == f"{GA} 的值正确\n依据：原始登记档案"
    assert party(report, GA).position_by == "gongan.clerk" and party(report, GA).agreed is False

    world.at(2026, 2, 25, 15, 0)
    work(world, case_id, "negotiate", GA, {"agree": True, "must_change": False, "note": "以公安户籍为准"})
    world.reload()
    work(world, case_id, "negotiate", MZ, {"agree": True, "must_change": True})
    assert open_tasks(world, case_id) == [("correct", MZ)]
    report = report_of(world, case_id)
    assert (report.status, report.outcome, report.decided_by) == ("settled", "agreed", "minzheng.clerk")
    assert report.decision == "各部门协商一致。县公安局：以公安户籍为准；县民政局：同意"
    assert [p.must_correct for p in report.parties] == [False, True]
    assert party(report, GA).position == f"{GA} 的值正确\n依据：原始登记档案"  # kept when agreeing

    with pytest.raises(PermissionDenied):
        work(world, case_id, "correct", MZ, {"correction_note": "x"}, login="gongan.clerk")
    work(world, case_id, "correct", MZ, {"correction_note": "已按户籍信息更正婚姻状况"})

    assert_ended(world, case_id, "agreed")
    report = report_of(world, case_id)
    assert report.status == "closed" and all(p.agreed for p in report.parties)
    assert (party(report, MZ).correction_note, party(report, MZ).corrected_by) == \
        ("已按户籍信息更正婚姻状况", "minzheng.clerk")
    assert party(report, GA).corrected_at is None
    actions = audit_actions(world, case_id)
    assert [a for a in actions if a.startswith("inconsistency_")] == [
        "inconsistency_reported", "inconsistency_position", "inconsistency_position",
        "inconsistency_position", "inconsistency_position", "inconsistency_decided", "inconsistency_corrected"]
    assert actions[0] == "case_started" and actions[-1] == "case_ended"
    assert completed_tasks(world, case_id) == ["state_position"] * 2 + ["negotiate"] * 2 + ["correct"]


def test_agreement_that_nothing_must_change_ends_at_once(world):
    case_id = start(world)
    state_positions(world, case_id, [GA, MZ])
    world.reload()
    for dept in (GA, MZ):
        work(world, case_id, "negotiate", dept, {"agree": True, "note": "口径不同，两个值均正确"})
    assert_ended(world, case_id, "agreed")
    report = report_of(world, case_id)
    assert (report.status, report.outcome) == ("closed", "agreed")
    assert not any(p.must_correct for p in report.parties)
    assert "inconsistency_corrected" not in audit_actions(world, case_id)


def test_disagreement_authority_decides_corrections_confirmed(world):
    case_id = start(world, "shichang.clerk", resources="HN-GA-001\nHN-SJ-001\nHN-MZ-001\nHN-GA-001")
    assert world.engine.case_data(case_id)["departments"] == [GA, SJ, MZ]
    state_positions(world, case_id, [GA, SJ, MZ])
    work(world, case_id, "negotiate", GA, {"agree": True})
    with pytest.raises(InvalidForm) as refused:
        work(world, case_id, "negotiate", SJ, {"agree": False})
    assert "note" in refused.value.errors
    work(world, case_id, "negotiate", SJ, {"agree": False, "note": "市场主体登记以本局为准"})
    world.reload()
    work(world, case_id, "negotiate", MZ, {"agree": True, "must_change": True})
    assert open_tasks(world, case_id) == [("authority_decide", None)]
    assert report_of(world, case_id).status == "open"

    decide = world.task(case_id, "authority_decide")
    with pytest.raises(PermissionDenied):
        world.engine.complete_task(decide.id, world.actors["gongan.clerk"], {})
    view = world.engine.get_task(decide.id, world.actors["supervisor"])
    assert [f.id for f in view.fields] == ["prevailing_department", "must_correct", "decision"]
    for bad in ({"must_correct": GA}, {"must_correct": "340822999"}, {"prevailing_department": "340822001"}):
        with pytest.raises(InvalidForm):
            world.complete(case_id, "authority_decide", "supervisor",
                           {"prevailing_department": GA, "decision": "以户籍信息为准", **bad})
    world.complete(case_id, "authority_decide", "supervisor",
                   {"prevailing_department": GA, "decision": "以户籍登记信息为准"})
    assert open_tasks(world, case_id) == [("correct", SJ), ("correct", MZ)]
    report = report_of(world, case_id)
    assert (report.status, report.outcome, report.decided_by) == ("settled", "decided", "supervisor")
    assert report.decision == "采信县公安局（340822101）的数据。以户籍登记信息为准"
    assert [p.must_correct for p in report.parties] == [False, True, True]

    work(world, case_id, "correct", SJ, {"correction_note": "已更正"})
    world.reload()
    with pytest.raises(PermissionDenied):
        work(world, case_id, "correct", MZ, {"correction_note": "x"}, login="shichang.clerk")
    work(world, case_id, "correct", MZ, {"correction_note": "已更正婚姻状况"})
    assert open_tasks(world, case_id) == [("authority_confirm", None)]
    assert report_of(world, case_id).status == "closed"
    world.complete(case_id, "authority_confirm", "supervisor", {"confirm_note": "更正已核实"})

    assert_ended(world, case_id, "decided")
    report = report_of(world, case_id)
    assert [p.corrected_by for p in report.parties] == [None, "shichang.clerk", "minzheng.clerk"]
    assert [p.agreed for p in report.parties] == [True, False, True]
    actions = audit_actions(world, case_id)
    assert actions.count("inconsistency_corrected") == 2 and actions.count("inconsistency_decided") == 1
    assert actions.count("inconsistency_position") == 6 and actions[-1] == "case_ended"
    assert completed_tasks(world, case_id) == ["state_position"] * 3 + ["negotiate"] * 3 + [
        "authority_decide", "correct", "correct", "authority_confirm"]


def test_the_negotiation_period_runs_from_the_start_of_arbitration(world):
    case_id = start(world)
    # Thu 02-12 is day 0; 02-13, Sat 02-14 (调休), 02-24..02-27, Sat 02-28 (调休), 03-02..03-04
    (position_due,) = deadlines(world, case_id, "position_overdue")
    assert position_due.due_date == date(2026, 3, 4)
    world.at(2026, 2, 27, 16, 0)  # positions take two weeks; the period does not restart
    state_positions(world, case_id, [GA, MZ])
    world.reload()
    (due,) = deadlines(world, case_id, "negotiation_overdue")
    (reminder,) = deadlines(world, case_id, "negotiation_reminder")
    assert (due.due_date, due.due_at) == (date(2026, 3, 4), datetime(2026, 3, 5, 0, 0, tzinfo=BEIJING))
    assert reminder.due_at == datetime(2026, 3, 3, 9, 0, tzinfo=BEIJING)  # 1 working day before
    assert [d.state for d in deadlines(world, case_id, "position_overdue")] == ["cancelled"]
    work(world, case_id, "negotiate", GA, {"agree": True})

    world.at(2026, 3, 3, 9, 30)
    world.fire_timers()
    assert [d.state for d in deadlines(world, case_id, "negotiation_reminder")] == ["fired"]
    assert open_tasks(world, case_id) == [("negotiate", MZ)]  # a reminder changes nothing
    world.at(2026, 3, 4, 23, 59)
    world.fire_timers()
    assert open_tasks(world, case_id) == [("negotiate", MZ)]  # still inside the period
    assert [d.state for d in deadlines(world, case_id, "negotiation_overdue")] == ["waiting"]
    work(world, case_id, "negotiate", MZ, {"agree": True, "must_change": True})
    work(world, case_id, "correct", MZ, {"correction_note": "已更正"})
    assert_ended(world, case_id, "agreed")
    assert [d.state for d in deadlines(world, case_id, "negotiation_overdue")] == ["cancelled"]


def test_negotiation_period_ends_the_negotiation(world):
    case_id = start(world)
    state_positions(world, case_id, [GA, MZ])
    work(world, case_id, "negotiate", GA, {"agree": True})
    world.reload()
    world.at(2026, 3, 5, 0, 1)  # 00:01 after the last day (2026-03-04) of the period
    world.fire_timers()
    assert open_tasks(world, case_id) == [("authority_decide", None)]  # the period changed the path
    assert [d.state for d in deadlines(world, case_id, "negotiation_overdue")] == ["fired"]

    world.complete(case_id, "authority_decide", "supervisor",
                   {"prevailing_department": MZ, "must_correct": GA, "decision": "以婚姻登记为准"})
    work(world, case_id, "correct", GA, {"correction_note": "已更正户籍婚姻状况"})
    world.complete(case_id, "authority_confirm", "supervisor", {"confirm_note": "已核实"})
    assert_ended(world, case_id, "decided")
    report = report_of(world, case_id)
    assert (report.outcome, [p.must_correct for p in report.parties]) == ("decided", [True, False])
    assert [p.agreed for p in report.parties] == [True, False]  # 民政 never agreed
    assert party(report, GA).corrected_by == "gongan.clerk"
    actions = audit_actions(world, case_id)
    assert {"timer_fired", "task_cancelled", "inconsistency_decided", "inconsistency_corrected"} <= set(actions)
    assert completed_tasks(world, case_id)[-2:] == ["correct", "authority_confirm"]


def test_positions_not_stated_in_the_period_go_to_the_authority(world):
    case_id = start(world)
    state_positions(world, case_id, [MZ])
    world.reload()
    world.at(2026, 3, 5, 8, 0)
    world.fire_timers()
    assert open_tasks(world, case_id) == [("authority_decide", None)]
    assert party(report_of(world, case_id), GA).position is None

    world.complete(case_id, "authority_decide", "supervisor",
                   {"prevailing_department": MZ, "decision": "公安局未在协商期内陈述意见，以婚姻登记为准"})
    work(world, case_id, "correct", GA, {"correction_note": "已更正"})
    world.complete(case_id, "authority_confirm", "supervisor", {"confirm_note": "已核实"})
    assert_ended(world, case_id, "decided")
    report = report_of(world, case_id)
    assert (report.status, report.outcome) == ("closed", "decided")
    assert "inconsistency_corrected" in audit_actions(world, case_id)


# -- who works what --------------------------------------------------------------------------------

def test_each_department_states_its_own_position(world):
    case_id = start(world)
    positions = {dept: instance(world, case_id, "state_position", dept) for dept in (GA, MZ)}
    assert {t.role for t in positions.values()} == {"provider_clerk"}
    assert world.engine.people_for_task(positions[GA].id) == [("gongan.clerk", "gongan.clerk")]
    assert world.engine.people_for_task(positions[MZ].id) == [("minzheng.clerk", "minzheng.clerk")]
    for login in ("minzheng.clerk", "shichang.clerk", "gongan.head", "supervisor"):
        with pytest.raises(PermissionDenied):
            world.engine.complete_task(positions[GA].id, world.actors[login], {"position": "x"})
    with pytest.raises(PermissionDenied):
        world.engine.complete_task(positions[MZ].id, world.actors["gongan.clerk"], {"position": "x"})
    report = report_of(world, case_id)
    assert all(p.position is None for p in report.parties)
    state_positions(world, case_id, [GA, MZ])
    report = report_of(world, case_id)
    assert [p.position_by for p in report.parties] == ["gongan.clerk", "minzheng.clerk"]


def test_negotiation_instances_show_their_due_date(world):
    case_id = start(world)
    state_positions(world, case_id, [GA, MZ])
    assert instance(world, case_id, "negotiate", GA).due_date == date(2026, 3, 4)


def test_a_restored_case_keeps_its_multi_instance_collection(world):
    case_id = start(world)
    state_positions(world, case_id, [GA])
    world.reload()
    state_positions(world, case_id, [MZ])
    assert world.engine.case_data(case_id)["position_departments"] == [GA, MZ]


# -- starting ----------------------------------------------------------------------------------------

INVALID_REPORTS = [
    ("HN-GA-001", "至少填写两个资源代码"),
    ("HN-GA-001\n\n HN-GA-001 ", "至少填写两个资源代码"),
    ("HN-GA-001\nHN-XX-404", "目录中没有已发布的资源 HN-XX-404"),
    ("HN-GA-001\nHN-GA-003", "资源须属于至少两个不同部门（第十九条）"),
]


def test_the_report_needs_published_resources_of_two_departments(world):
    for resources, message in INVALID_REPORTS:
        with pytest.raises(InvalidForm) as refused:
            start(world, resources=resources)
        assert message in refused.value.errors["resources"], resources
    assert world.open_elements(1) == [] and report_count(world) == 0


def report_count(world) -> int:
    with world.engine.uow() as uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(records.InconsistencyReport))


def test_who_may_report_and_what_is_required(world):
    with pytest.raises(PermissionDenied):
        start(world, "county")
    with pytest.raises(PermissionDenied):
        start(world, "gongan.head")
    with pytest.raises(InvalidForm) as refused:
        world.start(PROCESS, "supervisor", {"resources": START["resources"]})
    assert set(refused.value.errors) == {"description"}
    case_id = world.start(PROCESS, "gongan.clerk", {**START, "records": ""})
    report = report_of(world, case_id)
    assert report.description == START["description"] and report.reporter_department.code == GA
