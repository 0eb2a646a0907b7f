"""The inbox (待办): tabs and counts, claim and release, deadline badges, filters, paging, and a
number of SQL queries that does not grow with the number of tasks."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, datetime, timezone

import sqlalchemy as sa

from engine.models import HumanTask
from tests.e2e.conftest import actor, open_task, start_case


def tab_counts(page: str) -> dict[str, int]:
    found = re.findall(r'tab=(\w+)"[^>]*>\s*[^<]+<span class="count">(\d+)</span>', page)
    return {tab: int(n) for tab, n in found}


def rows(page: str) -> int:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return body.count("<tr")


def test_tabs_show_their_counts(as_person, engine):
    for topic in ("甲", "乙", "丙"):
        start_case(engine, topic=topic)
    clerk = as_person("clerk.a")
    first = open_task(engine, 1)
    engine.claim(first, actor("clerk.a"))
    page = clerk.get("/tasks").get_data(as_text=True)
    assert tab_counts(page) == {"mine": 1, "unclaimed": 2, "started": 3, "done": 0}
    assert rows(page) == 1 and "甲" in page
    colleague_page = as_person("clerk.a2").get("/tasks?tab=unclaimed").get_data(as_text=True)
    assert tab_counts(colleague_page) == {"mine": 0, "unclaimed": 2, "started": 0, "done": 0}
    other_department = as_person("clerk.b").get("/tasks?tab=unclaimed").get_data(as_text=True)
    assert tab_counts(other_department)["unclaimed"] == 0 and "乙" not in other_department


def test_started_and_done_tabs(as_person, engine):
    case_id = start_case(engine, topic="目录更新")
    engine.complete_task(open_task(engine, case_id), actor("clerk.a"), {"summary": "已更新"})
    clerk = as_person("clerk.a")
    started = clerk.get("/tasks?tab=started").get_data(as_text=True)
    assert "目录更新" in started and "数长审批" in started and "办理中" in started
    done = clerk.get("/tasks?tab=done").get_data(as_text=True)
    assert "填写材料" in done and tab_counts(done)["done"] == 1


def test_claim_and_release_from_the_inbox(as_person, engine):
    task_id = open_task(engine, start_case(engine))
    clerk = as_person("clerk.a")
    response = clerk.post(f"/tasks/{task_id}/claim", {"next": "/tasks?tab=unclaimed"})
    assert response.status_code == 302 and response.headers["Location"] == "/tasks?tab=unclaimed"
    assert "已签收" in clerk.get("/tasks?tab=unclaimed").get_data(as_text=True)
    assert tab_counts(clerk.get("/tasks").get_data(as_text=True))["mine"] == 1
    assert tab_counts(as_person("clerk.a2").get("/tasks").get_data(as_text=True))["unclaimed"] == 0
    clerk.post(f"/tasks/{task_id}/unclaim", {"next": "/tasks"})
    assert "已取消签收" in clerk.get("/tasks").get_data(as_text=True)
    assert tab_counts(clerk.get("/tasks").get_data(as_text=True)) == {"mine": 0, "unclaimed": 1, "started": 1,
                                                                      "done": 0}


def test_someone_elses_claim_is_refused_with_a_message(as_person, engine):
    task_id = open_task(engine, start_case(engine))
    engine.claim(task_id, actor("clerk.a2"))
    clerk = as_person("clerk.a")
    response = clerk.post(f"/tasks/{task_id}/claim")
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    assert "该任务已被 clerk.a2 签收" in clerk.get("/tasks").get_data(as_text=True)
    assert clerk.post(f"/tasks/{task_id}/unclaim").status_code == 403
    assert clerk.get(f"/tasks/{task_id}").status_code == 403


def set_due(engine, task_id: str, due: date, provisional=False, overdue=False) -> None:
    with engine.uow() as uow:
        row = uow.session.get(HumanTask, task_id)
        row.due_date, row.provisional, row.overdue = due, provisional, overdue
        row.due_at = datetime(due.year, due.month, due.day, 16, 0, tzinfo=timezone.utc)  # 24:00 Beijing
        uow.commit()


def test_deadline_badges_and_remaining_working_days(as_person, engine):
    # The clock is Monday 2026-03-02 09:00 Beijing.
    ids = [open_task(engine, start_case(engine, topic=t)) for t in ("超期件", "明日件", "下周件", "暂定件")]
    set_due(engine, ids[0], date(2026, 2, 27), overdue=True)      # Friday; Saturday 28th is a 调休 working day
    set_due(engine, ids[1], date(2026, 3, 3))                     # tomorrow: 1 working day left
    set_due(engine, ids[2], date(2026, 3, 9))                     # next Monday: 5 left
    set_due(engine, ids[3], date(2026, 3, 16), provisional=True)
    page = as_person("clerk.a").get("/tasks?tab=unclaimed").get_data(as_text=True)
    order = [page.index(t) for t in ("超期件", "明日件", "下周件", "暂定件")]
    assert order == sorted(order)  # soonest due first
    row = {t: page[page.index(t):].split("</tr>", 1)[0] for t in ("超期件", "明日件", "下周件", "暂定件")}
    assert 'badge overdue">超期' in row["超期件"] and "已超期 2 个工作日" in row["超期件"]
    assert 'badge soon">即将到期' in row["明日件"] and "剩余 1 个工作日" in row["明日件"]
    assert "badge" not in row["下周件"] and "剩余 5 个工作日" in row["下周件"]
    assert 'badge provisional' in row["暂定件"] and "暂定" in row["暂定件"]


def test_filters_search_and_pages(as_person, engine):
    ids = [open_task(engine, start_case(engine, topic=f"第{i}件")) for i in range(25)]
    set_due(engine, ids[0], date(2026, 2, 27), overdue=True)
    set_due(engine, ids[1], date(2026, 3, 3))
    set_due(engine, ids[2], date(2026, 3, 20), provisional=True)
    engine.start_case("inspection", actor("supervisor"))
    clerk = as_person("clerk.a")
    first = clerk.get("/tasks?tab=unclaimed").get_data(as_text=True)
    assert rows(first) == 20 and "第 1 页，共 2 页" in first and "共 25 条" in first
    second = clerk.get("/tasks?tab=unclaimed&page=2").get_data(as_text=True)
    assert rows(second) == 5
    assert rows(clerk.get("/tasks?tab=unclaimed&status=overdue").get_data(as_text=True)) == 1
    soon = clerk.get("/tasks?tab=unclaimed&status=due_soon").get_data(as_text=True)
    assert rows(soon) == 1 and "第1件" in soon
    assert rows(clerk.get("/tasks?tab=unclaimed&status=provisional").get_data(as_text=True)) == 1
    assert "共 22 条" in clerk.get("/tasks?tab=unclaimed&status=no_deadline").get_data(as_text=True)
    ranged = clerk.get("/tasks?tab=unclaimed&due_from=2026-03-01&due_to=2026-03-10").get_data(as_text=True)
    assert rows(ranged) == 1 and "第1件" in ranged
    assert rows(clerk.get("/tasks?tab=unclaimed&process=inspection").get_data(as_text=True)) == 0
    found = clerk.get("/tasks?tab=unclaimed&q=0000007").get_data(as_text=True)
    assert rows(found) == 1 and "202600000" in found
    assert rows(clerk.get("/tasks?tab=unclaimed&q=%25").get_data(as_text=True)) == 0  # no wildcard
    newest = clerk.get("/tasks?tab=unclaimed&sort=created").get_data(as_text=True)
    assert newest.index("第24件") < newest.index("第23件") and "第4件" not in newest  # 24 … 5 on page 1
    assert clerk.get("/tasks?tab=nonsense&page=-3&due_from=not-a-date&sort=evil").status_code == 200


@contextmanager
def counting_queries(db_engine):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
    sa.event.listen(db_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db_engine, "before_cursor_execute", count)


def test_the_inbox_issues_a_bounded_number_of_queries(as_person, engine):
    def add_cases(n: int) -> None:
        """n cases: a fifth of their first tasks done, half of the rest claimed, the others offered."""
        for i in range(n):
            task_id = open_task(engine, start_case(engine))
            if i % 5 == 0:
                engine.complete_task(task_id, actor("clerk.a"), {"summary": "已办"})
            elif i % 2:
                engine.claim(task_id, actor("clerk.a"))
    clerk = as_person("clerk.a")
    tabs = ["/tasks?tab=mine", "/tasks?tab=unclaimed", "/tasks?tab=started", "/tasks?tab=done",
            "/tasks?tab=unclaimed&status=due_soon", "/"]

    def measure() -> dict[str, int]:
        counts = {}
        for url in tabs:
            clerk.get(url)  # warm the caches (calendar, rule sets) first
            with counting_queries(engine.db_engine) as statements:
                assert clerk.get(url).status_code == 200
            counts[url] = len(statements)
        return counts
    add_cases(5)
    few = measure()
    add_cases(55)
    many = measure()
    assert few == many
    assert max(many.values()) <= 15, many
