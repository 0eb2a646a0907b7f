"""Read models of the supervision pages (督办), for the data authority only: the dashboard
(``engine.supervision``), one open task as the authority sees it, one supervision item. Each is one
unit of work returning plain values."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

import sqlalchemy as sa

from .. import supervision
from ..domain import urges
from ..domain.case_records import DepartmentRef, copy_into, department_ref
from ..domain.org import Department
from ..errors import NotFound
from ..models import Case, HumanTask
from ..service import transfer_pool
from ..uow import Actor
from .cases import CaseRow, TaskRow, display_names, procedure_name
from ..messages import msg

NO_ITEM = msg("supervision.not_found", "no such supervision item")


@dataclass(frozen=True)
class PeriodRow:
    id: int
    name: str
    seq: int
    party: str
    department: str | None
    article: str
    due_at: datetime
    due_date: date
    provisional: bool
    state: str
    reminded_at: datetime | None
    overdue_at: datetime | None


@dataclass(frozen=True)
class ViolationRef:
    id: int
    case_id: int | None  # the rectification case


@dataclass(frozen=True)
class ItemRow:
    """A supervision item (the ``SupervisionItem`` attributes the pages read)."""

    id: int
    case_id: int
    human_task_id: str
    department: DepartmentRef
    note: str
    created_at: datetime
    status: str
    possible_violation_item: int
    confirmed: bool
    violation: ViolationRef | None
    resolution: str | None


@dataclass(frozen=True)
class UrgeRow:
    urged_by: str
    urged_at: datetime
    note: str
    notified: int  # how many people the urge reached


@dataclass(frozen=True)
class SupervisedTask:
    task: TaskRow
    case: CaseRow
    department: str | None  # the name of the task's department
    history: tuple[UrgeRow, ...]  # newest first
    names: dict[str, str]  # login -> display name of the holder and the urgers
    candidates: tuple[tuple[str, str], ...]  # (login, name) the open task may be reassigned to


def dashboard(engine, actor: Actor, filters: supervision.Filters) -> supervision.Dashboard:
    """Overdue and due-soon open tasks by department and procedure, the open 督办 items, the
    authority's own steps (see ``engine.supervision.dashboard``)."""
    supervision.require_supervisor(actor)
    with engine.uow() as uow:
        s = uow.session
        board = supervision.dashboard(s, engine.clock.now(), engine.calendar(s), filters, engine.procedures)
        groups = [supervision.DepartmentGroup(g.code, g.name, g.counts,
                                              [replace(w, task=TaskRow.of(w.task)) for w in g.tasks])
                  for g in board.groups]
        own = [replace(step, tasks=tuple(TaskRow.of(t) for t in step.tasks),
                       period=copy_into(PeriodRow, step.period) if step.period is not None else None)
               for step in board.authority]
        return replace(board, groups=groups, items=[_plain_item(v) for v in board.items], authority=own)


def supervised_task(engine, actor: Actor, task_id: str) -> SupervisedTask:
    """One task as the authority sees it: holder, deadline, urges so far, whom it may go to."""
    supervision.require_supervisor(actor)
    with engine.uow() as uow:
        s = uow.session
        row = s.get(HumanTask, str(task_id))
        if row is None:
            raise NotFound(msg("task.not_found", "no such task"))
        case = s.get(Case, row.case_id)
        department = s.scalar(sa.select(Department.name).where(Department.code == row.department))
        history = tuple(copy_into(UrgeRow, u) for u in urges.history(s, row.id))
        names = display_names(s, {u.urged_by for u in history} | {row.assignee or ""})
        candidates = tuple((p.login, p.display_name) for p in transfer_pool(s, row)
                           if p.login != row.assignee) if row.state == "ready" else ()
        return SupervisedTask(TaskRow.of(row), CaseRow.of(case, procedure_name(s, case.definition_id)), department,
                              history, names, candidates)


def item(engine, actor: Actor, item_id: int) -> supervision.ItemView:
    """One 督办 with its case and overdue task, and the authority's own tasks deciding it."""
    supervision.require_supervisor(actor)
    with engine.uow() as uow:
        view = supervision.item_view(uow.session, item_id)
        if view is None:
            raise NotFound(NO_ITEM)
        return _plain_item(view)


def _plain_item(view: supervision.ItemView) -> supervision.ItemView:
    it = view.item
    violation = ViolationRef(it.violation.id, it.violation.case_id) if it.violation is not None else None
    return replace(view, item=copy_into(ItemRow, it, department=department_ref(it.department), violation=violation))
