"""督办: the authority's list of overdue tasks; nobody else sees it."""
from __future__ import annotations

from datetime import date

from tests.e2e.conftest import open_task, start_case
from tests.e2e.test_inbox import set_due


def test_the_authority_sees_overdue_tasks_and_others_may_not(as_person, engine):
    late = open_task(engine, start_case(engine, topic="逾期件"))
    open_task(engine, start_case(engine, topic="正常件"))
    set_due(engine, late, date(2026, 2, 27), overdue=True)
    supervisor = as_person("supervisor")
    home = supervisor.get("/").get_data(as_text=True)
    assert '<a href="/supervision/">督办</a>' in home
    page = supervisor.get("/supervision/").get_data(as_text=True)
    assert "20260000001" in page and "县公安局" in page and "2026-02-27" in page and "20260000002" not in page
    clerk = as_person("clerk.a")
    assert "/supervision/" not in clerk.get("/").get_data(as_text=True)
    assert clerk.get("/supervision/").status_code == 403
