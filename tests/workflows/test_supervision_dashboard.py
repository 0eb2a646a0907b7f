"""An overdue escalation offers its decision twice: in the case (the authority's 督办 task) and on the
supervision dashboard. Whichever comes first decides; the other never records a second violation and
never leaves the in-case task stuck."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.domain import records
from engine.errors import AlreadyDone, GovflowError
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
    with pytest.raises(GovflowError, match="closed on the supervision page"):
        world.complete(case_id, "verify_answer_supervise", "supervisor", {"decision": "open"})
    assert violations_of(world, case_id) == []
    world.complete(case_id, "verify_answer_supervise", "supervisor", {"decision": "dismiss", "note": "已在督办页办结"})
    closed = supervision(world, case_id)
    assert (closed.status, closed.resolution) == ("resolved", "已电话督促，当日办结")  # the first decision stands
    assert world.open_elements(case_id) == ["verify_answer"]
    assert task_row(world, case_id, "verify_answer").overdue is True
