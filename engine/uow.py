"""Unit of work: one transaction per request or job, rolled back unless committed."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from sqlalchemy.exc import InvalidRequestError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from . import audit, memo
from .errors import ConcurrentModification
from .db import READ_ONLY
from .step import Step
from .messages import msg


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (username, roles, department) or a system job."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    department: str | None = None

    @classmethod
    def system(cls, job: str) -> "Actor":
        return cls(f"system:{job}")

    @property
    def is_system(self) -> bool:
        return self.username.startswith("system:")


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker, audit_key: bytes | None = None, read_only: bool = False):
        self._factory = session_factory
        self.read_only = read_only  # a read model's unit: never commits; on SQLite it does not wait for writers
        self.audit_key = audit_key  # the audit chain's MAC key (engine.audit_keys), outside the database
        self.audit: list[audit.Entry] = []
        self.session: Session | None = None
        self.memo: dict[Any, Any] = {}  # per-transaction lookups (engine.memo), bound to the session
        self.steps: dict[int, Step] = {}  # what each case's pass hands between its stages (engine.step)
        self.notify_deadlines = False  # wake the timer workers at commit (a deadline was added or moved)
        self._committed = False

    def __enter__(self) -> "UnitOfWork":
        if self.read_only:
            bind = self._factory.kw["bind"].execution_options(**{READ_ONLY: True})
            self.session = self._factory(bind=bind)
        else:
            self.session = self._factory()
        self.memo = memo.of(self.session)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # An error rolls back (and expires what it touched); a read-only unit just closes, which
        # also ends the database transaction but leaves loaded rows readable for the caller.
        if exc_type is not None and not self._committed:
            self.session.rollback()
        self.session.close()

    def record(self, entry: audit.Entry) -> None:
        self.audit.append(entry)

    def step(self, case_id: int) -> Step:
        """The case's step in this unit of work (created on first use)."""
        found = self.steps.get(case_id)
        if found is None:
            found = self.steps[case_id] = Step(case_id)
        return found

    def remember(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per unit of work (what cannot change under this transaction's feet
        matters only within it: the calendar's fingerprint, a department looked up by code)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """A part of the unit of work that may fail alone (one case of a batch of timer firings):
        run in a SAVEPOINT; on error its database changes, audit entries and memos are undone and
        the error propagates, leaving the rest of the transaction intact."""
        mark, notify = len(self.audit), self.notify_deadlines
        nested = self.session.begin_nested()
        try:
            yield
            nested.commit()  # flushes: a write that fails here is undone with the rest of the part
        except BaseException:
            try:
                nested.rollback()
            except InvalidRequestError:
                pass  # already rolled back with the error
            del self.audit[mark:]
            self.memo.clear()
            self.steps.clear()
            self.notify_deadlines = notify
            raise

    def commit(self) -> None:
        """Append the audit entries and commit; a lost race becomes ConcurrentModification."""
        if self.read_only:
            raise RuntimeError("a read-only unit of work does not commit")
        try:
            # Everything but the audit chain is written first, so the chain's head row is locked
            # for two statements and the commit only (it serialises writers, see audit.append).
            self.session.flush()
            audit.append(self.session, self.audit, notify=self.notify_deadlines, key=self.audit_key)
            self.session.commit()
        except StaleDataError:
            self.session.rollback()
            raise ConcurrentModification(msg("case.changed_concurrently", "the case was changed by someone else")) from None
        except OperationalError as exc:
            self.session.rollback()
            if "locked" in str(exc).lower() or "deadlock" in str(exc).lower():
                raise ConcurrentModification(msg("db.busy", "the database is busy; try again")) from None
            raise
        self._committed = True
        self.audit = []
        self.memo.clear()
        self.steps.clear()
        self.notify_deadlines = False
