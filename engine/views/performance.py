"""Read models of the performance evaluation (绩效评价, art. 26): the figures per department and period
(``engine.domain.performance``) for the data authority (every department, and its own steps apart)
and department heads (their own only)."""
from __future__ import annotations

from dataclasses import dataclass

from ..domain import performance
from ..domain.performance import Figures, Period, Report, scope
from ..uow import Actor

__all__ = ["Evaluation", "Figures", "Period", "Report", "evaluation", "report", "scope"]


def report(engine, actor: Actor, period: Period, department: str | None = None) -> Report:
    """The figures ``actor`` may see: of every department (None) or of one (``PermissionDenied``)."""
    department = scope(actor, department)
    with engine.uow() as uow:
        return performance.report(uow.session, period, engine.clock.now(), engine.calendar(uow.session), department)


@dataclass(frozen=True)
class Evaluation:
    report: Report | None  # None: no valid period asked
    departments: list[tuple[str, str]]  # (code, name) the authority may choose from; [] for a head


def evaluation(engine, actor: Actor, period: Period | None, department: str | None = None) -> Evaluation:
    """The evaluation page: the report when a period is given, and the departments to choose from."""
    department = scope(actor, department)
    with engine.uow() as uow:
        found = performance.report(uow.session, period, engine.clock.now(), engine.calendar(uow.session),
                                   department) if period is not None else None
        departments = [(d.code, d.name) for d in performance.evaluated_departments(uow.session)] \
            if "authority" in actor.roles else []
        return Evaluation(found, departments)
