"""Authorisation matrix, the POST half: every POST action of the pages and of the JSON API (from
app.url_map, so that a new route is covered, and an unclassified one fails) × every logged-in role.

Each action is sent as a browser sends it (the page's CSRF token) or as another system does (the
person's API token), with a form that would pass, on objects of department A (县公安局) made anew for
each action: a case and its open task, a claimed task, a head's approval task, a grant A → B, a 督办.
RULES says, per endpoint, which roles may act and how everyone else is refused:

- ``forbidden``: 403 (the engine's PermissionDenied, a blueprint's role check, the API's 403);
- ``message``: a redirect back with an error message (a refusal the view turns into a flash);
- ``ignored``: answered as usual, changing nothing (marking someone else's notification read).

A refused action changes nothing: no row of any table (the audit trail included: the app writes no
audit record for a refusal) and no stored file. An allowed role is never refused by authorisation
(no 401/403/404, no log-in page); it may be refused by the form or the state (400/409/422, a
message). Nobody ever gets a 5xx.
"""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.domain import api_tokens, catalog, notifications, org, records
from engine.domain.violations import open_supervision_item
from engine.models import HumanTask
from engine.procedures import Procedure
from engine.uow import Actor
from engine.verbs import definitions
from tests.conftest import FIXTURES
from tests.e2e.conftest import DEPT_A, DEPT_B, Browser, actor, open_task, start_case
from tests.e2e.test_api import new_token
from tests.e2e.test_grant_pages import RESOURCE
from tests.reliability.test_authz_matrix import PUBLIC_POSTS, ROLES, county, post_urls  # noqa: F401 - county: fixture
from workflows import rectification, share_application

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
DIAGRAM = FIXTURES / "review_loop.bpmn"
LOGGED_IN = [r for r in ROLES if r != "anonymous"]
EVERYONE = frozenset(LOGGED_IN)
FORBIDDEN, MESSAGE, IGNORED = "forbidden", "message", "ignored"

