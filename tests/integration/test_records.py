"""Case records (grants, objections, inconsistency reports, violations, supervision items) on SQLite
and PostgreSQL: validation, lifecycles, audit, and nothing half-written after an error."""
from __future__ import annotations

import itertools
import re
from datetime import date

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.domain import org, records
from engine.errors import ConcurrentModification, GovflowError, InvalidForm, NotFound
from engine.models import AuditRecord, Base
from engine.uow import Actor
from workflows.share_application import records as share_records
from workflows.inconsistency_arbitration import records as report_records
from workflows.data_review import records as objection_records
from tests.conftest import FIXTURES, make_engine

AUTHORITY = Actor("guo", frozenset({"authority"}), "SJJ")
PROVIDER = Actor("zhang", frozenset({"provider_clerk"}), "GA")
HEAD = Actor("wu", frozenset({"dept_head"}), "GA")
CONSUMER = Actor("li", frozenset({"consumer_clerk"}), "MZ")
PUBLIC = Actor("system:public")
DEPARTMENTS = [("GA", "县公安局", "county_department"), ("MZ", "县民政局", "county_department"),
               ("RS", "县人社局", "county_department"), ("SJJ", "县数据资源管理局", "authority")]
RECORD_MODELS = [share_records.ShareApplication, records.Grant, objection_records.Objection, report_records.InconsistencyReport,
                 report_records.InconsistencyParty, records.Violation, records.ViolationStep, records.SupervisionItem]


def build(url, clock):
    eng = make_engine(url, clock)
    with eng.uow() as uow:
        for code, name, kind in DEPARTMENTS:
            org.create_department(uow.session, code, name, kind)
        uow.commit()
    return eng


@pytest.fixture
def eng(db_url, clock):
    eng = build(db_url, clock)
    yield eng
    assert eng.verify_audit() is None
    eng.db_engine.dispose()


def run(eng, service, *args, **kwargs):
    """Call one service function in its own unit of work and commit."""
    with eng.uow() as uow:
        result = service(uow, *args, **kwargs)
        uow.commit()
        return result


def fails(eng, error, service, *args, **kwargs):
    """Call a service that must refuse; return the error (the unit of work rolls back)."""
    with pytest.raises(error) as info:
        run(eng, service, *args, **kwargs)
    return info.value


def counts(eng) -> dict[str, int]:
    with eng.uow() as uow:
        return {m.__tablename__: uow.session.scalar(sa.select(sa.func.count()).select_from(m))
                for m in RECORD_MODELS + [AuditRecord]}


def actions(eng) -> list[str]:
    with eng.uow() as uow:
        return list(uow.session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id)))


def application(eng, clock, **overrides):
    fields = dict(consumer_dept_code="MZ", resource_code="GA-HJ-001", provider_dept_code="GA",
                  data_items=["姓名", "身份证号", "户籍地址"], scenario="低保资格审核时核验申请人户籍",
                  period_from=date(2026, 3, 2), period_until=date(2026, 12, 31), materials=["业务需求说明"],
                  actor=CONSUMER, now=clock.now())
    return run(eng, share_records.create_share_application, **{**fields, **overrides})


def grant(eng, clock, **overrides):
    fields = dict(consumer_dept_code="MZ", resource_code="GA-HJ-001", provider_dept_code="GA",
                  data_items=["姓名"], scenario="低保资格审核", valid_from=date(2026, 3, 2),
                  valid_until=date(2026, 3, 31), basis="有条件共享，材料齐全（第十七条）", actor=PROVIDER,
                  now=clock.now())
    return run(eng, records.create_grant, **{**fields, **overrides})


def objection(eng, clock, **overrides):
    fields = dict(objector_kind="natural_person", objector_name="王某", contact_phone="13800000000",
                  resource_code="GA-HJ-001", provider_dept_code="GA", record_ref="户籍记录 3408...",
                  description="出生日期有误", actor=PUBLIC, now=clock.now())
    return run(eng, objection_records.create_objection, **{**fields, **overrides})


