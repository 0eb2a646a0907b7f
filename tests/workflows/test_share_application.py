"""共享申请 (procedure 2, arts. 14–17): every path of bpmn/share_application.bpmn, walked through the
engine's service functions with the injected clock.

The application is received on Thursday 2026-02-12; the provider's five working days end on
2026-02-26 (Sat 02-14 is a 调休 working day, 02-15..02-23 the Spring Festival), the reminder is due
at 09:00 on 2026-02-25.

Statutory periods (workflows/share_application.py ``PERIODS``): the scenarios at the end assert the
due instants (task rows and ``statutory_period`` rows), who is reminded and who is not
(notifications), who is escalated (supervision items with their period) and the audit records.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from engine import rules
from engine import periods as statutory
from engine.bootstrap import register_hooks
from engine.calendar import BEIJING
from engine.domain import records
from engine.domain.notifications import Notification
from engine.domain.violations import Violation
from engine.errors import InvalidForm, PermissionDenied
from engine.returns import NotReturnable
from engine.models import AuditRecord, Case, Deadline, StatutoryPeriod
from workflows.share_application import records as share_records

CONSUMER, PROVIDER = "340822103", "340822101"  # 县民政局 applies for 县公安局's data
RECEIVED = (2026, 2, 12, 10, 0)                 # Thursday
DUE = date(2026, 2, 26)


# -- helpers ------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def notifications_on(world, monkeypatch):
    """Reminders and overdue notices go out through the hook the app and the worker register."""
    register_hooks(world.engine)
    reload = world.reload

    def reload_with_hooks() -> None:
        reload()
        register_hooks(world.engine)
    monkeypatch.setattr(world, "reload", reload_with_hooks)


def apply(world, resource: str = "HN-GA-001", login: str = "minzheng.clerk", at=RECEIVED, **changes) -> int:
    world.at(*at)
    data = {"resource": resource, "scenario": "婚姻登记时核验当事人身份和户籍信息",
            "data_items": "公民身份号码\n姓名", "period_from": "2026-03-01", "period_until": "2026-06-30",
            "materials": "共享申请表（盖章）\n应用场景说明", **changes}
    return world.start("share_application", login, data)


def application(world, case_id: int) -> share_records.ShareApplication:
    with world.engine.uow() as uow:
        return uow.session.scalars(sa.select(share_records.ShareApplication)
                                   .where(share_records.ShareApplication.case_id == case_id)).one()


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


def violations(world) -> list[Violation]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(Violation)))


def period_rows(world, case_id: int) -> list[tuple]:
    """The case's statutory periods in the order they opened: (name, seq, party, department, state,
    day 0, last day)."""
    with world.engine.uow() as uow:
        return [(p.name, p.seq, p.party, p.department, p.state, p.start_date, p.due_date)
                for p in statutory.of_case(uow.session, case_id)]


def period(world, case_id: int, name: str, seq: int = 1) -> StatutoryPeriod:
    with world.engine.uow() as uow:
        return uow.session.scalars(sa.select(StatutoryPeriod).where(
            StatutoryPeriod.case_id == case_id, StatutoryPeriod.name == name, StatutoryPeriod.seq == seq)).one()


def notified(world, case_id: int, kind: str) -> list[str]:
    """Who was told, oldest first (``reminder``, ``overdue``, ``answer``...)."""
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(Notification.login).where(
            Notification.case_id == case_id, Notification.kind == kind).order_by(Notification.id)))


def audit_summaries(world, case_id: int, action: str) -> list[dict]:
    with world.engine.uow() as uow:
        return [json.loads(s) for s in uow.session.scalars(sa.select(AuditRecord.summary).where(
            AuditRecord.case_id == case_id, AuditRecord.action == action).order_by(AuditRecord.id))]


def opened(world, case_id: int) -> list[tuple[str, int, str]]:
    return [(s["period"], s["seq"], s["due_date"]) for s in audit_summaries(world, case_id, "period_opened")]


def closed(world, case_id: int) -> list[tuple[str, int, str]]:
    return [(s["period"], s["seq"], s["state"]) for s in audit_summaries(world, case_id, "period_closed")]


def fired(world, case_id: int) -> list[tuple[str, str | None, bool]]:
    """The case's fired timers: (kind, period, repeat)."""
    return [(s["kind"], s.get("period"), bool(s.get("repeat")))
            for s in audit_summaries(world, case_id, "timer_fired")]


