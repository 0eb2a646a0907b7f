"""违规整改 (procedure 5, art. 31): every path of bpmn/rectification.bpmn through the engine."""
from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine import timer_service
from engine.calendar import BEIJING
from engine.domain import records
from engine.errors import InvalidForm, PermissionDenied
from engine.models import AuditRecord, Deadline
from workflows import common

GONGAN = "340822101"
SHICHANG = "340822102"
NOTICE = {"notice_requirements": "补充编制本部门政务数据资源目录并按目录采集", "notice_days": 10}
REPORT = {"report": "已补充编制目录 12 项，停止目录外采集"}
ORDER = {"order_requirements": "限期完成目录编制", "order_days": 5}


def start(world, dept=GONGAN, item="1", evidence="户籍数据未纳入目录即采集（检查记录 2026-02）") -> int:
    return world.start("rectification", "supervisor", {"department": dept, "item": item, "evidence": evidence})


def violation(world, case_id):
    with world.engine.uow() as uow:
        found = uow.session.scalars(sa.select(records.Violation).where(records.Violation.case_id == case_id)).one()
        uow.session.expunge(found)
        return found


def ladder(world, case_id) -> list[str]:
    return [s.step for s in violation(world, case_id).steps]


def audit_actions(world, case_id) -> list[str]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(AuditRecord.action).where(AuditRecord.case_id == case_id)
                                        .order_by(AuditRecord.id)))


def deadlines_of(world, case_id, kind="overdue") -> list[Deadline]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(Deadline).where(
            Deadline.case_id == case_id, Deadline.kind == kind).order_by(Deadline.created_at, Deadline.element_id)))


def report_and_sign(world, case_id, rnd="", report=REPORT):
    world.complete(case_id, f"rectify{rnd}", "gongan.clerk", {f"{k}{rnd}": v for k, v in report.items()})
    world.complete(case_id, f"sign{rnd}", "gongan.head", {f"sign_decision{rnd}": "approve"})


def ended(world, case_id, outcome):
    case = world.case(case_id)
    assert (case.status, case.outcome) == ("completed", outcome)
    assert world.open_elements(case_id) == []
    assert world.engine.verify_audit() is None


# -- the first rung: notice, report, verification ------------------------------------------------

def test_accepted_the_first_time(world):
    world.at(2026, 3, 2, 9, 0)  # Monday
    case_id = start(world)
    assert world.case(case_id).title == "违规整改：县公安局（第三十一条第1项）"
    assert world.open_elements(case_id) == ["notice"]
    world.complete(case_id, "notice", "supervisor", NOTICE)
    rectify = world.task(case_id, "rectify")
    assert (rectify.department, rectify.due_date, rectify.provisional) == (GONGAN, date(2026, 3, 16), False)

    world.reload()
    world.at(2026, 3, 10, 10, 0)
    report_and_sign(world, case_id)
    world.complete(case_id, "verify", "supervisor", {"verify_result": "accepted", "verify_opinion": "经现场核查，整改到位"})

    ended(world, case_id, "rectified")
    found = violation(world, case_id)
    assert (found.status, found.source, found.item, found.deadline) == ("rectified", "manual", 1, date(2026, 3, 16))
    assert ladder(world, case_id) == ["recorded", "notified", "rectified"]
    assert found.steps[1].deadline == date(2026, 3, 16)
    actions = audit_actions(world, case_id)
    for action in ("case_started", "violation_recorded", "violation_notified", "violation_rectified", "case_ended"):
        assert action in actions
    assert actions.count("task_completed") == 4


def test_notice_days_default_to_the_rule_set(world):
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", {"notice_requirements": "限期整改"})
    assert world.task(case_id, "rectify").due_date == date(2026, 3, 16)  # huaining-2021: rectify_days 10
    data = world.engine.case_data(case_id)
    assert (data["notice_days"], data["notice_on"], data["notice_due"]) == (10, "2026-03-02", "2026-03-16")


