"""Revocable sessions (issue 15 item 2): a cookie copied before log-out opens nothing after it; a
password reset, a change of roles and deactivation end the person's sessions (reset and deactivation
also revoke their API tokens); an administrator can end a person's sessions."""
from __future__ import annotations

import pytest

from engine.domain import api_tokens, org
from tests.e2e.conftest import AUTHORITY, DEPT_A, PASSWORD, Browser


@pytest.fixture
def admin(app, engine, clock):
    with engine.uow() as uow:
        dept = org.department_by_code(uow.session, AUTHORITY)
        org.create_person(uow.session, "admin", "系统管理员", dept, {"admin"}, PASSWORD, clock.now())
        uow.commit()
    b = Browser(app.test_client())
    assert b.login("admin").status_code == 302
    return b


def logged_in(app, login: str) -> Browser:
    b = Browser(app.test_client())
    assert b.login(login).status_code == 302
    return b


def copy_of(app, browser: Browser) -> Browser:
    """Another client holding the same session cookie (a copied cookie)."""
    other = Browser(app.test_client())
    other.client.set_cookie("session", browser.client.get_cookie("session").value)
    other.token = browser.token
    return other


def opens_tasks(b: Browser) -> bool:
    answer = b.get("/tasks")
    return answer.status_code == 200 and "/login" not in answer.headers.get("Location", "")


def token(engine, login: str) -> str:
    with engine.uow() as uow:
        _, secret = api_tokens.create_token(uow, org.person_by_login(uow.session, login), "sys", engine.clock.now())
        uow.commit()
    return secret


def api_works(client, secret: str) -> bool:
    return client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_a_cookie_copied_before_log_out_opens_nothing_after_it(app):
    mine = logged_in(app, "clerk.a")
    stolen = copy_of(app, mine)
    other_device = logged_in(app, "clerk.a")
    assert opens_tasks(stolen) and opens_tasks(other_device)
    assert mine.post("/logout").status_code == 302
    assert not opens_tasks(stolen) and not opens_tasks(other_device)
    again = logged_in(app, "clerk.a")  # logging in again works, with a new session
    assert opens_tasks(again) and not opens_tasks(stolen)


def test_a_password_reset_ends_sessions_and_revokes_api_tokens(app, client, engine, admin):
    clerk, secret = logged_in(app, "clerk.a"), token(engine, "clerk.a")
    bystander = logged_in(app, "clerk.a2")
    assert opens_tasks(clerk) and api_works(client, secret)
    assert admin.post("/admin/people/clerk.a/password", {"password": "a new long passphrase 2026"}).status_code == 302
    assert not opens_tasks(clerk) and not api_works(client, secret)
    assert opens_tasks(bystander)  # nobody else's session ends
    fresh = Browser(app.test_client())
    assert fresh.login("clerk.a", "a new long passphrase 2026").status_code == 302 and opens_tasks(fresh)


def test_a_change_of_roles_ends_sessions_and_deactivation_revokes_tokens_too(app, client, engine, admin):
    clerk, secret = logged_in(app, "clerk.a"), token(engine, "clerk.a")
    form = {"display_name": "王建国", "department": DEPT_A, "roles": ["provider_clerk", "dept_head"], "active": "true"}
    assert admin.post("/admin/people/clerk.a", form).status_code in (200, 302)
    assert not opens_tasks(clerk) and api_works(client, secret)  # tokens stay: the person is the same
    clerk = logged_in(app, "clerk.a")
    assert admin.post("/admin/people/clerk.a", {**form, "active": ""}).status_code in (200, 302)
    assert not opens_tasks(clerk) and not api_works(client, secret)
    with pytest.raises(AssertionError):
        logged_in(app, "clerk.a")  # deactivated: no log-in


def test_an_administrator_ends_a_persons_sessions_and_only_an_administrator(app, engine, admin):
    clerk = logged_in(app, "clerk.a")
    assert clerk.post("/admin/people/clerk.a2/sessions/end").status_code == 403
    victim = logged_in(app, "clerk.a2")
    assert admin.post("/admin/people/clerk.a2/sessions/end").status_code == 302
    assert not opens_tasks(victim) and opens_tasks(clerk)
    assert admin.post("/admin/people/nobody/sessions/end").status_code == 404
    with engine.uow() as uow:
        from engine.models import AuditRecord
        import sqlalchemy as sa
        ended = uow.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "sessions_ended")).all()
    assert [(r.actor, '"why": "ended_by_admin"' in r.summary) for r in ended if "clerk.a2" in r.summary] == \
        [("admin", True)]


def test_an_administrator_changing_their_own_roles_keeps_this_session_but_ends_the_others(app, engine, admin):
    elsewhere = logged_in(app, "admin")
    form = {"display_name": "系统管理员", "department": AUTHORITY, "roles": ["admin", "authority"], "active": "true"}
    assert admin.post("/admin/people/admin", form).status_code == 302
    assert opens_tasks(admin) and not opens_tasks(elsewhere)
    assert "/supervision" in admin.get("/tasks").get_data(as_text=True)  # the new role counts at once
