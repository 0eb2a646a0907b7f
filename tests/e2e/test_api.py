"""The JSON API /api/v1: personal tokens (page and lifecycle), every endpoint's answer, the same
refusals as the pages (role, department, someone else's task), JSON errors with stable codes for
every 4xx and 5xx, and an OpenAPI 3 document that lists every endpoint."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from openapi_schema_validator import validate as validate_schema
from openapi_spec_validator import validate as validate_openapi
from werkzeug.exceptions import HTTPException

from engine.domain import api_tokens, catalog, org, records, throttle
from engine.errors import CaseStalled, ConcurrentModification, GovflowError, ScriptError
from engine.models import AuditRecord, Base
from engine.procedures import Procedure
from workflows.data_review import records as objection_records
from tests.e2e.conftest import AUTHORITY, DEPT_A, DEPT_B, actor, open_task, start_case
from web.api import objections as objection_api
from workflows import data_review

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
RESOURCE = {"code": "HN-GA-001", "name": "户籍人口基本信息", "classification": "base", "category": "人口",
            "summary": "户籍人口（演示）", "format": "database",
            "data_items": [{"name": "公民身份号码", "type": "字符", "description": ""}],
            "update_frequency": "daily", "share_type": "unconditional", "status": "active", "open_type": "open",
            "share_method": "interface", "usage_requirements": "不得提供给第三方", "materials": ["共享申请表"]}
OBJECTION = {"objector_kind": "natural_person", "objector_name": "王某某", "contact_phone": "139 8765 4321",
             "contact_email": "wang@example.cn", "resource": "HN-GA-001",
             "record_ref": "公民身份号码 340822199001011234 的户籍地址", "description": "门牌号应为 12 号"}


# -- fixtures -----------------------------------------------------------------------------------

class ConformingClient(FlaskClient):
    """A test client that checks every API answer against the OpenAPI document: its status is
    declared for the operation (or falls to ``default``) and its body matches the declared schema."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        request = response.request
        if request.path.startswith("/api/v1/") and request.path != "/api/v1/openapi.json":
            check_conformance(self.application, request.method, request.path, response)
        return response


def check_conformance(app, method: str, path: str, response) -> None:
    document = app.extensions["govflow_api"].spec.to_dict()
    try:
        rule = app.url_map.bind("localhost").match(path, method=method, return_rule=True)[0]
    except HTTPException:  # no such operation: a JSON refusal
        assert response.status_code in (404, 405) and response.get_json()["code"], response.get_data()
        return
    template = re.sub(r"<(?:[^<>]+:)?([^<>:]+)>", r"{\1}", rule.rule)
    responses = document["paths"][template][method.lower()]["responses"]
    declared = responses.get(str(response.status_code)) or responses["default"]
    if "$ref" in declared:
        declared = document["components"]["responses"][declared["$ref"].rsplit("/", 1)[1]]
    schema = declared["content"]["application/json"]["schema"]
    assert response.mimetype == "application/json", (method, path, response.status_code)
    validate_schema(response.get_json(), {**schema, "components": document["components"]},
                    cls=OAS30ReadValidator, format_checker=oas30_format_checker)


@pytest.fixture(autouse=True)
def conforming(app):
    app.test_client_class = ConformingClient


@pytest.fixture
def county(engine, clock):
    """The e2e county plus a published catalog, the objection procedure and a few grants."""
    engine.procedures["data_review"] = Procedure.from_module("data_review", data_review)
    engine.deploy((BPMN / "data_review.bpmn").read_bytes())
    now = clock.now()
    with engine.uow() as uow:
        draft = catalog.open_draft(uow, DEPT_A, "seed", now)
        catalog.upsert_entry(uow, draft.id, RESOURCE, "seed", now)
        catalog.publish_draft(uow, draft.id, "seed", now, basis="测试目录")
        uow.commit()
    grants = {}
    with engine.uow() as uow:
        def grant(name, consumer, provider, until):
            grants[name] = records.create_grant(
                uow, consumer_dept_code=consumer, resource_code="HN-GA-001", provider_dept_code=provider,
                data_items=["公民身份号码"], scenario="户籍核验", valid_from=date(2026, 1, 1), valid_until=until,
                basis="共享协议", actor=actor("supervisor"), now=now).id
        grant("active", DEPT_B, DEPT_A, date(2026, 12, 31))
        grant("lapsed", DEPT_B, DEPT_A, date(2026, 2, 28))
        grant("revoked", DEPT_B, DEPT_A, date(2026, 12, 31))
        grant("others", AUTHORITY, DEPT_A, date(2026, 12, 31))
        uow.commit()
    with engine.uow() as uow:
        records.revoke_grant(uow, grants["revoked"], "不再需要", actor("supervisor"), now)
        uow.commit()
    return grants


