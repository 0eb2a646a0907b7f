"""How the engine sees a procedure's glue module in ``workflows/`` (loaded by name, never imported statically)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Mapping


@dataclass
class ScriptContext:
    """What a diagram function receives as its first argument during one unit of work."""

    engine: Any
    session: Any
    case: Any
    actor: Any
    now: Any
    task_data: dict | None = None
    workflow: Any = None
    rules: Any = None
    uow: Any = None


@dataclass
class Procedure:
    process_id: str
    functions: Mapping[str, Callable] = field(default_factory=dict)
    resolve_department: Callable[[str, dict], str | None] | None = None
    form_options: Callable[..., dict] | None = None

    @classmethod
    def from_module(cls, process_id: str, module: ModuleType) -> "Procedure":
        return cls(process_id, dict(getattr(module, "FUNCTIONS", {})),
                   getattr(module, "resolve_department", None), getattr(module, "form_options", None))


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
