"""Grant pages and the grant API (art. 14): the consumer, the provider and the authority see a grant's
status and, once revoked, who revoked it, when, why and on what basis; the provider's clerks and head
and the authority revoke it with the 撤销授权 form (reason, basis, confirmation) or
``POST /api/v1/grants/{id}/revoke``; the consumer's clerks are notified, are told before a grant
expires and renew it from a share application pre-filled from it. Every API answer is checked
against the OpenAPI document (``ConformingClient`` of test_api)."""
from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import grant_service
from engine.calendar import BEIJING
from engine.domain import catalog, org, records
from engine.models import AuditRecord
from engine.procedures import Procedure
from tests.e2e.conftest import DEPT_A, DEPT_B, PASSWORD, actor
from tests.e2e.test_api import api, conforming, refused  # noqa: F401 - fixtures: the API, OpenAPI checks
from workflows import share_application

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
DEPT_C = "340822103"
RESOURCE = {"code": "HN-GA-001", "name": "户籍人口基本信息", "classification": "base", "category": "人口",
            "summary": "户籍人口（演示）", "format": "database",
            "data_items": [{"name": "公民身份号码", "type": "字符", "description": ""},
                           {"name": "姓名", "type": "字符", "description": ""}],
            "update_frequency": "daily", "share_type": "unconditional", "status": "active", "open_type": "open",
            "share_method": "interface", "usage_requirements": "不得提供给第三方", "materials": ["共享申请表"]}
REASON, BASIS = "将户籍数据提供给第三方公司", "《怀宁县政务数据资源管理暂行办法》第十四条第二款"


@pytest.fixture
def county(engine, clock):
    """The e2e county plus consumer clerks of 县市场监督管理局 (B), a third department (C), the share
    application procedure, a published resource of 县公安局 (A) and three grants A → B."""
    engine.procedures["share_application"] = Procedure.from_module("share_application", share_application)
    engine.deploy((BPMN / "share_application.bpmn").read_bytes())
    now = clock.now()
    with engine.uow() as uow:
        s = uow.session
        third = org.create_department(s, DEPT_C, "县民政局", "county_department")
        b = org.department_by_code(s, DEPT_B)
        org.create_person(s, "consumer.b", "赵使用", b, {"consumer_clerk"}, PASSWORD, now)
        org.create_person(s, "consumer.b2", "孙使用", b, {"consumer_clerk"}, PASSWORD, now)
        org.create_person(s, "clerk.c", "周其他", third, {"provider_clerk", "consumer_clerk"}, PASSWORD, now)
        draft = catalog.open_draft(uow, DEPT_A, "seed", now)
        catalog.upsert_entry(uow, draft.id, RESOURCE, "seed", now)
        catalog.publish_draft(uow, draft.id, "seed", now, basis="测试目录")
        uow.commit()
    grants = {}
    with engine.uow() as uow:
        for name, until in (("active", date(2026, 6, 30)), ("second", date(2026, 12, 31)),
                            ("lapsed", date(2026, 2, 28))):
            grants[name] = records.create_grant(
                uow, consumer_dept_code=DEPT_B, resource_code="HN-GA-001", provider_dept_code=DEPT_A,
                data_items=["公民身份号码", "姓名"], scenario="市场主体登记时核验经营者身份",
                valid_from=date(2026, 1, 1), valid_until=until, basis="共享协议", actor=actor("clerk.a"), now=now).id
        uow.commit()
    return grants


def text(response) -> str:
    return response.get_data(as_text=True)


def revoke_form(page: str) -> bool:
    return 'data-test="revoke"' in page


# -- pages ------------------------------------------------------------------------------------------

def test_the_provider_revokes_on_the_grant_page_and_the_consumer_sees_why(as_person, county, engine, clock):
    provider = as_person("clerk.a")
    page = text(provider.get(f"/grants/{county['active']}"))
    assert "撤销授权" in page and revoke_form(page) and "有效" in page and "申请续期" not in page

    unconfirmed = provider.post(f"/grants/{county['active']}/revoke", {"reason": REASON, "basis": BASIS})
    assert unconfirmed.status_code == 422 and "请勾选以确认撤销" in text(unconfirmed)
    assert REASON in text(unconfirmed)  # kept to correct
    blank = provider.post(f"/grants/{county['active']}/revoke", {"reason": REASON, "basis": " ", "confirm": "yes"})
    assert blank.status_code == 422 and "撤销依据" in text(blank) and 'aria-describedby="e-basis"' in text(blank)

    clock.advance(hours=2)
    done = provider.post(f"/grants/{county['active']}/revoke", {"reason": REASON, "basis": BASIS, "confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/grants/{county['active']}")
    after = text(provider.get(done.headers["Location"]))
    assert f"授权 #{county['active']} 已撤销，已通知使用部门。" in after and not revoke_form(after)
    assert "已撤销" in after and "王建国" in after and REASON in after and BASIS in after
    assert "2026-03-02 11:00" in after

    consumer = as_person("consumer.b")
    seen = text(consumer.get(f"/grants/{county['active']}"))
    assert "已撤销" in seen and "撤销人" in seen and "王建国" in seen and REASON in seen and BASIS in seen
    assert not revoke_form(seen) and 'data-test="renew"' not in seen  # a revoked grant is not renewed
    bell = text(consumer.get("/notifications/"))
    assert "撤销授权" in bell and f"授权 #{county['active']} HN-GA-001（县公安局）已撤销：{REASON}" in bell
    assert 'href="/grants/"' in bell  # no case: the list of grants
    assert "撤销授权" in text(as_person("consumer.b2").get("/notifications/"))

    again = provider.post(f"/grants/{county['active']}/revoke", {"reason": "再次", "basis": BASIS, "confirm": "yes"})
    assert again.status_code == 302 and "已于" in text(provider.get(again.headers["Location"]))
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "grant_revoked")) == 1


