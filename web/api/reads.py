"""Read-only queries the API answers with: a task, a case with its deadlines, a case's audit
timeline. Each checks who may read, as the pages do (``may_work`` for an open task, ``may_see_case``
for the case and its closed tasks), and returns plain dicts shaped like the response schemas."""
from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from engine import inbox, periods
from engine.domain.org import Person
from engine.errors import NotFound, PermissionDenied
from engine.models import AuditRecord, Case, Deadline, DefinitionVersion, HumanTask
from engine.service import Engine, may_see_case, may_work
from engine.uow import Actor

NO_CASE = "案件不存在 (no such case)"
NOT_YOURS = "您无权查看此案件 (you may not see this case)"


def task(engine: Engine, task_id: str, actor: Actor, check: bool = True) -> dict[str, Any]:
    """One task: open ones to whoever may work them, closed ones to whoever may see their case."""
    with engine.uow() as uow:
        s = uow.session
        found = s.execute(sa.select(HumanTask, Case, DefinitionVersion.name)
                          .join(Case, HumanTask.case_id == Case.id)
                          .join(DefinitionVersion, HumanTask.definition_id == DefinitionVersion.id)
                          .where(HumanTask.id == task_id)).first()
        if found is None:
            raise NotFound("任务不存在 (no such task)")
        row, case, process_name = found
        if check and row.state == "ready" and not may_work(row, actor):
            raise PermissionDenied("您无权办理此任务 (you may not work on this task)")
        if check and row.state != "ready" and not may_see_case(s, case, actor):
            raise PermissionDenied(NOT_YOURS)
        item = _items(engine, s, [(row, case.number, case.title, case.rule_set, process_name)])[0]
        return {**task_json(item, actor), "submitted": _submitted(s, row) if row.state != "ready" else None}


def case(engine: Engine, case_id: int, actor: Actor) -> dict[str, Any]:
    """The case's summary, its open tasks (and whether ``actor`` may work each) and its deadlines."""
    with engine.uow() as uow:
        s = uow.session
        row = _visible_case(s, case_id, actor)
        process_name = s.scalar(sa.select(DefinitionVersion.name).where(DefinitionVersion.id == row.definition_id))
        tasks = list(s.scalars(sa.select(HumanTask).where(HumanTask.case_id == row.id, HumanTask.state == "ready")
                               .order_by(HumanTask.created_at, HumanTask.id)))
        items = _items(engine, s, [(t, row.number, row.title, row.rule_set, process_name) for t in tasks])
        deadlines = list(s.scalars(sa.select(Deadline).where(Deadline.case_id == row.id)
                                   .order_by(Deadline.due_at, Deadline.id)))
        return {**case_summary(row, process_name), "open_tasks": [task_json(i, actor) for i in items],
                "deadlines": [_deadline(d) for d in deadlines],
                "periods": [periods.view_json(p) for p in periods.views(engine, s, row)]}


def timeline(engine: Engine, case_id: int, actor: Actor) -> list[dict[str, Any]]:
    """The case's audit records, oldest first, with the names of the people who acted."""
    with engine.uow() as uow:
        s = uow.session
        row = _visible_case(s, case_id, actor)
        records = list(s.scalars(sa.select(AuditRecord).where(AuditRecord.case_id == row.id)
                                 .order_by(AuditRecord.id)))
        names = dict(s.execute(sa.select(Person.login, Person.display_name).where(
            Person.login.in_({r.actor for r in records}))).all())
        task_names = dict(s.execute(sa.select(HumanTask.id, HumanTask.name).where(HumanTask.case_id == row.id)).all())
        return [{"id": r.id, "at": r.at, "actor": r.actor, "actor_name": names.get(r.actor),
                 "action": r.action, "task_id": r.task_id, "task_name": task_names.get(r.task_id),
                 "summary": _summary(r)} for r in records]


def case_summary(row: Case, process_name: str | None) -> dict[str, Any]:
    return {"id": row.id, "number": row.number, "title": row.title, "process_id": row.process_id,
            "process_name": process_name or row.process_id, "status": row.status, "outcome": row.outcome,
            "started_by": row.started_by, "started_at": row.started_at, "ended_at": row.ended_at,
            "rule_set": row.rule_set}


def task_json(item: inbox.TaskItem, actor: Actor, can_work: bool | None = None) -> dict[str, Any]:
    """A task as the API shows it; ``can_work`` when the caller knows (inbox rows carry no candidates)."""
    t = item.task
    if can_work is None:
        can_work = t.state == "ready" and may_work(t, actor)
    return {"id": t.id, "name": t.name, "element_id": t.element_id, "state": t.state,
            "case_id": t.case_id, "case_number": item.case_number, "case_title": item.case_title,
            "process_id": t.process_id, "process_name": item.process_name, "role": t.role,
            "department": t.department, "assignee": t.assignee, "can_work": can_work,
            "created_at": t.created_at, "due_at": t.due_at, "due_date": t.due_date, "provisional": t.provisional,
            "overdue": item.overdue, "due_soon": item.due_soon, "remaining_days": item.remaining_days,
            "completed_at": t.completed_at, "completed_by": t.completed_by}


def _visible_case(session, case_id: int, actor: Actor) -> Case:
    row = session.get(Case, case_id)
    if row is None:
        raise NotFound(NO_CASE)
    if not may_see_case(session, row, actor):
        raise PermissionDenied(NOT_YOURS)
    return row


def _items(engine: Engine, session, rows: list[tuple]) -> list[inbox.TaskItem]:
    if not rows:
        return []
    windows, calendar, now = inbox.reminder_windows(session), engine.calendar(session), engine.clock.now()
    return [inbox.task_item(*r, now=now, calendar=calendar, windows=windows) for r in rows]


def _submitted(session, row: HumanTask) -> dict[str, Any] | None:
    """What was submitted when the task was completed (as audited, long texts shortened)."""
    record = session.scalars(sa.select(AuditRecord).where(
        AuditRecord.case_id == row.case_id, AuditRecord.task_id == row.id,
        AuditRecord.action == "task_completed").order_by(AuditRecord.id.desc())).first()
    return _summary(record).get("data") if record is not None else None


def _summary(record: AuditRecord) -> dict[str, Any]:
    try:
        found = json.loads(record.summary or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {"value": found}


def _deadline(d: Deadline) -> dict[str, Any]:
    return {"id": d.id, "kind": d.kind, "element_id": d.element_id, "task_id": d.human_task_id,
            "due_at": d.due_at, "due_date": d.due_date, "provisional": d.provisional, "held": d.held,
            "state": d.state, "fired_at": d.fired_at}
