"""试运行 in a real browser: the analyst opens a deployed diagram in the modeler, presses 试运行 and
sees its paths in the side panel; the chosen path is marked on the diagram. In Chinese and English."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in, shot


def _dry_run(page, button: str, title: str) -> None:
    expect(page.locator(".modeler-workspace")).to_have_attribute("data-state", "ready")
    page.get_by_role("button", name=button, exact=True).click()
    panel = page.locator("#dryrun-panel")
    expect(panel.locator("#dryrun-title")).to_have_text(title)
    expect(panel.locator("li.dryrun-path")).to_have_count(32)
    expect(panel.locator("li.dryrun-path.selected")).to_have_count(1)
    expect(page.locator('.djs-element.dryrun-on-path[data-element-id="grant_unconditional"]')).to_have_count(1)
    panel.locator("li.dryrun-path .dryrun-choose").nth(1).click()
    expect(panel.locator("li.dryrun-path").nth(1)).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator('.djs-element.dryrun-on-path[data-element-id="provider_review"]')).to_have_count(1)
    expect(page.locator('.djs-element.dryrun-on-path[data-element-id="grant_unconditional"]')).to_have_count(0)


def test_the_analyst_dry_runs_a_diagram_and_sees_its_paths_on_it(page, server, artifacts):
    log_in(page, "analyst")
    page.goto("/modeler/edit?process=share_application")
    _dry_run(page, "试运行", "试运行：流程图的路径")
    expect(page.locator("#dryrun-panel li.dryrun-path.selected")).to_contain_text("结果: granted")
    shot(page, artifacts, "dryrun_zh")

    page.goto("/modeler/edit?process=share_application&lang=en")
    _dry_run(page, "Dry run", "Dry run: the diagram's paths")
    shot(page, artifacts, "dryrun_en")
