"""违规整改 (procedure 5, art. 31): every path of bpmn/rectification.bpmn through the engine, and its
statutory periods (docs/deadlines/rectification.md): who is reminded, who is marked late, which path
the end of a period takes, and that nobody answers for another party's delay."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine import timer_service
from engine.bootstrap import register_hooks
from engine.calendar import BEIJING
from engine.domain import records
from engine.domain.notifications import Notification
from engine.errors import InvalidForm, PermissionDenied
from engine.models import AuditRecord, Deadline, StatutoryPeriod
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


def deadlines_of(world, case_id, kind="overdue", element=None) -> list[Deadline]:
    """The deadline rows of one kind (of the timers on ``element``: e.g. "rectify")."""
    with world.engine.uow() as uow:
        query = sa.select(Deadline).where(Deadline.case_id == case_id, Deadline.kind == kind)
        if element is not None:
            query = query.where(Deadline.element_id == f"{element}_{kind}")
        return list(uow.session.scalars(query.order_by(Deadline.created_at, Deadline.element_id)))


@pytest.fixture(autouse=True)
def notifications(world):
    """The bell's hook (as the app and the worker register it), so reminders reach people."""
    register_hooks(world.engine)


def reload(world) -> None:
    world.reload()
    register_hooks(world.engine)


def periods_of(world, case_id) -> list[tuple]:
    """(name, seq, party, department, start, due, state, reminded, overdue, 督办) of every period, oldest first."""
    with world.engine.uow() as uow:
        return [(p.name, p.seq, p.party, p.department, p.start_date, p.due_date, p.state,
                 p.reminded_at is not None, p.overdue_at is not None, p.supervision_id is not None)
                for p in uow.session.scalars(sa.select(StatutoryPeriod).where(StatutoryPeriod.case_id == case_id)
                                             .order_by(StatutoryPeriod.id))]


def period(world, case_id, name, seq=1) -> StatutoryPeriod:
    with world.engine.uow() as uow:
        found = uow.session.scalars(sa.select(StatutoryPeriod).where(
            StatutoryPeriod.case_id == case_id, StatutoryPeriod.name == name, StatutoryPeriod.seq == seq)).one()
        uow.session.expunge(found)
        return found



def audit_summaries(world, case_id, action) -> list[dict]:
    with world.engine.uow() as uow:
        return [json.loads(s) for s in uow.session.scalars(sa.select(AuditRecord.summary).where(
            AuditRecord.case_id == case_id, AuditRecord.action == action).order_by(AuditRecord.id))]


def supervision_items(world) -> list:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(records.SupervisionItem)))


def violations_count(world) -> int:
    with world.engine.uow() as uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(records.Violation))


def report_and_sign(world, case_id, rnd="", report=REPORT):
    world.complete(case_id, f"rectify{rnd}", "gongan.clerk", {f"{k}{rnd}": v for k, v in report.items()})
    world.complete(case_id, f"sign{rnd}", "gongan.head", {f"sign_decision{rnd}": "approve"})


def ended(world, case_id, outcome):
    case = world.case(case_id)
    assert (case.status, case.outcome) == ("completed", outcome)
    assert world.open_elements(case_id) == []
    assert all(p[6] != "running" for p in periods_of(world, case_id))  # every period closed with the case
    assert world.engine.verify_audit() is None


# -- the first rung: notice, report, verification ------------------------------------------------

