"""Inbox queries over the human-task projection (待办 / 待签收 / 已办 / 我发起的).

``page`` serves the inbox screen: one tab, filtered, sorted and paginated, with the counts of every
tab and each task's remaining working days. It issues a fixed number of queries whatever the number
of tasks (the calendar and rule sets come in as arguments, not per row).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, noload

from . import deadline_state
from .calendar import WorkingDayCalendar
from .deadline_state import DEFAULT_REMINDER_DAYS, reminder_windows  # noqa: F401  (re-exported)
from .eligibility import unclaimed_offered_to
from .models import Case, DefinitionVersion, HumanTask
from .uow import Actor

TABS = ("mine", "unclaimed", "started", "done")
TASK_STATUSES = ("overdue", "due_soon", "provisional", "no_deadline")
CASE_STATUSES = ("running", "completed")
SORTS = ("due", "created", "number", "completed")


# -- the base conditions of each tab ------------------------------------------------------------

def _mine(actor: Actor):
    return sa.and_(HumanTask.assignee == actor.username, HumanTask.state == "ready")


def _unclaimed(actor: Actor):
    """Open, unclaimed tasks offered to one of my roles in scope, or to me by name (engine.eligibility)."""
    return unclaimed_offered_to(actor)


def _done(actor: Actor):
    return HumanTask.completed_by == actor.username


def _started(actor: Actor):
    return Case.started_by == actor.username


_by_due = (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)


def my_tasks(session: Session, actor: Actor, limit: int = 50, offset: int = 0) -> list[HumanTask]:
    """Open tasks assigned to me, soonest due first."""
    return list(session.scalars(sa.select(HumanTask).where(_mine(actor)).order_by(*_by_due)
                                .limit(limit).offset(offset)))


def unclaimed_tasks(session: Session, actor: Actor, limit: int = 50, offset: int = 0) -> list[HumanTask]:
    """Open, unassigned tasks offered to one of my roles in my department, or to me by name."""
    return list(session.scalars(sa.select(HumanTask).where(_unclaimed(actor)).order_by(*_by_due)
                                .limit(limit).offset(offset)))


def done_tasks(session: Session, actor: Actor, limit: int = 50, offset: int = 0) -> list[HumanTask]:
    return list(session.scalars(
        sa.select(HumanTask).where(_done(actor))
        .order_by(HumanTask.completed_at.desc()).limit(limit).offset(offset)))


def started_cases(session: Session, actor: Actor, limit: int = 50, offset: int = 0) -> list[Case]:
    return list(session.scalars(
        sa.select(Case).where(_started(actor))
        .order_by(Case.started_at.desc()).limit(limit).offset(offset)))


HISTORY_TABS = ("started", "done")
COUNT_CAP = 1000  # the history tabs count up to this many, then say "more than" (see _capped_count)


def _capped_count(query):
    """``count(*)`` of ``query``'s rows, stopping at COUNT_CAP + 1: a person's history grows without
    end, and counting all of it made the 已办 tab grow with it (bench_inbox)."""
    return sa.select(sa.func.count()).select_from(query.limit(COUNT_CAP + 1).subquery())


def tab_counts(session: Session, actor: Actor) -> dict[str, int]:
    """How many entries each tab holds (one query); the history tabs stop at COUNT_CAP + 1."""
    def count(where):
        return sa.select(sa.func.count()).select_from(HumanTask).where(where).scalar_subquery()
    started = _capped_count(sa.select(Case.id).where(_started(actor))).scalar_subquery()
    done = _capped_count(sa.select(HumanTask.id).where(_done(actor))).scalar_subquery()
    row = session.execute(sa.select(count(_mine(actor)), count(_unclaimed(actor)), started, done)).one()
    return dict(zip(TABS, row))


# -- the inbox screen ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    process_id: str | None = None
    status: str | None = None  # TASK_STATUSES, or CASE_STATUSES on the started tab
    due_from: date | None = None
    due_to: date | None = None
    search: str | None = None  # part of a case number or title
    sort: str | None = None  # SORTS; None: the tab's own (newest completed first on 已办, else due date)


@dataclass(frozen=True)
class TaskItem:
    task: HumanTask
    case_number: str | None
    case_title: str
    process_name: str
    remaining_days: int | None  # working days left until the due date; negative when past
    state: str  # engine.deadline_state: overdue / provisional_past / due_soon / none

    @property
    def overdue(self) -> bool:
        return self.state == deadline_state.OVERDUE

    @property
    def due_soon(self) -> bool:
        return self.state == deadline_state.DUE_SOON


@dataclass(frozen=True)
class CaseItem:
    case: Case
    process_name: str
    open_tasks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    tab: str
    items: list[Any]
    total: int
    page: int
    per_page: int
    counts: dict[str, int]

    count_cap = COUNT_CAP

    @property
    def more(self) -> bool:
        """The total is a lower bound: a history tab holds more than COUNT_CAP entries (the open
        tabs are counted exactly)."""
        return self.tab in HISTORY_TABS and self.total > COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, -(-(COUNT_CAP if self.more else self.total) // self.per_page))

    def count_label(self, tab: str) -> str:
        """A tab's count as shown: ``1000+`` for a history tab beyond the cap."""
        count = self.counts.get(tab, 0)
        return f"{COUNT_CAP}+" if tab in HISTORY_TABS and count > COUNT_CAP else str(count)


