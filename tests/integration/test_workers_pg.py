"""Several timer workers on one PostgreSQL database: every timer fires exactly once, even when a
worker is killed with SIGKILL in the middle of a batch."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from engine.clock import FrozenClock
from engine.models import AuditRecord, Case, Deadline
from engine.uow import Actor
from tests.conftest import FIXTURES, make_engine

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TIMERS = int(os.environ.get("GOVFLOW_TEST_TIMERS", "2000"))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


LOGS: list = []


def start_worker(url: str, name: str, log_dir) -> subprocess.Popen:
    env = dict(os.environ, GOVFLOW_DATABASE_URL=url, PYTHONUNBUFFERED="1")
    log = open(log_dir / f"worker-{name}.log", "w")
    LOGS.append(log)
    return subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "worker"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def worker_logs(log_dir) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(log_dir.glob("worker-*.log")))


def count(engine, query) -> int:
    with engine.uow() as uow:
        return uow.session.scalar(query)


def wait_until(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def test_two_workers_one_killed_fire_every_timer_exactly_once(pg_url, tmp_path):
    real_now = datetime.now(timezone.utc)
    creator = make_engine(pg_url, FrozenClock(real_now - timedelta(hours=1)), procedures={})
    creator.deploy((FIXTURES / "timer_only.bpmn").read_bytes())
    fire_at = (real_now + timedelta(seconds=2)).isoformat()
    clerk = Actor("creator")
    for _ in range(TIMERS):
        creator.start_case("timer_only", clerk, {"fire_at": fire_at})
    waiting = sa.select(sa.func.count()).select_from(Deadline).where(Deadline.state == "waiting")
    fired = sa.select(sa.func.count()).select_from(Deadline).where(Deadline.state == "fired")
    assert count(creator, waiting) == TIMERS

    workers = [start_worker(pg_url, "a", tmp_path), start_worker(pg_url, "b", tmp_path)]
    try:
        assert wait_until(lambda: count(creator, fired) >= TIMERS // 4, timeout=120), worker_logs(tmp_path)
        workers[0].send_signal(signal.SIGKILL)  # mid-batch: it holds an open case transaction
        workers[0].wait(timeout=10)
        assert count(creator, fired) < TIMERS, "too late to kill mid-way; raise GOVFLOW_TEST_TIMERS"
        restarted = start_worker(pg_url, "a2", tmp_path)
        workers.append(restarted)
        assert wait_until(lambda: count(creator, fired) == TIMERS, timeout=180), \
            f"only {count(creator, fired)} of {TIMERS} fired\n" + worker_logs(tmp_path)
        time.sleep(1.5)  # give any would-be double fire the time to commit
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
        for w in workers:
            try:
                w.wait(timeout=15)
            except subprocess.TimeoutExpired:
                w.kill()
        for log in LOGS:
            log.close()

    with creator.uow() as uow:
        fires = Counter(uow.session.scalars(sa.select(AuditRecord.task_id).where(
            AuditRecord.action == "timer_fired")))
        completed = uow.session.scalar(sa.select(sa.func.count()).select_from(Case).where(
            Case.status == "completed"))
    assert len(fires) == TIMERS and set(fires.values()) == {1}, fires.most_common(3)
    assert completed == TIMERS
    assert count(creator, waiting) == 0
    assert creator.verify_audit() is None
    assert workers[0].returncode == -signal.SIGKILL
    creator.db_engine.dispose()
