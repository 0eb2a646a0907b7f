"""Deploying BPMN diagrams as definition versions, and the per-process cache of parsed specs."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from sqlalchemy.orm import Session

from . import camunda, forms
from .errors import DefinitionError
from .messages import msg
from .models import DefinitionVersion
from .spiff.parser import GovParser, UnsafeXml, parse_xml_safely, timer_expression
from .spiff.script import ForbiddenScript, check_script
from .spiff.serializer import CaseSerializer, SpecBundle

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS, "camunda": "http://camunda.org/schema/1.0/bpmn"}


@dataclass(frozen=True)
class ParsedDiagram:
    process_id: str
    name: str
    bundle: SpecBundle
    warnings: tuple = ()  # engine.camunda.Warning: what the diagram says that has no effect


def content_hash(xml: bytes) -> str:
    return hashlib.sha256(xml).hexdigest()


def parse_diagram(xml: bytes | str, allowed_calls: set[str]) -> ParsedDiagram:
    """Parse and check a diagram; raise DefinitionError naming the element at fault."""
    try:
        root = parse_xml_safely(xml)
    except UnsafeXml as exc:
        raise DefinitionError(str(exc)) from None
    process_id, name = _top_process(root)
    warnings = camunda.prepare(root)  # Camunda 7 as it is: flow ids, activiti, JUEL, refusals
    _check_expressions(root, allowed_calls)
    parser = GovParser()
    try:
        parser.add_bpmn_xml(root, filename=f"{process_id}.bpmn")
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise DefinitionError(msg("definition.invalid_bpmn", "invalid BPMN: {error}", error=str(exc)),
                              exc.id or None, exc.name or None) from None
    except NotImplementedError as exc:  # e.g. SpiffWorkflow's 'Unsupported Catch Event'
        raise DefinitionError(msg("definition.unsupported", "not supported: {error}",
                                  error=str(exc.args[0] if exc.args else exc))) from None
    bundle = SpecBundle(spec, subprocess_specs)
    camunda.check_specs(bundle)
    _check_forms(bundle)
    return ParsedDiagram(process_id, name or process_id, bundle, tuple(warnings))


def _top_process(root) -> tuple[str, str]:
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise DefinitionError(msg("definition.not_bpmn", "the file is not a BPMN 2.0 document (no bpmn:definitions root)"))
    processes = root.xpath("./bpmn:process[@isExecutable='true']", namespaces=NS)
    if len(processes) != 1:
        raise DefinitionError(msg("definition.executable_processes", "a diagram must contain exactly one executable "
                                  "process (isExecutable=\"true\"), found {count}", count=len(processes)))
    return processes[0].get("id"), processes[0].get("name") or ""


def _element(node):
    """The BPMN element a problem belongs to (an event, not its ``*EventDefinition``)."""
    while node is not None and (node.get("id") is None or node.tag.endswith("EventDefinition")):
        node = node.getparent()
    return (node.get("id"), node.get("name")) if node is not None else (None, None)


def _check_expressions(root, allowed_calls: set[str]) -> None:
    for node in root.xpath(".//bpmn:script | .//bpmn:conditionExpression", namespaces=NS):
        _check_one(node, node.text or "", "exec" if node.tag.endswith("script") else "eval", allowed_calls)
    for node in root.xpath(".//bpmn:timeDate | .//bpmn:timeDuration | .//bpmn:timeCycle", namespaces=NS):
        try:
            expression = timer_expression(node.text)
        except ValueError as exc:
            raise DefinitionError(msg("model.timer_invalid", "invalid timer: {error}", error=str(exc)),
                                  *_element(node)) from None
        _check_one(node, expression, "eval", allowed_calls)


def _check_one(node, source: str, mode: str, allowed_calls: set[str]) -> None:
    if not source.strip():
        if mode == "exec":
            raise DefinitionError(msg("definition.empty_script", "script task without a script"), *_element(node))
        return
    try:
        check_script(source, mode, allowed_calls)
    except ForbiddenScript as exc:
        raise DefinitionError(str(exc), *_element(node)) from None


def _check_forms(bundle: SpecBundle) -> None:
    specs = [bundle.spec, *bundle.subprocess_specs.values()]
    for process in specs:
        for task_spec in process.task_specs.values():
            if isinstance(task_spec, UserTaskMixin):
                problems = forms.check_definition(forms.fields_from_extensions(task_spec.extensions))
                if problems:
                    raise DefinitionError("; ".join(problems), task_spec.bpmn_id, task_spec.bpmn_name)


@dataclass(frozen=True)
class Starters:
    """Who a diagram says may start its process: ``camunda:candidateStarterGroups`` (roles) and
    ``camunda:candidateStarterUsers`` (logins) on its executable ``bpmn:process``, comma-separated."""

    groups: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()

    @property
    def declared(self) -> bool:
        return bool(self.groups or self.users)

    def admit(self, login: str, roles: frozenset[str] | set[str]) -> bool:
        return login in self.users or bool(self.groups & set(roles))


def _names(value: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (value or "").split(",") if part.strip())


def starters_of(xml: bytes | str) -> Starters:
    """The candidate starters a diagram declares (none: an empty ``Starters``)."""
    try:
        root = parse_xml_safely(normalise(xml))
        process = root.xpath("./bpmn:process[@isExecutable='true']", namespaces=NS)
    except UnsafeXml:
        return Starters()
    return starters_of_process(process[0]) if len(process) == 1 else Starters()


def starters_of_process(process) -> Starters:
    """The candidate starters on a parsed ``bpmn:process`` element."""
    camunda = "{%s}" % NS["camunda"]
    return Starters(_names(process.get(camunda + "candidateStarterGroups")),
                    _names(process.get(camunda + "candidateStarterUsers")))


class DefinitionCache:
    """Parsed specs per definition version: parsed once per process, never per request; and the
    candidate starters of each version, read once from its stored diagram."""

    def __init__(self, serializer: CaseSerializer):
        self._serializer = serializer
        self._bundles: dict[int, SpecBundle] = {}
        self._starters: dict[int, Starters] = {}
        self._lock = threading.Lock()

    def starters(self, session: Session, definition_id: int) -> Starters:
        """The candidate starters of a definition version (its diagram is read once per version)."""
        found = self._starters.get(definition_id)
        if found is None:
            xml = session.scalar(sa.select(DefinitionVersion.xml).where(DefinitionVersion.id == definition_id))
            found = starters_of(xml or "")
            with self._lock:
                found = self._starters.setdefault(definition_id, found)
        return found

    def get(self, session: Session, definition_id: int) -> SpecBundle:
        bundle = self._bundles.get(definition_id)
        if bundle is None:
            spec_json = session.scalar(sa.select(DefinitionVersion.spec_json)
                                       .where(DefinitionVersion.id == definition_id))
            bundle = self._serializer.loads_spec(spec_json)
            with self._lock:
                bundle = self._bundles.setdefault(definition_id, bundle)
        return bundle

    def put(self, definition_id: int, bundle: SpecBundle) -> None:
        with self._lock:
            self._bundles[definition_id] = bundle


def latest(session: Session, process_id: str) -> DefinitionVersion | None:
    return session.scalars(sa.select(DefinitionVersion).where(DefinitionVersion.process_id == process_id)
                           .order_by(DefinitionVersion.version.desc()).limit(1)).first()


def list_latest(session: Session) -> list[DefinitionVersion]:
    newest = sa.select(DefinitionVersion.process_id, sa.func.max(DefinitionVersion.version).label("v")) \
        .group_by(DefinitionVersion.process_id).subquery()
    return list(session.scalars(sa.select(DefinitionVersion).join(
        newest, sa.and_(DefinitionVersion.process_id == newest.c.process_id,
                        DefinitionVersion.version == newest.c.v)).order_by(DefinitionVersion.process_id)))


def peek_process_id(raw: bytes) -> str:
    """The executable process's id ("" when there is none): what choosing the allowed script calls
    needs before the diagram is parsed."""
    try:
        return _top_process(parse_xml_safely(raw))[0]
    except (UnsafeXml, DefinitionError):
        return ""


def latest_id(session: Session, process_id: str) -> int | None:
    """The id of the newest version of ``process_id`` (None when none is deployed)."""
    return session.scalar(sa.select(DefinitionVersion.id).where(DefinitionVersion.process_id == process_id)
                          .order_by(DefinitionVersion.version.desc()).limit(1))


def with_content(session: Session, process_id: str, xml: bytes) -> DefinitionVersion | None:
    """The newest version of ``process_id`` whose content is exactly ``xml`` (None when none is)."""
    return session.scalars(sa.select(DefinitionVersion).where(
        DefinitionVersion.process_id == process_id, DefinitionVersion.content_hash == content_hash(xml))
        .order_by(DefinitionVersion.version.desc()).limit(1)).first()


def by_person(login: str) -> bool:
    """Whether a version was deployed by a person (an analyst), not by the installation itself
    (``system:*``: the bootstrap, ``govflow deploy``, fixtures)."""
    return not login.startswith("system:")


def add_version(session: Session, parsed: ParsedDiagram, raw: bytes, serializer: CaseSerializer,
                deployed_by: str, now) -> tuple[DefinitionVersion, bool]:
    """Store a parsed diagram as its process's next version, or return the newest version unchanged
    (and False) when its content is identical. The caller records the audit and commits (and has
    decided beforehand whether content identical to an older version deploys: ``with_content``)."""
    current = latest(session, parsed.process_id)
    digest = content_hash(raw)
    if current is not None and current.content_hash == digest:
        return current, False
    row = DefinitionVersion(
        process_id=parsed.process_id, version=(current.version + 1) if current else 1, name=parsed.name,
        content_hash=digest, xml=raw.decode("utf-8"), spec_json=serializer.dumps_spec(parsed.bundle),
        deployed_by=deployed_by, deployed_at=now)
    session.add(row)
    session.flush()
    return row, True


def normalise(xml: bytes | str) -> bytes:
    return xml.encode("utf-8") if isinstance(xml, str) else xml


def iter_bpmn_files(paths: Iterable) -> list:
    from pathlib import Path
    files = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.bpmn")) if p.is_dir() else [p])
    return files
