"""Walks of procedure 1, 目录变更 (arts. 7, 8, 9, 15, 16), through the service layer as the county's people."""
from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from engine.calendar import due_date
from engine.domain import catalog
from engine.domain.violations import SupervisionItem, Violation
from engine.errors import InvalidForm, PermissionDenied
from engine.models import AuditRecord, Case, Deadline
from workflows.catalog_change import START_FORM

GONGAN, SHICHANG, MINZHENG = "340822101", "340822102", "340822103"
BASIS = "《中华人民共和国户口登记条例》修订（国务院令第 1 号）"
CHANGE = {"department": GONGAN, "change_kind": "regulation", "basis_document": BASIS,
          "change_date": "2026-09-24"}
# engine.calendar.due_date(date(2026, 9, 24), 15) == date(2026, 10, 22): change date Thu 09-24,
# National Day 10-01..10-07 rests, Sat 10-10 works (art. 9: 15 working days from the change date).
UPDATE_DUE = date(2026, 10, 22)
# engine.calendar.due_date(date(2026, 9, 30), 3) == date(2026, 10, 10): approved Wed 09-30, day 1 is
# Thu 10-08, day 2 Fri 10-09, day 3 the 调休 Saturday 10-10 (art. 9: report within 3 working days).
REPORT_DUE = date(2026, 10, 10)
# engine.calendar.due_date(date(2026, 9, 30), 5) == date(2026, 10, 13): returned by the authority Wed
# 09-30, the department's rework period (catalog_rework_days, 5) runs from the return.
REWORK_DUE = date(2026, 10, 13)
NEW_RESOURCE = {
    "code": "HN-GA-004", "name": "居住证登记信息", "classification": "department", "category": "人口",
    "summary": "流动人口居住证办理登记信息", "format": "database",
    "data_items": [{"name": "居住证编号", "type": "字符", "description": ""}],
    "update_frequency": "daily", "share_type": "conditional", "share_conditions": "仅限履行法定职责所必需",
    "share_reason": "涉及个人信息", "share_basis": "《居住证暂行条例》第十六条", "share_method": "interface",
    "usage_requirements": "不得提供给第三方", "materials": ["共享申请表", "应用场景说明"],
    "open_type": "closed", "open_reason": "涉及个人信息", "status": "active",
}


# -- helpers ----------------------------------------------------------------------------------------

def start(world, login: str = "gongan.clerk", **changes) -> int:
    return world.start("catalog_change", login, {**CHANGE, **changes})


def draft_id(world, case_id: int) -> int:
    return world.engine.case_data(case_id)["draft_id"]


def edit_draft(world, case_id: int, login: str = "gongan.clerk") -> None:
    """The clerk's edits in the catalog service (art. 7): add, modify and retire resources."""
    actor, version_id = world.actors[login], draft_id(world, case_id)
    with world.engine.uow() as uow:
        catalog.upsert_entry(uow, version_id, NEW_RESOURCE, actor, world.clock.now())
        catalog.upsert_entry(uow, version_id, {"code": "HN-GA-001", "update_frequency": "realtime"},
                             actor, world.clock.now())
        catalog.retire_entry(uow, version_id, "HN-GA-003", actor, world.clock.now())
        uow.commit()


def submit(world, case_id: int, summary: str = "新增居住证登记信息，户籍信息改为实时更新，停用刑侦信息") -> None:
    world.complete(case_id, "update_catalog", "gongan.clerk", {"change_summary": summary, "action": "submit"})


def approve_and_report(world, case_id: int) -> None:
    world.complete(case_id, "internal_approval", "gongan.head", {"head_decision": "approve"})
    world.complete(case_id, "report", "gongan.clerk", {"report_note": "报送更新后的目录及变更依据"})


def versions(world, dept: str) -> list[tuple[int | None, str]]:
    with world.engine.uow() as uow:
        return [(v.number, v.status) for v in catalog.list_versions(uow.session, dept)]


def case_actions(world, case_id: int) -> list[str]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(AuditRecord.action).where(
            AuditRecord.case_id == case_id).order_by(AuditRecord.id)))


def all_actions(world) -> list[str]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id)))


