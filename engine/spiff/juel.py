"""Camunda JUEL expressions, translated once at deploy time into the restricted diagram Python.

Diagrams drawn in the Camunda 7 Modeler put JUEL (the Java Unified Expression Language, EL 2.2)
into sequence-flow conditions, timers, ``camunda:assignee``, candidate groups and users and
multi-instance settings: ``${approved}``, ``#{amount > 1000 && !rejected}``, ``user-${id}``.
:func:`translate` turns such a text into one Python expression that
:func:`engine.spiff.script.check_script` accepts; :func:`is_juel` tells whether a text holds an
expression at all. Only the standard library is used.

The translator is a scanner and a recursive-descent parser for a subset of EL 2.2, with EL's
precedence, highest first: ``[] .``; ``()``; unary ``- ! not empty``; ``* / div % mod``;
``+ -``; ``< > <= >= lt gt le ge``; ``== != eq ne``; ``&& and``; ``|| or``; ``? :`` (binary
operators associate to the left, ``?:`` to the right). The Python keeps that structure with the
fewest parentheses; comparisons are never chained (``a < b == c`` gives ``(a < b) == c``).

Mapping: ``a.b`` and ``a['b']`` give ``a['b']`` (task data are dicts), ``a[0]`` gives ``a[0]``;
``true false null`` give ``True False None``; ``/`` and ``div`` give ``/`` (EL divides in
floating point); ``%`` and ``mod`` give ``%``; ``empty x`` gives ``x in (None, '', [], {}, ())``
(EL: null, or an empty string, map or collection; ``empty 0`` and ``empty false`` are false, so
``not x`` would be wrong); ``c ? a : b`` gives ``a if c else b``; ``x == null`` gives
``x is None``; ``execution.getVariable('name')`` gives ``name``; a variable named by a Python keyword
(``${continue}``) gives its alias ``continue_``, which the script engine gives every expression's scope
for each such key of the task data (``engine.spiff.script.keyword_aliases``). A composite text
(``'user-${id}'``) gives ``'user-' + str(id)``.

Known differences, as no coercion helpers are injected: EL coerces operands (``'5' == 5``,
``null + 1``, ``'1' + '2'`` is 3) and Python does not; a missing variable or map key raises
(NameError, KeyError) instead of giving null; ``%`` takes the sign of the divisor for negative
operands (Java: of the dividend); dividing by zero raises instead of giving Infinity; in a
composite text null and booleans print as ``None``/``True`` (Camunda: ``''``/``true``).
Camunda trims the text of condition and timer elements: callers should strip it first.
"""
from __future__ import annotations

import keyword
import math
import unicodedata
from dataclasses import dataclass
from typing import Callable, NamedTuple

__all__ = ["JuelError", "is_juel", "keyword_alias", "translate"]

SUBSET = ("variables, properties a.b and a['b'], literals, arithmetic, comparisons, logic, "
          "empty, ?: and execution.getVariable('name')")
ADVICE = "use a script task or a plain variable"
# Parentheses, brackets, ?: branches and unary operators inside each other; each level costs
# the parser about 13 Python frames, so 32 stays far below the default recursion limit.
MAX_DEPTH = 32
MAX_TOKENS = 512  # keeps the Python well inside what compile() accepts from an AST

# Python operator precedence, lowest first (https://docs.python.org/3/reference/expressions.html).
TERNARY, OR, AND, NOT, CMP, ADD, MUL, UNARY, POSTFIX, ATOM = 2, 3, 4, 5, 6, 11, 12, 13, 16, 17

_EMPTY = "(None, '', [], {}, ())"
_CONSTANTS = {"true": "True", "false": "False", "null": "None"}
_WORD_OPS = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=",
             "and": "&&", "or": "||", "not": "!", "div": "/", "mod": "%", "empty": "empty"}
_SYMBOLS = frozenset({"&&", "||", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "<", ">",
                      "!", "?", ":", "(", ")", "[", "]", ".", ","})
