"""A dry run (试运行) of a diagram: walk its paths in memory with sample data, without a case.

``dry_run(engine, xml, actor, sample)`` parses the diagram as a deployment would, then runs a
SpiffWorkflow ``BpmnWorkflow`` in memory on a ``FrozenClock`` (the next working Monday, 09:00
Beijing time) with the engine's restricted script engine. It writes nothing: the database is read
once (the working-day calendar, the after-hours policy and the rule set in force).

At each choice it branches (docs/dryrun.md):

* a ready user task is completed once per combination of the values that decide a gateway (the
  options of its enum fields, booleans, the constants conditions compare the field with);
* a waiting timer may fire instead: the clock moves to its due instant;
* variables of the start data that conditions compare with constants start one variant each.

Paths are explored cheapest first (each timer fired instead of a person acting costs one), a
decision already taken on a path is not taken again (a send-back loop is walked once), and paths
with the same sequence of steps are one. The procedure's functions run where they need no database;
the others are stand-ins: period and deadline functions compute on the real calendar, a function
that would write a record returns ``"dryrun:<name>"``.
"""
from __future__ import annotations

import ast
import heapq
import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Callable

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from . import definitions, deadlines, forms, rules as rules_module
from .calendar import BEIJING
from .calendar_store import after_hours_policy
from .clock import FrozenClock
from .errors import CaseStalled, DefinitionError, GovflowError, ScriptError
from .messages import Message, msg
from .procedures import bind
from .runner import check_not_stalled, outcome_of, run_until_quiet, script_errors
from .spiff.parser import UnsafeXml, parse_xml_safely, timer_expression
from .spiff.sandbox import BudgetExceeded
from .spiff.script import SAFE_BUILTINS, GovScriptEngine
from .spiff.tasks import all_tasks
from .spiff.timers import due_instant
from .uow import Actor

NS = definitions.NS
BPMN = "{%s}" % definitions.BPMN_NS
MAX_COMBINATIONS = 16  # value combinations tried per user task
EXPANSIONS_PER_PATH = 40  # states explored at most, per path asked for
PLACEHOLDER_TEXT = "试运行"


@dataclass
class DryStep:
    element_id: str
    name: str | None
    kind: str  # the BPMN tag: userTask, scriptTask, exclusiveGateway, boundaryEvent, endEvent, ...
    at: str  # the dry clock's instant when it happened (ISO)
    role: str | None = None  # user task: its first candidate group
    candidates: list[str] = field(default_factory=list)
    assignee: str | None = None
    data: dict = field(default_factory=dict)  # user task: the sample values it was completed with
    deadlines: list[dict] = field(default_factory=list)  # user task: the timers watching it
    due: str | None = None  # timer: its due instant (ISO)
    working_days: bool = False  # timer: a working-day deadline (workdays, period_due, ...)
    provisional: bool = False
    fired: bool = False  # timer: it fell due on this path
    flow_id: str | None = None  # gateway: the flow taken
    condition: str | None = None  # gateway: its condition ("" for the default flow)
    target_id: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], {}, False) or k in ("element_id", "kind")}


@dataclass
class DryPath:
    steps: list[DryStep]
    end_id: str | None = None
    end_name: str | None = None
    outcome: str | None = None
    problems: list[Message] = field(default_factory=list)
    timers_fired: int = 0

    @property
    def element_ids(self) -> list[str]:
        return [s.element_id for s in self.steps]

    @property
    def flow_ids(self) -> list[str]:
        return [s.flow_id for s in self.steps if s.flow_id]

    def as_dict(self, render: Callable[[Any], str] = str) -> dict:
        return {"steps": [s.as_dict() for s in self.steps], "elements": self.element_ids, "flows": self.flow_ids,
                "end_id": self.end_id, "end_name": self.end_name, "outcome": self.outcome,
                "timers_fired": self.timers_fired, "problems": [render(p) for p in self.problems],
                "deadlines": self.deadlines()}

    def deadlines(self) -> list[dict]:
        """Every deadline the path meets, once: the timers watching its user tasks and those that fired."""
        found: dict[tuple, dict] = {}
        for s in self.steps:
            for d in s.deadlines:
                found.setdefault((d["element_id"], d["due"]), {**d, "task_id": s.element_id, "fired": False})
            if s.due:
                found[(s.element_id, s.due)] = {"element_id": s.element_id, "name": s.name, "due": s.due,
                                                "working_days": s.working_days, "provisional": s.provisional,
                                                "fired": True}
        return list(found.values())


