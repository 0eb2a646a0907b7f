"""Benchmark engine.calendar.due_date against the correct use of chinese_calendar.find_workday.

Run from the repository root:  python bench/bench_calendar.py   (BENCH_QUICK=1 for a short run)

Both implementations get the same seeded random inputs (D0 in 2010–2025, N in 1..20) and must
agree on every one of them; timings are reported, never asserted. Figures go to
bench/results/calendar.json.
"""
from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import chinese_calendar  # noqa: E402

from engine.calendar import default_calendar, due_date  # noqa: E402

SEED = 20260212
FIRST, LAST = date(2010, 1, 1), date(2025, 12, 31)


def find_workday_due(d0: date, n: int) -> date:
    """The correct use of find_workday (calendar.md traps): it is one day late for a
    non-working D0 unless started from D0 + 1 with n - 1."""
    if chinese_calendar.is_workday(d0):
        return chinese_calendar.find_workday(n, d0)
    return chinese_calendar.find_workday(n - 1, d0 + timedelta(days=1))


def draw_inputs(count: int) -> list[tuple[date, int]]:
    rng = random.Random(SEED)
    span = (LAST - FIRST).days
    return [(FIRST + timedelta(days=rng.randint(0, span)), rng.randint(1, 20)) for _ in range(count)]


def time_per_call(func, inputs: list[tuple[date, int]], rounds: int) -> tuple[float, list[date]]:
    """Best-of-rounds microseconds per call, and the results of the last round."""
    best = float("inf")
    results: list[date] = []
    for _ in range(rounds):
        start = time.perf_counter()
        results = [func(d0, n) for d0, n in inputs]
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
    return best / len(inputs) * 1e6, results


def main() -> int:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    count = 300 if quick else 3000
    rounds_engine, rounds_ref = (3, 1) if quick else (20, 2)
    inputs = draw_inputs(count)

    default_calendar()  # build the table outside the timed region
    setup_start = time.perf_counter()
    from engine.calendar import WorkingDayCalendar

    WorkingDayCalendar()
    setup_ms = (time.perf_counter() - setup_start) * 1e3

    engine_us, engine_results = time_per_call(due_date, inputs, rounds_engine)
    ref_us, ref_results = time_per_call(find_workday_due, inputs, rounds_ref)

    disagreements = [
        (d0.isoformat(), n, ours.isoformat(), theirs.isoformat())
        for (d0, n), ours, theirs in zip(inputs, engine_results, ref_results)
        if ours != theirs
    ]
    for d0, n, ours, theirs in disagreements:
        print(f"DISAGREEMENT d0={d0} n={n}: engine={ours} find_workday={theirs}")

    # Not timed: how often the naive find_workday(n, d0) is wrong (one day late, non-working D0).
    naive_wrong = sum(
        chinese_calendar.find_workday(n, d0) != ours for (d0, n), ours in zip(inputs, engine_results)
    )

    speedup = ref_us / engine_us if engine_us else float("inf")
    figures = {
        "benchmark": "calendar.due_date",
        "quick": quick,
        "inputs": count,
        "seed": SEED,
        "date_range": [FIRST.isoformat(), LAST.isoformat()],
        "n_range": [1, 20],
        "rounds": {"engine": rounds_engine, "find_workday": rounds_ref},
        "engine_us_per_call": round(engine_us, 3),
        "find_workday_us_per_call": round(ref_us, 3),
        "speedup": round(speedup, 1),
        "calendar_build_ms": round(setup_ms, 2),
        "disagreements": len(disagreements),
        "naive_find_workday_wrong": naive_wrong,
        "python": platform.python_version(),
    }
    print(f"inputs:            {count} (seed {SEED}, quick={quick})")
    print(f"engine.due_date:   {engine_us:10.3f} µs/call (best of {rounds_engine})")
    print(f"find_workday:      {ref_us:10.3f} µs/call (best of {rounds_ref})")
    print(f"speed-up:          {speedup:10.1f}x")
    print(f"calendar build:    {setup_ms:10.2f} ms")
    print(f"disagreements:     {len(disagreements)}")
    print(f"naive find_workday(n, d0) wrong on {naive_wrong} inputs (non-working D0)")

    out = ROOT / "bench" / "results" / "calendar.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written:           {out.relative_to(ROOT)}")
    # Timings never fail the run; a disagreement is a correctness bug and does.
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
