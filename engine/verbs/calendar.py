"""Administrators' verbs on the working-day calendar (工作日): publish a year from the State
Council notice, correct a single date, choose the after-hours policy (docs/deadlines.md).

Each change is one audited unit of work; publishing and corrections then recompute the running
deadlines they move, one unit of work per case (``engine.timer_service``, where the command line's
``govflow calendar`` calls the same functions)."""
from __future__ import annotations

from datetime import date

from .. import timer_service
from ..domain import org
from ..uow import Actor


def publish_year(engine, actor: Actor, year: int, document: str, holidays: list[date],
                 workdays: list[date]) -> int:
    """Enter a year's notice (document number, holidays, 调休 days); return how many running
    deadlines were recomputed."""
    org.require_admin(actor)
    return timer_service.publish_year(engine, year, document, holidays, workdays, actor.username)


def set_override(engine, actor: Actor, day: date, working: bool, note: str) -> int:
    """Make ``day`` a working or a rest day, with the reason; return how many running deadlines moved."""
    org.require_admin(actor)
    return timer_service.set_override(engine, day, working, note, actor.username)


def set_after_hours_policy(engine, actor: Actor, policy: str) -> None:
    """How submissions after office hours or on a non-working day count (``engine.calendar.POLICIES``)."""
    org.require_admin(actor)
    timer_service.set_after_hours_policy(engine, policy, actor.username)
