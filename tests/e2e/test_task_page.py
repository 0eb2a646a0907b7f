"""The task page: case summary and history, the generated form with its validation, claim, transfer,
comments, and refusals that become messages (or a 403), never a 500."""
from __future__ import annotations

import re


from engine.errors import ConcurrentModification, ScriptError
from engine.models import HumanTask
from tests.e2e.conftest import actor, open_task, start_case


def test_the_page_shows_the_case_the_form_and_the_history(as_person, engine):
    task_id = open_task(engine, start_case(engine, topic="户籍数据更正"))
    page = as_person("clerk.a").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "填写材料" in page and "20260000001" in page and "户籍数据更正" in page
    assert "测试：提交与审批" in page and "王建国" in page and "huaining-2021@1" in page
    assert "2026-03-02 09:00" in page and "发起案件" in page and "生成任务" in page
    assert re.search(r'<input type="text" id="f-summary" name="summary" required minlength="2" maxlength="200"', page)
    assert re.search(r'<input type="number" id="f-pages" name="pages" min="1" max="500" step="1"', page)
    assert '<input type="date" id="f-received" name="received"' in page
    assert '<input type="checkbox" id="f-urgent" name="urgent" value="true"' in page
    assert "待签收" in page and ">签收</button>" in page


def test_an_enum_field_becomes_a_select(as_person, engine):
    case_id = start_case(engine)
    engine.complete_task(open_task(engine, case_id), actor("clerk.a"), {"summary": "材料齐全"})
    page = as_person("head.a").get(f"/tasks/{open_task(engine, case_id)}").get_data(as_text=True)
    assert re.search(r'<select id="f-decision" name="decision" required>', page)
    assert '<option value="approve">同意</option>' in page and '<option value="return">退回</option>' in page
    assert "摘要: 材料齐全" in page  # the completed step's data in the history, with the form's labels