def test_the_authority_sees_every_grant_and_revokes(as_person, county):
    authority = as_person("supervisor")
    listing = text(authority.get("/grants/"))
    assert "全县授权" in listing and listing.count('href="/grants/') >= 3 and "县市场监督管理局" in listing
    page = text(authority.get(f"/grants/{county['second']}"))
    assert revoke_form(page)
    done = authority.post(f"/grants/{county['second']}/revoke", {"reason": REASON, "basis": BASIS, "confirm": "yes"})
    assert done.status_code == 302
    assert "钱立新" in text(authority.get(f"/grants/{county['second']}"))
    assert not revoke_form(text(authority.get(f"/grants/{county['lapsed']}")))  # expired: nothing to revoke


def test_the_consumer_and_others_may_not_revoke(as_person, county, engine):
    consumer = as_person("consumer.b")
    page = text(consumer.get(f"/grants/{county['active']}"))
    assert not revoke_form(page) and 'data-test="renew"' in page
    assert consumer.post(f"/grants/{county['active']}/revoke", {
        "reason": REASON, "basis": BASIS, "confirm": "yes"}).status_code == 403
    other = as_person("clerk.c")
    assert other.get(f"/grants/{county['active']}").status_code == 403
    assert other.post(f"/grants/{county['active']}/revoke", {
        "reason": REASON, "basis": BASIS, "confirm": "yes"}).status_code == 403
    head = as_person("head.a")  # the provider's 数长 may
    assert revoke_form(text(head.get(f"/grants/{county['active']}")))
    assert as_person("clerk.a").client.post(f"/grants/{county['active']}/revoke", data={
        "reason": REASON, "basis": BASIS, "confirm": "yes"}).status_code == 400  # no CSRF token
    with engine.uow() as uow:
        assert uow.session.get(records.Grant, county["active"]).status == "active"


def test_the_grant_lists_of_each_side(as_person, county):
    consumer = as_person("consumer.b")
    held = text(consumer.get("/grants/"))
    assert "本部门获得的授权" in held and all(f"#{county[n]}" in held for n in ("active", "second", "lapsed"))
    assert "已到期" in held  # an active grant past its last day shows as expired
    active_only = text(consumer.get("/grants/?status=active"))
    assert f">#{county['active']}<" in active_only and f">#{county['lapsed']}<" not in active_only
    assert 'class="empty"' in text(consumer.get("/grants/?side=provider"))  # it gave none
    assert consumer.get("/grants/?side=all").status_code == 404  # the authority's list only
    given = text(as_person("clerk.a").get("/grants/?side=provider"))
    assert all(f">#{county[n]}<" in given for n in ("active", "second", "lapsed"))
    nav = text(consumer.get("/tasks"))
    assert 'href="/grants/"' in nav


def test_the_grant_page_in_english(as_person, county):
    provider = as_person("clerk.a")
    provider.post(f"/grants/{county['active']}/revoke", {"reason": REASON, "basis": BASIS, "confirm": "yes"})
    page = text(provider.get(f"/grants/{county['active']}?lang=en"))
    assert "Revoked by" in page and "Basis of revocation" in page and "撤销人" not in page
    other = text(provider.get(f"/grants/{county['second']}?lang=en"))
    assert "Revoke the grant" in other and "Tick" not in other


def test_the_expiry_notice_reaches_the_consumer_with_a_link_to_renew(as_person, county, engine, clock):
    clock.set(datetime(2026, 6, 15, 8, 0, tzinfo=BEIJING))  # 10 working days before 2026-06-30
    assert grant_service.send_expiry_notices(engine) == [county["active"]]
    assert grant_service.send_expiry_notices(engine) == []
    consumer = as_person("consumer.b")
    bell = text(consumer.get("/notifications/"))
    assert "授权即将到期" in bell and "2026-06-30 到期，可申请续期" in bell
    page = text(consumer.get(f"/grants/{county['active']}"))
    assert "已于 2026-06-15 08:00 发出" in page and 'data-test="renew"' in page
    assert f'href="/start/share_application?renew={county["active"]}"' in page