ADMIN = (frozenset({"admin"}), FORBIDDEN)          # web/admin: require_admin (blueprint)
ANALYST = (frozenset({"analyst"}), FORBIDDEN)      # web/modeler: analysts_only (blueprint), engine.verbs.definitions
SUPERVISOR = (frozenset({"supervisor"}), FORBIDDEN)  # web/supervision: authority_only, engine.supervision
WORKER_A = (frozenset({"clerk.a"}), FORBIDDEN)     # the open task is offered to department A's provider clerks
STARTERS = (frozenset({"clerk.a", "clerk.b"}), FORBIDDEN)  # review_loop: start_roles provider_clerk
REVOKERS = (frozenset({"clerk.a", "head.a", "supervisor"}), FORBIDDEN)  # grant A → B: A's clerk and head, authority
# endpoint -> (the roles that may, how the others are refused)
RULES = {
    **{e: ADMIN for e in ("admin.activate_rule_set", "admin.deactivate_rule_set", "admin.department",
                          "admin.end_sessions", "admin.new_department", "admin.new_person", "admin.new_rule_set",
                          "admin.override", "admin.person", "admin.policy", "admin.publish", "admin.reset_password")},
    **{e: ANALYST for e in ("modeler.delete_draft", "modeler.deploy", "modeler.dry_run", "modeler.migrate",
                            "modeler.save_draft", "modeler.upload", "modeler.validate")},
    **{e: SUPERVISOR for e in ("supervision.dismiss", "supervision.reassign", "supervision.rectify",
                               "supervision.urge")},
    "incidents.retry": (frozenset({"analyst", "admin"}), FORBIDDEN),  # web/incidents, engine.verbs.incidents
    **{e: WORKER_A for e in ("tasks.claim", "tasks.complete", "tasks.transfer", "attachments.upload",
                             "api_tasks.claim", "api_tasks.complete")},
    "tasks.unclaim": WORKER_A, "api_tasks.unclaim": WORKER_A,  # the holder only (claimed by clerk.a)
    "returns.return_task": (frozenset({"head.a"}), FORBIDDEN),  # the approval task: department A's head
    # whoever may see the case: its starter and those involved in its tasks, the authority (may_see_case)
    "tasks.comment": (frozenset({"clerk.a", "supervisor"}), FORBIDDEN),
    "start.form": STARTERS, "api_cases.start": STARTERS,
    "grants.revoke": REVOKERS, "api_grants.revoke": REVOKERS,
    "tokens.create": (EVERYONE, None),               # one's own tokens
    "tokens.revoke": (frozenset({"clerk.a"}), MESSAGE),  # token of clerk.a: anyone else's is "no such token"
    "notifications.mark_read": (frozenset({"clerk.a"}), IGNORED),  # a notification of clerk.a
    "auth.logout": (EVERYONE, None),                 # sent last: it ends the session
    # the renewal of a grant A → B: grants.renewal_start_form answers POST /start/<share application>?renew=
    # in front of start.form; a consumer clerk of the grant's consumer department only (may_renew)
    "start.form?renew": (frozenset({"consumer.b"}), FORBIDDEN),
}
# rows of RULES that are another way into an endpoint: row -> (endpoint, its URL's values, query)
VARIANTS = {"start.form?renew": ("start.form", {"process_id": "share_application"}, "?renew={grant_id}")}
# What each row is sent: the object its URL names ("task", "claimed" by clerk.a, "approval": the
# head's task after clerk.a's, "grant", "item": made anew for the one POST) and the form or JSON body
# (a function of the URL's values when it holds a file or an id); an empty one otherwise.
SENT = {
    "tasks.claim": ("task", {}), "api_tasks.claim": ("task", {}),
    "tasks.complete": ("task", {"summary": "材料齐全"}), "api_tasks.complete": ("task", {"data": {"summary": "材料齐全"}}),
    "tasks.transfer": ("task", {"to": "clerk.a2"}),
    "attachments.upload": ("task", lambda v: {"file": (io.BytesIO(b"evidence\n"), "evidence.txt")}),
    "tasks.unclaim": ("claimed", {}), "api_tasks.unclaim": ("claimed", {}),
    "returns.return_task": ("approval", {"reason": "材料不全，请补正"}),
    "supervision.urge": ("task", {"note": "请尽快办理"}), "supervision.reassign": ("task", {"to": "clerk.a2"}),
    "supervision.rectify": ("item", {"evidence": "复核超期三个工作日"}),
    "supervision.dismiss": ("item", {"note": "系统故障所致，不予立案"}),
    "grants.revoke": ("grant", {"reason": "提供给第三方", "basis": "第十四条第二款", "confirm": "yes"}),
    "api_grants.revoke": ("grant", {"reason": "提供给第三方", "basis": "第十四条第二款"}),
    "tasks.comment": (None, {"text": "请补充材料"}),
    "start.form": (None, {"topic": "人口数据更正"}),
    "start.form?renew": ("grant", {"resource": RESOURCE["code"], "scenario": "核验经营者身份", "data_items": "公民身份号码",
                                   "period_from": "2027-01-01", "period_until": "2027-12-31", "materials": "共享申请表"}),
    "api_cases.start": (None, {"process_id": "review_loop", "data": {"topic": "人口数据更正"}}),
    "tokens.create": (None, {"name": "对接系统"}),
    "admin.new_department": (None, {"code": "340822199", "name": "县测试局", "kind": "county_department"}),
    "admin.department": (None, {"name": "县公安局", "kind": "county_department", "head": ""}),
    "admin.new_person": (None, {"login": "new.person", "display_name": "新人", "department": DEPT_A,
                                "roles": "provider_clerk", "password": "a-long-new-password-1"}),
    "admin.person": (None, {"display_name": "李晓梅", "department": DEPT_A, "roles": "provider_clerk",
                            "active": "true"}),
    "admin.reset_password": (None, {"password": "a-long-new-password-1"}),
    "admin.override": (None, {"day": "2026-03-09", "kind": "rest", "note": "测试"}),
    "admin.policy": (None, {"policy": "next_working_day"}),
    "admin.activate_rule_set": (None, {"key": "nope", "confirmed": "yes"}),
    "admin.deactivate_rule_set": (None, {"key": "nope", "confirmed": "yes"}),
    "modeler.validate": (None, lambda v: {"xml": DIAGRAM.read_text()}),
    "modeler.dry_run": (None, lambda v: {"xml": DIAGRAM.read_text()}),
    "modeler.save_draft": (None, lambda v: {"xml": DIAGRAM.read_text(), "name": "草稿"}),
    "modeler.deploy": (None, lambda v: {"xml": DIAGRAM.read_text()}),
    "modeler.upload": (None, lambda v: {"file": (io.BytesIO(DIAGRAM.read_bytes()), "review_loop.bpmn")}),
    "notifications.mark_read": (None, lambda v: {"id": str(v["notification_id"])}),
}
# Columns any request may change: the API token's last use (the request authenticated with it).
VOLATILE = {"api_token": {"last_used_at"}}


