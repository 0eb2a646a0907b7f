"""Walk 不一致协调 (arts. 13, 19): a resolution proposed by the lead department and accepted by the
others, the authority's decision after a disagreement or when the negotiation period ends, timed
corrections confirmed by the authority, and the validation of a report.

Statutory periods (docs/deadlines/inconsistency_arbitration.md): the negotiation period hands the
case to the authority without a 督办; the correction period escalates only the department still late;
the authority's own periods are reminded and marked late, never supervised."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine import periods as statutory
from engine.calendar import BEIJING, due_date

from engine.domain.violations import SupervisionItem, Violation
from engine.errors import InvalidForm, PermissionDenied
from engine.models import AuditRecord, Deadline, HumanTask, StatutoryPeriod
from workflows.inconsistency_arbitration import records as report_records

PROCESS = "inconsistency_arbitration"
GA, SJ, MZ = "340822101", "340822102", "340822103"
CLERK = {GA: "gongan.clerk", SJ: "shichang.clerk", MZ: "minzheng.clerk"}
START = {"resources": "HN-GA-001\nHN-MZ-001", "description": "同一公民的婚姻状况：公安为未婚，民政为已婚",
         "records": "公民身份号码 340822199001010011"}


# engine.calendar.due_date(date(2026, 2, 12), 10) == date(2026, 3, 4): Thu 02-12 is day 0; 02-13,
# Sat 02-14 (调休), 02-24..02-27, Sat 02-28 (调休), 03-02..03-04 (art. 19, design: negotiation_days)
NEGOTIATION_DUE = date(2026, 3, 4)
# engine.calendar.due_date(date(2026, 2, 25), 10) == date(2026, 3, 10): agreed Wed 02-25; 02-26,
# 02-27, Sat 02-28 (调休), 03-02..03-06, 03-09, 03-10 (arts. 13, 19, design: correction_days)
CORRECTION_DUE = date(2026, 3, 10)
# engine.calendar.due_date(date(2026, 3, 5), 5) == date(2026, 3, 12): the authority's coordination
# asked for Thu 03-05 (design: authority_decide_days)
DECIDE_DUE = date(2026, 3, 12)


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


def report_of(world, case_id: int) -> report_records.InconsistencyReport:
    with world.engine.uow() as uow:
        return uow.session.scalars(sa.select(report_records.InconsistencyReport).where(  # parties load eagerly
            report_records.InconsistencyReport.case_id == case_id)).one()


def party(report, dept: str) -> report_records.InconsistencyParty:
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


def propose(world, case_id: int, prevailing: str = GA, correcting: str = "", login: str | None = None,
            text: str = "以公安户籍登记为准：未婚") -> None:
    """The lead department (GA, the provider of the first resource named) proposes a resolution."""
    data = {"proposal_action": "propose", "proposed_prevailing": prevailing, "resolution_text": text}
    if correcting:
        data["proposed_correcting"] = correcting
    work(world, case_id, "propose_resolution", GA, data, login)


def periods(world, case_id: int) -> list[tuple]:
    """(name, seq, party, department, start, due, state) of the case's statutory periods, oldest first."""
    with world.engine.uow() as uow:
        return [(p.name, p.seq, p.party, p.department, p.start_date, p.due_date, p.state)
                for p in statutory.of_case(uow.session, case_id)]


def period(world, case_id: int, name: str) -> StatutoryPeriod:
    with world.engine.uow() as uow:
        (found,) = [p for p in statutory.of_case(uow.session, case_id) if p.name == name]
        return found



def supervision_items(world, case_id: int) -> list[tuple]:
    """(department, art. 31 item, period name, status, the task's department) of the case's 督办."""
    with world.engine.uow() as uow:
        found = []
        for item in uow.session.scalars(sa.select(SupervisionItem).where(
                SupervisionItem.case_id == case_id).order_by(SupervisionItem.id)):
            row = uow.session.get(StatutoryPeriod, item.period_id) if item.period_id else None
            task = uow.session.get(HumanTask, item.human_task_id)
            found.append((item.department.code, item.possible_violation_item, row.name if row else None,
                          item.status, task.department))
        return found


def violations(world) -> int:
    with world.engine.uow() as uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(Violation))


def audit_summaries(world, case_id: int, action: str) -> list[dict]:
    with world.engine.uow() as uow:
        return [json.loads(s) for s in uow.session.scalars(sa.select(AuditRecord.summary).where(
            AuditRecord.case_id == case_id, AuditRecord.action == action).order_by(AuditRecord.id))]


