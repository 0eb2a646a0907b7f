"""What every case record shares: field checks that collect errors, loading, and the audit entry."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, TypeVar

from sqlalchemy.orm import Session

from .. import audit
from ..calendar import BEIJING
from ..errors import GovflowError, InvalidForm, NotFound
from ..models import Base, Case
from ..uow import Actor, UnitOfWork
from .org import Department, department_by_code

T = TypeVar("T", bound=Base)


class Checks:
    """Collects one message per bad field; ``done()`` raises them together before anything is written."""

    def __init__(self, session: Session):
        self.session = session
        self.errors: dict[str, str] = {}

    def fail(self, field: str, zh: str, en: str) -> None:
        self.errors.setdefault(field, f"{zh} ({en})")

    def text(self, field: str, value: Any, zh: str, en: str, max_length: int | None = None) -> str:
        """A required, stripped text."""
        found = self.optional_text(field, value, zh, en, max_length)
        if not found:
            self.fail(field, f"{zh}必填", f"the {en} is required")
        return found

    def optional_text(self, field: str, value: Any, zh: str, en: str, max_length: int | None = None) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(field, f"{zh}应为文本", f"the {en} must be text")
            return ""
        value = value.strip()
        if max_length is not None and len(value) > max_length:
            self.fail(field, f"{zh}不超过 {max_length} 字", f"the {en} has at most {max_length} characters")
        return value

    def choice(self, field: str, value: Any, allowed: Iterable, zh: str, en: str) -> Any:
        allowed = tuple(allowed)
        if value not in allowed:
            names = ", ".join(str(a) for a in allowed)
            self.fail(field, f"{zh}应为 {names} 之一", f"the {en} must be one of {names}")
        return value

    def day(self, field: str, value: Any, zh: str, en: str) -> date | None:
        """A required date (a ``date`` or an ISO string, as task forms hold them)."""
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return date.fromisoformat(value.strip())
        except (AttributeError, ValueError):
            self.fail(field, f"{zh}应为日期 YYYY-MM-DD", f"the {en} must be a date")
            return None

    def items(self, field: str, values: Any, zh: str, en: str) -> list[str]:
        """A non-empty list of distinct, non-blank texts (in the order given)."""
        if isinstance(values, str) or not isinstance(values, (list, tuple)):
            self.fail(field, f"{zh}应为列表", f"the {en} must be a list")
            return []
        cleaned = [v.strip() for v in values if isinstance(v, str) and v.strip()]
        if len(cleaned) != len(values) or not cleaned:
            self.fail(field, f"{zh}至少一项且每项不能为空", f"the {en} need at least one entry, none blank")
        return list(dict.fromkeys(cleaned))

    def department(self, field: str, code: Any, zh: str, en: str) -> Department | None:
        if not isinstance(code, str) or not code.strip():
            self.fail(field, f"{zh}必填", f"the {en} is required")
            return None
        try:
            return department_by_code(self.session, code.strip())
        except NotFound:
            self.fail(field, f"{zh} {code} 不存在", f"no department with code {code}")
            return None

    def different(self, field: str, consumer: Department | None, provider: Department | None) -> None:
        if consumer is not None and consumer is provider:
            self.fail(field, "使用部门不能是提供部门本身", "a department does not apply for its own data")

    def period(self, field: str, first: date | None, last: date | None) -> None:
        if first is not None and last is not None and last < first:
            self.fail(field, "截止日不能早于起始日", "the last day cannot be before the first day")

    def resource_code(self, field: str, value: Any) -> str:
        return self.text(field, value, "资源代码", "resource code", max_length=40)

    def case(self, field: str, case_id: Any) -> int | None:
        """An optional reference to a case that must exist."""
        if case_id is None:
            return None
        if isinstance(case_id, bool) or not isinstance(case_id, int) or self.session.get(Case, case_id) is None:
            self.fail(field, f"案件 {case_id} 不存在", f"no case {case_id}")
            return None
        return case_id

    def done(self) -> None:
        if self.errors:
            raise InvalidForm(dict(self.errors))


def load(session: Session, model: type[T], record_id: Any, zh: str, en: str) -> T:
    """The record with this id, or NotFound naming what was looked for."""
    valid = isinstance(record_id, int) and not isinstance(record_id, bool)
    record = session.get(model, record_id) if valid else None
    if record is None:
        raise NotFound(f"{zh} {record_id} 不存在 (no {en} {record_id})")
    return record


def require_status(record: Any, allowed: Iterable[str], zh: str, en: str) -> None:
    """Refuse a change the record's current status does not allow (not a field error)."""
    if record.status not in tuple(allowed):
        raise GovflowError(f"{zh}当前状态为 {record.status}，不能执行此操作 "
                           f"(the {en} is {record.status}; this change is not allowed)")


def record_audit(uow: UnitOfWork, actor: Actor, now: datetime, action: str, case_id: int | None,
                 summary: dict[str, Any], task_id: str | None = None) -> None:
    uow.record(audit.Entry(now, actor.username, action, case_id, task_id, summary=summary))


def beijing_today(now: datetime) -> date:
    """The calendar day in the county at ``now`` (periods end at 24:00 Beijing time)."""
    return now.astimezone(BEIJING).date()
