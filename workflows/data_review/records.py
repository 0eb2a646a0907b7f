"""Objections (复核, procedure 3, art. 18): a doubt about a provider's data record, its answer and the
one extension the department head may approve; the objector follows it with a receipt code."""
from __future__ import annotations

import re
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine.errors import GovflowError, InvalidForm, NotFound
from engine.models import Base, UTCDateTime
from engine.uow import Actor, UnitOfWork
from engine.domain.org import Department
from engine.views.public import OBJECTION_STATUSES, OBJECTOR_KINDS, OUTCOMES, RECEIPT_LENGTH  # noqa: F401
from engine.domain.record_checks import Checks, load, record_audit, require_status

MAX_EXTENSION_DAYS = 10  # art. 18: at most 10 working days (the default; a case reads its rule set)
# No 0/O, 1/I/L or U/V look-alikes: the code is read out on the phone and typed from paper.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,30}$")


class Objection(Base):
    __tablename__ = "objection"
    __table_args__ = (sa.Index("ix_objection_provider_status", "provider_department_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_code: Mapped[str] = mapped_column(sa.String(RECEIPT_LENGTH), unique=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id"), index=True)
    objector_kind: Mapped[str] = mapped_column(sa.String(30))
    objector_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id"))
    objector_name: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(50), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(200), default="")
    resource_code: Mapped[str] = mapped_column(sa.String(40))
    provider_department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"))
    record_ref: Mapped[str] = mapped_column(sa.String(500))  # which data record is doubted
    description: Mapped[str] = mapped_column(sa.Text)
    evidence: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default="received")
    received_by: Mapped[str] = mapped_column(sa.String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    answer: Mapped[str | None] = mapped_column(sa.Text)
    correction: Mapped[str | None] = mapped_column(sa.Text)
    answered_by: Mapped[str | None] = mapped_column(sa.String(200))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_days: Mapped[int | None]
    extension_reason: Mapped[str | None] = mapped_column(sa.Text)
    extension_requested_by: Mapped[str | None] = mapped_column(sa.String(200))
    extension_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_approved: Mapped[bool | None]
    extension_decided_by: Mapped[str | None] = mapped_column(sa.String(200))
    extension_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    objector_department: Mapped[Department | None] = relationship(
        foreign_keys=[objector_department_id], lazy="joined")
    provider: Mapped[Department] = relationship(foreign_keys=[provider_department_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}


def create_objection(uow: UnitOfWork, *, objector_kind: str, resource_code: str, provider_dept_code: str,
                     record_ref: str, description: str, actor: Actor, now: datetime,
                     objector_dept_code: str | None = None, objector_name: str = "", contact_phone: str = "",
                     contact_email: str = "", evidence: str = "", case_id: int | None = None) -> Objection:
    """Receive an objection (art. 18); the returned record carries the objector's receipt code."""
    check = Checks(uow.session)
    objection = Objection(
        objector_kind=check.choice("objector_kind", objector_kind, OBJECTOR_KINDS, "申请人类型", "kind of objector"),
        resource_code=check.resource_code("resource_code", resource_code),
        provider=check.department("provider_dept_code", provider_dept_code, "提供部门", "provider department"),
        record_ref=check.text("record_ref", record_ref, "有疑义的数据记录", "record concerned", max_length=500),
        description=check.text("description", description, "疑义或错误说明", "description"),
        evidence=check.optional_text("evidence", evidence, "证明材料说明", "evidence note"),
        case_id=check.case("case_id", case_id), status="received", received_by=actor.username, received_at=now)
    _objector(check, objection, objector_dept_code, objector_name, contact_phone, contact_email)
    check.done()
    objection.receipt_code = _new_receipt_code(uow.session)
    uow.session.add(objection)
    uow.session.flush()
    record_audit(uow, actor, now, "objection_received", objection.case_id, {  # no receipt code, no contacts
        "objection_id": objection.id, "objector_kind": objection.objector_kind,
        "provider": objection.provider.code, "resource_code": objection.resource_code})
    return objection


def _objector(check: Checks, objection: Objection, dept_code, name, phone, email) -> None:
    """A department is known by its code; anyone else needs a name and a way to be answered."""
    if objection.objector_kind == "department":
        objection.objector_department = check.department(
            "objector_dept_code", dept_code, "申请部门", "objecting department")
        objection.objector_name = check.optional_text("objector_name", name, "联系人", "contact person", 200)
    else:
        if dept_code:
            check.fail("objector_dept_code", "只有部门申请人填写部门", "only a department objector has a department")
        objection.objector_name = check.text("objector_name", name, "申请人名称", "objector's name", 200)
    objection.contact_phone = check.optional_text("contact_phone", phone, "联系电话", "phone number", 50)
    objection.contact_email = check.optional_text("contact_email", email, "电子邮箱", "e-mail address", 200)
    if objection.contact_phone and not PHONE.match(objection.contact_phone):
        check.fail("contact_phone", "联系电话格式不正确", "the phone number is not valid")
    if objection.contact_email and "@" not in objection.contact_email:
        check.fail("contact_email", "电子邮箱格式不正确", "the e-mail address is not valid")
    if objection.objector_kind != "department" and not (objection.contact_phone or objection.contact_email):
        check.fail("contact_phone", "请填写联系电话或电子邮箱以便答复",
                   "a phone number or an e-mail address is required for the answer")


def _new_receipt_code(session: Session) -> str:
    for _ in range(5):
        code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))
        if session.scalar(sa.select(Objection.id).where(Objection.receipt_code == code)) is None:
            return code
    raise GovflowError("无法生成回执码，请重试 (could not draw a receipt code; try again)")


