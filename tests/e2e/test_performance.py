"""绩效评价 (art. 26): the authority sees every department, a 数长 only their own; the figures as a
table, charts when chart.js is served, and Excel and CSV downloads."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from engine.calendar import BEIJING
from tests.e2e.conftest import DEPT_A, DEPT_B, actor, open_task, start_case
from tests.e2e.test_inbox import set_due

MARCH = "from=2026-03-01&to=2026-03-31"


@pytest.fixture
def worked(engine, clock):
    """县公安局 completes two tasks with due dates in March: one on time after 2 working days, one a
    working day late after 3; 县市场监督管理局 completes one without a due date."""
    on_time = open_task(engine, start_case(engine, topic="按期件"))  # received Monday 03-02
    late = open_task(engine, start_case(engine, topic="逾期件"))
    set_due(engine, on_time, date(2026, 3, 6))
    set_due(engine, late, date(2026, 3, 4))
    other = open_task(engine, start_case(engine, "clerk.b", "乙局件"))
    clock.set(datetime(2026, 3, 4, 15, 0, tzinfo=BEIJING))  # Wednesday
    engine.complete_task(on_time, actor("clerk.a"), {"summary": "已办结"})
    engine.complete_task(other, actor("clerk.b"), {"summary": "已办结"})
    clock.set(datetime(2026, 3, 5, 10, 0, tzinfo=BEIJING))  # Thursday: a day after the due date
    engine.complete_task(late, actor("clerk.a2"), {"summary": "已办结"})
    clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=BEIJING))


def row(page: str, code: str) -> list[str]:
    found = re.search(rf'<tr data-department="{code}">(.*?)</tr>', page, re.S)
    return [cell.strip() for cell in re.findall(r"<td>(.*?)</td>", found.group(1), re.S)] if found else []


def test_the_authority_sees_every_department(as_person, worked):
    supervisor = as_person("supervisor")
    assert 'href="/performance/"' in supervisor.get("/").get_data(as_text=True)
    page = supervisor.get(f"/performance/?{MARCH}").get_data(as_text=True)
    # department, cases, tasks, with due date, on time, rate, overdue, mean reply days, violations, open
    assert row(page, DEPT_A) == ["县公安局", "2", "2", "2", "1", "50.0%", "1", "2.50", "0", "0"]
    assert row(page, DEPT_B) == ["县市场监督管理局", "1", "1", "0", "0", "—", "0", "—", "0", "0"]
    assert row(page, "340822001") == []  # the authority itself is not evaluated
    assert '<tr class="total">' in page and "期间：2026-03-01 至 2026-03-31" in page
    assert 'href="/performance/export.xlsx?from=2026-03-01&amp;to=2026-03-31&amp;department="' in page
    only_b = supervisor.get(f"/performance/?{MARCH}&department={DEPT_B}").get_data(as_text=True)
    assert row(only_b, DEPT_B) and not row(only_b, DEPT_A) and '<tr class="total">' not in only_b


def test_the_default_period_is_this_year_to_today(as_person, worked):
    page = as_person("supervisor").get("/performance/").get_data(as_text=True)
    assert 'value="2026-01-01"' in page and 'value="2026-04-01"' in page and row(page, DEPT_A)[1] == "2"


def test_a_department_head_sees_only_their_department(as_person, worked):
    head = as_person("head.a")
    assert 'href="/performance/"' in head.get("/").get_data(as_text=True)
    page = head.get(f"/performance/?{MARCH}").get_data(as_text=True)
    assert row(page, DEPT_A)[0] == "县公安局" and not row(page, DEPT_B)
    assert 'name="department"' not in page
    assert head.get(f"/performance/?{MARCH}&department={DEPT_B}").status_code == 403
    assert head.get(f"/performance/export.csv?{MARCH}&department={DEPT_B}").status_code == 403
    assert head.get(f"/performance/export.xlsx?{MARCH}&department={DEPT_B}").status_code == 403
    text = head.get(f"/performance/export.csv?{MARCH}").get_data().decode("utf-8-sig")
    assert "县公安局" in text and "县市场监督管理局" not in text


def test_clerks_may_not_see_performance(as_person):
    clerk = as_person("clerk.a")
    assert "/performance/" not in clerk.get("/").get_data(as_text=True)
    for url in ("/performance/", "/performance/export.csv", "/performance/export.xlsx"):
        assert clerk.get(url).status_code == 403, url


def test_a_bad_period_is_explained_and_kept(as_person):
    supervisor = as_person("supervisor")
    response = supervisor.get("/performance/?from=2026-13-01&to=2026-03-31")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "请按 YYYY-MM-DD 格式填写日期" in page and 'value="2026-13-01"' in page
    backwards = supervisor.get("/performance/?from=2026-03-31&to=2026-03-01")
    assert backwards.status_code == 400 and "结束日期不能早于开始日期" in backwards.get_data(as_text=True)
    assert "<table class=\"performance\">" not in backwards.get_data(as_text=True)
    export = supervisor.get("/performance/export.csv?from=2026-03-31&to=2026-03-01")
    assert export.status_code == 400 and "结束日期不能早于开始日期" in export.get_data(as_text=True)


def test_the_excel_export(as_person, worked):
    response = as_person("supervisor").get(f"/performance/export.xlsx?{MARCH}")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="performance_2026-03-01_2026-03-31.xlsx"' in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("部门", "办理案件数", "办结任务数", "有办理期限", "按期办结", "按期办结率")
    assert rows[1] == ("县公安局", 2, 2, 2, 1, 0.5, 1, 2.5, 0, 0)
    assert rows[2][0] == "县市场监督管理局" and rows[2][5] is None
    assert rows[-1][:3] == ("合计", 3, 3)
    assert sheet["F2"].number_format == "0.0%"


def test_the_csv_export_is_utf8_with_a_bom_for_excel(as_person, worked):
    response = as_person("supervisor").get(f"/performance/export.csv?{MARCH}&lang=en")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="performance_2026-03-01_2026-03-31.csv"' in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Department", "Cases handled"]
    assert rows[1] == ["县公安局", "2", "2", "2", "1", "50.0%", "1", "2.50", "0", "0"]
    assert rows[2] == ["县市场监督管理局", "1", "1", "0", "0", "", "0", "", "0", "0"]
    assert rows[3][0] == "Total"


def test_charts_are_drawn_with_chart_js_when_it_is_served(app, as_person, worked, tmp_path):
    supervisor = as_person("supervisor")
    vendor = tmp_path / "vendor"
    (vendor / "chart.js" / "dist").mkdir(parents=True)
    (vendor / "chart.js" / "dist" / "chart.umd.js").write_text("window.Chart = function () {};")
    app.config["VENDOR_DIR"] = str(vendor)
    page = supervisor.get(f"/performance/?{MARCH}").get_data(as_text=True)
    assert '<script src="/vendor/chart.js/dist/chart.umd.js" defer></script>' in page
    assert '<script src="/static/performance.js' in page and 'id="performance-data"' in page
    assert '"overdue": [1, 0]' in page and '"rate": [50.0, null]' in page
    served = supervisor.get("/vendor/chart.js/dist/chart.umd.js")
    assert served.status_code == 200
    served.close()
    app.config["VENDOR_DIR"] = str(tmp_path / "empty")  # no node_modules: the table alone
    plain = supervisor.get(f"/performance/?{MARCH}").get_data(as_text=True)
    assert "chart.umd.js" not in plain and "performance-data" not in plain and row(plain, DEPT_A)
