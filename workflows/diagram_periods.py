"""Statutory periods in diagrams: the one way every procedure watches a party's tasks and escalates.

Not a diagram itself (no ``build``). docs/deadlines.md describes the model: a task of a party is
watched by the boundary timers of that party's period (``period_reminder`` / ``period_due``, the
period declared in the procedure's ``PERIODS``); the first task entered opens it, every later task of
the same party inside it shares its due instant; reminder and escalation happen once per period.
"""
from __future__ import annotations

from tools.bpmn_builder import Diagram, Field

ITEM_NAMES = {1: "一", 3: "三"}  # the art. 31 items an overdue escalation may suggest


def _args(period: str, start: str | None, days: str | None) -> str:
    args = [f'"{period}"']
    if start is not None or days is not None:
        args.append(start if start is not None else "None")
    if days is not None:
        args.append(days)
    return ", ".join(args)


def watch(d: Diagram, task: str, period: str, *, start: str | None = None, days: str | None = None,
          reminded: tuple[str, int, int] | None = None, interrupting: bool = False,
          overdue_name: str = "超期") -> str:
    """Attach the period's reminder and overdue timers to ``task``; return the overdue timer's id.

    ``start``: a case-data expression for day 0 of the first period of that name (default: the
    receipt of the moment the period opens); ``days``: its length when the case sets it (a notice's
    own period), else the rule set's. ``reminded``: (lane, col, row) of the reminder branch's end
    event (None: no reminder timer). ``interrupting``: the overdue timer takes the task away (the
    path changes at the end of the period, e.g. art. 31's ladder) instead of escalating beside it.
    The caller connects ``<task>_overdue`` onwards (see ``escalation`` and ``late_mark``).
    """
    args = _args(period, start, days)
    if reminded is not None:
        lane, col, row = reminded
        d.boundary_timer(f"{task}_reminder", "到期提醒", attached_to=task,
                         time_date=f"period_reminder({args})", kind="reminder")
        d.end(f"{task}_reminded", "已提醒", lane=lane, col=col, row=row)
        d.flow(f"f_{task}_remind", f"{task}_reminder", f"{task}_reminded")
    d.boundary_timer(f"{task}_overdue", overdue_name, attached_to=task, time_date=f"period_due({args})",
                     kind="overdue", interrupting=interrupting)
    return f"{task}_overdue"


def late_mark(d: Diagram, task: str, *, lane: str, col: int, row: int, name: str = "已超期（主管部门）") -> None:
    """An authority's (or the county government's) period passed: the engine marks it late
    (dashboard, evaluation); no 督办 and no violation against it, so the branch just ends."""
    d.end(f"{task}_late", name, lane=lane, col=col, row=row)
    d.flow(f"f_{task}_late", f"{task}_overdue", f"{task}_late")


def escalation(d: Diagram, task: str, *, dept: str, item: int, decide_period: str, lane: str = "authority",
               col: int, row: int) -> None:
    """The overdue escalation of a department's period, in four columns from ``col``: a 督办 for
    the authority (once per period: ``escalate_overdue`` answers 0 when it was escalated already),
    the authority's decision within its own period (``decide_period``, reminded, marked late), then
    a rectification case (art. 31 item ``item``) or a dismissal with the reason."""
    escalate, gw_new, decide, gw = f"{task}_escalate", f"{task}_gw_new", f"{task}_supervise", f"{task}_gw_supervise"
    supervision = f"{task}_supervision"
    d.script_task(escalate, "超期督办", lane=lane, col=col, row=row,
                  script=f'{supervision} = escalate_overdue("{task}", {dept}, {item})')
    d.exclusive_gateway(gw_new, "本期限已督办？", lane=lane, col=col + 1, row=row, default=f"f_{task}_new")
    d.end(f"{task}_supervised_before", "本期限已督办", lane=lane, col=col + 1, row=row + 1)
    d.user_task(decide, "督办：是否立案整改", lane=lane, col=col + 2, row=row, candidate_groups="authority",
                form=[Field("decision", "督办决定", "enum", required=True,
                            values=[("open", f"立案整改（第三十一条第{ITEM_NAMES[item]}项）"), ("dismiss", "不予立案")]),
                      Field("note", "督办意见（不予立案时必填）", "textarea", maxlength=2000)])
    watch(d, decide, decide_period, reminded=(lane, col + 2, row + 1))
    d.end(f"{decide}_late", "督办决定超期", lane=lane, col=col + 3, row=row + 1)
    d.exclusive_gateway(gw, "是否立案？", lane=lane, col=col + 3, row=row, default=f"f_{task}_dismiss")
    d.script_task(f"{task}_open_rectification", "立案整改", lane=lane, col=col + 4, row=row,
                  script=f"{task}_rectification = open_rectification({supervision})")
    d.script_task(f"{task}_dismiss", "不予立案", lane=lane, col=col + 4, row=row + 1,
                  script=f"{task}_dismissed = dismiss_supervision({supervision}, note)")
    d.end(f"{task}_supervised", "督办办结", lane=lane, col=col + 5, row=row)
    d.flow(f"f_{task}_overdue", f"{task}_overdue", escalate)
    d.flow(f"f_{task}_escalated", escalate, gw_new)
    d.flow(f"f_{task}_again", gw_new, f"{task}_supervised_before", "已督办", condition=f"not {supervision}")
    d.flow(f"f_{task}_new", gw_new, decide)
    d.flow(f"f_{decide}_late", f"{decide}_overdue", f"{decide}_late")
    d.flow(f"f_{task}_decided", decide, gw)
    d.flow(f"f_{task}_open", gw, f"{task}_open_rectification", "立案", condition='decision == "open"')
    d.flow(f"f_{task}_dismiss", gw, f"{task}_dismiss", "不予立案")
    d.flow(f"f_{task}_opened", f"{task}_open_rectification", f"{task}_supervised")
    d.flow(f"f_{task}_dismissed", f"{task}_dismiss", f"{task}_supervised")
