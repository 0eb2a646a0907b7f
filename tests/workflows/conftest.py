"""A small county for walking the procedures: departments, people, a catalog, the five diagrams."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.bootstrap import register_hooks
from engine.calendar import BEIJING
from engine.domain import catalog, org
from engine.errors import GovflowError
from engine.models import Case, HumanTask
from engine.procedures import load_procedures
from engine.uow import Actor
from tests.conftest import make_engine

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
PASSWORD = "walk-the-procedures"
# GOVFLOW_COMPACTION_STRESS=1 (make test runs the SQLite half again so): every save drops all
# finished history beyond 8 levels once a tree has more than 10 tasks, so that every path of every
# procedure shows that compaction (engine/spiff/compaction.py) changes nothing a case does.
COMPACTION_STRESS = os.environ.get("GOVFLOW_COMPACTION_STRESS", "") not in ("", "0")


STRESS_DROPPED: list[int] = []  # tasks dropped per save in the stress run


@pytest.fixture(autouse=True)
def compaction_stress(monkeypatch):
    if COMPACTION_STRESS:
        from engine import runner
        from engine.spiff.compaction import compact

        def aggressive(workflow):
            STRESS_DROPPED.append(compact(workflow, above=10, keep=8))
            return STRESS_DROPPED[-1]
        monkeypatch.setattr(runner, "compact", aggressive)
    yield


def pytest_sessionfinish(session, exitstatus):
    """The stress run must have compacted something, or it proved nothing."""
    if COMPACTION_STRESS and exitstatus == 0 and session.testscollected and not sum(STRESS_DROPPED):
        session.exitstatus = 1
        print("\ncompaction stress: no task was dropped; the run proves nothing")
    elif COMPACTION_STRESS and session.testscollected:
        print(f"\ncompaction stress: {sum(STRESS_DROPPED)} tasks dropped in {sum(1 for n in STRESS_DROPPED if n)} saves")

DEPARTMENTS = [  # code, name, kind, login prefix
    ("340822001", "县数据资源管理局", "authority", "shuju"),
    ("340822002", "县人民政府", "county_government", "xianzhengfu"),
    ("340822003", "县纪委监委", "discipline", "jiwei"),
    ("340822101", "县公安局", "county_department", "gongan"),
    ("340822102", "县市场监督管理局", "county_department", "shichang"),
    ("340822103", "县民政局", "county_department", "minzheng"),
]
PEOPLE = [  # login, department code, roles
    ("supervisor", "340822001", {"authority"}),
    ("county", "340822002", {"county_gov"}),
    ("discipline", "340822003", {"discipline"}),
    ("gongan.clerk", "340822101", {"provider_clerk", "consumer_clerk"}),
    ("gongan.head", "340822101", {"dept_head"}),
    ("shichang.clerk", "340822102", {"provider_clerk", "consumer_clerk"}),
    ("shichang.head", "340822102", {"dept_head"}),
    ("minzheng.clerk", "340822103", {"provider_clerk", "consumer_clerk"}),
    ("minzheng.head", "340822103", {"dept_head"}),
]


def resource(code: str, name: str, share_type: str) -> dict:
    entry = {"code": code, "name": name, "classification": "base", "category": "人口",
             "summary": f"{name}（演示）", "format": "database",
             "data_items": [{"name": "公民身份号码", "type": "字符", "description": ""},
                            {"name": "姓名", "type": "字符", "description": ""}],
             "update_frequency": "daily", "share_type": share_type, "status": "active",
             "open_type": "open" if share_type == "unconditional" else "closed"}
    if share_type != "unconditional":
        entry.update(share_reason="涉及个人信息", share_basis="《中华人民共和国个人信息保护法》第三十四条",
                     open_reason="涉及个人信息")
    if share_type == "conditional":
        entry["share_conditions"] = "仅限履行法定职责所必需"
    if share_type != "none":
        entry.update(share_method="interface", usage_requirements="不得提供给第三方",
                     materials=["共享申请表", "应用场景说明"])
    return entry


CATALOG = {  # department code -> resources
    "340822101": [resource("HN-GA-001", "户籍人口基本信息", "conditional"),
                  resource("HN-GA-003", "刑事案件侦查信息", "none")],
    "340822102": [resource("HN-SJ-001", "市场主体登记信息", "unconditional")],
    "340822103": [resource("HN-MZ-001", "婚姻登记信息", "conditional")],
}


@dataclass
class World:
    """The engine plus the county's people; helpers act as a named person."""

    engine: object
    clock: object
    db_url: str
    actors: dict[str, Actor] = field(default_factory=dict)
    deploy_errors: dict[str, str] = field(default_factory=dict)

    def at(self, *args) -> None:
        """Set the clock to a Beijing wall-clock time: at(2026, 2, 12, 10, 0)."""
        self.clock.set(datetime(*args, tzinfo=BEIJING))

    def start(self, process_id: str, login: str, data: dict) -> int:
        return self.engine.start_case(process_id, self.actors[login], data)

    def task(self, case_id: int, element_id: str) -> HumanTask:
        with self.engine.uow() as uow:
            return uow.session.scalars(sa.select(HumanTask).where(
                HumanTask.case_id == case_id, HumanTask.element_id == element_id,
                HumanTask.state == "ready")).one()

    def open_elements(self, case_id: int) -> list[str]:
        with self.engine.uow() as uow:
            return sorted(uow.session.scalars(sa.select(HumanTask.element_id).where(
                HumanTask.case_id == case_id, HumanTask.state == "ready")))

    def complete(self, case_id: int, element_id: str, login: str, data: dict | None = None) -> None:
        self.engine.complete_task(self.task(case_id, element_id).id, self.actors[login], data or {})

    def case(self, case_id: int) -> Case:
        with self.engine.uow() as uow:
            return uow.session.get(Case, case_id)

    def reload(self) -> None:
        """A fresh engine on the same database (empty caches): the saved state must carry the case."""
        old = self.engine
        self.engine = register_hooks(make_engine(self.db_url, self.clock, procedures=load_procedures("workflows")))
        old.db_engine.dispose()

    def notified(self, case_id: int, kind: str) -> list[str]:
        """Who the bell told of this case, for one kind (reminder / overdue / new_task / answer), sorted."""
        from engine.domain.notifications import Notification
        with self.engine.uow() as uow:
            return sorted(uow.session.scalars(sa.select(Notification.login).where(
                Notification.case_id == case_id, Notification.kind == kind)))

    def fire_timers(self) -> int:
        from engine.timer_service import fire_due_timers
        return fire_due_timers(self.engine)


@pytest.fixture
def world(db_url, clock) -> World:
    engine = register_hooks(make_engine(db_url, clock, procedures=load_procedures("workflows")))
    w = World(engine, clock, db_url)
    with engine.uow() as uow:
        for code, name, kind, _ in DEPARTMENTS:
            org.create_department(uow.session, code, name, kind)
        for login, dept_code, roles in PEOPLE:
            person = org.create_person(uow.session, login, login, org.department_by_code(uow.session, dept_code),
                                       roles, PASSWORD, clock.now())
            w.actors[login] = person.actor()
        uow.commit()
    for dept_code, entries in CATALOG.items():
        with engine.uow() as uow:
            draft = catalog.open_draft(uow, dept_code, "seed", clock.now())
            for entry in entries:
                catalog.upsert_entry(uow, draft.id, entry, "seed", clock.now())
            catalog.publish_draft(uow, draft.id, "seed", clock.now(), basis="测试目录")
            uow.commit()
    for path in sorted(BPMN.glob("*.bpmn")):
        try:
            engine.deploy(path.read_bytes())
        except GovflowError as exc:  # another procedure's diagram being edited must not block this one
            w.deploy_errors[path.stem] = str(exc)
    yield w
    w.engine.db_engine.dispose()