@pytest.fixture
def world(app, engine, county, clock, tmp_path):
    """The matrix's county plus what the POSTs act on: the rectification and share application
    procedures, a published resource of department A, an API token and a notification of clerk.a,
    an analyst's draft; evidence files in a folder of the test's own."""
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    engine.procedures["rectification"] = Procedure.from_module("rectification", rectification)
    engine.deploy((BPMN / "rectification.bpmn").read_bytes())
    engine.procedures["share_application"] = Procedure.from_module("share_application", share_application)
    engine.deploy((BPMN / "share_application.bpmn").read_bytes())
    now = clock.now()
    with engine.uow() as uow:
        s = uow.session
        draft = catalog.open_draft(uow, DEPT_A, "seed", now)
        catalog.upsert_entry(uow, draft.id, RESOURCE, "seed", now)
        catalog.publish_draft(uow, draft.id, "seed", now, basis="测试目录")
        token, _ = api_tokens.create_token(uow, org.person_by_login(s, "clerk.a"), "clerk.a 的令牌", now)
        s.flush()
        notifications.notify(uow, ["clerk.a"], "new_task", county["case_id"], county["task_id"], "待办", now)
        uow.commit()
        token_id = token.id
    with engine.uow() as uow:
        notification_id = uow.session.scalar(sa.select(sa.func.max(notifications.Notification.id)))
    draft_id = definitions.save_draft(engine, Actor("analyst", frozenset({"analyst"}), None), None,
                                      DIAGRAM.read_bytes(), "草稿").id
    return {**county, "token_id": token_id, "notification_id": notification_id, "draft_id": draft_id,
            "login": "clerk.a2", "attachments": tmp_path / "attachments"}


def make(engine, kind: str) -> dict:
    """A new object of department A for one POST: its URL argument."""
    if kind in ("task", "claimed", "approval"):
        task_id = open_task(engine, start_case(engine))
        if kind == "claimed":
            engine.claim(task_id, actor("clerk.a"))
        if kind == "approval":
            engine.complete_task(task_id, actor("clerk.a"), {"summary": "材料齐全"})
            with engine.uow() as uow:
                case_id = uow.session.get(HumanTask, task_id).case_id
            task_id = open_task(engine, case_id)
        return {"task_id": task_id}
    with engine.uow() as uow:
        if kind == "grant":
            found = records.create_grant(
                uow, consumer_dept_code=DEPT_B, resource_code=RESOURCE["code"], provider_dept_code=DEPT_A,
                data_items=["公民身份号码"], scenario="核验经营者身份", valid_from=date(2026, 1, 1),
                valid_until=date(2026, 12, 31), basis="共享协议", actor=actor("clerk.a"), now=engine.clock.now())
            uow.session.flush()
            made = {"grant_id": found.id}
        else:  # a 督办 of an overdue task of department A, as an escalation opens it
            task_id = open_task(engine, start_case(engine))
            row = uow.session.get(HumanTask, task_id)
            found = open_supervision_item(uow, case_id=row.case_id, human_task_id=task_id, dept_code=DEPT_A,
                                          possible_violation_item=3, actor=Actor.system("escalation"),
                                          now=engine.clock.now(), note="复核超期")
            uow.session.flush()
            made = {"item_id": found.id}
        uow.commit()
    return made


def posts(app, values) -> list[str]:
    """Every POST but the public ones, as the anonymous matrix enumerates them, and the VARIANTS of
    them; log-out last."""
    found = [endpoint for endpoint, _ in post_urls(app, values)] + list(VARIANTS)
    return sorted(found, key=lambda e: (e == "auth.logout", e))


def readers(engine) -> dict[str, str]:
    """A query for every table: its rows, less the volatile columns."""
    meta = sa.MetaData()
    meta.reflect(engine.db_engine)
    return {name: "SELECT {} FROM {}".format(", ".join(f'"{c.name}"' for c in table.columns
                                                      if c.name not in VOLATILE.get(name, ())), f'"{name}"')
            for name, table in sorted(meta.tables.items())}


