"""复核 (procedure 3, art. 18): every path of bpmn/data_review.bpmn through the engine.

Received Thursday 2026-09-24: 10 working days (National Day 10-01..10-07, Saturday 10-10 works)
end on 2026-10-15; the reminder comes 2026-10-14 09:00; an extension of 10 working days, counted
from 10-15, ends on 2026-10-29.
"""
from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from engine import definitions
from engine.errors import GovflowError, InvalidForm, PermissionDenied
from engine.domain import records
from engine.models import AuditRecord, Case, Deadline, HumanTask
from engine.uow import Actor
from tools.bpmn_builder import Diagram

GONGAN = "340822101"
SHICHANG = "340822102"
CITIZEN = Actor("citizen:wang")  # the public: no roles, no department
OBJECTION = {"objector_kind": "natural_person", "objector_name": "王某", "contact_phone": "138 0000 0000",
             "resource": "HN-GA-001", "record_ref": "公民身份号码 340822199001011234 的户籍地址",
             "description": "户籍地址门牌号应为 12 号，登记为 21 号", "evidence": "不动产权证书复印件"}
CORRECTED = {"outcome": "corrected", "answer": "经核实，门牌号登记有误，已更正。",
             "correction": "户籍地址门牌号由 21 号更正为 12 号"}
CONFIRMED = {"outcome": "confirmed", "answer": "经核实，户籍地址与原始登记材料一致，数据无误。"}
DUE = date(2026, 10, 15)
EXTENDED_DUE = date(2026, 10, 29)


def start(world, actor=CITIZEN, **changes) -> int:
    world.at(2026, 9, 24, 10, 0)  # Thursday
    return world.engine.start_case("data_review", actor, {**OBJECTION, **changes})


def objection(world, case_id) -> records.Objection:
    with world.engine.uow() as uow:
        found = uow.session.scalars(sa.select(records.Objection).where(records.Objection.case_id == case_id)).one()
        uow.session.expunge(found)
        return found


def supervision(world, case_id) -> records.SupervisionItem:
    with world.engine.uow() as uow:
        found = uow.session.scalars(sa.select(records.SupervisionItem).where(
            records.SupervisionItem.case_id == case_id)).one()
        uow.session.expunge(found)
        return found


def audit(world, case_id, action=None) -> list:
    query = sa.select(AuditRecord).where(AuditRecord.case_id == case_id).order_by(AuditRecord.id)
    with world.engine.uow() as uow:
        rows = list(uow.session.scalars(query if action is None else query.where(AuditRecord.action == action)))
    return rows if action is not None else [r.action for r in rows]


def fired_kinds(world, case_id) -> list[str]:
    return [json.loads(r.summary)["kind"] for r in audit(world, case_id, "timer_fired")]


def deadline_states(world, case_id) -> dict[str, str]:
    with world.engine.uow() as uow:
        return {d.element_id: d.state for d in uow.session.scalars(
            sa.select(Deadline).where(Deadline.case_id == case_id))}


def task_row(world, case_id, element_id) -> HumanTask:
    with world.engine.uow() as uow:
        return uow.session.scalars(sa.select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.element_id == element_id)).one()


def ended(world, case_id, outcome) -> None:
    case = world.case(case_id)
    assert (case.status, case.outcome) == ("completed", outcome)
    assert world.open_elements(case_id) == []
    assert world.engine.verify_audit() is None


def ensure_rectification(world) -> None:
    """The overdue offer starts a ``rectification`` case. Until bpmn/rectification.bpmn deploys, a
    stand-in with the same process id takes its place, so that this procedure's branch can be walked."""
    with world.engine.uow() as uow:
        if definitions.latest(uow.session, "rectification") is not None:
            return
    d = Diagram("rectification", "违规整改（测试替身）")
    d.lane("authority", "主管部门")
    d.start("start", "登记违规", lane="authority", col=0)
    d.user_task("notice", "整改通知", lane="authority", col=1, candidate_groups="authority")
    d.end("end", "结束", lane="authority", col=2)
    d.flow("f1", "start", "notice")
    d.flow("f2", "notice", "end")
    world.engine.deploy(d.to_bytes())