def page(session: Session, actor: Actor, tab: str, filters: Filters, number: int, per_page: int,
         now: datetime, calendar: WorkingDayCalendar) -> Page:
    """One page of one tab, with every tab's count."""
    if tab not in TABS:
        raise ValueError(f"unknown inbox tab {tab!r}")
    counts = tab_counts(session, actor)
    number = max(1, number)
    if filters.sort is None:
        filters = replace(filters, sort="completed" if tab == "done" else "due")
    if tab == "started":
        items, total = _case_page(session, actor, filters, number, per_page)
    else:
        items, total = _task_page(session, actor, tab, filters, number, per_page, now, calendar)
    return Page(tab, items, total, number, per_page, counts)


def _task_page(session, actor, tab, filters, number, per_page, now, calendar):
    rule = deadline_state.at(session, now, calendar)
    where = [{"mine": _mine, "unclaimed": _unclaimed, "done": _done}[tab](actor)]
    where += _task_filters(filters, rule)
    base = sa.select(HumanTask, Case.number, Case.title, Case.rule_set, DefinitionVersion.name) \
        .join(Case, HumanTask.case_id == Case.id) \
        .join(DefinitionVersion, HumanTask.definition_id == DefinitionVersion.id).where(*where)
    ids = base.with_only_columns(HumanTask.id)
    total = session.scalar(_capped_count(ids) if tab in HISTORY_TABS else
                           sa.select(sa.func.count()).select_from(ids.subquery()))
    rows = session.execute(base.options(noload(HumanTask.candidates))
                           .order_by(*_task_order(filters.sort))
                           .limit(per_page).offset((number - 1) * per_page)).all()
    items = [task_item(*row, now=rule.now, calendar=rule.calendar, windows=rule.windows) for row in rows]
    return items, total or 0


def _task_filters(filters: Filters, rule: deadline_state.Rule) -> list:
    """The filters' conditions; a status is the task's deadline state (engine.deadline_state), except
    ``provisional`` (its due date is provisional, however far) and ``no_deadline`` (it has none)."""
    where = []
    if filters.process_id:
        where.append(HumanTask.process_id == filters.process_id)
    if filters.due_from:
        where.append(HumanTask.due_date >= filters.due_from)
    if filters.due_to:
        where.append(HumanTask.due_date <= filters.due_to)
    if filters.search:
        where.append(_search(filters.search))
    if filters.status == "overdue":
        where.append(rule.sql_is(deadline_state.OVERDUE))
    elif filters.status == "due_soon":
        where.append(rule.sql_is(deadline_state.DUE_SOON))
    elif filters.status == "provisional":
        where.append(HumanTask.provisional.is_(True))
    elif filters.status == "no_deadline":
        where.append(HumanTask.due_at.is_(None))
    return where


def _search(text: str):
    text = text.strip()
    return sa.or_(Case.number.contains(text, autoescape=True), Case.title.contains(text, autoescape=True))


def _task_order(sort: str) -> tuple:
    if sort == "created":
        return HumanTask.created_at.desc(), HumanTask.case_id.desc(), HumanTask.id
    if sort == "number":
        return Case.number.desc(), HumanTask.created_at, HumanTask.id
    if sort == "completed":
        return HumanTask.completed_at.desc(), HumanTask.id
    return (*_by_due, HumanTask.case_id, HumanTask.id)


def task_item(task: HumanTask, number: str | None, title: str, rule_set: str | None, process_name: str | None,
              *, now: datetime, calendar: WorkingDayCalendar, windows: dict[str, int]) -> TaskItem:
    """A task with its deadline state (engine.deadline_state, the rule at ``now`` with the rule sets'
    reminder ``windows``) and working days left. The case and task read models ask it too."""
    rule = deadline_state.Rule(now, calendar, windows)
    return TaskItem(task, number, title, process_name or task.process_id, rule.remaining(task),
                    rule.state(task, rule_set))


def _case_page(session, actor, filters: Filters, number: int, per_page: int):
    where = [_started(actor)]
    if filters.process_id:
        where.append(Case.process_id == filters.process_id)
    if filters.status in CASE_STATUSES:
        where.append(Case.status == filters.status)
    if filters.search:
        where.append(_search(filters.search))
    base = sa.select(Case, DefinitionVersion.name).join(
        DefinitionVersion, Case.definition_id == DefinitionVersion.id).where(*where)
    total = session.scalar(_capped_count(base.with_only_columns(Case.id)))
    order = Case.number.desc() if filters.sort == "number" else Case.started_at.desc()
    rows = session.execute(base.order_by(order, Case.id.desc())
                           .limit(per_page).offset((number - 1) * per_page)).all()
    open_tasks: dict[int, list[str]] = defaultdict(list)
    if rows:
        for case_id, name in session.execute(sa.select(HumanTask.case_id, HumanTask.name).where(
                HumanTask.case_id.in_([case.id for case, _ in rows]), HumanTask.state == "ready")
                .order_by(HumanTask.created_at)):
            open_tasks[case_id].append(name)
    return [CaseItem(case, name or case.process_id, open_tasks[case.id]) for case, name in rows], total or 0
