"""A process's versions: who deployed each and when, running cases per version, the differences
between two versions, and moving running cases of older versions to the newest (one case per POST,
each its own audited transaction)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from engine.errors import GovflowError, NotFound
from engine.verbs import definitions as verbs
from engine.views import modeler as views

from ..context import actor, govflow
from ..errors import flash_refusal
from ..i18n import localise
from ..inputs import whole_number
from . import bp

DIFF_FIELDS = {"@name": _l("name"), "type": _l("element type"), "@candidateGroups": _l("candidate groups"),
               "@candidateUsers": _l("candidate users"), "@assignee": _l("assignee"), "@default": _l("default flow"),
               "@sourceRef": _l("source"), "@targetRef": _l("target"), "@attachedToRef": _l("attached to"),
               "@cancelActivity": _l("interrupting"), "@formKey": _l("form key"),
               "extensionElements": _l("form fields and properties"),
               "conditionExpression": _l("condition"), "script": _l("script"),
               "timerEventDefinition": _l("timer"), "documentation": _l("documentation"),
               "multiInstanceLoopCharacteristics": _l("multiple instances")}


@bp.get("/<process_id>/versions")
def versions(process_id: str):
    """Every version with who and when, running cases per version, a comparison and the migration report."""
    found = views.versions(govflow(), process_id, _number("old"), _number("new"))
    return render_template("modeler/versions.html", process_id=process_id, rows=found.rows, newest=found.newest,
                           running=found.running, names=found.names, old=found.old, new=found.new, diff=found.diff,
                           fields=DIFF_FIELDS, checks=found.checks, titles=found.titles,
                           reasons={c.case_id: [localise(r) for r in c.reasons] for c in found.checks})


def _number(name: str) -> int | None:
    return whole_number(request.args.get(name, ""))


@bp.post("/<process_id>/cases/<int:case_id>/migrate")
def migrate(process_id: str, case_id: int):
    """Move one running case to the newest version, when the report says it can."""
    target = request.form.get("target", "")
    try:
        moved = verbs.migrate_case(govflow(), actor(), process_id, case_id, whole_number(target))
    except NotFound:
        raise
    except verbs.NewerVersionDeployed:
        flash(_("A newer version was deployed meanwhile: check the report again before migrating."), "error")
    except GovflowError as exc:
        flash_refusal(exc)
    else:
        flash(_("Case %(number)s now runs on version %(version)s.", number=moved.case_number,
                version=moved.version), "success")
    return redirect(url_for("modeler.versions", process_id=process_id, _anchor="migration"))
