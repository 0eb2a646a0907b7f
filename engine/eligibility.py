"""Who may work a task, and who is involved in one: the one rule, in its Python and SQL forms.

A person may work an open task when:
- it is claimed by them (a claimed task is its holder's alone); or, unclaimed,
- they are named as a candidate user; or
- they hold one of its candidate roles *in scope*: the role is county-wide (the authority, the county
  government, the discipline body, the system roles: ``COUNTY_WIDE_ROLES``), or the task belongs to
  no department, or it belongs to theirs (docs/procedures.md: a role resolves to the people of the
  right department for the case).
A task with neither candidate roles nor users (an analyst's diagram that names nobody; refused at
deploy since, but older versions may have them) is offered to administrators (``UNTARGETED_ROLE``),
never to anyone who happens to be logged in.

Someone is *involved* in a task (and may read its case) when they hold or completed it, are a
candidate user, or hold one of its roles in scope — the same scope rule.

``tests/unit/test_eligibility.py`` checks on a table of tasks and people that the SQL forms
(``unclaimed_offered_to``, ``holders``) select exactly whom the Python forms (``may_work``,
``in_scope``) accept.
"""
from __future__ import annotations

import sqlalchemy as sa

from .domain.org import COUNTY_WIDE_ROLES, Department, Person, PersonRole
from .models import HumanTask, TaskCandidate
from .uow import Actor


UNTARGETED_ROLE = "admin"  # who works a task that names no role and no user


def in_scope(role: str, task_department: str | None, person_department: str | None) -> bool:
    """A role held by a person of ``person_department`` reaches a task of ``task_department``."""
    return role in COUNTY_WIDE_ROLES or task_department is None or task_department == person_department


def offered_to(task, actor: Actor) -> bool:
    """The task (claimed or not) is offered to ``actor``: by name, or by a role in scope."""
    if actor.username in task.users():
        return True
    return any(role in actor.roles and in_scope(role, task.department, actor.department) for role in task.groups())


def may_work(task, actor: Actor) -> bool:
    """The Python form of the rule (see the module docstring)."""
    if task.assignee is not None:
        return task.assignee == actor.username
    if not task.groups() and not task.users():
        return UNTARGETED_ROLE in actor.roles
    return offered_to(task, actor)


def involved(task, actor: Actor) -> bool:
    """``actor`` holds or completed the task, or it is offered to them: they may read its case."""
    return actor.username in (task.assignee, task.completed_by) or offered_to(task, actor)


# -- the SQL forms ---------------------------------------------------------------------------------

def unclaimed_offered_to(actor: Actor):
    """Open, unclaimed tasks offered to ``actor`` (the inbox's 待签收), as a WHERE clause.

    Correlated EXISTS probes (task_candidate's primary key starts with task_id) keep the cost
    proportional to the open tasks, not to the candidate rows of history.
    """
    def offered(kind: str, values):
        return sa.exists().where(TaskCandidate.task_id == HumanTask.id, TaskCandidate.kind == kind,
                                 TaskCandidate.value.in_(values))
    county_wide = sorted(actor.roles & COUNTY_WIDE_ROLES)
    scoped = sorted(actor.roles - COUNTY_WIDE_ROLES)
    in_department = sa.or_(HumanTask.department.is_(None), HumanTask.department == actor.department)
    untargeted = (~sa.exists().where(TaskCandidate.task_id == HumanTask.id) if UNTARGETED_ROLE in actor.roles
                  else sa.false())
    return sa.and_(HumanTask.state == "ready", HumanTask.assignee.is_(None),
                   sa.or_(offered("group", county_wide or [""]),
                          sa.and_(offered("group", scoped or [""]), in_department),
                          offered("user", [actor.username]), untargeted))


def holders(task):
    """The people who may work ``task`` now, as a WHERE clause over Person (joined to Department,
    outer); a task that names nobody is the administrators' (``UNTARGETED_ROLE``)."""
    if task.assignee:
        return Person.login == task.assignee
    offered = [Person.login.in_(task.users())] if task.users() else []
    for role in task.groups():
        holds = sa.exists().where(PersonRole.person_id == Person.id, PersonRole.role == role)
        if task.department is not None and role not in COUNTY_WIDE_ROLES:
            holds = sa.and_(holds, Department.code == task.department)
        offered.append(holds)
    if not offered:
        return sa.exists().where(PersonRole.person_id == Person.id, PersonRole.role == UNTARGETED_ROLE)
    return sa.or_(*offered)


def eligible_logins(session, task) -> list[str]:
    """The active people who may work ``task``, by login, in one query (who to notify)."""
    clause = holders(task)
    if clause is None:
        return []
    query = (sa.select(Person.login).join(Department, Person.department_id == Department.id, isouter=True)
             .where(Person.active.is_(True), clause).order_by(Person.login))
    return list(session.scalars(query))


def eligible_people(session, task) -> list[Person]:
    """The active people who may work ``task`` (role resolution), by login."""
    clause = holders(task)
    if clause is None:
        return []
    query = (sa.select(Person).join(Department, Person.department_id == Department.id, isouter=True)
             .where(Person.active.is_(True), clause).order_by(Person.login))
    return list(session.scalars(query))
