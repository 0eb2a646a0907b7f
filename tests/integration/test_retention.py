"""The public's contact data are anonymised a retention period after their case ended (issue 15
item 7): only closed cases older than the period, audited without the data, the record kept; the
period is an administrator's setting (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import retention
from engine.errors import InvalidForm, PermissionDenied
from engine.models import AuditRecord, Case
from engine.procedures import load_procedures
from engine.uow import Actor
from tests.integration.test_records import DEPARTMENTS, objection
from tests.conftest import FIXTURES, make_engine, review_loop_procedure
from workflows.data_review.records import Objection

ADMIN = Actor("admin", frozenset({"admin"}))
CLERK = Actor("clerk1", frozenset({"provider_clerk"}), "GA")


@pytest.fixture
def eng(db_url, clock):
    from engine.domain import org
    engine = make_engine(db_url, clock, {**load_procedures("workflows"), "review_loop": review_loop_procedure()})
    engine.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    with engine.uow() as uow:
        for code, name, kind in DEPARTMENTS:
            org.create_department(uow.session, code, name, kind)
        uow.commit()
    yield engine
    assert engine.verify_audit() is None
    engine.db_engine.dispose()


def case_row(engine, ended_days_ago: int | None) -> int:
    """A case, ended that many days ago (None: still running)."""
    case_id = engine.start_case("review_loop", CLERK, {"department": "GA"})
    if ended_days_ago is not None:
        with engine.uow() as uow:
            uow.session.execute(sa.update(Case).where(Case.id == case_id).values(
                status="completed", ended_at=engine.clock.now() - timedelta(days=ended_days_ago)))
            uow.commit()
    return case_id


def contacts(engine) -> dict[int, tuple[str, str, str]]:
    with engine.uow() as uow:
        return {o.case_id: (o.objector_name, o.contact_phone, o.contact_email)
                for o in uow.session.scalars(sa.select(Objection))}


def test_contact_data_of_cases_closed_longer_than_the_period_are_anonymised(eng, clock):
    old, recent, running = case_row(eng, 400), case_row(eng, 10), case_row(eng, None)
    for case_id in (old, recent, running):
        objection(eng, clock, case_id=case_id, contact_email="wang@example.cn")
    assert retention.apply(eng) == 1
    found = contacts(eng)
    assert found[old] == ("", "", "")
    assert found[recent] == found[running] == ("王某", "13800000000", "wang@example.cn")
    with eng.uow() as uow:
        [record] = uow.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "contact_data_anonymised"))
    assert record.case_id == old and "王某" not in record.summary and "138" not in record.summary
    assert retention.apply(eng) == 0  # once


def test_the_period_is_an_administrators_setting(eng, clock):
    recent = case_row(eng, 40)
    objection(eng, clock, case_id=recent)
    with pytest.raises(PermissionDenied):
        retention.set_retention_days(eng, CLERK, 30)
    with pytest.raises(InvalidForm):
        retention.set_retention_days(eng, ADMIN, 5)
    assert retention.apply(eng) == 0
    retention.set_retention_days(eng, ADMIN, 30)
    assert retention.apply(eng) == 1 and contacts(eng)[recent] == ("", "", "")
