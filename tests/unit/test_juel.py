"""engine.spiff.juel: Camunda JUEL translated into the restricted diagram Python, or refused."""
from __future__ import annotations

import ast
import random

import pytest

from engine.spiff.juel import MAX_DEPTH, MAX_TOKENS, JuelError, is_juel, translate
from engine.spiff.script import RestrictedEnvironment, check_script

EMPTY = "(None, '', [], {}, ())"


def evaluate(text: str, data: dict | None = None):
    """Translate ``text`` and evaluate it in the restricted environment against ``data``."""
    return RestrictedEnvironment().evaluate(translate(text), dict(data or {}))


def refusal(text: str) -> JuelError:
    with pytest.raises(JuelError) as caught:
        translate(text)
    return caught.value


# --------------------------------------------------------------------------- translation table

TABLE = [
    # the examples Camunda Modeler diagrams carry
    ("${approved}", "approved"),
    ("#{dueDate}", "dueDate"),
    ("${nrOfCompletedInstances == 5}", "nrOfCompletedInstances == 5"),
    ("${amount > 1000 && !rejected}", "amount > 1000 and not rejected"),
    ("${empty list}", f"list in {EMPTY}"),
    ("${x eq 'a' ? 1 : 2}", "1 if x == 'a' else 2"),
    # word operators
    ("${a ne b}", "a != b"),
    ("${a lt b}", "a < b"),
    ("${a gt b}", "a > b"),
    ("${a le b}", "a <= b"),
    ("${a ge b}", "a >= b"),
    ("${a and b or not c}", "a and b or not c"),
    ("${a div b mod c}", "a / b % c"),
    # logic and precedence
    ("${a || b && c}", "a or b and c"),
    ("${(a || b) && c}", "(a or b) and c"),
    ("${a && (b && c)}", "a and (b and c)"),
    ("${!(a && b)}", "not (a and b)"),
    ("${!a == b}", "(not a) == b"),
    ("${a < b == c}", "(a < b) == c"),
    ("${a == (b == c)}", "a == (b == c)"),
    ("${a == b != c}", "(a == b) != c"),
    # arithmetic
    ("${1 + 2 * 3}", "1 + 2 * 3"),
    ("${(1 + 2) * 3}", "(1 + 2) * 3"),
    ("${a - b - c}", "a - b - c"),
    ("${a - (b - c)}", "a - (b - c)"),
    ("${a / (b * c)}", "a / (b * c)"),
    ("${-a * b}", "-a * b"),
    ("${-(a + b)}", "-(a + b)"),
    ("${a - -b}", "a - -b"),
    ("${-!a}", "-(not a)"),
    # properties and indexes: task data are dicts
    ("${order.amount}", "order['amount']"),
    ("${order['amount']}", "order['amount']"),
    ('${order["amount"]}', "order['amount']"),
    ("${items[0].name}", "items[0]['name']"),
    ("${a[b.c]}", "a[b['c']]"),
    ("${ a . b [ 'c' ] }", "a['b']['c']"),
    ("${x.class}", "x['class']"),
    ("${-a.b}", "-a['b']"),
    ("${(a ? b : c).d}", "(b if a else c)['d']"),
    # literals
    ("${true}", "True"),
    ("${false || null}", "False or None"),
    ("${x == null}", "x is None"),
    ("${null ne x}", "None is not x"),
    ("${1.5}", "1.5"),
    ("${.5}", "0.5"),
    ("${1.}", "1.0"),
    ("${2e3}", "2000.0"),
    ("${2.5E-1}", "0.25"),
    ("${007}", "7"),
    ("${'it\\'s'}", '"it\'s"'),
    ('${"say \\"hi\\""}', "'say \"hi\"'"),
    ("${'a\\\\b'}", "'a\\\\b'"),
    ("${'}'}", "'}'"),
    ("${a['}']}", "a['}']"),
    # empty
    ("${!empty a.b}", f"a['b'] not in {EMPTY}"),
    ("${not empty x}", f"x not in {EMPTY}"),
    ("${empty a || b}", f"a in {EMPTY} or b"),
    ("${empty a == false}", f"(a in {EMPTY}) == False"),
    ("${empty (a + b)}", f"a + b in {EMPTY}"),
    ("${empty a ? 1 : 2}", f"1 if a in {EMPTY} else 2"),
    # conditional
    ("${a ? b : c ? d : e}", "b if a else d if c else e"),
    ("${a ? b ? c : d : e}", "(c if b else d) if a else e"),
    ("${(a ? b : c) + 1}", "(b if a else c) + 1"),
    ("${a || b ? 'x' : 'y'}", "'x' if a or b else 'y'"),
    ("${!(a ? b : c)}", "not (b if a else c)"),
    # execution.getVariable
    ("${execution.getVariable('approved')}", "approved"),
    ('${execution.getVariable("order").amount > 5}', "order['amount'] > 5"),
    # unicode identifiers pass through
    ("${größe > 1}", "größe > 1"),
    # composite texts become strings
    ("user-${id}", "'user-' + str(id)"),
    ("${a}${b}", "str(a) + str(b)"),
    ("Dear ${person.name}, total ${amount * 2}.",
     "'Dear ' + str(person['name']) + ', total ' + str(amount * 2) + '.'"),
    ("#{a}-#{b}", "str(a) + '-' + str(b)"),
    ("\\${literal} ${x}", "'${literal} ' + str(x)"),
    ("a\\\\${x} ${y}", "'a\\\\${x} ' + str(y)"),
    ("$${x}", "'$' + str(x)"),
    ("it's ${x}", "\"it's \" + str(x)"),
]


