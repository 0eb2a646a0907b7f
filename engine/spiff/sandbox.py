"""Diagram code under a budget: a pool of child processes with CPU-time and memory limits.

A diagram's scripts, conditions, timer and multi-instance expressions are untrusted: an analyst
deployed them, and ``sum(range(10 ** 12))`` or ``"x" * 2 ** 32`` pass any syntax check and then
never return, or eat the machine, inside C code that no Python tracer can interrupt. So code is
run in one of two ways:

- **In process**, when it is *plainly bounded* (``plainly_bounded``): no loops, comprehensions,
  ``*``, ``**``, ``<<``, ``%`` or format specs, and no calls but the procedure's own functions and a
  few constant-time builtins. Its cost is linear in the size of the diagram text and the case data.
  Every shipped diagram's code is of this kind, so the common path costs nothing extra.
- **In a child process** otherwise (``SandboxPool``): the child has ``RLIMIT_CPU`` set to its CPU
  time so far plus the budget, ``RLIMIT_AS`` at the memory budget, no core dumps, and an
  environment without the server's secrets or database address. The procedure's functions stay in
  the parent (they need the database): the child calls them by name over its pipe and the parent
  answers. The parent also keeps a wall-clock deadline over the whole evaluation, the time in its
  own functions included, and kills the child when it passes.

Past a budget the evaluation raises ``BudgetExceeded``; the runner turns it into an incident
(``engine.incidents``). What crosses the pipe is pickled; the parent unpickles the child's answers
with an allow-list of classes (``VALUE_TYPES``), so even a child that escaped the sandbox cannot make
the parent run code.
"""
from __future__ import annotations

import ast
import atexit
import io
import signal
import math
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

_HEADER = struct.Struct("!I")
STARTUP_SECONDS = 60.0  # a busy machine may take seconds to start a Python process
MAX_FRAME = 64 * 1024 * 1024  # what a child may send back: task data of a sane case is far smaller


@dataclass(frozen=True)
class Budget:
    """What one evaluation may spend: CPU seconds in the child, megabytes of address space, and
    wall-clock seconds for the whole evaluation (the procedure functions it calls included)."""

    cpu_seconds: float = 2.0
    memory_mb: int = 768
    wall_seconds: float = 10.0
    total_seconds: float = 30.0  # all of one unit of work's sandboxed code together

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Budget":
        env = os.environ if environ is None else environ
        return cls(float(env.get("GOVFLOW_SCRIPT_CPU_SECONDS", cls.cpu_seconds)),
                   int(env.get("GOVFLOW_SCRIPT_MEMORY_MB", cls.memory_mb)),
                   float(env.get("GOVFLOW_SCRIPT_WALL_SECONDS", cls.wall_seconds)),
                   float(env.get("GOVFLOW_SCRIPT_TOTAL_SECONDS", cls.total_seconds)))


class BudgetExceeded(Exception):
    """Diagram code ran past its CPU-time, memory or wall-clock budget (or its child died)."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind  # "cpu", "memory", "wall", "size", "crash"


class _ParentFunctionFailed(Exception):
    """In the child: the parent's function raised; the parent re-raises the original."""


# -- what runs in process ---------------------------------------------------------------------

# Builtins whose cost is at most linear in their (already existing) argument.
CHEAP_BUILTINS = frozenset({"len", "bool", "isinstance", "abs", "str", "int", "float", "round"})
_CHEAP_NODES = (ast.Expression, ast.Module, ast.Expr, ast.Assign, ast.If, ast.Pass, ast.Name,
                ast.Constant, ast.Attribute, ast.Subscript, ast.Compare, ast.BoolOp, ast.UnaryOp,
                ast.IfExp, ast.Call, ast.keyword, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.BinOp,
                ast.JoinedStr, ast.FormattedValue, ast.Load, ast.Store, ast.cmpop, ast.boolop,
                ast.unaryop, ast.Add, ast.Sub)


def plainly_bounded(tree: ast.AST, functions: Mapping[str, Any]) -> bool:
    """True when ``tree`` (already checked by ``engine.spiff.script.check_script``) cannot run long:
    straight-line code over names, constants and the procedure's functions. In a script (several
    statements) not even ``+`` or an f-string: ``a = a + a`` repeated doubles ``a`` at every line."""
    script = isinstance(tree, ast.Module)
    for node in ast.walk(tree):
        if not isinstance(node, _CHEAP_NODES):
            return False
        if script and isinstance(node, (ast.BinOp, ast.JoinedStr)):
            return False
        if isinstance(node, ast.BinOp) and not isinstance(node.op, (ast.Add, ast.Sub)):
            return False
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            return False
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                if func.id not in functions and func.id not in CHEAP_BUILTINS:
                    return False
            elif not (isinstance(func, ast.Attribute) and func.attr in CHEAP_METHODS):
                return False
    return True


