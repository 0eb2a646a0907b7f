"""``/metrics`` in Prometheus' text format (engine.metrics, plus the requests served by endpoint and
status, their durations, and the requests being answered). These are this process's, or, with
``PROMETHEUS_MULTIPROC_DIR`` set, every process's of the host added up (``engine.metrics.
counted_registry``). With ``GOVFLOW_METRICS_TOKEN`` set it asks for that bearer token; without, it
answers the machine itself only (127.0.0.1, ::1)."""
from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Response, abort, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from engine.metrics import StateCollector, counted_registry

bp = Blueprint("metrics", __name__)
REQUESTS = Counter("govflow_http_requests_total", "HTTP requests served",
                   ["method", "endpoint", "status"])
DURATION = Histogram("govflow_http_request_seconds", "Time to answer an HTTP request", ["endpoint"],
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
# livesum: in multiprocess mode, the sum over the processes alive (gunicorn's child_exit hook,
# deploy/gunicorn.conf.py, removes a dead worker's, killed ones' too)
IN_PROGRESS = Gauge("govflow_http_requests_in_progress", "HTTP requests being answered",
                    multiprocess_mode="livesum")
LOCAL = {"127.0.0.1", "::1"}


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.extensions["govflow_metrics"] = StateCollector(app.extensions["govflow"])
    app.before_request(_start)
    app.after_request(_count)
    app.teardown_request(_done)


def _start() -> None:
    g.metrics_started = time.perf_counter()
    IN_PROGRESS.inc()
    g.metrics_in_progress = True


def _done(exc=None) -> None:
    if g.pop("metrics_in_progress", False):
        IN_PROGRESS.dec()


def _count(response):
    endpoint = request.endpoint or "unmatched"
    REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    started = g.get("metrics_started")
    if started is not None:
        DURATION.labels(endpoint).observe(time.perf_counter() - started)
    return response


@bp.get("/metrics")
def metrics():
    token = os.environ.get("GOVFLOW_METRICS_TOKEN", "")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token:
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(401)
    elif request.remote_addr not in LOCAL:
        abort(403)
    from flask import current_app
    state = CollectorRegistry()
    state.register(current_app.extensions["govflow_metrics"])
    body = generate_latest(counted_registry()) + generate_latest(state)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