def fired(world, case_id: int) -> list[tuple]:
    """(element, period, repeat) of every timer_fired record of the case."""
    return [(s["element"], s.get("period"), s.get("repeat", False))
            for s in audit_summaries(world, case_id, "timer_fired")]


def due_dates(world, case_id: int, element_id: str) -> dict[str, date]:
    """The open task rows of ``element_id`` by department, with their due date."""
    with world.engine.uow() as uow:
        return {t.department: t.due_date for t in uow.session.scalars(sa.select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.element_id == element_id, HumanTask.state == "ready"))}


def assert_ended(world, case_id: int, outcome: str) -> None:
    case = world.case(case_id)
    assert (case.status, case.outcome) == ("completed", outcome)
    assert open_tasks(world, case_id) == []
    assert world.engine.verify_audit() is None


# -- the paths -------------------------------------------------------------------------------------

def test_agreement_on_a_resolution_then_the_wrong_department_corrects(world):
    case_id = start(world, "minzheng.clerk")
    data = world.engine.case_data(case_id)
    assert data["departments"] == [GA, MZ] and data["arbitration_started"] == "2026-02-12"
    assert (data["lead_department"], data["negotiation_departments"]) == (GA, [MZ])
    assert data["parties"] == [{"department": GA, "resource_code": "HN-GA-001"},
                               {"department": MZ, "resource_code": "HN-MZ-001"}]
    assert world.case(case_id).title == "数据不一致协调：HN-GA-001、HN-MZ-001"
    assert open_tasks(world, case_id) == [("state_position", GA), ("state_position", MZ)]
    assert periods(world, case_id) == [("negotiation", 1, "department", GA, date(2026, 2, 12), NEGOTIATION_DUE,
                                        "running")]

    world.at(2026, 2, 13, 9, 0)
    state_positions(world, case_id, [GA])
    world.reload()
    state_positions(world, case_id, [MZ])
    assert open_tasks(world, case_id) == [("propose_resolution", GA)]
    assert due_dates(world, case_id, "propose_resolution") == {GA: NEGOTIATION_DUE}
    report = report_of(world, case_id)
    assert party(report, GA).position == f"{GA} 的值正确\n依据：原始登记档案"
    assert party(report, GA).position_by == "gongan.clerk" and party(report, GA).agreed is False
    with pytest.raises(PermissionDenied):  # the lead department's clerks propose
        propose(world, case_id, login="minzheng.clerk")

    world.at(2026, 2, 24, 10, 0)
    propose(world, case_id)
    assert open_tasks(world, case_id) == [("negotiate", MZ)]
    assert due_dates(world, case_id, "negotiate") == {MZ: NEGOTIATION_DUE}  # the same period
    # ENGINE: Engine.get_task fails on a multi-instance task (its spec has no extensions), so the
    # proposal the negotiate form shows (readonly proposal_summary) is read from the case data here
    shown = world.engine.case_data(case_id)["proposal_summary"]
    assert shown == "采信县公安局（340822101）的数据；须更正：县民政局。以公安户籍登记为准：未婚"
    assert party(report_of(world, case_id), GA).agreed is True  # proposing is the lead's acceptance

    world.at(2026, 2, 25, 15, 0)
    work(world, case_id, "negotiate", MZ, {"agree": True, "note": "经核对婚姻登记档案，同意"})
    assert open_tasks(world, case_id) == [("correct", MZ)]
    # the agreement records whose record is right, who corrects and by when (arts. 13, 19)
    assert due_date(date(2026, 2, 25), 10) == CORRECTION_DUE
    assert due_dates(world, case_id, "correct") == {MZ: CORRECTION_DUE}
    resolution = world.engine.case_data(case_id)["resolution"]
    assert resolution == {"outcome": "agreed", "prevailing": GA, "must_correct": [MZ],
                          "text": "各部门协商一致：采信县公安局（340822101）的数据；须更正：县民政局。以公安户籍登记为准：未婚。"
                                  "县民政局：经核对婚姻登记档案，同意",
                          "settled_on": "2026-02-25", "correction_days": 10, "correction_due": "2026-03-10",
                          "provisional": False}
    report = report_of(world, case_id)
    assert (report.status, report.outcome, report.decided_by) == ("settled", "agreed", "minzheng.clerk")
    assert report.decision.startswith("采信县公安局（340822101）的数据；须更正：县民政局（340822103），"
                                      "自协商一致之日起 10 个工作日内更正。各部门协商一致：")
    assert [p.must_correct for p in report.parties] == [False, True]
    assert party(report, GA).position == f"{GA} 的值正确\n依据：原始登记档案"  # kept when agreeing
    (decided,) = audit_summaries(world, case_id, "inconsistency_decided")
    assert (decided["prevailing"], decided["must_correct"], decided["correction_due"]) == (GA, [MZ], "2026-03-10")
    assert periods(world, case_id) == [
        ("negotiation", 1, "department", GA, date(2026, 2, 12), NEGOTIATION_DUE, "met"),
        ("correction", 1, "department", MZ, date(2026, 2, 25), CORRECTION_DUE, "running")]

    with pytest.raises(PermissionDenied):
        work(world, case_id, "correct", MZ, {"correction_note": "x"}, login="gongan.clerk")
    world.at(2026, 3, 2, 10, 0)
    work(world, case_id, "correct", MZ, {"correction_note": "已按户籍信息更正婚姻状况"})
    assert open_tasks(world, case_id) == [("authority_confirm", None)]
    # engine.calendar.due_date(date(2026, 3, 2), 5) == date(2026, 3, 9): the authority's confirmation
    assert world.task(case_id, "authority_confirm").due_date == date(2026, 3, 9)
    with pytest.raises(InvalidForm):
        world.complete(case_id, "authority_confirm", "supervisor", {})
    world.complete(case_id, "authority_confirm", "supervisor", {"confirm_note": "更正已核实"})

    assert_ended(world, case_id, "agreed")
    report = report_of(world, case_id)
    assert report.status == "closed" and all(p.agreed for p in report.parties)
    assert (party(report, MZ).correction_note, party(report, MZ).corrected_by) == \
        ("已按户籍信息更正婚姻状况", "minzheng.clerk")
    assert party(report, GA).corrected_at is None
    assert [p[0::6] for p in periods(world, case_id)] == [("negotiation", "met"), ("correction", "met"),
                                                          ("confirm", "met")]
    assert supervision_items(world, case_id) == [] and world.notified(case_id, "reminder") == []
    actions = audit_actions(world, case_id)
    assert [a for a in actions if a.startswith("inconsistency_")] == [
        "inconsistency_reported", "inconsistency_position", "inconsistency_position", "inconsistency_proposed",
        "inconsistency_position", "inconsistency_decided", "inconsistency_corrected", "inconsistency_confirmed"]
    assert actions.count("period_opened") == actions.count("period_closed") == 3
    assert actions[0] == "case_started" and actions[-1] == "case_ended"
    assert completed_tasks(world, case_id) == ["state_position"] * 2 + [
        "propose_resolution", "negotiate", "correct", "authority_confirm"]


