"""The case file the task and case pages show: summary, deadline state, history, comments; and what
only the case page adds: every deadline with its moves, the domain records, the comments.

Read-only queries over the engine's tables, a fixed number per page.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from engine import inbox, periods
from engine.case_diagram import element_forms
from engine.calendar import BEIJING
from engine.domain.case_records import CaseRecords, records_of_case
from engine.domain.comments import CaseComment
from engine.domain.org import Department, Person
from engine.errors import NotFound, PermissionDenied
from engine.forms import FormField
from engine.models import AuditRecord, Case, Deadline, DefinitionVersion, HumanTask, RuleSetRow
from engine.service import Engine, may_see_case, may_work
from engine.uow import Actor

from . import caserecords

ACTIONS = {
    "case_started": _l("Case started"),
    "task_created": _l("Task received"),
    "task_claimed": _l("Claimed"),
    "task_unclaimed": _l("Released to the shared inbox"),
    "task_transferred": _l("Transferred"),
    "task_reassigned": _l("Reassigned by the data authority"),
    "task_urged": _l("Urged"),
    "task_completed": _l("Submitted"),
    "task_cancelled": _l("Task withdrawn"),
    "comment_added": _l("Comment"),
    "timer_fired": _l("Deadline timer"),
    "deadline_moved": _l("Due date moved"),
    "period_opened": _l("Statutory period started"),
    "period_overdue": _l("Statutory period passed"),
    "period_closed": _l("Statutory period ended"),
    "period_moved": _l("Statutory period moved"),
    "violation_deadline_moved": _l("Rectification deadline moved"),
    "inconsistency_proposed": _l("Resolution proposed"),
    "inconsistency_confirmed": _l("Corrections confirmed"),
    "negotiation_lapsed": _l("Negotiation period passed"),
    "case_ended": _l("Case concluded"),
    "task_returned": _l("Returned to the previous step"),
    "attachment_added": _l("Evidence file added"),
    "case_migrated": _l("Moved to a new version of the procedure"),
    "share_application_submitted": _l("Share application submitted"),
    "share_application_supplemented": _l("Application materials supplemented"),
    "share_application_granted": _l("Share application granted"),
    "share_application_refused": _l("Share application refused"),
    "share_application_withdrawn": _l("Share application withdrawn"),
    "share_application_coordinated": _l("Refusal coordinated by the authority"),
    "grant_created": _l("Grant issued"),
    "grant_revoked": _l("Grant revoked"),
    "grant_expired": _l("Grant expired"),
    "grant_expiry_notified": _l("Consumer told the grant expires soon"),
    "grant_renewal_applied": _l("Renewal of a grant applied for"),
    "objection_received": _l("Objection received"),
    "objection_answered": _l("Objection answered"),
    "objection_extension_requested": _l("Extension requested"),
    "objection_extension_decided": _l("Extension decided"),
    "inconsistency_reported": _l("Inconsistency reported"),
    "inconsistency_position": _l("Position stated"),
    "inconsistency_decided": _l("Inconsistency settled"),
    "inconsistency_corrected": _l("Correction recorded"),
    "violation_recorded": _l("Violation recorded"),
    "violation_notified": _l("Rectification notice issued"),
    "violation_rectified": _l("Rectification accepted"),
    "violation_ordered": _l("Ordered to correct within a time limit"),
    "violation_criticised": _l("Public criticism issued"),
    "violation_referred": _l("Referred for disciplinary measures"),
    "violation_closed": _l("Violation closed"),
    "violation_case_attached": _l("Violation linked to this case"),
    "supervision_opened": _l("Supervision item opened"),
    "supervision_confirmed": _l("Supervision item confirmed as a violation"),
    "supervision_resolved": _l("Supervision item resolved"),
    "catalog_published": _l("Catalog version published"),
}
TIMER_KINDS = {"reminder": _l("Due soon: reminder sent"), "overdue": _l("Overdue: supervision"),
               "timer": _l("Timer")}
SYSTEM = _l("System")
PUBLIC = {"natural_person": _l("The public (a natural person)"), "legal_person": _l("The public (a legal person)"),
          "other_organisation": _l("The public (another organisation)")}  # web.public's audit actors
YES, NO = _l("Yes"), _l("No")


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
        # the forms through this unit of work's session: engine.element_forms opens a second one,
        # which on SQLite waits for this one's lock when the definition cache is cold (a fresh process)
        forms_of = element_forms(engine.definitions.get(s, case.definition_id))
        fields = {t.id: {f.id: f for f in forms_of.get(t.element_id, ())} for t in tasks}
        history = [_entry(r, names, task_names, comments, fields.get(r.task_id, {})) for r in records]
        return CaseFile(case, process_name or case.process_id, actor_name(case.started_by, names),
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
        if r.action in ("task_transferred", "task_reassigned"):
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


def _entry(record: AuditRecord, names: dict[str, str], tasks: dict[str, str], comments: dict[int, str],
           fields: dict[str, FormField]) -> HistoryEntry:
    who = actor_name(record.actor, names)
    what = str(ACTIONS.get(record.action, record.action))
    return HistoryEntry(record.at, who, what, tasks.get(record.task_id),
                        _detail(record, json.loads(record.summary or "{}"), names, comments, fields, tasks))


def actor_name(login: str, names: dict[str, str]) -> str:
    """Who an audit record names: a person's display name, the system, or the public."""
    if login.startswith("system:"):
        return str(SYSTEM)
    if login.startswith("public:"):
        return str(PUBLIC.get(login.partition(":")[2], login))
    return names.get(login, login)


