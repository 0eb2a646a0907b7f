"""One pass over a case's tasks."""
from __future__ import annotations

from typing import Iterator

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow


def all_tasks(workflow: BpmnWorkflow) -> Iterator:
    """Every task of the case — the top-level tree and its subprocesses' — in creation order.

    After a unit of work the engine needs the ready user tasks, the waiting timers, the completed
    timers and the live tasks: one pass over the task dictionaries instead of one walk of
    SpiffWorkflow's tree iterator for each.
    """
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()