def waiting_deadlines(world, case_id: int) -> list[str]:
    with world.engine.uow() as uow:
        return sorted(uow.session.scalars(sa.select(Deadline.element_id).where(
            Deadline.case_id == case_id, Deadline.state == "waiting")))


def use_supplement_days(world, days: int) -> None:
    """A newer version of the rule set in force with another supplement period (the county's choice)."""
    with world.engine.uow() as uow:
        current = rules.in_force(uow.session, date(*RECEIVED[:3]))
        rules.add_version(uow.session, current.name, {**current.periods, "supplement_days": days},
                          current.effective_from, "admin", world.clock.now(), title="补正期限调整")
        uow.commit()



def rectification_cases(world) -> list[Case]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(Case).where(Case.process_id == "rectification")))


ASK = {"decision": "ask_materials", "reason": "请补充婚姻登记业务的法定依据"}
SUPPLY = {"supplement_action": "supplement", "materials": "《婚姻登记条例》第七条摘录"}
COORDINATE = {"next_step": "coordinate", "coordination_request": "婚姻登记须核验身份，属履行法定职责所必需"}
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
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(share_records.ShareApplication)) == 0
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
    task = world.task(case_id, "grant_ordered")  # ordered_grant_days (5) from the order of Fri 02-27
    assert (task.role, task.department, task.due_date) == ("provider_clerk", PROVIDER, date(2026, 3, 5))
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
    # the provider's 5 days start afresh from the receipt of the complete materials (Tue 02-24)
    assert world.task(case_id, "provider_review").due_date == date(2026, 3, 2)
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
    assert "rectification" not in world.deploy_errors
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
    world.at(2026, 3, 6, 0, 0)  # the authority's 5 days to decide on the 督办 (from 02-27) have passed
    assert world.fire_timers() == 2  # its reminder and its end
    decide = period(world, case_id, "review_supervise")
    assert (decide.party, decide.due_date, decide.overdue_at is not None) == ("authority", date(2026, 3, 5), True)
    assert notified(world, case_id, "reminder") == ["gongan.clerk", "supervisor"]
    assert len(supervisions(world, case_id)) == 1 and violations(world) == []  # none against the authority
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
    assert period(world, case_id, "review_supervise").state == "late"
    assert_trail(world, case_id, "supervision_opened", "period_overdue", "grant_expired", "supervision_resolved",
                 "period_closed", "case_ended")


def test_a_late_review_is_supervised_once_per_period(world):
    """Late on the first 5 days: one 督办 for that period. The materials asked afterwards start a
    fresh period when they arrive (not overdue on entry, no 督办 for it); late on that one too: a
    second 督办, for the second period. The first one, dismissed, stays dismissed."""
    case_id = apply(world)
    first = overdue(world, case_id)  # Fri 02-27 00:00
    review1 = period(world, case_id, "review")
    assert (first.period_id, review1.supervision_id, review1.state) == (review1.id, first.id, "running")
    world.complete(case_id, "provider_review", "gongan.clerk", ASK)
    assert period(world, case_id, "review").state == "late"
    world.complete(case_id, "supplement_materials", "minzheng.clerk", SUPPLY)
    task = world.task(case_id, "provider_review")  # 5 days afresh from Fri 02-27
    assert (task.due_date, task.overdue) == (date(2026, 3, 5), False)
    assert len(supervisions(world, case_id)) == 1
    assert world.open_elements(case_id) == ["provider_review", "provider_review_supervise"]
    world.complete(case_id, "provider_review_supervise", "supervisor", {"decision": "dismiss", "note": "已补正"})
    world.at(2026, 3, 6, 0, 0)
    world.reload()
    world.fire_timers()
    review2 = period(world, case_id, "review", 2)
    first_again, second = sorted(supervisions(world, case_id), key=lambda i: i.id)
    assert (first_again.status, first_again.resolution) == ("resolved", "已补正")  # stays dismissed
    assert (second.department.code, second.possible_violation_item, second.period_id) == (PROVIDER, 3, review2.id)
    assert second.human_task_id == world.task(case_id, "provider_review").id
    world.complete(case_id, "provider_review", "gongan.clerk", {"decision": "approve"})
    assert application(world, case_id).status == "granted"
    assert [(name, seq, state) for name, seq, _, _, state, _, _ in period_rows(world, case_id)
            if name in ("review", "supplement")] == [("review", 1, "late"), ("supplement", 1, "met"),
                                                     ("review", 2, "late")]
    assert world.case(case_id).status == "running"  # until the grant ends and the 督办 is decided


