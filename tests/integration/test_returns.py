"""退回: returning a case to the previous step through SpiffWorkflow's reset, on SQLite and PostgreSQL."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from engine.domain import org
from engine.domain.notifications import Notification
from engine.errors import AlreadyDone, GovflowError, InvalidForm, PermissionDenied
from engine.models import AuditRecord, Case, Deadline, HumanTask
from engine.returns import NotReturnable
from engine.uow import Actor
from tests.conftest import FIXTURES
from tools.bpmn_builder import Diagram, Field

CLERK = Actor("zhang", frozenset({"provider_clerk"}), "D1")
CLERK2 = Actor("wang", frozenset({"provider_clerk"}), "D1")
HEAD = Actor("li", frozenset({"dept_head"}), "D1")
OTHER_HEAD = Actor("zhao", frozenset({"dept_head"}), "D2")
DRAFT = {"summary": "first draft", "pages": "3"}


@pytest.fixture
def people(engine, clock):
    with engine.uow() as uow:
        d1 = org.create_department(uow.session, "D1", "部门一", "county_department")
        d2 = org.create_department(uow.session, "D2", "部门二", "county_department")
        for actor, dept in ((CLERK, d1), (CLERK2, d1), (HEAD, d1), (OTHER_HEAD, d2)):
            org.create_person(uow.session, actor.username, actor.username, dept, set(actor.roles),
                              "pass-word-1", clock.now())
        uow.commit()


def open_rows(engine, case_id) -> list[HumanTask]:
    with engine.uow() as uow:
        return list(uow.session.scalars(sa.select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.state == "ready")))


def the_task(engine, case_id) -> HumanTask:
    rows = open_rows(engine, case_id)
    assert len(rows) == 1, rows
    return rows[0]


def audit_rows(engine, case_id, action) -> list[AuditRecord]:
    with engine.uow() as uow:
        return list(uow.session.scalars(sa.select(AuditRecord).where(
            AuditRecord.case_id == case_id, AuditRecord.action == action).order_by(AuditRecord.id)))


def submitted(engine) -> tuple[int, str]:
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    submit = the_task(engine, case_id)
    engine.claim(submit.id, CLERK)
    engine.complete_task(submit.id, CLERK, DRAFT)
    return case_id, submit.id


def test_approve_returns_to_submit_with_its_old_data_then_the_case_goes_on(engine, people):
    case_id, submit_id = submitted(engine)
    approve = the_task(engine, case_id)
    target = engine.return_target(approve.id, HEAD)
    assert (target.task_id, target.element_id, target.name, target.completed_by) == (
        submit_id, "submit", "填写材料", "zhang")

    assert engine.return_task(approve.id, HEAD, "  页数不对，请核对  ") == submit_id
    again = the_task(engine, case_id)
    assert (again.id, again.element_id, again.assignee, again.completed_by) == (submit_id, "submit", "zhang", None)
    view = engine.get_task(again.id, CLERK)
    assert (view.data["summary"], view.data["pages"]) == ("first draft", 3)
    with engine.uow() as uow:
        returned = uow.session.get(HumanTask, approve.id)
        assert (returned.state, returned.completed_by) == ("returned", "li")
        told = list(uow.session.scalars(sa.select(Notification).where(Notification.kind == "returned")))
    assert [(n.login, n.task_id) for n in told] == [("zhang", submit_id)]
    [entry] = audit_rows(engine, case_id, "task_returned")
    assert (entry.actor, entry.task_id) == ("li", approve.id)
    assert json.loads(entry.summary) == {"task": "approve", "to": "submit", "to_task": submit_id,
                                         "to_assignee": "zhang", "reason": "页数不对，请核对"}

    engine.complete_task(submit_id, CLERK, {"summary": "second draft", "pages": "4"})
    engine.complete_task(the_task(engine, case_id).id, HEAD, {"decision": "approve"})
    with engine.uow() as uow:
        case = uow.session.get(Case, case_id)
        assert (case.status, case.outcome) == ("completed", "approved:second draft")
    assert engine.verify_audit() is None


def test_the_returned_step_goes_to_the_shared_inbox_when_its_completer_may_no_longer_work_it(engine, people, clock):
    case_id, submit_id = submitted(engine)
    with engine.uow() as uow:
        org.update_person(uow, "zhang", "zhang", "D2", {"provider_clerk"}, True, "admin", clock.now())
        uow.commit()
    engine.return_task(the_task(engine, case_id).id, HEAD, "请补充")
    again = the_task(engine, case_id)
    assert again.assignee is None
    with engine.uow() as uow:
        told = sorted(uow.session.scalars(sa.select(Notification.login).where(Notification.kind == "returned")))
    assert told == ["wang"]


def test_refusals_change_nothing(engine, people):
    case_id, submit_id = submitted(engine)
    approve = the_task(engine, case_id)
    with pytest.raises(InvalidForm) as exc:
        engine.return_task(approve.id, HEAD, "   ")
    assert set(exc.value.errors) == {"reason"}
    with pytest.raises(InvalidForm):
        engine.return_task(approve.id, HEAD, "x" * 2001)
    with pytest.raises(PermissionDenied):
        engine.return_task(approve.id, OTHER_HEAD, "不是我部门的")
    with pytest.raises(PermissionDenied):
        engine.return_target(approve.id, CLERK)
    assert the_task(engine, case_id).id == approve.id
    assert audit_rows(engine, case_id, "task_returned") == []

    engine.complete_task(approve.id, HEAD, {"decision": "return"})  # the diagram's own send-back path
    second = the_task(engine, case_id)  # after a send-back the previous step is the head's decision
    assert engine.return_target(second.id, CLERK).element_id == "approve"
    with pytest.raises(AlreadyDone):
        engine.return_task(approve.id, HEAD, "已经办结")


def test_the_first_step_has_nothing_to_return_to(engine, people):
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    submit = the_task(engine, case_id)
    assert engine.return_target(submit.id, CLERK) is None
    with pytest.raises(NotReturnable, match="no previous step"):
        engine.return_task(submit.id, CLERK, "退回")


def test_a_step_marked_returnable_false_cannot_be_returned(engine, people):
    xml = (FIXTURES / "review_loop.bpmn").read_text(encoding="utf-8")
    marked = xml.replace('<camunda:property name="department" value="department" />\n        </camunda:properties>\n'
                         '        <camunda:formData>\n          <camunda:formField id="decision"',
                         '<camunda:property name="department" value="department" />\n'
                         '          <camunda:property name="returnable" value="false" />\n        </camunda:properties>\n'
                         '        <camunda:formData>\n          <camunda:formField id="decision"')
    assert marked != xml
    engine.deploy(marked)
    case_id, _ = submitted(engine)
    approve = the_task(engine, case_id)
    assert engine.return_target(approve.id, HEAD) is None
    with pytest.raises(NotReturnable, match="cannot be returned"):
        engine.return_task(approve.id, HEAD, "退回")


def _deadline_diagram(between_script: bool = False) -> bytes:
    d = Diagram("return_deadlines", "测试：退回与期限")
    d.lane("provider_clerk", "经办人", rows=2)
    d.lane("dept_head", "数长")
    d.start("start", "开始", lane="provider_clerk", col=0)
    d.user_task("submit", "填写材料", lane="provider_clerk", col=1, candidate_groups="provider_clerk",
                properties={"department": "department"}, form=[Field("summary", "摘要", required=True)])
    d.boundary_timer("submit_reminder", "到期提醒", attached_to="submit", time_date="remind_before(5)", kind="reminder")
    d.boundary_timer("submit_overdue", "超期", attached_to="submit", time_date="workdays(5)", kind="overdue")
    d.end("reminded", "已提醒", lane="provider_clerk", col=2, row=1)
    d.end("escalated", "已督办", lane="provider_clerk", col=3, row=1)
    d.user_task("approve", "审批", lane="dept_head", col=3, candidate_groups="dept_head",
                properties={"department": "department"})
    d.end("end", "结束", lane="dept_head", col=4)
    d.flow("f1", "start", "submit")
    if between_script:
        d.script_task("note", "登记", lane="provider_clerk", col=2, script="noted = True")
        d.flow("f2", "submit", "note")
        d.flow("f2b", "note", "approve")
    else:
        d.flow("f2", "submit", "approve")
    d.flow("f3", "approve", "end")
    d.flow("f4", "submit_reminder", "reminded")
    d.flow("f5", "submit_overdue", "escalated")
    return d.to_bytes()


def deadlines_of(engine, case_id) -> dict[str, str]:
    with engine.uow() as uow:
        return {r.element_id: r.state for r in uow.session.scalars(
            sa.select(Deadline).where(Deadline.case_id == case_id))}


def test_the_returned_step_gets_its_deadline_again(engine, people):
    engine.deploy(_deadline_diagram())
    case_id = engine.start_case("return_deadlines", CLERK, {"department": "D1"})
    submit = the_task(engine, case_id)
    due = submit.due_date
    assert due is not None
    engine.complete_task(submit.id, CLERK, {"summary": "材料"})
    assert deadlines_of(engine, case_id) == {"submit_reminder": "cancelled", "submit_overdue": "cancelled"}
    engine.return_task(the_task(engine, case_id).id, HEAD, "请补充")
    again = the_task(engine, case_id)
    assert (again.id, again.due_date) == (submit.id, due)
    assert deadlines_of(engine, case_id) == {"submit_reminder": "waiting", "submit_overdue": "waiting"}
    engine.complete_task(again.id, CLERK, {"summary": "补充后的材料"})
    engine.complete_task(the_task(engine, case_id).id, HEAD, {})
    assert open_rows(engine, case_id) == []
    assert engine.verify_audit() is None


def test_no_return_past_an_escalated_deadline_or_a_script(engine, people, clock):
    engine.deploy(_deadline_diagram())
    case_id = engine.start_case("return_deadlines", CLERK, {"department": "D1"})
    clock.advance(days=14)
    from engine.timer_service import fire_due_timers
    assert fire_due_timers(engine) == 2  # reminder, then overdue
    engine.complete_task(the_task(engine, case_id).id, CLERK, {"summary": "迟交的材料"})
    approve = the_task(engine, case_id)
    assert engine.return_target(approve.id, HEAD) is None
    with pytest.raises(NotReturnable, match="escalated"):
        engine.return_task(approve.id, HEAD, "退回")

    engine.deploy(_deadline_diagram(between_script=True))
    case_id = engine.start_case("return_deadlines", CLERK, {"department": "D1"})
    engine.complete_task(the_task(engine, case_id).id, CLERK, {"summary": "材料"})
    approve = the_task(engine, case_id)
    with pytest.raises(NotReturnable, match="no previous step"):
        engine.return_task(approve.id, HEAD, "退回")


def test_a_parallel_branch_returns_within_itself_only(engine, people):
    engine.deploy((FIXTURES / "deadline_review.bpmn").read_bytes())
    case_id = engine.start_case("deadline_review", CLERK, {"department": "D1"})
    rows = {r.element_id: r for r in open_rows(engine, case_id)}
    assert engine.return_target(rows["answer"].id, CLERK) is None  # after the parallel fork
    engine.complete_task(rows["request_extension"].id, CLERK, {"days": "5"})
    approval = next(r for r in open_rows(engine, case_id) if r.element_id == "approve_extension")
    engine.return_task(approval.id, HEAD, "天数太多")
    assert sorted(r.element_id for r in open_rows(engine, case_id)) == ["answer", "request_extension"]
    assert rows["answer"].id in {r.id for r in open_rows(engine, case_id)}  # the other branch untouched
    with pytest.raises(GovflowError):
        engine.return_task(approval.id, HEAD, "again")


def test_a_return_after_a_diagram_loop_brings_back_what_was_submitted_in_this_round(engine, people):
    """SpiffWorkflow's reset re-inherits the parent's data: after a send-back loop the parent holds the
    previous round's values, which must not replace the step's own."""
    case_id, submit_id = submitted(engine)
    engine.complete_task(the_task(engine, case_id).id, HEAD, {"decision": "return", "opinion": "重写"})
    second = the_task(engine, case_id)
    engine.complete_task(second.id, CLERK, {"summary": "second draft", "pages": "4"})
    assert engine.return_task(the_task(engine, case_id).id, HEAD, "页数不对") == second.id
    view = engine.get_task(second.id, CLERK)
    assert (view.data["summary"], view.data["pages"]) == ("second draft", 4)