_REFUSED_SYMBOLS = {
    "->": "lambda expression '->'", "+=": "string concatenation operator '+='",
    "=": "assignment '='", ";": "semicolon operator ';'", "{": "set or map literal '{'",
    "&": "operator '&' (write '&&' or 'and')", "|": "operator '|' (write '||' or 'or')",
}
# EL operator levels, lowest first; each maps to the Python operator and its precedence.
_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))
_PY_OPS = {"||": ("or", OR), "&&": ("and", AND), "==": ("==", CMP), "!=": ("!=", CMP),
           "<": ("<", CMP), ">": (">", CMP), "<=": ("<=", CMP), ">=": (">=", CMP),
           "+": ("+", ADD), "-": ("-", ADD), "*": ("*", MUL), "/": ("/", MUL), "%": ("%", MUL)}


class JuelError(ValueError):
    """A JUEL text is malformed or uses a construct outside the supported subset.

    ``text`` is the whole text and ``position`` the 0-based offset of the offending part.
    """

    def __init__(self, text: str, position: int, message: str):
        self.text = text
        self.position = position
        super().__init__(f"JUEL {text!r}, character {position + 1}: {message}")


def _outside(construct: str, advice: str = ADVICE) -> str:
    """The message for a construct the subset does not cover."""
    return f"{construct} is outside the supported JUEL subset ({SUBSET}); {advice}"


@dataclass(frozen=True)
class _Token:
    """One token of an expression: ``kind`` is num, str, const, name, op or end.

    ``value`` is canonical (the Python code of a number or constant, the decoded string, the
    operator symbol with word forms mapped to symbols); ``raw`` is the spelling in the text.
    """

    kind: str
    value: str
    pos: int
    raw: str


class _Py(NamedTuple):
    """A translated fragment: its Python code, precedence and, if simpler, its negation."""

    code: str
    prec: int
    negated: str | None = None


def _wrap(fragment: _Py, minimum: int) -> str:
    """The fragment's code, parenthesised when it binds less tightly than ``minimum``."""
    return fragment.code if fragment.prec >= minimum else f"({fragment.code})"


def _opens(text: str, i: int) -> bool:
    """Whether an expression starts (``${`` or ``#{``) at ``i``."""
    return text[i:i + 2] in ("${", "#{")


def _scan_text(text: str, i: int) -> tuple[str, int]:
    """Literal text from ``i`` up to the next expression start (or the end), unescaped.

    As in JUEL, a backslash right before ``${`` or ``#{`` makes it literal text; any other
    backslash is kept as it is.
    """
    out: list[str] = []
    while i < len(text) and not _opens(text, i):
        if text[i] == "\\" and _opens(text, i + 1):
            out.append(text[i + 1:i + 3])
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out), i


def _is_digit(c: str) -> bool:
    """An ASCII digit, as JUEL scans numbers (``str.isdigit`` also accepts '²')."""
    return len(c) == 1 and "0" <= c <= "9"


def _is_name_start(c: str) -> bool:
    return c.isalpha() or c in "_$"


def _is_name_part(c: str) -> bool:
    return c.isalnum() or c in "_$"


