"""The domain records a case produced, worded for the case page from the engine's record views
(``engine.record_views``): labels translated from the catalogs, vocabulary values in Chinese (the
English page shows their keys), instants in Beijing time, people by their display names."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping

from flask_babel import gettext

from engine.record_views import Bilingual, Joined, Msg, Person, RecordView as Record, Term, When

from .i18n import is_english, localise
from .layout import when


@dataclass(frozen=True)
class Step:
    label: str
    at: datetime
    who: str
    note: str
    deadline: date | None


@dataclass(frozen=True)
class RecordView:
    kind: str  # a CSS-friendly key: share_application, grant, objection, ...
    title: str
    status: str
    facts: list[tuple[str, str]]
    steps: list[Step] = field(default_factory=list)


def views(records: tuple[Record, ...], names: Mapping[str, str]) -> list[RecordView]:
    """Every record of the case, in the engine's order."""
    return [_view(r, names) for r in records]


def _view(record: Record, names: Mapping[str, str]) -> RecordView:
    def text(value) -> str:
        return word(value, names)

    title = " · ".join([f"{gettext(record.label)} {text(record.number)}", *(text(t) for t in record.tags)])
    facts = [(gettext(f.label) if f.translate else f.label, text(f.value)) for f in record.facts]
    steps = [Step(text(s.label), s.at, names.get(s.actor, s.actor), s.note, s.deadline) for s in record.steps]
    return RecordView(record.kind, title, text(record.status), [(k, v) for k, v in facts if v], steps)


def word(value, names: Mapping[str, str]) -> str:
    """One value of a record view in the page's language."""
    if value is None:
        return ""
    if isinstance(value, Term):
        return value.key.replace("_", " ") if is_english() else value.zh
    if isinstance(value, Msg):
        return gettext(value.msgid)
    if isinstance(value, Bilingual):
        return localise(value.text)
    if isinstance(value, When):
        return when(value.at)
    if isinstance(value, Person):
        return names.get(value.login, value.login or "")
    if isinstance(value, Joined):
        return value.sep.join(part for part in (word(p, names) for p in value.parts) if part)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
