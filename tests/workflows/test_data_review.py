"""复核 (procedure 3, art. 18): every path of bpmn/data_review.bpmn through the engine, and the
department's one statutory period ``review`` (docs/deadlines/data_review.md).

Received Thursday 2026-09-24: 10 working days (National Day 10-01..10-07, Saturday 10-10 works)
end on 2026-10-15; the reminder comes 2026-10-14 09:00; an extension of 10 working days, counted
from 10-15, ends on 2026-10-29. The authority's 督办 decision (authority_decide_days, 5) on a 督办
raised at 24:00 of 10-15 (received Friday 10-16) ends on 2026-10-23, reminded 10-22 09:00.
"""
from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from engine import timer_service
from engine.bootstrap import register_hooks
from engine.errors import AlreadyDone, GovflowError, InvalidForm, PermissionDenied
from engine.domain import records
from engine.domain.notifications import Notification
from engine.models import AuditRecord, Case, Deadline, HumanTask, StatutoryPeriod
from engine.uow import Actor
from workflows.data_review import records as objection_records
from tools.bpmn_builder import Diagram
from workflows.diagram_periods import watch

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
DECIDE_DUE = date(2026, 10, 23)  # the authority's 督办 decision: 5 working days from Friday 10-16


@pytest.fixture(autouse=True)
def notifications_on(world, monkeypatch):
    """The in-app notifications hook (engine.bootstrap.register_hooks), kept across world.reload()."""
    register_hooks(world.engine)
    reload = type(world).reload

    def reload_with_hooks(self):
        reload(self)
        register_hooks(self.engine)
    monkeypatch.setattr(type(world), "reload", reload_with_hooks)


def start(world, actor=CITIZEN, **changes) -> int:
    world.at(2026, 9, 24, 10, 0)  # Thursday
    return world.engine.start_case("data_review", actor, {**OBJECTION, **changes})


def objection(world, case_id) -> objection_records.Objection:
    with world.engine.uow() as uow:
        found = uow.session.scalars(sa.select(objection_records.Objection).where(objection_records.Objection.case_id == case_id)).one()
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


def period_rows(world, case_id) -> dict[str, StatutoryPeriod]:
    """The case's statutory periods by ``name#seq``."""
    with world.engine.uow() as uow:
        rows = list(uow.session.scalars(sa.select(StatutoryPeriod).where(StatutoryPeriod.case_id == case_id)))
        for row in rows:
            uow.session.expunge(row)
    return {f"{r.name}#{r.seq}": r for r in rows}


def review_period(world, case_id) -> StatutoryPeriod:
    rows = period_rows(world, case_id)
    assert [k for k in rows if k.startswith("review#")] == ["review#1"]  # one period, never a second
    return rows["review#1"]


def supervisions(world, case_id) -> list[records.SupervisionItem]:
    with world.engine.uow() as uow:
        found = list(uow.session.scalars(sa.select(records.SupervisionItem).where(
            records.SupervisionItem.case_id == case_id).order_by(records.SupervisionItem.id)))
        for item in found:
            uow.session.expunge(item)
        return found


def told(world, case_id, kind) -> list[tuple[str, str]]:
    """(login, task element) of the case's notifications of ``kind`` (reminder, overdue, new_task)."""
    with world.engine.uow() as uow:
        return sorted(uow.session.execute(
            sa.select(Notification.login, HumanTask.element_id)
            .outerjoin(HumanTask, HumanTask.id == Notification.task_id)
            .where(Notification.case_id == case_id, Notification.kind == kind)).all())


def summaries(world, case_id, action) -> list[dict]:
    return [json.loads(r.summary) for r in audit(world, case_id, action)]


def fired(world, case_id) -> list[tuple[str, str | None, bool]]:
    """(element, period, repeat) of every timer that fired, in order."""
    return [(s["element"], s.get("period"), bool(s.get("repeat"))) for s in summaries(world, case_id, "timer_fired")]