def _detail(record: AuditRecord, summary: dict, names: dict[str, str], comments: dict[int, str],
            fields: dict[str, FormField], tasks: dict[str, str]) -> str:
    action = record.action
    if action == "comment_added":
        return comments.get(summary.get("comment_id"), summary.get("text", ""))
    if action == "task_completed":
        return "; ".join(_field_text(fields.get(k), k, v) for k, v in (summary.get("data") or {}).items())
    if action == "task_urged":
        return summary.get("note") or ""
    if action in ("task_transferred", "task_reassigned"):
        before = names.get(summary.get("from"), summary.get("from")) or "—"
        return f"{before} → {names.get(summary.get('to'), summary.get('to'))}"
    if action == "timer_fired":
        return str(TIMER_KINDS.get(summary.get("kind"), summary.get("kind", "")))
    if action == "deadline_moved":
        return f"{due_text(summary.get('old'))} → {due_text(summary.get('new'))}"
    if action in ("period_opened", "period_overdue", "period_closed"):
        return _period_detail(summary)
    if action == "period_moved":
        return f"{(summary.get('old') or {}).get('due_date')} → {(summary.get('new') or {}).get('due_date')}"
    if action == "case_ended":
        return str(summary.get("outcome") or "")
    if action == "task_returned":
        return f"→ {tasks.get(summary.get('to_task'), summary.get('to', ''))}: {summary.get('reason', '')}"
    if action == "attachment_added":
        return str(summary.get("name") or "")
    return ""


PERIOD_STATES = {"running": _l("Running"), "met": _l("Met"), "late": _l("Late"),
                 "lapsed": _l("Lapsed (the applicant did not act)")}
PARTIES = {"department": _l("Department"), "authority": _l("Data authority"), "applicant": _l("Applicant"),
           "county_gov": _l("County government")}


def _period_detail(summary: dict) -> str:
    """“第9条 · 部门 · 至 2026-11-23（暂定）”: the article, the party, the end, and what came of it."""
    parts = [str(_l("Art. %(article)s", article=summary.get("article"))) if summary.get("article") else "",
             str(PARTIES.get(summary.get("party"), summary.get("party") or "")),
             str(_l("until %(day)s", day=summary.get("due_date"))) if summary.get("due_date") else "",
             str(_l("provisional")) if summary.get("provisional") else "",
             str(PERIOD_STATES.get(summary.get("state"), "")) if summary.get("state") else ""]
    return " · ".join(p for p in parts if p)


def _field_text(f: FormField | None, key: str, value) -> str:
    """“审批结果: 同意” rather than “decision: approve”: the form's label and option names."""
    if f is None:
        return f"{key}: {value}"
    if isinstance(value, bool):
        shown = str(YES if value else NO)
    else:
        shown = next((o.name for o in f.options if o.id == str(value)), "" if value is None else str(value))
    return f"{f.label}: {shown}"


