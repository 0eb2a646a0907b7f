"""Compaction of long cases (engine/spiff/compaction.py): a case that drops its finished history
behaves exactly like one that keeps it — same tasks offered in the same order, same data, same end —
while its tree stays bounded. Checked against an uncompacted twin, through a save and restore at
every step, on a loop that contains a parallel split and join and a boundary timer."""
from __future__ import annotations

from datetime import datetime, timezone

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

import engine.spiff  # noqa: F401 - the depth patch every engine import applies
from engine.case_diagram import completed_elements
from engine.clock import FrozenClock
from engine.spiff.compaction import COMPACT_ABOVE, compact
from engine.spiff.parser import GovParser
from engine.spiff.script import GovScriptEngine
from engine.spiff.serializer import CaseSerializer, SpecBundle

LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="rounds" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="init"><bpmn:script>rounds = 0</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="count"><bpmn:script>rounds = rounds + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:parallelGateway id="split"/>
    <bpmn:userTask id="left" name="左"/>
    <bpmn:userTask id="right" name="右"/>
    <bpmn:boundaryEvent id="late" attachedToRef="right" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P30D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="late_end"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:userTask id="check" name="审核"/>
    <bpmn:exclusiveGateway id="gw" default="f_done"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="init"/>
    <bpmn:sequenceFlow id="f1" sourceRef="init" targetRef="count"/>
    <bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="split"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="left"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="right"/>
    <bpmn:sequenceFlow id="f5" sourceRef="left" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="right" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="late" targetRef="late_end"/>
    <bpmn:sequenceFlow id="f8" sourceRef="join" targetRef="check"/>
    <bpmn:sequenceFlow id="f9" sourceRef="check" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_again" sourceRef="gw" targetRef="count">
      <bpmn:conditionExpression>again</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_done" sourceRef="gw" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
ROUNDS = 45


class Twin:
    """One case driven through save/restore at every step; ``compacting`` drops history on save."""

    def __init__(self, bundle: SpecBundle, clock: FrozenClock, compacting: bool):
        self.bundle, self.clock, self.compacting = bundle, clock, compacting
        self.serializer = CaseSerializer()
        self.largest = self.dropped = 0
        workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs)
        self.state = self.save(self.run(workflow))

    def load(self) -> BpmnWorkflow:
        return self.serializer.loads_state(self.state, self.bundle)

    def run(self, workflow: BpmnWorkflow) -> BpmnWorkflow:
        workflow.script_engine = GovScriptEngine(self.clock, {})
        workflow.refresh_timers()
        workflow.do_engine_steps()
        return workflow

    def save(self, workflow: BpmnWorkflow) -> str:
        if self.compacting:
            self.dropped += compact(workflow)
        return self.serializer.dumps_state(workflow)

    def ready(self) -> list[tuple[str, dict]]:
        workflow = self.load()
        return sorted((t.task_spec.bpmn_id, dict(t.data)) for t in workflow.get_tasks(state=TaskState.READY, manual=True))

    def complete(self, element_id: str, data: dict) -> None:
        workflow = self.load()
        task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                    if t.task_spec.bpmn_id == element_id)
        task.set_data(**data)
        workflow.script_engine = GovScriptEngine(self.clock, {})
        task.run()
        self.run(workflow)
        self.largest = max(self.largest, len(workflow.tasks))
        self.state = self.save(workflow)


def test_a_compacted_case_behaves_like_its_uncompacted_twin():
    parser = GovParser()
    parser.add_bpmn_str(LOOP)
    bundle = SpecBundle(parser.get_spec("rounds"), parser.get_subprocess_specs("rounds"))
    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))
    kept, compacted = Twin(bundle, clock, False), Twin(bundle, clock, True)
    for n in range(ROUNDS):
        if n == 25:
            clock.advance(days=31)  # the boundary timer of the open round fires
        for element, data in (("left", {"l": n}), ("right", {"r": n}), ("check", {"again": n < ROUNDS - 1})):
            assert compacted.ready() == kept.ready(), f"round {n}, before {element}"
            kept.complete(element, data)
            compacted.complete(element, data)
    final_kept, final_compacted = kept.load(), compacted.load()
    assert final_kept.is_completed() and final_compacted.is_completed()
    assert final_compacted.data == final_kept.data
    assert final_compacted.data["rounds"] == ROUNDS
    assert completed_elements(final_compacted) == completed_elements(final_kept)
    assert len(final_kept.tasks) > 3 * COMPACT_ABOVE  # the uncompacted tree kept everything
    assert compacted.dropped > 0 and compacted.largest <= COMPACT_ABOVE + 15  # bounded (one round adds 11)


def test_compaction_leaves_small_and_finished_cases_alone():
    parser = GovParser()
    parser.add_bpmn_str(LOOP)
    bundle = SpecBundle(parser.get_spec("rounds"), parser.get_subprocess_specs("rounds"))
    workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs)
    workflow.script_engine = GovScriptEngine(FrozenClock(datetime(2026, 3, 2, tzinfo=timezone.utc)), {})
    workflow.do_engine_steps()
    before = set(workflow.tasks)
    assert compact(workflow) == 0 and set(workflow.tasks) == before
    assert compact(workflow, above=0, keep=1000) == 0  # the margin covers the whole tree
    unfinished = {t.id for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)}
    compact(workflow, above=0, keep=0)
    assert unfinished <= set(workflow.tasks)  # never live work
