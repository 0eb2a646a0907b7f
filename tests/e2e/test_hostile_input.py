"""Hostile input: markup is shown escaped everywhere, control characters and oversize input are
refused with a clear error and change nothing, a missing CSRF token is refused."""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import open_task, start_case

SCRIPT = '<script>alert("xss")</script><img src=x onerror=alert(1)>'


def test_markup_in_form_data_is_rendered_escaped_on_every_page(as_person, engine):
    case_id = start_case(engine, topic=SCRIPT)
    task_id = open_task(engine, case_id)
    clerk = as_person("clerk.a")
    response = clerk.post(f"/tasks/{task_id}/complete", {"summary": SCRIPT, "pages": "3"})
    assert response.status_code == 302
    head = as_person("head.a")
    next_task = open_task(engine, case_id)
    for page in (f"/tasks/{next_task}", f"/cases/{case_id}", "/tasks?tab=unclaimed"):
        html = head.get(page).get_data(as_text=True)
        assert "<script>alert" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
        assert "&lt;script&gt;alert" in html or page.startswith("/tasks?"), page
    assert engine.case_data(case_id)["summary"] == SCRIPT  # stored as typed, escaped when shown


@pytest.mark.parametrize("value, message", [
    ("bad\x00value", "control characters"),
    ("x" * 20_000, "too long"),
])
def test_control_characters_and_oversize_text_are_refused_and_change_nothing(as_person, engine, value, message):
    case_id = start_case(engine)
    task_id = open_task(engine, case_id)
    clerk = as_person("clerk.a")
    clerk.get("/language/en")
    response = clerk.post(f"/tasks/{task_id}/complete", {"summary": value})
    assert response.status_code == 422
    page = response.get_data(as_text=True).lower()
    assert message in page, re.findall(r"class=\"error[^<]*", page)
    assert open_task(engine, case_id) == task_id
    assert "summary" not in engine.case_data(case_id)


def test_a_post_without_the_csrf_token_is_refused(app, engine):
    case_id = start_case(engine)
    task_id = open_task(engine, case_id)
    client = app.test_client()
    response = client.post(f"/tasks/{task_id}/complete", data={"summary": "no token"})
    assert response.status_code in (400, 302)  # 400 from CSRF, or a redirect to log in first
    assert open_task(engine, case_id) == task_id


def test_a_huge_request_body_is_refused_with_413(as_person, engine):
    task_id = open_task(engine, start_case(engine))
    clerk = as_person("clerk.a")
    response = clerk.post(f"/tasks/{task_id}/complete", {"summary": "y" * (20 * 1024 * 1024)})
    assert response.status_code == 413
