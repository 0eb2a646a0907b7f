"""Restricted evaluation of diagram scripts and conditions.

Only the functions a procedure's module exposes and a few safe builtins are reachable. The check is
an allow-list of syntax nodes and attribute names (no imports, no dunder or private attributes, no
``str.format``, which reaches attributes through its mini-language, no ``match`` patterns). Code
that is not plainly bounded runs in a child process under a CPU-time and memory budget
(``engine.spiff.sandbox``).
"""
from __future__ import annotations

import ast
import keyword
import time
from dataclasses import replace
from functools import lru_cache
from typing import Any, Callable, Mapping

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from .juel import keyword_alias
from .sandbox import POOL, Budget, BudgetExceeded, SandboxError, SandboxPool, check_data_size, plainly_bounded

SAFE_BUILTINS: dict[str, Any] = {
    f.__name__: f for f in (
        abs, all, any, bool, dict, enumerate, float, int, isinstance, len, list, max, min,
        range, round, set, sorted, str, sum, tuple, zip,
    )
}
SAFE_BUILTINS.update({"None": None, "True": True, "False": False})

# The allow-list: every syntax node a diagram's code may use. Anything else (``match`` patterns,
# ``class``, ``try``, ``with``, ``import``, ``global``, ``yield``, ``await`` ...) is refused when the
# diagram is checked, whatever new syntax a Python release adds.
ALLOWED_NODES: tuple[type, ...] = (
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.While,
    ast.Break, ast.Continue, ast.Pass, ast.Delete, ast.FunctionDef, ast.Return, ast.Lambda,
    ast.arguments, ast.arg, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Dict, ast.Set, ast.List,
    ast.Tuple, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
    ast.Compare, ast.Call, ast.keyword, ast.Constant, ast.Name, ast.Attribute, ast.Subscript,
    ast.Slice, ast.Starred, ast.JoinedStr, ast.FormattedValue, ast.NamedExpr, ast.expr_context,
    ast.boolop, ast.operator, ast.unaryop, ast.cmpop,
)

# The attributes diagram code may read: methods of the plain values task data hold (text, numbers,
# lists, dicts, sets, dates) whose behaviour is fixed. Everything else, dunders first, is refused;
# ``rules.<period>`` (the rule set's period lengths) is allowed separately.
ALLOWED_ATTRIBUTES = frozenset({
    # str
    "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "join",
    "startswith", "endswith", "replace", "find", "rfind", "count", "index", "isdigit", "isalpha",
    "isalnum", "isspace", "isdecimal", "isnumeric", "title", "capitalize", "casefold", "zfill",
    "partition", "rpartition", "removeprefix", "removesuffix", "ljust", "rjust", "center",
    # list, dict, set
    "append", "extend", "insert", "pop", "remove", "sort", "reverse", "copy", "clear", "get", "keys",
    "values", "items", "update", "setdefault", "add", "discard", "union", "intersection",
    "difference", "symmetric_difference", "issubset", "issuperset", "isdisjoint",
    # numbers, dates, durations
    "real", "imag", "is_integer", "year", "month", "day", "hour", "minute", "second", "microsecond",
    "weekday", "isoweekday", "isoformat", "isocalendar", "date", "time", "strftime", "days",
    "seconds", "total_seconds", "tzinfo", "astimezone",
})
RULES_NAME = "rules"  # the rule set in force (engine.rules.RuleSet): ``rules.share_reply_days``
RULES_HIDDEN = frozenset({"from_row", "periods"})


class ForbiddenScript(ValueError):
    """A script uses a construct the restricted environment refuses."""


def check_script(source: str, mode: str, allowed_calls: set[str] | None = None) -> ast.AST:
    """Parse ``source`` and refuse forbidden constructs; with ``allowed_calls`` also unknown functions."""
    try:
        tree = ast.parse(source.strip(), mode=mode)
    except SyntaxError as exc:
        raise ForbiddenScript(f"syntax error in {source!r}: {exc.msg}") from None
    except (ValueError, MemoryError, RecursionError) as exc:  # NUL bytes, absurd nesting
        raise ForbiddenScript(f"the code cannot be read: {type(exc).__name__}") from None
    for node in ast.walk(tree):
        _check_node(node, allowed_calls)
    return tree


def _check_node(node: ast.AST, allowed_calls: set[str] | None) -> None:
    if not isinstance(node, ALLOWED_NODES):
        raise ForbiddenScript(f"{type(node).__name__.lower()} is not allowed in diagram scripts")
    if isinstance(node, ast.Attribute) and not _attribute_allowed(node):
        raise ForbiddenScript(f"attribute {node.attr!r} is not allowed in diagram scripts")
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ForbiddenScript(f"name {node.id!r} is not allowed in diagram scripts")
    if isinstance(node, ast.FunctionDef) and (node.name.startswith("_") or node.decorator_list):
        raise ForbiddenScript(f"function definition {node.name!r} is not allowed in diagram scripts")
    if isinstance(node, ast.arg) and node.arg.startswith("_"):
        raise ForbiddenScript(f"name {node.arg!r} is not allowed in diagram scripts")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and allowed_calls is not None:
        if node.func.id not in allowed_calls and node.func.id not in SAFE_BUILTINS:
            raise ForbiddenScript(f"function {node.func.id!r} is not exposed to diagrams")


