"""The start page (发起): only the procedures I may start, their start forms, where a new case leads."""
from __future__ import annotations

import re

from tests.e2e.conftest import open_task


def test_lists_only_the_procedures_i_may_start(as_person):
    clerk_page = as_person("clerk.a").get("/start/").get_data(as_text=True)
    assert "测试：提交与审批" in clerk_page and "专项检查" not in clerk_page
    authority_page = as_person("supervisor").get("/start/").get_data(as_text=True)
    assert "专项检查" in authority_page and "测试：提交与审批" not in authority_page
    assert "没有您可以发起的流程" in as_person("head.a").get("/start/").get_data(as_text=True)


def test_a_forbidden_procedure_is_refused(as_person):
    clerk = as_person("clerk.a")
    assert clerk.get("/start/inspection").status_code == 403
    assert clerk.post("/start/inspection", {}).status_code == 403
    assert clerk.get("/start/no_such_process").status_code == 404
    assert "共 0 条" in clerk.get("/tasks?tab=started").get_data(as_text=True)


def test_the_start_form_validates_and_keeps_the_values(as_person):
    clerk = as_person("clerk.a")
    page = clerk.get("/start/review_loop").get_data(as_text=True)
    assert re.search(r'<input type="text" id="f-topic" name="topic" required maxlength="100" value="">', page)
    response = clerk.post("/start/review_loop", {"topic": "x" * 101})
    assert response.status_code == 422 and "最多 100 字" in response.get_data(as_text=True)
    assert 'value="' + "x" * 101 + '"' in response.get_data(as_text=True)


def test_a_new_case_leads_to_its_first_task_when_that_is_mine(as_person, engine):
    clerk = as_person("clerk.a")
    response = clerk.post("/start/review_loop", {"topic": "人口数据更正"})
    task_id = open_task(engine, 1)
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task_id}"
    page = clerk.get(response.headers["Location"]).get_data(as_text=True)
    assert "已发起案件 20260000001" in page and "人口数据更正" in page


def test_otherwise_to_the_inbox_with_the_case_number(as_person):
    supervisor = as_person("supervisor")
    response = supervisor.post("/start/inspection", {})
    assert response.headers["Location"] == "/tasks"  # its task is for department heads
    assert "已发起案件 20260000001" in supervisor.get("/tasks").get_data(as_text=True)


# A process an analyst drew in the modeler: no procedure module, no candidate starters in the diagram.
UNNAMED_STARTERS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_survey" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="survey" name="数据质量调查" isExecutable="true"{starters}>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="answer" name="填报" camunda:candidateGroups="provider_clerk"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="answer" />
    <bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_process_without_a_module_or_starters_is_for_administrators_only(as_person, engine, clock):
    from engine.domain import org
    from engine.uow import Actor
    from engine.verbs import definitions as verbs
    from tests.e2e.conftest import AUTHORITY, PASSWORD
    with engine.uow() as uow:
        org.create_person(uow.session, "root", "管理员", org.department_by_code(uow.session, AUTHORITY), {"admin"},
                          PASSWORD, clock.now())
        uow.commit()
    verbs.deploy(engine, Actor("analyst", frozenset({"analyst"})), UNNAMED_STARTERS.format(starters=""))
    clerk, admin = as_person("clerk.a"), as_person("root")
    assert "数据质量调查" not in clerk.get("/start/").get_data(as_text=True)
    assert clerk.get("/start/survey").status_code == 403 and clerk.post("/start/survey", {}).status_code == 403
    assert "数据质量调查" in admin.get("/start/").get_data(as_text=True)
    assert admin.post("/start/survey", {}).status_code == 302
    # the analyst names the starters in the diagram (the modeler's "candidate starter groups")
    verbs.deploy(engine, Actor("analyst", frozenset({"analyst"})),
                 UNNAMED_STARTERS.format(starters=' camunda:candidateStarterGroups="provider_clerk"'))
    assert "数据质量调查" in clerk.get("/start/").get_data(as_text=True)
    assert clerk.post("/start/survey", {}).status_code == 302
    assert "数据质量调查" not in admin.get("/start/").get_data(as_text=True)


def test_the_public_starts_nothing_here(client, engine):
    """Without an account there is no start page: the public raises objections on the public pages
    only (what a procedure exposes there, tests/e2e/test_public_objection.py)."""
    for url in ("/start/", "/start/review_loop"):
        assert client.get(url).status_code == 302 and "/login" in client.get(url).headers["Location"]
    assert client.post("/start/review_loop", data={"topic": "x"}).status_code in (302, 400)
    assert client.post("/api/v1/cases", json={"process_id": "review_loop", "data": {"topic": "x"}}).status_code == 401
    import sqlalchemy as sa
    from engine.models import Case
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
