"""The ``main`` blueprint: the home page and the health check."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from engine.views import accounts, admin

from .context import actor, govflow

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Home: how much is waiting in each inbox tab, and the deployed processes."""
    found = accounts.home(govflow(), actor())
    return render_template("main/index.html", counts=found.counts, processes=found.processes)


@bp.get("/healthz")
def healthz():
    """Report whether the database answers a trivial query."""
    problem = admin.database_problem(govflow())
    if problem is not None:
        current_app.logger.error("health check: database unreachable: %s", problem)
        return jsonify(status="error", database="error"), 503
    return jsonify(status="ok", database="ok")
