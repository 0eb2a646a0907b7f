"""Restricted evaluation of diagram scripts and conditions.

Only the functions a procedure's module exposes and a few safe builtins are reachable: no imports,
no dunder or private attributes, no ``str.format`` (it reaches attributes through its mini-language).
"""
from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any, Callable, Mapping

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

SAFE_BUILTINS: dict[str, Any] = {
    f.__name__: f for f in (
        abs, all, any, bool, dict, enumerate, float, int, isinstance, len, list, max, min,
        range, round, set, sorted, str, sum, tuple, zip,
    )
}
SAFE_BUILTINS.update({"None": None, "True": True, "False": False})

FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro", "args", "keywords", "func"})
# Generator, coroutine, frame, traceback and code objects lead back to real builtins.
FORBIDDEN_PREFIXES = ("_", "gi_", "cr_", "ag_", "f_", "tb_", "co_")
FORBIDDEN_NODES = (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.ClassDef,
                   ast.AsyncFunctionDef, ast.Await, ast.Yield, ast.YieldFrom, ast.With, ast.Try)


class ForbiddenScript(ValueError):
    """A script uses a construct the restricted environment refuses."""


def check_script(source: str, mode: str, allowed_calls: set[str] | None = None) -> ast.AST:
    """Parse ``source`` and refuse forbidden constructs; with ``allowed_calls`` also unknown functions."""
    try:
        tree = ast.parse(source.strip(), mode=mode)
    except SyntaxError as exc:
        raise ForbiddenScript(f"syntax error in {source!r}: {exc.msg}") from None
    for node in ast.walk(tree):
        _check_node(node, allowed_calls)
    return tree


def _check_node(node: ast.AST, allowed_calls: set[str] | None) -> None:
    if isinstance(node, FORBIDDEN_NODES):
        raise ForbiddenScript(f"{type(node).__name__.lower()} is not allowed in diagram scripts")
    if isinstance(node, ast.Attribute) and (node.attr.startswith(FORBIDDEN_PREFIXES)
                                            or node.attr in FORBIDDEN_ATTRIBUTES):
        raise ForbiddenScript(f"attribute {node.attr!r} is not allowed in diagram scripts")
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ForbiddenScript(f"name {node.id!r} is not allowed in diagram scripts")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and allowed_calls is not None:
        if node.func.id not in allowed_calls and node.func.id not in SAFE_BUILTINS:
            raise ForbiddenScript(f"function {node.func.id!r} is not exposed to diagrams")


@lru_cache(maxsize=4096)
def _compiled(source: str, mode: str):
    """Checked and compiled once per process (a unit of work builds a fresh environment; code
    objects are immutable, so sharing them is safe)."""
    return compile(check_script(source, mode), "<diagram>", mode)


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates expressions and runs scripts against task data with a fixed set of functions."""

    def __init__(self, functions: Mapping[str, Callable] | None = None):
        super().__init__({})
        self.functions = dict(functions or {})

    def _compile(self, source: str, mode: str):
        return _compiled(source, mode)

    def _scope(self, context: dict, external_context: dict | None) -> dict:
        scope = dict(context)
        scope.update(self.functions)
        scope.update(external_context or {})
        scope["__builtins__"] = SAFE_BUILTINS
        return scope

    def evaluate(self, expression, context, external_context=None):
        return eval(self._compile(expression, "eval"), self._scope(context, external_context))

    def execute(self, script, context, external_context=None):
        reserved = set(self.functions) | set(external_context or {})
        clash = reserved.intersection(context)
        if clash:
            raise ValueError(f"task data overwrites diagram functions: {sorted(clash)}")
        scope = self._scope(context, external_context)
        exec(self._compile(script, "exec"), scope)
        for key in list(scope):
            if key == "__builtins__" or key in reserved or callable(scope[key]):
                del scope[key]
        context.clear()
        context.update(scope)
        return True


class GovScriptEngine(PythonScriptEngine):
    """The script engine attached to a workflow for one unit of work; carries the clock."""

    def __init__(self, clock, functions: Mapping[str, Callable] | None = None):
        super().__init__(environment=RestrictedEnvironment(functions))
        self.clock = clock
