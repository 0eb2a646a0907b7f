"""Statutory deadlines in diagrams: ``workdays(N)`` timers, the deadline table, moving deadlines."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from . import audit
from .calendar import BEIJING, WorkingDayCalendar, period_end
from .errors import GovflowError
from .models import Deadline, HumanTask
from .spiff.sandbox import register_value_type
from .spiff.tasks import all_tasks
from .spiff.timers import due_instant
from .messages import msg
from .metrics import TIMER_LATENESS, TIMERS_FIRED

REMINDER_HOUR = time(9, 0)  # reminders arrive at the start of the office day (design)


@register_value_type  # a timer's value may come back from the script sandbox
@dataclass(frozen=True)
class WorkdayDeadline:
    """What ``workdays(...)`` returns to a timer: the instant plus how to recompute it."""

    start: date
    n: int
    due_date: date
    provisional: bool
    before: int = 0
    remind_date: date | None = None
    extra: tuple = ()  # (key, value) pairs kept in the timer's meta: the period it watches, day 0's receipt

    def instant(self) -> datetime:
        if self.before:
            return datetime.combine(self.remind_date, REMINDER_HOUR, tzinfo=BEIJING)
        return period_end(self.due_date)

    def isoformat_instant(self) -> str:
        return self.instant().isoformat()

    def internal(self) -> dict:
        return {"start": self.start.isoformat(), "n": self.n, "before": self.before,
                "due_date": self.due_date.isoformat(), "provisional": self.provisional, **dict(self.extra)}


def compute(calendar: WorkingDayCalendar, start: date, n: int, before: int = 0, extra: dict | None = None,
            start_provisional: bool = False) -> WorkdayDeadline:
    """Count ``n`` working days after ``start`` (art. 201 rule); optionally ``before`` days back.
    ``start_provisional``: day 0 itself was found with the provisional rule (an after-hours receipt
    whose next working day is in an unpublished year)."""
    due = calendar.compute_due(start, n)
    extra = tuple(sorted((extra or {}).items()))
    if not before:
        return WorkdayDeadline(start, n, due.date, due.provisional or start_provisional, extra=extra)
    remind = calendar.working_days_before(due.date, before)
    return WorkdayDeadline(start, n, due.date, due.provisional or remind.provisional or start_provisional,
                           before, remind.date, extra)


BASE_META = ("start", "n", "before", "due_date", "provisional")


def extra_of(meta: dict) -> dict:
    """What a timer's meta keeps besides the count itself (its period, a receipt instant)."""
    return {k: v for k, v in meta.items() if k not in BASE_META}


def from_internal(calendar: WorkingDayCalendar, meta: dict, policy: str = "calendar_date") -> WorkdayDeadline:
    """Recompute a timer's deadline from its meta (the calendar changed or a year was published);
    a day 0 found provisionally from a receipt instant is found again first."""
    start, start_provisional = date.fromisoformat(meta["start"]), False
    if meta.get("received_at"):
        receipt = calendar.receipt(datetime.fromisoformat(meta["received_at"]), meta.get("policy", policy))
        start, start_provisional = receipt.date, receipt.provisional
    return compute(calendar, start, int(meta["n"]), int(meta.get("before", 0)), extra_of(meta), start_provisional)


# -- functions diagrams call (bound to the unit of work's ScriptContext) -------------------------

def workdays(ctx, n, start=None) -> WorkdayDeadline:
    """``timeDate`` = ``workdays(rules.share_reply_days)``: due 24:00 of the Nth working day after
    receipt (or after ``start``, a date in the case data); the day of receipt is not counted."""
    day0, extra, provisional = start_of(ctx, start)
    return compute(ctx.services.calendar(ctx.session), day0, _count(n), 0, extra, provisional)


def remind_before(ctx, n, start=None, before=None) -> WorkdayDeadline:
    """Reminder timer: 09:00 of the working day ``before`` (default: the rule set's) ahead of the due date."""
    before = reminder_days(ctx, before)
    day0, extra, provisional = start_of(ctx, start)
    return compute(ctx.services.calendar(ctx.session), day0, _count(n), before, extra, provisional)


def reminder_days(ctx, before=None) -> int:
    periods = ctx.rules.periods if ctx.rules is not None else {}
    return _count(before if before is not None else periods.get("reminder_days_before", 1))