def snapshot(world, case_id: int) -> tuple:
    """What a refused action must leave untouched: the case row and the audit trail."""
    with world.engine.uow() as uow:
        case = uow.session.get(Case, case_id)
        count = uow.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
        found = case.version, case.state, count
    return (*found, world.open_elements(case_id))


def supervision_of(world, case_id: int) -> SupervisionItem:
    with world.engine.uow() as uow:
        return uow.session.scalars(sa.select(SupervisionItem).where(SupervisionItem.case_id == case_id)).one()


def waiting_deadlines(world, case_id: int) -> list[str]:
    with world.engine.uow() as uow:
        return sorted(uow.session.scalars(sa.select(Deadline.element_id).where(
            Deadline.case_id == case_id, Deadline.state == "waiting")))



# -- who may open a change, and for which department ------------------------------------------------

def test_who_may_open_a_change_for_which_department(world):
    """A provider clerk for their own department only; the authority for any (art. 8)."""
    assert [f.id for f in START_FORM] == ["department", "change_kind", "basis_document", "change_date"]
    _, options = world.engine.start_form("catalog_change", world.actors["gongan.clerk"])
    assert options == {"department": [(GONGAN, "县公安局")]}
    _, options = world.engine.start_form("catalog_change", world.actors["supervisor"])
    assert options["department"] == [(GONGAN, "县公安局"), (SHICHANG, "县市场监督管理局"), (MINZHENG, "县民政局")]

    world.at(2026, 9, 28, 10, 0)
    with pytest.raises(InvalidForm) as refused:
        start(world, "gongan.clerk", department=SHICHANG)
    assert set(refused.value.errors) == {"department"}
    with pytest.raises(PermissionDenied):
        start(world, "gongan.head")
    with pytest.raises(InvalidForm) as future:
        start(world, change_date="2026-09-29")
    assert "future" in future.value.errors["change_date"]
    assert versions(world, SHICHANG) == [(1, "published")] and versions(world, GONGAN) == [(1, "published")]

    case_id = start(world, "supervisor", department=MINZHENG, change_kind="function")
    task = world.task(case_id, "update_catalog")
    assert (task.role, task.department, task.due_date) == ("provider_clerk", MINZHENG, UPDATE_DUE)
    assert world.case(case_id).title == "目录变更：县民政局（行政管理职能变化，2026-09-24）"
    with pytest.raises(PermissionDenied):
        world.complete(case_id, "update_catalog", "gongan.clerk", {"change_summary": "x", "action": "withdraw"})
    assert versions(world, MINZHENG) == [(1, "published"), (None, "draft")]


def test_one_running_change_per_department(world):
    world.at(2026, 9, 28, 10, 0)
    first = start(world)
    with pytest.raises(InvalidForm) as refused:
        start(world, "supervisor", change_kind="law")
    assert world.case(first).number in refused.value.errors["department"]
    world.complete(first, "update_catalog", "gongan.clerk", {"change_summary": "重复发起，撤回", "action": "withdraw"})
    second = start(world, "supervisor", change_kind="law")
    assert world.open_elements(second) == ["update_catalog"]
    assert versions(world, GONGAN) == [(1, "published"), (None, "draft")]


# -- the paths of the diagram ----------------------------------------------------------------------