def test_the_table_is_large():
    assert len(TABLE) >= 40


@pytest.mark.parametrize("juel, python", TABLE)
def test_translation(juel, python):
    out = translate(juel)
    assert out == python
    ast.parse(out, mode="eval")
    check_script(out, "eval")


def test_a_backslash_right_before_an_opener_escapes_it_as_in_juel():
    # JUEL's scanner keeps earlier backslashes and lets the last one escape the opener:
    # two backslashes then ${x} is the literal text \${x}, with no expression in it.
    assert not is_juel("\\\\${x}")
    assert not is_juel("\\${x}")
    with pytest.raises(JuelError, match="no \\$\\{...\\} or #\\{...\\} expression"):
        translate("\\${x}")


# --------------------------------------------------------------------------- evaluation (JUEL semantics)

EVALUATIONS = [
    # precedence and associativity
    ("${1 + 2 * 3}", {}, 7),
    ("${(1 + 2) * 3}", {}, 9),
    ("${10 - 4 - 3}", {}, 3),
    ("${2 * 3 % 4}", {}, 2),
    ("${-2 * 3}", {}, -6),
    ("${1 < 2 == true}", {}, True),  # (1 < 2) == true; Python's chaining would say False
    ("${a == b == c}", {"a": 2, "b": 2, "c": True}, True),  # chained: 2 == 2 and 2 == True
    ("${!a == b}", {"a": False, "b": "x"}, False),  # (!a) == b, not !(a == b)
    ("${a || b && c}", {"a": True, "b": False, "c": False}, True),
    ("${(a || b) && c}", {"a": True, "b": False, "c": False}, False),
    # division is floating, % and mod are remainders
    ("${7 / 2}", {}, 3.5),
    ("${7 div 2}", {}, 3.5),
    ("${1 / 4 * 4}", {}, 1.0),
    ("${7 % 3}", {}, 1),
    ("${7 mod 3}", {}, 1),
    ("${8 div 2 mod 3}", {}, 1.0),
    # word operators
    ("${a gt 1 and b lt 2}", {"a": 2, "b": 1}, True),
    ("${a ge 2 and b le 1 and a ne b}", {"a": 2, "b": 1}, True),
    ("${a eq 'x' or not b}", {"a": "y", "b": False}, True),
    # empty: null, '', empty collections and maps; not 0 and not false
    ("${empty x}", {"x": None}, True),
    ("${empty x}", {"x": ""}, True),
    ("${empty x}", {"x": []}, True),
    ("${empty x}", {"x": {}}, True),
    ("${empty x}", {"x": ()}, True),
    ("${empty x}", {"x": 0}, False),
    ("${empty x}", {"x": 0.0}, False),
    ("${empty x}", {"x": False}, False),
    ("${empty x}", {"x": " "}, False),
    ("${empty x}", {"x": [None]}, False),
    ("${!empty x}", {"x": "a"}, True),
    ("${not empty x && x[0] == 1}", {"x": [1]}, True),
    ("${empty a.b}", {"a": {"b": []}}, True),
    # conditional
    ("${x eq 'a' ? 1 : 2}", {"x": "a"}, 1),
    ("${x eq 'a' ? 1 : 2}", {"x": "b"}, 2),
    ("${n > 10 ? 'big' : n > 5 ? 'mid' : 'small'}", {"n": 11}, "big"),
    ("${n > 10 ? 'big' : n > 5 ? 'mid' : 'small'}", {"n": 7}, "mid"),
    ("${n > 10 ? 'big' : n > 5 ? 'mid' : 'small'}", {"n": 1}, "small"),
    # short-circuit, as in EL
    ("${x != null && x.ok}", {"x": None}, False),
    ("${x == null || x.ok}", {"x": None}, True),
    # strings and escapes
    ("${s == 'it\\'s'}", {"s": "it's"}, True),
    ('${s == "say \\"hi\\""}', {"s": 'say "hi"'}, True),
    ("${'a\\\\b'}", {}, "a\\b"),
    ("${'}'}", {}, "}"),
    # properties, indexes, null
    ("${order.lines[1].qty * 2}", {"order": {"lines": [{"qty": 1}, {"qty": 4}]}}, 8),
    ("${m['k-1']}", {"m": {"k-1": "v"}}, "v"),
    ("${x == null}", {"x": None}, True),
    ("${execution.getVariable('amount') > 100}", {"amount": 150}, True),
    # composite texts coerce every part to a string
    ("user-${id}", {"id": 42}, "user-42"),
    ("${a}${b}", {"a": 1, "b": 2}, "12"),
    ("\\${x} is ${x}", {"x": 3}, "${x} is 3"),
    ("${a}/${b / 2}", {"a": "r", "b": 3}, "r/1.5"),
]


