"""A task's deadline state is one rule (engine.deadline_state): its SQL form selects exactly the tasks
its Python form puts in each state and each dashboard bucket, on a table of tasks (open, claimed,
completed, cancelled; no due date, passed, earlier today, later today, tomorrow, within and beyond
each window, on a weekend; provisional or not; flagged overdue or not) of cases on rule sets with
different reminder windows (none, an unknown one), on SQLite and PostgreSQL. The inbox, the case
and task pages and the supervision dashboard give what the rule gives."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timezone
from itertools import count, product

import pytest
import sqlalchemy as sa

from engine import deadline_state, inbox, supervision
from engine.calendar import BEIJING
from engine.deadline_state import DUE_SOON, NONE, OVERDUE, PROVISIONAL_PAST
from engine.models import Case, DefinitionVersion, HumanTask, RuleSetRow

# The clock (tests/conftest.py) is Monday 2026-03-02 09:00 Beijing; 3-03 … 3-06 are working days,
# 3-07/3-08 the weekend, 3-09 a Monday; 2026-02-27 a Friday (28th: a 调休 working day).
RULE_SETS = {None: None, "test-fast@1": 1, "test-slow@1": 3, "test-four@1": 4, "test-gone@9": None}
DUES = {  # label -> (due date, due instant in Beijing time; None: 24:00 of the date)
    "none": (None, None),
    "passed": (date(2026, 2, 27), None),
    "earlier today": (date(2026, 3, 2), time(8, 0)),
    "today": (date(2026, 3, 2), None),
    "tomorrow": (date(2026, 3, 3), None),
    "+2": (date(2026, 3, 4), None),
    "+3": (date(2026, 3, 5), None),
    "+4": (date(2026, 3, 6), None),
    "saturday (+4)": (date(2026, 3, 7), None),
    "+5": (date(2026, 3, 9), None),
    "next year": (date(2027, 1, 4), None),
}
STATES = {  # label -> (state, assignee)
    "ready": ("ready", None), "claimed": ("ready", "c1"), "completed": ("completed", "c1"),
    "cancelled": ("cancelled", None),
}
ROWS = list(product(RULE_SETS, DUES, STATES, (False, True), (False, True)))  # + provisional, flagged


def due_instant(due: date | None, at: time | None) -> datetime | None:
    if due is None:
        return None
    if at is None:  # 24:00 Beijing of the due date
        return datetime(due.year, due.month, due.day, 16, 0, tzinfo=timezone.utc)
    return datetime.combine(due, at, tzinfo=BEIJING).astimezone(timezone.utc)


@pytest.fixture
def world(engine):
    """Every row of the table as a task, one case per rule set; the rule at the clock's instant."""
    now = engine.clock.now()
    ids = count(1)
    with engine.uow() as uow:
        s = uow.session
        for key, window in RULE_SETS.items():
            if key is None or window is None:
                continue
            name, version = key.split("@")
            s.add(RuleSetRow(name=name, version=int(version), title=name, effective_from=date(2020, 1, 1),
                             periods=json.dumps({"reminder_days_before": window}), created_by="test",
                             created_at=now))
        definition = s.scalars(sa.select(DefinitionVersion)).first()
        cases = {}
        for key in RULE_SETS:
            case = Case(process_id=definition.process_id, definition_id=definition.id, status="running",
                        title=str(key), started_by="c1", started_at=now, updated_at=now, serializer_version=1,
                        state="{}", rule_set=key)
            s.add(case)
            s.flush()
            cases[key] = case.id
        labels = {}
        for rule_set, due, state, provisional, flagged in ROWS:
            due_date, at = DUES[due]
            row = HumanTask(id=f"00000000-0000-0000-0000-{next(ids):012d}", case_id=cases[rule_set],
                            process_id=definition.process_id, definition_id=definition.id, element_id="e",
                            name=f"{rule_set}/{due}/{state}/{provisional}/{flagged}", role="provider_clerk",
                            department="D1", assignee=STATES[state][1], state=STATES[state][0], created_at=now,
                            due_date=due_date, due_at=due_instant(due_date, at), provisional=provisional,
                            overdue=flagged)
            if row.state != "ready":
                row.completed_at, row.completed_by = now, "c1"
            row.offer(["provider_clerk"], [])
            s.add(row)
            labels[row.id] = (rule_set, due, state, provisional, flagged)
        uow.commit()
    with engine.uow() as uow:
        rule = deadline_state.at(uow.session, now, engine.calendar(uow.session))
    return engine, rule, labels


def python_states(engine, rule) -> dict[str, tuple[str, str | None]]:
    """Each task's (state, bucket) by the Python form."""
    with engine.uow() as uow:
        found = {}
        for task, rule_set in uow.session.execute(sa.select(HumanTask, Case.rule_set).join(Case)):
            state = rule.state(task, rule_set)
            found[task.id] = (state, deadline_state.bucket(state, task.provisional))
        return found


def test_the_sql_state_of_every_task_is_its_python_state(world):
    engine, rule, labels = world
    expected = python_states(engine, rule)
    with engine.uow() as uow:
        sql = dict(uow.session.execute(sa.select(HumanTask.id, rule.sql_state()).join(Case)).all())
    wrong = {labels[i]: (sql[i], expected[i][0]) for i in labels if sql[i] != expected[i][0]}
    assert wrong == {}
    assert set(Counter(state for state, _ in expected.values())) == set(deadline_state.STATES)  # not vacuous