def new_token(engine, login: str, name: str = "大数据中心") -> str:
    with engine.uow() as uow:
        _, secret = api_tokens.create_token(uow, org.person_by_login(uow.session, login), name, engine.clock.now())
        uow.commit()
    return secret


@pytest.fixture
def api(client, engine):
    """Call the API as a person: api("clerk.a").get("/api/v1/tasks")."""
    tokens: dict[str, str] = {}

    class As:
        def __init__(self, login):
            if login not in tokens:
                tokens[login] = new_token(engine, login)
            self.headers = {"Authorization": f"Bearer {tokens[login]}"}

        def get(self, url, **kw):
            return client.get(url, headers=self.headers, **kw)

        def post(self, url, body=None, **kw):
            return client.post(url, headers=self.headers, json=body, **kw)
    return As


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == code and " (" in body["message"], body
    return body


# -- tokens -------------------------------------------------------------------------------------

def test_a_token_is_shown_once_kept_hashed_used_and_revoked(as_person, client, engine, clock):
    me = as_person("clerk.a")
    page = me.get("/account/tokens/")
    assert page.status_code == 200 and "没有 API 令牌" in page.get_data(as_text=True)

    created = me.post("/account/tokens/", {"name": "网上办事平台"})
    assert created.status_code == 201
    secret = created.get_data(as_text=True).split('<code id="new-token">')[1].split("</code>")[0]
    assert secret.startswith("gft_") and len(secret) > 50
    listing = me.get("/account/tokens/").get_data(as_text=True)
    assert "网上办事平台" in listing and secret not in listing and secret[:12] in listing
    with engine.uow() as uow:
        row = uow.session.scalars(sa.select(api_tokens.ApiToken)).one()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and row.last_used_at is None
        stored = json.dumps([str(getattr(row, c.key)) for c in sa.inspect(row).mapper.column_attrs])
        assert secret not in stored and secret.split("_", 2)[2] not in stored
        audited = [r.summary for r in uow.session.scalars(sa.select(AuditRecord).where(
            AuditRecord.action == "api_token_created"))]
    assert len(audited) == 1 and secret not in audited[0]

    clock.advance(minutes=5)
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    with engine.uow() as uow:
        assert uow.session.get(api_tokens.ApiToken, row.id).last_used_at == clock.now()

    revoked = me.post(f"/account/tokens/{row.id}/revoke")
    assert revoked.status_code == 302
    after = me.get("/account/tokens/").get_data(as_text=True)
    assert "令牌已撤销：网上办事平台" in after and secret[:12] not in after
    answer = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"})
    refused(answer, 401, "invalid_token")
    assert "invalid_token" in answer.headers["WWW-Authenticate"]


