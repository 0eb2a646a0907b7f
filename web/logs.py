"""Every request gets an id (the caller's ``X-Request-ID`` when it is a plain token, else a new
one), returned in the response's ``X-Request-ID``; log lines written while answering carry it,
the case id of the URL and the login (engine.logs), and one access line per request says
method, path, status and duration."""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import g, request

from engine.logs import CONTEXT, ContextFilter

ACCESS = logging.getLogger("govflow.access")
GIVEN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def init_app(app) -> None:
    if not any(isinstance(f, ContextFilter) for f in ACCESS.filters):
        ACCESS.addFilter(ContextFilter())  # the ids are on the record itself, whatever handler writes it
    app.before_request(_begin)
    app.after_request(_end)
    app.teardown_request(_forget)


def _begin() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if GIVEN.match(given) else uuid.uuid4().hex
    g.log_started = time.perf_counter()
    case_id = (request.view_args or {}).get("case_id")
    g.log_token = CONTEXT.set({"request_id": g.request_id, **({"case_id": case_id} if case_id else {})})


def _end(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    from flask_login import current_user
    login = getattr(current_user, "login", None) if current_user else None
    if login:
        CONTEXT.set({**CONTEXT.get(), "login": login})
    started = g.get("log_started")
    ACCESS.info("%s %s %s", request.method, request.path, response.status_code, extra={
        "method": request.method, "path": request.path, "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None})
    return response


def _forget(_exc=None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        try:
            CONTEXT.reset(token)
        except ValueError:  # set in another context (a streamed response): nothing to undo
            pass