def test_an_agreement_without_a_resolution_is_refused(world):
    """The issue's finding: both departments say "我方正确", both agree, nothing is corrected. An
    agreement names the record that is right and the departments that correct (procedures.md 4)."""
    case_id = start(world)
    for dept in (GA, MZ):
        work(world, case_id, "state_position", dept, {"position": "我方正确"})
    before = (world.case(case_id).version, audit_actions(world, case_id))
    for data, field in (({"proposal_action": "propose", "resolution_text": "双方数据均正确"}, "proposed_prevailing"),
                        ({"proposal_action": "propose", "proposed_prevailing": GA}, "resolution_text"),
                        ({"proposal_action": "propose", "proposed_prevailing": GA, "proposed_correcting": GA,
                          "resolution_text": "以户籍为准"}, "proposed_correcting"),
                        ({"proposal_action": "propose", "proposed_prevailing": GA, "proposed_correcting": SJ,
                          "resolution_text": "以户籍为准"}, "proposed_correcting"),
                        ({"proposal_action": "escalate"}, "proposal_note")):
        with pytest.raises(InvalidForm) as refused:
            work(world, case_id, "propose_resolution", GA, data)
        assert field in refused.value.errors, data
    assert (world.case(case_id).version, audit_actions(world, case_id)) == before  # nothing recorded
    assert open_tasks(world, case_id) == [("propose_resolution", GA)]

    # the report itself refuses a settlement that corrects nothing, or names the prevailing department
    with world.engine.uow() as uow:
        report_id = report_of(world, case_id).id
        for must_correct, prevailing in (([], GA), ([GA], GA), ([MZ], SJ)):
            with pytest.raises(InvalidForm):
                report_records.record_proposal(uow, report_id, GA, prevailing, must_correct, "x",
                                                world.actors["gongan.clerk"], world.clock.now())
        with pytest.raises(InvalidForm) as refused:
            report_records.decide_inconsistency(uow, report_id, "agreed", "两个值均正确", [], world.actors["gongan.clerk"],
                                         world.clock.now(), prevailing=GA)
        assert set(refused.value.errors) == {"must_correct"}

    propose(world, case_id, text="以户籍登记为准")
    with pytest.raises(InvalidForm) as refused:  # a disagreement needs its reason
        work(world, case_id, "negotiate", MZ, {"agree": False})
    assert set(refused.value.errors) == {"note"}
    work(world, case_id, "negotiate", MZ, {"agree": True})
    assert open_tasks(world, case_id) == [("correct", MZ)]
    assert world.engine.case_data(case_id)["correcting"] == [MZ]