def extend_deadline(ctx, element_id, days) -> str:
    """Move the running deadline of user task ``element_id`` by ``days`` working days, counted from
    the end of the original period; must be approved before it ends (art. 18). When the deadline is a
    statutory period, the whole period moves: every timer of it and its row, so a task of the period
    entered later (or in the same step) has the extended end too."""
    days = _count(days)
    maximum = ctx.rules.periods.get("review_extension_max_days", 10)
    if days > maximum:  # art. 18: at most 10 working days
        raise GovflowError(msg("deadline.extension_too_long", "an extension is at most {max} working days", max=maximum))
    timers = [t for t in attached_timers(ctx.workflow, element_id) if t._get_internal_data("deadline")]
    keys = {(m["period"], m.get("seq")) for m in (t._get_internal_data("deadline") for t in timers) if "period" in m}
    timers += [t for t in ctx.workflow.get_tasks(state=TaskState.WAITING) if is_timer(t) and t not in timers
               and _period_key(t) in keys]
    moved = None
    for timer in timers:
        meta = timer._get_internal_data("deadline")
        if not meta.get("before") and ctx.now >= period_end(date.fromisoformat(meta["due_date"])):
            raise GovflowError(msg("deadline.period_ended", "the original period has already ended"))
        new = compute(ctx.services.calendar(ctx.session), date.fromisoformat(meta["start"]),
                      int(meta["n"]) + days, int(meta.get("before", 0)), extra_of(meta))
        move_timer(ctx, timer, new, reason=f"extension +{days}")
        moved = moved or new.due_date.isoformat()
    if moved is None:
        raise GovflowError(msg("deadline.nothing_to_extend", "task {task_id} has no running deadline to extend: the "
                                "original period has already ended, or the task is done", task_id=element_id))
    from . import periods
    for name, seq in keys:
        periods.extend(ctx, name, seq, days)
    return moved


def _period_key(timer) -> tuple | None:
    meta = timer._get_internal_data("deadline") or {}
    return (meta["period"], meta.get("seq")) if "period" in meta else None


@register_value_type  # a timer's value may come back from the script sandbox
@dataclass(frozen=True)
class WorkdayCycle:
    """What ``cycle(workdays(n), times)`` returns to a ``timeCycle``: fire every ``n`` working days
    (``times`` times; None: until the timer's activity ends). Read by
    ``engine.spiff.timers.ClockCycleTimerEventDefinition``."""

    first: WorkdayDeadline
    times: int | None = None

    def cycle_state(self) -> dict:
        return {"times": self.times if self.times is not None else -1, "count": 0,
                "workdays": self.first.n, "start": self.first.start.isoformat()}


def cycle(ctx, first, times=None) -> WorkdayCycle:
    """``timeCycle`` = ``cycle(workdays(5))``: every 5 working days from day 0 (the first at the end of
    the 5th, the next at the end of the 10th, ...); ``cycle(workdays(5), 3)``: three times."""
    if not isinstance(first, WorkdayDeadline) or first.before:
        raise GovflowError(msg("deadline.cycle_of", "cycle(...) repeats a workdays(n) period, not {value!r}",
                               value=first))
    if times is not None:
        _count(times)
    return WorkdayCycle(first, times)


DIAGRAM_FUNCTIONS = {"workdays": workdays, "remind_before": remind_before, "extend_deadline": extend_deadline,
                     "cycle": cycle}


MAX_WORKING_DAYS = 1000  # about four years: no statutory period comes near; a bound for absurd counts


def _count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise GovflowError(msg("deadline.days_not_positive", "working days must be a positive whole number, not {n!r}",
                                n=n))
    if n > MAX_WORKING_DAYS:
        raise GovflowError(msg("deadline.days_too_many", "at most {max} working days, not {n}", max=MAX_WORKING_DAYS,
                               n=n))
    return n


def start_of(ctx, start) -> tuple[date, dict, bool]:
    """Day 0 of a period: ``start`` (a date, or an ISO date in the case data), else the receipt of
    now under the after-hours policy. Returns (day 0, meta to keep, whether day 0 is provisional): a
    receipt keeps its instant, so day 0 is found again once an unpublished year is published."""
    if start is None:
        policy = ctx.services.after_hours_policy(ctx.session)
        receipt = ctx.services.calendar(ctx.session).receipt(ctx.now, policy)
        kept = {"received_at": ctx.now.isoformat(), "policy": policy} if receipt.provisional else {}
        return receipt.date, kept, receipt.provisional
    if isinstance(start, datetime):
        return start.astimezone(BEIJING).date(), {}, False
    if isinstance(start, date):
        return start, {}, False
    try:
        return date.fromisoformat(str(start)[:10]), {}, False
    except ValueError:
        raise GovflowError(msg("deadline.bad_start", "not a date: {start!r}", start=start)) from None