def test_accepted_the_first_time(world):
    world.at(2026, 3, 2, 9, 0)  # Monday
    case_id = start(world)
    assert world.case(case_id).title == "违规整改：县公安局（第三十一条第1项）"
    assert world.open_elements(case_id) == ["notice"]
    assert world.task(case_id, "notice").due_date == date(2026, 3, 9)  # notice_days 5 (design) from the start
    world.complete(case_id, "notice", "supervisor", NOTICE)
    rectify = world.task(case_id, "rectify")
    assert (rectify.department, rectify.due_date, rectify.provisional) == (GONGAN, date(2026, 3, 16), False)

    reload(world)
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
    # the authority's notice (notice_days 5 from the start), the department's 10 days from the
    # notice (report and signature), the authority's check (verify_days 5 from the report): all met
    assert periods_of(world, case_id) == [
        ("notice", 1, "authority", None, date(2026, 3, 2), date(2026, 3, 9), "met", False, False, False),
        ("rectify", 1, "department", GONGAN, date(2026, 3, 2), date(2026, 3, 16), "met", False, False, False),
        ("verify", 1, "authority", None, date(2026, 3, 10), date(2026, 3, 17), "met", False, False, False)]
    assert actions.count("period_opened") == 3 and actions.count("period_closed") == 3
    assert world.notified(case_id, "reminder") == world.notified(case_id, "overdue") == []


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
    assert world.task(case_id, "rectify").due_date == date(2026, 3, 16)  # a return inside the department: same period
    world.complete(case_id, "rectify", "shichang.clerk", {"report": "逐项说明整改措施及成效"})
    world.complete(case_id, "sign", "shichang.head", {"sign_decision": "approve"})
    assert [p[:2] for p in periods_of(world, case_id) if p[0] == "rectify"] == [("rectify", 1)]

    reload(world)
    world.at(2026, 3, 12, 9, 0)  # Thursday
    world.complete(case_id, "verify", "supervisor", {"verify_result": "rejected", "verify_opinion": "未提供佐证材料"})
    rectify = world.task(case_id, "rectify")
    # procedures.md §5 step 3: rework_days (5, design) from the rejection, not the notice's deadline
    # (this was 03-16, the notice's, before the period model)
    assert rectify.due_date == date(2026, 3, 19)
    assert world.engine.get_task(rectify.id).data["verify_opinion"] == "未提供佐证材料"
    assert violation(world, case_id).deadline == date(2026, 3, 19)
    world.complete(case_id, "rectify", "shichang.clerk", {"report": "补充佐证材料"})
    world.complete(case_id, "sign", "shichang.head", {"sign_decision": "approve"})
    world.complete(case_id, "verify", "supervisor", {"verify_result": "accepted"})

    ended(world, case_id, "rectified")
    assert ladder(world, case_id) == ["recorded", "notified", "rectified"]
    assert audit_actions(world, case_id).count("task_completed") == 9
    assert [(p[0], p[1], p[5], p[6]) for p in periods_of(world, case_id)] == [
        ("notice", 1, date(2026, 3, 9), "met"), ("rectify", 1, date(2026, 3, 16), "met"),
        ("verify", 1, date(2026, 3, 9), "late"),  # the authority answered on 03-12: its lateness, not the department's
        ("rectify", 2, date(2026, 3, 19), "met"), ("verify", 2, date(2026, 3, 19), "met")]
    assert supervision_items(world) == []


