"""BPMN parser for the Camunda 7 dialect written by bpmn-js and the desktop Camunda Modeler.

Extends SpiffWorkflow's CamundaParser: candidate groups/users, assignee, generated forms (with or
without a formKey), properties, and timer literals written without quotes.
"""
from __future__ import annotations

import re

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser
from SpiffWorkflow.bpmn.parser.util import first
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent, EndEvent, IntermediateCatchEvent, IntermediateThrowEvent, StartEvent,
)
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser, CamundaEndEventParser, CamundaIntermediateCatchEventParser,
    CamundaIntermediateThrowEventParser, CamundaStartEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser, UserTaskParser
from SpiffWorkflow.bpmn.specs.defaults import NoneTask
from SpiffWorkflow.camunda.specs.multiinstance_task import SequentialMultiInstanceTask
from SpiffWorkflow.camunda.specs.user_task import UserTask

from .events import InterruptingStartEvent, swap_cycle_joins
from .loops import GovParallelMultiInstanceTask, GovSequentialMultiInstanceTask
from .timers import (
    ClockCycleTimerEventDefinition, ClockDurationTimerEventDefinition, ClockTimeDateEventDefinition,
)

MAX_XML_BYTES = 2 * 1024 * 1024

ISO_DURATION = r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
ISO_DATETIME = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
ISO_CYCLE = r"R\d*/.+"
ISO_LITERAL = re.compile(rf"(?:{ISO_DURATION}|{ISO_DATETIME}|{ISO_CYCLE})", re.IGNORECASE)


def timer_expression(text: str | None) -> str:
    """Return a Python expression for a timer body: ISO literals are quoted, expressions kept."""
    text = (text or "").strip()
    if not text:
        raise ValueError("empty timer expression")
    if text[0] in "'\"":
        return text
    if ISO_LITERAL.fullmatch(text):
        return repr(text.upper() if text[0] in "pPrR" else text)
    return text


class TimerParserMixin:
    """Builds clock-aware timer definitions and accepts unquoted ISO 8601 literals."""

    def parse_extensions(self, node=None):
        props = self.xpath(".//bpmn:extensionElements/camunda:properties/camunda:property")
        return {"properties": {p.get("name"): p.get("value") for p in props}}

    def parse_timer_event(self, event):
        name = self.node.get("name", self.node.get("id"))
        description = self.get_event_description(event)
        for tag, cls in (("timeDate", ClockTimeDateEventDefinition),
                         ("timeDuration", ClockDurationTimerEventDefinition),
                         ("timeCycle", ClockCycleTimerEventDefinition)):
            node = first(self._xpath(event, f".//bpmn:{tag}"))
            if node is not None:
                try:
                    expression = timer_expression(node.text)
                except ValueError as exc:
                    self.raise_validation_exception(f"Time Specification Error. {exc}")
                return cls(name, expression, description=description)
        self.raise_validation_exception("Unknown Time Specification")


class GovStartEventParser(TimerParserMixin, CamundaStartEventParser):
    def create_task(self):
        task = super().create_task()
        parent = self.node.getparent()
        if (parent is not None and parent.tag == BPMN_TAG_PREFIX + "subProcess"
                and parent.get("triggeredByEvent") == "true" and self.node.get("isInterrupting", "true") != "false"
                and type(task) is StartEvent):
            task.__class__ = InterruptingStartEvent  # engine.spiff.events: SpiffWorkflow never interrupts
        return task


class GovEndEventParser(TimerParserMixin, CamundaEndEventParser):
    pass


class GovIntermediateCatchEventParser(TimerParserMixin, CamundaIntermediateCatchEventParser):
    pass


class GovIntermediateThrowEventParser(TimerParserMixin, CamundaIntermediateThrowEventParser):
    pass


class GovBoundaryEventParser(TimerParserMixin, CamundaBoundaryEventParser):
    pass


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


