"""What one case produced in the domain: its share application and grant, objection, inconsistency
report, violations (opened by the case or escalated from it) with their ladder steps, supervision
items and published catalog versions — read for the case page, a fixed number of queries."""
from __future__ import annotations

from dataclasses import dataclass, field

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