@dataclass
class DryRun:
    process_id: str | None
    name: str | None
    started_at: str | None
    paths: list[DryPath] = field(default_factory=list)
    problems: list[Message] = field(default_factory=list)  # the diagram could not be run at all
    truncated: bool = False  # more paths than max_paths (or the exploration's own bound)
    stand_ins: list[str] = field(default_factory=list)  # functions that answered with a stand-in

    def as_dict(self, render: Callable[[Any], str] = str) -> dict:
        return {"process_id": self.process_id, "name": self.name, "started_at": self.started_at,
                "truncated": self.truncated, "stand_ins": self.stand_ins,
                "problems": [render(p) for p in self.problems],
                "paths": [p.as_dict(render) for p in self.paths]}


# -- the diagram as XML: kinds, flows, conditions ------------------------------------------------

@dataclass
class _Diagram:
    kinds: dict[str, str]
    names: dict[str, str | None]
    flows: dict[tuple[str, str], tuple[str, str]]  # (source, target) -> (flow id, condition text)
    conditions: list[str]
    timer_calls: set[str]
    script_assigned: set[str]
    free_names: set[str]
    compared: dict[str, list]  # name -> the constants conditions compare it with


def _read_diagram(root) -> _Diagram:
    process = root.xpath("./bpmn:process[@isExecutable='true']", namespaces=NS)[0]
    kinds, names = {}, {}
    for node in process.iter():
        if isinstance(node.tag, str) and node.tag.startswith(BPMN) and node.get("id"):
            kinds[node.get("id")] = node.tag[len(BPMN):]
            names[node.get("id")] = node.get("name")
    flows, conditions = {}, []
    for flow in process.iter(BPMN + "sequenceFlow"):
        cond = flow.find(BPMN + "conditionExpression")
        text = (cond.text or "").strip() if cond is not None else ""
        flows[(flow.get("sourceRef"), flow.get("targetRef"))] = (flow.get("id"), text)
        if text:
            conditions.append(text)
    timer_calls: set[str] = set()
    loads: set[str] = set()
    assigned: set[str] = set()
    compared: dict[str, list] = {}
    for node in process.xpath(".//bpmn:timeDate | .//bpmn:timeDuration", namespaces=NS):
        try:
            tree = ast.parse(timer_expression(node.text), mode="eval")
        except (ValueError, SyntaxError):
            continue
        timer_calls |= {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        _names(tree, loads, assigned)
    for node in process.xpath(".//bpmn:script", namespaces=NS):
        try:
            _names(ast.parse((node.text or "").strip(), mode="exec"), loads, assigned)
        except (SyntaxError, ValueError):
            continue
    for text in conditions:
        try:
            tree = ast.parse(text, mode="eval")
        except (SyntaxError, ValueError):
            continue
        _names(tree, loads, assigned)
        for found, constants in _comparisons(tree):
            known = compared.setdefault(found, [])
            known.extend(c for c in constants if c not in known)
    return _Diagram(kinds, names, flows, conditions, timer_calls, assigned, loads - assigned, compared)


def _names(tree, loads: set, assigned: set) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else assigned).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.Lambda)):
            args = node.args
            assigned.update(a.arg for a in args.args + args.kwonlyargs)


