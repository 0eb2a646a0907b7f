"""Timers that fall due during a reliability test, and ``govflow worker`` processes to fire them
(shared by test_faults_pg.py and test_metrics_multiproc.py).

The cases are tests/fixtures/timer_only.bpmn: start, wait until ``fire_at``, a script task, end.
They are started by an engine whose clock stands an hour back (as tests/integration/
test_workers_pg.py does), so no start fires its own timer: the worker processes, on the real
clock, fire every one when it falls due."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from engine.clock import FrozenClock
from engine.models import AuditRecord, Case, Deadline
from engine.uow import Actor
from tests.conftest import FIXTURES, make_engine

REPO = Path(__file__).resolve().parents[2]
PROCESS = "timer_only"


class TimerCases:
    """Starts timer_only cases on ``url`` (deploying the diagram once) and accounts for them."""

    def __init__(self, url: str):
        self.engine = make_engine(url, FrozenClock(datetime.now(timezone.utc) - timedelta(hours=1)), procedures={})
        self.engine.deploy((FIXTURES / "timer_only.bpmn").read_bytes())
        self.due: dict[int, datetime] = {}  # case id -> the instant its timer falls due
        self.actor = Actor("timer-feeder")

    def start(self, n: int, due: datetime, into: list[int] | None = None) -> list[int]:
        """Start ``n`` cases whose timer falls due at ``due``; each id is known (in ``into`` too)
        as soon as its case is committed."""
        ids = [] if into is None else into
        for _ in range(n):
            case_id = self.engine.start_case(PROCESS, self.actor, {"fire_at": due.isoformat()})
            self.due[case_id] = due
            ids.append(case_id)
        return ids

    def fired(self, ids: list[int] | None = None) -> int:
        """Timers of these cases (or of ``ids``) fired so far (their deadline rows)."""
        ids = list(self.due) if ids is None else list(ids)
        if not ids:
            return 0
        with self.engine.uow() as uow:
            return uow.session.scalar(sa.select(sa.func.count()).select_from(Deadline).where(
                Deadline.case_id.in_(ids), Deadline.state == "fired"))

    def wait_all_fired(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.fired() == len(self.due):
                return True
            time.sleep(0.1)
        return self.fired() == len(self.due)

    def accounting(self) -> dict:
        """What the database says of these cases' timers: firings per case in the audit trail,
        deadline rows by state, case statuses, and how late the firings were (seconds)."""
        ids = list(self.due)
        with self.engine.uow() as uow:
            s = uow.session
            fires = Counter(s.scalars(sa.select(AuditRecord.case_id).where(
                AuditRecord.action == "timer_fired", AuditRecord.case_id.in_(ids))))
            rows = list(s.execute(sa.select(Deadline.case_id, Deadline.state, Deadline.due_at, Deadline.fired_at)
                                  .where(Deadline.case_id.in_(ids))))
            statuses = Counter(s.scalars(sa.select(Case.status).where(Case.id.in_(ids))))
        late = sorted((r.fired_at - r.due_at).total_seconds() for r in rows if r.fired_at is not None)
        return {"cases": len(ids), "fires": fires, "deadline_rows": Counter(r.case_id for r in rows),
                "deadline_states": Counter(r.state for r in rows), "case_statuses": statuses,
                "late_p50_s": round(late[len(late) // 2], 2) if late else None,
                "late_max_s": round(late[-1], 2) if late else None}

    def problems(self) -> list[str]:
        """Every timer fired exactly once: one timer_fired record and one fired deadline per case,
        every case completed, none waiting."""
        acc = self.accounting()
        found = []
        never = [c for c in self.due if acc["fires"][c] == 0]
        twice = {c: n for c, n in acc["fires"].items() if n > 1}
        if never:
            found.append(f"{len(never)} timer(s) never fired, e.g. cases {never[:5]}")
        if twice:
            found.append(f"timers fired more than once: {dict(list(twice.items())[:5])}")
        if set(acc["deadline_rows"].values()) - {1} or len(acc["deadline_rows"]) != len(self.due):
            found.append(f"deadline rows per case: {Counter(acc['deadline_rows'].values())}")
        if acc["deadline_states"] != Counter({"fired": len(self.due)}):
            found.append(f"deadline states {dict(acc['deadline_states'])}")
        if acc["case_statuses"] != Counter({"completed": len(self.due)}):
            found.append(f"case statuses {dict(acc['case_statuses'])}")
        return found

    def close(self) -> None:
        self.engine.db_engine.dispose()


class WorkerProcess:
    """``govflow worker`` in a subprocess on ``url``; ``kill()`` is SIGKILL, ``start()`` again
    restarts it (a new process, its log appended)."""

    def __init__(self, url: str, log: Path, env: dict[str, str] | None = None):
        self.url, self.log_path, self.extra = url, log, dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.pids: list[int] = []

    def start(self) -> "WorkerProcess":
        env = dict(os.environ, GOVFLOW_DATABASE_URL=self.url, GOVFLOW_SECRET_KEY="reliability-secret",
                   PYTHONUNBUFFERED="1", **self.extra)
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "worker"],
                                         cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.pids.append(self.proc.pid)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text()[-3000:] if self.log_path.exists() else ""