# -- timers in a workflow ---------------------------------------------------------------------

def is_timer(task) -> bool:
    spec = task.task_spec
    return isinstance(spec, CatchingEvent) and isinstance(spec.event_definition, TimerEventDefinition)


def timer_kind(task) -> str:
    props = (task.task_spec.extensions or {}).get("properties", {})
    return props.get("deadline", "timer")


def attached_user_tasks(timer) -> list:
    """The user task(s) a boundary timer watches: its sibling under the boundary split, or the
    instances of a multi-instance sibling."""
    parent = timer.parent
    if parent is None or not parent.task_spec.name.endswith("BoundaryEventSplit"):
        return []
    found = []
    for sibling in parent.children:
        if sibling is timer:
            continue
        if sibling.task_spec.manual:
            found.append(sibling)
        else:
            found.extend(child for child in sibling.children if child.task_spec.manual)
    return found


def attached_user_task(timer):
    tasks = attached_user_tasks(timer)
    return tasks[0] if tasks else None


def attached_timers(workflow: BpmnWorkflow, element_id: str) -> list:
    timers = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        watched = attached_user_tasks(task) if is_timer(task) else []
        if any(t.task_spec.bpmn_id == element_id for t in watched):
            timers.append(task)
    return timers


def move_timer(ctx, timer, new: WorkdayDeadline, reason: str) -> None:
    """Replace a waiting timer's cached due instant (SpiffWorkflow computes it only once)."""
    old = timer._get_internal_data("event_value")
    timer._set_internal_data(event_value=new.isoformat_instant(), deadline=new.internal())
    timer.internal_data.pop("event_fired", None)
    ctx.uow.record(audit.Entry(ctx.now, ctx.actor.username, "deadline_moved", ctx.case.id,
                                         str(timer.id), summary={"old": old, "new": new.isoformat_instant(),
                                                                 "provisional": new.provisional,
                                                                 "reason": reason}))


# -- the deadline table -----------------------------------------------------------------------

def project(uow, case, workflow: BpmnWorkflow, actor, now: datetime, open_rows: dict | None = None,
            new_case: bool = False, tasks: list | None = None) -> bool:
    """Keep the deadline table equal to the case's waiting timers.

    ``open_rows``: the case's open human-task rows by id (from the task projection, new ones not yet
    written); ``new_case``: the case has no rows yet (nothing to read). The case's deadline rows may
    have been read ahead into the case's step (``Step.deadlines``, by id; used once). Nothing is flushed here: the
    unit of work writes everything once, before its commit.

    Return True if a waiting deadline was added or moved (what a sleeping worker must hear of);
    closing fired or cancelled ones needs no wake-up.
    """
    session = uow.session
    open_rows = open_rows if open_rows is not None else _open_task_rows(session, case)
    with session.no_autoflush:
        tasks = tasks if tasks is not None else list(all_tasks(workflow))
        waiting = {str(t.id): t for t in tasks if t.state == TaskState.WAITING and is_timer(t)}
        step = uow.step(case.id)
        known, step.deadlines = step.deadlines, None  # read ahead for a batch of timer firings
        if known is None:
            known = {} if new_case else {r.id: r for r in session.scalars(
                sa.select(Deadline).where(Deadline.case_id == case.id))}
        # rows this unit of work added and has not written yet (nothing is flushed before commit)
        known.update({r.id: r for r in session.new if isinstance(r, Deadline) and r.case_id == case.id})
        rows = {k: r for k, r in known.items() if r.state == "waiting"}
        _close_rows(uow, case, workflow, rows, waiting, actor, now, open_rows)
        _record_unseen_fires(uow, case, tasks, known, actor, now, open_rows)
        changed = False
        for timer_id, timer in waiting.items():
            row = rows.get(timer_id)
            seen = _cycle_recorded(row)
            if row is not None:
                _cycle_fires(uow, case, timer, row, seen, actor, now)  # before its due_at moves on
            row, moved = _upsert(uow, case, timer, row, now)
            if seen is None and row is not None:
                _cycle_fires(uow, case, timer, row, 0, actor, now)  # entered and fired in one step
            changed |= moved
        _project_task_dues(waiting, now, open_rows)
        from . import periods  # periods builds on this module's timer functions
        periods.project(uow, case, waiting, {i: _watched_rows(t, open_rows, any_state=True)
                                             for i, t in waiting.items()}, _fired_but_held(tasks), actor, now)
    return changed


