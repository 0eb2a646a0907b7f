"""Departments, people, roles and role resolution on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.domain import org
from engine.errors import GovflowError
from engine.models import HumanTask


@pytest.fixture
def people(engine, clock):
    with engine.uow() as uow:
        s = uow.session
        d1 = org.create_department(s, "340822101", "县公安局", "county_department")
        d2 = org.create_department(s, "340822102", "县市场监督管理局", "county_department")
        auth = org.create_department(s, "340822001", "县数据资源管理局", "authority")
        org.create_person(s, "ga.clerk", "王建国", d1, {"provider_clerk", "consumer_clerk"}, "pass-word-1", clock.now())
        org.create_person(s, "ga.clerk2", "李晓梅", d1, {"provider_clerk"}, "pass-word-2", clock.now())
        org.create_person(s, "ga.head", "张志强", d1, {"dept_head"}, "pass-word-3", clock.now())
        org.create_person(s, "sj.clerk", "刘丽华", d2, {"provider_clerk"}, "pass-word-4", clock.now())
        org.create_person(s, "supervisor", "钱立新", auth, {"authority"}, "pass-word-5", clock.now())
        uow.commit()
    return engine


def test_department_head_is_the_first_dept_head(people):
    with people.uow() as uow:
        dept = org.department_by_code(uow.session, "340822101")
        head = uow.session.get(org.Person, dept.head_id)
        assert head.login == "ga.head"  # art. 5: 数长


def test_authentication_checks_the_argon2_hash(people):
    with people.uow() as uow:
        person = org.authenticate(uow.session, "ga.clerk", "pass-word-1")
        assert person is not None and person.password_hash.startswith("$argon2")
        assert "pass-word-1" not in person.password_hash
        assert person.actor().roles == frozenset({"provider_clerk", "consumer_clerk"})
        assert person.actor().department == "340822101"
        assert org.authenticate(uow.session, "ga.clerk", "wrong-password") is None
        assert org.authenticate(uow.session, "nobody", "pass-word-1") is None
        person.active = False
        uow.session.flush()
        assert org.authenticate(uow.session, "ga.clerk", "pass-word-1") is None


@pytest.mark.parametrize("login, roles, password, message", [
    ("Bad Login", {"provider_clerk"}, "long-enough", "invalid login"),
    ("ga.clerk", {"provider_clerk"}, "long-enough", "taken"),
    ("new.user", {"wizard"}, "long-enough", "unknown roles"),
    ("new.user", {"provider_clerk"}, "short", "at least 8"),
])
def test_invalid_people_are_refused(people, clock, login, roles, password, message):
    with people.uow() as uow:
        dept = org.department_by_code(uow.session, "340822101")
        with pytest.raises(GovflowError, match=message):
            org.create_person(uow.session, login, "某人", dept, roles, password, clock.now())


def test_invalid_departments_are_refused(people):
    with people.uow() as uow:
        with pytest.raises(GovflowError, match="exists"):
            org.create_department(uow.session, "340822101", "另一个名字", "county_department")
        with pytest.raises(GovflowError, match="unknown department kind"):
            org.create_department(uow.session, "340822999", "县某某局", "ministry")


def test_role_resolution_names_the_right_departments_people(people):
    from engine.uow import Actor
    case_id = people.start_case("review_loop", Actor("ga.clerk", frozenset({"provider_clerk"}), "340822101"),
                                {"department": "340822101"})
    with people.uow() as uow:
        task = uow.session.scalars(sa.select(HumanTask).where(HumanTask.case_id == case_id)).one()
    assert [login for login, _ in people.people_for_task(task.id)] == ["ga.clerk", "ga.clerk2"]
    people.claim(task.id, Actor("ga.clerk2", frozenset({"provider_clerk"}), "340822101"))
    assert [login for login, _ in people.people_for_task(task.id)] == ["ga.clerk2"]
    with people.uow() as uow:
        assert [p.login for p in org.people_for(uow.session, "authority", "340822101")] == ["supervisor"]
        assert [p.login for p in org.people_for(uow.session, "provider_clerk", "340822102")] == ["sj.clerk"]


@pytest.mark.parametrize("assignee, department, groups, users", [
    (None, "340822101", ["provider_clerk"], []),                    # a role within one department
    (None, "340822102", ["provider_clerk"], []),
    (None, None, ["provider_clerk"], []),                          # no department: the role anywhere
    (None, "340822101", ["authority"], []),                        # a county-wide role ignores it
    (None, "340822101", ["dept_head"], ["sj.clerk"]),              # candidate users besides the role
    (None, "340822101", [], ["ga.head", "nobody"]),                # unknown logins drop out
    ("ga.clerk2", "340822101", ["provider_clerk"], []),             # claimed: the assignee only
    ("nobody", "340822101", ["provider_clerk"], []),
    (None, "340822101", [], []),                                   # offered to no one
])
def test_eligible_logins_is_eligible_people_in_one_query(people, assignee, department, groups, users):
    task = HumanTask(id="t", assignee=assignee, department=department)
    task.offer(groups, users)
    with people.uow() as uow:
        expected = [p.login for p in org.eligible_people(uow.session, task)]
        assert org.eligible_logins(uow.session, task) == expected
        uow.session.get(org.Person, org.person_by_login(uow.session, "ga.clerk2").id).active = False
        uow.session.flush()
        assert "ga.clerk2" not in org.eligible_logins(uow.session, task)
        assert org.eligible_logins(uow.session, task) == [p.login for p in org.eligible_people(uow.session, task)]
