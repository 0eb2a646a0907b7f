"""The data authority's supervision dashboard (督办): open tasks across every department that are
overdue or due within the reminder window of their case's rule set (``reminder_days_before``), their
counts by department and procedure, the open supervision items overdue escalations created, and the
authority's own overdue steps.

A task's deadline state and the dashboard's buckets are ``engine.deadline_state``'s (the inbox's
too): a provisional (暂定) due date never makes a task overdue: it is shown, counted apart, and left
to the recomputation when its year's holiday schedule is published. A fixed number of queries.

The authority's own steps (主管部门自身超期事项, issue 13: a review, a coordination, a 督办
decision) are a section of their own, never a department's: the open tasks of the authority's
role (``SUPERVISORS``) that are overdue, or due within the reminder window of the case's rule set
(``reminder_days_before``), each with the statutory period that watches it (``statutory_period``,
party ``authority``: the procedure's ``PERIODS[name].title`` and article) or, for a task-bound
deadline, the task alone. They are found from the open task rows (a period runs while its party
holds one of its tasks; the task's deadline rows name the period), so a step is listed exactly as
long as the authority has not acted, whatever the period's row says. These tasks are left out of the department sections and their counts (before,
they showed under "county-wide roles"); the county government's tasks stay there. The authority
is reminded and its lateness is counted in the evaluation (engine.domain.performance), but no
supervision item or violation is ever raised against it (engine.periods).
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, noload

from . import deadline_state
from .calendar import WorkingDayCalendar
from .definitions import list_latest
from .domain import urges
from .domain.org import Department, Person
from .domain.violations import SupervisionItem
from .errors import PermissionDenied
from .deadline_state import DEFAULT_REMINDER_DAYS
from .models import Case, Deadline, DefinitionVersion, HumanTask, StatutoryPeriod
from .periods import AUTHORITY
from .uow import Actor
from .messages import msg

SUPERVISORS = frozenset({"authority"})  # art. 4: the data authority supervises

STATUSES = deadline_state.BUCKETS  # overdue, due_soon, provisional
ROW_LIMIT = 500
ITEM_LIMIT = 200


def require_supervisor(actor: Actor) -> None:
    if not actor.roles & SUPERVISORS:
        raise PermissionDenied(msg("supervision.authority_only", "for the data authority only"))


@dataclass(frozen=True)
class Filters:
    department: str | None = None  # department code
    process_id: str | None = None
    status: str | None = None  # one of STATUSES


@dataclass
class Counts:
    overdue: int = 0
    due_soon: int = 0
    provisional: int = 0

    def add(self, other: "Counts") -> None:
        self.overdue += other.overdue
        self.due_soon += other.due_soon
        self.provisional += other.provisional

    @property
    def total(self) -> int:
        return self.overdue + self.due_soon + self.provisional


@dataclass(frozen=True)
class WatchedTask:
    task: HumanTask
    case_number: str | None
    case_title: str
    process_name: str
    state: str  # overdue / due_soon / provisional_past (a provisional due date that has passed)
    remaining_days: int | None
    urges: urges.UrgeSummary | None = None

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"

    @property
    def due_soon(self) -> bool:
        return self.state == "due_soon"


@dataclass
class DepartmentGroup:
    code: str | None  # None: tasks of county-wide roles (no department)
    name: str
    counts: Counts = field(default_factory=Counts)
    tasks: list[WatchedTask] = field(default_factory=list)


@dataclass(frozen=True)
class ItemView:
    item: SupervisionItem
    case_number: str | None
    process_id: str
    task_name: str | None
    task_open: bool
    authority_tasks: tuple[tuple[str, str], ...] = ()  # (id, name): the case's open tasks for the authority


@dataclass(frozen=True)
class AuthorityStep:
    """One of the authority's own steps that is overdue or due soon: a statutory period of party
    ``authority`` with its open task(s), or an authority task with a deadline of its own."""

    case_id: int
    case_number: str | None
    case_title: str
    process_id: str
    process_name: str
    title: str  # the period's title (PERIODS[name].title), else the task's name
    article: str  # "" for a task-bound deadline
    due_date: date
    provisional: bool
    state: str  # overdue / due_soon / provisional_past
    remaining_days: int  # working days left (negative: over)
    reminded: bool
    tasks: tuple[HumanTask, ...]
    period: StatutoryPeriod | None = None

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"

    @property
    def due_soon(self) -> bool:
        return self.state == "due_soon"

    @property
    def days_over(self) -> int:
        return max(0, -self.remaining_days)


@dataclass(frozen=True)
class Dashboard:
    groups: list[DepartmentGroup]
    by_procedure: dict[str, Counts]
    totals: Counts
    items: list[ItemView]
    truncated: bool
    departments: list[tuple[str, str]]
    procedures: list[tuple[str, str]]
    people: dict[str, str]  # login -> display name of the tasks' holders
    authority: list[AuthorityStep] = field(default_factory=list)  # the authority's own steps
    authority_counts: Counts = field(default_factory=Counts)
    authority_truncated: bool = False


def _conditions(rule: deadline_state.Rule):
    """SQL for the three disjoint buckets (engine.deadline_state): overdue, due soon (a published
    due date) and provisional (暂定: due soon or past). Over HumanTask joined to Case."""
    return tuple(rule.sql_bucket(name) for name in STATUSES)


def _departments_only():
    """Tasks that are not the authority's own (those have a section of their own); a task offered
    to users only has no role."""
    return sa.or_(HumanTask.role.is_(None), HumanTask.role.not_in(SUPERVISORS))


def dashboard(session: Session, now: datetime, calendar: WorkingDayCalendar, filters: Filters,
              procedures: Mapping | None = None) -> Dashboard:
    """The dashboard's rows (grouped by department, ordered by procedure and due date), counts and
    items, and the authority's own steps (``procedures``: the engine's, for the periods' titles)."""
    rule = deadline_state.at(session, now, calendar)
    overdue, soon, provisional = _conditions(rule)
    scope = [HumanTask.state == "ready", rule.sql_watched(), _departments_only()]
    if filters.department:
        scope.append(HumanTask.department == filters.department)
    if filters.process_id:
        scope.append(HumanTask.process_id == filters.process_id)
    counts = _counts(session, scope, overdue, soon, provisional)
    bucket = {"overdue": overdue, "due_soon": soon, "provisional": provisional}.get(filters.status or "")
    rows = _rows(session, scope if bucket is None else [*scope, bucket], rule)
    names = _department_names(session)
    by_procedure, totals = _sums(counts)
    wanted = getattr(totals, filters.status) if bucket is not None else totals.total
    listed = [(d.process_id, d.name or d.process_id) for d in list_latest(session)]
    own, own_counts, own_truncated = ([], Counts(), False) if filters.department else \
        authority_steps(session, now, calendar, filters, procedures or {}, rule=rule)
    people = _holders(session, [row.task for row in rows] + [t for step in own for t in step.tasks])
    return Dashboard(_group(rows, counts, names), by_procedure, totals, open_items(session, filters),
                     len(rows) < wanted, sorted(names.items()), listed, people, own, own_counts, own_truncated)


