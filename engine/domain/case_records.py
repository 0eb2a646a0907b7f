"""What one case produced in the domain: its share application and grant, objection, inconsistency
report, violations (opened by the case or escalated from it) with their ladder steps, supervision
items and published catalog versions — read for the case page, a fixed number of queries."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .catalog import CatalogVersion
from .grants import Grant
from .inconsistencies import InconsistencyReport
from .objections import Objection
from .share_applications import ShareApplication
from .violations import SupervisionItem, Violation


@dataclass(frozen=True)
class CaseRecords:
    share_applications: list[ShareApplication] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    objections: list[Objection] = field(default_factory=list)
    inconsistency_reports: list[InconsistencyReport] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    supervision_items: list[SupervisionItem] = field(default_factory=list)
    catalog_versions: list[CatalogVersion] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)


def records_of_case(session: Session, case_id: int) -> CaseRecords:
    """Every domain record written by case ``case_id`` (violations also when escalated from it)."""
    def of(model, where=None):
        condition = model.case_id == case_id if where is None else where
        return list(session.scalars(sa.select(model).where(condition).order_by(model.id)).unique())

    return CaseRecords(
        share_applications=of(ShareApplication), grants=of(Grant), objections=of(Objection),
        inconsistency_reports=of(InconsistencyReport),
        violations=of(Violation, sa.or_(Violation.case_id == case_id, Violation.source_case_id == case_id)),
        supervision_items=of(SupervisionItem),
        catalog_versions=of(CatalogVersion))


# -- the same records as plain values, for the case page's read model (engine.views.cases) --------

@dataclass(frozen=True)
class DepartmentRef:
    code: str
    name: str


@dataclass(frozen=True)
class ShareApplicationRecord:
    id: int
    resource_code: str
    status: str
    consumer: DepartmentRef
    provider: DepartmentRef
    data_items: tuple[str, ...]
    scenario: str
    period_from: date | None
    period_until: date | None
    materials: tuple[str, ...]
    refusal_reason: str | None
    refusal_basis: str | None
    coordination_outcome: str | None
    coordination_note: str | None


@dataclass(frozen=True)
class GrantRecord:
    id: int
    resource_code: str
    status: str
    consumer: DepartmentRef
    provider: DepartmentRef
    data_items: tuple[str, ...]
    valid_from: date | None
    valid_until: date | None
    usage_limits: str
    basis: str
    revoked_at: datetime | None
    revoked_by: str | None
    revocation_reason: str | None
    revocation_basis: str | None
    expiry_notice_at: datetime | None


@dataclass(frozen=True)
class ObjectionRecord:
    """Without the objector's contacts and receipt code (they are the objector's)."""

    id: int
    resource_code: str
    status: str
    objector_kind: str
    provider: DepartmentRef
    record_ref: str
    description: str
    outcome: str | None
    answer: str | None
    correction: str | None
    extension_days: int | None
    extension_approved: bool | None


@dataclass(frozen=True)
class PartyRecord:
    department: DepartmentRef
    resource_code: str
    position: str | None
    agreed: bool | None
    must_correct: bool
    correction_note: str | None


@dataclass(frozen=True)
class ReportRecord:
    id: int
    status: str
    description: str
    parties: tuple[PartyRecord, ...]
    outcome: str | None
    decision: str | None


@dataclass(frozen=True)
class LadderStep:
    step: str
    at: datetime
    actor: str
    note: str
    deadline: date | None


@dataclass(frozen=True)
class ViolationRecord:
    id: int
    item: int
    status: str
    department: DepartmentRef
    evidence: str
    source: str
    deadline: date | None
    steps: tuple[LadderStep, ...]


@dataclass(frozen=True)
class SupervisionRecord:
    id: int
    status: str
    department: DepartmentRef
    possible_violation_item: int
    confirmed: bool
    violation_id: int | None
    note: str
    resolution: str | None


@dataclass(frozen=True)
class CatalogRecord:
    id: int
    status: str
    department: DepartmentRef
    label: str
    basis: str
    published_at: datetime | None
    published_by: str | None


@dataclass(frozen=True)
class RecordsOfCase:
    """``CaseRecords`` as plain values (same attribute names), readable after the unit of work."""

    share_applications: tuple[ShareApplicationRecord, ...] = ()
    grants: tuple[GrantRecord, ...] = ()
    objections: tuple[ObjectionRecord, ...] = ()
    inconsistency_reports: tuple[ReportRecord, ...] = ()
    violations: tuple[ViolationRecord, ...] = ()
    supervision_items: tuple[SupervisionRecord, ...] = ()
    catalog_versions: tuple[CatalogRecord, ...] = ()

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)

    def people(self) -> set[str]:
        """The logins the records name (ladder steps, publications, revocations)."""
        return ({s.actor for v in self.violations for s in v.steps}
                | {c.published_by for c in self.catalog_versions if c.published_by}
                | {g.revoked_by for g in self.grants if g.revoked_by})


def read_records(session: Session, case_id: int) -> RecordsOfCase:
    """``records_of_case`` copied into plain values inside the caller's unit of work."""
    found = records_of_case(session, case_id)
    dept = department_ref
    return RecordsOfCase(
        tuple(copy_into(ShareApplicationRecord, a, consumer=dept(a.consumer), provider=dept(a.provider),
                        data_items=tuple(a.data_items or ()), materials=tuple(a.materials or ()))
              for a in found.share_applications),
        tuple(copy_into(GrantRecord, g, consumer=dept(g.consumer), provider=dept(g.provider),
                        data_items=tuple(g.data_items or ())) for g in found.grants),
        tuple(copy_into(ObjectionRecord, o, provider=dept(o.provider)) for o in found.objections),
        tuple(copy_into(ReportRecord, r, parties=tuple(copy_into(PartyRecord, p, department=dept(p.department))
                                                       for p in r.parties))
              for r in found.inconsistency_reports),
        tuple(copy_into(ViolationRecord, v, department=dept(v.department),
                        steps=tuple(copy_into(LadderStep, step) for step in v.steps)) for v in found.violations),
        tuple(copy_into(SupervisionRecord, item, department=dept(item.department))
              for item in found.supervision_items),
        tuple(copy_into(CatalogRecord, c, department=dept(c.department)) for c in found.catalog_versions))


def department_ref(department) -> DepartmentRef:
    return DepartmentRef(department.code, department.name)


def copy_into(cls, row, **given):
    """An instance of the dataclass ``cls`` from the row's attributes of the same names (``given``
    for those that need converting)."""
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls) if f.name not in given}, **given)
