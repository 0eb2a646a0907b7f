"""Chinese by default, English on request; every message of the catalog template is translated."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "web"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "_l": None}


def test_chinese_is_the_default(as_person):
    page = as_person("clerk.a").get("/tasks").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "待签收" in page and "我发起的" in page and "已办" in page


def test_the_language_switch_renders_english(as_person):
    clerk = as_person("clerk.a")
    response = clerk.get("/language/en?next=/tasks?tab%3Ddone")
    assert response.status_code == 302 and response.headers["Location"] == "/tasks?tab=done"
    page = clerk.get("/tasks").get_data(as_text=True)
    assert '<html lang="en">' in page and "Unclaimed" in page and "Started by me" in page and "待签收" not in page
    assert '/language/zh' in page
    assert clerk.get("/language/en?next=https://evil.example/").headers["Location"] == "/"
    clerk.get("/language/zh")
    assert "待签收" in clerk.get("/tasks").get_data(as_text=True)


def test_lang_query_parameter_is_honoured_and_remembered(client, as_person):
    login_page = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in login_page and '<html lang="en">' in login_page
    assert "Login name" in client.get("/login").get_data(as_text=True)
    clerk = as_person("clerk.a")
    assert "To do" in clerk.get("/tasks?lang=en").get_data(as_text=True)
    assert "<title>To do · govflow Government Data Workflow Platform</title>" in clerk.get("/tasks").get_data(as_text=True)


def test_the_language_survives_log_in(client):
    from tests.e2e.conftest import Browser
    b = Browser(client)
    b.get("/language/en")
    b.login("clerk.a")
    assert "My tasks" in b.get("/").get_data(as_text=True)


def test_engine_messages_show_in_the_page_language(app):
    from web.i18n import localise
    with app.test_request_context("/?lang=en"):
        assert localise("您无权办理此任务 (you may not work on this task)") == "You may not work on this task"
        assert localise("plain") == "plain"
    with app.test_request_context("/"):
        assert localise("该任务已被 x 签收 (already claimed by x)") == "该任务已被 x 签收"


def catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def test_every_message_has_a_chinese_translation():
    template = catalog(WEB.parent / "translations" / "messages.pot")
    chinese = catalog(WEB.parent / "translations" / "zh" / "LC_MESSAGES" / "messages.po")
    ids = [m.id for m in template if m.id]
    assert len(ids) > 100
    missing = [m for m in ids if chinese.get(m) is None or not all(
        (chinese.get(m).string if isinstance(chinese.get(m).string, tuple) else (chinese.get(m).string,)))]
    assert missing == []
    assert not any(m.fuzzy for m in chinese if m.id)


def test_the_catalog_template_holds_every_message_of_the_code():
    """The web app's messages, and the message ids the engine and the procedures hand out (``N_``:
    action labels, record views), are all in the catalog."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    found = {msg if isinstance(msg, str) else msg[0]
             for _, _, msg, _, _ in extract_from_dir(str(WEB), method_map, keywords=KEYWORDS)}
    for package in ("engine", "workflows"):
        marked = {msg for _, _, msg, _, _ in extract_from_dir(str(WEB.parent / package), [("**.py", "python")],
                                                               keywords={"N_": None, "msg": (2,)})}
        assert len(marked) > (20 if package == "engine" else 10)
        found |= marked
    template = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(WEB.parent / "translations" / "messages.pot")}
    assert found - template == set(), "run the pybabel extract/update commands in web/babel.cfg"