@pytest.mark.parametrize("decision", ["open", "dismiss"])
def test_overdue_explanation_is_supervised(world, decision):
    assert "rectification" not in world.deploy_errors
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


# -- statutory periods (issue 13): who is timed, reminded and escalated ---------------------------

# engine.calendar.due_date(date(2026, 2, 13), 10) == date(2026, 3, 5): materials asked Fri 02-13;
# day 1 is the 调休 Sat 02-14, Spring Festival 02-15..02-23, Sat 02-28 works (supplement_days, 10).
ASKED = (2026, 2, 13, 10, 0)
SUPPLEMENT_DUE = date(2026, 3, 5)


def test_materials_stop_the_providers_clock_and_start_the_applicants(world):
    """补正: the provider's period closes when it asks for materials (met, nobody is reminded or
    escalated for it any more); the applicant's 10 days run from the request, reminded at 09:00 of
    day 9; the materials back on day 9 start the provider's 5 days afresh from their receipt."""
    case_id = apply(world)
    world.at(*ASKED)
    world.complete(case_id, "provider_review", "gongan.clerk", ASK)
    task = world.task(case_id, "supplement_materials")
    assert (task.role, task.department, task.due_date, task.overdue) == \
        ("consumer_clerk", CONSUMER, SUPPLEMENT_DUE, False)
    assert waiting_deadlines(world, case_id) == ["supplement_materials_overdue", "supplement_materials_reminder"]
    assert period_rows(world, case_id) == [
        ("review", 1, "department", PROVIDER, "met", date(2026, 2, 12), DUE),
        ("supplement", 1, "applicant", CONSUMER, "running", date(2026, 2, 13), SUPPLEMENT_DUE)]
    assert period(world, case_id, "supplement").rule == "supplement_days"

    world.at(2026, 2, 25, 9, 0)  # the provider's reminder instant, had its clock kept running
    assert world.fire_timers() == 0
    world.at(2026, 2, 27, 0, 0)  # the provider's first 5 days are over: nothing is overdue
    assert world.fire_timers() == 0
    world.reload()
    world.at(2026, 3, 4, 8, 59)
    assert world.fire_timers() == 0
    world.at(2026, 3, 4, 9, 0)  # 09:00 of day 9, one working day before the applicant's period ends
    assert world.fire_timers() == 1
    assert notified(world, case_id, "reminder") == ["minzheng.clerk"]  # the applicant, not the provider
    assert period(world, case_id, "supplement").reminded_at == datetime(2026, 3, 4, 9, 0, tzinfo=BEIJING)

    world.at(2026, 3, 4, 10, 0)  # day 9: the complete materials arrive
    world.complete(case_id, "supplement_materials", "minzheng.clerk", SUPPLY)
    # engine.calendar.due_date(date(2026, 3, 4), 5) == date(2026, 3, 11): a new period from the receipt
    task = world.task(case_id, "provider_review")
    assert (task.due_date, task.overdue) == (date(2026, 3, 11), False)
    assert waiting_deadlines(world, case_id) == ["provider_review_overdue", "provider_review_reminder"]
    assert period_rows(world, case_id)[1:] == [
        ("supplement", 1, "applicant", CONSUMER, "met", date(2026, 2, 13), SUPPLEMENT_DUE),
        ("review", 2, "department", PROVIDER, "running", date(2026, 3, 4), date(2026, 3, 11))]
    assert world.fire_timers() == 0 and supervisions(world, case_id) == []

    world.at(2026, 3, 10, 9, 0)
    assert world.fire_timers() == 1
    assert notified(world, case_id, "reminder") == ["minzheng.clerk", "gongan.clerk"]
    world.at(2026, 3, 10, 15, 0)
    world.complete(case_id, "provider_review", "gongan.clerk", {"decision": "approve"})
    assert application(world, case_id).status == "granted"
    assert supervisions(world, case_id) == [] and violations(world) == []
    assert notified(world, case_id, "overdue") == []
    assert opened(world, case_id) == [("review", 1, "2026-02-26"), ("supplement", 1, "2026-03-05"),
                                      ("review", 2, "2026-03-11")]
    assert closed(world, case_id) == [("review", 1, "met"), ("supplement", 1, "met"), ("review", 2, "met")]
    assert fired(world, case_id) == [("reminder", "supplement", False), ("reminder", "review", False)]
    assert audit_summaries(world, case_id, "period_overdue") == []
    assert_trail(world, case_id, "period_opened", "task_completed", "period_opened", "period_closed",
                 "timer_fired", "share_application_supplemented", "period_opened", "period_closed",
                 "timer_fired", "share_application_granted", "period_closed")


