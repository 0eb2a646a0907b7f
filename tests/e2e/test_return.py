"""退回 on the task page: the head sends the case back to the clerk's step, with the reason."""
from __future__ import annotations

import sqlalchemy as sa

from engine.domain.notifications import Notification
from engine.models import HumanTask
from tests.e2e.conftest import actor, open_task, start_case


def submitted(engine) -> tuple[int, str, str]:
    case_id = start_case(engine)
    submit_id = open_task(engine, case_id)
    engine.claim(submit_id, actor("clerk.a"))
    engine.complete_task(submit_id, actor("clerk.a"), {"summary": "第一稿材料", "pages": "3"})
    return case_id, submit_id, open_task(engine, case_id)


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_head_returns_the_case_and_the_clerk_gets_the_step_back_with_its_data(as_person, engine):
    case_id, submit_id, approve_id = submitted(engine)
    head = as_person("head.a")
    page = text(head.get(f"/tasks/{approve_id}"))
    assert "退回到“填写材料”：" in page and f'action="/tasks/{approve_id}/return"' in page
    response = head.post(f"/tasks/{approve_id}/return", {"reason": "页数与附件不符，请核对"})
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    assert "案件已退回上一步" in text(head.get("/tasks"))
    assert open_task(engine, case_id) == submit_id

    clerk = as_person("clerk.a")
    page = text(clerk.get(f"/tasks/{submit_id}"))
    assert 'value="第一稿材料"' in page and 'value="3"' in page  # its old data
    assert "已退回上一步" in page and "页数与附件不符，请核对" in page  # in the history
    assert "退回到" not in page  # nothing before the first step
    assert "退回给您" in text(clerk.get("/notifications/"))
    assert "已退回上一步" in text(head.get(f"/tasks/{approve_id}"))  # the returned task, read-only


def test_refusals(as_person, engine):
    case_id, submit_id, approve_id = submitted(engine)
    head = as_person("head.a")
    response = head.post(f"/tasks/{approve_id}/return", {"reason": "  "})
    assert response.status_code == 302 and "请填写退回理由" in text(head.get(response.headers["Location"]))
    assert head.client.post(f"/tasks/{approve_id}/return", data={"reason": "无令牌"}).status_code == 400
    assert as_person("clerk.b").post(f"/tasks/{approve_id}/return", {"reason": "别的部门"}).status_code == 403
    assert as_person("clerk.a").post(f"/tasks/{approve_id}/return", {"reason": "不是我的任务"}).status_code == 403
    assert open_task(engine, case_id) == approve_id

    engine.complete_task(approve_id, actor("head.a"), {"decision": "approve"})
    done = head.post(f"/tasks/{approve_id}/return", {"reason": "已办结"})
    assert done.status_code == 302 and "该任务已办结" in text(head.get(done.headers["Location"]))
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.kind == "returned")) == 0


def test_the_first_step_offers_no_return_and_refuses_one(as_person, engine):
    case_id = start_case(engine)
    task_id = open_task(engine, case_id)
    clerk = as_person("clerk.a")
    assert "退回到" not in text(clerk.get(f"/tasks/{task_id}"))
    response = clerk.post(f"/tasks/{task_id}/return", {"reason": "想退回"})
    assert "此环节之前没有可退回的上一步" in text(clerk.get(response.headers["Location"]))
    with engine.uow() as uow:
        assert uow.session.get(HumanTask, task_id).state == "ready"
