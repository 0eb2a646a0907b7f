"""Case state serialization: one JSON document per case, the spec stored once per version.

The library's serializer embeds the whole process spec in every workflow; we strip it on save and
hand the cached, already-restored spec objects back on load.
"""
from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from uuid import UUID
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.defaults import StartEvent

from SpiffWorkflow.bpmn.serializer.default.event_definition import (
    MessageEventDefinitionConverter as DefaultMessageEventDefinitionConverter,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as DefaultMessageEventDefinition

from .events import CycleBoundaryEventJoin, InterruptingStartEvent
from .loops import GovParallelMultiInstanceTask, GovSequentialMultiInstanceTask
from .timers import (
    ClockCycleTimerEventDefinition, ClockDurationTimerEventDefinition, ClockTimeDateEventDefinition,
)

SERIALIZER_VERSION = VERSION
VERSION_KEY = BpmnWorkflowSerializer.VERSION_KEY


@dataclass
class SpecBundle:
    """A parsed definition version: the top process spec and the specs it calls."""

    spec: Any
    subprocess_specs: dict[str, Any] = field(default_factory=dict)
    spec_dict: dict | None = None


class SharedSpecWorkflowConverter(BpmnWorkflowConverter):
    """Saves a workflow without its specs (stored once per definition version) and restores it onto
    spec objects that are already restored and cached."""

    def to_dict(self, workflow):
        # BpmnWorkflowConverter.to_dict minus 'spec' and 'subprocess_specs': converting the specs
        # on every save only to drop them was a quarter of the cost of a save.
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        spec = dct.pop("spec")
        subprocess_specs = dct.pop("subprocess_specs", {}) or {}
        if isinstance(spec, dict):
            spec = self.registry.restore(spec)
            subprocess_specs = self.mapping_from_dict(subprocess_specs)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _config() -> dict:
    config = dict(CAMUNDA_CONFIG)
    config[ClockTimeDateEventDefinition] = TimerConditionalEventDefinitionConverter
    config[ClockDurationTimerEventDefinition] = TimerConditionalEventDefinitionConverter
    config[ClockCycleTimerEventDefinition] = TimerConditionalEventDefinitionConverter
    config[BpmnWorkflow] = SharedSpecWorkflowConverter
    config[GovSequentialMultiInstanceTask] = MultiInstanceTaskConverter  # engine.spiff.loops
    config[GovParallelMultiInstanceTask] = MultiInstanceTaskConverter
    config[InterruptingStartEvent] = config[StartEvent]  # engine.spiff.events
    # a receive task's message (engine.camunda: one nothing sends) is SpiffWorkflow's plain one
    config[DefaultMessageEventDefinition] = DefaultMessageEventDefinitionConverter
    config[CycleBoundaryEventJoin] = config[BoundaryEventJoin]
    return config


class CaseSerializer:
    def __init__(self):
        registry = BpmnWorkflowSerializer.configure(_config())
        registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
        registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
        self._inner = BpmnWorkflowSerializer(registry=registry)
        self._registry = self._inner.registry

    @property
    def registry(self):
        """SpiffWorkflow's converter registry (a migration diffs specs with it)."""
        return self._registry

    def dumps_spec(self, bundle: SpecBundle) -> str:
        """Serialize a definition version's specs (stored once per version)."""
        return json.dumps({
            "spec": self._registry.convert(bundle.spec),
            "subprocess_specs": {k: self._registry.convert(v) for k, v in bundle.subprocess_specs.items()},
        })

    def loads_spec(self, text: str) -> SpecBundle:
        dct = json.loads(text)
        pristine = copy.deepcopy(dct)  # restoring consumes the dict; migrations need it intact
        return SpecBundle(
            spec=self._registry.restore(dct["spec"]),
            subprocess_specs={k: self._registry.restore(v) for k, v in dct["subprocess_specs"].items()},
            spec_dict=pristine,
        )

    def dumps_state(self, workflow: BpmnWorkflow) -> str:
        """Serialize a case's state without its spec; JSON-safe (dates, decimals, sets encoded)."""
        self._registry._encoder_mode = True
        try:
            dct = self._registry.convert(workflow)
            dct.pop("spec", None)
            dct.pop("subprocess_specs", None)
            dct[VERSION_KEY] = SERIALIZER_VERSION
            return json.dumps(dct, cls=self._inner._encoder_cls)
        finally:
            self._registry._encoder_mode = False

    def loads_state(self, text: str, bundle: SpecBundle) -> BpmnWorkflow:
        """Restore a case onto the cached specs, migrating states saved by older library versions."""
        dct = json.loads(text, cls=self._inner.json_decoder_cls)
        version = dct.pop(VERSION_KEY, None)
        if version != SERIALIZER_VERSION:
            dct.update(self._spec_dicts(bundle))
            if version in MIGRATIONS:
                MIGRATIONS[version](dct)
            return self._registry.restore(dct)
        dct["spec"] = bundle.spec
        dct["subprocess_specs"] = dict(bundle.subprocess_specs)
        return self._registry.restore(dct)

    def _spec_dicts(self, bundle: SpecBundle) -> dict:
        if bundle.spec_dict is not None:
            return json.loads(json.dumps(bundle.spec_dict))
        return json.loads(self.dumps_spec(bundle))
