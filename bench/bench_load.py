"""Load benchmark: the reliability tier's crowd (tests/reliability/crowd.py) against the app under
gunicorn (3 workers) on a private PostgreSQL schema for BENCH_SECONDS (60; BENCH_QUICK=1: 15);
writes bench/results/load.json (throughput, latency p50/p95, statuses)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pytest  # noqa: E402,F401 - the tier's fixtures are plain generators here

from tests.reliability import conftest as rc  # noqa: E402
from tests.reliability.crowd import run_crowd  # noqa: E402


def main() -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", "15" if os.environ.get("BENCH_QUICK") else "60"))
    county = rc.pg_county.__wrapped__(REPO / "bench" / "results")
    url, engine, tokens = next(county)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    srv = rc.Server(url, Path(os.environ.get("TMPDIR", "/tmp")) / "govflow-load-gunicorn.log", "gunicorn", workers=3).start()
    try:
        tally, took = run_crowd(srv.base, tokens, seconds)
        problems = rc.consistency_problems(engine)
    finally:
        srv.stop()
        next(county, None)
    summary = {"server": "gunicorn, 3 workers", "database": "postgresql", **tally.summary(took),
               "server_errors": len(tally.server_errors),
               "completed_twice": sum(1 for n in tally.completed.values() if n > 1),
               "consistency_problems": problems[:10]}
    (out / "load.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
