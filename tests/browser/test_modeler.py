"""The modeler in a real browser: an analyst uploads a diagram from the desktop Camunda Modeler with a
wrong role on one task, the canvas and the properties panel load (in Chinese) without script errors
or CSP violations, validation marks the faulty element on the diagram, and the fix clears it."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in, shot
from tests.conftest import FIXTURES

SAMPLE = (FIXTURES / "camunda_modeler_sample.bpmn").read_text(encoding="utf-8")
FAULTY = SAMPLE.replace('<bpmn:userTask id="Activity_check" name="核实更正内容" camunda:candidateGroups="provider_clerk">',
                        '<bpmn:userTask id="Activity_check" name="核实更正内容" camunda:candidateGroups="wizard">')


def test_an_analyst_sees_a_faulty_element_marked_and_fixes_it_in_the_properties_panel(page, server, artifacts):
    assert FAULTY != SAMPLE
    log_in(page, "analyst")
    page.get_by_role("link", name="流程设计器").click()
    expect(page.locator("h1")).to_have_text("流程设计器")
    page.set_input_files("#upload-file", files=[{"name": "数据更正.bpmn", "mimeType": "application/xml",
                                                 "buffer": FAULTY.encode("utf-8")}])
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page).to_have_url(re.compile(r"/modeler/edit\?draft=\d+&check=1$"))

    workspace = page.locator(".modeler-workspace")
    expect(workspace).to_have_attribute("data-state", "ready")
    expect(page.locator("#modeler-canvas .djs-container svg").first).to_be_visible()
    expect(page.locator(".djs-palette")).to_be_visible()
    expect(page.locator(".djs-palette [title='创建开始事件']")).to_have_count(1)  # bpmn-js-i18n's Chinese
    expect(page.locator("#modeler-properties .bio-properties-panel")).to_be_visible()

    # validation ran on load: the task with the unknown role is marked and listed
    faulty = page.locator('.djs-element[data-element-id="Activity_check"]')
    expect(faulty).to_have_class(re.compile(r"\bgf-error\b"))
    expect(page.locator(".djs-overlay-gf-problems .gf-problem-error")).to_have_count(1)
    problem = page.locator('#problems li.severity-error[data-element="Activity_check"]')
    expect(problem).to_contain_text("未知角色 'wizard'")
    expect(page.locator("#problems li.severity-error")).to_have_count(1)
    shot(page, artifacts, "modeler")

    # the list selects the element; the properties panel edits its candidate groups
    problem.locator("button.element").click()
    panel = page.locator("#modeler-properties")
    expect(panel.locator(".bio-properties-panel-header-label")).to_contain_text("核实更正内容")
    group = panel.locator("[data-group-id='group-CamundaPlatform__UserAssignment']")
    if not group.locator("input[name='candidateGroups']").is_visible():
        group.locator(".bio-properties-panel-group-header").click()
    groups = group.locator("input[name='candidateGroups']")
    expect(groups).to_have_value("wizard")
    shot(page, artifacts, "modeler_properties")
    groups.fill("provider_clerk")
    groups.press("Tab")
    page.get_by_role("button", name="检查", exact=True).click()
    # no error left; the desktop modeler's camunda:historyTimeToLive stays a warning (no effect here)
    expect(page.locator("#problems-status")).to_contain_text("0 个错误")
    expect(page.locator("#problems li.severity-error")).to_have_count(0)
    expect(page.locator(".djs-element.gf-error")).to_have_count(0)

    # saving keeps the fix on the server
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator(".flash.success")).to_contain_text("草稿已保存")
    expect(page.locator("#diagram-xml")).to_have_value(re.compile(r'camunda:candidateGroups="provider_clerk"'))
    shot(page, artifacts, "modeler_fixed")

    # deploying it makes version 1 of the process, recorded with the analyst's name
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="部署", exact=True).click()
    expect(page).to_have_url(re.compile(r"/modeler/Process_data_correction/versions$"))
    expect(page.locator(".flash.success")).to_contain_text("已部署 Process_data_correction 版本 1")
    expect(page.locator('tr[data-version="1"]')).to_contain_text("analyst")
    shot(page, artifacts, "modeler_versions")
