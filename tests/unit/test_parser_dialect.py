"""The Camunda 7 dialect of engine.spiff.parser, seen through engine.definitions.parse_diagram."""
from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

from engine import forms
from engine.definitions import parse_diagram
from engine.errors import DefinitionError
from engine.spiff.parser import GovParser, parse_xml_safely, timer_expression
from engine.spiff.timers import (
    ClockDurationTimerEventDefinition, ClockTimeDateEventDefinition,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def diagram(body: str, process_id: str = "p") -> str:
    """Wrap process elements in a BPMN document with the Camunda namespace declared."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" {XSI}
                  id="defs" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="{process_id}" name="测试" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>"""


def chain(*elements: str) -> str:
    """A start event, the given flow nodes (each with ids n1, n2, ...) in a line, an end event."""
    ids = ["start", *[f"n{i}" for i in range(1, len(elements) + 1)], "end"]
    flows = [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
             for i, (a, b) in enumerate(zip(ids, ids[1:]))]
    nodes = ['<bpmn:startEvent id="start"/>', *elements, '<bpmn:endEvent id="end"/>']
    return "\n".join(nodes + flows)


FORM_TASK = """
<bpmn:userTask id="n1" name="填写" camunda:candidateGroups=" clerk, reviewer ,,head "
               camunda:candidateUsers="${initiator}, wang" camunda:assignee="${initiator}">
  <bpmn:extensionElements>
    <camunda:properties>
      <camunda:property name="department" value="dept" />
      <camunda:property name="outcome" value="ok" />
    </camunda:properties>
    <camunda:formData>
      <camunda:formField id="summary" label="摘要" type="string" defaultValue="无">
        <camunda:validation>
          <camunda:constraint name="required" />
          <camunda:constraint name="minlength" config="2" />
          <camunda:constraint name="maxlength" config="200" />
        </camunda:validation>
        <camunda:properties>
          <camunda:property id="placeholder" value="请输入" />
          <camunda:property id="rows" value="3" />
        </camunda:properties>
      </camunda:formField>
      <camunda:formField id="pages" label="页数" type="long">
        <camunda:validation>
          <camunda:constraint name="min" config="1" />
          <camunda:constraint name="max" config="500" />
        </camunda:validation>
      </camunda:formField>
      <camunda:formField id="urgent" type="boolean" />
      <camunda:formField id="received" label="收到日期" type="date" />
      <camunda:formField id="note" />
      <camunda:formField id="decision" label="结果" type="enum">
        <camunda:value id="yes" name="同意" />
        <camunda:value id="no" />
      </camunda:formField>
    </camunda:formData>
  </bpmn:extensionElements>
</bpmn:userTask>"""


def user_task(parsed, bpmn_id: str):
    spec = parsed.bundle.spec.task_specs[bpmn_id]
    assert isinstance(spec, UserTaskMixin), type(spec)
    return spec


@pytest.fixture(scope="module")
def form_task():
    return user_task(parse_diagram(diagram(chain(FORM_TASK)), set()), "n1")


# --------------------------------------------------------------------------- roles


def test_candidate_groups_are_split_and_trimmed(form_task):
    assert form_task.extensions["candidate_groups"] == ["clerk", "reviewer", "head"]


def test_candidate_users_and_assignee_expressions_are_translated_at_deploy(form_task):
    """JUEL becomes ``=<python>`` (engine.camunda), evaluated when the task is created."""
    assert form_task.extensions["candidate_users"] == ["=initiator", "wang"]
    assert form_task.extensions["assignee"] == "=initiator"


def test_task_without_role_attributes_has_empty_roles():
    parsed = parse_diagram(diagram(chain('<bpmn:userTask id="n1" name="办理"/>')), set())
    ext = user_task(parsed, "n1").extensions
    assert ext["candidate_groups"] == [] and ext["candidate_users"] == []
    assert ext["assignee"] is None and ext["form_key"] is None
    assert ext["form"] == [] and ext["properties"] == {}


def test_task_properties_are_kept(form_task):
    assert form_task.extensions["properties"] == {"department": "dept", "outcome": "ok"}


# --------------------------------------------------------------------------- forms


def test_form_fields_without_form_key_are_kept(form_task):
    assert form_task.extensions["form_key"] is None
    assert [f["id"] for f in form_task.extensions["form"]] == [
        "summary", "pages", "urgent", "received", "note", "decision"]


def test_form_fields_with_form_key_are_kept_and_key_recorded():
    task = FORM_TASK.replace('camunda:assignee="${initiator}"',
                             'camunda:assignee="${initiator}" camunda:formKey="embedded:app:forms/fill.html"')
    spec = user_task(parse_diagram(diagram(chain(task)), set()), "n1")
    assert spec.extensions["form_key"] == "embedded:app:forms/fill.html"
    assert len(spec.extensions["form"]) == 6


def test_field_types_labels_and_defaults(form_task):
    by_id = {f["id"]: f for f in form_task.extensions["form"]}
    assert {k: f["type"] for k, f in by_id.items()} == {
        "summary": "string", "pages": "long", "urgent": "boolean", "received": "date",
        "note": "string", "decision": "enum"}
    assert by_id["summary"]["label"] == "摘要" and by_id["summary"]["default"] == "无"
    assert by_id["urgent"]["label"] == "urgent"  # the id stands in for a missing label
    assert by_id["note"]["default"] is None


def test_enum_values_keep_order_and_fall_back_to_id_for_name(form_task):
    decision = next(f for f in form_task.extensions["form"] if f["id"] == "decision")
    assert decision["options"] == [{"id": "yes", "name": "同意"}, {"id": "no", "name": "no"}]


def test_validation_constraints(form_task):
    by_id = {f["id"]: f for f in form_task.extensions["form"]}
    assert by_id["summary"]["validation"] == {"required": None, "minlength": "2", "maxlength": "200"}
    assert by_id["pages"]["validation"] == {"min": "1", "max": "500"}
    assert by_id["urgent"]["validation"] == {}


def test_field_properties(form_task):
    by_id = {f["id"]: f for f in form_task.extensions["form"]}
    assert by_id["summary"]["properties"] == {"placeholder": "请输入", "rows": "3"}
    assert by_id["pages"]["properties"] == {}


def test_parsed_form_feeds_engine_forms(form_task):
    fields = forms.fields_from_extensions(form_task.extensions)
    assert forms.check_definition(fields) == []
    summary, pages = fields[0], fields[1]
    assert summary.required and not pages.required
    assert forms.validate(fields, {"summary": "申请材料", "pages": "3", "decision": "yes"}) == {
        "summary": "申请材料", "pages": 3, "decision": "yes"}


def test_form_with_unknown_field_type_is_refused_at_deploy():
    task = FORM_TASK.replace('id="note"', 'id="note" type="color"')
    with pytest.raises(DefinitionError, match="unknown type 'color'") as exc:
        parse_diagram(diagram(chain(task)), set())
    assert exc.value.element_id == "n1" and exc.value.element_name == "填写"


# --------------------------------------------------------------------------- id regression


def test_enum_value_with_a_task_id_does_not_replace_the_task():
    """review_loop's approve task has a form value id="approve"."""
    parsed = parse_diagram((FIXTURES / "review_loop.bpmn").read_bytes(), {"is_returned", "record_approval"})
    approve = user_task(parsed, "approve")
    assert approve.bpmn_name == "数长审批"
    assert approve.extensions["candidate_groups"] == ["dept_head"]
    assert [o["id"] for o in approve.extensions["form"][0]["options"]] == ["approve", "return"]
    assert [t.name for t in approve.outputs] == ["gw"]


def test_stock_parser_loses_a_task_whose_id_is_reused_by_an_enum_value():
    """Guards the premise of GovProcessParser: the library indexes camunda:value ids too."""
    parser = CamundaParser()
    parser.add_bpmn_xml(parse_xml_safely((FIXTURES / "review_loop.bpmn").read_bytes()))
    with pytest.raises(ValidationException):
        parser.get_spec("review_loop")


@pytest.mark.parametrize("clash", ["n2", "f1", "end"])
def test_form_ids_equal_to_other_elements_do_not_replace_them(clash):
    task = f"""<bpmn:userTask id="n1"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="{clash}" type="enum"><camunda:value id="{clash}" name="x"/></camunda:formField>
      </camunda:formData></bpmn:extensionElements></bpmn:userTask>"""
    parser = GovParser()
    parser.add_bpmn_str(diagram(chain(task, '<bpmn:userTask id="n2" name="second"/>')))
    specs = parser.get_spec("p").task_specs
    assert specs["n2"].bpmn_name == "second" and isinstance(specs["n2"], UserTaskMixin)
    assert [t.name for t in specs["n1"].outputs] == ["n2"]
    assert [t.name for t in specs["n2"].outputs] == ["end"]


# --------------------------------------------------------------------------- timers


@pytest.mark.parametrize("literal, expression", [
    ("P5D", "'P5D'"),
    ("PT1H", "'PT1H'"),
    ("p5d", "'P5D'"),
    ("P1Y2M3W", "'P1Y2M3W'"),
    ("PT1.5S", "'PT1.5S'"),
    ("P1DT12H30M", "'P1DT12H30M'"),
    ("2026-12-01T17:00:00+08:00", "'2026-12-01T17:00:00+08:00'"),
    ("2026-12-01T09:00:00Z", "'2026-12-01T09:00:00Z'"),
    ("2026-12-01T17:00", "'2026-12-01T17:00'"),
    ("2026-12-01", "'2026-12-01'"),
    ("  P5D\n", "'P5D'"),
])
def test_timer_literals_become_quoted_expressions(literal, expression):
    assert timer_expression(literal) == expression


@pytest.mark.parametrize("text", [
    "workdays(5)", "due_at", "deadline(received, 10)", "'P5D'", '"PT1H"', "P", "PT", "P5", "P1DT",
])
def test_timer_expressions_stay_as_written(text):
    assert timer_expression(text) == text


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_timer_is_refused(text):
    with pytest.raises(ValueError, match="empty timer expression"):
        timer_expression(text)


def timer_events(bodies: list[str], definition_id: str = "") -> str:
    """A user task with a boundary timer and an intermediate timer after it."""
    boundary, intermediate = bodies
    def_id = f' id="{definition_id}"' if definition_id else ""
    return chain(
        '<bpmn:userTask id="n1" name="办理"/>',
        f'<bpmn:intermediateCatchEvent id="n2" name="等待"><bpmn:timerEventDefinition{def_id}>'
        f'{intermediate}</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>',
    ) + f"""
<bpmn:boundaryEvent id="remind" name="提醒" attachedToRef="n1" cancelActivity="false">
  <bpmn:timerEventDefinition>{boundary}</bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:endEvent id="reminded"/>
<bpmn:sequenceFlow id="f_remind" sourceRef="remind" targetRef="reminded"/>"""


@pytest.mark.parametrize("boundary, intermediate, expected", [
    (("timeDuration", "P5D"), ("timeDuration", "PT1H"),
     {"remind": (ClockDurationTimerEventDefinition, "'P5D'"), "n2": (ClockDurationTimerEventDefinition, "'PT1H'")}),
    (("timeDate", "2026-12-01T17:00:00+08:00"), ("timeDate", "2026-12-01"),
     {"remind": (ClockTimeDateEventDefinition, "'2026-12-01T17:00:00+08:00'"),
      "n2": (ClockTimeDateEventDefinition, "'2026-12-01'")}),
    (("timeDate", "workdays(5)"), ("timeDate", "due_at"),
     {"remind": (ClockTimeDateEventDefinition, "workdays(5)"), "n2": (ClockTimeDateEventDefinition, "due_at")}),
])
def test_timers_through_parse_diagram(boundary, intermediate, expected):
    bodies = [f'<bpmn:{tag} xsi:type="bpmn:tFormalExpression">{text}</bpmn:{tag}>' for tag, text in (boundary, intermediate)]
    specs = parse_diagram(diagram(timer_events(bodies)), {"workdays"}).bundle.spec.task_specs
    for bpmn_id, (cls, expression) in expected.items():
        definition = specs[bpmn_id].event_definition
        assert type(definition) is cls
        assert definition.expression == expression


def test_timer_calling_an_unexposed_function_is_refused():
    bodies = ['<bpmn:timeDate>workdays(5)</bpmn:timeDate>', "<bpmn:timeDuration>PT1H</bpmn:timeDuration>"]
    with pytest.raises(DefinitionError, match="function 'workdays' is not exposed") as exc:
        parse_diagram(diagram(timer_events(bodies)), set())
    assert exc.value.element_id == "remind"


def test_a_cycle_where_it_would_fire_once_is_refused_at_deploy():
    """A timeCycle repeats only on non-interrupting boundary timers and event sub-process starts
    (tests/integration/test_cycle_timers.py); here it is an intermediate timer."""
    bodies = ["<bpmn:timeDuration>P5D</bpmn:timeDuration>", "<bpmn:timeCycle>R3/PT1H</bpmn:timeCycle>"]
    with pytest.raises(DefinitionError, match="a timeCycle repeats only on a non-interrupting") as exc:
        parse_diagram(diagram(timer_events(bodies)), set())
    assert exc.value.element_id == "n2" and exc.value.element_name == "等待"


def test_empty_timer_is_refused_at_deploy():
    bodies = ["<bpmn:timeDuration>  </bpmn:timeDuration>", "<bpmn:timeDuration>PT1H</bpmn:timeDuration>"]
    with pytest.raises(DefinitionError, match="empty timer expression") as exc:
        parse_diagram(diagram(timer_events(bodies)), set())
    assert exc.value.element_id == "remind"


def test_timer_error_names_the_event_when_the_definition_has_an_id():
    bodies = ["<bpmn:timeDuration>P5D</bpmn:timeDuration>", "<bpmn:timeCycle>R3/PT1H</bpmn:timeCycle>"]
    with pytest.raises(DefinitionError) as exc:
        parse_diagram(diagram(timer_events(bodies, definition_id="TimerEventDefinition_1")), set())
    assert exc.value.element_id == "n2"
