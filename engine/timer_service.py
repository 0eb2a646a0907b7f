"""Firing due timers and re-projecting deadlines: one unit of work per case."""
from __future__ import annotations

import json
from datetime import date, datetime

import sqlalchemy as sa

from . import audit, calendar_store, deadlines
from .errors import GovflowError
from .models import Case, Deadline
from .procedures import ScriptContext
from .uow import Actor

TIMER_ACTOR = Actor.system("timer")
CALENDAR_ACTOR = Actor.system("calendar")


def due_case_ids(engine, now: datetime, limit: int) -> list[int]:
    """Cases with a waiting, not held timer due by ``now`` (oldest first)."""
    with engine.uow() as uow:
        query = sa.select(Deadline.case_id, sa.func.min(Deadline.due_at).label("first")).where(
            Deadline.state == "waiting", Deadline.held.is_(False), Deadline.due_at <= now
        ).group_by(Deadline.case_id).order_by(sa.text("first")).limit(limit)
        return [row.case_id for row in uow.session.execute(query)]


def next_due(engine) -> datetime | None:
    """The earliest instant at which a waiting timer falls due."""
    with engine.uow() as uow:
        return uow.session.scalar(sa.select(sa.func.min(Deadline.due_at)).where(
            Deadline.state == "waiting", Deadline.held.is_(False)))


def fire_case(engine, case_id: int) -> int:
    """Load one case, let SpiffWorkflow see its due timers, run on and commit; return timers fired."""
    with engine.uow() as uow:
        case = _lock_running_case(uow, case_id)
        if case is None:
            return 0  # another worker holds it, or it ended: its timers are that worker's or moot
        bundle = engine.definitions.get(uow.session, case.definition_id)
        workflow = engine._load(case, bundle)
        engine._advance(uow, case, workflow, bundle, TIMER_ACTOR)
        fired = sum(1 for e in uow.audit if e.action == "timer_fired")
        uow.commit()
        return fired


def _lock_running_case(uow, case_id: int) -> Case | None:
    query = sa.select(Case).where(Case.id == case_id, Case.status == "running")
    if uow.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return uow.session.scalars(query).first()


def fire_due_timers(engine, batch: int = 200, log=None) -> int:
    """Fire every timer due by the engine clock's now; safe to run in several workers at once."""
    fired = 0
    now = engine.clock.now()
    while True:
        case_ids = due_case_ids(engine, now, batch)
        progressed = 0
        for case_id in case_ids:
            try:
                count = fire_case(engine, case_id)
            except GovflowError as exc:
                if log:
                    log(f"case {case_id}: timer not fired: {exc}")
                continue
            fired += count
            progressed += 1
        if len(case_ids) < batch or progressed == 0:
            return fired


# -- moving deadlines when the calendar changes -------------------------------------------------

def recompute_deadlines(engine, changed: set[date] | None = None, actor: Actor = CALENDAR_ACTOR) -> int:
    """Re-project every open deadline that is provisional or whose period crosses a changed date."""
    moved = 0
    for case_id in _affected_cases(engine, changed):
        moved += _recompute_case(engine, case_id, actor)
    return moved


def _affected_cases(engine, changed: set[date] | None) -> list[int]:
    with engine.uow() as uow:
        rows = uow.session.execute(sa.select(Deadline.case_id, Deadline.params, Deadline.provisional)
                                   .where(Deadline.state == "waiting", Deadline.params != "{}")).all()
    affected = set()
    for case_id, params, provisional in rows:
        meta = json.loads(params)
        if provisional or changed is None or _crosses(meta, changed):
            affected.add(case_id)
    return sorted(affected)


def _crosses(meta: dict, changed: set[date]) -> bool:
    start, end = date.fromisoformat(meta["start"]), date.fromisoformat(meta["due_date"])
    return any(start < d <= end for d in changed)


