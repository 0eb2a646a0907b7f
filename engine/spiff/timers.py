"""Timer event definitions that read the engine's injected clock instead of the wall clock."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.util import PendingBpmnEvent
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)


def _now(my_task) -> datetime:
    clock = getattr(my_task.workflow.script_engine, "clock", None)
    return clock.now() if clock is not None else datetime.now(timezone.utc)


BEIJING = ZoneInfo("Asia/Shanghai")


def due_instant(event_value: str) -> datetime:
    """Parse a stored timer value as an aware UTC instant; a value without zone is Beijing time."""
    value = datetime.fromisoformat(event_value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    return value.astimezone(timezone.utc)


class ClockTimeDateEventDefinition(TimeDateEventDefinition):
    """A ``timeDate`` timer: an ISO instant or an expression such as ``workdays(5)``."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            if hasattr(value, "internal"):
                my_task._set_internal_data(deadline=value.internal())
            event_value = _as_iso(value)
            my_task._set_internal_data(event_value=event_value)
        if _held(my_task):
            return False
        if due_instant(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockDurationTimerEventDefinition(DurationTimerEventDefinition):
    """A ``timeDuration`` timer, counted in calendar time from when it is entered."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            start = _now(my_task)
            event_value = (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if due_instant(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockCycleTimerEventDefinition(CycleTimerEventDefinition):
    """A ``timeCycle`` timer (non-interrupting boundary timers, event sub-process timer starts).

    Two forms (docs/deadlines.md, "Repeating timers"):

    - ISO 8601 ``R[n]/<duration>`` or ``R[n]/<start>/<duration>``: calendar time; the first firing is
      one period after the timer is entered (or at ``<start>``), each next one a period after the
      previous one's due instant (not after the late firing: a backlog fires once per missed period);
    - ``cycle(workdays(n))`` / ``cycle(workdays(n), times)``: every ``n`` working days, occurrence k
      at the end of working day ``n·(k+1)`` counted from the same day 0 (so a calendar change moves
      the next occurrence like any working-day deadline).

    ``event_value`` always holds the *next* due instant (an ISO string, as for the other timers: the
    deadline table and ``engine.deadlines.move_timer`` read it); the cycle's state is the internal
    ``cycle``: ``times`` left (-1: unbounded), ``count`` fired so far, and ``period`` (ISO duration) or
    ``workdays``/``start``. Each firing adds a branch (SpiffWorkflow's ``update_task``); the timer task
    itself waits on until its activity ends (or, bounded, its last firing).
    """

    def cycle_complete(self, my_task):
        cycle = my_task._get_internal_data("cycle")
        if cycle is None:
            cycle = self._enter(my_task)
        if cycle["times"] == 0:
            my_task._set_internal_data(event_fired=True)
            return False
        if _held(my_task):
            return False
        due = due_instant(my_task._get_internal_data("event_value"))
        if due > _now(my_task):
            return False
        cycle = dict(cycle, count=cycle["count"] + 1, times=cycle["times"] - 1 if cycle["times"] > 0 else -1)
        if cycle["times"] != 0:
            self._schedule(my_task, cycle, due)
        else:
            my_task._set_internal_data(event_fired=True)  # the last firing: the timer task ends next
        my_task._set_internal_data(cycle=cycle)
        return True

    def update_task(self, my_task):
        """Every occurrence due by now fires (a backlog at once), each adding its branch."""
        for _ in range(MAX_CATCH_UP):
            if not self.cycle_complete(my_task):
                return
            for output in my_task.task_spec.outputs:
                child = my_task._add_child(output, TaskState.FUTURE)
                child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
                child.task_spec._update(child)

    def _enter(self, my_task) -> dict:
        value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        if hasattr(value, "cycle_state"):  # cycle(workdays(n), times): engine.deadlines.WorkdayCycle
            cycle = value.cycle_state()
            first = value.first
            my_task._set_internal_data(event_value=first.isoformat_instant(), deadline=first.internal(),
                                       cycle=cycle)
            return cycle
        times, start, period = parse_cycle(str(value), _now(my_task))
        cycle = {"times": times, "count": 0, "period": period}
        my_task._set_internal_data(event_value=start.isoformat(), cycle=cycle)
        return cycle

    def _schedule(self, my_task, cycle: dict, due: datetime) -> None:
        if cycle.get("period"):
            parsed = TimerEventDefinition.parse_iso_duration(cycle["period"])
            my_task._set_internal_data(event_value=(due + TimerEventDefinition.get_timedelta_from_start(
                parsed, due)).isoformat())
            return
        n = int(cycle["workdays"]) * (cycle["count"] + 1)
        nxt = my_task.workflow.script_engine.evaluate(my_task, f"workdays({n}, {cycle['start']!r})")
        my_task._set_internal_data(event_value=nxt.isoformat_instant(), deadline=nxt.internal())

    def details(self, my_task):
        return PendingBpmnEvent(self.name, self.__class__.__name__, my_task._get_internal_data("event_value"))


MAX_CATCH_UP = 1000  # occurrences fired in one go; the rest on the next run

CRON = re.compile(r"^\S+(\s+\S+){4,6}$")


def is_cron(text: str) -> bool:
    """A Quartz/cron expression (``0 0/5 * * * ?``): five to seven fields separated by spaces."""
    text = (text or "").strip()
    return not text.upper().startswith("R") and bool(CRON.match(text)) and "(" not in text


def parse_cycle(text: str, now: datetime) -> tuple[int, datetime, str]:
    """``R[n]/<duration>`` or ``R[n]/<start>/<duration>`` -> (times, first due instant, period)."""
    parts = text.strip().upper().split("/")
    if len(parts) not in (2, 3) or not parts[0].startswith("R"):
        raise ValueError(f"a cycle is R[n]/<duration> or R[n]/<start>/<duration>, not {text!r}")
    times = int(parts[0][1:]) if parts[0][1:] else -1
    if times == 0:
        raise ValueError(f"a cycle repeated zero times never fires: {text!r}")
    period = parts[-1]
    parsed = TimerEventDefinition.parse_iso_duration(period)
    if len(parts) == 3:
        return times, due_instant(text.strip().split("/")[1]), period
    return times, now + TimerEventDefinition.get_timedelta_from_start(parsed, now), period


def _held(my_task) -> bool:
    """A provisional deadline never acts against a party by itself (docs/deadlines.md: unpublished years);
    only a reminder fires at its provisional instant (engine.deadlines.held: the same rule)."""
    meta = my_task._get_internal_data("deadline") or {}
    kind = (my_task.task_spec.extensions or {}).get("properties", {}).get("deadline", "timer")
    return bool(meta.get("provisional")) and kind != "reminder"


def _as_iso(value) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a timer expression returned a naive datetime")
        return value.isoformat()
    if hasattr(value, "isoformat_instant"):
        return value.isoformat_instant()
    return str(value)