def test_published(world):
    """Update → 数长 approves → report → the authority publishes version 2 (arts. 9, 16)."""
    # the statutory dates, computed by the engine's calendar and asserted literally below
    assert due_date(date(2026, 9, 24), 15) == UPDATE_DUE and due_date(date(2026, 9, 30), 3) == REPORT_DUE
    world.at(2026, 9, 28, 10, 0)
    case_id = start(world)
    update = world.task(case_id, "update_catalog")
    assert (update.role, update.department, update.due_date) == ("provider_clerk", GONGAN, UPDATE_DUE)
    assert waiting_deadlines(world, case_id) == ["update_catalog_overdue", "update_catalog_reminder"]
    with pytest.raises(PermissionDenied):  # the wrong department's clerk
        world.complete(case_id, "update_catalog", "shichang.clerk", {"change_summary": "x", "action": "submit"})

    world.at(2026, 9, 29, 15, 0)
    edit_draft(world, case_id)
    submit(world, case_id)
    world.reload()  # the saved state carries the case
    world.at(2026, 9, 30, 11, 0)
    with pytest.raises(PermissionDenied):
        world.complete(case_id, "internal_approval", "shichang.head", {"head_decision": "approve"})
    world.complete(case_id, "internal_approval", "gongan.head", {"head_decision": "approve"})
    report = world.task(case_id, "report")
    assert (report.role, report.department, report.due_date) == ("provider_clerk", GONGAN, REPORT_DUE)
    world.at(2026, 10, 9, 9, 30)
    world.complete(case_id, "report", "gongan.clerk", {"report_note": "报送更新后的目录及变更依据"})
    review = world.task(case_id, "authority_review")
    assert (review.role, review.department) == ("authority", None)
    world.at(2026, 10, 12, 10, 0)
    world.complete(case_id, "authority_review", "supervisor", {"review_decision": "approve"})

    case = world.case(case_id)
    assert (case.status, case.outcome) == ("completed", "published")
    assert versions(world, GONGAN) == [(1, "superseded"), (2, "published")]
    with world.engine.uow() as uow:
        old, new = catalog.list_versions(uow.session, GONGAN)
        assert (new.basis, new.case_id, new.published_by) == (BASIS, case_id, "supervisor")
        diff = catalog.diff_versions(uow.session, old.id, new.id)
        assert diff.added == {"HN-GA-004": "居住证登记信息"} and diff.removed == {}
        assert {code: [c.field for c in fields] for code, fields in diff.changed.items()} == \
            {"HN-GA-001": ["update_frequency"], "HN-GA-003": ["status"]}
        assert catalog.get_resource(uow.session, "HN-GA-004").department.code == GONGAN
    assert world.open_elements(case_id) == [] and waiting_deadlines(world, case_id) == []
    actions = case_actions(world, case_id)
    assert actions[0] == "case_started" and actions[-1] == "case_ended"
    assert actions.count("task_completed") == 4 and "catalog_published" in actions
    assert {"catalog_draft_opened", "catalog_entry_saved"} <= set(all_actions(world))
    assert world.engine.verify_audit() is None


def test_returned_by_the_head_then_by_the_authority_then_published(world):
    world.at(2026, 9, 28, 10, 0)
    case_id = start(world)
    edit_draft(world, case_id)
    submit(world, case_id)
    with pytest.raises(InvalidForm) as no_opinion:
        world.complete(case_id, "internal_approval", "gongan.head", {"head_decision": "return"})
    assert set(no_opinion.value.errors) == {"head_opinion"}
    world.complete(case_id, "internal_approval", "gongan.head",
                   {"head_decision": "return", "head_opinion": "请补充居住证信息的共享依据说明"})
    again = world.task(case_id, "update_catalog")
    assert again.due_date == UPDATE_DUE  # still counted from the change date (art. 9)
    assert world.engine.get_task(again.id).data["head_opinion"] == "请补充居住证信息的共享依据说明"

    submit(world, case_id, "补充了共享依据")
    world.reload()
    world.at(2026, 9, 30, 11, 0)
    approve_and_report(world, case_id)
    with pytest.raises(InvalidForm) as no_opinion:
        world.complete(case_id, "authority_review", "supervisor", {"review_decision": "return"})
    assert set(no_opinion.value.errors) == {"review_opinion"}
    world.complete(case_id, "authority_review", "supervisor",
                   {"review_decision": "return", "review_opinion": "户籍信息更新周期应与归集频率一致"})
    third = world.task(case_id, "update_catalog")
    assert third.due_date == REWORK_DUE  # art. 9 rework period from the return, not the 15 days again
    data = world.engine.get_task(third.id).data
    assert (data["review_opinion"], data["head_opinion"]) == ("户籍信息更新周期应与归集频率一致", "")

    world.at(2026, 10, 12, 9, 0)
    version_id = draft_id(world, case_id)
    with world.engine.uow() as uow:
        catalog.upsert_entry(uow, version_id, {"code": "HN-GA-001", "update_frequency": "daily",
                                                             "usage_requirements": "仅限本部门履职使用"},
                             world.actors["gongan.clerk"], world.clock.now())
        uow.commit()
    submit(world, case_id, "按主管部门意见调整")
    approve_and_report(world, case_id)
    world.complete(case_id, "authority_review", "supervisor", {"review_decision": "approve"})

    assert (world.case(case_id).status, world.case(case_id).outcome) == ("completed", "published")
    assert versions(world, GONGAN) == [(1, "superseded"), (2, "published")]
    with world.engine.uow() as uow:
        old, new = catalog.list_versions(uow.session, GONGAN)
        changed = catalog.diff_versions(uow.session, old.id, new.id).changed
        assert [c.field for c in changed["HN-GA-001"]] == ["usage_requirements"]
    actions = case_actions(world, case_id)
    assert actions.count("task_completed") == 10 and actions[-1] == "case_ended"
    assert world.engine.verify_audit() is None


