"""Typed SQLAlchemy 2 models of the engine's persistent state."""
from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


class DefinitionVersion(Base):
    __tablename__ = "definition_version"
    __table_args__ = (sa.UniqueConstraint("process_id", "version", name="process_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(500), default="")
    content_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    xml: Mapped[str] = mapped_column(sa.Text, deferred=True)
    spec_json: Mapped[str] = mapped_column(sa.Text, deferred=True)
    deployed_by: Mapped[str] = mapped_column(sa.String(200))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Case(Base):
    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    process_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("definition_version.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="running", index=True)
    outcome: Mapped[str | None] = mapped_column(sa.String(100))
    title: Mapped[str] = mapped_column(sa.String(500), default="")
    rule_set: Mapped[str | None] = mapped_column(sa.String(100))
    started_by: Mapped[str] = mapped_column(sa.String(200), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    serializer_version: Mapped[str] = mapped_column(sa.String(20))
    state: Mapped[str] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(default=1)

    definition: Mapped[DefinitionVersion] = relationship(lazy="select")

    __mapper_args__ = {"version_id_col": version}


class Incident(Base):
    """A case stopped because its diagram's code failed in a system job, ran past its budget, or
    left the case unable to go on (engine.incidents). Open while ``resolved_at`` is empty; the case's
    status is ``incident`` meanwhile."""

    __tablename__ = "incident"
    __table_args__ = (sa.Index("ix_incident_open", "resolved_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id"), index=True)
    process_id: Mapped[str] = mapped_column(sa.String(200))
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("definition_version.id"))
    element_id: Mapped[str | None] = mapped_column(sa.String(200))
    element_name: Mapped[str | None] = mapped_column(sa.String(500))
    kind: Mapped[str] = mapped_column(sa.String(20))  # error / cpu / memory / wall / size / crash / stalled
    message: Mapped[str] = mapped_column(sa.Text)
    actor: Mapped[str] = mapped_column(sa.String(200))  # whose action or which job met the fault
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(sa.String(200))
    resolution: Mapped[str | None] = mapped_column(sa.String(20))  # retried / migrated


class HumanTask(Base):
    """Projection of every ready user task, for inbox queries (kept in the case's transaction)."""

    __tablename__ = "human_task"
    __table_args__ = (
        sa.Index("ix_human_task_assignee_open", "assignee", "state", "due_at"),
        sa.Index("ix_human_task_scope_open", "department", "state", "assignee"),
        sa.Index("ix_human_task_state_due", "state", "due_at"),
        sa.Index("ix_human_task_done", "completed_by", "completed_at"),  # the 已办 tab, newest first
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"), index=True)
    process_id: Mapped[str] = mapped_column(sa.String(200))
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("definition_version.id"))
    element_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(500))
    role: Mapped[str | None] = mapped_column(sa.String(100))
    department: Mapped[str | None] = mapped_column(sa.String(100))
    assignee: Mapped[str | None] = mapped_column(sa.String(200))
    state: Mapped[str] = mapped_column(sa.String(20), default="ready")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    provisional: Mapped[bool] = mapped_column(default=False)
    overdue: Mapped[bool] = mapped_column(default=False)

    # Who the task is offered to, kept twice: here for the role checks of one task (no extra query
    # per task), and as task_candidate rows for the inbox's indexed "offered to my roles" lookup.
    candidate_groups: Mapped[list | None] = mapped_column(sa.JSON, default=list)
    candidate_users: Mapped[list | None] = mapped_column(sa.JSON, default=list)

    candidates: Mapped[list["TaskCandidate"]] = relationship(
        cascade="all, delete-orphan", lazy="select", passive_deletes=True, back_populates="task")

    def offer(self, groups: list[str], users: list[str]) -> None:
        """Set the candidate groups and users (both representations)."""
        groups, users = list(dict.fromkeys(groups)), list(dict.fromkeys(users))
        self.candidate_groups, self.candidate_users = groups, users
        self.candidates = [TaskCandidate(kind="group", value=g) for g in groups] + \
                          [TaskCandidate(kind="user", value=u) for u in users]

    def groups(self) -> list[str]:
        return list(self.candidate_groups or ())

    def users(self) -> list[str]:
        return list(self.candidate_users or ())


class TaskCandidate(Base):
    """A candidate group (role) or candidate user of a human task."""

    __tablename__ = "task_candidate"
    __table_args__ = (sa.Index("ix_task_candidate_lookup", "kind", "value", "task_id"),)

    task_id: Mapped[str] = mapped_column(
        sa.ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(200), primary_key=True)

    task: Mapped[HumanTask] = relationship(back_populates="candidates")


class AuditRecord(Base):
    """Append-only, hash-chained record of every change (art. 29: prevent tampering)."""

    __tablename__ = "audit_record"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(200))
    case_id: Mapped[int | None] = mapped_column(index=True)
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    action: Mapped[str] = mapped_column(sa.String(50))
    summary: Mapped[str] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))  # after the seal: HMAC-SHA256 under the key key_id names
    key_id: Mapped[str | None] = mapped_column(sa.String(16))  # None: a record from before the seal