def _attribute_allowed(node: ast.Attribute) -> bool:
    if node.attr.startswith("_"):
        return False
    if isinstance(node.value, ast.Name) and node.value.id == RULES_NAME:
        return node.attr not in RULES_HIDDEN
    return node.attr in ALLOWED_ATTRIBUTES


@lru_cache(maxsize=4096)
def _compiled(source: str, mode: str):
    """Checked and compiled once per process (a unit of work builds a fresh environment; code
    objects are immutable, so sharing them is safe)."""
    return compile(check_script(source, mode), "<diagram>", mode)


@lru_cache(maxsize=4096)
def _bounded(source: str, mode: str, names: frozenset[str]) -> bool:
    return plainly_bounded(ast.parse(source.strip(), mode=mode), names)


def keyword_aliases(context: dict) -> dict:
    """A JUEL variable named by a Python keyword (``${continue == true}``) is read in expressions
    under its alias (``continue_``, ``engine.spiff.juel.keyword_alias``); a variable of that name the
    data has already wins."""
    return {keyword_alias(k): v for k, v in context.items()
            if isinstance(k, str) and keyword.iskeyword(k) and keyword_alias(k) not in context}


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates expressions and runs scripts against task data with a fixed set of functions.

    Plainly bounded code runs here; any other code runs in a sandbox process under ``budget``
    (``engine.spiff.sandbox``), and all of it together at most ``budget.total_seconds`` per
    environment (one environment serves one unit of work). ``in_process`` is the sandbox's own
    environment, inside the child."""

    def __init__(self, functions: Mapping[str, Callable] | None = None, *, in_process: bool = False,
                 budget: Budget | None = None, pool: SandboxPool | None = None):
        super().__init__({})
        self.functions = dict(functions or {})
        self.in_process = in_process
        self.budget = budget or Budget.from_env()
        self.pool = pool or POOL
        self.spent = 0.0  # wall-clock seconds spent in sandbox processes so far

    def _compile(self, source: str, mode: str):
        return _compiled(source, mode)

    def _scope(self, context: dict, external_context: dict | None, aliases: bool = False) -> dict:
        scope = dict(context)
        if aliases:
            scope.update(keyword_aliases(context))
        scope.update(self.functions)
        scope.update(external_context or {})
        scope["__builtins__"] = SAFE_BUILTINS
        return scope

    def _here(self, source: str, mode: str, external_context: dict | None) -> bool:
        if self.in_process:
            return True
        names = frozenset(k for k, v in {**self.functions, **(external_context or {})}.items() if callable(v))
        return _bounded(source, mode, names)

    def _sandboxed(self, mode: str, source: str, context: dict, external_context: dict | None):
        everything = {**self.functions, **(external_context or {})}
        functions = {k: v for k, v in everything.items() if callable(v)}
        values = {k: v for k, v in everything.items() if not callable(v)}
        left = self.budget.total_seconds - self.spent
        if left <= 0:
            raise BudgetExceeded("wall", f"the diagram's code used its budget of "
                                         f"{self.budget.total_seconds:g} s for this step")
        budget = replace(self.budget, wall_seconds=min(self.budget.wall_seconds, left))
        started = time.monotonic()
        try:
            return self.pool.run(mode, source, context, functions, values, budget)
        except SandboxError as exc:
            raise _as_local_error(exc) from None
        finally:
            self.spent += time.monotonic() - started

    def evaluate(self, expression, context, external_context=None):
        code = self._compile(expression, "eval")
        if self._here(expression, "eval", external_context):
            return eval(code, self._scope(context, external_context, aliases=True))
        return self._sandboxed("eval", expression, context, external_context)[0]

    def execute(self, script, context, external_context=None):
        reserved = set(self.functions) | set(external_context or {})
        clash = reserved.intersection(context)
        if clash:
            raise ValueError(f"task data overwrites diagram functions: {sorted(clash)}")
        code = self._compile(script, "exec")
        if not self._here(script, "exec", external_context):
            _, new = self._sandboxed("exec", script, context, external_context)
            check_data_size(new)
            context.clear()
            context.update(new)
            return True
        scope = self._scope(context, external_context)
        exec(code, scope)
        for key in list(scope):
            if key == "__builtins__" or key in reserved or callable(scope[key]):
                del scope[key]
        if not self.in_process:  # the child's answer is measured by its parent
            check_data_size(scope)
        context.clear()
        context.update(scope)
        return True


_LOCAL_ERRORS = {cls.__name__: cls for cls in (
    ArithmeticError, ZeroDivisionError, OverflowError, ValueError, TypeError, KeyError, IndexError,
    NameError, AttributeError, LookupError, RecursionError, UnboundLocalError, StopIteration,
    AssertionError)}


def _as_local_error(exc: SandboxError) -> Exception:
    """The child's error as the same built-in type, so messages read as they would in process."""
    cls = _LOCAL_ERRORS.get(exc.type_name)
    return cls(str(exc)) if cls is not None else RuntimeError(f"{exc.type_name}: {exc}")


class GovScriptEngine(PythonScriptEngine):
    """The script engine attached to a workflow for one unit of work; carries the clock."""

    def __init__(self, clock, functions: Mapping[str, Callable] | None = None):
        super().__init__(environment=RestrictedEnvironment(functions))
        self.clock = clock
