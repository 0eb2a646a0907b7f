"""What analysts need to change diagrams safely: validation, version diffs, migrating running cases."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from . import incidents
from .verbs.incidents import RETRY_ACTOR
from . import audit, definitions
from .errors import AlreadyDone, DefinitionError, GovflowError, NotFound
from .models import Case, DefinitionVersion
from .deadlines import MAX_WORKING_DAYS
from .spiff.parser import ISO_LITERAL, UnsafeXml, parse_xml_safely, timer_expression
from .uow import Actor
from .messages import Message, msg

NS = definitions.NS
BPMN = "{%s}" % definitions.BPMN_NS
FLOW_NODES = ("startEvent", "endEvent", "userTask", "scriptTask", "task", "manualTask", "exclusiveGateway",
              "parallelGateway", "inclusiveGateway", "intermediateCatchEvent", "intermediateThrowEvent",
              "boundaryEvent", "serviceTask", "callActivity", "subProcess", "eventBasedGateway")
DEADLINE_FUNCTIONS = {"workdays", "remind_before"}
PERIOD_FUNCTIONS = {"period_due", "period_reminder"}  # engine.periods: named statutory periods


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a diagram, pointing at the element (id and name) the page highlights."""

    message: str
    element_id: str | None = None
    element_name: str | None = None
    severity: str = "error"

    def as_dict(self) -> dict:
        return {"message": self.message, "element_id": self.element_id, "element_name": self.element_name,
                "severity": self.severity}


def validate_diagram(engine, xml: bytes | str) -> list[Problem]:
    """All problems found, not just the first: an empty list means the draft may be deployed."""
    try:
        root = parse_xml_safely(definitions.normalise(xml))
    except UnsafeXml as exc:
        return [Problem(str(exc))]
    problems: list[Problem] = []
    try:
        process_id = definitions._top_process(root)[0]
    except DefinitionError as exc:
        return [Problem(exc.args[0])]
    process = root.xpath("./bpmn:process[@isExecutable='true']", namespaces=NS)[0]
    for check in (_check_roles, _check_gateways, _check_reachable):
        problems.extend(check(process))
    problems.extend(_check_timers(engine, process))
    try:
        parsed = definitions.parse_diagram(definitions.normalise(xml), engine.allowed_calls(process_id))
    except DefinitionError as exc:
        problems.append(Problem(exc.args[0], exc.element_id, exc.element_name))
    else:  # what the diagram says that has no effect here (engine.camunda): shown, never silent
        problems.extend(Problem(w.message, w.element_id, w.element_name, "warning") for w in parsed.warnings)
    return _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, result = set(), []
    for p in problems:
        if (p.message, p.element_id) not in seen:
            seen.add((p.message, p.element_id))
            result.append(p)
    return result


def _name(node) -> str | None:
    return node.get("name")


def _check_roles(process) -> list[Problem]:
    from .domain.org import ROLES
    problems = []
    starters = definitions.starters_of_process(process)
    for group in sorted(starters.groups - ROLES.keys()):
        problems.append(Problem(msg("model.unknown_starter_role", "unknown role {role!r} among who may start the "
                                    "process (candidate starter groups); known: {known}", role=group,
                                    known=", ".join(ROLES)), process.get("id"), _name(process)))
    for task in process.iter(BPMN + "userTask"):
        groups = [g.strip() for g in (task.get("{%s}candidateGroups" % NS["camunda"]) or "").split(",") if g.strip()]
        users = task.get("{%s}candidateUsers" % NS["camunda"]) or task.get("{%s}assignee" % NS["camunda"])
        if not groups and not users:
            problems.append(Problem(msg("model.no_candidate_group", "the user task names no candidate group"),
                                    task.get("id"), _name(task)))
        for group in groups:
            if group not in ROLES:
                problems.append(Problem(msg("model.unknown_role", "unknown role {role!r}; known: {known}", role=group,
                                            known=", ".join(ROLES)),
                                        task.get("id"), _name(task)))
    return problems


def _check_gateways(process) -> list[Problem]:
    problems = []
    flows = {f.get("id"): f for f in process.iter(BPMN + "sequenceFlow")}
    for tag in ("exclusiveGateway", "inclusiveGateway"):
        for gateway in process.iter(BPMN + tag):
            outgoing = [f for f in flows.values() if f.get("sourceRef") == gateway.get("id")]
            if len(outgoing) < 2:
                continue
            default = gateway.get("default")
            for flow in outgoing:
                has_condition = flow.find(BPMN + "conditionExpression") is not None
                if not has_condition and flow.get("id") != default:
                    problems.append(Problem(msg("model.flow_without_condition",
                                                "a gateway flow has no condition and is not the default flow"),
                                            gateway.get("id"), _name(gateway)))
            if default is None:
                problems.append(Problem(msg("model.no_default_flow", "the gateway has no default flow"),
                                        gateway.get("id"), _name(gateway)))
    return problems


