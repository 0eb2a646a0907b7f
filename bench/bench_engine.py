"""Engine throughput: share applications (start -> provider review -> grant) per second through the
engine's service functions, against bare SpiffWorkflow running the same diagram, same data, same steps.

Run from the repository root:  python bench/bench_engine.py   (BENCH_QUICK=1 for a short run)

* engine: ``Engine.start_case`` then ``Engine.complete_task`` of ``provider_review`` (approve) as
  ``make run`` would do them: form validation, the catalog checks of workflows/share_application.py,
  the records (application, grant), the human-task and deadline projections, notifications and the
  hash-chained audit trail, one unit of work each.
* engine, no records: the same, with the procedure's own work (catalog checks, the application
  and grant records, department look-ups) replaced by the bare run's stubs (``without_records``):
  the engine's bookkeeping alone (form validation, projections, deadlines on the real calendar,
  notifications, the audit chain).
* engine, all sandboxed: the first, with every script, condition and timer expression sent to the
  sandbox process (engine.spiff.sandbox) instead of only the code that is not plainly bounded: what
  the CPU-time and memory budget costs when a diagram's code needs it everywhere.
* bare: bpmn/share_application.bpmn parsed once with engine.spiff.parser.GovParser, run by
  SpiffWorkflow with the scripts' functions replaced by stubs returning plausible values; each step
  loads the case's BpmnWorkflowSerializer JSON from ONE row of a plain table, acts, runs the engine
  steps and writes the row back, in one transaction on the same database. ``bare`` keeps the library's
  default (the spec is embedded in every row); ``bare, spec cached`` stores the state only and hands
  the parsed spec back on load (what the engine does).

SQLite and PostgreSQL (a private schema, dropped afterwards). Timings are printed and written to
bench/results/engine.json, never asserted.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import sys
import time
from datetime import datetime, timezone
from types import SimpleNamespace

import benchlib as lib
import sqlalchemy as sa
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.clock import FrozenClock
from engine.db import create_db_engine
from engine.spiff.parser import GovParser
from engine.spiff.script import GovScriptEngine
from engine.spiff.timers import (ClockCycleTimerEventDefinition, ClockDurationTimerEventDefinition,
                                 ClockTimeDateEventDefinition)

CASES = {"engine": 40, "bare": 150} if lib.QUICK else {"engine": 400, "bare": 1500}
WARMUP = 5
DIAGRAM = lib.BPMN / "share_application.bpmn"

# -- the engine -------------------------------------------------------------------------------------


def run_engine(kind: str, cases: int, stub_procedure: bool = False) -> dict:
    with lib.database(kind) as url:
        engine = lib.make_engine(url)
        try:
            lib.seed_county(engine)
            if stub_procedure:
                without_records(engine)
            consumer, provider = lib.actor(engine, lib.CONSUMER), lib.actor(engine, lib.PROVIDER)
            for _ in range(WARMUP):
                lib.share_case(engine, consumer, provider)
            starts, completes = [], []
            began = time.perf_counter()
            for _ in range(cases):
                t0 = time.perf_counter()
                case_id = engine.start_case("share_application", consumer, lib.APPLICATION)
                t1 = time.perf_counter()
                engine.complete_task(lib.open_task_id(engine, case_id, "provider_review"), provider, lib.APPROVAL)
                t2 = time.perf_counter()
                starts.append(t1 - t0)
                completes.append(t2 - t1)
            elapsed = time.perf_counter() - began
            return {"cases": cases, "seconds": round(elapsed, 3), "cases_per_s": round(cases / elapsed, 2),
                    "start": lib.quantiles(starts), "complete": lib.quantiles(completes),
                    **engine_footprint(engine, case_id)}
        finally:
            engine.db_engine.dispose()


def run_engine_sandboxed(kind: str, cases: int) -> dict:
    """``run_engine`` with every piece of diagram code sent to the sandbox process
    (engine.spiff.sandbox), as if none of it were plainly bounded: the worst case of the budget's cost."""
    from engine.spiff import script
    plain = script._bounded
    script._bounded = lambda *_args: False
    try:
        return run_engine(kind, cases)
    finally:
        script._bounded = plain