def test_a_validation_error_keeps_the_values_then_the_fixed_form_completes(as_person, engine):
    case_id = start_case(engine)
    task_id = open_task(engine, case_id)
    clerk = as_person("clerk.a")
    response = clerk.post(f"/tasks/{task_id}/complete", {"summary": "x", "pages": "900", "urgent": "on"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请更正标出的字段" in page
    assert re.search(r'name="summary"[^>]*aria-invalid="true"[^>]*>', page) and 'value="x"' in page
    assert '<p class="error" id="e-summary">至少 2 字</p>' in page
    assert '<p class="error" id="e-pages">不能大于 500</p>' in page and 'value="900"' in page
    assert re.search(r'name="urgent" value="true" checked', page)
    response = clerk.post(f"/tasks/{task_id}/complete", {"summary": "材料齐全", "pages": "12", "received": "2026-03-01"})
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    assert "已提交：填写材料" in clerk.get("/tasks").get_data(as_text=True)
    data = engine.case_data(case_id)
    assert data["summary"] == "材料齐全" and data["pages"] == 12 and data["urgent"] is False


def test_english_messages_next_to_the_fields(as_person, engine):
    task_id = open_task(engine, start_case(engine))
    clerk = as_person("clerk.a")
    clerk.get("/language/en")
    page = clerk.post(f"/tasks/{task_id}/complete", {"summary": ""}).get_data(as_text=True)
    assert '<p class="error" id="e-summary">Required</p>' in page and "Please correct the marked fields." in page


def test_another_departments_clerk_gets_403_on_the_page_and_on_every_post(as_person, engine):
    case_id = start_case(engine)
    task_id = open_task(engine, case_id)
    outsider = as_person("clerk.b")
    assert outsider.get(f"/tasks/{task_id}").status_code == 403
    assert "您无权办理此任务" in outsider.get(f"/tasks/{task_id}").get_data(as_text=True)
    for action, data in [("complete", {"summary": "越权"}), ("claim", {}), ("unclaim", {}),
                         ("transfer", {"to": "clerk.b"})]:
        assert outsider.post(f"/tasks/{task_id}/{action}", data).status_code == 403, action
    assert outsider.get(f"/cases/{case_id}").status_code == 403
    assert outsider.post(f"/cases/{case_id}/comment", {"text": "越权"}).status_code == 403
    with engine.uow() as uow:
        assert uow.session.get(HumanTask, task_id).assignee is None


def test_someone_elses_claimed_task_is_refused(as_person, engine):
    task_id = open_task(engine, start_case(engine))
    engine.claim(task_id, actor("clerk.a2"))
    clerk = as_person("clerk.a")
    assert clerk.get(f"/tasks/{task_id}").status_code == 403
    assert clerk.post(f"/tasks/{task_id}/complete", {"summary": "抢先"}).status_code == 403
    assert as_person("clerk.a2").get(f"/tasks/{task_id}").status_code == 200


def test_claim_and_release_on_the_task_page(as_person, engine):
    task_id = open_task(engine, start_case(engine))
    clerk = as_person("clerk.a")
    response = clerk.post(f"/tasks/{task_id}/claim")
    assert response.headers["Location"] == f"/tasks/{task_id}"
    page = clerk.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "已由 王建国 签收" in page and ">取消签收</button>" in page and "<td>签收 · 填写材料</td>" in page
    assert clerk.post(f"/tasks/{task_id}/unclaim").headers["Location"] == "/tasks"


def test_transfer_to_a_colleague_of_the_same_role_and_department(as_person, engine):
    case_id = start_case(engine)
    task_id = open_task(engine, case_id)
    engine.claim(task_id, actor("clerk.a"))
    clerk = as_person("clerk.a")
    page = clerk.get(f"/tasks/{task_id}").get_data(as_text=True)
    choices = re.findall(r'<option value="([\w.]+)">[^<]+\(\1\)</option>', page)
    assert choices == ["clerk.a2"]  # not myself, not the head, not the other department's clerk
    refused = clerk.post(f"/tasks/{task_id}/transfer", {"to": "clerk.b"})
    assert refused.status_code == 403
    response = clerk.post(f"/tasks/{task_id}/transfer", {"to": "clerk.a2"})
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    assert "已转办" in clerk.get("/tasks").get_data(as_text=True)
    assert clerk.get(f"/tasks/{task_id}").status_code == 403  # no longer mine
    colleague = as_person("clerk.a2")
    page = colleague.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "已由 李晓梅 签收" in page and "王建国 → 李晓梅" in page and "<td>转办 · 填写材料</td>" in page
    assert "新任务" in colleague.get("/notifications/").get_data(as_text=True)


def test_comments_are_kept_with_the_case_and_shown_in_its_history(as_person, engine):
    case_id = start_case(engine)
    task_id = open_task(engine, case_id)
    clerk = as_person("clerk.a")
    response = clerk.post(f"/cases/{case_id}/comment", {"text": "请补充身份证明材料。\n第二行", "next": f"/tasks/{task_id}"})
    assert response.headers["Location"] == f"/tasks/{task_id}"
    page = clerk.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "审批意见已保存" in page and "请补充身份证明材料。\n第二行" in page
    assert clerk.post(f"/cases/{case_id}/comment", {"text": "   "}).status_code == 302
    assert "请填写审批意见" in clerk.get(f"/cases/{case_id}").get_data(as_text=True)
    assert engine.verify_audit() is None


def test_a_case_page_for_its_starter_and_the_authority(as_person, engine):
    case_id = start_case(engine, topic="共享目录")
    assert "共享目录" in as_person("clerk.a").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "在办任务" in as_person("supervisor").get(f"/cases/{case_id}").get_data(as_text=True)
    assert as_person("clerk.a").get("/cases/999").status_code == 404


def test_a_completed_task_is_read_only_for_those_involved(as_person, engine):
    case_id = start_case(engine)
    task_id = open_task(engine, case_id)
    engine.complete_task(task_id, actor("clerk.a"), {"summary": "材料齐全"})
    page = as_person("clerk.a").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "<dd>已办</dd>" in page and "/complete" not in page and "提交 · 填写材料" in page
    assert as_person("clerk.b").get(f"/tasks/{task_id}").status_code == 403
    assert as_person("clerk.a").get("/tasks/no-such-task").status_code == 404


def test_a_task_completed_meanwhile_gives_a_message_not_an_error(as_person, engine):
    task_id = open_task(engine, start_case(engine))
    clerk = as_person("clerk.a")
    clerk.get(f"/tasks/{task_id}")
    engine.complete_task(task_id, actor("clerk.a2"), {"summary": "同事已办"})
    response = clerk.post(f"/tasks/{task_id}/complete", {"summary": "我也办"})
    assert response.status_code == 302
    assert "该任务已办结" in clerk.get("/tasks").get_data(as_text=True)
    clerk.get("/language/en")
    clerk.post(f"/tasks/{task_id}/claim")
    assert "This task has already been completed" in clerk.get("/tasks").get_data(as_text=True)


def test_conflicts_and_script_errors_become_messages(as_person, engine, monkeypatch):
    task_id = open_task(engine, start_case(engine))
    clerk = as_person("clerk.a")
    for error in (ConcurrentModification("该案件已被他人修改，请刷新后重试 (the case was changed by someone else)"),
                  ScriptError("流程脚本出错 (script error) boom")):
        def fail(*args, error=error, **kwargs):
            raise error
        monkeypatch.setattr(engine, "complete_task", fail)
        response = clerk.post(f"/tasks/{task_id}/complete", {"summary": "材料齐全"})
        assert response.status_code == 302, error
    page = clerk.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "该案件已被他人修改，请刷新后重试" in page and "流程步骤执行出错" in page and "boom" not in page

