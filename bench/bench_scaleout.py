"""Scale-out: share applications (start -> provider review -> grant) per second with one and with two
engine processes on the same PostgreSQL database.

Run from the repository root:  python bench/bench_scaleout.py   (BENCH_QUICK=1 for a short run)

Each process builds its own Engine (as ``govflow worker`` or a web server process would), warms up,
waits for the others, then completes cases through the service functions for a fixed time; each
process applies for a different department (so no two processes touch the same case). Counts
completed cases, refused operations (ConcurrentModification and the like) and per-case latency.
A private schema, dropped afterwards. Figures go to bench/results/scaleout.json, never asserted.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time
import traceback
from collections import Counter

import benchlib as lib
import sqlalchemy as sa

DURATION = 10.0 if lib.QUICK else 45.0
PROCESSES = (1, 2)
CONSUMERS = ("minzheng.clerk", "renshe.clerk", "yibao.clerk", "weijian.clerk")
APP_NAME = "govflow_bench_scaleout"


class WaitSampler(threading.Thread):
    """Samples what the engine processes' database sessions are doing (pg_stat_activity, 20 Hz):
    running a statement, waiting for a lock or the WAL, or in a transaction while the engine
    computes (idle in transaction)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.counts: Counter = Counter()
        self.ticks = 0
        self.stop = threading.Event()

    def run(self) -> None:
        db = sa.create_engine(lib.PG_URL, pool_pre_ping=True)
        while not self.stop.is_set():
            try:
                self._sample(db)
            except sa.exc.OperationalError:  # the connection was dropped: sample on with a new one
                continue
        db.dispose()

    def _sample(self, db: sa.Engine) -> None:
        query = sa.text("SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                        "WHERE application_name = :name AND pid <> pg_backend_pid()")
        with db.connect() as conn:
            while not self.stop.wait(0.05):
                rows = conn.execute(query, {"name": APP_NAME}).all()
                conn.rollback()
                self.ticks += 1
                for state, kind, event in rows:
                    if state != "idle":  # between units of work, or a spare pooled connection
                        self.counts[describe(kind, event, state)] += 1

    def sessions(self) -> dict[str, float]:
        """How many sessions were in each state, on average over the run."""
        return {k: round(v / max(self.ticks, 1), 2) for k, v in self.counts.most_common()}


def describe(kind: str | None, event: str | None, state: str) -> str:
    if state == "idle in transaction":
        return "in a transaction, waiting for the engine (Python)"
    if kind in ("Lock", "LWLock", "IO"):
        return f"waiting: {kind} {event}"
    return "running a statement"


def worker(url: str, consumer_login: str, barrier, results) -> None:
    """One engine process: warm up, wait for the others, complete cases until the deadline."""
    try:
        from sqlalchemy.exc import OperationalError

        from engine.errors import GovflowError
        engine = lib.make_engine(url)
        consumer, provider = lib.actor(engine, consumer_login), lib.actor(engine, lib.PROVIDER)
        for _ in range(3):
            lib.share_case(engine, consumer, provider)
        barrier.wait()  # every process leaves the barrier at the same instant
        deadline = time.monotonic() + DURATION
        cpu_began = time.process_time()
        done, refused, latencies, reasons = 0, 0, [], {}
        while time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                lib.share_case(engine, consumer, provider)
            except (GovflowError, OperationalError) as exc:  # OperationalError: connection dropped
                refused += 1
                reason = f"{type(exc).__name__}: {exc}"[:200]
                reasons[reason] = reasons.get(reason, 0) + 1
                continue
            latencies.append(time.perf_counter() - began)
            done += 1
        cpu = time.process_time() - cpu_began
        engine.db_engine.dispose()
        results.put({"consumer": consumer_login, "cases": done, "cpu_seconds": cpu, "refused": refused, "latencies": latencies,
                     "reasons": reasons})
    except Exception:  # noqa: BLE001 - report, do not hang the parent
        results.put({"consumer": consumer_login, "error": traceback.format_exc()})


def run(processes: int) -> dict:
    ctx = mp.get_context("spawn")
    with lib.pg_schema() as schema_url:
        url = f"{schema_url}&application_name={APP_NAME}"
        seeder = lib.make_engine(url)
        lib.seed_county(seeder)
        seeder.db_engine.dispose()
        barrier = ctx.Barrier(processes + 1)
        results = ctx.Queue()
        procs = [ctx.Process(target=worker, args=(url, CONSUMERS[i], barrier, results))
                 for i in range(processes)]
        for p in procs:
            p.start()
        barrier.wait(timeout=300)
        sampler = WaitSampler()
        sampler.start()
        outcomes = [results.get(timeout=DURATION + 300) for _ in procs]
        sampler.stop.set()
        sampler.join()
        for p in procs:
            p.join(timeout=60)
    errors = [o["error"] for o in outcomes if "error" in o]
    if errors:
        raise RuntimeError("a worker failed:\n" + "\n".join(errors))
    latencies = [t for o in outcomes for t in o["latencies"]]
    cases = sum(o["cases"] for o in outcomes)
    return {"processes": processes, "seconds": DURATION, "cases": cases, "cases_per_s": round(cases / DURATION, 2),
            "refused": sum(o["refused"] for o in outcomes),
            "refusals": {k: v for o in outcomes for k, v in o["reasons"].items()}, "per_process": [o["cases"] for o in outcomes],
            "case_latency": lib.quantiles(latencies) if latencies else None,
            "engine_cpu_ms_per_case": round(sum(o["cpu_seconds"] for o in outcomes) / max(cases, 1) * 1e3, 1),
            "database_sessions": sampler.sessions()}


def main() -> int:
    lib.warn_if_busy()
    problem = lib.pg_problem()
    if problem is not None:
        print(f"PostgreSQL unavailable, nothing measured: {problem}")
        return 0
    runs = []
    for processes in PROCESSES:
        r = run(processes)
        runs.append(r)
        print(f"{processes} process(es): {r['cases_per_s']:.1f} cases/s ({r['cases']} cases in {DURATION:.0f}s, "
              f"per process {r['per_process']}), case p50 {r['case_latency']['p50_ms']:.1f} ms "
              f"p95 {r['case_latency']['p95_ms']:.1f} ms, engine CPU {r['engine_cpu_ms_per_case']} ms/case, "
              f"refused {r['refused']}", flush=True)
        print("  database sessions on average: " + ", ".join(f"{v:.2f} {k}" for k, v in r["database_sessions"].items()))
    speedup = round(runs[-1]["cases_per_s"] / runs[0]["cases_per_s"], 2)
    print(f"speed-up {PROCESSES[-1]} vs {PROCESSES[0]} process(es): {speedup}x (on {os.cpu_count()} CPUs, "
          f"PostgreSQL on the same machine)")
    lib.write_results("scaleout", {"diagram": "bpmn/share_application.bpmn", "duration_s": DURATION,
                                   "runs": runs, "speedup": speedup})
    return 0


if __name__ == "__main__":
    sys.exit(main())