class GovUserTaskParser(UserTaskParser):
    """Keeps candidate groups/users, assignee and the full generated form in ``extensions``."""

    def _add_multiinstance_task(self, loop_characteristics):
        """Fix a collection-based multi-instance task's input references at parse time.

        SpiffWorkflow's Camunda variant sets them only when the task first runs, mutating the spec;
        a spec restored in another process has them unset, and a finished instance's item is then
        appended to the collection instead of written in place.
        """
        super()._add_multiinstance_task(loop_characteristics)
        # Camunda's loop variables (engine.spiff.loops): the same task, with loopCounter & co.
        self.task.__class__ = (GovSequentialMultiInstanceTask if isinstance(self.task, SequentialMultiInstanceTask)
                               else GovParallelMultiInstanceTask)
        if self.task.cardinality is None and self.task.data_output is not None:
            self.task.data_input = TaskDataReference(self.task.data_output.bpmn_id)
            if self.task.output_item is not None:
                self.task.input_item = TaskDataReference(self.task.output_item.bpmn_id)

    def parse_extensions(self, node=None):
        fields = self.xpath(".//camunda:formData/camunda:formField")
        return {
            # no camunda:formData: the API may set variables on completion, as in Camunda (engine.forms)
            "variables": not self.xpath(".//camunda:formData"),
            "properties": super().parse_extensions(node),
            "candidate_groups": _split(self.attribute("candidateGroups", "camunda")),
            "candidate_users": _split(self.attribute("candidateUsers", "camunda")),
            "assignee": self.attribute("assignee", "camunda"),
            "form_key": self.attribute("formKey", "camunda"),
            "form": [self._field(f) for f in fields],
        }

    def _field(self, node) -> dict:
        ns = "{" + self.nsmap["camunda"] + "}"
        field = {
            "id": node.get("id"), "label": node.get("label") or node.get("id"),
            "type": node.get("type") or "string", "default": node.get("defaultValue"),
            "options": [], "validation": {}, "properties": {},
        }
        for child in node:
            if child.tag == f"{ns}value":
                field["options"].append({"id": child.get("id"), "name": child.get("name") or child.get("id")})
            elif child.tag == f"{ns}validation":
                field["validation"] = {c.get("name"): c.get("config") for c in child}
            elif child.tag == f"{ns}properties":
                field["properties"] = {c.get("id"): c.get("value") for c in child}
        return field


BPMN_TAG_PREFIX = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


class AbstractTaskParser(CamundaTaskParser):
    """A plain ``bpmn:task`` (abstract, no type) passes straight through, as in Camunda: SpiffWorkflow
    makes it a manual task, so the case waited for a person on a task nobody is offered."""

    def create_task(self):
        task = super().create_task()
        task.manual = False
        return task


class GovProcessParser(ProcessParser):
    """Indexes only BPMN elements by id.

    The library indexes every element with an id, so a ``camunda:value id="approve"`` inside a
    form silently replaces the user task ``approve`` it belongs to.
    """

    def _index_process_nodes(self):
        super()._index_process_nodes()
        for node in self.xpath(".//*[@id]"):
            if node.tag.startswith(BPMN_TAG_PREFIX) and not _inside_extension(node):
                self.nodes_by_id[node.get("id")] = node


def _inside_extension(node) -> bool:
    parent = node.getparent()
    while parent is not None:
        if parent.tag == BPMN_TAG_PREFIX + "extensionElements":
            return True
        parent = parent.getparent()
    return False


class GovParser(CamundaParser):
    PROCESS_PARSER_CLASS = GovProcessParser
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (GovUserTaskParser, UserTask),
        full_tag("task"): (AbstractTaskParser, NoneTask),
        full_tag("startEvent"): (GovStartEventParser, StartEvent),
        full_tag("endEvent"): (GovEndEventParser, EndEvent),
        full_tag("intermediateCatchEvent"): (GovIntermediateCatchEventParser, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (GovIntermediateThrowEventParser, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (GovBoundaryEventParser, BoundaryEvent),
    }

    def get_spec(self, process_id, required=True):
        spec = super().get_spec(process_id, required)
        if spec is not None:
            swap_cycle_joins(spec)  # engine.spiff.events: a repeating timer's branches outlive it
        return spec

    def add_bpmn_str(self, bpmn_str, filename=None):
        self.add_bpmn_xml(parse_xml_safely(bpmn_str), filename)


class UnsafeXml(ValueError):
    """XML refused before parsing: too large, a DTD/entity, or not well-formed."""


def _declares_dtd(raw: bytes) -> bool:
    text = raw
    for bom, codec in ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\x00<", "utf-16-be"),
                       (b"<\x00", "utf-16-le")):
        if raw.startswith(bom):
            text = raw.decode(codec, errors="replace").encode("utf-8")
            break
    return b"<!DOCTYPE" in text or b"<!ENTITY" in text


def parse_xml_safely(data: bytes | str):
    """Parse untrusted XML: size limit, no DTD, no entities, no network."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_XML_BYTES:
        raise UnsafeXml(f"the diagram is {len(raw)} bytes; the limit is {MAX_XML_BYTES}")
    if _declares_dtd(raw):
        raise UnsafeXml("DOCTYPE and entity declarations are not allowed in diagrams")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise UnsafeXml(f"the diagram is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:  # e.g. a DTD in a UTF-16 document
        raise UnsafeXml("DOCTYPE and entity declarations are not allowed in diagrams")
    return root