class _Lexer:
    """Splits one expression, from just after its ``${``/``#{`` to its ``}``, into tokens."""

    def __init__(self, text: str, start: int):
        self.text = text
        self.start = start
        self.pos = start

    def tokens(self) -> list[_Token]:
        """All tokens up to and including the closing ``}`` (kind ``end``)."""
        out = [self._next()]
        while out[-1].kind != "end":
            if len(out) == MAX_TOKENS:
                raise self._error(self.start - 2, f"expression longer than {MAX_TOKENS} tokens; "
                                                  f"{ADVICE}")
            out.append(self._next())
        return out

    def _error(self, pos: int, message: str) -> JuelError:
        return JuelError(self.text, pos, message)

    def _next(self) -> _Token:
        text = self.text
        while self.pos < len(text) and text[self.pos].isspace():
            self.pos += 1
        if self.pos >= len(text):
            raise self._error(self.start - 2, f"{text[self.start - 2:self.start]!r} has no "
                                              "closing '}'")
        c = text[self.pos]
        if c == "}":
            return self._take("end", "}", 1)
        if c in "'\"":
            return self._string()
        if _is_digit(c) or (c == "." and _is_digit(text[self.pos + 1:self.pos + 2])):
            return self._number()
        if _opens(text, self.pos):
            raise self._error(self.pos, f"nested {text[self.pos:self.pos + 2]!r} inside an "
                                        "expression; close the first expression with '}'")
        if _is_name_start(c):
            return self._word()
        return self._symbol()

    def _take(self, kind: str, value: str, length: int) -> _Token:
        token = _Token(kind, value, self.pos, self.text[self.pos:self.pos + length])
        self.pos += length
        return token

    def _symbol(self) -> _Token:
        for length in (2, 1):
            candidate = self.text[self.pos:self.pos + length]
            if candidate in _REFUSED_SYMBOLS:
                raise self._error(self.pos, _outside(_REFUSED_SYMBOLS[candidate]))
            if candidate in _SYMBOLS:
                return self._take("op", candidate, length)
        raise self._error(self.pos, f"unexpected character {self.text[self.pos]!r}")

    def _word(self) -> _Token:
        end = self.pos + 1
        while end < len(self.text) and _is_name_part(self.text[end]):
            end += 1
        word = self.text[self.pos:end]
        if word == "instanceof":
            raise self._error(self.pos, _outside("operator 'instanceof'"))
        if word in _CONSTANTS:
            return self._take("const", _CONSTANTS[word], len(word))
        if word in _WORD_OPS:
            return self._take("op", _WORD_OPS[word], len(word))
        return self._take("name", word, len(word))

    def _digits(self, i: int) -> int:
        while i < len(self.text) and _is_digit(self.text[i]):
            i += 1
        return i

    def _number(self) -> _Token:
        """An integer (``12``) or a float (``1.5``, ``.5``, ``1.``, ``2e3``), as JUEL scans them."""
        text, end = self.text, self._digits(self.pos)
        is_float = text[end:end + 1] == "."
        if is_float:
            end = self._digits(end + 1)
        if text[end:end + 1] in ("e", "E"):
            mantissa_end = end + 1 + (text[end + 1:end + 2] in ("+", "-"))
            if _is_digit(text[mantissa_end:mantissa_end + 1]):
                end, is_float = self._digits(mantissa_end), True
        raw = text[self.pos:end]
        if not is_float:
            return self._take("num", str(int(raw)), len(raw))
        value = float(raw)
        if not math.isfinite(value):
            raise self._error(self.pos, f"number {raw!r} is out of range")
        return self._take("num", repr(value), len(raw))

    def _string(self) -> _Token:
        """A quoted string; the escapes are \\' \\" and \\\\ (JUEL knows no others)."""
        text, quote, i, out = self.text, self.text[self.pos], self.pos + 1, []
        while i < len(text) and text[i] != quote:
            if text[i] == "\\":
                if text[i + 1:i + 2] not in ("'", '"', "\\"):
                    raise self._error(i, f"invalid escape {text[i:i + 2]!r} in a string; JUEL "
                                         "strings only escape \\' \\\" and \\\\")
                i += 1
            out.append(text[i])
            i += 1
        if i >= len(text):
            raise self._error(self.pos, f"string opened with {quote!r} is not closed")
        return self._take("str", "".join(out), i + 1 - self.pos)


def keyword_alias(name: str) -> str:
    """The name a variable called by a Python keyword (``continue``) has in diagram expressions:
    ``continue_`` (PEP 8's trailing underscore). ``engine.spiff.script`` gives an expression's scope
    the alias of every such variable of the task data."""
    return name + "_"


def _check_name(text: str, pos: int, name: str) -> str:
    """``name`` as a Python variable in diagram expressions (a keyword becomes its alias,
    :func:`keyword_alias`), else JuelError."""
    if not name.isidentifier() or unicodedata.normalize("NFKC", name) != name:
        problem = "is not a valid Python name"
    elif keyword.iskeyword(name):
        return keyword_alias(name)
    elif name.startswith("_"):
        problem = "starts with '_', which diagram expressions may not use"
    else:
        return name
    raise JuelError(text, pos, f"variable {name!r} {problem}; rename the variable")


