"""Smoke tests of the web app as production builds it: the Flask test client, then a real waitress process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from engine.config import Config
from engine.db import create_db_engine
from engine.domain import org
from engine.migrate import upgrade
from tests.e2e.conftest import PASSWORD, Browser
from web import create_app

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TITLE = "govflow 政务数据流程平台"

# No scripts or conditions, so no procedure functions need to be allowed for it.
TINY_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="Definitions_smoke" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="smoke_request" name="冒烟测试申请" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="fill" name="填写申请">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill" />
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def migrated_sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'govflow.sqlite3'}"
    db = create_db_engine(url)
    upgrade(db)
    db.dispose()
    return url


@pytest.fixture
def bare_app(tmp_path):
    """The app as production builds it (engine from config), with one person and nothing deployed."""
    app = create_app(Config(database_url=migrated_sqlite_url(tmp_path)))
    app.config["TESTING"] = True
    engine = app.extensions["govflow"]
    with engine.uow() as uow:
        dept = org.create_department(uow.session, "340822101", "县公安局", "county_department")
        org.create_person(uow.session, "clerk.a", "王建国", dept, {"provider_clerk"}, PASSWORD, engine.clock.now())
        uow.commit()
    yield app
    engine.db_engine.dispose()


def test_index_lists_deployed_definitions(bare_app):
    bare_app.extensions["govflow"].deploy(TINY_DIAGRAM)
    browser = Browser(bare_app.test_client())
    browser.login("clerk.a")
    response = browser.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in page
    assert f"<title>{TITLE}</title>" in page
    assert "smoke_request" in page and "冒烟测试申请" in page and "v1" in page


def test_index_without_definitions_says_so(bare_app):
    browser = Browser(bare_app.test_client())
    browser.login("clerk.a")
    response = browser.get("/")
    assert response.status_code == 200
    assert "尚未部署任何流程" in response.get_data(as_text=True)


def test_index_needs_a_login(bare_app):
    response = bare_app.test_client().get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=%2F"


def test_healthz_reports_database_ok(bare_app):
    response = bare_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "workers": "none", "workers_alive": 0}


def test_secret_key_comes_from_config(tmp_path):
    app = create_app(Config(database_url=migrated_sqlite_url(tmp_path), secret_key="s3cret-for-the-smoke-test"))
    assert app.config["SECRET_KEY"] == "s3cret-for-the-smoke-test"
    app.extensions["govflow"].db_engine.dispose()


# -- the app as `make run` serves it ---------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def console_script(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: install the project first (make install)")
    return str(path)


def fetch(url: str, timeout: float = 2.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode("utf-8")


def wait_until_serving(url: str, server: subprocess.Popen, log: Path, deadline_s: float = 30) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"waitress exited with {server.returncode}:\n{log.read_text()}")
        try:
            fetch(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"waitress did not answer {url} within {deadline_s}s:\n{log.read_text()}")


def test_waitress_serves_the_login_page_after_init_db(tmp_path):
    env = {**os.environ, "GOVFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'govflow.sqlite3'}"}
    subprocess.run([console_script("govflow"), "init-db"], cwd=REPO_ROOT, env=env,
                   check=True, timeout=60, capture_output=True)
    port = free_port()
    log = tmp_path / "waitress.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [console_script("waitress-serve"), f"--listen=127.0.0.1:{port}", "--call", "web:create_app"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/healthz", server, log)
        status, page = fetch(f"http://127.0.0.1:{port}/")  # redirected to the log-in page
        assert status == 200
        assert f"<title>登录 · {TITLE}</title>" in page and 'name="csrf_token"' in page
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
