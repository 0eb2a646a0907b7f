"""The authority's supervision on every backend: dashboard buckets and counts in SQL (a fixed number
of queries), urges and reassignment in the engine, the urge table's migration."""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher

from engine import supervision
from engine.bootstrap import register_hooks
from engine.domain import notifications, org, urges
from engine.errors import AlreadyDone, GovflowError, InvalidForm, PermissionDenied
from engine.models import AuditRecord, Base, HumanTask
from engine.uow import Actor
from tests.conftest import FIXTURES, make_engine, review_loop_procedure

D1, D2 = "D1", "D2"
CLERK = Actor("clerk1", frozenset({"provider_clerk"}), D1)
CLERK2 = Actor("clerk2", frozenset({"provider_clerk"}), D1)
OUTSIDER = Actor("clerk3", frozenset({"provider_clerk"}), D2)
AUTHORITY = Actor("auth1", frozenset({"authority"}), "A")


@pytest.fixture
def eng(db_url, clock, monkeypatch):
    monkeypatch.setattr(org, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    engine = register_hooks(make_engine(db_url, clock, {"review_loop": review_loop_procedure()}))
    engine.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    with engine.uow() as uow:
        s = uow.session
        depts = {code: org.create_department(s, code, f"部门{code}", "county_department") for code in (D1, D2)}
        depts["A"] = org.create_department(s, "A", "主管部门", "authority")
        for a in (CLERK, CLERK2, OUTSIDER, AUTHORITY):
            org.create_person(s, a.username, a.username, depts[a.department], set(a.roles), "pass-word-1",
                              clock.now())
        uow.commit()
    yield engine
    engine.db_engine.dispose()


def open_task(engine, dept: str = D1) -> str:
    who = CLERK if dept == D1 else OUTSIDER
    case_id = engine.start_case("review_loop", who, {"department": dept}, title="测试案件")
    with engine.uow() as uow:
        return uow.session.scalars(sa.select(HumanTask.id).where(HumanTask.case_id == case_id,
                                                                  HumanTask.state == "ready")).one()


def set_due(engine, task_id: str, due: date, provisional=False) -> None:
    with engine.uow() as uow:
        row = uow.session.get(HumanTask, task_id)
        row.due_date, row.provisional = due, provisional
        row.due_at = datetime(due.year, due.month, due.day, 16, 0, tzinfo=timezone.utc)  # 24:00 Beijing
        uow.commit()


def board(engine, **filters) -> supervision.Dashboard:
    with engine.uow() as uow:
        return supervision.dashboard(uow.session, engine.clock.now(), engine.calendar(uow.session),
                                     supervision.Filters(**filters))


@contextmanager
def counted(engine):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine.db_engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa.event.remove(engine.db_engine, "before_cursor_execute", listener)


def test_the_buckets_and_counts(eng):
    # Monday 2026-03-02 09:00 Beijing; Saturday 2026-02-28 was a working day
    late, soon, later, provisional, other = (open_task(eng) for _ in range(5))
    set_due(eng, late, date(2026, 2, 27))
    set_due(eng, soon, date(2026, 3, 3))
    set_due(eng, later, date(2026, 3, 4))
    set_due(eng, provisional, date(2026, 2, 26), provisional=True)
    set_due(eng, other, date(2026, 3, 2))
    with eng.uow() as uow:
        uow.session.get(HumanTask, other).department = D2
        uow.commit()
    found = board(eng)
    assert (found.totals.overdue, found.totals.due_soon, found.totals.provisional) == (1, 2, 1)
    assert [(g.code, [t.task.id for t in g.tasks]) for g in found.groups] == [
        (D1, [provisional, late, soon]), (D2, [other])]
    states = {t.task.id: (t.state, t.remaining_days) for g in found.groups for t in g.tasks}
    assert states == {late: ("overdue", -2), provisional: ("provisional_past", -3), soon: ("due_soon", 1),
                      other: ("due_soon", 0)}
    assert found.by_procedure["review_loop"].total == 4 and not found.truncated
    assert [t.task.id for g in board(eng, status="overdue").groups for t in g.tasks] == [late]
    assert [g.code for g in board(eng, department=D2).groups] == [D2]


def test_the_dashboard_takes_a_fixed_number_of_queries(eng):
    def queries() -> int:
        with counted(eng) as statements:
            board(eng)
        return len(statements)
    first = open_task(eng)
    set_due(eng, first, date(2026, 2, 27))
    eng.urge_task(first, AUTHORITY)
    eng.claim(first, CLERK)
    queries()  # the calendar is loaded once, then cached
    few = queries()
    for _ in range(6):
        task_id = open_task(eng, D2)
        set_due(eng, task_id, date(2026, 2, 27))
        eng.urge_task(task_id, AUTHORITY)
        eng.claim(task_id, OUTSIDER)
    assert queries() == few


def test_an_urge_is_kept_audited_and_notified(eng):
    task_id = open_task(eng)
    urge_id = eng.urge_task(task_id, AUTHORITY, " 请尽快办理 ")
    eng.claim(task_id, CLERK2)
    eng.clock.advance(hours=2)
    eng.urge_task(task_id, AUTHORITY)
    with eng.uow() as uow:
        first = uow.session.get(urges.Urge, urge_id)
        assert (first.note, first.notified, first.urged_by) == ("请尽快办理", 2, "auth1")
        summary = urges.summaries(uow.session, [task_id])[task_id]
        assert (summary.count, summary.last_by) == (2, "auth1")
        assert summary.last_at == eng.clock.now()
        kinds = sorted(uow.session.scalars(sa.select(notifications.Notification.login).where(
            notifications.Notification.kind == "urge")))
        assert kinds == ["clerk1", "clerk2", "clerk2"]
        records = list(uow.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "task_urged")))
        assert [json.loads(r.summary)["to"] for r in records] == [["clerk1", "clerk2"], ["clerk2"]]
    with pytest.raises(InvalidForm):
        eng.urge_task(task_id, AUTHORITY, "x" * 501)
    with pytest.raises(PermissionDenied):
        eng.urge_task(task_id, CLERK)
    eng.complete_task(task_id, CLERK2, {"summary": "已办结"})
    with pytest.raises(AlreadyDone):
        eng.urge_task(task_id, AUTHORITY)


