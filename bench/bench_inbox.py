"""Inbox at scale: "my tasks", "my roles' unclaimed tasks" and the rendered inbox page with 10k, 100k
and 1M rows in the human-task table.

Run from the repository root:  python bench/bench_inbox.py   (BENCH_QUICK=1: 10k and 100k rows)

The demo county (30 departments, a clerk and a head each, the authority) with every diagram of
bpmn/ deployed; the history is bulk-inserted with SQLAlchemy core: cases of the five procedures
with 1–4 user tasks each along their main path (roles, departments, candidate rows as the engine
projects them), spread over three years and almost all completed. The open work stays the same
at every size: per department 3 tasks claimed by its clerk, 2 offered to its clerks and 1 to its
head, plus the authority's; what grows is the history.

Measured at each size, round-robin over a dozen people, p50/p95 of:
  my_tasks, unclaimed_tasks    engine.inbox queries (a page of 50)
  page_mine, page_unclaimed    Engine.inbox (what the inbox screen gets: one page of 20 and the
                               count of every tab)
  page_done                    Engine.inbox of the 已办 tab (the history itself, paginated)
  http_mine, http_unclaimed    GET /tasks and /tasks?tab=unclaimed, rendered, logged in (Flask test client)
PostgreSQL at every size (VACUUM ANALYZE after each load, as autovacuum would), SQLite up to 100k
(no ANALYZE: nothing runs it in production). Figures go to bench/results/inbox.json; growth is the
p50 at the largest size over the p50 at 10k. Timings are never asserted.
"""
from __future__ import annotations

import itertools
import random
import sys
import time
import uuid
from datetime import timedelta

import benchlib as lib
import sqlalchemy as sa

from engine import inbox, rules
from engine.config import Config
from engine.definitions import list_latest
from engine.demo.organisation import DEMO_PASSWORD
from engine.domain import org
from engine.models import Case, HumanTask, TaskCandidate

SIZES = {"postgresql": (10_000, 100_000) if lib.QUICK else (10_000, 100_000, 1_000_000),
         "sqlite": (10_000, 100_000)}
SAMPLES = 12 if lib.QUICK else 60
HTTP_SAMPLES = 8 if lib.QUICK else 30
SEED = 20260302
BATCH = 20_000
HISTORY_DAYS = 3 * 365
COUNTY_ROLES = {"authority": "340822001", "county_gov": "340822002", "discipline": "340822003"}
PATHS_TITLE = {"share_application": "共享申请", "catalog_change": "目录变更", "data_review": "异议复核",
               "inconsistency_arbitration": "数据不一致协调", "rectification": "违规整改"}
PATHS = {  # the main path of user tasks of each procedure, and how often it is started
    "share_application": (["provider_review"], 40),
    "catalog_change": (["update_catalog", "internal_approval", "report", "authority_review"], 20),
    "data_review": (["verify_answer"], 20),
    "inconsistency_arbitration": (["state_position", "authority_decide", "correct", "authority_confirm"], 10),
    "rectification": (["notice", "rectify", "sign", "verify"], 10),
}


class County:
    """Who is who, and the user tasks of the deployed definitions."""

    def __init__(self, engine):
        with engine.uow() as uow:
            s = uow.session
            self.people = [(p.login, p.department.code, p.roles) for p in s.scalars(sa.select(org.Person))]
            self.rule_set = rules.in_force(s, lib.START.date()).key
            self.definitions = {}
            self.tasks = {}
            for d in list_latest(s):
                self.definitions[d.process_id] = d.id
                for spec in engine.definitions.get(s, d.id).spec.task_specs.values():
                    if getattr(spec, "manual", False):
                        groups = (spec.extensions or {}).get("candidate_groups") or [None]
                        self.tasks[(d.process_id, spec.bpmn_id)] = (spec.bpmn_name or spec.bpmn_id, groups[0])
        self.clerk_of = {dept: login for login, dept, roles in self.people if "provider_clerk" in roles}
        self.head_of = {dept: login for login, dept, roles in self.people if "dept_head" in roles}
        self.departments = sorted(self.clerk_of)
        self.by_role = {"authority": "supervisor", "county_gov": "county", "discipline": "discipline"}

    def worker(self, role: str, dept: str | None) -> str:
        if role in self.by_role:
            return self.by_role[role]
        return self.head_of[dept] if role == "dept_head" else self.clerk_of[dept]


