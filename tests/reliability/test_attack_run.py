"""The attack run (tools/attack.py, README "Attack run") in its quick form, on each database: the app
served by waitress in a subprocess, attacked from outside and by every kind of account. It must end
with exit code 0: no 5xx, no payload unescaped, the log-in and objection limits held under parallel
bursts, no cross-department read or write, nothing acknowledged lost, the audit chain verified.

The first tests check the run's own detectors, so that a PASS means something."""
from __future__ import annotations

import html
import io
import json
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import require_postgres
from tests.reliability.conftest import REPO
from tools import attack


def test_the_xss_detector_finds_a_raw_payload_and_not_an_escaped_one():
    for payload in (*attack.PAYLOADS, attack.SHORT_PAYLOAD):
        safe = html.escape(payload)
        escaped = f'<p title="{safe}">{safe}</p><textarea>{safe}</textarea>'
        assert not attack.UNESCAPED.search(escaped), payload
    for payload in attack.PAYLOADS[:4] + (attack.SHORT_PAYLOAD,):
        assert attack.UNESCAPED.search(f"<p>{payload}</p>"), payload
    assert attack.UNESCAPED.search(f'<a href="{attack.PAYLOADS[4]}">')


def test_the_zip_bomb_is_an_office_package_that_inflates_to_its_size():
    bomb = attack.zip_bomb("word/document.xml", 8)
    with zipfile.ZipFile(io.BytesIO(bomb)) as z:
        assert set(z.namelist()) == {"[Content_Types].xml", "word/document.xml"}
        assert z.read("word/document.xml") == b"\0" * (8 << 20)  # the CRC is checked on the way
    assert len(attack.zip_bomb("word/document.xml")) < 2 * 1024 * 1024  # 1 GiB inflated


def test_forms_are_filled_as_a_browser_sends_them():
    page = """<form method="post" action="/x"><input type="hidden" name="csrf_token" value="t">
      <input name="title" maxlength="20"><textarea name="text">old</textarea>
      <select name="kind"><option value="">-</option><option value="a">A</option></select>
      <input type="checkbox" name="roles" value="admin" checked><input type="checkbox" name="roles" value="head">
      <input type="password" name="password"><button name="decision" value="approve">ok</button>
      <button name="decision" value="reject">no</button></form>"""
    [form] = attack.parse_forms(page)
    data = attack.fill(form, attack.PAYLOAD)
    assert ("csrf_token", "t") in data and ("kind", "a") in data and ("roles", "admin") in data
    assert ("roles", "head") not in data and not any(name == "password" for name, _ in data)
    assert ("title", attack.SHORT_PAYLOAD) in data and ("text", attack.PAYLOAD) in data
    assert [v for n, v in data if n == "decision"] == ["approve"]