# -- share applications and grants (arts. 14, 17) -----------------------------------------------

def test_an_approved_application_becomes_a_grant_with_the_third_party_limit(eng, clock):
    app = application(eng, clock)
    decided = run(eng, share_records.decide_share_application, app.id, "approve", PROVIDER, clock.now(),
                  basis="有条件共享，材料齐全", data_items=["姓名", "户籍地址"], usage_limits="仅限低保审核")
    g = decided.grant
    assert decided.status == "granted" and decided.decided_by == "zhang"
    assert (g.consumer.code, g.provider.code, g.resource_code) == ("MZ", "GA", "GA-HJ-001")
    assert g.data_items == ["姓名", "户籍地址"] and g.scenario == app.scenario
    assert (g.valid_from, g.valid_until) == (date(2026, 3, 2), date(2026, 12, 31))  # the period applied for
    assert g.usage_limits.startswith(records.THIRD_PARTY_LIMIT) and g.usage_limits.endswith("仅限低保审核")
    assert g.status == "active" and g.approved_by == "zhang"
    assert actions(eng) == ["share_application_submitted", "grant_created", "share_application_granted"]


def test_a_refusal_needs_a_reason_and_a_legal_or_policy_basis(eng, clock):
    app = application(eng, clock)
    error = fails(eng, InvalidForm, share_records.decide_share_application, app.id, "refuse", PROVIDER, clock.now(),
                  reason="涉及个人隐私")
    assert set(error.errors) == {"basis"} and "依据" in error.errors["basis"] and "basis" in error.errors["basis"]
    assert set(fails(eng, InvalidForm, share_records.decide_share_application, app.id, "refuse", PROVIDER,
                     clock.now()).errors) == {"reason", "basis"}
    assert counts(eng)["audit_record"] == 1
    refused = run(eng, share_records.decide_share_application, app.id, "refuse", PROVIDER, clock.now(),
                  reason="涉及个人隐私", basis="《个人信息保护法》第十三条")
    assert (refused.status, refused.refusal_reason, refused.refusal_basis) == (
        "refused", "涉及个人隐私", "《个人信息保护法》第十三条")
    fails(eng, GovflowError, share_records.decide_share_application, app.id, "approve", PROVIDER, clock.now(), basis="x")


def test_after_the_authority_orders_the_share_the_provider_grants_it(eng, clock):
    app = application(eng, clock)
    run(eng, share_records.decide_share_application, app.id, "refuse", PROVIDER, clock.now(), reason="r", basis="b")
    assert set(fails(eng, InvalidForm, share_records.coordinate_share_application, app.id, "maybe", "", AUTHORITY,
                     clock.now()).errors) == {"outcome", "note"}
    run(eng, share_records.coordinate_share_application, app.id, "share_ordered", "依据不足，应予共享", AUTHORITY, clock.now())
    fails(eng, GovflowError, share_records.coordinate_share_application, app.id, "upheld", "again", AUTHORITY, clock.now())
    granted = run(eng, share_records.decide_share_application, app.id, "approve", PROVIDER, clock.now(), basis="主管部门协调")
    assert granted.status == "granted" and granted.coordination_outcome == "share_ordered"
    assert actions(eng)[-1] == "share_application_granted"


def test_an_application_is_checked_field_by_field_and_nothing_is_written(eng, clock):
    before = counts(eng)
    error = fails(eng, InvalidForm, share_records.create_share_application, consumer_dept_code="XX",
                  resource_code="R" * 41, provider_dept_code="GA", data_items=[], scenario="  ",
                  period_from="2026-13-01", period_until=date(2026, 1, 1), actor=CONSUMER, now=clock.now())
    assert set(error.errors) == {"consumer_dept_code", "resource_code", "data_items", "scenario", "period_from"}
    assert "应用场景" in error.errors["scenario"] and "usage scenario" in error.errors["scenario"]
    error = fails(eng, InvalidForm, share_records.create_share_application, consumer_dept_code="GA",
                  resource_code="GA-HJ-001", provider_dept_code="GA", data_items=["姓名"], scenario="s",
                  period_from="2026-03-02", period_until="2026-03-01", actor=CONSUMER, now=clock.now())
    assert set(error.errors) == {"consumer_dept_code", "period_until"}
    assert counts(eng) == before


