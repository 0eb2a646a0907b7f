"""Timers: lateness and sustained firing rate of one and two ``govflow worker`` processes on PostgreSQL.

Two scenarios per worker count, each on a private schema (dropped afterwards), with the workers
started first and idle (as in production: they hear the new deadlines through NOTIFY):

- window: N timers falling due evenly over a short window (10,000 over 10 s; quick: 1,000 over 5 s).
  Lateness (due -> fired) p50/p99/max, and double fires (must be 0).
- burst: N timers all due at the same instant. Sustained firings per second = N / (last fired - due),
  what a backlog drains at.

"Fired" is the instant the worker fired the timer (``deadline.fired_at``, inside its transaction);
the batch commits a little later. The commit lag is sampled (count of fired rows every 0.1 s against
the firing instants, so approximate) and reported separately.

Run from the repository root:  python bench/bench_timers.py   (BENCH_QUICK=1: 1,000 timers, < 1 minute)
Needs the PostgreSQL server (GOVFLOW_TEST_PG_URL). Figures go to bench/results/timers.json, never
asserted.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import benchlib as lib
import sqlalchemy as sa

from engine.clock import FrozenClock
from engine.models import AuditRecord, Deadline
from engine.uow import Actor

TIMERS = 1_000 if lib.QUICK else 10_000
WINDOW = timedelta(seconds=5 if lib.QUICK else 10)
DIAGRAM = lib.ROOT / "tests" / "fixtures" / "timer_only.bpmn"
CHUNK = 100  # cases started per unit of work while preparing (creating is not what is measured)


def creator(url: str):
    clock = FrozenClock(datetime.now(timezone.utc) - timedelta(days=1))  # no timer is due for it
    engine = lib.make_engine(url, clock)
    engine.deploy(DIAGRAM.read_bytes())
    return engine


def start_cases(engine, dues: list[datetime]) -> None:
    actor = Actor("bench")
    for i in range(0, len(dues), CHUNK):
        with engine.uow() as uow:
            for due in dues[i:i + CHUNK]:
                engine.start_case_in(uow, "timer_only", actor, {"fire_at": due.isoformat()})
            uow.commit()


def create_timers(engine, count: int, scenario: str) -> tuple[datetime, float]:
    """Start ``count`` cases whose timers fall due after they are all written; return the first due
    instant and the slack between the end of the writing and it (negative: some were late)."""
    started = time.perf_counter()
    start_cases(engine, [datetime(2999, 1, 1, tzinfo=timezone.utc)] * 50)
    per_case = (time.perf_counter() - started) / 50
    first_due = datetime.now(timezone.utc) + timedelta(seconds=per_case * count * 1.4 + 1.5)
    if scenario == "window":
        dues = [first_due + WINDOW * (i / count) for i in range(count)]
    else:
        dues = [first_due] * count
    start_cases(engine, dues)
    return first_due, (first_due - datetime.now(timezone.utc)).total_seconds()


def start_workers(url: str, count: int, log_dir: Path) -> list[subprocess.Popen]:
    env = dict(os.environ, GOVFLOW_DATABASE_URL=url, PYTHONUNBUFFERED="1")
    procs = []
    for n in range(count):
        log = open(log_dir / f"worker-{n}.log", "w")
        procs.append(subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "worker"],
                                      cwd=lib.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        log.close()
    limit = time.monotonic() + 60
    while time.monotonic() < limit:  # ready: caught up and listening
        if all("timer worker running" in (log_dir / f"worker-{n}.log").read_text() for n in range(count)):
            return procs
        time.sleep(0.1)
    raise RuntimeError("workers did not start:\n" + logs(log_dir))


def logs(log_dir: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(log_dir.glob("worker-*.log")))


class CommitSampler(threading.Thread):
    """Counts the committed fired deadlines every 0.1 s (wall clock, count)."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.samples, self.stop = url, [], threading.Event()

    def run(self) -> None:
        db = sa.create_engine(self.url)
        query = sa.select(sa.func.count()).select_from(Deadline).where(Deadline.state == "fired")
        with db.connect() as conn:
            while not self.stop.wait(0.1):
                count = conn.execute(query).scalar_one()
                conn.rollback()
                self.samples.append((datetime.now(timezone.utc), count))
        db.dispose()


