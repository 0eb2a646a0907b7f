"""Diagram validation with element-pointing messages, version diffs and migrating running cases."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine import modeling
from engine.errors import GovflowError
from engine.models import AuditRecord, Case, HumanTask
from engine.uow import Actor
from tests.conftest import FIXTURES

CLERK = Actor("zhang", frozenset({"provider_clerk"}), "D1")
HEAD = Actor("li", frozenset({"dept_head"}), "D1")
ANALYST = Actor("analyst", frozenset({"analyst"}))
XML = (FIXTURES / "review_loop.bpmn").read_text(encoding="utf-8")


def problems_of(engine, xml):
    return {(p.element_id, p.message.split(" (")[0]) for p in modeling.validate_diagram(engine, xml)}


def test_the_fixture_diagram_is_valid(engine):
    assert modeling.validate_diagram(engine, XML) == []


def test_validation_reports_every_problem_at_its_element(engine):
    bad = (XML.replace('camunda:candidateGroups="dept_head"', 'camunda:candidateGroups="wizard"')
              .replace('<bpmn:exclusiveGateway id="gw" name="是否同意" default="f_ok">',
                       '<bpmn:exclusiveGateway id="gw" name="是否同意">')
              .replace("outcome = record_approval(summary)", "outcome = launch_rockets()")
              .replace('<bpmn:endEvent id="end" name="结束">',
                       '<bpmn:task id="orphan" name="孤立任务" /><bpmn:endEvent id="end" name="结束">'))
    found = modeling.validate_diagram(engine, bad)
    ids = {p.element_id for p in found}
    assert {"approve", "gw", "orphan", "record"} <= ids, found
    messages = " ".join(p.message for p in found)
    assert "wizard" in messages and "default flow" in messages and "unreachable" in messages
    assert "launch_rockets" in messages


@pytest.mark.parametrize("timer, message", [
    ("workdays(rules.no_such_period)", "no such period"),
    ("workdays(0)", "positive whole number"),
    ("workdays(", "syntax error"),
    ('period_due("no_such")', "declares no such period"),  # review_loop declares none
    ("period_reminder(name)", "quoted constant"),
    # what an analyst's check used to pass (issue 16): each is evaluated as the engine would
    ("workdays(-5)", "positive whole number"),
    ("workdays(-5, start_date)", "positive whole number"),
    ("workdays(10 ** 7)", "at most 1000 working days"),
    ("2020-01-01T00:00:00", "is in the past"),
    ("P3X", "not an ISO 8601 date or duration"),
    ("PT0S", "duration of zero"),
    ("'tomorrow'", "not an ISO 8601 date or duration"),
    ("42", "not an ISO 8601 date or duration"),
])
def test_timer_expressions_are_checked(engine, timer, message):
    xml = XML.replace('<bpmn:userTask id="approve" name="数长审批" camunda:candidateGroups="dept_head">',
                      '<bpmn:userTask id="approve" name="数长审批" camunda:candidateGroups="dept_head">') \
             .replace('<bpmn:exclusiveGateway id="gw"',
                      f'<bpmn:boundaryEvent id="late" name="超期" cancelActivity="false" attachedToRef="approve">'
                      f'<bpmn:outgoing>f_late</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDate>{timer}'
                      f'</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                      f'<bpmn:endEvent id="late_end"><bpmn:incoming>f_late</bpmn:incoming></bpmn:endEvent>'
                      f'<bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="late_end" />'
                      f'<bpmn:exclusiveGateway id="gw"')
    found = modeling.validate_diagram(engine, xml)
    assert any(p.element_id == "late" and message in p.message for p in found), found


@pytest.mark.parametrize("timer", ["P3D", "PT2H", "2099-01-01T09:00:00", "workdays(5)", "workdays(rules.review_days)",
                                   "due_at"])
def test_sound_timers_pass(engine, timer):
    xml = XML.replace('<bpmn:exclusiveGateway id="gw"',
                      f'<bpmn:boundaryEvent id="late" name="超期" cancelActivity="false" attachedToRef="approve">'
                      f'<bpmn:outgoing>f_late</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDate>{timer}'
                      f'</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                      f'<bpmn:endEvent id="late_end"><bpmn:incoming>f_late</bpmn:incoming></bpmn:endEvent>'
                      f'<bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="late_end" />'
                      f'<bpmn:exclusiveGateway id="gw"')
    found = [p for p in modeling.validate_diagram(engine, xml) if p.element_id == "late"]
    assert found == [] or all("period" in p.message for p in found), found


def test_malformed_xml_is_one_clear_problem(engine):
    found = modeling.validate_diagram(engine, "<bpmn:definitions")
    assert len(found) == 1 and "not well-formed" in found[0].message


def test_diff_between_versions_lists_added_removed_changed(engine):
    old = engine.deploy(XML)
    new_xml = XML.replace("数长审批", "数长审核").replace(
        '<bpmn:endEvent id="end" name="结束">', '<bpmn:endEvent id="end" name="办结">')
    new = engine.deploy(new_xml)
    diff = modeling.diff_versions(engine, old.definition_id, new.definition_id)
    changed = {element: fields for element, _name, fields in diff.changed}
    assert changed["approve"] == ["@name"] and changed["end"] == ["@name"]
    assert diff.added == [] and diff.removed == []


def _case_at_approval(engine) -> int:
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    with engine.uow() as uow:
        task = uow.session.scalars(sa.select(HumanTask).where(HumanTask.case_id == case_id)).one()
    engine.complete_task(task.id, CLERK, {"summary": "material"})
    return case_id


def test_a_case_migrates_when_only_its_current_task_changed(engine):
    case_id = _case_at_approval(engine)
    new = engine.deploy(XML.replace("数长审批", "数长审核"))
    [check] = modeling.migration_report(engine, new.definition_id)
    assert (check.case_id, check.can_migrate, check.from_version) == (case_id, True, 1)
    modeling.migrate_case(engine, case_id, new.definition_id, ANALYST)
    with engine.uow() as uow:
        case = uow.session.get(Case, case_id)
        task = uow.session.scalars(sa.select(HumanTask).where(HumanTask.case_id == case_id,
                                                              HumanTask.state == "ready")).one()
        assert (case.definition_id, task.name, task.definition_id) == (new.definition_id, "数长审核", new.definition_id)
        assert uow.session.scalars(sa.select(AuditRecord.action).where(
            AuditRecord.action == "case_migrated")).all() == ["case_migrated"]
    engine.complete_task(task.id, HEAD, {"decision": "approve"})
    with engine.uow() as uow:
        assert uow.session.get(Case, case_id).status == "completed"
    assert modeling.migration_report(engine, new.definition_id) == []


def test_a_case_whose_completed_task_changed_or_current_task_vanished_stays(engine):
    case_id = _case_at_approval(engine)
    changed_done = engine.deploy(XML.replace('label="摘要"', 'label="内容摘要"'))
    [check] = modeling.migration_report(engine, changed_done.definition_id)
    assert not check.can_migrate and "submit" in " ".join(check.reasons)
    with pytest.raises(GovflowError, match="cannot migrate"):
        modeling.migrate_case(engine, case_id, changed_done.definition_id, ANALYST)
    with engine.uow() as uow:
        assert uow.session.get(Case, case_id).definition.version == 1


def test_what_a_camunda_diagram_says_without_effect_is_a_warning_in_the_check(engine):
    xml = XML.replace('<bpmn:userTask id="approve" name="数长审批" camunda:candidateGroups="dept_head">',
                      '<bpmn:userTask id="approve" name="数长审批" camunda:candidateGroups="dept_head" '
                      'camunda:asyncBefore="true" camunda:formKey="embedded:app:forms/approve.html">')
    found = modeling.validate_diagram(engine, xml)
    warnings = [p for p in found if p.severity == "warning" and p.element_id == "approve"]
    assert {w.message.split("=")[0] for w in warnings} >= {"camunda:asyncBefore", "camunda:formKey"}, found
    assert not [p for p in found if p.severity == "error"], found
