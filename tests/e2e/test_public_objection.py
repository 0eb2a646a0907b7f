"""复核 from the public (art. 18): the objection form and the receipt-code lookup, without an account."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.domain import catalog, throttle
from engine.domain.notifications import Notification
from workflows.data_review.records import Objection
from engine.models import AuditRecord, Case, HumanTask
from engine.procedures import load_procedures
from tests.e2e.conftest import DEPT_A, Browser, actor

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
RESOURCE = {
    "code": "HN-GA-001", "name": "户籍人口基本信息", "classification": "base", "category": "人口",
    "summary": "户籍人口基本信息（测试）", "format": "database",
    "data_items": [{"name": "公民身份号码", "type": "字符", "description": ""}],
    "update_frequency": "daily", "share_type": "conditional", "status": "active", "open_type": "closed",
    "share_reason": "涉及个人信息", "share_basis": "《中华人民共和国个人信息保护法》第三十四条",
    "open_reason": "涉及个人信息", "share_conditions": "仅限履行法定职责所必需", "share_method": "interface",
    "usage_requirements": "不得提供给第三方", "materials": ["共享申请表"],
}
OBJECTION = {"objector_kind": "natural_person", "objector_name": "王某", "contact_phone": "138 0000 0000",
             "contact_email": "wang@example.cn", "resource": "HN-GA-001",
             "record_ref": "公民身份号码 340822199001011234 的户籍地址",
             "description": "门牌号应为 12 号，登记为 21 号", "evidence": "不动产权证书复印件"}


@pytest.fixture
def engine(engine, clock):
    """The web tier's engine plus the objection review procedure and a published resource of DEPT_A."""
    engine.procedures["data_review"] = load_procedures("workflows")["data_review"]
    engine.deploy((BPMN / "data_review.bpmn").read_bytes())
    with engine.uow() as uow:
        draft = catalog.open_draft(uow, DEPT_A, "seed", clock.now())
        catalog.upsert_entry(uow, draft.id, RESOURCE, "seed", clock.now())
        catalog.publish_draft(uow, draft.id, "seed", clock.now(), basis="测试目录")
        uow.commit()
    return engine


@pytest.fixture
def visitor(app) -> Browser:
    """Someone on the internet: no account, a browser that carries the page's CSRF token."""
    b = Browser(app.test_client())
    b.get("/public/objection")
    return b


def text(response) -> str:
    return response.get_data(as_text=True)


def submit(visitor, **changes):
    return visitor.post("/public/objection", {**OBJECTION, **changes})


def receipt_of(visitor) -> str:
    response = submit(visitor)
    assert response.status_code == 302 and response.headers["Location"] == "/public/objection/receipt"
    page = text(visitor.get("/public/objection/receipt"))
    assert "回执码只显示这一次" in page
    code = re.search(r"<code>([2-9A-Z]{4})-([2-9A-Z]{4})-([2-9A-Z]{4})</code>", page)
    return "".join(code.groups())


def test_the_form_needs_no_account_and_offers_the_published_catalog(app):
    page = app.test_client().get("/public/objection")
    body = text(page)
    assert page.status_code == 200
    assert '<option value="HN-GA-001">HN-GA-001 户籍人口基本信息（县公安局）</option>' in body
    assert 'value="natural_person"' in body and 'value="department"' not in body  # departments log in
    assert 'name="csrf_token"' in body


def test_an_objection_starts_the_review_and_the_receipt_code_is_shown_once(visitor, engine, as_person):
    code = receipt_of(visitor)
    again = text(visitor.get("/public/objection/receipt"))
    assert code not in again and "仅在提交复核申请时显示一次" in again
    with engine.uow() as uow:
        found = uow.session.scalars(sa.select(Objection)).one()
        case = uow.session.get(Case, found.case_id)
        task = uow.session.scalars(sa.select(HumanTask).where(HumanTask.case_id == case.id,
                                                              HumanTask.element_id == "verify_answer")).one()
        summaries = [r.summary for r in uow.session.scalars(sa.select(AuditRecord))]
        actors = {r.actor for r in uow.session.scalars(sa.select(AuditRecord).where(AuditRecord.case_id == case.id))}
    assert found.receipt_code == code and found.received_by == "public:natural_person"
    assert (case.started_by, task.department) == ("public:natural_person", DEPT_A)
    assert "public:natural_person" in actors
    assert not any(code in s or "138 0000 0000" in s for s in summaries)  # art. 29 trail without secrets
    clerk_page = text(as_person("clerk.a").get(f"/tasks/{task.id}"))
    assert "社会公众（自然人）" in clerk_page


