"""The sandbox (engine.spiff.sandbox, engine.spiff.script): the allow-list no syntax walks around, the
budgets that bound C-level work, and the pipe back to the parent that cannot be used against it."""
from __future__ import annotations

import ast
import os
import pickle
import time

import pytest

from engine.spiff import sandbox
from engine.spiff.sandbox import Budget, BudgetExceeded, SandboxPool, plainly_bounded
from engine.spiff.script import ForbiddenScript, RestrictedEnvironment, check_script

SMALL = Budget(cpu_seconds=1, memory_mb=512, wall_seconds=4, total_seconds=8)


@pytest.fixture(scope="module")
def pool():
    p = SandboxPool()
    yield p
    p.close()


def env(functions=None, pool=None, budget=SMALL):
    return RestrictedEnvironment(functions, budget=budget, pool=pool)


# -- the allow-list -----------------------------------------------------------------------------

ESCAPES = [
    # match patterns read attributes by keyword (class patterns) without an Attribute node
    ("match 1:\n    case int(__class__=c, __reduce_ex__=r):\n        y = r(2)", "match is not allowed"),
    ("match x:\n    case {'a': 1}:\n        y = 1", "match is not allowed"),
    ("y = f'{x:{x}}'.format", "attribute 'format' is not allowed"),
    ("y = '{0.__class__}'.format(x)", "attribute 'format' is not allowed"),
    ("y = ''.format_map", "attribute 'format_map' is not allowed"),
    ("y = x.__class__", "attribute '__class__' is not allowed"),
    ("y = (lambda: 0).__globals__", "attribute '__globals__' is not allowed"),
    ("y = (i for i in x).gi_frame", "attribute 'gi_frame' is not allowed"),
    ("y = x.mro", "attribute 'mro' is not allowed"),
    ("y = rules.from_row", "attribute 'from_row' is not allowed"),
    ("y = rules.periods", "attribute 'periods' is not allowed"),
    ("y = rules._secret", "attribute '_secret' is not allowed"),
    ("y = x.func", "attribute 'func' is not allowed"),  # a partial's function (the bound context)
    ("y = x.args", "attribute 'args' is not allowed"),
    ("y = x.f_back", "attribute 'f_back' is not allowed"),
    ("y = x.tb_frame", "attribute 'tb_frame' is not allowed"),
    ("import os", "import is not allowed"),
    ("from os import path", "importfrom is not allowed"),
    ("class A:\n    pass", "classdef is not allowed"),
    ("try:\n    y = 1\nexcept Exception as e:\n    y = e", "try is not allowed"),
    ("with x as y:\n    pass", "with is not allowed"),
    ("global g", "global is not allowed"),
    ("async def f():\n    pass", "asyncfunctiondef is not allowed"),
    ("def f():\n    yield 1", "yield is not allowed"),
    ("raise ValueError(x)", "raise is not allowed"),
    ("assert x", "assert is not allowed"),
    ("@d\ndef f():\n    pass", "function definition 'f' is not allowed"),
    ("def _f():\n    pass", "function definition '_f' is not allowed"),
    ("f = lambda _x: _x", "name '_x' is not allowed"),
    ("y = __builtins__", "name '__builtins__' is not allowed"),
    ("y = __import__('os')", "name '__import__' is not allowed"),
    ("del x.__dict__", "attribute '__dict__' is not allowed"),
    ("y = x.read()", "attribute 'read' is not allowed"),
    ("y = (1).__add__", "attribute '__add__' is not allowed"),
    ("y = 'a' \0", ""),  # NUL bytes: refused (SyntaxError or ValueError, by Python version)
]


@pytest.mark.parametrize("source, message", ESCAPES)
def test_every_walkaround_is_refused_by_the_allow_list(source, message):
    with pytest.raises(ForbiddenScript) as exc:
        check_script(source, "exec")
    assert message in str(exc.value)


def test_absurd_nesting_is_refused_not_a_crash():
    with pytest.raises(ForbiddenScript):
        check_script("(" * 100_000 + "1" + ")" * 100_000, "eval")