def _fired_but_held(tasks: list) -> set[tuple]:
    """The periods whose timer fired while a task it watches is still open (overdue, not done yet):
    the party still holds the case, so the period keeps running until it acts."""
    found = set()
    for timer in tasks:
        if timer.state != TaskState.COMPLETED or not is_timer(timer):
            continue
        meta = timer._get_internal_data("deadline") or {}
        if "period" in meta and any(t.state == TaskState.READY for t in attached_user_tasks(timer)):
            found.add((meta["period"], meta.get("seq")))
    return found


def held(kind: str, provisional: bool) -> bool:
    """A provisional deadline never acts against a party by itself (docs/deadlines.md): every timer but a
    reminder (an overdue escalation, a window that closes, a withdrawal for silence) waits for the
    year to be published; a reminder fires at its provisional instant, marked 暂定."""
    return provisional and kind != "reminder"


def _cycle_count(timer) -> int | None:
    """How often a repeating (``timeCycle``) timer fired so far; None for any other timer."""
    cycle = timer._get_internal_data("cycle") if timer is not None else None
    return int(cycle["count"]) if cycle else None


def _cycle_recorded(row: Deadline | None) -> int | None:
    """How many firings of a repeating timer its deadline row has recorded (None: not a cycle row)."""
    if row is None:
        return None
    return json.loads(row.params or "{}").get("cycle_fired")


def _cycle_fires(uow, case, timer, row: Deadline, seen: int | None, actor, now: datetime) -> None:
    """A repeating timer keeps one deadline row, its ``due_at`` the next occurrence: each firing is
    recorded once here (audit ``timer_fired`` with its occurrence), when the row sees the timer's
    count move on; the row's ``fired_at`` is the last firing."""
    count = _cycle_count(timer)
    if count is None:
        return
    for occurrence in range(seen or 0, count):
        row.fired_at = now
        _fired(uow, case, timer, row, actor, now, occurrence=occurrence + 1)


def _fired(uow, case, task, row: Deadline, actor, now: datetime, on_entry: bool = False,
           occurrence: int | None = None) -> None:
    """Record a fired timer (audit) and what it does to its statutory period, once per period."""
    from . import periods
    meta = task._get_internal_data("deadline") if task is not None else None
    period = periods.period_of_meta(uow, case.id, meta)
    first = periods.on_fired(uow, case, period, row.kind, actor, now)
    summary = {"kind": row.kind, "element": row.element_id, "due_at": row.due_at.isoformat()}
    if on_entry:
        summary["on_entry"] = True
    if occurrence is not None:
        summary["occurrence"] = occurrence  # a repeating timer's n-th firing
    if row.provisional:
        summary["provisional"] = True
    if period is not None:
        summary["period"] = period.name
        if not first:
            summary["repeat"] = True  # the period's reminder went out already: nobody is told again
    uow.record(audit.Entry(now, actor.username, "timer_fired", case.id, row.id, summary=summary))
    TIMERS_FIRED.labels(row.kind).inc()
    TIMER_LATENESS.observe(max(0.0, (now - row.due_at).total_seconds()))


def _open_task_rows(session, case) -> dict:
    return {r.id: r for r in session.scalars(sa.select(HumanTask).where(
        HumanTask.case_id == case.id, HumanTask.state == "ready"))}


def _close_rows(uow, case, workflow, rows, waiting, actor, now, open_rows) -> None:
    for timer_id, row in rows.items():
        if timer_id in waiting:
            continue
        task = _task_or_none(workflow, timer_id)
        seen = _cycle_recorded(row)
        if seen is not None:  # a repeating timer: its firings were recorded one by one
            _cycle_fires(uow, case, task, row, seen, actor, now)
            cycle = task._get_internal_data("cycle") if task is not None else None
            row.state = "fired" if cycle and cycle["times"] == 0 else "cancelled"
            continue
        fired = task is not None and task.state in (TaskState.COMPLETED, TaskState.READY)
        row.state = "fired" if fired else "cancelled"
        if fired:
            row.fired_at = now
            _fired(uow, case, task, row, actor, now)
            if row.kind == "overdue":
                for task_row in _watched_rows(task, open_rows):
                    task_row.overdue = True


