"""Administrators' verbs on the working-day calendar (工作日): publish a year from the State
Council notice, correct a single date, choose the after-hours policy (docs/deadlines.md).

Each checks the administrator's role itself and is one audited unit of work; publishing and
corrections then recompute the running deadlines they move, one unit of work per case
(``engine.timer_service.recompute_deadlines``). The web pages (``web/admin/working_days.py``) and
the command line (``govflow calendar``) call these; what the calendar looks like is the read model
``engine.views.admin.calendar_status`` / ``calendar_page``."""
from __future__ import annotations

from datetime import date

from .. import audit, calendar_store, memo, timer_service
from ..calendar import POLICIES
from ..domain import org
from ..errors import GovflowError
from ..models import Setting
from ..uow import Actor
from ..messages import msg


def publish_year(engine, actor: Actor, year: int, document: str, holidays: list[date],
                 workdays: list[date]) -> int:
    """Enter a year's notice (document number, holidays, 调休 days) and publish the year; return how
    many running deadlines were recomputed."""
    org.require_admin(actor)
    if not document.strip():
        raise GovflowError(msg("calendar.document_required", "the notice's document number is required"))
    days = [(d, False) for d in holidays] + [(d, True) for d in workdays]
    if any(d.year != year for d, _ in days):
        raise GovflowError(msg("calendar.date_outside_year", "all dates must be in {year}", year=year))
    now, by = engine.clock.now(), actor.username
    with engine.uow() as uow:
        for d, working in days:
            calendar_store.set_override(uow.session, d, working, document, by, now)
        calendar_store.publish_year(uow.session, year, document, by, now)
        uow.record(audit.Entry(now, by, "calendar_year_published", summary={
            "year": year, "document": document, "holidays": len(holidays), "workdays": len(workdays)}))
        uow.commit()
    return timer_service.recompute_deadlines(engine, None, Actor(by))


def set_override(engine, actor: Actor, day: date, working: bool, note: str) -> int:
    """Make ``day`` a working or a rest day, with the reason (audited); return how many running
    deadlines moved."""
    org.require_admin(actor)
    now, by = engine.clock.now(), actor.username
    with engine.uow() as uow:
        previous = calendar_store.set_override(uow.session, day, working, note, by, now)
        uow.record(audit.Entry(now, by, "calendar_override", summary={
            "day": day.isoformat(), "working": working, "previous": previous, "note": note}))
        uow.commit()
    return timer_service.recompute_deadlines(engine, {day}, Actor(by))


def set_after_hours_policy(engine, actor: Actor, policy: str) -> None:
    """How submissions after office hours or on a non-working day count (``engine.calendar.POLICIES``,
    docs/deadlines.md); audited."""
    org.require_admin(actor)
    if policy not in POLICIES:
        raise GovflowError(msg("calendar.unknown_policy", "unknown policy {policy!r}; choose one of {choices}",
                                policy=policy, choices=", ".join(POLICIES)))
    with engine.uow() as uow:
        row = uow.session.get(Setting, calendar_store.POLICY_KEY)
        previous = row.value if row is not None else engine.config.after_hours_policy
        if row is None:
            row = Setting(key=calendar_store.POLICY_KEY)
            uow.session.add(row)
        row.value = policy
        memo.forget(uow.session, calendar_store.FINGERPRINT)
        uow.record(audit.Entry(engine.clock.now(), actor.username, "setting_changed", summary={
            "key": calendar_store.POLICY_KEY, "old": previous, "new": policy}))
        uow.commit()
