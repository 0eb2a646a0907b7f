"""The ``admin`` blueprint (管理, the ``admin`` role only): people, departments, the working-day
calendar and the rule sets. Every route checks the role on the server; every change goes through an
audited engine function."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from engine.calendar import BEIJING
from engine.errors import PermissionDenied
from engine.views import admin as views

from ..context import govflow

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMINS = ("admin",)


@bp.before_request
def require_admin():
    """Only administrators; everyone else gets the 403 page."""
    if not current_user.is_authenticated or not current_user.has_role(*ADMINS):
        raise PermissionDenied("仅系统管理员可访问 (administrators only)")


@bp.app_context_processor
def calendar_banner() -> dict:
    """The next-year calendar warning, on every page an administrator sees (docs/deadlines.md)."""
    if not current_user.is_authenticated or not current_user.has_role(*ADMINS):
        return {}
    return {"calendar_missing_year": views.calendar_status(govflow(), today()).missing_year}


def today():
    return govflow().clock.now().astimezone(BEIJING).date()


@bp.get("/")
def index():
    """Overview: how many people and departments, and the calendar's state."""
    found = views.overview(govflow(), today())
    return render_template("admin/index.html", people=found.people, departments=found.departments,
                           status=found.status)


from . import departments, people, rule_sets, working_days  # noqa: E402,F401  (routes on bp)