def test_sent_back_by_the_head_and_by_the_authority_then_accepted(world):
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world, dept=SHICHANG, item="3")
    world.complete(case_id, "notice", "supervisor", NOTICE)
    world.complete(case_id, "rectify", "shichang.clerk", {"report": "已整改"})
    with pytest.raises(InvalidForm) as refused:
        world.complete(case_id, "sign", "shichang.head", {"sign_decision": "return"})
    assert set(refused.value.errors) == {"sign_comment"}
    world.complete(case_id, "sign", "shichang.head", {"sign_decision": "return", "sign_comment": "报告过于简略"})
    assert world.open_elements(case_id) == ["rectify"]
    world.complete(case_id, "rectify", "shichang.clerk", {"report": "逐项说明整改措施及成效"})
    world.complete(case_id, "sign", "shichang.head", {"sign_decision": "approve"})

    world.reload()
    world.at(2026, 3, 12, 9, 0)
    world.complete(case_id, "verify", "supervisor", {"verify_result": "rejected", "verify_opinion": "未提供佐证材料"})
    rectify = world.task(case_id, "rectify")
    assert rectify.due_date == date(2026, 3, 16)  # the same deadline as the notice's
    world.complete(case_id, "rectify", "shichang.clerk", {"report": "补充佐证材料"})
    world.complete(case_id, "sign", "shichang.head", {"sign_decision": "approve"})
    world.complete(case_id, "verify", "supervisor", {"verify_result": "accepted"})

    ended(world, case_id, "rectified")
    assert ladder(world, case_id) == ["recorded", "notified", "rectified"]
    assert audit_actions(world, case_id).count("task_completed") == 9


def test_a_report_sent_back_after_the_deadline_goes_straight_to_the_order(world):
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    report_and_sign(world, case_id)
    assert world.task(case_id, "verify").due_date is None  # the authority's step is not timed
    world.at(2026, 3, 18, 10, 0)  # two days after the deadline
    assert world.fire_timers() == 0
    world.reload()
    world.complete(case_id, "verify", "supervisor", {"verify_result": "rejected", "verify_opinion": "整改不到位"})
    assert world.open_elements(case_id) == ["order"]
    assert violation(world, case_id).status == "notified"


def test_the_wrong_departments_clerk_and_head_cannot_work_it(world):
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    with pytest.raises(PermissionDenied):
        world.complete(case_id, "rectify", "shichang.clerk", REPORT)
    with pytest.raises(PermissionDenied):
        world.complete(case_id, "rectify", "gongan.head", REPORT)  # the head signs, the clerk reports
    world.complete(case_id, "rectify", "gongan.clerk", REPORT)
    with pytest.raises(PermissionDenied):
        world.complete(case_id, "sign", "shichang.head", {"sign_decision": "approve"})
    with pytest.raises(PermissionDenied):
        world.complete(case_id, "sign", "gongan.clerk", {"sign_decision": "approve"})


def test_only_the_authority_starts_it_with_a_valid_form(world):
    with pytest.raises(PermissionDenied):
        world.start("rectification", "gongan.clerk", {"department": SHICHANG, "item": "3", "evidence": "拒绝共享"})
    with pytest.raises(InvalidForm) as refused:
        start(world, dept="340822001", item="9", evidence=" ")
    assert set(refused.value.errors) == {"department", "item", "evidence"}
    fields, options = world.engine.start_form("rectification", world.actors["supervisor"])
    assert [f.id for f in fields] == ["department", "item", "evidence"]
    assert options["department"] == [("340822101", "县公安局"), ("340822102", "县市场监督管理局"),
                                     ("340822103", "县民政局")]
    assert fields[1].options[7].name == "第8项：未履行数据安全保护职责"


# -- the deadline passes: order, criticism, referral ---------------------------------------------

def miss_notice(world, case_id):
    """Notice Mon 2026-03-02, 10 working days → due 2026-03-16; the clerk reports nothing."""
    world.complete(case_id, "notice", "supervisor", NOTICE)
    world.at(2026, 3, 13, 9, 0)  # the reminder: one working day before the due date
    assert world.fire_timers() == 1
    assert world.open_elements(case_id) == ["rectify"]
    assert [d.state for d in deadlines_of(world, case_id, "reminder")] == ["fired"]
    world.at(2026, 3, 16, 23, 0)
    assert world.fire_timers() == 0
    world.at(2026, 3, 17, 0, 1)
    assert world.fire_timers() == 1
    assert world.open_elements(case_id) == ["order"]


