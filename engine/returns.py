"""Returning a case to the previous step (退回): the most recent completed user task before the current
one becomes ready again, with the data it was completed with, for the person who completed it.

The diagrams stay as they are: the engine resets the SpiffWorkflow tree (``reset_from_task_id``).
A return is possible only where it undoes nothing but routing: between the previous user task and
this one there are only exclusive gateways (no script, no parallel branch, no subprocess boundary),
and nothing else that happened since would be lost (an escalated deadline, another open task). A
user task may forbid it with the ``camunda:property`` ``returnable=false``.
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from . import audit
from .deadlines import is_timer, timer_kind
from .domain import notifications
from .domain.org import eligible_people
from .errors import GovflowError, InvalidForm
from .models import Deadline, HumanTask
from .uow import Actor
from .messages import msg

REASON_LENGTH = 2000
ROUTING = frozenset({"ExclusiveGateway", "BoundaryEventSplit", "BoundaryEventJoin"})  # spec class names
LEFT_AS_IS = TaskState.MAYBE | TaskState.LIKELY | TaskState.FUTURE | TaskState.CANCELLED


@dataclass(frozen=True)
class ReturnTarget:
    task_id: str
    element_id: str
    name: str
    completed_by: str | None


class NotReturnable(GovflowError):
    code = "not_returnable"


def check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_LENGTH:
        raise InvalidForm({"reason": msg("return.reason_required",
                                         "give the reason for returning, at most {max} characters",
                                         max=REASON_LENGTH)})
    return reason


def target_of(session, task) -> ReturnTarget | None:
    """Where returning this ready task would send the case, or None if it cannot be returned."""
    if task is None or task.state != TaskState.READY:
        return None
    try:
        target = previous_step(task)
    except NotReturnable:
        return None
    row = session.get(HumanTask, str(target.id))
    return ReturnTarget(str(target.id), target.task_spec.bpmn_id,
                        target.task_spec.bpmn_name or target.task_spec.bpmn_id, row.completed_by if row else None)


def reset_to_previous(uow, case, workflow, task, row: HumanTask, actor: Actor, reason: str,
                      now: datetime) -> str:
    """Reset the tree to the previous step with its old data and reopen its row (audited
    ``task_returned``); the caller runs the engine on and commits. Return the previous step's id."""
    target = previous_step(task)
    old_data = deepcopy(target.data)
    workflow.reset_from_task_id(target.id, data=deepcopy(old_data))
    _forget_dropped_events(workflow)
    # SpiffWorkflow's reset re-inherits the parent's data over the data it was given: after a loop the
    # parent holds the previous round's values (found with long cases), so put the step's own back.
    target.data = old_data
    row.state, row.completed_by, row.completed_at = "returned", actor.username, now
    back = _reopen(uow.session, str(target.id), now)
    _revive_deadlines(uow.session, workflow)
    uow.record(audit.Entry(now, actor.username, "task_returned", case.id, row.id, summary={
        "task": row.element_id, "to": target.task_spec.bpmn_id, "to_task": str(target.id),
        "to_assignee": back.assignee if back else None, "reason": reason}))
    return str(target.id)


def _forget_dropped_events(workflow) -> None:
    """SpiffWorkflow 3.2's reset drops the returned-from task's waiting boundary timers from the tree
    but leaves them in the event manager, whose next timer refresh then fails on a task without a
    parent: forget every waiting event whose task left the tree."""
    manager = workflow.event_manager
    for task_id, task in list(manager.tasks.items()):
        if task_id not in task.workflow.tasks:
            manager.tasks.pop(task_id, None)


def previous_step(task):
    """The completed user task the case would go back to; NotReturnable with the reason otherwise."""
    props = (task.task_spec.extensions or {}).get("properties", {})
    if str(props.get("returnable", "")).lower() == "false":
        raise NotReturnable(msg("return.not_allowed", "this step cannot be returned"))
    node, chain = task.parent, []
    while node is not None and not node.task_spec.manual:
        if type(node.task_spec).__name__ not in ROUTING:
            raise NotReturnable(msg("return.no_previous_step", "there is no previous step to return to"))
        chain.append(node)
        node = node.parent
    if node is None or node.state != TaskState.COMPLETED:
        raise NotReturnable(msg("return.no_previous_step", "there is no previous step to return to"))
    top = node.parent if type(node.parent.task_spec).__name__ == "BoundaryEventSplit" else node
    for other in top:
        if other is top or other is node or other is task or other in chain:
            continue
        _check_undoable(other)
    return node


def _check_undoable(task) -> None:
    """What a reset would drop must be plain routing, waiting timers or a reminder that was sent."""
    if task.state & LEFT_AS_IS or (task.state == TaskState.WAITING and is_timer(task)):
        return
    if task.state == TaskState.COMPLETED:
        name = type(task.task_spec).__name__
        if name in ROUTING or name == "EndEvent" or (is_timer(task) and timer_kind(task) == "reminder"):
            return
        if is_timer(task) and timer_kind(task) == "overdue":
            raise NotReturnable(msg("return.escalated", "the deadline has passed and was escalated; "
                                    "the case cannot be returned"))
    raise NotReturnable(msg("return.would_undo_work",
                            "returning would undo other work done since; the case cannot be returned"))


def _reopen(session, task_id: str, now: datetime) -> HumanTask | None:
    """The previous step's row, open again, with whoever completed it if they still may work it."""
    row = session.get(HumanTask, task_id)
    if row is None:
        return None  # the projection adds it
    completer = row.completed_by
    row.state, row.completed_by, row.completed_at, row.created_at = "ready", None, None, now
    row.due_at, row.due_date, row.provisional, row.overdue = None, None, False, False
    row.assignee = None  # as offered: to its candidates and its role in its department
    if completer in {p.login for p in eligible_people(session, row)}:
        row.assignee = completer
    return row


def _revive_deadlines(session, workflow) -> None:
    """Timers of the previous step run again under their old ids: their rows wait again."""
    ids = [str(t.id) for t in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK) if is_timer(t)]
    if ids:
        session.execute(sa.update(Deadline).where(Deadline.id.in_(ids), Deadline.state != "waiting")
                        .values(state="waiting", fired_at=None))


def notify_returned(uow, case, task_id: str, actor: Actor, now: datetime) -> None:
    """Tell whoever has the previous step back (its completer, or everyone it is offered to)."""
    row = uow.session.get(HumanTask, task_id)
    if row is None or row.state != "ready":
        return
    logins = [p.login for p in eligible_people(uow.session, row)]
    notifications.notify(uow, [login for login in logins if login != actor.username], "returned", case.id,
                         row.id, f"{case.number or case.id} {case.title}".strip() + f" · {row.name}", now)