# -- start --------------------------------------------------------------------------------------

def test_the_public_without_roles_can_start_and_gets_a_receipt_code(world):
    assert world.engine.may_start("data_review", CITIZEN)
    fields, options = world.engine.start_form("data_review", CITIZEN)
    assert [f.id for f in fields][:2] == ["objector_kind", "objector_name"]
    assert [code for code, _ in options["resource"]] == ["HN-GA-001", "HN-GA-003", "HN-SJ-001", "HN-MZ-001"]
    assert dict(options["resource"])["HN-GA-001"] == "HN-GA-001 户籍人口基本信息（县公安局）"

    case_id = start(world)
    world.reload()
    data = world.engine.case_data(case_id)
    assert (data["resource_code"], data["provider_department"], data["received_on"]) == (
        "HN-GA-001", GONGAN, "2026-09-24")
    found = objection(world, case_id)
    assert data["receipt_code"] == found.receipt_code and data["objection_id"] == found.id
    assert (found.status, found.objector_kind, found.objector_name, found.received_by) == (
        "received", "natural_person", "王某", "citizen:wang")
    assert (found.provider.code, found.record_ref) == (GONGAN, OBJECTION["record_ref"])
    assert world.case(case_id).title.startswith("复核申请：HN-GA-001 户籍人口基本信息")
    assert world.open_elements(case_id) == ["request_extension", "verify_answer"]
    assert task_row(world, case_id, "verify_answer").department == GONGAN
    assert task_row(world, case_id, "verify_answer").due_date == DUE
    assert audit(world, case_id)[:2] == ["case_started", "objection_received"]
    assert all(found.receipt_code not in r.summary for r in audit(world, case_id, "objection_received"))


def test_start_refuses_incomplete_or_invalid_objections_and_creates_nothing(world):
    with pytest.raises(InvalidForm) as exc:
        start(world, contact_phone="", contact_email="")
    assert set(exc.value.errors) == {"contact_phone"} and "phone number or an e-mail" in str(exc.value)
    with pytest.raises(InvalidForm) as exc:
        start(world, objector_kind="legal_person", objector_name="")
    assert set(exc.value.errors) == {"objector_name"}
    with pytest.raises(InvalidForm) as exc:
        start(world, contact_phone="call me", contact_email="nowhere")
    assert set(exc.value.errors) == {"contact_phone", "contact_email"}
    with pytest.raises(InvalidForm) as exc:
        start(world, objector_kind="department")  # the public is no department
    assert "member of the department" in exc.value.errors["objector_kind"]
    with pytest.raises(InvalidForm) as exc:
        start(world, resource="HN-XX-999", record_ref="")
    assert set(exc.value.errors) == {"resource", "record_ref"}
    with world.engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(records.Objection)) == 0


# -- verify and answer --------------------------------------------------------------------------

def test_answered_in_time_with_a_correction(world):
    case_id = start(world)
    world.at(2026, 10, 9, 15, 0)
    with pytest.raises(PermissionDenied):  # another department's clerk
        world.complete(case_id, "verify_answer", "shichang.clerk", CORRECTED)
    with pytest.raises(InvalidForm) as exc:
        world.complete(case_id, "verify_answer", "gongan.clerk", {**CORRECTED, "correction": ""})
    assert "say what was corrected" in exc.value.errors["correction"]
    world.reload()
    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)

    ended(world, case_id, "corrected")
    found = objection(world, case_id)
    assert (found.status, found.outcome, found.answer, found.correction, found.answered_by) == (
        "answered", "corrected", CORRECTED["answer"], CORRECTED["correction"], "gongan.clerk")
    assert found.extension_days is None
    assert task_row(world, case_id, "request_extension").state == "cancelled"  # terminate end
    assert deadline_states(world, case_id) == {
        "verify_overdue": "cancelled", "verify_reminder": "cancelled", "request_window": "cancelled"}
    actions = audit(world, case_id)
    assert actions.index("objection_received") < actions.index("objection_answered") < actions.index("case_ended")
    assert "task_cancelled" in actions and "supervision_opened" not in actions


