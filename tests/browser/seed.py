"""Cases for the browser tests, started through the engine on the served database (after
`govflow init-db`, `deploy bpmn/` and `seed-demo`): a fresh objection for the clerk to answer, one
whose deadline an approved extension moved, one past its deadline, and a granted share application."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from engine.bootstrap import build_engine
from engine.clock import FrozenClock
from engine.config import Config
from engine.domain import org
from engine.models import HumanTask
from engine.timer_service import fire_due_timers, publish_year
from engine.uow import Actor

CITIZEN = Actor("citizen:wang")  # the public raises objections without a login (art. 18)
OBJECTION = {"objector_kind": "natural_person", "objector_name": "王某", "contact_phone": "138 0000 0000",
             "resource": "HN-GA-001", "record_ref": "公民身份号码 340822199001011234 的户籍地址",
             "description": "户籍地址门牌号应为 12 号，登记为 21 号", "evidence": "不动产权证书复印件"}
SHARE = {"resource": "HN-SJ-001", "scenario": "社会组织登记时核验发起单位的市场主体登记信息",
         "data_items": "统一社会信用代码\n名称", "materials": "共享申请表（加盖使用部门公章）\n应用场景说明"}


@dataclass(frozen=True)
class Cases:
    fresh: int      # verify_answer open and unclaimed: the clerk's scenario
    extended: int   # extension requested and approved: completed tasks, moved deadlines
    overdue: int    # started six weeks ago: verify_answer overdue, 督办 opened
    shared: int     # unconditional share application: granted at once
    incident: int   # a case of an analyst's diagram stopped by an incident (its script ran past the CPU budget)


STALLS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs"
                  targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="receipt_check" name="回执核验（示例）" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="count_receipts" name="统计回执"><bpmn:script>total = sum(range(10 ** 13))</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="count_receipts"/>
    <bpmn:sequenceFlow id="f1" sourceRef="count_receipts" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def seed_cases(database_url: str) -> Cases:
    """Start the cases; the overdue one on a clock six weeks back, then fire timers at the real now."""
    now = datetime.now(timezone.utc)
    clock = FrozenClock(now - timedelta(days=42))
    engine = build_engine(Config(database_url=database_url), clock=clock)
    try:
        publish_missing_years(engine, {(now + timedelta(days=d)).year for d in (-60, 0, 60)})
        overdue = engine.start_case("data_review", CITIZEN, {**OBJECTION, "record_ref": "户籍地址（超期示例）"})
        clock.set(now - timedelta(days=1))
        extended = engine.start_case("data_review", CITIZEN, {**OBJECTION, "record_ref": "户籍地址（延期示例）"})
        _complete(engine, extended, "request_extension", "gongan.clerk",
                  {"extension_days": 5, "extension_reason": "需调取纸质户籍档案核对"})
        _complete(engine, extended, "approve_extension", "gongan.head", {"approve": True, "opinion": "同意延长"})
        engine.add_comment(extended, _actor(engine, "gongan.head"), "请在延长期限内办结并答复申请人。")
        clock.set(now)
        fresh = engine.start_case("data_review", CITIZEN, OBJECTION)
        today = now.date()
        shared = engine.start_case("share_application", _actor(engine, "minzheng.clerk"), {
            **SHARE, "period_from": today.isoformat(), "period_until": (today + timedelta(days=180)).isoformat()})
        fire_due_timers(engine)
        engine.deploy(STALLS)
        incident = engine.start_case("receipt_check", _actor(engine, "admin"))
        return Cases(fresh, extended, overdue, shared, incident)
    finally:
        engine.db_engine.dispose()


def publish_missing_years(engine, years: set[int]) -> None:
    """Years the holiday package does not know yet, published as an administrator would (1 January
    only), so that these tests' deadlines are never provisional, whatever year they run in."""
    with engine.uow() as uow:
        missing = [y for y in sorted(years) if not engine.calendar(uow.session).is_published(y)]
    for year in missing:
        publish_year(engine, year, "浏览器测试用节假日安排", [date(year, 1, 1)], [], "system:browser-tests")


def _actor(engine, login: str) -> Actor:
    with engine.uow() as uow:
        return org.person_by_login(uow.session, login).actor()


def _complete(engine, case_id: int, element_id: str, login: str, data: dict) -> None:
    with engine.uow() as uow:
        task_id = uow.session.scalars(sa.select(HumanTask.id).where(
            HumanTask.case_id == case_id, HumanTask.element_id == element_id, HumanTask.state == "ready")).one()
    engine.complete_task(task_id, _actor(engine, login), data)
