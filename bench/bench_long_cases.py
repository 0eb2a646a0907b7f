"""Long cases: the cost of loading and completing a task of a case after 10, 100 and 500 send-back
loops (退回), against a fresh case.

Run from the repository root:  python bench/bench_long_cases.py   (BENCH_QUICK=1: 10 and 100 loops, SQLite)

The diagram is tests/fixtures/review_loop.bpmn with its functions (tests/conftest.py
``review_loop_procedure``): a clerk submits, the department head approves or returns; a return is
one loop. The return is taken three ways: ``diagram`` completes the head's task with
``decision=return`` (the gateway's back edge: SpiffWorkflow appends the next round to the task tree,
and the engine drops finished history once the tree passes ``COMPACT_ABOVE`` tasks, see
engine/spiff/compaction.py); ``diagram_uncompacted`` is the same with compaction switched off (the
baseline: what SpiffWorkflow alone would keep); ``return_task`` uses the engine's 退回
(``Engine.return_task``: the tree is reset to the submit step). One case per way is driven through the engine's service functions to each loop count in turn
(measuring adds ``REPEAT`` loops, reported as ``loops_at_end``); the fresh reference is a new case
per sample. Per level: the saved state's size and task count, ``load`` (restoring the saved state
onto the cached spec, what every action on the case starts with) and ``complete`` (a whole unit
of work, alternately the clerk's ``complete_task`` and the head's return).

SQLite and PostgreSQL (full run; a private schema, dropped afterwards). Figures are printed and
written to bench/results/long_cases.json, never asserted.
"""
from __future__ import annotations

import statistics
import sys
import time
from contextlib import contextmanager

import benchlib as lib

from engine import runner
from engine.models import Case
from engine.service import Engine
from engine.uow import Actor
from tests.conftest import review_loop_procedure

LEVELS = (10, 100) if lib.QUICK else (10, 100, 500)
KINDS = ("sqlite",) if lib.QUICK else ("sqlite", "postgresql")
WAYS = ("diagram", "diagram_uncompacted", "return_task")
REPEAT = 5  # loops added while measuring one level
DEPARTMENT = "340822101"
CLERK = Actor("bench.clerk", frozenset({"provider_clerk"}), DEPARTMENT)
HEAD = Actor("bench.head", frozenset({"dept_head"}), DEPARTMENT)
SUBMIT, RETURN = {"summary": "数据更正材料", "pages": 3}, {"decision": "return", "opinion": "请补正"}


def engine_on(url: str) -> Engine:
    engine = lib.make_engine(url)
    engine.procedures["review_loop"] = review_loop_procedure()
    engine.deploy((lib.ROOT / "tests" / "fixtures" / "review_loop.bpmn").read_bytes())
    return engine


def start(engine: Engine) -> int:
    return engine.start_case("review_loop", CLERK, {"department": DEPARTMENT})


def loop(engine: Engine, case_id: int, way: str = "diagram") -> tuple[float, float]:
    """Submit and return once; the seconds each of the two units of work took."""
    took = []
    for who, form in ((CLERK, SUBMIT), (HEAD, RETURN)):
        task_id = lib.open_task_id(engine, case_id)
        began = time.perf_counter()
        if who is HEAD and way == "return_task":
            engine.return_task(task_id, who, RETURN["opinion"])
        else:
            engine.complete_task(task_id, who, form)
        took.append(time.perf_counter() - began)
    return took[0], took[1]


def load_times(engine: Engine, case_id: int, repeat: int) -> tuple[list[float], dict]:
    """Seconds to restore the saved state (CaseRunner.load), and the state's size and task count."""
    with engine.uow() as uow:
        case = uow.session.get(Case, case_id)
        bundle = engine.runner.bundle(uow.session, case)
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            workflow = engine.runner.load(case, bundle)
            times.append(time.perf_counter() - began)
        return times, {"state_bytes": len(case.state), "tasks_in_tree": len(workflow.tasks)}


def measure(engine: Engine, case_id: int | None, loops: int, way: str = "diagram") -> dict:
    """One level: ``case_id`` None measures fresh cases (a new one per sample)."""
    submits, returns, loads = [], [], []
    shape = {}
    for _ in range(REPEAT if case_id is not None else 3 * REPEAT):
        target = case_id if case_id is not None else start(engine)
        times, shape = load_times(engine, target, 3)
        loads += times
        submit, back = loop(engine, target, way)
        submits.append(submit)
        returns.append(back)
    return {"loops": loops, "loops_at_end": loops + (REPEAT if case_id is not None else 1), **shape,
            "load": lib.quantiles(loads), "complete_submit": lib.quantiles(submits),
            "complete_return": lib.quantiles(returns),
            "complete_p50_ms": round(statistics.median(submits + returns) * 1e3, 3)}


def run(kind: str) -> dict:
    with lib.database(kind) as url:
        engine = engine_on(url)
        try:
            for _ in range(3):  # warm caches (spec, rule set, calendar)
                loop(engine, start(engine))
            fresh = measure(engine, None, 0)
            result = {"fresh": fresh}
            for way in WAYS:
                result[way] = grow(engine, kind, way, fresh)
            return result
        finally:
            engine.db_engine.dispose()


def grow(engine: Engine, kind: str, way: str, fresh: dict, label: str | None = None) -> dict:
    """Drive one case through LEVELS loops, measuring at each."""
    if way == "diagram_uncompacted":
        with compaction_off():
            return grow(engine, kind, "diagram", fresh, label=way)
    case_id, done, levels = start(engine), 0, []
    built = time.perf_counter()
    for target in LEVELS:
        while done < target:
            loop(engine, case_id, way)
            done += 1
        levels.append(measure(engine, case_id, done, way))
        done += REPEAT
        print(f"  {kind}, {label or way}: {target} loops measured ({time.perf_counter() - built:.0f}s)", flush=True)
    for level in levels:
        level["load_ratio"] = round(level["load"]["p50_ms"] / fresh["load"]["p50_ms"], 1)
        level["complete_ratio"] = round(level["complete_p50_ms"] / fresh["complete_p50_ms"], 1)
    return {"levels": levels, "seconds": round(time.perf_counter() - built, 1)}


@contextmanager
def compaction_off():
    """The engine without compaction: SpiffWorkflow keeps the whole history in the tree."""
    saved = runner.compact
    runner.compact = lambda workflow: 0
    try:
        yield
    finally:
        runner.compact = saved


def main() -> int:
    lib.warn_if_busy()
    results = {}
    for kind in KINDS:
        if kind == "postgresql" and (problem := lib.pg_problem()) is not None:
            print(f"PostgreSQL skipped: {problem}")
            continue
        results[kind] = run(kind)
        report(kind, results[kind])
    lib.write_results("long_cases", {"diagram": "tests/fixtures/review_loop.bpmn", "repeat": REPEAT,
                                     "results": results})
    return 0


def report(kind: str, r: dict) -> None:
    for way in WAYS:
        print(f"== {kind}, send-back by {way}")
        print(f"  {'loops':>6} {'state':>11} {'tasks':>6} {'load p50':>10} {'complete p50':>13} {'load x':>7} "
              f"{'complete x':>11}")
        for level in [r["fresh"], *r[way]["levels"]]:
            print(f"  {level['loops']:>6} {level['state_bytes']:>9,} B {level['tasks_in_tree']:>6} "
                  f"{level['load']['p50_ms']:>7.1f} ms {level['complete_p50_ms']:>10.1f} ms "
                  f"{level.get('load_ratio', 1.0):>6.1f}x {level.get('complete_ratio', 1.0):>10.1f}x")


if __name__ == "__main__":
    sys.exit(main())
