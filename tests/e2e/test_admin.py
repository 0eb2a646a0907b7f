"""管理: people, departments and the working-day calendar, for the ``admin`` role only."""
from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine.calendar import BEIJING
from engine.domain import org
from engine.domain.org import Person
from engine.models import AuditRecord, CalendarOverride, CalendarYear, Deadline, HumanTask, Setting
from tests.conftest import FIXTURES
from tests.e2e.conftest import AUTHORITY, DEPT_A, DEPT_B, PASSWORD, actor, open_task, start_case


@pytest.fixture
def admin(engine, clock):
    """An administrator of the data authority's office, with no other role."""
    with engine.uow() as uow:
        dept = org.department_by_code(uow.session, AUTHORITY)
        org.create_person(uow.session, "admin", "系统管理员", dept, {"admin"}, PASSWORD, clock.now())
        uow.commit()
    return "admin"


@pytest.fixture
def me(as_person, admin):
    return as_person(admin)


def person(engine, login) -> Person:
    with engine.uow() as uow:
        found = org.person_by_login(uow.session, login)
        uow.session.expunge(found)
        return found


def actions(engine, prefix="") -> list[tuple[str, dict]]:
    with engine.uow() as uow:
        return [(r.action, json.loads(r.summary)) for r in uow.session.scalars(
            sa.select(AuditRecord).where(AuditRecord.action.like(f"{prefix}%")).order_by(AuditRecord.id))]


def text(response) -> str:
    return response.get_data(as_text=True)


# -- who may enter ----------------------------------------------------------------------------

ADMIN_PAGES = ["/admin/", "/admin/people", "/admin/people/new", "/admin/people/clerk.a", "/admin/departments",
               "/admin/departments/new", f"/admin/departments/{DEPT_A}", "/admin/calendar", "/admin/calendar/moved"]
ADMIN_POSTS = ["/admin/people/new", "/admin/people/clerk.a", "/admin/people/clerk.a/password",
               "/admin/departments/new", f"/admin/departments/{DEPT_A}", "/admin/calendar/publish",
               "/admin/calendar/override", "/admin/calendar/policy"]


def test_only_administrators_see_and_use_the_administration(as_person, me, engine):
    for url in ADMIN_PAGES:
        assert me.get(url).status_code == 200, url
    assert 'href="/admin/"' in text(me.get("/tasks"))  # the 管理 link in the header
    for login in ("clerk.a", "head.a", "supervisor"):
        other = as_person(login)
        assert 'href="/admin/"' not in text(other.get("/tasks"))
        for url in ADMIN_PAGES:
            assert other.get(url).status_code == 403, (login, url)
        for url in ADMIN_POSTS:
            assert other.post(url, {"display_name": "x", "department": DEPT_A, "roles": "admin",
                                    "password": "new-password-1", "policy": "next_working_day"}).status_code == 403
    assert person(engine, "clerk.a").roles == {"provider_clerk"}
    assert actions(engine, "person_") == [] and actions(engine, "setting_") == []


def test_posts_without_the_csrf_token_are_refused(me, engine):
    for url in ADMIN_POSTS:
        assert me.client.post(url, data={"display_name": "x", "department": DEPT_A}).status_code == 400, url
    assert actions(engine, "person_") == []


# -- people ----------------------------------------------------------------------------------

def test_the_people_list_filters_by_department_and_search(me):
    page = text(me.get("/admin/people"))
    assert "clerk.a" in page and "supervisor" in page and "数据提供部门经办人" in page
    page = text(me.get(f"/admin/people?department={DEPT_B}"))
    assert "clerk.b" in page and "clerk.a" not in page
    page = text(me.get("/admin/people?q=李晓"))
    assert "clerk.a2" in page and "head.a" not in page


