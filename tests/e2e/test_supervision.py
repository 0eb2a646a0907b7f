"""督办: the authority's dashboard of overdue and due-soon tasks, urging (催办), reassigning, and the
supervision items it confirms as rectification cases or dismisses; nobody else may do any of it."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

import workflows.rectification
from engine.domain import notifications, urges
from engine.domain.violations import SupervisionItem, Violation, open_supervision_item
from engine.models import AuditRecord, Case, HumanTask
from engine.procedures import Procedure
from engine.uow import Actor
from tests.e2e.conftest import DEPT_A, DEPT_B, actor, open_task, start_case
from tests.e2e.test_inbox import set_due

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


def counts(page: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', page)}


def section(page: str, department: str) -> str:
    """The dashboard's table of one department."""
    found = re.search(rf'<section class="card department" data-department="{department}">(.*?)</section>', page, re.S)
    return found.group(1) if found else ""


def notified(engine, kind: str) -> list[str]:
    with engine.uow() as uow:
        return sorted(uow.session.scalars(sa.select(notifications.Notification.login).where(
            notifications.Notification.kind == kind)))


def audit_of(engine, action: str) -> list[AuditRecord]:
    with engine.uow() as uow:
        return list(uow.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)))


def task_row(engine, task_id: str) -> HumanTask:
    with engine.uow() as uow:
        return uow.session.get(HumanTask, task_id)


@pytest.fixture
def watched(engine):
    """The clock is Monday 2026-03-02 09:00 Beijing. Four tasks of 县公安局 and one of 县市场监督管理局."""
    ids = {topic: open_task(engine, start_case(engine, topic=topic))
           for topic in ("逾期件", "明日件", "后天件", "暂定件", "暂定已过")}
    ids["乙局件"] = open_task(engine, start_case(engine, "clerk.b", "乙局件"))
    set_due(engine, ids["逾期件"], date(2026, 2, 27), overdue=True)
    set_due(engine, ids["明日件"], date(2026, 3, 3))          # 1 working day left: due soon
    set_due(engine, ids["后天件"], date(2026, 3, 4))          # 2 left: not watched
    set_due(engine, ids["暂定件"], date(2026, 3, 3), provisional=True)
    set_due(engine, ids["暂定已过"], date(2026, 2, 27), provisional=True)  # past, but never overdue
    set_due(engine, ids["乙局件"], date(2026, 3, 2))          # due today: 0 left
    return ids


def test_the_dashboard_groups_overdue_and_due_soon_tasks_by_department(as_person, engine, watched):
    supervisor = as_person("supervisor")
    assert '<a href="/supervision/">督办</a>' in supervisor.get("/").get_data(as_text=True)
    page = supervisor.get("/supervision/").get_data(as_text=True)
    assert counts(page) == {"overdue": 1, "due_soon": 2, "provisional": 2, "items": 0}
    mine = section(page, DEPT_A)
    assert "逾期件" in mine and "明日件" in mine and "暂定件" in mine and "暂定已过" in mine
    assert "后天件" not in page
    assert "2026-02-27" in mine and "已超期 2 个工作日" in mine and "剩余 1 个工作日" in mine
    assert mine.count("暂定</span>") == 2 and "暂定期限已过" in mine
    assert mine.count('<tr class="overdue"') == 1  # provisional dates are never counted as overdue
    assert "乙局件" in section(page, DEPT_B) and "剩余 0 个工作日" in section(page, DEPT_B)
    assert "超期 1 件，即将到期 1 件，暂定 2 件" in mine
    assert page.index('data-department="340822101"') < page.index('data-department="340822102"')


def test_the_dashboard_filters(as_person, engine, watched):
    supervisor = as_person("supervisor")
    page = supervisor.get(f"/supervision/?department={DEPT_B}").get_data(as_text=True)
    assert "乙局件" in page and "逾期件" not in page and counts(page)["due_soon"] == 1
    overdue = supervisor.get("/supervision/?status=overdue").get_data(as_text=True)
    assert "逾期件" in overdue and "明日件" not in overdue and "暂定已过" not in overdue
    provisional = supervisor.get("/supervision/?status=provisional").get_data(as_text=True)
    assert "暂定件" in provisional and "暂定已过" in provisional and "逾期件" not in provisional
    soon = supervisor.get("/supervision/?status=due_soon").get_data(as_text=True)
    assert "明日件" in soon and "乙局件" in soon and "暂定件" not in soon
    assert "后天件" not in supervisor.get("/supervision/?process=review_loop").get_data(as_text=True)
    none = supervisor.get("/supervision/?process=inspection").get_data(as_text=True)
    assert "没有超期或即将到期的在办任务" in none and counts(none)["overdue"] == 0
    assert supervisor.get("/supervision/?status=bogus&department=nope").status_code == 200


