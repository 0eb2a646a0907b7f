"""What the API answers with, shaped like the response schemas from the engine's read models (the
same the pages use: ``engine.views.cases`` and ``engine.views.tasks``, which check who may read)."""
from __future__ import annotations

from typing import Any

from engine import inbox, periods
from engine.uow import Actor
from engine.views import cases, tasks


def task(engine, task_id: str, actor: Actor, check: bool = True) -> dict[str, Any]:
    """One task: open ones to whoever may work them, closed ones to whoever may see their case."""
    return summary_json(tasks.task_summary(engine, task_id, actor, check))


def task_detail(engine, task_id: str, actor: Actor) -> tuple[dict[str, Any], tasks.TaskDetail]:
    """One task with its form (the fields are shaped by the caller's schema helper)."""
    found = tasks.task_detail(engine, task_id, actor)
    return {**summary_json(found.summary), "data": found.data}, found


def case(engine, case_id: int, actor: Actor) -> dict[str, Any]:
    """The case's summary, its open tasks (and whether ``actor`` may work each) and its deadlines."""
    found = cases.case_status(engine, case_id, actor)
    return {**case_summary(found.case), "deadlines": [_deadline(d) for d in found.deadlines],
            "open_tasks": [task_json(i, i.task.id in found.workable) for i in found.open_tasks],
            "periods": [periods.view_json(p) for p in found.periods]}


def timeline(engine, case_id: int, actor: Actor) -> list[dict[str, Any]]:
    """The case's audit records, oldest first, with the names of the people who acted."""
    found = cases.case_file(engine, case_id, actor)
    return [{"id": e.id, "at": e.at, "actor": e.actor, "actor_name": found.names.get(e.actor),
             "action": e.action, "task_id": e.task_id, "task_name": found.task_names.get(e.task_id),
             "summary": e.summary} for e in found.timeline]


def case_summary(row: cases.CaseRow) -> dict[str, Any]:
    return {"id": row.id, "number": row.number, "title": row.title, "process_id": row.process_id,
            "process_name": row.process_name, "status": row.status, "outcome": row.outcome,
            "started_by": row.started_by, "started_at": row.started_at, "ended_at": row.ended_at,
            "rule_set": row.rule_set}


def summary_json(found: tasks.TaskSummary) -> dict[str, Any]:
    return {**task_json(found.item, found.can_work), "submitted": found.submitted}


def task_json(item: inbox.TaskItem, can_work: bool) -> dict[str, Any]:
    """A task as the API shows it."""
    t = item.task
    return {"id": t.id, "name": t.name, "element_id": t.element_id, "state": t.state,
            "case_id": t.case_id, "case_number": item.case_number, "case_title": item.case_title,
            "process_id": t.process_id, "process_name": item.process_name, "role": t.role,
            "department": t.department, "assignee": t.assignee, "can_work": can_work,
            "created_at": t.created_at, "due_at": t.due_at, "due_date": t.due_date, "provisional": t.provisional,
            "overdue": item.overdue, "due_soon": item.due_soon, "remaining_days": item.remaining_days,
            "completed_at": t.completed_at, "completed_by": t.completed_by}


def _deadline(d: cases.DeadlineRow) -> dict[str, Any]:
    return {"id": d.id, "kind": d.kind, "element_id": d.element_id, "task_id": d.human_task_id,
            "due_at": d.due_at, "due_date": d.due_date, "provisional": d.provisional, "held": d.held,
            "state": d.state, "fired_at": d.fired_at}
