"""The ``tasks`` blueprint: the inbox (待办), the task page and its actions, the case page."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import inbox
from engine.definitions import list_latest
from engine.errors import GovflowError, InvalidForm, PermissionDenied

from . import casefile, caserecords, forms
from .context import actor, govflow, safe_next
from .errors import flash_refusal
from .i18n import localise

bp = Blueprint("tasks", __name__)
PER_PAGE = 20


@bp.get("/tasks")
def index():
    """The inbox: one tab (my tasks, unclaimed, started by me, done), filtered and paginated."""
    tab = request.args.get("tab", "mine")
    if tab not in inbox.TABS:
        tab = "mine"
    filters = _filters(tab)
    page = govflow().inbox(actor(), tab, filters, request.args.get("page", 1, type=int) or 1, PER_PAGE)
    procedures = _procedures()
    return render_template("tasks/inbox.html", page=page, filters=filters, procedures=procedures,
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


def _procedures() -> list[tuple[str, str]]:
    with govflow().uow() as uow:
        return [(d.process_id, d.name or d.process_id) for d in list_latest(uow.session)]


@bp.get("/tasks/<task_id>")
def show(task_id: str, values=None, errors=None, status: int = 200):
    """The task: its case, its form (when it is open and mine to work), actions, history."""
    engine, who = govflow(), actor()
    view = engine.get_task(task_id, who)  # an open task someone else's: PermissionDenied -> 403
    file = casefile.load(engine, view.case_id, who)  # a closed task: whoever may see the case
    is_open = view.state == "ready"
    options = engine.task_form_options(task_id, who) if is_open else {}
    colleagues = engine.transfer_candidates(task_id, who) if is_open else []
    shown = values if values is not None else view.data
    widgets = forms.widgets(view.fields, shown, options, errors)
    return render_template("tasks/task.html", task=view, file=file, widgets=widgets, is_open=is_open,
                           colleagues=colleagues, other_errors=forms.form_errors(view.fields, errors or {}),
                           item=next((t for t in file.open_tasks if t.task.id == task_id), None)), status


@bp.post("/tasks/<task_id>/complete")
def complete(task_id: str):
    """Submit the task's form; errors come back next to the fields, with the values kept."""
    engine, who = govflow(), actor()
    view = engine.get_task(task_id, who)
    try:
        engine.complete_task(task_id, who, forms.parse(view.fields, request.form))
    except InvalidForm as exc:
        flash(_("Please correct the marked fields."), "error")
        return show(task_id, values=forms.entered(view.fields, request.form, view.data), errors=exc.errors,
                    status=422)
    except PermissionDenied:
        raise
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(_("Submitted: %(name)s", name=view.name), "success")
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
    page = casefile.load_page(govflow(), case_id, actor())
    return render_template("tasks/case.html", page=page, file=page.file,
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