@pytest.mark.parametrize("source", [
    "y = [i * 2 for i in x if i > 1]",
    "y = {k: v for k, v in d.items()}",
    "y = f'{x!r} {n:>5} {n:.2f}'",
    "def double(v):\n    return v * 2\ny = double(3)",
    "y = sorted(x, key=lambda v: -v)",
    "for i in x:\n    if i > 2:\n        break\n    n += i",
    "while n > 0:\n    n -= 1",
    "y = rules.share_reply_days + 1",
    "y = (z := 3) + z",
    "y = d.get('a', 0)",
    "y = s.strip().upper().startswith('A')",
])
def test_ordinary_code_is_allowed(source):
    check_script(source, "exec")


# -- budgets ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, kinds", [
    ("sum(range(10 ** 12))", {"cpu", "wall"}),
    ("10 ** 10 ** 9", {"cpu", "wall"}),
    ("len('x' * (4 * 2 ** 30))", {"memory"}),
    ("len([0] * (2 ** 31))", {"memory"}),
    ("len(f'{1:>{2 ** 32}}')", {"memory"}),
    ("len('%*d' % (2 ** 32, 1))", {"memory"}),
])
def test_c_level_work_is_bounded(pool, source, kinds):
    started = time.monotonic()
    with pytest.raises(BudgetExceeded) as exc:
        env(pool=pool).evaluate(source, {})
    assert exc.value.kind in kinds
    assert time.monotonic() - started < SMALL.wall_seconds + 3


def test_a_loop_calling_a_parent_function_is_bounded_by_the_wall_clock(pool):
    calls = []
    with pytest.raises(BudgetExceeded) as exc:
        env({"tick": lambda: calls.append(1) or time.sleep(0.01)}, pool=pool).execute(
            "while True:\n    tick()", {})
    assert exc.value.kind == "wall" and calls


def test_the_budget_of_a_unit_of_work_is_shared_by_its_evaluations(pool):
    e = env(pool=pool, budget=Budget(cpu_seconds=5, memory_mb=512, wall_seconds=1, total_seconds=1.5))
    with pytest.raises(BudgetExceeded):
        e.evaluate("sum(range(10 ** 12))", {})
    with pytest.raises(BudgetExceeded):
        e.evaluate("sum(range(10 ** 12))", {})  # what is left of the step's budget, then killed
    started = time.monotonic()
    with pytest.raises(BudgetExceeded, match="budget of 1.5 s for this step"):
        e.evaluate("sum(range(10))", {})  # nothing left: refused before it starts
    assert time.monotonic() - started < 0.5


def test_after_a_kill_the_next_evaluation_works(pool):
    with pytest.raises(BudgetExceeded):
        env(pool=pool).evaluate("sum(range(10 ** 12))", {})
    assert env(pool=pool).evaluate("sum(range(10))", {}) == 45


@pytest.mark.parametrize("script", [
    "a = [1]\n" + "a = [a, a]\n" * 40,        # tiny in memory, 2**40 values written out
    "a = 'x' * 1000\n" + "a = a + a\n" * 40,   # doubling text: never run in process
    "a = 'x'\n" + "a = f'{a}{a}'\n" * 40,
])
def test_data_that_would_explode_when_kept_is_a_budget_overrun(pool, script):
    with pytest.raises(BudgetExceeded) as exc:
        env(pool=pool).execute(script, {})
    assert exc.value.kind in {"size", "memory", "cpu", "wall"}


def test_deep_recursion_is_an_ordinary_error(pool):
    with pytest.raises(RecursionError):
        env(pool=pool).execute("def f(n):\n    return f(n + 1)\ny = f(0)", {})


# -- the sandbox process -------------------------------------------------------------------------------

def test_results_and_data_come_back_and_errors_keep_their_type(pool):
    e = env({"double": lambda v: 2 * v}, pool=pool)
    context = {"x": [3, 1, 2]}
    e.execute("y = sorted(x)\nz = double(sum(i * i for i in x))", context)
    assert context == {"x": [3, 1, 2], "y": [1, 2, 3], "z": 28}
    with pytest.raises(ZeroDivisionError):
        e.evaluate("1 / 0", {})
    with pytest.raises(KeyError):
        e.evaluate("{}['a'] * 2", {})