def test_a_report_on_time_rejected_after_the_deadline_opens_the_rework_period_not_the_order(world):
    """Issue 13: a report submitted on time but rejected by the authority after the notice's deadline
    used to jump to the county's 责令限期改正. The authority's own lateness is its own (reminded,
    marked late, no 督办, no violation); the department gets rework_days from the rejection."""
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)  # the department's 10 days: to 03-16
    world.at(2026, 3, 10, 10, 0)
    report_and_sign(world, case_id)  # on time
    verify = world.task(case_id, "verify")
    assert (verify.due_date, verify.department) == (date(2026, 3, 17), None)  # verify_days 5 from the report

    world.at(2026, 3, 16, 9, 0)  # 09:00 the working day before the authority's end
    world.fire_timers()
    assert world.notified(case_id, "reminder") == ["supervisor"]
    world.at(2026, 3, 17, 0, 1)  # the notice's deadline has passed: nothing of the department's is watched
    assert world.fire_timers() == 0
    world.at(2026, 3, 18, 0, 1)  # the authority's own period has passed
    world.fire_timers()
    assert world.open_elements(case_id) == ["verify"]  # marked late, not taken away
    assert world.task(case_id, "verify").overdue is True
    assert world.notified(case_id, "overdue") == ["supervisor"]

    reload(world)
    world.at(2026, 3, 18, 10, 0)
    world.complete(case_id, "verify", "supervisor", {"verify_result": "rejected", "verify_opinion": "整改不到位"})
    assert world.open_elements(case_id) == ["rectify"]  # no order: the report was on time
    rectify = world.task(case_id, "rectify")
    assert (rectify.due_date, rectify.overdue) == (date(2026, 3, 25), False)  # rework_days 5 from 03-18
    assert world.engine.get_task(rectify.id).data["notice_due"] == "2026-03-25"
    found = violation(world, case_id)
    assert (found.status, found.deadline) == ("notified", date(2026, 3, 25))
    assert audit_summaries(world, case_id, "violation_deadline_moved") == [{
        "violation_id": found.id, "reason": "rework", "old": "2026-03-16", "new": "2026-03-25", "provisional": False}]
    assert periods_of(world, case_id) == [
        ("notice", 1, "authority", None, date(2026, 3, 2), date(2026, 3, 9), "met", False, False, False),
        ("rectify", 1, "department", GONGAN, date(2026, 3, 2), date(2026, 3, 16), "met", False, False, False),
        ("verify", 1, "authority", None, date(2026, 3, 10), date(2026, 3, 17), "late", True, True, False),
        ("rectify", 2, "department", GONGAN, date(2026, 3, 18), date(2026, 3, 25), "running", False, False, False)]
    rework = audit_summaries(world, case_id, "period_opened")[-1]
    assert (rework["period"], rework["seq"], rework["rule"], rework["days"]) == ("rectify", 2, "rework_days", 5)
    overdue = audit_summaries(world, case_id, "period_overdue")
    assert [(o["period"], o["party"]) for o in overdue] == [("verify", "authority")]
    assert [(t["kind"], t.get("period")) for t in audit_summaries(world, case_id, "timer_fired")] == [
        ("reminder", "verify"), ("overdue", "verify")]
    # nobody answers for the authority's delay, and the authority raises nothing against itself
    assert world.notified(case_id, "reminder") == ["supervisor"]
    assert supervision_items(world) == [] and violations_count(world) == 1

    world.at(2026, 3, 23, 10, 0)
    report_and_sign(world, case_id, report={"report": "补充整改佐证材料"})
    world.complete(case_id, "verify", "supervisor", {"verify_result": "accepted"})
    ended(world, case_id, "rectified")
    assert ladder(world, case_id) == ["recorded", "notified", "rectified"]
    assert [p[6] for p in periods_of(world, case_id)] == ["met", "met", "late", "met", "met"]