def without_records(engine) -> None:
    """The engine's bookkeeping only: the procedure's own work (catalog checks, the application and
    grant records, department look-ups) replaced by the same stubs the bare runs use; form
    validation, task and deadline projections with the real calendar, notifications and the audit
    chain stay."""
    proc = engine.procedures["share_application"]
    stubs = {name: _with_context(fn) for name, fn in stub_functions().items()
             if name in proc.functions and name not in engine.engine_functions}
    options = {"resource": [(lib.APPLICATION["resource"], "户籍人口基本信息")]}
    engine.procedures["share_application"] = dataclasses.replace(
        proc, functions=stubs, form_options=lambda ctx, element_id, data: options if element_id == "__start__" else {},
        check_start=lambda ctx, cleaned: {**START_DATA, **cleaned, "data_items": START_DATA["data_items"],
                                          "materials": START_DATA["materials"]})


def _with_context(fn):
    def call(ctx, *args, **kwargs):
        return fn(*args, **kwargs)
    return call


def engine_footprint(engine, case_id: int) -> dict:
    """What one case leaves in the database: state size and rows written besides it."""
    from engine.domain.notifications import Notification
    from engine.models import AuditRecord, Case, Deadline, HumanTask
    with engine.uow() as uow:
        s = uow.session
        count = lambda model, col: s.scalar(sa.select(sa.func.count()).select_from(model).where(col == case_id))  # noqa: E731
        return {"state_bytes": len(s.get(Case, case_id).state),
                "rows_per_case": {"audit_record": count(AuditRecord, AuditRecord.case_id),
                                  "human_task": count(HumanTask, HumanTask.case_id),
                                  "deadline": count(Deadline, Deadline.case_id),
                                  "notification": count(Notification, Notification.case_id)}}


# -- bare SpiffWorkflow -----------------------------------------------------------------------------

RECEIVED_ON = "2026-03-02"
START_DATA = {  # what the engine's start_case puts into the workflow (after check_start)
    "initiator": lib.CONSUMER, "initiator_department": "340822103", "case_number": "2026", "case_id": 0,
    "resource": "HN-GA-001", "scenario": lib.APPLICATION["scenario"], "data_items": ["公民身份号码", "姓名"],
    "period_from": "2026-03-01", "period_until": "2026-06-30",
    "materials": lib.APPLICATION["materials"].split("\n"), "resource_code": "HN-GA-001",
    "resource_name": "户籍人口基本信息", "share_type": "conditional", "provider_department": "340822101",
    "provider_department_name": "县公安局", "consumer_department": "340822103",
    "consumer_department_name": "县民政局", "received_on": RECEIVED_ON,
}
REVIEW_DATA = {"decision": "approve", "granted_items": ["姓名"], "valid_from": "2026-03-01",
               "valid_until": "2026-05-31", "usage_limits": "仅用于婚姻登记核验", "reason": "",
               "basis": "《怀宁县政务数据资源管理暂行办法》第十七条：有条件共享，提供部门授权"}


def stub_functions() -> dict:
    """The diagram's functions as stubs with plausible return values (ids, instants, flags)."""
    ids = itertools.count(1)
    due = "2026-03-09T16:00:00+00:00"      # 24:00 Beijing of the 5th working day
    reminder = "2026-03-09T01:00:00+00:00"  # 09:00 Beijing one working day earlier
    stubs = {name: (lambda *a, **k: True) for name in (
        "refuse_application", "withdraw_application", "coordinate", "expire_grant", "dismiss_supervision",
        "extend_deadline", "escalate_overdue", "open_rectification", "provider_of", "withdraw_for_silence")}
    stubs.update({
        "register_application": lambda *a: next(ids), "approve_application": lambda *a: next(ids),
        "grant_unconditional": lambda *a: next(ids), "supplement_materials": lambda *a: RECEIVED_ON,
        "workdays": lambda n, start=None: due,
        "remind_before": lambda n, start=None, before=None: reminder,
        "period_due": lambda name, start=None, days=None: due,
        "period_reminder": lambda name, start=None, days=None, before=None: reminder,
        "grant_end": lambda grant_id: datetime(2026, 5, 31, 16, 0, tzinfo=timezone.utc),
        "rules": SimpleNamespace(share_reply_days=5, reminder_days_before=1),
    })
    return stubs