# Methods whose cost is linear in the object they are called on.
CHEAP_METHODS = frozenset({"get", "keys", "values", "items", "lower", "upper", "strip", "startswith",
                           "endswith", "isoformat", "date", "weekday", "isoweekday"})


MAX_DATA_ITEMS = 1_000_000  # values in a case's task data, counted as they would be written out
MAX_DATA_CHARS = 32 * 1024 * 1024  # characters of text in it


def check_data_size(data: Any) -> None:
    """Refuse task data that would be huge once written out: ``a = [a, a]`` repeated is small in
    memory (shared references) and exponential as JSON. Counted without following a reference
    twice into the budget's favour: every occurrence counts, as in the written form."""
    items, chars, stack = 0, 0, [data]
    while stack:
        value = stack.pop()
        items += 1
        if isinstance(value, str):
            chars += len(value)
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            stack.extend(value)
        if items > MAX_DATA_ITEMS or chars > MAX_DATA_CHARS:
            raise BudgetExceeded("size", "the case's data would be too large to keep")


# -- the parent's side ----------------------------------------------------------------------------

_SAFE_BUILTIN_TYPES = frozenset({"set", "frozenset", "complex", "slice", "range", "bytearray", "bytes",
                                 "list", "dict", "tuple", "str", "int", "float", "bool"})
VALUE_TYPES: set[tuple[str, str]] = {
    ("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"), ("datetime", "timedelta"),
    ("datetime", "timezone"), ("decimal", "Decimal"), ("zoneinfo", "ZoneInfo"),
    ("zoneinfo._zoneinfo", "ZoneInfo"), ("collections", "OrderedDict"),
}


def register_value_type(cls: type) -> type:
    """Let values of ``cls`` (a plain data class a procedure function returns, e.g. a deadline)
    come back from the child; a decorator."""
    VALUE_TYPES.add((cls.__module__, cls.__qualname__))
    return cls


def _zoneinfo_getattr(obj, name: str):
    """The one ``getattr`` a pickled value needs: ``ZoneInfo._unpickle`` (how an aware datetime in a
    named zone, e.g. Asia/Shanghai, is pickled)."""
    from zoneinfo import ZoneInfo
    if obj is ZoneInfo and name == "_unpickle":
        return ZoneInfo._unpickle
    raise pickle.UnpicklingError(f"the sandbox may not send getattr({obj!r}, {name!r})")


class _ParentUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module == "builtins" and name == "getattr":
            return _zoneinfo_getattr
        if (module == "builtins" and name in _SAFE_BUILTIN_TYPES) or (module, name) in VALUE_TYPES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"the sandbox may not send {module}.{name}")


def _load_from_child(data: bytes):
    return _ParentUnpickler(io.BytesIO(data)).load()


