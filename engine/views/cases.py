"""Read models of a case, one for the pages and the API alike: the case file (summary, open tasks
with their deadline state, the timeline of audit records with the names of those who acted,
comments), the case page (the file plus deadlines, statutory periods and the domain records), and the
case's status as the API answers it. Each is one unit of work that returns plain values; a case is
for whoever may see it (``engine.service.may_see_case``)."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from .. import inbox, periods
from ..case_diagram import element_forms, element_names
from ..domain.case_records import record_views_of_case
from ..procedures import action_labels, record_viewers
from ..record_views import RecordView, copy_into
from ..domain.comments import CaseComment
from ..domain.org import Department, Person
from ..errors import NotFound, PermissionDenied
from ..forms import FormField
from ..models import AuditRecord, Case, Deadline, DefinitionVersion, HumanTask, RuleSetRow
from ..service import may_see_case, may_work
from ..uow import Actor
from ..messages import msg

NO_CASE = msg("case.not_found", "no such case")
NOT_YOURS = msg("case.not_visible", "you may not see this case")


@dataclass(frozen=True)
class CaseRow:
    """A case's row (the ``Case`` attributes the front ends read) and its procedure's name."""

    id: int
    number: str | None
    title: str
    process_id: str
    process_name: str
    definition_id: int
    status: str
    outcome: str | None
    rule_set: str | None
    started_by: str
    started_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, case: Case, process_name: str | None) -> "CaseRow":
        return copy_into(cls, case, process_name=process_name or case.process_id)


@dataclass(frozen=True)
class TaskRow:
    """A human task's row; ``users()`` and ``groups()`` as the row's, so the role rule reads it alike."""

    id: str
    case_id: int
    process_id: str
    definition_id: int
    element_id: str
    name: str
    role: str | None
    department: str | None
    assignee: str | None
    state: str
    created_at: datetime
    completed_at: datetime | None
    completed_by: str | None
    due_at: datetime | None
    due_date: date | None
    provisional: bool
    overdue: bool
    candidate_groups: tuple[str, ...] = ()
    candidate_users: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: HumanTask) -> "TaskRow":
        return copy_into(cls, row, candidate_groups=tuple(row.groups()), candidate_users=tuple(row.users()))

    def groups(self) -> list[str]:
        return list(self.candidate_groups)

    def users(self) -> list[str]:
        return list(self.candidate_users)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str  # login, system:<job> or public:<objector kind>
    action: str
    task_id: str | None
    summary: dict[str, Any]
    label: str | None = None  # the action's message id (engine/labels.py, a procedure's labels.ACTIONS)


@dataclass(frozen=True)
class DeadlineRow:
    id: str
    human_task_id: str | None
    element_id: str
    kind: str  # overdue / reminder / timer
    due_at: datetime
    due_date: date | None
    provisional: bool
    held: bool
    state: str  # waiting / fired / cancelled
    fired_at: datetime | None


@dataclass(frozen=True)
class CommentRow:
    id: int
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class CaseFile:
    """What the task page and the case page show of a case, and the API's timeline."""

    case: CaseRow
    rule_set_title: str  # "key title" of the case's rule set, "" without one
    open_tasks: tuple[inbox.TaskItem, ...]  # oldest first, ``task`` a TaskRow
    timeline: tuple[AuditEntry, ...]  # oldest first
    task_names: dict[str, str]  # task id -> name, of every task of the case
    forms: dict[str, dict[str, FormField]]  # task id -> its form's fields by id (the history's labels)
    comments: tuple[CommentRow, ...]  # oldest first
    names: dict[str, str]  # login -> display name of those involved


@dataclass(frozen=True)
class CasePage:
    file: CaseFile
    deadlines: tuple[DeadlineRow, ...]  # earliest due first
    watched: dict[str, str]  # deadline id -> the name of the task it watches, else of its timer
    records: tuple[RecordView, ...]  # the domain records the case produced (engine.record_views)
    periods: tuple[periods.PeriodView, ...]
    departments: dict[str, str]  # code -> name of the periods' departments
    names: dict[str, str]  # login -> display name of everyone the page names
    incident: "IncidentRow | None" = None  # why the case is stopped, while an incident is open


@dataclass(frozen=True)
class CaseStatus:
    """The case as the API answers it: summary, open tasks, deadlines, statutory periods."""

    case: CaseRow
    open_tasks: tuple[inbox.TaskItem, ...]
    workable: frozenset[str]  # ids of the open tasks the reader may work
    deadlines: tuple[DeadlineRow, ...]
    periods: tuple[periods.PeriodView, ...]


def case_file(engine, case_id: int, actor: Actor) -> CaseFile:
    """The case file (the task page reads it with the task: ``engine.views.tasks.task_page``)."""
    with engine.uow(read_only=True) as uow:
        return file_in(engine, uow.session, visible_case(uow.session, case_id, actor))


