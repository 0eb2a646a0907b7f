"""The case runner: load → run → project → save, for one case inside the caller's unit of work.

Every verb that moves a case (``Engine.start_case``, ``complete_task``, ``return_task``, firing a
timer in ``engine.timer_service``, a migration in ``engine.modeling``) locks the case, loads it with
``load``, acts on the workflow, then calls ``advance``: SpiffWorkflow runs on (due timers fire,
scripts run) until only user tasks and future timers remain, the human-task table, the deadline
table and the statutory periods are projected, the hooks run (notifications), and the state is
saved — all inside the caller's transaction, committed once by the caller. What the stages hand
each other is the case's ``engine.step.Step``.

Its dependencies are explicit (built by ``engine.bootstrap`` through ``Engine``): the serializer and
the definition cache, the procedures and the functions diagrams may call, the clock, the hooks, the
rule sets and the narrow services procedure code gets (``engine.procedures.ProcedureServices``).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Mapping
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import flag_modified
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from . import audit, deadlines, incidents
from .clock import Clock
from .definitions import DefinitionCache
from .errors import (AlreadyDone, CaseHasIncident, CaseStalled, GovflowError, NotFound, ScriptBudgetExceeded,
                     ScriptError)
from .models import Case, HumanTask
from .procedures import Procedure, ProcedureServices, ScriptContext, bind
from .spiff.compaction import compact
from .spiff.sandbox import BudgetExceeded
from .camunda import EXPRESSION_PREFIX
from .spiff.script import GovScriptEngine
from .spiff.serializer import SERIALIZER_VERSION, CaseSerializer, SpecBundle
from .spiff.tasks import all_tasks
from .uow import Actor, UnitOfWork
from .messages import Message, msg

MAX_ENGINE_ROUNDS = 10_000
EXPRESSION = re.compile(r"^\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")  # ${variable} in an assignee


class CaseRunner:
    """Runs one case at a time inside a unit of work; see the module docstring."""

    def __init__(self, *, serializer: CaseSerializer, definitions: DefinitionCache,
                 procedures: Mapping[str, Procedure], functions: Mapping[str, Callable], clock: Clock,
                 hooks: list[Callable], rule_set: Callable, services: ProcedureServices):
        self.serializer = serializer
        self.definitions = definitions
        self.procedures = procedures
        self.functions = functions
        self.clock = clock
        self.hooks = hooks  # shared with Engine.hooks: bootstrap registers them there
        self.rule_set = rule_set  # (session, key) -> RuleSet
        self.services = services

    # -- load ---------------------------------------------------------------------------------
    def lock(self, uow: UnitOfWork, case_id: int, incident: bool = False) -> Case:
        """The running case, locked for this unit of work (NotFound / AlreadyDone / CaseHasIncident
        otherwise); with ``incident`` also a case stopped by an incident (to retry or migrate it)."""
        case = uow.session.scalars(sa.select(Case).where(Case.id == case_id).with_for_update()).first()
        if case is None:
            raise NotFound(msg("case.not_found", "no such case"))
        if case.status == incidents.OPEN and not incident:
            raise CaseHasIncident(msg("case.has_incident", "the case is stopped by an incident; an analyst "
                                      "or administrator must retry it first"))
        if case.status not in ("running", incidents.OPEN):
            raise AlreadyDone(msg("case.ended", "the case has ended"))
        return case

    def bundle(self, session, case: Case) -> SpecBundle:
        """The parsed diagram the case runs on (parsed once per version, cached)."""
        return self.definitions.get(session, case.definition_id)

    def load(self, case: Case, bundle: SpecBundle) -> BpmnWorkflow:
        """The case's workflow, restored from its saved state."""
        return self.serializer.loads_state(case.state, bundle)

    def context(self, uow: UnitOfWork, case: Case | None, actor: Actor, workflow: BpmnWorkflow | None = None,
                data: dict | None = None, now: datetime | None = None) -> ScriptContext:
        """What procedure code receives during this unit of work."""
        rules = self.rule_set(uow.session, case.rule_set) if case is not None else None
        return ScriptContext(self.services, uow.session, case, actor, now or self.clock.now(), data, workflow,
                             rules, uow)

    def script_engine(self, uow: UnitOfWork, case: Case, actor: Actor, workflow: BpmnWorkflow,
                      data: dict | None = None) -> GovScriptEngine:
        """The restricted script engine, with the functions this case's diagram may call."""
        ctx = self.context(uow, case, actor, workflow, data)
        proc = self.procedures.get(case.process_id)
        functions = {**self.functions, **(proc.functions if proc else {})}
        return GovScriptEngine(self.clock, {**bind(functions, ctx), "rules": ctx.rules})

    # -- run ------------------------------------------------------------------------------------
    def catch_up_timers(self, uow: UnitOfWork, case: Case, workflow: BpmnWorkflow, actor: Actor) -> None:
        """Timers that fell due before this action fire first, as they would have on time."""
        workflow.script_engine = self.script_engine(uow, case, actor, workflow)
        with script_errors():
            run_until_quiet(workflow)

    def advance(self, uow: UnitOfWork, case: Case, workflow: BpmnWorkflow, bundle: SpecBundle,
                actor: Actor) -> None:
        """Run engine steps, check for stalls, project tasks, deadlines and periods, run the hooks,
        save: all inside the caller's transaction. A fault that is an incident (``engine.incidents``)
        stops the case where it happened and is saved with everything else; any other failure of
        the diagram's code raises ``ScriptError`` and the caller's transaction rolls back."""
        workflow.script_engine = self.script_engine(uow, case, actor, workflow)
        fault = None
        try:
            with script_errors():
                run_until_quiet(workflow)
        except (ScriptBudgetExceeded, CaseStalled) as exc:
            fault = exc
        except ScriptError as exc:
            if not actor.is_system:
                raise  # a person's action: refused, rolled back, shown to them
            fault = exc
        now = self.clock.now()
        tasks = list(all_tasks(workflow))  # one pass for the checks and projections below
        if fault is None and not workflow.is_completed():
            try:
                check_not_stalled(workflow, tasks)
            except CaseStalled as exc:
                fault = exc
        step = uow.step(case.id)
        new_case, step.new_case = step.new_case, False  # nothing in the database to read yet
        open_rows = project_tasks(uow, case, workflow, now, self, new_case, tasks)
        if deadlines.project(uow, case, workflow, actor, now, open_rows, new_case, tasks):
            uow.notify_deadlines = True  # sent with the audit chain's lock at commit
        self._periods_moved(uow, case, workflow, actor, now)
        for hook in self.hooks:
            hook(uow, case, workflow, actor, now)
        if fault is not None:
            incidents.open_incident(uow, case, workflow, fault, actor, now)
        elif workflow.is_completed() and case.status == "running":
            case.status, case.ended_at = "completed", now
            case.outcome = outcome_of(workflow)
            uow.record(audit.Entry(now, actor.username, "case_ended", case.id,
                                   summary={"outcome": case.outcome}))
        compact(workflow)  # long cases: finished history above the open work leaves the tree
        self.save(case, workflow, now, new_case)

    def save(self, case: Case, workflow: BpmnWorkflow, now: datetime, new_case: bool = False) -> None:
        case.state = self.serializer.dumps_state(workflow)
        case.serializer_version = SERIALIZER_VERSION
        case.updated_at = now
        if new_case:
            flag_modified(case, "number")

    def _periods_moved(self, uow: UnitOfWork, case: Case, workflow: BpmnWorkflow, actor: Actor, now) -> None:
        """Tell the procedure which of its periods a published year or an extension moved (e.g. the
        rectification's violation keeps the deadline of its notice in step)."""
        step = uow.step(case.id)
        moved, step.periods_moved = step.periods_moved, []
        proc = self.procedures.get(case.process_id)
        if not moved or proc is None or proc.period_moved is None:
            return
        ctx = self.context(uow, case, actor, workflow, now=now)
        for row in moved:
            proc.period_moved(ctx, row)

    def resolve_department(self, case: Case, role: str | None, spec, data: dict) -> str | None:
        """The department a user task belongs to: its ``department`` property (a case-data variable),
        else the procedure's ``resolve_department``."""
        expr = (spec.extensions or {}).get("properties", {}).get("department")
        if expr:
            value = data.get(expr) if expr.isidentifier() else None
            return str(value) if value is not None else None
        proc = self.procedures.get(case.process_id)
        if proc and proc.resolve_department and role:
            return proc.resolve_department(role, data)
        return None