def _check_reachable(process) -> list[Problem]:
    nodes = {n.get("id"): n for tag in FLOW_NODES for n in process.iter(BPMN + tag)}
    edges: dict[str, list[str]] = {}
    for flow in process.iter(BPMN + "sequenceFlow"):
        edges.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    for boundary in process.iter(BPMN + "boundaryEvent"):
        edges.setdefault(boundary.get("attachedToRef"), []).append(boundary.get("id"))
    todo = [n.get("id") for n in process.iter(BPMN + "startEvent")]
    seen = set(todo)
    while todo:
        for target in edges.get(todo.pop(), []):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return [Problem(msg("model.unreachable", "unreachable from the start event"), node_id, _name(node))
            for node_id, node in nodes.items() if node_id not in seen and node.getparent() is process]


def _check_timers(engine, process) -> list[Problem]:
    problems = []
    for node in process.xpath(".//bpmn:timeDate | .//bpmn:timeDuration", namespaces=NS):
        event = node.getparent().getparent()
        try:
            expression = timer_expression(node.text)
        except ValueError as exc:
            problems.append(Problem(msg("model.timer_invalid", "invalid timer: {error}", error=str(exc)),
                                    event.get("id"), _name(event)))
            continue
        problems.extend(_check_timer_expression(engine, expression, event, process.get("id")))
    return problems


def _check_timer_expression(engine, expression: str, event, process_id: str | None = None) -> list[Problem]:
    where = (event.get("id"), _name(event))
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return [Problem(msg("model.timer_syntax_error", "timer syntax error: {expression}", expression=expression),
                        *where)]
    constant = _constant(tree.body)
    if constant is not _NOT_CONSTANT:
        return [Problem(p, *where) for p in _check_timer_value(engine, constant)]
    if isinstance(tree.body, ast.Name) and ISO_LIKE.match(tree.body.id):
        return [Problem(msg("model.timer_not_iso", "not an ISO 8601 date or duration: {literal}",
                            literal=tree.body.id), *where)]
    periods = known_periods(engine)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "rules":
            if node.attr not in periods:
                problems.append(Problem(msg("model.unknown_rule_period", "no such period in the rule sets: {period!r}; "
                                            "known: {known}", period=node.attr, known=", ".join(sorted(periods))),
                                        *where))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in DEADLINE_FUNCTIONS:
            count = _constant(node.args[0]) if node.args else _NOT_CONSTANT
            if count is not _NOT_CONSTANT and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
                problems.append(Problem(msg("model.working_days_not_positive", "working days must be a positive whole number"),
                                        *where))
            elif count is not _NOT_CONSTANT and count > MAX_WORKING_DAYS:
                problems.append(Problem(msg("model.working_days_too_many", "at most {max} working days; a longer "
                                            "wait is not a statutory period", max=MAX_WORKING_DAYS), *where))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in PERIOD_FUNCTIONS:
            problems.extend(_check_period_call(engine, node, process_id, where))
    return problems


_NOT_CONSTANT = object()
ISO_LIKE = re.compile(r"^(?:[PR]\d|[PR]T\d)", re.IGNORECASE)  # a name that was meant as an ISO 8601 literal