def _comparisons(tree):
    """(name, constants) for each ``name == "c"``, ``name != "c"``, ``name in ("a", "b")``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            continue
        left, right = node.left, node.comparators[0]
        if isinstance(right, ast.Name) and isinstance(left, ast.Constant):
            left, right = right, left
        if not isinstance(left, ast.Name):
            continue
        if isinstance(right, ast.Constant):
            yield left.id, [right.value]
        elif isinstance(right, (ast.Tuple, ast.List, ast.Set)):
            yield left.id, [e.value for e in right.elts if isinstance(e, ast.Constant)]


# -- the functions diagrams call, without a database ---------------------------------------------

class _DryServices:
    """``ProcedureServices`` for a dry run: the calendar and policy read once; nothing is started."""

    def __init__(self, engine, calendar, policy: str):
        self._engine, self._calendar, self._policy = engine, calendar, policy
        self.clock = None

    def calendar(self, _session):
        return self._calendar

    def after_hours_policy(self, _session) -> str:
        return self._policy

    def receipt(self, _session, instant):
        return self._calendar.receipt(instant, self._policy)

    def receipt_date(self, session, instant):
        return self.receipt(session, instant).date

    def periods_of(self, process_id: str):
        proc = self._engine.procedures.get(process_id)
        return proc.periods if proc is not None else {}

    def start_case_in(self, *_args, **_kwargs):
        raise GovflowError(msg("dryrun.no_cases", "a dry run starts no cases"))


class _DryCase:
    def __init__(self, process_id: str, rule_set: str | None):
        self.id, self.process_id, self.rule_set, self.number, self.status = None, process_id, rule_set, "DRYRUN", "running"


class _DryContext:
    """What a diagram function receives in a dry run (``ScriptContext``'s attributes, no session)."""

    def __init__(self, services, case, actor, clock, rules):
        self.engine = services
        self.session = None
        self.case = case
        self.actor = actor
        self.clock = clock
        self.task_data = None
        self.workflow = None
        self.rules = rules
        self.uow = None
        self.opened: dict[str, int] = {}  # period name -> periods opened on this path
        self.stand_ins: set[str] = set()

    @property
    def services(self):
        return self.engine

    @property
    def now(self) -> datetime:
        return self.clock.now()


def _period(ctx: _DryContext, name, start=None, days=None, before=None, reminder: bool = False):
    """``period_due`` / ``period_reminder`` on the path: the period of that name that a waiting
    timer watches, else a new one (day 0: ``start`` for the first, the receipt of now for a restart)."""
    spec = ctx.services.periods_of(ctx.case.process_id).get(name)
    if spec is None:
        raise GovflowError(msg("period.undeclared", "the procedure declares no period {name!r}", name=name))
    found = None
    for timer in ctx.workflow.get_tasks(state=TaskState.WAITING) if ctx.workflow is not None else ():
        meta = timer._get_internal_data("deadline") or {}
        if meta.get("period") == name:
            found = meta
            break
    calendar = ctx.services.calendar(None)
    if found is not None:
        day0, n, extra, provisional = date.fromisoformat(found["start"]), int(found["n"]), \
            deadlines.extra_of(found), bool(found.get("received_at")) and bool(found.get("provisional"))
    else:
        seq = ctx.opened.get(name, 0) + 1
        ctx.opened[name] = seq
        restart = seq > 1
        rule = (spec.restart_rule or spec.rule) if restart else spec.rule
        if days is None or (restart and spec.restart_rule):
            periods = ctx.rules.periods if ctx.rules is not None else {}
            if rule not in periods:
                raise GovflowError(msg("dryrun.no_rule", "no rule set in force gives the period {rule!r}", rule=rule))
            days = periods[rule]
        n = deadlines._count(days)
        day0, kept, provisional = deadlines.start_of(ctx, None if restart else start)
        extra = {"period": name, "seq": seq, **kept}
    return deadlines.compute(calendar, day0, n, deadlines.reminder_days(ctx, before) if reminder else 0, extra,
                             provisional)


def _period_due(ctx, name, start=None, days=None):
    return _period(ctx, name, start, days)


def _period_reminder(ctx, name, start=None, days=None, before=None):
    return _period(ctx, name, start, days, before, reminder=True)


def _stand_in(name: str, fn: Callable | None, timer: bool) -> Callable:
    """The function itself where it runs without a database; else a plausible answer: a timer's
    deadline 5 working days after now, or ``"dryrun:<name>"`` for a record written."""
    def call(ctx, *args, **kwargs):
        if fn is not None:
            try:
                return fn(ctx, *args, **kwargs)
            except BudgetExceeded:
                raise
            except Exception:  # noqa: BLE001 - it needed what a dry run does not have
                pass
        ctx.stand_ins.add(name)
        if timer:
            day0, extra, provisional = deadlines.start_of(ctx, None)
            return deadlines.compute(ctx.services.calendar(None), day0, 5, 0, {"stand_in": name, **extra},
                                     provisional)
        return f"dryrun:{name}"
    call.__name__ = name
    return call


def _functions(engine, process_id: str, diagram: _Diagram) -> dict[str, Callable]:
    proc = engine.procedures.get(process_id)
    found: dict[str, Callable] = {}
    for name, fn in {**engine.engine_functions, **(proc.functions if proc else {})}.items():
        if fn in (deadlines.workdays, deadlines.remind_before):
            found[name] = fn  # pure on the dry services: the real calendar
        elif fn is deadlines.extend_deadline:
            found[name] = _stand_in(name, None, False)
        else:
            found[name] = _stand_in(name, fn, name in diagram.timer_calls)
    if "period_due" in found:
        found["period_due"] = _period_due
    if "period_reminder" in found:
        found["period_reminder"] = _period_reminder
    return found


# -- exploring -------------------------------------------------------------------------------------

@dataclass(order=True)
class _State:
    cost: int
    seq: int
    state: str = field(compare=False)  # the serialized workflow
    now: datetime = field(compare=False)
    steps: list = field(compare=False)
    recorded: frozenset = field(compare=False)
    taken: frozenset = field(compare=False)  # (element id, choice) decisions taken on this path
    opened: dict = field(compare=False)
    fired: int = field(compare=False, default=0)


def first_working_monday(calendar, after: datetime) -> datetime:
    """09:00 Beijing time of the first Monday after ``after`` that is a working day."""
    day = after.astimezone(BEIJING).date() + timedelta(days=1)
    for _ in range(400):
        if day.weekday() == 0 and _working(calendar, day):
            break
        day += timedelta(days=1)
    return datetime.combine(day, time(9, 0), tzinfo=BEIJING)


def _working(calendar, day: date) -> bool:
    try:
        return calendar.is_working_day(day)
    except Exception:  # noqa: BLE001 - an unpublished year: Monday-Friday
        return day.weekday() < 5


def dry_run(engine, xml: bytes | str, actor: Actor, sample: dict | None = None, max_paths: int = 32,
            max_steps: int = 200) -> DryRun:
    """Walk the diagram's paths; see the module docstring. Never writes to the database."""
    raw = definitions.normalise(xml)
    try:
        root = parse_xml_safely(raw)
        process_id, name = definitions._top_process(root)
        parsed = definitions.parse_diagram(raw, engine.allowed_calls(process_id))
    except UnsafeXml as exc:
        return DryRun(None, None, None, problems=[msg("dryrun.unreadable", "the diagram cannot be read: {error}",
                                                      error=str(exc))])
    except DefinitionError as exc:
        where = exc.element_name or exc.element_id
        problem = exc.args[0] if not where else msg("dryrun.at_element", "{element}: {error}", element=where,
                                                     error=exc.args[0])
        return DryRun(None, None, None, problems=[problem])
    diagram = _read_diagram(root)
    with engine.uow(read_only=True) as uow:
        calendar = engine.calendar(uow.session)
        policy = after_hours_policy(uow.session, engine.config.after_hours_policy)
        started = first_working_monday(calendar, engine.clock.now())
        try:
            rule_set = rules_module.in_force(uow.session, started.date())
        except GovflowError:
            rule_set = None
    clock = FrozenClock(started)
    services = _DryServices(engine, calendar, policy)
    ctx = _DryContext(services, _DryCase(process_id, rule_set.key if rule_set else None), actor, clock, rule_set)
    functions = _functions(engine, process_id, diagram)
    script_engine = GovScriptEngine(clock, {**bind(functions, ctx), "rules": rule_set})
    explorer = _Explorer(engine.serializer, parsed.bundle, diagram, script_engine, ctx, clock, max_paths, max_steps)
    result = DryRun(process_id, parsed.name or name, started.isoformat())
    fields = {f.id for spec in [parsed.bundle.spec, *parsed.bundle.subprocess_specs.values()]
              for task_spec in spec.task_specs.values()
              for f in forms.fields_from_extensions(getattr(task_spec, "extensions", None) or {})}
    for data in _start_variants(engine, process_id, diagram, actor, sample or {}, clock, max_paths, fields):
        workflow = BpmnWorkflow(parsed.bundle.spec, parsed.bundle.subprocess_specs)
        workflow.data.update(data)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(workflow.data)
        explorer.push(workflow, 0, started, [], frozenset(), frozenset(), {}, 0)
    explorer.run()
    result.paths, result.truncated = explorer.paths, explorer.truncated
    result.stand_ins = sorted(ctx.stand_ins)
    return result


def _start_variants(engine, process_id, diagram: _Diagram, actor: Actor, sample: dict, clock, max_paths: int,
                    fields: set[str]):
    """The start data: the sample, the procedure's start form with placeholders, every other name
    the diagram reads as None; one variant per constant a condition compares a start variable with."""
    data: dict[str, Any] = {name: None for name in diagram.free_names
                            if name not in SAFE_BUILTINS and name != "rules"}
    proc = engine.procedures.get(process_id)
    for f in (proc.start_form if proc else ()):
        data[f.id] = _placeholder(forms.FormField.from_dict(f) if isinstance(f, dict) else f, clock)
    data.update({"initiator": actor.username, "initiator_department": actor.department,
                 "case_number": "DRYRUN", "case_id": None})
    for key in list(data):
        if key in engine.allowed_calls(process_id):
            del data[key]
    data.update(sample)
    varying = [n for n in sorted(diagram.compared) if n not in sample and n not in fields
               and n not in diagram.script_assigned]
    choices = [[*diagram.compared[n], None] for n in varying]
    for combination in itertools.islice(itertools.product(*choices), max_paths):
        yield {**data, **dict(zip(varying, combination))}


def _placeholder(f: forms.FormField, clock) -> Any:
    if f.default not in (None, ""):
        return f.default
    if f.type == "enum":
        return f.options[0].id if f.options else None
    if f.type == "boolean":
        return False
    if f.type == "long":
        return 1
    if f.type == "date":
        return clock.now().astimezone(BEIJING).date().isoformat()
    return PLACEHOLDER_TEXT


class _Explorer:
    def __init__(self, serializer, bundle, diagram: _Diagram, script_engine, ctx: _DryContext, clock: FrozenClock,
                 max_paths: int, max_steps: int):
        self.serializer, self.bundle, self.diagram = serializer, bundle, diagram
        self.script_engine, self.ctx, self.clock = script_engine, ctx, clock
        self.max_paths, self.max_steps = max_paths, max_steps
        self.queue: list[_State] = []
        self.counter = itertools.count()
        self.paths: list[DryPath] = []
        self.seen: set[tuple] = set()
        self.truncated = False

    def push(self, workflow, cost, now, steps, recorded, taken, opened, fired) -> None:
        heapq.heappush(self.queue, _State(cost, next(self.counter), self.serializer.dumps_state(workflow), now,
                                          steps, recorded, taken, dict(opened), fired))

    def run(self) -> None:
        budget = EXPANSIONS_PER_PATH * self.max_paths
        while self.queue:
            if len(self.paths) >= self.max_paths or budget <= 0:
                self.truncated = True
                return
            budget -= 1
            self.expand(heapq.heappop(self.queue))

    def _restore(self, state: _State) -> BpmnWorkflow:
        workflow = self.serializer.loads_state(state.state, self.bundle)
        workflow.script_engine = self.script_engine
        self.clock.set(state.now)
        self.ctx.workflow, self.ctx.opened = workflow, dict(state.opened)
        return workflow

    def expand(self, state: _State) -> None:
        workflow = self._restore(state)
        steps, recorded = list(state.steps), set(state.recorded)
        problem = None
        try:
            with script_errors():
                run_until_quiet(workflow)
        except (ScriptError, CaseStalled) as exc:
            problem = exc.args[0] if exc.args else msg("dryrun.failed", "the diagram's code failed")
        except GovflowError as exc:
            problem = exc.args[0] if exc.args else str(exc)
        self._record(workflow, steps, recorded)
        if problem is not None:
            return self.finish(workflow, steps, [problem], state.fired)
        if workflow.is_completed():
            return self.finish(workflow, steps, [], state.fired)
        if len(steps) > self.max_steps:
            return self.finish(workflow, steps, [msg("dryrun.too_long", "the path goes on past {max} steps (a loop?)",
                                                     max=self.max_steps)], state.fired)
        try:
            check_not_stalled(workflow)
        except CaseStalled as exc:
            return self.finish(workflow, steps, [exc.args[0]], state.fired)
        ready = [t for t in all_tasks(workflow) if t.state == TaskState.READY and t.task_spec.manual]
        timers = sorted((t for t in all_tasks(workflow) if t.state == TaskState.WAITING and deadlines.is_timer(t)
                         and t._get_internal_data("event_value")),
                        key=lambda t: due_instant(t._get_internal_data("event_value")))
        children = 0
        here = _State(state.cost, state.seq, self.serializer.dumps_state(workflow), state.now, steps,
                      frozenset(recorded), state.taken, dict(self.ctx.opened), state.fired)
        if ready:
            task = ready[0]
            for data in self._combinations(task, workflow):
                key = (task.task_spec.bpmn_id, tuple(sorted((k, repr(v)) for k, v in data.items())))
                if key in state.taken:
                    continue
                children += self._complete(here, task, data, key)
        if timers:
            self._fire(here, timers[0], cost=1 if ready else 0)
            children += 1
        if not children:
            self.finish(workflow, steps, [msg("dryrun.loop", "every choice left here was already taken on this path "
                                                                "(a loop)")], state.fired)

    def _combinations(self, task, workflow) -> list[dict]:
        fields = forms.fields_from_extensions(task.task_spec.extensions)
        varying, fixed = [], {}
        for f in fields:
            if f.readonly:
                continue
            values = self._values(f)
            if f.id in self.diagram.compared or f.id in self.diagram.free_names and len(values) > 1:
                varying.append((f.id, values))
            else:
                fixed[f.id] = task.data.get(f.id) if task.data.get(f.id) is not None else _placeholder(f, self.clock)
        combos = itertools.product(*[values for _, values in varying])
        return [{**fixed, **dict(zip([n for n, _ in varying], combo))}
                for combo in itertools.islice(combos, MAX_COMBINATIONS)]

    def _values(self, f: forms.FormField) -> list:
        if f.type == "enum" and f.options:
            return [o.id for o in f.options]
        if f.type == "boolean":
            return [True, False]
        constants = [c for c in self.diagram.compared.get(f.id, []) if c is not None]
        if constants:
            return [*constants, _placeholder(f, self.clock)]
        return [_placeholder(f, self.clock)]

    def _complete(self, state: _State, task, data: dict, key) -> int:
        workflow = self._restore(state)
        task = workflow.get_task_from_id(task.id)
        spec, ext = task.task_spec, task.task_spec.extensions or {}
        groups = list(ext.get("candidate_groups") or ([spec.lane] if spec.lane else []))
        step = DryStep(spec.bpmn_id, spec.bpmn_name, self.diagram.kinds.get(spec.bpmn_id, "userTask"),
                       self.clock.now().astimezone(BEIJING).isoformat(), role=groups[0] if groups else None,
                       candidates=groups + list(ext.get("candidate_users") or []), assignee=ext.get("assignee"),
                       data={k: v for k, v in data.items() if k in self.diagram.compared},
                       deadlines=self._watching(workflow, spec.bpmn_id))
        task.set_data(**data)
        task.run()
        self.push(workflow, state.cost, state.now, [*state.steps, step], state.recorded | {task.id},
                  state.taken | {key}, self.ctx.opened, state.fired)
        return 1

    def _watching(self, workflow, element_id: str) -> list[dict]:
        found = []
        for timer in deadlines.attached_timers(workflow, element_id):
            value = timer._get_internal_data("event_value")
            meta = timer._get_internal_data("deadline") or {}
            found.append({"element_id": timer.task_spec.bpmn_id, "name": timer.task_spec.bpmn_name,
                          "due": due_instant(value).astimezone(BEIJING).isoformat() if value else None,
                          "kind": deadlines.timer_kind(timer), "working_days": bool(meta),
                          "provisional": bool(meta.get("provisional"))})
        return found

    def _fire(self, state: _State, timer, cost: int) -> None:
        due = due_instant(timer._get_internal_data("event_value"))
        heapq.heappush(self.queue, _State(state.cost + cost, next(self.counter), state.state, max(due, state.now),
                                          state.steps, state.recorded, state.taken, dict(state.opened),
                                          state.fired + 1))

    def _record(self, workflow, steps: list, recorded: set) -> None:
        done = [t for t in all_tasks(workflow) if t.state == TaskState.COMPLETED and t.id not in recorded
                and getattr(t.task_spec, "bpmn_id", None) in self.diagram.kinds]
        done.sort(key=lambda t: t.last_state_change)
        for task in done:
            recorded.add(task.id)
            steps.append(self._step(task))
        # the timers that fell due are recorded above; those the path left waiting are in user task steps

    def _step(self, task) -> DryStep:
        spec = task.task_spec
        kind = self.diagram.kinds.get(spec.bpmn_id, "task")
        step = DryStep(spec.bpmn_id, spec.bpmn_name, kind, self.clock.now().astimezone(BEIJING).isoformat())
        if deadlines.is_timer(task):
            value = task._get_internal_data("event_value")
            meta = task._get_internal_data("deadline") or {}
            step.due = due_instant(value).astimezone(BEIJING).isoformat() if value else None
            step.working_days, step.provisional, step.fired = bool(meta), bool(meta.get("provisional")), True
        if kind in ("exclusiveGateway", "inclusiveGateway", "eventBasedGateway"):
            todo = [c for c in task.children if c.state != TaskState.CANCELLED]
            for child in todo:  # a target with boundary events is behind a split without an id
                target = getattr(child.task_spec, "bpmn_id", None)
                flow = self.diagram.flows.get((spec.bpmn_id, target))
                if flow is not None:
                    step.flow_id, step.condition, step.target_id = flow[0], flow[1], target
                    break
                if target is None and len(todo) < 20:
                    todo.extend(c for c in child.children if c.state != TaskState.CANCELLED)
        return step

    def finish(self, workflow, steps: list[DryStep], problems: list, fired: int) -> None:
        key = tuple((s.element_id, s.flow_id) for s in steps)
        if key in self.seen:
            return
        self.seen.add(key)
        path = DryPath(steps, problems=[p if isinstance(p, Message) else str(p) for p in problems],
                       timers_fired=fired)
        ends = [s for s in steps if s.kind == "endEvent"]
        if workflow.is_completed():
            path.outcome = outcome_of(workflow)
            with_outcome = [s for s in ends if self._end_outcome(workflow, s.element_id)]
            last = (with_outcome or ends or [None])[-1]
            if last is not None:
                path.end_id, path.end_name = last.element_id, last.name
        self.paths.append(path)

    @staticmethod
    def _end_outcome(workflow, element_id: str) -> str | None:
        for spec in workflow.spec.task_specs.values():
            if getattr(spec, "bpmn_id", None) == element_id:
                return (spec.extensions or {}).get("properties", {}).get("outcome")
        return None
