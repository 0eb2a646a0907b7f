"""What one case's pass through a unit of work hands from stage to stage.

A unit of work runs a case (load → run → project → save, ``engine.runner``); the stages in between
(the task projection, the deadline table, the statutory periods, the hooks, a procedure's script
function) need what an earlier stage read or decided. They find it here, as named fields of the
case's ``Step`` (``uow.step(case_id)``), not under ad-hoc keys in a shared dict: a stage that runs
before the field is written sees its declared default, and a misspelt name is an AttributeError.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Step:
    case_id: int
    # the case was created in this unit of work: it has no rows in the database to read yet
    new_case: bool = False
    # the case's open human-task rows by id: read under the case's lock (completing a task, a timer
    # batch) or as the task projection left them; the deadline projection and the hooks start from it
    open_tasks: dict | None = None
    # task id -> (login, instant) of the tasks completed in this unit of work, written with the row
    completing: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    # the case's deadline rows by id, read ahead for a batch of timer firings (used once)
    deadlines: dict | None = None
    # the case's statutory periods by name (engine.periods), read once
    periods: dict | None = None
    # (name, seq) -> the meta a period's timers keep (day 0's receipt instant), for the period's
    # other timers entered in the same unit of work
    period_meta: dict = field(default_factory=dict)
    # periods a published year or an extension moved, for the procedure's ``period_moved`` hook
    periods_moved: list = field(default_factory=list)