def snapshot(engine, tables: dict[str, str], folder: Path) -> dict:
    """Every row of every table (less the volatile columns), and the stored files."""
    with engine.db_engine.connect() as conn:
        state = {name: sorted(map(repr, conn.exec_driver_sql(query).fetchall())) for name, query in tables.items()}
    state["files"] = sorted(p.name for p in folder.rglob("*")) if folder.exists() else []
    return state


def changed(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def classify(response, flashes) -> str:
    """What the response says: done (as far as authorisation goes), or how it was refused."""
    status, location = response.status_code, response.headers.get("Location", "")
    if status >= 500:
        return f"server error {status}"
    if status == 401 or (status in (302, 303) and "/login" in location):
        return "login"
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return "not found"
    if status in (302, 303) and any(category == "error" for category, _ in flashes):
        return MESSAGE
    return f"passed {status}"


def send(browser: Browser, token: str, url: str, body: dict):
    if url.startswith("/api/"):
        return browser.client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    with browser.client.session_transaction() as session:
        session.pop("_flashes", None)
    return browser.post(url, body)


def flashes_of(browser: Browser) -> list:
    with browser.client.session_transaction() as session:
        return list(session.get("_flashes", []))


def test_every_post_endpoint_has_a_rule(app, world):
    unclassified = sorted(set(posts(app, world)) - set(RULES))
    assert not unclassified, f"POST endpoints without a rule in RULES (who may, how refused): {unclassified}"
    assert not set(RULES) & PUBLIC_POSTS and {v[0] for v in VARIANTS.values()} <= set(RULES)


@pytest.mark.parametrize("who", LOGGED_IN)
def test_every_role_on_every_post_action(app, engine, world, who):
    """Each (endpoint, role) cell as RULES says; besides, on the pages, the roles that may act are
    refused without the CSRF token (400), and on the API every role is refused with only the browser's
    session cookie (401): neither changes anything."""
    browser = Browser(app.test_client())
    assert browser.login(who).status_code == 302
    token = new_token(engine, who)
    tables = readers(engine)
    wrong, cells, rows = [], 0, [row for row in posts(app, world) if row in RULES]

    def unchanged(before, what: str) -> None:
        diff = changed(before, snapshot(engine, tables, world["attachments"]))
        if diff:
            wrong.append(f"{what} changed {diff}")

    for row in rows:  # (an endpoint without a rule: test_every_post_endpoint_has_a_rule names it)
        endpoint, fixed, query = VARIANTS.get(row, (row, {}, ""))
        allowed, refusal = RULES[row]
        kind, body = SENT.get(row, (None, {}))
        values = {**world, **(make(engine, kind) if kind else {}), **fixed}
        url = dict(post_urls(app, values))[endpoint] + query.format(**values)
        form = lambda: body(values) if callable(body) else dict(body)  # noqa: E731 - a file is read once
        api = url.startswith("/api/")
        if api or who in allowed:  # the ways in without the right credential
            before = snapshot(engine, tables, world["attachments"])
            response = browser.client.post(url, json=form()) if api else browser.client.post(url, data=form())
            want = 401 if api else 400
            if response.status_code != want:
                wrong.append(f"{who} POST {url} ({row}) without {'the API token' if api else 'the CSRF token'}: "
                             f"want {want}, got {response.status_code}")
            unchanged(before, f"{who} POST {url} ({row}) refused for its credential")
        watched = who not in allowed or refusal in (MESSAGE, IGNORED)
        before = snapshot(engine, tables, world["attachments"]) if watched else None
        response = send(browser, token, url, form())
        got = classify(response, [] if api else flashes_of(browser))
        cells += 1
        if who in allowed:
            if row == "auth.logout":
                ok = got == "login"  # where logging out leads
            elif refusal in (MESSAGE, IGNORED):  # the others' refusal looks like a success: it must be one
                ok = got.startswith("passed") and bool(changed(before, snapshot(engine, tables, world["attachments"])))
            else:  # refused by the form or the state, perhaps (a 422, a message), never by authorisation
                ok = got.startswith("passed") or got == MESSAGE
            if not ok:
                wrong.append(f"{who} may POST {url} ({row}) but got {got}")
            continue
        want = "passed 302" if refusal == IGNORED else refusal
        if got != want:
            wrong.append(f"{who} may not POST {url} ({row}): want {want}, got {got}")
        unchanged(before, f"{who} was refused POST {url} ({row}) but it")
    assert cells == len(rows) >= 40, cells
    assert not wrong, "\n".join(wrong)