def test_the_lead_department_may_ask_the_authority_at_once(world):
    case_id = start(world)
    state_positions(world, case_id, [GA, MZ])
    world.at(2026, 2, 24, 10, 0)
    work(world, case_id, "propose_resolution", GA, {"proposal_action": "escalate",
                                                    "proposal_note": "双方各执一词，无法协商一致"})
    assert open_tasks(world, case_id) == [("authority_decide", None)]
    # engine.calendar.due_date(date(2026, 2, 24), 5) == date(2026, 3, 2)
    assert world.task(case_id, "authority_decide").due_date == date(2026, 3, 2)
    assert [p[0::6] for p in periods(world, case_id)] == [("negotiation", "met"), ("decide", "running")]
    assert "inconsistency_proposed" not in audit_actions(world, case_id)


def test_disagreement_authority_decides_corrections_confirmed(world):
    case_id = start(world, "shichang.clerk", resources="HN-GA-001\nHN-SJ-001\nHN-MZ-001\nHN-GA-001")
    data = world.engine.case_data(case_id)
    assert (data["departments"], data["negotiation_departments"]) == ([GA, SJ, MZ], [SJ, MZ])
    state_positions(world, case_id, [GA, SJ, MZ])
    propose(world, case_id)
    assert open_tasks(world, case_id) == [("negotiate", SJ), ("negotiate", MZ)]
    with pytest.raises(InvalidForm) as refused:
        work(world, case_id, "negotiate", SJ, {"agree": False})
    assert "note" in refused.value.errors
    work(world, case_id, "negotiate", SJ, {"agree": False, "note": "市场主体登记以本局为准"})
    world.reload()
    world.at(2026, 2, 25, 15, 0)
    work(world, case_id, "negotiate", MZ, {"agree": True})
    assert open_tasks(world, case_id) == [("authority_decide", None)]
    assert report_of(world, case_id).status == "open"
    # engine.calendar.due_date(date(2026, 2, 25), 5) == date(2026, 3, 3): from the disagreement
    assert world.task(case_id, "authority_decide").due_date == date(2026, 3, 3)

    decide = world.task(case_id, "authority_decide")
    with pytest.raises(PermissionDenied):
        world.engine.complete_task(decide.id, world.actors["gongan.clerk"], {})
    view = world.engine.get_task(decide.id, world.actors["supervisor"])
    assert [f.id for f in view.fields] == ["prevailing_department", "must_correct", "decision"]
    for bad in ({"must_correct": GA}, {"must_correct": "340822999"}, {"prevailing_department": "340822001"}):
        with pytest.raises(InvalidForm):
            world.complete(case_id, "authority_decide", "supervisor",
                           {"prevailing_department": GA, "decision": "以户籍信息为准", **bad})
    world.at(2026, 2, 27, 10, 0)
    world.complete(case_id, "authority_decide", "supervisor",
                   {"prevailing_department": GA, "decision": "以户籍登记信息为准"})
    assert open_tasks(world, case_id) == [("correct", SJ), ("correct", MZ)]
    # engine.calendar.due_date(date(2026, 2, 27), 10) == date(2026, 3, 12): from the decision
    assert due_dates(world, case_id, "correct") == {SJ: date(2026, 3, 12), MZ: date(2026, 3, 12)}
    report = report_of(world, case_id)
    assert (report.status, report.outcome, report.decided_by) == ("settled", "decided", "supervisor")
    assert report.decision == ("采信县公安局（340822101）的数据；须更正：县市场监督管理局（340822102）、县民政局（340822103），"
                               "自协调决定之日起 10 个工作日内更正。以户籍登记信息为准")
    assert world.engine.case_data(case_id)["resolution"]["correction_due"] == "2026-03-12"
    assert [p.must_correct for p in report.parties] == [False, True, True]
    assert world.engine.case_data(case_id)["resolution"]["must_correct"] == [SJ, MZ]

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
    assert [p[0::6] for p in periods(world, case_id)] == [
        ("negotiation", "met"), ("decide", "met"), ("correction", "met"), ("confirm", "met")]
    actions = audit_actions(world, case_id)
    assert actions.count("inconsistency_corrected") == 2 and actions.count("inconsistency_decided") == 1
    assert actions.count("inconsistency_position") == 5 and actions[-1] == "case_ended"
    assert completed_tasks(world, case_id) == ["state_position"] * 3 + ["propose_resolution"] + ["negotiate"] * 2 + [
        "authority_decide", "correct", "correct", "authority_confirm"]