def test_order_then_rectified_in_time(world):
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    world.complete(case_id, "rectify", "gongan.clerk", REPORT)
    world.at(2026, 3, 17, 0, 1)  # the deadline passes while the head has not signed
    world.fire_timers()
    assert world.open_elements(case_id) == ["order"]
    world.at(2026, 3, 17, 9, 0)  # Tuesday
    world.complete(case_id, "order", "county", ORDER)
    rectify2 = world.task(case_id, "rectify2")
    assert (rectify2.department, rectify2.due_date) == (GONGAN, date(2026, 3, 24))
    assert violation(world, case_id).deadline == date(2026, 3, 24)

    world.reload()
    world.complete(case_id, "rectify2", "gongan.clerk", {"report2": "初步改正"})
    assert world.task(case_id, "sign2").due_date == date(2026, 3, 24)
    world.complete(case_id, "sign2", "gongan.head", {"sign_decision2": "return", "sign_comment2": "补充改正清单"})
    report_and_sign(world, case_id, "2")
    world.complete(case_id, "verify2", "supervisor", {"verify_result2": "rejected", "verify_opinion2": "仍有目录外采集"})
    assert world.task(case_id, "rectify2").due_date == date(2026, 3, 24)
    report_and_sign(world, case_id, "2")
    world.complete(case_id, "verify2", "supervisor", {"verify_result2": "accepted"})

    ended(world, case_id, "rectified")
    assert ladder(world, case_id) == ["recorded", "notified", "ordered", "rectified"]
    actions = audit_actions(world, case_id)
    assert "violation_ordered" in actions and "task_cancelled" in actions and "timer_fired" in actions


def test_the_whole_ladder_to_referral(world):
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world, item="8", evidence="未落实数据安全保护责任制")
    miss_notice(world, case_id)
    world.at(2026, 3, 17, 9, 0)
    world.complete(case_id, "order", "county", ORDER)
    world.complete(case_id, "rectify2", "gongan.clerk", {"report2": "部分整改"})  # the head never signs
    world.reload()
    world.at(2026, 3, 23, 9, 0)  # order Tue 03-17 + 5 working days → Tue 03-24; reminder Mon 09:00
    assert world.fire_timers() == 1 and world.open_elements(case_id) == ["sign2"]
    world.at(2026, 3, 25, 0, 1)
    assert world.fire_timers() == 1
    assert world.open_elements(case_id) == ["criticism"]
    world.complete(case_id, "criticism", "county", {"criticism_text": "对县公安局逾期未改正予以通报批评"})
    assert violation(world, case_id).status == "criticised"
    world.complete(case_id, "assess", "supervisor", {"serious": "yes", "serious_note": "造成数据泄露风险，情节严重"})
    with pytest.raises(PermissionDenied):
        world.complete(case_id, "referral", "supervisor", {"responsible_persons": "张三", "referral_decision": "警告"})
    world.complete(case_id, "referral", "discipline", {"responsible_persons": "张三（分管副局长）、李四（科长）",
                                                      "referral_decision": "给予张三警告处分、李四记过处分"})

    ended(world, case_id, "referred")
    found = violation(world, case_id)
    assert found.status == "referred"
    assert ladder(world, case_id) == ["recorded", "notified", "ordered", "criticised", "referred"]
    assert [s.deadline for s in found.steps] == [None, date(2026, 3, 16), date(2026, 3, 24), None, None]
    assert [s.actor for s in found.steps] == ["supervisor", "supervisor", "county", "county", "discipline"]
    assert "李四" in found.steps[-1].note
    actions = audit_actions(world, case_id)
    for action in ("violation_notified", "violation_ordered", "violation_criticised", "violation_referred"):
        assert actions.count(action) == 1


