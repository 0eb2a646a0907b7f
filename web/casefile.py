"""The case file as the task and case pages show it: summary, history with labels and the forms'
wording, and what only the case page adds (deadlines with their moves, domain records, comments),
worded from the engine's read models (``engine.views.cases``) for the page's language."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from engine import inbox
from engine.calendar import BEIJING
from engine.record_views import RecordView
from engine.forms import FormField
from engine.views import cases

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
    case: cases.CaseRow
    process_name: str
    started_by: str
    rule_set: str
    history: list[HistoryEntry]
    open_tasks: list[inbox.TaskItem] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # login -> display name of those involved


def file_of(found: cases.CaseFile) -> CaseFile:
    """The case file worded for the page."""
    names, comments = found.names, {c.id: c.text for c in found.comments}
    history = [_entry(e, names, found.task_names, comments, found.forms.get(e.task_id, {})) for e in found.timeline]
    return CaseFile(found.case, found.case.process_name, actor_name(found.case.started_by, names),
                    found.rule_set_title, history, list(found.open_tasks), names)


def _entry(record: cases.AuditEntry, names: dict[str, str], tasks: dict[str, str], comments: dict[int, str],
           fields: dict[str, FormField]) -> HistoryEntry:
    who = actor_name(record.actor, names)
    what = gettext(record.label) if record.label else record.action
    return HistoryEntry(record.at, who, what, tasks.get(record.task_id),
                        _detail(record, record.summary, names, comments, fields, tasks))


def actor_name(login: str, names: dict[str, str]) -> str:
    """Who an audit record names: a person's display name, the system, or the public."""
    if login.startswith("system:"):
        return str(SYSTEM)
    if login.startswith("public:"):
        return str(PUBLIC.get(login.partition(":")[2], login))
    return names.get(login, login)


def _detail(record: cases.AuditEntry, summary: dict, names: dict[str, str], comments: dict[int, str],
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
    row: cases.DeadlineRow
    task: str  # the name of the task the timer watches, else the timer's own name
    due: str
    kind: str
    state: str
    moves: list[DeadlineMove]


@dataclass(frozen=True)
class CasePage:
    file: CaseFile
    deadlines: list[DeadlineView]
    records: tuple[RecordView, ...]
    comments: list[tuple[datetime, str, str]]  # when, who, text
    names: dict[str, str]  # login -> display name of everyone the page names
    periods: list = field(default_factory=list)  # engine.periods.PeriodView: the statutory periods
    departments: dict[str, str] = field(default_factory=dict)  # code -> name of the periods' departments


def page_of(found: cases.CasePage) -> CasePage:
    """The case page worded for the page: the file, deadlines with their moves, comments."""
    names = found.names
    moves = [e for e in found.file.timeline if e.action == "deadline_moved"]
    deadlines = [_deadline(row, found.watched.get(row.id, row.element_id), moves, names) for row in found.deadlines]
    comments = [(c.created_at, names.get(c.author, c.author), c.text) for c in found.file.comments]
    return CasePage(file_of(found.file), deadlines, found.records, comments, names, list(found.periods),
                    found.departments)


def _deadline(row: cases.DeadlineRow, task: str, moves: list[cases.AuditEntry], names: dict[str, str]) -> DeadlineView:
    due = row.due_date.isoformat() if row.due_date else due_text(row.due_at.isoformat())
    return DeadlineView(row, task, due, str(DEADLINE_KINDS.get(row.kind, row.kind)),
                        str(DEADLINE_STATES.get(row.state, row.state)),
                        [_move(m, names) for m in moves if m.task_id == row.id])


def _move(record: cases.AuditEntry, names: dict[str, str]) -> DeadlineMove:
    summary = record.summary
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