def test_a_grant_cannot_widen_the_items_applied_for_or_be_decided_twice(eng, clock):
    app = application(eng, clock, data_items=["姓名"])
    error = fails(eng, InvalidForm, share_records.decide_share_application, app.id, "approve", PROVIDER, clock.now(),
                  basis="b", data_items=["姓名", "照片"])
    assert "照片" in error.errors["data_items"]
    assert set(fails(eng, InvalidForm, share_records.decide_share_application, app.id, "approve", PROVIDER,
                     clock.now()).errors) == {"basis"}
    assert counts(eng)["share_grant"] == 0
    run(eng, share_records.withdraw_share_application, app.id, CONSUMER, clock.now())
    fails(eng, GovflowError, share_records.decide_share_application, app.id, "approve", PROVIDER, clock.now(), basis="b")
    fails(eng, NotFound, share_records.decide_share_application, 999, "approve", PROVIDER, clock.now(), basis="b")


def test_a_grant_expires_at_the_end_of_its_last_day(eng, clock):
    g = grant(eng, clock, valid_until=date(2026, 3, 31))
    later = grant(eng, clock, consumer_dept_code="RS", valid_from=date(2026, 4, 1), valid_until=date(2026, 4, 30))
    with eng.uow() as uow:
        assert [x.id for x in records.active_grants(uow.session, date(2026, 3, 31))] == [g.id]
        assert records.active_grants(uow.session, date(2026, 3, 31), consumer_dept_code="RS") == []
        assert records.has_active_grant(uow.session, "MZ", "GA-HJ-001", date(2026, 3, 31), provider_dept_code="GA")
        assert not records.has_active_grant(uow.session, "MZ", "GA-HJ-001", date(2026, 3, 31), provider_dept_code="RS")
        # before the expiry job runs, a grant past its last day already no longer counts
        assert not records.has_active_grant(uow.session, "MZ", "GA-HJ-001", date(2026, 4, 1))
    assert run(eng, records.expire_grants, date(2026, 3, 31), records.GRANT_EXPIRY_ACTOR, clock.now()) == []
    expired = run(eng, records.expire_grants, date(2026, 4, 1), records.GRANT_EXPIRY_ACTOR, clock.now())
    assert [x.id for x in expired] == [g.id] and expired[0].status == "expired"
    with eng.uow() as uow:
        assert [x.id for x in records.active_grants(uow.session, date(2026, 4, 1))] == [later.id]
        assert uow.session.get(records.Grant, g.id).expired_at == clock.now()
    assert actions(eng).count("grant_expired") == 1


def test_a_revoked_grant_no_longer_counts_and_needs_a_reason(eng, clock):
    g = grant(eng, clock)
    assert set(fails(eng, InvalidForm, records.revoke_grant, g.id, " ", AUTHORITY, clock.now()).errors) == {"reason"}
    revoked = run(eng, records.revoke_grant, g.id, "超范围使用（第三十一条第四项）", AUTHORITY, clock.now())
    assert (revoked.status, revoked.revoked_by, revoked.revocation_reason) == (
        "revoked", "guo", "超范围使用（第三十一条第四项）")
    with eng.uow() as uow:
        assert not records.has_active_grant(uow.session, "MZ", "GA-HJ-001", date(2026, 3, 10))
    fails(eng, GovflowError, records.revoke_grant, g.id, "again", AUTHORITY, clock.now())
    assert run(eng, records.expire_grants, date(2027, 1, 1), records.GRANT_EXPIRY_ACTOR, clock.now()) == []