def test_due_soon_counts_working_days_not_calendar_days(as_person, engine, clock):
    from engine.calendar import BEIJING
    from datetime import datetime
    task_id = open_task(engine, start_case(engine, topic="周一到期"))
    set_due(engine, task_id, date(2026, 3, 9))  # Monday
    clock.set(datetime(2026, 3, 6, 9, 0, tzinfo=BEIJING))  # Friday: one working day left (Monday)
    assert "周一到期" in as_person("supervisor").get("/supervision/?status=due_soon").get_data(as_text=True)
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=BEIJING))  # Thursday: two left
    assert "周一到期" not in as_person("supervisor").get("/supervision/").get_data(as_text=True)


def test_nobody_but_the_authority_may_supervise(as_person, engine, watched):
    task_id = watched["逾期件"]
    for login in ("clerk.a", "head.a"):
        person = as_person(login)
        assert "/supervision/" not in person.get("/").get_data(as_text=True)
        assert person.get("/supervision/").status_code == 403
        assert person.get("/supervision", follow_redirects=True).status_code == 403
        assert person.get(f"/supervision/tasks/{task_id}").status_code == 403
        assert person.post(f"/supervision/tasks/{task_id}/urge", {"note": "x"}).status_code == 403
        assert person.post(f"/supervision/tasks/{task_id}/reassign", {"to": "clerk.a2"}).status_code == 403
        assert person.get("/supervision/items/1").status_code == 403
        assert person.post("/supervision/items/1/rectify").status_code == 403
        assert person.post("/supervision/items/1/dismiss", {"note": "x"}).status_code == 403
    assert audit_of(engine, "task_urged") == [] and task_row(engine, task_id).assignee is None


# -- 催办 ---------------------------------------------------------------------------------------

def test_urging_an_unclaimed_task_notifies_everyone_it_is_offered_to(as_person, engine, watched):
    task_id = watched["逾期件"]
    supervisor = as_person("supervisor")
    page = supervisor.get("/supervision/?status=overdue").get_data(as_text=True)
    assert page.count('data-test="urge"') == 1
    response = supervisor.post(f"/supervision/tasks/{task_id}/urge", {"next": "/supervision/?status=overdue"})
    assert response.status_code == 302 and response.headers["Location"] == "/supervision/?status=overdue"
    page = supervisor.get("/supervision/?status=overdue").get_data(as_text=True)
    assert "已催办，已通知办理人" in page and "1 次" in page
    assert notified(engine, "urge") == ["clerk.a", "clerk.a2"]
    (record,) = audit_of(engine, "task_urged")
    assert record.actor == "supervisor" and record.task_id == task_id
    assert json.loads(record.summary)["to"] == ["clerk.a", "clerk.a2"]
    clerk = as_person("clerk.a")
    assert "催办" in clerk.get("/notifications/").get_data(as_text=True)
    task_page = clerk.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "已催办 1 次，最近 2026-03-02 09:00（钱立新）" in task_page


def test_urging_a_claimed_task_notifies_its_holder_only_and_keeps_the_note(as_person, engine, watched):
    task_id = watched["明日件"]
    engine.claim(task_id, actor("clerk.a2"))
    supervisor = as_person("supervisor")
    supervisor.post(f"/supervision/tasks/{task_id}/urge", {"note": "请今天办结"})
    supervisor.post(f"/supervision/tasks/{task_id}/urge", {"note": ""})
    assert notified(engine, "urge") == ["clerk.a2", "clerk.a2"]
    page = supervisor.get(f"/supervision/tasks/{task_id}").get_data(as_text=True)
    assert "请今天办结" in page and page.count("<td>钱立新</td>") == 2
    assert "已催办 2 次" in as_person("clerk.a2").get(f"/tasks/{task_id}").get_data(as_text=True)
    history = as_person("supervisor").get(f"/cases/{task_row(engine, task_id).case_id}").get_data(as_text=True)
    assert "请今天办结" in history


