"""管理 › 规则集: administrators list, add and activate rule-set versions (audited, with a confirmation
page that says what else changes); the public objection page reads its period from the rule set in
force; the forms that start or meet a deadline state the after-hours policy."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import rule_admin, timer_service
from engine.domain import catalog, org
from engine.models import AuditRecord
from engine.procedures import load_procedures
from tests.e2e.conftest import AUTHORITY, DEPT_A, PASSWORD, open_task, start_case
from tests.e2e.test_public_objection import RESOURCE

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
NEXT_DAY = "受理规则：下班后（17:30 以后）或非工作日提交的，按次一工作日受理。"
SAME_DAY = "受理规则：以提交当日为受理日（含下班后和非工作日），期限自次一工作日起算。"


@pytest.fixture
def me(engine, clock, as_person):
    """An administrator (no other role), logged in."""
    with engine.uow() as uow:
        org.create_person(uow.session, "admin", "系统管理员", org.department_by_code(uow.session, AUTHORITY),
                          {"admin"}, PASSWORD, clock.now())
        uow.commit()
    return as_person("admin")


def text(response) -> str:
    return response.get_data(as_text=True)


def audit_records(engine) -> list[tuple[str, str, dict]]:
    with engine.uow() as uow:
        return [(r.action, r.actor, json.loads(r.summary)) for r in uow.session.scalars(
            sa.select(AuditRecord).where(AuditRecord.action.like("rule_set_%")).order_by(AuditRecord.id))]


def states(engine) -> dict[str, bool]:
    return {v.key: v.active for v in rule_admin.versions(engine)}


# -- who may enter ----------------------------------------------------------------------------

PAGES = ["/admin/rule-sets", "/admin/rule-sets/huaining-2021", "/admin/rule-sets/new",
         "/admin/rule-sets/new?from=national-2025@1"]
POSTS = ["/admin/rule-sets/new", "/admin/rule-sets/activate", "/admin/rule-sets/deactivate"]


def test_only_administrators_see_and_change_rule_sets(me, as_person, client, engine):
    for url in PAGES:
        assert me.get(url).status_code == 200, url
    assert me.get("/admin/rule-sets/nope").status_code == 404
    assert 'href="/admin/rule-sets"' in text(me.get("/admin/"))  # the tab of the administration
    for login in ("clerk.a", "head.a", "supervisor"):
        other = as_person(login)
        for url in PAGES:
            assert other.get(url).status_code == 403, (login, url)
        for url in POSTS:
            response = other.post(url, {**form_from(engine), "key": "national-2025@1", "confirmed": "yes"})
            assert response.status_code == 403, (login, url)
    assert client.get("/admin/rule-sets").status_code in (302, 401)
    assert states(engine) == {"huaining-2021@1": True, "national-2025@1": False} and audit_records(engine) == []


def test_posts_without_the_csrf_token_are_refused(me, engine):
    for url in POSTS:
        assert me.client.post(url, data={"key": "national-2025@1", "confirmed": "yes"}).status_code == 400, url
    assert states(engine)["national-2025@1"] is False


# -- list and detail --------------------------------------------------------------------------

def test_the_list_shows_every_version_and_the_one_in_force(me):
    page = text(me.get("/admin/rule-sets"))
    assert re.search(r'id="in-force"><strong><code>huaining-2021@1</code></strong> 怀宁县政务数据资源管理暂行办法', page)
    assert "national-2025@1" in page and "政务数据共享条例" in page and "未启用" in page and "生效中" in page
    assert "2025-08-01" in page and "system:migration" in page
    detail = text(me.get("/admin/rule-sets/national-2025"))
    assert "核实并答复异议（第十八条）" in detail and "share_reply_days" in detail
    english = text(me.get("/admin/rule-sets?lang=en"))
    assert "In force today (2026-03-02)" in english and "inactive" in english and "Activate…" in english


# -- adding -----------------------------------------------------------------------------------

def test_the_new_version_form_is_filled_from_a_copy(me):
    page = text(me.get("/admin/rule-sets/new?from=national-2025@1"))
    assert 'name="from" value="national-2025@1"' in page and 'value="national-2025"' in page
    assert re.search(r'name="p.share_reply_days" type="number"[^>]*value="10"', page)
    assert re.search(r'name="p.supplement_days" type="number"[^>]*value="10"', page)
    default = text(me.get("/admin/rule-sets/new"))  # from the version in force
    assert 'name="from" value="huaining-2021@1"' in default
    assert re.search(r'name="p.share_reply_days" type="number"[^>]*value="5"', default)


def form_from(engine, key="huaining-2021@1", **changes) -> dict:
    version = rule_admin.get(engine, key)
    form = {"name": version.name, "effective_from": "2026-03-01", "title": "怀宁县政务数据期限调整",
            "document": "怀政办发〔2026〕9号", "from": key, **{f"p.{k}": str(v) for k, v in version.periods.items()}}
    form.update(changes)
    return form


def test_adding_a_version_with_bad_values_shows_every_error_and_keeps_the_values(me, engine):
    response = me.post("/admin/rule-sets/new", form_from(engine, **{
        "name": "Bad Name", "effective_from": "", "document": "", "p.review_reply_days": "0",
        "p.share_reply_days": "abc", "p.verify_days": "366"}))
    page = text(response)
    assert response.status_code == 422
    for message in ("名称只能由小写字母", "请填写生效日期", "请填写设定这些期限的文件", "应为 1–365 的整数工作日"):
        assert message in page, message
    assert page.count("应为 1–365 的整数工作日") == 3
    assert 'value="Bad Name"' in page and 'value="abc"' in page
    assert states(engine) == {"huaining-2021@1": True, "national-2025@1": False} and audit_records(engine) == []


def test_an_administrator_adds_a_version_then_activates_it(me, engine):
    response = me.post("/admin/rule-sets/new", form_from(engine, **{"p.review_reply_days": "15"}))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/rule-sets/huaining-2021"
    page = text(me.get(response.headers["Location"]))
    assert "已新增 huaining-2021@2，尚未启用" in page and "10 → 15" in page
    assert states(engine) == {"huaining-2021@1": True, "huaining-2021@2": False, "national-2025@1": False}
    [(action, actor, summary)] = audit_records(engine)
    assert (action, actor, summary["changed"], summary["document"]) == (
        "rule_set_added", "admin", {"review_reply_days": [10, 15]}, "怀政办发〔2026〕9号")

    confirm = me.post("/admin/rule-sets/activate", {"key": "huaining-2021@2"})
    page = text(confirm)
    assert confirm.status_code == 200 and "确认启用 huaining-2021@2" in page
    assert "今日（2026-03-02）生效：huaining-2021@2，原为 huaining-2021@1" in page and "将同时停用" not in page
    assert states(engine)["huaining-2021@2"] is False  # asked, not done
    done = me.post("/admin/rule-sets/activate", {"key": "huaining-2021@2", "confirmed": "yes"})
    assert done.status_code == 302
    assert "已启用 huaining-2021@2；今日生效：huaining-2021@2" in text(me.get(done.headers["Location"]))
    assert rule_admin.in_force(engine).key == "huaining-2021@2"
    assert [a for a, _, _ in audit_records(engine)] == ["rule_set_added", "rule_set_activated"]


def test_added_and_activated_in_one_step(me, engine):
    response = me.post("/admin/rule-sets/new", form_from(engine, activate="yes"))
    assert response.status_code == 302 and "已新增并启用 huaining-2021@2" in text(me.get(response.headers["Location"]))
    assert rule_admin.in_force(engine).key == "huaining-2021@2"


def test_activating_another_rule_set_says_which_versions_go_off_first(me, engine):
    page = text(me.post("/admin/rule-sets/activate", {"key": "national-2025@1"}))
    assert "此操作将同时停用正在使用的规则集的全部版本：huaining-2021@1" in page
    assert "运行中的案件仍适用其发起时的规则集" in page and 'name="confirmed" value="yes"' in page
    assert states(engine)["national-2025@1"] is False
    english = text(me.post("/admin/rule-sets/activate?lang=en", {"key": "national-2025@1"}))
    assert "This also deactivates every version of the rule set in use: huaining-2021@1" in english
    me.post("/admin/rule-sets/activate", {"key": "national-2025@1", "confirmed": "yes"})
    assert states(engine) == {"huaining-2021@1": False, "national-2025@1": True}
    action, actor, summary = audit_records(engine)[-1]
    assert (action, actor, summary["deactivated"]) == ("rule_set_activated", "admin", ["huaining-2021@1"])


def test_deactivating_the_only_active_rule_set_is_refused(me, engine):
    page = text(me.post("/admin/rule-sets/deactivate", {"key": "huaining-2021@1"}))
    assert "此操作后今天（2026-03-02）没有生效的规则集，将无法发起任何案件" in page
    assert 'name="confirmed"' not in page
    forced = me.post("/admin/rule-sets/deactivate", {"key": "huaining-2021@1", "confirmed": "yes"})
    assert "将无法发起任何案件" in text(forced)  # the refusal again, nothing done
    assert states(engine)["huaining-2021@1"] is True and audit_records(engine) == []
    unknown = me.post("/admin/rule-sets/activate", {"key": "nope@1"})
    assert unknown.status_code == 302 and "不存在" in text(me.get(unknown.headers["Location"]))


# -- what the public and clerks are told ------------------------------------------------------

@pytest.fixture
def objections(engine, clock):
    """The objection review procedure deployed, with a published resource to object to."""
    engine.procedures["data_review"] = load_procedures("workflows")["data_review"]
    engine.deploy((BPMN / "data_review.bpmn").read_bytes())
    with engine.uow() as uow:
        draft = catalog.open_draft(uow, DEPT_A, "seed", clock.now())
        catalog.upsert_entry(uow, draft.id, RESOURCE, "seed", clock.now())
        catalog.publish_draft(uow, draft.id, "seed", clock.now(), basis="测试目录")
        uow.commit()
    return engine


def test_the_public_objection_page_reads_its_period_from_the_rule_set_in_force(objections, me, app):
    visitor = app.test_client()
    assert "数据提供部门将在 10 个工作日内核实并答复（第十八条）" in text(visitor.get("/public/objection"))
    assert "answers within 10 working days (art. 18)" in text(visitor.get("/public/objection?lang=en"))
    me.post("/admin/rule-sets/new", form_from(objections, activate="yes", **{"p.review_reply_days": "7"}))
    assert rule_admin.period_in_force(objections, "review_reply_days") == 7
    page = text(app.test_client().get("/public/objection"))
    assert "数据提供部门将在 7 个工作日内核实并答复（第十八条）" in page and "10 个工作日" not in page
    assert "answers within 7 working days (art. 18)" in text(app.test_client().get("/public/objection?lang=en"))


def test_the_after_hours_policy_is_stated_on_every_form_with_a_deadline(objections, as_person, app):
    clerk = as_person("clerk.a")
    task_id = open_task(objections, start_case(objections))
    pages = {"start": "/start/review_loop", "task": f"/tasks/{task_id}", "public": "/public/objection"}

    def page(name):
        return text((app.test_client() if name == "public" else clerk).get(pages[name]))

    for name in pages:
        assert SAME_DAY in page(name), name
    timer_service.set_after_hours_policy(objections, "next_working_day", by="admin")
    for name in pages:
        body = page(name)
        assert NEXT_DAY in body and SAME_DAY not in body, name
    english = text(clerk.get("/start/review_loop?lang=en"))
    assert "Receipt rule: submissions after office hours (after 17:30) or on non-working days count as received on " \
           "the next working day." in english