def bare_serializer() -> BpmnWorkflowSerializer:
    """The library's serializer, told about the parser's clock-aware timer definitions."""
    config = dict(CAMUNDA_CONFIG)
    for timer in (ClockTimeDateEventDefinition, ClockDurationTimerEventDefinition, ClockCycleTimerEventDefinition):
        config[timer] = TimerConditionalEventDefinitionConverter
    return BpmnWorkflowSerializer(registry=BpmnWorkflowSerializer.configure(config))


class BareStore:
    """One row per case in a plain table; the library's JSON, with or without the embedded spec."""

    def __init__(self, url: str, embed_spec: bool):
        self.db = create_db_engine(url)  # the same connection settings as the engine (SQLite WAL etc.)
        self.table = sa.Table(f"bare_case_{'full' if embed_spec else 'lean'}", sa.MetaData(),
                              sa.Column("id", sa.Integer, primary_key=True), sa.Column("state", sa.Text))
        self.table.create(self.db)
        self.embed_spec = embed_spec
        self.serializer = bare_serializer()
        parser = GovParser()
        parser.add_bpmn_file(str(DIAGRAM))
        self.spec = parser.get_spec("share_application")
        self.subprocess_specs = parser.get_subprocess_specs("share_application")
        self.script_engine = GovScriptEngine(FrozenClock(lib.START), stub_functions())

    def dumps(self, workflow: BpmnWorkflow) -> str:
        if self.embed_spec:
            return self.serializer.serialize_json(workflow)
        dct = self.serializer.to_dict(workflow)
        del dct["spec"], dct["subprocess_specs"]
        return json.dumps(dct)

    def loads(self, text: str) -> BpmnWorkflow:
        if self.embed_spec:
            workflow = self.serializer.deserialize_json(text)
        else:
            dct = json.loads(text)
            dct["spec"], dct["subprocess_specs"] = self.spec, dict(self.subprocess_specs)
            workflow = self.serializer.from_dict(dct)
        workflow.script_engine = self.script_engine
        return workflow

    def start(self) -> int:
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        workflow.data.update(START_DATA)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(workflow.data)
        run(workflow)
        with self.db.begin() as conn:
            return conn.execute(sa.insert(self.table).values(state=self.dumps(workflow))).inserted_primary_key[0]

    def complete(self, case_id: int, element_id: str, data: dict) -> None:
        with self.db.begin() as conn:
            query = sa.select(self.table.c.state).where(self.table.c.id == case_id)
            if self.db.dialect.name == "postgresql":
                query = query.with_for_update()
            workflow = self.loads(conn.scalar(query))
            task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                        if t.task_spec.bpmn_id == element_id)
            task.set_data(**data)
            task.run()
            run(workflow)
            conn.execute(sa.update(self.table).where(self.table.c.id == case_id).values(state=self.dumps(workflow)))

    def case(self) -> None:
        self.complete(self.start(), "provider_review", REVIEW_DATA)


def run(workflow: BpmnWorkflow) -> None:
    workflow.refresh_timers()
    workflow.do_engine_steps()