def test_a_missed_rework_period_goes_to_the_order_and_is_reminded_once(world):
    """The rework period is the department's (clerk and 数长): reminded once, and its end is the end
    of the notice's rung (art. 31: the county government orders the correction)."""
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    report_and_sign(world, case_id)
    world.at(2026, 3, 12, 9, 0)
    world.complete(case_id, "verify", "supervisor", {"verify_result": "rejected", "verify_opinion": "缺少佐证"})
    assert world.task(case_id, "rectify").due_date == date(2026, 3, 19)  # rework_days 5 from Thu 03-12

    world.at(2026, 3, 18, 9, 0)
    world.fire_timers()
    assert world.notified(case_id, "reminder") == ["gongan.clerk"]
    world.at(2026, 3, 18, 10, 0)
    world.complete(case_id, "rectify", "gongan.clerk", {"report": "补充材料"})  # the head never signs
    sign = world.task(case_id, "sign")
    assert sign.due_date == date(2026, 3, 19)  # the same period
    assert world.notified(case_id, "reminder") == ["gongan.clerk"]  # its reminder was sent: not again
    fired = [t for t in audit_summaries(world, case_id, "timer_fired") if t.get("period") == "rectify"]
    assert [(t["kind"], t["element"], t.get("repeat", False)) for t in fired] == [
        ("reminder", "rectify_reminder", False), ("reminder", "sign_reminder", True)]

    reload(world)
    world.at(2026, 3, 19, 23, 0)
    assert world.fire_timers() == 0
    world.at(2026, 3, 20, 0, 1)
    world.fire_timers()
    assert world.open_elements(case_id) == ["order"]
    order = world.task(case_id, "order")
    assert (order.due_date, order.department) == (date(2026, 3, 27), None)  # authority_decide_days 5 (design)
    assert world.notified(case_id, "new_task").count("county") == 1
    assert world.notified(case_id, "overdue") == []  # the path changed: nobody is told of a task that is gone
    assert [(p[0], p[1], p[2], p[5], p[6], p[8]) for p in periods_of(world, case_id)][-2:] == [
        ("rectify", 2, "department", date(2026, 3, 19), "late", True),
        ("order", 1, "county_gov", date(2026, 3, 27), "running", False)]
    assert supervision_items(world) == [] and violations_count(world) == 1  # the ladder is the consequence
    assert violation(world, case_id).status == "notified"


def test_the_authority_late_with_its_notice_is_reminded_and_marked_late(world):
    """The notice (下达整改通知) was untimed; it is the authority's period now: notice_days (design)
    from the recording of the violation, reminded, marked late, with no 督办 and no violation."""
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world)
    assert world.task(case_id, "notice").due_date == date(2026, 3, 9)
    world.at(2026, 3, 6, 9, 0)
    world.fire_timers()
    assert world.notified(case_id, "reminder") == ["supervisor"]
    world.at(2026, 3, 10, 0, 1)
    world.fire_timers()
    assert world.open_elements(case_id) == ["notice"] and world.task(case_id, "notice").overdue is True
    assert world.notified(case_id, "overdue") == ["supervisor"]
    world.at(2026, 3, 11, 10, 0)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    # the department's period runs from the notice, whenever it came
    assert world.task(case_id, "rectify").due_date == date(2026, 3, 25)
    assert [(p[0], p[2], p[5], p[6], p[7], p[8], p[9]) for p in periods_of(world, case_id)] == [
        ("notice", "authority", date(2026, 3, 9), "late", True, True, False),
        ("rectify", "department", date(2026, 3, 25), "running", False, False, False)]
    assert supervision_items(world) == [] and violations_count(world) == 1
    assert [(o["period"], o["party"]) for o in audit_summaries(world, case_id, "period_overdue")] == [
        ("notice", "authority")]
    closed = audit_summaries(world, case_id, "period_closed")
    assert [(c["period"], c["state"]) for c in closed] == [("notice", "late")]


def test_the_verification_goes_back_only_by_a_rejection(world):
    """退回 would reopen the 数长's signature without the rework period and the violation's deadline."""
    from engine.returns import NotReturnable
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    report_and_sign(world, case_id)
    with pytest.raises(NotReturnable):
        world.engine.return_task(world.task(case_id, "verify").id, world.actors["supervisor"], "请数长重新签发")
    assert world.open_elements(case_id) == ["verify"]


