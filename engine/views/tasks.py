"""Read models of tasks: the inbox, a task as the API shows it, the form a submission is parsed
with, and the task page. Each is one unit of work that loads the case's state at most once.

An open task is for whoever may work it (``engine.service.may_work``), a closed one for whoever may
see its case; the task page shows the case file too, so it asks both of an open task."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa

from .. import inbox, returns
from ..case_diagram import element_forms
from ..definitions import list_latest
from ..domain import urges
from ..errors import GovflowError, NotFound, PermissionDenied
from ..forms import FormField
from ..models import AuditRecord, Case, DefinitionVersion, HumanTask
from ..procedures import ScriptContext
from ..runner import task_or_none
from ..service import TaskView, may_see_case, may_work, option_pairs, transfer_pool
from ..uow import Actor
from .cases import (NOT_YOURS, CaseFile, CaseRow, TaskRow, display_names, file_in, summary_of, task_items,
                    visible_case)
from ..messages import msg

NO_TASK = msg("task.not_found", "no such task")
NOT_MINE = msg("task.not_yours", "you may not work on this task")


@dataclass(frozen=True)
class Inbox:
    page: inbox.Page  # items: TaskItem with a TaskRow, or CaseItem with a CaseRow (the started tab)
    procedures: tuple[tuple[str, str], ...]  # (process id, name) of every deployed procedure


@dataclass(frozen=True)
class TaskSummary:
    item: inbox.TaskItem
    can_work: bool
    submitted: dict | None  # what was submitted, as audited (a closed task)


@dataclass(frozen=True)
class TaskDetail:
    summary: TaskSummary
    fields: tuple[FormField, ...]
    options: dict[str, list[tuple[str, str]]]  # case-dependent values of enum fields (an open task)
    data: dict  # the open task's current values of its fields (defaults where unset)


@dataclass(frozen=True)
class TaskForm:
    id: str
    name: str
    state: str
    fields: tuple[FormField, ...]


@dataclass(frozen=True)
class Urged:
    count: int
    at: datetime
    by: str  # the last urger's display name


@dataclass(frozen=True)
class TaskPage:
    task: TaskView
    file: CaseFile
    item: inbox.TaskItem | None  # the open task with its deadline state
    options: dict[str, list[tuple[str, str]]]
    colleagues: tuple[tuple[str, str], ...]  # (login, name) it may be transferred to
    return_to: returns.ReturnTarget | None  # the previous step it may be returned to (退回)
    urged: Urged | None


def inbox_page(engine, actor: Actor, tab: str, filters: inbox.Filters, number: int, per_page: int) -> Inbox:
    """One page of one inbox tab with every tab's count, and the procedures to filter by."""
    with engine.uow(read_only=True) as uow:
        s = uow.session
        found = inbox.page(s, actor, tab, filters, number, per_page, engine.clock.now(), engine.calendar(s))
        procedures = tuple((d.process_id, d.name or d.process_id) for d in list_latest(s))
        return Inbox(replace(found, items=[_plain(i) for i in found.items]), procedures)


def task_summary(engine, task_id: str, actor: Actor, check: bool = True) -> TaskSummary:
    """One task (``check=False``: whoever asks, e.g. the task just given back)."""
    with engine.uow(read_only=True) as uow:
        row, case, process_name = _found(uow.session, task_id)
        if check:
            _check_readable(uow.session, row, case, actor)
        return _summary(engine, uow.session, row, case, process_name, actor)


def task_detail(engine, task_id: str, actor: Actor) -> TaskDetail:
    """One task with its form: fields, the values an open one holds, its enum fields' options."""
    with engine.uow(read_only=True) as uow:
        s = uow.session
        row, case, process_name = _found(s, task_id)
        _check_readable(s, row, case, actor)
        summary = _summary(engine, s, row, case, process_name, actor)
        bundle = engine.runner.bundle(s, case)
        fields = _fields(bundle, row)
        if row.state != "ready":
            return TaskDetail(summary, fields, {}, {})
        task = _loaded(engine, case, bundle, row.id)
        data = dict(task.data) if task is not None else {}
        return TaskDetail(summary, fields, _options(engine, s, case, row, actor, task),
                          {f.id: data.get(f.id, f.default) for f in fields})


def task_form(engine, task_id: str, actor: Actor) -> TaskForm:
    """The form a submission of the task is parsed with (an open task: for whoever may work it)."""
    with engine.uow(read_only=True) as uow:
        row = _row(uow.session, task_id, actor)
        case = uow.session.get(Case, row.case_id)
        bundle = engine.runner.bundle(uow.session, case)
        return TaskForm(row.id, row.name, row.state, _fields(bundle, row))


