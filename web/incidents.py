"""The ``incidents`` blueprint (故障): cases stopped by their diagram's code, for analysts and
administrators (engine.incidents): the list with the element, the message and the time, and the
retry. Everything is checked again by the engine's verb and read model."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from engine.errors import GovflowError, PermissionDenied
from engine.verbs import incidents as verbs
from engine.views import incidents as views

from .context import actor, govflow
from .errors import flash_refusal
from .i18n import localise

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
ROLES = ("analyst", "admin")
KINDS = {"error": _l("Error in a timer's step"), "cpu": _l("Ran past its time budget"),
         "wall": _l("Ran past its time budget"), "memory": _l("Ran past its memory budget"),
         "size": _l("Result too large"), "crash": _l("Script process ended"),
         "stalled": _l("Cannot go on")}
RESOLUTIONS = {"retried": _l("Retried"), "migrated": _l("Moved to a new version")}


@bp.before_request
def analysts_and_admins_only():
    if not current_user.is_authenticated or not current_user.has_role(*ROLES):
        raise PermissionDenied(_("Incidents are for analysts and administrators."))


@bp.get("/")
def index():
    """Open incidents, newest first; ``?all=1`` also the resolved ones."""
    show_all = request.args.get("all") == "1"
    rows = views.incident_list(govflow(), actor(), open_only=not show_all)
    return render_template("incidents/index.html", rows=rows, show_all=show_all, localise=localise,
                           incident_kinds=KINDS, incident_resolutions=RESOLUTIONS)


@bp.post("/<int:incident_id>/retry")
def retry(incident_id: int):
    """Run the case again from the element that failed."""
    try:
        case_id = verbs.retry(govflow(), incident_id, actor())
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(url_for("incidents.index"))
    flash(_("The case was retried. If it stopped again, it is listed below with the new message."), "success")
    return redirect(url_for("incidents.index", _anchor=f"case-{case_id}"))