# -- the case page: deadlines with their moves, domain records, comments ------------------------

DEADLINE_KINDS = {"reminder": _l("Reminder"), "overdue": _l("Overdue escalation"), "timer": _l("Timer")}
DEADLINE_STATES = {"waiting": _l("Counting down"), "fired": _l("Reached"), "cancelled": _l("Ended early")}


@dataclass(frozen=True)
class DeadlineMove:
    at: datetime
    who: str
    old: str
    new: str
    reason: str


@dataclass(frozen=True)
class DeadlineView:
    row: Deadline
    task: str  # the name of the task the timer watches, else the timer's own name
    due: str
    kind: str
    state: str
    moves: list[DeadlineMove]


@dataclass(frozen=True)
class CasePage:
    file: CaseFile
    deadlines: list[DeadlineView]
    records: CaseRecords
    comments: list[tuple[datetime, str, str]]  # when, who, text
    names: dict[str, str]  # login -> display name of everyone the page names
    periods: list = field(default_factory=list)  # engine.periods.PeriodView: the statutory periods
    departments: dict[str, str] = field(default_factory=dict)  # code -> name of the periods' departments


def load_page(engine: Engine, case_id: int, actor: Actor) -> CasePage:
    """The case file plus what only the case page shows (PermissionDenied as for ``load``)."""
    file = load(engine, case_id, actor)
    with engine.uow() as uow:
        s = uow.session
        rows = list(s.scalars(sa.select(Deadline).where(Deadline.case_id == case_id)
                              .order_by(Deadline.due_at, Deadline.created_at)))
        moves = list(s.scalars(sa.select(AuditRecord).where(AuditRecord.case_id == case_id,
                                                            AuditRecord.action == "deadline_moved")
                               .order_by(AuditRecord.id)))
        tasks = dict(s.execute(sa.select(HumanTask.id, HumanTask.name).where(HumanTask.case_id == case_id)).all())
        records = records_of_case(s, case_id)
        period_views = periods.views(engine, s, file.case)
        codes = {p.department for p in period_views if p.department}
        departments = dict(s.execute(sa.select(Department.code, Department.name)
                                     .where(Department.code.in_(codes))).all()) if codes else {}
        notes = list(s.scalars(sa.select(CaseComment).where(CaseComment.case_id == case_id)
                               .order_by(CaseComment.created_at, CaseComment.id)))
        logins = {m.actor for m in moves} | {c.author for c in notes} | caserecords.people(records)
        names = {**file.names, **_names(s, logins - set(file.names))}
    comments = [(c.created_at, names.get(c.author, c.author), c.text) for c in notes]
    elements = engine.element_names(file.case.definition_id) if rows else {}
    views = [_deadline(row, tasks.get(row.human_task_id or "") or elements.get(row.element_id, row.element_id),
                       moves, names) for row in rows]
    return CasePage(file, views, records, comments, names, period_views, departments)


def _deadline(row: Deadline, task: str, moves: list[AuditRecord], names: dict[str, str]) -> DeadlineView:
    due = row.due_date.isoformat() if row.due_date else due_text(row.due_at.isoformat())
    return DeadlineView(row, task, due, str(DEADLINE_KINDS.get(row.kind, row.kind)),
                        str(DEADLINE_STATES.get(row.state, row.state)),
                        [_move(m, names) for m in moves if m.task_id == row.id])


def _move(record: AuditRecord, names: dict[str, str]) -> DeadlineMove:
    summary = json.loads(record.summary or "{}")
    who = actor_name(record.actor, names)
    return DeadlineMove(record.at, who, due_text(summary.get("old")), due_text(summary.get("new")),
                        str(summary.get("reason") or ""))


def due_text(instant: str | None) -> str:
    """A due instant as the office reads it: midnight Beijing is the previous day's 24:00."""
    try:
        local = datetime.fromisoformat(str(instant)).astimezone(BEIJING)
    except (TypeError, ValueError):
        return str(instant or "—")
    if local.time() == time(0, 0):
        return f"{(local.date() - timedelta(days=1)).isoformat()} 24:00"
    return local.strftime("%Y-%m-%d %H:%M")