def _sums(counts: dict) -> tuple[dict[str, Counts], Counts]:
    by_procedure: dict[str, Counts] = defaultdict(Counts)
    totals = Counts()
    for (_, process_id), c in counts.items():
        by_procedure[process_id].add(c)
        totals.add(c)
    return dict(by_procedure), totals


def _holders(session: Session, tasks: list[HumanTask]) -> dict[str, str]:
    logins = {task.assignee for task in tasks if task.assignee}
    if not logins:
        return {}
    return dict(session.execute(sa.select(Person.login, Person.display_name).where(Person.login.in_(logins))).all())


def _counts(session: Session, scope: list, overdue, soon, provisional) -> dict[tuple[str | None, str], Counts]:
    """Counts per (department, procedure), aggregated in SQL."""
    def tally(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))
    query = sa.select(HumanTask.department, HumanTask.process_id, tally(overdue), tally(soon),
                      tally(provisional)).join(Case, HumanTask.case_id == Case.id).where(*scope) \
        .group_by(HumanTask.department, HumanTask.process_id)
    return {(dept, pid): Counts(int(o or 0), int(s or 0), int(p or 0))
            for dept, pid, o, s, p in session.execute(query)}


def _rows(session: Session, where: list, rule: deadline_state.Rule) -> list[WatchedTask]:
    query = sa.select(HumanTask, Case.number, Case.title, DefinitionVersion.name, rule.sql_state()) \
        .join(Case, HumanTask.case_id == Case.id) \
        .join(DefinitionVersion, HumanTask.definition_id == DefinitionVersion.id) \
        .where(*where).options(noload(HumanTask.candidates)) \
        .order_by(HumanTask.department.is_(None), HumanTask.department, HumanTask.process_id,
                  HumanTask.due_at, HumanTask.id).limit(ROW_LIMIT)
    found = session.execute(query).all()
    summaries = urges.summaries(session, [row[0].id for row in found])
    return [WatchedTask(task, number, title or "", name or task.process_id, kind, rule.remaining(task),
                        summaries.get(task.id))
            for task, number, title, name, kind in found]