class History:
    """Generates case, human-task and candidate rows; ids continue across calls."""

    def __init__(self, county: County, seed: int = SEED):
        self.county = county
        self.rng = random.Random(seed)
        self.case_ids = itertools.count(1)
        self.processes = list(PATHS)
        self.weights = [PATHS[p][1] for p in self.processes]

    def case(self, process: str, tasks: list[str], dept: str | None = None,
             open_for: str | None | bool = False) -> tuple[dict, list, list]:
        """One case along ``tasks``; unless ``open_for`` is False its last task is open, claimed by
        that login (None: offered to its role)."""
        rng, county = self.rng, self.county
        case_id = next(self.case_ids)
        started = lib.START - timedelta(days=rng.uniform(2, HISTORY_DAYS))
        dept = dept or rng.choice(county.departments)
        other = rng.choice([d for d in county.departments if d != dept])
        starter = county.clerk_of[dept] if process != "rectification" else "supervisor"
        at, task_rows, candidates = started, [], []
        for element in tasks:
            name, role = county.tasks[(process, element)]
            task_dept = None if role in COUNTY_ROLES else (other if element == "provider_review" else dept)
            created, at = at, at + timedelta(hours=rng.uniform(2, 72))
            worker = county.worker(role, task_dept)
            task_rows.append({
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "case_id": case_id,
                "process_id": process, "definition_id": county.definitions[process], "element_id": element,
                "name": name, "role": role, "department": task_dept, "assignee": worker, "state": "completed",
                "created_at": created, "completed_at": at, "completed_by": worker,
                "due_at": created + timedelta(days=7), "due_date": (created + timedelta(days=7)).date(),
                "provisional": False, "overdue": False, "candidate_groups": [role], "candidate_users": []})
            candidates.append({"task_id": task_rows[-1]["id"], "kind": "group", "value": role})
        if open_for is not False:
            due = lib.START + timedelta(days=rng.choice([-1, 2, 5, 9]))
            task_rows[-1].update(state="ready", assignee=open_for, completed_at=None, completed_by=None,
                                 created_at=lib.START - timedelta(days=1), due_at=due, due_date=due.date())
        running = open_for is not False
        case = {"id": case_id, "number": f"{started:%Y}{case_id:07d}", "process_id": process,
                "definition_id": county.definitions[process], "status": "running" if running else "completed",
                "outcome": None if running else "done", "title": f"{PATHS_TITLE[process]}（{dept}）#{case_id}",
                "rule_set": county.rule_set, "started_by": starter, "started_at": started,
                "ended_at": None if running else at, "updated_at": at, "serializer_version": "3.0",
                "state": "{}", "version": 1}
        return case, task_rows, candidates

    def completed(self) -> tuple[dict, list, list]:
        process = self.rng.choices(self.processes, self.weights)[0]
        path = PATHS[process][0]
        return self.case(process, path[: self.rng.randint(1, len(path))])

    def open_work(self) -> list[tuple[dict, list, list]]:
        """The same small amount of open work at every size."""
        county, cases = self.county, []
        for dept in county.departments:
            cases += [self.case("data_review", ["verify_answer"], dept, county.clerk_of[dept]) for _ in range(3)]
            cases += [self.case("inconsistency_arbitration", ["state_position"], dept, None) for _ in range(2)]
            cases.append(self.case("catalog_change", ["update_catalog", "internal_approval"], dept, None))
        cases += [self.case("inconsistency_arbitration", ["state_position", "authority_decide"], None, None)
                  for _ in range(10)]
        cases += [self.case("rectification", ["notice"], None, "supervisor") for _ in range(3)]
        return cases


def insert(db: sa.Engine, batch: list[tuple[dict, list, list]]) -> None:
    cases = [c for c, _, _ in batch]
    tasks = [t for _, ts, _ in batch for t in ts]
    candidates = [c for _, _, cs in batch for c in cs]

    def write():
        with db.begin() as conn:
            conn.execute(sa.insert(Case.__table__), cases)
            conn.execute(sa.insert(HumanTask.__table__), tasks)
            conn.execute(sa.insert(TaskCandidate.__table__), candidates)
    lib.retrying(write)


def fill(db: sa.Engine, history: History, rows_now: int, target: int) -> int:
    """Add completed cases until the human-task table holds ``target`` rows; return the count."""
    batch, pending = [], 0
    while rows_now + pending < target:
        case = history.completed()
        batch.append(case)
        pending += len(case[1])
        if pending >= BATCH:
            insert(db, batch)
            rows_now, batch, pending = rows_now + pending, [], 0
    if batch:
        insert(db, batch)
        rows_now += pending
    return rows_now


