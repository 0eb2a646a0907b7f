"""What a person does in a real browser: a clerk answers an objection (with a validation error on
the way), the case page shows the diagram with its state, a supervisor finds an overdue task.
Each scenario saves screenshots of the pages it passes through to tests/browser/artifacts/."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in, shot


def test_a_clerk_claims_fills_in_with_an_error_fixes_it_and_completes(page, server, artifacts):
    shot_login(page, artifacts)
    log_in(page, "gongan.clerk")
    number = server.number(server.cases.fresh)
    page.goto("/tasks?tab=unclaimed")
    row = page.locator("table.tasks tbody tr", has_text=number).filter(has_text="校核并答复")
    expect(row).to_have_count(1)
    shot(page, artifacts, "inbox")
    row.get_by_role("button", name="签收").click()
    expect(page.locator(".flash.success")).to_contain_text("已签收")

    page.goto("/tasks")
    page.locator("table.tasks tbody tr", has_text=number).get_by_role("link", name="校核并答复").click()
    expect(page.locator("h1")).to_contain_text("校核并答复")
    shot(page, artifacts, "task")
    page.select_option("#f-outcome", "corrected")
    page.fill("#f-answer", "经核实，门牌号登记有误，已更正。")
    page.get_by_role("button", name="提交").click()

    error = page.locator("#e-correction")  # next to the field, which is marked invalid
    expect(error).to_contain_text("须说明更正内容")
    expect(page.locator("#f-correction")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-answer")).to_have_value("经核实，门牌号登记有误，已更正。")  # nothing lost
    expect(page.locator("#f-record_ref")).to_have_value(re.compile("户籍地址"))  # read-only, not posted
    shot(page, artifacts, "task_with_error")

    page.fill("#f-correction", "户籍地址门牌号由 21 号更正为 12 号")
    page.get_by_role("button", name="提交").click()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    expect(page.locator(".flash.success")).to_contain_text("校核并答复")
    page.goto(f"/cases/{server.cases.fresh}")
    expect(page.locator("h1")).to_contain_text(number)
    expect(page.locator(".record-objection")).to_contain_text("户籍地址门牌号由 21 号更正为 12 号")


def shot_login(page, artifacts) -> None:
    page.goto("/login")
    expect(page.locator("h1")).to_have_text("登录")
    shot(page, artifacts, "login")


def test_the_case_page_shows_the_diagram_with_completed_active_and_overdue_elements(page, server, artifacts):
    log_in(page, "supervisor")
    page.goto(f"/cases/{server.cases.extended}")
    diagram = page.locator("#case-diagram")
    expect(diagram).to_have_attribute("data-state", "ready")
    expect(diagram.locator("svg").first).to_be_visible()
    completed = diagram.locator(".djs-element.gf-completed")
    for element in ("request_extension", "approve_extension", "extend"):
        expect(diagram.locator(f'.djs-element.gf-completed[data-element-id="{element}"]')).to_have_count(1)
    assert completed.count() >= 5
    expect(diagram.locator('.djs-element.gf-active[data-element-id="verify_answer"]')).to_have_count(1)
    expect(diagram.locator(".djs-element.gf-overdue")).to_have_count(0)
    expect(page.locator("ul.legend li")).to_have_count(3)
    moves = page.locator("#deadlines ol.moves li")
    expect(moves).to_have_count(2)  # the overdue and the reminder timer, moved by the approved extension
    expect(page.locator("#comments")).to_contain_text("请在延长期限内办结")
    shot(page, artifacts, "case")

    page.goto(f"/cases/{server.cases.overdue}")
    expect(diagram).to_have_attribute("data-state", "ready")
    expect(diagram.locator('.djs-element.gf-overdue[data-element-id="verify_answer"]')).to_have_count(1)
    expect(diagram.locator('.djs-element.gf-active[data-element-id="verify_answer_supervise"]')).to_have_count(1)
    shot(page, artifacts, "case_overdue")


def test_a_supervisor_sees_the_overdue_task_on_the_supervision_page(page, server, artifacts):
    log_in(page, "supervisor")
    page.goto("/supervision/")
    number = server.number(server.cases.overdue)
    row = page.locator("tr.overdue", has_text=number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("校核并答复")
    urge = row.locator('[data-test="urge"]')
    if urge.count():  # the 催办 button, where the supervision page offers it
        page.once("dialog", lambda dialog: dialog.accept())
        urge.first.click()
        expect(page.locator(".flash.success")).to_be_visible()
    shot(page, artifacts, "supervision")
    row.get_by_role("link", name=number).click()
    expect(page.locator("#case-diagram")).to_have_attribute("data-state", "ready")


def test_a_person_who_may_not_see_the_case_gets_403_and_no_diagram(page, server):
    log_in(page, "shichang.clerk")  # another department, not involved in the objection
    response = page.goto(f"/cases/{server.cases.extended}")
    assert response.status == 403
    assert page.request.get(f"/cases/{server.cases.extended}/diagram").status == 403