def test_reassignment_by_the_authority(eng):
    task_id = open_task(eng)
    assert eng.reassign_candidates(task_id, AUTHORITY) == [("clerk1", "clerk1"), ("clerk2", "clerk2")]
    eng.claim(task_id, CLERK)
    assert eng.reassign_candidates(task_id, AUTHORITY) == [("clerk2", "clerk2")]
    with pytest.raises(GovflowError, match="not eligible"):
        eng.reassign_task(task_id, AUTHORITY, "clerk3")
    with pytest.raises(GovflowError, match="already with"):
        eng.reassign_task(task_id, AUTHORITY, "clerk1")
    with pytest.raises(PermissionDenied):
        eng.reassign_task(task_id, CLERK, "clerk2")
    eng.reassign_task(task_id, AUTHORITY, "clerk2")
    with eng.uow() as uow:
        assert uow.session.get(HumanTask, task_id).assignee == "clerk2"
        record = uow.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "task_reassigned")).one()
        assert (record.actor, json.loads(record.summary)) == ("auth1", {"from": "clerk1", "to": "clerk2"})
    assert eng.verify_audit() is None


def test_the_migration_matches_the_model(db_url):
    only_urge = {"include_object": lambda obj, name, kind, reflected, other:
                 (name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)) == "urge"}
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        assert "urge" in sa.inspect(conn).get_table_names()
        assert compare_metadata(MigrationContext.configure(conn, opts=only_urge), Base.metadata) == []
    db.dispose()