@pytest.mark.parametrize("juel, data, expected", EVALUATIONS)
def test_evaluation(juel, data, expected):
    result = evaluate(juel, data)
    assert result == expected
    assert type(result) is type(expected)


# --------------------------------------------------------------------------- refused: outside the subset

REFUSED = [
    # (text, construct named in the message, 0-based position)
    ("${dateTime().plusDays(1)}", "function call 'dateTime'", 2),
    ("${now.plusDays(1)}", "method call 'plusDays'", 6),
    ("${execution.getProcessInstanceId()}", "method call 'getProcessInstanceId'", 12),
    ("${execution.processInstanceId}", "property 'execution.processInstanceId'", 12),
    ("${execution == null}", "the Camunda object 'execution'", 2),
    ("${myBean.check(x)}", "method call 'check'", 9),
    ("${a.b.c()}", "method call 'c'", 6),
    ("${a['m'](1)}", "method call through '[...]'", 7),
    ("${(a)(1)}", "calling the result of an expression", 5),
    ("${fn:length(x)}", "function call 'fn:length'", 2),
    ("${x -> x + 1}", "lambda expression '->'", 4),
    ("${(x, y) -> x}", "lambda expression '->'", 9),
    ("${a = 1}", "assignment '='", 4),
    ("${a += 'b'}", "string concatenation operator '+='", 4),
    ("${a; b}", "semicolon operator ';'", 3),
    ("${a instanceof b}", "operator 'instanceof'", 4),
    ("${[1, 2]}", "list literal '['", 2),
    ("${{'a': 1}}", "set or map literal '{'", 2),
    ("${a & b}", "operator '&'", 4),
    ("${a | b}", "operator '|'", 4),
]