def _constant(node: ast.AST):
    """The node's value when it is a constant expression (``-5``, ``'P3D'``, ``10 ** 7``), else
    _NOT_CONSTANT; integer arithmetic is folded only while it stays small (never ``10 ** 10 ** 9``)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Pow)):
        left, right = _constant(node.left), _constant(node.right)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right)):
            return _NOT_CONSTANT
        if abs(left).bit_length() > 64 or abs(right).bit_length() > 64:
            return _NOT_CONSTANT
        if isinstance(node.op, ast.Pow):
            if right < 0 or right * max(abs(left).bit_length(), 1) > 128:
                return _NOT_CONSTANT
            return left ** right
        return {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}[type(node.op)]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_CONSTANT


def _check_timer_value(engine, value) -> list[Message]:
    """A timer's constant value, evaluated as the engine will: a duration greater than zero or an
    instant still to come (against the engine's clock); a cycle is left to the cycle check."""
    if not isinstance(value, str) or not ISO_LITERAL.fullmatch(value.strip()):
        return [msg("model.timer_not_iso", "not an ISO 8601 date or duration: {literal}", literal=str(value))]
    text = value.strip()
    if text[:1] in "Pp":
        from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
        try:
            parsed = TimerEventDefinition.parse_iso_duration(text.upper())
        except Exception:  # noqa: BLE001 - the library's own refusal, whatever its type
            return [msg("model.timer_not_iso", "not an ISO 8601 date or duration: {literal}", literal=text)]
        if not any(parsed.values()):
            return [msg("model.timer_zero", "a duration of zero fires at once: {literal}", literal=text)]
        return []
    if text[:1] in "Rr":
        return []
    from .spiff.timers import due_instant
    try:
        instant = due_instant(text)
    except ValueError:
        return [msg("model.timer_not_iso", "not an ISO 8601 date or duration: {literal}", literal=text)]
    if instant <= engine.clock.now():
        return [msg("model.timer_in_the_past", "{literal} is in the past: the timer would fire at once for every "
                    "case; use a duration or workdays(n)", literal=text)]
    return []


def _check_period_call(engine, node: ast.Call, process_id: str | None, where) -> list[Problem]:
    """``period_due("name", ...)``: the name is a period the procedure declares (docs/deadlines.md)."""
    proc = engine.procedures.get(process_id or "")
    declared = sorted(proc.periods) if proc is not None else []
    name = node.args[0] if node.args else None
    if not isinstance(name, ast.Constant) or not isinstance(name.value, str):
        return [Problem(msg("model.period_name_not_constant", "the period's name must be a quoted constant"), *where)]
    if name.value not in declared:
        return [Problem(msg("model.undeclared_period", "the procedure declares no such period {period!r}; declared: "
                        "{declared}", period=name.value, declared=", ".join(declared) or "none"), *where)]
    return []


def known_periods(engine) -> set[str]:
    import json
    from .models import RuleSetRow
    with engine.uow() as uow:
        return {key for text in uow.session.scalars(sa.select(RuleSetRow.periods)) for key in json.loads(text)}


# -- versions ---------------------------------------------------------------------------------

@dataclass
class VersionDiff:
    added: list[tuple[str, str | None]] = field(default_factory=list)
    removed: list[tuple[str, str | None]] = field(default_factory=list)
    changed: list[tuple[str, str | None, list[str]]] = field(default_factory=list)


def diff_versions(engine, old_id: int, new_id: int) -> VersionDiff:
    """Elements added, removed and changed (with what changed) between two definition versions."""
    with engine.uow() as uow:
        old, new = (uow.session.get(DefinitionVersion, i) for i in (old_id, new_id))
        if old is None or new is None:
            raise NotFound(msg("definition.version_not_found", "no such definition version"))
        a, b = _elements(old.xml), _elements(new.xml)
    result = VersionDiff()
    result.added = [(i, b[i][0]) for i in b if i not in a]
    result.removed = [(i, a[i][0]) for i in a if i not in b]
    for i in a.keys() & b.keys():
        changes = [k for k in a[i][1] if a[i][1][k] != b[i][1].get(k)] + \
                  [k for k in b[i][1] if k not in a[i][1]]
        if changes:
            result.changed.append((i, b[i][0], sorted(set(changes))))
    result.changed.sort()
    return result


def _elements(xml: str) -> dict[str, tuple[str | None, dict[str, str]]]:
    from lxml import etree
    root = parse_xml_safely(xml.encode("utf-8"))
    process = root.xpath("./bpmn:process[@isExecutable='true']", namespaces=NS)[0]
    found = {}
    for node in process.iter():
        if not isinstance(node.tag, str) or not node.tag.startswith(BPMN) or node.get("id") is None:
            continue
        local = node.tag[len(BPMN):]
        if local in ("laneSet", "lane", "incoming", "outgoing"):
            continue
        attrs = {f"@{k.split('}')[-1]}": v for k, v in node.attrib.items()}
        attrs["type"] = local
        for child in node:
            if isinstance(child.tag, str) and child.get("id") is None and not child.tag.endswith(("incoming", "outgoing")):
                attrs[child.tag.split("}")[-1]] = etree.tostring(child, method="c14n").decode()
        found[node.get("id")] = (node.get("name"), attrs)
    return found


# -- migrating running cases -------------------------------------------------------------------

def _repoint_open_tasks(uow, case: Case, bundle) -> None:
    """Open inbox rows keep their claim but show the new version's name."""
    from .models import HumanTask
    for row in uow.session.scalars(sa.select(HumanTask).where(HumanTask.case_id == case.id,
                                                              HumanTask.state == "ready")):
        spec = bundle.spec.task_specs.get(row.element_id)
        row.definition_id = case.definition_id
        if spec is not None:
            row.name = (spec.bpmn_name or spec.bpmn_id)[:500]


@dataclass(frozen=True)
class MigrationCheck:
    case_id: int
    case_number: str
    from_version: int
    can_migrate: bool
    reasons: tuple[str, ...] = ()


def migration_report(engine, target_id: int) -> list[MigrationCheck]:
    """For every running case of the target's process on an older version: can it move, and why not."""
    with engine.uow() as uow:
        target = uow.session.get(DefinitionVersion, target_id)
        if target is None:
            raise NotFound(msg("definition.version_not_found", "no such definition version"))
        cases = uow.session.scalars(sa.select(Case).join(DefinitionVersion, Case.definition_id == DefinitionVersion.id)
                                    .where(Case.process_id == target.process_id,
                                           Case.status.in_(("running", incidents.OPEN)),
                                           DefinitionVersion.version < target.version).order_by(Case.id)).all()
        bundle = engine.definitions.get(uow.session, target_id)
        checks = []
        for case in cases:
            old = engine.definitions.get(uow.session, case.definition_id)
            reasons = _blockers(engine, engine.runner.load(case, old), bundle)
            checks.append(MigrationCheck(case.id, case.number, case.definition.version, not reasons, tuple(reasons)))
        return checks


def _blockers(engine, workflow, bundle) -> list[str]:
    registry = engine.serializer.registry
    top, subs = diff_workflow(registry, workflow, bundle.spec, bundle.subprocess_specs)
    reasons = []
    for task in top.removed:
        if task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED, TaskState.ERROR):
            reasons.append(msg("migration.current_task_removed", "its current task {task_id} was removed",
                               task_id=task.task_spec.bpmn_id,
                               task_name=task.task_spec.bpmn_name or task.task_spec.bpmn_id))
    for task in top.changed:
        if task.state == TaskState.COMPLETED and task.task_spec.bpmn_id:
            reasons.append(msg("migration.completed_task_changed", "a completed task changed: {task_id}",
                               task_id=task.task_spec.bpmn_id,
                               task_name=task.task_spec.bpmn_name or task.task_spec.bpmn_id))
    if any(d is None for d in subs.values()):
        reasons.append(msg("migration.subprocess_removed", "a running subprocess was removed"))
    return sorted(set(reasons))


