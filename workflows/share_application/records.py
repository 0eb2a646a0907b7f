"""Share applications (共享申请, procedure 2): what a consumer asks for, and the provider's answer
(arts. 14, 16, 17); a refusal needs a reason and a basis, and the authority may coordinate after it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.errors import GovflowError, InvalidForm
from engine.messages import Message, msg
from engine.models import Base, UTCDateTime
from engine.uow import Actor, UnitOfWork
from engine.domain.grants import Grant, create_grant
from engine.domain.org import Department
from engine.domain.record_checks import Checks, load, record_audit, require_status

APPLICATION_STATUSES = {"submitted": "已提交", "granted": "已授权", "refused": "不予共享", "withdrawn": "已撤回"}
DECISIONS = ("approve", "refuse")
# art. 14 para. 3: after a refusal the authority upholds it or orders the provider to share.
COORDINATION_OUTCOMES = {"upheld": "维持不予共享", "share_ordered": "责成提供部门共享"}

# the words naming the application and its fields in messages (engine.domain.record_checks)
SHARE_APPLICATION = msg("label.share_application", "share application")
CONSUMER_DEPARTMENT = msg("label.consumer_department", "consumer department")
PROVIDER_DEPARTMENT = msg("label.provider_department", "provider department")
DATA_ITEMS = msg("label.data_items", "data items")
USAGE_SCENARIO = msg("label.usage_scenario", "usage scenario")
FIRST_DAY_OF_USE = msg("label.first_day_of_use", "first day of use")
LAST_DAY_OF_USE = msg("label.last_day_of_use", "last day of use")
MATERIALS = msg("label.application_materials", "materials")
DECISION = msg("label.share_decision", "decision")
REFUSAL_REASON = msg("label.refusal_reason", "reason for refusing")
REFUSAL_BASIS = msg("label.refusal_basis", "legal or policy basis for refusing")
COORDINATION_OUTCOME = msg("label.coordination_outcome", "coordination outcome")
COORDINATION_NOTE = msg("label.coordination_note", "coordination note")


class ShareApplication(Base):
    __tablename__ = "share_application"
    __table_args__ = (sa.Index("ix_share_application_provider_status", "provider_department_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id"), index=True)
    consumer_department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"), index=True)
    resource_code: Mapped[str] = mapped_column(sa.String(40))
    provider_department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"))
    data_items: Mapped[list[str]] = mapped_column(sa.JSON)
    scenario: Mapped[str] = mapped_column(sa.Text)  # 应用场景, mandatory (art. 14)
    period_from: Mapped[date] = mapped_column(sa.Date)
    period_until: Mapped[date] = mapped_column(sa.Date)
    materials: Mapped[list[str]] = mapped_column(sa.JSON)  # the materials registration requires (art. 16)
    status: Mapped[str] = mapped_column(sa.String(20), default="submitted")
    submitted_by: Mapped[str] = mapped_column(sa.String(200))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(sa.String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refusal_reason: Mapped[str | None] = mapped_column(sa.Text)
    refusal_basis: Mapped[str | None] = mapped_column(sa.Text)
    grant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("share_grant.id"))
    coordination_outcome: Mapped[str | None] = mapped_column(sa.String(20))
    coordination_note: Mapped[str | None] = mapped_column(sa.Text)
    coordinated_by: Mapped[str | None] = mapped_column(sa.String(200))
    coordinated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    consumer: Mapped[Department] = relationship(foreign_keys=[consumer_department_id], lazy="joined")
    provider: Mapped[Department] = relationship(foreign_keys=[provider_department_id], lazy="joined")
    grant: Mapped[Grant | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


def create_share_application(uow: UnitOfWork, *, consumer_dept_code: str, resource_code: str,
                             provider_dept_code: str, data_items: list[str], scenario: str,
                             period_from: date | str, period_until: date | str, actor: Actor, now: datetime,
                             materials: list[str] | None = None, case_id: int | None = None) -> ShareApplication:
    """Record an application for one resource (art. 17) with its usage scenario (art. 14)."""
    check = Checks(uow.session)
    application = ShareApplication(
        consumer=check.department("consumer_dept_code", consumer_dept_code, CONSUMER_DEPARTMENT),
        provider=check.department("provider_dept_code", provider_dept_code, PROVIDER_DEPARTMENT),
        resource_code=check.resource_code("resource_code", resource_code),
        data_items=check.items("data_items", data_items, DATA_ITEMS),
        scenario=check.text("scenario", scenario, USAGE_SCENARIO),
        period_from=check.day("period_from", period_from, FIRST_DAY_OF_USE),
        period_until=check.day("period_until", period_until, LAST_DAY_OF_USE),
        materials=_materials(check, materials), case_id=check.case("case_id", case_id),
        status="submitted", submitted_by=actor.username, submitted_at=now)
    check.different("consumer_dept_code", application.consumer, application.provider)
    check.period("period_until", application.period_from, application.period_until)
    check.done()
    uow.session.add(application)
    uow.session.flush()
    record_audit(uow, actor, now, "share_application_submitted", application.case_id, {
        "application_id": application.id, "consumer": application.consumer.code,
        "provider": application.provider.code, "resource_code": application.resource_code})
    return application


def _materials(check: Checks, materials: list[str] | None) -> list[str]:
    return check.items("materials", materials, MATERIALS) if materials else []


@dataclass(frozen=True)
class GrantTerms:
    """What an approval grants (defaults taken from the application)."""

    basis: str
    valid_from: date | str
    valid_until: date | str
    usage_limits: str
    data_items: list[str]


def decide_share_application(uow: UnitOfWork, application_id: int, decision: str, actor: Actor, now: datetime,
                             *, basis: str = "", reason: str = "", valid_from: date | str | None = None,
                             valid_until: date | str | None = None, usage_limits: str = "",
                             data_items: list[str] | None = None) -> ShareApplication:
    """The provider's answer (art. 17): approve → a grant (by default for the items and period
    applied for); refuse → needs a reason **and** a legal or policy basis (art. 14)."""
    application = load(uow.session, ShareApplication, application_id, SHARE_APPLICATION)
    check = Checks(uow.session)
    check.choice("decision", decision, DECISIONS, DECISION)
    check.done()
    if decision == "refuse":
        return _refuse(uow, application, reason, basis, actor, now)
    terms = GrantTerms(basis, valid_from or application.period_from, valid_until or application.period_until,
                       usage_limits, data_items or application.data_items)
    return _approve(uow, application, terms, actor, now)


def _refuse(uow: UnitOfWork, application: ShareApplication, reason: str, basis: str, actor: Actor,
            now: datetime) -> ShareApplication:
    check = Checks(uow.session)
    reason = check.text("reason", reason, REFUSAL_REASON)
    basis = check.text("basis", basis, REFUSAL_BASIS)
    check.done()
    require_status(application, ["submitted"], SHARE_APPLICATION)
    application.status, application.refusal_reason, application.refusal_basis = "refused", reason, basis
    application.decided_by, application.decided_at = actor.username, now
    record_audit(uow, actor, now, "share_application_refused", application.case_id, {
        "application_id": application.id, "reason": reason, "basis": basis})
    return application


def _approve(uow: UnitOfWork, application: ShareApplication, terms: GrantTerms, actor: Actor,
             now: datetime) -> ShareApplication:
    ordered = application.status == "refused" and application.coordination_outcome == "share_ordered"
    if not ordered:
        require_status(application, ["submitted"], SHARE_APPLICATION)
    _check_scope(application, terms.data_items)
    grant = create_grant(
        uow, consumer_dept_code=application.consumer.code, resource_code=application.resource_code,
        provider_dept_code=application.provider.code, data_items=terms.data_items, scenario=application.scenario,
        valid_from=terms.valid_from, valid_until=terms.valid_until, basis=terms.basis,
        usage_limits=terms.usage_limits, case_id=application.case_id, actor=actor, now=now,
        materials=list(application.materials or []))
    application.status, application.grant = "granted", grant
    application.decided_by, application.decided_at = actor.username, now
    record_audit(uow, actor, now, "share_application_granted", application.case_id, {
        "application_id": application.id, "grant_id": grant.id, "after_coordination": ordered})
    return application


def _check_scope(application: ShareApplication, data_items: list[str]) -> None:
    """A grant may narrow the data items applied for, never widen them."""
    extra = [i for i in data_items if isinstance(i, str) and i.strip() not in application.data_items]
    if extra:
        raise InvalidForm({"data_items": items_not_applied_for(extra)})


def items_not_applied_for(extra: list[str]) -> Message:
    return msg("share_application.items_not_applied_for", "items not applied for: {items}",
               items=", ".join(extra), items_zh="、".join(extra))


def withdraw_share_application(uow: UnitOfWork, application_id: int, actor: Actor, now: datetime,
                               reason: str = "") -> ShareApplication:
    """The consumer withdraws an application not yet answered; ``reason`` says why when the consumer
    did not act itself (``supplement_lapsed``: silent past the supplement period, arts. 14, 16)."""
    application = load(uow.session, ShareApplication, application_id, SHARE_APPLICATION)
    require_status(application, ["submitted"], SHARE_APPLICATION)
    application.status = "withdrawn"
    record_audit(uow, actor, now, "share_application_withdrawn", application.case_id,
                 {"application_id": application.id, **({"reason": reason} if reason else {})})
    return application


def coordinate_share_application(uow: UnitOfWork, application_id: int, outcome: str, note: str, actor: Actor,
                                 now: datetime) -> ShareApplication:
    """The authority's coordination after a refusal (art. 14 para. 3), once per application."""
    application = load(uow.session, ShareApplication, application_id, SHARE_APPLICATION)
    check = Checks(uow.session)
    check.choice("outcome", outcome, COORDINATION_OUTCOMES, COORDINATION_OUTCOME)
    note = check.text("note", note, COORDINATION_NOTE)
    check.done()
    require_status(application, ["refused"], SHARE_APPLICATION)
    if application.coordination_outcome is not None:
        raise GovflowError(msg("share_application.already_coordinated",
                               "the authority has already coordinated this application"))
    application.coordination_outcome, application.coordination_note = outcome, note
    application.coordinated_by, application.coordinated_at = actor.username, now
    record_audit(uow, actor, now, "share_application_coordinated", application.case_id, {
        "application_id": application.id, "outcome": outcome})
    return application
