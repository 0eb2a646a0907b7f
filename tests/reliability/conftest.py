"""The reliability and security tier: the web tier's county (tests/e2e/conftest.py) plus real
servers (waitress, gunicorn) in subprocesses on a private PostgreSQL schema, for fuzzing,
authorisation, hostile input, faults and load."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from engine.clock import SystemClock
from engine.db import create_db_engine
from engine.domain import api_tokens, org
from engine.migrate import upgrade
from tests.conftest import FIXTURES, drop_pg_schema, make_engine, new_pg_schema_url
from tests.e2e.conftest import *  # noqa: F401,F403 - the web tier's fixtures (app, client, engine, as_person ...)
from tests.e2e.conftest import DEPT_A, DEPT_B, AUTHORITY, PASSWORD, PEOPLE, review_loop

REPO = Path(__file__).resolve().parents[2]
SERVE = "tests.reliability.serve"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pg_county(tmp_path):
    """A private PostgreSQL schema, migrated, with review_loop deployed and the e2e people; yields
    (url, engine on the real clock, {login: API token})."""
    url, schema = new_pg_schema_url()
    url += f"&application_name={schema}"  # lets a fault test drop only this county's connections
    db = create_db_engine(url)
    upgrade(db)
    db.dispose()
    eng = make_engine(url, SystemClock(), {"review_loop": review_loop()})
    eng.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    tokens = {}
    with eng.uow() as uow:
        s = uow.session
        depts = {DEPT_A: org.create_department(s, DEPT_A, "县公安局", "county_department"),
                 DEPT_B: org.create_department(s, DEPT_B, "县市场监督管理局", "county_department"),
                 AUTHORITY: org.create_department(s, AUTHORITY, "县数据资源管理局", "authority")}
        now = eng.clock.now()
        for login, name, dept, roles in PEOPLE:
            person = org.create_person(s, login, name, depts[dept], roles, PASSWORD, now)
            s.flush()
            tokens[login] = api_tokens.create_token(uow, person, "可靠性测试", now)[1]
        uow.commit()
    try:
        yield url, eng, tokens
    finally:
        eng.db_engine.dispose()
        drop_pg_schema(schema)


class Server:
    """The app in a subprocess (waitress or gunicorn) on a free port; kill() is SIGKILL."""

    def __init__(self, url: str, log: Path, kind: str = "waitress", workers: int = 3, threads: int = 8):
        self.url, self.log_path, self.kind, self.workers, self.threads = url, log, kind, workers, threads
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        env = dict(os.environ, GOVFLOW_DATABASE_URL=self.url, GOVFLOW_SECRET_KEY="reliability-secret",
                   PYTHONUNBUFFERED="1")
        bindir = Path(sys.executable).parent
        if self.kind == "gunicorn":
            cmd = [str(bindir / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                   "--threads", "4", "--timeout", "60", f"{SERVE}:create()"]
        else:
            cmd = [str(bindir / "waitress-serve"), f"--listen=127.0.0.1:{self.port}",
                   f"--threads={self.threads}", "--call", f"{SERVE}:create"]
        if getattr(self, "log", None) and not self.log.closed:
            self.log.close()
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group (gunicorn's master and workers, or waitress)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()


@pytest.fixture
def server(pg_county, tmp_path):
    """Start servers on the pg_county database: server("waitress") / server("gunicorn", workers=3)."""
    started: list[Server] = []

    def start(kind: str = "waitress", **kw) -> Server:
        srv = Server(pg_county[0], tmp_path / f"{kind}-{len(started)}.log", kind, **kw).start()
        started.append(srv)
        return srv
    yield start
    for srv in started:
        srv.stop()


def consistency_problems(engine) -> list[str]:
    """Every case's state agrees with its human_task rows and its audit trail: no task completed
    twice, a running review_loop case has exactly one open task, an ended one none."""
    from engine.models import AuditRecord, Case, HumanTask
    problems = []
    with engine.uow() as uow:
        s = uow.session
        cases = {c.id: c for c in s.scalars(sa.select(Case))}
        tasks = list(s.scalars(sa.select(HumanTask)))
        completions = list(s.execute(sa.select(AuditRecord.task_id, sa.func.count()).where(
            AuditRecord.action == "task_completed").group_by(AuditRecord.task_id)))
        started = set(s.scalars(sa.select(AuditRecord.case_id).where(AuditRecord.action == "case_started")))
    by_case: dict[int, list] = {}
    for t in tasks:
        by_case.setdefault(t.case_id, []).append(t)
    for task_id, n in completions:
        if n > 1:
            problems.append(f"task {task_id} completed {n} times in the audit trail")
    done = {t.id for t in tasks if t.state == "completed"}
    audited = {tid for tid, _ in completions}
    if done != audited:
        problems.append(f"completed tasks without audit {sorted(done - audited)[:5]}, "
                        f"audit without completed task {sorted(audited - done)[:5]}")
    for cid, case in cases.items():
        open_tasks = [t for t in by_case.get(cid, []) if t.state == "ready"]
        if cid not in started:
            problems.append(f"case {cid} has no case_started audit record")
        if case.status == "running" and len(open_tasks) != 1:
            problems.append(f"running case {cid} has {len(open_tasks)} open tasks")
        if case.status != "running" and open_tasks:
            problems.append(f"ended case {cid} still has open tasks")
    return problems
