"""Languages: Chinese (the default) and English; English msgids in code, catalogs in translations/.

The ``i18n`` blueprint holds the language switch. Engine messages are codes with parameters
(``engine.messages.Message``) whose words are in the same catalogs; ``localise`` renders one in the
page's language (an older engine text ``中文 (English)``: the half that matches).
"""
from __future__ import annotations

import re

from flask import Blueprint, redirect, request, session, url_for
from flask_babel import Babel, get_locale

from engine.messages import CATALOGS, Message

from .context import safe_next

bp = Blueprint("i18n", __name__)
LOCALES = {"zh": "zh_Hans_CN", "en": "en"}  # the switch's code -> Babel locale
HTML_LANG = {"zh": "zh-CN", "en": "en"}
DEFAULT = "zh"
babel = Babel()
_CJK = re.compile(r"[\u4e00-\u9fff]")
_BILINGUAL = re.compile(r"^(?P<zh>[^()]*?)\s*\((?P<en>[^()]*[A-Za-z][^()]*)\)(?P<rest>.*)$", re.S)


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LOCALES[DEFAULT])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(CATALOGS))  # shared with the engine's messages
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(_remember_query_language)
    app.context_processor(lambda: {"language": language(), "html_lang": HTML_LANG[language()]})


def language() -> str:
    """The page's language code: ``?lang=`` first, then the session's choice, then Chinese."""
    code = request.args.get("lang") or session.get("lang")
    return code if code in LOCALES else DEFAULT


def select_locale() -> str:
    return LOCALES[language()]


def _remember_query_language() -> None:
    code = request.args.get("lang")
    if code in LOCALES:
        session["lang"] = code


@bp.get("/language/<code>")
def set_language(code: str):
    """Switch the language for this session and go back to the page the link was on."""
    if code in LOCALES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("main.index")))


def is_english() -> bool:
    return get_locale().language == "en"


def localise(message: str) -> str:
    """An engine message in the page's language: a ``Message`` (engine.messages: a code with
    parameters) rendered from the catalogs; an older text ``中文 (English) rest``, its half."""
    return localise_in(message, "en" if is_english() else "zh")


def localise_in(message: str, language: str) -> str:
    """``message`` in ``language`` (``zh`` or ``en``)."""
    if isinstance(message, Message):
        text = message.render(language)
        return text[:1].upper() + text[1:] if language == "en" else text
    halves = split_stored(str(message))
    if halves is not None:  # "中文 (English (with parentheses))", as a Message is stored as text
        text = halves[1] if language == "en" else halves[0]
        return text[:1].upper() + text[1:] if language == "en" else text
    match = _BILINGUAL.match(str(message))
    if match is None:
        return str(message)
    part = match["en"] if language == "en" else match["zh"]
    text = (part + match["rest"]).strip()
    return text[:1].upper() + text[1:] if language == "en" else text


def split_stored(text: str) -> tuple[str, str] | None:
    """(Chinese, English) of a text stored as ``中文 (English)``: the English is the last balanced
    parenthesis group that ends the text, so English with parentheses of its own splits right."""
    text = text.strip()
    if not text.endswith(")"):
        return None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            chinese, english = text[:i].rstrip(), text[i + 1:-1].strip()
            if i > 0 and text[i - 1] == " " and _CJK.search(chinese) and re.search(r"[A-Za-z]{2}", english):
                return chinese, english
            return None
    return None
