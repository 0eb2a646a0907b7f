"""How the engine sees a procedure's glue module in ``workflows/`` (loaded by name, never imported statically)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Mapping


class ProcedureServices:
    """The narrow door procedure code (and the engine's own diagram functions) gets to the engine:
    the working-day calendar, receipts under the after-hours policy, the procedures' periods, and
    starting a case inside the running unit of work (a rectification opened by an escalation)."""

    def __init__(self, engine: Any):
        self._engine = engine

    @property
    def clock(self):
        return self._engine.clock

    def calendar(self, session):
        return self._engine.calendar(session)

    def receipt(self, session, instant):
        """Day 0 of something received at ``instant`` and whether it is provisional (never raises)."""
        return self._engine.receipt(session, instant)

    def receipt_date(self, session, instant):
        return self._engine.receipt_date(session, instant)

    def after_hours_policy(self, session) -> str:
        from .calendar_store import after_hours_policy
        return after_hours_policy(session, self._engine.config.after_hours_policy)

    def periods_of(self, process_id: str) -> Mapping[str, Any]:
        """The statutory periods a procedure declares (engine.periods.PeriodSpec by name)."""
        proc = self._engine.procedures.get(process_id)
        return proc.periods if proc is not None else {}

    def start_case_in(self, uow, process_id: str, actor, data=None, title: str = "", trusted: bool = False) -> int:
        return self._engine.start_case_in(uow, process_id, actor, data, title, trusted)


@dataclass
class ScriptContext:
    """What a diagram function receives as its first argument during one unit of work."""

    engine: Any  # the narrow ProcedureServices (an Engine given here is narrowed to them)
    session: Any
    case: Any
    actor: Any
    now: Any
    task_data: dict | None = None
    workflow: Any = None
    rules: Any = None
    uow: Any = None

    def __post_init__(self) -> None:
        services = getattr(self.engine, "services", None)
        if isinstance(services, ProcedureServices):
            self.engine = services

    @property
    def services(self) -> ProcedureServices:
        """What procedure code may use of the engine (calendar, receipts, periods, starting a case)."""
        return self.engine


@dataclass
class Procedure:
    """A procedure's glue: what its diagram may call and how the engine asks about it.

    ``start_roles``: roles that may start it (``{"public"}``: anyone; None: no restriction);
    ``start_form``: the fields a case starts with (validated like a task form);
    ``check_start(ctx, cleaned) -> cleaned``: further checks/enrichment of the start data;
    ``form_options(ctx, element_id, data) -> {field: [(id, name), ...]}``: case-dependent enum values;
    ``resolve_department(role, data) -> department code | None``: the department a task belongs to;
    ``title(data) -> str``: the case title shown in inboxes;
    ``check_task(ctx, element_id, cleaned) -> cleaned``: rules across fields of a task form (e.g. a
    refusal needs a reason *and* a basis, art. 14); raise ``InvalidForm`` to refuse with messages;
    ``periods``: the statutory periods its diagram watches (``PERIODS``, docs/deadlines.md);
    ``period_moved(ctx, row)``: one of them moved (a published year, an extension);
    ``actions``: labels of the actions it audits (``labels.ACTIONS``: action -> message id);
    ``record_views(session, case_id)``: its own records of a case as the case page shows them
    (``views.record_views``, engine.record_views);
    ``provides``: what else the engine may ask of it by name (``PROVIDES``), e.g. the public answer
    period of an objection; the engine never names a procedure, it asks who provides a capability.

    A procedure is a package ``workflows/<process_id>/`` (docs/procedures.md, "Adding a procedure"):
    its ``__init__`` exposes the glue (``glue.py``), ``labels``, ``views`` and ``records``.
    """

    process_id: str
    functions: Mapping[str, Callable] = field(default_factory=dict)
    resolve_department: Callable[[str, dict], str | None] | None = None
    form_options: Callable[..., dict] | None = None
    start_roles: frozenset[str] | None = None
    start_form: tuple = ()
    check_start: Callable[..., dict] | None = None
    title: Callable[[dict], str] | None = None
    check_task: Callable[..., dict] | None = None
    periods: Mapping[str, Any] = field(default_factory=dict)  # name -> engine.periods.PeriodSpec
    period_moved: Callable[..., None] | None = None  # (ctx, period row): a published year moved it
    actions: Mapping[str, str] = field(default_factory=dict)
    record_views: Callable[..., list] | None = None
    provides: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_module(cls, process_id: str, module: ModuleType) -> "Procedure":
        roles = getattr(module, "START_ROLES", None)
        return cls(process_id, dict(getattr(module, "FUNCTIONS", {})),
                   getattr(module, "resolve_department", None), getattr(module, "form_options", None),
                   frozenset(roles) if roles is not None else None,
                   tuple(getattr(module, "START_FORM", ())), getattr(module, "check_start", None),
                   getattr(module, "title", None), getattr(module, "check_task", None),
                   dict(getattr(module, "PERIODS", {})), getattr(module, "period_moved", None),
                   dict(getattr(getattr(module, "labels", None), "ACTIONS", {})),
                   getattr(getattr(module, "views", None), "record_views", None),
                   dict(getattr(module, "PROVIDES", {})))


def load_procedures(package: str | None) -> dict[str, Procedure]:
    """Import ``package`` and read its ``PROCEDURES`` mapping of process id -> module."""
    if not package:
        return {}
    module = importlib.import_module(package)
    return {pid: Procedure.from_module(pid, mod) for pid, mod in getattr(module, "PROCEDURES", {}).items()}


def bind(functions: Mapping[str, Callable], ctx: ScriptContext) -> dict[str, Callable]:
    """Give each function the context as first argument, without exposing it to scripts
    (a ``functools.partial`` would: ``f.args[0]`` is the context)."""
    return {name: _bound(fn, ctx) for name, fn in functions.items()}


def _bound(fn: Callable, ctx: ScriptContext) -> Callable:
    def call(*args, **kwargs):
        return fn(ctx, *args, **kwargs)
    call.__name__ = getattr(fn, "__name__", "function")
    return call


def record_viewers(procedures: Mapping[str, Procedure]) -> list[Callable]:
    """The procedures' own record views, in the procedures' order."""
    return [p.record_views for p in procedures.values() if p.record_views is not None]


def action_labels(procedures: Mapping[str, Procedure]) -> dict[str, str]:
    """Every audited action's label (message id): the engine's own and each procedure's."""
    from .labels import ACTIONS
    found = dict(ACTIONS)
    for proc in procedures.values():
        found.update(proc.actions)
    return found


def provider(procedures: Mapping[str, Procedure], capability: str) -> tuple[str, Any] | None:
    """(process id, what it provides) of the procedure providing ``capability`` (its ``PROVIDES``),
    None when no installed procedure does."""
    for process_id, proc in procedures.items():
        if capability in proc.provides:
            return process_id, proc.provides[capability]
    return None
