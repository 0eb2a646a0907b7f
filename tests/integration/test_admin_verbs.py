"""The administration's verbs and read models (engine.verbs.people/departments/calendar,
engine.views.admin): administrators only, plain values out, one unit of work each."""
from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from engine.domain import org
from engine.errors import InvalidForm, NotFound, PermissionDenied
from engine.uow import Actor
from engine.verbs import calendar, departments, people
from engine.views import admin as views

ADMIN = Actor("root", frozenset({"admin"}), "340822001")
CLERK = Actor("ga.clerk", frozenset({"provider_clerk"}), "340822101")


@pytest.fixture
def county(engine, clock):
    with engine.uow() as uow:
        auth = org.create_department(uow.session, "340822001", "县数据资源管理局", "authority")
        ga = org.create_department(uow.session, "340822101", "县公安局", "county_department")
        org.create_person(uow.session, "root", "管理员", auth, {"admin"}, "pass-word-0", clock.now())
        org.create_person(uow.session, "ga.clerk", "王建国", ga, {"provider_clerk"}, "pass-word-1", clock.now())
        uow.commit()
    return engine


@pytest.mark.parametrize("verb, args", [
    (people.add_person, ("new.one", "某人", "340822101", {"provider_clerk"}, "long-enough")),
    (people.update_person, ("ga.clerk", "王建国", "340822101", {"dept_head"}, True)),
    (people.reset_password, ("ga.clerk", "long-enough")),
    (departments.add_department, ("340822109", "县民政局", "county_department")),
    (departments.update_department, ("340822101", "县公安局", "county_department", "ga.clerk")),
    (calendar.set_override, (date(2026, 10, 12), False, "note")),
    (calendar.set_after_hours_policy, ("next_working_day",)),
    (calendar.publish_year, (2031, "国办发明电〔2030〕1号", [date(2031, 1, 1)], [])),
])
def test_only_administrators_change_people_departments_and_the_calendar(county, verb, args):
    with pytest.raises(PermissionDenied):
        verb(county, CLERK, *args)
    assert views.people_page(county, "", "", 50, 0).total == 2
    assert [d.head for d in views.departments_page(county)] == [None, None]


def test_people_verbs_return_plain_values_and_the_views_show_them(county):
    assert people.add_person(county, ADMIN, "ga.head", "张志强", "340822101", {"dept_head"}, "long-enough-1") == "ga.head"
    departments.update_department(county, ADMIN, "340822101", "县公安局", "county_department", "ga.head")
    assert people.update_person(county, ADMIN, "ga.clerk", "王建国", "340822101", {"provider_clerk"}, False) == 0
    page = views.people_page(county, "340822101", "", 50, 0)
    assert [(p.login, p.department.name, p.active) for p in page.people] == [
        ("ga.clerk", "县公安局", False), ("ga.head", "县公安局", True)]
    assert page.departments == [("340822001", "县数据资源管理局"), ("340822101", "县公安局")]
    form = views.department_form(county, "340822101")
    assert (form.head, form.members) == ("ga.head", [("ga.head", "张志强")])
    rows = {d.code: d for d in views.departments_page(county)}
    assert (rows["340822101"].head, rows["340822101"].active_people) == ("张志强", 1)
    assert views.overview(county, date(2026, 3, 2)).people == 2
    for found in (page, form, rows["340822101"], views.person_form(county, "ga.head")):
        assert dataclasses.is_dataclass(found)


def test_people_refusals(county):
    with pytest.raises(InvalidForm) as refused:
        people.add_person(county, ADMIN, "ga.clerk", "", "nowhere", set(), "short")
    assert set(refused.value.errors) == {"login", "display_name", "department", "password"}
    with pytest.raises(NotFound, match="no such person"):
        people.update_person(county, ADMIN, "nobody", "某人", "340822101", set(), True)
    with pytest.raises(NotFound, match="no such person"):
        views.person_form(county, "nobody")
    with pytest.raises(NotFound, match="no such department"):
        views.department_form(county, "000")


def test_the_calendar_views(county):
    assert calendar.set_override(county, ADMIN, date(2026, 10, 12), False, "台风停工") == 0
    page = views.calendar_page(county, date(2026, 12, 1))
    assert [(c.day, c.working, c.note, c.entered_by) for c in page.corrections] == [
        (date(2026, 10, 12), False, "台风停工", "root")]
    assert page.status.missing_year == views.calendar_status(county, date(2026, 12, 1)).missing_year
    assert {year for year, source, _ in page.coverage if source == "package"} <= set(page.package_years)
    calendar.set_after_hours_policy(county, ADMIN, "next_working_day")
    assert views.calendar_status(county, date(2026, 3, 2)).after_hours_policy == "next_working_day"
    assert views.moved_deadlines(county, ADMIN, 50, 0) == views.MovedPage([], 0)
    assert views.database_problem(county) is None