def test_the_heads_return_stays_inside_the_departments_period(world):
    """退回 by the 数长 to the clerk (engine/returns.py) keeps the department's period and its due date."""
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    world.at(2026, 3, 9, 10, 0)
    world.complete(case_id, "rectify", "gongan.clerk", REPORT)
    world.engine.return_task(world.task(case_id, "sign").id, world.actors["gongan.head"], "请补充整改清单")
    assert world.open_elements(case_id) == ["rectify"]
    assert world.task(case_id, "rectify").due_date == date(2026, 3, 16)
    assert [(p[0], p[1], p[5], p[6]) for p in periods_of(world, case_id)][1:] == [
        ("rectify", 1, date(2026, 3, 16), "running")]


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
    assert [d.state for d in deadlines_of(world, case_id, "reminder", "rectify")] == ["fired"]
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

    reload(world)
    world.complete(case_id, "rectify2", "gongan.clerk", {"report2": "初步改正"})
    assert world.task(case_id, "sign2").due_date == date(2026, 3, 24)
    world.complete(case_id, "sign2", "gongan.head", {"sign_decision2": "return", "sign_comment2": "补充改正清单"})
    report_and_sign(world, case_id, "2")
    assert world.task(case_id, "verify2").due_date == date(2026, 3, 24)  # verify_days 5 from the report
    world.at(2026, 3, 23, 9, 0)
    world.complete(case_id, "verify2", "supervisor", {"verify_result2": "rejected", "verify_opinion2": "仍有目录外采集"})
    # the order's rework period: rework_days 5 from the rejection (Mon 03-23), not the order's 03-24
    # (before the period model the order's deadline stayed)
    rectify2 = world.task(case_id, "rectify2")
    assert rectify2.due_date == date(2026, 3, 30)
    assert world.engine.get_task(rectify2.id).data["order_due"] == "2026-03-30"
    assert violation(world, case_id).deadline == date(2026, 3, 30)
    report_and_sign(world, case_id, "2")
    world.complete(case_id, "verify2", "supervisor", {"verify_result2": "accepted"})

    ended(world, case_id, "rectified")
    assert ladder(world, case_id) == ["recorded", "notified", "ordered", "rectified"]
    actions = audit_actions(world, case_id)
    assert "violation_ordered" in actions and "task_cancelled" in actions and "timer_fired" in actions
    assert [(p[0], p[1], p[2], p[4], p[5], p[6]) for p in periods_of(world, case_id)] == [
        ("notice", 1, "authority", date(2026, 3, 2), date(2026, 3, 9), "met"),
        ("rectify", 1, "department", date(2026, 3, 2), date(2026, 3, 16), "late"),
        ("order", 1, "county_gov", date(2026, 3, 17), date(2026, 3, 24), "met"),
        ("correct", 1, "department", date(2026, 3, 17), date(2026, 3, 24), "met"),
        ("verify", 1, "authority", date(2026, 3, 17), date(2026, 3, 24), "met"),
        ("correct", 2, "department", date(2026, 3, 23), date(2026, 3, 30), "met"),
        ("verify", 2, "authority", date(2026, 3, 23), date(2026, 3, 30), "met")]
    assert [(m["reason"], m["old"], m["new"]) for m in audit_summaries(world, case_id, "violation_deadline_moved")] \
        == [("rework", "2026-03-24", "2026-03-30")]
    assert supervision_items(world) == []


def test_the_county_governments_order_is_timed_and_marked_late_without_a_violation(world):
    """The county government's 责令限期改正 has its own period (authority_decide_days, design) from the
    end of the department's: reminded, marked late; the department's order period runs from the
    order whenever it comes, and the county government raises no 督办 or violation."""
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world)
    miss_notice(world, case_id)  # the order task from 03-17 00:01
    assert world.task(case_id, "order").due_date == date(2026, 3, 24)
    world.at(2026, 3, 23, 9, 0)
    world.fire_timers()
    assert world.notified(case_id, "reminder") == ["county", "gongan.clerk"]  # the notice's, then the order's
    world.at(2026, 3, 25, 0, 1)
    world.fire_timers()
    assert world.open_elements(case_id) == ["order"] and world.task(case_id, "order").overdue is True
    assert world.notified(case_id, "overdue") == ["county"]
    world.at(2026, 3, 25, 10, 0)
    world.complete(case_id, "order", "county", ORDER)
    assert world.task(case_id, "rectify2").due_date == date(2026, 4, 1)  # the order's 5 days from 03-25
    assert violation(world, case_id).deadline == date(2026, 4, 1)
    assert [(p[0], p[2], p[5], p[6], p[7], p[8], p[9]) for p in periods_of(world, case_id)][2:] == [
        ("order", "county_gov", date(2026, 3, 24), "late", True, True, False),
        ("correct", "department", date(2026, 4, 1), "running", False, False, False)]
    assert supervision_items(world) == [] and violations_count(world) == 1