def test_answered_in_time_confirmed_for_a_department_objector(world):
    case_id = start(world, actor=world.actors["shichang.clerk"], objector_kind="department",
                    objector_name="李某（经办人）", contact_phone="", contact_email="")
    assert objection(world, case_id).objector_department.code == SHICHANG
    world.at(2026, 10, 15, 23, 0)  # the last day of the period
    world.reload()
    with pytest.raises(InvalidForm) as exc:  # a confirmed record has nothing corrected
        world.complete(case_id, "verify_answer", "gongan.clerk", {**CONFIRMED, "correction": "门牌号"})
    assert set(exc.value.errors) == {"correction"}
    world.complete(case_id, "verify_answer", "gongan.clerk", CONFIRMED)

    ended(world, case_id, "confirmed")
    found = objection(world, case_id)
    assert (found.status, found.outcome, found.correction) == ("answered", "confirmed", None)
    assert fired_kinds(world, case_id) == ["reminder"]  # 10-14 09:00 passed; the period had not
    assert "supervision_opened" not in audit(world, case_id)


def test_the_receipt_code_finds_the_answer_after_the_case_ended(world):
    case_id = start(world)
    code = world.engine.case_data(case_id)["receipt_code"]
    with world.engine.uow() as uow:
        assert records.objection_by_receipt(uow.session, code).answer is None
    world.at(2026, 10, 12, 10, 0)
    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)
    assert world.case(case_id).status == "completed"
    world.reload()
    spaced = "-".join(code[i:i + 4] for i in range(0, len(code), 4)).lower()
    with world.engine.uow() as uow:
        found = records.objection_by_receipt(uow.session, spaced)
        assert (found.case_id, found.outcome, found.answer, found.correction) == (
            case_id, "corrected", CORRECTED["answer"], CORRECTED["correction"])


# -- extension ----------------------------------------------------------------------------------

def test_an_approved_extension_moves_the_deadline_by_the_approved_working_days(world):
    case_id = start(world)
    world.at(2026, 10, 13, 10, 0)
    with pytest.raises(InvalidForm) as exc:
        world.complete(case_id, "request_extension", "gongan.clerk",
                       {"extension_days": 11, "extension_reason": "需调取档案"})
    assert "1 to 10 working days" in exc.value.errors["extension_days"]
    world.complete(case_id, "request_extension", "gongan.clerk",
                   {"extension_days": 10, "extension_reason": "需调取纸质户籍档案核对"})
    assert world.open_elements(case_id) == ["approve_extension", "verify_answer"]
    world.reload()
    with pytest.raises(PermissionDenied):  # another department's head
        world.complete(case_id, "approve_extension", "shichang.head", {"approve": True})
    world.complete(case_id, "approve_extension", "gongan.head", {"approve": True, "opinion": "同意延长"})

    assert task_row(world, case_id, "verify_answer").due_date == EXTENDED_DUE
    assert world.engine.case_data(case_id)["extended_due_date"] == "2026-10-29"
    moves = {json.loads(r.summary)["new"] for r in audit(world, case_id, "deadline_moved")}
    assert moves == {"2026-10-30T00:00:00+08:00", "2026-10-28T09:00:00+08:00"}  # overdue, reminder
    found = objection(world, case_id)
    assert (found.extension_days, found.extension_approved, found.extension_decided_by) == (10, True, "gongan.head")
    assert world.open_elements(case_id) == ["verify_answer"]  # asked once: no second request

    world.at(2026, 10, 16, 0, 0)  # the original end passes: nothing fires
    assert world.fire_timers() == 0
    world.at(2026, 10, 29, 16, 0)
    world.complete(case_id, "verify_answer", "gongan.clerk", CONFIRMED)
    ended(world, case_id, "confirmed")
    assert "supervision_opened" not in audit(world, case_id)
    actions = audit(world, case_id)
    assert actions.index("objection_extension_requested") < actions.index("objection_extension_decided") \
        < actions.index("deadline_moved") < actions.index("objection_answered")


