"""Structured logs (issue 15): one JSON object per line when ``GOVFLOW_LOG_FORMAT=json`` (a log
collector reads it), else readable text; every line carries the request id and the case id when
there is one (``with_context`` in the worker, the web app's request filter for pages and the API).
"""
from __future__ import annotations

import contextvars
import json
import logging
import os
from contextlib import contextmanager
from datetime import datetime, timezone

CONTEXT: contextvars.ContextVar[dict] = contextvars.ContextVar("govflow_log_context", default={})
FIELDS = ("request_id", "case_id", "login")


@contextmanager
def with_context(**values):
    """Log lines written inside carry ``values`` (e.g. ``case_id``) besides what is already set."""
    token = CONTEXT.set({**CONTEXT.get(), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        CONTEXT.reset(token)


class ContextFilter(logging.Filter):
    """Puts the context's request id, case id and login on every record (``-`` when unset)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = CONTEXT.get()
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name, "-"))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        for name in FIELDS:
            value = getattr(record, name, "-")
            if value not in ("-", None):
                entry[name] = value
        for name in ("method", "path", "status", "duration_ms"):
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT = "%(asctime)s %(levelname)s %(name)s [req %(request_id)s case %(case_id)s] %(message)s"


def configure(level: int = logging.INFO, stream=None) -> logging.Handler:
    """Log to ``stream`` (stderr) in the format ``GOVFLOW_LOG_FORMAT`` names (``json`` or text),
    with the context on every line; returns the handler (configuring twice replaces it)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "govflow", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream)
    handler.govflow = True
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if os.environ.get("GOVFLOW_LOG_FORMAT") == "json"
                         else logging.Formatter(TEXT))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("spiff", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
