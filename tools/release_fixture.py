"""Make the release fixture: a county's database made by one release, dumped as SQL for SQLite and
PostgreSQL, with a manifest of its cases (tests/fixtures/release/README.md), named after the
release's Alembic head: ``govflow-<head>.{sqlite,postgresql}.sql.gz`` and ``.manifest.json``.

    .venv/bin/python -m tools.release_fixture                   # from the committed HEAD, both databases
    .venv/bin/python -m tools.release_fixture --commit db50bde  # release 0014, as it was made

A release's fixture is made once and never again (the test proves upgrades from it): the generator
refuses to overwrite one unless ``--force`` (for a fixture that was never committed).

By default the code of the commit (``git archive``, into a temporary folder) makes the fixture, not
the working tree: a dump must show what the release itself wrote, never half-done edits. ``--here``
runs in the current tree (what the default does inside the exported one).

What it does, on a fresh database of each kind (a SQLite file; a PostgreSQL schema):

* migrate to head (``govflow init-db``), load the demo county (``govflow seed-demo``), deploy
  ``bpmn/``;
* from 2026-09-01 to ``NOW`` (2026-12-21 16:00 Beijing) the county works: the scenarios below start
  and work cases of every procedure through the engine's service functions as the demo people, on
  an injected clock, while a simulated worker fires every timer at its due instant (and runs the
  daily grant jobs), exactly as ``govflow worker`` would;
* every case must then be in the state its scenario expects (open steps, status, outcome), or the
  run fails;
* dump, gzipped (a tenth of the size): SQLite with ``sqlite3``'s ``iterdump()``; PostgreSQL with
  ``pg_dump --inserts`` of the schema (psql's ``\\restrict`` lines dropped, so that any client can
  run it; the test renames the schema ``govflow_release_fixture``); the manifest lists
  every case with its label, state and how the test continues it (``act``: its open steps are
  worked at once; ``wait``: time runs first, so its timers act on the loaded state).

Everything is deterministic but the random values the engine draws itself (task ids, receipt
codes, password salts), so the two dumps hold the same cases with the same ids.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import heapq
import itertools
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator

NOW = (2026, 12, 21, 16, 0)  # the instant the dump is taken (Beijing), a Monday
INSTALLED = (2026, 9, 1, 9, 0)  # the county installs the release and loads its organisation
PG_SCHEMA = "govflow_release_fixture"  # the schema name in the PostgreSQL dump (the test renames it)
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "release"
PG_URL = os.environ.get("GOVFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# ==================================================================================================
# the county at work
# ==================================================================================================

def bj(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    """A Beijing wall-clock instant (of 2026 unless said otherwise)."""
    from engine.calendar import BEIJING
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def instant(parts: tuple) -> datetime:
    year, month, day, hour, minute = parts
    return bj(month, day, hour, minute, year)


@dataclass
class Expected:
    case_id: int
    label: str
    mode: str  # "act" | "wait": how the upgrade test continues the case (module doc)
    open: list[str]
    status: str = "running"
    outcome: str | None = None


class County:
    """The engine on an injected clock, the demo people, a simulated timer worker."""

    def __init__(self, engine, clock):
        self.engine, self.clock = engine, clock
        self._actors: dict[str, object] = {}
        self.expected: dict[int, Expected] = {}
        self.fired = 0
        from engine.calendar import BEIJING
        day = clock.now().astimezone(BEIJING).date()
        self._daily = [(bj(day.month, day.day, 0, 1, day.year), "expire_grants"),
                       (bj(day.month, day.day, 8, 0, day.year), "grant_notices")]

    # -- time -------------------------------------------------------------------------------------
    def advance_to(self, target: datetime) -> None:
        """Move the clock to ``target`` as a running worker would: every timer fires at its due
        instant, the daily grant jobs run at 00:01 and 08:00 Beijing time."""
        from engine.timer_service import due_instants, fire_due_timers
        if target < self.clock.now():
            raise RuntimeError(f"time runs forward only: {target} < {self.clock.now()}")
        while True:
            due = due_instants(self.engine, None)[1]
            daily_at, job = min(self._daily)
            upcoming = min(d for d in (due, daily_at) if d is not None)
            if upcoming > target:
                break
            self.clock.set(max(upcoming, self.clock.now()))
            if due is not None and due <= self.clock.now():
                fired = fire_due_timers(self.engine)
                if not fired:
                    raise RuntimeError(f"a timer due at {due} did not fire")
                self.fired += fired
                continue
            self._run_daily(job)
            self._daily.remove((daily_at, job))
            self._daily.append((daily_at + timedelta(days=1), job))
        self.clock.set(target)

    def _run_daily(self, job: str) -> None:
        from engine.calendar import BEIJING
        from engine.domain.grants import GRANT_EXPIRY_ACTOR, expire_grants
        from engine.grant_service import send_expiry_notices
        if job == "grant_notices":
            send_expiry_notices(self.engine)
            return
        now = self.clock.now()
        with self.engine.uow() as uow:
            expire_grants(uow, now.astimezone(BEIJING).date(), GRANT_EXPIRY_ACTOR, now)
            uow.commit()

    # -- people and cases ---------------------------------------------------------------------------
    def actor(self, who):
        from engine.domain import org
        if not isinstance(who, str):
            return who
        if who not in self._actors:
            with self.engine.uow() as uow:
                self._actors[who] = org.person_by_login(uow.session, who).actor()
        return self._actors[who]

    def start(self, process_id: str, who, data: dict) -> int:
        return self.engine.start_case(process_id, self.actor(who), data)

    def task_id(self, case_id: int, element_id: str, department: str | None = None) -> str:
        import sqlalchemy as sa
        from engine.models import HumanTask
        query = sa.select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.element_id == element_id,
                                              HumanTask.state == "ready")
        if department is not None:
            query = query.where(HumanTask.department == department)
        with self.engine.uow() as uow:
            found = list(uow.session.scalars(query))
        if len(found) != 1:
            raise RuntimeError(f"case {case_id}: {len(found)} open tasks {element_id} ({department})")
        return found[0]

    def complete(self, case_id: int, element_id: str, who, data: dict | None = None,
                 department: str | None = None) -> None:
        self.engine.complete_task(self.task_id(case_id, element_id, department), self.actor(who), data or {})

    def data(self, case_id: int) -> dict:
        return self.engine.case_data(case_id)

    def supervision_of(self, case_id: int) -> int:
        import sqlalchemy as sa
        from engine.domain.violations import SupervisionItem
        with self.engine.uow() as uow:
            return uow.session.scalars(sa.select(SupervisionItem.id).where(
                SupervisionItem.case_id == case_id, SupervisionItem.status == "open")).one()

    def violation_case(self, supervision_id: int) -> int:
        from engine.domain.violations import SupervisionItem
        with self.engine.uow() as uow:
            return uow.session.get(SupervisionItem, supervision_id).violation.case_id

    def grant_of(self, case_id: int) -> int:
        import sqlalchemy as sa
        from engine.domain.records import Grant
        with self.engine.uow() as uow:
            return uow.session.scalars(sa.select(Grant.id).where(Grant.case_id == case_id)).one()

    def edit_catalog(self, case_id: int, slug: str, new_entry: dict | None = None) -> None:
        """The clerk's edit of the case's draft in the catalog service (art. 7)."""
        from engine.domain import catalog
        draft_id, who = self.data(case_id)["draft_id"], self.actor(f"{slug}.clerk")
        code = CATALOG_CODES[DEPT[slug]][0]
        with self.engine.uow() as uow:
            entry = catalog.get_version(uow.session, draft_id)
            current = {e.code: e for e in catalog.entries_of(uow.session, entry.id)}[code]
            catalog.upsert_entry(uow, draft_id, {"code": code, "summary": current.summary + "（依新规定修订）"},
                                 who, self.clock.now())
            if new_entry is not None:
                catalog.upsert_entry(uow, draft_id, new_entry, who, self.clock.now())
            uow.commit()

    def expect(self, case_id: int, label: str, mode: str, open_steps: list[str] | tuple = (),
               status: str = "running", outcome: str | None = None) -> None:
        if case_id in self.expected:
            raise RuntimeError(f"case {case_id} expected twice ({label})")
        self.expected[case_id] = Expected(case_id, label, mode, sorted(open_steps), status, outcome)

    def completed(self, case_id: int, label: str, outcome: str) -> None:
        self.expect(case_id, label, "act", [], "completed", outcome)


def _demo_tables():
    from engine.demo.organisation import DEPARTMENTS
    from engine.demo.resources import RESOURCES
    dept = {slug: code for code, _name, _kind, slug in DEPARTMENTS}
    codes: dict[str, list[str]] = {}
    for row in RESOURCES:
        codes.setdefault(row[1], []).append(f"HN-{row[0]}")
    return dept, codes


DEPT: dict[str, str] = {}
CATALOG_CODES: dict[str, list[str]] = {}


# ==================================================================================================
# what the county's people fill in
# ==================================================================================================

GA_MATERIALS = "共享申请表（加盖使用部门公章）\n应用场景说明\n履职依据（法律法规或三定方案条款）\n数据安全保障承诺书"
MATERIALS = {"HN-GA-001": GA_MATERIALS, "HN-GA-003": "", "HN-SJ-001": "共享申请表（加盖使用部门公章）\n应用场景说明"}
ITEMS = {"HN-GA-001": "公民身份号码\n姓名", "HN-GA-003": "案件编号\n案由", "HN-SJ-001": "统一社会信用代码\n名称"}
APPROVE = {"decision": "approve", "granted_items": "姓名", "usage_limits": "仅用于申请时载明的业务核验"}
ASK = {"decision": "ask_materials", "reason": "请补充履职依据的具体条款"}
REFUSE = {"decision": "refuse", "reason": "涉及公民个人敏感信息，申请的应用场景不属履行法定职责所必需",
          "basis": "《中华人民共和国个人信息保护法》第三十四条"}
EXPLAIN = {"reason": "涉及刑事侦查工作秘密", "basis": "《中华人民共和国刑事诉讼法》第一百五十二条"}
COORDINATE = {"next_step": "coordinate", "coordination_request": "该数据为办理业务所必需，请主管部门统筹协调"}
SHARE_ORDERED = {"coordination": "share_ordered", "coordination_note": "属履职必需，责成提供部门按申请共享"}
DISMISS = {"decision": "dismiss", "note": "已督促办结，不予立案"}


def share(resource: str, consumer: str, first: str, last: str) -> tuple[str, dict]:
    return f"{consumer}.clerk", {
        "resource": resource, "scenario": f"{consumer} 办理业务时核验当事人信息（{resource}）",
        "data_items": ITEMS[resource], "period_from": first, "period_until": last,
        "materials": MATERIALS[resource]}


def objection(resource: str = "HN-GA-001", **changes) -> dict:
    return {"objector_kind": "natural_person", "objector_name": "王某", "contact_phone": "138 0000 0000",
            "resource": resource, "record_ref": "公民身份号码 340822199001011234 的户籍地址",
            "description": "户籍地址门牌号应为 12 号，登记为 21 号", "evidence": "不动产权证书复印件", **changes}


def change(slug: str, change_date: str) -> dict:
    return {"department": DEPT[slug], "change_kind": "regulation",
            "basis_document": "《中华人民共和国户口登记条例》修订（国务院令第 1 号）", "change_date": change_date}


def inconsistency(resources: str = "HN-GA-001\nHN-MZ-001") -> dict:
    return {"resources": resources, "description": "同一公民的婚姻状况：公安为未婚，民政为已婚",
            "records": "公民身份号码 340822199001010011"}


def violation(slug: str, item: str = "1") -> dict:
    return {"department": DEPT[slug], "item": item, "evidence": f"{slug} 目录外采集政务数据（检查记录 2026 年）"}


def citizen():
    from engine.uow import Actor
    return Actor("citizen:wang")


# ==================================================================================================
# the scenarios: each a generator that yields the next instant it acts at
# ==================================================================================================

Scenario = Callable[[County], Iterator[datetime]]
SCENARIOS: list[Scenario] = []


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS.append(fn)
    return fn


# -- housekeeping -----------------------------------------------------------------------------------

@scenario
def county_administration(c: County):
    """The administrators' and analysts' records: the after-hours policy confirmed, a single-date
    calendar correction, an API token, a diagram draft in the modeler, and the county's rule set
    revised from 1 December (cases started before keep version 1)."""
    from engine import rule_admin, timer_service
    from engine.domain import api_tokens, drafts, org
    yield bj(9, 2)
    timer_service.set_after_hours_policy(c.engine, "calendar_date", "admin")
    timer_service.set_override(c.engine, date(2026, 9, 30), False, "县政府办通知：国庆节前一日调休（本县安排）", "admin")
    with c.engine.uow() as uow:
        api_tokens.create_token(uow, org.person_by_login(uow.session, "gongan.clerk"), "数据中心对接", c.clock.now())
        uow.commit()
    yield bj(9, 3)
    with c.engine.uow() as uow:
        xml = (c.engine.config.bpmn_dir / "data_review.bpmn").read_bytes()
        drafts.save_draft(uow, None, xml, "复核（修订草稿）", "analyst", c.clock.now())
        uow.commit()
    yield bj(11, 27)
    rule_admin.add(c.engine, "huaining-2021", effective_from=date(2026, 12, 1), title="怀宁县政务数据期限（2026 年修订）",
                   document="怀政办〔2026〕88号", by="admin", source="huaining-2021@1",
                   periods={"grant_expiry_notice_days": 12}, activate=True)


def attach(c: County, case_id: int, element_id: str, who: str, name: str, text: str) -> None:
    """An evidence file on a step (its row; the file itself lives outside the database and is
    thrown away here)."""
    from engine.domain import attachments
    data = text.encode("utf-8")
    with tempfile.TemporaryDirectory() as directory, c.engine.uow() as uow:
        stored = attachments.store(Path(directory), data)
        attachments.record(uow, case_id, c.task_id(case_id, element_id), name, data, "txt", stored, who,
                           c.clock.now())
        uow.commit()


# -- 目录变更 catalog_change --------------------------------------------------------------------------

@scenario
def cc_update_reminded(c: County):
    yield bj(12, 18)
    case = c.start("catalog_change", "renshe.clerk", change("renshe", "2026-12-01"))
    c.edit_catalog(case, "renshe")
    c.expect(case, "catalog_change: update waiting, reminded, due tomorrow", "wait", ["update_catalog"])


@scenario
def cc_internal_approval(c: County):
    yield bj(12, 14)
    case = c.start("catalog_change", "yibao.clerk", change("yibao", "2026-12-14"))
    c.edit_catalog(case, "yibao")
    yield bj(12, 15)
    c.complete(case, "update_catalog", "yibao.clerk", {"change_summary": "参保缴费信息摘要修订", "action": "submit"})
    c.expect(case, "catalog_change: 数长 approval waiting (period provisional, into 2027)", "act",
             ["internal_approval"])


@scenario
def cc_report(c: County):
    yield bj(12, 7)
    case = c.start("catalog_change", "weijian.clerk", change("weijian", "2026-12-07"))
    c.edit_catalog(case, "weijian")
    yield bj(12, 9)
    c.complete(case, "update_catalog", "weijian.clerk", {"change_summary": "出生医学证明摘要修订", "action": "submit"})
    yield bj(12, 18)
    c.complete(case, "internal_approval", "weijian.head", {"head_decision": "approve", "head_opinion": "同意报送"})
    c.expect(case, "catalog_change: report waiting", "act", ["report"])


@scenario
def cc_authority_review_late(c: County):
    yield bj(12, 2)
    case = c.start("catalog_change", "ziran.clerk", change("ziran", "2026-12-01"))
    c.edit_catalog(case, "ziran")
    yield bj(12, 3)
    c.complete(case, "update_catalog", "ziran.clerk", {"change_summary": "不动产登记信息摘要修订", "action": "submit"})
    yield bj(12, 4)
    c.complete(case, "internal_approval", "ziran.head", {"head_decision": "approve"})
    yield bj(12, 7)
    c.complete(case, "report", "ziran.clerk", {"report_note": "报送更新后的目录及变更依据"})
    c.expect(case, "catalog_change: the authority's review waiting, its own period late", "act",
             ["authority_review"])


@scenario
def cc_update_supervised(c: County):
    yield bj(11, 2)
    case = c.start("catalog_change", "tongji.clerk", change("tongji", "2026-11-02"))
    yield bj(11, 5)
    c.edit_catalog(case, "tongji")
    c.expect(case, "catalog_change: update overdue, 督办 decision open", "act",
             ["update_catalog", "update_catalog_supervise"])


@scenario
def cc_report_supervision_dismissed(c: County):
    yield bj(11, 2)
    case = c.start("catalog_change", "jiaoyu.clerk", change("jiaoyu", "2026-11-02"))
    c.edit_catalog(case, "jiaoyu")
    yield bj(11, 3)
    c.complete(case, "update_catalog", "jiaoyu.clerk", {"change_summary": "学籍信息摘要修订", "action": "submit"})
    yield bj(11, 4)
    c.complete(case, "internal_approval", "jiaoyu.head", {"head_decision": "approve"})
    yield bj(11, 11)
    c.engine.dismiss_supervision(c.supervision_of(case), c.actor("supervisor"), "已电话督促，部门承诺本周报送")
    c.expect(case, "catalog_change: report overdue, 督办 dismissed on the dashboard, in-case decision open",
             "act", ["report", "report_supervise"])


@scenario
def cc_approval_supervision_confirmed(c: County):
    yield bj(11, 2)
    case = c.start("catalog_change", "caizheng.clerk", change("caizheng", "2026-11-02"))
    c.edit_catalog(case, "caizheng")
    yield bj(11, 3)
    c.complete(case, "update_catalog", "caizheng.clerk", {"change_summary": "补贴发放信息摘要修订", "action": "submit"})
    yield bj(11, 25)
    item = c.supervision_of(case)
    c.engine.open_rectification(item, c.actor("supervisor"), "数长逾期未审核目录更新")
    c.expect(case, "catalog_change: 数长 sat on the update, 督办 confirmed on the dashboard", "act",
             ["internal_approval", "internal_approval_supervise"])
    c.expect(c.violation_case(item), "rectification: opened from a catalog 督办 on the dashboard, notice late",
             "act", ["notice"])


@scenario
def cc_published(c: County):
    yield bj(10, 12)
    case = c.start("catalog_change", "zhujian.clerk", change("zhujian", "2026-10-09"))
    c.edit_catalog(case, "zhujian", {
        "code": "HN-ZJ-003", "name": "商品房预售许可信息", "classification": "department", "category": "住房城建",
        "summary": "商品房预售许可证核发信息", "format": "database",
        "data_items": [{"name": "预售许可证号", "type": "字符", "description": ""},
                       {"name": "项目名称", "type": "字符", "description": ""}],
        "update_frequency": "weekly", "share_type": "unconditional", "share_method": "interface",
        "usage_requirements": "仅用于申请时载明的应用场景", "materials": ["共享申请表（加盖使用部门公章）", "应用场景说明"],
        "open_type": "open", "status": "active"})
    yield bj(10, 13)
    c.complete(case, "update_catalog", "zhujian.clerk", {"change_summary": "新增商品房预售许可信息", "action": "submit"})
    yield bj(10, 14)
    c.complete(case, "internal_approval", "zhujian.head", {"head_decision": "approve"})
    yield bj(10, 15)
    c.complete(case, "report", "zhujian.clerk", {"report_note": "报送更新后的目录"})
    yield bj(10, 16)
    c.complete(case, "authority_review", "supervisor", {"review_decision": "approve", "review_opinion": "同意发布"})
    c.completed(case, "catalog_change: published", "published")


@scenario
def cc_withdrawn(c: County):
    yield bj(10, 19)
    case = c.start("catalog_change", "jiaotong.clerk", change("jiaotong", "2026-10-16"))
    yield bj(10, 20)
    c.complete(case, "update_catalog", "jiaotong.clerk", {"change_summary": "经核实无需变更", "action": "withdraw"})
    c.completed(case, "catalog_change: withdrawn", "withdrawn")


@scenario
def cc_returned_by_the_authority(c: County):
    yield bj(12, 1)
    case = c.start("catalog_change", "nongye.clerk", change("nongye", "2026-12-01"))
    c.edit_catalog(case, "nongye")
    yield bj(12, 2)
    c.complete(case, "update_catalog", "nongye.clerk", {"change_summary": "补贴信息摘要修订", "action": "submit"})
    yield bj(12, 3)
    c.complete(case, "internal_approval", "nongye.head", {"head_decision": "approve"})
    yield bj(12, 4)
    c.complete(case, "report", "nongye.clerk", {"report_note": "报送更新后的目录"})
    yield bj(12, 16)
    c.complete(case, "authority_review", "supervisor", {"review_decision": "return",
                                                         "review_opinion": "请补充共享条件的法律依据"})
    c.expect(case, "catalog_change: returned by the authority, rework period running", "act", ["update_catalog"])


# -- 复核 data_review ---------------------------------------------------------------------------------

@scenario
def dr_fresh_provisional(c: County):
    yield bj(12, 21)
    case = c.start("data_review", citizen(), objection(record_ref="户籍地址（新收件）"))
    yield bj(12, 21, 14)
    c.engine.claim(c.task_id(case, "verify_answer"), c.actor("gongan.clerk"))
    c.expect(case, "data_review: fresh objection, claimed, period provisional (into 2027)", "wait",
             ["request_extension", "verify_answer"])


@scenario
def dr_reminded(c: County):
    yield bj(12, 7)
    case = c.start("data_review", citizen(), objection(record_ref="户籍地址（已提醒）"))
    c.expect(case, "data_review: answer reminded, due today", "wait", ["request_extension", "verify_answer"])


@scenario
def dr_extension_asked(c: County):
    yield bj(12, 10)
    case = c.start("data_review", citizen(), objection("HN-MZ-001", record_ref="婚姻登记日期"))
    yield bj(12, 14)
    attach(c, case, "verify_answer", "minzheng.clerk", "婚姻登记档案调取申请.txt", "申请调取 2019 年婚姻登记纸质档案。")
    c.complete(case, "request_extension", "minzheng.clerk",
               {"extension_days": 5, "extension_reason": "需调取婚姻登记纸质档案核对"})
    c.expect(case, "data_review: extension asked, 数长's approval waiting", "act",
             ["approve_extension", "verify_answer"])


@scenario
def dr_extended(c: County):
    yield bj(12, 1)
    case = c.start("data_review", citizen(), objection(record_ref="户籍地址（已延期）"))
    yield bj(12, 2)
    c.complete(case, "request_extension", "gongan.clerk", {"extension_days": 5, "extension_reason": "需调取纸质户籍档案"})
    yield bj(12, 3)
    c.complete(case, "approve_extension", "gongan.head", {"approve": True, "opinion": "同意延长"})
    c.engine.add_comment(case, c.actor("gongan.head"), "请在延长期限内办结并答复申请人。")
    c.expect(case, "data_review: extension approved, period moved", "act", ["verify_answer"])


@scenario
def dr_supervised(c: County):
    yield bj(11, 16)
    case = c.start("data_review", citizen(), objection(record_ref="户籍地址（超期）"))
    yield bj(12, 2)
    c.engine.urge_task(c.task_id(case, "verify_answer"), c.actor("supervisor"), "请尽快答复申请人")
    c.engine.add_comment(case, c.actor("supervisor"), "已超期，请说明原因。")
    c.expect(case, "data_review: overdue, 督办 decision open, 催办 sent", "act",
             ["verify_answer", "verify_answer_supervise"])


@scenario
def dr_supervision_confirmed(c: County):
    yield bj(11, 9)
    case = c.start("data_review", citizen(), objection(record_ref="户籍地址（立案整改）"))
    yield bj(11, 26)
    item = c.supervision_of(case)
    rectification = c.engine.open_rectification(item, c.actor("supervisor"), "复核申请逾期未答复")
    yield bj(11, 27)
    c.complete(rectification, "notice", "supervisor",
               {"notice_requirements": "建立复核申请办理台账，按期答复", "notice_days": 20})
    c.expect(case, "data_review: overdue, 督办 confirmed on the dashboard, in-case decision open", "act",
             ["verify_answer", "verify_answer_supervise"])
    c.expect(rectification, "rectification: opened from a 复核 督办, rectify waiting", "act", ["rectify"])


@scenario
def dr_supervision_dismissed(c: County):
    yield bj(11, 2)
    case = c.start("data_review", citizen(), objection(record_ref="户籍地址（不予立案）"))
    yield bj(11, 18)
    c.complete(case, "verify_answer_supervise", "supervisor", {"decision": "dismiss", "note": "已电话督促"})
    c.expect(case, "data_review: overdue, 督办 dismissed in the case", "act", ["verify_answer"])


@scenario
def dr_corrected(c: County):
    yield bj(10, 12)
    case = c.start("data_review", citizen(), objection(record_ref="户籍地址（已更正）"))
    yield bj(10, 14)
    c.complete(case, "verify_answer", "gongan.clerk", {
        "outcome": "corrected", "answer": "经核实，门牌号登记有误，已更正。", "correction": "门牌号由 21 号更正为 12 号"})
    c.completed(case, "data_review: answered, corrected", "corrected")


@scenario
def dr_confirmed(c: County):
    yield bj(10, 13)
    case = c.start("data_review", "shichang.clerk", objection(objector_kind="department", record_ref="户籍地址（无误）"))
    yield bj(10, 20)
    c.complete(case, "verify_answer", "gongan.clerk", {"outcome": "confirmed", "answer": "经核实，数据与原始登记一致。"})
    c.completed(case, "data_review: department objector, answered, confirmed", "confirmed")


# -- 不一致协调 inconsistency_arbitration -------------------------------------------------------------

GA, MZ, RS = "340822101", "340822103", "340822104"


def positions(c: County, case: int, departments: dict[str, str]) -> None:
    for dept, login in departments.items():
        c.complete(case, "state_position", login, {"position": f"{dept} 的登记值正确", "evidence": "原始登记档案"},
                   department=dept)


def propose(c: County, case: int, prevailing: str = GA) -> None:
    c.complete(case, "propose_resolution", "gongan.clerk", {
        "proposal_action": "propose", "proposed_prevailing": prevailing, "resolution_text": "以公安户籍登记为准"},
        department=GA)


@scenario
def ia_positions_provisional(c: County):
    yield bj(12, 21)
    case = c.start("inconsistency_arbitration", "supervisor", inconsistency())
    c.expect(case, "inconsistency: positions waiting, negotiation provisional (into 2027)", "wait",
             ["state_position", "state_position"])


@scenario
def ia_propose(c: County):
    yield bj(12, 14)
    case = c.start("inconsistency_arbitration", "minzheng.clerk", inconsistency())
    yield bj(12, 15)
    positions(c, case, {GA: "gongan.clerk", MZ: "minzheng.clerk"})
    c.expect(case, "inconsistency: the lead department's proposal waiting", "act", ["propose_resolution"])


@scenario
def ia_negotiate(c: County):
    yield bj(12, 7)
    case = c.start("inconsistency_arbitration", "supervisor", inconsistency())
    yield bj(12, 8)
    positions(c, case, {GA: "gongan.clerk", MZ: "minzheng.clerk"})
    yield bj(12, 9)
    propose(c, case)
    c.expect(case, "inconsistency: acceptance waiting, negotiation reminded, ends tonight", "wait", ["negotiate"])


@scenario
def ia_authority_decides(c: County):
    yield bj(12, 8)
    case = c.start("inconsistency_arbitration", "supervisor", inconsistency())
    yield bj(12, 9)
    positions(c, case, {GA: "gongan.clerk", MZ: "minzheng.clerk"})
    yield bj(12, 10)
    propose(c, case)
    yield bj(12, 14)
    c.complete(case, "negotiate", "minzheng.clerk", {"agree": False, "note": "民政登记有结婚证为据"}, department=MZ)
    c.expect(case, "inconsistency: disagreement, the authority's decision waiting", "act", ["authority_decide"])


@scenario
def ia_correct_three(c: County):
    yield bj(11, 30)
    case = c.start("inconsistency_arbitration", "supervisor", inconsistency("HN-GA-001\nHN-MZ-001\nHN-RS-001"))
    yield bj(12, 1)
    positions(c, case, {GA: "gongan.clerk", MZ: "minzheng.clerk", RS: "renshe.clerk"})
    yield bj(12, 2)
    propose(c, case)
    yield bj(12, 7)
    c.complete(case, "negotiate", "minzheng.clerk", {"agree": True}, department=MZ)
    c.complete(case, "negotiate", "renshe.clerk", {"agree": True, "note": "同意"}, department=RS)
    yield bj(12, 10)
    c.complete(case, "correct", "minzheng.clerk", {"correction_note": "已按公安户籍登记更正"}, department=MZ)
    c.expect(case, "inconsistency: three departments agreed, one correction still waiting", "act", ["correct"])


@scenario
def ia_correction_supervised(c: County):
    yield bj(11, 2)
    case = c.start("inconsistency_arbitration", "supervisor", inconsistency())
    yield bj(11, 3)
    positions(c, case, {GA: "gongan.clerk", MZ: "minzheng.clerk"})
    yield bj(11, 4)
    propose(c, case)
    yield bj(11, 5)
    c.complete(case, "negotiate", "minzheng.clerk", {"agree": True}, department=MZ)
    c.expect(case, "inconsistency: correction overdue, 督办 decision open", "act", ["correct", "correct_supervise"])


@scenario
def ia_confirm(c: County):
    yield bj(11, 23)
    case = c.start("inconsistency_arbitration", "supervisor", inconsistency())
    yield bj(11, 24)
    positions(c, case, {GA: "gongan.clerk", MZ: "minzheng.clerk"})
    yield bj(11, 25)
    propose(c, case)
    yield bj(11, 26)
    c.complete(case, "negotiate", "minzheng.clerk", {"agree": True}, department=MZ)
    yield bj(12, 4)
    c.complete(case, "correct", "minzheng.clerk", {"correction_note": "已更正婚姻状况"}, department=MZ)
    c.expect(case, "inconsistency: corrections made, the authority's confirmation waiting (late)", "act",
             ["authority_confirm"])


@scenario
def ia_negotiation_lapsed(c: County):
    yield bj(11, 16)
    case = c.start("inconsistency_arbitration", "supervisor", inconsistency())
    yield bj(11, 17)
    positions(c, case, {GA: "gongan.clerk"})
    c.expect(case, "inconsistency: negotiation lapsed without a position, the authority's decision waiting",
             "act", ["authority_decide"])


@scenario
def ia_agreed(c: County):
    yield bj(10, 12)
    case = c.start("inconsistency_arbitration", "gongan.clerk", inconsistency())
    yield bj(10, 13)
    positions(c, case, {GA: "gongan.clerk", MZ: "minzheng.clerk"})
    yield bj(10, 14)
    propose(c, case)
    yield bj(10, 15)
    c.complete(case, "negotiate", "minzheng.clerk", {"agree": True}, department=MZ)
    yield bj(10, 19)
    c.complete(case, "correct", "minzheng.clerk", {"correction_note": "已更正"}, department=MZ)
    yield bj(10, 20)
    c.complete(case, "authority_confirm", "supervisor", {"confirm_note": "经核查已更正"})
    c.completed(case, "inconsistency: agreed, corrected, confirmed", "agreed")


@scenario
def ia_decided(c: County):
    yield bj(10, 19)
    case = c.start("inconsistency_arbitration", "supervisor", inconsistency())
    yield bj(10, 20)
    positions(c, case, {GA: "gongan.clerk", MZ: "minzheng.clerk"})
    yield bj(10, 21)
    c.complete(case, "propose_resolution", "gongan.clerk",
               {"proposal_action": "escalate", "proposal_note": "双方各有登记依据，请主管部门协调"}, department=GA)
    yield bj(10, 22)
    c.complete(case, "authority_decide", "supervisor",
               {"prevailing_department": MZ, "decision": "以民政婚姻登记为准，公安更正"})
    yield bj(10, 26)
    c.complete(case, "correct", "gongan.clerk", {"correction_note": "已更正婚姻状况"}, department=GA)
    yield bj(10, 27)
    c.complete(case, "authority_confirm", "supervisor", {"confirm_note": "已确认"})
    c.completed(case, "inconsistency: decided by the authority, corrected, confirmed", "decided")


# -- 违规整改 rectification ---------------------------------------------------------------------------

def notice(c: County, case: int, days: int) -> None:
    c.complete(case, "notice", "supervisor", {"notice_requirements": "补充编制目录并停止目录外采集", "notice_days": days})


def report(c: County, case: int, slug: str, rnd: str = "") -> None:
    c.complete(case, f"rectify{rnd}", f"{slug}.clerk", {f"report{rnd}": "已补充编制目录，停止目录外采集"})


def sign(c: County, case: int, slug: str, rnd: str = "") -> None:
    c.complete(case, f"sign{rnd}", f"{slug}.head", {f"sign_decision{rnd}": "approve"})


def order(c: County, case: int, days: int) -> None:
    c.complete(case, "order", "county", {"order_requirements": "限期完成目录编制", "order_days": days})


def ladder(c: County, slug: str):
    """Started 10-12, notice of 3 days missed, order of 3 days missed: criticism waiting from 10-23."""
    yield bj(10, 12)
    case = c.start("rectification", "supervisor", violation(slug))
    notice(c, case, 3)
    yield bj(10, 19)
    order(c, case, 3)
    return case


@scenario
def rect_notice(c: County):
    yield bj(12, 18)
    case = c.start("rectification", "supervisor", violation("shichang", "3"))
    c.expect(case, "rectification: notice waiting", "act", ["notice"])


@scenario
def rect_rectify_reminded(c: County):
    yield bj(12, 8)
    case = c.start("rectification", "supervisor", violation("renshe"))
    yield bj(12, 9)
    notice(c, case, 8)
    c.expect(case, "rectification: rectify waiting, reminded, ends tonight", "wait", ["rectify"])


@scenario
def rect_sign(c: County):
    yield bj(12, 9)
    case = c.start("rectification", "supervisor", violation("yibao"))
    yield bj(12, 10)
    notice(c, case, 10)
    yield bj(12, 18)
    report(c, case, "yibao")
    c.expect(case, "rectification: 数长's signature waiting", "act", ["sign"])


@scenario
def rect_verify(c: County):
    yield bj(12, 1)
    case = c.start("rectification", "supervisor", violation("weijian"))
    notice(c, case, 10)
    yield bj(12, 9)
    report(c, case, "weijian")
    yield bj(12, 10)
    sign(c, case, "weijian")
    c.expect(case, "rectification: the authority's verification waiting (late)", "act", ["verify"])


@scenario
def rect_order(c: County):
    yield bj(11, 16)
    case = c.start("rectification", "supervisor", violation("ziran"))
    notice(c, case, 5)
    c.expect(case, "rectification: notice period missed, the county government's order waiting", "act", ["order"])


def second_round(c: County, slug: str, steps: int):
    yield bj(11, 9)
    case = c.start("rectification", "supervisor", violation(slug, "3"))
    notice(c, case, 5)
    yield bj(11, 18)
    order(c, case, 25)
    if steps >= 1:
        yield bj(12, 15)
        report(c, case, slug, "2")
    if steps >= 2:
        yield bj(12, 16)
        sign(c, case, slug, "2")
    return case


@scenario
def rect_rectify2(c: County):
    case = yield from second_round(c, "tongji", 0)
    c.expect(case, "rectification: ordered, correction report waiting", "act", ["rectify2"])


@scenario
def rect_sign2(c: County):
    case = yield from second_round(c, "jiaoyu", 1)
    c.expect(case, "rectification: ordered, 数长's signature of the correction waiting", "act", ["sign2"])


@scenario
def rect_verify2(c: County):
    case = yield from second_round(c, "caizheng", 2)
    c.expect(case, "rectification: ordered, the authority's verification of the correction waiting", "act",
             ["verify2"])


@scenario
def rect_criticism(c: County):
    case = yield from ladder(c, "zhujian")
    c.expect(case, "rectification: order missed, 通报批评 waiting", "act", ["criticism"])


@scenario
def rect_assess(c: County):
    case = yield from ladder(c, "jiaotong")
    yield bj(10, 26)
    c.complete(case, "criticism", "county", {"criticism_text": "予以通报批评"})
    c.expect(case, "rectification: criticised, assessment waiting", "act", ["assess"])


@scenario
def rect_referral(c: County):
    case = yield from ladder(c, "nongye")
    yield bj(10, 26)
    c.complete(case, "criticism", "county", {"criticism_text": "予以通报批评"})
    yield bj(10, 27)
    c.complete(case, "assess", "supervisor", {"serious": "yes", "serious_note": "多次违规，情节严重"})
    c.expect(case, "rectification: serious, referral (untimed) waiting", "act", ["referral"])


@scenario
def rect_rectified(c: County):
    yield bj(10, 12)
    case = c.start("rectification", "supervisor", violation("shuili"))
    notice(c, case, 10)
    yield bj(10, 19)
    report(c, case, "shuili")
    sign(c, case, "shuili")
    yield bj(10, 20)
    c.complete(case, "verify", "supervisor", {"verify_result": "accepted", "verify_opinion": "经核查整改到位"})
    c.completed(case, "rectification: rectified", "rectified")


@scenario
def rect_criticised(c: County):
    case = yield from ladder(c, "yingji")
    yield bj(10, 26)
    c.complete(case, "criticism", "county", {"criticism_text": "予以通报批评"})
    yield bj(10, 27)
    c.complete(case, "assess", "supervisor", {"serious": "no", "serious_note": "首次违规，情节轻微"})
    c.completed(case, "rectification: criticised, closed", "criticised")


@scenario
def rect_referred(c: County):
    case = yield from ladder(c, "sifa")
    yield bj(10, 26)
    c.complete(case, "criticism", "county", {"criticism_text": "予以通报批评"})
    yield bj(10, 27)
    c.complete(case, "assess", "supervisor", {"serious": "yes", "serious_note": "拒不改正，情节严重"})
    yield bj(10, 28)
    c.complete(case, "referral", "discipline", {"responsible_persons": "分管副局长", "referral_decision": "给予警告处分"})
    c.completed(case, "rectification: referred", "referred")


@scenario
def rect_rectify_provisional(c: County):
    yield bj(12, 21)
    case = c.start("rectification", "supervisor", violation("tuiyi"))
    yield bj(12, 21, 11)
    notice(c, case, 10)
    c.expect(case, "rectification: rectify waiting, period provisional (into 2027), its end held", "wait",
             ["rectify"])


# -- 共享申请 share_application -----------------------------------------------------------------------

def apply(c: County, resource: str, consumer: str, first: str = "2026-12-01", last: str = "2027-06-30") -> int:
    who, data = share(resource, consumer, first, last)
    return c.start("share_application", who, data)


@scenario
def sa_review_claimed(c: County):
    yield bj(12, 18)
    case = apply(c, "HN-GA-001", "minzheng", "2026-12-21")
    yield bj(12, 21, 14)
    c.engine.claim(c.task_id(case, "provider_review"), c.actor("gongan.clerk"))
    c.expect(case, "share_application: provider review waiting, claimed", "wait", ["provider_review"])


@scenario
def sa_supplement(c: County):
    yield bj(12, 10)
    case = apply(c, "HN-GA-001", "shichang")
    yield bj(12, 11)
    c.complete(case, "provider_review", "gongan.clerk", ASK)
    c.expect(case, "share_application: materials asked, supplement waiting", "act", ["supplement_materials"])


@scenario
def sa_explanation(c: County):
    yield bj(12, 17)
    case = apply(c, "HN-GA-003", "renshe")
    c.expect(case, "share_application: 不予共享 resource, the provider's explanation waiting", "act",
             ["provider_explanation"])


@scenario
def sa_after_refusal(c: County):
    yield bj(12, 14)
    case = apply(c, "HN-GA-001", "yibao")
    yield bj(12, 16)
    c.complete(case, "provider_review", "gongan.clerk", REFUSE)
    c.expect(case, "share_application: refused, the applicant's window running", "wait", ["after_refusal"])


@scenario
def sa_coordinate(c: County):
    yield bj(12, 14)
    case = apply(c, "HN-GA-001", "weijian")
    yield bj(12, 15)
    c.complete(case, "provider_review", "gongan.clerk", REFUSE)
    yield bj(12, 16)
    c.complete(case, "after_refusal", "weijian.clerk", COORDINATE)
    c.expect(case, "share_application: the authority's coordination waiting", "act", ["coordinate"])


@scenario
def sa_grant_ordered(c: County):
    yield bj(12, 10)
    case = apply(c, "HN-GA-001", "ziran")
    yield bj(12, 11)
    c.complete(case, "provider_review", "gongan.clerk", REFUSE)
    yield bj(12, 14)
    c.complete(case, "after_refusal", "ziran.clerk", COORDINATE)
    yield bj(12, 17)
    c.complete(case, "coordinate", "supervisor", SHARE_ORDERED)
    c.expect(case, "share_application: share ordered, the provider's grant waiting", "act", ["grant_ordered"])


@scenario
def sa_review_supervised(c: County):
    yield bj(11, 23)
    case = apply(c, "HN-GA-001", "tongji")
    c.expect(case, "share_application: review overdue, 督办 decision open", "act",
             ["provider_review", "provider_review_supervise"])


@scenario
def sa_explanation_supervised(c: County):
    yield bj(11, 23)
    case = apply(c, "HN-GA-003", "jiaoyu")
    c.expect(case, "share_application: explanation overdue, 督办 decision open", "act",
             ["provider_explanation", "provider_explanation_supervise"])


@scenario
def sa_ordered_grant_supervised(c: County):
    yield bj(11, 9)
    case = apply(c, "HN-GA-001", "caizheng")
    yield bj(11, 10)
    c.complete(case, "provider_review", "gongan.clerk", REFUSE)
    yield bj(11, 11)
    c.complete(case, "after_refusal", "caizheng.clerk", COORDINATE)
    yield bj(11, 12)
    c.complete(case, "coordinate", "supervisor", SHARE_ORDERED)
    c.expect(case, "share_application: ordered grant overdue, 督办 decision open", "act",
             ["grant_ordered", "grant_ordered_supervise"])


@scenario
def sa_active_grant_and_renewal(c: County):
    yield bj(11, 30)
    case = apply(c, "HN-GA-001", "minzheng")
    yield bj(12, 2)
    c.complete(case, "provider_review", "gongan.clerk", APPROVE)
    c.expect(case, "share_application: granted, grant active until 2027-06-30", "act")
    yield bj(12, 18)
    from engine import grant_service
    grant, clerk = c.grant_of(case), c.actor("minzheng.clerk")
    renewal = grant_service.start_renewal(c.engine, grant, clerk, grant_service.renewal_form(c.engine, grant, clerk))
    c.expect(renewal, "share_application: renewal of an active grant, provider review waiting", "act",
             ["provider_review"])


@scenario
def sa_unconditional_noticed(c: County):
    yield bj(10, 12)
    case = apply(c, "HN-SJ-001", "minzheng", "2026-10-15", "2026-12-31")
    c.expect(case, "share_application: 无条件共享 granted at once, expiry notice sent", "act")


@scenario
def sa_revoked(c: County):
    yield bj(11, 16)
    case = apply(c, "HN-GA-001", "zhujian", "2026-11-20", "2027-03-31")
    yield bj(11, 18)
    c.complete(case, "provider_review", "gongan.clerk", APPROVE)
    yield bj(12, 8)
    from engine import grant_service
    grant_service.revoke_grant(c.engine, c.grant_of(case), c.actor("gongan.head"), "使用部门超范围使用数据",
                               "《怀宁县政务数据资源管理暂行办法》第十四条")
    c.expect(case, "share_application: grant revoked, the case waits for the period's end", "act")


@scenario
def sa_expired(c: County):
    yield bj(10, 12)
    case = apply(c, "HN-GA-001", "jiaotong", "2026-10-15", "2026-11-30")
    yield bj(10, 14)
    c.complete(case, "provider_review", "gongan.clerk", APPROVE)
    c.completed(case, "share_application: granted, grant expired", "granted")


@scenario
def sa_refused(c: County):
    yield bj(10, 12)
    case = apply(c, "HN-GA-001", "nongye")
    yield bj(10, 13)
    c.complete(case, "provider_review", "gongan.clerk", REFUSE)
    yield bj(10, 14)
    c.complete(case, "after_refusal", "nongye.clerk", {"next_step": "accept"})
    c.completed(case, "share_application: refused, accepted", "refused")


@scenario
def sa_withdrawn(c: County):
    yield bj(10, 19)
    case = apply(c, "HN-GA-001", "shuili")
    yield bj(10, 20)
    c.complete(case, "provider_review", "gongan.clerk", ASK)
    yield bj(10, 21)
    c.complete(case, "supplement_materials", "shuili.clerk", {"supplement_action": "withdraw"})
    c.completed(case, "share_application: withdrawn by the applicant", "withdrawn")


@scenario
def sa_withdrawn_by_silence(c: County):
    yield bj(10, 19)
    case = apply(c, "HN-GA-001", "yingji")
    yield bj(10, 20)
    c.complete(case, "provider_review", "gongan.clerk", ASK)
    c.completed(case, "share_application: withdrawn by the applicant's silence (timer)", "withdrawn")


@scenario
def sa_refusal_stands(c: County):
    yield bj(10, 26)
    case = apply(c, "HN-GA-001", "sifa")
    yield bj(10, 27)
    c.complete(case, "provider_review", "gongan.clerk", REFUSE)
    c.completed(case, "share_application: refusal stands, the window lapsed (timer)", "refused")


@scenario
def sa_upheld(c: County):
    yield bj(10, 26)
    case = apply(c, "HN-GA-001", "tuiyi")
    yield bj(10, 27)
    c.complete(case, "provider_review", "gongan.clerk", REFUSE)
    yield bj(10, 28)
    c.complete(case, "after_refusal", "tuiyi.clerk", COORDINATE)
    yield bj(10, 29)
    c.complete(case, "coordinate", "supervisor", {"coordination": "upheld", "coordination_note": "依据充分，维持不予共享"})
    c.completed(case, "share_application: coordination upheld the refusal", "refused")


@scenario
def sa_grant_expired_supervision_open(c: County):
    yield bj(10, 12)
    case = apply(c, "HN-GA-001", "fagai", "2026-10-15", "2026-11-30")
    yield bj(10, 21)
    c.complete(case, "provider_review", "gongan.clerk", APPROVE)
    c.expect(case, "share_application: approved late, grant expired, 督办 decision still open", "act",
             ["provider_review_supervise"])


@scenario
def sa_supplement_provisional(c: County):
    yield bj(12, 18)
    case = apply(c, "HN-GA-001", "shuiwu")
    yield bj(12, 21, 11)
    c.complete(case, "provider_review", "gongan.clerk", ASK)
    c.expect(case, "share_application: materials asked, supplement period provisional, withdrawal held", "wait",
             ["supplement_materials"])


# ==================================================================================================
# building, checking, dumping
# ==================================================================================================

def run_county(database_url: str) -> County:
    """Migrate, seed, deploy and let the county work until NOW; return it (checked)."""
    from engine.bootstrap import build_engine
    from engine.clock import FrozenClock
    from engine.config import Config
    from engine.demo.seed import seed_demo
    from engine.migrate import upgrade

    DEPT.update(_demo_tables()[0])
    CATALOG_CODES.update(_demo_tables()[1])
    clock = FrozenClock(instant(INSTALLED))
    engine = build_engine(Config(database_url=database_url), clock=clock)
    upgrade(engine.db_engine)
    seed_demo(engine)
    for path in sorted(engine.config.bpmn_dir.glob("*.bpmn")):
        engine.deploy(path.read_bytes(), "system:deploy")
    county = County(engine, clock)
    queue: list = []
    counter = itertools.count()
    for make in SCENARIOS:
        gen = make(county)
        heapq.heappush(queue, (next(gen), next(counter), make.__name__, gen))
    while queue:
        at, _, name, gen = heapq.heappop(queue)
        county.advance_to(at)
        try:
            following = next(gen)
        except StopIteration:
            continue
        except Exception as exc:
            raise RuntimeError(f"scenario {name} failed at {at}: {exc}") from exc
        heapq.heappush(queue, (following, next(counter), name, gen))
    county.advance_to(instant(NOW))
    check(county)
    return county


def case_states(engine) -> list[dict]:
    import sqlalchemy as sa
    from engine.models import Case, HumanTask
    with engine.uow() as uow:
        s = uow.session
        open_steps: dict[int, list[str]] = {}
        for case_id, element in s.execute(sa.select(HumanTask.case_id, HumanTask.element_id)
                                          .where(HumanTask.state == "ready")):
            open_steps.setdefault(case_id, []).append(element)
        return [{"id": c.id, "number": c.number, "process_id": c.process_id, "status": c.status,
                 "outcome": c.outcome, "open": sorted(open_steps.get(c.id, []))}
                for c in s.scalars(sa.select(Case).order_by(Case.id))]


def check(county: County) -> None:
    """Every case is in the state its scenario expects; the audit chain verifies."""
    problems = []
    states = case_states(county.engine)
    for state in states:
        want = county.expected.get(state["id"])
        if want is None:
            problems.append(f"case {state['id']} ({state['process_id']}) has no scenario: {state}")
            continue
        got = (state["status"], state["outcome"], state["open"])
        if got != (want.status, want.outcome, want.open):
            problems.append(f"case {state['id']} {want.label!r}: expected {(want.status, want.outcome, want.open)}, "
                            f"got {got}")
    missing = set(county.expected) - {s["id"] for s in states}
    problems += [f"case {m} expected but not found" for m in sorted(missing)]
    finding = county.engine.verify_audit()
    if finding is not None:
        problems.append(f"audit chain: {finding}")
    if problems:
        raise SystemExit("the county is not in the expected state:\n  " + "\n  ".join(problems))


def table_counts(engine) -> dict[str, int]:
    import sqlalchemy as sa
    names = sa.inspect(engine.db_engine).get_table_names()
    with engine.db_engine.connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
                for name in sorted(names)}


def manifest_cases(county: County) -> list[dict]:
    return [{**state, "label": county.expected[state["id"]].label, "continue": county.expected[state["id"]].mode}
            for state in case_states(county.engine)]


def alembic_revision(engine) -> str:
    import sqlalchemy as sa
    with engine.db_engine.connect() as conn:
        return conn.execute(sa.text("select version_num from alembic_version")).scalar_one()


def make_sqlite(out: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "govflow.sqlite3"
        county = run_county(f"sqlite:///{path}")
        info = {"revision": alembic_revision(county.engine), "tables": table_counts(county.engine),
                "cases": manifest_cases(county), "timers_fired": county.fired}
        county.engine.db_engine.dispose()
        with sqlite3.connect(path) as conn:
            text = "\n".join(conn.iterdump()) + "\n"
        conn.close()
    return {**info, "file": write_dump(out / f"govflow-{info['revision']}.sqlite.sql.gz", text)}


def write_dump(target: Path, text: str) -> str:
    """Gzip the SQL text (about a tenth of its size; no timestamp in the header)."""
    with target.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw,
                                                 mtime=0) as packed:
        packed.write(text.encode("utf-8"))
    return target.name


def _libpq(url: str) -> str:
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def make_postgres(out: Path) -> dict:
    import sqlalchemy as sa
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        county = run_county(f"{PG_URL}{sep}options=-csearch_path%3D{PG_SCHEMA}")
        info = {"revision": alembic_revision(county.engine), "tables": table_counts(county.engine),
                "cases": manifest_cases(county), "timers_fired": county.fired}
        county.engine.db_engine.dispose()
        dumped = subprocess.run(["pg_dump", "--schema", PG_SCHEMA, "--inserts", "--no-owner", "--no-privileges",
                                 "--no-comments", "--dbname", _libpq(PG_URL)],
                                check=True, capture_output=True, text=True).stdout
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        admin.dispose()
    # pg_dump 15.14+ brackets its output with psql-only \restrict lines: drop them, so that any
    # client (the test runs the file through psycopg) can execute the dump.
    text = "".join(line for line in dumped.splitlines(keepends=True) if not line.startswith("\\"))
    return {**info, "file": write_dump(out / f"govflow-{info['revision']}.postgresql.sql.gz", text)}


def write_manifest(out: Path, dumps: dict[str, dict], commit: str) -> None:
    cases = {kind: d.pop("cases") for kind, d in dumps.items()}
    releases = {d["revision"] for d in dumps.values()}
    if len(releases) != 1:
        raise SystemExit(f"the databases are at different revisions: {releases}")
    release = releases.pop()  # a release is named after its Alembic head
    first = next(iter(cases.values()))
    for kind, found in cases.items():
        strip = [{k: v for k, v in c.items() if k != "number"} for c in found]
        if strip != [{k: v for k, v in c.items() if k != "number"} for c in first]:
            raise SystemExit(f"the {kind} county differs from the others")
    for kind, info in dumps.items():
        packed = (out / info["file"]).read_bytes()
        sql = gzip.decompress(packed)
        info.update(bytes=len(packed), sql_bytes=len(sql), sql_sha256=hashlib.sha256(sql).hexdigest())
    manifest = {
        "release": release, "commit": commit, "made_by": "tools/release_fixture.py",
        "now": instant(NOW).isoformat(), "installed": instant(INSTALLED).isoformat(),
        "pg_schema": PG_SCHEMA, "dumps": dumps, "cases": first}
    (out / f"govflow-{release}.manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def generate_here(out: Path, kinds: list[str], commit: str, force: bool) -> None:
    from alembic.script import ScriptDirectory
    from engine.migrate import MIGRATIONS
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if (out / f"govflow-{head}.manifest.json").exists() and not force:
        raise SystemExit(f"release {head} has its fixture already ({out}): a release's fixture is made once "
                         "(--force replaces one that was never committed)")
    out.mkdir(parents=True, exist_ok=True)
    dumps = {}
    for kind in kinds:
        print(f"{kind}: the county works from {instant(INSTALLED)} to {instant(NOW)} ...", flush=True)
        dumps[kind] = make_sqlite(out) if kind == "sqlite" else make_postgres(out)
        info = dumps[kind]
        running = sum(1 for c in info["cases"] if c["status"] == "running")
        print(f"  {len(info['cases'])} cases ({running} running), {info['timers_fired']} timers fired, "
              f"{(out / info['file']).stat().st_size:,} bytes -> {info['file']}", flush=True)
    write_manifest(out, dumps, commit)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", default="HEAD", help="the release's commit (default HEAD)")
    parser.add_argument("--here", action="store_true", help="use the code of the current tree, not the commit's")
    parser.add_argument("--only", choices=["sqlite", "postgresql"],
                        help="one database kind only (a trial run: the manifest then lists that one only)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--force", action="store_true", help="replace the release's fixture (never a committed one)")
    parser.add_argument("--commit-id", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    if args.here:
        generate_here(args.out.resolve(), kinds, args.commit_id or "working tree", args.force)
        return
    root = Path(__file__).resolve().parent.parent
    commit = subprocess.run(["git", "rev-parse", args.commit], cwd=root, check=True, capture_output=True,
                            text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="govflow-release-") as tmp:
        archive = subprocess.run(["git", "archive", commit], cwd=root, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        shutil.copy2(Path(__file__), Path(tmp) / "tools" / "release_fixture.py")  # this generator, as it is now
        print(f"the release of commit {commit[:12]} (exported to {tmp})", flush=True)
        command = [sys.executable, "-m", "tools.release_fixture", "--here", "--out", str(args.out.resolve()),
                   "--commit-id", commit] + (["--only", args.only] if args.only else []) + (
                   ["--force"] if args.force else [])
        sys.exit(subprocess.run(command, cwd=tmp).returncode)


if __name__ == "__main__":
    main()
