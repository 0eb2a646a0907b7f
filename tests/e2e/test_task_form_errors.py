"""A validation error on the task page loses nothing: typed values come back, and read-only fields
(disabled inputs, which a browser never posts) keep the case's values."""
from __future__ import annotations

from engine.procedures import Procedure
from tests.e2e.conftest import actor, open_task

CHECK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="Definitions_check" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="record_check" name="核对记录" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="核对" camunda:candidateGroups="provider_clerk">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="record_ref" label="数据记录" type="string">
            <camunda:validation><camunda:constraint name="readonly" /></camunda:validation>
          </camunda:formField>
          <camunda:formField id="answer" label="答复" type="string">
            <camunda:validation><camunda:constraint name="required" /><camunda:constraint name="minlength" config="4" /></camunda:validation>
          </camunda:formField>
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_read_only_fields_keep_their_values_after_a_validation_error(as_person, engine):
    engine.procedures["record_check"] = Procedure("record_check", resolve_department=None,
                                                  start_roles=frozenset({"provider_clerk"}))
    engine.deploy(CHECK)
    case_id = engine.start_case("record_check", actor("clerk.a"), {"record_ref": "户籍地址 21 号"})
    task_id = open_task(engine, case_id)
    clerk = as_person("clerk.a")
    response = clerk.post(f"/tasks/{task_id}/complete", {"answer": "短"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="e-answer"' in page and 'value="短"' in page
    assert 'value="户籍地址 21 号"' in page  # the read-only field, not posted, still shows the record
    assert clerk.post(f"/tasks/{task_id}/complete", {"answer": "已核对无误"}).status_code == 302