def test_a_grant_period_must_not_end_before_it_starts(eng, clock):
    error = fails(eng, InvalidForm, records.create_grant, consumer_dept_code="MZ", resource_code="GA-HJ-001",
                  provider_dept_code="GA", data_items=["姓名"], scenario="s", valid_from=date(2026, 4, 1),
                  valid_until=date(2026, 3, 31), basis="", actor=PROVIDER, now=clock.now())
    assert set(error.errors) == {"valid_until", "basis"}


# -- objections (art. 18) -----------------------------------------------------------------------

def test_a_person_objecting_needs_a_name_and_a_way_to_be_answered(eng, clock):
    error = fails(eng, InvalidForm, objection_records.create_objection, objector_kind="natural_person",
                  resource_code="GA-HJ-001", provider_dept_code="GA", record_ref="r", description="d",
                  actor=PUBLIC, now=clock.now())
    assert set(error.errors) == {"objector_name", "contact_phone"}
    assert "联系" in error.errors["contact_phone"] and "phone" in error.errors["contact_phone"]
    error = fails(eng, InvalidForm, objection_records.create_objection, objector_kind="alien", resource_code="GA-HJ-001",
                  provider_dept_code="GA", record_ref="r", description="d", objector_name="n",
                  contact_email="not-an-address", actor=PUBLIC, now=clock.now())
    assert set(error.errors) == {"objector_kind", "contact_email"}
    by_email = objection(eng, clock, contact_phone="", contact_email="wang@example.cn")
    by_department = objection(eng, clock, objector_kind="department", objector_dept_code="MZ", objector_name="",
                              contact_phone="", actor=CONSUMER)
    assert by_email.status == by_department.status == "received"
    assert by_department.objector_department.code == "MZ"
    assert counts(eng)["objection"] == 2


def test_the_receipt_code_finds_the_objection_without_logging_in(eng, clock):
    made = objection(eng, clock)
    code = made.receipt_code
    assert len(code) == 12 and set(code) <= set(objection_records.RECEIPT_ALPHABET)
    with eng.uow() as uow:
        assert objection_records.objection_by_receipt(uow.session, code).id == made.id
        spaced = f" {code[:4].lower()}-{code[4:8]} {code[8:]} "
        assert objection_records.objection_by_receipt(uow.session, spaced).id == made.id
        for unknown in ["", "ZZZZ2222ZZZZ", code[:-1], "x' OR '1'='1"]:
            with pytest.raises(NotFound):
                objection_records.objection_by_receipt(uow.session, unknown)
    with eng.db_engine.connect() as conn:  # the code is a bearer secret: never in the audit trail
        assert code not in " ".join(conn.execute(sa.select(AuditRecord.summary)).scalars())


def test_receipt_codes_are_unique_over_many_objections(eng, clock):
    with eng.uow() as uow:
        made = [objection_records.create_objection(
            uow, objector_kind="legal_person", objector_name=f"公司{i}", contact_email=f"c{i}@example.cn",
            resource_code="GA-HJ-001", provider_dept_code="GA", record_ref=f"r{i}", description="d",
            actor=PUBLIC, now=clock.now()) for i in range(300)]
        uow.commit()
    codes = {o.receipt_code for o in made}
    assert len(codes) == 300 and all(re.fullmatch(r"[23456789A-HJKMNP-TW-Z]{12}", c) for c in codes)


def test_a_drawn_receipt_code_that_exists_is_drawn_again(eng, clock, monkeypatch):
    draws = itertools.chain(itertools.repeat("A", 12), itertools.repeat("A", 12), itertools.repeat("B", 12))
    monkeypatch.setattr(objection_records.secrets, "choice", lambda alphabet: next(draws))
    assert objection(eng, clock).receipt_code == "A" * 12
    assert objection(eng, clock).receipt_code == "B" * 12
    monkeypatch.setattr(objection_records.secrets, "choice", lambda alphabet: "A")
    before = counts(eng)
    fails(eng, GovflowError, objection_records.create_objection, objector_kind="natural_person", objector_name="n",
          contact_phone="13800000000", resource_code="GA-HJ-001", provider_dept_code="GA", record_ref="r",
          description="d", actor=PUBLIC, now=clock.now())
    assert counts(eng) == before


