"""The ``supervision`` blueprint (督办), for the data authority only: the dashboard of overdue and
due-soon tasks across the county, urging (催办) and reassigning a task, and deciding the supervision
items overdue escalations opened (open a rectification case, or dismiss with a note)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from engine import supervision
from engine.domain.violations import ART31_ITEMS, ART31_ITEMS_EN
from engine.errors import GovflowError, InvalidForm, NotFound, PermissionDenied
from engine.views import supervision as views

from .context import actor, govflow, safe_next
from .errors import flash_refusal
from .i18n import is_english, localise

bp = Blueprint("supervision", __name__, url_prefix="/supervision")
STATUS_LABELS = {"overdue": _l("Overdue"), "due_soon": _l("Due soon"),  # within the rule set's reminder window
                 "provisional": _l("Provisional due date")}


@bp.before_request
def authority_only():
    supervision.require_supervisor(actor())


@bp.get("/")
def index():
    """Overdue and due-soon open tasks by department and procedure, with counts; the open 督办 items;
    the authority's own overdue and due-soon steps, in a section of their own."""
    filters = _filters()
    board = views.dashboard(govflow(), actor(), filters)
    return render_template("supervision/index.html", board=board, filters=filters, statuses=supervision.STATUSES,
                           status_labels=STATUS_LABELS)


def _filters() -> supervision.Filters:
    args = request.args
    status = args.get("status") or None
    return supervision.Filters(department=(args.get("department") or "").strip()[:40] or None,
                               process_id=(args.get("process") or "").strip()[:200] or None,
                               status=status if status in supervision.STATUSES else None)


@bp.get("/tasks/<task_id>")
def task(task_id: str, note: str = "", errors: dict | None = None, status: int = 200):
    """One open task as the authority sees it: holder, deadline, urges so far, urge and reassign."""
    found = views.supervised_task(govflow(), actor(), task_id)
    return render_template("supervision/task.html", task=found.task, case=found.case, department=found.department,
                           history=found.history, names=found.names, candidates=found.candidates, note=note,
                           errors=errors or {}), status


@bp.post("/tasks/<task_id>/urge")
def urge(task_id: str):
    """催办: remind whoever holds the task (or everyone it is offered to); the note is optional."""
    note = request.form.get("note", "")
    try:
        govflow().urge_task(task_id, actor(), note)
    except InvalidForm as exc:
        flash(_("Please correct the marked fields."), "error")
        return task(task_id, note=note, errors={k: localise(v) for k, v in exc.errors.items()}, status=422)
    except (PermissionDenied, NotFound):
        raise
    except GovflowError as exc:
        flash_refusal(exc)
    else:
        flash(_("Urged: the people holding the task have been notified."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("supervision.task", task_id=task_id)))


@bp.post("/tasks/<task_id>/reassign")
def reassign(task_id: str):
    """Give the task to another person who may work it."""
    to_login = request.form.get("to", "").strip()
    back = url_for("supervision.task", task_id=task_id)
    if not to_login:
        flash(_("Choose the person to reassign the task to."), "error")
        return redirect(back)
    try:
        govflow().reassign_task(task_id, actor(), to_login)
    except (PermissionDenied, NotFound):
        raise
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(back)
    flash(_("Task reassigned."), "success")
    return redirect(back)


@bp.get("/items/<int:item_id>")
def item(item_id: int, note: str = "", evidence: str = "", errors: dict | None = None, status: int = 200):
    """One 督办: its case and overdue task, and the decision (rectification case, or dismiss)."""
    view = views.item(govflow(), actor(), item_id)
    return render_template("supervision/item.html", view=view, note=note, evidence=evidence, errors=errors or {},
                           art31=ART31_ITEMS_EN if is_english() else ART31_ITEMS), status


@bp.post("/items/<int:item_id>/rectify")
def rectify(item_id: int):
    """Confirm the possible violation: record it and open a rectification case, then show that case."""
    evidence = request.form.get("evidence", "")
    try:
        case_id = govflow().open_rectification(item_id, actor(), evidence)
    except InvalidForm as exc:
        flash(_("Please correct the marked fields."), "error")
        return item(item_id, evidence=evidence, errors={k: localise(v) for k, v in exc.errors.items()}, status=422)
    except (PermissionDenied, NotFound):
        raise
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(url_for("supervision.item", item_id=item_id))
    flash(_("Rectification case opened."), "success")
    return redirect(url_for("tasks.case", case_id=case_id))


@bp.post("/items/<int:item_id>/dismiss")
def dismiss(item_id: int):
    """Close the 督办 with a note (no rectification, or nothing more to do)."""
    note = request.form.get("note", "")
    try:
        govflow().dismiss_supervision(item_id, actor(), note)
    except InvalidForm as exc:
        flash(_("Please correct the marked fields."), "error")
        errors = {"note": localise(message) for message in exc.errors.values()}
        return item(item_id, note=note, errors=errors, status=422)
    except (PermissionDenied, NotFound):
        raise
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(url_for("supervision.item", item_id=item_id))
    flash(_("Supervision item closed."), "success")
    return redirect(url_for("supervision.index"))