def _department_names(session: Session) -> dict[str, str]:
    return dict(session.execute(sa.select(Department.code, Department.name)).all())


def _group(rows: list[WatchedTask], counts: dict, names: dict[str, str]) -> list[DepartmentGroup]:
    groups: dict[str | None, DepartmentGroup] = {}
    for (dept, _), c in sorted(counts.items(), key=lambda kv: (kv[0][0] is None, kv[0][0] or "", kv[0][1])):
        group = groups.setdefault(dept, DepartmentGroup(dept, names.get(dept, dept) if dept else ""))
        group.counts.add(c)
    for row in rows:
        dept = row.task.department
        groups.setdefault(dept, DepartmentGroup(dept, names.get(dept, dept) if dept else "")).tasks.append(row)
    return [g for g in groups.values() if g.counts.total or g.tasks]


def authority_steps(session: Session, now: datetime, calendar: WorkingDayCalendar, filters: Filters = Filters(),
                    procedures: Mapping | None = None, *,
                    rule: deadline_state.Rule | None = None) -> tuple[list[AuthorityStep], Counts, bool]:
    """The authority's own open steps that are overdue or due within the case's reminder window,
    earliest due first; their counts (overdue, due soon, provisional); whether the list stopped at
    ``ROW_LIMIT`` tasks. Four queries: the rule sets' windows (none when ``rule`` is given), the
    tasks with their cases, the deadlines that say which period watches each task, and those periods.
    A step's state is ``engine.deadline_state.classify`` of its period (due date, provisional mark,
    escalated: the period's overdue instant or the task's flag), else of its task; the query takes
    every task that could be in one (any window's cutoff)."""
    rule = rule if rule is not None else deadline_state.at(session, now, calendar)
    cutoff = calendar.provisional_due_date(rule.today, max([DEFAULT_REMINDER_DAYS, *rule.windows.values()]) + 1)
    where = [HumanTask.state == "ready", HumanTask.due_at.is_not(None), HumanTask.role.in_(SUPERVISORS),
             sa.or_(HumanTask.overdue.is_(True), HumanTask.due_at < now, HumanTask.due_date < cutoff)]
    if filters.process_id:
        where.append(HumanTask.process_id == filters.process_id)
    found = session.execute(
        sa.select(HumanTask, Case.number, Case.title, Case.rule_set, DefinitionVersion.name)
        .join(Case, HumanTask.case_id == Case.id)
        .join(DefinitionVersion, HumanTask.definition_id == DefinitionVersion.id)
        .where(*where).options(noload(HumanTask.candidates))
        .order_by(HumanTask.due_at, HumanTask.case_id, HumanTask.id).limit(ROW_LIMIT + 1)).all()
    truncated, found = len(found) > ROW_LIMIT, found[:ROW_LIMIT]
    watched = _watching_periods(session, [row[0] for row in found])
    steps: dict[tuple, AuthorityStep] = {}
    counts = Counts()
    for task, number, title, rule_set, process_name in found:
        period = watched.get(task.id)
        key = ("period", period.id) if period is not None else ("task", task.id)
        if key in steps:
            step = steps[key]
            steps[key] = replace(step, tasks=(*step.tasks, task))
            continue
        step = _step(task, period, number, title, rule_set, process_name, rule, procedures or {})
        if step is None or not _wanted(step, filters.status):
            continue
        steps[key] = step
        counts.add(Counts(**{deadline_state.bucket(step.state, step.provisional): 1}))
    return list(steps.values()), counts, truncated


