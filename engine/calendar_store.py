"""The working-day calendar as the engine uses it: package data plus administrators' overrides."""
from __future__ import annotations

import threading
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import memo
from .calendar import Override, PublishedYear, WorkingDayCalendar
from .models import CalendarOverride, CalendarYear, Setting

POLICY_KEY = "after_hours_policy"
FINGERPRINT = ("calendar", "fingerprint")


class CalendarCache:
    """Rebuilds the calendar only when the override tables changed (cheap fingerprint query)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._fingerprint = None
        self._calendar = WorkingDayCalendar()

    def get(self, session: Session) -> WorkingDayCalendar:
        fingerprint = memo.remember(session, FINGERPRINT, lambda: _fingerprint(session))
        if fingerprint != self._fingerprint:
            calendar = build(session)
            with self._lock:
                self._fingerprint, self._calendar = fingerprint, calendar
        return self._calendar


def _fingerprint(session: Session) -> tuple:
    """Counts and newest entry times of both override tables, in one round trip."""
    o = sa.select(sa.func.count(), sa.func.max(CalendarOverride.entered_at))
    y = sa.select(sa.func.count(), sa.func.max(CalendarYear.entered_at))
    subqueries = [q.with_only_columns(c).scalar_subquery() for q in (o, y) for c in q.selected_columns]
    return tuple(session.execute(sa.select(*subqueries)).one())


def build(session: Session) -> WorkingDayCalendar:
    overrides = [Override(r.day, r.working, r.note) for r in session.scalars(sa.select(CalendarOverride))]
    years = [PublishedYear(r.year, r.document) for r in session.scalars(sa.select(CalendarYear))]
    return WorkingDayCalendar(overrides, years)


def set_override(session: Session, day: date, working: bool, note: str, by: str, now: datetime) -> bool | None:
    """Enter or replace a single-date correction; return the previous value (None if new)."""
    memo.forget(session, FINGERPRINT)
    row = session.get(CalendarOverride, day)
    previous = row.working if row is not None else None
    if row is None:
        row = CalendarOverride(day=day)
        session.add(row)
    row.working, row.note, row.entered_by, row.entered_at = working, note[:500], by, now
    return previous


def publish_year(session: Session, year: int, document: str, by: str, now: datetime) -> None:
    memo.forget(session, FINGERPRINT)
    row = session.get(CalendarYear, year) or CalendarYear(year=year)
    row.document, row.entered_by, row.entered_at = document[:200], by, now
    session.add(row)


def after_hours_policy(session: Session, default: str) -> str:
    value = memo.remember(session, ("setting", POLICY_KEY), lambda: _setting(session, POLICY_KEY))
    return value if value is not None else default


def _setting(session: Session, key: str) -> str | None:
    row = session.get(Setting, key)
    return row.value if row is not None else None
