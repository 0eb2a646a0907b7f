"""The shared records one case produced, as the case page shows them (engine.record_views): its
grants, violations (opened by the case or escalated from it) with their ladder steps, supervision
items and published catalog versions. A procedure's own records (share applications, objections,
inconsistency reports) are viewed by its package (``workflows/<process_id>/views.py``);
``record_views_of_case`` joins both, a fixed number of queries."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..i18n import N_
from ..record_views import (Bilingual, LadderStep, RecordView, Term, copy_into, facts, items, joined, period,
                            term, when, Person)
from .catalog import CatalogVersion
from .grants import GRANT_STATUSES, Grant
from .violations import ART31_ITEMS, ART31_ITEMS_EN, SOURCES, VIOLATION_STEPS, SupervisionItem, Violation

__all__ = ["DepartmentRef", "copy_into", "department_ref", "record_views_of_case", "shared_record_views"]
SUPERVISION_STATUSES = {"open": "督办中", "resolved": "已办结"}
CATALOG_STATUSES = {"draft": "草稿", "published": "现行版本", "superseded": "已被替代"}


@dataclass(frozen=True)
class DepartmentRef:
    code: str
    name: str


def department_ref(department) -> DepartmentRef:
    return DepartmentRef(department.code, department.name)


def record_views_of_case(session: Session, case_id: int,
                         procedure_views: Iterable[Callable[[Session, int], list[RecordView]]] = ()
                         ) -> tuple[RecordView, ...]:
    """Every record of the case: each procedure's own (in the procedures' order), then the shared."""
    found: list[RecordView] = []
    for view in procedure_views:
        found += view(session, case_id)
    return tuple(found + shared_record_views(session, case_id))


def shared_record_views(session: Session, case_id: int) -> list[RecordView]:
    def of(model, where=None):
        condition = model.case_id == case_id if where is None else where
        return list(session.scalars(sa.select(model).where(condition).order_by(model.id)).unique())

    return ([_grant(g) for g in of(Grant)]
            + [_violation(v) for v in of(Violation, sa.or_(Violation.case_id == case_id,
                                                           Violation.source_case_id == case_id))]
            + [_supervision(s) for s in of(SupervisionItem)]
            + [_catalog(c) for c in of(CatalogVersion)])


def _grant(g: Grant) -> RecordView:
    return RecordView("grant", N_("Grant"), f"#{g.id}", (g.resource_code,), term(GRANT_STATUSES, g.status), facts(
        (N_("Consumer department"), g.consumer.name), (N_("Provider department"), g.provider.name),
        (N_("Data items"), items(g.data_items)), (N_("Valid"), period(g.valid_from, g.valid_until)),
        (N_("Usage limits"), g.usage_limits), (N_("Basis"), g.basis),
        (N_("Revoked"), joined(when(g.revoked_at), Person(g.revoked_by)) if g.revoked_at else None),
        (N_("Reason for revocation"), g.revocation_reason), (N_("Basis of revocation"), g.revocation_basis),
        (N_("Expiry notice sent"), when(g.expiry_notice_at))))


def _violation(v: Violation) -> RecordView:
    item = Term(f"{v.item}. {ART31_ITEMS_EN[v.item]}", f"{v.item}. {ART31_ITEMS[v.item]}")
    steps = tuple(LadderStep(term(VIOLATION_STEPS, s.step), s.at, s.actor, s.note, s.deadline) for s in v.steps)
    return RecordView("violation", N_("Violation"), f"#{v.id}", (v.department.name,),
                      term(VIOLATION_STEPS, v.status), facts(
        (N_("Art. 31 item"), item), (N_("Evidence"), v.evidence), (N_("Source"), term(SOURCES, v.source)),
        (N_("Deadline"), v.deadline.isoformat() if v.deadline else "")), steps)


def _supervision(s: SupervisionItem) -> RecordView:
    return RecordView("supervision", N_("Supervision item"), f"#{s.id}", (s.department.name,),
                      term(SUPERVISION_STATUSES, s.status), facts(
        (N_("Possible violation (art. 31 item)"), s.possible_violation_item),
        (N_("Confirmed as a violation"), f"#{s.violation_id}" if s.confirmed else ""),
        (N_("Note"), Bilingual(s.note) if s.note else None), (N_("Resolution"), s.resolution)))


def _catalog(c: CatalogVersion) -> RecordView:
    published = joined(when(c.published_at), Person(c.published_by)) if c.published_at else None
    return RecordView("catalog", N_("Catalog"), c.department.name, (Bilingual(c.label),),
                      term(CATALOG_STATUSES, c.status),
                      facts((N_("Change basis"), c.basis), (N_("Published"), published)))