def _watching_periods(session: Session, tasks: list[HumanTask]) -> dict[str, StatutoryPeriod]:
    """The authority's statutory period that watches each task (by the period name and number its
    timers carry), in two queries; a task with a deadline of its own has none."""
    if not tasks:
        return {}
    keys: dict[str, tuple[int, str, int]] = {}
    for task_id, params in session.execute(sa.select(Deadline.human_task_id, Deadline.params).where(
            Deadline.human_task_id.in_([t.id for t in tasks]), Deadline.state.in_(("waiting", "fired")))
            .order_by(Deadline.kind)):  # 'overdue' before 'reminder'
        meta = json.loads(params or "{}")
        if "period" in meta and task_id not in keys:
            keys[task_id] = (meta["period"], meta.get("seq"))
    if not keys:
        return {}
    case_of = {t.id: t.case_id for t in tasks}
    rows = {(p.case_id, p.name, p.seq): p for p in session.scalars(sa.select(StatutoryPeriod).where(
        StatutoryPeriod.case_id.in_({case_of[i] for i in keys}), StatutoryPeriod.party == AUTHORITY))}
    found = {}
    for task_id, (name, seq) in keys.items():
        row = rows.get((case_of[task_id], name, seq))
        if row is not None:
            found[task_id] = row
    return found


def _step(task: HumanTask, period: StatutoryPeriod | None, number, title, rule_set, process_name,
          rule: deadline_state.Rule, procedures: Mapping) -> AuthorityStep | None:
    """The step of a task (and its period), or None when it is neither late nor within the window."""
    due_date = period.due_date if period is not None else task.due_date
    due_at = period.due_at if period is not None else task.due_at
    provisional = period.provisional if period is not None else task.provisional
    escalated = task.overdue or (period is not None and period.overdue_at is not None)
    state = deadline_state.classify(is_open=True, flagged=escalated, due_at=due_at, due_date=due_date,
                                    provisional=provisional, now=rule.now, calendar=rule.calendar,
                                    window=rule.window(rule_set))
    if state == deadline_state.NONE:
        return None
    remaining = deadline_state.remaining_days(due_date, rule.now, rule.calendar)
    if period is not None:
        proc = procedures.get(task.process_id)
        spec = (getattr(proc, "periods", None) or {}).get(period.name)
        label, article, reminded = (spec.title if spec is not None else period.name), period.article, \
            period.reminded_at is not None
    else:
        label, article, reminded = task.name, "", False
    return AuthorityStep(task.case_id, number, title or "", task.process_id, process_name or task.process_id,
                         label, article, due_date, provisional, state, remaining, reminded, (task,), period)


def _wanted(step: AuthorityStep, status: str | None) -> bool:
    return status not in STATUSES or deadline_state.bucket(step.state, step.provisional) == status


def open_items(session: Session, filters: Filters = Filters()) -> list[ItemView]:
    """The open 督办 items, oldest first, with their case and the overdue task."""
    query = sa.select(SupervisionItem, Case.number, Case.process_id, HumanTask.name, HumanTask.state) \
        .join(Case, SupervisionItem.case_id == Case.id) \
        .outerjoin(HumanTask, HumanTask.id == SupervisionItem.human_task_id) \
        .where(SupervisionItem.status == "open")
    if filters.department:
        query = query.join(Department, SupervisionItem.department_id == Department.id) \
            .where(Department.code == filters.department)
    if filters.process_id:
        query = query.where(Case.process_id == filters.process_id)
    rows = session.execute(query.order_by(SupervisionItem.created_at, SupervisionItem.id).limit(ITEM_LIMIT))
    return [ItemView(item, number, process_id, task_name, task_state == "ready")
            for item, number, process_id, task_name, task_state in rows]


def item_view(session: Session, supervision_id: int) -> ItemView | None:
    row = session.execute(
        sa.select(SupervisionItem, Case.number, Case.process_id, HumanTask.name, HumanTask.state)
        .join(Case, SupervisionItem.case_id == Case.id)
        .outerjoin(HumanTask, HumanTask.id == SupervisionItem.human_task_id)
        .where(SupervisionItem.id == supervision_id)).first()
    if row is None:
        return None
    item, number, process_id, task_name, task_state = row
    own = session.execute(sa.select(HumanTask.id, HumanTask.name).where(
        HumanTask.case_id == item.case_id, HumanTask.state == "ready", HumanTask.role.in_(SUPERVISORS))
        .order_by(HumanTask.created_at)).all()
    return ItemView(item, number, process_id, task_name, task_state == "ready", tuple(map(tuple, own)))