def run(workers: int, scenario: str) -> dict:
    with lib.pg_schema() as url, tempfile.TemporaryDirectory(prefix="govflow-bench-timers-") as folder:
        engine = creator(url)
        procs = start_workers(url, workers, Path(folder))
        sampler = CommitSampler(url)
        try:
            first_due, slack = create_timers(engine, TIMERS, scenario)
            sampler.start()
            fired = sa.select(sa.func.count()).select_from(Deadline).where(Deadline.state == "fired")
            limit = time.monotonic() + slack + WINDOW.total_seconds() + 300
            while time.monotonic() < limit:
                with engine.uow() as uow:
                    if uow.session.scalar(fired) >= TIMERS:
                        break
                time.sleep(0.2)
            time.sleep(1)  # time for a would-be double fire to commit
        finally:
            sampler.stop.set()
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
        try:
            return measure(engine, workers, scenario, first_due, slack, sampler.samples)
        finally:
            engine.db_engine.dispose()


def measure(engine, workers: int, scenario: str, first_due: datetime, slack: float, samples) -> dict:
    with engine.uow() as uow:
        rows = uow.session.execute(sa.select(Deadline.due_at, Deadline.fired_at).where(
            Deadline.state == "fired", Deadline.due_at < datetime(2999, 1, 1, tzinfo=timezone.utc))).all()
        fires = Counter(uow.session.scalars(sa.select(AuditRecord.task_id).where(
            AuditRecord.action == "timer_fired")))
    lateness = sorted((fired - due).total_seconds() for due, fired in rows)
    q = statistics.quantiles(lateness, n=100, method="inclusive") if len(lateness) > 1 else [0.0] * 99
    last_fired = max(fired for _, fired in rows) if rows else first_due
    span = (last_fired - first_due).total_seconds()
    figures = {"workers": workers, "scenario": scenario, "timers": TIMERS, "fired": len(rows),
               "double_fires": sum(1 for c in fires.values() if c > 1),
               "lateness_p50_s": round(q[49], 3), "lateness_p99_s": round(q[98], 3),
               "lateness_max_s": round(lateness[-1], 3) if lateness else None,
               "creation_slack_s": round(slack, 2),
               "commit_lag_max_s": commit_lag(sorted(f for _, f in rows), samples)}
    if scenario == "window":
        figures["window_s"] = WINDOW.total_seconds()
        figures["fired_per_s"] = round(len(rows) / max(span, WINDOW.total_seconds()), 1)
    else:
        figures["sustained_fired_per_s"] = round(len(rows) / span, 1) if span > 0 else None
        figures["drain_s"] = round(span, 2)
    return figures


def commit_lag(fired_at: list[datetime], samples) -> float | None:
    """Largest sampled delay between firing and commit: at each sample, the oldest timer fired but
    not yet committed is (roughly: batches of two workers interleave) the (count + 1)-th fired."""
    lags = []
    for at, count in samples:
        if count < len(fired_at):
            pending = fired_at[count]
            if pending <= at:
                lags.append((at - pending).total_seconds())
    return round(max(lags), 3) if lags else 0.0


def main() -> None:
    problem = lib.pg_problem()
    if problem:
        print(f"PostgreSQL unreachable, skipped: {problem}")
        return
    lib.warn_if_busy()
    runs = {"window": [], "burst": []}
    for workers in (1, 2):
        for scenario in ("window", "burst"):
            r = run(workers, scenario)
            runs[scenario].append(r)
            if scenario == "window":
                print(f"{workers} worker(s), {r['fired']:,}/{r['timers']:,} due over {r['window_s']:.0f} s: "
                      f"lateness p50 {r['lateness_p50_s']} s, p99 {r['lateness_p99_s']} s, "
                      f"max {r['lateness_max_s']} s; {r['fired_per_s']}/s; commit lag <= {r['commit_lag_max_s']} s; "
                      f"double fires {r['double_fires']} (slack {r['creation_slack_s']} s)")
            else:
                print(f"{workers} worker(s), {r['fired']:,}/{r['timers']:,} due at once: drained in "
                      f"{r['drain_s']} s, sustained {r['sustained_fired_per_s']}/s; lateness p50 "
                      f"{r['lateness_p50_s']} s, max {r['lateness_max_s']} s; double fires {r['double_fires']}")
    lib.write_results("timers", {"runs": runs["window"], "burst": runs["burst"]})


if __name__ == "__main__":
    main()
