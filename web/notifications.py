"""The ``notifications`` blueprint: the bell's list, and marking notifications read."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine.verbs import accounts as verbs
from engine.views import accounts as views

from .context import actor, govflow, safe_next
from .inputs import page_arg, whole_number

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 30
KINDS = {"new_task": _l("New task"), "reminder": _l("Due soon"), "overdue": _l("Overdue"),
         "urge": _l("Urged"), "answer": _l("Case concluded"), "returned": _l("Returned to you"),
         "grant_revoked": _l("Grant revoked"), "grant_expiring": _l("Grant expires soon")}
GRANT_KINDS = ("grant_revoked", "grant_expiring")  # lead to the grant's page (web.grants)


def init_app(app) -> None:
    app.context_processor(bell)


def bell() -> dict:
    """The unread count for the header's bell (one query per page)."""
    if not current_user.is_authenticated:
        return {}
    return {"unread_notifications": views.unread_notifications(govflow(), actor())}


@bp.get("/")
def index():
    """My notifications, newest first."""
    number = page_arg()
    found = views.notification_page(govflow(), actor(), PER_PAGE, (number - 1) * PER_PAGE)
    return render_template("notifications/index.html", items=found.items, kinds=KINDS, grant_kinds=GRANT_KINDS,
                           page=number, pages=max(1, -(-found.total // PER_PAGE)))


@bp.post("/read")
def mark_read():
    """Mark one notification (``id``) or, without one, all of mine read (an id none has: none)."""
    given = request.form.getlist("id")
    ids = [n for n in map(whole_number, given) if n is not None] if given else None
    verbs.mark_notifications_read(govflow(), actor(), ids)
    return redirect(safe_next(request.form.get("next"), url_for("notifications.index")))
