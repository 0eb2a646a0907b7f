"""Input that can never reach the database or the JSON parser in a shape that fails there (issue 15):

* every ``<int:…>`` in a URL is an id the databases can hold (1 … 2,147,483,647, PostgreSQL's
  ``integer``): a larger one is a 404 like any unknown id, never a 500;
* ``?page=`` is clamped to 1 … 100,000, and ids in forms and queries are read by
  ``whole_number``;
* a JSON body is checked before it is parsed, and before any token, log-in or rate limit is
  looked at: at most ``MAX_JSON_DEPTH`` levels of nesting and numbers of at most
  ``MAX_NUMBER_DIGITS`` characters, else 400 saying which (Python's parser would recurse or refuse
  a 5,000-digit integer with a 500);
* a NUL character in a query string or a form field is a 400, in a URL segment a 404 like any
  unknown id (PostgreSQL's text cannot hold one: the log-in name, the inbox's filters, a comment, a
  task id reached it as a 500; found by tools/attack.py). The procedures' forms and the API's
  fields refuse the other control characters with a message of their own.
"""
from __future__ import annotations

import re
from functools import lru_cache

from flask import Request as FlaskRequest, abort, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
MAX_PAGE = 100_000
MAX_JSON_DEPTH = 32
MAX_NUMBER_DIGITS = 40


class IdConverter(IntegerConverter):
    """``<int:…>`` limited to the ids a database row can have (leading zeros refused as before)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("min", 0)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def whole_number(text: str | None, maximum: int = MAX_ID) -> int | None:
    """``text`` as a whole number of ASCII digits up to ``maximum`` (an id a row can have), else
    None: ``str.isdigit()`` alone lets "²" through to ``int()`` (a ValueError) and 10**20 through to
    the database (SQLite's OverflowError, PostgreSQL's out of range), both 500s (tools/attack.py)."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


def page_arg(name: str = "page") -> int:
    """The page number of a listing: 1 … ``MAX_PAGE`` whatever the query says."""
    value = request.args.get(name, 1, type=int) or 1
    return min(max(1, value), MAX_PAGE)


def _has_nul(pairs) -> bool:
    return any("\x00" in key or (isinstance(value, str) and "\x00" in value) for key, value in pairs)


class Request(FlaskRequest):
    """Flask's request, refusing a form with a NUL character in a field's name or value (400) when
    the form is read, so that the views that raise the body limit first still do."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        if _has_nul(self.form.items(multi=True)):
            raise BadRequest("a form field holds a NUL character")


class JsonShapeError(ValueError):
    pass


@lru_cache(maxsize=4)
def _NUMBER_RUN(digits: int):
    return re.compile(rb"[0-9eE.+-]{%d,}" % (digits + 1))


def check_json_shape(body: bytes, max_depth: int = MAX_JSON_DEPTH, max_digits: int = MAX_NUMBER_DIGITS) -> None:
    """Raise ``JsonShapeError`` when ``body`` nests deeper than ``max_depth`` or holds a number of
    more than ``max_digits`` characters (a linear scan; strings are skipped). An ordinary body (few
    brackets, no long run of number characters anywhere) is let through by two C-speed checks."""
    if body.count(b"[") + body.count(b"{") <= max_depth and not _NUMBER_RUN(max_digits).search(body):
        return
    depth = run = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
            continue
        if byte == 0x22:
            in_string, run = True, 0
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                raise JsonShapeError(f"JSON nested deeper than {max_depth} levels")
            run = 0
        elif byte in (0x5D, 0x7D):
            depth -= 1
            run = 0
        elif 0x30 <= byte <= 0x39 or byte in (0x2D, 0x2B, 0x2E, 0x65, 0x45):  # digits, sign, point, exponent
            run += 1
            if run > max_digits:
                raise JsonShapeError(f"a number longer than {max_digits} characters")
        else:
            run = 0


def init_app(app) -> None:
    """Register the bounded id converter (before any route), the NUL checks and the JSON check."""
    app.url_map.converters["int"] = IdConverter
    app.request_class = Request

    @app.before_request
    def no_nul():
        if _has_nul((request.view_args or {}).items()):
            abort(404)
        if _has_nul(request.args.items(multi=True)):
            abort(400, "a NUL character in the query string")

    @app.before_request
    def json_shape():
        if request.method in ("POST", "PUT", "PATCH") and request.is_json:
            try:
                check_json_shape(request.get_data(cache=True))
            except JsonShapeError as exc:
                from .api.errors import body, is_api_request
                if is_api_request():
                    return body(400, "bad_json", f"请求体 JSON 结构过深或数字过长 ({exc})")
                abort(400)
