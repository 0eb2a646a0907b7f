"""The ``returns`` blueprint: 退回, sending the case back from an open task to the previous step."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from engine.errors import GovflowError, InvalidForm, PermissionDenied

from .context import actor, govflow
from .errors import flash_refusal
from .i18n import localise

bp = Blueprint("returns", __name__)


@bp.post("/tasks/<task_id>/return")
def return_task(task_id: str):
    """Return the case to the previous step, with the reason; whoever did that step gets it back."""
    try:
        govflow().return_task(task_id, actor(), request.form.get("reason", "")[:5000])
    except InvalidForm as exc:
        flash(localise(exc.errors.get("reason", str(exc))), "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    except PermissionDenied:
        raise
    except GovflowError as exc:
        flash_refusal(exc)
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(_("The case was returned to the previous step."), "success")
    return redirect(url_for("tasks.index"))