def test_a_corrected_answer_says_what_was_corrected(eng, clock):
    made = objection(eng, clock)
    error = fails(eng, InvalidForm, objection_records.answer_objection, made.id, "corrected", "已核实", PROVIDER, clock.now())
    assert set(error.errors) == {"correction"} and "更正" in error.errors["correction"]
    assert set(fails(eng, InvalidForm, objection_records.answer_objection, made.id, "fixed", "", PROVIDER,
                     clock.now()).errors) == {"outcome", "answer"}
    answered = run(eng, objection_records.answer_objection, made.id, "corrected", "已核实并更正", PROVIDER, clock.now(),
                   correction="出生日期 1980-01-02 → 1980-02-01")
    assert (answered.status, answered.outcome, answered.answered_by) == ("answered", "corrected", "zhang")
    fails(eng, GovflowError, objection_records.answer_objection, made.id, "confirmed", "again", PROVIDER, clock.now())
    confirmed = run(eng, objection_records.answer_objection, objection(eng, clock).id, "confirmed", "经核实无误",
                    PROVIDER, clock.now())
    assert confirmed.outcome == "confirmed" and confirmed.correction is None


def test_an_extension_is_at_most_ten_days_once_and_the_head_decides_it(eng, clock):
    made = objection(eng, clock)
    fails(eng, GovflowError, objection_records.decide_extension, made.id, True, HEAD, clock.now())  # nothing requested
    for days in (11, 0, "5", True):
        error = fails(eng, InvalidForm, objection_records.record_extension, made.id, days, "数据量大", PROVIDER, clock.now())
        assert set(error.errors) == {"days"} and "10" in error.errors["days"]
    run(eng, objection_records.record_extension, made.id, 10, "需调取原始档案", PROVIDER, clock.now())
    fails(eng, GovflowError, objection_records.record_extension, made.id, 3, "again", PROVIDER, clock.now())
    decided = run(eng, objection_records.decide_extension, made.id, True, HEAD, clock.now())
    assert (decided.extension_days, decided.extension_approved, decided.extension_decided_by) == (10, True, "wu")
    fails(eng, GovflowError, objection_records.decide_extension, made.id, False, HEAD, clock.now())
    assert actions(eng)[-2:] == ["objection_extension_requested", "objection_extension_decided"]


# -- inconsistency reports (art. 19) ------------------------------------------------------------

def report(eng, clock, involved=(("GA", "GA-HJ-001"), ("RS", "RS-CB-002"))):
    return run(eng, report_records.create_inconsistency_report, description="同一人的出生日期不一致",
               involved=[list(x) for x in involved], reporter_dept_code="MZ", actor=CONSUMER, now=clock.now())


def test_an_inconsistency_involves_two_departments_at_least(eng, clock):
    error = fails(eng, InvalidForm, report_records.create_inconsistency_report, description="d",
                  involved=[("GA", "GA-HJ-001"), ("GA", "GA-HJ-002")], actor=CONSUMER, now=clock.now())
    assert set(error.errors) == {"involved"} and "两个" in error.errors["involved"]
    assert set(fails(eng, InvalidForm, report_records.create_inconsistency_report, description="", involved="GA",
                     actor=CONSUMER, now=clock.now()).errors) == {"description", "involved"}
    assert counts(eng)["inconsistency_report"] == counts(eng)["inconsistency_party"] == 0


