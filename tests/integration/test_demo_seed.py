"""`govflow seed-demo`: realistic, complete and idempotent."""
from __future__ import annotations

import sqlalchemy as sa

from engine.demo.organisation import DEMO_PASSWORD
from engine.demo.seed import seed_demo
from engine.domain import catalog, org
from engine.models import AuditRecord


def test_seed_demo_creates_a_county_and_is_idempotent(engine):
    created = seed_demo(engine)
    assert created["departments"] == 30 and created["people"] > 55 and created["catalog_versions"] > 15
    with engine.uow() as uow:
        audit_count = uow.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
        resources = catalog.published_catalog(uow.session)
        assert len(resources) >= 35
        assert {r.share_type for r in resources} == {"unconditional", "conditional", "none"}
        stats = catalog.get_resource(uow.session, "HN-TJ-001")
        assert stats.share_type == "none" and "统计法" in stats.share_basis  # art. 15
        for dept in uow.session.scalars(sa.select(org.Department)):
            assert dept.head_id is not None, dept.name  # art. 5: every department has its 数长
        supervisor = org.authenticate(uow.session, "supervisor", DEMO_PASSWORD)
        assert supervisor is not None and "authority" in supervisor.roles
    assert seed_demo(engine) == {"departments": 0, "people": 0, "catalog_versions": 0}
    with engine.uow() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == audit_count
    assert engine.verify_audit() is None
