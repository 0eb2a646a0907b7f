"""Fixtures of the web tier: an app on a migrated SQLite file with a small county's people and the
engine's review_loop diagram, a frozen clock, and a test-client browser that logs in and carries
the CSRF token like a real one."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from engine.bootstrap import register_hooks
from engine.config import Config
from engine.db import create_db_engine
from engine.domain import org
from engine.forms import FormField
from engine.migrate import upgrade
from engine.procedures import Procedure
from engine.uow import Actor
from tests.conftest import FIXTURES, make_engine, review_loop_procedure
from web import create_app

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
PASSWORD = "correct-horse-1"
DEPT_A, DEPT_B, AUTHORITY = "340822101", "340822102", "340822001"
PEOPLE = [  # login, name, department, roles
    ("clerk.a", "王建国", DEPT_A, {"provider_clerk"}),
    ("clerk.a2", "李晓梅", DEPT_A, {"provider_clerk"}),
    ("head.a", "张志强", DEPT_A, {"dept_head"}),
    ("clerk.b", "刘丽华", DEPT_B, {"provider_clerk"}),
    ("supervisor", "钱立新", AUTHORITY, {"authority"}),
]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# A second procedure only the authority may start; its task is for department heads.
AUTHORITY_ONLY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="Definitions_inspection" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="inspection" name="专项检查" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="inspect" name="检查" camunda:candidateGroups="dept_head"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="inspect" />
    <bpmn:sequenceFlow id="f2" sourceRef="inspect" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def compile_catalogs() -> None:
    """Compile translations/*/messages.po to .mo when missing or older (as `make install` does)."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        with mo.open("wb") as target:
            write_mo(target, catalog)


@pytest.fixture(scope="session", autouse=True)
def translations():
    compile_catalogs()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """Argon2 at its production cost takes ~0.4 s a hash; these tests log in hundreds of times."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(org, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


def review_loop() -> Procedure:
    """The engine's test diagram as a department's procedure: clerks start it for their department."""
    proc = review_loop_procedure()
    proc.start_roles = frozenset({"provider_clerk"})
    proc.start_form = (FormField("topic", "主题", validation={"required": None, "maxlength": "100"}),)
    proc.check_start = lambda ctx, cleaned: {**cleaned, "department": ctx.actor.department}
    proc.title = lambda data: data.get("topic", "")
    return proc


@pytest.fixture
def db_file_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'govflow.sqlite3'}"
    db = create_db_engine(url)
    upgrade(db)
    db.dispose()
    return url


@pytest.fixture
def engine(db_file_url, clock):
    eng = register_hooks(make_engine(db_file_url, clock, {
        "review_loop": review_loop(),
        "inspection": Procedure("inspection", start_roles=frozenset({"authority"}))}))
    eng.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    eng.deploy(AUTHORITY_ONLY)
    with eng.uow() as uow:
        s = uow.session
        depts = {DEPT_A: org.create_department(s, DEPT_A, "县公安局", "county_department"),
                 DEPT_B: org.create_department(s, DEPT_B, "县市场监督管理局", "county_department"),
                 AUTHORITY: org.create_department(s, AUTHORITY, "县数据资源管理局", "authority")}
        for login, name, dept, roles in PEOPLE:
            org.create_person(s, login, name, depts[dept], roles, PASSWORD, clock.now())
        uow.commit()
    yield eng
    eng.db_engine.dispose()


@pytest.fixture
def app(engine, db_file_url):
    app = create_app(Config(database_url=db_file_url, secret_key="test-secret-for-the-e2e-suite"),
                     test_config={"TESTING": True, "engine": engine})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def actor(login: str) -> Actor:
    _, _, dept, roles = next(p for p in PEOPLE if p[0] == login)
    return Actor(login, frozenset(roles), dept)


@dataclass
class Browser:
    """A test client that keeps the page's CSRF token and posts it like the browser would."""

    client: object
    token: str | None = None

    def get(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        self._remember(response)
        return response

    def post(self, url: str, data: dict | None = None, **kwargs):
        if self.token is None:
            self.get("/login")
        response = self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kwargs)
        self._remember(response)
        return response

    def login(self, login: str, password: str = PASSWORD):
        """Log in like a browser: the form, the post, then the page it redirects to (a new token)."""
        self.get("/login")
        response = self.post("/login", {"login": login, "password": password})
        if response.status_code == 302:
            self.get(response.headers["Location"])
        return response

    def _remember(self, response) -> None:
        if response.mimetype == "text/html":
            found = CSRF.search(response.get_data(as_text=True))
            if found:
                self.token = found.group(1)


@pytest.fixture
def browser(client) -> Browser:
    return Browser(client)


@pytest.fixture
def as_person(app):
    """A fresh logged-in browser for a person: as_person("clerk.a")."""
    def log_in(login: str) -> Browser:
        b = Browser(app.test_client())
        response = b.login(login)
        assert response.status_code == 302, response.get_data(as_text=True)
        return b
    return log_in


def start_case(engine, login: str = "clerk.a", topic: str = "人口数据更正") -> int:
    return engine.start_case("review_loop", actor(login), {"topic": topic})


def open_task(engine, case_id: int) -> str:
    from engine.models import HumanTask
    import sqlalchemy as sa
    with engine.uow() as uow:
        return uow.session.scalars(sa.select(HumanTask.id).where(
            HumanTask.case_id == case_id, HumanTask.state == "ready")).one()