def test_departments_that_agree_settle_it_and_the_report_closes_after_the_correction(eng, clock):
    made = report(eng, clock)
    assert set(fails(eng, InvalidForm, report_records.record_position, made.id, "MZ", "x", True, CONSUMER,
                     clock.now()).errors) == {"dept_code"}
    run(eng, report_records.record_position, made.id, "GA", "户籍记录为准", True, PROVIDER, clock.now())
    run(eng, report_records.record_position, made.id, "RS", "同意以户籍为准", True, PROVIDER, clock.now())
    settled = run(eng, report_records.decide_inconsistency, made.id, "agreed", "以公安户籍数据为准", ["RS"], PROVIDER,
                  clock.now())
    assert (settled.status, settled.outcome) == ("settled", "agreed")
    assert [(p.department.code, p.must_correct) for p in settled.parties] == [("GA", False), ("RS", True)]
    fails(eng, GovflowError, report_records.record_correction, made.id, "GA", "nothing to do", PROVIDER, clock.now())
    closed = run(eng, report_records.record_correction, made.id, "RS", "已按户籍更正", PROVIDER, clock.now())
    assert closed.status == "closed" and closed.parties[1].correction_note == "已按户籍更正"


def test_without_agreement_only_the_authority_decides(eng, clock):
    made = report(eng, clock)
    run(eng, report_records.record_position, made.id, "GA", "户籍为准", True, PROVIDER, clock.now())
    run(eng, report_records.record_position, made.id, "RS", "社保登记为准", False, PROVIDER, clock.now())
    fails(eng, GovflowError, report_records.decide_inconsistency, made.id, "agreed", "d", [], AUTHORITY, clock.now())
    assert set(fails(eng, InvalidForm, report_records.decide_inconsistency, made.id, "decided", "", ["MZ"], AUTHORITY,
                     clock.now()).errors) == {"decision", "must_correct"}
    decided = run(eng, report_records.decide_inconsistency, made.id, "decided", "以户籍为准", ["RS"], AUTHORITY, clock.now())
    assert (decided.status, decided.outcome, decided.decided_by) == ("settled", "decided", "guo")
    fails(eng, GovflowError, report_records.record_position, made.id, "RS", "late", True, PROVIDER, clock.now())


# -- violations and supervision items (art. 31) -------------------------------------------------

def test_a_violation_names_one_of_the_eight_items_of_article_31(eng, clock):
    assert sorted(records.ART31_ITEMS) == list(range(1, 9)) and records.ART31_ITEMS[3].startswith("无正当理由")
    for item in (0, 9, "3", None, True):
        error = fails(eng, InvalidForm, records.record_violation, dept_code="GA", item=item, evidence="e",
                      actor=AUTHORITY, now=clock.now())
        assert set(error.errors) == {"item"} and "第三十一条" in error.errors["item"]
    assert set(fails(eng, InvalidForm, records.record_violation, dept_code="ZZ", item=4, evidence="",
                     actor=AUTHORITY, now=clock.now()).errors) == {"dept_code", "evidence"}
    made = run(eng, records.record_violation, dept_code="GA", item=6, evidence="通过U盘向外单位提供数据",
               actor=AUTHORITY, now=clock.now())
    assert (made.status, made.source, made.item_title) == ("recorded", "manual", records.ART31_ITEMS[6])
    assert [s.step for s in made.steps] == ["recorded"]


