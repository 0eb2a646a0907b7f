"""``/metrics`` in Prometheus' text format (engine.metrics, plus the requests this process served by
endpoint and status, and their durations). With ``GOVFLOW_METRICS_TOKEN`` set it asks for that
bearer token; without, it answers the machine itself only (127.0.0.1, ::1)."""
from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Response, abort, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY

from engine.metrics import StateCollector

bp = Blueprint("metrics", __name__)
REQUESTS = Counter("govflow_http_requests_total", "HTTP requests served by this process",
                   ["method", "endpoint", "status"])
DURATION = Histogram("govflow_http_request_seconds", "Time to answer an HTTP request", ["endpoint"],
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LOCAL = {"127.0.0.1", "::1"}


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.extensions["govflow_metrics"] = StateCollector(app.extensions["govflow"])
    app.before_request(_start)
    app.after_request(_count)


def _start() -> None:
    g.metrics_started = time.perf_counter()


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
    body = generate_latest(REGISTRY) + generate_latest(state)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
