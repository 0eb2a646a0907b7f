"""The authority's own late steps on the pages (issue 13 item 3): the supervision dashboard's section
主管部门自身超期事项 in Chinese and English for the authority, refused to a clerk; the evaluation's
row of the authority's own steps, on the page and in the Excel and CSV files.

The county and its procedures are those of tests/workflows (a catalog change whose review by the
authority ended 2026-11-09, looked at on 11-10)."""
from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from engine.bootstrap import register_hooks
from engine.config import Config
from engine.db import create_db_engine
from engine.migrate import upgrade
from tests.e2e.conftest import Browser
from tests.integration.test_authority_periods import GONGAN, start_change, to_review
from tests.workflows.conftest import PASSWORD, world  # noqa: F401  (the county with the five procedures)
from web import create_app

NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def db_url(tmp_path) -> str:
    """The pages are tested on SQLite (the read models are tested on both databases)."""
    url = f"sqlite:///{tmp_path / 'govflow.sqlite3'}"
    db = create_db_engine(url)
    upgrade(db)
    db.dispose()
    return url


@pytest.fixture
def app(world):
    register_hooks(world.engine)
    return create_app(Config(database_url=world.db_url, secret_key="test-secret-for-the-e2e-suite"),
                      test_config={"TESTING": True, "engine": world.engine})


@pytest.fixture
def late_review(world) -> int:
    """县公安局's change reported on 11-02; the authority's review (5 working days) ended 11-09."""
    world.at(2026, 11, 2, 10, 0)
    case_id = to_review(world, GONGAN, "2026-11-02")
    world.at(2026, 11, 10, 9, 0)
    world.fire_timers()
    return case_id


def log_in(app, login: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(login, PASSWORD).status_code == 302
    return browser


def section(page: str) -> str:
    found = re.search(r'<section class="card authority" id="authority" data-section="authority">(.*?)</section>',
                      page, re.S)
    return found.group(1) if found else ""


def test_the_dashboard_shows_the_authority_its_own_late_steps_in_chinese(app, world, late_review):
    page = log_in(app, "supervisor").get("/supervision/").get_data(as_text=True)
    own = section(page)
    assert "主管部门自身超期事项" in own and "超期 1 件，即将到期 0 件，暂定 0 件" in own
    assert f'href="/cases/{late_review}"' in own and world.case(late_review).number in own
    assert "目录变更" in own and "审核报送的目录" in own and "<td>9, 16</td>" in own
    assert "2026-11-09" in own and "已超期 1 个工作日" in own and "已提醒" in own
    assert "主管部门审核" in own and "待签收" in own
    assert "不对主管部门生成督办事项或违规记录" in own
    assert '<strong data-own="overdue">1</strong>项主管部门自身事项超期' in page
    # not a department's, nor under the county-wide roles
    assert 'class="card department"' not in page and "没有超期或即将到期的在办任务。" in page
    assert 'data-count="overdue">0<' in page


def test_the_section_in_english(app, late_review):
    page = log_in(app, "supervisor").get("/supervision/?lang=en").get_data(as_text=True)
    own = section(page)
    assert '<html lang="en">' in page and "The authority's own overdue steps" in own
    assert "1 overdue, 0 due soon, 0 provisional" in own
    assert "Statutory period" in own and "Article" in own and "1 working day over" in own
    assert "Unclaimed" in own and "reminded" in own and "主管部门自身超期事项" not in page


def test_a_department_filter_leaves_the_section_out_and_nothing_left_is_empty(app, world):
    world.at(2026, 11, 2, 10, 0)
    start_change(world, GONGAN, "2026-11-02")  # the department's 15 days: nothing due yet
    supervisor = log_in(app, "supervisor")
    page = supervisor.get("/supervision/").get_data(as_text=True)
    assert "主管部门自身没有超期或即将到期的事项。" in section(page)
    assert 'data-section="authority"' not in supervisor.get(f"/supervision/?department={GONGAN}").get_data(
        as_text=True)


def test_a_clerk_may_not_see_it(app, late_review):
    clerk = log_in(app, "gongan.clerk")
    assert clerk.get("/supervision/").status_code == 403
    assert clerk.get("/supervision/?lang=en").status_code == 403


def authority_row(page: str) -> list[str]:
    found = re.search(r'<tr data-party="authority">(.*?)</tr>', page, re.S)
    return [cell.strip() for cell in re.findall(r"<td>(.*?)</td>", found.group(1), re.S)] if found else []


def test_the_evaluation_shows_the_authority_its_own_row_and_files(app, world, late_review):
    world.at(2026, 11, 11, 10, 0)
    world.complete(late_review, "authority_review", "supervisor", {"review_decision": "approve"})
    supervisor = log_in(app, "supervisor")
    page = supervisor.get(f"/performance/?{NOVEMBER}").get_data(as_text=True)
    row = authority_row(page)
    # name, cases, tasks, with a due date, on time, rate, overdue, (mean days), violations, open
    assert row[:7] == ["县数据资源管理局（主管部门自身事项）", "1", "1", "1", "0", "0.0%", "1"]
    assert row[8:] == ["0", "0"]
    assert "主管部门自身事项" in page and "不计入全县合计" in page
    gongan = re.search(rf'<tr data-department="{GONGAN}">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r"<td>(.*?)</td>", gongan, re.S)[1:7] == ["1", "3", "2", "2", "100.0%", "0"]
    head = log_in(app, "gongan.head").get(f"/performance/?{NOVEMBER}").get_data(as_text=True)
    assert authority_row(head) == [] and 'data-section="authority"' not in head
    assert authority_row(supervisor.get(f"/performance/?{NOVEMBER}&department={GONGAN}").get_data(as_text=True)) == []

    text = supervisor.get(f"/performance/export.csv?{NOVEMBER}&lang=en").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[-2][0] == "Total" and rows[-1][0] == "县数据资源管理局 (the authority's own steps)"
    assert rows[-1][3:7] == ["1", "0", "0.0%", "1"]

    book = load_workbook(io.BytesIO(supervisor.get(f"/performance/export.xlsx?{NOVEMBER}&lang=zh").get_data()))
    assert book.sheetnames[1] == "主管部门自身事项"
    assert list(book.worksheets[0].iter_rows(values_only=True))[-1][0] == "合计"
    own = list(book.worksheets[1].iter_rows(values_only=True))
    assert own[0][0] == "部门" and own[1][:7] == ("县数据资源管理局（主管部门自身事项）", 1, 1, 1, 0, 0, 1)
