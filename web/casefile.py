"""The case file the task and case pages show: summary, deadline state, history, comments.

Read-only queries over the engine's tables, a fixed number per page.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from engine import inbox
from engine.domain.comments import CaseComment
from engine.domain.org import Person
from engine.errors import NotFound, PermissionDenied
from engine.models import AuditRecord, Case, DefinitionVersion, HumanTask, RuleSetRow
from engine.service import Engine, may_see_case, may_work
from engine.uow import Actor

ACTIONS = {
    "case_started": _l("Case started"),
    "task_created": _l("Task received"),
    "task_claimed": _l("Claimed"),
    "task_unclaimed": _l("Released to the shared inbox"),
    "task_transferred": _l("Transferred"),
    "task_completed": _l("Submitted"),
    "task_cancelled": _l("Task withdrawn"),
    "comment_added": _l("Comment"),
    "timer_fired": _l("Deadline timer"),
    "deadline_moved": _l("Due date moved"),
    "case_ended": _l("Case concluded"),
}
TIMER_KINDS = {"reminder": _l("Due soon: reminder sent"), "overdue": _l("Overdue: supervision"),
               "timer": _l("Timer")}
SYSTEM = _l("System")


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    who: str
    what: str
    task: str | None
    detail: str


@dataclass(frozen=True)
class CaseFile:
    case: Case
    process_name: str
    started_by: str
    rule_set: str
    history: list[HistoryEntry]
    open_tasks: list[inbox.TaskItem] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # login -> display name of those involved


def load(engine: Engine, case_id: int, actor: Actor) -> CaseFile:
    """The case file, if ``actor`` may see the case (PermissionDenied otherwise)."""
    with engine.uow() as uow:
        s = uow.session
        case = s.get(Case, case_id)
        if case is None:
            raise NotFound("案件不存在 (no such case)")
        if not may_see_case(s, case, actor):
            raise PermissionDenied("您无权查看此案件 (you may not see this case)")
        tasks = list(s.scalars(sa.select(HumanTask).where(HumanTask.case_id == case.id)
                               .order_by(HumanTask.created_at)))
        records = list(s.scalars(sa.select(AuditRecord).where(AuditRecord.case_id == case.id)
                                 .order_by(AuditRecord.id)))
        logins = {r.actor for r in records} | {case.started_by} | {t.assignee for t in tasks if t.assignee}
        names = _names(s, logins | _transfer_logins(records))
        comments = {c.id: c.text for c in s.scalars(sa.select(CaseComment).where(CaseComment.case_id == case.id))}
        process_name = s.scalar(sa.select(DefinitionVersion.name).where(DefinitionVersion.id == case.definition_id))
        windows = inbox.reminder_windows(s)
        calendar, now = engine.calendar(s), engine.clock.now()
        open_tasks = [inbox.task_item(t, case.number, case.title, case.rule_set, process_name,
                                      now=now, calendar=calendar, windows=windows)
                      for t in tasks if t.state == "ready"]
        task_names = {t.id: t.name for t in tasks}
        history = [_entry(r, names, task_names, comments) for r in records]
        return CaseFile(case, process_name or case.process_id, names.get(case.started_by, case.started_by),
                        _rule_set_title(s, case.rule_set), history, open_tasks, names)


def first_task_for(engine: Engine, case_id: int, actor: Actor) -> str | None:
    """The case's first open task ``actor`` may work on, if any (where a new case leads its starter)."""
    with engine.uow() as uow:
        rows = uow.session.scalars(sa.select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.state == "ready").order_by(HumanTask.created_at))
        return next((row.id for row in rows if may_work(row, actor)), None)


def case_number(engine: Engine, case_id: int) -> str:
    with engine.uow() as uow:
        return uow.session.scalar(sa.select(Case.number).where(Case.id == case_id)) or str(case_id)


def _names(session, logins: set[str]) -> dict[str, str]:
    people = session.execute(sa.select(Person.login, Person.display_name).where(Person.login.in_(logins)))
    return {login: name for login, name in people}


def _transfer_logins(records) -> set[str]:
    found = set()
    for r in records:
        if r.action == "task_transferred":
            summary = json.loads(r.summary or "{}")
            found |= {v for v in (summary.get("from"), summary.get("to")) if v}
    return found


def _rule_set_title(session, key: str | None) -> str:
    if not key:
        return ""
    name, _, version = key.partition("@")
    title = session.scalar(sa.select(RuleSetRow.title).where(RuleSetRow.name == name,
                                                             RuleSetRow.version == int(version or 1)))
    return f"{key} {title}" if title else key


def _entry(record: AuditRecord, names: dict[str, str], tasks: dict[str, str], comments: dict[int, str]) -> HistoryEntry:
    who = str(SYSTEM) if record.actor.startswith("system:") else names.get(record.actor, record.actor)
    what = str(ACTIONS.get(record.action, record.action))
    return HistoryEntry(record.at, who, what, tasks.get(record.task_id),
                        _detail(record, json.loads(record.summary or "{}"), names, comments))


def _detail(record: AuditRecord, summary: dict, names: dict[str, str], comments: dict[int, str]) -> str:
    action = record.action
    if action == "comment_added":
        return comments.get(summary.get("comment_id"), summary.get("text", ""))
    if action == "task_completed":
        return "; ".join(f"{k}: {v}" for k, v in (summary.get("data") or {}).items())
    if action == "task_transferred":
        before = names.get(summary.get("from"), summary.get("from")) or "—"
        return f"{before} → {names.get(summary.get('to'), summary.get('to'))}"
    if action == "timer_fired":
        return str(TIMER_KINDS.get(summary.get("kind"), summary.get("kind", "")))
    if action == "deadline_moved":
        return f"{str(summary.get('old', ''))[:16]} → {str(summary.get('new', ''))[:16]}"
    if action == "case_ended":
        return str(summary.get("outcome") or "")
    return ""