def test_a_draft_edited_after_submission_cannot_be_approved(world):
    """What the 数长 approves is what was submitted: later edits need a new submission."""
    world.at(2026, 9, 28, 10, 0)
    case_id = start(world)
    edit_draft(world, case_id)
    submit(world, case_id)
    version_id = draft_id(world, case_id)
    with world.engine.uow() as uow:
        catalog.upsert_entry(uow, version_id, {"code": "HN-GA-004", "name": "居住证信息"},
                             world.actors["gongan.clerk"], world.clock.now())
        uow.commit()
    before = snapshot(world, case_id)
    with pytest.raises(InvalidForm) as refused:
        world.complete(case_id, "internal_approval", "gongan.head", {"head_decision": "approve"})
    assert "changed after it was submitted" in refused.value.errors["head_decision"]
    assert snapshot(world, case_id) == before
    world.complete(case_id, "internal_approval", "gongan.head", {"head_decision": "return", "head_opinion": "请重新提交"})
    submit(world, case_id)
    approve_and_report(world, case_id)
    assert world.open_elements(case_id) == ["authority_review"]


def test_withdrawn(world):
    world.at(2026, 9, 28, 10, 0)
    case_id = start(world)
    edit_draft(world, case_id)
    world.reload()
    world.complete(case_id, "update_catalog", "gongan.clerk",
                   {"change_summary": "经核实，条例修订不涉及本部门目录", "action": "withdraw"})

    case = world.case(case_id)
    assert (case.status, case.outcome) == ("completed", "withdrawn")
    assert versions(world, GONGAN) == [(1, "published")]  # the draft is gone, the live catalog unchanged
    with world.engine.uow() as uow:
        assert catalog.draft_of(uow.session, GONGAN) is None
        assert [e.code for e in catalog.published_catalog(uow.session, GONGAN)] == ["HN-GA-001", "HN-GA-003"]
    assert waiting_deadlines(world, case_id) == []
    assert "catalog_draft_discarded" in all_actions(world)
    assert case_actions(world, case_id)[-1] == "case_ended"
    assert world.engine.verify_audit() is None


def test_an_unchanged_or_invalid_draft_cannot_be_submitted(world):
    world.at(2026, 9, 28, 10, 0)
    case_id = start(world)
    before = snapshot(world, case_id)
    with pytest.raises(InvalidForm) as unchanged:
        submit(world, case_id)
    assert "does not differ" in unchanged.value.errors["action"]
    assert snapshot(world, case_id) == before

    # a code another department publishes after the clerk saved it (codes are county-wide)
    taken, version_id = {**NEW_RESOURCE, "code": "HN-X-100"}, draft_id(world, case_id)
    with world.engine.uow() as uow:
        catalog.upsert_entry(uow, version_id, taken, world.actors["gongan.clerk"], world.clock.now())
        uow.commit()
    with world.engine.uow() as uow:
        other = catalog.open_draft(uow, SHICHANG, "seed", world.clock.now())
        catalog.upsert_entry(uow, other.id, {**taken, "name": "个体工商户信息"}, "seed", world.clock.now())
        catalog.publish_draft(uow, other.id, "seed", world.clock.now(), basis="测试")
        uow.commit()
    before = snapshot(world, case_id)
    with pytest.raises(InvalidForm) as invalid:
        submit(world, case_id)
    assert "HN-X-100.code" in invalid.value.errors
    assert snapshot(world, case_id) == before

    version_id = draft_id(world, case_id)
    with world.engine.uow() as uow:  # an empty catalog
        for code in ("HN-GA-001", "HN-GA-003", "HN-X-100"):
            catalog.remove_entry(uow, version_id, code, "gongan.clerk", world.clock.now())
        uow.commit()
    with pytest.raises(InvalidForm) as empty:
        submit(world, case_id)
    assert "no resources" in empty.value.errors["action"]
    assert world.open_elements(case_id) == ["update_catalog"]
    assert versions(world, GONGAN) == [(1, "published"), (None, "draft")]
    assert world.engine.verify_audit() is None