def test_silence_past_the_supplement_period_withdraws_the_application(world):
    """Day 10 24:00 without the materials: the application is withdrawn (an interrupting timer), the
    case ends ``withdrawn``, and nobody is escalated: not the provider, not the applicant."""
    case_id = apply(world)
    world.at(*ASKED)
    world.complete(case_id, "provider_review", "gongan.clerk", ASK)
    world.at(2026, 3, 4, 9, 0)
    assert world.fire_timers() == 1  # the reminder
    world.at(2026, 3, 5, 23, 59)
    assert world.fire_timers() == 0
    assert world.open_elements(case_id) == ["supplement_materials"]
    world.at(2026, 3, 6, 0, 0)  # 24:00 of day 10
    world.reload()
    assert world.fire_timers() == 1
    ended(world, case_id, "withdrawn")
    assert application(world, case_id).status == "withdrawn"
    [withdrawal] = audit_summaries(world, case_id, "share_application_withdrawn")
    assert withdrawal["reason"] == "supplement_lapsed"
    with world.engine.uow() as uow:
        actor = uow.session.scalar(sa.select(AuditRecord.actor).where(
            AuditRecord.case_id == case_id, AuditRecord.action == "share_application_withdrawn"))
    assert actor == "system:supplement_lapsed"
    assert supervisions(world, case_id) == [] and violations(world) == [] and grants(world, case_id) == []
    supplement = period(world, case_id, "supplement")
    assert (supplement.state, supplement.department, supplement.supervision_id) == ("lapsed", CONSUMER, None)
    assert supplement.overdue_at == datetime(2026, 3, 6, tzinfo=BEIJING)
    assert notified(world, case_id, "reminder") == ["minzheng.clerk"]
    assert notified(world, case_id, "overdue") == []
    assert notified(world, case_id, "answer") == ["minzheng.clerk"]  # the applicant learns the outcome
    assert fired(world, case_id) == [("reminder", "supplement", False), ("overdue", "supplement", False)]
    assert closed(world, case_id) == [("review", 1, "met"), ("supplement", 1, "lapsed")]
    assert_trail(world, case_id, "period_opened", "period_opened", "period_closed", "timer_fired",
                 "share_application_withdrawn", "task_cancelled", "period_overdue", "timer_fired",
                 "period_closed", "case_ended")


