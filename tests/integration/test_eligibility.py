"""Who may work a task: engine.eligibility's SQL forms select exactly whom its Python form accepts,
on a table of tasks (claimed or not, by role in or out of scope, county-wide roles, candidate users,
no department) and people of several departments, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone
from itertools import count

import pytest
import sqlalchemy as sa

from engine import eligibility
from engine.domain import org
from engine.models import Case, DefinitionVersion, HumanTask

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
DEPARTMENTS = [("D1", "县公安局", "county_department"), ("D2", "县民政局", "county_department"),
               ("AUTH", "县数据资源管理局", "authority"), ("GOV", "县人民政府", "county_government")]
PEOPLE = [("c1", "D1", {"provider_clerk"}), ("h1", "D1", {"dept_head"}), ("c2", "D2", {"provider_clerk"}),
          ("both", "D2", {"provider_clerk", "consumer_clerk"}), ("sup", "AUTH", {"authority"}),
          ("gov", "GOV", {"county_gov"}), ("gone", "D1", {"provider_clerk"}), ("root", "AUTH", {"admin"}),
          ("nobody", "D1", set())]
TASKS = [  # (label, groups, users, department, assignee)
    ("D1 clerks", ["provider_clerk"], [], "D1", None),
    ("D2 clerks", ["provider_clerk"], [], "D2", None),
    ("any clerk, no department", ["provider_clerk"], [], None, None),
    ("the authority, with a department", ["authority"], [], "D1", None),
    ("the authority", ["authority"], [], None, None),
    ("county government, with a department", ["county_gov"], [], "D2", None),
    ("claimed by c1", ["provider_clerk"], [], "D1", "c1"),
    ("named user c2", [], ["c2"], "D1", None),
    ("role or named user", ["dept_head"], ["c2"], "D1", None),
    ("two roles", ["dept_head", "consumer_clerk"], [], "D2", None),
    ("names nobody (an old analyst's diagram): the administrators'", [], [], "D1", None),
    ("names nobody, no department", [], [], None, None),
]


@pytest.fixture
def world(engine):
    ids = count(1)
    with engine.uow() as uow:
        s = uow.session
        departments = {code: org.create_department(s, code, name, kind) for code, name, kind in DEPARTMENTS}
        people = {}
        for login, dept, roles in PEOPLE:
            people[login] = org.create_person(s, login, login, departments[dept], roles, "pw-eligibility-1", NOW)
        people["gone"].active = False
        definition = s.scalars(sa.select(DefinitionVersion)).first()
        case = Case(process_id=definition.process_id, definition_id=definition.id, status="running", title="t",
                    started_by="c1", started_at=NOW, updated_at=NOW, serializer_version=1, state="{}")
        s.add(case)
        s.flush()
        tasks = {}
        for label, groups, users, department, assignee in TASKS:
            row = HumanTask(id=f"00000000-0000-0000-0000-{next(ids):012d}", case_id=case.id,
                            process_id=case.process_id, definition_id=definition.id, element_id="e", name=label,
                            role=groups[0] if groups else None, department=department, assignee=assignee,
                            state="ready", created_at=NOW)
            row.offer(groups, users)
            s.add(row)
            tasks[label] = row.id
        uow.commit()
    actors = {login: person.actor() for login, person in people.items() if person.active}
    return engine, tasks, actors


@pytest.mark.parametrize("label", [t[0] for t in TASKS])
def test_who_is_notified_and_resolved_is_whom_the_rule_accepts(world, label):
    engine, tasks, actors = world
    with engine.uow() as uow:
        task = uow.session.get(HumanTask, tasks[label])
        accepted = sorted(login for login, actor in actors.items() if eligibility.may_work(task, actor))
        assert eligibility.eligible_logins(uow.session, task) == accepted
        assert [p.login for p in eligibility.eligible_people(uow.session, task)] == accepted


@pytest.mark.parametrize("login", [p[0] for p in PEOPLE if p[0] != "gone"])
def test_the_unclaimed_inbox_holds_exactly_the_unclaimed_tasks_the_rule_gives_me(world, login):
    engine, tasks, actors = world
    actor = actors[login]
    with engine.uow() as uow:
        rows = list(uow.session.scalars(sa.select(HumanTask)))
        expected = sorted(r.name for r in rows if r.assignee is None and eligibility.may_work(r, actor))
        found = sorted(uow.session.scalars(sa.select(HumanTask.name).where(eligibility.unclaimed_offered_to(actor))))
    assert found == expected


def test_the_rule_itself_on_the_cases_that_used_to_disagree(world):
    """County-wide roles reach a task whatever department it names; other roles only their own."""
    engine, tasks, actors = world
    with engine.uow() as uow:
        def may(login, label):
            return eligibility.may_work(uow.session.get(HumanTask, tasks[label]), actors[login])
        assert may("sup", "the authority, with a department") and may("gov", "county government, with a department")
        assert may("c1", "D1 clerks") and not may("c2", "D1 clerks")
        assert may("c2", "any clerk, no department") and may("c1", "any clerk, no department")
        assert may("c1", "claimed by c1") and not may("sup", "claimed by c1")
        assert may("c2", "named user c2") and not may("c1", "named user c2")
        assert may("h1", "role or named user") and may("c2", "role or named user")
        assert may("both", "two roles") and not may("c2", "two roles")
        # a task naming nobody is the administrators', never anyone's who is logged in (issue 16)
        for label in ("names nobody (an old analyst's diagram): the administrators'", "names nobody, no department"):
            assert may("root", label)
            assert not any(may(login, label) for login in ("nobody", "c1", "sup", "gov"))
