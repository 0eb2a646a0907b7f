"""The ``notifications`` blueprint: the bell's list, and marking notifications read."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine.domain import notifications

from .context import govflow, safe_next

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
    with govflow().uow() as uow:
        return {"unread_notifications": notifications.unread_count(uow.session, current_user.login)}


@bp.get("/")
def index():
    """My notifications, newest first."""
    number = max(1, request.args.get("page", 1, type=int) or 1)
    with govflow().uow() as uow:
        items = notifications.recent(uow.session, current_user.login, PER_PAGE, (number - 1) * PER_PAGE)
        total = notifications.total_count(uow.session, current_user.login)
    return render_template("notifications/index.html", items=items, kinds=KINDS, grant_kinds=GRANT_KINDS, page=number,
                           pages=max(1, -(-total // PER_PAGE)))


@bp.post("/read")
def mark_read():
    """Mark one notification (``id``) or all of mine read."""
    engine = govflow()
    ids = [int(i) for i in request.form.getlist("id") if i.isdigit()] or None
    with engine.uow() as uow:
        notifications.mark_read(uow.session, current_user.login, engine.clock.now(), ids)
        uow.commit()
    return redirect(safe_next(request.form.get("next"), url_for("notifications.index")))