def test_materials_back_after_fourteen_working_days_open_a_fresh_period(world):
    """The issue's case: materials back 14 working days after the request (a county that gives the
    applicant 20 days). The provider's first 5 days ended long before: its review re-opens with 5
    days from the receipt, not overdue and without a 督办; late on those, exactly one 督办 against
    the provider, for that period; the applicant is never escalated."""
    use_supplement_days(world, 20)
    case_id = apply(world)
    assert world.case(case_id).rule_set.endswith("@2")
    world.at(*ASKED)
    world.complete(case_id, "provider_review", "gongan.clerk", ASK)
    # engine.calendar.due_date(date(2026, 2, 13), 20) == date(2026, 3, 19)
    assert world.task(case_id, "supplement_materials").due_date == date(2026, 3, 19)
    world.at(2026, 3, 11, 10, 0)  # the 14th working day after the request
    assert world.fire_timers() == 0
    world.complete(case_id, "supplement_materials", "minzheng.clerk", SUPPLY)
    # engine.calendar.due_date(date(2026, 3, 11), 5) == date(2026, 3, 18)
    task = world.task(case_id, "provider_review")
    assert (task.due_date, task.overdue) == (date(2026, 3, 18), False)
    assert world.fire_timers() == 0
    assert supervisions(world, case_id) == [] and notified(world, case_id, "overdue") == []
    assert world.open_elements(case_id) == ["provider_review"]

    world.at(2026, 3, 17, 9, 0)
    assert world.fire_timers() == 1
    assert notified(world, case_id, "reminder") == ["gongan.clerk"]
    world.at(2026, 3, 19, 0, 0)  # 24:00 of the fresh fifth day
    world.reload()
    assert world.fire_timers() == 1
    review2 = period(world, case_id, "review", 2)
    [item] = supervisions(world, case_id)
    assert (item.department.code, item.possible_violation_item, item.period_id, item.status) == \
        (PROVIDER, 3, review2.id, "open")
    assert review2.supervision_id == item.id and review2.overdue_at == datetime(2026, 3, 19, tzinfo=BEIJING)
    assert world.task(case_id, "provider_review").overdue
    assert notified(world, case_id, "overdue") == ["gongan.clerk"]
    assert world.open_elements(case_id) == ["provider_review", "provider_review_supervise"]
    assert world.task(case_id, "provider_review_supervise").due_date == date(2026, 3, 26)  # authority's 5 days
    [overdue_entry] = audit_summaries(world, case_id, "period_overdue")
    assert (overdue_entry["period"], overdue_entry["seq"], overdue_entry["party"], overdue_entry["department"]) == \
        ("review", 2, "department", PROVIDER)
    world.complete(case_id, "provider_review_supervise", "supervisor", {"decision": "dismiss", "note": "已答复"})
    world.at(2026, 3, 20, 10, 0)
    world.complete(case_id, "provider_review", "gongan.clerk", REFUSE)
    world.complete(case_id, "after_refusal", "minzheng.clerk", {"next_step": "accept"})
    ended(world, case_id, "refused")
    assert len(supervisions(world, case_id)) == 1 and violations(world) == []
    assert [(n, seq, state) for n, seq, _, _, state, _, _ in period_rows(world, case_id)] == [
        ("review", 1, "met"), ("supplement", 1, "met"), ("review", 2, "late"), ("review_supervise", 1, "met"),
        ("coordination_request", 1, "met")]


def test_a_late_ordered_grant_is_supervised_against_the_provider(world):
    """The authority orders the share (art. 14 ¶3): the provider's ordered_grant_days run from the
    order; late, one 督办 against the provider (art. 31 item 3), none against anyone else."""
    case_id = apply(world)
    world.complete(case_id, "provider_review", "gongan.clerk", REFUSE)
    world.complete(case_id, "after_refusal", "minzheng.clerk", COORDINATE)
    world.at(2026, 2, 24, 10, 0)
    world.complete(case_id, "coordinate", "supervisor", {
        "coordination": "share_ordered", "coordination_note": "属履职必需，责成县公安局按申请共享"})
    # engine.calendar.due_date(date(2026, 2, 24), 5) == date(2026, 3, 2); reminder on the 调休 Sat 02-28
    task = world.task(case_id, "grant_ordered")
    assert (task.due_date, task.overdue) == (date(2026, 3, 2), False)
    ordered = period(world, case_id, "ordered_grant")
    assert (ordered.party, ordered.department, ordered.rule, ordered.article, ordered.start_date) == \
        ("department", PROVIDER, "ordered_grant_days", "14 ¶3", date(2026, 2, 24))
    world.at(2026, 2, 28, 9, 0)
    assert world.fire_timers() == 1
    assert notified(world, case_id, "reminder") == ["gongan.clerk"]
    world.at(2026, 3, 3, 0, 0)
    world.reload()
    assert world.fire_timers() == 1
    [item] = supervisions(world, case_id)
    ordered = period(world, case_id, "ordered_grant")
    assert (item.department.code, item.possible_violation_item, item.period_id) == (PROVIDER, 3, ordered.id)
    assert notified(world, case_id, "overdue") == ["gongan.clerk"]
    assert world.open_elements(case_id) == ["grant_ordered", "grant_ordered_supervise"]
    world.at(2026, 3, 3, 10, 0)
    world.complete(case_id, "grant_ordered", "gongan.clerk", {})
    assert application(world, case_id).status == "granted"
    assert period(world, case_id, "ordered_grant").state == "late"
    world.complete(case_id, "grant_ordered_supervise", "supervisor", {"decision": "dismiss", "note": "已授权"})
    assert len(supervisions(world, case_id)) == 1 and violations(world) == []
    assert [(n, state) for n, _, _, _, state, _, _ in period_rows(world, case_id)] == [
        ("review", "met"), ("coordination_request", "met"), ("coordinate", "met"), ("ordered_grant", "late"),
        ("ordered_grant_supervise", "met")]
    assert fired(world, case_id) == [("reminder", "ordered_grant", False), ("overdue", "ordered_grant", False)]


