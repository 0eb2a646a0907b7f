"""Print the README's table of benchmark figures from bench/results/*.json (Markdown).

Run from the repository root:  python bench/report.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
DBS = ("sqlite", "postgresql")


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def mode(r: dict) -> str:
    return "quick" if r.get("quick") else "full"


def by_db(r: dict, pick) -> list[str]:
    return [pick(r["results"][db]) if db in r.get("results", {}) else "–" for db in DBS]


def engine_rows(r: dict) -> list[list[str]]:
    rows = [["engine", f"engine: cases/s (start → provider review → grant), {mode(r)}",
             *by_db(r, lambda x: f"{x['engine']['cases_per_s']:.1f}")],
            ["engine", "bare SpiffWorkflow, spec in the row (library default): cases/s",
             *by_db(r, lambda x: f"{x['bare']['cases_per_s']:.1f}")],
            ["engine", "bare SpiffWorkflow, spec cached: cases/s",
             *by_db(r, lambda x: f"{x['bare_spec_cached']['cases_per_s']:.1f}")],
            ["engine", "bare ÷ engine (spec in row / spec cached)",
             *by_db(r, lambda x: f"{x['ratio_bare_over_engine']}× / {x['ratio_bare_spec_cached_over_engine']}×")]]
    if all("engine_bookkeeping_only" in x for x in r.get("results", {}).values()):
        rows += [["engine", "engine, procedure's records stubbed (bookkeeping only): cases/s",
                  *by_db(r, lambda x: f"{x['engine_bookkeeping_only']['cases_per_s']:.1f}")],
                 ["engine", "bare ÷ bookkeeping only (spec in row / spec cached)",
                  *by_db(r, lambda x: f"{x['ratio_bare_over_bookkeeping']}× / "
                                      f"{x['ratio_bare_spec_cached_over_bookkeeping']}×")]]
    return rows


def inbox_rows(r: dict) -> list[list[str]]:
    def series(measure):
        return lambda x: " / ".join(f"{lvl[measure]['p50_ms']:.1f}" for lvl in x["levels"])

    def growth(x):
        g = x["growth"]
        return f"{g['unclaimed_tasks']}× / {g['page_mine']}× / {g['http_unclaimed']}×"

    sizes = lambda x: " / ".join(f"{lvl['human_task_rows'] // 1000:,}k" for lvl in x["levels"])  # noqa: E731
    rows = [["inbox", f"human_task rows, {mode(r)}", *by_db(r, sizes)]]
    for measure, label in (("my_tasks", "my tasks (query) p50 ms"), ("unclaimed_tasks", "my roles' unclaimed (query) p50 ms"),
                           ("page_mine", "Engine.inbox 待办 (page + tab counts) p50 ms"),
                           ("page_done", "Engine.inbox 已办 p50 ms"),
                           ("http_mine", "GET /tasks rendered p50 ms"),
                           ("http_unclaimed", "GET /tasks?tab=unclaimed rendered p50 ms")):
        rows.append(["inbox", label, *by_db(r, series(measure))])
    rows.append(["inbox", "growth smallest → largest: unclaimed / 待办 page / unclaimed page", *by_db(r, growth)])
    return rows


def long_rows(r: dict) -> list[list[str]]:
    def levels(way, key):
        return lambda x: " / ".join([f"{x['fresh'][key]:.1f}" if key == "complete_p50_ms"
                                     else f"{x['fresh']['load']['p50_ms']:.1f}"] +
                                    [f"{lvl[key]:.1f}" if key == "complete_p50_ms" else f"{lvl['load']['p50_ms']:.1f}"
                                     for lvl in x[way]["levels"]])

    def loops(x):
        return "0 / " + " / ".join(str(lvl["loops"]) for lvl in x["diagram"]["levels"])

    def ratio(way):
        return lambda x: f"{x[way]['levels'][-1]['complete_ratio']}× complete, {x[way]['levels'][-1]['load_ratio']}× load"

    rows = [["long cases", f"send-back loops, {mode(r)}", *by_db(r, loops)],
            ["long cases", "diagram loop: load + complete p50 ms", *by_db(r, levels("diagram", "complete_p50_ms"))],
            ["long cases", "diagram loop: restoring the state p50 ms", *by_db(r, levels("diagram", "load"))],
            ["long cases", "diagram loop: most loops vs fresh", *by_db(r, ratio("diagram"))]]
    if all("diagram_uncompacted" in x for x in r.get("results", {}).values()):
        rows += [["long cases", "diagram loop without compaction: load + complete p50 ms",
                  *by_db(r, levels("diagram_uncompacted", "complete_p50_ms"))],
                 ["long cases", "diagram loop without compaction: most loops vs fresh",
                  *by_db(r, ratio("diagram_uncompacted"))]]
    return rows + [["long cases", "退回 (Engine.return_task): most loops vs fresh", *by_db(r, ratio("return_task"))]]


def scaleout_rows(r: dict) -> list[list[str]]:
    one, two = r["runs"][0], r["runs"][-1]
    return [["scale-out", f"cases/s with 1 / 2 engine processes ({r['cpus']} CPUs), {mode(r)}", "–",
             f"{one['cases_per_s']:.1f} / {two['cases_per_s']:.1f} ({r['speedup']}×)"]]


def timers_rows(r: dict) -> list[list[str]]:
    runs = r["runs"]

    def seconds(x):
        if x is None:
            return "–"
        return f"{x:.3f}".rstrip("0").rstrip(".") if x < 1 else f"{x:.1f}"

    cell = "; ".join(f"{x['workers']} w: {seconds(x['lateness_p50_s'])} / {seconds(x['lateness_p99_s'])} / "
                     f"{seconds(x['lateness_max_s'])} s" for x in runs)
    rows = [["timers", f"lateness p50 / p99 / max, {runs[0]['timers']:,} timers due over "
                       f"{runs[0].get('window_s', 0):.0f} s ({mode(r)})", "–", cell]]
    burst = r.get("burst")
    if burst:
        rows.append(["timers", f"sustained firings/s, {burst[0]['timers']:,} due at once, 1 / 2 workers", "–",
                     " / ".join(f"{x['sustained_fired_per_s']:.0f}" for x in burst)])
    else:
        rows.append(["timers", "fired per s, 1 / 2 workers", "–",
                     " / ".join(str(x.get("fired_per_s", "–")) for x in runs)])
    doubles = sum(x["double_fires"] for x in runs + (burst or []))
    rows.append(["timers", "double fires (all runs)", "–", str(doubles)])
    return rows


def calendar_rows(r: dict) -> list[list[str]]:
    return [["calendar", f"due_date vs find_workday µs/call ({r['inputs']:,} inputs)",
             f"{r['engine_us_per_call']} vs {r['find_workday_us_per_call']} ({r['speedup']}×)", "–"]]


def main() -> int:
    rows = []
    for name, render in (("engine", engine_rows), ("inbox", inbox_rows), ("long_cases", long_rows),
                         ("scaleout", scaleout_rows), ("timers", timers_rows), ("calendar", calendar_rows)):
        r = load(name)
        if r is not None:
            rows += render(r)
    print("| benchmark | measure | SQLite | PostgreSQL |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
