"""Structured logs (issue 15 item 8): JSON lines with the request id, the case id and the login; a
request id returned in X-Request-ID (the caller's, when it is a plain token)."""
from __future__ import annotations

import io
import json
import logging

from engine.logs import configure, with_context


def test_json_lines_carry_the_context(monkeypatch):
    monkeypatch.setenv("GOVFLOW_LOG_FORMAT", "json")
    stream = io.StringIO()
    handler = configure(stream=stream)
    try:
        with with_context(request_id="req-0001", case_id=42):
            logging.getLogger("govflow.test").warning("case %s: timer not fired", 42)
        logging.getLogger("govflow.test").info("outside")
    finally:
        logging.getLogger().removeHandler(handler)
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["message"] == "case 42: timer not fired" and first["level"] == "warning"
    assert (first["request_id"], first["case_id"]) == ("req-0001", 42)
    assert "request_id" not in second and second["message"] == "outside"


def test_text_lines_name_the_request_and_case(monkeypatch):
    monkeypatch.delenv("GOVFLOW_LOG_FORMAT", raising=False)
    stream = io.StringIO()
    handler = configure(stream=stream)
    try:
        with with_context(request_id="abc12345"):
            logging.getLogger("govflow.test").info("hello")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "[req abc12345 case -] hello" in stream.getvalue()