def deadline_row(world, case_id, element_id) -> Deadline:
    with world.engine.uow() as uow:
        return uow.session.scalars(sa.select(Deadline).where(
            Deadline.case_id == case_id, Deadline.element_id == element_id)).one()



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
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(objection_records.Objection)) == 0


# -- verify and answer --------------------------------------------------------------------------

def test_answered_in_time_with_a_correction(world):
    case_id = start(world)
    period = review_period(world, case_id)  # art. 18: the department's period, opened at the receipt
    assert (period.party, period.department, period.article, period.rule, period.days, period.start_date,
            period.due_date, period.provisional, period.state) == (
        "department", GONGAN, "18", "review_reply_days", 10, date(2026, 9, 24),
        DUE, False, "running")
    assert summaries(world, case_id, "period_opened") == [{
        "period": "review", "seq": 1, "party": "department", "article": "18", "rule": "review_reply_days",
        "days": 10, "start": "2026-09-24", "due_date": "2026-10-15", "provisional": False}]
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
        "verify_answer_overdue": "cancelled", "verify_answer_reminder": "cancelled", "request_window": "cancelled"}
    period = review_period(world, case_id)
    assert (period.state, period.reminded_at, period.overdue_at, period.supervision_id) == ("met", None, None, None)
    assert [(s["period"], s["state"], s["department"]) for s in summaries(world, case_id, "period_closed")] == [
        ("review", "met", GONGAN)]
    assert supervisions(world, case_id) == [] and fired(world, case_id) == []
    assert told(world, case_id, "reminder") == [] and told(world, case_id, "overdue") == []
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
    period = review_period(world, case_id)
    assert period.state == "met" and period.reminded_at is not None
    assert "supervision_opened" not in audit(world, case_id) and supervisions(world, case_id) == []
    # the department objector (the starter) is told of the answer; the provider's people are not
    assert [n[0] for n in told(world, case_id, "answer")] == ["shichang.clerk"]


def test_the_receipt_code_finds_the_answer_after_the_case_ended(world):
    case_id = start(world, actor=Actor("public:natural_person"))  # as web/public.py names the objector
    code = world.engine.case_data(case_id)["receipt_code"]
    with world.engine.uow() as uow:
        assert objection_records.objection_by_receipt(uow.session, code).answer is None
    world.at(2026, 10, 12, 10, 0)
    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)
    assert world.case(case_id).status == "completed"
    world.reload()
    spaced = "-".join(code[i:i + 4] for i in range(0, len(code), 4)).lower()
    with world.engine.uow() as uow:
        found = objection_records.objection_by_receipt(uow.session, spaced)
        assert (found.case_id, found.outcome, found.answer, found.correction) == (
            case_id, "corrected", CORRECTED["answer"], CORRECTED["correction"])
    assert told(world, case_id, "answer") == []  # the public has no inbox: the receipt code is the way


# -- the period: reminder once, 督办 once, against the provider only ----------------------------

def test_reminded_once_the_clerk_only(world):
    case_id = start(world)
    world.at(2026, 10, 14, 8, 59)
    assert world.fire_timers() == 0
    world.at(2026, 10, 14, 9, 0)
    assert world.fire_timers() == 1
    assert fired(world, case_id) == [("verify_answer_reminder", "review", False)]
    assert told(world, case_id, "reminder") == [("gongan.clerk", "verify_answer")]  # not the head, not others
    assert review_period(world, case_id).reminded_at is not None
    world.at(2026, 10, 14, 10, 0)  # the head's approval enters after the reminder: it has none of its own
    world.complete(case_id, "request_extension", "gongan.clerk", {"extension_days": 2, "extension_reason": "需核对"})
    assert task_row(world, case_id, "approve_extension").due_date == DUE  # the same period's end
    assert world.fire_timers() == 0
    assert told(world, case_id, "reminder") == [("gongan.clerk", "verify_answer")]
    assert told(world, case_id, "new_task") == [("gongan.clerk", "request_extension"),
                                                ("gongan.clerk", "verify_answer"),
                                                ("gongan.head", "approve_extension")]