def test_the_whole_ladder_to_referral(world):
    world.at(2026, 3, 2, 9, 0)
    case_id = start(world, item="8", evidence="未落实数据安全保护责任制")
    miss_notice(world, case_id)
    world.at(2026, 3, 17, 9, 0)
    world.complete(case_id, "order", "county", ORDER)
    world.complete(case_id, "rectify2", "gongan.clerk", {"report2": "部分整改"})  # the head never signs
    reload(world)
    world.at(2026, 3, 23, 9, 0)  # order Tue 03-17 + 5 working days → Tue 03-24; reminder Mon 09:00
    assert world.fire_timers() == 1 and world.open_elements(case_id) == ["sign2"]
    world.at(2026, 3, 25, 0, 1)
    assert world.fire_timers() == 1
    assert world.open_elements(case_id) == ["criticism"]
    world.complete(case_id, "criticism", "county", {"criticism_text": "对县公安局逾期未改正予以通报批评"})
    assert violation(world, case_id).status == "criticised"
    assert world.task(case_id, "assess").due_date == date(2026, 4, 1)  # authority_decide_days 5 (design)
    world.complete(case_id, "assess", "supervisor", {"serious": "yes", "serious_note": "造成数据泄露风险，情节严重"})
    assert world.task(case_id, "referral").due_date is None  # untimed on purpose: the 处分 body's own law
    with pytest.raises(PermissionDenied):
        world.complete(case_id, "referral", "supervisor", {"responsible_persons": "张三", "referral_decision": "警告"})
    world.complete(case_id, "referral", "discipline", {"responsible_persons": "张三（分管副局长）、李四（科长）",
                                                      "referral_decision": "给予张三警告处分、李四记过处分"})

    ended(world, case_id, "referred")
    # the department's two periods ended the notice's and the order's rungs; nobody else was late
    assert [(p[0], p[2], p[5], p[6], p[8]) for p in periods_of(world, case_id)] == [
        ("notice", "authority", date(2026, 3, 9), "met", False),
        ("rectify", "department", date(2026, 3, 16), "late", True),
        ("order", "county_gov", date(2026, 3, 24), "met", False),
        ("correct", "department", date(2026, 3, 24), "late", True),
        ("criticise", "county_gov", date(2026, 4, 1), "met", False),
        ("assess", "authority", date(2026, 4, 1), "met", False)]
    assert supervision_items(world) == []
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
    reload(world)
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
    reload(world)
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
    reminders = deadlines_of(world, case_id, "reminder", "rectify")
    assert [d.due_at for d in reminders] == [datetime(2026, 10, 14, 9, 0, tzinfo=BEIJING)]


def test_a_provisional_deadline_is_held_and_never_escalates_by_itself(world):
    world.at(2026, 12, 25, 10, 0)  # Friday; 10 working days reach 2027, not yet published
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    rectify = world.task(case_id, "rectify")
    assert rectify.provisional and rectify.due_date == date(2027, 1, 11)
    (overdue,) = deadlines_of(world, case_id, "overdue", "rectify")
    assert (overdue.held, overdue.provisional) == (True, True)
    assert "暂定" in violation(world, case_id).steps[-1].note

    world.at(2027, 1, 8, 9, 0)
    assert world.fire_timers() == 1  # the reminder still reminds; only the escalation waits
    world.at(2027, 2, 1, 9, 0)
    assert world.fire_timers() == 0
    reload(world)
    assert world.open_elements(case_id) == ["rectify"]
    assert violation(world, case_id).status == "notified"
    report_and_sign(world, case_id)  # even late, the report is still taken
    world.complete(case_id, "verify", "supervisor", {"verify_result": "accepted"})
    ended(world, case_id, "rectified")


