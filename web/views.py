"""The ``main`` blueprint: the start page and the health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, render_template

from engine import definitions
from engine.service import Engine

bp = Blueprint("main", __name__)


def govflow() -> Engine:
    return current_app.extensions["govflow"]


@bp.get("/")
def index():
    """List the latest version of every deployed process definition."""
    with govflow().uow() as uow:
        processes = definitions.list_latest(uow.session)
    return render_template("index.html", processes=processes)


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