def test_late_one_supervision_against_the_provider_the_heads_pending_approval_raises_no_second(world):
    case_id = start(world)
    world.at(2026, 10, 15, 16, 0)  # asked on the last day; the head has not decided at 24:00
    world.complete(case_id, "request_extension", "gongan.clerk",
                   {"extension_days": 10, "extension_reason": "需调取档案"})
    world.at(2026, 10, 16, 0, 0)
    assert world.fire_timers() == 2  # the answer's and the approval's overdue timers, same period

    period = review_period(world, case_id)
    (item,) = supervisions(world, case_id)  # one 督办 for the period, not one per task
    assert (item.department.code, item.possible_violation_item, item.period_id, item.status) == (
        GONGAN, 3, period.id, "open")
    assert item.human_task_id == task_row(world, case_id, "verify_answer").id
    assert (period.state, period.supervision_id, period.due_date) == ("running", item.id, DUE)
    assert period.overdue_at is not None
    assert fired(world, case_id) == [("verify_answer_reminder", "review", False),  # 10-14 09:00, caught up
                                     ("verify_answer_overdue", "review", False),
                                     ("approve_extension_overdue", "review", False)]
    assert world.engine.case_data(case_id)["approve_extension_supervision"] == 0  # "本期限已督办"
    assert [s["period"] for s in summaries(world, case_id, "period_overdue")] == ["review"]
    assert world.open_elements(case_id) == ["approve_extension", "verify_answer", "verify_answer_supervise"]
    assert task_row(world, case_id, "verify_answer").overdue and task_row(world, case_id, "approve_extension").overdue
    assert told(world, case_id, "overdue") == [("gongan.clerk", "verify_answer"), ("gongan.head", "approve_extension")]
    assert [n for n in told(world, case_id, "new_task") if n[1] == "verify_answer_supervise"] == [
        ("supervisor", "verify_answer_supervise")]
    assert len(audit(world, case_id, "supervision_opened")) == 1

    world.reload()
    world.at(2026, 10, 16, 9, 0)
    with pytest.raises(InvalidForm, match="original period ended on 2026-10-15"):
        world.complete(case_id, "approve_extension", "gongan.head", {"approve": True})
    world.complete(case_id, "approve_extension", "gongan.head", {"approve": False, "opinion": "已超过原期限"})
    world.complete(case_id, "verify_answer", "gongan.clerk", CONFIRMED)
    ended(world, case_id, "confirmed")
    assert len(supervisions(world, case_id)) == 1 and audit(world, case_id, "deadline_moved") == []
    period = review_period(world, case_id)
    assert period.state == "late" and period.due_date == DUE
    assert ("review", "late") in [(s["period"], s["state"]) for s in summaries(world, case_id, "period_closed")]
    with world.engine.uow() as uow:  # nobody outside the provider was escalated
        assert {i.department.code for i in uow.session.scalars(sa.select(records.SupervisionItem))} == {GONGAN}


# -- extension ----------------------------------------------------------------------------------