@pytest.mark.parametrize("text, construct, position", REFUSED)
def test_refused_constructs_name_the_construct_position_and_remedy(text, construct, position):
    error = refusal(text)
    message = str(error)
    assert construct in message
    assert "is outside the supported JUEL subset" in message
    assert f"character {position + 1}" in message
    assert error.position == position and error.text == text
    assert ("use a script task or a plain variable" in message
            or "execution.getVariable('name')" in message)
    assert isinstance(error, ValueError)


def test_method_call_message_has_the_documented_shape():
    message = str(refusal("${now.plusDays(1)}"))
    assert "method call 'plusDays' is outside the supported JUEL subset (" in message
    assert message.endswith("); use a script task or a plain variable")


@pytest.mark.parametrize("text, problem, position", [
    ("${_secret}", "variable '_secret' starts with '_'", 2),
    ("${__class__}", "variable '__class__' starts with '_'", 2),
    ("${a$b}", "variable 'a$b' is not a valid Python name", 2),
    ("${execution.getVariable('_x')}", "variable '_x' starts with '_'", 24),
    ("${execution.getVariable('my-var')}", "variable 'my-var' is not a valid Python name", 24),
])
def test_names_python_cannot_hold_are_refused(text, problem, position):
    error = refusal(text)
    assert problem in str(error) and "rename the variable" in str(error)
    assert error.position == position


@pytest.mark.parametrize("text, python", [
    ("${continue == true}", "continue_ == True"),
    ("${a && lambda}", "a and lambda_"),
    ("${None}", "None_"),
    ("${execution.getVariable('if')}", "if_"),
])
def test_a_variable_named_by_a_python_keyword_is_read_under_its_alias(text, python):
    assert translate(text) == python
    check_script(python, "eval")


def test_the_alias_reads_the_task_data_in_process_and_in_the_sandbox():
    env = RestrictedEnvironment({})
    assert env.evaluate(translate("${continue == true}"), {"continue": True}) is True
    assert env.evaluate(translate("${continue == true}"), {"continue": False}) is False
    # a comprehension is not plainly bounded: it runs in the sandbox process, aliases and all
    assert env.evaluate("[x for x in [continue_]][0]", {"continue": "yes"}) == "yes"
    assert env.evaluate("continue_", {"continue": 1, "continue_": 2}) == 2  # a real variable wins


@pytest.mark.parametrize("text, problem", [
    ("${execution.getVariable(name)}", "execution.getVariable takes one quoted variable name"),
    ("${execution.getVariable('a', 'b')}", "execution.getVariable takes one quoted variable name"),
    ("${execution.getVariableLocal('a')}", "method call 'getVariableLocal'"),
    ("${execution.}", "expected a name after 'execution.'"),
])
def test_only_the_plain_get_variable_form_is_supported(text, problem):
    assert problem in str(refusal(text))


# --------------------------------------------------------------------------- malformed JUEL

