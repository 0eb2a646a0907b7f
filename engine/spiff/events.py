"""Two Camunda event semantics SpiffWorkflow 3.2 lacks.

1. **Interrupting event sub-processes.** SpiffWorkflow runs every event sub-process as a parallel
   branch: ``isInterrupting`` on its start event is never read, so after an interrupting timer start
   fires the main flow still runs and the other event sub-processes still wait (the case never ends).
   ``InterruptingStartEvent`` (the start event of an event sub-process whose ``isInterrupting`` is not
   ``false``) cancels, when it fires, everything else still open in the enclosing process: the main
   flow's tasks and the other event sub-processes (their timers with them), as Camunda does.
2. **Repeating boundary timers.** Each firing of a ``timeCycle`` boundary timer adds a branch under the
   timer's task; when the activity ends, SpiffWorkflow cancels the timer *with its children*, so the
   branches it started are dropped. ``CycleBoundaryEventJoin`` (the join of an activity with a
   repeating timer) ends the timer but keeps the branches it started (minus the join copies each firing
   also spawned), as Camunda does: a non-interrupting timer's branch lives on its own.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.util.task import TaskState


class InterruptingStartEvent(StartEvent):
    """The start event of an interrupting event sub-process (see the module docstring)."""

    def _run_hook(self, my_task):
        result = super()._run_hook(my_task)
        interrupt(my_task)
        return result


def interrupt(start_task) -> None:
    """Cancel what is open in the process around the event sub-process ``start_task`` started."""
    sub = start_task.workflow
    parent_id = getattr(sub, "parent_task_id", None)
    if parent_id is None:
        return
    holder = sub.top_workflow.get_task_from_id(parent_id)  # the event sub-process's task
    if holder is None:
        return
    keep = set()
    node = holder
    while node is not None:
        keep.add(node.id)
        node = node.parent
    outer = holder.workflow
    for task in list(outer.get_tasks(state=TaskState.NOT_FINISHED_MASK)):
        if task.id in keep or _below(task, holder) or task.id not in outer.tasks:
            continue
        if task.has_state(TaskState.NOT_FINISHED_MASK):
            task.cancel()


def _below(task, ancestor) -> bool:
    node = task.parent
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


class CycleBoundaryEventJoin(BoundaryEventJoin):
    """The join after an activity with a repeating boundary timer (see the module docstring)."""

    def _check_threshold_structured(self, my_task):
        finished, cancel = super()._check_threshold_structured(my_task)
        if finished:
            for timer in [t for t in cancel if is_cycle(t.task_spec)]:
                cancel.remove(timer)
                end_cycle(timer, self.name)
        return finished, cancel


def is_cycle(spec) -> bool:
    return isinstance(getattr(spec, "event_definition", None), CycleTimerEventDefinition)


def end_cycle(timer, join_name: str) -> None:
    """Cancel a waiting repeating timer, keeping the branches its firings started."""
    if not timer.has_state(TaskState.NOT_FINISHED_MASK):
        return
    branches = [c for c in timer.children if c.task_spec.name != join_name]
    for copy in [c for c in timer.children if c.task_spec.name == join_name]:
        timer.workflow._remove_task(copy.id)
    timer._children = []
    timer.cancel()
    timer._children = [c.id for c in branches]


def swap_cycle_joins(spec) -> None:
    """Give every activity with a repeating boundary timer a ``CycleBoundaryEventJoin``."""
    for task_spec in list(spec.task_specs.values()):
        if type(task_spec) is BoundaryEventJoin and any(
                is_cycle(event) for event in spec.task_specs[task_spec.split_task].outputs):
            task_spec.__class__ = CycleBoundaryEventJoin