def test_an_approved_extension_moves_the_period_from_its_original_end(world):
    case_id = start(world)
    world.at(2026, 10, 13, 10, 0)
    with pytest.raises(InvalidForm) as exc:
        world.complete(case_id, "request_extension", "gongan.clerk",
                       {"extension_days": 11, "extension_reason": "需调取档案"})
    assert "1 to 10 working days" in exc.value.errors["extension_days"]
    world.complete(case_id, "request_extension", "gongan.clerk",
                   {"extension_days": 10, "extension_reason": "需调取纸质户籍档案核对"})
    assert world.open_elements(case_id) == ["approve_extension", "verify_answer"]
    assert task_row(world, case_id, "approve_extension").due_date == DUE  # inside the department's period
    world.reload()
    with pytest.raises(PermissionDenied):  # another department's head
        world.complete(case_id, "approve_extension", "shichang.head", {"approve": True})
    world.complete(case_id, "approve_extension", "gongan.head", {"approve": True, "opinion": "同意延长"})

    # calendar.md: 10 working days counted from the end of the original period (10-15), not from today
    assert task_row(world, case_id, "verify_answer").due_date == EXTENDED_DUE
    assert world.engine.case_data(case_id)["extended_due_date"] == "2026-10-29"
    period = review_period(world, case_id)
    assert (period.due_date, period.days, period.start_date, period.state) == (
        EXTENDED_DUE, 20, date(2026, 9, 24), "running")
    assert summaries(world, case_id, "period_moved") == [{
        "period": "review", "seq": 1, "old": {"due_date": "2026-10-15", "provisional": False},
        "new": {"due_date": "2026-10-29", "provisional": False}, "reason": "extension +10"}]
    moves = {s["new"] for s in summaries(world, case_id, "deadline_moved")}
    assert moves == {"2026-10-30T00:00:00+08:00", "2026-10-28T09:00:00+08:00"}  # overdue, reminder
    found = objection(world, case_id)
    assert (found.extension_days, found.extension_approved, found.extension_decided_by) == (10, True, "gongan.head")
    assert world.open_elements(case_id) == ["verify_answer"]  # asked once: no second request

    world.at(2026, 10, 16, 0, 0)  # the original end passes: nothing fires
    assert world.fire_timers() == 0
    world.at(2026, 10, 28, 9, 0)  # the reminder moved with the period
    assert world.fire_timers() == 1
    assert told(world, case_id, "reminder") == [("gongan.clerk", "verify_answer")]
    world.at(2026, 10, 29, 16, 0)
    world.complete(case_id, "verify_answer", "gongan.clerk", CONFIRMED)
    ended(world, case_id, "confirmed")
    assert review_period(world, case_id).state == "met"
    assert "supervision_opened" not in audit(world, case_id) and told(world, case_id, "overdue") == []
    actions = audit(world, case_id)
    assert actions.index("objection_extension_requested") < actions.index("objection_extension_decided") \
        < actions.index("deadline_moved") < actions.index("period_moved") < actions.index("objection_answered")


def test_late_after_an_extension_the_supervision_names_the_extended_period(world):
    case_id = start(world)
    world.at(2026, 10, 12, 10, 0)
    world.complete(case_id, "request_extension", "gongan.clerk", {"extension_days": 3, "extension_reason": "需核对"})
    world.complete(case_id, "approve_extension", "gongan.head", {"approve": True})
    assert task_row(world, case_id, "verify_answer").due_date == date(2026, 10, 20)  # 10-15 + 3
    world.at(2026, 10, 20, 23, 59)
    assert world.fire_timers() == 1  # the moved reminder only
    world.at(2026, 10, 21, 0, 0)
    assert world.fire_timers() == 1
    period = review_period(world, case_id)
    (item,) = supervisions(world, case_id)
    assert (item.period_id, period.supervision_id, period.due_date) == (period.id, item.id, date(2026, 10, 20))
    assert "2026-10-20" in item.note


def test_a_refused_extension_leaves_the_deadline(world):
    case_id = start(world)
    world.at(2026, 10, 12, 10, 0)
    world.complete(case_id, "request_extension", "gongan.clerk",
                   {"extension_days": 5, "extension_reason": "涉及多个派出所"})
    world.reload()
    world.complete(case_id, "approve_extension", "gongan.head", {"approve": False, "opinion": "应在期限内办结"})

    assert task_row(world, case_id, "verify_answer").due_date == DUE
    period = review_period(world, case_id)
    assert (period.due_date, period.days, period.state) == (DUE, 10, "running")
    assert audit(world, case_id, "deadline_moved") == [] and audit(world, case_id, "period_moved") == []
    found = objection(world, case_id)
    assert (found.extension_days, found.extension_approved) == (5, False)
    assert world.open_elements(case_id) == ["verify_answer"]
    world.at(2026, 10, 15, 17, 0)
    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)
    ended(world, case_id, "corrected")
    assert review_period(world, case_id).state == "met"


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
        objection_records.record_extension(uow, objection(world, case_id).id, 2, "再延", world.actors["gongan.clerk"],
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
    # the overdue timers fired first (caught up by the head's action): one 督办 for the period
    assert world.open_elements(case_id) == ["verify_answer", "verify_answer_supervise"]
    assert task_row(world, case_id, "verify_answer").overdue is True
    assert len(supervisions(world, case_id)) == 1
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
    assert deadline_row(world, case_id, "request_window").kind == "timer"  # a window, not an escalation
    world.at(2026, 10, 16, 9, 0)
    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)
    ended(world, case_id, "corrected")
    assert objection(world, case_id).extension_days is None


