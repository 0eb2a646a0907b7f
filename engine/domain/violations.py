"""Violations of art. 31 and their rectification ladder (违规整改, procedure 5), and the supervision
items (督办) overdue escalations open for the authority to confirm as violations."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..errors import GovflowError
from ..messages import msg
from ..models import Base, UTCDateTime
from ..uow import Actor, UnitOfWork
from .org import Department
from .record_checks import Checks, beijing_today, load, record_audit, require_status

ART31_ITEMS = {  # art. 31, items 1–8 (short titles)
    1: "未按要求编制目录或未按目录采集数据",
    2: "拒绝、推诿或妨碍数据归集",
    3: "无正当理由未及时更新、校核数据或拒绝共享",
    4: "将共享数据用于与履职无关的目的",
    5: "违规要求自然人、法人或其他组织提供可共享获取的数据",
    6: "通过县大数据中心之外的形式共享数据",
    7: "擅自兴建数据中心、机房等通用基础设施",
    8: "未履行数据安全保护职责",
}
ART31_ITEMS_EN = {
    1: "no catalog, or collection outside it", 2: "refusing or obstructing aggregation",
    3: "not updating or verifying data, or refusing to share, without cause",
    4: "using shared data for unrelated purposes", 5: "asking citizens for data obtainable by sharing",
    6: "sharing outside the county data centre", 7: "building own data centres or server rooms",
    8: "not fulfilling data-security duties",
}
# art. 31 para. 2: notice → (rectified | order) → (rectified | public criticism) → (referral | close)
VIOLATION_STEPS = {"recorded": "已登记", "notified": "整改通知", "rectified": "已整改",
                   "ordered": "责令限期改正", "criticised": "通报批评", "referred": "移送处分", "closed": "已结案"}
NEXT_STEPS = {
    "recorded": ("notified", "closed"),  # closed here: the authority dismisses it, with a note
    "notified": ("rectified", "ordered"),
    "ordered": ("rectified", "criticised"),
    "criticised": ("referred", "closed"),
    "rectified": ("closed",),
    "referred": ("closed",),
    "closed": (),
}
STEPS_WITH_DEADLINE = frozenset({"notified", "ordered"})
SOURCES = {"manual": "主管部门登记", "overdue_escalation": "超期督办"}
ESCALATION_ITEMS = (1, 3)  # an overdue catalog task suggests item 1, any other overdue task item 3
VIOLATION = msg("label.violation", "violation")
SUPERVISION_ITEM = msg("label.supervision_item", "supervision item")
RESPONSIBLE_DEPARTMENT = msg("label.responsible_department", "responsible department")
EVIDENCE = msg("label.violation_evidence", "evidence of the violation")
DEADLINE = msg("label.rectification_deadline", "rectification deadline")
CASE = msg("label.case", "case")


class Violation(Base):
    __tablename__ = "violation"
    __table_args__ = (sa.CheckConstraint("item BETWEEN 1 AND 8", name="art31_item"),
                      sa.Index("ix_violation_department_status", "department_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id"), index=True)  # the procedure-5 case
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"))
    item: Mapped[int]  # art. 31, 1–8
    evidence: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.String(30), default="manual")
    source_case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id"))
    source_task_id: Mapped[str | None] = mapped_column(sa.String(36))
    status: Mapped[str] = mapped_column(sa.String(20), default="recorded")
    deadline: Mapped[date | None] = mapped_column(sa.Date)  # of the notice or order in force
    recorded_by: Mapped[str] = mapped_column(sa.String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    department: Mapped[Department] = relationship(lazy="joined")
    steps: Mapped[list["ViolationStep"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ViolationStep.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def item_title(self) -> str:
        return ART31_ITEMS[self.item]


class ViolationStep(Base):
    """One rung climbed on the ladder, with who, when, a note and the deadline it set."""

    __tablename__ = "violation_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    violation_id: Mapped[int] = mapped_column(sa.ForeignKey("violation.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(200))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    deadline: Mapped[date | None] = mapped_column(sa.Date)


def record_violation(uow: UnitOfWork, *, dept_code: str, item: int, evidence: str, actor: Actor, now: datetime,
                     case_id: int | None = None) -> Violation:
    """The authority records a violation of one item of art. 31 against a department."""
    check = Checks(uow.session)
    violation = Violation(
        department=check.department("dept_code", dept_code, RESPONSIBLE_DEPARTMENT),
        item=_item(check, item, ART31_ITEMS), evidence=check.text("evidence", evidence, EVIDENCE),
        case_id=check.case("case_id", case_id), source="manual")
    check.done()
    return _add(uow, violation, actor, now)


def _item(check: Checks, item, allowed, field: str = "item") -> int:
    if isinstance(item, bool) or item not in tuple(allowed):
        names = "、".join(str(i) for i in allowed)
        check.fail(field, msg("violations.not_an_item", "the item of art. 31 must be one of {items}", items=names))
    return item


def _add(uow: UnitOfWork, violation: Violation, actor: Actor, now: datetime) -> Violation:
    violation.status, violation.recorded_by, violation.recorded_at, violation.updated_at = \
        "recorded", actor.username, now, now
    violation.steps = [ViolationStep(step="recorded", at=now, actor=actor.username, note=violation.evidence)]
    uow.session.add(violation)
    uow.session.flush()
    record_audit(uow, actor, now, "violation_recorded", violation.case_id or violation.source_case_id, {
        "violation_id": violation.id, "department": violation.department.code, "item": violation.item,
        "source": violation.source}, task_id=violation.source_task_id)
    return violation


def advance_violation(uow: UnitOfWork, violation_id: int, step: str, actor: Actor, now: datetime,
                      note: str, deadline: date | str | None = None) -> Violation:
    """Climb one rung of the art. 31 ladder; a notice or an order sets a deadline."""
    violation = load(uow.session, Violation, violation_id, VIOLATION)
    check = Checks(uow.session)
    check.choice("step", step, [s for s in VIOLATION_STEPS if s != "recorded"],
                 msg("label.ladder_step", "ladder step"))
    note = check.text("note", note, msg("label.step_note", "note on the step"))
    deadline = _deadline(check, step, deadline, now)
    check.done()
    if step not in NEXT_STEPS[violation.status]:
        raise GovflowError(msg("violations.step_not_next",
                               "after {status} the next step is one of {next_steps}, not {step}",
                               status=violation.status, step=step, status_label=VIOLATION_STEPS[violation.status],
                               step_label=VIOLATION_STEPS[step],
                               next_steps=", ".join(NEXT_STEPS[violation.status]) or "none"))
    violation.status, violation.updated_at = step, now
    violation.deadline = deadline if step in STEPS_WITH_DEADLINE else violation.deadline
    violation.steps.append(ViolationStep(step=step, at=now, actor=actor.username, note=note, deadline=deadline))
    record_audit(uow, actor, now, f"violation_{step}", violation.case_id or violation.source_case_id, {
        "violation_id": violation.id, "step": step, "deadline": deadline.isoformat() if deadline else None})
    return violation


def move_violation_deadline(uow: UnitOfWork, violation_id: int, deadline: date, actor: Actor, now: datetime,
                            reason: str, provisional: bool = False) -> Violation:
    """The deadline in force moved without a new rung (art. 31): the department's rework period after
    a rejected report (``reason="rework"``), or its period recomputed when a provisional year was
    published (``"period_moved"``). The steps keep what the notice or order set; the audit keeps both."""
    violation = load(uow.session, Violation, violation_id, VIOLATION)
    require_status(violation, STEPS_WITH_DEADLINE, VIOLATION)
    old = violation.deadline
    if old == deadline:
        return violation
    violation.deadline, violation.updated_at = deadline, now
    record_audit(uow, actor, now, "violation_deadline_moved", violation.case_id or violation.source_case_id, {
        "violation_id": violation.id, "reason": reason, "old": old.isoformat() if old else None,
        "new": deadline.isoformat(), "provisional": provisional})
    return violation


def _deadline(check: Checks, step: str, deadline, now: datetime) -> date | None:
    if step not in STEPS_WITH_DEADLINE:
        if deadline is not None:
            check.fail("deadline", msg("violations.deadline_not_allowed", "only a notice or an order sets a deadline"))
        return None
    if deadline is None:
        check.fail("deadline", msg("check.required", "the {label} is required", label=DEADLINE))
        return None
    found = check.day("deadline", deadline, DEADLINE)
    if found is not None and found < beijing_today(now):
        check.fail("deadline", msg("violations.deadline_past", "the deadline cannot be in the past"))
    return found


def attach_violation_case(uow: UnitOfWork, violation_id: int, case_id: int, actor: Actor, now: datetime) -> Violation:
    """Link a violation to the rectification case (procedure 5) started for it, once."""
    violation = load(uow.session, Violation, violation_id, VIOLATION)
    check = Checks(uow.session)
    if check.case("case_id", case_id) is None:
        check.fail("case_id", msg("check.required", "the {label} is required", label=CASE))
    check.done()
    if violation.case_id is not None:
        raise GovflowError(msg("violations.case_attached", "the violation already has case {case_id}",
                                case_id=violation.case_id))
    violation.case_id, violation.updated_at = case_id, now
    record_audit(uow, actor, now, "violation_case_attached", case_id, {"violation_id": violation.id})
    return violation


class SupervisionItem(Base):
    """督办: what an overdue escalation opens for the authority (docs/procedures.md, deadlines)."""

    __tablename__ = "supervision_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("case.id"), index=True)
    human_task_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"), index=True)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(20), default="open", index=True)
    possible_violation_item: Mapped[int]  # art. 31 item 1 or 3
    period_id: Mapped[int | None] = mapped_column(sa.ForeignKey("statutory_period.id"), index=True)
    confirmed: Mapped[bool] = mapped_column(default=False)
    violation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("violation.id"))
    confirmed_by: Mapped[str | None] = mapped_column(sa.String(200))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    resolved_by: Mapped[str | None] = mapped_column(sa.String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    department: Mapped[Department] = relationship(lazy="joined")
    violation: Mapped[Violation | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


def open_supervision_item(uow: UnitOfWork, *, case_id: int, human_task_id: str, dept_code: str,
                          possible_violation_item: int, actor: Actor, now: datetime, note: str = "",
                          period_id: int | None = None) -> SupervisionItem:
    """Open the 督办 for an overdue task; a second escalation of the same task returns the first item."""
    existing = uow.session.scalars(sa.select(SupervisionItem).where(
        SupervisionItem.human_task_id == human_task_id)).first()
    if existing is not None:
        return existing
    check = Checks(uow.session)
    supervision = SupervisionItem(
        case_id=_required_case(check, case_id),
        human_task_id=check.text("human_task_id", human_task_id, msg("label.overdue_task", "overdue task"),
                                 max_length=36),
        department=check.department("dept_code", dept_code, RESPONSIBLE_DEPARTMENT),
        possible_violation_item=_item(check, possible_violation_item, ESCALATION_ITEMS, "possible_violation_item"),
        note=check.optional_text("note", note, msg("label.supervision_note", "supervision note")),
        created_by=actor.username, created_at=now, status="open", confirmed=False, period_id=period_id)
    check.done()
    uow.session.add(supervision)
    uow.session.flush()
    record_audit(uow, actor, now, "supervision_opened", case_id, {
        "supervision_id": supervision.id, "department": supervision.department.code,
        "possible_violation_item": supervision.possible_violation_item, "period_id": period_id},
        task_id=human_task_id)
    return supervision


def _required_case(check: Checks, case_id) -> int | None:
    if case_id is None:
        check.fail("case_id", msg("check.required", "the {label} is required", label=CASE))
    return check.case("case_id", case_id)


def confirm_supervision_item(uow: UnitOfWork, supervision_id: int, actor: Actor, now: datetime,
                             evidence: str = "", item: int | None = None) -> Violation:
    """The authority confirms the possible violation: a violation is recorded against the department
    (item defaults to the suggested one), linked to the originating case and task."""
    supervision = load(uow.session, SupervisionItem, supervision_id, SUPERVISION_ITEM)
    check = Checks(uow.session)
    violation = Violation(
        department=supervision.department, source="overdue_escalation", source_case_id=supervision.case_id,
        source_task_id=supervision.human_task_id,
        item=_item(check, supervision.possible_violation_item if item is None else item, ART31_ITEMS),
        evidence=check.optional_text("evidence", evidence, EVIDENCE) or _escalation_evidence(supervision))
    check.done()
    if supervision.confirmed:
        raise GovflowError(msg("violations.supervision_confirmed", "this supervision item was already confirmed"))
    _add(uow, violation, actor, now)
    supervision.confirmed, supervision.violation = True, violation
    supervision.confirmed_by, supervision.confirmed_at = actor.username, now
    record_audit(uow, actor, now, "supervision_confirmed", supervision.case_id, {
        "supervision_id": supervision.id, "violation_id": violation.id}, task_id=supervision.human_task_id)
    return violation


def _escalation_evidence(supervision: SupervisionItem) -> str:
    return msg("violations.escalation_evidence",
               "task {task_id} overdue in case {case_id}, supervision item {supervision_id}",
               case_id=supervision.case_id, task_id=supervision.human_task_id, supervision_id=supervision.id)


def resolve_supervision_item(uow: UnitOfWork, supervision_id: int, resolution: str, actor: Actor,
                             now: datetime) -> SupervisionItem:
    """Close the 督办 (the task was done, or the authority needs nothing more), with what happened."""
    supervision = load(uow.session, SupervisionItem, supervision_id, SUPERVISION_ITEM)
    check = Checks(uow.session)
    resolution = check.text("resolution", resolution, msg("label.handling_result", "handling result"))
    check.done()
    require_status(supervision, ["open"], SUPERVISION_ITEM)
    supervision.status, supervision.resolution = "resolved", resolution
    supervision.resolved_by, supervision.resolved_at = actor.username, now
    record_audit(uow, actor, now, "supervision_resolved", supervision.case_id, {
        "supervision_id": supervision.id, "confirmed": supervision.confirmed}, task_id=supervision.human_task_id)
    return supervision