def test_a_late_coordination_is_marked_late_without_a_supervision(world):
    """The authority's own coordination (authority_decide_days): reminded, marked late, no 督办 and no
    violation against anyone."""
    case_id = apply(world)
    world.complete(case_id, "provider_review", "gongan.clerk", REFUSE)
    world.at(*ASKED)
    world.complete(case_id, "after_refusal", "minzheng.clerk", COORDINATE)
    # engine.calendar.due_date(date(2026, 2, 13), 5) == date(2026, 2, 27)
    task = world.task(case_id, "coordinate")
    assert (task.role, task.department, task.due_date) == ("authority", None, date(2026, 2, 27))
    coordination = period(world, case_id, "coordinate")
    assert (coordination.party, coordination.department, coordination.article) == ("authority", None, "14 ¶3")
    world.at(2026, 2, 26, 9, 0)
    assert world.fire_timers() == 1
    assert notified(world, case_id, "reminder") == ["supervisor"]
    world.at(2026, 2, 28, 0, 0)
    world.reload()
    assert world.fire_timers() == 1
    assert world.task(case_id, "coordinate").overdue
    coordination = period(world, case_id, "coordinate")
    assert (coordination.state, coordination.overdue_at) == ("running", datetime(2026, 2, 28, tzinfo=BEIJING))
    assert supervisions(world, case_id) == [] and violations(world) == []
    assert notified(world, case_id, "reminder") == ["supervisor"]  # nobody else
    assert world.open_elements(case_id) == ["coordinate"]
    world.at(2026, 3, 2, 10, 0)
    world.complete(case_id, "coordinate", "supervisor", {"coordination": "upheld", "coordination_note": "维持"})
    ended(world, case_id, "refused")
    assert period(world, case_id, "coordinate").state == "late"
    assert supervisions(world, case_id) == [] and violations(world) == []
    assert fired(world, case_id) == [("reminder", "coordinate", False), ("overdue", "coordinate", False)]
    [late] = audit_summaries(world, case_id, "period_overdue")
    assert (late["period"], late["party"], late["department"]) == ("coordinate", "authority", None)
    assert closed(world, case_id)[-1] == ("coordinate", 1, "late")


def test_the_refusal_stands_when_the_applicant_lets_the_window_pass(world):
    """Design (workflows/share_application.py): the applicant has supplement_days from the refusal to
    accept it or ask for coordination; reminded the day before, past it the refusal stands."""
    case_id = apply(world)
    world.complete(case_id, "provider_review", "gongan.clerk", REFUSE)
    # engine.calendar.due_date(date(2026, 2, 12), 10) == date(2026, 3, 4)
    task = world.task(case_id, "after_refusal")
    assert (task.due_date, task.department) == (date(2026, 3, 4), CONSUMER)
    world.at(2026, 3, 3, 9, 0)
    assert world.fire_timers() == 1
    assert notified(world, case_id, "reminder") == ["minzheng.clerk"]
    world.at(2026, 3, 5, 0, 0)
    world.reload()
    assert world.fire_timers() == 1
    ended(world, case_id, "refused")
    app = application(world, case_id)
    assert (app.status, app.coordination_outcome) == ("refused", None)
    assert supervisions(world, case_id) == [] and violations(world) == []
    assert period(world, case_id, "coordination_request").party == "applicant"
    assert notified(world, case_id, "answer") == ["minzheng.clerk"]