def test_an_extension_asked_after_the_end_is_refused(world):
    case_id = start(world)
    world.at(2026, 10, 16, 9, 0)  # no worker ran since 24:00: the clerk's action catches the timers up first
    with pytest.raises(AlreadyDone):
        world.complete(case_id, "request_extension", "gongan.clerk",
                       {"extension_days": 5, "extension_reason": "来不及了"})
    assert objection(world, case_id).extension_days is None
    assert audit(world, case_id, "objection_extension_requested") == []
    world.fire_timers()
    assert task_row(world, case_id, "request_extension").state == "cancelled"
    assert review_period(world, case_id).due_date == DUE and audit(world, case_id, "period_moved") == []


def test_the_request_window_is_held_while_provisional_and_closes_on_the_published_end(world):
    world.at(2026, 12, 25, 10, 0)  # Friday; 10 working days reach 2027, not published yet
    case_id = world.engine.start_case("data_review", CITIZEN, OBJECTION)
    guessed = date(2027, 1, 11)  # Monday to Friday and 1 January only
    period = review_period(world, case_id)
    assert (period.start_date, period.due_date, period.provisional) == (date(2026, 12, 25), guessed, True)
    window = deadline_row(world, case_id, "request_window")
    assert (window.kind, window.provisional, window.held) == ("timer", True, True)
    assert deadline_row(world, case_id, "verify_answer_overdue").held is True
    assert deadline_row(world, case_id, "verify_answer_reminder").held is False
    verify = task_row(world, case_id, "verify_answer")
    assert (verify.due_date, verify.provisional) == (guessed, True)

    world.at(2027, 1, 8, 9, 0)
    assert world.fire_timers() == 1  # the reminder reminds at its provisional instant, marked 暂定
    assert told(world, case_id, "reminder") == [("gongan.clerk", "verify_answer")]
    with world.engine.uow() as uow:
        assert "暂定" in uow.session.scalars(sa.select(Notification.text).where(
            Notification.case_id == case_id, Notification.kind == "reminder")).one()
    world.at(2027, 1, 12, 9, 0)  # the guessed end has passed: the window stays open, nobody is escalated
    assert world.fire_timers() == 0
    assert world.open_elements(case_id) == ["request_extension", "verify_answer"]
    assert supervisions(world, case_id) == []

    # the notice makes 01-04 and 01-05 holidays: the period really ends on Wednesday 01-13
    moved = timer_service.publish_year(world.engine, 2027, "国办发明电〔2026〕99号",
                                       [date(2027, 1, 1), date(2027, 1, 4), date(2027, 1, 5)], [], by="admin")
    assert moved == 2  # the answer's overdue timer and the window (the reminder has fired)
    published = date(2027, 1, 13)
    period = review_period(world, case_id)
    assert (period.due_date, period.provisional, period.state) == (published, False, "running")
    assert summaries(world, case_id, "period_moved") == [{
        "period": "review", "seq": 1, "old": {"due_date": "2027-01-11", "provisional": True},
        "new": {"due_date": "2027-01-13", "provisional": False}}]
    verify = task_row(world, case_id, "verify_answer")
    assert (verify.due_date, verify.provisional) == (published, False)
    window = deadline_row(world, case_id, "request_window")
    assert (window.held, window.provisional, window.due_date) == (False, False, published)

    world.at(2027, 1, 13, 23, 59)
    assert world.fire_timers() == 0
    world.at(2027, 1, 14, 0, 0)
    assert world.fire_timers() == 2  # now the window closes and the period is overdue
    assert world.open_elements(case_id) == ["verify_answer", "verify_answer_supervise"]
    assert task_row(world, case_id, "request_extension").state == "cancelled"
    (item,) = supervisions(world, case_id)
    assert (item.department.code, item.period_id) == (GONGAN, period.id)


