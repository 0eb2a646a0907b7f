"""Stall protection: send-back loops deeper than SpiffWorkflow's iterator depth of 1000.

Every pass through a loop adds levels to the task tree; SpiffWorkflow's iterators stop descending at
depth 1000, after which the READY task is invisible and the case stalls. engine/spiff/__init__.py
lifts that cap; engine.runner.check_not_stalled refuses to save a case that stalled anyway.
"""
from __future__ import annotations

import inspect
import sys
from datetime import datetime, timezone

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskIterator, TaskState

import engine.spiff  # noqa: F401 - applies the depth patch, as every engine import does
from engine.clock import FrozenClock
from engine.errors import CaseStalled
from engine.runner import check_not_stalled
from engine.spiff.parser import GovParser
from engine.spiff.script import GovScriptEngine
from engine.spiff.serializer import CaseSerializer, SpecBundle

SEND_BACKS = 1100
LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="loop" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="work" name="办理"/>
    <bpmn:exclusiveGateway id="gw" default="f_done"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_again" sourceRef="gw" targetRef="work">
      <bpmn:conditionExpression>again</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_done" sourceRef="gw" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
WAIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="wait" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition>
      <bpmn:timeDuration>P5D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pause"/>
    <bpmn:sequenceFlow id="f2" sourceRef="pause" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def spec_of(xml: str, process_id: str):
    parser = GovParser()
    parser.add_bpmn_str(xml)
    return parser.get_spec(process_id)


def new_workflow(spec) -> BpmnWorkflow:
    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))
    workflow = BpmnWorkflow(spec, script_engine=GovScriptEngine(clock))
    workflow.do_engine_steps()
    return workflow


def depth(task) -> int:
    n = 0
    while task.parent is not None:
        task, n = task.parent, n + 1
    return n


def send_back(work, times: int):
    """Complete ``work`` with again=True ``times`` times, stepping each child by hand (O(1) per pass)."""
    for _ in range(times):
        work.set_data(again=True)
        work.run()
        (gw,) = work.children
        gw.run()
        (work,) = [c for c in gw.children if c.state == TaskState.READY]
    return work


@pytest.fixture(scope="module")
def loop_spec():
    return spec_of(LOOP, "loop")


@pytest.fixture(scope="module")
def deep_state(loop_spec):
    """A case sent back 1100 times, saved once; each test restores its own copy."""
    workflow = new_workflow(loop_spec)
    (work,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    send_back(work, SEND_BACKS)
    return CaseSerializer().dumps_state(workflow)


@pytest.fixture
def deep(loop_spec, deep_state):
    workflow = CaseSerializer().loads_state(deep_state, SpecBundle(loop_spec))
    workflow.script_engine = GovScriptEngine(FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)))
    return workflow


def ready_work(workflow) -> list:
    return [t for t in workflow.tasks.values() if t.state == TaskState.READY and t.task_spec.name == "work"]


# --------------------------------------------------------------------------- the patch


def test_the_patch_lifts_the_default_depth():
    assert inspect.signature(TaskIterator.__init__).parameters["max_depth"].default == sys.maxsize


def test_the_case_is_deeper_than_the_library_looks(deep):
    (work,) = ready_work(deep)
    assert depth(work) == 2 * SEND_BACKS + 2 > 2000


def test_patched_iterator_finds_the_ready_task(deep):
    (work,) = ready_work(deep)
    assert list(TaskIterator(deep.task_tree, state=TaskState.READY)) == [work]


def test_without_the_patch_the_ready_task_is_not_found(deep):
    assert list(TaskIterator(deep.task_tree, state=TaskState.READY, max_depth=1000)) == []


def test_deep_case_is_not_completed(deep):
    assert not deep.is_completed()  # Workflow.is_completed uses the patched TaskIterator


def test_workflow_get_tasks_finds_the_ready_task(deep):
    assert deep.get_tasks(state=TaskState.READY, manual=True) == ready_work(deep)


def test_deep_case_is_not_reported_stalled(deep):
    check_not_stalled(deep)


def test_deep_case_runs_to_the_end(deep):
    (work,) = ready_work(deep)
    work.set_data(again=False)
    work.run()
    deep.do_engine_steps()
    assert deep.is_completed()


def test_send_backs_through_the_engine_calls_do_not_stall(loop_spec):
    """The same loop driven as the engine drives it: find the READY task, run it, do engine steps."""
    workflow = new_workflow(loop_spec)
    for n in range(520):  # the 500th pass reaches depth 1000
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert ready, f"stalled after {n} send-backs"
        ready[0].set_data(again=True)
        ready[0].run()
        workflow.do_engine_steps()


# --------------------------------------------------------------------------- check_not_stalled


def test_check_not_stalled_passes_with_a_ready_user_task(loop_spec):
    workflow = new_workflow(loop_spec)
    assert [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == ["work"]
    check_not_stalled(workflow)


def test_check_not_stalled_passes_while_a_timer_waits():
    workflow = new_workflow(spec_of(WAIT, "wait"))
    assert [t.task_spec.name for t in workflow.get_tasks(state=TaskState.WAITING)] == ["pause"]
    assert workflow.get_tasks(state=TaskState.READY, manual=True) == []
    check_not_stalled(workflow)


def test_check_not_stalled_raises_when_nothing_is_ready_or_waiting(loop_spec):
    workflow = new_workflow(loop_spec)
    (work,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    work._set_state(TaskState.COMPLETED)  # finished without its successors being readied
    assert not workflow.is_completed()
    assert workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED) == []
    with pytest.raises(CaseStalled, match="nothing is ready or waiting") as exc:
        check_not_stalled(workflow)
    assert exc.value.code == "stalled"


def test_check_not_stalled_ignores_ready_engine_tasks(loop_spec):
    """A READY gateway left unrun is not progress: only a person or an event can move the case."""
    workflow = new_workflow(loop_spec)
    (work,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    work.set_data(again=True)
    work.run()  # gw is READY now, but nobody runs engine steps
    assert [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY)] == ["gw"]
    with pytest.raises(CaseStalled):
        check_not_stalled(workflow)