def test_criticism_without_referral_closes_the_violation(world):
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world)
    miss_notice(world, case_id)
    world.at(2026, 3, 17, 9, 0)
    world.complete(case_id, "order", "county", {"order_requirements": "限期完成"})  # order_days: the rule set's 10
    assert world.task(case_id, "rectify2").due_date == date(2026, 3, 31)
    world.reload()
    world.at(2026, 4, 1, 0, 1)
    assert world.fire_timers() == 2  # the reminder of 03-30 and the deadline, in one run
    world.complete(case_id, "criticism", "county", {"criticism_text": "通报批评"})
    world.complete(case_id, "assess", "supervisor", {"serious": "no", "serious_note": "已部分整改，未造成后果"})

    ended(world, case_id, "criticised")
    assert violation(world, case_id).status == "closed"
    assert ladder(world, case_id) == ["recorded", "notified", "ordered", "criticised", "closed"]


# -- started by another procedure's overdue escalation -------------------------------------------

def test_a_case_opened_by_an_escalation_runs_from_the_notice(world):
    world.at(2026, 3, 2, 9, 0)
    source = start(world, dept=SHICHANG)  # any running case can be the one whose task was overdue
    with world.engine.uow() as uow:
        supervision = records.open_supervision_item(
            uow, case_id=source, human_task_id="overdue-task-1", dept_code=GONGAN, possible_violation_item=3,
            actor=common.ESCALATION_ACTOR, now=world.clock.now(), note="复核超期")
        case_id = common.confirm_escalation(world.engine, uow, supervision.id, world.actors["supervisor"])
        uow.commit()
    assert world.open_elements(case_id) == ["notice"]
    found = violation(world, case_id)
    assert (found.source, found.item, found.status, found.source_case_id) == ("overdue_escalation", 3, "recorded", source)
    world.reload()
    world.complete(case_id, "notice", "supervisor", NOTICE)
    report_and_sign(world, case_id)
    world.complete(case_id, "verify", "supervisor", {"verify_result": "accepted"})

    ended(world, case_id, "rectified")
    assert ladder(world, case_id) == ["recorded", "notified", "rectified"]
    assert audit_actions(world, case_id).count("violation_recorded") == 0  # recorded under the source case
    with world.engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(records.Violation)) == 2


# -- working days and provisional deadlines ------------------------------------------------------

def test_deadlines_count_working_days_across_holidays(world):
    world.at(2026, 9, 24, 15, 0)  # Thursday; National Day 10-01..10-07, Sat 10-10 works
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    assert world.task(case_id, "rectify").due_date == date(2026, 10, 15)
    reminders = deadlines_of(world, case_id, "reminder")
    assert [d.due_at for d in reminders] == [datetime(2026, 10, 14, 9, 0, tzinfo=BEIJING)]


def test_a_provisional_deadline_is_held_and_never_escalates_by_itself(world):
    world.at(2026, 12, 25, 10, 0)  # Friday; 10 working days reach 2027, not yet published
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    rectify = world.task(case_id, "rectify")
    assert rectify.provisional and rectify.due_date == date(2027, 1, 11)
    (overdue,) = deadlines_of(world, case_id)
    assert (overdue.held, overdue.provisional) == (True, True)
    assert "暂定" in violation(world, case_id).steps[-1].note

    world.at(2027, 1, 8, 9, 0)
    assert world.fire_timers() == 1  # the reminder still reminds; only the escalation waits
    world.at(2027, 2, 1, 9, 0)
    assert world.fire_timers() == 0
    world.reload()
    assert world.open_elements(case_id) == ["rectify"]
    assert violation(world, case_id).status == "notified"
    report_and_sign(world, case_id)  # even late, the report is still taken
    world.complete(case_id, "verify", "supervisor", {"verify_result": "accepted"})
    ended(world, case_id, "rectified")


def test_a_held_deadline_escalates_once_its_year_is_published(world):
    world.at(2026, 12, 25, 10, 0)
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    world.complete(case_id, "rectify", "gongan.clerk", REPORT)  # the head sits on it
    world.at(2027, 1, 20, 9, 0)
    world.fire_timers()
    assert world.open_elements(case_id) == ["sign"]
    moved = timer_service.publish_year(world.engine, 2027, "国办发明电〔2026〕99号", [date(2027, 1, 1)], [],
                                       by="admin")
    assert moved >= 1
    assert world.open_elements(case_id) == ["order"]  # the exact due date 2027-01-11 has passed
    actions = audit_actions(world, case_id)
    assert "deadline_moved" in actions and "task_cancelled" in actions
