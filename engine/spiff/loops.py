"""Camunda's multi-instance loop variables for SpiffWorkflow's multi-instance tasks.

Camunda gives a multi-instance activity's completion condition and its inner instances
``nrOfInstances``, ``nrOfCompletedInstances``, ``nrOfActiveInstances`` and ``loopCounter`` (the
instance's 0-based index). SpiffWorkflow names none of them. Here each instance gets them in its data
when it is created (so ``camunda:assignee="kermit_${loopCounter}"`` resolves), they are taken out again
before its data is merged back (they are local to the instance, as in Camunda), and the completion
condition is evaluated with their values after the instance's completion.
"""
from __future__ import annotations

from SpiffWorkflow.camunda.specs.multiinstance_task import (
    ParallelMultiInstanceTask as CamundaParallel, SequentialMultiInstanceTask as CamundaSequential,
)
from SpiffWorkflow.util.task import TaskState

LOOP_VARIABLES = ("nrOfInstances", "nrOfCompletedInstances", "nrOfActiveInstances", "loopCounter")
COUNTER = "loop_counter"  # in the instance's internal data


class LoopVariables:
    def _loop_values(self, my_task, counter=None) -> dict:
        instances = list(self._instances(my_task))
        internal = my_task.internal_data
        total = len(instances)
        if self.data_input is not None and "remaining" in internal:
            total += len(internal["remaining"])
        elif "cardinality" in internal:
            total += internal["cardinality"] - internal.get("current", 0)
        completed = len(internal.get("merged", []))
        active = sum(1 for c in instances if not c.has_state(TaskState.FINISHED_MASK))
        return {"nrOfInstances": total, "nrOfCompletedInstances": completed, "nrOfActiveInstances": active,
                "loopCounter": counter}

    def create_child(self, my_task, item, key_or_index=None):
        counter = len(list(self._instances(my_task)))
        super().create_child(my_task, item, key_or_index)
        child = my_task.children[-1]
        child.internal_data[COUNTER] = counter
        child.data.update(self._loop_values(my_task, counter))

    def merge_child(self, workflow, child):
        for name in LOOP_VARIABLES:
            child.data.pop(name, None)
        super().merge_child(workflow, child)

    def check_completion_condition(self, my_task):
        merged = my_task.internal_data.get("merged", [])
        if merged and self.condition is not None:
            last = [c for c in my_task.children if str(c.id) == merged[-1]][0]
            values = self._loop_values(my_task, last.internal_data.get(COUNTER))
            return my_task.workflow.script_engine.evaluate(last, self.condition, external_context=values)


class GovSequentialMultiInstanceTask(LoopVariables, CamundaSequential):
    pass


class GovParallelMultiInstanceTask(LoopVariables, CamundaParallel):
    pass