def test_a_refused_extension_leaves_the_deadline(world):
    case_id = start(world)
    world.at(2026, 10, 12, 10, 0)
    world.complete(case_id, "request_extension", "gongan.clerk",
                   {"extension_days": 5, "extension_reason": "涉及多个派出所"})
    world.reload()
    world.complete(case_id, "approve_extension", "gongan.head", {"approve": False, "opinion": "应在期限内办结"})

    assert task_row(world, case_id, "verify_answer").due_date == DUE
    assert audit(world, case_id, "deadline_moved") == []
    found = objection(world, case_id)
    assert (found.extension_days, found.extension_approved) == (5, False)
    assert world.open_elements(case_id) == ["verify_answer"]
    world.at(2026, 10, 15, 17, 0)
    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)
    ended(world, case_id, "corrected")


def test_a_second_extension_request_is_impossible(world):
    case_id = start(world)
    world.at(2026, 10, 9, 10, 0)
    with pytest.raises(PermissionDenied):
        world.complete(case_id, "request_extension", "minzheng.clerk",
                       {"extension_days": 3, "extension_reason": "需核对"})
    world.complete(case_id, "request_extension", "gongan.clerk",
                   {"extension_days": 3, "extension_reason": "需核对"})
    assert "request_extension" not in world.open_elements(case_id)
    world.reload()
    world.complete(case_id, "approve_extension", "gongan.head", {"approve": True})
    assert world.open_elements(case_id) == ["verify_answer"]
    assert task_row(world, case_id, "verify_answer").due_date == date(2026, 10, 20)  # 10-15 + 3
    with world.engine.uow() as uow, pytest.raises(GovflowError, match="only once"):
        records.record_extension(uow, objection(world, case_id).id, 2, "再延", world.actors["gongan.clerk"],
                                 world.clock.now())
    assert len(audit(world, case_id, "objection_extension_requested")) == 1
    assert world.engine.verify_audit() is None


def test_an_approval_after_the_original_period_is_refused_and_the_head_can_still_refuse(world):
    case_id = start(world)
    world.at(2026, 10, 15, 16, 0)  # requested on the last day
    world.complete(case_id, "request_extension", "gongan.clerk",
                   {"extension_days": 10, "extension_reason": "需调取档案"})
    world.at(2026, 10, 16, 0, 30)  # the head decides after 24:00
    with pytest.raises(InvalidForm) as exc:
        world.complete(case_id, "approve_extension", "gongan.head", {"approve": True})
    assert "original period ended on 2026-10-15" in exc.value.errors["approve"]
    assert world.open_elements(case_id) == ["approve_extension", "verify_answer"]  # nothing changed
    assert task_row(world, case_id, "verify_answer").due_date == DUE
    assert objection(world, case_id).extension_approved is None
    assert audit(world, case_id, "deadline_moved") == [] and fired_kinds(world, case_id) == ["reminder"]

    world.reload()
    world.complete(case_id, "approve_extension", "gongan.head", {"approve": False, "opinion": "已超过原期限"})
    assert objection(world, case_id).extension_approved is False
    assert world.open_elements(case_id) == ["supervise", "verify_answer"]  # the overdue timer fired first
    assert task_row(world, case_id, "verify_answer").overdue is True
    world.complete(case_id, "verify_answer", "gongan.clerk", CONFIRMED)
    ended(world, case_id, "confirmed")
    assert supervision(world, case_id).status == "open"  # stays on the authority's dashboard


def test_the_request_lapses_when_the_period_ends(world):
    case_id = start(world)
    world.at(2026, 10, 16, 0, 0)
    world.reload()
    world.fire_timers()
    assert "request_extension" not in world.open_elements(case_id)
    assert task_row(world, case_id, "request_extension").state == "cancelled"
    world.at(2026, 10, 16, 9, 0)
    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)
    ended(world, case_id, "corrected")
    assert objection(world, case_id).extension_days is None


