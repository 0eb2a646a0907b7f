"""Inbox queries over the human-task projection (待办 / 待签收 / 已办 / 我发起的)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import Case, HumanTask, TaskCandidate
from .uow import Actor


def my_tasks(session: Session, actor: Actor, limit: int = 50, offset: int = 0) -> list[HumanTask]:
    """Open tasks assigned to me, soonest due first."""
    return list(session.scalars(
        sa.select(HumanTask).where(HumanTask.assignee == actor.username, HumanTask.state == "ready")
        .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)
        .limit(limit).offset(offset)))


def unclaimed_tasks(session: Session, actor: Actor, limit: int = 50, offset: int = 0) -> list[HumanTask]:
    """Open, unassigned tasks offered to one of my roles in my department, or to me by name."""
    by_role = sa.select(TaskCandidate.task_id).where(
        TaskCandidate.kind == "group", TaskCandidate.value.in_(sorted(actor.roles) or [""]))
    by_user = sa.select(TaskCandidate.task_id).where(
        TaskCandidate.kind == "user", TaskCandidate.value == actor.username)
    in_scope = sa.or_(HumanTask.department.is_(None), HumanTask.department == actor.department)
    query = sa.select(HumanTask).where(
        HumanTask.state == "ready", HumanTask.assignee.is_(None),
        sa.or_(sa.and_(HumanTask.id.in_(by_role), in_scope), HumanTask.id.in_(by_user)))
    return list(session.scalars(query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at,
                                               HumanTask.created_at).limit(limit).offset(offset)))


def done_tasks(session: Session, actor: Actor, limit: int = 50, offset: int = 0) -> list[HumanTask]:
    return list(session.scalars(
        sa.select(HumanTask).where(HumanTask.completed_by == actor.username)
        .order_by(HumanTask.completed_at.desc()).limit(limit).offset(offset)))


def started_cases(session: Session, actor: Actor, limit: int = 50, offset: int = 0) -> list[Case]:
    return list(session.scalars(
        sa.select(Case).where(Case.started_by == actor.username)
        .order_by(Case.started_at.desc()).limit(limit).offset(offset)))


def overdue_tasks(session: Session, now: datetime, limit: int = 100) -> list[HumanTask]:
    return list(session.scalars(
        sa.select(HumanTask).where(HumanTask.state == "ready", HumanTask.due_at < now,
                                   HumanTask.provisional.is_(False))
        .order_by(HumanTask.due_at).limit(limit)))