def case_page(engine, case_id: int, actor: Actor) -> CasePage:
    """The case file plus every deadline, statutory period and domain record of the case."""
    with engine.uow(read_only=True) as uow:
        s = uow.session
        case = visible_case(s, case_id, actor)
        bundle = engine.runner.bundle(s, case)
        file = file_in(engine, s, case, bundle)
        deadlines = deadlines_of(s, case.id)
        elements = element_names(bundle) if deadlines else {}
        watched = {d.id: file.task_names.get(d.human_task_id or "") or elements.get(d.element_id, d.element_id)
                   for d in deadlines}
        records = record_views_of_case(s, case.id, record_viewers(engine.procedures))
        period_views = tuple(periods.views(engine, s, case))
        codes = {p.department for p in period_views if p.department}
        departments = dict(s.execute(sa.select(Department.code, Department.name)
                                     .where(Department.code.in_(codes))).all()) if codes else {}
        names = {**file.names, **display_names(s, set().union(*(r.people for r in records)) - set(file.names))}
        from .incidents import case_incident
        incident = case_incident(s, case.id) if case.status == "incident" else None
        return CasePage(file, deadlines, watched, records, period_views, departments, names, incident)


def case_status(engine, case_id: int, actor: Actor) -> CaseStatus:
    """The case's summary, open tasks (and which the reader may work), deadlines and periods."""
    with engine.uow(read_only=True) as uow:
        s = uow.session
        case = visible_case(s, case_id, actor)
        process_name = procedure_name(s, case.definition_id)
        rows = list(s.scalars(sa.select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.state == "ready")
                              .order_by(HumanTask.created_at, HumanTask.id)))
        return CaseStatus(CaseRow.of(case, process_name), task_items(engine, s, case, process_name, rows),
                          frozenset(r.id for r in rows if may_work(r, actor)), deadlines_of(s, case.id),
                          tuple(periods.views(engine, s, case)))


# -- the parts, inside the caller's unit of work -----------------------------------------------

def visible_case(session, case_id: int, actor: Actor) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(NO_CASE)
    if not may_see_case(session, case, actor):
        raise PermissionDenied(NOT_YOURS)
    return case


def file_in(engine, session, case: Case, bundle=None) -> CaseFile:
    """The case file, read through ``session`` (the definition's parsed spec too: a second unit of
    work would wait for this one's lock on SQLite)."""
    s = session
    process_name = procedure_name(s, case.definition_id)
    tasks = list(s.scalars(sa.select(HumanTask).where(HumanTask.case_id == case.id).order_by(HumanTask.created_at)))
    labels = action_labels(engine.procedures)
    timeline = tuple(_entry(r, labels) for r in s.scalars(sa.select(AuditRecord).where(AuditRecord.case_id == case.id)
                                                   .order_by(AuditRecord.id)))
    comments = tuple(copy_into(CommentRow, c) for c in s.scalars(
        sa.select(CaseComment).where(CaseComment.case_id == case.id).order_by(CaseComment.created_at, CaseComment.id)))
    logins = ({e.actor for e in timeline} | {case.started_by} | {t.assignee for t in tasks if t.assignee}
              | {c.author for c in comments} | _transfer_logins(timeline))
    forms_of = element_forms(bundle if bundle is not None else engine.runner.bundle(s, case))
    return CaseFile(CaseRow.of(case, process_name), _rule_set_title(s, case.rule_set),
                    task_items(engine, s, case, process_name, [t for t in tasks if t.state == "ready"]),
                    timeline, {t.id: t.name for t in tasks},
                    {t.id: {f.id: f for f in forms_of.get(t.element_id, ())} for t in tasks},
                    comments, display_names(s, logins))


def task_items(engine, session, case: Case, process_name: str | None,
               rows: list[HumanTask]) -> tuple[inbox.TaskItem, ...]:
    """Open tasks with their deadline state (working days left, overdue, due soon)."""
    if not rows:
        return ()
    windows, calendar, now = inbox.reminder_windows(session), engine.calendar(session), engine.clock.now()
    return tuple(replace(inbox.task_item(row, case.number, case.title, case.rule_set, process_name,
                                         now=now, calendar=calendar, windows=windows), task=TaskRow.of(row))
                 for row in rows)


def deadlines_of(session, case_id: int) -> tuple[DeadlineRow, ...]:
    return tuple(copy_into(DeadlineRow, d) for d in session.scalars(
        sa.select(Deadline).where(Deadline.case_id == case_id)
        .order_by(Deadline.due_at, Deadline.created_at, Deadline.id)))


def display_names(session, logins: set[str]) -> dict[str, str]:
    if not logins:
        return {}
    return dict(session.execute(sa.select(Person.login, Person.display_name).where(Person.login.in_(logins))).all())


def summary_of(record: AuditRecord) -> dict[str, Any]:
    """An audit record's summary as a dict (a non-object under ``value``; unreadable: empty)."""
    try:
        found = json.loads(record.summary or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {"value": found}


def _entry(record: AuditRecord, labels: dict[str, str] | None = None) -> AuditEntry:
    return AuditEntry(record.id, record.at, record.actor, record.action, record.task_id, summary_of(record),
                      (labels or {}).get(record.action))


def _transfer_logins(timeline: tuple[AuditEntry, ...]) -> set[str]:
    found = set()
    for e in timeline:
        if e.action in ("task_transferred", "task_reassigned"):
            found |= {v for v in (e.summary.get("from"), e.summary.get("to")) if v}
    return found


def procedure_name(session, definition_id: int) -> str | None:
    return session.scalar(sa.select(DefinitionVersion.name).where(DefinitionVersion.id == definition_id))


def _rule_set_title(session, key: str | None) -> str:
    if not key:
        return ""
    name, _, version = key.partition("@")
    title = session.scalar(sa.select(RuleSetRow.title).where(RuleSetRow.name == name,
                                                             RuleSetRow.version == int(version or 1)))
    return f"{key} {title}" if title else key
