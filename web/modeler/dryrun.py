"""试运行 (dry run): the posted diagram's paths, walked in memory (engine.dryrun), as JSON for the
modeler's side panel (web/static/dryrun.js), with its labels in the page's language."""
from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _

from engine import dryrun as engine_dryrun

from ..context import actor, govflow
from ..i18n import localise
from . import bp
from .editor import _posted_xml

MAX_PATHS = 32


def labels() -> dict[str, str]:
    """What the panel says, in the request's language."""
    return {
        "button": _("Dry run"),
        "title": _("Dry run: the diagram's paths"),
        "running": _("Walking the paths…"),
        "close": _("Close"),
        "path": _("Path"),
        "outcome": _("Outcome"),
        "no_outcome": _("no outcome"),
        "steps": _("Steps"),
        "deadlines": _("Deadlines"),
        "problems": _("Problems"),
        "fired": _("fell due"),
        "working_days": _("working days"),
        "provisional": _("provisional"),
        "timers_fired": _("timers fell due"),
        "role": _("role"),
        "truncated": _("Only the first %(count)s paths are shown.", count=MAX_PATHS),
        "none": _("The diagram has no path to show."),
        "stand_ins": _("Answered by stand-ins (they need the database):"),
        "started_at": _("Starts at"),
        "failed": _("The dry run failed."),
        "default_flow": _("default flow"),
    }


@bp.post("/dryrun")
def dry_run():
    """Walk the posted diagram (form field ``xml``): paths with their steps (element ids), deadlines,
    outcome and problems; nothing is written."""
    found = engine_dryrun.dry_run(govflow(), _posted_xml(), actor(), max_paths=MAX_PATHS)
    return jsonify({**found.as_dict(localise), "labels": labels()})
