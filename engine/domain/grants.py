"""Grants (授权): permission for a consumer department to use one resource, with scope, period and
limits (arts. 14, 17); they expire at the end of their period and can be revoked."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column, relationship

from ..messages import msg
from ..models import Base, UTCDateTime
from ..uow import Actor, UnitOfWork
from .org import Department
from .record_checks import Checks, load, record_audit, require_status

GRANT_STATUSES = {"active": "有效", "expired": "已到期", "revoked": "已撤销"}
# art. 14 para. 2: every grant carries this limit, whatever else the provider adds.
THIRD_PARTY_LIMIT = "不得以任何形式提供给第三方（第十四条第二款） (not to be passed to third parties in any form, art. 14 para. 2)"
GRANT_EXPIRY_ACTOR = Actor.system("grant_expiry")
GRANT_NOTICE_ACTOR = Actor.system("grant_expiry_notice")
TEXT_MAX = 2000  # a revocation's reason and basis
GRANT = msg("label.grant", "grant")
CONSUMER_DEPARTMENT = msg("label.consumer_department", "consumer department")
PROVIDER_DEPARTMENT = msg("label.provider_department", "provider department")


class Grant(Base):
    __tablename__ = "share_grant"
    __table_args__ = (
        sa.CheckConstraint("valid_until >= valid_from", name="period"),
        sa.Index("ix_share_grant_consumer_resource", "consumer_department_id", "resource_code", "status"),
        sa.Index("ix_share_grant_status_until", "status", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id"), index=True)
    consumer_department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"))
    resource_code: Mapped[str] = mapped_column(sa.String(40))
    provider_department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"), index=True)
    data_items: Mapped[list[str]] = mapped_column(sa.JSON)
    scenario: Mapped[str] = mapped_column(sa.Text)  # 应用场景, art. 14
    materials: Mapped[list[str] | None] = mapped_column(sa.JSON)  # what the consumer registered (art. 16)
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_until: Mapped[date] = mapped_column(sa.Date)  # last day of use (inclusive)
    usage_limits: Mapped[str] = mapped_column(sa.Text)
    basis: Mapped[str] = mapped_column(sa.Text)
    approved_by: Mapped[str] = mapped_column(sa.String(200))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(sa.String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(sa.Text)
    revocation_basis: Mapped[str | None] = mapped_column(sa.Text)  # the term broken or the legal basis
    expiry_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the consumer was told
    version: Mapped[int] = mapped_column(default=1)

    consumer: Mapped[Department] = relationship(foreign_keys=[consumer_department_id], lazy="joined")
    provider: Mapped[Department] = relationship(foreign_keys=[provider_department_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    def in_force(self, today: date) -> bool:
        return self.status == "active" and self.valid_from <= today <= self.valid_until


def create_grant(uow: UnitOfWork, *, consumer_dept_code: str, resource_code: str, provider_dept_code: str,
                 data_items: list[str], scenario: str, valid_from: date | str, valid_until: date | str,
                 basis: str, actor: Actor, now: datetime, usage_limits: str = "",
                 case_id: int | None = None, materials: list[str] | None = None) -> Grant:
    """Record a grant (art. 17); the third-party ban of art. 14 para. 2 is always among its limits."""
    check = Checks(uow.session)
    grant = Grant(
        consumer=check.department("consumer_dept_code", consumer_dept_code, CONSUMER_DEPARTMENT),
        provider=check.department("provider_dept_code", provider_dept_code, PROVIDER_DEPARTMENT),
        resource_code=check.resource_code("resource_code", resource_code),
        data_items=check.items("data_items", data_items, msg("label.data_items", "data items")),
        scenario=check.text("scenario", scenario, msg("label.usage_scenario", "usage scenario")),
        valid_from=check.day("valid_from", valid_from, msg("label.grant_first_day", "first day of the grant")),
        valid_until=check.day("valid_until", valid_until, msg("label.grant_last_day", "last day of the grant")),
        usage_limits=_limits(check.optional_text("usage_limits", usage_limits,
                                                        msg("label.usage_limits", "usage limits"))),
        basis=check.text("basis", basis, msg("label.grant_basis", "basis of the grant")),
        case_id=check.case("case_id", case_id), approved_by=actor.username, approved_at=now, status="active",
        materials=list(materials) if materials is not None else None)
    check.different("consumer_dept_code", grant.consumer, grant.provider)
    check.period("valid_until", grant.valid_from, grant.valid_until)
    check.done()
    uow.session.add(grant)
    uow.session.flush()
    record_audit(uow, actor, now, "grant_created", grant.case_id, _summary(grant))
    return grant


def _limits(extra: str) -> str:
    return f"{THIRD_PARTY_LIMIT}\n{extra}" if extra else THIRD_PARTY_LIMIT


def _summary(grant: Grant) -> dict:
    return {"grant_id": grant.id, "consumer": grant.consumer.code, "provider": grant.provider.code,
            "resource_code": grant.resource_code, "data_items": grant.data_items,
            "valid_from": grant.valid_from.isoformat(), "valid_until": grant.valid_until.isoformat()}


def revoke_grant(uow: UnitOfWork, grant_id: int, reason: str, actor: Actor, now: datetime,
                 basis: str | None = None) -> Grant:
    """Withdraw an active grant before the end of its period, with the reason and (art. 14: the
    consumer broke the terms of use, or the legal basis) the basis. Who may revoke, and that a basis
    is required, is ``engine.grant_service.revoke_grant``'s business; this records it."""
    grant = load(uow.session, Grant, grant_id, GRANT)
    check = Checks(uow.session)
    reason = check.text("reason", reason, msg("label.revocation_reason", "reason for revoking"),
                        max_length=TEXT_MAX)
    basis = check.optional_text("basis", basis, msg("label.revocation_basis", "basis for revoking"),
                                max_length=TEXT_MAX) or None
    check.done()
    require_status(grant, ["active"], GRANT)
    grant.status, grant.revoked_by, grant.revoked_at = "revoked", actor.username, now
    grant.revocation_reason, grant.revocation_basis = reason, basis
    summary = {"grant_id": grant.id, "consumer": grant.consumer.code, "provider": grant.provider.code,
               "resource_code": grant.resource_code, "reason": reason}
    if basis:
        summary["basis"] = basis
    record_audit(uow, actor, now, "grant_revoked", grant.case_id, summary)
    return grant