def test_a_provisional_notice_period_held_then_recomputed_with_the_violations_deadline(world):
    """Notice on Fri 2026-12-25 with 10 days: the period reaches 2027, unpublished, so it is
    provisional (2027-01-11 by Monday–Friday and 1 January) and its interrupting end is held: no
    order on the guessed date. Publishing 2027 (here with 01-04 a holiday too) recomputes it to
    01-12: the period row, the task row, the deadline row, the violation's deadline and the due date
    in the forms move together, audited; the order comes at the real end."""
    world.at(2026, 12, 25, 10, 0)
    case_id = start(world)
    world.complete(case_id, "notice", "supervisor", NOTICE)
    assert violation(world, case_id).deadline == date(2027, 1, 11)
    held = period(world, case_id, "rectify")
    assert (held.due_date, held.provisional, held.state) == (date(2027, 1, 11), True, "running")
    world.at(2027, 1, 8, 9, 0)
    world.fire_timers()  # the reminder fires at its provisional instant, marked 暂定
    assert world.notified(case_id, "reminder") == ["gongan.clerk"]
    with world.engine.uow() as uow:
        text = uow.session.scalars(sa.select(Notification.text).where(
            Notification.case_id == case_id, Notification.kind == "reminder")).one()
    assert "暂定" in text
    world.at(2027, 1, 12, 0, 30)  # past the guessed end: held, nothing happens
    assert world.fire_timers() == 0
    assert world.open_elements(case_id) == ["rectify"]
    (overdue,) = deadlines_of(world, case_id, "overdue", "rectify")
    assert (overdue.state, overdue.held, overdue.due_date) == ("waiting", True, date(2027, 1, 11))

    world.at(2027, 1, 12, 8, 0)
    moved = timer_service.publish_year(world.engine, 2027, "国办发明电〔2026〕99号",
                                       [date(2027, 1, 1), date(2027, 1, 4)], [], by="admin")
    assert moved >= 1
    assert world.open_elements(case_id) == ["rectify"]  # the real end, 01-12, has not passed
    recomputed = period(world, case_id, "rectify")
    assert (recomputed.due_date, recomputed.provisional, recomputed.state) == (date(2027, 1, 12), False, "running")
    rectify = world.task(case_id, "rectify")
    assert (rectify.due_date, rectify.provisional) == (date(2027, 1, 12), False)
    assert world.engine.get_task(rectify.id).data["notice_due"] == "2027-01-12"
    assert world.engine.case_data(case_id)["notice_due"] == "2027-01-12"
    (overdue,) = deadlines_of(world, case_id, "overdue", "rectify")
    assert (overdue.due_date, overdue.held, overdue.provisional) == (date(2027, 1, 12), False, False)
    assert overdue.due_at == datetime(2027, 1, 13, 0, 0, tzinfo=BEIJING)
    found = violation(world, case_id)
    assert (found.deadline, found.status) == (date(2027, 1, 12), "notified")
    assert audit_summaries(world, case_id, "violation_deadline_moved") == [{
        "violation_id": found.id, "reason": "period_moved", "old": "2027-01-11", "new": "2027-01-12",
        "provisional": False}]
    assert [(m["period"], m["old"], m["new"]) for m in audit_summaries(world, case_id, "period_moved")] == [
        ("rectify", {"due_date": "2027-01-11", "provisional": True}, {"due_date": "2027-01-12", "provisional": False})]
    assert "deadline_moved" in audit_actions(world, case_id)

    world.at(2027, 1, 12, 23, 59)
    assert world.fire_timers() == 0
    world.at(2027, 1, 13, 0, 1)
    world.fire_timers()
    assert world.open_elements(case_id) == ["order"]
    assert period(world, case_id, "rectify").state == "late"
    assert supervision_items(world) == []
    assert world.engine.verify_audit() is None


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