def test_bad_input_is_refused_with_the_values_kept(visitor, engine):
    response = submit(visitor, contact_phone="", contact_email="")
    page = text(response)
    assert response.status_code == 422 and "请填写联系电话或电子邮箱以便答复" in page
    assert 'value="王某"' in page and "门牌号应为 12 号" in page and 'value="wang@example.cn"' not in page
    response = submit(visitor, record_ref="", contact_phone="call me")
    page = text(response)
    assert response.status_code == 422 and 'id="f-record_ref" name="record_ref" maxlength="500" required aria-invalid' in page
    response = submit(visitor, objector_kind="department")  # no department without logging in
    assert response.status_code == 422 and "须由部门工作人员登录提交" in text(response)
    response = submit(visitor, description="长" * 5001)
    assert response.status_code == 422
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_csrf_and_size_limits(app, visitor, engine):
    client = app.test_client()
    assert client.post("/public/objection", data=OBJECTION).status_code == 400
    assert client.post("/public/objection/status", data={"code": "ABCD"}).status_code == 400
    huge = visitor.post("/public/objection", {**OBJECTION, "description": "x" * 200_000})
    assert huge.status_code == 413 and "填写的内容过长" in text(huge)
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_the_lookup_shows_status_and_answer_but_no_contact_details(visitor, engine, app):
    code = receipt_of(visitor)
    stranger = Browser(app.test_client())
    stranger.get("/public/objection/status")
    page = text(stranger.post("/public/objection/status", {"code": f" {code[:4].lower()}-{code[4:8]} {code[8:]} "}))
    assert "已受理：数据提供部门正在核实" in page and "县公安局" in page and "2026-03-16" in page
    for secret in ("王某", "138 0000 0000", "wang@example.cn"):
        assert secret not in page
    with engine.uow() as uow:
        task_id = uow.session.scalar(sa.select(HumanTask.id).where(HumanTask.element_id == "verify_answer"))
    engine.complete_task(task_id, actor("clerk.a"), {"outcome": "corrected", "answer": "经核实，已更正。",
                                                     "correction": "门牌号由 21 号更正为 12 号"})
    page = text(stranger.post("/public/objection/status", {"code": code}))
    assert "数据已更正" in page and "经核实，已更正。" in page and "门牌号由 21 号更正为 12 号" in page
    with engine.uow() as uow:  # the answer reaches the objector through the lookup, not an inbox
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.login.like("public:%"))) == 0
    unknown = stranger.post("/public/objection/status", {"code": "ZZZZ-ZZZZ-ZZZZ"})
    assert unknown.status_code == 404 and "没有与此回执码对应的复核申请" in text(unknown)
    assert unknown.headers["Cache-Control"] == "no-store"


def test_submissions_and_lookups_are_rate_limited_per_address(app, visitor, engine, clock):
    for _ in range(throttle.LIMITS["objection"].requests):
        receipt_of(visitor)
    refused = submit(visitor)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "3600"
    assert "请求过于频繁" in text(refused) and 'value="王某"' in text(refused)
    elsewhere = Browser(app.test_client())
    elsewhere.client.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    elsewhere.get("/public/objection")
    assert elsewhere.post("/public/objection", OBJECTION).status_code == 302
    clock.advance(hours=1, seconds=1)
    assert submit(visitor).status_code == 302

    for _ in range(throttle.LIMITS["lookup"].requests):
        assert visitor.post("/public/objection/status", {"code": "ZZZZZZZZZZZZ"}).status_code == 404
    limited = visitor.post("/public/objection/status", {"code": "ZZZZZZZZZZZZ"})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "900"


def test_invalid_submissions_count_against_their_own_limit(visitor, engine):
    for _ in range(throttle.LIMITS["objection_form"].requests):
        assert submit(visitor, contact_phone="", contact_email="").status_code == 422
    assert submit(visitor).status_code == 429
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_without_the_procedure_the_page_is_not_found(app, engine):
    del engine.procedures["data_review"]
    assert app.test_client().get("/public/objection").status_code == 404
