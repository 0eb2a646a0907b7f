"""Repeating timers (``timeCycle``): ISO 8601 ``R[n]/…`` in calendar time and ``cycle(workdays(n))`` in
working days, on non-interrupting boundary timers and event sub-process timer starts; each firing
recorded once, the deadline row's ``due_at`` the next occurrence (docs/deadlines.md)."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine import timer_service
from engine.calendar import BEIJING
from engine.errors import DefinitionError
from engine.models import AuditRecord, Case, Deadline, HumanTask
from engine.uow import Actor
from tests.conftest import make_engine

ADMIN = Actor("root", frozenset({"admin"}))

BOUNDARY = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="{pid}" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <userTask id="work"/>
    <sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <endEvent id="end"/>
    <boundaryEvent id="nudge" attachedToRef="work" cancelActivity="{cancel}">
      <timerEventDefinition><timeCycle>{cycle}</timeCycle></timerEventDefinition>
    </boundaryEvent>
    <sequenceFlow id="f3" sourceRef="nudge" targetRef="chase"/>
    <userTask id="chase"/>
    <sequenceFlow id="f4" sourceRef="chase" targetRef="chased"/>
    <endEvent id="chased"/>
  </process>
</definitions>"""

EVENT_SUBPROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="esp" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <userTask id="work"/>
    <sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <endEvent id="end"/>
    <subProcess id="watch" triggeredByEvent="true">
      <startEvent id="tick" isInterrupting="false">
        <timerEventDefinition><timeCycle>R2/PT1H</timeCycle></timerEventDefinition>
      </startEvent>
      <sequenceFlow id="s1" sourceRef="tick" targetRef="look"/>
      <userTask id="look"/>
      <sequenceFlow id="s2" sourceRef="look" targetRef="seen"/>
      <endEvent id="seen"/>
    </subProcess>
  </process>
</definitions>"""


@pytest.fixture
def eng(db_url, clock):
    engine = make_engine(db_url, clock, procedures={})
    yield engine
    engine.db_engine.dispose()


def _deploy(eng, cycle: str, pid: str = "cyc", cancel: str = "false"):
    return eng.deploy(BOUNDARY.format(pid=pid, cycle=cycle, cancel=cancel).encode())


def _open(eng, case_id, element_id) -> list[HumanTask]:
    with eng.session_factory() as s:
        return list(s.scalars(sa.select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.state == "ready",
                                                         HumanTask.element_id == element_id)))


def _rows(eng, case_id) -> list[Deadline]:
    with eng.session_factory() as s:
        return list(s.scalars(sa.select(Deadline).where(Deadline.case_id == case_id)))


def _fired(eng, case_id) -> list[dict]:
    with eng.session_factory() as s:
        return [json.loads(x) for x in s.scalars(sa.select(AuditRecord.summary).where(
            AuditRecord.case_id == case_id, AuditRecord.action == "timer_fired").order_by(AuditRecord.id))]


def _status(eng, case_id) -> str:
    with eng.session_factory() as s:
        return s.get(Case, case_id).status


def test_bounded_cycle_fires_each_occurrence_once_and_its_branches_outlive_the_activity(eng, clock):
    _deploy(eng, "R3/PT10M")
    case_id = eng.start_case("cyc", ADMIN)
    start = clock.now()
    [row] = _rows(eng, case_id)
    assert row.state == "waiting" and (row.due_at - start).total_seconds() == 600
    clock.advance(minutes=15)
    assert timer_service.fire_round(eng).fired == 1
    assert timer_service.fire_round(eng).fired == 0  # fired once, not again
    [row] = _rows(eng, case_id)
    assert row.state == "waiting" and (row.due_at - start).total_seconds() == 1200  # the next occurrence
    clock.advance(hours=1)  # two more are due: a backlog fires at once, each recorded
    assert timer_service.fire_round(eng).fired == 2
    assert [f["occurrence"] for f in _fired(eng, case_id)] == [1, 2, 3]
    [row] = _rows(eng, case_id)
    assert row.state == "fired"  # R3: no fourth occurrence
    clock.advance(hours=5)
    assert timer_service.fire_round(eng).fired == 0
    assert len(_open(eng, case_id, "chase")) == 3
    eng.complete_task(_open(eng, case_id, "work")[0].id, ADMIN, {})
    assert len(_open(eng, case_id, "chase")) == 3  # the branches the timer started go on
    for task in _open(eng, case_id, "chase"):
        eng.complete_task(task.id, ADMIN, {})
    assert _status(eng, case_id) == "completed"


def test_unbounded_cycle_stops_when_its_activity_ends(eng, clock):
    _deploy(eng, "R/PT1H")
    case_id = eng.start_case("cyc", ADMIN)
    clock.advance(minutes=150)
    assert timer_service.fire_round(eng).fired == 2
    eng.complete_task(_open(eng, case_id, "work")[0].id, ADMIN, {})
    [row] = _rows(eng, case_id)
    assert row.state == "cancelled" and json.loads(row.params)["cycle_fired"] == 2
    clock.advance(hours=3)
    assert timer_service.fire_round(eng).fired == 0
    for task in _open(eng, case_id, "chase"):
        eng.complete_task(task.id, ADMIN, {})
    assert _status(eng, case_id) == "completed"


def test_workday_cycle_counts_working_days_from_the_same_day_0(eng, clock):
    clock.set(datetime(2026, 9, 28, 10, 0, tzinfo=BEIJING))  # Mon; National Day 10-01..10-07
    _deploy(eng, "cycle(workdays(2))")
    case_id = eng.start_case("cyc", ADMIN)
    [row] = _rows(eng, case_id)
    assert row.due_date == date(2026, 9, 30)  # Tue, Wed: 24:00 of Wed 30 Sep
    clock.set(datetime(2026, 10, 1, 9, 0, tzinfo=BEIJING))
    assert timer_service.fire_round(eng).fired == 1
    [row] = _rows(eng, case_id)
    assert row.due_date == date(2026, 10, 9)  # 4th working day: Wed 30 Sep (2), holidays, Fri 9 Oct
    assert json.loads(row.params)["n"] == 4


def test_event_subprocess_cycle_starts_one_instance_per_firing(eng, clock):
    eng.deploy(EVENT_SUBPROCESS.encode())
    case_id = eng.start_case("esp", ADMIN)
    clock.advance(hours=3)
    assert timer_service.fire_round(eng).fired == 2
    looks = _open(eng, case_id, "look")
    assert len(looks) == 2
    for task in looks:
        eng.complete_task(task.id, ADMIN, {})
    eng.complete_task(_open(eng, case_id, "work")[0].id, ADMIN, {})
    assert _status(eng, case_id) == "completed"


@pytest.mark.parametrize("cycle, cancel, words", [
    ("0 0/5 * * * ?", "false", "R/"),  # Quartz cron
    ("R/PT1H", "true", "non-interrupting"),  # an interrupting timer fires once
    ("R/PXYZ", "false", "timeCycle"),
])
def test_cycles_govflow_cannot_run_are_refused_at_deploy(eng, cycle, cancel, words):
    with pytest.raises(DefinitionError) as refused:
        _deploy(eng, cycle, cancel=cancel)
    assert words in str(refused.value)