def quick_run(db: str) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run([sys.executable, str(REPO / "tools" / "attack.py"), "--quick", "--db", db], cwd=REPO,
                          capture_output=True, text=True, timeout=540)
    lines = [line for line in done.stdout.splitlines() if line.startswith("SUMMARY ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    return done, json.loads(lines[-1][len("SUMMARY "):])


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_quick_attack_run_finds_no_server_error_and_no_hole(db):
    if db == "postgres":
        require_postgres()
    done, summary = quick_run(db)
    report = done.stdout[-6000:]
    assert done.returncode == 0, report + done.stderr[-3000:]
    assert summary["failures"] == [], report
    assert summary["server_errors"] == 0 and summary["connection_errors"] == 0, report
    assert [line for line in done.stdout.splitlines() if "server errors (5xx)" in line][0].split()[-1] == "0"
    assert summary["requests"] > 2000 and summary["payloads_sent"] > 30, report
    assert summary["unescaped_payloads"] == 0 and summary["holes"] == 0, report
    assert all(limit["held"] for limit in summary["limits"].values()) and len(summary["limits"]) == 2, report
    assert summary["data_lost"] == "none" and summary["audit_verified"], report
    assert summary["ledger"]["cases"] > 0 and summary["ledger"]["tasks completed"] > 0, report
    if db == "postgres":
        assert summary["db_connections_killed"]["times"] >= 2, report


# -- what the attack run found ------------------------------------------------------------------

NUL_REQUESTS = [  # (method, url, form, status): a NUL where the database would get it (PostgreSQL's text cannot
    # hold one); in a query string or a form 400, in a URL segment 404 like any id no row has
    ("GET", "/tasks?q=a%00b", None, 400),  # the inbox's filters: the attack run's 500
    ("GET", "/tasks?tab=done&process=x%00&sort=%00", None, 400),
    ("GET", "/tasks/%00", None, 404),
    ("GET", "/tasks/abc%00def", None, 404),
    ("GET", "/supervision/tasks/%00", None, 404),
    ("GET", "/admin/people/a%00b", None, 404),
    ("GET", "/start/review_loop%00", None, 404),
    ("GET", "/performance/?department=%00&process=%00", None, 400),
    ("GET", "/grants/?side=%00&status=%00", None, 400),
    ("GET", "/modeler/edit?process=%00&version=1", None, 400),
    ("GET", "/api/v1/tasks?tab=mine&q=%00", None, 400),
    ("GET", "/api/v1/objections/a%00b", None, 404),
    ("GET", "/api/v1/processes/review%00loop", None, 404),
    ("POST", "/login", {"login": "clerk.a\x00", "password": "x"}, 400),  # before anyone logs in
    ("POST", "/cases/{case_id}/comment", {"text": "a\x00b"}, 400),
    ("POST", "/tasks/{task_id}/transfer", {"to": "clerk.a2\x00", "reason": "a\x00b"}, 400),
    ("POST", "/public/objection/status", {"code": "a\x00b"}, 400),
]


@pytest.fixture
def pg_app(pg_county):
    from engine.config import Config
    from tests.e2e.conftest import start_case, open_task
    from web import create_app
    url, engine, tokens = pg_county
    app = create_app(Config(database_url=url, secret_key="attack-run-test-secret"), {"engine": engine})
    case_id = start_case(engine)
    return app, tokens, {"case_id": case_id, "task_id": open_task(engine, case_id)}


@pytest.mark.postgres
@pytest.mark.parametrize("method, url, form, status", NUL_REQUESTS, ids=[f"{m} {u}" for m, u, _, _ in NUL_REQUESTS])
def test_a_nul_character_anywhere_in_a_request_is_refused_never_a_500(pg_app, method, url, form, status):
    """PostgreSQL refuses NUL in text (psycopg DataError): found by the attack run as a 500 on
    /tasks?q=…%00…; a query string or form field with one is now a 400, a URL segment a 404."""
    from tests.e2e.conftest import Browser
    app, tokens, ids = pg_app
    browser = Browser(app.test_client())
    assert browser.login("clerk.a").status_code == 302
    url = url.format(**ids)
    headers = {"Authorization": f"Bearer {tokens['clerk.a']}"} if url.startswith("/api/") else {}
    if method == "GET":
        response = browser.client.get(url, headers=headers)
    else:
        response = browser.post(url, form)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    if url.startswith("/api/"):
        assert response.json["code"] == {400: "bad_request", 404: "not_found"}[status], response.json


@pytest.fixture
def staff(engine, clock, as_person):
    """An administrator and an analyst of the e2e county (SQLite), logged in."""
    from engine.domain import org
    from tests.e2e.conftest import AUTHORITY, PASSWORD
    with engine.uow() as uow:
        for login, role in (("admin", "admin"), ("analyst", "analyst")):
            org.create_person(uow.session, login, login, org.department_by_code(uow.session, AUTHORITY), {role},
                              PASSWORD, clock.now())
        uow.commit()
    return {"admin": as_person("admin"), "analyst": as_person("analyst"), "clerk": as_person("clerk.a")}


NUMBERS = [str(10**20), "²", "١٢"]  # beyond any id; a digit int() refuses; Arabic-Indic digits int() reads


@pytest.mark.parametrize("number", NUMBERS)
def test_numbers_in_forms_and_queries_beyond_an_id_or_not_ascii_are_refused_never_a_500(staff, engine, number):
    """Found by the attack run: POST /notifications/read with id=10**20 was a 500 on both databases
    (SQLite OverflowError, PostgreSQL out of range); str.isdigit() also let "²" through to int() in
    the modeler's versions and migration, the grant renewal and the rule-set form."""
    from engine.procedures import load_procedures
    from tests.e2e.conftest import start_case
    case_id = start_case(engine)
    # the grant renewal's pre-filled start page answers in front of /start/share_application?renew=
    engine.procedures["share_application"] = load_procedures("workflows")["share_application"]
    answers = {
        "renewal": staff["clerk"].get(f"/start/share_application?renew={number}"),
        "notifications": staff["clerk"].post("/notifications/read", {"id": number}),
        "versions": staff["analyst"].get(f"/modeler/review_loop/versions?old={number}&new={number}"),
        "migrate": staff["analyst"].post(f"/modeler/review_loop/cases/{case_id}/migrate", {"target": number}),
        "rule set": staff["admin"].post("/admin/rule-sets/new", {"name": "x", "p.review_reply_days": number}),
    }
    wrong = {k: r.status_code for k, r in answers.items() if r.status_code >= 500}
    assert not wrong, wrong


def test_marking_an_unknown_notification_read_marks_none_of_mine(staff, engine):
    """An id no notification has (here beyond any id) names none: the others stay unread."""
    from engine.domain.notifications import Notification
    import sqlalchemy as sa
    from tests.e2e.conftest import start_case
    start_case(engine)  # the clerk's new task: a notification
    with engine.uow() as uow:
        unread = uow.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.read_at.is_(None)))
    assert unread
    assert staff["clerk"].post("/notifications/read", {"id": str(10**20)}).status_code == 302
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.read_at.is_(None))) == unread
