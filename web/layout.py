"""What every page's frame shows: the navigation for the person's roles, and date formats."""
from __future__ import annotations

from datetime import date, datetime

from flask import current_app, request
from flask_babel import format_datetime, lazy_gettext as _l
from flask_login import current_user

NAV = (  # endpoint, label, roles that see it (None: everyone); shown once the endpoint exists
    ("tasks.index", _l("To do"), None),
    ("start.index", _l("Start"), None),
    ("grants.index", _l("Grants"), {"consumer_clerk", "provider_clerk", "dept_head", "authority"}),
    ("supervision.index", _l("Supervision"), {"authority"}),
    ("performance.index", _l("Performance"), {"authority", "dept_head"}),
    ("admin.index", _l("Administration"), {"admin"}),
    ("modeler.index", _l("Modeler"), {"analyst"}),
    ("incidents.index", _l("Incidents"), {"analyst", "admin"}),
)


def init_app(app) -> None:
    app.context_processor(navigation)
    app.add_template_filter(when, "when")
    app.add_template_filter(day, "day")


def navigation() -> dict:
    if not current_user.is_authenticated:
        return {"nav": []}
    here = (request.endpoint or "").split(".")[0]
    items = [(endpoint, label, endpoint.split(".")[0] == here) for endpoint, label, roles in NAV
             if endpoint in current_app.view_functions and (roles is None or current_user.has_role(*roles))]
    return {"nav": items}


def when(value: datetime | None) -> str:
    """An instant in Beijing time, minutes precision."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def day(value: date | None) -> str:
    return value.isoformat() if value else ""
