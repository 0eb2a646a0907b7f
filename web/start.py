"""The ``start`` blueprint: the procedures I may start (发起), each with its start form."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import rule_admin
from engine.errors import GovflowError, InvalidForm, PermissionDenied
from engine.views import modeler as views

from . import forms
from .context import actor, govflow
from .errors import flash_refusal

bp = Blueprint("start", __name__, url_prefix="/start")


@bp.app_context_processor
def after_hours_terms() -> dict:
    """``submission_terms()`` in every template (templates/_after_hours.html): the after-hours policy
    and the end of office hours, read from the engine only when a form that starts or meets a
    deadline asks (the start form, the task form, the public's objection)."""
    return {"submission_terms": lambda: rule_admin.submission_terms(govflow())}


@bp.get("/")
def index():
    """The deployed procedures this person may start."""
    return render_template("start/index.html", procedures=views.startable(govflow(), actor()))


@bp.route("/<process_id>", methods=("GET", "POST"))
def form(process_id: str):
    """The start form; a new case leads to its first task when that is mine, else to the inbox."""
    engine, who = govflow(), actor()
    start = start_form(process_id)
    if request.method == "GET":
        return _render(start, {}, {})
    try:
        case_id = engine.start_case(process_id, who, forms.parse(start.fields, request.form))
    except InvalidForm as exc:
        flash(_("Please correct the marked fields."), "error")
        return _render(start, forms.entered(start.fields, request.form), exc.errors, 422)
    except PermissionDenied:
        raise
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(url_for("start.form", process_id=process_id))
    started = views.started(engine, case_id, who)
    flash(_("Case %(number)s started.", number=started.number), "success")
    return redirect(url_for("tasks.show", task_id=started.task_id) if started.task_id else url_for("tasks.index"))


def start_form(process_id: str) -> views.StartForm:
    """The start form of a deployed procedure the person may start (404, 403)."""
    try:
        return views.start_form(govflow(), process_id, actor())
    except views.NotDeployed:
        abort(404)


def _render(start: views.StartForm, values, errors, status=200):
    widgets = forms.widgets(start.fields, values, start.options, errors)
    return render_template("start/form.html", definition=start.definition, widgets=widgets,
                           other_errors=forms.form_errors(start.fields, errors)), status