# -- overdue: reminder, 督办, rectification --------------------------------------------------------

def test_overdue_opens_a_supervision_item_and_the_authority_opens_a_rectification(world):
    ensure_rectification(world)
    case_id = start(world)
    world.at(2026, 10, 14, 9, 0)
    assert world.fire_timers() == 1  # the reminder
    assert world.open_elements(case_id) == ["request_extension", "verify_answer"]
    world.at(2026, 10, 16, 0, 0)
    assert world.fire_timers() == 2  # overdue, and the request window closes
    assert world.open_elements(case_id) == ["supervise", "verify_answer"]
    assert task_row(world, case_id, "verify_answer").overdue is True
    item = supervision(world, case_id)
    assert (item.status, item.department.code, item.possible_violation_item, item.human_task_id) == (
        "open", GONGAN, 3, task_row(world, case_id, "verify_answer").id)

    world.reload()
    with pytest.raises(PermissionDenied):
        world.complete(case_id, "supervise", "gongan.head", {"decision": "open"})
    world.at(2026, 10, 16, 10, 0)
    world.complete(case_id, "supervise", "supervisor", {"decision": "open"})

    item = supervision(world, case_id)
    assert item.confirmed and item.violation is not None
    violation = item.violation
    assert (violation.item, violation.department.code, violation.source, violation.source_case_id) == (
        3, GONGAN, "overdue_escalation", case_id)
    rectification_case = world.engine.case_data(case_id)["rectification_case_id"]
    assert violation.case_id == rectification_case
    assert world.case(rectification_case).process_id == "rectification"
    assert world.open_elements(case_id) == ["verify_answer"]  # the answer is still owed

    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)
    ended(world, case_id, "corrected")
    actions = audit(world, case_id)
    assert sorted(fired_kinds(world, case_id)) == ["overdue", "reminder", "timer"]
    assert {"supervision_opened", "violation_recorded", "supervision_confirmed", "objection_answered"} <= set(actions)


def test_overdue_supervision_dismissed_by_the_authority(world):
    case_id = start(world)
    world.at(2026, 10, 16, 0, 0)
    world.fire_timers()
    world.reload()
    world.at(2026, 10, 16, 10, 0)
    with pytest.raises(InvalidForm) as exc:
        world.complete(case_id, "supervise", "supervisor", {"decision": "dismiss"})
    assert set(exc.value.errors) == {"note"}
    world.complete(case_id, "supervise", "supervisor", {"decision": "dismiss", "note": "国庆假期后人手紧张，已督促"})

    item = supervision(world, case_id)
    assert (item.status, item.confirmed, item.resolution, item.resolved_by) == (
        "resolved", False, "国庆假期后人手紧张，已督促", "supervisor")
    world.complete(case_id, "verify_answer", "gongan.clerk", CONFIRMED)
    ended(world, case_id, "confirmed")
    assert {"supervision_opened", "supervision_resolved"} <= set(audit(world, case_id))
    assert "violation_recorded" not in audit(world, case_id)


def test_the_answer_cancels_a_pending_approval_and_a_pending_supervision_decision(world):
    case_id = start(world)
    world.at(2026, 10, 15, 10, 0)
    world.complete(case_id, "request_extension", "gongan.clerk",
                   {"extension_days": 2, "extension_reason": "需核对"})
    world.at(2026, 10, 16, 0, 0)
    world.fire_timers()
    assert world.open_elements(case_id) == ["approve_extension", "supervise", "verify_answer"]
    world.reload()
    world.at(2026, 10, 16, 9, 0)
    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)

    ended(world, case_id, "corrected")
    assert {task_row(world, case_id, e).state for e in ("approve_extension", "supervise")} == {"cancelled"}
    found = objection(world, case_id)
    assert (found.status, found.extension_days, found.extension_approved) == ("answered", 2, None)
    assert supervision(world, case_id).status == "open"  # the authority's dashboard keeps it
