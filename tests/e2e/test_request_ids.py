"""Each request has an id in X-Request-ID, and the access line logs it with the case id."""
from __future__ import annotations

import logging


def test_a_request_id_is_returned_and_logged_with_the_case(as_person, caplog):
    clerk = as_person("clerk.a")
    with caplog.at_level(logging.INFO, logger="govflow.access"):
        answer = clerk.get("/cases/1", headers={"X-Request-ID": "county-gw-00000042"})
        other = clerk.get("/tasks", headers={"X-Request-ID": "bad id with spaces"})
    assert answer.headers["X-Request-ID"] == "county-gw-00000042"
    assert len(other.headers["X-Request-ID"]) == 32 and other.headers["X-Request-ID"] != "bad id with spaces"
    records = [r for r in caplog.records if r.name == "govflow.access"]
    line = next(r for r in records if getattr(r, "path", "") == "/cases/1")
    assert line.status in (200, 403, 404) and line.method == "GET" and line.duration_ms >= 0
    assert (line.request_id, line.case_id) == ("county-gw-00000042", 1)