def test_renewal_from_a_prefilled_start_form(as_person, county, engine, clock):
    consumer = as_person("consumer.b")
    url = f"/start/share_application?renew={county['active']}"
    form = consumer.get(url)
    page = text(form)
    assert form.status_code == 200 and 'data-test="renewal"' in page and f"续期授权 #{county['active']}" in page
    assert 'value="2026-07-01"' in page and 'value="2026-12-28"' in page  # 181 days, as 01-01..06-30
    assert "市场主体登记时核验经营者身份" in page and "公民身份号码\n姓名" in page and "共享申请表" in page
    assert 'option value="HN-GA-001" selected' in page

    started = consumer.post(url, {"resource": "HN-GA-001", "scenario": "市场主体登记时核验经营者身份",
                                  "data_items": "公民身份号码\n姓名", "period_from": "2026-07-01",
                                  "period_until": "2026-12-28", "materials": "共享申请表"})
    assert started.status_code == 302 and "/cases/" in started.headers["Location"]
    case_id = int(re.search(r"/cases/(\d+)", started.headers["Location"]).group(1))
    assert engine.case_data(case_id)["renews_grant_id"] == county["active"]
    history = text(consumer.get(started.headers["Location"]))
    assert "申请授权续期" in history

    bad = consumer.post(url, {"resource": "HN-GA-001", "scenario": "", "data_items": "公民身份号码",
                              "period_from": "2026-07-01", "period_until": "2026-12-28", "materials": "共享申请表"})
    assert bad.status_code == 422 and 'data-test="renewal"' in text(bad)

    assert as_person("clerk.a").get(url).status_code == 403      # the provider
    assert as_person("clerk.c").get(url).status_code == 403      # another department's consumer clerk
    assert consumer.get("/start/share_application?renew=abc").status_code == 404
    assert consumer.get("/start/share_application?renew=999999").status_code == 404
    plain = text(consumer.get("/start/share_application"))
    assert 'data-test="renewal"' not in plain and 'value="2026-07-01"' not in plain


# -- the API ------------------------------------------------------------------------------------------

def test_revoking_through_the_api(api, county, engine, clock):
    provider, consumer, authority = api("clerk.a"), api("consumer.b"), api("supervisor")
    before = consumer.get(f"/api/v1/grants/{county['active']}").get_json()
    assert before["status"] == "active" and before["revoked_by"] is None and before["revocation_basis"] is None
    assert before["expiry_notice_at"] is None and before["renewable"] is True and before["revocable"] is False

    refused(consumer.post(f"/api/v1/grants/{county['active']}/revoke", {"reason": REASON, "basis": BASIS}),
            403, "forbidden")
    refused(api("clerk.c").post(f"/api/v1/grants/{county['active']}/revoke", {"reason": REASON, "basis": BASIS}),
            403, "forbidden")
    missing = refused(provider.post(f"/api/v1/grants/{county['active']}/revoke", {"reason": REASON}),
                      422, "invalid_request")
    assert set(missing["errors"]) == {"basis"}
    blank = refused(provider.post(f"/api/v1/grants/{county['active']}/revoke", {"reason": REASON, "basis": "  "}),
                    422, "invalid_form")
    assert set(blank["errors"]) == {"basis"}

    answer = provider.post(f"/api/v1/grants/{county['active']}/revoke", {"reason": REASON, "basis": BASIS})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert (body["status"], body["revoked_by"], body["revocation_reason"], body["revocation_basis"]) == (
        "revoked", "clerk.a", REASON, BASIS)
    assert body["revoked_at"].startswith("2026-03-02T01:00") and body["in_force"] is False
    seen = consumer.get(f"/api/v1/grants/{county['active']}").get_json()
    assert seen["status"] == "revoked" and seen["revocation_basis"] == BASIS and seen["renewable"] is False
    revoked = consumer.get("/api/v1/grants?status=revoked").get_json()
    assert [g["id"] for g in revoked["items"]] == [county["active"]]

    refused(authority.post(f"/api/v1/grants/{county['active']}/revoke", {"reason": "x", "basis": "y"}),
            409, "already_done")
    refused(authority.post(f"/api/v1/grants/{county['lapsed']}/revoke", {"reason": "x", "basis": "y"}),
            409, "conflict")
    refused(authority.post("/api/v1/grants/999999/revoke", {"reason": "x", "basis": "y"}), 404, "not_found")
    ok = authority.post(f"/api/v1/grants/{county['second']}/revoke", {"reason": REASON, "basis": BASIS})
    assert ok.status_code == 200 and ok.get_json()["revoked_by"] == "supervisor"


def test_the_api_shows_the_expiry_notice(api, county, engine, clock):
    clock.set(datetime(2026, 6, 15, 8, 0, tzinfo=BEIJING))
    grant_service.send_expiry_notices(engine)
    seen = api("consumer.b").get(f"/api/v1/grants/{county['active']}").get_json()
    assert seen["expiry_notice_at"].startswith("2026-06-15T00:00")
    assert api("clerk.a").get(f"/api/v1/grants/{county['active']}").get_json()["revocable"] is True
