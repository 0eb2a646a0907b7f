"""The engine's service layer: verbs over plain arguments, each one unit of work."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from . import audit, audit_keys, deadlines, definitions, eligibility, forms, periods, returns, rules, supervision
from . import inbox as inbox_queries
from .calendar import BEIJING, WorkingDayCalendar
from .calendar_store import CalendarCache, after_hours_policy
from .case_diagram import CaseDiagram, diagram_of, element_names
from .clock import Clock
from .config import Config
from .definitions import DefinitionCache
from .domain import comments, notifications, org, throttle, urges, violations
from .errors import AlreadyDone, CaseHasIncident, GovflowError, NotFound, PermissionDenied
from .models import Case, HumanTask
from .procedures import Procedure, ProcedureServices, ScriptContext
from .runner import CaseRunner, script_errors, task_or_none
from .spiff.serializer import SERIALIZER_VERSION, CaseSerializer, SpecBundle
from .uow import Actor, UnitOfWork
from .messages import msg

START_FORM = "__start__"  # the element id form_options() receives for a procedure's start form
CASE_READERS = frozenset({"authority"})  # the data authority supervises every case (art. 4)


@dataclass(frozen=True)
class DeployResult:
    definition_id: int
    process_id: str
    version: int
    created: bool


@dataclass(frozen=True)
class TaskView:
    id: str
    case_id: int
    case_number: str
    process_id: str
    element_id: str
    name: str
    state: str
    assignee: str | None
    role: str | None
    department: str | None
    fields: list[forms.FormField]
    data: dict


class Engine:
    """Assembled by ``engine.bootstrap.build_engine``; web and worker share one construction."""

    def __init__(self, config: Config, session_factory, clock: Clock,
                 procedures: Mapping[str, Procedure], engine_functions: Mapping[str, Callable] | None = None):
        self.config = config
        self.session_factory = session_factory
        self.audit_keys = audit_keys.from_config(config)  # the audit chain's keys, outside the database
        self._clock = clock
        self.procedures = dict(procedures)
        self.engine_functions = dict({**deadlines.DIAGRAM_FUNCTIONS, **periods.DIAGRAM_FUNCTIONS}
                                     if engine_functions is None else engine_functions)
        self.serializer = CaseSerializer()
        self.definitions = DefinitionCache(self.serializer)
        self.calendars = CalendarCache()
        self._rule_sets: dict[str, rules.RuleSet] = {}
        self.hooks: list[Callable] = []  # extra steps after each run, before commit
        self.services = ProcedureServices(self)  # what procedure code may use of the engine
        self.runner = CaseRunner(serializer=self.serializer, definitions=self.definitions,
                                 procedures=self.procedures, functions=self.engine_functions, clock=clock,
                                 hooks=self.hooks, rule_set=self.rule_set, services=self.services)

    @property
    def clock(self) -> Clock:
        return self._clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        """A new clock (a test's, a benchmark's) reaches the case runner too."""
        self._clock = clock
        if hasattr(self, "runner"):
            self.runner.clock = clock

    def calendar(self, session) -> WorkingDayCalendar:
        """The working-day calendar: package data merged with administrators' overrides."""
        return self.calendars.get(session)

    def receipt_date(self, session, instant: datetime):
        """Day 0 of a period received at ``instant``, under the deployment's after-hours policy
        (provisional where it needs an unpublished year: see ``receipt``)."""
        return self.receipt(session, instant).date

    def receipt(self, session, instant: datetime):
        """Day 0 and whether it is provisional; never raises for an unpublished year."""
        policy = after_hours_policy(session, self.config.after_hours_policy)
        return self.calendar(session).receipt(instant, policy)

    def rule_set(self, session, key: str | None) -> rules.RuleSet | None:
        if key is None:
            return None
        if key not in self._rule_sets:
            self._rule_sets[key] = rules.by_key(session, key)
        return self._rule_sets[key]

    def uow(self, read_only: bool = False) -> UnitOfWork:
        """A unit of work; ``read_only`` for read models (never commits; on SQLite it reads its
        snapshot without queueing behind a writer)."""
        return UnitOfWork(self.session_factory, self.audit_keys.current, read_only)

    # -- definitions -----------------------------------------------------------------------
    def allowed_calls(self, process_id: str) -> set[str]:
        proc = self.procedures.get(process_id)
        return set(self.engine_functions) | set(proc.functions if proc else ())

    def deploy(self, xml: bytes | str, deployed_by: str = "system:deploy") -> DeployResult:
        """Deploy a diagram as the installation itself (bootstrap, ``govflow deploy``, tests' fixtures):
        ``engine.verbs.definitions.install``, the same unit of work as the analysts' verb ``deploy``
        without its role check. Identical content is a no-op, changed content a new version."""
        from .verbs import definitions as definition_verbs
        return definition_verbs.install(self, xml, deployed_by)

    # -- cases -----------------------------------------------------------------------------
    def start_case(self, process_id: str, actor: Actor, data: Mapping[str, Any] | None = None,
                   title: str = "") -> int:
        """Start a case on the newest version of ``process_id``; return the case id."""
        with self.uow() as uow:
            case_id = self.start_case_in(uow, process_id, actor, data, title)
            uow.commit()
            return case_id

    def start_case_in(self, uow: UnitOfWork, process_id: str, actor: Actor,
                      data: Mapping[str, Any] | None = None, title: str = "", trusted: bool = False) -> int:
        """Start a case inside the caller's unit of work (e.g. a rectification opened by an escalation).

        Checks who may start the procedure and validates its start form unless ``trusted`` (a case
        started by the engine itself from validated data).
        """
        definition = definitions.latest(uow.session, process_id)
        if definition is None:
            raise NotFound(msg("process.not_deployed", "no deployed process {process_id}", process_id=process_id))
        proc = self.procedures.get(process_id)
        data = dict(data or {})
        if proc is not None and not trusted:
            data = self.validate_start(uow, proc, actor, data)
        bundle = self.definitions.get(uow.session, definition.id)
        now = self.clock.now()
        in_force = rules.in_force(uow.session, now.astimezone(BEIJING).date())
        if not title and proc is not None and proc.title is not None:
            title = proc.title(data)
        case = Case(process_id=process_id, definition_id=definition.id, status="running",
                    title=(title or "")[:500], started_by=actor.username, started_at=now, updated_at=now,
                    serializer_version=SERIALIZER_VERSION, state="{}", rule_set=in_force.key)
        case.definition = definition
        uow.session.add(case)
        uow.session.flush()
        # The number needs the id: set it as if loaded and let _advance's final UPDATE write it with
        # the state (one UPDATE instead of two).
        set_committed_value(case, "number", f"{now:%Y}{case.id:07d}")
        uow.step(case.id).new_case = True
        workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs)
        workflow.data.update({"initiator": actor.username, "initiator_department": actor.department,
                              "case_number": case.number, "case_id": case.id, **data})
        workflow.get_tasks(state=TaskState.READY)[0].data.update(workflow.data)
        uow.record(audit.Entry(now, actor.username, "case_started", case.id,
                               summary={"process_id": process_id, "version": definition.version}))
        self.runner.advance(uow, case, workflow, bundle, actor)
        return case.id

    def may_start(self, process_id: str, actor: Actor, session=None) -> bool:
        """Who may start a procedure: its module's START_ROLES where it declares them ("public":
        anyone); else the diagram's ``camunda:candidateStarterGroups`` (roles) and
        ``camunda:candidateStarterUsers`` (logins) on its newest version; else administrators only.
        Reads the newest version in ``session`` (else in a unit of work of its own)."""
        proc = self.procedures.get(process_id)
        if proc is not None and proc.start_roles is not None:
            return "public" in proc.start_roles or bool(actor.roles & proc.start_roles)
        if session is None:
            with self.uow() as uow:
                return self.may_start(process_id, actor, uow.session)
        newest = definitions.latest_id(session, process_id)
        starters = self.definitions.starters(session, newest) if newest is not None else definitions.Starters()
        if starters.declared:
            return starters.admit(actor.username, actor.roles)
        return "admin" in actor.roles

    def start_form(self, process_id: str, actor: Actor) -> tuple[list[forms.FormField], dict]:
        """The procedure's start form and the case-dependent options of its enum fields."""
        proc = self.procedures.get(process_id)
        if proc is None:
            return [], {}
        with self.uow() as uow:
            ctx = ScriptContext(self.services, uow.session, None, actor, self.clock.now(), {})
            options = proc.form_options(ctx, START_FORM, {}) if proc.form_options else {}
        return list(proc.start_form), options or {}

    def validate_start(self, uow: UnitOfWork, proc: Procedure, actor: Actor, data: dict) -> dict:
        """Who may start, the start form and the procedure's own checks, inside the caller's unit of work;
        return the cleaned data (a renewal adds fields the form does not have after this)."""
        if not self.may_start(proc.process_id, actor, uow.session):
            raise PermissionDenied(msg("process.may_not_start", "you may not start this procedure"))
        if not proc.start_form:
            return data
        ctx = ScriptContext(self.services, uow.session, None, actor, self.clock.now(), data)
        options = proc.form_options(ctx, START_FORM, data) if proc.form_options else {}
        dynamic = {k: [o[0] if isinstance(o, tuple) else o for o in v] for k, v in (options or {}).items()}
        cleaned = forms.validate(proc.start_form, data, dynamic, self.config.max_form_field_length)
        if proc.check_start is not None:
            cleaned = proc.check_start(ctx, cleaned)
        return cleaned

    def claim(self, task_id: str, actor: Actor) -> None:
        """Take an offered task into my own inbox (签收)."""
        with self.uow() as uow:
            row = self._open_task(uow, task_id, lock=True)
            if row.assignee == actor.username:
                return
            if row.assignee is not None:
                raise AlreadyDone(msg("task.already_claimed", "already claimed by {login}", login=row.assignee))
            self._require_eligible(row, actor)
            row.assignee = actor.username
            uow.record(audit.Entry(self.clock.now(), actor.username, "task_claimed", row.case_id, row.id))
            uow.commit()

    def unclaim(self, task_id: str, actor: Actor) -> None:
        """Give a claimed task back to the role's shared inbox."""
        with self.uow() as uow:
            row = self._open_task(uow, task_id, lock=True)
            if row.assignee != actor.username:
                raise PermissionDenied(msg("task.unclaim_not_yours", "you can only unclaim your own task"))
            row.assignee = None
            uow.record(audit.Entry(self.clock.now(), actor.username, "task_unclaimed", row.case_id, row.id))
            uow.commit()

    def complete_task(self, task_id: str, actor: Actor, form_data: Mapping[str, Any]) -> int:
        """Validate the form, complete the task and run the case on; return the case id."""
        with self.uow() as uow:
            row, case, bundle, workflow, task = self._ready_task(uow, task_id, actor, project_from_here=True)
            cleaned = forms.validate(forms.fields_from_extensions(task.task_spec.extensions), form_data,
                                     self._dynamic_options(uow, case, actor, task),
                                     self.config.max_form_field_length)
            proc = self.procedures.get(case.process_id)
            if proc is not None and proc.check_task is not None:
                ctx = ScriptContext(self.services, uow.session, case, actor, self.clock.now(), dict(task.data),
                                    workflow, self.rule_set(uow.session, case.rule_set), uow)
                cleaned = proc.check_task(ctx, task.task_spec.bpmn_id, cleaned)
            now = self.clock.now()
            task.set_data(**cleaned)
            workflow.script_engine = self.runner.script_engine(uow, case, actor, workflow, task.data)
            with script_errors(row.name):
                task.run()
            # written with the row's state change by project_tasks (one UPDATE)
            uow.step(case.id).completing[row.id] = (actor.username, now)
            uow.record(audit.Entry(now, actor.username, "task_completed", case.id, row.id,
                                   summary={"task": row.element_id, "data": _short(cleaned)}))
            self.runner.advance(uow, case, workflow, bundle, actor)
            uow.commit()
            return case.id

    def transfer_task(self, task_id: str, actor: Actor, to_login: str) -> None:
        """Hand a task to a colleague who may work it too (转办): same role, same department.

        Only the assignee, or anyone the unclaimed task is offered to, may transfer it.
        """
        with self.uow() as uow:
            row = self._open_task(uow, task_id, lock=True)
            self._require_eligible(row, actor)
            self._hand_over(uow, row, actor, to_login, "task_transferred", PermissionDenied(
                msg("task.transfer_not_eligible", "the task cannot be transferred to {login}: not eligible", login=to_login)))
            uow.commit()

    # -- supervision (督办): the data authority's actions on other departments' tasks ------------
    def reassign_task(self, task_id: str, actor: Actor, to_login: str) -> None:
        """The authority gives an open task to another person who may work it (its candidates, or its
        role within its department), whoever holds it now."""
        supervision.require_supervisor(actor)
        with self.uow() as uow:
            row = self._open_task(uow, task_id, lock=True)
            self._hand_over(uow, row, actor, to_login, "task_reassigned", GovflowError(
                msg("task.reassign_not_eligible", "the task cannot be reassigned to {login}: not eligible", login=to_login)))
            uow.commit()

    def _hand_over(self, uow: UnitOfWork, row: HumanTask, actor: Actor, to_login: str, action: str,
                   not_eligible: GovflowError) -> None:
        """Give an open task to ``to_login`` (转办 / 改派): someone it is offered to; audited, and the
        new holder is notified unless they are the one acting."""
        if to_login == row.assignee:
            raise GovflowError(msg("task.already_with", "the task is already with {login}", login=to_login))
        if to_login not in {p.login for p in transfer_pool(uow.session, row)}:
            raise not_eligible
        now, previous = self.clock.now(), row.assignee
        row.assignee = to_login
        uow.record(audit.Entry(now, actor.username, action, row.case_id, row.id,
                               summary={"from": previous, "to": to_login}))
        if to_login != actor.username:
            case = uow.session.get(Case, row.case_id)
            notifications.notify(uow, [to_login], "new_task", case.id, row.id,
                                 f"{case.number} {case.title} · {row.name}", now)

    def reassign_candidates(self, task_id: str, actor: Actor) -> list[tuple[str, str]]:
        """(login, display name) of the people the authority may reassign an open task to."""
        supervision.require_supervisor(actor)
        with self.uow() as uow:
            row = self._open_task(uow, task_id, lock=False)
            return [(p.login, p.display_name) for p in transfer_pool(uow.session, row) if p.login != row.assignee]

    def urge_task(self, task_id: str, actor: Actor, note: str = "") -> int:
        """催办: remind whoever holds an open task (or everyone it is offered to); return the urge's id."""
        supervision.require_supervisor(actor)
        with self.uow() as uow:
            now = self.clock.now()
            throttle.check(uow.session, "urge", actor.username, now)  # TooManyRequests past the limit
            row = self._open_task(uow, task_id, lock=False)
            found = urges.urge(uow, row, uow.session.get(Case, row.case_id), actor.username, note, now)
            throttle.record(uow.session, "urge", actor.username, now)
            uow.commit()
            return found.id

    def open_rectification(self, supervision_id: int, actor: Actor, evidence: str = "") -> int:
        """督办 → 立案 on the dashboard: ``engine.verbs.supervision.confirm`` (one unit of work)."""
        from .verbs import supervision as supervision_verbs
        return supervision_verbs.confirm(self, supervision_id, actor, evidence)

    def dismiss_supervision(self, supervision_id: int, actor: Actor, note: str) -> None:
        """Close a 督办 with the reason: ``engine.verbs.supervision.dismiss`` (one unit of work)."""
        from .verbs import supervision as supervision_verbs
        supervision_verbs.dismiss(self, supervision_id, actor, note)

    def add_comment(self, case_id: int, actor: Actor, text: str) -> int:
        """Keep a comment (审批意见) with the case; whoever may see the case may comment."""
        with self.uow() as uow:
            case = uow.session.get(Case, case_id)
            if case is None:
                raise NotFound(msg("case.not_found", "no such case"))
            if not may_see_case(uow.session, case, actor):
                raise PermissionDenied(msg("case.not_visible", "you may not see this case"))
            comment = comments.add_comment(uow, case.id, actor.username, text, self.clock.now())
            uow.commit()
            return comment.id

    # -- queries ---------------------------------------------------------------------------
    def case_diagram(self, case_id: int, actor: Actor) -> CaseDiagram:
        """The diagram the case runs on, its elements marked completed, active or overdue."""
        with self.uow() as uow:
            case = uow.session.get(Case, case_id)
            if case is None:
                raise NotFound(msg("case.not_found", "no such case"))
            if not may_see_case(uow.session, case, actor):
                raise PermissionDenied(msg("case.not_visible", "you may not see this case"))
            workflow = self.runner.load(case, self.definitions.get(uow.session, case.definition_id))
            return diagram_of(uow.session, case, workflow, self.clock.now())

    def element_names(self, definition_id: int) -> dict[str, str]:
        """The names of a definition version's elements by BPMN id (from the cached parsed spec)."""
        with self.uow() as uow:
            return element_names(self.definitions.get(uow.session, definition_id))

    def inbox(self, actor: Actor, tab: str, filters: inbox_queries.Filters | None = None, page: int = 1,
              per_page: int = 20) -> inbox_queries.Page:
        """One page of one inbox tab (待办 / 待签收 / 我发起的 / 已办) with the counts of all tabs."""
        with self.uow() as uow:
            return inbox_queries.page(uow.session, actor, tab, filters or inbox_queries.Filters(), page, per_page,
                                      self.clock.now(), self.calendar(uow.session))

    def task_form_options(self, task_id: str, actor: Actor) -> dict[str, list[tuple[str, str]]]:
        """The case-dependent values of an open task's enum fields, as (id, name) pairs."""
        with self.uow() as uow:
            row = self._open_task(uow, task_id, lock=False)
            self._require_eligible(row, actor)
            case = uow.session.get(Case, row.case_id)
            proc = self.procedures.get(case.process_id)
            if proc is None or proc.form_options is None:
                return {}
            task = task_or_none(self.runner.load(case, self.definitions.get(uow.session, case.definition_id)), task_id)
            if task is None:
                return {}
            ctx = ScriptContext(self.services, uow.session, case, actor, self.clock.now(), task.data)
            return option_pairs(proc.form_options(ctx, row.element_id, task.data))

    def transfer_candidates(self, task_id: str, actor: Actor) -> list[tuple[str, str]]:
        """(login, display name) of the colleagues an open task can be transferred to."""
        with self.uow() as uow:
            row = self._open_task(uow, task_id, lock=False)
            self._require_eligible(row, actor)
            return [(p.login, p.display_name) for p in transfer_pool(uow.session, row)
                    if p.login not in (actor.username, row.assignee)]

    # -- return (退回) ----------------------------------------------------------------------------
    def return_target(self, task_id: str, actor: Actor) -> returns.ReturnTarget | None:
        """The previous step an open task of the actor's could be returned to, if any."""
        with self.uow() as uow:
            row = self._open_task(uow, task_id, lock=False)
            self._require_eligible(row, actor)
            case = uow.session.get(Case, row.case_id)
            workflow = self.runner.load(case, self.definitions.get(uow.session, case.definition_id))
            return returns.target_of(uow.session, task_or_none(workflow, task_id))

    def return_task(self, task_id: str, actor: Actor, reason: str) -> str:
        """Send the case back to the previous step (退回, see ``engine.returns``); return its task id."""
        reason = returns.check_reason(reason)
        with self.uow() as uow:
            row, case, bundle, workflow, task = self._ready_task(uow, task_id, actor)
            now = self.clock.now()
            with script_errors(row.name):
                back = returns.reset_to_previous(uow, case, workflow, task, row, actor, reason, now)
            self.runner.advance(uow, case, workflow, bundle, actor)
            returns.notify_returned(uow, case, back, actor, now)
            uow.commit()
            return back

    def get_task(self, task_id: str, actor: Actor | None = None) -> TaskView:
        with self.uow() as uow:
            row = uow.session.get(HumanTask, task_id)
            if row is None:
                raise NotFound(msg("task.not_found", "no such task"))
            if actor is not None and row.state == "ready":
                self._require_eligible(row, actor)
            case = uow.session.get(Case, row.case_id)
            bundle = self.definitions.get(uow.session, case.definition_id)
            spec = _find_spec(bundle, row.element_id)
            data = {}
            if row.state == "ready":
                task = task_or_none(self.runner.load(case, bundle), task_id)
                data = dict(task.data) if task is not None else {}
            return TaskView(row.id, case.id, case.number, case.process_id, row.element_id, row.name,
                            row.state, row.assignee, row.role, row.department,
                            forms.fields_from_extensions(spec.extensions if spec else None), data)

    def case_data(self, case_id: int) -> dict:
        """The case's current data: the workflow's data overlaid with the last task's."""
        with self.uow() as uow:
            case = uow.session.get(Case, case_id)
            if case is None:
                raise NotFound(msg("case.not_found", "no such case"))
            workflow = self.runner.load(case, self.definitions.get(uow.session, case.definition_id))
            last = workflow.last_task.data if workflow.last_task is not None else {}
            return {**workflow.data, **last}

    def people_for_task(self, task_id: str) -> list[tuple[str, str]]:
        """Role resolution: (login, display name) of everyone who may work the task now."""
        with self.uow() as uow:
            row = uow.session.get(HumanTask, task_id)
            if row is None:
                raise NotFound(msg("task.not_found", "no such task"))
            return [(p.login, p.display_name) for p in org.eligible_people(uow.session, row)]

    def verify_audit(self, checkpoints: list[dict] | None = None) -> audit.Finding | None:
        """The first record of the audit chain that was altered, removed or inserted (None: intact),
        checked with the installation's audit keys and against the signed ``checkpoints`` given and
        those the database keeps (``engine.audit``)."""
        with self.uow() as uow:
            return audit.verify(uow.session, self.audit_keys, checkpoints)

    def audit_checkpoint(self) -> dict:
        """Sign the audit chain's head and seal; the checkpoint is kept and returned (to store elsewhere)."""
        with self.uow() as uow:
            point = audit.checkpoint(uow.session, self.audit_keys, self.clock.now().replace(microsecond=0))
            uow.commit()
        return point

    # -- internals -------------------------------------------------------------------------
    def _ready_task(self, uow: UnitOfWork, task_id: str, actor: Actor, project_from_here: bool = False):
        """Lock the task's case, check the actor may work it, load the case and fire overdue timers;
        return (row, case, bundle, workflow, task) or raise AlreadyDone when it moved on meanwhile.

        ``project_from_here``: read all of the case's open rows now, for the projection at the end of
        the unit of work to start from (only when nothing in between reopens a row, as 退回 does).
        """
        case = uow.session.scalars(sa.select(Case).join(HumanTask, HumanTask.case_id == Case.id)
                                   .where(HumanTask.id == str(task_id)).with_for_update(of=Case)).first()
        if case is None:
            raise NotFound(msg("task.not_found", "no such task"))
        if project_from_here:  # read under the case's lock: current
            open_rows = {r.id: r for r in uow.session.scalars(sa.select(HumanTask).where(
                HumanTask.case_id == case.id, HumanTask.state == "ready"))}
            row = open_rows.get(str(task_id))
            if row is None:
                raise AlreadyDone(msg("task.already_done", "this task has already been completed"))
            uow.step(case.id).open_tasks = open_rows
        else:
            row = self._open_task(uow, task_id, lock=False)
        if case.status == "incident":
            raise CaseHasIncident(msg("case.has_incident", "the case is stopped by an incident; an analyst "
                                      "or administrator must retry it first"))
        if case.status != "running":
            raise AlreadyDone(msg("case.ended", "the case has ended"))
        self._require_eligible(row, actor)
        bundle = self.definitions.get(uow.session, case.definition_id)
        workflow = self.runner.load(case, bundle)
        self.runner.catch_up_timers(uow, case, workflow, actor)
        task = task_or_none(workflow, task_id)
        if task is None or task.state != TaskState.READY:
            raise AlreadyDone(msg("task.already_done", "this task has already been completed"))
        return row, case, bundle, workflow, task

    def _open_task(self, uow: UnitOfWork, task_id: str, lock: bool) -> HumanTask:
        query = sa.select(HumanTask).where(HumanTask.id == str(task_id))
        if lock:
            query = query.with_for_update()
        row = uow.session.scalars(query).first()
        if row is None:
            raise NotFound(msg("task.not_found", "no such task"))
        if row.state != "ready":
            raise AlreadyDone(msg("task.already_done", "this task has already been completed"))
        return row

    def _require_eligible(self, row: HumanTask, actor: Actor) -> None:
        if not may_work(row, actor):
            raise PermissionDenied(msg("task.not_yours", "you may not work on this task"))

    def _dynamic_options(self, uow, case, actor, task) -> dict:
        proc = self.procedures.get(case.process_id)
        if proc is None or proc.form_options is None:
            return {}
        ctx = ScriptContext(self.services, uow.session, case, actor, self.clock.now(), task.data)
        return {k: [o[0] if isinstance(o, tuple) else o for o in v]
                for k, v in (proc.form_options(ctx, task.task_spec.bpmn_id, task.data) or {}).items()}