def test_the_token_page_refuses_bad_input_and_other_peoples_tokens(as_person, client, engine):
    me = as_person("clerk.a")
    blank = me.post("/account/tokens/", {"name": "   "})
    assert blank.status_code == 422 and "请填写令牌名称" in blank.get_data(as_text=True)
    too_long = me.post("/account/tokens/", {"name": "长" * 101})
    assert too_long.status_code == 422 and "长" * 101 in too_long.get_data(as_text=True)  # kept to correct
    no_csrf = me.client.post("/account/tokens/", data={"name": "x"})
    assert no_csrf.status_code == 400

    theirs = new_token(engine, "clerk.b")
    with engine.uow() as uow:
        their_id = uow.session.scalars(sa.select(api_tokens.ApiToken.id)).one()
    me.post(f"/account/tokens/{their_id}/revoke")
    assert "没有这个有效令牌" in me.get("/account/tokens/").get_data(as_text=True)
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {theirs}"}).status_code == 200
    assert me.client.post(f"/account/tokens/{their_id}/revoke").status_code == 400  # no CSRF token

    anonymous = client.get("/account/tokens/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_api_answers_only_a_valid_token(client, engine, as_person):
    secret = new_token(engine, "clerk.a")
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    missing = refused(client.get("/api/v1/tasks"), 401, "unauthorized")
    assert "Bearer" in missing["message"]
    assert client.get("/api/v1/tasks").headers["WWW-Authenticate"].startswith("Bearer")
    for header in (f"Basic {secret}", "Bearer", f"Bearer {secret}x", f"Bearer {secret[:-3]}abc",
                   "Bearer gft_00000000_" + "a" * 43):
        refused(client.get("/api/v1/tasks", headers={"Authorization": header}), 401,
                "unauthorized" if not header.startswith("Bearer ") else "invalid_token")
    browser = as_person("clerk.a")  # a logged-in browser's cookie is not enough
    refused(browser.client.get("/api/v1/tasks"), 401, "unauthorized")
    with engine.uow() as uow:
        org.person_by_login(uow.session, "clerk.a").active = False
        uow.commit()
    refused(client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"}), 401, "invalid_token")


# -- cases --------------------------------------------------------------------------------------

def test_start_a_case_then_read_it_and_its_timeline(api):
    clerk = api("clerk.a")
    started = clerk.post("/api/v1/cases", {"process_id": "review_loop", "data": {"topic": "人口数据更正"}})
    assert started.status_code == 201, started.get_json()
    case = started.get_json()
    assert started.headers["Location"].endswith(f"/api/v1/cases/{case['id']}")
    assert (case["status"], case["title"], case["started_by"], case["outcome"]) == (
        "running", "人口数据更正", "clerk.a", None)
    [task] = case["open_tasks"]
    assert (task["name"], task["department"], task["can_work"], task["assignee"]) == ("填写材料", DEPT_A, True, None)

    assert clerk.get(f"/api/v1/cases/{case['id']}").get_json() == case
    timeline = clerk.get(f"/api/v1/cases/{case['id']}/timeline").get_json()
    assert [e["action"] for e in timeline["items"]][:2] == ["case_started", "task_created"]
    assert timeline["items"][0]["actor_name"] == "王建国"


def test_starting_a_case_is_refused_like_on_the_page(api, client):
    clerk = api("clerk.a")
    refused(clerk.post("/api/v1/cases", {"process_id": "inspection"}), 403, "forbidden")  # the authority's
    refused(clerk.post("/api/v1/cases", {"process_id": "no_such_process"}), 404, "not_found")
    missing = refused(clerk.post("/api/v1/cases", {"process_id": "review_loop", "data": {}}), 422, "invalid_form")
    assert missing["errors"] == {"topic": "必填 (required)"}
    unknown = refused(clerk.post("/api/v1/cases", {"process_id": "review_loop", "data": {"topic": "x", "extra": 1}}),
                      422, "invalid_form")
    assert list(unknown["errors"]) == ["extra"]
    nested = refused(clerk.post("/api/v1/cases", {"process_id": "review_loop", "data": {"topic": {"a": 1}}}),
                     422, "invalid_form")
    assert "single value" in nested["errors"]["topic"]
    control = refused(clerk.post("/api/v1/cases", {"process_id": "review_loop", "data": {"topic": "a\x00b"}}),
                      422, "invalid_form")
    assert "control characters" in control["errors"]["topic"]
    schema = refused(clerk.post("/api/v1/cases", {"data": {}, "colour": "red"}), 422, "invalid_request")
    assert schema["errors"] == {"process_id": "必填 (Missing data for required field)",
                                "colour": "不是此请求的字段 (Unknown field)"}
    refused(client.post("/api/v1/cases", data="{not json", content_type="application/json",
                        headers=clerk.headers), 400, "bad_json")
    refused(client.post("/api/v1/cases", data="process_id=review_loop", headers=clerk.headers,
                        content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type")
    refused(client.post("/api/v1/cases", json={"process_id": "review_loop"}), 401, "unauthorized")


def test_another_departments_case_is_refused(api, engine):
    case_id = start_case(engine, "clerk.a")
    other = api("clerk.b")
    refused(other.get(f"/api/v1/cases/{case_id}"), 403, "forbidden")
    refused(other.get(f"/api/v1/cases/{case_id}/timeline"), 403, "forbidden")
    refused(other.get("/api/v1/cases/999999"), 404, "not_found")
    assert api("supervisor").get(f"/api/v1/cases/{case_id}").status_code == 200  # the authority reads all


# -- tasks --------------------------------------------------------------------------------------

def test_inbox_claim_unclaim_and_complete_a_task(api, engine):
    case_id = start_case(engine, "clerk.a")
    task_id = open_task(engine, case_id)
    clerk = api("clerk.a")

    offered = clerk.get("/api/v1/tasks?tab=unclaimed").get_json()
    assert [t["id"] for t in offered["items"]] == [task_id]
    assert (offered["total"], offered["pages"], offered["counts"]["unclaimed"]) == (1, 1, 1)
    detail = clerk.get(f"/api/v1/tasks/{task_id}").get_json()
    fields = {f["id"]: f for f in detail["fields"]}
    assert list(fields) == ["summary", "pages", "received", "urgent"]
    assert (fields["summary"]["required"], fields["summary"]["minlength"], fields["pages"]["max"]) == (True, 2, 500)
    assert detail["data"] == {"summary": None, "pages": None, "received": None, "urgent": None}

    assert clerk.post(f"/api/v1/tasks/{task_id}/claim").get_json()["assignee"] == "clerk.a"
    assert [t["id"] for t in clerk.get("/api/v1/tasks").get_json()["items"]] == [task_id]
    released = clerk.post(f"/api/v1/tasks/{task_id}/unclaim").get_json()
    assert (released["assignee"], released["can_work"]) == (None, True)
    clerk.post(f"/api/v1/tasks/{task_id}/claim")

    invalid = refused(clerk.post(f"/api/v1/tasks/{task_id}/complete", {"data": {"summary": "x", "pages": 0}}),
                      422, "invalid_form")
    assert set(invalid["errors"]) == {"summary", "pages"}
    done = clerk.post(f"/api/v1/tasks/{task_id}/complete",
                      {"data": {"summary": "材料齐全", "pages": 3, "received": "2026-03-02", "urgent": True}})
    assert done.status_code == 200, done.get_json()
    result = done.get_json()
    assert (result["case_id"], result["case_status"]) == (case_id, "running")
    assert [(t["name"], t["can_work"]) for t in result["next_tasks"]] == [("数长审批", False)]
    refused(clerk.post(f"/api/v1/tasks/{task_id}/complete", {"data": {"summary": "再次提交"}}), 409, "already_done")

    history = clerk.get("/api/v1/tasks?tab=done").get_json()
    assert [t["id"] for t in history["items"]] == [task_id] and history["items"][0]["can_work"] is False
    closed = clerk.get(f"/api/v1/tasks/{task_id}").get_json()
    assert (closed["state"], closed["submitted"]["summary"], closed["data"]) == ("completed", "材料齐全", {})

    head = api("head.a")
    approval = head.get("/api/v1/tasks?tab=unclaimed").get_json()["items"][0]
    options = {f["id"]: f["options"] for f in head.get(f"/api/v1/tasks/{approval['id']}").get_json()["fields"]}
    assert options["decision"] == [{"id": "approve", "name": "同意"}, {"id": "return", "name": "退回"}]
    head.post(f"/api/v1/tasks/{approval['id']}/claim")
    ended = head.post(f"/api/v1/tasks/{approval['id']}/complete", {"data": {"decision": "approve"}}).get_json()
    assert (ended["case_status"], ended["case_outcome"], ended["next_tasks"]) == (
        "completed", "approved:材料齐全", [])


def test_someone_elses_task_is_refused(api, engine):
    case_id = start_case(engine, "clerk.a")
    task_id = open_task(engine, case_id)
    other_department, colleague = api("clerk.b"), api("clerk.a2")
    refused(other_department.get(f"/api/v1/tasks/{task_id}"), 403, "forbidden")
    refused(other_department.post(f"/api/v1/tasks/{task_id}/claim"), 403, "forbidden")
    refused(other_department.post(f"/api/v1/tasks/{task_id}/complete", {"data": {"summary": "越权"}}),
            403, "forbidden")
    assert other_department.get("/api/v1/tasks?tab=unclaimed").get_json()["items"] == []
    refused(api("head.a").post(f"/api/v1/tasks/{task_id}/claim"), 403, "forbidden")  # wrong role

    assert colleague.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
    refused(api("clerk.a").post(f"/api/v1/tasks/{task_id}/claim"), 409, "already_done")
    refused(api("clerk.a").get(f"/api/v1/tasks/{task_id}"), 403, "forbidden")  # now the colleague's
    refused(api("clerk.a").post(f"/api/v1/tasks/{task_id}/unclaim"), 403, "forbidden")
    refused(colleague.get("/api/v1/tasks/00000000-0000-4000-8000-000000000000"), 404, "not_found")
    refused(colleague.get("/api/v1/tasks?tab=started"), 422, "invalid_request")
    refused(colleague.get("/api/v1/tasks?per_page=1000"), 422, "invalid_request")


# -- catalog and grants -------------------------------------------------------------------------

def test_the_published_catalog(api, county):
    reader = api("clerk.b")
    everything = reader.get("/api/v1/catalog").get_json()
    [entry] = everything["items"]
    assert (entry["code"], entry["department"], entry["share_type"], entry["catalog_version"]) == (
        "HN-GA-001", {"code": DEPT_A, "name": "县公安局"}, "unconditional", 1)
    assert "updated_by" not in entry and "seed" not in json.dumps(entry)
    assert reader.get(f"/api/v1/catalog?department={DEPT_B}").get_json() == {"department": DEPT_B, "items": []}
    refused(reader.get("/api/v1/catalog?department=nowhere"), 404, "not_found")


def test_my_departments_grants(api, county):
    consumer, provider = api("clerk.b"), api("clerk.a")
    held = consumer.get("/api/v1/grants").get_json()
    statuses = {g["id"]: g["status"] for g in held["items"]}
    assert statuses == {county["active"]: "active", county["lapsed"]: "expired", county["revoked"]: "revoked"}
    assert held["department"]["code"] == DEPT_B and held["total"] == 3
    assert [g["id"] for g in consumer.get("/api/v1/grants?status=active").get_json()["items"]] == [county["active"]]
    assert [g["id"] for g in consumer.get("/api/v1/grants?status=expired").get_json()["items"]] == [county["lapsed"]]
    one = consumer.get(f"/api/v1/grants/{county['active']}").get_json()
    assert one["in_force"] is True and "第十四条" in one["usage_limits"]

    given = provider.get("/api/v1/grants?side=provider").get_json()
    assert len(given["items"]) == 4 and provider.get("/api/v1/grants").get_json()["items"] == []
    refused(consumer.get(f"/api/v1/grants/{county['others']}"), 403, "forbidden")
    refused(consumer.get("/api/v1/grants/99999"), 404, "not_found")
    refused(consumer.get("/api/v1/grants?status=lost"), 422, "invalid_request")


# -- public objections --------------------------------------------------------------------------

def test_a_public_objection_is_followed_by_its_receipt_code(client, county, engine):
    submitted = client.post("/api/v1/objections", json=OBJECTION)
    assert submitted.status_code == 201, submitted.get_json()
    receipt = submitted.get_json()
    code = receipt["receipt_code"]
    assert submitted.headers["Location"].endswith(f"/api/v1/objections/{code}")
    assert (receipt["status"], receipt["provider"]["code"], receipt["resource_name"]) == (
        "received", DEPT_A, "户籍人口基本信息")
    assert receipt["due_date"] is not None and receipt["answer"] is None

    with engine.uow() as uow:
        case = uow.session.scalars(sa.select(objection_records.Objection.case_id).where(
            objection_records.Objection.receipt_code == code)).one()
        started_by = uow.session.scalar(sa.select(AuditRecord.actor).where(
            AuditRecord.case_id == case, AuditRecord.action == "case_started"))
    assert started_by == "public:natural_person"  # as from the public page
    task_id = open_task_named(engine, case, "verify_answer")
    engine.claim(task_id, actor("clerk.a"))
    engine.complete_task(task_id, actor("clerk.a"), {"outcome": "corrected", "answer": "已核实并更正。",
                                                      "correction": "门牌号 21 → 12"})

    followed = client.get(f"/api/v1/objections/{code.lower()[:6]}-{code[6:]}")
    assert followed.status_code == 200
    status = followed.get_json()
    assert (status["status"], status["outcome"], status["answer"], status["correction"]) == (
        "answered", "corrected", "已核实并更正。", "门牌号 21 → 12")
    text = followed.get_data(as_text=True)
    for private in ("王某某", "8765", "wang@example.cn", "objector", "contact"):
        assert private not in text


def test_objections_refuse_bad_input_unknown_codes_and_floods(client, county, engine):
    department = refused(client.post("/api/v1/objections", json={**OBJECTION, "objector_kind": "department"}),
                         422, "invalid_request")
    assert "objector_kind" in department["errors"]
    unknown = refused(client.post("/api/v1/objections", json={**OBJECTION, "resource": "HN-XX-999"}),
                      422, "invalid_form")
    assert list(unknown["errors"]) == ["resource"]
    refused(client.post("/api/v1/objections", json={**OBJECTION, "contact_phone": "", "contact_email": ""}),
            422, "invalid_form")
    refused(client.get("/api/v1/objections/ABCDEFGHJKMN"), 404, "not_found")  # someone else's? no: no such
    refused(client.get("/api/v1/objections/%00"), 404, "not_found")

    for _ in range(throttle.LIMITS["objection"].requests):  # refused forms count elsewhere
        assert client.post("/api/v1/objections", json=OBJECTION).status_code == 201
    flood = client.post("/api/v1/objections", json=OBJECTION)
    refused(flood, 429, "rate_limited")
    assert int(flood.headers["Retry-After"]) > 0


def test_the_public_form_matches_the_procedures_start_form():
    assert set(objection_api.ObjectionRequestSchema().fields) == {f.id for f in data_review.START_FORM}


def open_task_named(engine, case_id: int, element_id: str) -> str:
    from engine.models import HumanTask
    with engine.uow() as uow:
        return uow.session.scalars(sa.select(HumanTask.id).where(
            HumanTask.case_id == case_id, HumanTask.element_id == element_id, HumanTask.state == "ready")).one()


# -- processes ----------------------------------------------------------------------------------

def test_the_procedures_i_may_start_and_their_start_forms(api):
    clerk = api("clerk.a")
    assert [p["process_id"] for p in clerk.get("/api/v1/processes").get_json()["items"]] == ["review_loop"]
    form = clerk.get("/api/v1/processes/review_loop").get_json()
    assert [(f["id"], f["required"], f["maxlength"]) for f in form["fields"]] == [("topic", True, 100)]
    refused(clerk.get("/api/v1/processes/inspection"), 403, "forbidden")
    refused(clerk.get("/api/v1/processes/nothing"), 404, "not_found")


# -- errors and the document --------------------------------------------------------------------

def test_every_refusal_is_json(api, client, app, monkeypatch):
    clerk = api("clerk.a")
    refused(clerk.get("/api/v1/no-such-thing"), 404, "not_found")
    wrong_method = refused(client.delete("/api/v1/cases"), 405, "method_not_allowed")
    assert wrong_method["message"] and "POST" in client.delete("/api/v1/cases").headers["Allow"]
    refused(client.post("/api/v1/cases", data=b"x" * (3 * 1024 * 1024), content_type="application/json",
                        headers=clerk.headers), 413, "too_large")
    assert client.get("/no-such-page").mimetype == "text/html"  # the pages keep their error pages

    from web.api import reads
    monkeypatch.setattr(reads, "timeline", lambda *a: (_ for _ in ()).throw(RuntimeError("db password=hunter2")))
    failed = refused(clerk.get("/api/v1/cases/1/timeline"), 500, "server_error")
    assert "hunter2" not in json.dumps(failed)


@pytest.mark.parametrize("error, status, code", [
    (ConcurrentModification("该案件已被他人修改，请刷新后重试 (the case was changed by someone else)"), 409, "conflict"),
    (ScriptError("流程脚本出错 (script error) 登记结果: name 'hunter2' is not defined"), 500, "script_error"),
    (CaseStalled("案件无法继续 (the case cannot continue) hunter2"), 500, "stalled"),
])
def test_engine_errors_keep_their_codes_and_server_errors_their_secrets(api, engine, monkeypatch, error, status, code):
    case_id = start_case(engine, "clerk.a")
    task_id = open_task(engine, case_id)

    def fail(*args):
        raise error
    monkeypatch.setattr(engine, "claim", fail)
    answer = refused(api("clerk.a").post(f"/api/v1/tasks/{task_id}/claim"), status, code)
    assert ("hunter2" in answer["message"]) is False


def test_the_openapi_document_is_valid_and_lists_every_endpoint(client, app):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate_openapi(document)
    assert document["openapi"].startswith("3.")

    documented = {(path, method.upper()) for path, item in document["paths"].items()
                  for method in item if method in ("get", "post", "put", "patch", "delete")}
    routed = {(re.sub(r"<(?:[^<>]+:)?([^<>:]+)>", r"{\1}", rule.rule), method)
              for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/") and rule.endpoint != "api-docs.openapi_json"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented and len(documented) == 16

    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            public = operation.get("security") == []
            assert public == path.startswith("/api/v1/objections"), path
            assert public or "401" in operation["responses"], (path, method)
            assert "default" in operation["responses"]
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= set(operation["responses"]), (path, method)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert set(document["components"]["schemas"]["Error"]["required"]) == {"code", "message"}


def test_the_migration_matches_the_model(db_file_url):
    only_mine = {"include_object": lambda obj, name, kind, reflected, other:
                 (name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)) == "api_token"}
    db = sa.create_engine(db_file_url)
    with db.connect() as conn:
        assert "api_token" in sa.inspect(conn).get_table_names()
        assert compare_metadata(MigrationContext.configure(conn, opts=only_mine), Base.metadata) == []
    db.dispose()


def test_a_person_has_at_most_twenty_active_tokens(engine):
    for number in range(api_tokens.MAX_ACTIVE):
        new_token(engine, "clerk.a", f"系统 {number}")
    with pytest.raises(GovflowError, match="at most 20 active tokens"):
        new_token(engine, "clerk.a", "one too many")
    assert timedelta(0) < api_tokens.LAST_USED_PRECISION


def test_a_procedure_without_a_start_form_takes_no_variables(api):
    authority = api("supervisor")
    injected = refused(authority.post("/api/v1/cases", {"process_id": "inspection",
                                                        "data": {"initiator": "clerk.a", "case_id": 1}}),
                       422, "invalid_form")
    assert set(injected["errors"]) == {"initiator", "case_id"}
    assert authority.post("/api/v1/cases", {"process_id": "inspection"}).status_code == 201


def test_every_operation_but_the_public_ones_needs_a_token(app, client):
    samples = {"case_id": "1", "task_id": "00000000-0000-4000-8000-000000000000", "grant_id": "1",
               "process_id": "review_loop", "receipt_code": "ABCDEFGHJKMN"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api-docs.openapi_json":
            continue
        url = re.sub(r"<(?:[^<>]+:)?([^<>:]+)>", lambda m: samples[m.group(1)], rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method, json={} if method == "POST" else None)
            if rule.endpoint.startswith("api_objections."):
                assert response.status_code != 401, url
            else:
                refused(response, 401, "unauthorized")
                checked += 1
    assert checked == 14
    assert client.get("/api/v1/openapi.json").status_code == 200  # the document is public