def objection_by_receipt(session: Session, code: str) -> Objection:
    """The objection with this receipt code (spaces, dashes and case ignored), or NotFound."""
    normalised = re.sub(r"[\s-]", "", code or "").upper()
    found = None
    if len(normalised) == RECEIPT_LENGTH:
        found = session.scalars(sa.select(Objection).where(Objection.receipt_code == normalised)).first()
    if found is None:
        raise NotFound("没有与此回执码对应的复核申请 (no objection with this receipt code)")
    return found


def find_by_receipt(session: Session, code: str) -> Objection | None:
    """The objection with exactly this (normalised) receipt code, if any."""
    return session.scalars(sa.select(Objection).where(Objection.receipt_code == code)).first()


def objection_of_case(session: Session, case_id: int) -> Objection:
    """The objection an objection review case was started for."""
    return session.scalars(sa.select(Objection).where(Objection.case_id == case_id)).one()


def answer_objection(uow: UnitOfWork, objection_id: int, outcome: str, answer: str, actor: Actor,
                     now: datetime, correction: str = "") -> Objection:
    """Verify and answer (art. 18): corrected (saying what changed) or confirmed (saying why)."""
    objection = load(uow.session, Objection, objection_id, "复核申请", "objection")
    check = Checks(uow.session)
    check.choice("outcome", outcome, OUTCOMES, "复核结果", "outcome")
    answer = check.text("answer", answer, "答复内容", "answer")
    correction = check.optional_text("correction", correction, "更正内容", "correction made")
    if outcome == "corrected" and not correction:
        check.fail("correction", "结果为已更正时须说明更正内容", "say what was corrected")
    check.done()
    require_status(objection, ["received"], "复核申请", "objection")
    objection.status, objection.outcome, objection.answer = "answered", outcome, answer
    objection.correction = correction or None
    objection.answered_by, objection.answered_at = actor.username, now
    record_audit(uow, actor, now, "objection_answered", objection.case_id,
                 {"objection_id": objection.id, "outcome": outcome})
    return objection


def record_extension(uow: UnitOfWork, objection_id: int, days: int, reason: str, actor: Actor,
                     now: datetime, maximum: int = MAX_EXTENSION_DAYS) -> Objection:
    """Record the provider's request to extend the review period, once, by at most ``maximum``
    working days (the case's rule set, ``review_extension_max_days``; art. 18: 10)."""
    objection = load(uow.session, Objection, objection_id, "复核申请", "objection")
    check = Checks(uow.session)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= maximum:
        check.fail("days", f"延长期限应为 1–{maximum} 个工作日（第十八条）",
                   f"an extension is 1 to {maximum} working days (art. 18)")
    reason = check.text("reason", reason, "延期理由", "reason for the extension")
    check.done()
    require_status(objection, ["received"], "复核申请", "objection")
    if objection.extension_days is not None:
        raise GovflowError("复核期限只能延长一次 (the review period can be extended only once)")
    objection.extension_days, objection.extension_reason = days, reason
    objection.extension_requested_by, objection.extension_requested_at = actor.username, now
    record_audit(uow, actor, now, "objection_extension_requested", objection.case_id,
                 {"objection_id": objection.id, "days": days})
    return objection


def decide_extension(uow: UnitOfWork, objection_id: int, approved: bool, actor: Actor, now: datetime) -> Objection:
    """The department head approves or refuses the requested extension (art. 18)."""
    objection = load(uow.session, Objection, objection_id, "复核申请", "objection")
    if not isinstance(approved, bool):
        raise InvalidForm({"approved": "应为是或否 (must be yes or no)"})
    if objection.extension_days is None or objection.extension_approved is not None:
        raise GovflowError("没有待审批的延期申请 (there is no extension request awaiting a decision)")
    require_status(objection, ["received"], "复核申请", "objection")
    objection.extension_approved = approved
    objection.extension_decided_by, objection.extension_decided_at = actor.username, now
    record_audit(uow, actor, now, "objection_extension_decided", objection.case_id,
                 {"objection_id": objection.id, "days": objection.extension_days, "approved": approved})
    return objection