def test_the_rectification_ladder_is_climbed_in_order(eng, clock):
    made = run(eng, records.record_violation, dept_code="GA", item=3, evidence="e", actor=AUTHORITY, now=clock.now())
    advance = lambda step, actor=AUTHORITY, **kw: run(  # noqa: E731
        eng, records.advance_violation, made.id, step, actor, clock.now(), **{"note": f"{step} note", **kw})
    for step in ("criticised", "ordered", "referred", "rectified"):
        error = fails(eng, GovflowError, records.advance_violation, made.id, step, AUTHORITY, clock.now(),
                      note="n", deadline=date(2026, 4, 1) if step == "ordered" else None)
        assert not isinstance(error, InvalidForm) and step in str(error)
    assert set(fails(eng, InvalidForm, records.advance_violation, made.id, "fined", AUTHORITY, clock.now(),
                     note="").errors) == {"step", "note"}
    assert set(fails(eng, InvalidForm, records.advance_violation, made.id, "notified", AUTHORITY, clock.now(),
                     note="n").errors) == {"deadline"}
    assert "今天" in fails(eng, InvalidForm, records.advance_violation, made.id, "notified", AUTHORITY,
                         clock.now(), note="n", deadline=date(2026, 3, 1)).errors["deadline"]
    advance("notified", deadline=date(2026, 3, 16))
    fails(eng, GovflowError, records.advance_violation, made.id, "criticised", AUTHORITY, clock.now(), note="n")
    county = Actor("xian", frozenset({"county_gov"}), "XZF")
    advance("ordered", county, deadline="2026-03-30")
    advance("criticised", county)
    advance("referred", Actor("jiwei", frozenset({"discipline"}), "JW"))
    closed = advance("closed")
    assert closed.status == "closed" and closed.deadline == date(2026, 3, 30)
    assert [(s.step, s.actor, s.deadline) for s in closed.steps] == [
        ("recorded", "guo", None), ("notified", "guo", date(2026, 3, 16)), ("ordered", "xian", date(2026, 3, 30)),
        ("criticised", "xian", None), ("referred", "jiwei", None), ("closed", "guo", None)]
    fails(eng, GovflowError, records.advance_violation, made.id, "notified", AUTHORITY, clock.now(), note="n",
          deadline=date(2026, 5, 1))
    assert [a for a in actions(eng) if a.startswith("violation_")] == [
        "violation_recorded", "violation_notified", "violation_ordered", "violation_criticised",
        "violation_referred", "violation_closed"]


def start_case(eng):
    eng.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    case_id = eng.start_case("review_loop", PROVIDER, {"department": "GA"})
    with eng.uow() as uow:
        task_id = uow.session.scalar(sa.text("select id from human_task where case_id = :c"), {"c": case_id})
    return case_id, task_id


def test_an_overdue_escalation_opens_a_supervision_item_the_authority_confirms_as_a_violation(eng, clock):
    case_id, task_id = start_case(eng)
    timer = Actor.system("timer")
    assert set(fails(eng, InvalidForm, records.open_supervision_item, case_id=case_id, human_task_id=task_id,
                     dept_code="GA", possible_violation_item=5, actor=timer, now=clock.now()).errors) == {
        "possible_violation_item"}
    assert set(fails(eng, InvalidForm, records.open_supervision_item, case_id=99999, human_task_id=task_id,
                     dept_code="GA", possible_violation_item=3, actor=timer, now=clock.now()).errors) == {"case_id"}
    item = run(eng, records.open_supervision_item, case_id=case_id, human_task_id=task_id, dept_code="GA",
               possible_violation_item=3, actor=timer, now=clock.now())
    again = run(eng, records.open_supervision_item, case_id=case_id, human_task_id=task_id, dept_code="GA",
                possible_violation_item=3, actor=timer, now=clock.now())
    assert again.id == item.id and (item.status, item.confirmed) == ("open", False)
    violation = run(eng, records.confirm_supervision_item, item.id, AUTHORITY, clock.now())
    assert (violation.source, violation.source_case_id, violation.source_task_id) == (
        "overdue_escalation", case_id, task_id)
    assert (violation.item, violation.department.code, violation.status) == (3, "GA", "recorded")
    assert str(case_id) in violation.evidence
    fails(eng, GovflowError, records.confirm_supervision_item, item.id, AUTHORITY, clock.now())
    resolved = run(eng, records.resolve_supervision_item, item.id, "任务已办结", AUTHORITY, clock.now())
    assert (resolved.status, resolved.confirmed, resolved.violation_id) == ("resolved", True, violation.id)
    fails(eng, GovflowError, records.resolve_supervision_item, item.id, "again", AUTHORITY, clock.now())
    with eng.uow() as uow:
        trail = uow.session.execute(sa.select(AuditRecord.action, AuditRecord.case_id, AuditRecord.task_id)
                                    .where(AuditRecord.action.in_(["supervision_opened", "violation_recorded",
                                                                   "supervision_confirmed"]))
                                    .order_by(AuditRecord.id)).all()
    assert [tuple(t) for t in trail] == [("supervision_opened", case_id, task_id),
                                         ("violation_recorded", case_id, task_id),
                                         ("supervision_confirmed", case_id, task_id)]
    attached = run(eng, records.attach_violation_case, violation.id, case_id, AUTHORITY, clock.now())
    assert attached.case_id == case_id
    fails(eng, GovflowError, records.attach_violation_case, violation.id, case_id, AUTHORITY, clock.now())


