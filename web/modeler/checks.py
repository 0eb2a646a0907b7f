"""One validation report for the modeler: the engine's problems (errors: they block deployment) and
bpmnlint's style findings (warnings), each pointing at its element, in the page's language."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _, lazy_gettext as _l

from engine.spiff.parser import parse_xml_safely
from engine.views import modeler as views

from ..i18n import is_english, localise
from . import lint

RULES = {  # bpmnlint:recommended, in the analyst's words
    "ad-hoc-sub-process": _l("An ad-hoc sub-process may not contain start or end events"),
    "conditional-flows": _l("A flow leaving a gateway needs a condition or must be the default flow"),
    "end-event-required": _l("The process has no end event"),
    "event-based-gateway": _l("An event-based gateway needs at least two unconditional outgoing flows"),
    "event-sub-process-typed-start-event": _l("An event sub-process needs a typed start event"),
    "fake-join": _l("Several flows enter this element without a joining gateway"),
    "global": _l("A message, signal or error is unnamed, unused or not unique"),
    "label-required": _l("The element has no name"),
    "link-event": _l("A link event has no matching partner"),
    "no-bpmndi": _l("The element has no shape in the drawing"),
    "no-complex-gateway": _l("Complex gateways are not supported"),
    "no-disconnected": _l("The element is not connected to the flow"),
    "no-duplicate-sequence-flows": _l("Two sequence flows connect the same elements"),
    "no-gateway-join-fork": _l("The gateway both joins and splits the flow"),
    "no-implicit-split": _l("Several flows leave this element without a gateway"),
    "no-implicit-end": _l("The element has no outgoing flow: it ends the process implicitly"),
    "no-implicit-start": _l("The element has no incoming flow: it starts the process implicitly"),
    "no-inclusive-gateway": _l("Inclusive gateways are discouraged"),
    "no-overlapping-elements": _l("Elements overlap in the drawing"),
    "single-blank-start-event": _l("The process has more than one blank start event"),
    "single-event-definition": _l("The event has more than one event definition"),
    "start-event-required": _l("The process has no start event"),
    "sub-process-blank-start-event": _l("The start event of a sub-process must be blank"),
    "superfluous-gateway": _l("The gateway has one incoming and one outgoing flow: it is superfluous"),
    "superfluous-label": _l("A sequence flow has a label that has no effect"),
    "superfluous-termination": _l("The terminate end event is superfluous"),
}


@dataclass
class Report:
    problems: list[dict] = field(default_factory=list)
    lint_ran: bool = False

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p["severity"] == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p["severity"] == "warning")

    def as_dict(self) -> dict:
        return {"ok": self.errors == 0, "errors": self.errors, "warnings": self.warnings,
                "lint": self.lint_ran, "problems": self.problems}


def check(engine, raw: bytes) -> Report:
    """Everything wrong with a diagram: a rejected file is one error without an element."""
    try:
        found = views.validate(engine, raw)
    except views.DiagramRejected as exc:
        return Report([problem(localise(str(exc)), None, None, "error")])
    report = Report([problem(localise(p.message), p.element_id, p.element_name, p.severity) for p in found])
    findings = lint.lint(raw)
    report.lint_ran = findings is not None
    names = _names(raw)
    for f in findings or []:
        report.problems.append(problem(_lint_message(f), f.element_id, names.get(f.element_id), "warning", f.rule))
    return report


def problem(message: str, element_id: str | None, element_name: str | None, severity: str,
            rule: str | None = None) -> dict:
    return {"message": message, "element_id": element_id, "element_name": element_name,
            "severity": "error" if severity == "error" else "warning", "rule": rule}


def _lint_message(finding: lint.Finding) -> str:
    text = RULES.get(finding.rule)
    if text is None or is_english():
        return finding.message or str(text or finding.rule)
    return str(text)


def _names(raw: bytes) -> dict[str, str]:
    root = parse_xml_safely(raw)
    return {node.get("id"): node.get("name") for node in root.iter()
            if isinstance(node.tag, str) and node.get("id") and node.get("name")}


def summary(report: Report) -> str:
    """One line for a flash message."""
    if not report.problems:
        return _("No problems found.")
    return _("%(errors)s errors, %(warnings)s warnings.", errors=report.errors, warnings=report.warnings)
