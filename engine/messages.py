"""Messages are codes with parameters; their words live in the project's Babel catalogs.

A refusal, a notification or a note the engine or a procedure writes is a ``Message``: a stable
``code`` for programs (``grant.not_renewable``), the English source text as the catalogs' message id
(``"Grant #{grant_id} cannot be renewed"``, ``str.format`` placeholders) and its ``params``. The
Chinese text is the translation in ``translations/zh/LC_MESSAGES/messages.po``; nothing Chinese is
written in code for it. ``msg(code, text, **params)`` makes one and marks ``text`` for
``pybabel extract`` (keyword ``msg:2``, see web/babel.cfg).

A front end renders a message in its reader's language (``render(message, "en")``; the web app and
the API do it through Flask-Babel with the same catalogs). So that the many places which still treat
a message as text (logs, the command line, an exception's ``str``, a stored note) keep working, a
``Message`` *is* a ``str``: the two languages as ``中文 (English)``. Parameters are rendered into the
text, never the text into a parameter; a parameter that is itself a ``Message`` is rendered in the same
language.
"""
from __future__ import annotations

import gettext as gettext_module
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

CATALOGS = Path(__file__).resolve().parents[1] / "translations"
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


class Message(str):
    """A message: ``code``, English ``text`` (the catalogs' id) and ``params``; as a ``str``, both
    languages (``中文 (English)``)."""

    code: str
    text: str
    params: Mapping[str, Any]

    def __new__(cls, code: str, text: str, params: Mapping[str, Any] | None = None) -> "Message":
        params = dict(params or {})
        self = super().__new__(cls, bilingual(text, params))
        self.code, self.text, self.params = code, text, params
        return self

    def render(self, language: str, translate=None) -> str:
        """The message in ``language`` (``zh`` or ``en``); ``translate(msgid) -> str`` overrides the
        catalog lookup (the web app passes Flask-Babel's ``gettext``)."""
        return render(self, language, translate)

    def as_dict(self) -> dict[str, Any]:
        """What the API answers besides the text: the code and plain parameters."""
        return {"code": self.code, "params": {k: (v.as_dict() if isinstance(v, Message) else v)
                                              for k, v in self.params.items()}}

    def __reduce__(self):
        return Message, (self.code, self.text, self.params)


def msg(code: str, text: str, /, **params: Any) -> Message:
    """A message ``code`` with English ``text`` (extracted into the catalogs) and ``params``."""
    return Message(code, text, params)


def render(message: Any, language: str, translate=None) -> str:
    """``message`` in ``language``; a plain string is returned as it is."""
    if not isinstance(message, Message):
        return str(message)
    lookup = translate or _catalog(language).gettext
    params = {k: render(v, language, translate) if isinstance(v, Message) else v for k, v in message.params.items()}
    return _format(lookup(message.text) if language != "en" or translate else message.text, params)


def bilingual(text: str, params: Mapping[str, Any]) -> str:
    """``中文 (English)``: the Chinese rendering and, when it differs, the English one."""
    english = _format(text, {k: _english(v) for k, v in params.items()})
    chinese = _format(_catalog("zh").gettext(text), {k: _chinese(v) for k, v in params.items()})
    return english if chinese == english else f"{chinese} ({english})"


def _english(value: Any) -> Any:
    return render(value, "en") if isinstance(value, Message) else value


def _chinese(value: Any) -> Any:
    return render(value, "zh") if isinstance(value, Message) else value


def _format(template: str, params: Mapping[str, Any]) -> str:
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):  # a translation naming a parameter the code lacks
        return template


@lru_cache(maxsize=None)
def _catalog(language: str):
    """The compiled catalog of ``language`` (English: the ids themselves). Without a compiled
    catalog (a checkout before ``make install``) the English text stands in."""
    if language == "en":
        return gettext_module.NullTranslations()
    return gettext_module.translation("messages", str(CATALOGS), languages=[_LOCALES.get(language, language)],
                                      fallback=True)


_LOCALES = {"zh": "zh"}
