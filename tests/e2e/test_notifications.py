"""The bell: notifications of new tasks and answers, their page, marking them read."""
from __future__ import annotations

import re

from tests.e2e.conftest import actor, open_task, start_case


def bell(page: str) -> int:
    return int(re.search(r'<span class="count">(\d+)</span>\s*<span class="visually-hidden">', page).group(1))


def test_a_new_task_rings_the_bell_of_who_may_work_it(as_person, engine):
    case_id = start_case(engine, topic="目录变更")
    engine.complete_task(open_task(engine, case_id), actor("clerk.a"), {"summary": "材料齐全"})
    head = as_person("head.a")
    assert bell(head.get("/").get_data(as_text=True)) == 1
    page = head.get("/notifications/").get_data(as_text=True)
    task_id = open_task(engine, case_id)
    assert "新任务" in page and "20260000001 目录变更 · 数长审批" in page
    assert f'href="/tasks/{task_id}"' in page
    assert bell(as_person("clerk.b").get("/").get_data(as_text=True)) == 0


def test_marking_read_one_and_all(as_person, engine):
    for topic in ("甲", "乙", "丙"):
        start_case(engine, topic=topic)
    colleague = as_person("clerk.a2")  # the three first tasks are offered to them too
    page = colleague.get("/notifications/").get_data(as_text=True)
    assert bell(page) == 3
    first_id = re.search(r'name="id" value="(\d+)"', page).group(1)
    colleague.post("/notifications/read", {"id": first_id})
    assert bell(colleague.get("/").get_data(as_text=True)) == 2
    assert as_person("clerk.a").post("/notifications/read", {"id": first_id}).status_code == 302
    colleague.post("/notifications/read")
    page = colleague.get("/notifications/").get_data(as_text=True)
    assert bell(page) == 0 and page.count('class="read new_task"') == 3


def test_the_starter_gets_the_answer(as_person, engine):
    case_id = start_case(engine, topic="复核申请")
    engine.complete_task(open_task(engine, case_id), actor("clerk.a2"), {"summary": "已核实"})
    engine.complete_task(open_task(engine, case_id), actor("head.a"), {"decision": "approve"})
    page = as_person("clerk.a").get("/notifications/").get_data(as_text=True)
    assert "办结" in page and "20260000001 复核申请 · approved:已核实" in page
    assert f'href="/cases/{case_id}"' in page