@contextmanager
def script_errors(where: str | None = None):
    """Turn any failure inside diagram code into ScriptError (ScriptBudgetExceeded past a budget),
    naming the element; the caller decides between a rollback and an incident.

    SpiffWorkflow wraps most errors, but not all (building its own message can raise TypeError).
    Database errors and our own refusals pass through unchanged.
    """
    try:
        yield
    except (GovflowError, SQLAlchemyError):
        raise
    except Exception as exc:  # noqa: BLE001 - diagram code may raise anything
        database = _cause(exc, SQLAlchemyError)
        if database is not None:
            raise database from None  # the database failed, not the diagram: never an incident
        message = _script_message(exc)
        if where:
            message = msg("script.failed_at", "{step}: {error}", step=where, error=message)
        budget = _budget_cause(exc)
        if budget is not None:
            error = ScriptBudgetExceeded(_budget_message(exc, budget))
            error.budget_kind = budget.kind
        else:
            error = ScriptError(message)
        task = getattr(exc, "task", None)
        if task is not None:
            error.element_id, error.element_name = task.task_spec.bpmn_id, task.task_spec.bpmn_name
        raise error from None


def _budget_cause(exc: BaseException) -> BudgetExceeded | None:
    """The budget overrun behind ``exc``, however SpiffWorkflow wrapped it."""
    return _cause(exc, BudgetExceeded)