def record_expiry_notice(uow: UnitOfWork, grant: Grant, notice_day: date, provisional: bool, actor: Actor,
                         now: datetime) -> None:
    """Note that the consumer was told the grant ends soon (once per grant), audited."""
    grant.expiry_notice_at = now
    record_audit(uow, actor, now, "grant_expiry_notified", grant.case_id, {
        "grant_id": grant.id, "consumer": grant.consumer.code, "valid_until": grant.valid_until.isoformat(),
        "notice_day": notice_day.isoformat(), "provisional": provisional})


def effective_status(grant: Grant, today: date) -> str:
    """The status as the consumer lives it: an active grant past its last day is expired even before
    the daily sweep marks it so."""
    return "expired" if grant.status == "active" and grant.valid_until < today else grant.status


def expire_grants(uow: UnitOfWork, today: date, actor: Actor, now: datetime) -> list[Grant]:
    """Mark expired every active grant whose last day is before ``today`` (one audit entry each)."""
    due = uow.session.scalars(sa.select(Grant).where(Grant.status == "active", Grant.valid_until < today)
                              .order_by(Grant.id)).all()
    for grant in due:
        grant.status, grant.expired_at = "expired", now
        record_audit(uow, actor, now, "grant_expired", grant.case_id,
                     {"grant_id": grant.id, "valid_until": grant.valid_until.isoformat()})
    return list(due)


def active_grants(session: Session, today: date, consumer_dept_code: str | None = None) -> list[Grant]:
    """Grants in force on ``today``: active, and ``today`` within their period."""
    query = _in_force(today)
    if consumer_dept_code is not None:
        consumer = aliased(Department)
        query = query.join(consumer, Grant.consumer_department_id == consumer.id).where(
            consumer.code == consumer_dept_code)
    return list(session.scalars(query.order_by(Grant.id)))


def has_active_grant(session: Session, consumer_dept_code: str, resource_code: str, today: date,
                     provider_dept_code: str | None = None) -> bool:
    """Whether the consumer may use the resource on ``today`` (of that provider, if given)."""
    consumer, provider = aliased(Department), aliased(Department)
    query = _in_force(today).join(consumer, Grant.consumer_department_id == consumer.id).where(
        consumer.code == consumer_dept_code, Grant.resource_code == resource_code)
    if provider_dept_code is not None:
        query = query.join(provider, Grant.provider_department_id == provider.id).where(
            provider.code == provider_dept_code)
    return session.scalars(query.limit(1)).first() is not None


def _in_force(today: date) -> sa.Select:
    return sa.select(Grant).where(Grant.status == "active", Grant.valid_from <= today,
                                  Grant.valid_until >= today)