@pytest.mark.parametrize("update_decision, report_decision", [("open", "dismiss"), ("dismiss", "open")])
def test_overdue_update_and_report_are_supervised(world, update_decision, report_decision):
    """Late update and late report: reminder, then a 督办 for the authority (art. 31 item 1), which
    opens a rectification or dismisses it with a reason; the task stays open meanwhile."""
    assert "rectification" not in world.deploy_errors
    world.at(2026, 9, 28, 10, 0)
    case_id = start(world)
    world.at(2026, 10, 21, 9, 0)  # one working day before the due date
    world.fire_timers()
    assert waiting_deadlines(world, case_id) == ["update_catalog_overdue"]
    world.at(2026, 10, 23, 0, 0)  # 24:00 of Thu 10-22 has passed
    world.fire_timers()
    update = world.task(case_id, "update_catalog")
    assert update.overdue is True
    supervision = supervision_of(world, case_id)
    assert (supervision.department.code, supervision.possible_violation_item, supervision.status) == \
        (GONGAN, 1, "open")
    assert supervision.human_task_id == update.id
    assert world.open_elements(case_id) == ["update_catalog", "update_catalog_supervise"]
    world.reload()

    decide(world, case_id, "update_catalog_supervise", update_decision)
    check_supervision(world, case_id, "update_catalog", update_decision)

    world.at(2026, 10, 26, 10, 0)  # late, but the work goes on
    edit_draft(world, case_id)
    submit(world, case_id)
    world.complete(case_id, "internal_approval", "gongan.head", {"head_decision": "approve"})
    # engine.calendar.due_date(date(2026, 10, 26), 3) == date(2026, 10, 29)
    assert world.task(case_id, "report").due_date == date(2026, 10, 29)
    world.at(2026, 10, 30, 0, 0)
    world.fire_timers()
    assert world.open_elements(case_id) == ["report", "report_supervise"]
    decide(world, case_id, "report_supervise", report_decision)
    check_supervision(world, case_id, "report", report_decision)

    world.complete(case_id, "report", "gongan.clerk", {"report_note": "逾期报送，已说明原因"})
    world.complete(case_id, "authority_review", "supervisor", {"review_decision": "approve"})
    case = world.case(case_id)
    assert (case.status, case.outcome) == ("completed", "published")
    assert versions(world, GONGAN) == [(1, "superseded"), (2, "published")]
    actions = case_actions(world, case_id)
    # the 数长's approval opened inside the update's late period: its two timers fire on entry, no new 督办
    assert actions.count("supervision_opened") == 2 and actions.count("timer_fired") == 6
    assert {"violation_recorded", "supervision_confirmed", "supervision_resolved", "catalog_published"} <= set(actions)
    assert world.engine.verify_audit() is None


def decide(world, case_id: int, element: str, decision: str) -> None:
    with pytest.raises(PermissionDenied):
        world.complete(case_id, element, "gongan.clerk", {"decision": decision, "note": "x"})
    if decision == "dismiss":
        with pytest.raises(InvalidForm) as no_reason:
            world.complete(case_id, element, "supervisor", {"decision": "dismiss"})
        assert set(no_reason.value.errors) == {"note"}
    note = "经查系条例修订后信息项调整工作量大，已当面督促" if decision == "dismiss" else ""
    world.complete(case_id, element, "supervisor", {"decision": decision, "note": note})


