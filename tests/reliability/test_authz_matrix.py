"""Authorisation matrix: every role (clerks of two departments, a head, the county-wide roles,
an administrator, anonymous) × every GET page of app.url_map (with sample arguments) and the API
reads. One table-driven, parametrized test: each cell is allowed (200) or denied (401/403/404 or a
redirect to the login page); no cell is ever a 5xx."""
from __future__ import annotations

import re

import pytest

from engine.domain import org
from tests.e2e.conftest import DEPT_A, DEPT_B, PASSWORD, Browser, open_task, start_case
from tests.e2e.test_api import new_token

EXTRA = [("consumer.a", DEPT_A, {"consumer_clerk"}), ("consumer.b", DEPT_B, {"consumer_clerk"}),
         ("gov", None, {"county_gov"}), ("discipline", None, {"discipline"}), ("analyst", None, {"analyst"}),
         ("admin", None, {"admin"})]
ROLES = ["clerk.a", "clerk.b", "consumer.a", "consumer.b", "head.a", "supervisor", "gov", "discipline",
         "analyst", "admin", "anonymous"]
PUBLIC = {"auth.login", "main.healthz", "i18n.set_language", "static", "vendor.asset", "public.objection",
          "public.receipt", "public.status", "api-docs.openapi_json", "api_objections.read",
          "metrics.metrics", "oidc.start", "oidc.callback"}  # /metrics: the machine itself (127.0.0.1, as the test client is) or a token holder
ALLOW, DENY, ANY = "allow", "deny", "any"
# Cells that must hold (beyond: anonymous is denied everything not public; nobody gets a 5xx).
RULES = {
    # a head sees a case once a task of it is offered to heads (engine.service.may_see_case)
    "tasks.case": {"clerk.a": ALLOW, "head.a": DENY, "clerk.b": DENY, "consumer.b": DENY, "supervisor": ALLOW},
    "tasks.show": {"clerk.a": ALLOW, "clerk.b": DENY, "consumer.b": DENY},
    "api_cases.read": {"clerk.a": ALLOW, "clerk.b": DENY, "consumer.b": DENY, "supervisor": ALLOW},
    "api_cases.timeline": {"clerk.a": ALLOW, "clerk.b": DENY},
    "api_tasks.read": {"clerk.a": ALLOW, "clerk.b": DENY, "consumer.b": DENY},
    "admin.index": {"admin": ALLOW, "clerk.a": DENY, "head.a": DENY, "supervisor": DENY},
    "admin.people": {"admin": ALLOW, "clerk.a": DENY, "analyst": DENY},
    "admin.departments": {"admin": ALLOW, "clerk.b": DENY},
    "tasks.index": {"clerk.a": ALLOW, "clerk.b": ALLOW},
    "start.form": {"clerk.a": ALLOW, "supervisor": DENY},
    "tokens.index": {"clerk.a": ALLOW},
    "grants.index": {"clerk.a": ALLOW, "consumer.b": ALLOW, "admin": ANY},
    "grants.show": {"clerk.b": DENY, "gov": ANY},  # grant 1 does not exist: never a 5xx
}


@pytest.fixture
def county(engine, app, clock):
    with engine.uow() as uow:
        s = uow.session
        for login, dept, roles in EXTRA:
            department = org.department_by_code(s, dept) if dept else org.department_by_code(s, "340822001")
            org.create_person(s, login, login, department, roles, PASSWORD, clock.now())
        uow.commit()
    case_id = start_case(engine)
    return {"case_id": case_id, "task_id": open_task(engine, case_id), "process_id": "review_loop",
            "code": DEPT_A, "login": "clerk.a", "item_id": 1, "attachment_id": 1, "grant_id": 1,
            "receipt_code": "NOPE-0000", "filename": "style.css", "name": "nope.js"}


def sample_urls(app, values):
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        if rule.endpoint == "i18n.set_language":
            urls.append((rule.endpoint, "/language/en"))
            continue
        args = {a: values[a] for a in rule.arguments}
        path = rule.rule
        for a, v in args.items():
            path = re.sub(rf"<(?:[^<>]+:)?{a}>", str(v), path)
        urls.append((rule.endpoint, path))
    return sorted(urls)


def outcome(response) -> str:
    if response.status_code == 200:
        return ALLOW
    if response.status_code in (401, 403, 404) or (
            response.status_code in (302, 303) and "/login" in response.headers.get("Location", "")):
        return DENY
    return f"other {response.status_code}"


@pytest.mark.parametrize("who", ROLES)
def test_every_role_on_every_page_and_api_read(app, engine, county, who):
    browser = Browser(app.test_client())
    headers = {}
    if who != "anonymous":
        assert browser.login(who).status_code == 302
        headers = {"Authorization": f"Bearer {new_token(engine, who)}"}
    wrong = []
    for endpoint, url in sample_urls(app, county):
        if url.startswith("/api/"):
            response = app.test_client().get(url, headers=headers)
        else:
            response = browser.client.get(url)
        got = outcome(response)
        response.close()  # static files and downloads stream from open files
        want = RULES.get(endpoint, {}).get(who, ANY)
        if who == "anonymous" and endpoint not in PUBLIC:
            want = DENY
        if response.status_code >= 500 or (want != ANY and got != want) or got.startswith("other") and response.status_code not in (301, 302, 303, 308):
            wrong.append(f"{url} ({endpoint}): want {want}, got {response.status_code}")
    assert not wrong, f"{who}:\n" + "\n".join(wrong)


PUBLIC_POSTS = {"auth.login", "public.objection", "public.status", "api_objections.submit"}  # art. 18: anyone


def post_urls(app, values):
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in PUBLIC_POSTS:
            continue
        path = rule.rule
        for a in rule.arguments:
            path = re.sub(rf"<(?:[^<>]+:)?{a}>", str(values.get(a, 1)), path)
        urls.append((rule.endpoint, path))
    return sorted(urls)


@pytest.mark.parametrize("with_token", [False, True], ids=["no-csrf-token", "csrf-token"])
def test_every_post_action_is_refused_to_anyone_not_logged_in(app, county, with_token):
    """Every POST of the pages and the API, anonymous (with a valid CSRF token of an anonymous page or
    none): refused (login, 400, 401, 403, 404), never done (2xx) and never a 5xx."""
    browser = Browser(app.test_client())
    if with_token:
        browser.get("/login")
    posts = post_urls(app, county)
    assert len(posts) >= 30, posts
    wrong = []
    for endpoint, url in posts:
        if url.startswith("/api/"):
            response = browser.client.post(url, json={})
        else:
            response = browser.post(url, {}) if with_token else browser.client.post(url, data={})
        status = response.status_code
        refused = status in (400, 401, 403, 404, 405) or (
            status in (302, 303) and "/login" in response.headers.get("Location", ""))
        if not refused:
            wrong.append(f"POST {url} ({endpoint}): {status}")
    assert not wrong, "\n".join(wrong)