@pytest.mark.parametrize("text, problem, position", [
    ("", "no ${...} or #{...} expression", 0),
    ("plain text", "no ${...} or #{...} expression", 0),
    ("${a", "'${' has no closing '}'", 0),
    ("x #{a + ", "'#{' has no closing '}'", 2),
    ("${'abc}", "string opened with \"'\" is not closed", 2),
    ("${'a\\n'}", "invalid escape '\\\\n' in a string", 4),
    ("${}", "empty expression", 2),
    ("${ }", "empty expression", 3),
    ("${a b}", "unexpected 'b'; expected an operator or '}'", 4),
    ("${a ? b}", "expected ':' but found '}'", 7),
    ("${a : b}", "unexpected ':'", 4),
    ("${a +}", "expected a value but found the end of the expression", 5),
    ("${(a}", "expected ')' but found '}'", 4),
    ("${a[0}", "expected ']' but found '}'", 5),
    ("${a.}", "expected a property name after '.' but found '}'", 4),
    ("${a.empty}", "expected a property name after '.' but found 'empty'", 4),
    ("${a.1}", "unexpected '.1'", 3),  # '.1' scans as a number, as in JUEL
    ("${a}#{b}", "mixes '${' and '#{' in one text", 4),
    ("${a ${b}}", "nested '${' inside an expression", 4),
    ("${a @ b}", "unexpected character '@'", 4),
    ("${1e999}", "number '1e999' is out of range", 2),
    ("${x²}", "variable 'x²' is not a valid Python name", 2),
])
def test_malformed_juel_is_refused_with_its_position(text, problem, position):
    error = refusal(text)
    assert problem in str(error)
    assert error.position == position


def test_nesting_is_bounded_before_python_would_overflow():
    deepest = "${" + "(" * (MAX_DEPTH - 1) + "a" + ")" * (MAX_DEPTH - 1) + "}"
    assert evaluate(deepest, {"a": 1}) == 1
    assert evaluate("${" + "-" * (MAX_DEPTH - 1) + "a}", {"a": 1}) == -1
    with pytest.raises(JuelError, match="nested more than"):
        translate("${" + "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH + "}")
    with pytest.raises(JuelError, match="nested more than"):
        translate("${" + "!" * MAX_DEPTH + "a}")


def test_length_is_bounded_and_the_longest_accepted_expression_compiles():
    terms = (MAX_TOKENS - 1) // 2 + 1  # a + a + ... : 2 * terms - 1 tokens, then '}'
    assert evaluate("${" + " + ".join(["a"] * terms) + "}", {"a": 1}) == terms
    with pytest.raises(JuelError, match=f"longer than {MAX_TOKENS} tokens"):
        translate("${" + " + ".join(["a"] * (terms + 1)) + "}")


# --------------------------------------------------------------------------- is_juel

@pytest.mark.parametrize("text, expected", [
    ("${a}", True),
    ("#{a}", True),
    ("x ${a} y", True),
    ("${", True),  # an unclosed expression is JUEL, so translate reports it
    ("$${a}", True),
    ("", False),
    ("plain", False),
    ("$ {a}", False),
    ("{a}", False),
    ("$a", False),
    ("price: 5$", False),
    ("\\${a}", False),
])
def test_is_juel(text, expected):
    assert is_juel(text) is expected


# --------------------------------------------------------------------------- generated checks

# EL levels, lowest first; a rendered child needs parentheses when it binds less tightly.
EL_LEVEL = {"?": 0, "||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4,
            "+": 5, "-": 5, "*": 6, "unary": 7, "atom": 8}
WORDS = {"||": "or", "&&": "and", "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt",
         ">=": "ge", "!": "not"}
DATA = {"i": 3, "j": -2, "p": True, "q": False}


def random_tree(rng: random.Random, kind: str, depth: int):
    """A random well-typed EL tree of ``kind`` int or bool."""
    if depth == 0 or rng.random() < 0.2:
        if kind == "int":
            return ("atom", str(rng.randint(0, 9)) if rng.random() < 0.5 else rng.choice("ij"))
        return ("atom", rng.choice(["true", "false", "p", "q"]))
    roll = rng.random()
    if roll < 0.15:
        return ("?", random_tree(rng, "bool", depth - 1), random_tree(rng, kind, depth - 1),
                random_tree(rng, kind, depth - 1))
    if kind == "int":
        if roll < 0.3:
            return ("unary", "-", random_tree(rng, "int", depth - 1))
        return (rng.choice("+-*"), random_tree(rng, "int", depth - 1),
                random_tree(rng, "int", depth - 1))
    if roll < 0.3:
        return ("unary", "!", random_tree(rng, "bool", depth - 1))
    op = rng.choice(["||", "&&", "==", "!=", "<", "<=", ">", ">="])
    operands = "bool" if op in ("||", "&&") or (op in ("==", "!=") and rng.random() < 0.5) else "int"
    return (op, random_tree(rng, operands, depth - 1), random_tree(rng, operands, depth - 1))


