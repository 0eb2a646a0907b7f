"""Objections (复核, procedure 3, art. 18): a doubt about a provider's data record, its answer and the
one extension the department head may approve; the objector follows it with a receipt code."""
from __future__ import annotations

import re
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine.errors import GovflowError, InvalidForm, NotFound
from engine.messages import Message, msg
from engine.models import Base, UTCDateTime
from engine.uow import Actor, UnitOfWork
from engine.domain.org import Department
from engine.views.public import OBJECTION_STATUSES, OBJECTOR_KINDS, OUTCOMES, RECEIPT_LENGTH  # noqa: F401
from engine.domain.record_checks import Checks, load, record_audit, require_status

# the words naming the objection and its fields in messages (engine.domain.record_checks)
OBJECTION = msg("label.objection", "objection")
OBJECTOR_KIND = msg("label.objector_kind", "kind of objector")
PROVIDER_DEPARTMENT = msg("label.provider_department", "provider department")
RECORD_CONCERNED = msg("label.record_concerned", "record concerned")
DESCRIPTION = msg("label.objection_description", "description")
EVIDENCE_NOTE = msg("label.evidence_note", "evidence note")
OBJECTING_DEPARTMENT = msg("label.objecting_department", "objecting department")
CONTACT_PERSON = msg("label.contact_person", "contact person")
OBJECTOR_NAME = msg("label.objector_name", "objector's name")
PHONE_NUMBER = msg("label.phone_number", "phone number")
EMAIL_ADDRESS = msg("label.email_address", "e-mail address")
OUTCOME = msg("label.review_outcome", "outcome")
ANSWER = msg("label.answer", "answer")
CORRECTION = msg("label.correction_made", "correction made")
EXTENSION_REASON = msg("label.extension_reason", "reason for the extension")

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
        objector_kind=check.choice("objector_kind", objector_kind, OBJECTOR_KINDS, OBJECTOR_KIND),
        resource_code=check.resource_code("resource_code", resource_code),
        provider=check.department("provider_dept_code", provider_dept_code, PROVIDER_DEPARTMENT),
        record_ref=check.text("record_ref", record_ref, RECORD_CONCERNED, max_length=500),
        description=check.text("description", description, DESCRIPTION),
        evidence=check.optional_text("evidence", evidence, EVIDENCE_NOTE),
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
            "objector_dept_code", dept_code, OBJECTING_DEPARTMENT)
        objection.objector_name = check.optional_text("objector_name", name, CONTACT_PERSON, max_length=200)
    else:
        if dept_code:
            check.fail("objector_dept_code", msg("data_review.department_of_non_department",
                                                 "only a department objector has a department"))
        objection.objector_name = check.text("objector_name", name, OBJECTOR_NAME, max_length=200)
    objection.contact_phone = check.optional_text("contact_phone", phone, PHONE_NUMBER, max_length=50)
    objection.contact_email = check.optional_text("contact_email", email, EMAIL_ADDRESS, max_length=200)
    if objection.contact_phone and not PHONE.match(objection.contact_phone):
        check.fail("contact_phone", phone_invalid())
    if objection.contact_email and "@" not in objection.contact_email:
        check.fail("contact_email", email_invalid())
    if objection.objector_kind != "department" and not (objection.contact_phone or objection.contact_email):
        check.fail("contact_phone", contact_required())


def _new_receipt_code(session: Session) -> str:
    for _ in range(5):
        code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))
        if session.scalar(sa.select(Objection.id).where(Objection.receipt_code == code)) is None:
            return code
    raise GovflowError(msg("data_review.receipt_code_unavailable", "could not draw a receipt code; try again"))


def objection_by_receipt(session: Session, code: str) -> Objection:
    """The objection with this receipt code (spaces, dashes and case ignored), or NotFound."""
    normalised = re.sub(r"[\s-]", "", code or "").upper()
    found = None
    if len(normalised) == RECEIPT_LENGTH:
        found = session.scalars(sa.select(Objection).where(Objection.receipt_code == normalised)).first()
    if found is None:
        raise NotFound(msg("data_review.unknown_receipt_code", "no objection with this receipt code"))
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
    objection = load(uow.session, Objection, objection_id, OBJECTION)
    check = Checks(uow.session)
    check.choice("outcome", outcome, OUTCOMES, OUTCOME)
    answer = check.text("answer", answer, ANSWER)
    correction = check.optional_text("correction", correction, CORRECTION)
    if outcome == "corrected" and not correction:
        check.fail("correction", correction_required())
    check.done()
    require_status(objection, ["received"], OBJECTION)
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
    objection = load(uow.session, Objection, objection_id, OBJECTION)
    check = Checks(uow.session)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= maximum:
        check.fail("days", extension_out_of_range(maximum))
    reason = check.text("reason", reason, EXTENSION_REASON)
    check.done()
    require_status(objection, ["received"], OBJECTION)
    if objection.extension_days is not None:
        raise GovflowError(msg("data_review.extension_once", "the review period can be extended only once"))
    objection.extension_days, objection.extension_reason = days, reason
    objection.extension_requested_by, objection.extension_requested_at = actor.username, now
    record_audit(uow, actor, now, "objection_extension_requested", objection.case_id,
                 {"objection_id": objection.id, "days": days})
    return objection


def decide_extension(uow: UnitOfWork, objection_id: int, approved: bool, actor: Actor, now: datetime) -> Objection:
    """The department head approves or refuses the requested extension (art. 18)."""
    objection = load(uow.session, Objection, objection_id, OBJECTION)
    if not isinstance(approved, bool):
        raise InvalidForm({"approved": msg("data_review.approval_not_yes_or_no", "must be yes or no")})
    if objection.extension_days is None or objection.extension_approved is not None:
        raise GovflowError(msg("data_review.no_extension_request",
                               "there is no extension request awaiting a decision"))
    require_status(objection, ["received"], OBJECTION)
    objection.extension_approved = approved
    objection.extension_decided_by, objection.extension_decided_at = actor.username, now
    record_audit(uow, actor, now, "objection_extension_decided", objection.case_id,
                 {"objection_id": objection.id, "days": objection.extension_days, "approved": approved})
    return objection


# -- messages the glue shares (a form error there, a field error here) ------------------------------

def contact_required() -> Message:
    return msg("data_review.contact_required", "a phone number or an e-mail address is required for the answer")


def phone_invalid() -> Message:
    return msg("data_review.phone_invalid", "the phone number is not valid")


def email_invalid() -> Message:
    return msg("data_review.email_invalid", "the e-mail address is not valid")


def correction_required() -> Message:
    return msg("data_review.correction_required", "say what was corrected")


def extension_out_of_range(maximum: int) -> Message:
    return msg("data_review.extension_out_of_range", "an extension is 1 to {maximum} working days, art. 18",
               maximum=maximum)


def anonymise_contacts(uow: UnitOfWork, ended_before: datetime, actor: Actor, now: datetime) -> int:
    """Blank the objector's name, phone and e-mail of objections whose case ended before
    ``ended_before`` (engine.retention); each audited without the data. Returns how many."""
    from engine.models import Case
    found = uow.session.scalars(sa.select(Objection).join(Case, Case.id == Objection.case_id).where(
        Case.ended_at.is_not(None), Case.ended_at < ended_before,
        sa.or_(Objection.objector_name != "", Objection.contact_phone != "", Objection.contact_email != "")))
    count = 0
    for objection in found:
        objection.objector_name = objection.contact_phone = objection.contact_email = ""
        record_audit(uow, actor, now, "contact_data_anonymised", objection.case_id, {"objection_id": objection.id})
        count += 1
    return count