def test_an_administrator_creates_a_person_who_can_log_in(me, engine, browser):
    response = me.post("/admin/people/new", {"login": "clerk.c", "display_name": "赵敏", "department": DEPT_B,
                                             "roles": ["provider_clerk", "consumer_clerk"], "password": "first-pass-1"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/people/clerk.c"
    created = person(engine, "clerk.c")
    assert (created.display_name, created.roles, created.active) == ("赵敏", {"provider_clerk", "consumer_clerk"}, True)
    [(action, summary)] = actions(engine, "person_")
    assert action == "person_created" and summary == {"login": "clerk.c", "department": DEPT_B,
                                                      "roles": ["consumer_clerk", "provider_clerk"]}
    assert "first-pass-1" not in json.dumps(actions(engine))
    assert browser.login("clerk.c", "first-pass-1").status_code == 302


def test_creating_a_person_with_bad_input_shows_every_error_and_keeps_the_values(me, engine):
    response = me.post("/admin/people/new", {"login": "Bad Login", "display_name": "赵敏", "department": "",
                                             "roles": ["provider_clerk", "wizard"], "password": "short"})
    page = text(response)
    assert response.status_code == 422
    for message in ("登录名须以小写字母开头", "请选择部门", "未知角色", "密码至少 8 位"):
        assert message in page, message
    assert 'value="Bad Login"' in page and 'value="赵敏"' in page
    assert 'value="provider_clerk" checked' in page
    taken = me.post("/admin/people/new", {"login": "clerk.a", "display_name": "x", "department": DEPT_A,
                                          "password": "long-enough-1"})
    assert taken.status_code == 422 and "已被使用" in text(taken)
    assert actions(engine, "person_") == []


def test_an_administrator_edits_roles_and_department_and_claimed_tasks_are_released(me, engine):
    task_id = open_task(engine, start_case(engine))
    engine.claim(task_id, actor("clerk.a2"))
    response = me.post("/admin/people/clerk.a2", {"display_name": "李晓梅", "department": DEPT_B,
                                                  "roles": ["provider_clerk"], "active": "true"})
    assert response.status_code == 302
    page = text(me.get(response.headers["Location"]))
    assert "已保存" in page and "1 个已签收的任务已退回共享待签收" in page
    changed = person(engine, "clerk.a2")
    assert changed.department.code == DEPT_B
    with engine.uow() as uow:
        assert uow.session.get(HumanTask, task_id).assignee is None
    action, summary = actions(engine, "person_")[-1]
    assert action == "person_updated" and summary["changes"] == {"department": [DEPT_A, DEPT_B]}
    assert summary["released_tasks"] == 1


def test_deactivating_logs_the_person_out_and_keeps_them_from_logging_in(me, as_person, browser):
    clerk = as_person("clerk.b")
    assert me.post("/admin/people/clerk.b", {"display_name": "刘丽华", "department": DEPT_B,
                                             "roles": ["provider_clerk"]}).status_code == 302
    assert clerk.get("/tasks").status_code == 302  # the next request: logged out
    assert browser.login("clerk.b").status_code == 200  # the log-in form again: refused


def test_an_administrator_cannot_lock_themselves_or_everyone_out(me, engine):
    response = me.post("/admin/people/admin", {"display_name": "系统管理员", "department": AUTHORITY,
                                               "roles": ["admin"]})  # "active" unticked
    assert response.status_code == 422 and "不能停用自己" in text(response)
    response = me.post("/admin/people/admin", {"display_name": "系统管理员", "department": AUTHORITY,
                                               "roles": ["authority"], "active": "true"})
    assert response.status_code == 422
    assert person(engine, "admin").roles == {"admin"} and person(engine, "admin").active


def test_the_last_active_administrator_stays(engine, clock):
    with engine.uow() as uow:
        dept = org.department_by_code(uow.session, AUTHORITY)
        org.create_person(uow.session, "admin1", "管理员一", dept, {"admin"}, PASSWORD, clock.now())
        org.create_person(uow.session, "admin2", "管理员二", dept, {"admin"}, PASSWORD, clock.now())
        uow.commit()
    with engine.uow() as uow:
        org.update_person(uow, "admin2", "管理员二", AUTHORITY, {"admin"}, False, "admin1", clock.now())
        uow.commit()
    with engine.uow() as uow, pytest.raises(org.InvalidForm) as exc:
        org.update_person(uow, "admin1", "管理员一", AUTHORITY, set(), True, "someone", clock.now())
    assert "at least one active administrator" in exc.value.errors["roles"]


def test_resetting_a_password(me, engine, browser):
    response = me.post("/admin/people/clerk.b/password", {"password": "brand-new-pass"})
    assert response.status_code == 302 and "密码已重置" in text(me.get(response.headers["Location"]))
    assert actions(engine, "password_") == [("password_reset", {"login": "clerk.b"})]
    assert browser.login("clerk.b", "brand-new-pass").status_code == 302
    short = me.post("/admin/people/clerk.b/password", {"password": "short"})
    assert "密码至少 8 位" in text(me.get(short.headers["Location"]))
    assert me.post("/admin/people/nobody/password", {"password": "long-enough-1"}).status_code == 404


# -- departments -----------------------------------------------------------------------------

def test_departments_list_create_and_edit(me, engine):
    page = text(me.get("/admin/departments"))
    assert "县公安局" in page and "县直部门" in page
    response = me.post("/admin/departments/new", {"code": "340822103", "name": "县民政局", "kind": "county_department"})
    assert response.status_code == 302 and "县民政局" in text(me.get("/admin/departments"))
    response = me.post(f"/admin/departments/{DEPT_A}", {"name": "怀宁县公安局", "kind": "county_department",
                                                        "head": "head.a"})
    assert response.status_code == 302
    with engine.uow() as uow:
        dept = org.department_by_code(uow.session, DEPT_A)
        assert (dept.name, dept.head_id) == ("怀宁县公安局", org.person_by_login(uow.session, "head.a").id)
    assert [a for a, _ in actions(engine, "department_")] == ["department_created", "department_updated"]
    assert actions(engine, "department_")[-1][1]["changes"]["name"] == ["县公安局", "怀宁县公安局"]


def test_department_errors_keep_the_values(me, engine):
    response = me.post("/admin/departments/new", {"code": "bad code!", "name": "县公安局", "kind": "planet"})
    page = text(response)
    assert response.status_code == 422
    assert "部门代码为 1–40 位" in page and "已存在" in page and "未知的部门类型" in page
    assert 'value="bad code!"' in page
    response = me.post(f"/admin/departments/{DEPT_A}", {"name": "县公安局", "kind": "county_department",
                                                        "head": "clerk.b"})  # of another department
    assert response.status_code == 422 and "数长须为本部门在职人员" in text(response)
    assert me.get("/admin/departments/nowhere").status_code == 404
    assert actions(engine, "department_") == []


# -- the working-day calendar ---------------------------------------------------------------

def at(clock, *args) -> None:
    clock.set(datetime(*args, tzinfo=BEIJING))


def test_from_december_administrators_are_warned_on_every_page(me, as_person, clock):
    assert "尚未发布" not in text(me.get("/tasks"))
    at(clock, 2026, 12, 1, 9, 0)
    for url in ("/tasks", "/admin/", "/notifications/"):
        assert "2027 年节假日安排尚未发布" in text(me.get(url)), url
    assert "尚未发布" not in text(as_person("supervisor").get("/tasks"))
    page = text(me.get("/admin/calendar"))
    assert "2004–2026" in page and "未发布：相关期限为暂定" in page


def test_publishing_a_year_moves_provisional_deadlines(me, engine, clock, as_person):
    engine.deploy((FIXTURES / "deadline_review.bpmn").read_bytes())
    at(clock, 2026, 12, 24, 10, 0)
    case_id = engine.start_case("deadline_review", actor("clerk.a"))
    with engine.uow() as uow:
        provisional = {d.element_id: d.provisional for d in uow.session.scalars(
            sa.select(Deadline).where(Deadline.case_id == case_id))}
        number = uow.session.scalar(sa.select(HumanTask.case_id).where(HumanTask.case_id == case_id))
    assert provisional == {"reminder": True, "overdue": True} and number == case_id

    response = me.post("/admin/calendar/publish", {
        "year": "2027", "document": "国办发明电〔2026〕7号",
        "holidays": "2027-01-01\n2027-02-06..2027-02-12  # 春节\n\n2027-10-01..2027-10-07",
        "workdays": "2027-02-14\n2027-10-09"})
    assert response.status_code == 302
    page = text(me.get(response.headers["Location"]))
    assert "2027 年已发布（国办发明电〔2026〕7号）：放假 15 天，调休上班 2 天；已重新计算 2 个运行中的期限。" in page
    with engine.uow() as uow:
        year = uow.session.get(CalendarYear, 2027)
        assert (year.document, year.entered_by) == ("国办发明电〔2026〕7号", "admin")
        assert uow.session.get(CalendarOverride, date(2027, 2, 8)).working is False
        assert not any(d.provisional for d in uow.session.scalars(sa.select(Deadline).where(Deadline.case_id == case_id)))
    assert "国办发明电〔2026〕7号" in text(me.get("/admin/calendar"))

    moved = text(me.get("/admin/calendar/moved"))
    assert moved.count("<tr>") == 3  # the header and the two timers of the case
    assert "202600" in moved and f'href="/cases/{case_id}"' not in moved  # no case reader: no link
    with engine.uow() as uow:
        org.update_person(uow, "admin", "系统管理员", AUTHORITY, {"admin", "authority"}, True, "admin", clock.now())
        uow.commit()
    me = as_person("admin")  # a change of roles ends the person's sessions: log in again
    assert f'href="/cases/{case_id}"' in text(me.get("/admin/calendar/moved"))


def test_publishing_reports_each_bad_line_and_keeps_what_was_typed(me, engine):
    response = me.post("/admin/calendar/publish", {
        "year": "2027", "document": "",
        "holidays": "2027-01-01\n2027-13-01\n2026-12-31\n2027-02-12..2027-02-06\n2027-03-01..2027-05-01",
        "workdays": "2027-02-08\n2027-01-01"})
    page = text(response)
    assert response.status_code == 422
    for message in ("请填写通知文号", "第 2 行：“2027-13-01”不是日期", "第 3 行：2026-12-31 不在 2027 年内",
                    "第 4 行：日期范围的结束日早于开始日", "第 5 行：一个日期范围最多 31 天",
                    "第 1 行：2027-02-08 是工作日（周一至周五）"):
        assert message in page, message
    assert "2027-13-01" in page and 'value="2027"' in page
    both = me.post("/admin/calendar/publish", {"year": "2027", "document": "N", "holidays": "2027-01-02",
                                               "workdays": "2027-01-02"})
    assert both.status_code == 422 and "2027-01-02 同时被列为放假日和上班日" in text(both)
    package = me.post("/admin/calendar/publish", {"year": "2026", "document": "N", "holidays": "2026-01-01"})
    assert package.status_code == 422 and "节假日数据包已覆盖 2026 年" in text(package)
    far = me.post("/admin/calendar/publish", {"year": "2999", "document": "N", "holidays": "2999-01-01"})
    assert far.status_code == 422 and "请输入 2025 至 2031 之间的年份" in text(far)
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(CalendarYear)) == 0


def test_a_single_date_correction(me, engine):
    response = me.post("/admin/calendar/override", {"day": "2026-10-12", "kind": "rest", "note": "台风停工"})
    assert response.status_code == 302
    assert "2026-10-12 已设为休息日" in text(me.get(response.headers["Location"]))
    with engine.uow() as uow:
        row = uow.session.get(CalendarOverride, date(2026, 10, 12))
        assert (row.working, row.note, row.entered_by) == (False, "台风停工", "admin")
    assert "台风停工" in text(me.get("/admin/calendar"))
    bad = me.post("/admin/calendar/override", {"day": "9999-01-01", "kind": "sometimes", "note": ""})
    page = text(bad)
    assert bad.status_code == 422
    assert "请输入 2025 至 2031 年之间的日期" in page and "请选择工作日或休息日" in page and "请填写原因" in page


def test_the_after_hours_policy(me, engine):
    response = me.post("/admin/calendar/policy", {"policy": "next_working_day"})
    assert response.status_code == 302 and "受理规则已保存" in text(me.get(response.headers["Location"]))
    with engine.uow() as uow:
        assert uow.session.get(Setting, "after_hours_policy").value == "next_working_day"
    response = me.post("/admin/calendar/policy", {"policy": "whenever"})
    assert "未知的受理规则" in text(me.get(response.headers["Location"]))
    page = text(me.get("/admin/calendar"))
    assert re.search(r'value="next_working_day" checked', page)


def test_a_weak_or_common_password_is_refused_with_the_reason(me, engine):
    weak = me.post("/admin/people/new", {"login": "clerk.d", "display_name": "孙丽", "department": DEPT_B,
                                         "roles": ["provider_clerk"], "password": "aaaaaaaa"})
    assert weak.status_code == 422 and "密码太容易被猜到" in text(weak) and not actions(engine, "person_")
    common = me.post("/admin/people/clerk.b/password", {"password": "woaini1314"})
    assert "这是最常见的密码之一" in text(me.get(common.headers["Location"]))
    assert actions(engine, "password_") == []
