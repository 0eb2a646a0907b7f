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
    """Liveness of the parts apart: the database (503 when it does not answer) and the timer
    workers (``ok`` with how many beat in the last two minutes, ``none``: no worker is firing
    timers; the web app itself still serves, so the answer stays 200)."""
    engine = govflow()
    problem = admin.database_problem(engine)
    if problem is not None:
        current_app.logger.error("health check: database unreachable: %s", problem)
        return jsonify(status="error", database="error", workers="unknown"), 503
    alive = admin.workers_alive(engine)
    return jsonify(status="ok", database="ok", workers="ok" if alive else "none", workers_alive=alive)
