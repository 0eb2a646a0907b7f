"""Timer event definitions that read the engine's injected clock instead of the wall clock."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

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
    """Cycle timers are refused at deploy time; kept so saved states stay loadable."""


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