def test_failed_calls_inside_a_committed_unit_of_work_leave_nothing_behind(eng, clock):
    case_id, task_id = start_case(eng)
    item = run(eng, records.open_supervision_item, case_id=case_id, human_task_id=task_id, dept_code="GA",
               possible_violation_item=1, actor=AUTHORITY, now=clock.now())
    run(eng, records.confirm_supervision_item, item.id, AUTHORITY, clock.now(), evidence="逾期未更新目录")
    app = application(eng, clock)
    before = counts(eng)
    refused = [
        lambda uow: share_records.create_share_application(uow, consumer_dept_code="MZ", resource_code="R",
                                                     provider_dept_code="GA", data_items=["a"], scenario="",
                                                     period_from=date(2026, 3, 2), period_until=date(2026, 3, 3),
                                                     actor=CONSUMER, now=clock.now()),
        lambda uow: share_records.decide_share_application(uow, app.id, "approve", PROVIDER, clock.now(), basis="b",
                                                     valid_until=date(2026, 1, 1)),
        lambda uow: share_records.decide_share_application(uow, app.id, "refuse", PROVIDER, clock.now(), reason="r"),
        lambda uow: records.confirm_supervision_item(uow, item.id, AUTHORITY, clock.now()),
        lambda uow: report_records.create_inconsistency_report(uow, description="d", involved=[("GA", "R"), ("XX", "R")],
                                                        actor=CONSUMER, now=clock.now()),
        lambda uow: records.record_violation(uow, dept_code="GA", item=9, evidence="e", actor=AUTHORITY,
                                             now=clock.now()),
    ]
    with eng.uow() as uow:
        for call in refused:
            with pytest.raises(GovflowError):
                call(uow)
        uow.commit()  # a caller that swallowed the errors commits nothing of them
    assert counts(eng) == before
    with eng.uow() as uow:
        assert uow.session.get(share_records.ShareApplication, app.id).status == "submitted"
    assert eng.verify_audit() is None


def test_the_migration_matches_the_models(db_url):
    mine = {m.__tablename__ for m in RECORD_MODELS}
    only_mine = {"include_object": lambda obj, name, kind, reflected, other:
                 (name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)) in mine}
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=only_mine), Base.metadata) == []
    db.dispose()


@pytest.mark.postgres
def test_two_clerks_revoking_the_same_grant_one_wins(pg_url, clock):
    eng = build(pg_url, clock)
    try:
        g = grant(eng, clock)
        with eng.uow() as slow:
            records.revoke_grant(slow, g.id, "slow", AUTHORITY, clock.now())  # read and changed, not committed
            run(eng, records.revoke_grant, g.id, "fast", AUTHORITY, clock.now())
            with pytest.raises(ConcurrentModification):
                slow.commit()
        with eng.uow() as uow:
            assert uow.session.get(records.Grant, g.id).revocation_reason == "fast"
        assert actions(eng).count("grant_revoked") == 1 and eng.verify_audit() is None
    finally:
        eng.db_engine.dispose()
