"""The ``supervision`` blueprint (督办): overdue open tasks across the county, for the data authority."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from engine import inbox
from engine.domain.org import Department
from engine.errors import PermissionDenied
from engine.models import Case

from .context import govflow

bp = Blueprint("supervision", __name__, url_prefix="/supervision")
ROLES = ("authority",)


@bp.before_request
def authority_only():
    if not current_user.has_role(*ROLES):
        raise PermissionDenied("仅限政务数据资源主管部门 (for the data authority only)")


@bp.get("/")
def index():
    """Open tasks past their (published) due date, longest overdue first."""
    engine = govflow()
    with engine.uow() as uow:
        tasks = inbox.overdue_tasks(uow.session, engine.clock.now(), limit=200)
        cases = {c.id: c for c in uow.session.scalars(sa.select(Case).where(Case.id.in_({t.case_id for t in tasks})))}
        departments = dict(uow.session.execute(sa.select(Department.code, Department.name).where(
            Department.code.in_({t.department for t in tasks if t.department}))).all())
    return render_template("supervision/index.html", tasks=tasks, cases=cases, departments=departments)
