"""The ``tasks`` blueprint: the inbox (待办), the task page and its actions, the case page."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import inbox
from engine.errors import GovflowError, InvalidForm, PermissionDenied
from engine.views import cases, tasks

from . import casefile, caserecords, forms
from .context import actor, govflow, safe_next
from .errors import flash_refusal
from .i18n import localise
from .inputs import page_arg

bp = Blueprint("tasks", __name__)
PER_PAGE = 20


@bp.get("/tasks")
def index():
    """The inbox: one tab (my tasks, unclaimed, started by me, done), filtered and paginated."""
    tab = request.args.get("tab", "mine")
    if tab not in inbox.TABS:
        tab = "mine"
    filters = _filters(tab)
    found = tasks.inbox_page(govflow(), actor(), tab, filters, page_arg(), PER_PAGE)
    return render_template("tasks/inbox.html", page=found.page, filters=filters, procedures=found.procedures,
                           statuses=inbox.CASE_STATUSES if tab == "started" else inbox.TASK_STATUSES)


def _filters(tab: str) -> inbox.Filters:
    args = request.args
    sort = args.get("sort") or ("completed" if tab == "done" else "due")
    return inbox.Filters(process_id=args.get("process") or None, status=args.get("status") or None,
                         due_from=_date(args.get("due_from")), due_to=_date(args.get("due_to")),
                         search=(args.get("q") or "").strip()[:100] or None,
                         sort=sort if sort in inbox.SORTS else "due")


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@bp.get("/tasks/<task_id>")
def show(task_id: str, entered=None, errors=None, status: int = 200):
    """The task: its case, its form (when it is open and mine to work), actions, history; after a
    refused submission the ``entered`` values again, with the ``errors`` next to the fields."""
    page = tasks.task_page(govflow(), task_id, actor())  # an open task someone else's: 403
    view = page.task
    shown = forms.entered(view.fields, entered, view.data) if entered is not None else view.data
    return render_template("tasks/task.html", task=view, file=casefile.file_of(page.file),
                           widgets=forms.widgets(view.fields, shown, page.options, errors),
                           is_open=view.state == "ready", colleagues=page.colleagues, back_to=page.return_to,
                           urged=page.urged, other_errors=forms.form_errors(view.fields, errors or {}),
                           item=page.item), status


@bp.post("/tasks/<task_id>/complete")
def complete(task_id: str):
    """Submit the task's form; errors come back next to the fields, with the values kept."""
    engine, who = govflow(), actor()
    form = tasks.task_form(engine, task_id, who)  # the fields to parse the submission with
    try:
        engine.complete_task(task_id, who, forms.parse(form.fields, request.form))
    except InvalidForm as exc:
        flash(_("Please correct the marked fields."), "error")
        return show(task_id, entered=request.form, errors=exc.errors, status=422)
    except PermissionDenied:
        raise
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(_("Submitted: %(name)s", name=form.name), "success")
    return redirect(url_for("tasks.index"))


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str):
    """Take an offered task into my own inbox (签收)."""
    return _act(task_id, lambda: govflow().claim(task_id, actor()), _("Task claimed."))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str):
    """Give my task back to the shared inbox of its role."""
    return _act(task_id, lambda: govflow().unclaim(task_id, actor()), _("Task released to the shared inbox."),
                default=url_for("tasks.index"))


@bp.post("/tasks/<task_id>/transfer")
def transfer(task_id: str):
    """Hand the task to a colleague with the same role in the same department (转办)."""
    to_login = request.form.get("to", "").strip()
    if not to_login:
        flash(_("Choose the colleague to transfer the task to."), "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    return _act(task_id, lambda: govflow().transfer_task(task_id, actor(), to_login),
                _("Task transferred."), default=url_for("tasks.index"))


def _act(task_id: str, action, done: str, default: str | None = None):
    """Run one task action; a refusal becomes a message (PermissionDenied: the 403 page)."""
    try:
        action()
    except PermissionDenied:
        raise
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(safe_next(request.form.get("next"), url_for("tasks.index")))
    flash(done, "success")
    return redirect(safe_next(request.form.get("next"), default or url_for("tasks.show", task_id=task_id)))


@bp.get("/cases/<int:case_id>")
def case(case_id: int):
    """The case file: diagram, summary, open tasks, deadlines, records, history and comments."""
    found = cases.case_page(govflow(), case_id, actor())
    page = casefile.page_of(found)
    return render_template("tasks/case.html", page=page, file=page.file, incident=found.incident,
                           localise=localise,
                           records=caserecords.views(page.records, page.names),
                           party_names=casefile.PARTIES, period_states=casefile.PERIOD_STATES,
                           department_names=page.departments)


@bp.get("/cases/<int:case_id>/diagram")
def diagram(case_id: int):
    """The case's diagram XML and its completed, active and overdue elements, for the viewer."""
    found = govflow().case_diagram(case_id, actor())
    return jsonify(xml=found.xml, completed=found.completed, active=found.active, overdue=found.overdue)


@bp.post("/cases/<int:case_id>/comment")
def comment(case_id: int):
    """Keep a comment (审批意见) with the case."""
    back = safe_next(request.form.get("next"), url_for("tasks.case", case_id=case_id))
    try:
        govflow().add_comment(case_id, actor(), request.form.get("text", ""))
    except InvalidForm as exc:
        flash(localise(next(iter(exc.errors.values()))), "error")
        return redirect(back)
    flash(_("Comment saved."), "success")
    return redirect(back)