class _Parser:
    """Recursive-descent parser over one expression's tokens, emitting Python as it goes."""

    def __init__(self, text: str, tokens: list[_Token]):
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    # -- token helpers ------------------------------------------------------------------
    def _peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def _at(self, symbol: str, ahead: int = 0) -> bool:
        token = self._peek(ahead)
        return token.kind == "op" and token.value == symbol

    def _advance(self) -> _Token:
        token = self._peek()
        self.index += 1
        return token

    def _error(self, token: _Token, message: str) -> JuelError:
        return JuelError(self.text, token.pos, message)

    def _expect(self, symbol: str) -> _Token:
        if not self._at(symbol):
            token = self._peek()
            raise self._error(token, f"expected {symbol!r} but found {token.raw!r}")
        return self._advance()

    def _nested(self, parse: Callable[[], _Py]) -> _Py:
        """Runs ``parse`` one level deeper, refusing absurd nesting before Python would."""
        if self.depth >= MAX_DEPTH:
            raise self._error(self._peek(), f"expression nested more than {MAX_DEPTH} deep")
        self.depth += 1
        try:
            return parse()
        finally:
            self.depth -= 1

    # -- grammar ------------------------------------------------------------------------
    def parse(self) -> _Py:
        """The whole expression, which must end at its ``}``."""
        if self._peek().kind == "end":
            raise self._error(self._peek(), "empty expression")
        result = self._ternary()
        if self._peek().kind != "end":
            token = self._peek()
            raise self._error(token, f"unexpected {token.raw!r}; expected an operator or '}}'")
        return result

    def _ternary(self) -> _Py:
        return self._nested(self._ternary_body)

    def _ternary_body(self) -> _Py:
        condition = self._level(0)
        if not self._at("?"):
            return condition
        self._advance()
        yes = self._ternary()
        self._expect(":")
        no = self._ternary()
        code = f"{_wrap(yes, OR)} if {_wrap(condition, OR)} else {_wrap(no, TERNARY)}"
        return _Py(code, TERNARY)

    def _level(self, level: int) -> _Py:
        """Left-associative binary operators of EL level ``level`` (see ``_LEVELS``)."""
        if level == len(_LEVELS):
            return self._unary()
        left = self._level(level + 1)
        while self._peek().kind == "op" and self._peek().value in _LEVELS[level]:
            operator = self._advance().value
            left = _combine(operator, left, self._level(level + 1))
        return left

    def _unary(self) -> _Py:
        token = self._peek()
        if token.kind != "op" or token.value not in ("-", "!", "empty"):
            return self._postfix()
        self._advance()
        operand = self._nested(self._unary)
        if token.value == "-":
            return _Py(f"-{_wrap(operand, UNARY)}", UNARY)
        if token.value == "!":
            return _Py(operand.negated, CMP) if operand.negated else _Py(
                f"not {_wrap(operand, NOT)}", NOT)
        subject = _wrap(operand, CMP + 1)
        return _Py(f"{subject} in {_EMPTY}", CMP, f"{subject} not in {_EMPTY}")

    def _postfix(self) -> _Py:
        value = self._primary()
        while self._at(".") or self._at("["):
            key = self._property() if self._advance().value == "." else self._index()
            value = _Py(f"{_wrap(value, POSTFIX)}[{key}]", POSTFIX)
        if self._at("("):
            raise self._error(self._peek(), _outside("calling the result of an expression"))
        return value

    def _property(self) -> str:
        """The key of ``.name``; refuses ``.name(...)``, a method call."""
        token = self._advance()
        if token.kind != "name":
            raise self._error(token, f"expected a property name after '.' but found "
                                     f"{token.raw!r}")
        self._refuse_call(token, f"method call {token.raw!r}")
        return repr(token.value)

    def _index(self) -> str:
        """The key of ``[expr]``; refuses ``[expr](...)``, a method call."""
        key = self._ternary()
        self._refuse_call(self._expect("]"), "method call through '[...]'")
        return key.code

    def _refuse_call(self, before: _Token, construct: str) -> None:
        """Refuses a call: an opening parenthesis right after ``before``."""
        if self._at("("):
            raise self._error(before, _outside(construct))

    def _primary(self) -> _Py:
        token = self._advance()
        if token.kind in ("num", "const"):
            return _Py(token.value, ATOM)
        if token.kind == "str":
            return _Py(repr(token.value), ATOM)
        if token.kind == "name":
            return self._name(token)
        if token.kind == "op" and token.value == "(":
            inner = self._ternary()
            self._expect(")")
            return inner
        if token.kind == "op" and token.value == "[":
            raise self._error(token, _outside("list literal '['"))
        found = "the end of the expression" if token.kind == "end" else repr(token.raw)
        raise self._error(token, f"expected a value but found {found}")

    def _name(self, token: _Token) -> _Py:
        if self._at("("):
            raise self._error(token, _outside(f"function call {token.raw!r}"))
        if self._at(":") and self._peek(1).kind == "name" and self._at("(", 2):
            raise self._error(token, _outside(
                f"function call '{token.raw}:{self._peek(1).raw}'"))
        if token.value == "execution":
            return self._execution(token)
        return _Py(_check_name(self.text, token.pos, token.value), ATOM)

    def _execution(self, token: _Token) -> _Py:
        """``execution.getVariable('name')``, the one supported use of Camunda's execution."""
        advice = "write the variable's name, or execution.getVariable('name')"
        if not self._at("."):
            raise self._error(token, _outside("the Camunda object 'execution'", advice))
        self._advance()
        member = self._advance()
        if member.kind != "name":
            raise self._error(member, f"expected a name after 'execution.' but found "
                                      f"{member.raw!r}")
        if not self._at("("):
            raise self._error(member, _outside(f"property 'execution.{member.raw}'", advice))
        if member.value != "getVariable":
            raise self._error(member, _outside(f"method call {member.raw!r}", advice))
        self._advance()
        argument = self._advance()
        if argument.kind != "str" or not self._at(")"):
            raise self._error(argument, "execution.getVariable takes one quoted variable name")
        self._advance()
        return _Py(_check_name(self.text, argument.pos, argument.value), ATOM)