def test_the_applicant_cannot_send_a_request_for_materials_back(world):
    """No 退回 from the request for materials: the applicant supplies them or withdraws (a return
    would give the provider a fresh period by the applicant's act, and a second request)."""
    case_id = apply(world)
    world.complete(case_id, "provider_review", "gongan.clerk", ASK)
    with pytest.raises(NotReturnable):
        world.engine.return_task(world.task(case_id, "supplement_materials").id, world.actors["minzheng.clerk"],
                                 "不需要补充")
    assert world.open_elements(case_id) == ["supplement_materials"]
    assert [(n, seq, state) for n, seq, _, _, state, _, _ in period_rows(world, case_id)] == [
        ("review", 1, "met"), ("supplement", 1, "running")]


def test_a_coordination_request_sent_back_gives_the_applicant_a_new_window(world):
    """The authority returns the request (退回) to the applicant: its own period closes, the
    applicant's window opens again as a new period from the return, nobody is escalated."""
    case_id = apply(world)
    world.complete(case_id, "provider_review", "gongan.clerk", REFUSE)
    world.at(*ASKED)
    world.complete(case_id, "after_refusal", "minzheng.clerk", COORDINATE)
    world.at(2026, 2, 24, 10, 0)
    world.engine.return_task(world.task(case_id, "coordinate").id, world.actors["supervisor"], "请补充协调理由")
    # engine.calendar.due_date(date(2026, 2, 24), 10) == date(2026, 3, 9)
    assert world.open_elements(case_id) == ["after_refusal"]
    assert world.task(case_id, "after_refusal").due_date == date(2026, 3, 9)
    assert period_rows(world, case_id)[1:] == [
        ("coordination_request", 1, "applicant", CONSUMER, "met", date(2026, 2, 12), date(2026, 3, 4)),
        ("coordinate", 1, "authority", None, "met", date(2026, 2, 13), date(2026, 2, 27)),
        ("coordination_request", 2, "applicant", CONSUMER, "running", date(2026, 2, 24), date(2026, 3, 9))]
    world.at(2026, 3, 5, 0, 0)  # the first window's end has passed: nothing fires
    assert world.fire_timers() == 0
    world.complete(case_id, "after_refusal", "minzheng.clerk", COORDINATE)
    assert period(world, case_id, "coordinate", 2).start_date == date(2026, 3, 5)
    assert supervisions(world, case_id) == [] and violations(world) == []


def test_a_provisional_supplement_period_never_withdraws_by_itself(world):
    """Materials asked on 2026-12-24: the applicant's 10 days reach into 2027, not published yet. The
    period is provisional (暂定): its reminder fires at the provisional instant, the withdrawal for
    silence is held until the year is published."""
    case_id = apply(world, at=(2026, 12, 21, 10, 0), period_from="2027-01-01", period_until="2027-06-30")
    assert world.task(case_id, "provider_review").due_date == date(2026, 12, 28)
    world.at(2026, 12, 24, 16, 0)
    world.complete(case_id, "provider_review", "gongan.clerk", ASK)
    task = world.task(case_id, "supplement_materials")  # Mon-Fri and 1 January off, until published
    assert (task.due_date, task.provisional) == (date(2027, 1, 8), True)
    supplement = period(world, case_id, "supplement")
    assert (supplement.provisional, supplement.due_date) == (True, date(2027, 1, 8))
    with world.engine.uow() as uow:
        held = dict(uow.session.execute(sa.select(Deadline.kind, Deadline.held).where(
            Deadline.case_id == case_id, Deadline.state == "waiting")).all())
    assert held == {"reminder": False, "overdue": True}
    world.at(2027, 1, 7, 9, 0)
    assert world.fire_timers() == 1
    assert notified(world, case_id, "reminder") == ["minzheng.clerk"]
    [reminder] = audit_summaries(world, case_id, "timer_fired")
    assert reminder["provisional"] is True
    world.at(2027, 1, 20, 0, 0)
    world.reload()
    assert world.fire_timers() == 0
    assert world.open_elements(case_id) == ["supplement_materials"]
    assert (world.case(case_id).status, application(world, case_id).status) == ("running", "submitted")
    assert supervisions(world, case_id) == []