def test_while_provisional_a_late_request_waits_for_the_published_end(world):
    world.at(2026, 12, 25, 10, 0)
    case_id = world.engine.start_case("data_review", CITIZEN, OBJECTION)
    world.at(2027, 1, 12, 9, 0)  # past the guessed end (01-11): the window is held, asking is still possible
    world.complete(case_id, "request_extension", "gongan.clerk", {"extension_days": 3, "extension_reason": "需核对"})
    with pytest.raises(InvalidForm, match="once the year is published"):
        world.complete(case_id, "approve_extension", "gongan.head", {"approve": True})
    assert supervisions(world, case_id) == []
    timer_service.publish_year(world.engine, 2027, "国办发明电〔2026〕99号",
                               [date(2027, 1, 1), date(2027, 1, 4), date(2027, 1, 5)], [], by="admin")
    assert task_row(world, case_id, "approve_extension").due_date == date(2027, 1, 13)
    world.at(2027, 1, 12, 10, 0)  # before the published end (01-13): the head may approve
    world.complete(case_id, "approve_extension", "gongan.head", {"approve": True})
    period = review_period(world, case_id)
    assert (period.due_date, period.days, period.provisional) == (date(2027, 1, 18), 13, False)  # 01-13 + 3
    assert task_row(world, case_id, "verify_answer").due_date == date(2027, 1, 18)
    assert [s["new"]["due_date"] for s in summaries(world, case_id, "period_moved")] == ["2027-01-13", "2027-01-18"]


def test_a_task_of_the_period_entered_after_an_extension_gets_the_extended_due(world):
    """The diagram has no such task (approve_extension is done when the period moves), so a
    stand-in version of ``data_review`` adds one after the extension, in a later unit of work."""
    world.engine.deploy(_later_task_variant(same_step=False).to_bytes())
    case_id = start(world)
    world.at(2026, 10, 13, 10, 0)
    world.complete(case_id, "ask", "gongan.head")
    assert task_row(world, case_id, "verify_answer").due_date == date(2026, 10, 22)  # 10-15 + 5
    assert review_period(world, case_id).due_date == date(2026, 10, 22)
    world.complete(case_id, "pause", "gongan.head")
    assert task_row(world, case_id, "later").due_date == date(2026, 10, 22)


def test_a_task_of_the_period_entered_with_the_extension_gets_the_extended_due(world):
    world.engine.deploy(_later_task_variant(same_step=True).to_bytes())
    case_id = start(world)
    world.at(2026, 10, 13, 10, 0)
    world.complete(case_id, "ask", "gongan.head")
    assert task_row(world, case_id, "verify_answer").due_date == date(2026, 10, 22)
    assert task_row(world, case_id, "later").due_date == date(2026, 10, 22)
    assert review_period(world, case_id).due_date == date(2026, 10, 22)


