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
        fingerprint = _snapshot(session)[0]
        if fingerprint != self._fingerprint:
            calendar = build(session)
            with self._lock:
                self._fingerprint, self._calendar = fingerprint, calendar
        return self._calendar


def _snapshot(session: Session) -> tuple[tuple, str | None]:
    """(fingerprint of both override tables, the after-hours policy setting): one round trip, once
    per unit of work."""
    def read():
        o = sa.select(sa.func.count(), sa.func.max(CalendarOverride.entered_at))
        y = sa.select(sa.func.count(), sa.func.max(CalendarYear.entered_at))
        columns = [q.with_only_columns(c).scalar_subquery() for q in (o, y) for c in q.selected_columns]
        policy = sa.select(Setting.value).where(Setting.key == POLICY_KEY).scalar_subquery()
        *fingerprint, value = session.execute(sa.select(*columns, policy)).one()
        return tuple(fingerprint), value
    return memo.remember(session, FINGERPRINT, read)


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
    value = _snapshot(session)[1]
    return value if value is not None else default