def _combine(operator: str, left: _Py, right: _Py) -> _Py:
    """The Python for ``left operator right`` (EL operator symbol), left-associative."""
    python, prec = _PY_OPS[operator]
    if prec == CMP:
        python = _identity(python, left, right)
        return _Py(f"{_wrap(left, CMP + 1)} {python} {_wrap(right, CMP + 1)}", CMP)
    return _Py(f"{_wrap(left, prec)} {python} {_wrap(right, prec + 1)}", prec)


def _identity(python: str, left: _Py, right: _Py) -> str:
    """``is``/``is not`` for an equality test against null, else the operator unchanged."""
    if python in ("==", "!=") and "None" in (left.code, right.code):
        return "is" if python == "==" else "is not"
    return python


def is_juel(text: str) -> bool:
    """Whether ``text`` contains a ``${...}`` or ``#{...}`` expression (an escaped ``\\${`` is
    text). An unclosed ``${`` counts, so that :func:`translate` reports it."""
    return _scan_text(text, 0)[1] < len(text)


def translate(text: str) -> str:
    """The Python expression equivalent to the JUEL ``text``.

    Exactly one expression gives its translation; text around or between expressions gives a
    string concatenation with ``str(...)`` of each expression. Raises :class:`JuelError` for
    text without an expression, malformed JUEL or constructs outside the subset.
    """
    parts: list[str] = []
    expressions: list[str] = []
    i, opener = 0, ""
    while i < len(text):
        literal, i = _scan_text(text, i)
        if literal:
            parts.append(repr(literal))
        if i < len(text):
            opener = _same_opener(text, i, opener)
            tokens = _Lexer(text, i + 2).tokens()
            expressions.append(_Parser(text, tokens).parse().code)
            parts.append(f"str({expressions[-1]})")
            i = tokens[-1].pos + 1
    if not expressions:
        raise JuelError(text, 0, "no ${...} or #{...} expression in the text")
    if len(parts) == 1:
        return expressions[0]
    return " + ".join(parts)


def _same_opener(text: str, i: int, previous: str) -> str:
    """The opener at ``i``; JUEL refuses a text mixing ``${`` and ``#{``."""
    opener = text[i:i + 2]
    if previous and opener != previous:
        raise JuelError(text, i, f"mixes {previous!r} and {opener!r} in one text, which JUEL "
                                 f"refuses; write every expression with {previous!r}")
    return opener