def run_bare(kind: str, cases: int, embed_spec: bool) -> dict:
    with lib.database(kind) as url:
        store = BareStore(url, embed_spec)
        try:
            for _ in range(WARMUP):
                store.case()
            starts, completes = [], []
            began = time.perf_counter()
            for _ in range(cases):
                t0 = time.perf_counter()
                case_id = store.start()
                t1 = time.perf_counter()
                store.complete(case_id, "provider_review", REVIEW_DATA)
                t2 = time.perf_counter()
                starts.append(t1 - t0)
                completes.append(t2 - t1)
            elapsed = time.perf_counter() - began
            with store.db.connect() as conn:
                size = len(conn.scalar(sa.select(store.table.c.state).where(store.table.c.id == case_id)))
            return {"cases": cases, "seconds": round(elapsed, 3), "cases_per_s": round(cases / elapsed, 2),
                    "start": lib.quantiles(starts), "complete": lib.quantiles(completes), "state_bytes": size}
        finally:
            store.db.dispose()


# -- report ---------------------------------------------------------------------------------------

def main() -> int:
    lib.warn_if_busy()
    kinds = ["sqlite"]
    problem = lib.pg_problem()
    if problem is None:
        kinds.append("postgresql")
    else:
        print(f"PostgreSQL skipped: {problem}")
    results = {}
    for kind in kinds:
        engine = run_engine(kind, CASES["engine"])
        bookkeeping = run_engine(kind, CASES["engine"], stub_procedure=True)
        sandboxed = run_engine_sandboxed(kind, CASES["engine"])
        bare = run_bare(kind, CASES["bare"], embed_spec=True)
        lean = run_bare(kind, CASES["bare"], embed_spec=False)
        results[kind] = {"engine": engine, "engine_bookkeeping_only": bookkeeping, "engine_all_code_sandboxed": sandboxed,
                         "ratio_engine_over_sandboxed": round(engine["cases_per_s"] / sandboxed["cases_per_s"], 2),
                         "bare": bare,
                         "bare_spec_cached": lean,
                         "ratio_bare_over_engine": round(bare["cases_per_s"] / engine["cases_per_s"], 2),
                         "ratio_bare_spec_cached_over_engine": round(lean["cases_per_s"] / engine["cases_per_s"], 2),
                         "ratio_bare_over_bookkeeping": round(bare["cases_per_s"] / bookkeeping["cases_per_s"], 2),
                         "ratio_bare_spec_cached_over_bookkeeping":
                             round(lean["cases_per_s"] / bookkeeping["cases_per_s"], 2)}
        print_kind(kind, results[kind])
    lib.write_results("engine", {"diagram": "bpmn/share_application.bpmn",
                                 "steps": ["start_case", "complete_task provider_review (approve)"],
                                 "results": results})
    return 0


def print_kind(kind: str, r: dict) -> None:
    print(f"== {kind}")
    for label, key in (("engine", "engine"), ("engine, no records", "engine_bookkeeping_only"),
                       ("engine, all sandboxed", "engine_all_code_sandboxed"),
                       ("bare (spec in row)", "bare"), ("bare, spec cached", "bare_spec_cached")):
        x = r[key]
        print(f"  {label:20s} {x['cases_per_s']:8.1f} cases/s  ({x['cases']} cases in {x['seconds']:.1f}s)  "
              f"start p50 {x['start']['p50_ms']:.1f} ms p95 {x['start']['p95_ms']:.1f} ms, "
              f"complete p50 {x['complete']['p50_ms']:.1f} ms p95 {x['complete']['p95_ms']:.1f} ms, "
              f"state {x['state_bytes']:,} B")
    print(f"  engine rows per case: {r['engine']['rows_per_case']}")
    print(f"  engine / engine with every piece of diagram code in the sandbox process: "
          f"{r['ratio_engine_over_sandboxed']}x (the shipped diagrams' code runs in process)")
    print(f"  bare / engine: {r['ratio_bare_over_engine']}x;  bare spec cached / engine: "
          f"{r['ratio_bare_spec_cached_over_engine']}x")
    print(f"  bookkeeping only (procedure's records stubbed): bare / engine {r['ratio_bare_over_bookkeeping']}x; "
          f"bare spec cached / engine {r['ratio_bare_spec_cached_over_bookkeeping']}x")


if __name__ == "__main__":
    sys.exit(main())