def _recompute_case(engine, case_id: int, actor: Actor) -> int:
    with engine.uow() as uow:
        case = uow.session.scalars(sa.select(Case).where(Case.id == case_id, Case.status == "running")
                                   .with_for_update()).first()
        if case is None:
            return 0
        bundle = engine.definitions.get(uow.session, case.definition_id)
        workflow = engine._load(case, bundle)
        calendar = engine.calendar(uow.session)
        ctx = ScriptContext(engine, uow.session, case, actor, engine.clock.now(), None, workflow,
                            engine.rule_set(uow.session, case.rule_set), uow)
        moved = 0
        for timer in workflow.get_tasks(state=deadlines.TaskState.WAITING):
            meta = timer._get_internal_data("deadline") if deadlines.is_timer(timer) else None
            if not meta:
                continue
            new = deadlines.from_internal(calendar, meta)
            if new.internal() != meta or new.isoformat_instant() != timer._get_internal_data("event_value"):
                deadlines.move_timer(ctx, timer, new, reason="calendar changed")
                moved += 1
        if moved:
            engine._advance(uow, case, workflow, bundle, actor)
            uow.commit()
        return moved


# -- administrators' calendar changes -----------------------------------------------------------

def set_override(engine, day: date, working: bool, note: str, by: str) -> int:
    """Enter a single-date correction (audited) and move the deadlines it affects."""
    with engine.uow() as uow:
        previous = calendar_store.set_override(uow.session, day, working, note, by, engine.clock.now())
        uow.record(audit.Entry(engine.clock.now(), by, "calendar_override", summary={
            "day": day.isoformat(), "working": working, "previous": previous, "note": note}))
        uow.commit()
    return recompute_deadlines(engine, {day}, Actor(by))


def publish_year(engine, year: int, document: str, holidays: list[date], workdays: list[date],
                 by: str) -> int:
    """Enter a year's State Council notice (document number, holidays, 调休 days) and publish it."""
    if not document.strip():
        raise GovflowError("请填写国务院通知的文号 (the notice's document number is required)")
    days = [(d, False) for d in holidays] + [(d, True) for d in workdays]
    if any(d.year != year for d, _ in days):
        raise GovflowError(f"日期必须在 {year} 年内 (all dates must be in {year})")
    now = engine.clock.now()
    with engine.uow() as uow:
        for d, working in days:
            calendar_store.set_override(uow.session, d, working, document, by, now)
        calendar_store.publish_year(uow.session, year, document, by, now)
        uow.record(audit.Entry(now, by, "calendar_year_published", summary={
            "year": year, "document": document, "holidays": len(holidays), "workdays": len(workdays)}))
        uow.commit()
    return recompute_deadlines(engine, None, Actor(by))


def set_after_hours_policy(engine, policy: str, by: str) -> None:
    """Choose how after-hours and non-working-day submissions count (calendar.md); audited."""
    from .calendar import POLICIES
    from .models import Setting
    if policy not in POLICIES:
        raise GovflowError(f"未知的受理规则 {policy!r} (unknown policy; choose one of {', '.join(POLICIES)})")
    with engine.uow() as uow:
        row = uow.session.get(Setting, calendar_store.POLICY_KEY)
        previous = row.value if row is not None else engine.config.after_hours_policy
        if row is None:
            row = Setting(key=calendar_store.POLICY_KEY)
            uow.session.add(row)
        row.value = policy
        uow.record(audit.Entry(engine.clock.now(), by, "setting_changed", summary={
            "key": calendar_store.POLICY_KEY, "old": previous, "new": policy}))
        uow.commit()


def calendar_status(engine, today: date) -> dict:
    """What an administrator needs to see: published years and the next-year warning (from 1 December)."""
    with engine.uow() as uow:
        cal = engine.calendar(uow.session)
        return {"published_years": sorted(cal.published_years), "missing_year": cal.missing_next_year_warning(today),
                "after_hours_policy": calendar_store.after_hours_policy(uow.session, engine.config.after_hours_policy)}
