"""Incidents: a case stopped where its diagram's code cannot go on (Camunda's word).

A case goes into an incident, instead of failing the request or being retried by every batch of the
timer worker, when:

- its diagram's code runs past its budget (``engine.spiff.sandbox``), whoever's action ran it: the
  action itself is kept (a clerk's completed task stays completed) and the case stops at the element;
- its code fails in a system job (a timer firing): nobody is there to read the error;
- the case cannot go on (``engine.runner.check_not_stalled``): nothing ready, no timer waiting.

A code error in a person's action is not an incident: the action is refused and rolled back, and
the person sees why (it may be their input). While the incident is open the case's status is
``incident``: its tasks cannot be completed, its timers wait (their deadline rows are ``suspended``)
and it is listed for analysts and administrators (``engine.views.incidents``). An analyst retries it
after a fix of the data or the calendar, or migrates it to a corrected version
(``engine.verbs.incidents``, ``engine.modeling.migrate_case``): the failed element runs again.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from . import audit
from .errors import CaseStalled, ScriptBudgetExceeded
from .models import Case, Deadline, Incident
from .spiff.tasks import all_tasks
from .uow import Actor, UnitOfWork

OPEN = "incident"  # the case's status while an incident is open


def kind_of(fault: Exception) -> str:
    if isinstance(fault, CaseStalled):
        return "stalled"
    if isinstance(fault, ScriptBudgetExceeded):
        return getattr(fault, "budget_kind", "cpu")
    return "error"


def open_incident(uow: UnitOfWork, case: Case, workflow: BpmnWorkflow, fault: Exception, actor: Actor,
                  now: datetime) -> Incident:
    """Stop ``case`` at the element ``fault`` names (or the element left in error)."""
    element_id = getattr(fault, "element_id", None)
    element_name = getattr(fault, "element_name", None)
    if element_id is None:
        failed = next((t for t in all_tasks(workflow) if t.state == TaskState.ERROR), None)
        if failed is not None:
            element_id = failed.task_spec.bpmn_id
            element_name = failed.task_spec.bpmn_name
    row = Incident(case_id=case.id, process_id=case.process_id, definition_id=case.definition_id,
                   element_id=element_id, element_name=(element_name or None) and element_name[:500],
                   kind=kind_of(fault), message=str(fault)[:4000], actor=actor.username, created_at=now)
    uow.session.add(row)
    case.status = OPEN
    uow.session.execute(sa.update(Deadline).where(Deadline.case_id == case.id, Deadline.state == "waiting")
                        .values(state="suspended"))
    uow.record(audit.Entry(now, actor.username, "incident_opened", case.id, summary={
        "element": element_id, "kind": row.kind, "message": row.message[:500]}))
    return row


def resume(uow: UnitOfWork, case: Case, workflow: BpmnWorkflow, actor: Actor, resolution: str,
           now: datetime) -> list[Incident]:
    """Close the case's open incidents (``retried`` or ``migrated``), let its timers wait again and
    make the element that failed ready to run again; the caller then advances the case."""
    rows = list(uow.session.scalars(sa.select(Incident).where(Incident.case_id == case.id,
                                                               Incident.resolved_at.is_(None))))
    for row in rows:
        row.resolved_at, row.resolved_by, row.resolution = now, actor.username, resolution
    for task in all_tasks(workflow):
        if task.state == TaskState.ERROR:
            task._set_state(TaskState.READY)  # noqa: SLF001 - SpiffWorkflow has no public verb for this
    uow.session.execute(sa.update(Deadline).where(Deadline.case_id == case.id, Deadline.state == "suspended")
                        .values(state="waiting"))
    case.status = "running"
    action = {"retried": "incident_retried", "migrated": "incident_migrated"}[resolution]
    uow.record(audit.Entry(now, actor.username, action, case.id,
                           summary={"incidents": [r.id for r in rows]}))
    return rows
