"""Working-day timers with an injected clock: reminders, overdue, extensions, provisional years."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from engine import timer_service
from engine.calendar import BEIJING
from engine.errors import ScriptError
from engine.models import AuditRecord, Case, Deadline, HumanTask
from engine.uow import Actor
from engine.verbs import calendar
from engine.views.admin import calendar_status
from tests.conftest import FIXTURES, make_engine

CLERK = Actor("zhang", frozenset({"provider_clerk"}), "D1")
HEAD = Actor("li", frozenset({"dept_head"}), "D1")
ADMIN = Actor("admin", frozenset({"admin"}))


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


@pytest.fixture
def timed(db_url, clock):
    eng = make_engine(db_url, clock, procedures={})
    eng.deploy((FIXTURES / "deadline_review.bpmn").read_bytes())
    yield eng, clock
    eng.db_engine.dispose()


def deadlines(engine, case_id) -> dict[str, Deadline]:
    with engine.uow() as uow:
        return {d.kind: d for d in uow.session.scalars(sa.select(Deadline).where(Deadline.case_id == case_id))}


def task(engine, case_id, element_id) -> HumanTask:
    with engine.uow() as uow:
        return uow.session.scalars(sa.select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.element_id == element_id)).one()


def fired_kinds(engine, case_id) -> list[str]:
    with engine.uow() as uow:
        rows = uow.session.scalars(sa.select(AuditRecord.summary).where(
            AuditRecord.case_id == case_id, AuditRecord.action == "timer_fired").order_by(AuditRecord.id))
        import json
        return [json.loads(s)["kind"] for s in rows]


def test_reminder_then_overdue_fire_in_order_once_each(timed):
    engine, clock = timed
    clock.set(beijing(2026, 9, 24, 10, 0))  # Thu; National Day 10-01..10-07, Sat 10-10 works
    case_id = engine.start_case("deadline_review", CLERK)
    d = deadlines(engine, case_id)
    assert d["overdue"].due_date == date(2026, 10, 15)
    assert d["overdue"].due_at == beijing(2026, 10, 16, 0, 0)  # 24:00 of the 10th working day
    assert d["reminder"].due_at == beijing(2026, 10, 14, 9, 0)  # one working day before
    answer = task(engine, case_id, "answer")
    assert (answer.due_date, answer.provisional, answer.overdue) == (date(2026, 10, 15), False, False)

    clock.set(beijing(2026, 10, 14, 8, 59))
    assert timer_service.fire_due_timers(engine) == 0
    clock.set(beijing(2026, 10, 14, 9, 0))
    assert timer_service.fire_due_timers(engine) == 1
    assert timer_service.fire_due_timers(engine) == 0
    assert fired_kinds(engine, case_id) == ["reminder"]
    clock.set(beijing(2026, 10, 15, 23, 59))
    assert timer_service.fire_due_timers(engine) == 0
    clock.set(beijing(2026, 10, 16, 0, 0))
    assert timer_service.fire_due_timers(engine) == 1
    clock.advance(days=3)
    assert timer_service.fire_due_timers(engine) == 0
    assert fired_kinds(engine, case_id) == ["reminder", "overdue"]
    answer = task(engine, case_id, "answer")
    assert answer.state == "ready" and answer.overdue is True  # non-interrupting: still open
    assert engine.case_data(case_id).get("reply") is None


def test_timers_due_while_a_clerk_works_fire_with_the_clerks_transaction(timed):
    engine, clock = timed
    clock.set(beijing(2026, 9, 24, 10, 0))
    case_id = engine.start_case("deadline_review", CLERK)
    clock.set(beijing(2026, 10, 20, 10, 0))  # both timers long due, worker was down
    engine.complete_task(task(engine, case_id, "answer").id, CLERK, {"reply": "已更正"})
    with engine.uow() as uow:
        case = uow.session.get(Case, case_id)
    assert case.status == "completed"
    assert sorted(fired_kinds(engine, case_id)) == ["overdue", "reminder"]
    assert timer_service.fire_due_timers(engine) == 0


def test_answer_before_the_deadline_cancels_its_timers(timed):
    engine, clock = timed
    clock.set(beijing(2026, 9, 24, 10, 0))
    case_id = engine.start_case("deadline_review", CLERK)
    engine.complete_task(task(engine, case_id, "answer").id, CLERK, {"reply": "数据无误"})
    assert {k: d.state for k, d in deadlines(engine, case_id).items()} == {
        "reminder": "cancelled", "overdue": "cancelled"}
    clock.set(beijing(2026, 11, 1, 0, 0))
    assert timer_service.fire_due_timers(engine) == 0


def test_spring_festival_is_skipped(timed):
    engine, clock = timed
    clock.set(beijing(2026, 2, 12, 15, 0))  # Thu before the 2026 Spring Festival
    case_id = engine.start_case("deadline_review", CLERK)
    # 10 working days: 02-13, 02-14 (Sat, 调休), 02-24..02-27, 02-28 (Sat, 调休), 03-02, 03-03, 03-04
    assert deadlines(engine, case_id)["overdue"].due_date == date(2026, 3, 4)
    clock.set(beijing(2026, 2, 20, 12, 0))  # in the holiday: nothing due
    assert timer_service.fire_due_timers(engine) == 0
    clock.set(beijing(2026, 3, 5, 0, 0))
    assert timer_service.fire_due_timers(engine) == 2


def test_approved_extension_moves_the_running_deadline_from_its_original_end(timed):
    engine, clock = timed
    clock.set(beijing(2026, 9, 24, 10, 0))
    case_id = engine.start_case("deadline_review", CLERK)
    clock.set(beijing(2026, 10, 13, 10, 0))
    engine.complete_task(task(engine, case_id, "request_extension").id, CLERK, {"days": "10"})
    engine.complete_task(task(engine, case_id, "approve_extension").id, HEAD, {"approved": "true"})
    d = deadlines(engine, case_id)
    assert d["overdue"].due_date == date(2026, 10, 29)  # art. 18: counted from 10-15
    assert d["reminder"].due_at == beijing(2026, 10, 28, 9, 0)
    assert task(engine, case_id, "answer").due_date == date(2026, 10, 29)
    with engine.uow() as uow:
        moves = uow.session.scalars(sa.select(AuditRecord).where(
            AuditRecord.case_id == case_id, AuditRecord.action == "deadline_moved")).all()
    assert len(moves) == 2 and all("2026-10-30T00:00:00+08:00" in m.summary or "2026-10-28T09:00:00+08:00"
                                   in m.summary for m in moves)
    clock.set(beijing(2026, 10, 16, 0, 0))
    assert timer_service.fire_due_timers(engine) == 0  # the old due instant no longer fires
    clock.set(beijing(2026, 10, 30, 0, 0))
    assert timer_service.fire_due_timers(engine) == 2


def test_extension_after_the_period_ended_is_refused_and_changes_nothing(timed):
    engine, clock = timed
    clock.set(beijing(2026, 9, 24, 10, 0))
    case_id = engine.start_case("deadline_review", CLERK)
    engine.complete_task(task(engine, case_id, "request_extension").id, CLERK, {"days": "5"})
    clock.set(beijing(2026, 10, 16, 0, 30))
    approval = task(engine, case_id, "approve_extension")
    with pytest.raises(ScriptError, match="original period has already ended"):
        engine.complete_task(approval.id, HEAD, {"approved": "true"})
    assert task(engine, case_id, "approve_extension").state == "ready"
    assert deadlines(engine, case_id)["overdue"].due_date == date(2026, 10, 15)


def test_provisional_deadline_does_not_escalate_and_is_recomputed_when_the_year_is_published(timed):
    engine, clock = timed
    clock.set(beijing(2026, 12, 25, 10, 0))  # 10 working days run into 2027, not yet published
    case_id = engine.start_case("deadline_review", CLERK)
    d = deadlines(engine, case_id)
    assert d["overdue"].due_date == date(2027, 1, 11) and d["overdue"].provisional and d["overdue"].held
    assert task(engine, case_id, "answer").provisional is True

    clock.set(beijing(2027, 1, 20, 10, 0))  # long past the provisional due date
    assert timer_service.fire_due_timers(engine) == 1  # the reminder only
    assert fired_kinds(engine, case_id) == ["reminder"]
    assert task(engine, case_id, "answer").overdue is False

    clock.set(beijing(2026, 12, 28, 10, 0))  # the administrator enters the 2027 notice
    moved = calendar.publish_year(engine, ADMIN, 2027, "国办发明电〔2026〕99号",
                                  holidays=[date(2027, 1, 1), date(2027, 1, 4)], workdays=[])
    assert moved == 1
    d = deadlines(engine, case_id)
    assert d["overdue"].due_date == date(2027, 1, 12)  # 01-04 is a holiday in this notice
    assert (d["overdue"].provisional, d["overdue"].held) == (False, False)
    answer = task(engine, case_id, "answer")
    assert (answer.provisional, answer.due_date) == (False, date(2027, 1, 12))
    clock.set(beijing(2027, 1, 13, 0, 0))
    assert timer_service.fire_due_timers(engine) == 1
    assert fired_kinds(engine, case_id) == ["reminder", "overdue"]


def test_a_calendar_override_moves_running_deadlines_and_is_audited(timed):
    engine, clock = timed
    clock.set(beijing(2026, 9, 24, 10, 0))
    case_id = engine.start_case("deadline_review", CLERK)
    untouched = None
    clock.set(beijing(2026, 10, 9, 10, 0))
    untouched = engine.start_case("deadline_review", CLERK)  # starts after the changed day
    before_untouched = deadlines(engine, untouched)["overdue"].due_at
    moved = calendar.set_override(engine, ADMIN, date(2026, 10, 12), False, "临时停电放假")
    assert deadlines(engine, case_id)["overdue"].due_date == date(2026, 10, 16)
    assert deadlines(engine, untouched)["overdue"].due_at != before_untouched  # its period crosses 10-12 too
    assert moved == 4
    with engine.uow() as uow:
        actions = set(uow.session.scalars(sa.select(AuditRecord.action)))
    assert {"calendar_override", "deadline_moved"} <= actions
    assert engine.verify_audit() is None


def test_rule_set_in_force_is_recorded_and_kept(timed, db_url):
    engine, clock = timed
    clock.set(beijing(2026, 9, 24, 10, 0))
    case_id = engine.start_case("deadline_review", CLERK)
    from engine import rules
    with engine.uow() as uow:
        periods = dict(rules.in_force(uow.session, date(2026, 9, 24)).periods, review_reply_days=15)
        rules.add_version(uow.session, "huaining-2021", periods, date(2026, 9, 25), "admin", clock.now())
        uow.commit()
    clock.set(beijing(2026, 9, 25, 10, 0))
    newer = engine.start_case("deadline_review", CLERK)
    with engine.uow() as uow:
        keys = [uow.session.get(Case, c).rule_set for c in (case_id, newer)]
    assert keys == ["huaining-2021@1", "huaining-2021@2"]
    assert deadlines(engine, case_id)["overdue"].due_date == date(2026, 10, 15)
    assert deadlines(engine, newer)["overdue"].due_date == date(2026, 10, 22)


def test_after_hours_policy_is_a_setting_shown_and_audited(timed):
    engine, clock = timed
    clock.set(beijing(2026, 9, 24, 18, 30))  # Thursday evening, after office hours
    default_case = engine.start_case("deadline_review", CLERK)
    assert deadlines(engine, default_case)["overdue"].due_date == date(2026, 10, 15)  # counted from 09-24
    calendar.set_after_hours_policy(engine, ADMIN, "next_working_day")
    assert calendar_status(engine, date(2026, 9, 24)).after_hours_policy == "next_working_day"
    late_case = engine.start_case("deadline_review", CLERK)
    assert deadlines(engine, late_case)["overdue"].due_date == date(2026, 10, 16)  # received 09-25
    with pytest.raises(Exception, match="unknown policy"):
        calendar.set_after_hours_policy(engine, ADMIN, "whenever")
    with engine.uow() as uow:
        assert uow.session.scalars(sa.select(AuditRecord.action).where(
            AuditRecord.action == "setting_changed")).all() == ["setting_changed"]


def test_administrators_are_warned_from_1_december_when_next_year_is_missing(timed):
    engine, _ = timed
    assert calendar_status(engine, date(2026, 11, 30)).missing_year is None
    assert calendar_status(engine, date(2026, 12, 1)).missing_year == 2027
    calendar.publish_year(engine, ADMIN, 2027, "国办发明电〔2026〕99号", [date(2027, 1, 1)], [])
    assert calendar_status(engine, date(2026, 12, 1)).missing_year is None


def test_publishing_a_year_needs_the_document_number_and_dates_of_that_year(timed):
    engine, _ = timed
    with pytest.raises(Exception, match="document number"):
        calendar.publish_year(engine, ADMIN, 2027, " ", [], [])
    with pytest.raises(Exception, match="must be in 2027"):
        calendar.publish_year(engine, ADMIN, 2027, "国办发明电〔2026〕99号", [date(2026, 12, 31)], [])
    assert calendar_status(engine, date(2026, 12, 1)).missing_year == 2027


def test_new_year_with_running_cases_does_not_crash(timed):
    engine, clock = timed
    clock.set(beijing(2026, 12, 31, 23, 59))
    case_id = engine.start_case("deadline_review", CLERK)
    for instant in (beijing(2027, 1, 1, 0, 0), beijing(2027, 1, 4, 9, 0), beijing(2027, 2, 1, 0, 0)):
        clock.set(instant)
        timer_service.fire_due_timers(engine)
        engine.case_data(case_id)
    assert task(engine, case_id, "answer").state == "ready"
    assert deadlines(engine, case_id)["overdue"].provisional is True


def test_workdays_counts_from_a_date_in_the_case_data(timed):
    """E.g. a catalog change: 15 working days from the change date (art. 9), not from today."""
    from engine import deadlines as dl
    from engine.procedures import ScriptContext
    engine, clock = timed
    clock.set(beijing(2026, 10, 20, 10, 0))
    with engine.uow() as uow:
        ctx = ScriptContext(engine, uow.session, None, CLERK, clock.now(),
                            rules=engine.rule_set(uow.session, "huaining-2021@1"), uow=uow)
        from_change = dl.workdays(ctx, ctx.rules.catalog_update_days, "2026-09-24")
        from_today = dl.workdays(ctx, 15)
        reminder = dl.remind_before(ctx, 15, date(2026, 9, 24))
        with pytest.raises(Exception, match="positive whole number"):
            dl.workdays(ctx, 0)
    assert (from_change.start, from_change.due_date) == (date(2026, 9, 24), date(2026, 10, 22))
    assert from_change.isoformat_instant() == "2026-10-23T00:00:00+08:00"
    assert from_today.start == date(2026, 10, 20) and from_today.due_date == date(2026, 11, 10)
    assert reminder.instant() == beijing(2026, 10, 21, 9, 0)


def test_a_timer_already_due_when_entered_is_recorded_as_fired(db_url, clock):
    engine = make_engine(db_url, clock, procedures={})
    engine.deploy((FIXTURES / "timer_only.bpmn").read_bytes())
    case_id = engine.start_case("timer_only", CLERK, {"fire_at": (clock.now() - timedelta(hours=1)).isoformat()})
    with engine.uow() as uow:
        row = uow.session.scalars(sa.select(Deadline).where(Deadline.case_id == case_id)).one()
        assert (row.state, row.fired_at) == ("fired", clock.now())
        assert uow.session.get(Case, case_id).status == "completed"
    assert fired_kinds(engine, case_id) == ["timer"]
    engine.db_engine.dispose()


def test_a_case_started_and_advanced_again_in_one_unit_of_work_writes_each_row_once(timed):
    """Nothing is flushed between a unit of work's projections (one flush before commit): a second
    projection of the same case in that unit of work must find the first one's unwritten rows
    (a rectification started inside a timer's transaction is advanced at its start and may be
    advanced again by the same transaction)."""
    engine, clock = timed
    clock.set(beijing(2026, 9, 24, 10, 0))
    with engine.uow() as uow:
        case_id = engine.start_case_in(uow, "deadline_review", CLERK)
        case = uow.session.get(Case, case_id)
        bundle = engine.definitions.get(uow.session, case.definition_id)
        workflow = engine.runner.load(case, bundle)
        engine.runner.advance(uow, case, workflow, bundle, CLERK)  # the same case, projected again
        uow.commit()
    d = deadlines(engine, case_id)
    assert sorted(d) == ["overdue", "reminder"] and d["overdue"].due_date == date(2026, 10, 15)
    assert task(engine, case_id, "answer").due_date == date(2026, 10, 15)
    assert engine.verify_audit() is None
