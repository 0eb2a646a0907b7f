"""A case's diagram for the viewer: the definition version's XML and which elements are completed,
active (ready user tasks, waiting timers) or overdue (open tasks past their due instant)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .forms import FormField, fields_from_extensions
from .spiff.compaction import dropped_elements
from .models import Case, Deadline, DefinitionVersion, HumanTask
from . import deadline_state


@dataclass(frozen=True)
class CaseDiagram:
    xml: str
    completed: list[str]
    active: list[str]
    overdue: list[str]


def diagram_of(session, case: Case, workflow: BpmnWorkflow, now: datetime) -> CaseDiagram:
    """The case's diagram and element states; ``workflow`` is the case's loaded SpiffWorkflow state."""
    xml = session.scalar(sa.select(DefinitionVersion.xml).where(DefinitionVersion.id == case.definition_id))
    open_tasks = list(session.scalars(sa.select(HumanTask).where(
        HumanTask.case_id == case.id, HumanTask.state == "ready")))
    timers = set(session.scalars(sa.select(Deadline.element_id).where(
        Deadline.case_id == case.id, Deadline.state == "waiting")))
    return CaseDiagram(xml or "", completed=sorted(completed_elements(workflow)),
                       active=sorted({t.element_id for t in open_tasks} | timers),
                       overdue=sorted({t.element_id for t in open_tasks if is_overdue(t, now)}))


def completed_elements(workflow: BpmnWorkflow) -> set[str]:
    """The BPMN ids of every element the case has passed (events, tasks, gateways), including those
    whose tasks compaction dropped from a long case's tree."""
    return {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if getattr(t.task_spec, "bpmn_id", None)} | dropped_elements(workflow)


def is_overdue(task: HumanTask, now: datetime) -> bool:
    """The one rule of ``engine.deadline_state``: escalated, or past a published due date (a
    provisional date that passed is not overdue)."""
    return deadline_state.is_overdue(task, now)


def element_names(bundle) -> dict[str, str]:
    """The named elements of a parsed definition (its process and the processes it calls), by BPMN id."""
    return {spec.bpmn_id: spec.bpmn_name for spec in _specs(bundle) if getattr(spec, "bpmn_name", None)}


def element_forms(bundle) -> dict[str, list[FormField]]:
    """The form fields of every user task of a parsed definition, by BPMN id."""
    found = {spec.bpmn_id: fields_from_extensions(getattr(spec, "extensions", None)) for spec in _specs(bundle)}
    return {element_id: fields for element_id, fields in found.items() if fields}


def _specs(bundle):
    for process in [bundle.spec, *bundle.subprocess_specs.values()]:
        yield from (spec for spec in process.task_specs.values() if getattr(spec, "bpmn_id", None))