def test_posts_without_the_csrf_token_are_refused(as_person, engine, watched):
    supervisor = as_person("supervisor").client  # logged in, but posting without the page's token
    task_id = watched["逾期件"]
    for url, data in [(f"/supervision/tasks/{task_id}/urge", {"note": "x"}),
                      (f"/supervision/tasks/{task_id}/reassign", {"to": "clerk.a2"}),
                      ("/supervision/items/1/dismiss", {"note": "x"})]:
        response = supervisor.post(url, data=data)
        assert response.status_code == 400 and "表单已过期" in response.get_data(as_text=True), url
    assert audit_of(engine, "task_urged") == [] and task_row(engine, task_id).assignee is None


def test_an_overlong_urge_note_comes_back_with_the_text(as_person, engine, watched):
    task_id = watched["逾期件"]
    supervisor = as_person("supervisor")
    response = supervisor.post(f"/supervision/tasks/{task_id}/urge", {"note": "催" * 501})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "催办说明不超过 500 字" in page and "催" * 501 in page
    assert audit_of(engine, "task_urged") == []


def test_a_finished_task_cannot_be_urged(as_person, engine, watched):
    task_id = watched["明日件"]
    engine.complete_task(task_id, actor("clerk.a"), {"summary": "已办结"})
    supervisor = as_person("supervisor")
    response = supervisor.post(f"/supervision/tasks/{task_id}/urge", {"next": "/supervision/"})
    assert response.headers["Location"] == "/supervision/"
    assert "该任务已办结" in supervisor.get("/supervision/").get_data(as_text=True)
    assert supervisor.post("/supervision/tasks/no-such-task/urge").status_code == 404


# -- reassign -----------------------------------------------------------------------------------

def test_the_authority_reassigns_a_task_to_another_eligible_person(as_person, engine, watched):
    task_id = watched["逾期件"]
    engine.claim(task_id, actor("clerk.a"))
    supervisor = as_person("supervisor")
    page = supervisor.get(f"/supervision/tasks/{task_id}").get_data(as_text=True)
    choices = re.findall(r'<option value="([\w.]+)">[^<]+\(\1\)</option>', page)
    assert choices == ["clerk.a2"]  # not the holder, not the head, not the other department's clerk
    response = supervisor.post(f"/supervision/tasks/{task_id}/reassign", {"to": "clerk.a2"})
    assert response.status_code == 302 and response.headers["Location"] == f"/supervision/tasks/{task_id}"
    assert "已改派" in supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert task_row(engine, task_id).assignee == "clerk.a2"
    (record,) = audit_of(engine, "task_reassigned")
    assert json.loads(record.summary) == {"from": "clerk.a", "to": "clerk.a2"} and record.actor == "supervisor"
    assert notified(engine, "new_task")[-1:] == ["clerk.a2"]
    colleague_page = as_person("clerk.a2").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "主管部门改派" in colleague_page and "王建国 → 李晓梅" in colleague_page
    assert as_person("clerk.a").get(f"/tasks/{task_id}").status_code == 403


def test_reassigning_to_someone_who_may_not_work_the_task_is_refused(as_person, engine, watched):
    task_id = watched["逾期件"]
    supervisor = as_person("supervisor")
    for login in ("clerk.b", "head.a", "supervisor", "nobody"):
        response = supervisor.post(f"/supervision/tasks/{task_id}/reassign", {"to": login})
        assert response.status_code == 302, login
        page = supervisor.get(response.headers["Location"]).get_data(as_text=True)
        assert f"{login} 无权办理此任务，不能改派" in page, login
    supervisor.post(f"/supervision/tasks/{task_id}/reassign", {"to": ""})
    assert "请选择改派给谁" in supervisor.get(f"/supervision/tasks/{task_id}").get_data(as_text=True)
    assert task_row(engine, task_id).assignee is None and audit_of(engine, "task_reassigned") == []


def test_the_engine_refuses_a_reassignment_by_anyone_but_the_authority(engine, watched):
    from engine.errors import PermissionDenied
    with pytest.raises(PermissionDenied):
        engine.reassign_task(watched["逾期件"], actor("head.a"), "clerk.a2")
    with pytest.raises(PermissionDenied):
        engine.urge_task(watched["逾期件"], actor("clerk.a"))


# -- supervision items (督办) --------------------------------------------------------------------

@pytest.fixture
def rectification(engine):
    """The real rectification procedure, which a confirmed 督办 opens."""
    engine.procedures["rectification"] = Procedure.from_module("rectification", workflows.rectification)
    engine.deploy((BPMN / "rectification.bpmn").read_bytes())
    return engine


