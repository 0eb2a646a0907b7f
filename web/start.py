"""The ``start`` blueprint: the procedures I may start (发起), each with its start form."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import rule_admin
from engine.definitions import latest, list_latest
from engine.errors import GovflowError, InvalidForm, PermissionDenied
from engine.service import option_pairs

from . import casefile, forms
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
    engine, who = govflow(), actor()
    with engine.uow() as uow:
        deployed = list_latest(uow.session)
    allowed = [d for d in deployed if engine.may_start(d.process_id, who)]
    return render_template("start/index.html", procedures=allowed)


@bp.route("/<process_id>", methods=("GET", "POST"))
def form(process_id: str):
    """The start form; a new case leads to its first task when that is mine, else to the inbox."""
    engine, who = govflow(), actor()
    definition = _deployed(process_id)
    if not engine.may_start(process_id, who):
        raise PermissionDenied("您无权发起此流程 (you may not start this procedure)")
    fields, options = engine.start_form(process_id, who)
    if request.method == "GET":
        return _render(definition, fields, options, {}, {})
    try:
        case_id = engine.start_case(process_id, who, forms.parse(fields, request.form))
    except InvalidForm as exc:
        flash(_("Please correct the marked fields."), "error")
        return _render(definition, fields, options, forms.entered(fields, request.form), exc.errors, 422)
    except PermissionDenied:
        raise
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(url_for("start.form", process_id=process_id))
    flash(_("Case %(number)s started.", number=casefile.case_number(engine, case_id)), "success")
    task_id = casefile.first_task_for(engine, case_id, who)
    return redirect(url_for("tasks.show", task_id=task_id) if task_id else url_for("tasks.index"))


def _deployed(process_id: str):
    with govflow().uow() as uow:
        definition = latest(uow.session, process_id)
    if definition is None:
        abort(404)
    return definition


def _render(definition, fields, options, values, errors, status=200):
    widgets = forms.widgets(fields, values, option_pairs(options), errors)
    return render_template("start/form.html", definition=definition, widgets=widgets,
                           other_errors=forms.form_errors(fields, errors)), status
