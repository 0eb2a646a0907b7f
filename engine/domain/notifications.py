"""In-app notifications (the bell in the header): new tasks, reminders, overdue tasks, urges, answers.

Written in the transaction that causes them: ``on_advance`` is an engine hook (``Engine.hooks``) run
after every case step; an urge comes from the supervision page through ``notify``. The text is
language-neutral (case number, title, task name); the UI adds the translated kind.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..models import Base, Case, Deadline, HumanTask, UTCDateTime
from .org import eligible_logins

KINDS = ("new_task", "reminder", "overdue", "urge", "answer", "returned",
         "grant_revoked", "grant_expiring")  # engine.grant_service: the consumer's grant
TEXT_LENGTH = 500


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_login_read", "login", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(64))  # the person notified
    kind: Mapped[str] = mapped_column(sa.String(20))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    text: Mapped[str] = mapped_column(sa.String(TEXT_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def notify(uow, logins: Iterable[str], kind: str, case_id: int | None, task_id: str | None,
           text: str, now: datetime) -> int:
    """Add one notification per person (system actors and repeats skipped); return how many."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    # The public has no inbox: an objector reads the answer with the receipt code (art. 18).
    people = [login for login in dict.fromkeys(logins)
              if login and not login.startswith(("system:", "public:"))]
    uow.session.add_all([Notification(login=login, kind=kind, case_id=case_id, task_id=task_id,
                                      text=text[:TEXT_LENGTH], created_at=now) for login in people])
    return len(people)


def unread_count(session: Session, login: str) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.login == login, Notification.read_at.is_(None))) or 0


def total_count(session: Session, login: str) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.login == login)) or 0


def recent(session: Session, login: str, limit: int = 50, offset: int = 0) -> list[Notification]:
    """My notifications, newest first."""
    return list(session.scalars(sa.select(Notification).where(Notification.login == login)
                                .order_by(Notification.created_at.desc(), Notification.id.desc())
                                .limit(limit).offset(offset)))


def mark_read(session: Session, login: str, now: datetime, ids: Iterable[int] | None = None) -> int:
    """Mark my unread notifications (all, or those in ``ids``) read; return how many changed."""
    query = sa.update(Notification).where(Notification.login == login, Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    return session.execute(query.values(read_at=now)).rowcount


# -- the engine hook ----------------------------------------------------------------------------

def on_advance(uow, case: Case, workflow, actor, now: datetime) -> None:
    """Notify who this step concerns: people offered a new task, people whose task's reminder or
    overdue timer fired, and the case's starter when the case ends (the answer to an application
    or objection)."""
    entries = _unseen_entries(uow, case.id)
    created = [e.task_id for e in entries if e.action == "task_created"]
    fired = {e.task_id: e.summary["kind"] for e in entries
             if e.action == "timer_fired" and (e.summary or {}).get("kind") in ("reminder", "overdue")
             and not e.summary.get("repeat")}  # a period is reminded and escalated once
    provisional = {e.task_id for e in entries if e.action == "timer_fired" and (e.summary or {}).get("provisional")}
    for row in _task_rows(uow, case.id, created):
        _notify_task(uow, row, "new_task", case, now, skip=actor.username)
    for row, kind, deadline_id in _tasks_of_timers(uow.session, fired):
        _notify_task(uow, row, kind, case, now, provisional=deadline_id in provisional)
    if workflow.is_completed() and case.status == "running" and case.started_by != actor.username:
        outcome = workflow.data.get("outcome")
        notify(uow, [case.started_by], "answer", case.id, None,
               _case_text(case) + (f" · {outcome}" if outcome else ""), now)


def _unseen_entries(uow, case_id: int) -> list:
    """This case's audit entries of the unit of work that no earlier run of the hook handled."""
    seen = uow.session.info.setdefault("notifications_seen", {})  # id -> entry, keeps ids unique
    entries = [e for e in uow.audit if e.case_id == case_id and id(e) not in seen]
    seen.update((id(e), e) for e in entries)
    return entries


def _task_rows(uow, case_id: int, task_ids: list[str]) -> list[HumanTask]:
    """The open rows of these tasks: as the unit of work projected them, else from the database."""
    if not task_ids:
        return []
    step = uow.steps.get(case_id)
    projected = step.open_tasks if step is not None else None
    if projected is not None:
        return [projected[i] for i in task_ids if i in projected]
    return list(uow.session.scalars(sa.select(HumanTask).where(HumanTask.id.in_(task_ids),
                                                               HumanTask.state == "ready")))


def _tasks_of_timers(session: Session, fired: dict[str, str]) -> list[tuple[HumanTask, str]]:
    if not fired:
        return []
    query = sa.select(HumanTask, Deadline.id).join(Deadline, Deadline.human_task_id == HumanTask.id).where(
        Deadline.id.in_(list(fired)), HumanTask.state == "ready")
    return [(row, fired[deadline_id], deadline_id) for row, deadline_id in session.execute(query)]


def _notify_task(uow, row: HumanTask, kind: str, case: Case, now: datetime, skip: str | None = None,
                 provisional: bool = False) -> None:
    logins = [login for login in eligible_logins(uow.session, row) if login != skip]
    text = f"{_case_text(case)} · {row.name}" + (" · 期限暂定" if provisional else "")  # docs/deadlines.md: 暂定
    notify(uow, logins, kind, case.id, row.id, text, now)


def _case_text(case: Case) -> str:
    return f"{case.number or case.id} {case.title}".strip()