def agree_on_corrections_by_sj_and_mz(world) -> int:
    """GA leads, its record prevails, SJ and MZ correct; agreed on Wed 02-25 15:00."""
    case_id = start(world, "shichang.clerk", resources="HN-GA-001\nHN-SJ-001\nHN-MZ-001")
    state_positions(world, case_id, [GA, SJ, MZ])
    propose(world, case_id)
    world.at(2026, 2, 25, 15, 0)
    for dept in (SJ, MZ):
        work(world, case_id, "negotiate", dept, {"agree": True})
    assert due_dates(world, case_id, "correct") == {SJ: CORRECTION_DUE, MZ: CORRECTION_DUE}
    return case_id


def test_a_late_correction_is_supervised_against_the_late_department_only(world):
    """Both corrections share the period opened by the agreement (arts. 13, 19); SJ corrects in
    time, MZ does not: MZ alone is reminded, escalated (art. 31 item 3) and marked late."""
    assert "rectification" not in world.deploy_errors
    case_id = agree_on_corrections_by_sj_and_mz(world)
    correction = period(world, case_id, "correction")
    assert (correction.start_date, correction.due_date, correction.days, correction.rule) == \
        (date(2026, 2, 25), CORRECTION_DUE, 10, "correction_days")
    world.at(2026, 3, 5, 10, 0)
    work(world, case_id, "correct", SJ, {"correction_note": "已更正"})

    world.at(2026, 3, 9, 9, 0)  # 09:00 of the working day before the end
    world.fire_timers()
    assert world.notified(case_id, "reminder") == ["minzheng.clerk"]  # not SJ, done; not GA
    world.at(2026, 3, 10, 23, 59)
    world.fire_timers()
    assert supervision_items(world, case_id) == []
    world.at(2026, 3, 11, 0, 0)  # 24:00 of Tue 03-10 has passed
    world.fire_timers()
    assert supervision_items(world, case_id) == [(MZ, 3, "correction", "open", MZ)]
    assert world.notified(case_id, "overdue") == ["minzheng.clerk"]
    assert instance(world, case_id, "correct", MZ).overdue is True
    correction = period(world, case_id, "correction")
    assert (correction.department, correction.state, correction.supervision_id is not None) == (MZ, "running", True)
    (overdue,) = audit_summaries(world, case_id, "period_overdue")
    assert (overdue["period"], overdue["department"], overdue["due_date"]) == ("correction", MZ, "2026-03-10")
    assert open_tasks(world, case_id) == [("correct", MZ), ("correct_supervise", None)]
    # engine.calendar.due_date(date(2026, 3, 11), 5) == date(2026, 3, 18): the 督办 decision's own period
    assert world.task(case_id, "correct_supervise").due_date == date(2026, 3, 18)

    world.reload()
    with pytest.raises(InvalidForm) as no_reason:
        world.complete(case_id, "correct_supervise", "supervisor", {"decision": "dismiss"})
    assert set(no_reason.value.errors) == {"note"}
    world.complete(case_id, "correct_supervise", "supervisor", {"decision": "dismiss", "note": "已当面督促，次日完成"})
    assert supervision_items(world, case_id) == [(MZ, 3, "correction", "resolved", MZ)]
    world.at(2026, 3, 12, 10, 0)
    world.fire_timers()
    work(world, case_id, "correct", MZ, {"correction_note": "逾期更正"})
    world.complete(case_id, "authority_confirm", "supervisor", {"confirm_note": "已核实"})
    assert_ended(world, case_id, "agreed")

    assert supervision_items(world, case_id) == [(MZ, 3, "correction", "resolved", MZ)]  # stays dismissed
    assert violations(world) == 0
    assert [(p[0], p[3], p[6]) for p in periods(world, case_id)] == [
        ("negotiation", GA, "met"), ("correction", MZ, "late"), ("correct_supervise", None, "met"),
        ("confirm", None, "met")]
    closed = {s["period"]: s for s in audit_summaries(world, case_id, "period_closed")}
    assert (closed["correction"]["department"], closed["correction"]["state"]) == (MZ, "late")
    assert [f for f in fired(world, case_id) if f[1] == "correction"] == [
        ("correct_reminder", "correction", False), ("correct_overdue", "correction", False)]
    assert world.notified(case_id, "reminder") == ["minzheng.clerk"]
    assert audit_actions(world, case_id).count("supervision_opened") == 1


