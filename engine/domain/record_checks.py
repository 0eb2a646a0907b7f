"""What every case record shares: field checks that collect errors, loading, and the audit entry."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, NamedTuple, TypeVar, Union

from sqlalchemy.orm import Session

from .. import audit
from ..calendar import BEIJING
from ..errors import GovflowError, InvalidForm, NotFound
from ..messages import Message, msg
from ..models import Base, Case
from ..uow import Actor, UnitOfWork
from .org import Department, department_by_code

T = TypeVar("T", bound=Base)


class _Pair(NamedTuple):
    """An old ``(中文, English)`` label of a field; callers not yet converted to label Messages pass one."""

    zh: str
    en: str


Label = Union[Message, _Pair]


def _label(label: Message | str, en: str | None) -> Label:
    """The label Message (new form), or the old pair ``label, en`` (during the transition)."""
    if isinstance(label, Message) or en is None:
        return label
    return _Pair(label, en)


def _said(message: Message) -> str:
    """``message``; built with an old (zh, en) label, the old text ``中文 (English)`` (the Chinese
    template from the catalog, the label's own words in each half)."""
    if not any(isinstance(v, _Pair) for v in message.params.values()):
        return message
    zh = Message(message.code, message.text, {k: v.zh if isinstance(v, _Pair) else v
                                              for k, v in message.params.items()}).render("zh")
    en = Message(message.code, message.text, {k: v.en if isinstance(v, _Pair) else v
                                              for k, v in message.params.items()}).render("en")
    return en if zh == en else f"{zh} ({en})"


RESOURCE_CODE = msg("label.resource_code", "resource code")


class Checks:
    """Collects one message per bad field; ``done()`` raises them together before anything is written.

    A field's ``label`` is a Message (``msg("label.usage_scenario", "usage scenario")``); the old
    ``zh, en`` pair of words is still accepted in its place."""

    def __init__(self, session: Session):
        self.session = session
        self.errors: dict[str, str] = {}

    def fail(self, field: str, message: Message | str, en: str | None = None) -> None:
        """Record ``message`` for ``field`` (the first one wins); ``fail(field, zh, en)`` is the old form."""
        self.errors.setdefault(field, f"{message} ({en})" if en is not None else _said(message))

    def text(self, field: str, value: Any, label: Message | str, en: str | int | None = None,
             max_length: int | None = None) -> str:
        """A required, stripped text."""
        if isinstance(en, int):
            en, max_length = None, en
        label = _label(label, en)
        found = self._optional_text(field, value, label, max_length)
        if not found:
            self.fail(field, msg("check.required", "the {label} is required", label=label))
        return found

    def optional_text(self, field: str, value: Any, label: Message | str, en: str | int | None = None,
                      max_length: int | None = None) -> str:
        if isinstance(en, int):
            en, max_length = None, en
        return self._optional_text(field, value, _label(label, en), max_length)

    def _optional_text(self, field: str, value: Any, label: Label, max_length: int | None) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(field, msg("check.not_text", "the {label} must be text", label=label))
            return ""
        value = value.strip()
        if max_length is not None and len(value) > max_length:
            self.fail(field, msg("check.too_long", "the {label} has at most {max_length} characters",
                                 label=label, max_length=max_length))
        return value

    def choice(self, field: str, value: Any, allowed: Iterable, label: Message | str, en: str | None = None) -> Any:
        allowed = tuple(allowed)
        if value not in allowed:
            names = ", ".join(str(a) for a in allowed)
            self.fail(field, msg("check.not_a_choice", "the {label} must be one of {choices}",
                                 label=_label(label, en), choices=names))
        return value

    def day(self, field: str, value: Any, label: Message | str, en: str | None = None) -> date | None:
        """A required date (a ``date`` or an ISO string, as task forms hold them)."""
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return date.fromisoformat(value.strip())
        except (AttributeError, ValueError):
            self.fail(field, msg("check.not_a_date", "the {label} must be a date", label=_label(label, en)))
            return None

    def items(self, field: str, values: Any, label: Message | str, en: str | None = None) -> list[str]:
        """A non-empty list of distinct, non-blank texts (in the order given)."""
        label = _label(label, en)
        if isinstance(values, str) or not isinstance(values, (list, tuple)):
            self.fail(field, msg("check.not_a_list", "the {label} must be a list", label=label))
            return []
        cleaned = [v.strip() for v in values if isinstance(v, str) and v.strip()]
        if len(cleaned) != len(values) or not cleaned:
            self.fail(field, msg("check.blank_items", "the {label} need at least one entry, none blank", label=label))
        return list(dict.fromkeys(cleaned))

    def department(self, field: str, code: Any, label: Message | str, en: str | None = None) -> Department | None:
        label = _label(label, en)
        if not isinstance(code, str) or not code.strip():
            self.fail(field, msg("check.required", "the {label} is required", label=label))
            return None
        try:
            return department_by_code(self.session, code.strip())
        except NotFound:
            self.fail(field, msg("check.no_department",
                                 "no {label} with code {department_code}", label=label, department_code=code))
            return None

    def different(self, field: str, consumer: Department | None, provider: Department | None) -> None:
        if consumer is not None and consumer is provider:
            self.fail(field, msg("check.own_department", "a department does not apply for its own data"))

    def period(self, field: str, first: date | None, last: date | None) -> None:
        if first is not None and last is not None and last < first:
            self.fail(field, msg("check.period_reversed", "the last day cannot be before the first day"))

    def resource_code(self, field: str, value: Any) -> str:
        return self.text(field, value, RESOURCE_CODE, max_length=40)

    def case(self, field: str, case_id: Any) -> int | None:
        """An optional reference to a case that must exist."""
        if case_id is None:
            return None
        if isinstance(case_id, bool) or not isinstance(case_id, int) or self.session.get(Case, case_id) is None:
            self.fail(field, msg("check.no_case", "no case {case_id}", case_id=case_id))
            return None
        return case_id

    def done(self) -> None:
        if self.errors:
            raise InvalidForm(dict(self.errors))


def load(session: Session, model: type[T], record_id: Any, label: Message | str, en: str | None = None) -> T:
    """The record with this id, or NotFound naming what was looked for (``label``: a label Message,
    or the old ``zh, en`` pair)."""
    valid = isinstance(record_id, int) and not isinstance(record_id, bool)
    record = session.get(model, record_id) if valid else None
    if record is None:
        raise NotFound(_said(msg("record.not_found", "no {label} {record_id}", label=_label(label, en),
                                 record_id=record_id)))
    return record


def require_status(record: Any, allowed: Iterable[str], label: Message | str, en: str | None = None) -> None:
    """Refuse a change the record's current status does not allow (not a field error)."""
    if record.status not in tuple(allowed):
        raise GovflowError(_said(msg("record.status_forbids", "the {label} is {status}; this change is not allowed",
                                     label=_label(label, en), status=record.status)))


def record_audit(uow: UnitOfWork, actor: Actor, now: datetime, action: str, case_id: int | None,
                 summary: dict[str, Any], task_id: str | None = None) -> None:
    uow.record(audit.Entry(now, actor.username, action, case_id, task_id, summary=summary))


def beijing_today(now: datetime) -> date:
    """The calendar day in the county at ``now`` (periods end at 24:00 Beijing time)."""
    return now.astimezone(BEIJING).date()