def escalate(engine, task_id: str) -> int:
    """What an overdue timer's escalation does: open the 督办 for the task."""
    with engine.uow() as uow:
        row = uow.session.get(HumanTask, task_id)
        item = open_supervision_item(uow, case_id=row.case_id, human_task_id=task_id, dept_code=row.department,
                                     possible_violation_item=3, actor=Actor.system("escalation"),
                                     now=engine.clock.now(), note="复核超期")
        uow.commit()
        return item.id


def test_a_supervision_item_opens_a_rectification_case(as_person, rectification, watched):
    engine = rectification
    item_id = escalate(engine, watched["逾期件"])
    supervisor = as_person("supervisor")
    page = supervisor.get("/supervision/").get_data(as_text=True)
    assert counts(page)["items"] == 1 and f'href="/supervision/items/{item_id}"' in page and "第三十一条第3项" in page
    item_page = supervisor.get(f"/supervision/items/{item_id}").get_data(as_text=True)
    assert "无正当理由未及时更新、校核数据或拒绝共享" in item_page and 'data-test="rectify"' in item_page
    response = supervisor.post(f"/supervision/items/{item_id}/rectify", {"evidence": "复核超期三个工作日"})
    assert response.status_code == 302
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    case_page = supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert "已立案整改" in case_page and "违规整改：县公安局（第三十一条第3项）" in case_page
    with engine.uow() as uow:
        item = uow.session.get(SupervisionItem, item_id)
        violation = uow.session.get(Violation, item.violation_id)
        assert item.confirmed and item.status == "open" and violation.case_id == case_id
        assert (violation.evidence, violation.item, violation.department.code) == ("复核超期三个工作日", 3, DEPT_A)
        assert uow.session.get(Case, case_id).process_id == "rectification"
    again = supervisor.post(f"/supervision/items/{item_id}/rectify")
    assert again.headers["Location"] == f"/supervision/items/{item_id}"
    assert "该督办事项已确认为违规" in supervisor.get(again.headers["Location"]).get_data(as_text=True)
    dashboard = supervisor.get("/supervision/").get_data(as_text=True)
    assert f'href="/cases/{case_id}"' in dashboard and "已立案整改" in dashboard


def test_a_supervision_item_is_dismissed_with_a_note(as_person, rectification, watched):
    item_id = escalate(rectification, watched["逾期件"])
    supervisor = as_person("supervisor")
    refused = supervisor.post(f"/supervision/items/{item_id}/dismiss", {"note": "  "})
    assert refused.status_code == 422 and "办理结果必填" in refused.get_data(as_text=True)
    response = supervisor.post(f"/supervision/items/{item_id}/dismiss", {"note": "系统故障所致，不予立案"})
    assert response.status_code == 302 and response.headers["Location"] == "/supervision/"
    page = supervisor.get("/supervision/").get_data(as_text=True)
    assert "督办事项已办结" in page and counts(page)["items"] == 0
    with rectification.uow() as uow:
        item = uow.session.get(SupervisionItem, item_id)
        assert (item.status, item.resolution, item.resolved_by) == ("resolved", "系统故障所致，不予立案", "supervisor")
    closed = supervisor.post(f"/supervision/items/{item_id}/rectify")
    assert "该督办事项已办结" in supervisor.get(closed.headers["Location"]).get_data(as_text=True)
    assert supervisor.get("/supervision/items/999").status_code == 404


def test_without_the_rectification_procedure_nothing_is_recorded(as_person, engine, watched):
    item_id = escalate(engine, watched["逾期件"])
    supervisor = as_person("supervisor")
    response = supervisor.post(f"/supervision/items/{item_id}/rectify")
    assert "违规整改流程未安装" in supervisor.get(response.headers["Location"]).get_data(as_text=True)
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Violation)) == 0


def test_urge_summaries_take_two_queries(engine, watched):
    with engine.uow() as uow:
        for task_id in list(watched.values())[:3]:
            row = uow.session.get(HumanTask, task_id)
            urges.urge(uow, row, uow.session.get(Case, row.case_id), "supervisor", "", engine.clock.now())
        uow.commit()
    with engine.uow() as uow:
        found = urges.summaries(uow.session, watched.values())
    assert sorted(found) == sorted(list(watched.values())[:3]) and all(s.count == 1 for s in found.values())