def test_departments_late_together_are_each_supervised_once(world):
    """ENGINE workaround: one timer watches every department's correction; each late department
    gets its reminder and its own 督办, in the same period, once."""
    case_id = agree_on_corrections_by_sj_and_mz(world)
    world.at(2026, 3, 9, 9, 0)
    world.fire_timers()
    assert world.notified(case_id, "reminder") == ["minzheng.clerk", "shichang.clerk"]
    world.at(2026, 3, 11, 0, 0)
    world.fire_timers()
    assert supervision_items(world, case_id) == [(SJ, 3, "correction", "open", SJ), (MZ, 3, "correction", "open", MZ)]
    assert world.notified(case_id, "overdue") == ["minzheng.clerk", "shichang.clerk"]
    assert period(world, case_id, "correction").department == SJ  # the first late one
    assert open_tasks(world, case_id) == [("correct", SJ), ("correct", MZ), ("correct_supervise", None)]
    world.at(2026, 3, 20, 10, 0)  # nothing more for the same period
    world.fire_timers()
    work(world, case_id, "correct", SJ, {"correction_note": "逾期更正"})
    work(world, case_id, "correct", MZ, {"correction_note": "逾期更正"})
    assert len(supervision_items(world, case_id)) == 2
    # the departments once each; the authority for its own 督办 decision (due 03-18)
    assert world.notified(case_id, "reminder") == ["minzheng.clerk", "shichang.clerk", "supervisor"]
    assert period(world, case_id, "correction").state == "late"
    assert violations(world) == 0


def test_the_negotiation_period_runs_from_the_start_of_arbitration(world):
    case_id = start(world)
    # Thu 02-12 is day 0; 02-13, Sat 02-14 (调休), 02-24..02-27, Sat 02-28 (调休), 03-02..03-04
    assert due_date(date(2026, 2, 12), 10) == NEGOTIATION_DUE
    (position_due,) = deadlines(world, case_id, "state_position_overdue")
    assert position_due.due_date == NEGOTIATION_DUE
    world.at(2026, 2, 27, 16, 0)  # positions take two weeks; the period does not restart
    state_positions(world, case_id, [GA, MZ])
    world.reload()
    propose(world, case_id)
    (due,) = deadlines(world, case_id, "negotiate_overdue")
    (reminder,) = deadlines(world, case_id, "negotiate_reminder")
    assert (due.due_date, due.due_at) == (NEGOTIATION_DUE, datetime(2026, 3, 5, 0, 0, tzinfo=BEIJING))
    assert reminder.due_at == datetime(2026, 3, 3, 9, 0, tzinfo=BEIJING)  # 1 working day before
    assert [d.state for d in deadlines(world, case_id, "state_position_overdue")] == ["cancelled"]
    assert periods(world, case_id) == [("negotiation", 1, "department", GA, date(2026, 2, 12), NEGOTIATION_DUE,
                                        "running")]

    world.at(2026, 3, 3, 9, 30)
    world.fire_timers()
    assert [d.state for d in deadlines(world, case_id, "negotiate_reminder")] == ["fired"]
    assert world.notified(case_id, "reminder") == ["minzheng.clerk"]
    assert open_tasks(world, case_id) == [("negotiate", MZ)]  # a reminder changes nothing
    world.at(2026, 3, 4, 23, 59)
    world.fire_timers()
    assert open_tasks(world, case_id) == [("negotiate", MZ)]  # still inside the period
    assert [d.state for d in deadlines(world, case_id, "negotiate_overdue")] == ["waiting"]
    work(world, case_id, "negotiate", MZ, {"agree": True})
    assert [d.state for d in deadlines(world, case_id, "negotiate_overdue")] == ["cancelled"]
    assert period(world, case_id, "negotiation").state == "met"


