"""Adapter around SpiffWorkflow 3.2.0: parser dialect, timers, restricted scripts, serializer."""
import sys

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator

# SpiffWorkflow stops walking the task tree at depth 1000, so a case whose send-back loop has
# made the tree deeper than that silently finds no READY task and stalls.  Lift the cap for every
# iterator the library creates; engine.cases also refuses to save a running case with nothing
# ready and nothing waiting, so a stall can never be silent.
for _cls in (TaskIterator, BpmnTaskIterator):
    _defaults = list(_cls.__init__.__defaults__)
    _defaults[1] = sys.maxsize  # (end_at_spec, max_depth, ...)
    _cls.__init__.__defaults__ = tuple(_defaults)
