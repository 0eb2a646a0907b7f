"""What the case page reads from the engine: the diagram with its elements' states, the names of a
definition's elements, and the domain records a case produced (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine import timer_service
from engine.calendar import BEIJING
from engine.domain import catalog, org, records
from engine.domain.case_records import record_views_of_case
from engine.procedures import load_procedures, record_viewers
from engine.errors import NotFound, PermissionDenied
from engine.uow import Actor
from workflows.share_application import records as share_records
from tests.conftest import FIXTURES, make_engine

CLERK = Actor("clerk1", frozenset({"provider_clerk"}), "D1")
HEAD = Actor("head1", frozenset({"dept_head"}), "D1")
OUTSIDER = Actor("clerk3", frozenset({"provider_clerk"}), "D2")
AUTHORITY = Actor("auth1", frozenset({"authority"}), "A")
RESOURCE = {"code": "D1-001", "name": "市场主体登记信息", "classification": "base", "category": "法人",
            "summary": "演示", "format": "database", "data_items": [{"name": "名称", "type": "字符", "description": ""}],
            "update_frequency": "daily", "share_type": "unconditional", "share_method": "interface",
            "usage_requirements": "不得提供给第三方", "materials": ["共享申请表"], "status": "active", "open_type": "open"}


@pytest.fixture
def eng(db_url, clock):
    engine = make_engine(db_url, clock)
    engine.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    engine.deploy((FIXTURES / "deadline_review.bpmn").read_bytes())
    with engine.uow() as uow:
        for code, kind in (("D1", "county_department"), ("D2", "county_department"), ("A", "authority")):
            org.create_department(uow.session, code, f"部门{code}", kind)
        uow.commit()
    yield engine
    engine.db_engine.dispose()


def task_id(engine, case_id: int, element_id: str) -> str:
    from engine.models import HumanTask
    import sqlalchemy as sa
    with engine.uow() as uow:
        return uow.session.scalars(sa.select(HumanTask.id).where(
            HumanTask.case_id == case_id, HumanTask.element_id == element_id, HumanTask.state == "ready")).one()


def test_completed_and_active_elements_follow_the_case(eng):
    case_id = eng.start_case("review_loop", CLERK, {"department": "D1"})
    first = eng.case_diagram(case_id, CLERK)
    assert 'id="review_loop"' in first.xml
    assert "start" in first.completed and "submit" not in first.completed
    assert (first.active, first.overdue) == (["submit"], [])

    eng.complete_task(task_id(eng, case_id, "submit"), CLERK, {"summary": "材料齐全"})
    second = eng.case_diagram(case_id, AUTHORITY)
    assert {"start", "submit"} <= set(second.completed)
    assert (second.active, second.overdue) == (["approve"], [])


def test_waiting_timers_are_active_and_a_task_past_its_due_instant_is_overdue(eng, clock):
    clock.set(datetime(2026, 9, 24, 10, 0, tzinfo=BEIJING))  # due 2026-10-15 24:00 (10 working days)
    case_id = eng.start_case("deadline_review", CLERK)
    running = eng.case_diagram(case_id, CLERK)
    assert running.active == ["answer", "overdue", "reminder", "request_extension"]
    assert running.overdue == []

    clock.set(datetime(2026, 10, 16, 0, 1, tzinfo=BEIJING))
    assert eng.case_diagram(case_id, CLERK).overdue == ["answer"]  # before the worker fires the timer
    timer_service.fire_due_timers(eng)
    fired = eng.case_diagram(case_id, CLERK)
    assert fired.overdue == ["answer"]
    assert {"overdue", "note_overdue", "reminder", "note_reminder"} <= set(fired.completed)
    assert "overdue" not in fired.active


def test_the_diagram_is_for_those_who_may_see_the_case(eng):
    case_id = eng.start_case("review_loop", CLERK, {"department": "D1"})
    with pytest.raises(PermissionDenied):
        eng.case_diagram(case_id, OUTSIDER)
    with pytest.raises(NotFound):
        eng.case_diagram(case_id + 100, AUTHORITY)


def test_element_names_come_from_the_parsed_definition(eng):
    case_id = eng.start_case("deadline_review", CLERK)
    from engine.models import Case
    with eng.uow() as uow:
        definition_id = uow.session.get(Case, case_id).definition_id
    names = eng.element_names(definition_id)
    assert names["answer"] == "校核并答复" and names["overdue"] == "超期督办" and names["start"] == "收到申请"
    assert "fork" not in names  # unnamed elements are left out


def test_records_of_a_case_are_the_ones_it_wrote_or_escalated(eng, clock):
    mine = eng.start_case("review_loop", CLERK, {"department": "D1"})
    other = eng.start_case("review_loop", CLERK, {"department": "D1"})
    assert not records_of(eng, mine)
    now = clock.now()
    with eng.uow() as uow:
        application_id = share_records.create_share_application(
            uow, consumer_dept_code="D2", resource_code="D1-001", provider_dept_code="D1", data_items=["姓名"],
            scenario="核验", period_from=date(2026, 3, 2), period_until=date(2026, 6, 30), actor=CLERK, now=now,
            case_id=mine).id
        records.record_violation(uow, dept_code="D1", item=3, evidence="逾期未答复", actor=AUTHORITY, now=now,
                                 case_id=other)
        item = records.open_supervision_item(uow, case_id=mine, human_task_id="t-1", dept_code="D1",
                                             possible_violation_item=3, actor=AUTHORITY, now=now)
        uow.commit()
    with eng.uow() as uow:
        escalated = records.confirm_supervision_item(uow, item.id, AUTHORITY, now)  # source_case_id = mine
        records.advance_violation(uow, escalated.id, "notified", AUTHORITY, now, "限期整改", deadline=date(2026, 3, 16))
        uow.commit()
    with eng.uow() as uow:
        draft = catalog.open_draft(uow, "D1", "clerk1", now)
        catalog.upsert_entry(uow, draft.id, RESOURCE, "clerk1", now)
        catalog.publish_draft(uow, draft.id, "auth1", now, basis="职能调整", case_id=mine)
        uow.commit()

    found = records_of(eng, mine)
    assert [(r.kind, r.number) for r in found] == [
        ("share_application", f"#{application_id}"), ("violation", f"#{escalated.id}"),
        ("supervision", f"#{item.id}"), ("catalog", "部门D1")]
    application, violation, supervision, published = found
    assert application.tags == ("D1-001",) and application.status.key == "submitted"
    assert [s.label.key for s in violation.steps][-1] == "notified" and violation.people == {AUTHORITY.username}
    assert ("Change basis", "职能调整") in [(f.label, f.value) for f in published.facts]
    assert [r.kind for r in records_of(eng, other)] == ["violation"]


def records_of(engine, case_id: int):
    with engine.uow() as uow:  # the records and what they show are read inside the unit of work
        return record_views_of_case(uow.session, case_id, record_viewers(load_procedures("workflows")))