def test_a_reminder_of_the_negotiation_period_goes_out_once(world):
    """The negotiation period's reminder fires on the positions; the proposal entered after the
    reminder instant fires its own reminder at once, which tells nobody again."""
    case_id = start(world)
    state_positions(world, case_id, [GA])
    world.at(2026, 3, 3, 9, 30)
    world.fire_timers()
    assert world.notified(case_id, "reminder") == ["minzheng.clerk"]  # the department still silent
    state_positions(world, case_id, [MZ])
    assert open_tasks(world, case_id) == [("propose_resolution", GA)]
    assert fired(world, case_id) == [("state_position_reminder", "negotiation", False),
                                     ("propose_resolution_reminder", "negotiation", True)]
    assert world.notified(case_id, "reminder") == ["minzheng.clerk"]  # GA is not told again
    assert period(world, case_id, "negotiation").reminded_at == datetime(2026, 3, 3, 9, 30, tzinfo=BEIJING)


def test_negotiation_period_ends_the_negotiation(world):
    """The period passes while MZ has not answered: the authority steps in (art. 19); nobody is
    supervised for it, the period is late against MZ, the authority's own period opens."""
    case_id = start(world)
    state_positions(world, case_id, [GA, MZ])
    propose(world, case_id)
    world.reload()
    world.at(2026, 3, 5, 0, 1)  # 00:01 after the last day (2026-03-04) of the period
    world.fire_timers()
    assert open_tasks(world, case_id) == [("authority_decide", None)]  # the period changed the path
    assert [d.state for d in deadlines(world, case_id, "negotiate_overdue")] == ["fired"]
    assert supervision_items(world, case_id) == [] and violations(world) == 0
    assert world.notified(case_id, "overdue") == []
    assert world.notified(case_id, "new_task")[-1:] == ["supervisor"]
    assert world.engine.case_data(case_id)["negotiation_lapsed_by"] == [MZ]
    (lapsed,) = audit_summaries(world, case_id, "negotiation_lapsed")
    assert (lapsed["late"], lapsed["due_date"]) == ([MZ], "2026-03-04")
    (overdue,) = audit_summaries(world, case_id, "period_overdue")
    assert (overdue["period"], overdue["department"]) == ("negotiation", MZ)
    assert due_date(date(2026, 3, 5), 5) == DECIDE_DUE
    assert periods(world, case_id) == [
        ("negotiation", 1, "department", MZ, date(2026, 2, 12), NEGOTIATION_DUE, "late"),
        ("decide", 1, "authority", None, date(2026, 3, 5), DECIDE_DUE, "running")]
    assert world.task(case_id, "authority_decide").due_date == DECIDE_DUE

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
    assert world.engine.case_data(case_id)["negotiation_lapsed_by"] == [GA]
    assert period(world, case_id, "negotiation").department == GA and supervision_items(world, case_id) == []

    world.complete(case_id, "authority_decide", "supervisor",
                   {"prevailing_department": MZ, "decision": "公安局未在协商期内陈述意见，以婚姻登记为准"})
    work(world, case_id, "correct", GA, {"correction_note": "已更正"})
    world.complete(case_id, "authority_confirm", "supervisor", {"confirm_note": "已核实"})
    assert_ended(world, case_id, "decided")
    report = report_of(world, case_id)
    assert (report.status, report.outcome) == ("closed", "decided")
    assert "inconsistency_corrected" in audit_actions(world, case_id)


