"""Real Camunda 7 diagrams (tests/fixtures/camunda, provenance in SOURCES.md) run as they are, or are
refused with a message; nothing is dropped silently.

One test per manifest entry: deploy (with ``deploy_with``), then either the refusal names the reason's
key word, or the case is started with ``start_data``, driven through ``steps`` and completes at the
``end`` event(s). ``GAPS`` is the honest list of what does not work yet (strict xfail).
"""
from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import timer_service
from engine.errors import DefinitionError
from engine.models import Case, HumanTask
from engine.spiff.parser import parse_xml_safely
from engine.spiff.tasks import all_tasks
from engine.uow import Actor
from tests.conftest import make_engine

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "camunda"
MANIFEST = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))["diagram"]

# The key word each refusal's message must contain (from the manifest's reason).
REFUSAL_WORDS = {
    "activiti-prefix__fluentprocessinstancetest.1.bpmn": "isExecutable",
    "service-class__synchronousserviceinvocation.bpmn": "camunda:class",
    "service-delegateexpression__sample.bpmn": "camunda:delegateExpression",
    "external-task__loan-granting.bpmn": "external",
    "message-start__message_start_process.bpmn": "message",
    "compensation__compensateeventtest.testcompensatesubprocess.bpmn": "compensation",
    "script-groovy-mi__multiinstancetest.testsequentialscripttasks.bpmn": "groovy",
    "script-javascript__testprocess.bpmn": "javascript",
    "script-python-resource__externalscripttasktest.testscriptindeployment.bpmn": "camunda:resource",
    "script-juel__scripttasktest.testsetscriptresulttoprocessvariable.bpmn": "juel",
    "activiti-uri-service-class__bpmnparsetest.testparsedefinitionwithdeprecatedactivitinamespace.bpmn":
        "camunda:class",
    "event-subprocess-noninterrupting-cron__starttimereventtest.testnoninterruptingtimecycleineventsubprocess.bpmn":
        "R/",
}

# What does not work yet: file -> what is missing.
GAPS = {
    "callactivity-mi-sequential__multiinstancetest.testsequentialcallactivity.bpmn":
        "a call activity to a process of another file: each file is parsed alone",
}

ADMIN = Actor("root", frozenset({"admin"}))


def _params():
    for entry in MANIFEST:
        marks = []
        if entry["file"] in GAPS:
            marks.append(pytest.mark.xfail(strict=True, reason=GAPS[entry["file"]]))
        yield pytest.param(entry, id=entry["file"].split("__")[0], marks=marks)


@pytest.fixture
def eng(db_url, clock):
    engine = make_engine(db_url, clock, procedures={})
    yield engine
    engine.db_engine.dispose()


def _open_tasks(eng, case_id: int, element_id: str) -> list[HumanTask]:
    with eng.session_factory() as s:
        return list(s.scalars(sa.select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.element_id == element_id, HumanTask.state == "ready")
            .order_by(HumanTask.created_at, HumanTask.id)))


def _worker(row: HumanTask) -> Actor:
    """Someone the task is offered to."""
    login = row.assignee or (row.users()[0] if row.users() else "root")
    return Actor(login, frozenset(row.groups()) | {"admin"})


def _starter_groups(raw: bytes) -> frozenset[str]:
    """camunda:candidateStarterGroups of the executable process: the starter holds them."""
    root = parse_xml_safely(raw)
    value = " ".join(p.get("{http://camunda.org/schema/1.0/bpmn}candidateStarterGroups") or ""
                     for p in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}process"))
    return frozenset(g.strip() for g in value.replace(",", " ").split() if g.strip())


def _ends(eng, case_id: int, raw: bytes) -> tuple[str, list[str]]:
    """The case's status and where it ended: its end events and the elements without an outgoing flow
    (Camunda's implicit end, e.g. a boundary timer leading nowhere) it completed, in its own process
    or in one of its event sub-processes (not in a process it called)."""
    root = parse_xml_safely(raw)
    bpmn = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    event_subprocesses = {n.get("id") for n in root.iter(bpmn + "subProcess") if n.get("triggeredByEvent") == "true"}
    sources = {f.get("sourceRef") for f in root.iter(bpmn + "sequenceFlow")}
    final = {n.get("id") for n in root.iter() if isinstance(n.tag, str) and n.tag.startswith(bpmn)
             and (n.tag == bpmn + "endEvent" or (n.tag == bpmn + "boundaryEvent" and n.get("id") not in sources))}
    with eng.session_factory() as s:
        case = s.get(Case, case_id)
        workflow = eng.runner.load(case, eng.definitions.get(s, case.definition_id))
        ends = [t.task_spec.bpmn_id for t in all_tasks(workflow) if t.state == TaskState.COMPLETED
                and t.task_spec.bpmn_id in final and _case_level(t.workflow, workflow, event_subprocesses)]
        return case.status, ends


def _case_level(sub, workflow, event_subprocesses: set) -> bool:
    """The case's own process, or one of its event sub-processes (Camunda ends the instance there)."""
    if sub is workflow:
        return True
    holder = workflow.get_task_from_id(sub.parent_task_id)
    return holder.task_spec.bpmn_id in event_subprocesses and holder.workflow is workflow


@pytest.mark.parametrize("entry", list(_params()))
def test_corpus_diagram(eng, clock, entry):
    for other in entry.get("deploy_with", []):
        eng.deploy((CORPUS / other).read_bytes())
    raw = (CORPUS / entry["file"]).read_bytes()
    if entry["expect"] == "refused":
        with pytest.raises(DefinitionError) as refused:
            eng.deploy(raw)
        assert REFUSAL_WORDS[entry["file"]].lower() in str(refused.value).lower(), str(refused.value)
        return
    eng.deploy(raw)
    actor = Actor(ADMIN.username, ADMIN.roles | _starter_groups(raw))
    case_id = eng.start_case(entry["process_id"], actor, entry.get("start_data", {}))
    for step in entry.get("steps", []):
        if "advance_time" in step:
            clock.advance(**TimerEventDefinition.parse_iso_duration(step["advance_time"]))
            timer_service.fire_round(eng)
            continue
        rows = _open_tasks(eng, case_id, step["complete"])
        assert rows, f"no open task {step['complete']}"
        eng.complete_task(rows[0].id, _worker(rows[0]), step.get("data", {}))
    status, ends = _ends(eng, case_id, raw)
    expected = entry["end"] if isinstance(entry["end"], list) else [entry["end"]]
    assert status == "completed"
    assert Counter(ends) == Counter(expected)