def test_a_parent_functions_error_reaches_the_caller_as_itself(pool):
    class Refusal(Exception):
        pass

    def refuse():
        raise Refusal("no")

    with pytest.raises(Refusal, match="no"):
        env({"refuse": refuse}, pool=pool).execute("for i in range(3):\n    refuse()", {})


def test_the_child_sees_no_secrets_of_the_server(pool, monkeypatch):
    monkeypatch.setenv("GOVFLOW_SECRET_KEY", "the-server-secret-0123456789")
    monkeypatch.setenv("GOVFLOW_DATABASE_URL", "postgresql://secret@db/prod")
    environment = sandbox._child_environment()
    assert not any(k.startswith("GOVFLOW") for k in environment)
    assert set(environment) <= {"PATH", "LANG", "LC_ALL", "TZ", "HOME", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"}


def test_the_parent_unpickles_only_plain_values():
    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    with pytest.raises(pickle.UnpicklingError, match="may not send posix.system"):
        sandbox._load_from_child(pickle.dumps(Evil()))
    from datetime import date, datetime, timezone
    from decimal import Decimal
    from zoneinfo import ZoneInfo
    value = {"d": date(2026, 3, 2), "t": datetime(2026, 3, 2, tzinfo=timezone.utc), "n": Decimal("1.5"),
             "s": {1, 2}, "l": [1, (2, 3)], "b": datetime(2026, 3, 2, tzinfo=ZoneInfo("Asia/Shanghai"))}
    assert sandbox._load_from_child(pickle.dumps(value)) == value

    class Sneaky:
        def __reduce__(self):
            return (getattr, (datetime, "__subclasses__"))

    with pytest.raises(pickle.UnpicklingError, match="may not send getattr"):
        sandbox._load_from_child(pickle.dumps(Sneaky()))


def test_a_deadline_a_timer_function_returns_comes_back_whole(pool):
    from datetime import date
    from engine.deadlines import WorkdayDeadline
    due = WorkdayDeadline(date(2026, 3, 2), 5, date(2026, 3, 9), False)
    assert env({"workdays": lambda n: due}, pool=pool).evaluate("[workdays(5) for i in range(1)][0]", {}) == due


# -- what runs in process ---------------------------------------------------------------------------

@pytest.mark.parametrize("source, here", [
    ("is_returned(decision)", True),
    ("period_due('reply', start=received_on)", True),
    ("not approved and len(items) > 0", True),
    ("a + b", True),
    ("f'{a} {b}'", True),
    ("y = is_returned(decision)", True),
    ("y = a + b", False),  # in a script + could double a value at every line
    ("y = f'{a}{a}'", False),
    ("workdays(rules.share_reply_days)", True),
    ("a * b", False),
    ("a ** b", False),
    ("a % b", False),
    ("f'{a:>{b}}'", False),
    ("sum(x)", False),
    ("[i for i in x]", False),
    ("x.split(',')", False),
    ("unknown(x)", False),
])
def test_only_plainly_bounded_code_runs_in_process(source, here):
    mode = "exec" if source.startswith("y =") else "eval"
    assert plainly_bounded(ast.parse(source, mode=mode), {"is_returned", "period_due", "workdays"}) is here


def test_shipped_diagrams_code_runs_in_process():
    """The county's own diagrams pay nothing for the sandbox."""
    from pathlib import Path
    from lxml import etree
    root = Path(__file__).resolve().parents[2] / "bpmn"
    names = set()
    for path in root.glob("*.bpmn"):
        for el in etree.parse(str(path)).iter():
            tag = etree.QName(el).localname if isinstance(el.tag, str) else ""
            if tag in ("script", "conditionExpression", "timeDate", "timeDuration") and (el.text or "").strip():
                tree = ast.parse(el.text.strip(), mode="exec" if tag == "script" else "eval")
                called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
                names |= called
                assert plainly_bounded(tree, called), (path.name, el.text)
    assert names  # the scan found code