def _later_task_variant(same_step: bool) -> Diagram:
    """data_review cut down: the answer watched by ``review``; the 数长's ``ask`` extends it by 5 days,
    then ``later`` (watched by the same period) is entered at once, or after ``pause``."""
    clerk, head = "provider_clerk", "dept_head"
    dept = {"department": "provider_department"}
    d = Diagram("data_review", "复核（测试替身：延期后进入同一期限的任务）")
    d.lane(clerk, "经办人", rows=2)
    d.lane(head, "数长", rows=2)
    d.start("start", "开始", lane=clerk, col=0)
    d.parallel_gateway("fork", "同时办理", lane=clerk, col=1)
    d.user_task("verify_answer", "校核并答复", lane=clerk, col=2, candidate_groups=clerk, properties=dept)
    d.end("answered", "已答复", lane=clerk, col=3, terminate=True)
    d.user_task("ask", "批准延期", lane=head, col=2, candidate_groups=head, properties=dept)
    d.script_task("extend", "延长", lane=head, col=3, script='extended_due_date = extend_deadline("verify_answer", 5)')
    d.user_task("pause", "其他事项", lane=head, col=4, row=1, candidate_groups=head, properties=dept)
    d.user_task("later", "同一期限内的后续任务", lane=head, col=5, candidate_groups=head, properties=dept)
    d.end("done", "完成", lane=head, col=6)
    for task, col in (("verify_answer", 3), ("later", 6)):
        lane = clerk if task == "verify_answer" else head
        watch(d, task, "review")
        d.end(f"{task}_late", "超期", lane=lane, col=col, row=1)
        d.flow(f"f_{task}_late", f"{task}_overdue", f"{task}_late")
    flows = [("start", "fork"), ("fork", "verify_answer"), ("verify_answer", "answered"), ("fork", "ask"),
             ("ask", "extend"), ("later", "done")]
    flows += [("extend", "later")] if same_step else [("extend", "pause"), ("pause", "later")]
    for a, b in flows:
        d.flow(f"f_{a}_{b}", a, b)
    return d


# -- overdue: 督办, the authority's decision (its own period), rectification -------------------------

def test_overdue_opens_a_supervision_item_and_the_authority_opens_a_rectification(world):
    assert "rectification" not in world.deploy_errors
    case_id = start(world)
    world.at(2026, 10, 14, 9, 0)
    assert world.fire_timers() == 1  # the reminder
    assert world.open_elements(case_id) == ["request_extension", "verify_answer"]
    world.at(2026, 10, 16, 0, 0)
    assert world.fire_timers() == 2  # overdue, and the request window closes
    assert world.open_elements(case_id) == ["verify_answer", "verify_answer_supervise"]
    assert task_row(world, case_id, "verify_answer").overdue is True
    item = supervision(world, case_id)
    period = review_period(world, case_id)
    assert (item.status, item.department.code, item.possible_violation_item, item.human_task_id, item.period_id) == (
        "open", GONGAN, 3, task_row(world, case_id, "verify_answer").id, period.id)
    decide = period_rows(world, case_id)["review_supervise#1"]  # the authority's own period (design)
    assert (decide.party, decide.department, decide.rule, decide.days, decide.due_date) == (
        "authority", None, "authority_decide_days", 5, DECIDE_DUE)
    assert task_row(world, case_id, "verify_answer_supervise").due_date == DECIDE_DUE

    world.reload()
    with pytest.raises(PermissionDenied):
        world.complete(case_id, "verify_answer_supervise", "gongan.head", {"decision": "open"})
    world.at(2026, 10, 16, 10, 0)
    world.complete(case_id, "verify_answer_supervise", "supervisor", {"decision": "open"})

    item = supervision(world, case_id)
    assert item.confirmed and item.violation is not None
    violation = item.violation
    assert (violation.item, violation.department.code, violation.source, violation.source_case_id) == (
        3, GONGAN, "overdue_escalation", case_id)
    rectification_case = world.engine.case_data(case_id)["verify_answer_rectification"]
    assert violation.case_id == rectification_case
    assert world.case(rectification_case).process_id == "rectification"
    assert world.open_elements(case_id) == ["verify_answer"]  # the answer is still owed
    assert period_rows(world, case_id)["review_supervise#1"].state == "met"
    assert review_period(world, case_id).state == "running"  # the department still holds it, late

    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)
    ended(world, case_id, "corrected")
    assert review_period(world, case_id).state == "late"
    actions = audit(world, case_id)
    assert sorted(fired_kinds(world, case_id)) == ["overdue", "reminder", "timer"]
    assert {"supervision_opened", "violation_recorded", "supervision_confirmed", "objection_answered"} <= set(actions)


