"""No unit of work inside another (issue 14). On SQLite every transaction begins with BEGIN
IMMEDIATE, so a unit of work opened while another is open waits for the first one's lock: for the
whole busy timeout (30 s), then fails. A fresh process is where it shows (a cold definition cache
reads the parsed diagram through a session), so each page is opened by a new interpreter whose
database URL sets the busy timeout to half a second: a nested unit of work fails the page with a 500
at once instead of waiting, and the test sees it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import actor, open_task, start_case

REPO = Path(__file__).resolve().parents[2]
BUSY_TIMEOUT = 0.5  # seconds

# The app as a fresh process serves it: its own engine (cold caches), the e2e county's procedure.
OPEN_PAGE = """
import json, sys
from engine.bootstrap import register_hooks
from engine.clock import SystemClock
from engine.config import Config
from engine.db import create_db_engine, create_session_factory
from engine.service import Engine
from tests.e2e.conftest import Browser, review_loop
from web import create_app

url, login, path = sys.argv[1:]
config = Config(database_url=url, secret_key="test-secret-for-the-e2e-suite")
engine = Engine(config, create_session_factory(create_db_engine(url)), SystemClock(), {"review_loop": review_loop()})
app = create_app(config, test_config={"TESTING": True, "engine": register_hooks(engine)})
browser = Browser(app.test_client())
logged_in = browser.login(login).status_code
response = browser.get(path)
print(json.dumps({"login": logged_in, "status": response.status_code, "page": response.get_data(as_text=True)}))
"""


def open_in_a_fresh_process(db_file_url: str, login: str, path: str) -> dict:
    url = f"{db_file_url}?timeout={BUSY_TIMEOUT}"
    result = subprocess.run([sys.executable, "-c", OPEN_PAGE, url, login, path], cwd=REPO, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def case_with_history(engine) -> tuple[int, str]:
    """A case whose first task was submitted (its history reads the form's labels) and whose
    approval waits for the head of the department."""
    case_id = start_case(engine, topic="户籍数据更正")
    engine.complete_task(open_task(engine, case_id), actor("clerk.a"), {"summary": "材料齐全", "pages": "3"})
    return case_id, open_task(engine, case_id)


@pytest.mark.parametrize("page", ["case", "task"])
def test_the_case_and_task_pages_answer_in_a_fresh_process(db_file_url, case_with_history, page):
    case_id, task_id = case_with_history
    path = f"/cases/{case_id}" if page == "case" else f"/tasks/{task_id}"
    found = open_in_a_fresh_process(db_file_url, "head.a", path)
    assert found["login"] == 302
    assert found["status"] == 200, found["page"][-2000:]
    assert "户籍数据更正" in found["page"] and "摘要: 材料齐全" in found["page"]