def _short(data: Mapping[str, Any]) -> dict:
    return {k: (v[:200] if isinstance(v, str) else v) for k, v in data.items()}


def _find_spec(bundle: SpecBundle, element_id: str):
    """The user task spec of a BPMN element (for a multi-instance task, the spec of its instances,
    which carries the form: the wrapper only names it)."""
    for process in (bundle.spec, *bundle.subprocess_specs.values()):
        if element_id in process.task_specs:
            spec = process.task_specs[element_id]
            inner = getattr(spec, "task_spec", None)
            if isinstance(inner, str) and inner in process.task_specs:
                return process.task_specs[inner]
            return spec
    return None


def may_see_case(session, case: Case, actor: Actor) -> bool:
    """Who may read a case: its starter, the authority, and whoever is or was involved in one of its
    tasks (assignee, completer, candidate user, or the task's role within its department)."""
    if actor.username == case.started_by or actor.roles & CASE_READERS:
        return True
    rows = session.scalars(sa.select(HumanTask).where(HumanTask.case_id == case.id))
    return any(eligibility.involved(row, actor) for row in rows)


class _AsOffered:
    """A task as it was offered before anyone claimed it: who else may take it over."""

    assignee = None

    def __init__(self, row: HumanTask):
        self.department, self._users, self._groups = row.department, row.users(), row.groups()

    def users(self) -> list[str]:
        return self._users

    def groups(self) -> list[str]:
        return self._groups


def transfer_pool(session, row: HumanTask) -> list:
    """Everyone a task is offered to (candidate users, its role in its department), claimed or not."""
    return org.eligible_people(session, _AsOffered(row))


def option_pairs(options: Mapping[str, Iterable] | None) -> dict[str, list[tuple[str, str]]]:
    """Normalise form_options() values (``id`` or ``(id, name)``) to (id, name) pairs."""
    return {field: [(str(o[0]), str(o[1])) if isinstance(o, (tuple, list)) else (str(o), str(o)) for o in values]
            for field, values in (options or {}).items()}


def may_work(row: HumanTask, actor: Actor) -> bool:
    """Who may work a task: the one rule of engine.eligibility (kept here for the views' imports)."""
    return eligibility.may_work(row, actor)


