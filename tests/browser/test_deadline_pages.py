"""The pages of statutory periods, rule sets and grants as their users see them, at desk and phone
width, in Chinese and in English: a case's periods, the supervisor's dashboard with the authority's
own section, the administrator's rule sets, a clerk's grants. Screenshots in tests/browser/artifacts/."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS, log_in, shot

WIDTHS = {"desk": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
HEADINGS = {  # what each page must show, by language
    "zh": {"periods": "法定期限", "authority": "主管部门自身超期事项", "rule_sets": "规则集", "grants": "授权",
           "incidents": "故障", "budget": "超出运行时间限额", "retry": "重试"},
    "en": {"periods": "Statutory periods", "authority": "The authority's own overdue steps",
           "rule_sets": "Rule sets", "grants": "Grants", "incidents": "Incidents", "budget": "Ran past its time budget",
           "retry": "Retry"},
}


@pytest.fixture(params=[(lang, width) for lang in ("zh", "en") for width in WIDTHS], ids=lambda p: f"{p[0]}-{p[1]}")
def sized(request, chromium, server):
    lang, width = request.param
    context = chromium.new_context(base_url=server.url, locale="zh-CN", viewport=WIDTHS[width])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page, lang, width
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def visit(page, path: str, lang: str) -> None:
    page.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")


def no_sideways_scroll(page) -> None:
    """At phone width the page body never needs scrolling sideways (wide tables scroll in their box)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the screen"


def test_the_case_page_shows_its_statutory_periods(sized, server, artifacts):
    page, lang, width = sized
    log_in(page, "supervisor")
    visit(page, f"/cases/{server.cases.overdue}", lang)
    section = page.locator("#periods")
    expect(section.locator("h2")).to_have_text(HEADINGS[lang]["periods"])
    expect(section.locator("tr.period")).not_to_have_count(0)
    expect(section.locator("tr.period.overdue").first).to_be_visible()
    shot(page, artifacts, f"case_periods_{lang}_{width}")
    if width == "phone":
        no_sideways_scroll(page)


def test_the_supervision_page_has_the_authoritys_own_section(sized, server, artifacts):
    page, lang, width = sized
    log_in(page, "supervisor")
    visit(page, "/supervision/", lang)
    expect(page.get_by_text(HEADINGS[lang]["authority"]).first).to_be_visible()
    shot(page, artifacts, f"supervision_{lang}_{width}")
    if width == "phone":
        no_sideways_scroll(page)


def test_an_administrator_sees_the_rule_sets(sized, server, artifacts):
    page, lang, width = sized
    log_in(page, "admin")
    visit(page, "/admin/rule-sets", lang)
    expect(page.locator("h1, h2").filter(has_text=HEADINGS[lang]["rule_sets"]).first).to_be_visible()
    expect(page.get_by_text("huaining-2021").first).to_be_visible()
    shot(page, artifacts, f"rule_sets_{lang}_{width}")
    if width == "phone":
        no_sideways_scroll(page)


def test_a_clerk_sees_the_grants(sized, server, artifacts):
    page, lang, width = sized
    log_in(page, "minzheng.clerk")
    visit(page, "/grants/", lang)
    expect(page.locator("h1").filter(has_text=HEADINGS[lang]["grants"])).to_be_visible()
    shot(page, artifacts, f"grants_{lang}_{width}")
    if width == "phone":
        no_sideways_scroll(page)


def test_an_administrator_sees_the_sessions_card_on_a_persons_page(sized, server, artifacts):
    """Issue 15: ending a person's sessions, beside the password reset, as administrators see it."""
    page, lang, width = sized
    log_in(page, "admin")
    visit(page, "/admin/people/gongan.clerk", lang)
    button = page.locator("[data-test=end-sessions]")
    expect(button).to_be_visible()
    expect(button).to_have_text({"zh": "结束全部会话", "en": "End every session"}[lang])
    shot(page, artifacts, f"person_sessions_{lang}_{width}")
    if width == "phone":
        no_sideways_scroll(page)


def test_an_analyst_sees_the_incidents(sized, server, artifacts):
    page, lang, width = sized
    log_in(page, "analyst")
    visit(page, "/incidents/", lang)
    words = HEADINGS[lang]
    expect(page.locator("h1")).to_have_text(words["incidents"])
    row = page.locator(f"tr#case-{server.cases.incident}")
    expect(row).to_contain_text("统计回执")
    expect(row).to_contain_text(words["budget"])
    expect(row.get_by_role("button", name=words["retry"])).to_be_visible()
    no_sideways_scroll(page)
    shot(page, artifacts, f"incidents-{lang}-{width}")
