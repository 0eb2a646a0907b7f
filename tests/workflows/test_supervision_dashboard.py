"""An overdue escalation offers its decision twice: in the case (the authority's 督办 task) and on the
supervision dashboard, one verb behind both (engine.verbs.supervision). Whichever comes first decides;
the other never records a second violation and never leaves the in-case task stuck; both doors record
the same decision; a second decision on the dashboard is refused (SQLite and PostgreSQL)."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from engine.domain import records
from engine.errors import AlreadyDone, GovflowError, PermissionDenied
from engine.models import AuditRecord
from engine.verbs import supervision as verbs
from tests.workflows.test_data_review import CORRECTED, start, supervision, task_row


def overdue(world) -> int:
    """An objection whose answer is a day late: verify_answer overdue, 督办 opened, the decision task open."""
    case_id = start(world)
    world.at(2026, 10, 16, 0, 0)
    world.fire_timers()
    world.reload()
    world.at(2026, 10, 16, 10, 0)
    assert world.open_elements(case_id) == ["verify_answer", "verify_answer_supervise"]
    return case_id


def violations_of(world, case_id) -> list[records.Violation]:
    with world.engine.uow() as uow:
        return list(uow.session.scalars(sa.select(records.Violation).where(
            records.Violation.source_case_id == case_id)))


def test_confirmed_on_the_dashboard_then_answered_in_the_case(world):
    case_id = overdue(world)
    item = supervision(world, case_id)
    rectification = world.engine.open_rectification(item.id, world.actors["supervisor"])
    assert world.case(rectification).process_id == "rectification"
    with pytest.raises(AlreadyDone):
        world.engine.open_rectification(item.id, world.actors["supervisor"])
    world.complete(case_id, "verify_answer_supervise", "supervisor", {"decision": "open"})  # the same case, not a second one
    assert world.engine.case_data(case_id)["verify_answer_rectification"] == rectification
    assert [v.case_id for v in violations_of(world, case_id)] == [rectification]
    world.complete(case_id, "verify_answer", "gongan.clerk", CORRECTED)
    assert world.case(case_id).status == "completed"


def test_dismissed_on_the_dashboard_then_the_case_task_can_only_dismiss(world):
    case_id = overdue(world)
    item = supervision(world, case_id)
    world.engine.dismiss_supervision(item.id, world.actors["supervisor"], "已电话督促，当日办结")
    with pytest.raises(GovflowError, match="closed without rectification"):  # a ScriptError around AlreadyDone
        world.complete(case_id, "verify_answer_supervise", "supervisor", {"decision": "open"})
    assert violations_of(world, case_id) == []
    world.complete(case_id, "verify_answer_supervise", "supervisor", {"decision": "dismiss", "note": "已在督办页办结"})
    closed = supervision(world, case_id)
    assert (closed.status, closed.resolution) == ("resolved", "已电话督促，当日办结")  # the first decision stands
    assert world.open_elements(case_id) == ["verify_answer"]
    assert task_row(world, case_id, "verify_answer").overdue is True


# -- one verb, two doors ---------------------------------------------------------------------------

DECISION = ("supervision_confirmed", "violation_recorded", "violation_case_attached", "supervision_resolved")


def decision_records(world, after: int) -> list[tuple]:
    """The decision's audit records after record ``after``: action, actor, and the summary's keys."""
    with world.engine.uow() as uow:
        rows = uow.session.scalars(sa.select(AuditRecord).where(AuditRecord.id > after,
                                                                AuditRecord.action.in_(DECISION))
                                   .order_by(AuditRecord.id))
        return [(r.action, r.actor, sorted(json.loads(r.summary or "{}"))) for r in rows]


def last_audit(world) -> int:
    with world.engine.uow() as uow:
        return uow.session.scalar(sa.select(sa.func.max(AuditRecord.id))) or 0


def item_state(world, case_id) -> tuple:
    item = supervision(world, case_id)
    return item.status, item.confirmed, item.confirmed_by, item.resolution, item.resolved_by


def test_confirming_at_either_door_records_the_same(world):
    on_dashboard, in_case = overdue(world), overdue(world)
    before = last_audit(world)
    first = verbs.confirm(world.engine, supervision(world, on_dashboard).id, world.actors["supervisor"], "证据")
    dashboard_records, middle = decision_records(world, before), last_audit(world)
    world.complete(in_case, "verify_answer_supervise", "supervisor", {"decision": "open"})
    second = world.engine.case_data(in_case)["verify_answer_rectification"]
    assert decision_records(world, middle) == dashboard_records
    assert [a for a, _, _ in dashboard_records] == ["violation_recorded", "supervision_confirmed",
                                                    "violation_case_attached"]
    assert item_state(world, on_dashboard) == item_state(world, in_case) == ("open", True, "supervisor", None, None)
    assert {world.case(first).process_id, world.case(second).process_id} == {"rectification"}
    assert [v.case_id for v in violations_of(world, on_dashboard)] == [first]
    assert [v.case_id for v in violations_of(world, in_case)] == [second]


def test_dismissing_at_either_door_records_the_same(world):
    on_dashboard, in_case = overdue(world), overdue(world)
    before = last_audit(world)
    verbs.dismiss(world.engine, supervision(world, on_dashboard).id, world.actors["supervisor"], "已督促")
    dashboard_records, middle = decision_records(world, before), last_audit(world)
    world.complete(in_case, "verify_answer_supervise", "supervisor", {"decision": "dismiss", "note": "已督促"})
    assert decision_records(world, middle) == dashboard_records == [
        ("supervision_resolved", "supervisor", ["confirmed", "supervision_id"])]
    assert item_state(world, on_dashboard) == item_state(world, in_case) == (
        "resolved", False, None, "已督促", "supervisor")
    assert violations_of(world, on_dashboard) == violations_of(world, in_case) == []


def test_a_second_decision_on_the_dashboard_is_refused(world):
    confirmed, dismissed = overdue(world), overdue(world)
    supervisor = world.actors["supervisor"]
    first = verbs.confirm(world.engine, supervision(world, confirmed).id, supervisor)
    with pytest.raises(AlreadyDone, match="already confirmed"):
        verbs.confirm(world.engine, supervision(world, confirmed).id, supervisor)
    verbs.dismiss(world.engine, supervision(world, dismissed).id, supervisor, "已督促")
    with pytest.raises(AlreadyDone, match="closed without rectification"):
        world.engine.open_rectification(supervision(world, dismissed).id, supervisor)
    with pytest.raises(AlreadyDone, match="is closed"):
        world.engine.dismiss_supervision(supervision(world, dismissed).id, supervisor, "再次")
    world.complete(dismissed, "verify_answer_supervise", "supervisor", {"decision": "dismiss", "note": "再次"})  # adopted
    assert supervision(world, dismissed).resolution == "已督促"
    assert [v.case_id for v in violations_of(world, confirmed)] == [first]
    assert violations_of(world, dismissed) == []
    with pytest.raises(PermissionDenied):
        verbs.dismiss(world.engine, supervision(world, confirmed).id, world.actors["gongan.clerk"], "不是我的")
    with pytest.raises(GovflowError, match="no such supervision item"):
        verbs.confirm(world.engine, 999999, supervisor)