def test_each_sql_condition_selects_the_tasks_of_its_state_and_bucket(world):
    engine, rule, labels = world
    expected = python_states(engine, rule)
    with engine.uow() as uow:
        for state in deadline_state.STATES:
            wanted = {i for i, (st, _) in expected.items() if st == state}
            found = set(uow.session.scalars(sa.select(HumanTask.id).join(Case).where(rule.sql_is(state))))
            assert {labels[i] for i in found ^ wanted} == set(), state
            assert wanted, state
        for name in deadline_state.BUCKETS:
            wanted = {i for i, (_, b) in expected.items() if b == name}
            found = set(uow.session.scalars(sa.select(HumanTask.id).join(Case).where(rule.sql_bucket(name))))
            assert {labels[i] for i in found ^ wanted} == set(), name
            assert wanted, name


RULE = [  # (rule set, due, state, provisional, flagged) -> state
    ((None, "passed", "ready", False, False), OVERDUE),
    ((None, "passed", "ready", True, False), PROVISIONAL_PAST),  # a provisional date never makes it overdue
    ((None, "passed", "ready", True, True), OVERDUE),  # the escalation fired: overdue all the same
    ((None, "earlier today", "claimed", False, False), OVERDUE),
    ((None, "today", "ready", False, False), DUE_SOON),
    ((None, "tomorrow", "ready", True, False), DUE_SOON),
    ((None, "+2", "ready", False, False), NONE),  # no rule set: the default window, one working day
    (("test-gone@9", "tomorrow", "ready", False, False), DUE_SOON),  # an unknown rule set: the default
    (("test-gone@9", "+2", "ready", False, False), NONE),
    (("test-fast@1", "+2", "ready", False, False), NONE),
    (("test-slow@1", "+3", "ready", False, False), DUE_SOON),  # the case's rule set's window
    (("test-slow@1", "+4", "ready", False, False), NONE),
    (("test-four@1", "saturday (+4)", "ready", False, False), DUE_SOON),  # working days, not calendar days
    (("test-four@1", "+5", "ready", False, False), NONE),
    ((None, "none", "ready", False, True), OVERDUE),
    ((None, "none", "ready", False, False), NONE),
    ((None, "passed", "completed", False, True), NONE),  # only an open task has a deadline state
    ((None, "passed", "cancelled", False, False), NONE),
]


def test_the_rule(world):
    engine, rule, labels = world
    states = python_states(engine, rule)
    by_label = {found: i for i, found in labels.items()}
    assert [(label, states[by_label[label]][0]) for label, _ in RULE] == RULE


def test_the_inbox_filters_and_items_follow_the_rule(world):
    engine, rule, labels = world
    expected = python_states(engine, rule)
    with engine.uow() as uow:
        s = uow.session
        for status, state in (("overdue", OVERDUE), ("due_soon", DUE_SOON)):
            where = inbox._task_filters(inbox.Filters(status=status), rule)
            found = set(s.scalars(sa.select(HumanTask.id).join(Case, HumanTask.case_id == Case.id).where(*where)))
            assert found == {i for i, (st, _) in expected.items() if st == state}, status
        for task, number, title, rule_set, name in s.execute(
                sa.select(HumanTask, Case.number, Case.title, Case.rule_set, DefinitionVersion.name)
                .join(Case, HumanTask.case_id == Case.id).join(DefinitionVersion, HumanTask.definition_id == DefinitionVersion.id)):
            item = inbox.task_item(task, number, title, rule_set, name, now=rule.now, calendar=rule.calendar,
                                   windows=rule.windows)
            assert (item.state, item.overdue, item.due_soon) == (
                expected[task.id][0], expected[task.id][0] == OVERDUE, expected[task.id][0] == DUE_SOON)


def test_the_dashboard_counts_and_lists_what_the_rule_gives(world):
    engine, rule, labels = world
    expected = python_states(engine, rule)
    with engine.uow() as uow:
        board = supervision.dashboard(uow.session, rule.now, rule.calendar, supervision.Filters())
        totals = Counter(b for _, b in expected.values() if b is not None)
        assert (board.totals.overdue, board.totals.due_soon, board.totals.provisional) == (
            totals["overdue"], totals["due_soon"], totals["provisional"])
        listed = {w.task.id: w.state for g in board.groups for w in g.tasks}
        assert listed == {i: s for i, (s, b) in expected.items() if b is not None}
        for name in deadline_state.BUCKETS:
            only = supervision.dashboard(uow.session, rule.now, rule.calendar, supervision.Filters(status=name))
            assert {w.task.id for g in only.groups for w in g.tasks} == {
                i for i, (_, b) in expected.items() if b == name}, name


def test_the_case_diagrams_overdue_mark_is_the_rules_overdue(world):
    """engine.case_diagram marks an element overdue by ``deadline_state.is_overdue``: the same rows."""
    engine, rule, labels = world
    expected = python_states(engine, rule)
    with engine.uow() as uow:
        marked = {t.id for t in uow.session.scalars(sa.select(HumanTask)) if deadline_state.is_overdue(t, rule.now)}
    assert marked == {i for i, (state, _) in expected.items() if state == deadline_state.OVERDUE} != set()