def analyze(db: sa.Engine) -> None:
    def vacuum():
        with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("case", "human_task", "task_candidate"):
                conn.execute(sa.text(f'VACUUM ANALYZE "{table}"'))
    if db.dialect.name == "postgresql":
        lib.retrying(vacuum)


# -- measurements ---------------------------------------------------------------------------------

def people_to_ask(county: County) -> list:
    from engine.uow import Actor
    logins = [county.clerk_of[d] for d in county.departments[:8]] + \
             [county.head_of[d] for d in county.departments[:3]] + ["supervisor"]
    roles = {login: (dept, roles) for login, dept, roles in county.people}
    return [Actor(login, frozenset(roles[login][1]), roles[login][0]) for login in logins]


def measure_queries(engine, actors) -> dict:
    cycle = itertools.cycle(actors)

    def query(fn):
        def call():
            with engine.uow() as uow:
                fn(uow.session, next(cycle))
        return call

    def page(tab):
        return lambda: engine.inbox(next(cycle), tab)

    calls = {"my_tasks": query(inbox.my_tasks), "unclaimed_tasks": query(inbox.unclaimed_tasks),
             "page_mine": page("mine"), "page_unclaimed": page("unclaimed"), "page_done": page("done")}
    return {name: lib.quantiles(lib.sample(call, SAMPLES)) for name, call in calls.items()}


def measure_http(engine, url: str, actors) -> dict:
    from web import create_app
    app = create_app(Config(database_url=url, secret_key="bench-secret-key-0123456789"),
                     test_config={"TESTING": True, "WTF_CSRF_ENABLED": False, "engine": engine})
    clients = []
    for who in actors:
        client = app.test_client()
        response = client.post("/login", data={"login": who.username, "password": DEMO_PASSWORD})
        if response.status_code != 302:
            raise RuntimeError(f"log-in of {who.username} failed: {response.status_code}")
        clients.append(client)
    cycle = itertools.cycle(clients)

    def get(path):
        def call():
            response = next(cycle).get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: {response.status_code}")
        return call

    return {"http_mine": lib.quantiles(lib.sample(get("/tasks"), HTTP_SAMPLES)),
            "http_unclaimed": lib.quantiles(lib.sample(get("/tasks?tab=unclaimed"), HTTP_SAMPLES))}


def run(kind: str) -> dict:
    with lib.database(kind) as url:
        engine = lib.make_engine(url)
        try:
            skipped = lib.seed_county(engine, diagrams=None)
            county = County(engine)
            history = History(county)
            opened = history.open_work()
            insert(engine.db_engine, opened)
            rows = sum(len(t) for _, t, _ in opened)
            actors = people_to_ask(county)
            levels = []
            for size in SIZES[kind]:
                began = time.perf_counter()
                rows = fill(engine.db_engine, history, rows, size)
                analyze(engine.db_engine)
                loaded = time.perf_counter() - began
                figures = {**measure_queries(engine, actors), **measure_http(engine, url, actors)}
                levels.append({"human_task_rows": rows, "open_tasks": len(opened),
                               "load_seconds": round(loaded, 1), **figures})
                print_level(kind, levels[-1])
            return {"levels": levels, "growth": growth(levels), "diagrams_skipped": skipped}
        finally:
            engine.db_engine.dispose()


MEASURES = ("my_tasks", "unclaimed_tasks", "page_mine", "page_unclaimed", "page_done", "http_mine", "http_unclaimed")


def growth(levels: list[dict]) -> dict:
    first, last = levels[0], levels[-1]
    return {"from_rows": first["human_task_rows"], "to_rows": last["human_task_rows"],
            **{m: round(last[m]["p50_ms"] / first[m]["p50_ms"], 1) for m in MEASURES}}


def print_level(kind: str, level: dict) -> None:
    print(f"== {kind}, {level['human_task_rows']:,} human_task rows (loaded in {level['load_seconds']}s)", flush=True)
    for m in MEASURES:
        print(f"  {m:16s} p50 {level[m]['p50_ms']:9.2f} ms   p95 {level[m]['p95_ms']:9.2f} ms")


def main() -> int:
    lib.warn_if_busy()
    results = {}
    for kind in ("postgresql", "sqlite"):
        if kind == "postgresql" and (problem := lib.pg_problem()) is not None:
            print(f"PostgreSQL skipped: {problem}")
            continue
        results[kind] = run(kind)
        print(f"  growth {results[kind]['growth']}")
    lib.write_results("inbox", {"samples": SAMPLES, "http_samples": HTTP_SAMPLES, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