def _child_environment() -> dict[str, str]:
    """Only what Python needs to start: no secrets, no database address."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ", "HOME")}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([root, *(os.path.abspath(p) for p in sys.path if p)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class _Child:
    """One sandbox process and its pipes."""

    def __init__(self, budget: Budget):
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-c", "from engine.spiff.sandbox import child_main; child_main()",
             str(budget.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=_child_environment(), close_fds=True, cwd="/")
        self.budget = budget
        # Starting Python and importing the checker is not the diagram's time: wait for the child
        # to say it is ready before any budget starts counting.
        if self.receive(time.monotonic() + STARTUP_SECONDS) != ("ready",):
            self.kill()
            raise BudgetExceeded("crash", "the script process did not start")

    def send(self, message) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.write(_HEADER.pack(len(data)) + data)
        self.proc.stdin.flush()

    def receive(self, deadline: float) -> Any:
        header = self._read(_HEADER.size, deadline)
        (size,) = _HEADER.unpack(header)
        if size > MAX_FRAME:
            self.kill()
            raise BudgetExceeded("size", f"the result is larger than {MAX_FRAME // (1024 * 1024)} MB")
        data = self._read(size, deadline)
        try:
            return _load_from_child(data)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
            self.kill()
            raise SandboxError("TypeError", f"the script's result cannot be kept: {exc}") from None

    def _read(self, size: int, deadline: float) -> bytes:
        chunks, left, fd = [], size, self.proc.stdout.fileno()
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                self.kill()
                raise BudgetExceeded("wall", "wall-clock budget exceeded")
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise self._died()
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _died(self) -> BudgetExceeded:
        self.kill()
        code = self.proc.returncode
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            return BudgetExceeded("cpu", "CPU-time budget exceeded")
        return BudgetExceeded("crash", f"the script process ended unexpectedly (exit {code})")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass  # a broken pipe to a dead child

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


class SandboxPool:
    """Idle sandbox processes of this process, reused across evaluations and threads."""

    def __init__(self, max_idle: int = 4):
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.max_idle = max_idle

    def _acquire(self, budget: Budget) -> _Child:
        with self._lock:
            if self._pid != os.getpid():  # forked (a server's worker processes): not our children
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                child = self._idle.pop()
                if child.alive and child.budget.memory_mb == budget.memory_mb:
                    return child
                child.kill()
        return _Child(budget)

    def _release(self, child: _Child) -> None:
        with self._lock:
            if child.alive and len(self._idle) < self.max_idle and self._pid == os.getpid():
                self._idle.append(child)
                return
        child.kill()

    def run(self, mode: str, source: str, context: dict, functions: Mapping[str, Callable],
            values: Mapping[str, Any], budget: Budget) -> tuple[Any, dict]:
        """Evaluate (``mode`` "eval") or execute ("exec") ``source`` in a child; return the value and
        the new context. The child calls ``functions`` back by name."""
        child = self._acquire(budget)
        started = time.monotonic()
        deadline = started + budget.wall_seconds
        ok = False
        try:
            child.send(("run", mode, source, context, sorted(functions), dict(values), budget.cpu_seconds))
            while True:
                kind, *rest = child.receive(deadline)
                if kind == "call":
                    child.send(_call_parent(functions, *rest))
                    continue
                ok = True
                return _answer(kind, rest)
        except (BrokenPipeError, EOFError):
            raise child._died() from None
        finally:
            if ok:
                self._release(child)
            else:
                child.kill()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.kill()


_stored_errors = threading.local()


def _call_parent(functions: Mapping[str, Callable], name: str, args: tuple, kwargs: dict):
    try:
        return ("ret", functions[name](*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - re-raised in the parent once the child gives up
        _stored_errors.exc = exc
        return ("raise", type(exc).__name__)


def _answer(kind: str, rest: list) -> tuple[Any, dict]:
    if kind == "ok":
        return rest[0], rest[1]
    if kind == "parent_raised":
        exc, _stored_errors.exc = getattr(_stored_errors, "exc", None), None
        if exc is not None:
            raise exc
    if kind == "memory":
        raise BudgetExceeded("memory", "memory budget exceeded")
    if kind == "error":
        type_name, message = rest
        raise SandboxError(type_name, message)
    raise BudgetExceeded("crash", f"unexpected answer from the script process: {kind!r}")


class SandboxError(Exception):
    """The diagram code raised an ordinary error in the child (the message is the child's)."""

    def __init__(self, type_name: str, message: str):
        super().__init__(message)
        self.type_name = type_name


POOL = SandboxPool()
atexit.register(POOL.close)


# -- the child's side -------------------------------------------------------------------------------


def child_main() -> None:  # pragma: no cover - runs in the child process (tests drive it from outside)
    """The sandbox process: read a request, run it under the limits, answer; until stdin closes."""
    import resource
    sys.path[:0] = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    from engine.spiff import script  # noqa: F401 - the checker and the builtins, imported before the limits
    memory = int(sys.argv[1]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - a stray print must not corrupt the pipe

    def read():
        header = stdin.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise SystemExit(0)
        (size,) = _HEADER.unpack(header)
        return pickle.loads(stdin.read(size))

    def write(message) -> None:
        try:
            data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result is the script's error
            data = pickle.dumps(("error", type(exc).__name__, f"the result cannot be kept: {exc}"))
        stdout.write(_HEADER.pack(len(data)) + data)
        stdout.flush()

    write(("ready",))
    while True:
        _, mode, source, context, names, values, cpu = read()
        used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        limit = math.ceil(used + cpu)
        resource.setrlimit(resource.RLIMIT_CPU, (limit, resource.RLIM_INFINITY))
        write(_child_run(mode, source, context, names, values, read, write))


def _child_run(mode, source, context, names, values, read, write):  # pragma: no cover - in the child
    from engine.spiff.script import RestrictedEnvironment

    def stub(name):
        def call(*args, **kwargs):
            write(("call", name, args, kwargs))
            kind, value = read()
            if kind == "ret":
                return value
            raise _ParentFunctionFailed(value)
        return call

    functions = {name: stub(name) for name in names}
    env = RestrictedEnvironment({**functions, **values}, in_process=True)
    try:
        if mode == "eval":
            result = env.evaluate(source, context)
        else:
            env.execute(source, context)
            result = True
        return ("ok", result, context)
    except _ParentFunctionFailed:
        return ("parent_raised",)
    except MemoryError:
        return ("memory",)
    except RecursionError:
        return ("error", "RecursionError", "maximum recursion depth exceeded")
    except Exception as exc:  # noqa: BLE001 - diagram code may raise anything
        return ("error", type(exc).__name__, str(exc)[:2000])
