"""A hostile case does not take the county down (engine.spiff.sandbox, engine.incidents): while a clerk's
start runs a diagram whose code never ends, the server answers /healthz and another clerk's action,
on PostgreSQL and on SQLite; the hostile case ends in an incident and the server goes on.

The response times are printed (``-s`` shows them; README "Sandbox" reports them), never gated."""
from __future__ import annotations

import threading
import time

import pytest
import requests
import sqlalchemy as sa

from engine.clock import SystemClock
from engine.db import create_db_engine
from engine.domain import api_tokens, org
from engine.migrate import upgrade
from engine.models import Case, Incident
from tests.conftest import FIXTURES, make_engine
from tests.e2e.conftest import DEPT_A, PASSWORD, review_loop
from tests.reliability.conftest import Server

pytestmark = [pytest.mark.slow]

HOSTILE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="defs" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="hostile" name="恶意流程" isExecutable="true" camunda:candidateStarterGroups="provider_clerk">
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="spin" name="死循环"><bpmn:script>x = sum(range(10 ** 13))</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="after" name="之后" camunda:candidateGroups="provider_clerk"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="spin"/>
    <bpmn:sequenceFlow id="f2" sourceRef="spin" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def county(url: str):
    db = create_db_engine(url)
    upgrade(db)
    db.dispose()
    eng = make_engine(url, SystemClock(), {"review_loop": review_loop()})
    eng.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    eng.deploy(HOSTILE)
    tokens = {}
    with eng.uow() as uow:
        dept = org.create_department(uow.session, DEPT_A, "县公安局", "county_department")
        now = eng.clock.now()
        for login in ("clerk.a", "clerk.a2"):
            person = org.create_person(uow.session, login, login, dept, {"provider_clerk"}, PASSWORD, now)
            uow.session.flush()
            tokens[login] = api_tokens.create_token(uow, person, "hostile", now)[1]
        uow.commit()
    return eng, tokens


@pytest.fixture
def served(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVFLOW_SCRIPT_CPU_SECONDS", "3")
    monkeypatch.setenv("GOVFLOW_SCRIPT_WALL_SECONDS", "6")
    eng, tokens = county(db_url)
    srv = Server(db_url, tmp_path / "server.log", "waitress", threads=8).start()
    yield db_url.split(":")[0].split("+")[0], srv, eng, tokens
    srv.stop()
    eng.db_engine.dispose()


def call(base, token, method, path, body=None):
    started = time.monotonic()
    r = requests.request(method, base + path, json=body, timeout=60,
                         headers={"Authorization": f"Bearer {token}"} if token else {})
    return r, time.monotonic() - started


def test_the_server_answers_while_a_hostile_case_runs(served):
    name, srv, eng, tokens = served
    hostile: dict = {}

    def start_hostile():
        hostile["response"], hostile["seconds"] = call(srv.base, tokens["clerk.a"], "POST", "/api/v1/cases",
                                                       {"process_id": "hostile", "data": {}})

    thread = threading.Thread(target=start_hostile)
    thread.start()
    time.sleep(0.5)  # the hostile code is running now
    health, health_s = call(srv.base, None, "GET", "/healthz")
    started, start_s = call(srv.base, tokens["clerk.a2"], "POST", "/api/v1/cases",
                            {"process_id": "review_loop", "data": {"topic": "同时办理的案件"}})
    running_meanwhile = thread.is_alive()
    thread.join(60)
    assert health.status_code == 200, health.text
    assert started.status_code == 201, started.text
    assert hostile["response"].status_code == 201, hostile["response"].text
    assert hostile["response"].json()["status"] == "incident"
    print(f"\n[{name}] hostile start answered in {hostile['seconds']:.2f} s (budget: 3 s CPU, 6 s wall); "
          f"meanwhile /healthz {health_s * 1000:.0f} ms, a clerk's start {start_s * 1000:.0f} ms "
          f"(hostile code still running: {running_meanwhile})")
    with eng.session_factory() as s:
        case = s.get(Case, hostile["response"].json()["id"])
        incident = s.scalar(sa.select(Incident).where(Incident.case_id == case.id))
        assert case.status == "incident" and incident.element_id == "spin"
    # and the server goes on
    assert call(srv.base, None, "GET", "/healthz")[0].status_code == 200