def task_page(engine, task_id: str, actor: Actor) -> TaskPage:
    """The task page: the task and its form, its case file, and for an open task the options, the
    colleagues to transfer it to, the step to return it to and how often it was urged."""
    with engine.uow(read_only=True) as uow:
        s = uow.session
        row = _row(s, task_id, actor)
        case = visible_case(s, row.case_id, actor)
        bundle = engine.runner.bundle(s, case)
        file = file_in(engine, s, case, bundle)
        task = _loaded(engine, case, bundle, row.id) if row.state == "ready" else None
        view = TaskView(row.id, case.id, case.number, case.process_id, row.element_id, row.name, row.state,
                        row.assignee, row.role, row.department, list(_fields(bundle, row)),
                        dict(task.data) if task is not None else {})
        if row.state != "ready":
            return TaskPage(view, file, None, {}, (), None, None)
        colleagues = tuple((p.login, p.display_name) for p in transfer_pool(s, row)
                           if p.login not in (actor.username, row.assignee))
        return TaskPage(view, file, next((t for t in file.open_tasks if t.task.id == row.id), None),
                        _options(engine, s, case, row, actor, task), colleagues, _return_target(s, task),
                        _urged(s, row.id, file.names))


# -- the parts, inside the caller's unit of work -----------------------------------------------

def _row(session, task_id: str, actor: Actor) -> HumanTask:
    """The task's row; an open one only for whoever may work it."""
    row = session.get(HumanTask, str(task_id))
    if row is None:
        raise NotFound(NO_TASK)
    if row.state == "ready" and not may_work(row, actor):
        raise PermissionDenied(NOT_MINE)
    return row


def _found(session, task_id: str) -> tuple[HumanTask, Case, str | None]:
    found = session.execute(sa.select(HumanTask, Case, DefinitionVersion.name)
                            .join(Case, HumanTask.case_id == Case.id)
                            .join(DefinitionVersion, HumanTask.definition_id == DefinitionVersion.id)
                            .where(HumanTask.id == str(task_id))).first()
    if found is None:
        raise NotFound(NO_TASK)
    return tuple(found)


def _check_readable(session, row: HumanTask, case: Case, actor: Actor) -> None:
    if row.state == "ready" and not may_work(row, actor):
        raise PermissionDenied(NOT_MINE)
    if row.state != "ready" and not may_see_case(session, case, actor):
        raise PermissionDenied(NOT_YOURS)


def _summary(engine, session, row: HumanTask, case: Case, process_name: str | None, actor: Actor) -> TaskSummary:
    item = task_items(engine, session, case, process_name, [row])[0]
    if row.state == "ready":
        return TaskSummary(item, may_work(row, actor), None)
    record = session.scalars(sa.select(AuditRecord).where(
        AuditRecord.case_id == row.case_id, AuditRecord.task_id == row.id,
        AuditRecord.action == "task_completed").order_by(AuditRecord.id.desc())).first()
    return TaskSummary(item, False, summary_of(record).get("data") if record is not None else None)


def _fields(bundle, row: HumanTask) -> tuple[FormField, ...]:
    """The form of the task's element (of a multi-instance task: its instances')."""
    return tuple(element_forms(bundle).get(row.element_id, ()))


def _loaded(engine, case: Case, bundle, task_id: str):
    """The case's workflow task, or None when it left the tree (e.g. instances an interrupting
    timer dropped)."""
    return task_or_none(engine.runner.load(case, bundle), task_id)


def _options(engine, session, case: Case, row: HumanTask, actor: Actor, task) -> dict[str, list[tuple[str, str]]]:
    proc = engine.procedures.get(case.process_id)
    if task is None or proc is None or proc.form_options is None:
        return {}
    ctx = ScriptContext(engine, session, case, actor, engine.clock.now(), task.data)
    return option_pairs(proc.form_options(ctx, row.element_id, task.data))


def _return_target(session, task) -> returns.ReturnTarget | None:
    try:
        return returns.target_of(session, task)
    except GovflowError:
        return None


def _urged(session, task_id: str, names: dict[str, str]) -> Urged | None:
    found = urges.summaries(session, [task_id]).get(task_id)
    if found is None:
        return None
    name = names.get(found.last_by) or display_names(session, {found.last_by}).get(found.last_by)
    return Urged(found.count, found.last_at, name or found.last_by)


def _plain(item):
    if isinstance(item, inbox.TaskItem):
        return replace(item, task=TaskRow.of(item.task))
    return replace(item, case=CaseRow.of(item.case, item.process_name))
