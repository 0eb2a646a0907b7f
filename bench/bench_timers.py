"""Timer lateness: N waiting timers falling due over a short window, one and two worker processes,
on PostgreSQL. Prints lateness (due -> fired) p50/p99/max and the count of double fires (must be 0).

Run from the repository root:  python bench/bench_timers.py   (BENCH_QUICK=1: 1,000 timers)
Needs the PostgreSQL server (GOVFLOW_TEST_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test).
Each run uses a private schema, dropped afterwards. Figures go to bench/results/timers.json.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from engine.clock import FrozenClock  # noqa: E402
from engine.config import Config  # noqa: E402
from engine.db import create_db_engine, create_session_factory  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.models import AuditRecord, Deadline  # noqa: E402
from engine.service import Engine  # noqa: E402
from engine.uow import Actor  # noqa: E402

PG_URL = os.environ.get("GOVFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
QUICK = os.environ.get("BENCH_QUICK") == "1"
TIMERS = 1_000 if QUICK else 10_000
WINDOW = timedelta(seconds=5 if QUICK else 10)
DIAGRAM = ROOT / "tests" / "fixtures" / "timer_only.bpmn"


def schema_url() -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}", schema


def drop(schema: str) -> None:
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def creator(url: str) -> Engine:
    db = create_db_engine(url)
    upgrade(db)
    clock = FrozenClock(datetime.now(timezone.utc) - timedelta(days=1))  # timers never due at creation
    engine = Engine(Config(database_url=url), create_session_factory(db), clock, {})
    engine.db_engine = db
    engine.deploy(DIAGRAM.read_bytes())
    return engine


def create_timers(engine: Engine, count: int) -> float:
    """Start ``count`` cases whose timers fall due over WINDOW after they are all created."""
    started = time.perf_counter()
    for _ in range(20):
        engine.start_case("timer_only", Actor("bench"), {"fire_at": "2999-01-01T00:00:00+00:00"})
    per_case = (time.perf_counter() - started) / 20
    first_due = datetime.now(timezone.utc) + timedelta(seconds=per_case * count * 1.5 + 5)
    for i in range(count):
        due = first_due + WINDOW * (i / count)
        engine.start_case("timer_only", Actor("bench"), {"fire_at": due.isoformat()})
    return (first_due - datetime.now(timezone.utc)).total_seconds()


def run(workers: int) -> dict:
    url, schema = schema_url()
    engine = creator(url)
    try:
        slack = create_timers(engine, TIMERS)
        env = dict(os.environ, GOVFLOW_DATABASE_URL=url)
        procs = [subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "worker"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(workers)]
        due_rows = sa.select(sa.func.count()).select_from(Deadline).where(
            Deadline.state == "fired")
        limit = time.monotonic() + slack + WINDOW.total_seconds() + 300
        while time.monotonic() < limit:
            with engine.uow() as uow:
                if uow.session.scalar(due_rows) >= TIMERS:
                    break
            time.sleep(0.5)
        time.sleep(2)
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
        return measure(engine, workers, slack)
    finally:
        engine.db_engine.dispose()
        drop(schema)


def measure(engine: Engine, workers: int, slack: float) -> dict:
    with engine.uow() as uow:
        rows = uow.session.execute(sa.select(Deadline.due_at, Deadline.fired_at).where(
            Deadline.state == "fired")).all()
        fires = Counter(uow.session.scalars(sa.select(AuditRecord.task_id).where(
            AuditRecord.action == "timer_fired")))
    lateness = sorted((fired - due).total_seconds() for due, fired in rows)
    first_due = min(due for due, _ in rows) if rows else None
    last_fired = max(fired for _, fired in rows) if rows else None
    span = (last_fired - first_due).total_seconds() if rows else 0
    q = statistics.quantiles(lateness, n=100) if len(lateness) > 1 else [0] * 99
    return {"workers": workers, "timers": TIMERS, "fired": len(rows),
            "double_fires": sum(1 for c in fires.values() if c > 1),
            "lateness_p50_s": round(q[49], 3), "lateness_p99_s": round(q[98], 3),
            "lateness_max_s": round(lateness[-1], 3) if lateness else None,
            "creation_slack_s": round(slack, 1), "window_s": WINDOW.total_seconds(),
            "fired_per_s": round(len(rows) / max(span, WINDOW.total_seconds()), 1)}


def main() -> None:
    results = [run(1), run(2)]
    for r in results:
        print(f"{r['workers']} worker(s): {r['fired']}/{r['timers']} fired over {r['window_s']:.0f}s, "
              f"lateness p50 {r['lateness_p50_s']}s p99 {r['lateness_p99_s']}s max {r['lateness_max_s']}s, "
              f"throughput {r['fired_per_s']}/s, double fires {r['double_fires']}")
    out = ROOT / "bench" / "results" / "timers.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"quick": QUICK, "runs": results}, indent=2))
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
