"""Log-in, log-out, the failed-log-in limit, CSRF, cookies, and that every page needs a log-in."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from engine.config import Config
from engine.models import AuditRecord
from tests.e2e.conftest import PASSWORD, Browser, open_task, start_case


def audit_actions(engine) -> list[tuple[str, str, dict]]:
    with engine.uow() as uow:
        return [(r.actor, r.action, json.loads(r.summary)) for r in uow.session.scalars(
            sa.select(AuditRecord).where(AuditRecord.action.in_(["login", "logout", "login_failed"]))
            .order_by(AuditRecord.id))]


def test_login_shows_the_inbox_home_and_is_audited(browser, engine):
    response = browser.login("clerk.a")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = browser.get("/").get_data(as_text=True)
    assert "王建国" in page and "县公安局" in page and "退出" in page
    assert audit_actions(engine) == [("clerk.a", "login", {"ip": "127.0.0.1"})]


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(client):
    response = client.get("/tasks?tab=done")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    b = Browser(client)
    b.get(response.headers["Location"])
    assert b.post("/login?next=/tasks?tab%3Ddone", {"login": "clerk.a", "password": PASSWORD}) \
        .headers["Location"] == "/tasks?tab=done"
    b.post("/logout")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        b.get("/login")
        response = b.post(f"/login?next={target}", {"login": "clerk.a", "password": PASSWORD})
        assert response.headers["Location"] == "/"
        b.post("/logout")


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(browser, engine):
    response = browser.login("clerk.a", "not-the-password")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "登录名或密码错误" in page
    assert browser.get("/tasks").status_code == 302  # still anonymous
    nobody = browser.login("nobody", "whatever-123")
    assert "登录名或密码错误" in nobody.get_data(as_text=True)
    assert audit_actions(engine) == [
        ("anonymous", "login_failed", {"login": "clerk.a", "ip": "127.0.0.1"}),
        ("anonymous", "login_failed", {"login": "nobody", "ip": "127.0.0.1"})]


def test_five_failures_in_15_minutes_lock_that_login_from_that_address(app, engine, clock):
    b = Browser(app.test_client())
    for _ in range(5):
        assert b.login("clerk.a", "wrong-password").status_code == 200
    locked = b.login("clerk.a")  # even the right password
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "900"
    assert "15 分钟" in locked.get_data(as_text=True)
    other_address = Browser(app.test_client())
    other_address.client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert other_address.login("clerk.a").status_code == 302
    assert b.login("clerk.a2").status_code == 302  # another login from the same address
    clock.advance(minutes=16)
    assert Browser(app.test_client()).login("clerk.a").status_code == 302


def test_the_limit_is_kept_in_the_database_so_it_holds_across_workers(engine, db_file_url):
    from web import create_app
    first = create_app(Config(database_url=db_file_url, secret_key="k-for-two-apps-sharing-a-key"), {"TESTING": True, "engine": engine})
    second = create_app(Config(database_url=db_file_url, secret_key="k-for-two-apps-sharing-a-key"), {"TESTING": True, "engine": engine})
    for _ in range(5):
        Browser(first.test_client()).login("clerk.a", "wrong-password")
    assert Browser(second.test_client()).login("clerk.a").status_code == 429


def test_a_success_resets_the_count(app):
    b = Browser(app.test_client())
    for _ in range(4):
        b.login("clerk.a", "wrong-password")
    assert b.login("clerk.a").status_code == 302
    b.post("/logout")
    for _ in range(4):
        b.login("clerk.a", "wrong-password")
    assert b.login("clerk.a").status_code == 302


def test_logout_ends_the_session_and_is_audited(browser, engine):
    browser.login("clerk.a")
    response = browser.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert browser.get("/tasks").status_code == 302
    assert [a[1] for a in audit_actions(engine)] == ["login", "logout"]


def test_logout_by_get_is_not_possible(browser):
    browser.login("clerk.a")
    assert browser.get("/logout").status_code == 405


def test_a_post_without_the_csrf_token_is_refused(browser, engine):
    assert browser.client.post("/login", data={"login": "clerk.a", "password": PASSWORD}).status_code == 400
    browser.login("clerk.a")
    task_id = open_task(engine, start_case(engine))
    response = browser.client.post(f"/tasks/{task_id}/claim")
    assert response.status_code == 400 and "表单已过期" in response.get_data(as_text=True)
    assert browser.client.post(f"/tasks/{task_id}/claim", data={"csrf_token": "forged"}).status_code == 400
    assert browser.client.post("/logout").status_code == 400
    assert browser.post(f"/tasks/{task_id}/claim").status_code == 302  # with the page's token


PUBLIC = {"/login", "/login/oidc", "/login/oidc/callback", "/healthz", "/metrics", "/language/<code>", "/static/<path:filename>",
          "/public/objection", "/public/objection/receipt", "/public/objection/status"}  # art. 18: anyone


def test_every_page_requires_login(app, client, engine):
    task_id = open_task(engine, start_case(engine))
    samples = {"task_id": task_id, "case_id": "1", "process_id": "review_loop", "code": "en", "item_id": "1", "login": "clerk.a", "attachment_id": "1", "token_id": "1", "draft_id": "1", "incident_id": "1", "grant_id": "1",
               "name": "bpmn-js/dist/bpmn-navigated-viewer.production.min.js"}
    rules = [r for r in app.url_map.iter_rules()  # the JSON API answers 401 itself: tests/e2e/test_api.py
             if r.rule not in PUBLIC and not r.rule.startswith("/api/")]
    assert len(rules) >= 12
    for rule in rules:
        url = rule.rule
        for name in rule.arguments:
            for pattern in (f"<{name}>", f"<int:{name}>", f"<path:{name}>"):
                url = url.replace(pattern, samples[name])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            if method == "POST":  # CSRF comes first for posts: refused either way
                assert response.status_code in (302, 400), (method, url)
            else:
                assert response.status_code == 302, (method, url)
                assert response.headers["Location"].startswith("/login?next="), (method, url)


def test_session_cookie_flags(app, browser):
    browser.login("clerk.a")
    cookie = browser.client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024


def test_secure_cookies_from_the_environment(engine, db_file_url):
    from web import create_app
    config = Config.from_env({"GOVFLOW_DATABASE_URL": db_file_url, "GOVFLOW_SECURE_COOKIES": "1",
                              "GOVFLOW_SECRET_KEY": "a-key-of-the-production-kind-0123"})
    assert config.secure_cookies is True
    assert Config.from_env({}).secure_cookies is False
    app = create_app(config, {"TESTING": True, "engine": engine})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_pages_carry_security_headers(browser):
    browser.login("clerk.a")
    response = browser.get("/tasks")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_too_large_a_request_is_refused(browser):
    browser.login("clerk.a")
    response = browser.post("/cases/1/comment", {"text": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413


@pytest.mark.parametrize("login", ["clerk.a"])
def test_a_deactivated_person_is_logged_out_at_the_next_request(as_person, engine, login):
    from engine.domain.org import person_by_login
    b = as_person(login)
    with engine.uow() as uow:
        person_by_login(uow.session, login).active = False
        uow.commit()
    assert b.get("/tasks").status_code == 302
