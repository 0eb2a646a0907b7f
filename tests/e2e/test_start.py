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