def check_supervision(world, case_id: int, task: str, decision: str) -> None:
    """The 督办 of ``task`` (the first item is the update's, the second the report's) and its outcome."""
    with world.engine.uow() as uow:
        items = uow.session.scalars(sa.select(SupervisionItem).where(
            SupervisionItem.case_id == case_id).order_by(SupervisionItem.id)).all()
        item = items[0 if task == "update_catalog" else 1]
        assert item.department.code == GONGAN and item.possible_violation_item == 1
        if decision == "dismiss":
            assert (item.status, item.confirmed, item.resolved_by) == ("resolved", False, "supervisor")
            return
        assert item.confirmed and item.violation_id is not None
        violation = uow.session.get(Violation, item.violation_id)
        assert (violation.item, violation.source, violation.source_case_id) == (1, "overdue_escalation", case_id)
        assert violation.department.code == GONGAN and violation.source_task_id == item.human_task_id
        rectification = uow.session.get(Case, violation.case_id)
        assert rectification.process_id == "rectification" and rectification.status == "running"


# -- statutory periods (docs/deadlines.md): the department's 15 days, the authority's own -----------

def periods(world, case_id: int) -> list[tuple]:
    from engine.models import StatutoryPeriod
    with world.engine.uow() as uow:
        return [(p.name, p.seq, p.party, p.department, p.due_date, p.state, p.reminded_at is not None,
                 p.overdue_at is not None, p.supervision_id is not None)
                for p in uow.session.scalars(sa.select(StatutoryPeriod).where(StatutoryPeriod.case_id == case_id)
                                             .order_by(StatutoryPeriod.id))]



def supervision_items(world, case_id: int) -> list[tuple]:
    with world.engine.uow() as uow:
        return [(i.department.code, i.possible_violation_item, i.status, i.period_id is not None)
                for i in uow.session.scalars(sa.select(SupervisionItem).where(
                    SupervisionItem.case_id == case_id).order_by(SupervisionItem.id))]


# engine.calendar.due_date(date(2026, 11, 2), 15) == date(2026, 11, 23): Mon 11-02, 15 working days.
NOVEMBER_DUE = date(2026, 11, 23)


def test_a_head_sitting_on_the_update_is_reminded_and_supervised_within_the_15_days(world):
    """The 15 days of art. 9 are the department's: the clerk's update *and* the 数长's approval. A
    head who sits on a submitted update from 11-05 to 2027-01-15 is reminded the working day before
    11-23 and the department is supervised once, from 11-24 (the issue's finding)."""
    assert "rectification" not in world.deploy_errors
    world.at(2026, 11, 2, 10, 0)
    case_id = start(world, change_date="2026-11-02")
    world.at(2026, 11, 5, 10, 0)
    edit_draft(world, case_id)
    submit(world, case_id)
    approval = world.task(case_id, "internal_approval")
    assert (approval.due_date, approval.department) == (NOVEMBER_DUE, GONGAN)
    assert periods(world, case_id) == [("update", 1, "department", GONGAN, NOVEMBER_DUE, "running",
                                        False, False, False)]
    world.at(2026, 11, 20, 9, 0)  # 09:00 of the working day before the end
    world.fire_timers()
    assert world.notified(case_id, "reminder") == ["gongan.head"]
    world.at(2027, 1, 15, 10, 0)
    world.fire_timers()
    assert world.task(case_id, "internal_approval").overdue is True
    assert supervision_items(world, case_id) == [(GONGAN, 1, "open", True)]
    assert world.notified(case_id, "overdue") == ["gongan.head"]
    assert "internal_approval_supervise" in world.open_elements(case_id)
    assert periods(world, case_id)[0][5:] == ("running", True, True, True)
    actions = case_actions(world, case_id)
    assert actions.count("period_opened") == 2  # the department's update, then the authority's 督办 decision
    assert actions.count("period_overdue") == 1 and actions.count("supervision_opened") == 1


