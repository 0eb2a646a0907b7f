"""Camunda 7 diagrams as they are: prepared once at deploy time, before SpiffWorkflow's parser sees them.

``prepare(root)`` rewrites the parsed XML tree in place and returns the warnings for what it ignores:

1. The deprecated ``http://activiti.org/bpmn`` namespace is read as Camunda's.
2. Sequence flows without an ``id`` (optional in BPMN 2.0) get a stable one,
   ``flow_<source>_<target>_<n>`` (SpiffWorkflow drops flows without an id, silently).
3. What govflow cannot run is refused (``DefinitionError`` naming the element and what to do instead):
   Java service/send/business-rule tasks, external tasks, scripts that are not Python or live in
   another resource, compensation, and messages or signals nothing in govflow sends.
4. JUEL (``${...}``/``#{...}``) is translated into the restricted diagram Python with
   ``engine.spiff.juel``: conditions, timers, multi-instance settings. In ``camunda:assignee``,
   ``camunda:candidateUsers`` and ``camunda:candidateGroups`` an expression becomes ``=<python>``,
   evaluated by the case's script engine when the task is created (``engine.runner._expand``).
   Out-of-subset JUEL is a ``DefinitionError`` quoting the translator.
5. The standard ``loopDataInputRef``/``inputDataItem`` of a multi-instance activity become
   ``camunda:collection``/``camunda:elementVariable`` (what SpiffWorkflow's Camunda parser reads).

Every Camunda attribute or element that has no effect in govflow is a warning (``Warning``).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from .errors import DefinitionError
from .messages import msg
from .spiff.juel import JuelError, is_juel, translate
from .spiff.timers import is_cron, parse_cycle

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ACTIVITI_NS = "http://activiti.org/bpmn"
B = "{%s}" % BPMN_NS
C = "{%s}" % CAMUNDA_NS
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}
EXPRESSION_PREFIX = "="  # an assignee/candidate written as an expression: "=<python>"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

TASKS_WITH_CODE = ("serviceTask", "sendTask", "businessRuleTask")
# Camunda attributes govflow reads (everything else in the camunda namespace is a warning).
SUPPORTED_ATTRIBUTES = {"assignee", "candidateUsers", "candidateGroups", "candidateStarterGroups",
                        "candidateStarterUsers", "collection", "elementVariable"}
IGNORED_ATTRIBUTES = {
    "asyncBefore": "runs synchronously (no job executor)", "asyncAfter": "runs synchronously (no job executor)",
    "async": "runs synchronously (no job executor)", "exclusive": "runs synchronously (no job executor)",
    "jobPriority": "there are no jobs", "taskPriority": "there are no external tasks",
    "priority": "tasks have no priority", "dueDate": "tasks are due by the procedure's statutory periods",
    "followUpDate": "tasks have no follow-up date", "historyTimeToLive": "the audit trail keeps every case",
    "versionTag": "versions are numbered at deployment", "isStartableInTasklist": "the start page lists what a "
    "person may start", "formRef": "forms come from camunda:formData", "formRefBinding": "forms come from "
    "camunda:formData", "formRefVersion": "forms come from camunda:formData", "initiator": "the case records who "
    "started it", "calledElementBinding": "the newest version is called", "calledElementVersion": "the newest "
    "version is called", "calledElementTenantId": "there are no tenants", "resultVariable": "the result is not kept",
    "errorCodeVariable": "error codes are not stored", "errorMessageVariable": "error messages are not stored",
    "formKey": "the form comes from camunda:formData", "variableMappingClass": "no Java", "variableMappingDelegateExpression": "no Java",
}
IGNORED_ELEMENTS = {
    "executionListener": "execution listeners do not run", "taskListener": "task listeners do not run",
    "inputOutput": "input/output mappings are not applied", "in": "call-activity variables are not mapped",
    "out": "call-activity variables are not mapped", "failedJobRetryTimeCycle": "there are no jobs to retry",
    "field": "field injection needs Java", "connector": "connectors do not run",
}


@dataclass(frozen=True)
class Warning:
    """Something in a diagram that has no effect in govflow, at its element."""

    message: str
    element_id: str | None = None
    element_name: str | None = None


def prepare(root) -> list[Warning]:
    """Rewrite a parsed diagram in place for SpiffWorkflow; refuse what cannot run; list what is ignored."""
    _read_activiti_as_camunda(root)
    _name_flows(root)
    _unconditional_gateway_flows(root)
    _refuse(root)
    _receive_tasks_wait(root)
    warnings = _warnings(root)
    _standard_loop_data(root)
    _translate(root)
    return warnings


# -- 1. namespaces ---------------------------------------------------------------------------------

def _read_activiti_as_camunda(root) -> None:
    old = "{%s}" % ACTIVITI_NS
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        if node.tag.startswith(old):
            node.tag = C + node.tag[len(old):]
        for key in [k for k in node.attrib if k.startswith(old)]:
            node.set(C + key[len(old):], node.attrib.pop(key))


# -- 2. flows without an id --------------------------------------------------------------------------

def _name_flows(root) -> None:
    taken = {node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id")}
    seen: Counter = Counter()
    for flow in root.iter(B + "sequenceFlow"):
        if flow.get("id"):
            continue
        base = f"flow_{flow.get('sourceRef')}_{flow.get('targetRef')}"
        while True:
            seen[base] += 1
            candidate = f"{base}_{seen[base]}"
            if candidate not in taken:
                break
        taken.add(candidate)
        flow.set("id", candidate)


def _unconditional_gateway_flows(root) -> None:
    """Camunda takes the first outgoing flow of an exclusive gateway (document order) whose condition is
    true or absent; SpiffWorkflow wants a condition on every flow but the default. The last flow without
    a condition becomes the default; one before other flows gets the condition ``True``."""
    for process in root.iter(B + "process", B + "subProcess"):
        flows = [f for f in process if f.tag == B + "sequenceFlow"]
        for gateway in process:
            if gateway.tag not in (B + "exclusiveGateway", B + "inclusiveGateway"):
                continue
            out = [f for f in flows if f.get("sourceRef") == gateway.get("id")]
            if len(out) < 2:
                continue
            bare = [f for f in out if f.find(B + "conditionExpression") is None and f.get("id") != gateway.get("default")]
            for flow in bare:
                if flow is out[-1] and not gateway.get("default"):
                    gateway.set("default", flow.get("id"))
                else:
                    condition = flow.makeelement(B + "conditionExpression", {})
                    condition.text = "True"
                    flow.insert(0, condition)


# -- 3. refusals -------------------------------------------------------------------------------------

def _element(node):
    while node is not None and (node.get("id") is None or node.tag.endswith("EventDefinition")):
        node = node.getparent()
    return (node.get("id"), node.get("name")) if node is not None else (None, None)


def _refused(node, code: str, text: str, **params) -> DefinitionError:
    return DefinitionError(msg(code, text, **params), *_element(node))


def _local(node) -> str:
    return node.tag.rsplit("}", 1)[-1] if isinstance(node.tag, str) else ""


def _refuse(root) -> None:
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag == B + "compensateEventDefinition":
            raise _refused(node, "camunda.compensation", "compensation is not supported; model the undoing "
                           "steps as ordinary tasks on the path that needs them")
    for node in root.iter():
        if not isinstance(node.tag, str) or not node.tag.startswith(B):
            continue
        kind = _local(node)
        if kind in TASKS_WITH_CODE:
            _refuse_task_with_code(node, kind)
        elif kind == "scriptTask":
            _refuse_script(node)
        elif node.get("isForCompensation") == "true":
            raise _refused(node, "camunda.compensation", "compensation is not supported; model the undoing "
                           "steps as ordinary tasks on the path that needs them")
        elif kind == "receiveTask":
            if not _has_timer_way_out(root, node):
                raise _refused(node, "camunda.receive_task", "nothing in govflow sends messages, so this receive "
                               "task would wait forever; use a user task (someone records what arrived) or "
                               "attach an interrupting timer")
        elif kind in ("messageEventDefinition", "signalEventDefinition"):
            _refuse_event(root, node, kind)
    for node in root.iter(B + "timeCycle"):
        _refuse_cycle(node)


def _refuse_cycle(node) -> None:
    """Quartz cron is refused (govflow counts cycles as ISO 8601 repetitions); a literal ``R/…`` must
    parse. A cycle expression (``cycle(workdays(5))``, JUEL) is checked when it runs."""
    text = (node.text or "").strip()
    if is_cron(text):
        raise _refused(node, "camunda.cron", "timeCycle {value} is a cron expression, which govflow does not "
                       "evaluate; write an ISO 8601 repetition such as R/PT5M (every 5 minutes from when the "
                       "timer is entered), R3/PT10M, or cycle(workdays(5)) for working days", value=text)
    event = node.getparent().getparent() if node.getparent() is not None else None
    if event is None or not _repeats(event):
        raise _refused(node, "definition.cycle_timer", "a timeCycle repeats only on a non-interrupting boundary "
                       "timer (cancelActivity=\"false\") or the timer start of an event sub-process "
                       "(isInterrupting=\"false\"); use a timeDate or timeDuration here")
    if text[:1] in "rR" and "/" in text:
        try:
            parse_cycle(text, datetime.now(timezone.utc))
        except Exception as exc:  # noqa: BLE001 - SpiffWorkflow's duration parser raises Exception
            raise _refused(node, "camunda.cycle", "timeCycle {value}: {error}", value=text,
                           error=str(exc)) from None


def _refuse_task_with_code(node, kind: str) -> None:
    if node.get(C + "type") == "external":
        raise _refused(node, "camunda.external_task", "{kind} is an external task (topic {topic}) and govflow "
                       "has no external-task workers; use a user task, or a python script task calling a "
                       "procedure function", kind=kind, topic=node.get(C + "topic") or "?")
    for attribute in ("class", "delegateExpression", "expression", "decisionRef"):
        value = node.get(C + attribute)
        if value:
            raise _refused(node, "camunda.java_task", "{kind} with camunda:{attribute}={value} needs Java or "
                           "Camunda's expression engine; use a python script task calling a procedure function, "
                           "or a user task", kind=kind, attribute=attribute, value=value)
    if node.find(f"{B}extensionElements/{C}connector") is not None:
        raise _refused(node, "camunda.connector", "{kind} with a camunda:connector cannot run in govflow; use a "
                       "python script task calling a procedure function", kind=kind)
    raise _refused(node, "camunda.task_without_code", "{kind} has no implementation govflow can run; use a "
                   "python script task or a user task", kind=kind)


def _refuse_script(node) -> None:
    language = (node.get("scriptFormat") or "python").strip().lower()
    if language not in ("python", "python3", "py"):
        raise _refused(node, "camunda.script_format", "scriptTask scriptFormat={language}: govflow runs only "
                       "python scripts (restricted); rewrite the script in python", language=language)
    resource = node.get(C + "resource")
    if resource:
        raise _refused(node, "camunda.script_resource", "scriptTask camunda:resource={resource}: the script "
                       "must be written inside the diagram (bpmn:script)", resource=resource)


def _repeats(event) -> bool:
    """Where a cycle can fire more than once: a non-interrupting boundary event, or the start event of
    a non-interrupting event sub-process."""
    if _local(event) == "boundaryEvent":
        return event.get("cancelActivity", "true") == "false"
    parent = event.getparent()
    return (_local(event) == "startEvent" and parent is not None and _local(parent) == "subProcess"
            and parent.get("triggeredByEvent") == "true" and event.get("isInterrupting", "true") == "false")


NEVER_SENT = "govflow_never_sent"


def _receive_tasks_wait(root) -> None:
    """A receive task without a message waits, as in Camunda (only its timer leads on): SpiffWorkflow
    reads it as a none event and passes straight through. It gets a message nothing sends."""
    tasks = [t for t in root.iter(B + "receiveTask")
             if not t.get("messageRef") and t.find(B + "messageEventDefinition") is None]
    if not tasks:
        return
    if not any(m.get("id") == NEVER_SENT for m in root.iter(B + "message")):
        message = root.makeelement(B + "message", {"id": NEVER_SENT, "name": NEVER_SENT})
        root.insert(0, message)
    for task in tasks:
        task.set("messageRef", NEVER_SENT)


def _has_timer_way_out(root, activity) -> bool:
    """An interrupting timer boundary event on ``activity``: the case does not wait forever."""
    for event in root.iter(B + "boundaryEvent"):
        if (event.get("attachedToRef") == activity.get("id") and event.get("cancelActivity", "true") != "false"
                and event.find(B + "timerEventDefinition") is not None):
            return True
    return False


def _refuse_event(root, definition, kind: str) -> None:
    event = definition.getparent()
    what = "message" if kind.startswith("message") else "signal"
    name = _local(event)
    if name in ("endEvent", "intermediateThrowEvent"):
        return  # thrown: nothing listens (a warning, see _warnings)
    if name == "boundaryEvent":
        return  # the activity can still end without it (a warning)
    if name == "startEvent" and event.getparent() is not None and _local(event.getparent()) == "subProcess":
        return  # an event sub-process never triggered (a warning)
    if name == "startEvent" and any(start.find(B + "messageEventDefinition") is None
                                    and start.find(B + "signalEventDefinition") is None
                                    and start.find(B + "timerEventDefinition") is None
                                    for start in event.getparent().findall(B + "startEvent")):
        return  # another, none start event starts the case (a warning)
    raise _refused(event, "camunda.message_catch", "nothing in govflow sends {what}s, so this {name} would "
                   "never be triggered; use a none start event, a user task or a timer instead",
                   what=what, name=name)


# -- 4. JUEL -----------------------------------------------------------------------------------------

def _juel(node, text: str) -> str:
    try:
        return translate(text)
    except JuelError as exc:
        raise _refused(node, "camunda.juel", "{error}", error=str(exc)) from None


def _translate(root) -> None:
    paths = (".//bpmn:conditionExpression | .//bpmn:timeDate | .//bpmn:timeDuration | .//bpmn:timeCycle"
             " | .//bpmn:loopCardinality | .//bpmn:completionCondition")
    for node in root.xpath(paths, namespaces=NS):
        text = (node.text or "").strip()
        if is_juel(text):
            node.text = _juel(node, text)
    for node in root.iter(B + "multiInstanceLoopCharacteristics"):
        for attribute in ("collection", "elementVariable"):
            value = (node.get(C + attribute) or "").strip()
            if value and is_juel(value):
                value = _juel(node, value)
                if not IDENTIFIER.fullmatch(value):
                    raise _refused(node, "camunda.collection", "camunda:{attribute} must name a variable "
                                   "(${{list}}), not compute one ({value})", attribute=attribute, value=value)
                node.set(C + attribute, value)
    for node in root.iter(B + "userTask"):
        value = node.get(C + "assignee")
        if value and is_juel(value.strip()):
            node.set(C + "assignee", EXPRESSION_PREFIX + _juel(node, value.strip()))
        for attribute in ("candidateUsers", "candidateGroups"):
            value = node.get(C + attribute)
            if value and is_juel(value):
                parts = [p.strip() for p in value.split(",") if p.strip()]
                node.set(C + attribute, ",".join(EXPRESSION_PREFIX + _juel(node, p) if is_juel(p) else p
                                                 for p in parts))


def _standard_loop_data(root) -> None:
    for node in root.iter(B + "multiInstanceLoopCharacteristics"):
        data_input = node.find(B + "loopDataInputRef")
        item = node.find(B + "inputDataItem")
        if data_input is not None and node.get(C + "collection") is None and node.find(B + "loopCardinality") is None:
            node.set(C + "collection", (data_input.text or "").strip())
            if item is not None and node.get(C + "elementVariable") is None:
                node.set(C + "elementVariable", item.get("name") or item.get("id"))


# -- 5. warnings -------------------------------------------------------------------------------------

def _warnings(root) -> list[Warning]:
    found: list[Warning] = []

    def warn(node, text: str) -> None:
        found.append(Warning(text, *_element(node)))

    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for key, value in node.attrib.items():
            if key.startswith(C):
                name = key[len(C):]
                if name in IGNORED_ATTRIBUTES:
                    warn(node, f"camunda:{name}={value!r} is ignored: {IGNORED_ATTRIBUTES[name]}")
                elif name not in SUPPORTED_ATTRIBUTES and name not in ("type", "topic", "class", "expression",
                                                                       "delegateExpression", "resource"):
                    warn(node, f"camunda:{name}={value!r} is ignored")
        if node.tag.startswith(C):
            name = node.tag[len(C):]
            if name in IGNORED_ELEMENTS and not _inside(node, C + "inputOutput"):
                warn(node, f"camunda:{name} is ignored: {IGNORED_ELEMENTS[name]}")
        kind = _local(node) if node.tag.startswith(B) else ""
        if kind in ("messageEventDefinition", "signalEventDefinition"):
            what = "message" if kind.startswith("message") else "signal"
            warn(node, f"the {what} of this event is ignored: govflow neither sends nor receives {what}s")
        elif node.get("isForCompensation") == "true":
            raise _refused(node, "camunda.compensation", "compensation is not supported; model the undoing "
                           "steps as ordinary tasks on the path that needs them")
        elif kind == "receiveTask":
            warn(node, "nothing in govflow sends messages: only the timer attached to this receive task leads on")
    return found


def _inside(node, tag: str) -> bool:
    parent = node.getparent()
    while parent is not None:
        if parent.tag == tag:
            return True
        parent = parent.getparent()
    return False


_REGISTRY = []


def check_specs(bundle) -> None:
    """Every parsed task spec can be stored: a class SpiffWorkflow parses but govflow's serializer does
    not know (e.g. Camunda's ServiceTask) is refused here, not at ``json.dumps`` with a TypeError."""
    if not _REGISTRY:
        from .spiff.serializer import CaseSerializer
        _REGISTRY.append(CaseSerializer().registry)
    registry = _REGISTRY[0]
    for process in [bundle.spec, *bundle.subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            if type(task_spec) not in registry.typenames:
                raise DefinitionError(msg("camunda.unsupported_element", "{kind} is not supported by govflow",
                                          kind=type(task_spec).__name__),
                                      getattr(task_spec, "bpmn_id", None), getattr(task_spec, "bpmn_name", None))
