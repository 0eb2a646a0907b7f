"""The ``main`` blueprint: the home page and the health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, render_template

from engine import definitions, inbox

from .context import actor, govflow

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Home: how much is waiting in each inbox tab, and the deployed processes."""
    with govflow().uow() as uow:
        counts = inbox.tab_counts(uow.session, actor())
        processes = definitions.list_latest(uow.session)
    return render_template("main/index.html", counts=counts, processes=processes)


@bp.get("/healthz")
def healthz():
    """Report whether the database answers a trivial query."""
    try:
        with govflow().uow() as uow:
            uow.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        current_app.logger.exception("health check: database unreachable")
        return jsonify(status="error", database="error"), 503
    return jsonify(status="ok", database="ok")
