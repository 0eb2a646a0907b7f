"""试运行 (engine.dryrun): a diagram's paths walked in memory, with sample data and a frozen clock."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import dryrun
from engine.clock import FrozenClock
from engine.db import create_db_engine
from engine.migrate import upgrade
from engine.models import Case, DefinitionVersion
from engine.procedures import load_procedures
from engine.uow import Actor
from tests.conftest import make_engine

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
ANALYST = Actor.system("analyst")

GATEWAY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="small_gateway" name="小网关" isExecutable="true">
    <bpmn:startEvent id="start" name="开始" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
    <bpmn:userTask id="decide" name="决定" camunda:candidateGroups="authority">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="choice" label="结论" type="enum">
          <camunda:value id="a" name="甲" /><camunda:value id="b" name="乙" /><camunda:value id="c" name="丙" />
        </camunda:formField>
        <camunda:formField id="note" label="说明" type="textarea" />
      </camunda:formData></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="late" name="超期" attachedToRef="decide">
      <bpmn:timerEventDefinition><bpmn:timeDate>workdays(2)</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="end_late" />
    <bpmn:endEvent id="end_late" name="超期办结">
      <bpmn:extensionElements><camunda:properties><camunda:property name="outcome" value="late" /></camunda:properties></bpmn:extensionElements>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" name="结论？" default="f_c" />
    <bpmn:sequenceFlow id="f_a" sourceRef="gw" targetRef="end_a">
      <bpmn:conditionExpression>choice == "a"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_b" sourceRef="gw" targetRef="work">
      <bpmn:conditionExpression>choice == "b"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_c" sourceRef="gw" targetRef="end_c" />
    <bpmn:scriptTask id="work" name="计算" scriptFormat="python"><bpmn:script>SCRIPT</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f_w" sourceRef="work" targetRef="end_b" />
    <bpmn:endEvent id="end_a" name="同意">
      <bpmn:extensionElements><camunda:properties><camunda:property name="outcome" value="approved" /></camunda:properties></bpmn:extensionElements>
    </bpmn:endEvent>
    <bpmn:endEvent id="end_b" name="不同意">
      <bpmn:extensionElements><camunda:properties><camunda:property name="outcome" value="refused" /></camunda:properties></bpmn:extensionElements>
    </bpmn:endEvent>
    <bpmn:endEvent id="end_c" name="其他">
      <bpmn:extensionElements><camunda:properties><camunda:property name="outcome" value="other" /></camunda:properties></bpmn:extensionElements>
    </bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'govflow.sqlite3'}"
    db = create_db_engine(url)
    upgrade(db)
    db.dispose()
    eng = make_engine(url, FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)),  # Mon 09:00 Beijing
                      load_procedures("workflows"))
    yield eng
    eng.db_engine.dispose()


def outcomes(run) -> list[str | None]:
    return sorted(p.outcome or "" for p in run.paths)


def test_a_small_gateway_gives_one_path_per_option_and_one_where_the_timer_falls_due(engine):
    run = dryrun.dry_run(engine, GATEWAY.replace("SCRIPT", "x = 1"), ANALYST)
    assert not run.problems and not run.truncated
    assert run.started_at == "2026-03-09T09:00:00+08:00"  # the next working Monday
    assert outcomes(run) == ["approved", "late", "other", "refused"]
    by_outcome = {p.outcome: p for p in run.paths}
    assert by_outcome["approved"].element_ids == ["start", "decide", "gw", "end_a"]
    assert by_outcome["refused"].element_ids == ["start", "decide", "gw", "work", "end_b"]
    gateway = by_outcome["refused"].steps[2]
    assert (gateway.flow_id, gateway.condition, gateway.target_id) == ("f_b", 'choice == "b"', "work")
    assert by_outcome["other"].steps[2].condition == ""  # the default flow
    decide = by_outcome["approved"].steps[1]
    assert decide.kind == "userTask" and decide.role == "authority" and decide.data == {"choice": "a"}
    assert decide.deadlines == [{"element_id": "late", "name": "超期", "due": "2026-03-12T00:00:00+08:00",
                                 "kind": "timer", "working_days": True, "provisional": False}]
    late = by_outcome["late"]
    assert late.element_ids == ["start", "late", "end_late"] and late.end_id == "end_late"
    assert late.steps[1].fired and late.steps[1].due == "2026-03-12T00:00:00+08:00"
    assert late.timers_fired == 1 and late.as_dict()["deadlines"][0]["fired"]


def test_the_dry_run_writes_nothing(engine):
    dryrun.dry_run(engine, (BPMN / "share_application.bpmn").read_bytes(), ANALYST)
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(DefinitionVersion)) == 0


def test_share_application_paths_every_outcome_first_the_ones_where_people_act_in_time(engine):
    run = dryrun.dry_run(engine, (BPMN / "share_application.bpmn").read_bytes(), ANALYST)
    assert not run.problems
    assert run.truncated and len(run.paths) == 32  # more than the bound: reminders, escalations, ...
    assert {p.outcome for p in run.paths} == {"granted", "refused", "withdrawn"}
    assert all(not p.problems for p in run.paths)
    sequences = [tuple(p.element_ids) for p in run.paths]
    assert len(set(sequences)) == len(sequences)  # deduplicated
    # the 13 paths where everybody acts in time come first: 1 unconditional, 9 conditional (a request for
    # materials answered once), 3 refused at once
    in_time = [p for p in run.paths if not any(s.fired and s.kind == "boundaryEvent" for s in p.steps)]
    assert len(in_time) == 13 and run.paths[:13] == in_time
    assert sum(1 for p in in_time if "grant_unconditional" in p.element_ids) == 1
    assert sum(1 for p in in_time if "provider_explanation" in p.element_ids) == 3
    first_review = next(s for p in run.paths for s in p.steps if s.element_id == "provider_review")
    assert first_review.role == "provider_clerk"
    assert {d["kind"] for d in first_review.deadlines} == {"reminder", "overdue"}
    assert all(d["working_days"] for d in first_review.deadlines)
    assert "register_application" in run.stand_ins


def test_a_hostile_script_ends_its_path_in_a_problem_within_the_budget(engine, monkeypatch):
    monkeypatch.setenv("GOVFLOW_SCRIPT_CPU_SECONDS", "1")
    monkeypatch.setenv("GOVFLOW_SCRIPT_WALL_SECONDS", "2")
    monkeypatch.setenv("GOVFLOW_SCRIPT_TOTAL_SECONDS", "4")
    hostile = GATEWAY.replace("SCRIPT", "n = 0\nwhile True:\n    n = n + 1")
    started = time.monotonic()
    run = dryrun.dry_run(engine, hostile, ANALYST)
    assert time.monotonic() - started < 15
    failed = [p for p in run.paths if p.problems]
    assert [p.element_ids[-1] for p in failed] == ["work"] or [p.element_ids for p in failed] == [
        ["start", "decide", "gw"]]
    assert "budget" in str(failed[0].problems[0])
    assert failed[0].outcome is None
    assert {p.outcome for p in run.paths if not p.problems} == {"approved", "late", "other"}


def test_a_diagram_that_does_not_parse_is_one_problem_and_no_path(engine):
    run = dryrun.dry_run(engine, GATEWAY.replace("SCRIPT", "import os"), ANALYST)
    assert run.paths == [] and len(run.problems) == 1 and "计算" in str(run.problems[0])
    assert dryrun.dry_run(engine, b"<not-xml", ANALYST).problems
