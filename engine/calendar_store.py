"""The working-day calendar as the engine uses it: package data plus administrators' overrides."""
from __future__ import annotations

import threading
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .calendar import Override, PublishedYear, WorkingDayCalendar
from .models import CalendarOverride, CalendarYear, Setting

POLICY_KEY = "after_hours_policy"


class CalendarCache:
    """Rebuilds the calendar only when the override tables changed (cheap fingerprint query)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._fingerprint = None
        self._calendar = WorkingDayCalendar()

    def get(self, session: Session) -> WorkingDayCalendar:
        fingerprint = _fingerprint(session)
        if fingerprint != self._fingerprint:
            calendar = build(session)
            with self._lock:
                self._fingerprint, self._calendar = fingerprint, calendar
        return self._calendar


def _fingerprint(session: Session) -> tuple:
    o = session.execute(sa.select(sa.func.count(), sa.func.max(CalendarOverride.entered_at))).one()
    y = session.execute(sa.select(sa.func.count(), sa.func.max(CalendarYear.entered_at))).one()
    return tuple(o) + tuple(y)


def build(session: Session) -> WorkingDayCalendar:
    overrides = [Override(r.day, r.working, r.note) for r in session.scalars(sa.select(CalendarOverride))]
    years = [PublishedYear(r.year, r.document) for r in session.scalars(sa.select(CalendarYear))]
    return WorkingDayCalendar(overrides, years)


def set_override(session: Session, day: date, working: bool, note: str, by: str, now: datetime) -> bool | None:
    """Enter or replace a single-date correction; return the previous value (None if new)."""
    row = session.get(CalendarOverride, day)
    previous = row.working if row is not None else None
    if row is None:
        row = CalendarOverride(day=day)
        session.add(row)
    row.working, row.note, row.entered_by, row.entered_at = working, note[:500], by, now
    return previous


def publish_year(session: Session, year: int, document: str, by: str, now: datetime) -> None:
    row = session.get(CalendarYear, year) or CalendarYear(year=year)
    row.document, row.entered_by, row.entered_at = document[:200], by, now
    session.add(row)


def after_hours_policy(session: Session, default: str) -> str:
    row = session.get(Setting, POLICY_KEY)
    return row.value if row is not None else default