def _joined(reasons: list) -> Message:
    """Several reasons as one message, each rendered in the reader's language."""
    if len(reasons) == 1:
        return reasons[0]
    return msg("common.semicolons", "{first}; {rest}", first=reasons[0], rest=_joined(reasons[1:]))


def migrate_case(engine, case_id: int, target_id: int, actor: Actor) -> None:
    """Move one running case to a newer version: explicit, audited, one transaction. A case stopped
    by an incident moves too, and its failed element runs again on the new version (the incident is
    resolved as ``migrated``; if the new version fails the same way, a new incident is opened)."""
    with engine.uow() as uow:
        case = engine.runner.lock(uow, case_id, incident=True)
        target = uow.session.get(DefinitionVersion, target_id)
        if target is None or target.process_id != case.process_id:
            raise NotFound(msg("migration.other_process", "the target version is not of this process"))
        if target.id == case.definition_id:
            raise AlreadyDone(msg("migration.already_on_version", "the case already runs on that version"))
        bundle = engine.definitions.get(uow.session, target.id)
        workflow = engine.runner.load(case, engine.definitions.get(uow.session, case.definition_id))
        reasons = _blockers(engine, workflow, bundle)
        if reasons:
            raise GovflowError(msg("migration.blocked", "cannot migrate: {reasons}", reasons=_joined(reasons)))
        top, _subs = diff_workflow(engine.serializer.registry, workflow, bundle.spec, bundle.subprocess_specs)
        migrate_workflow(top, workflow, bundle.spec)
        workflow.subprocess_specs = dict(bundle.subprocess_specs)
        old_version = case.definition.version
        case.definition_id = target.id
        case.definition = target
        _repoint_open_tasks(uow, case, bundle)
        uow.record(audit.Entry(engine.clock.now(), actor.username, "case_migrated", case.id, summary={
            "from_version": old_version, "to_version": target.version}))
        if case.status == incidents.OPEN:
            incidents.resume(uow, case, workflow, actor, "migrated", engine.clock.now())
            actor = RETRY_ACTOR  # runs on as a system job: a fault opens a new incident
        engine.runner.advance(uow, case, workflow, bundle, actor)
        uow.commit()