def _cause(exc: BaseException, kind: type):
    """The exception of ``kind`` behind ``exc`` (itself, its wrapped exception, cause or context)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = getattr(exc, "exception", None) or exc.__cause__ or exc.__context__
    return None


BUDGET_TEXTS = {
    "cpu": msg("script.budget_cpu", "it used more CPU time than allowed"),
    "wall": msg("script.budget_wall", "it ran longer than allowed"),
    "memory": msg("script.budget_memory", "it needed more memory than allowed"),
    "size": msg("script.budget_size", "its result is too large"),
    "crash": msg("script.budget_crash", "its process ended unexpectedly"),
}


def _budget_message(exc: Exception, budget: BudgetExceeded) -> Message:
    task = getattr(exc, "task", None)
    where = f"{task.task_spec.bpmn_name or task.task_spec.bpmn_id}: " if task is not None else ""
    return msg("script.budget", "the diagram's code ran past its budget: {where}{error}", where=where,
               error=BUDGET_TEXTS.get(budget.kind, str(budget)))


def _script_message(exc: Exception) -> Message:
    task = getattr(exc, "task", None)
    where = f"{task.task_spec.bpmn_name or task.task_spec.bpmn_id}: " if task is not None else ""
    return msg("script.error", "script error {where}{error}", where=where, error=str(exc))


def outcome_of(workflow: BpmnWorkflow) -> str | None:
    """The case's outcome: the ``outcome`` variable, else the ``outcome`` property of the end event
    reached last that has one (a reminder branch's plain end event does not count)."""
    outcome = workflow.data.get("outcome")
    if outcome is None:
        ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
                if t.task_spec.__class__.__name__ == "EndEvent"
                and (t.task_spec.extensions or {}).get("properties", {}).get("outcome")]
        if ends:
            last = max(ends, key=lambda t: t.last_state_change)
            outcome = last.task_spec.extensions["properties"]["outcome"]
    return str(outcome)[:100] if outcome is not None else None


def run_until_quiet(workflow: BpmnWorkflow) -> None:
    """Fire due timers and run engine tasks until only user tasks and future timers remain."""
    workflow.refresh_timers()
    for _ in range(MAX_ENGINE_ROUNDS):
        workflow.do_engine_steps()  # ends with refresh_timers(): a timer may have just become ready
        if workflow.get_next_task(state=TaskState.READY, manual=False) is None:
            return
    raise CaseStalled(msg("case.loops", "the case loops in engine steps without waiting"))


def check_not_stalled(workflow: BpmnWorkflow, tasks: list | None = None) -> None:
    """A running case must have a ready user task or a waiting timer: nothing else can move it on.

    Our product sends no BPMN messages or signals, so a case left waiting only for one (a message
    catch event, an event subprocess with a message start, a receive task) can never go on."""
    for task in (tasks if tasks is not None else all_tasks(workflow)):
        if task.state == TaskState.READY and task.task_spec.manual:
            return
        if task.state == TaskState.WAITING and _waits_for_time(task.task_spec):
            return
    raise CaseStalled(msg("case.stalled", "the case cannot continue: nothing is ready or waiting"))


