"""New Year with the next year unpublished (calendar.md): every procedure started on 2026-12-31 after
office hours and worked on 2027-01-02, under each after-hours policy. Nothing raises; everything that
reaches 2027 is provisional (暂定) and acts against nobody; publishing 2027 recomputes it all: task
rows, deadline rows and statutory periods together, audited, with day 0 of a receipt found again."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from engine import timer_service
from engine.calendar import period_end
from engine.domain.violations import SupervisionItem
from engine.models import AuditRecord, Deadline, HumanTask, StatutoryPeriod
from engine.uow import Actor

GONGAN, MINZHENG = "340822101", "340822103"
CITIZEN = Actor("citizen:li")
# The 2027 notice as an administrator enters it (made up for the test: the New Year holiday runs
# to Monday 01-04, Saturday 01-09 is worked in lieu).
HOLIDAYS_2027 = [date(2027, 1, 1), date(2027, 1, 4)]
WORKDAYS_2027 = [date(2027, 1, 9)]

STARTS = {
    "catalog_change": ("gongan.clerk", {"department": GONGAN, "change_kind": "regulation",
                                        "basis_document": "《户口登记条例》修订", "change_date": "2026-12-31"}),
    "share_application": ("minzheng.clerk", {"resource": "HN-GA-001", "scenario": "婚姻登记时核验当事人身份",
                                             "data_items": "公民身份号码\n姓名", "period_from": "2027-02-01",
                                             "period_until": "2027-06-30", "materials": "共享申请表（盖章）\n应用场景说明"}),
    "data_review": (CITIZEN, {"objector_kind": "natural_person", "objector_name": "李某",
                              "contact_phone": "138 0000 0001", "resource": "HN-GA-001",
                              "record_ref": "公民身份号码 340822199001011234 的户籍地址",
                              "description": "门牌号有误", "evidence": "房产证复印件"}),
    "inconsistency_arbitration": ("supervisor", {"resources": "HN-GA-001\nHN-MZ-001",
                                                 "description": "婚姻状况不一致",
                                                 "records": "公民身份号码 340822199001010011"}),
    "rectification": ("supervisor", {"department": GONGAN, "item": "1", "evidence": "目录外采集（检查记录）"}),
}


def start_all(world) -> dict[str, int]:
    cases = {}
    for process_id, (who, data) in STARTS.items():
        actor = who if isinstance(who, Actor) else world.actors[who]
        cases[process_id] = world.engine.start_case(process_id, actor, data)
    return cases


def rows(world, model, *where):
    with world.engine.uow() as uow:
        found = list(uow.session.scalars(sa.select(model).where(*where)))
        for row in found:
            uow.session.expunge(row)
        return found


def reaching_2027(world):
    tasks = [t for t in rows(world, HumanTask, HumanTask.state == "ready")
             if t.due_date is not None and t.due_date.year >= 2027]
    periods = [p for p in rows(world, StatutoryPeriod, StatutoryPeriod.state == "running")
               if p.due_date.year >= 2027]
    deadlines = [d for d in rows(world, Deadline, Deadline.state == "waiting")
                 if d.due_date is not None and d.due_date.year >= 2027]
    return tasks, periods, deadlines


@pytest.mark.parametrize("policy", ["calendar_date", "next_working_day"])
def test_every_procedure_across_an_unpublished_new_year(world, policy):
    assert not world.deploy_errors, world.deploy_errors
    timer_service.set_after_hours_policy(world.engine, policy, "admin")
    world.at(2026, 12, 31, 18, 0)  # after office hours on the last day of the published years
    cases = start_all(world)
    world.at(2027, 1, 2, 10, 0)  # a Saturday of the unpublished year
    world.fire_timers()
    world.complete(cases["rectification"], "notice", "supervisor",
                   {"notice_requirements": "补充编制目录", "notice_days": 10})
    for case_id in cases.values():
        assert world.case(case_id).status == "running"

    tasks, periods, deadlines = reaching_2027(world)
    assert tasks and periods and deadlines
    assert all(t.provisional for t in tasks)
    assert all(p.provisional for p in periods)
    assert all(d.provisional for d in deadlines)
    assert all(d.held == (d.kind != "reminder") for d in deadlines)  # only reminders fire while 暂定
    world.at(2027, 3, 1, 10, 0)  # long after every guessed end: nothing escalates by itself
    world.fire_timers()
    assert rows(world, SupervisionItem) == []
    assert all(world.case(c).status == "running" for c in cases.values())

    world.at(2027, 1, 2, 10, 0)
    moved = timer_service.publish_year(world.engine, 2027, "国办发明电〔2026〕99号", HOLIDAYS_2027,
                                       WORKDAYS_2027, "admin")
    assert moved > 0
    tasks, periods, deadlines = reaching_2027(world)
    assert not any(t.provisional for t in tasks) and not any(p.provisional for p in periods)
    assert not any(d.provisional or d.held for d in deadlines)
    with world.engine.uow() as uow:
        calendar = world.engine.calendar(uow.session)
        for period in periods:
            assert period.due_date == calendar.due_date(period.start_date, period.days), period.name
            assert period.due_at == period_end(period.due_date)
        receipt_day0 = calendar.receipt_date(world.clock.now().replace(year=2026, month=12, day=31, hour=10),
                                             "calendar_date")
    assert receipt_day0 == date(2026, 12, 31)
    watched = {t.id: t for t in tasks}
    for deadline in deadlines:
        if deadline.kind == "overdue" and deadline.human_task_id in watched:
            assert watched[deadline.human_task_id].due_date == deadline.due_date
    if policy == "next_working_day":  # received after hours on 12-31: day 0 is the next working day
        from_receipt = [p for p in periods if p.start_date.year == 2027]
        assert from_receipt and all(p.start_date == date(2027, 1, 5) for p in from_receipt), [(p.case_id, p.name, p.start_date) for p in from_receipt]
    actions = set(rows_actions(world))
    assert {"calendar_year_published", "deadline_moved", "period_moved"} <= actions


def rows_actions(world) -> list[str]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(AuditRecord.action)))
