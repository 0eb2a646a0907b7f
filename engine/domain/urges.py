"""催办 (urge): the data authority's reminder to whoever holds an open task (glossary; art. 26).

Each urge is kept (who, when, the note) and audited as ``task_urged``; the people who may work the
task are notified. The task page shows how often a task was urged and when last.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import audit
from ..errors import InvalidForm
from ..messages import msg
from ..models import Base, Case, HumanTask, UTCDateTime
from .notifications import notify
from .org import eligible_people

NOTE_LENGTH = 500


class Urge(Base):
    __tablename__ = "urge"
    __table_args__ = (sa.Index("ix_urge_task_at", "task_id", "urged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(sa.String(36))
    urged_by: Mapped[str] = mapped_column(sa.String(200))
    urged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.String(NOTE_LENGTH), default="")
    notified: Mapped[int] = mapped_column(default=0)  # how many people the urge reached


@dataclass(frozen=True)
class UrgeSummary:
    count: int
    last_at: datetime
    last_by: str


def urge(uow, task: HumanTask, case: Case, by: str, note: str, now: datetime) -> Urge:
    """Record an urge on an open task and notify its assignee, or everyone it is offered to."""
    note = (note or "").strip()
    if len(note) > NOTE_LENGTH:
        raise InvalidForm({"note": msg("urges.note_too_long", "the note has at most {max_length} characters",
                                        max_length=NOTE_LENGTH)})
    logins = [p.login for p in eligible_people(uow.session, task)]
    text = f"{case.number or case.id} {case.title} · {task.name}".strip() + (f" · {note}" if note else "")
    count = notify(uow, logins, "urge", case.id, task.id, text, now)
    row = Urge(case_id=case.id, task_id=task.id, urged_by=by, urged_at=now, note=note, notified=count)
    uow.session.add(row)
    uow.session.flush()
    uow.record(audit.Entry(now, by, "task_urged", case.id, task.id,
                           summary={"urge_id": row.id, "note": note, "to": logins}))
    return row


def summaries(session: Session, task_ids: Iterable[str]) -> dict[str, UrgeSummary]:
    """How often each task was urged, and the last urge (two queries whatever the number of tasks)."""
    ids = sorted(set(task_ids))
    if not ids:
        return {}
    counts = dict(session.execute(sa.select(Urge.task_id, sa.func.count()).where(Urge.task_id.in_(ids))
                                  .group_by(Urge.task_id)).all())
    latest = sa.select(Urge.task_id, sa.func.max(Urge.id).label("id")).where(Urge.task_id.in_(ids)) \
        .group_by(Urge.task_id).subquery()
    rows = session.execute(sa.select(Urge.task_id, Urge.urged_at, Urge.urged_by)
                           .join(latest, Urge.id == latest.c.id)).all()
    return {task_id: UrgeSummary(counts[task_id], at, by) for task_id, at, by in rows}


def history(session: Session, task_id: str, limit: int = 50) -> list[Urge]:
    """A task's urges, newest first."""
    return list(session.scalars(sa.select(Urge).where(Urge.task_id == task_id)
                                .order_by(Urge.urged_at.desc(), Urge.id.desc()).limit(limit)))