class AuditChainHead(Base):
    """The audit chain's last record (one row, id 1): appenders lock it to extend the chain one at a
    time, and ``audit verify`` checks the chain reaches it (records removed from the end show)."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column()
    last_hash: Mapped[str] = mapped_column(sa.String(64))
    # The seal: the last record of the unkeyed chain (0 / GENESIS for a database that never had one).
    sealed_id: Mapped[int | None] = mapped_column()
    sealed_hash: Mapped[str | None] = mapped_column(sa.String(64))


class AuditCheckpoint(Base):
    """A signed statement of the chain's head and seal (``govflow audit checkpoint``); a copy is
    meant to be kept outside the database too."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_id: Mapped[int] = mapped_column()
    last_hash: Mapped[str] = mapped_column(sa.String(64))
    sealed_id: Mapped[int | None] = mapped_column()
    sealed_hash: Mapped[str | None] = mapped_column(sa.String(64))
    key_id: Mapped[str] = mapped_column(sa.String(16))
    signature: Mapped[str] = mapped_column(sa.String(128))

    def as_dict(self) -> dict:
        return {"at": self.at.isoformat(), "last_id": self.last_id, "last_hash": self.last_hash,
                "sealed_id": self.sealed_id, "sealed_hash": self.sealed_hash, "key_id": self.key_id,
                "signature": self.signature}


class Deadline(Base):
    """Projection of every waiting timer of every case, written in the transaction that creates it."""

    __tablename__ = "deadline"
    __table_args__ = (
        sa.Index("ix_deadline_due", "state", "held", "due_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)  # the timer task's id
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"), index=True)
    human_task_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    element_id: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))  # overdue / reminder / timer
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    provisional: Mapped[bool] = mapped_column(default=False)
    held: Mapped[bool] = mapped_column(default=False)  # provisional overdue: never fires by itself
    state: Mapped[str] = mapped_column(sa.String(20), default="waiting")  # waiting / fired / cancelled
    params: Mapped[str] = mapped_column(sa.Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatutoryPeriod(Base):
    """One statutory period (法定期限, docs/deadlines.md): a party's obligation under one article,
    from its legal start to the end of its Nth working day, whatever tasks the party uses inside it.

    Opened by the first timer that watches it (``period_due`` / ``period_reminder`` in a diagram),
    closed when no timer watches it any more (the party acted, or the other party holds the case: the
    clock stops). Reminders and overdue escalation happen once per period.
    """

    __tablename__ = "statutory_period"
    __table_args__ = (
        sa.Index("ix_statutory_period_case_name", "case_id", "name", "seq"),
        sa.Index("ix_statutory_period_open", "state", "party", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))  # the procedure's period name, e.g. "update"
    seq: Mapped[int] = mapped_column(default=1)  # 1: the first of that name in the case; 2+: restarts
    party: Mapped[str] = mapped_column(sa.String(30))  # department / authority / applicant / county_gov
    department: Mapped[str | None] = mapped_column(sa.String(40))  # the obliged department's code
    article: Mapped[str] = mapped_column(sa.String(40), default="")
    rule: Mapped[str] = mapped_column(sa.String(100))  # the rule-set key of its length
    days: Mapped[int]
    start_date: Mapped[date] = mapped_column(sa.Date)  # day 0, not counted
    due_date: Mapped[date] = mapped_column(sa.Date)  # the Nth working day (ends 24:00 Beijing)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    provisional: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(sa.String(20), default="running")  # running / met / late / lapsed
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supervision_id: Mapped[int | None] = mapped_column()  # the 督办 its lateness opened, once


class CalendarOverride(Base):
    """An administrator's correction of the working-day calendar (audited)."""

    __tablename__ = "calendar_override"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    working: Mapped[bool]
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    entered_by: Mapped[str] = mapped_column(sa.String(200))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarYear(Base):
    """A year published by an administrator from the State Council notice (with its number)."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(sa.String(200))
    entered_by: Mapped[str] = mapped_column(sa.String(200))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RuleSetRow(Base):
    """A named, versioned set of statutory period lengths with an effective date."""

    __tablename__ = "rule_set"
    __table_args__ = (sa.UniqueConstraint("name", "version", name="name_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(sa.String(500), default="")
    effective_from: Mapped[date] = mapped_column(sa.Date)
    active: Mapped[bool] = mapped_column(default=True)
    periods: Mapped[str] = mapped_column(sa.Text)  # JSON: {"share_reply_days": 5, ...}
    document: Mapped[str] = mapped_column(sa.String(500), default="")  # the document that sets them
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Setting(Base):
    """Deployment settings an administrator can change (e.g. the after-hours policy)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