def _watched_rows(timer, open_rows: dict, any_state: bool = False) -> list:
    """The open human-task rows of the ready user tasks a boundary timer watches."""
    ids = [str(t.id) for t in attached_user_tasks(timer) if any_state or t.state == TaskState.READY]
    return [open_rows[i] for i in ids if i in open_rows]


def _task_or_none(workflow, task_id: str):
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        return None


def _record_unseen_fires(uow, case, tasks, known, actor, now, open_rows) -> None:
    """A timer entered and fired within one unit of work (its due instant had already passed, e.g.
    a report sent back after the deadline) never waited: record it as fired all the same."""
    for timer in tasks:
        if timer.state != TaskState.COMPLETED or str(timer.id) in known or not is_timer(timer) or timer._get_internal_data("event_value") is None:
            continue
        row, _ = _upsert(uow, case, timer, None, now)
        row.state, row.fired_at = "fired", now
        if row.kind == "overdue":
            for task_row in _watched_rows(timer, open_rows):
                task_row.due_at, task_row.due_date = row.due_at, row.due_date
                task_row.provisional, task_row.overdue = row.provisional, True
        _fired(uow, case, timer, row, actor, now, on_entry=True)


def _upsert(uow, case, timer, row: Deadline | None, now: datetime) -> tuple[Deadline | None, bool]:
    """Write a waiting timer's deadline row; return (the row, whether it was added or changed)."""
    value = timer._get_internal_data("event_value")
    if value is None:
        return row, False
    meta = timer._get_internal_data("deadline") or {}
    kind = timer_kind(timer)
    due_at = due_instant(value)
    provisional = bool(meta.get("provisional"))
    main = attached_user_task(timer)
    count = _cycle_count(timer)
    params = meta if count is None else {**meta, "cycle_fired": count}
    values = dict(due_at=due_at, provisional=provisional, held=held(kind, provisional),
                  due_date=date.fromisoformat(meta["due_date"]) if meta.get("due_date") else None,
                  params=json.dumps(params, sort_keys=True))
    if row is None:
        row = Deadline(id=str(timer.id), case_id=case.id, element_id=timer.task_spec.bpmn_id,
                       kind=kind, human_task_id=str(main.id) if main is not None else None,
                       state="waiting", created_at=now, **values)
        uow.session.add(row)
        return row, True
    if all(getattr(row, k) == v for k, v in values.items()):
        return row, False
    for k, v in values.items():
        setattr(row, k, v)
    return row, True


def _project_task_dues(waiting, now, open_rows: dict) -> None:
    """Give every open user task watched by an overdue timer that timer's due date (a task watched
    only by a reminder, e.g. the window to ask for an extension, takes the reminder's period end)."""
    overdue_watched = {str(t.id) for timer in waiting.values() if timer_kind(timer) == "overdue"
                       for t in attached_user_tasks(timer)}
    for timer in waiting.values():
        kind = timer_kind(timer)
        meta = timer._get_internal_data("deadline") or {}
        if kind != "overdue" and not (kind == "reminder" and meta.get("due_date")):
            continue
        if kind == "reminder":
            for task in attached_user_tasks(timer):
                task_row = open_rows.get(str(task.id))
                if task_row is not None and task_row.state == "ready" and str(task.id) not in overdue_watched:
                    due_date = date.fromisoformat(meta["due_date"])
                    task_row.due_at, task_row.due_date = period_end(due_date), due_date
                    task_row.provisional = bool(meta.get("provisional"))
            continue
        for task in attached_user_tasks(timer):
            task_row = open_rows.get(str(task.id))
            if task_row is None or task_row.state != "ready":
                continue
            task_row.due_at = due_instant(timer._get_internal_data("event_value"))
            task_row.due_date = date.fromisoformat(meta["due_date"]) if meta.get("due_date") else None
            task_row.provisional = bool(meta.get("provisional"))
            if task_row.due_at > now:
                task_row.overdue = False
