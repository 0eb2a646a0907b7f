"""共享申请 (procedure 2, arts. 14–17): every path of bpmn/share_application.bpmn, walked through the
engine's service functions with the injected clock.

The application is received on Thursday 2026-02-12; the provider's five working days end on
2026-02-26 (Sat 02-14 is a 调休 working day, 02-15..02-23 the Spring Festival), the reminder is due
at 09:00 on 2026-02-25.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from engine import definitions
from engine.calendar import BEIJING
from engine.domain import records
from engine.errors import InvalidForm, PermissionDenied
from engine.models import AuditRecord, Case, Deadline
from tools.bpmn_builder import Diagram

CONSUMER, PROVIDER = "340822103", "340822101"  # 县民政局 applies for 县公安局's data
RECEIVED = (2026, 2, 12, 10, 0)                 # Thursday
DUE = date(2026, 2, 26)


# -- helpers ------------------------------------------------------------------------------------

def apply(world, resource: str = "HN-GA-001", login: str = "minzheng.clerk", **changes) -> int:
    world.at(*RECEIVED)
    data = {"resource": resource, "scenario": "婚姻登记时核验当事人身份和户籍信息",
            "data_items": "公民身份号码\n姓名", "period_from": "2026-03-01", "period_until": "2026-06-30",
            "materials": "共享申请表（盖章）\n应用场景说明", **changes}
    return world.start("share_application", login, data)


def application(world, case_id: int) -> records.ShareApplication:
    with world.engine.uow() as uow:
        return uow.session.scalars(sa.select(records.ShareApplication)
                                   .where(records.ShareApplication.case_id == case_id)).one()


def grants(world, case_id: int) -> list[records.Grant]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(records.Grant).where(records.Grant.case_id == case_id)))


def supervisions(world, case_id: int) -> list[records.SupervisionItem]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(records.SupervisionItem)
                                        .where(records.SupervisionItem.case_id == case_id)))


def in_force(world, day: date, resource: str = "HN-GA-001") -> bool:
    with world.engine.uow() as uow:
        return records.has_active_grant(uow.session, CONSUMER, resource, day)


def actions(world, case_id: int) -> list[str]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(AuditRecord.action).where(AuditRecord.case_id == case_id)
                                        .order_by(AuditRecord.id)))


def assert_trail(world, case_id: int, *expected: str) -> None:
    """The audit chain is intact and holds ``expected`` in this order (other entries between)."""
    assert world.engine.verify_audit() is None
    found = iter(actions(world, case_id))
    missing = [a for a in expected if not any(a == f for f in found)]
    assert not missing, f"audit trail lacks, in order: {missing}; has {actions(world, case_id)}"


def denied(world, case_id: int, element_id: str, login: str, data: dict) -> None:
    with pytest.raises(PermissionDenied):
        world.complete(case_id, element_id, login, data)


def ended(world, case_id: int, outcome: str) -> None:
    case = world.case(case_id)
    assert (case.status, case.outcome) == ("completed", outcome)
    assert world.open_elements(case_id) == []


def expire_at_end_of(world, case_id: int, last_day: date, resource: str = "HN-GA-001") -> None:
    """A grant is in force through its last day and expires at 24:00 Beijing time (a timer)."""
    world.at(last_day.year, last_day.month, last_day.day, 23, 59)
    assert world.fire_timers() == 0
    assert in_force(world, last_day, resource)
    assert grants(world, case_id)[0].status == "active"
    day_after = last_day + timedelta(days=1)
    world.at(day_after.year, day_after.month, day_after.day, 0, 0)
    world.reload()
    assert world.fire_timers() == 1
    grant = grants(world, case_id)[0]
    assert grant.status == "expired"
    assert grant.expired_at == datetime(day_after.year, day_after.month, day_after.day, tzinfo=BEIJING)
    assert not in_force(world, day_after, resource)


def ensure_rectification(world) -> None:
    """The rectification procedure is written concurrently: a stand-in until bpmn/rectification.bpmn deploys."""
    with world.engine.uow() as uow:
        if definitions.latest(uow.session, "rectification") is not None:
            return
    d = Diagram("rectification", "违规整改（测试替身）")
    d.lane("authority", "政务数据资源主管部门")
    d.start("start", "立案", lane="authority", col=0)
    d.user_task("notice", "整改通知", lane="authority", col=1, candidate_groups="authority")
    d.end("end", "结束", lane="authority", col=2)
    d.flow("f1", "start", "notice")
    d.flow("f2", "notice", "end")
    world.engine.deploy(d.to_bytes())


def rectification_cases(world) -> list[Case]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(Case).where(Case.process_id == "rectification")))


APPROVE = {"decision": "approve", "granted_items": "姓名", "valid_from": "2026-03-01",
           "valid_until": "2026-05-31", "usage_limits": "仅用于婚姻登记核验"}
REFUSE = {"decision": "refuse", "reason": "涉及公民个人敏感信息",
          "basis": "《中华人民共和国个人信息保护法》第三十四条"}


# -- start ---------------------------------------------------------------------------------------

def test_start_form_offers_the_published_resources_of_other_departments(world):
    fields, options = world.engine.start_form("share_application", world.actors["minzheng.clerk"])
    assert [f.id for f in fields] == ["resource", "scenario", "data_items", "period_from", "period_until",
                                      "materials"]
    assert [code for code, _ in options["resource"]] == ["HN-GA-001", "HN-GA-003", "HN-SJ-001"]
    assert dict(options["resource"])["HN-GA-003"] == "刑事案件侦查信息（县公安局，不予共享）"


REFUSED_STARTS = [  # (changes, the field the refusal names)
    ({"data_items": "姓名\n婚姻状况"}, "data_items"),                # not an item of the resource
    ({"materials": "共享申请表"}, "materials"),                        # 应用场景说明 missing (art. 16)
    ({"scenario": " "}, "scenario"),                                   # art. 14: the scenario is mandatory
    ({"period_until": "2026-02-28"}, "period_until"),                  # before the first day
    ({"period_from": "2026-01-01", "period_until": "2026-01-31"}, "period_until"),  # already over
    ({"resource": "HN-MZ-001"}, "resource"),                           # the applicant's own resource
    ({"resource": "HN-XX-999"}, "resource"),                           # not in the catalog
]


def test_start_refuses_an_application_the_registration_does_not_allow(world):
    for changes, field in REFUSED_STARTS:
        with pytest.raises(InvalidForm) as refused:
            apply(world, **changes)
        assert field in refused.value.errors, changes
    with world.engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(records.ShareApplication)) == 0
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_start_names_every_missing_material(world):
    with pytest.raises(InvalidForm) as refused:
        apply(world, materials="")
    assert "共享申请表、应用场景说明" in refused.value.errors["materials"]


def test_only_a_consumer_clerk_may_apply(world):
    with pytest.raises(PermissionDenied):
        apply(world, login="supervisor")
    with pytest.raises(PermissionDenied):
        apply(world, login="minzheng.head")


# -- 无条件共享 ------------------------------------------------------------------------------------

def test_unconditional_share_is_granted_at_once_and_expires_with_its_period(world):
    case_id = apply(world, resource="HN-SJ-001", materials="共享申请表\n应用场景说明")
    assert world.open_elements(case_id) == []  # no human step (art. 17)
    app = application(world, case_id)
    assert (app.status, app.resource_code, app.provider.code, app.consumer.code) == \
        ("granted", "HN-SJ-001", "340822102", CONSUMER)
    [grant] = grants(world, case_id)
    assert (grant.data_items, grant.valid_from, grant.valid_until) == \
        (["公民身份号码", "姓名"], date(2026, 3, 1), date(2026, 6, 30))
    assert grant.approved_by == "system:share_platform"
    assert records.THIRD_PARTY_LIMIT in grant.usage_limits  # art. 14 para. 2
    assert world.case(case_id).status == "running"  # waits for the end of the grant's period
    world.reload()
    expire_at_end_of(world, case_id, date(2026, 6, 30), "HN-SJ-001")
    ended(world, case_id, "granted")
    assert_trail(world, case_id, "case_started", "share_application_submitted", "grant_created",
                 "share_application_granted", "grant_expired", "timer_fired", "case_ended")


# -- 有条件共享 ------------------------------------------------------------------------------------

def test_conditional_share_approved_on_day_four(world):
    case_id = apply(world)
    task = world.task(case_id, "provider_review")
    assert (task.role, task.department, task.due_date) == ("provider_clerk", PROVIDER, DUE)
    assert world.case(case_id).title == "共享申请：户籍人口基本信息（县民政局）"
    world.at(2026, 2, 25, 9, 0)  # day 4; the reminder (1 working day before the due date) fires
    assert world.fire_timers() == 1
    with world.engine.uow() as uow:
        reminder = uow.session.scalars(sa.select(Deadline).where(
            Deadline.case_id == case_id, Deadline.kind == "reminder")).one()
        assert (reminder.state, reminder.due_at) == ("fired", datetime(2026, 2, 25, 9, 0, tzinfo=BEIJING))
    world.reload()
    denied(world, case_id, "provider_review", "shichang.clerk", APPROVE)  # another provider's clerk
    denied(world, case_id, "provider_review", "minzheng.clerk", APPROVE)  # the applicant itself
    world.at(2026, 2, 25, 15, 0)
    world.complete(case_id, "provider_review", "gongan.clerk", APPROVE)
    assert world.open_elements(case_id) == []
    app = application(world, case_id)
    assert (app.status, app.decided_by) == ("granted", "gongan.clerk")
    [grant] = grants(world, case_id)
    assert (grant.data_items, grant.valid_from, grant.valid_until) == (["姓名"], date(2026, 3, 1), date(2026, 5, 31))
    assert grant.usage_limits.endswith("仅用于婚姻登记核验")
    assert grant.basis.startswith("《怀宁县政务数据资源管理暂行办法》第十七条")
    assert supervisions(world, case_id) == []
    expire_at_end_of(world, case_id, date(2026, 5, 31))
    ended(world, case_id, "granted")
    assert_trail(world, case_id, "share_application_submitted", "task_created", "timer_fired",
                 "task_completed", "grant_created", "share_application_granted", "grant_expired", "case_ended")


def test_an_approval_cannot_widen_the_application(world):
    case_id = apply(world)
    for terms, field in [({"granted_items": "姓名\n住址"}, "granted_items"),   # items not applied for
                         ({"valid_until": "2026-07-31"}, "valid_until"),         # longer than applied for
                         ({"valid_from": "2026-04-01", "valid_until": "2026-03-31"}, "valid_until")]:
        with pytest.raises(InvalidForm) as refused:
            world.complete(case_id, "provider_review", "gongan.clerk", {"decision": "approve", **terms})
        assert field in refused.value.errors, terms
    assert world.open_elements(case_id) == ["provider_review"]
    assert (application(world, case_id).status, grants(world, case_id)) == ("submitted", [])


def test_a_refusal_needs_a_basis_and_the_consumer_may_accept_it(world):
    case_id = apply(world)
    before = (actions(world, case_id), world.case(case_id).version)
    with pytest.raises(InvalidForm) as refused:  # art. 14: no refusal without a legal or policy basis
        world.complete(case_id, "provider_review", "gongan.clerk", {**REFUSE, "basis": ""})
    assert set(refused.value.errors) == {"basis"}
    assert (actions(world, case_id), world.case(case_id).version) == before  # nothing changed
    assert application(world, case_id).status == "submitted"
    assert world.open_elements(case_id) == ["provider_review"]
    world.complete(case_id, "provider_review", "gongan.clerk", REFUSE)
    app = application(world, case_id)
    assert (app.status, app.refusal_reason, app.refusal_basis) == ("refused", REFUSE["reason"], REFUSE["basis"])
    world.reload()
    assert world.open_elements(case_id) == ["after_refusal"]
    task = world.task(case_id, "after_refusal")
    assert (task.role, task.department) == ("consumer_clerk", CONSUMER)
    denied(world, case_id, "after_refusal", "gongan.clerk", {"next_step": "accept"})
    world.complete(case_id, "after_refusal", "minzheng.clerk", {"next_step": "accept"})
    ended(world, case_id, "refused")
    assert grants(world, case_id) == []
    assert_trail(world, case_id, "share_application_submitted", "task_completed", "share_application_refused",
                 "task_completed", "case_ended")


def test_coordination_orders_the_share_and_the_provider_grants_it(world):
    case_id = apply(world)
    world.complete(case_id, "provider_review", "gongan.clerk", REFUSE)
    with pytest.raises(InvalidForm) as refused:
        world.complete(case_id, "after_refusal", "minzheng.clerk", {"next_step": "coordinate"})
    assert set(refused.value.errors) == {"coordination_request"}
    world.complete(case_id, "after_refusal", "minzheng.clerk", {
        "next_step": "coordinate", "coordination_request": "婚姻登记须核验身份，属履行法定职责所必需"})
    assert world.open_elements(case_id) == ["coordinate"]
    assert world.task(case_id, "coordinate").department is None  # county-wide role
    denied(world, case_id, "coordinate", "gongan.clerk", {"coordination": "upheld"})
    world.reload()
    world.at(2026, 2, 27, 10, 0)
    world.complete(case_id, "coordinate", "supervisor", {
        "coordination": "share_ordered", "coordination_note": "属履职必需，责成县公安局按申请共享"})
    app = application(world, case_id)
    assert (app.status, app.coordination_outcome, app.coordinated_by) == ("refused", "share_ordered", "supervisor")
    task = world.task(case_id, "grant_ordered")
    assert (task.role, task.department, task.due_date) == ("provider_clerk", PROVIDER, None)
    denied(world, case_id, "grant_ordered", "shichang.clerk", {})
    world.complete(case_id, "grant_ordered", "gongan.clerk", {"valid_until": "2026-04-30"})
    app = application(world, case_id)
    [grant] = grants(world, case_id)
    assert (app.status, app.grant_id) == ("granted", grant.id)
    assert (grant.data_items, grant.valid_until, grant.basis) == \
        (["公民身份号码", "姓名"], date(2026, 4, 30), "县政府政务数据资源主管部门协调意见（第十四条第三款）")
    expire_at_end_of(world, case_id, date(2026, 4, 30))
    ended(world, case_id, "granted")
    assert_trail(world, case_id, "share_application_refused", "share_application_coordinated", "grant_created",
                 "share_application_granted", "grant_expired", "case_ended")


def test_coordination_upholds_the_refusal(world):
    case_id = apply(world)
    world.complete(case_id, "provider_review", "gongan.clerk", REFUSE)
    world.complete(case_id, "after_refusal", "minzheng.clerk", {
        "next_step": "coordinate", "coordination_request": "请主管部门协调"})
    world.reload()
    world.complete(case_id, "coordinate", "supervisor", {
        "coordination": "upheld", "coordination_note": "依据充分，维持不予共享"})
    ended(world, case_id, "refused")
    app = application(world, case_id)
    assert (app.status, app.coordination_outcome, app.grant_id) == ("refused", "upheld", None)
    assert_trail(world, case_id, "share_application_refused", "share_application_coordinated", "case_ended")


def test_materials_asked_once_then_supplied_and_approved(world):
    case_id = apply(world)
    with pytest.raises(InvalidForm):  # say which materials are missing
        world.complete(case_id, "provider_review", "gongan.clerk", {"decision": "ask_materials"})
    world.at(2026, 2, 13, 10, 0)
    world.complete(case_id, "provider_review", "gongan.clerk", {
        "decision": "ask_materials", "reason": "请补充婚姻登记业务的法定依据"})
    task = world.task(case_id, "supplement_materials")
    assert (task.role, task.department) == ("consumer_clerk", CONSUMER)
    denied(world, case_id, "supplement_materials", "gongan.clerk", {"supplement_action": "withdraw"})
    world.reload()
    with pytest.raises(InvalidForm):
        world.complete(case_id, "supplement_materials", "minzheng.clerk", {"supplement_action": "supplement"})
    world.at(2026, 2, 24, 10, 0)
    world.complete(case_id, "supplement_materials", "minzheng.clerk", {
        "supplement_action": "supplement", "materials": "《婚姻登记条例》第七条摘录"})
    assert application(world, case_id).materials == ["共享申请表（盖章）", "应用场景说明", "《婚姻登记条例》第七条摘录"]
    assert world.task(case_id, "provider_review").due_date == DUE  # the clock kept running
    with pytest.raises(InvalidForm) as refused:  # at most once
        world.complete(case_id, "provider_review", "gongan.clerk", {"decision": "ask_materials", "reason": "再补"})
    assert "decision" in refused.value.errors
    world.complete(case_id, "provider_review", "gongan.clerk", {"decision": "approve"})
    assert application(world, case_id).status == "granted"
    [grant] = grants(world, case_id)
    assert (grant.data_items, grant.valid_until) == (["公民身份号码", "姓名"], date(2026, 6, 30))
    assert world.case(case_id).status == "running"
    expire_at_end_of(world, case_id, date(2026, 6, 30))
    ended(world, case_id, "granted")
    assert_trail(world, case_id, "task_completed", "share_application_supplemented", "task_completed",
                 "share_application_granted", "grant_expired", "case_ended")


def test_materials_asked_and_the_consumer_withdraws(world):
    case_id = apply(world)
    world.complete(case_id, "provider_review", "gongan.clerk", {
        "decision": "ask_materials", "reason": "请补充婚姻登记业务的法定依据"})
    world.reload()
    world.complete(case_id, "supplement_materials", "minzheng.clerk", {"supplement_action": "withdraw"})
    ended(world, case_id, "withdrawn")
    assert application(world, case_id).status == "withdrawn"
    assert grants(world, case_id) == []
    assert_trail(world, case_id, "share_application_submitted", "task_completed", "share_application_withdrawn",
                 "case_ended")


# -- 不予共享 --------------------------------------------------------------------------------------

def test_not_shared_resource_gets_the_providers_explanation(world):
    case_id = apply(world, resource="HN-GA-003", materials="")
    task = world.task(case_id, "provider_explanation")
    assert (task.role, task.department, task.due_date) == ("provider_clerk", PROVIDER, DUE)
    denied(world, case_id, "provider_explanation", "shichang.clerk", REFUSE)
    with pytest.raises(InvalidForm) as refused:
        world.complete(case_id, "provider_explanation", "gongan.clerk", {"reason": REFUSE["reason"]})
    assert set(refused.value.errors) == {"basis"}
    world.reload()
    world.complete(case_id, "provider_explanation", "gongan.clerk",
                   {"reason": "涉及侦查秘密", "basis": "《中华人民共和国刑事诉讼法》第一百五十二条"})
    app = application(world, case_id)
    assert (app.status, app.refusal_basis) == ("refused", "《中华人民共和国刑事诉讼法》第一百五十二条")
    world.complete(case_id, "after_refusal", "minzheng.clerk", {"next_step": "accept"})
    ended(world, case_id, "refused")
    assert_trail(world, case_id, "share_application_submitted", "task_completed", "share_application_refused",
                 "case_ended")


# -- overdue -------------------------------------------------------------------------------------

def overdue(world, case_id: int, element_id: str = "provider_review") -> records.SupervisionItem:
    world.at(2026, 2, 26, 23, 59)
    world.fire_timers()
    assert supervisions(world, case_id) == []
    world.at(2026, 2, 27, 0, 0)  # 24:00 of the fifth working day
    world.reload()
    assert world.fire_timers() >= 1
    assert world.task(case_id, element_id).overdue  # the task stays open, marked overdue
    [item] = supervisions(world, case_id)
    assert (item.department.code, item.possible_violation_item, item.status) == (PROVIDER, 3, "open")
    return item


def test_overdue_review_opens_a_rectification(world):
    ensure_rectification(world)
    case_id = apply(world)
    item = overdue(world, case_id)
    assert world.open_elements(case_id) == ["provider_review", "provider_review_supervise"]
    denied(world, case_id, "provider_review_supervise", "gongan.clerk", {"decision": "open"})
    world.complete(case_id, "provider_review_supervise", "supervisor", {"decision": "open", "note": "超期未答复"})
    with world.engine.uow() as uow:
        item = uow.session.get(records.SupervisionItem, item.id)
        violation = item.violation
        assert (item.confirmed, violation.item, violation.department.code, violation.source_case_id) == \
            (True, 3, PROVIDER, case_id)
    [rectification] = rectification_cases(world)
    assert violation.case_id == rectification.id
    world.at(2026, 3, 2, 10, 0)  # late, but the provider still answers
    world.complete(case_id, "provider_review", "gongan.clerk", REFUSE)
    world.complete(case_id, "after_refusal", "minzheng.clerk", {"next_step": "accept"})
    ended(world, case_id, "refused")
    assert_trail(world, case_id, "supervision_opened", "timer_fired", "violation_recorded",
                 "supervision_confirmed", "share_application_refused", "case_ended")


def test_overdue_review_dismissed_after_the_grant_ended(world):
    """The supervision branch ends last: the case still ends ``granted``."""
    case_id = apply(world, period_until="2026-03-31")
    item = overdue(world, case_id)
    world.complete(case_id, "provider_review", "gongan.clerk", {"decision": "approve"})
    expire_at_end_of(world, case_id, date(2026, 3, 31))
    assert world.case(case_id).status == "running"
    assert world.open_elements(case_id) == ["provider_review_supervise"]
    world.complete(case_id, "provider_review_supervise", "supervisor", {"decision": "dismiss", "note": "已补办"})
    ended(world, case_id, "granted")
    with world.engine.uow() as uow:
        item = uow.session.get(records.SupervisionItem, item.id)
        assert (item.status, item.confirmed, item.resolution, item.resolved_by) == \
            ("resolved", False, "已补办", "supervisor")
    assert rectification_cases(world) == []
    assert_trail(world, case_id, "supervision_opened", "grant_expired", "supervision_resolved", "case_ended")


def test_overdue_review_reopened_after_materials_is_not_supervised_twice(world):
    case_id = apply(world)
    overdue(world, case_id)
    world.complete(case_id, "provider_review", "gongan.clerk", {"decision": "ask_materials", "reason": "补充依据"})
    world.complete(case_id, "supplement_materials", "minzheng.clerk", {
        "supplement_action": "supplement", "materials": "依据文件"})
    assert len(supervisions(world, case_id)) == 1
    assert world.open_elements(case_id) == ["provider_review", "provider_review_supervise"]
    world.complete(case_id, "provider_review", "gongan.clerk", {"decision": "approve"})
    world.complete(case_id, "provider_review_supervise", "supervisor", {"decision": "dismiss", "note": "已办结"})
    assert application(world, case_id).status == "granted"
    assert world.case(case_id).status == "running"  # until the grant ends


def test_review_reopened_after_its_period_shows_its_due_date_and_is_overdue(world):
    case_id = apply(world)
    overdue(world, case_id)
    world.complete(case_id, "provider_review", "gongan.clerk", {"decision": "ask_materials", "reason": "补充依据"})
    world.complete(case_id, "supplement_materials", "minzheng.clerk", {
        "supplement_action": "supplement", "materials": "依据文件"})
    task = world.task(case_id, "provider_review")
    assert (task.due_date, task.overdue) == (DUE, True)


@pytest.mark.parametrize("decision", ["open", "dismiss"])
def test_overdue_explanation_is_supervised(world, decision):
    ensure_rectification(world)
    case_id = apply(world, resource="HN-GA-003", materials="")
    item = overdue(world, case_id, "provider_explanation")
    assert world.open_elements(case_id) == ["provider_explanation", "provider_explanation_supervise"]
    world.complete(case_id, "provider_explanation_supervise", "supervisor", {"decision": decision, "note": "超期"})
    with world.engine.uow() as uow:
        item = uow.session.get(records.SupervisionItem, item.id)
        assert item.confirmed == (decision == "open")
        assert item.status == ("open" if decision == "open" else "resolved")
    assert len(rectification_cases(world)) == (decision == "open")
    world.complete(case_id, "provider_explanation", "gongan.clerk",
                   {"reason": "涉及侦查秘密", "basis": "《中华人民共和国刑事诉讼法》第一百五十二条"})
    world.complete(case_id, "after_refusal", "minzheng.clerk", {"next_step": "accept"})
    ended(world, case_id, "refused")
    assert_trail(world, case_id, "supervision_opened", "share_application_refused", "case_ended")


def test_a_grant_revoked_before_its_end_stays_revoked(world):
    case_id = apply(world, resource="HN-SJ-001", period_until="2026-03-31")
    [grant] = grants(world, case_id)
    world.at(2026, 3, 10, 10, 0)
    with world.engine.uow() as uow:
        records.revoke_grant(uow, grant.id, "使用部门超范围使用", world.actors["shichang.head"], world.clock.now())
        uow.commit()
    world.at(2026, 4, 1, 0, 0)
    assert world.fire_timers() == 1
    [grant] = grants(world, case_id)
    assert (grant.status, grant.expired_at) == ("revoked", None)
    ended(world, case_id, "granted")
    assert actions(world, case_id).count("grant_expired") == 0


def test_a_grant_the_daily_sweep_expired_first_is_expired_once(world):
    case_id = apply(world, resource="HN-SJ-001", period_until="2026-03-31")
    world.at(2026, 4, 1, 0, 0)
    with world.engine.uow() as uow:  # the worker's daily sweep runs before the case's timer
        records.expire_grants(uow, date(2026, 4, 1), records.GRANT_EXPIRY_ACTOR, world.clock.now())
        uow.commit()
    assert world.fire_timers() == 1
    assert grants(world, case_id)[0].status == "expired"
    ended(world, case_id, "granted")
    assert actions(world, case_id).count("grant_expired") == 1
    assert world.engine.verify_audit() is None


def test_case_data_keeps_ids_and_small_values(world):
    case_id = apply(world)
    data = world.engine.case_data(case_id)
    assert {k: data[k] for k in ("resource_code", "share_type", "provider_department", "consumer_department",
                                 "received_on", "application_id")} == {
        "resource_code": "HN-GA-001", "share_type": "conditional", "provider_department": PROVIDER,
        "consumer_department": CONSUMER, "received_on": "2026-02-12",
        "application_id": application(world, case_id).id}
    assert len(json.dumps(data, ensure_ascii=False)) < 2000