def value_of(tree):
    """The tree's value, computed directly with EL's meaning (the oracle)."""
    op = tree[0]
    if op == "atom":
        return int(tree[1]) if tree[1].isdigit() else {"true": True, "false": False, **DATA}[tree[1]]
    if op == "unary":
        return -value_of(tree[2]) if tree[1] == "-" else not value_of(tree[2])
    if op == "?":
        return value_of(tree[2]) if value_of(tree[1]) else value_of(tree[3])
    a, b = value_of(tree[1]), value_of(tree[2])
    return {"||": lambda: a or b, "&&": lambda: a and b, "==": lambda: a == b,
            "!=": lambda: a != b, "<": lambda: a < b, "<=": lambda: a <= b, ">": lambda: a > b,
            ">=": lambda: a >= b, "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b}[op]()


def render(tree, rng: random.Random) -> str:
    """JUEL text for the tree with only the parentheses EL's precedence needs (plus a few)."""
    op = tree[0]
    if op == "atom":
        text = tree[1]
    elif op == "unary":
        symbol = tree[1] if tree[1] == "-" or rng.random() < 0.5 else WORDS["!"] + " "
        text = symbol + child(tree[2], EL_LEVEL["unary"], rng)
    elif op == "?":
        text = (f"{child(tree[1], EL_LEVEL['?'] + 1, rng)} ? {render(tree[2], rng)} : "
                f"{render(tree[3], rng)}")
    else:
        symbol = WORDS[op] if op in WORDS and rng.random() < 0.3 else op
        text = (f"{child(tree[1], EL_LEVEL[op], rng)} {symbol} "
                f"{child(tree[2], EL_LEVEL[op] + 1, rng)}")
    return f"({text})" if rng.random() < 0.05 else text


def child(tree, minimum: int, rng: random.Random) -> str:
    text = render(tree, rng)
    return f"({text})" if EL_LEVEL.get(tree[0], 8) < minimum else text


def test_random_expressions_keep_el_precedence_and_associativity():
    rng = random.Random(20240611)
    for _ in range(1500):
        tree = random_tree(rng, rng.choice(["int", "bool"]), 5)
        juel = "${" + render(tree, rng) + "}"
        assert evaluate(juel, DATA) == value_of(tree), juel


VOCABULARY = ["a", "b.c", "x[0]", "'s'", '"t"', "1", "2.5", ".5", "true", "null", "empty", "not",
              "!", "-", "+", "*", "/", "div", "%", "mod", "==", "eq", "!=", "<", "gt", "<=",
              "ge", "&&", "and", "||", "or", "?", ":", "(", ")", "[", "]", ".", ",", "=", "->",
              ";", "{", "}", "${", "#{", "f(", "m.g(", "execution.getVariable('v')",
              "execution", "_x", "class", "'\\'", "\\", "$", "#", "@"]


def test_any_token_soup_translates_to_accepted_python_or_raises_juel_error():
    rng = random.Random(7)
    for _ in range(3000):
        body = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(0, 12)))
        text = rng.choice(["${%s}", "#{%s}", "pre ${%s} post", "${%s}${a}", "%s"]) % body
        try:
            out = translate(text)
        except JuelError:
            continue
        ast.parse(out, mode="eval")
        check_script(out, "eval")