def _waits_for_time(spec) -> bool:
    definition = getattr(spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        return True
    children = getattr(definition, "event_definitions", None) or ()  # a multiple event
    return any(isinstance(d, TimerEventDefinition) for d in children)


def project_tasks(uow: UnitOfWork, case: Case, workflow: BpmnWorkflow, now: datetime, runner: CaseRunner,
                  new_case: bool = False, tasks: list | None = None) -> dict[str, HumanTask]:
    """Keep the human-task table equal to the workflow's ready user tasks (same transaction).

    Return the case's open rows by id (new ones are written with everything else at commit); they
    are also kept for the rest of the unit of work (the case's ``Step.open_tasks``).
    """
    ready = {str(t.id): t for t in (tasks if tasks is not None else all_tasks(workflow))
             if t.state == TaskState.READY and t.task_spec.manual}
    step = uow.step(case.id)
    open_rows = step.open_tasks
    if open_rows is None:
        open_rows = {} if new_case else {r.id: r for r in uow.session.scalars(
            sa.select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.state == "ready"))}
    completing = step.completing
    for task_id, row in list(open_rows.items()):
        if task_id in ready:
            continue
        task = task_or_none(workflow, task_id)
        row.state = "completed" if task is not None and task.state == TaskState.COMPLETED else "cancelled"
        row.completed_at = row.completed_at or now
        if task_id in completing:
            row.completed_by, row.completed_at = completing.pop(task_id)
        if row.state == "cancelled":
            uow.record(audit.Entry(now, "system:engine", "task_cancelled", case.id, task_id))
        del open_rows[task_id]
    for task_id, task in ready.items():
        if task_id not in open_rows:
            row = open_rows[task_id] = _new_row(case, task, now, runner)
            uow.session.add(row)
            uow.record(audit.Entry(now, "system:engine", "task_created", case.id, task_id,
                                   summary={"task": task.task_spec.bpmn_id}))
    step.open_tasks = open_rows
    return open_rows


def task_or_none(workflow: BpmnWorkflow, task_id: str):
    """The task, or None when it left the tree (e.g. instances an interrupting timer dropped)."""
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        return None


def _expand(value: str | None, task) -> str | None:
    """A Camunda assignee or candidate user/group as the task is created: ``=<python>`` (a JUEL
    expression translated at deploy time by engine.camunda) is evaluated by the case's script engine
    against the task's data; ``${variable}`` (versions deployed before the translation) is the data's
    value; anything else is literal."""
    if value is None:
        return None
    if value.startswith(EXPRESSION_PREFIX):
        found = task.workflow.script_engine.evaluate(task, value[len(EXPRESSION_PREFIX):])
        return str(found) if found not in (None, "") else None
    match = EXPRESSION.match(value)
    if match:
        found = task.data.get(match.group(1))
        return str(found) if found is not None else None
    return value


def _expand_all(values, task) -> list[str]:
    out: list[str] = []
    for value in values or ():
        if value.startswith(EXPRESSION_PREFIX):
            found = task.workflow.script_engine.evaluate(task, value[len(EXPRESSION_PREFIX):])
            items = found if isinstance(found, (list, tuple, set)) else str(found or "").split(",")
            out.extend(str(i).strip() for i in items if str(i).strip())
        else:
            expanded = _expand(value, task)
            if expanded:
                out.append(expanded)
    return out


def _new_row(case: Case, task, now: datetime, runner: CaseRunner) -> HumanTask:
    spec = task.task_spec
    ext = spec.extensions or {}
    groups = _expand_all(ext.get("candidate_groups"), task) or ([spec.lane] if spec.lane else [])
    users = _expand_all(ext.get("candidate_users", []), task)
    role = groups[0] if groups else None
    row = HumanTask(id=str(task.id), case_id=case.id, process_id=case.process_id,
                    definition_id=case.definition_id, element_id=spec.bpmn_id,
                    name=(spec.bpmn_name or spec.bpmn_id)[:500], role=role,
                    department=runner.resolve_department(case, role, spec, task.data),
                    assignee=_expand(ext.get("assignee"), task), state="ready", created_at=now)
    row.offer(groups, users)
    return row
