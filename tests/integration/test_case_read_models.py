"""The read models of the case, task and supervision pages (engine.views): one unit of work each,
the case's state loaded at most once, and only plain values handed out (SQLite and PostgreSQL)."""
from __future__ import annotations

import dataclasses

import pytest

from engine import supervision
from engine.errors import PermissionDenied
from engine.models import Base
from engine.uow import Actor
from engine.views import cases, tasks
from engine.views import supervision as supervision_views
from tests.conftest import FIXTURES, make_engine

CLERK = Actor("clerk1", frozenset({"provider_clerk"}), "D1")
OUTSIDER = Actor("clerk3", frozenset({"provider_clerk"}), "D2")
AUTHORITY = Actor("auth1", frozenset({"authority"}), "A")


@pytest.fixture
def eng(db_url, clock):
    engine = make_engine(db_url, clock)
    engine.deploy((FIXTURES / "review_loop.bpmn").read_bytes())
    yield engine
    engine.db_engine.dispose()


@pytest.fixture
def counted(eng, monkeypatch):
    """How many units of work the engine opened and case states it loaded."""
    counts = {"uow": 0, "loads": 0}
    uow, loads = eng.uow, eng.serializer.loads_state

    def counting(key, call):
        def wrapper(*args, **kwargs):
            counts[key] += 1
            return call(*args, **kwargs)
        return wrapper
    monkeypatch.setattr(eng, "uow", counting("uow", uow))
    monkeypatch.setattr(eng.serializer, "loads_state", counting("loads", loads))
    return counts


def open_task(engine, case_id: int) -> str:
    return cases.case_status(engine, case_id, AUTHORITY).open_tasks[0].task.id


def orm_rows(value, seen=None) -> list:
    """Every ORM object reachable from ``value`` through dataclasses, mappings and sequences."""
    seen = set() if seen is None else seen
    if id(value) in seen or isinstance(value, (str, bytes, int, float)) or value is None:
        return []
    seen.add(id(value))
    if isinstance(value, Base):
        return [value]
    if dataclasses.is_dataclass(value):
        children = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        children = list(value)
    else:
        return []
    return [row for child in children for row in orm_rows(child, seen)]


def test_the_task_page_is_one_unit_of_work_that_loads_the_case_once(eng, counted):
    case_id = eng.start_case("review_loop", CLERK, {"department": "D1"})
    task_id = open_task(eng, case_id)
    counted.update(uow=0, loads=0)
    page = tasks.task_page(eng, task_id, CLERK)
    assert counted == {"uow": 1, "loads": 1}
    assert [f.id for f in page.task.fields] == ["summary", "pages", "received", "urgent"]
    assert page.item.task.id == task_id and page.return_to is None and page.urged is None
    assert [e.action for e in page.file.timeline] == ["case_started", "task_created"]


def test_a_closed_task_reads_without_loading_the_case(eng, counted):
    case_id = eng.start_case("review_loop", CLERK, {"department": "D1"})
    task_id = open_task(eng, case_id)
    eng.complete_task(task_id, CLERK, {"summary": "材料齐全"})
    counted.update(uow=0, loads=0)
    page = tasks.task_page(eng, task_id, CLERK)
    assert counted == {"uow": 1, "loads": 0}
    assert page.task.state == "completed" and page.task.data == {} and page.item is None
    assert page.file.forms[task_id]["summary"].label == "摘要"  # the history words the submitted data
    with pytest.raises(PermissionDenied):
        tasks.task_page(eng, task_id, OUTSIDER)


def test_the_read_models_hand_out_plain_values_only(eng):
    case_id = eng.start_case("review_loop", CLERK, {"department": "D1"})
    task_id = open_task(eng, case_id)
    eng.urge_task(task_id, AUTHORITY, "请尽快办理")
    found = [cases.case_page(eng, case_id, CLERK), cases.case_status(eng, case_id, CLERK),
             tasks.task_page(eng, task_id, CLERK), tasks.task_detail(eng, task_id, CLERK),
             tasks.inbox_page(eng, CLERK, "unclaimed", tasks.inbox.Filters(), 1, 20),
             supervision_views.dashboard(eng, AUTHORITY, supervision.Filters()),
             supervision_views.supervised_task(eng, AUTHORITY, task_id)]
    assert orm_rows(found) == []
    assert found[2].urged.count == 1 and found[4].page.items[0].task.id == task_id
    with pytest.raises(PermissionDenied):
        supervision_views.dashboard(eng, CLERK, supervision.Filters())