def test_a_late_update_is_supervised_once_per_period_and_a_return_opens_the_rework_period(world):
    """Late update: one 督办 for the department's period; the 数长's approval entered after the end
    raises no second one; the authority dismisses it ("部门按时提交" is its reason); a return by the
    authority after day 15 opens the rework period from the return: not overdue on entry, no 督办."""
    assert "rectification" not in world.deploy_errors
    world.at(2026, 11, 2, 10, 0)
    case_id = start(world, change_date="2026-11-02")
    world.at(2026, 11, 24, 10, 0)  # the 15 days ended at 24:00 of 11-23
    world.fire_timers()
    assert supervision_items(world, case_id) == [(GONGAN, 1, "open", True)]
    edit_draft(world, case_id)
    submit(world, case_id)  # the 数长's task opens after the end of the same period
    assert world.task(case_id, "internal_approval").overdue is True
    assert len(supervision_items(world, case_id)) == 1
    assert "internal_approval_supervise" not in world.open_elements(case_id)
    world.complete(case_id, "update_catalog_supervise", "supervisor", {"decision": "dismiss", "note": "部门按时提交"})
    world.complete(case_id, "internal_approval", "gongan.head", {"head_decision": "approve"})
    world.at(2026, 11, 25, 10, 0)
    world.complete(case_id, "report", "gongan.clerk", {"report_note": "报送"})
    world.at(2026, 11, 26, 10, 0)
    world.complete(case_id, "authority_review", "supervisor",
                   {"review_decision": "return", "review_opinion": "请补充数据项说明"})
    again = world.task(case_id, "update_catalog")
    # engine.calendar.due_date(date(2026, 11, 26), 5) == date(2026, 12, 3): the rework period (art. 9, design)
    assert (again.due_date, again.overdue) == (date(2026, 12, 3), False)
    assert supervision_items(world, case_id) == [(GONGAN, 1, "resolved", True)]
    found = periods(world, case_id)
    assert [(p[0], p[1], p[5]) for p in found] == [
        ("update", 1, "late"), ("update_supervise", 1, "met"), ("report", 1, "met"), ("review", 1, "met"),
        ("update", 2, "running")]
    assert found[-1][4] == date(2026, 12, 3)
    with world.engine.uow() as uow:
        opened = [json.loads(s) for s in uow.session.scalars(sa.select(AuditRecord.summary).where(
            AuditRecord.case_id == case_id, AuditRecord.action == "period_opened").order_by(AuditRecord.id))]
    assert opened[-1]["rule"] == "catalog_rework_days" and opened[-1]["days"] == 5


def test_the_authority_late_on_its_review_is_reminded_and_marked_late_without_a_violation(world):
    """The authority's own period (authority_decide_days, design): its people are reminded, the period
    is marked late and shows as such; no 督办 and no violation name the authority."""
    world.at(2026, 11, 2, 10, 0)
    case_id = start(world, change_date="2026-11-02")
    edit_draft(world, case_id)
    submit(world, case_id)
    approve_and_report(world, case_id)
    review = world.task(case_id, "authority_review")
    # engine.calendar.due_date(date(2026, 11, 2), 5) == date(2026, 11, 9)
    assert (review.due_date, review.department) == (date(2026, 11, 9), None)
    world.at(2026, 11, 6, 9, 0)
    world.fire_timers()
    assert world.notified(case_id, "reminder") == ["supervisor"]
    world.at(2026, 11, 10, 9, 0)
    world.fire_timers()
    assert world.task(case_id, "authority_review").overdue is True
    assert supervision_items(world, case_id) == []
    with world.engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Violation)) == 0
    world.complete(case_id, "authority_review", "supervisor", {"review_decision": "approve"})
    review_period = [p for p in periods(world, case_id) if p[0] == "review"]
    assert review_period == [("review", 1, "authority", None, date(2026, 11, 9), "late", True, True, False)]
    assert world.case(case_id).outcome == "published"


def test_a_period_is_reminded_once_whichever_task_holds_it(world):
    """The clerk is reminded on 11-20; the 数长's task, entered after the reminder instant, is not
    reminded again (one reminder per period)."""
    world.at(2026, 11, 2, 10, 0)
    case_id = start(world, change_date="2026-11-02")
    world.at(2026, 11, 20, 9, 30)
    world.fire_timers()
    assert world.notified(case_id, "reminder") == ["gongan.clerk"]
    edit_draft(world, case_id)
    submit(world, case_id)
    assert world.notified(case_id, "reminder") == ["gongan.clerk"]
    with world.engine.uow() as uow:
        fired = [json.loads(s) for s in uow.session.scalars(sa.select(AuditRecord.summary).where(
            AuditRecord.case_id == case_id, AuditRecord.action == "timer_fired"))]
    assert [(f["kind"], f.get("repeat", False)) for f in fired] == [("reminder", False), ("reminder", True)]