def test_the_authority_late_is_reminded_and_marked_late_without_supervision(world):
    """The authority's coordination and confirmation (design: authority_decide_days) are reminded and
    marked late; no 督办 and no violation against the authority (issue 13, item 3)."""
    case_id = start(world)
    state_positions(world, case_id, [GA, MZ])
    world.at(2026, 3, 5, 0, 1)
    world.fire_timers()  # the negotiation period ends: to the authority, due 03-12
    world.at(2026, 3, 11, 9, 0)
    world.fire_timers()
    assert world.notified(case_id, "reminder") == ["supervisor"]
    world.at(2026, 3, 13, 0, 0)
    world.fire_timers()
    decide = world.task(case_id, "authority_decide")
    assert (decide.due_date, decide.overdue) == (DECIDE_DUE, True)
    assert world.notified(case_id, "overdue") == ["supervisor"]
    assert supervision_items(world, case_id) == [] and violations(world) == 0
    assert open_tasks(world, case_id) == [("authority_decide", None)]  # marked, nothing else
    overdue = audit_summaries(world, case_id, "period_overdue")
    assert [(o["period"], o["party"], o["department"]) for o in overdue] == [
        ("negotiation", "department", GA), ("decide", "authority", None)]

    world.at(2026, 3, 16, 10, 0)
    world.complete(case_id, "authority_decide", "supervisor",
                   {"prevailing_department": GA, "decision": "以户籍登记为准"})
    # engine.calendar.due_date(date(2026, 3, 16), 10) == date(2026, 3, 30): from the (late) decision
    assert due_dates(world, case_id, "correct") == {MZ: date(2026, 3, 30)}
    work(world, case_id, "correct", MZ, {"correction_note": "已更正"})
    # engine.calendar.due_date(date(2026, 3, 16), 5) == date(2026, 3, 23): the confirmation
    assert world.task(case_id, "authority_confirm").due_date == date(2026, 3, 23)
    world.at(2026, 3, 24, 0, 0)
    world.fire_timers()
    world.complete(case_id, "authority_confirm", "supervisor", {"confirm_note": "已核实"})
    assert_ended(world, case_id, "decided")
    assert [(p[0], p[2], p[6]) for p in periods(world, case_id)] == [
        ("negotiation", "department", "late"), ("decide", "authority", "late"),
        ("correction", "department", "met"), ("confirm", "authority", "late")]
    assert supervision_items(world, case_id) == [] and violations(world) == 0
    assert world.notified(case_id, "reminder") == ["supervisor", "supervisor"]  # one per period
    assert world.notified(case_id, "overdue") == ["supervisor", "supervisor"]
    assert [f[:2] for f in fired(world, case_id) if f[1] in ("decide", "confirm")] == [
        ("authority_decide_reminder", "decide"), ("authority_decide_overdue", "decide"),
        ("authority_confirm_reminder", "confirm"), ("authority_confirm_overdue", "confirm")]



def test_a_report_received_in_an_unpublished_year_is_recomputed_on_publication(world):
    """Received 2026-12-31 after hours under "next working day": day 0 is in 2027, unpublished, so the
    negotiation period is provisional (暂定), held, and found again when the notice is published."""
    from engine import timer_service
    timer_service.set_after_hours_policy(world.engine, "next_working_day", "admin")
    world.at(2026, 12, 31, 18, 0)
    case_id = start(world)
    negotiation = period(world, case_id, "negotiation")
    assert (negotiation.start_date, negotiation.provisional) == (date(2027, 1, 4), True)  # Monday, guessed
    assert [d.held for d in deadlines(world, case_id, "state_position_overdue")] == [True]
    world.at(2027, 1, 2, 10, 0)
    # the 2027 notice as in tests/workflows/test_new_year.py: the holiday runs to Mon 01-04, Sat 01-09 works
    timer_service.publish_year(world.engine, 2027, "国办发明电〔2026〕99号", [date(2027, 1, 1), date(2027, 1, 4)],
                               [date(2027, 1, 9)], "admin")
    negotiation = period(world, case_id, "negotiation")
    # day 0 Tue 01-05; 01-06..01-08, Sat 01-09, 01-11..01-15, 01-18
    assert (negotiation.start_date, negotiation.due_date, negotiation.provisional) == \
        (date(2027, 1, 5), date(2027, 1, 18), False)
    assert due_dates(world, case_id, "state_position") == {GA: date(2027, 1, 18), MZ: date(2027, 1, 18)}
    assert world.engine.case_data(case_id)["arbitration_started"] == "2027-01-05"
    assert [d.held for d in deadlines(world, case_id, "state_position_overdue")] == [False]
    assert "period_moved" in audit_actions(world, case_id)


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
    assert due_dates(world, case_id, "state_position") == {GA: NEGOTIATION_DUE, MZ: NEGOTIATION_DUE}
    state_positions(world, case_id, [GA, MZ])
    propose(world, case_id)
    assert instance(world, case_id, "negotiate", MZ).due_date == NEGOTIATION_DUE


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
        return uow.session.scalar(sa.select(sa.func.count()).select_from(report_records.InconsistencyReport))


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


def test_each_departments_instance_of_a_multi_instance_task_shows_its_form(world):
    """The task page of a per-department task (a multi-instance instance) reads the form of the
    instances, not of their wrapper (which has none; it answered 500 before)."""
    import sqlalchemy as sa
    from engine.models import HumanTask
    case_id = start(world)
    with world.engine.uow() as uow:
        rows = list(uow.session.scalars(sa.select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.state == "ready")))
    assert len(rows) >= 2
    for row in rows:
        view = world.engine.get_task(row.id, world.actors[CLERK[row.department]])
        assert [f.id for f in view.fields][:1] == ["position"], view.fields
