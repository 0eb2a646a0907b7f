"""The domain records of a case as the case page shows them, in plain values a front end words.

Each kind of record has a view: a kind (a CSS-friendly key), its label, a number and what tells it
apart, a status, facts (label, value) and, for a violation, the steps of its ladder. The shared
records (grants, violations, supervision items, catalog versions) are viewed by
``engine.shared_records``; a procedure's own records by its package (``workflows/<process_id>/views.py``,
``record_views(session, case_id)``), which the engine calls through ``Procedure.record_views``.

Labels are message ids (English source text marked with ``engine.i18n.N_``); a value is one of:

* ``str`` / ``int`` — shown as it is;
* ``Term(key, zh)`` — a value of a vocabulary (a status, an outcome): Chinese text, the English page
  shows the key;
* ``Msg(msgid)`` — a word the front end translates;
* ``Bilingual(text)`` — an engine note written "中文 (English)": the front end shows one half;
* ``When(datetime)`` / ``date`` — an instant in Beijing time, a day;
* ``Person(login)`` — someone's display name;
* ``Joined(parts, sep)`` — several of these in one cell.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Iterable, Mapping, Union


@dataclass(frozen=True)
class Term:
    key: str
    zh: str


def term(table: Mapping[str, str], key: str | None) -> "Term | None":
    return None if key is None else Term(key, table.get(key, key))


@dataclass(frozen=True)
class Msg:
    msgid: str


@dataclass(frozen=True)
class Bilingual:
    text: str


@dataclass(frozen=True)
class When:
    at: datetime


@dataclass(frozen=True)
class Person:
    login: str


@dataclass(frozen=True)
class Joined:
    parts: tuple[Any, ...]
    sep: str = " · "


Value = Union[str, int, date, Term, Msg, Bilingual, When, Person, Joined, None]


@dataclass(frozen=True)
class Fact:
    label: str  # message id (or, with ``translate=False``, the label itself: a department's name)
    value: Value
    translate: bool = True


@dataclass(frozen=True)
class LadderStep:
    label: Term
    at: datetime
    actor: str  # login
    note: str
    deadline: date | None


@dataclass(frozen=True)
class RecordView:
    kind: str  # share_application, grant, objection, inconsistency, violation, supervision, catalog, …
    label: str  # message id of the kind: "Share application"
    number: Value  # "#3", or a department's name
    tags: tuple[Value, ...]  # what tells it apart: the resource code, a department, …
    status: Term | None
    facts: tuple[Fact, ...]
    steps: tuple[LadderStep, ...] = ()
    people: frozenset[str] = field(default_factory=frozenset)  # the logins it names

    def __post_init__(self) -> None:
        named = {v.login for v in _values(self.facts, self.number, self.tags) if isinstance(v, Person)}
        object.__setattr__(self, "people", frozenset(self.people) | named | {s.actor for s in self.steps})


def facts(*pairs: tuple[str, Value]) -> tuple[Fact, ...]:
    """(label, value) pairs with a value: empty ones are left out."""
    return tuple(Fact(label, value) for label, value in pairs if not _empty(value))


def joined(*parts: Value, sep: str = " · ") -> Joined | None:
    kept = tuple(p for p in parts if not _empty(p))
    return Joined(kept, sep) if kept else None


def items(values: Iterable[str] | None) -> str:
    return "、".join(values or [])


def period(start: date | None, end: date | None) -> str:
    return f"{start.isoformat()} – {end.isoformat()}" if start and end else ""


def when(at: datetime | None) -> When | None:
    return When(at) if at else None


def _empty(value: Value) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _values(found: tuple[Fact, ...], number: Value, tags: tuple[Value, ...]) -> Iterable[Value]:
    pending = [f.value for f in found] + [number, *tags]
    while pending:
        value = pending.pop()
        if isinstance(value, Joined):
            pending.extend(value.parts)
        else:
            yield value


def copy_into(cls, row, **given):
    """An instance of the dataclass ``cls`` from the row's attributes of the same names (``given``
    for those that need converting)."""
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls) if f.name not in given}, **given)
