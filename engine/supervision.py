"""The data authority's supervision dashboard (督办): open tasks across every department that are
overdue or due within one working day, their counts by department and procedure, and the open
supervision items overdue escalations created.

A provisional (暂定) due date never makes a task overdue here: it is shown, counted apart, and left
to the recomputation when its year's holiday schedule is published. A fixed number of queries.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, noload

from .calendar import BEIJING, WorkingDayCalendar
from .definitions import list_latest
from .domain import urges
from .domain.org import Department, Person
from .domain.violations import SupervisionItem
from .errors import AlreadyDone, NotFound, PermissionDenied
from .models import Case, DefinitionVersion, HumanTask
from .uow import Actor

SUPERVISORS = frozenset({"authority"})  # art. 4: the data authority supervises
RECTIFICATION = "rectification"  # the procedure a confirmed 督办 opens (art. 31)
STATUSES = ("overdue", "due_soon", "provisional")
DUE_SOON_DAYS = 1  # at most this many working days left
ROW_LIMIT = 500
ITEM_LIMIT = 200


def require_supervisor(actor: Actor) -> None:
    if not actor.roles & SUPERVISORS:
        raise PermissionDenied("仅限政务数据资源主管部门 (for the data authority only)")


def require_open_item(session: Session, supervision_id: int, unconfirmed: bool = False) -> SupervisionItem:
    item = session.get(SupervisionItem, supervision_id)
    if item is None:
        raise NotFound("督办事项不存在 (no such supervision item)")
    if item.status != "open":
        raise AlreadyDone("该督办事项已办结 (this supervision item is closed)")
    if unconfirmed and item.confirmed:
        raise AlreadyDone("该督办事项已确认为违规 (this supervision item was already confirmed)")
    return item


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
class Dashboard:
    groups: list[DepartmentGroup]
    by_procedure: dict[str, Counts]
    totals: Counts
    items: list[ItemView]
    truncated: bool
    departments: list[tuple[str, str]]
    procedures: list[tuple[str, str]]
    people: dict[str, str]  # login -> display name of the tasks' holders


def _conditions(now: datetime, calendar: WorkingDayCalendar):
    """SQL for the three disjoint buckets: overdue, due soon (both with published due dates) and
    provisional (暂定: due soon or past); 'due soon' counts working days from today (Beijing)."""
    today = now.astimezone(BEIJING).date()
    cutoff: date = calendar.provisional_due_date(today, DUE_SOON_DAYS + 1)  # first date with more left
    past, near = HumanTask.due_at < now, HumanTask.due_date < cutoff
    published = HumanTask.provisional.is_(False)
    overdue = sa.and_(published, sa.or_(HumanTask.overdue.is_(True), past))
    soon = sa.and_(published, HumanTask.overdue.is_(False), sa.not_(past), near)
    provisional = sa.and_(HumanTask.provisional.is_(True), sa.or_(past, near))
    return overdue, soon, provisional


def dashboard(session: Session, now: datetime, calendar: WorkingDayCalendar, filters: Filters) -> Dashboard:
    """The dashboard's rows (grouped by department, ordered by procedure and due date), counts and items."""
    overdue, soon, provisional = _conditions(now, calendar)
    scope = [HumanTask.state == "ready", HumanTask.due_at.is_not(None), sa.or_(overdue, soon, provisional)]
    if filters.department:
        scope.append(HumanTask.department == filters.department)
    if filters.process_id:
        scope.append(HumanTask.process_id == filters.process_id)
    counts = _counts(session, scope, overdue, soon, provisional)
    bucket = {"overdue": overdue, "due_soon": soon, "provisional": provisional}.get(filters.status or "")
    rows = _rows(session, scope if bucket is None else [*scope, bucket], overdue, now, calendar)
    names = _department_names(session)
    by_procedure, totals = _sums(counts)
    wanted = getattr(totals, filters.status) if bucket is not None else totals.total
    procedures = [(d.process_id, d.name or d.process_id) for d in list_latest(session)]
    return Dashboard(_group(rows, counts, names), by_procedure, totals, open_items(session, filters),
                     len(rows) < wanted, sorted(names.items()), procedures, _holders(session, rows))


def _sums(counts: dict) -> tuple[dict[str, Counts], Counts]:
    by_procedure: dict[str, Counts] = defaultdict(Counts)
    totals = Counts()
    for (_, process_id), c in counts.items():
        by_procedure[process_id].add(c)
        totals.add(c)
    return dict(by_procedure), totals


def _holders(session: Session, rows: list["WatchedTask"]) -> dict[str, str]:
    logins = {row.task.assignee for row in rows if row.task.assignee}
    if not logins:
        return {}
    return dict(session.execute(sa.select(Person.login, Person.display_name).where(Person.login.in_(logins))).all())


def _counts(session: Session, scope: list, overdue, soon, provisional) -> dict[tuple[str | None, str], Counts]:
    """Counts per (department, procedure), aggregated in SQL."""
    def tally(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))
    query = sa.select(HumanTask.department, HumanTask.process_id, tally(overdue), tally(soon),
                      tally(provisional)).where(*scope) \
        .group_by(HumanTask.department, HumanTask.process_id)
    return {(dept, pid): Counts(int(o or 0), int(s or 0), int(p or 0))
            for dept, pid, o, s, p in session.execute(query)}


def _rows(session: Session, where: list, overdue, now, calendar) -> list[WatchedTask]:
    provisional_past = sa.and_(HumanTask.provisional.is_(True), HumanTask.due_at < now)
    state = sa.case((overdue, "overdue"), (provisional_past, "provisional_past"), else_="due_soon")
    query = sa.select(HumanTask, Case.number, Case.title, DefinitionVersion.name, state) \
        .join(Case, HumanTask.case_id == Case.id) \
        .join(DefinitionVersion, HumanTask.definition_id == DefinitionVersion.id) \
        .where(*where).options(noload(HumanTask.candidates)) \
        .order_by(HumanTask.department.is_(None), HumanTask.department, HumanTask.process_id,
                  HumanTask.due_at, HumanTask.id).limit(ROW_LIMIT)
    found = session.execute(query).all()
    summaries = urges.summaries(session, [row[0].id for row in found])
    today = now.astimezone(BEIJING).date()
    return [WatchedTask(task, number, title or "", name or task.process_id, kind,
                        calendar.working_days_between(today, task.due_date) if task.due_date else None,
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