def test_overdue_supervision_dismissed_by_the_authority_stays_dismissed(world):
    case_id = start(world)
    world.at(2026, 10, 16, 0, 0)
    world.fire_timers()
    world.reload()
    world.at(2026, 10, 16, 10, 0)
    with pytest.raises(InvalidForm) as exc:
        world.complete(case_id, "verify_answer_supervise", "supervisor", {"decision": "dismiss"})
    assert set(exc.value.errors) == {"note"}
    world.complete(case_id, "verify_answer_supervise", "supervisor",
                   {"decision": "dismiss", "note": "国庆假期后人手紧张，已督促"})

    item = supervision(world, case_id)
    assert (item.status, item.confirmed, item.resolution, item.resolved_by) == (
        "resolved", False, "国庆假期后人手紧张，已督促", "supervisor")
    world.at(2026, 10, 30, 10, 0)  # answered two weeks late: nothing new is raised for the same period
    assert world.fire_timers() == 0
    world.complete(case_id, "verify_answer", "gongan.clerk", CONFIRMED)
    ended(world, case_id, "confirmed")
    assert len(supervisions(world, case_id)) == 1
    assert {"supervision_opened", "supervision_resolved"} <= set(audit(world, case_id))
    assert "violation_recorded" not in audit(world, case_id)
    assert review_period(world, case_id).state == "late"


def test_the_authoritys_late_decision_is_reminded_and_marked_late_without_supervision(world):
    case_id = start(world)
    world.at(2026, 10, 16, 0, 0)
    world.fire_timers()
    world.at(2026, 10, 22, 9, 0)
    assert world.fire_timers() == 1
    assert told(world, case_id, "reminder") == [("gongan.clerk", "verify_answer"),  # the department's, 10-14
                                                ("supervisor", "verify_answer_supervise")]
    world.at(2026, 10, 24, 0, 0)
    assert world.fire_timers() == 1
    decide = period_rows(world, case_id)["review_supervise#1"]
    assert (decide.party, decide.overdue_at is not None, decide.supervision_id) == ("authority", True, None)
    assert fired(world, case_id)[-1] == ("verify_answer_supervise_overdue", "review_supervise", False)
    assert told(world, case_id, "overdue")[-1] == ("supervisor", "verify_answer_supervise")
    assert len(supervisions(world, case_id)) == 1  # the provider's; none against the authority
    with world.engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(records.Violation)) == 0
    world.at(2026, 10, 26, 10, 0)
    world.complete(case_id, "verify_answer_supervise", "supervisor", {"decision": "dismiss", "note": "已督促"})
    assert period_rows(world, case_id)["review_supervise#1"].state == "late"
    assert world.open_elements(case_id) == ["verify_answer"]


def test_the_answer_cancels_a_pending_approval_and_a_pending_supervision_decision(world):
    case_id = start(world)
    world.at(2026, 10, 15, 10, 0)
    world.complete(case_id, "request_extension", "gongan.clerk",
                   {"extension_days": 2, "extension_reason": "需核对"})
    world.at(2026, 10, 16, 0, 0)
    world.fire_timers()
    assert world.open_elements(case_id) == ["approve_extension", "verify_answer", "verify_answer_supervise"]
    world.reload()
    world.at(2026, 10, 16, 9, 0)
    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)

    ended(world, case_id, "corrected")
    assert {task_row(world, case_id, e).state for e in ("approve_extension", "verify_answer_supervise")} == {
        "cancelled"}
    found = objection(world, case_id)
    assert (found.status, found.extension_days, found.extension_approved) == ("answered", 2, None)
    assert supervision(world, case_id).status == "open"  # the authority's dashboard keeps it
    rows = period_rows(world, case_id)
    assert (rows["review#1"].state, rows["review_supervise#1"].state) == ("late", "met")
