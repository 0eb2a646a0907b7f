"""Dropping finished history from a case's task tree, so that long cases stay as cheap as fresh ones.

SpiffWorkflow keeps every task instance a case ever had: a diagram loop (a report sent back by the
head's decision, a supplement requested again) appends a new round below the last one, and every
action restores and rewrites the whole tree. A case after 500 rounds costs ten times a fresh one.

The history is kept elsewhere (the audit trail has every step, its actor and its data; the task
table has every task), so the tree only needs what the engine still reads: the unfinished work and
a margin of finished steps above it. Once the tree has more than ``COMPACT_ABOVE`` tasks, everything
above the point that lies ``KEEP_LEVELS`` levels above all unfinished work is dropped: that task is
re-attached to the root. A join still waiting in an earlier round (the process's end waiting for a
reminder branch that ended) stays too, re-attached to the root with the task that led to it (whose
data the final join merges). Only finished tasks are dropped; the dropped part is never an ancestor of
unfinished work within the margin, so joins, boundary events, 退回 (the previous step) and data
flow (each task carries its data) are unaffected. The BPMN ids of completed elements that were
dropped are kept on the root, for the case diagram.

Parallel joins ignore their own earlier iterations when these are ancestors (SpiffWorkflow's
ParallelGateway) — which are exactly what is dropped.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

COMPACT_ABOVE = 150  # tasks in the top-level tree before finished history is dropped
KEEP_LEVELS = 24     # finished levels kept above the oldest unfinished work (returns look a few up)
INFO_KEY = "govflow_compacted"  # on the root task: {"tasks": dropped so far, "elements": [bpmn ids]}


def compact(workflow: BpmnWorkflow, above: int = COMPACT_ABOVE, keep: int = KEEP_LEVELS) -> int:
    """Drop finished history above the unfinished work if the tree is large; return tasks dropped."""
    tasks = workflow.tasks
    if len(tasks) <= above or workflow.is_completed():
        return 0
    unfinished = [t for t in tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    stragglers = [t for t in unfinished if _waiting_join(t)]
    straggling = set().union(*(_subtree_ids(t) for t in stragglers)) if stragglers else set()
    main = [t for t in unfinished if t.id not in straggling]
    if not main:
        return 0
    common = _path(main[0])
    for task in main[1:]:
        other = _path(task)
        n = 0
        while n < min(len(common), len(other)) and common[n] is other[n]:
            n += 1
        common = common[:n]
    cut_at = len(common) - 1 - keep  # common[0] is the root, common[-1] the lowest common ancestor
    if cut_at < 2:
        return 0  # nothing between the root and the kept part
    cut, root = common[cut_at], workflow.task_tree
    kept = _subtree_ids(cut)
    on_path = {t.id for t in common[:cut_at + 1]}
    tops = []  # a join still waiting in an earlier round stays, with the task that led to it
    for task in stragglers:
        if task.id in kept:
            continue
        parent = task.parent
        if parent is None or parent.id in on_path or not parent.has_state(TaskState.FINISHED_MASK):
            return 0
        if parent.id not in kept:
            tops.append(parent)
            kept |= _subtree_ids(parent)
    dropped = [t for t in tasks.values() if t.id not in kept and t is not root]
    if not dropped or any(not t.has_state(TaskState.FINISHED_MASK) for t in dropped):
        return 0  # never drop live work
    elements = {t.task_spec.bpmn_id for t in dropped
                if t.state == TaskState.COMPLETED and getattr(t.task_spec, "bpmn_id", None)}
    for task in dropped:
        if task.id in workflow.subprocesses:
            workflow.delete_subprocess(task)
    for task in dropped:
        del tasks[task.id]
    root._children = [t.id for t in tops] + [cut.id]
    for task in (*tops, cut):
        task._parent = root.id
    if workflow.last_task is not None and workflow.last_task.id not in tasks:
        workflow.last_task = cut
    info = root.internal_data.get(INFO_KEY) or {"tasks": 0, "elements": []}
    root.internal_data[INFO_KEY] = {"tasks": info["tasks"] + len(dropped),
                                    "elements": sorted(set(info["elements"]) | elements)}
    return len(dropped)


def _waiting_join(task) -> bool:
    """A join (a parallel gateway or the process's end) still waiting for branches of an earlier
    round: SpiffWorkflow cancels it when a later instance of the same join updates."""
    return task.state == TaskState.WAITING and isinstance(task.task_spec, UnstructuredJoin)


def dropped_elements(workflow: BpmnWorkflow) -> set[str]:
    """BPMN ids of completed elements whose tasks compaction dropped."""
    info = workflow.task_tree.internal_data.get(INFO_KEY) if workflow.task_tree is not None else None
    return set(info["elements"]) if info else set()


def _path(task) -> list:
    """The task's ancestors from the root down to the task itself."""
    path = []
    while task is not None:
        path.append(task)
        task = task.parent
    return path[::-1]


def _subtree_ids(task) -> set:
    found, stack = set(), [task]
    while stack:
        node = stack.pop()
        found.add(node.id)
        stack.extend(node.children)
    return found
