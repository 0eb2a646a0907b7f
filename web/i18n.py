"""Languages: Chinese (the default) and English; English msgids in code, catalogs in web/translations.

The ``i18n`` blueprint holds the language switch. Engine messages are bilingual, ``中文 (English)``;
``localise`` shows the half that matches the page's language.
"""
from __future__ import annotations

import re

from flask import Blueprint, redirect, request, session, url_for
from flask_babel import Babel, get_locale

from .context import safe_next

bp = Blueprint("i18n", __name__)
LOCALES = {"zh": "zh_Hans_CN", "en": "en"}  # the switch's code -> Babel locale
HTML_LANG = {"zh": "zh-CN", "en": "en"}
DEFAULT = "zh"
babel = Babel()
_BILINGUAL = re.compile(r"^(?P<zh>[^()]*?)\s*\((?P<en>[^()]*[A-Za-z][^()]*)\)(?P<rest>.*)$", re.S)


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LOCALES[DEFAULT])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
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
    """The Chinese or the English half of an engine message ``中文 (English) rest``."""
    match = _BILINGUAL.match(str(message))
    if match is None:
        return str(message)
    part = match["en"] if is_english() else match["zh"]
    text = (part + match["rest"]).strip()
    return text[:1].upper() + text[1:] if is_english() else text
